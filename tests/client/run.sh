#!/usr/bin/env bash
# Contract test: the README walkthrough through a TypeScript client generated from
# openapi/openapi.json, against the real server.
#
# Builds the server, starts it on a free 127.0.0.1 port with a fresh SQLite database in a
# temporary folder, creates the first administrator with `casebridge create-admin`, then in
# tests/client: `npm ci`, `npm run generate` (openapi-typescript), `npm run typecheck` (the test
# against the generated types) and `npm test` (node --test; every answer is also checked against
# the contract at run time). Stops the server it started, whatever happens.
#
# Usage: bash tests/client/run.sh   (from anywhere inside the repository)
# Needs: cargo, node (20 or newer) and npm. All traffic goes to 127.0.0.1.
# Exit status: 0 when everything passed; otherwise non-zero, after running both the type check
# and the tests so that every mismatch is reported.
set -euo pipefail

CLIENT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$CLIENT_DIR/../.." && pwd)"
cd "$ROOT"

STARTUP_LIMIT=60   # seconds allowed for the server to become ready
ADMIN_EMAIL="admin@example.org"
ADMIN_NAME="Consortium Admin"
ADMIN_PASSWORD="violet tram under Wawel 1987!"

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
cargo build --locked --bin casebridge
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/casebridge"
[[ -x "$BIN" ]] || fail "binary not found at $BIN"
log "<== built in $((SECONDS - started))s"

WORK_DIR=$(mktemp -d -t casebridge-client.XXXXXX)
PORT=$(free_port 28180)
BASE="http://127.0.0.1:$PORT"

# The server and the CLI read the same settings; a fresh database and development secrets live
# in the temporary folder. Settings from the caller's environment or a .env file must not leak in.
server_env=(
    env -u CASEBRIDGE_JWT_SIGNING_KEY -u CASEBRIDGE_MASTER_KEYS -u CASEBRIDGE_DB_POOL_SIZE
    DATABASE_URL="$WORK_DIR/casebridge.db"
    CASEBRIDGE_ENV=development
    CASEBRIDGE_BIND="127.0.0.1:$PORT"
    CASEBRIDGE_DATA_DIR="$WORK_DIR"
    CASEBRIDGE_LOG=warn
    CASEBRIDGE_LOG_FORMAT=pretty
)

log "==> creating the first administrator"
(cd "$WORK_DIR" && printf '%s\n' "$ADMIN_PASSWORD" |
    "${server_env[@]}" "$BIN" create-admin --email "$ADMIN_EMAIL" --name "$ADMIN_NAME") >"$WORK_DIR/create-admin.log" 2>&1 ||
    { sed 's/\x1b\[[0-9;]*m//g' "$WORK_DIR/create-admin.log" >&2; fail "create-admin failed"; }

log "==> starting the server on $BASE"
(cd "$WORK_DIR" && exec "${server_env[@]}" "$BIN" serve </dev/null >"$WORK_DIR/api.log" 2>&1) &
API_PID=$!

wait_until_ready "$BASE" "$API_PID" "$STARTUP_LIMIT"
log "<== ready (pid $API_PID)"

# --- The client: install, generate, type-check, test --------------------------------------------

cd "$CLIENT_DIR"
log "==> installing the client's packages"
started=$SECONDS
if [[ -f package-lock.json ]]; then
    npm ci --no-audit --no-fund
else
    npm install --no-audit --no-fund
fi
log "<== installed in $((SECONDS - started))s"

log "==> generating the typings from openapi/openapi.json"
npm run --silent generate

status=0
log "==> type-checking the walkthrough against the generated typings"
if npm run --silent typecheck; then
    log "<== type check passed"
else
    log "<== type check FAILED: the generated typings do not describe the requests and answers the walkthrough uses (contract.test.mjs names the causes)"
    status=1
fi

log "==> running the walkthrough against $BASE"
if CASEBRIDGE_URL="$BASE" CASEBRIDGE_ADMIN_EMAIL="$ADMIN_EMAIL" CASEBRIDGE_ADMIN_PASSWORD="$ADMIN_PASSWORD" npm test; then
    log "<== walkthrough passed"
else
    log "<== walkthrough FAILED"
    status=1
fi

if ((status == 0)); then
    log "client contract test passed"
else
    log "client contract test FAILED"
fi
exit "$status"
