#!/usr/bin/env bash
# Fault test: PostgreSQL goes away while the API runs, then comes back.
#
# Shows that GET /health/ready answers 503 (problem+json, with Retry-After) within the pool
# checkout timeout once the database is gone, that /health/live stays 200 meanwhile, and that
# readiness returns to 200 after PostgreSQL restarts, with the same API process.
#
# It never touches the machine's own PostgreSQL cluster: it creates a throwaway cluster on a free
# port under a temporary directory and removes it afterwards. All traffic goes to 127.0.0.1.
#
# Usage: bash tests/fault/database-outage.sh   (from anywhere inside the repository)
# Needs: cargo, curl, PostgreSQL server binaries (/usr/lib/postgresql/<version>/bin).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

DB_TIMEOUT_SECONDS=2   # CASEBRIDGE_DB_TIMEOUT_SECONDS given to the API
OUTAGE_LIMIT=10        # seconds allowed between stopping PostgreSQL and the first 503
RECOVERY_LIMIT=30      # seconds allowed between restarting PostgreSQL and the first 200
STARTUP_LIMIT=60       # seconds allowed for the API to become ready at start

log() { printf '%s\n' "$*"; }
pass() { printf 'PASS: %s\n' "$*"; }
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}

# Milliseconds since the epoch (bash 5 keeps microseconds in EPOCHREALTIME).
now_ms() {
    local us=${EPOCHREALTIME/[.,]/}
    printf '%s' "$((us / 1000))"
}

# --- PostgreSQL binaries and the user that runs them ------------------------------------------

PG_BIN=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -n 1 || true)
[[ -n "$PG_BIN" && -x "$PG_BIN/initdb" ]] || fail "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin"
command -v curl >/dev/null || fail "curl is required"
command -v cargo >/dev/null || fail "cargo is required"

if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || fail "running as root needs a 'postgres' user to own the throwaway cluster"
    PG_OWNER=postgres
else
    PG_OWNER=$(id -un)
fi

# Runs a command as the owner of the throwaway cluster (initdb and postgres refuse to run as root).
as_pg() {
    if [[ $(id -u) -eq 0 ]]; then
        su "$PG_OWNER" -s /bin/bash -c "cd / && $(printf '%q ' "$@")"
    else
        "$@"
    fi
}

# port_in_use and free_port
# shellcheck source=tests/lib/server.sh
source tests/lib/server.sh

# --- Clean-up, whatever happens ----------------------------------------------------------------

PG_ROOT=""
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
    if [[ -n "$PG_ROOT" && -f "$PG_ROOT/data/postmaster.pid" ]]; then
        as_pg "$PG_BIN/pg_ctl" -D "$PG_ROOT/data" stop -m immediate -w -t 30 >/dev/null 2>&1
    fi
    if [[ $rc -ne 0 ]]; then
        if [[ -n "$WORK_DIR" && -s "$WORK_DIR/api.log" ]]; then
            log "--- last lines of the API log ---"
            sed 's/\x1b\[[0-9;]*m//g' "$WORK_DIR/api.log" | tail -n 40
        fi
        if [[ -n "$PG_ROOT" && -s "$PG_ROOT/log" ]]; then
            log "--- last lines of the PostgreSQL log ---"
            tail -n 20 "$PG_ROOT/log"
        fi
    fi
    [[ -n "$PG_ROOT" ]] && rm -rf "$PG_ROOT"
    [[ -n "$WORK_DIR" ]] && rm -rf "$WORK_DIR"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- Build the API -------------------------------------------------------------------------------

log "Building casebridge (debug)..."
cargo build --locked --bin casebridge
BIN="${CARGO_TARGET_DIR:-target}/debug/casebridge"
[[ -x "$BIN" ]] || fail "binary not found at $BIN"
pass "built $BIN"

# --- Throwaway PostgreSQL cluster -------------------------------------------------------------

WORK_DIR=$(mktemp -d -t casebridge-outage-api.XXXXXX)
PG_ROOT=$(mktemp -d -t casebridge-outage-pg.XXXXXX)
[[ $(id -u) -eq 0 ]] && chown "$PG_OWNER" "$PG_ROOT"
PG_DATA="$PG_ROOT/data"
PG_PORT=$(free_port 25432)

as_pg "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U postgres --no-sync >"$WORK_DIR/initdb.log" 2>&1 ||
    { cat "$WORK_DIR/initdb.log" >&2; fail "initdb failed"; }

pg_start() {
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" \
        -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_ROOT -c fsync=off" \
        -l "$PG_ROOT/log" -w -t 30 start >/dev/null
}
pg_stop_immediate() {
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" stop -m immediate -w -t 30 >/dev/null
}

pg_start || fail "the throwaway PostgreSQL cluster did not start"
"$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres casebridge || fail "createdb failed"
pass "throwaway PostgreSQL ($("$PG_BIN/postgres" --version | awk '{print $3}')) on 127.0.0.1:$PG_PORT"

# --- Start the API against it -----------------------------------------------------------------

API_PORT=$(free_port 28080)
BASE="http://127.0.0.1:$API_PORT"

