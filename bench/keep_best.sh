#!/usr/bin/env bash
# What keep: best costs: `ndrd once` over the same N images with keep: first
# and keep: best (compat: off for both), ROUNDS times in ABBA order on fresh
# directories after a sync. Prints every run, the means, how many kept
# images better copies replaced, and the ratio best / first.
# Usage: bench/keep_best.sh NDRD_BINARY IMAGE_DIR [N=1000] [ROUNDS=3]
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
bench_ab_setup "$@"

run() { # run KEEP: one `ndrd once` on a fresh layout; prints "KEEP WALL CPU REPLACED"
  local keep=$1 d=$work/$1 start end
  rm -rf "$d"
  mkdir -p "$d/in"
  cp "${files[@]}" "$d/in/"
  printf 'ingest_dir: in\noutput_dir: out\nindex_dir: idx\nkeep: %s\n' "$keep" >"$d/ndrd.yaml"
  sync
  start=$(date +%s.%N)
  /usr/bin/time -f '%U %S' -o "$work/cpu" "$ndrd" once -c "$d/ndrd.yaml" >/dev/null 2>"$work/err" ||
    { cat "$work/err" >&2; exit 1; }
  end=$(date +%s.%N)
  local replaced
  replaced=$("$ndrd" status -c "$d/ndrd.yaml" --json | sed -E 's/.*"replaced": ?([0-9]+).*/\1/')
  echo "$keep $(echo "$end - $start" | bc) $(awk '{ print $1 + $2 }' "$work/cpu") $replaced"
}

for ((i = 0; i < rounds; i++)); do # ABBA order: neither setting always runs first
  if ((i % 2 == 0)); then
    run first
    run best
  else
    run best
    run first
  fi
done | tee "$work/runs"
awk '
  { wall[$1] += $2; cpu[$1] += $3; runs[$1]++; replaced[$1] = $4 }
  END {
    for (k in wall) printf "keep %s: mean wall %.3f s, cpu %.3f s over %d runs, %d replaced\n", k, wall[k] / runs[k], cpu[k] / runs[k], runs[k], replaced[k]
    printf "best / first: wall %.3f, cpu %.3f\n", (wall["best"] / runs["best"]) / (wall["first"] / runs["first"]), (cpu["best"] / runs["best"]) / (cpu["first"] / runs["first"])
  }' "$work/runs"
