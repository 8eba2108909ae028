#!/usr/bin/env bash
# What the one info line per routed file costs: `ndrd once` on the same N
# images with log_routing: info (a line per file) and debug (none at
# log_level: info), ROUNDS times in ABBA order so that neither setting always
# runs first, each run on a fresh copy after a sync. Prints every run and the
# mean wall and CPU seconds of each setting, and their ratio.
# Usage: bench/log_line.sh NDRD_BINARY IMAGE_DIR [N=1000] [ROUNDS=3]
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
bench_ab_setup "$@"

one_run() { # one_run MODE: prints "MODE WALL CPU LINES"
  local mode=$1 d=$work/run
  rm -rf "$d" && mkdir -p "$d/in"
  cp "${files[@]}" "$d/in/"
  printf 'ingest_dir: in\noutput_dir: out\nindex_dir: idx\nlog_routing: %s\n' "$mode" >"$d/ndrd.yaml"
  sync
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -f '%U %S' -o "$d/cpu" "$ndrd" once -c "$d/ndrd.yaml" 2>"$d/err" >/dev/null
  end=$(date +%s.%N)
  echo "$mode $(echo "$end - $start" | bc) $(awk '{ print $1 + $2 }' "$d/cpu") $(grep -c ' routed ' "$d/err" || true)"
}

for ((i = 0; i < rounds; i++)); do
  one_run info
  one_run debug
  one_run debug
  one_run info
done | awk '{ print; wall[$1] += $2; cpu[$1] += $3; runs[$1]++ }
  END {
    for (m in wall) printf "%s: mean wall %.3f s, cpu %.3f s over %d runs\n", m, wall[m] / runs[m], cpu[m] / runs[m], runs[m]
    printf "info / debug: wall %.3f, cpu %.3f\n", (wall["info"] / runs["info"]) / (wall["debug"] / runs["debug"]),
      (cpu["info"] / runs["info"]) / (cpu["debug"] / runs["debug"])
  }'
