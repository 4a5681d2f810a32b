#!/usr/bin/env bash
# The jaunt adoption lane: does jaunt still work with this Layer 1 inside it?
#
# Usage: scripts/check_jaunt_adoption.sh JAUNT_SOURCE_DIR
#
# Copies JAUNT_SOURCE_DIR to a temporary folder, overlays the layer as adoption/manifest.txt
# says, edits jaunt's packaging metadata as adoption would (scripts/adopt_pyproject.py; never
# jaunt's code or tests), installs it into a fresh venv, runs jaunt's whole pytest suite
# (every failure must be listed in adoption/excluded_jaunt_tests.txt), runs `jaunt --help`,
# `jaunt-prompts --help` and `jaunt-prompts lint`, then `jaunt build` and `jaunt test` on
# examples/01_slugify against scripts/jaunt_example_server.py on 127.0.0.1 (the real openai
# SDK on the wire). Exit 0 when all of that passes, 1 on any failure, 2 on usage errors.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
if [ "$#" -ne 1 ]; then
  echo "usage: $0 JAUNT_SOURCE_DIR (a jaunt source tree with src/jaunt)" >&2
  exit 2
fi
# A relative path is tried from the current folder, then from the checkout's parent folders:
# `../shared/peer/jaunt` names the same tree from the main checkout and from a worktree
# one level deeper (/work/wt/<name>).
SOURCE=""
for base in . "$REPO/.." "$REPO/../.."; do
  case "$1" in /*) candidate="$1" ;; *) candidate="$base/$1" ;; esac
  if [ -d "$candidate/src/jaunt" ]; then SOURCE="$(cd "$candidate" && pwd)"; break; fi
done
if [ -z "$SOURCE" ]; then
  echo "error: $1: not a jaunt source tree (no src/jaunt)" >&2
  exit 2
fi
# UV may be several words (.ci/run passes "python3 -m uv" where uv is not on PATH).
read -r -a UV_CMD <<<"${UV:-uv}"
PYTHON_VERSION="${JAUNT_ADOPTION_PYTHON:-3.11}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/jaunt-adoption.XXXXXX")"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step() { echo "== adoption: $*"; }
fail() { echo "error: adoption lane: $*" >&2; exit 1; }

step "copy $SOURCE and apply adoption/manifest.txt"
JAUNT="$WORK/jaunt"
cp -R "$SOURCE" "$JAUNT"
chmod -R u+w "$JAUNT"
rm -rf "$JAUNT/.venv"
python3 "$REPO/scripts/apply_adoption_manifest.py" "$JAUNT" || fail "manifest"
DEV_REQUIREMENTS="$(python3 "$REPO/scripts/adopt_pyproject.py" "$JAUNT")" || fail "pyproject"

step "install into a fresh venv (Python $PYTHON_VERSION)"
VENV="$WORK/venv"
"${UV_CMD[@]}" venv --quiet --python "$PYTHON_VERSION" "$VENV"
# The dev group minus linters and type checkers: the lane runs jaunt's tests, not its lint.
mapfile -t DEV < <(printf '%s\n' "$DEV_REQUIREMENTS" | grep -viE '^(ruff|mypy|ty)([^a-z0-9_-]|$)')
"${UV_CMD[@]}" pip install --quiet --python "$VENV/bin/python" "$JAUNT" "${DEV[@]}" || fail "install"
export PATH="$VENV/bin:$PATH"

step "jaunt's pytest suite"
REPORT="$WORK/pytest.txt"
set +e
(cd "$JAUNT" && env -u OPENAI_API_KEY -u OPENAI_BASE_URL python -m pytest -q -p no:cacheprovider -rfE) \
  >"$REPORT" 2>&1
PYTEST_STATUS=$?
set -e
SUMMARY="$(grep -E '^=*.*(passed|failed|error).* in [0-9.]+s' "$REPORT" | tail -n 1 || true)"
echo "jaunt suite: ${SUMMARY:-no summary line (pytest exit $PYTEST_STATUS)}"
ALLOWED="$(grep -vE '^\s*(#|$)' "$REPO/adoption/excluded_jaunt_tests.txt" | sed 's/ *#.*//' | sort -u || true)"
FAILED="$(grep -E '^(FAILED|ERROR) ' "$REPORT" | awk '{print $2}' | sort -u || true)"
UNEXPECTED="$(comm -23 <(printf '%s\n' "$FAILED" | sed '/^$/d') <(printf '%s\n' "$ALLOWED" | sed '/^$/d'))"
if [ -n "$UNEXPECTED" ] || { [ "$PYTEST_STATUS" -ne 0 ] && [ -z "$FAILED" ]; }; then
  tail -n 60 "$REPORT" >&2
  fail "jaunt tests failed that are not listed in adoption/excluded_jaunt_tests.txt:
${UNEXPECTED:-(pytest exit $PYTEST_STATUS)}"
fi
if [ -n "$FAILED" ]; then
  echo "excluded (listed in adoption/excluded_jaunt_tests.txt):"
  printf '  %s\n' $FAILED
fi

step "jaunt --help, jaunt-prompts --help, jaunt-prompts lint"
CLI_DIR="$WORK/cli"
mkdir -p "$CLI_DIR"
(cd "$CLI_DIR" && jaunt --help >/dev/null) || fail "jaunt --help"
(cd "$CLI_DIR" && jaunt-prompts --help >/dev/null) || fail "jaunt-prompts --help"
(cd "$CLI_DIR" && jaunt-prompts lint) || fail "jaunt-prompts lint (packaged prompts)"

step "jaunt build + jaunt test on examples/01_slugify (model server on 127.0.0.1)"
EXAMPLE="$WORK/example"
cp -R "$JAUNT/examples/01_slugify" "$EXAMPLE"
PORT_FILE="$WORK/server.port"
python "$REPO/scripts/jaunt_example_server.py" --port-file "$PORT_FILE" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  [ -s "$PORT_FILE" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; fail "model server died"; }
  sleep 0.1
done
[ -s "$PORT_FILE" ] || fail "model server did not start within 10 s"
export OPENAI_BASE_URL="http://127.0.0.1:$(cat "$PORT_FILE")/v1"
export OPENAI_API_KEY="adoption-lane-key"
(cd "$EXAMPLE" && timeout 300 jaunt build) || fail "jaunt build"
GENERATED="$EXAMPLE/src/slugify_demo/__generated__/specs.py"
grep -q "^def slugify" "$GENERATED" 2>/dev/null || fail "jaunt build wrote no slugify to $GENERATED"
(cd "$EXAMPLE" && timeout 300 jaunt test) || fail "jaunt test"
echo "adoption lane: ok"
