# shellcheck shell=bash
# Shared by the scripts of bench/ (sourced, not run).
# BENCH_BUILD_DIR: the benchmark's own build tree (default ./build-bench), so
# a benchmark never reconfigures or rebuilds anybody's ./build.
# BENCH_BUILD_TYPE: RelWithDebInfo by default, the type .ci/setup and the
# .deb build with, so the numbers are those of what ships.

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_build_dir=${BENCH_BUILD_DIR:-$bench_root/build-bench}
bench_build_type=${BENCH_BUILD_TYPE:-RelWithDebInfo}

bench_die() {
  echo "bench: $*" >&2
  exit 1
}

# bench_apt_install PACKAGE...: installs the missing ones (root or sudo).
bench_apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  echo "bench: installing ${missing[*]} (Debian packages)" >&2
  $sudo apt-get update -qq || bench_die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    bench_die "cannot install ${missing[*]}"
}

# bench_build TARGET...: configures (tests off: they are not measured and
# take most of the build time) and builds the targets, two jobs at most.
bench_build() {
  command -v cmake >/dev/null || bench_die "cmake not found; run 'bash .ci/setup' first"
  mkdir -p "$bench_build_dir"
  cmake -S "$bench_root" -B "$bench_build_dir" -DCMAKE_BUILD_TYPE="$bench_build_type" -DBUILD_TESTING=OFF \
    -DNDRD_BENCH=ON >"$bench_build_dir/bench-configure.log" 2>&1 ||
    { cat "$bench_build_dir/bench-configure.log" >&2; bench_die "configuring $bench_build_dir failed (see above)"; }
  local jobs
  jobs=$(nproc)
  ((jobs <= 2)) || jobs=2
  cmake --build "$bench_build_dir" -j"$jobs" --target "$@" >"$bench_build_dir/bench-build.log" 2>&1 ||
    { tail -40 "$bench_build_dir/bench-build.log" >&2; bench_die "building $* in $bench_build_dir failed (see above)"; }
}

# Reporting helpers of run.sh and cluster.sh (they keep a `problems` array).
note() { echo "bench: $*" >&2; }
problem() {
  problems+=("$*")
  note "PROBLEM: $*"
}
# kv "LINE" KEY: the value of KEY=value in a tool's output line.
kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -1; }
# median V...: the middle value (mean of the two middle ones for an even
# count); "-" when there is none, ignoring failed runs' "-".
median() {
  printf '%s\n' "$@" | LC_ALL=C sort -g |
    awk '$1 != "-" && NF { v[++n] = $1 } END { if (n == 0) print "-"; else if (n % 2) print v[(n + 1) / 2]; else print (v[n / 2] + v[n / 2 + 1]) / 2 }'
}
# fmt PRECISION VALUE: fixed-point, "-" passes through.
fmt() { if [[ $2 == - || -z $2 ]]; then echo -; else LC_ALL=C printf "%.${1}f" "$2"; fi; }
# ratio A B: A / B with two decimals, "-" when either is missing.
ratio() {
  if [[ $1 == - || $2 == - || -z $1 || -z $2 ]]; then echo -; else awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }'; fi
}
elapsed_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }

# bench_pick_files DIR N: the first N regular files of DIR by name, into the
# array `files` (the same images for every run); dies when there are none.
bench_pick_files() {
  mapfile -t files < <(find "$1" -maxdepth 1 -type f | sort | head -n "$2")
  ((${#files[@]} > 0)) || bench_die "no files in $1"
}

# bench_ab_setup NDRD_BINARY IMAGE_DIR [N=1000] [ROUNDS=3]: the arguments of
# the scripts that compare two settings over the same images (ndrd, images,
# n, rounds), a scratch directory `work` removed at exit, and `files`.
# shellcheck disable=SC2034 # the variables are the calling script's
bench_ab_setup() {
  ndrd=$1
  images=$2
  n=${3:-1000}
  rounds=${4:-3}
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  bench_pick_files "$images" "$n"
}
