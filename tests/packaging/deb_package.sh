#!/usr/bin/env bash
# Checks the .deb that cpack builds from the build tree, in one of three modes:
#   build: runs cpack into BUILD_DIR/deb-package-test, once, for the others
#     (CTest runs it as their fixture);
#   contents (default): checks the package's control data and file list,
#     unpacks it with dpkg -x and runs the unpacked binary on the unpacked
#     configuration;
#   install: the same, then installs and purges it in a scratch root with
#     dpkg --root, maintainer scripts included. That needs root: without it
#     the script exits 77 at once, which CTest reports as skipped
#     (SKIP_RETURN_CODE).
# Usage: deb_package.sh CPACK BUILD_DIR SOURCE_DIR [build|contents|install]
set -euo pipefail
cpack=$1
build_dir=$2
source_dir=$3
mode=${4:-contents}

case $mode in
build | contents | install) ;;
*)
  echo "unknown mode '$mode': build, contents or install" >&2
  exit 2
  ;;
esac
if [[ $mode == install ]] && (($(id -u) != 0)); then
  echo "SKIP: dpkg --root install and purge need root"
  exit 77
fi

for tool in dpkg-deb dpkg-shlibdeps dpkg-parsechangelog file readelf man; do
  if ! command -v "$tool" >/dev/null; then
    echo "$tool not found: .ci/setup installs the packages the .deb is built with" >&2
    exit 1
  fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# --- build -------------------------------------------------------------------
out=$build_dir/deb-package-test
if [[ $mode == build ]]; then
  rm -rf "$out"
  if ! (cd "$build_dir" && "$cpack" -G DEB -B "$out") >"$work/cpack.log" 2>&1; then
    cat "$work/cpack.log" >&2
    fail "cpack -G DEB failed"
  fi
