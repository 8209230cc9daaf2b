#!/usr/bin/env bash
# Fault test: the API process is killed (SIGKILL) in the middle of a write load, then started
# again on the same database.
#
# Four workers log sessions with confidential notes for one client (up to 60 requests each).
# About a second into the load the API is killed with `kill -9` and started again with the same
# environment; the workers carry on (requests while it is down fail to connect and are recorded
# as such). Afterwards:
#   - every session answered 2xx exists (GET /sessions/{id} as the counselor answers 200) and its
#     notes decrypt to what was sent (notes_unreadable false);
#   - in the database, every session has exactly one `session.create` audit event;
#   - `casebridge audit verify` reports an intact chain;
#   - the restarted API answers /health/ready 200.
#
# Usage: bash tests/fault/kill-during-writes.sh [sqlite|postgres]   (default: both, in turn)
# Needs: cargo, curl, jq, sqlite3; for postgres the server binaries (/usr/lib/postgresql/*/bin).
# PostgreSQL runs as a throwaway cluster on a free port in a temporary directory (never the
# machine's own cluster); all traffic goes to 127.0.0.1. FAULT_KEEP_WORK=1 keeps the temporary
# files (API log, per-request records in load/*.tsv, database) for inspection.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=tests/fault/lib.sh
source tests/fault/lib.sh

KILL_AFTER_MS=1000   # load time before the kill
STARTUP_LIMIT=60     # seconds allowed for the API to become ready (first start and restart)

require_tools curl jq

# --- Both databases: one run each, in a process of its own ------------------------------------

if [[ $# -eq 0 ]]; then
    build_api
    pass "built $BIN"
    child=""
    # On interruption, the run in progress cleans up after itself; wait for it.
    # shellcheck disable=SC2317 # called from the traps below
    stop_child() {
        if [[ -n "$child" ]]; then
            kill -TERM "$child" 2>/dev/null || true
            wait "$child" 2>/dev/null || true
        fi
        exit "$1"
    }
    trap 'stop_child 143' TERM
    trap 'stop_child 130' INT
    results=()
    status=0
    for backend in sqlite postgres; do
        log ""
        log "===== $backend ====="
        started=$(now_ms)
        FAULT_SKIP_BUILD=1 bash "${BASH_SOURCE[0]}" "$backend" &
        child=$!
        rc=0
        wait "$child" || rc=$?
        child=""
        secs=$(awk -v ms=$(($(now_ms) - started)) 'BEGIN { printf "%.1f", ms / 1000 }')
        if [[ $rc -eq 0 ]]; then results+=("$backend: passed (${secs} s)"); else results+=("$backend: FAILED, exit $rc (${secs} s)"); status=1; fi
    done
    log ""
    log "===== summary ====="
    printf '%s\n' "${results[@]}"
    exit "$status"
fi

[[ $# -eq 1 && ( "$1" == sqlite || "$1" == postgres ) ]] || fail "usage: $0 [sqlite|postgres]"

RUN_START=$(now_ms)
install_cleanup
build_api
make_work_dir "kill-$1"
make_database "$1"
configure_api
create_admin

api_start
api_wait_ready "$STARTUP_LIMIT"
pass "API (pid $API_PID, $BACKEND) on $BASE ready after ${WAITED_MS} ms"
set_up_records

# --- The fault: kill -9 under load, start again ---------------------------------------------

start_load
sleep "$(awk -v ms=$KILL_AFTER_MS 'BEGIN { printf "%.3f", ms / 1000 }')"
before=$(answered_2xx)
old_pid=$API_PID
KILL_MS=$(now_ms)
api_kill9
log "killed the API (pid $old_pid, SIGKILL) $((KILL_MS - LOAD_START_MS)) ms into the load; $before sessions answered 201 before"
((before > 0)) || check_fail "no session was answered 2xx before the kill (the load did not get going)"

api_start
api_wait_ready "$STARTUP_LIMIT"
READY_MS=$(now_ms)
pass "restarted API (pid $API_PID) on the same database ready $((READY_MS - KILL_MS)) ms after the kill"

wait_load
log "load finished $((LOAD_END_MS - LOAD_START_MS)) ms after it began: $(load_summary)"

# --- Invariants ----------------------------------------------------------------------------------

log "checking invariants..."
after=$(load_records | awk -F'\t' -v t="$READY_MS" '$5 ~ /^2/ && $3 >= t' | wc -l)
if ((after > 0)); then
    pass "the load went on after the restart: $after sessions answered 2xx by the new process"
else
    check_fail "no session was answered 2xx after the restart"
fi

# Around a kill, a request either gets 201 or no HTTP answer at all (refused or cut off).
others=$(load_records | awk -F'\t' '$5 != "000" && $5 !~ /^2/' | wc -l)
if ((others == 0)); then
    pass "every request got 201 or no HTTP answer (connection refused or cut by the kill)"
else
    check_fail "$others requests got another answer: $(load_records | awk -F'\t' '$5 != "000" && $5 !~ /^2/ { print $1 "/" $2 " HTTP " $5 " " $9 }' | head -n 5 | tr '\n' ';')"
    head -n 5 "$WORK_DIR/load/problems.txt" 2>/dev/null | sed 's/^/  | /'
fi

check_ready "after the restart"
check_write_after "after the restart"
check_created_sessions

api_stop
check_audit_rows
check_audit_verify
api_log_excerpt 6

elapsed=$(awk -v ms=$(($(now_ms) - RUN_START)) 'BEGIN { printf "%.1f", ms / 1000 }')
if ((FAILURES > 0)); then
    log "kill-during-writes ($BACKEND): $FAILURES invariant(s) FAILED (${elapsed} s)"
    exit 1
fi
log "kill-during-writes ($BACKEND): all invariants hold (${elapsed} s)"
