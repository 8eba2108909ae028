#!/usr/bin/env bash
# Checks the user documentation (README.md, CHANGELOG.md, docs/**, bench/README.md):
#   (a) every relative Markdown link [text](path) or [text](path#anchor) names
#       a file that exists (relative to the linking file), and every #anchor
#       (also a same-file (#anchor)) matches a heading of the target by
#       GitHub's slug rule;
#   (b) no development history: nothing matches "session N" or "issue N";
#   (c) every backticked reference to a repository file (`docs/x.md`,
#       `bench/run.sh`, `config/ndrd.yaml`, ...) names a file that exists.
# Prints each failure as FILE:LINE: message; exits 1 if there is any.
#
# Usage: tests/docs/check_docs.sh [REPO_ROOT]   (default: this script's ../..)
set -euo pipefail

root=${1:-"$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"}
if [[ ! -d $root ]]; then
    echo "check_docs: no directory $root" >&2
    exit 2
fi
cd "$root"

failures=0

# (b) development history, in every documentation file (not only Markdown).
history_targets=(README.md CHANGELOG.md bench/README.md)
[[ -d docs ]] && history_targets+=(docs)
existing=()
for t in "${history_targets[@]}"; do
    [[ -e $t ]] && existing+=("$t")
done
if ((${#existing[@]} > 0)); then
    while IFS= read -r hit; do
        file=${hit%%:*}
        rest=${hit#*:}
        line=${rest%%:*}
        echo "$file:$line: development history (\"session N\" / \"issue N\"): ${rest#*:}"
        failures=$((failures + 1))
    done < <(grep -rniE "session [0-9]|issue [0-9]" "${existing[@]}" || true)
fi

# (a) links and anchors, (c) backticked file references: Markdown files only.
markdown=()
for f in README.md CHANGELOG.md bench/README.md; do
    [[ -f $f ]] && markdown+=("$f")
done
if [[ -d docs ]]; then
    while IFS= read -r -d '' f; do
        markdown+=("$f")
    done < <(find docs -name '*.md' -type f -print0 | sort -z)
fi

if ((${#markdown[@]} > 0)); then
    set +e
    python3 - "${markdown[@]}" <<'PY'
import os
import re
import sys

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
LINK = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
REPO_DIRS = (".ci", "bench", "cmake", "config", "daemon", "docs", "index",
             "packaging", "systemd", "tests")
REPO_PATH = re.compile(r"^(?:%s)/[A-Za-z0-9_.@/+-]*$" % "|".join(re.escape(d) for d in REPO_DIRS))
TOP_FILES = {"README.md", "CHANGELOG.md", "LICENSE", "CMakeLists.txt"}
PLACEHOLDER = re.compile(r"[*?<>\[\]{}…]|\.\.\.|NAME|DATE|FILE|PATH")

failures = 0


def fail(path, line, message):
    global failures
    failures += 1
    print(f"{path}:{line}: {message}")


def slug(text):
    """GitHub's heading anchor: lower case, punctuation other than - and _ dropped, spaces to -."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link in a heading: its text
    text = text.strip().lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def lines_outside_fences(path):
    """(line number, text) of each line not inside a fenced code block."""
    out = []
    fenced = None
    with open(path, encoding="utf-8") as f:
        for number, text in enumerate(f, 1):
            m = FENCE.match(text)
            if m:
                if fenced is None:
                    fenced = m.group(1)
                elif m.group(1) == fenced:
                    fenced = None
                continue
            if fenced is None:
                out.append((number, text.rstrip("\n")))
    return out


anchor_cache = {}


def anchors(path):
    if path not in anchor_cache:
        seen = {}
        found = set()
        for _, text in lines_outside_fences(path):
            m = HEADING.match(text)
            if not m:
                continue
            base = slug(m.group(2))
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
        anchor_cache[path] = found
    return anchor_cache[path]


for doc in sys.argv[1:]:
    here = os.path.dirname(doc)
    for number, text in lines_outside_fences(doc):
        spans = [m.group(2).strip() for m in CODE_SPAN.finditer(text)]
        prose = CODE_SPAN.sub(lambda m: " " * len(m.group(0)), text)

        # (a) links
        for m in LINK.finditer(prose):
            target = m.group(3)
            if not target or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith("/"):
                continue  # external (http:, mailto:, file:) or absolute
            path, _, anchor = target.partition("#")
            resolved = os.path.normpath(os.path.join(here, path)) if path else doc
            if not os.path.exists(resolved):
                fail(doc, number, f"link to a missing file: {target}")
                continue
            if anchor:
                if os.path.isdir(resolved) or not resolved.endswith(".md"):
                    fail(doc, number, f"anchor into a file that has no headings: {target}")
                elif anchor not in anchors(resolved):
                    fail(doc, number, f"no heading for anchor #{anchor} in {resolved}: {target}")

        # (c) backticked references to repository files
        for span in spans:
            for token in span.split():
                token = token.strip("\"'(),;:")
                if token.startswith("./"):
                    token = token[2:]
                if not (REPO_PATH.match(token) or token in TOP_FILES):
                    continue
                if PLACEHOLDER.search(token):
                    continue
                if not os.path.exists(token):
                    fail(doc, number, f"reference to a missing repository file: {token}")

sys.exit(1 if failures else 0)
PY
    status=$?
    set -e
    if ((status != 0)); then
        failures=$((failures + 1))
    fi
fi

if ((failures > 0)); then
    exit 1
fi
echo "check_docs: ${#markdown[@]} Markdown files checked, no problems"
