# Helpers shared by the .ci scripts. Sourced, not run: each script that
# sources it has its own `set -euo pipefail`.

# ci_install PACKAGE...: installs the Debian packages that are missing (as
# root, or through sudo). Quick when all are there. `apt-get update` costs
# several seconds and the lists do not change within one CI run, so .ci/run
# names a stamp file in NDRD_CI_APT_STAMP and only the first install of the
# run updates them; run alone, a script always updates first.
ci_install() {
  local missing=() p sudo=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  echo "ci: installing ${missing[*]}" >&2
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  if [[ -z ${NDRD_CI_APT_STAMP:-} || ! -e ${NDRD_CI_APT_STAMP} ]]; then
    $sudo apt-get update -qq
    if [[ -n ${NDRD_CI_APT_STAMP:-} ]]; then touch "$NDRD_CI_APT_STAMP"; fi
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The sanitizer trees are built with clang: measured on this project's units,
# clang compiles them with ASan + UBSan in about 0.4 of gcc's CPU time, and
# with TSan in about 0.65. Ninja, because the TSan tree builds a list of
# targets and Ninja starts a target's compiles without waiting for the
# libraries it links; lld, which links an instrumented test binary in about
# a quarter of ld.bfd's CPU time.
# llvm-14 ships llvm-symbolizer, which clang's sanitizer runtimes look for
# on PATH to turn their reports into file:line stack traces (without it they
# print bare addresses).
ci_sanitizer_packages=(clang libclang-rt-14-dev llvm-14 lld ninja-build)
ci_sanitizer_path() { export PATH="/usr/lib/llvm-14/bin:$PATH"; }

# ci_configure_sanitizer_tree DIR FLAGS [CMAKE ARGS...]: configures a clang
# tree with sanitizer FLAGS (NDRD_SANITIZE: every compile and link). -O2 as in
# the release build; line tables only instead of full debug info: they are
# all a report needs for file:line frames, and they keep the instrumented
# binaries small to link. -DNDEBUG as in the release build, so the same code
# is under test. No benchmarks: nothing runs them under a sanitizer.
ci_configure_sanitizer_tree() {
  local dir=$1 flags=$2
  shift 2
  cmake -S . -B "$dir" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -gline-tables-only -DNDEBUG" \
    -DNDRD_SANITIZE="$flags" -DCMAKE_CXX_FLAGS="-fno-omit-frame-pointer" \
    -DCMAKE_EXE_LINKER_FLAGS="-fuse-ld=lld" -DNDRD_BENCH=OFF -DBUILD_TESTING=ON "$@" >/dev/null
}

# build-asan: ASan + UBSan with the fuzzer's coverage instrumentation, for
# .ci/sanitize (the whole suite) and .ci/fuzz (the libFuzzer targets). The
# test drivers are compiled without it (see NDRD_SANITIZE_TEST_DRIVERS).
ci_configure_asan_tree() {
  ci_configure_sanitizer_tree build-asan \
    "-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined" -DNDRD_FUZZ=ON \
    -DNDRD_SANITIZE_TEST_DRIVERS=OFF
}