fi
debs=("$out"/ndrd_*.deb)
if ((${#debs[@]} != 1)) || [[ ! -f ${debs[0]} ]]; then
  fail "expected one ndrd_*.deb in $out, got: ${debs[*]}"
fi
deb=${debs[0]}
if [[ $mode == build ]]; then
  echo "built $(basename "$deb")"
  exit 0
fi
echo "checking $(basename "$deb")"

# --- control data ------------------------------------------------------------
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
# Package names, without version constraints.
mapfile -t depended < <(tr ',' '\n' <<<"$depends" | sed -E 's/^ *//; s/[ (].*//')
depends_on() {
  local p
  for p in "${depended[@]}"; do [[ $p == "$1" ]] && return 0; done
  return 1
}
for pattern in 'librocksdb[0-9.]*' 'libopencv-core[0-9]*' 'libopencv-imgproc[0-9]*' \
  'libopencv-imgcodecs[0-9]*' 'libyaml-cpp[0-9.]*' 'libsystemd0'; do
  grep -qxE "$pattern" < <(printf '%s\n' "${depended[@]}") || fail "Depends lacks $pattern"
done
# Whatever the binary links must be covered, whichever build this is (an
# ASan build links libasan too): map each NEEDED library to its package.
dpkg-deb -x "$deb" "$work/root"
binary=$work/root/usr/bin/ndrd
mapfile -t needed < <(readelf -d "$binary" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p')
((${#needed[@]} > 0)) || fail "readelf found no NEEDED libraries in usr/bin/ndrd"
for soname in "${needed[@]}"; do
  path=$(ldd "$binary" | awk -v so="$soname" '$1 == so { print $3 }')
  [[ -n $path ]] || fail "ldd cannot resolve $soname"
  # dpkg records library paths with or without /usr (merged /usr).
  owner=$({ dpkg -S "$path" || dpkg -S "/usr$path" || dpkg -S "${path#/usr}"; } 2>/dev/null | head -n 1) ||
    fail "no Debian package owns $path ($soname)"
  package=${owner%%:*}
  depends_on "$package" || fail "usr/bin/ndrd links $soname from $package, which Depends does not list"
done

dpkg-deb -e "$deb" "$work/control"
[[ $(cat "$work/control/conffiles") == /etc/ndrd/ndrd.yaml ]] ||
  fail "conffiles is not exactly /etc/ndrd/ndrd.yaml: $(cat "$work/control/conffiles")"
for script in postinst prerm postrm; do
  [[ -x $work/control/$script ]] || fail "maintainer script $script missing or not executable"
done

# --- file list ---------------------------------------------------------------
dpkg-deb -c "$deb" | awk '{ print $6 }' >"$work/files"
for path in ./usr/bin/ndrd ./lib/systemd/system/ndrd.service ./lib/systemd/system/ndrd@.service \
  ./usr/lib/sysusers.d/ndrd.conf ./etc/ndrd/ndrd.yaml \
  ./usr/share/doc/ndrd/README.md ./usr/share/doc/ndrd/docs/configuration.md \
  ./usr/share/doc/ndrd/docs/operations.md ./usr/share/doc/ndrd/CHANGELOG.md ./usr/share/doc/ndrd/copyright \
  ./usr/share/doc/ndrd/changelog.Debian.gz ./usr/share/doc/ndrd/docs/monitoring/alerts.yml ./usr/share/man/man8/ndrd.8.gz ./usr/share/man/man5/ndrd.yaml.5.gz; do
  grep -qxF "$path" "$work/files" || fail "the package lacks $path"
done
if grep -E '^\./(usr/etc|usr/local|var)/' "$work/files"; then
  fail "files outside the Debian layout (listed above)"
fi
for unit in ndrd.service ndrd@.service; do
  cmp -s "$source_dir/systemd/$unit" "$work/root/lib/systemd/system/$unit" || fail "$unit differs from systemd/$unit"
done

# --- the unpacked binary and configuration -----------------------------------
version=$(dpkg-deb -f "$deb" Version)
[[ $("$binary" --version) == "ndrd $version" ]] || fail "ndrd --version is not 'ndrd $version'"

config=$work/root/etc/ndrd/ndrd.yaml
# Apart from where the reference lives, it is the commented default of the
# source tree: its relative paths resolve against /var/lib/ndrd because the
# file is /etc/ndrd/ndrd.yaml.
rewritten='^# Reference:'
diff <(grep -vE "$rewritten" "$source_dir/config/ndrd.yaml") <(grep -vE "$rewritten" "$config") ||
  fail "etc/ndrd/ndrd.yaml differs from config/ndrd.yaml beyond the reference line"
grep -qxF '# Reference: /usr/share/doc/ndrd/docs/configuration.md' "$config" ||
  fail "etc/ndrd/ndrd.yaml does not point to the installed configuration.md"
# It must load: status then fails only because no daemon ever created the
# index (exit 1, naming it), never with a configuration error (exit 78).
status=0
"$binary" status --config "$config" >"$work/status.out" 2>"$work/status.err" || status=$?
if ((status == 78)) || { ((status != 0)) && ! grep -qF "no index at $work/root/etc/ndrd/index" "$work/status.err"; }; then
  cat "$work/status.err" >&2
  fail "ndrd status --config etc/ndrd/ndrd.yaml exited $status"
fi
echo "ndrd status on the packaged configuration: exit $status ($(head -n 1 "$work/status.err"))"
# The man pages render.
for page in man8/ndrd.8.gz man5/ndrd.yaml.5.gz; do
  MANWIDTH=80 man -l "$work/root/usr/share/man/$page" 2>"$work/man.err" | grep -q . ||
    fail "man -l usr/share/man/$page rendered nothing: $(cat "$work/man.err")"
done
# The Debian changelog is one dpkg can read, for this version.
zcat "$work/root/usr/share/doc/ndrd/changelog.Debian.gz" >"$work/changelog"
[[ $(dpkg-parsechangelog -l "$work/changelog" -S Version) == "$version" ]] ||
  fail "changelog.Debian.gz does not start with version $version"

# --- install and purge in a scratch root -------------------------------------
if [[ $mode == contents ]]; then
  echo "PASS"
  exit 0
fi
command -v systemd-sysusers >/dev/null || fail "systemd-sysusers not found (package systemd)"
root=$work/scratch
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/etc"
touch "$root/var/lib/dpkg/status"
# The scratch root has no libraries, so Depends cannot be met there; the
# maintainer scripts run on this machine with DPKG_ROOT set and must touch
# nothing outside it.
dpkg_root() { dpkg --root="$root" --force-depends --force-script-chrootless "$@" >>"$work/dpkg.log" 2>&1; }
dpkg_root -i "$deb" || { cat "$work/dpkg.log" >&2; fail "dpkg --root -i failed"; }
dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Status}' ndrd | grep -qx 'install ok installed' ||
  fail "ndrd is not 'install ok installed' in the scratch root"
grep -qE '^ndrd:x:[0-9]+:[0-9]+:[^:]*:/var/lib/ndrd:/usr/sbin/nologin$' "$root/etc/passwd" ||
  fail "postinst did not create the system user ndrd: $(grep ndrd "$root/etc/passwd" || echo none)"
echo "dpkg --root -i: installed, user $(grep '^ndrd:' "$root/etc/passwd")"

# What purge must keep: the data, the user, configuration the administrator
# wrote. What it must remove: the conffile and links that enable the units.
mkdir -p "$root/var/lib/ndrd/dataset/train" "$root/etc/systemd/system/multi-user.target.wants"
echo image >"$root/var/lib/ndrd/dataset/train/a.jpg"
echo "ingest_dir: incoming" >"$root/etc/ndrd/cams.yaml"
ln -s /lib/systemd/system/ndrd.service "$root/etc/systemd/system/multi-user.target.wants/ndrd.service"
ln -s /lib/systemd/system/ndrd@.service "$root/etc/systemd/system/multi-user.target.wants/ndrd@cams.service"
dpkg_root --purge ndrd || { cat "$work/dpkg.log" >&2; fail "dpkg --root --purge failed"; }
[[ -f $root/var/lib/ndrd/dataset/train/a.jpg ]] || fail "purge deleted data under /var/lib/ndrd"
[[ -f $root/etc/ndrd/cams.yaml ]] || fail "purge deleted the administrator's /etc/ndrd/cams.yaml"
grep -q '^ndrd:' "$root/etc/passwd" || fail "purge deleted the user ndrd"
[[ ! -e $root/etc/ndrd/ndrd.yaml ]] || fail "purge left the conffile /etc/ndrd/ndrd.yaml"
[[ ! -e $root/usr/bin/ndrd && ! -e $root/lib/systemd/system/ndrd.service ]] || fail "purge left package files"
leftover=$(find "$root/etc/systemd/system" -name 'ndrd*')
[[ -z $leftover ]] || fail "purge left unit links: $leftover"
echo "dpkg --root --purge: data, user and cams.yaml kept; conffile and unit links removed"
echo "PASS"
