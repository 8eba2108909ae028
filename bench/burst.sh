#!/usr/bin/env bash
# A burst of N files dropped at once, processed by `ndrd once`: wall time,
# files/s and peak RSS (GNU time). Files are copies of small reference images
# under distinct names, spread over 100 subdirectories.
# Usage: bench/burst.sh [N]   (after `bash .ci/setup`)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-50000}
bin=$(pwd)/build/daemon/ndrd
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mapfile -t images < <(ls tests/fixtures/reference/images/synth_h*.png tests/fixtures/reference/images/*resize25*)
for ((d = 0; d < 100; d++)); do mkdir -p "$work/in/d$d"; done
for ((i = 0; i < n; i++)); do
  cp "${images[$((i % ${#images[@]}))]}" "$work/in/d$((i % 100))/f$i.png"
done
cat > "$work/ndrd.yaml" <<YAML
ingest_dir: $work/in
output_dir: $work/out
index_dir: $work/index
log_level: warning
YAML
[[ -x /usr/bin/time ]] || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }
/usr/bin/time -v "$bin" once --config "$work/ndrd.yaml" 2>"$work/time.log" | tail -1
grep -E "Maximum resident set size|Elapsed" "$work/time.log"
echo "left in ingest: $(find "$work/in" -type f | wc -l); routed: $(find "$work/out" -type f | wc -l)"
