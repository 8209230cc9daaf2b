#!/usr/bin/env bash
# Fault test: PostgreSQL crashes and restarts (`pg_ctl restart -m immediate`) in the middle of a
# write load, while the same API process keeps running.
#
# Four workers log sessions with confidential notes for one client (up to 60 requests each), with
# CASEBRIDGE_DB_TIMEOUT_SECONDS=2. About a second into the load the throwaway cluster is restarted
# in immediate mode (every backend killed, crash recovery on start). Afterwards:
#   - every answer other than 2xx was 503 application/problem+json (or no HTTP answer at all), and
#     every 503 -- indeed every request, whatever its outcome -- came within the pool timeout + 2 s;
#   - the same API process serves 2xx again (load requests after the restart, a probe write,
#     /health/ready 200);
#   - every session answered 2xx exists with its notes readable, every session in the database
#     has exactly one `session.create` audit event, and `casebridge audit verify` passes.
#
# Usage: bash tests/fault/postgres-restart-during-writes.sh
# Needs: cargo, curl, jq, PostgreSQL server binaries (/usr/lib/postgresql/<version>/bin).
# The cluster is a throwaway one on a free port in a temporary directory (never the machine's own
# cluster); all traffic goes to 127.0.0.1. FAULT_KEEP_WORK=1 keeps the temporary files.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=tests/fault/lib.sh
source tests/fault/lib.sh

DB_TIMEOUT_SECONDS=2  # CASEBRIDGE_DB_TIMEOUT_SECONDS given to the API
RESTART_AFTER_MS=1000 # load time before the restart
STARTUP_LIMIT=60      # seconds allowed for the API to become ready at start
RECOVERY_LIMIT=30     # seconds allowed for /health/ready to answer 200 after the restart

[[ $# -eq 0 ]] || fail "usage: $0 (no arguments)"
require_tools curl jq

RUN_START=$(now_ms)
install_cleanup
build_api
make_work_dir pg-restart
make_database postgres
configure_api
create_admin

api_start
api_wait_ready "$STARTUP_LIMIT"
API_PID_AT_START=$API_PID
pass "API (pid $API_PID, postgres, pool timeout ${DB_TIMEOUT_SECONDS}s) on $BASE ready after ${WAITED_MS} ms"
set_up_records

# --- The fault: PostgreSQL restarts in immediate mode under load -----------------------------

start_load
sleep "$(awk -v ms=$RESTART_AFTER_MS 'BEGIN { printf "%.3f", ms / 1000 }')"
before=$(answered_2xx)
RESTART_BEGIN_MS=$(now_ms)
pg_restart_immediate || fail "pg_ctl restart -m immediate failed"
RESTART_END_MS=$(now_ms)
log "PostgreSQL restarted (immediate) $((RESTART_BEGIN_MS - LOAD_START_MS)) ms into the load;" \
    "pg_ctl took $((RESTART_END_MS - RESTART_BEGIN_MS)) ms; $before sessions answered 201 before"
((before > 0)) || check_fail "no session was answered 2xx before the restart (the load did not get going)"

wait_load
log "load finished $((LOAD_END_MS - LOAD_START_MS)) ms after it began: $(load_summary)"

# --- Invariants ----------------------------------------------------------------------------------

log "checking invariants..."

# Requests whose time overlapped the restart (started before its end, finished after its start).
overlapping=$(load_records | awk -F'\t' -v b="$RESTART_BEGIN_MS" -v e="$RESTART_END_MS" \
    '$6 != "-" && $3 <= e && $3 + $6 * 1000 >= b' | wc -l)
max_time=$(load_records | awk -F'\t' '$6 != "-" && $6 > m { m = $6 } END { printf "%.3f", m }')
log "  $overlapping requests overlapped the restart; the slowest request took ${max_time} s"

# Every answer that is not 2xx: 503 problem+json, or no HTTP answer at all.
bad=$(load_records | awk -F'\t' '$5 !~ /^2/ && $5 != "000" && !($5 == "503" && $7 ~ /^application\/problem\+json/)')
if [[ -z "$bad" ]]; then
    n503=$(load_records | awk -F'\t' '$5 == "503"' | wc -l)
    n000=$(load_records | awk -F'\t' '$5 == "000"' | wc -l)
    pass "every request that failed got 503 problem+json ($n503) or no HTTP answer ($n000)"
else
    check_fail "$(wc -l <<<"$bad") failed requests got another answer:" \
        "$(awk -F'\t' '{ print $1 "/" $2 " HTTP " $5 " " $7 " code=" $9 " in " $6 " s" }' <<<"$bad" | head -n 5 | tr '\n' ';')"
    head -n 5 "$WORK_DIR/load/problems.txt" 2>/dev/null | sed 's/^/  | /'
fi

# 503s come quickly: within the pool timeout plus 2 s.
limit=$((DB_TIMEOUT_SECONDS + 2))
slow=$(load_records | awk -F'\t' -v l="$limit" '$5 == "503" && $6 > l')
n503=$(load_records | awk -F'\t' '$5 == "503"' | wc -l)
slowest503=$(load_records | awk -F'\t' '$5 == "503" && $6 > m { m = $6 } END { printf "%.3f", m }')
if [[ -n "$slow" ]]; then
    check_fail "$(wc -l <<<"$slow") of $n503 503 answers took longer than ${limit} s (slowest ${slowest503} s)"
elif ((n503 > 0)); then
    pass "all $n503 503 answers came within ${limit} s (slowest ${slowest503} s; pool timeout ${DB_TIMEOUT_SECONDS} s)"
else
    pass "no request was refused with 503: those overlapping the restart got a connection once PostgreSQL was back"
fi
# And no request at all, whatever its outcome, hung: each was answered within the same bound.
hung=$(load_records | awk -F'\t' -v l="$limit" '$6 != "-" && $6 > l' | wc -l)
if ((hung == 0)); then
    pass "every request, the $overlapping overlapping the restart included, was answered within ${limit} s (slowest ${max_time} s)"
else
    check_fail "$hung requests took longer than ${limit} s (slowest ${max_time} s)"
fi
codes=$(load_records | awk -F'\t' '$5 == "503" { print $9 }' | sort | uniq -c | awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }')
[[ -z "$codes" ]] || log "  problem codes of the 503s: $codes"

# The same process serves writes again.
if [[ "$API_PID" == "$API_PID_AT_START" ]] && kill -0 "$API_PID" 2>/dev/null; then
    pass "the API process (pid $API_PID) was never restarted"
else
    check_fail "the API process $API_PID_AT_START is gone"
fi
after=$(load_records | awk -F'\t' -v t="$RESTART_END_MS" '$5 ~ /^2/ && $3 >= t' | wc -l)
if ((after > 0)); then
    pass "the load got 2xx again after the restart: $after sessions from requests sent after pg_ctl returned"
else
    check_fail "no session was answered 2xx after PostgreSQL came back"
fi
start=$(now_ms)
while [[ "$(status_of /health/ready)" != 200 ]] && (($(now_ms) - start < RECOVERY_LIMIT * 1000)); do sleep 0.2; done
check_ready "after the restart, with the same process"
check_write_after "after the restart, with the same process"
check_created_sessions

api_stop
check_audit_rows
check_audit_verify
api_log_excerpt 8

elapsed=$(awk -v ms=$(($(now_ms) - RUN_START)) 'BEGIN { printf "%.1f", ms / 1000 }')
if ((FAILURES > 0)); then
    log "postgres-restart-during-writes: $FAILURES invariant(s) FAILED (${elapsed} s)"
    exit 1
fi
log "postgres-restart-during-writes: all invariants hold (${elapsed} s)"
