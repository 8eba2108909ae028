#!/usr/bin/env bash
# What `ndrd report` costs: on N images decided by `ndrd once`, the first
# report (every thumbnail made) and a second one over the unchanged index
# (every thumbnail cached), each ROUNDS times on a fresh report directory
# after a sync, beside the `ndrd once` that decided the images. Prints every
# run, the means, items and thumbnails per second, and the ratios.
# Usage: bench/report.sh NDRD_BINARY IMAGE_DIR [N=1000] [ROUNDS=3]
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
bench_ab_setup "$@"

timed() { # timed LABEL COMMAND...: prints "LABEL WALL CPU" and keeps stdout in $work/out
  local label=$1 start end
  shift
  sync
  start=$(date +%s.%N)
  /usr/bin/time -f '%U %S' -o "$work/cpu" "$@" >"$work/out" 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  end=$(date +%s.%N)
  echo "$label $(echo "$end - $start" | bc) $(awk '{ print $1 + $2 }' "$work/cpu")"
}

d=$work/run
mkdir -p "$d/in"
cp "${files[@]}" "$d/in/"
printf 'ingest_dir: in\noutput_dir: out\nindex_dir: idx\n' >"$d/ndrd.yaml"
timed once "$ndrd" once -c "$d/ndrd.yaml" >"$work/runs"
for ((i = 0; i < rounds; i++)); do
  rm -rf "$d/site"
  timed first "$ndrd" report -c "$d/ndrd.yaml" --out "$d/site"
  cp "$work/out" "$work/first.json"
  timed second "$ndrd" report -c "$d/ndrd.yaml" --out "$d/site"
  cp "$work/out" "$work/second.json"
done >>"$work/runs"
cat "$work/runs"
echo "first report: $(cat "$work/first.json")"
echo "second report: $(cat "$work/second.json")"
thumbs=$(sed -E 's/.*"made": ([0-9]+).*/\1/' "$work/first.json")
items=$(sed -E 's/.*"items": ([0-9]+).*/\1/' "$work/first.json")
awk -v thumbs="$thumbs" -v items="$items" '
  { wall[$1] += $2; cpu[$1] += $3; runs[$1]++ }
  END {
    for (m in wall) printf "%s: mean wall %.3f s, cpu %.3f s over %d runs\n", m, wall[m] / runs[m], cpu[m] / runs[m], runs[m]
    f = wall["first"] / runs["first"]; s = wall["second"] / runs["second"]
    printf "first report: %.0f items/s, %.0f thumbnails/s (%d items, %d thumbnails)\n", items / f, thumbs / f, items, thumbs
    printf "second / first: wall %.3f; first report / once: wall %.3f\n", s / f, f / wall["once"]
  }' "$work/runs"
