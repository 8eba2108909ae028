#!/usr/bin/env bash
# Builds the benchmark corpus of issue 7 in OUT_DIR from images shipped in
# Debian packages (opencv-doc's sample photos, plasma-workspace-wallpapers'
# photos and artwork), rescaled to 1920x1080 and 4000x3000 JPEG (quality 90):
#   OUT_DIR/1920x1080/img_NNNNN.jpg, OUT_DIR/4000x3000/img_NNNNN.jpg
#   OUT_DIR/<size>.manifest.tsv   what each file is (unique / near / copy, from what)
#   OUT_DIR/corpus.info           the parameters, so run.sh knows when to rebuild
# Per resolution: BENCH_FILES files (default 200), of which 20% near-duplicates
# (re-encoded at quality 60-80, down- and up-scaled, brightness-shifted, or
# cropped 0-5% per edge, then back at the target size) and 10% byte-identical
# copies of earlier files; the rest are unique crops of the sources.
# Deterministic (fixed seed BENCH_SEED, default 7). Generated, never committed.
# Usage: bench/make_corpus.sh OUT_DIR
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"

(($# == 1)) || { echo "usage: bench/make_corpus.sh OUT_DIR" >&2; exit 64; }
out=$1
files=${BENCH_FILES:-200}
seed=${BENCH_SEED:-7}
near_share=0.2
copy_share=0.1
[[ $files =~ ^[0-9]+$ && $files -ge 10 ]] || bench_die "BENCH_FILES must be a number >= 10 (got '$files')"

bench_apt_install opencv-doc plasma-workspace-wallpapers
bench_build bench_corpus_tool
tool=$bench_build_dir/bench/bench_corpus_tool

# Colour photos among OpenCV's samples (its other samples are charts, text,
# logos and gray calibration shots); of pairs of one scene, one.
cv_data=/usr/share/doc/opencv-doc/examples/data
cv_photos=(aloeL.jpg apple.jpg baboon.jpg building.jpg butterfly.jpg ela_original.jpg fruits.jpg graf1.png
  home.jpg leuvenA.jpg messi5.jpg orange.jpg pca_test1.jpg rubberwhale1.png smarties.png squirrel_cls.jpg
  starry_night.jpg)
sources=()
for f in "${cv_photos[@]}"; do
  if [[ -f $cv_data/$f ]]; then sources+=("$cv_data/$f"); else echo "bench: note: $cv_data/$f missing, skipped" >&2; fi
done
# Each wallpaper once, at its largest size (its other sizes are the same picture).
for theme in /usr/share/wallpapers/*/contents/images; do
  best=$(find "$theme" -maxdepth 1 -type f \( -name '*.jpg' -o -name '*.png' \) -printf '%f\n' |
    awk -F'[x.]' '$1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ { print $1 * $2, $0 }' | LC_ALL=C sort -k1,1nr -k2 | awk "NR == 1" |
    cut -d' ' -f2)
  [[ -n $best ]] && sources+=("$theme/$best")
done
((${#sources[@]} >= 10)) || bench_die "only ${#sources[@]} source images found; are the packages installed?"

mkdir -p "$out"
rm -f "$out/corpus.info"
echo "bench: building the corpus in $out from ${#sources[@]} source images (seed $seed)" >&2
for size in 1920x1080 4000x3000; do
  rm -rf "${out:?}/$size"
  # A different seed per size: the two resolutions are two corpora, not one rescaled.
  "$tool" --out "$out/$size" --manifest "$out/$size.manifest.tsv" --size "$size" --count "$files" \
    --seed "$((seed + ${size%%x*}))" --near-share "$near_share" --copy-share "$copy_share" --quality 90 \
    --grain 3.0 "${sources[@]}"
done
# Written last: a corpus interrupted half-way has no info and is rebuilt.
printf 'files=%s seed=%s near_share=%s copy_share=%s quality=90 grain=3.0 sources=%s\n' \
  "$files" "$seed" "$near_share" "$copy_share" "${#sources[@]}" >"$out/corpus.info"
