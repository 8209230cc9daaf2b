#!/usr/bin/env bash
# The interactive API docs (/docs) in headless Chromium with no network but 127.0.0.1: the page
# shows every operation of the OpenAPI document, and "Try it out" → "Execute" on
# GET /health/ready shows the live answer 200 (tests/docs/docs.test.mjs, playwright-core driving
# Debian's chromium; no browser is downloaded).
#
# Installs Debian's chromium when it is missing, builds the server, starts it on a free 127.0.0.1
# port with a fresh SQLite database in a temporary folder, then in tests/docs: `npm ci` and
# `npm test` (node --test). Stops the server it started, whatever happens.
#
# Usage: bash tests/docs/render.sh   (from anywhere inside the repository)
# Needs: cargo, node (20 or newer), npm, and apt-get when chromium is missing.
# Exit status: 0 when the page passed; non-zero otherwise, with the reason on a FAIL line.
set -euo pipefail

DOCS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$DOCS_DIR/../.." && pwd)"
cd "$ROOT"

CHROMIUM_PATH=/usr/bin/chromium
STARTUP_LIMIT=60   # seconds allowed for the server to become ready
TEST_LIMIT=180     # seconds for the browser test as a whole; node --test bounds each test to 120 s

log() { printf '%s\n' "$*"; }
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}

command -v cargo >/dev/null || fail "cargo is required"
command -v node >/dev/null || fail "node is required"
command -v npm >/dev/null || fail "npm is required"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 20)) || fail "node 20 or newer is required (found $(node --version))"

if [[ ! -x "$CHROMIUM_PATH" ]]; then
    log "==> installing chromium from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null
    [[ -x "$CHROMIUM_PATH" ]] || fail "chromium is not at $CHROMIUM_PATH after installing it"
fi

# port_in_use, free_port and wait_until_ready
# shellcheck source=tests/lib/server.sh
source "$ROOT/tests/lib/server.sh"

# --- Clean-up, whatever happens ----------------------------------------------------------------

WORK_DIR=""
API_PID=""

cleanup() {
    local rc=$?
    set +e
    if [[ -n "$API_PID" ]] && kill -0 "$API_PID" 2>/dev/null; then
        kill -TERM "$API_PID" 2>/dev/null
        for _ in $(seq 1 50); do
            kill -0 "$API_PID" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$API_PID" 2>/dev/null
        wait "$API_PID" 2>/dev/null
    fi
    if [[ $rc -ne 0 && -n "$WORK_DIR" && -s "$WORK_DIR/api.log" ]]; then
        log "--- last lines of the server log ---"
        sed 's/\x1b\[[0-9;]*m//g' "$WORK_DIR/api.log" | tail -n 30
    fi
    [[ -n "$WORK_DIR" ]] && rm -rf "$WORK_DIR"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- Build and start the server ----------------------------------------------------------------

started=$SECONDS
log "==> building casebridge (debug)"
cargo build --locked -q --bin casebridge
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/casebridge"
[[ -x "$BIN" ]] || fail "binary not found at $BIN"
log "<== built in $((SECONDS - started))s"

WORK_DIR=$(mktemp -d -t casebridge-docs.XXXXXX)
PORT=$(free_port 28180)
BASE="http://127.0.0.1:$PORT"

# A fresh database and development secrets in the temporary folder; settings from the caller's
# environment or a .env file must not leak in.
log "==> starting the server on $BASE"
(cd "$WORK_DIR" && exec env -u CASEBRIDGE_JWT_SIGNING_KEY -u CASEBRIDGE_MASTER_KEYS -u CASEBRIDGE_DB_POOL_SIZE \
    DATABASE_URL="$WORK_DIR/docs.db" CASEBRIDGE_ENV=development CASEBRIDGE_DATA_DIR="$WORK_DIR" \
    CASEBRIDGE_BIND="127.0.0.1:$PORT" CASEBRIDGE_LOG=warn CASEBRIDGE_LOG_FORMAT=pretty \
    "$BIN" serve </dev/null >"$WORK_DIR/api.log" 2>&1) &
API_PID=$!

wait_until_ready "$BASE" "$API_PID" "$STARTUP_LIMIT"
log "<== ready (pid $API_PID)"

# --- The browser test ----------------------------------------------------------------------------

cd "$DOCS_DIR"
log "==> installing playwright-core (no browser download)"
started=$SECONDS
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
log "<== installed in $((SECONDS - started))s"

log "==> opening $BASE/docs/ in chromium"
REPORT="$WORK_DIR/report.json"
if CASEBRIDGE_URL="$BASE" CHROMIUM_PATH="$CHROMIUM_PATH" DOCS_REPORT="$REPORT" \
    timeout --kill-after=10 "$TEST_LIMIT" npm test; then
    status=0
else
    status=$?
fi

summary=$(node -e '
    const fs = require("node:fs");
    const r = fs.existsSync(process.argv[1]) ? JSON.parse(fs.readFileSync(process.argv[1], "utf8")) : {};
    console.log([r.operations ?? "?", r.expected ?? "?", r.tryItOutStatus ?? "nothing", (r.blocked ?? []).length].join(" "));
' "$REPORT")
read -r operations expected answered blocked <<<"$summary"
log "docs page shows $operations of the document's $expected operation(s); Try it out on /health/ready showed $answered; $blocked request(s) outside 127.0.0.1"

((status == 124)) && fail "the browser test did not finish within ${TEST_LIMIT}s"
((status == 0)) || fail "the docs page test failed (details above)"
log "PASS: /docs renders all $operations operations offline; Try it out on /health/ready answered $answered"
