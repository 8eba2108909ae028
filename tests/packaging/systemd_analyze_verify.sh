#!/usr/bin/env bash
# systemd-analyze verify on ndrd.service and an instance of ndrd@.service, as
# systemd 252 would load them, plus a ceiling on their exposure score so the
# sandbox cannot be loosened by accident.
# Usage: systemd_analyze_verify.sh UNIT_DIR NDRD_BINARY
set -euo pipefail
unit_dir=$1
binary=$(realpath "$2")

if ! command -v systemd-analyze >/dev/null; then
  echo "systemd-analyze not found: install the Debian package systemd (.ci/setup does)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# verify insists that ExecStart= names an executable file, and /usr/bin/ndrd
# exists only once the package is installed: point copies at the built one.
for unit in ndrd.service ndrd@.service; do
  if ! grep -q '^ExecStart=/usr/bin/ndrd ' "$unit_dir/$unit"; then
    echo "FAIL: $unit does not start /usr/bin/ndrd, where the package installs it" >&2
    exit 1
  fi
  sed -E "s|^(ExecStart\|ExecReload)=/usr/bin/ndrd |\1=$binary |" "$unit_dir/$unit" >"$work/$unit"
done

units=("$work/ndrd.service" "$work/ndrd@cams.service")
status=0
# Unknown keys and bad values are only warnings (exit code 0), so the output
# is judged too: any line about our units fails the test.
# Documentation=man:ndrd(8) is there only once the package is installed
# (deb_package checks that it is, and that it renders): --man=no.
output=$(systemd-analyze verify --man=no "${units[@]}" 2>&1) || status=$?
echo "systemd-analyze verify ndrd.service ndrd@cams.service: exit $status"
[[ -z $output ]] || printf '%s\n' "$output"
if ((status != 0)) || grep -q 'ndrd' <<<"$output"; then
  echo "FAIL: systemd-analyze verify reported problems with the units" >&2
  exit 1
fi

# Scores run 0 (locked down) to 10 (unprotected); --threshold is in tenths.
# Both units score 1.4 today.
if ! output=$(systemd-analyze security --offline=yes --threshold=20 --no-pager "${units[@]}" 2>&1); then
  printf '%s\n' "$output"
  echo "FAIL: exposure level above 2.0: the sandbox was weakened" >&2
  exit 1
fi
grep 'Overall exposure level' <<<"$output"
echo "PASS"
