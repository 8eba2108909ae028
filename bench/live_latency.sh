#!/usr/bin/env bash
# Event-to-routed latency of a live daemon on an idle machine: drops N images
# (rename-in, one at a time) and times each until it appears in the output.
# Usage: bench/live_latency.sh [N]   (after `bash .ci/setup`)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-50}
bin=./build/daemon/ndrd
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/in" "$work/stage"
cat > "$work/ndrd.yaml" <<YAML
ingest_dir: $work/in
output_dir: $work/out
index_dir: $work/index
log_level: warning
YAML
"$bin" run --config "$work/ndrd.yaml" 2>"$work/log" &
pid=$!
until [[ -S $work/index/control.sock ]]; do sleep 0.05; done
images=(tests/fixtures/reference/images/*.{png,jpg})
lat=()
for ((i = 0; i < n; i++)); do
  src=${images[$((i % ${#images[@]}))]}
  name=$(printf 'f%04d_%s' "$i" "$(basename "$src")")
  cp "$src" "$work/stage/$name"
  t0=$(date +%s%N)
  mv "$work/stage/$name" "$work/in/$name"
  until [[ -e $work/out/train/$name || -e $work/out/duplicated/$name || -e $work/out/rejected/$name ]]; do
    sleep 0.001
  done
  t1=$(date +%s%N)
  lat+=($(((t1 - t0) / 1000)))
done
printf '%s\n' "${lat[@]}" | sort -n | awk -v n="$n" '
  { v[NR] = $1 }
  END { printf "images %d  p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  max %.1f ms\n",
        n, v[int(n*0.5)+1]/1000, v[int(n*0.9)+1]/1000, v[int(n*0.99)+ (n*0.99==int(n*0.99)?0:1)]/1000, v[n]/1000 }'
