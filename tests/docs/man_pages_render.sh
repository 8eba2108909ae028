#!/usr/bin/env bash
# Each man page given renders with man -l (groff through man-db) without a
# warning, and shows its NAME section.
set -euo pipefail
command -v man >/dev/null || { echo "man not found (package man-db; .ci/setup installs it)" >&2; exit 1; }
for page in "$@"; do
  err=$(mktemp)
  text=$(MANWIDTH=80 man --warnings -l "$page" 2>"$err")
  if [[ -s $err ]]; then
    echo "FAIL: man -l $page warned:" >&2
    cat "$err" >&2
    exit 1
  fi
  rm -f "$err"
  grep -q '^NAME' <<<"$text" || { echo "FAIL: $page has no NAME section" >&2; exit 1; }
  echo "$page: $(wc -l <<<"$text") lines"
done
echo PASS