env -u CASEBRIDGE_JWT_SIGNING_KEY -u CASEBRIDGE_DB_POOL_SIZE \
    DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/casebridge" \
    CASEBRIDGE_ENV=development \
    CASEBRIDGE_BIND="127.0.0.1:$API_PORT" \
    CASEBRIDGE_DATA_DIR="$WORK_DIR" \
    CASEBRIDGE_DB_TIMEOUT_SECONDS="$DB_TIMEOUT_SECONDS" \
    CASEBRIDGE_LOG=warn \
    CASEBRIDGE_LOG_FORMAT=pretty \
    "$BIN" serve </dev/null >"$WORK_DIR/api.log" 2>&1 &
API_PID=$!

# Prints the status code of GET $1 (000 when there is no HTTP answer); headers and body go to
# $WORK_DIR/last.headers and $WORK_DIR/last.body.
status_of() {
    curl -s --max-time 10 -o "$WORK_DIR/last.body" -D "$WORK_DIR/last.headers" \
        -w '%{http_code}' "$BASE$1" 2>/dev/null || true
}

api_alive() {
    kill -0 "$API_PID" 2>/dev/null || fail "the API process ($API_PID) exited"
}

# Polls GET $1 until it answers $2 or $3 seconds pass. Sets WAITED_MS and LAST_STATUS.
wait_for_status() {
    local path=$1 want=$2 limit_ms=$(($3 * 1000)) start code
    start=$(now_ms)
    LAST_STATUS=""
    while :; do
        api_alive
        code=$(status_of "$path")
        WAITED_MS=$(($(now_ms) - start))
        if [[ "$code" != "$LAST_STATUS" ]]; then
            log "  GET $path -> $code after ${WAITED_MS} ms"
            LAST_STATUS=$code
        fi
        [[ "$code" == "$want" ]] && return 0
        ((WAITED_MS < limit_ms)) || return 1
        sleep 0.2
    done
}

wait_for_status /health/ready 200 "$STARTUP_LIMIT" ||
    fail "/health/ready did not answer 200 within ${STARTUP_LIMIT}s of start (last: $LAST_STATUS)"
pass "API (pid $API_PID) on $BASE is ready"

# --- Outage ------------------------------------------------------------------------------------

pg_stop_immediate || fail "could not stop the throwaway cluster"
log "PostgreSQL stopped (immediate); polling /health/ready..."
if ! wait_for_status /health/ready 503 "$OUTAGE_LIMIT"; then
    fail "/health/ready did not answer 503 within ${OUTAGE_LIMIT}s of the outage (last: $LAST_STATUS)"
fi
outage_ms=$WAITED_MS
grep -qi '^content-type: *application/problem+json' "$WORK_DIR/last.headers" ||
    fail "the 503 is not application/problem+json: $(grep -i '^content-type' "$WORK_DIR/last.headers" | tr -d '\r')"
log "  body: $(head -c 400 "$WORK_DIR/last.body")"
retry_after=$(grep -i '^retry-after:' "$WORK_DIR/last.headers" | tr -d '\r' | awk '{print $2}' || true)
[[ "$retry_after" =~ ^[0-9]+$ ]] || fail "the 503 carries no Retry-After header"
log "  Retry-After: $retry_after"
pass "/health/ready answered 503 problem+json (Retry-After: ${retry_after}) ${outage_ms} ms after PostgreSQL stopped (pool timeout ${DB_TIMEOUT_SECONDS}s)"

# The readiness request itself must not hang much longer than the pool timeout.
start=$(now_ms)
code=$(status_of /health/ready)
single_ms=$(($(now_ms) - start))
[[ "$code" == 503 ]] || fail "a second /health/ready during the outage answered $code"
((single_ms <= (DB_TIMEOUT_SECONDS + 3) * 1000)) ||
    fail "/health/ready took ${single_ms} ms during the outage (pool timeout ${DB_TIMEOUT_SECONDS}s)"
pass "one /health/ready during the outage took ${single_ms} ms"

code=$(status_of /health/live)
[[ "$code" == 200 ]] || fail "/health/live answered $code during the outage"
pass "/health/live still answers 200 during the outage"

# --- Recovery ----------------------------------------------------------------------------------

pg_start || fail "the throwaway PostgreSQL cluster did not restart"
log "PostgreSQL restarted; polling /health/ready..."
if ! wait_for_status /health/ready 200 "$RECOVERY_LIMIT"; then
    fail "/health/ready did not recover to 200 within ${RECOVERY_LIMIT}s (last: $LAST_STATUS)"
fi
pass "/health/ready answered 200 again ${WAITED_MS} ms after PostgreSQL restarted"

api_alive
pass "the API process (pid $API_PID) was never restarted"
if [[ -s "$WORK_DIR/api.log" ]]; then
    log "API log during the test (level warn and above; $(grep -c 'ERROR' "$WORK_DIR/api.log" || true) ERROR lines), last lines:"
    sed 's/\x1b\[[0-9;]*m//g; s/^/  | /' "$WORK_DIR/api.log" | tail -n 8
fi
log "database outage test passed"
