#!/usr/bin/env bash
# Near-duplicate recall by probe radius (issue 8), one command: installs the
# Debian packages whose photos and videos make the corpus (when missing),
# extracts the videos' frames with ffmpeg, builds bench_near_dup_study and
# prints its tables (bench/README.md, "Near-duplicate recall by probe radius").
# Deterministic: fixed file order, no randomness. A few minutes on 2 cores.
#
# Usage: bench/near_dup_study.sh
# Environment:
#   STUDY_MAX_ANCHORS=300   frames t per video, each with t+1 and t+2
#   BENCH_BUILD_DIR, BENCH_BUILD_TYPE  see bench/common.sh
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "$0")/common.sh"
cd "$bench_root"
(($# == 0)) || { echo "usage: bench/near_dup_study.sh" >&2; exit 64; }
max_anchors=${STUDY_MAX_ANCHORS:-300}

# ffmpeg decodes the sample videos (XviD, DivX 3, Cinepak): the project's
# OpenCV has no videoio, and the study should not add a build dependency.
bench_apt_install opencv-doc plasma-workspace-wallpapers mate-backgrounds gnome-backgrounds palapeli-data ffmpeg
bench_build bench_near_dup_study
tool=$bench_build_dir/bench/bench_near_dup_study

args=()
# add_source [--artwork] LABEL FILE...: the existing files, labelled by their
# package; --artwork marks drawn designs, which the false-duplicate count on
# photos leaves out.
add_source() {
  local kind=() label f
  [[ $1 == --artwork ]] && { kind=(--artwork); shift; }
  label=$1
  shift
  args+=(--source "$label" "${kind[@]}")
  for f in "$@"; do
    if [[ -f $f ]]; then args+=("$f"); else echo "near_dup_study: note: $f missing, skipped" >&2; fi
  done
}

# opencv-doc: its photos, one of each pair of views of a scene (the others are
# charts, text, logos and calibration shots: not photos, or not distinct).
cv_data=/usr/share/doc/opencv-doc/examples/data
cv_photos=(aero1.jpg aloeL.jpg apple.jpg baboon.jpg basketball1.png Blender_Suzanne1.jpg board.jpg box_in_scene.png
  building.jpg butterfly.jpg ela_original.jpg fruits.jpg graf1.png HappyFish.jpg home.jpg leuvenA.jpg
  licenseplate_motion.jpg messi5.jpg orange.jpg pca_test1.jpg rubberwhale1.png smarties.png squirrel_cls.jpg
  starry_night.jpg stuff.jpg)
add_source opencv-doc "${cv_photos[@]/#/$cv_data/}"

# plasma-workspace-wallpapers: each wallpaper once, at its largest size.
plasma=()
for theme in /usr/share/wallpapers/*/contents/images; do
  best=$(find "$theme" -maxdepth 1 -type f \( -name '*.jpg' -o -name '*.png' \) -printf '%f\n' |
    awk -F'[x.]' '$1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ { print $1 * $2, $0 }' | LC_ALL=C sort -k1,1nr -k2 | awk "NR == 1" |
    cut -d' ' -f2)
  [[ -n $best ]] && plasma+=("$theme/$best")
done
add_source plasma-workspace-wallpapers "${plasma[@]}"

# mate-backgrounds: each picture once (Elephants also comes in two larger
# sizes; the four Ubuntu-Mate-*-no-logo and the two MATE-Stripes are one
# design recoloured, so one of each).
# Only nature/ holds photos; abstract/ and desktop/ are drawn designs, which
# the tool keeps apart (--artwork) when it counts false duplicates on photos.
mate_files() {
  find "/usr/share/backgrounds/mate/$1" -type f \( -name '*.jpg' -o -name '*.png' \) |
    grep -v -E 'Elephants_[0-9]|Ubuntu-Mate-(Cold|Dark|Radioactive)|MATE-Stripes-Dark' | LC_ALL=C sort
}
mate=()
while IFS= read -r f; do mate+=("$f"); done < <(mate_files nature)
add_source mate-backgrounds "${mate[@]}"
mate=()
while IFS= read -r f; do mate+=("$f"); done < <(mate_files abstract; mate_files desktop)
add_source --artwork mate-backgrounds "${mate[@]}"

# gnome-backgrounds: the bitmap ones (WebP), the light variant of each
# (dark is the same design at night). Drawn designs, not photos.
gnome=()
while IFS= read -r f; do gnome+=("$f"); done < <(
  find /usr/share/backgrounds/gnome -type f -name '*.webp' ! -name '*-d.webp' | LC_ALL=C sort
)
add_source --artwork gnome-backgrounds "${gnome[@]}"

# palapeli-data: the jigsaw collection's photos.
palapeli=()
while IFS= read -r f; do palapeli+=("$f"); done < <(find /usr/share/palapeli/collection -type f -name '*.jpg' | LC_ALL=C sort)
add_source palapeli-data "${palapeli[@]}"

# Camera frame sequences: the sample videos' first 300 frames as PNG (lossless;
# the tool stores each as JPEG q90). Megamind_bugy.avi is a damaged copy of
# Megamind.avi, so it is left out.
frames_root=$bench_build_dir/near-dup-frames
rm -rf "$frames_root"
for video in Megamind vtest tree; do
  [[ -f $cv_data/$video.avi ]] || { echo "near_dup_study: note: $video.avi missing, skipped" >&2; continue; }
  mkdir -p "$frames_root/$video"
  ffmpeg -nostdin -loglevel error -i "$cv_data/$video.avi" -frames:v 300 "$frames_root/$video/%05d.png" ||
    bench_die "ffmpeg could not decode $video.avi"
  args+=(--frames "$frames_root/$video")
done

echo "near_dup_study: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$tool" --max-anchors "$max_anchors" "${args[@]}"
