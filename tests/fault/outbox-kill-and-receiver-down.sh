#!/usr/bin/env bash
# Fault test of the outbox: webhook deliveries survive a `kill -9` of the API and a receiver that
# is down for a while, and two instances on one PostgreSQL database deliver each event once.
#
# sqlite / postgres (the faults): a coordinator's webhook points at a local receiver
# (tests/fault/webhook_receiver.py, which logs each request's event id and webhook-id and checks
# its signature, and answers slowly enough that delivery takes several seconds). 1 000 test
# events are made (POST /webhooks/{id}/test); while they are being delivered the API is killed
# with `kill -9` and started again, and later the receiver is stopped (connections refused) for a
# few seconds and started again. Retries are short (first 200 ms, longest 2 s) and so is the lease
# (5 s) that a delivery in flight at the kill waits out. When `casebridge outbox status` shows
# nothing waiting or pending (bounded wait):
#   - every one of the 1 000 events reached the receiver at least once, and nothing else did;
#   - every repeat of an event carries the webhook-id of its first delivery, and every request's
#     signature checks out;
#   - the outbox shows 1 000 deliveries delivered, none pending or failed;
#   and the number of duplicates is printed.
# two-instances (PostgreSQL): two API processes on one database, the same webhook; 1 000 test
# events made through both; with no fault the receiver gets each event exactly once.
#
# Usage: bash tests/fault/outbox-kill-and-receiver-down.sh [sqlite|postgres|two-instances]
#        (default: all three, in turn)
# Needs: cargo, curl, jq, python3, sqlite3; for PostgreSQL the server binaries
# (/usr/lib/postgresql/*/bin), run as a throwaway cluster in a temporary directory. All traffic
# goes to 127.0.0.1. FAULT_KEEP_WORK=1 keeps the temporary files (API logs, received.tsv).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=tests/fault/lib.sh
source tests/fault/lib.sh

EVENTS=${OUTBOX_EVENTS:-1000}
STARTUP_LIMIT=60      # seconds allowed for the API to become ready (first start and restart)
DRAIN_LIMIT=90        # seconds allowed for the outbox to empty after the faults
RECEIVER_DOWN=3       # seconds the receiver refuses connections
RECEIVER_DELAY_MS=25  # per request, so that 1 000 deliveries take several seconds
COORDINATOR_EMAIL=koordynator@example.org
COORDINATOR_PASSWORD='amber ferry past Vistula 2031&'

require_tools curl jq python3

# --- All three runs, each in a process of its own -------------------------------------------------

if [[ $# -eq 0 ]]; then
    build_api
    pass "built $BIN"
    child=""
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
    for run in sqlite postgres two-instances; do
        log ""
        log "===== $run ====="
        started=$(now_ms)
        FAULT_SKIP_BUILD=1 bash "${BASH_SOURCE[0]}" "$run" &
        child=$!
        rc=0
        wait "$child" || rc=$?
        child=""
        secs=$(awk -v ms=$(($(now_ms) - started)) 'BEGIN { printf "%.1f", ms / 1000 }')
        if [[ $rc -eq 0 ]]; then results+=("$run: passed (${secs} s)"); else results+=("$run: FAILED, exit $rc (${secs} s)"); status=1; fi
    done
    log ""
    log "===== summary ====="
    printf '%s\n' "${results[@]}"
    exit "$status"
fi

RUN=${1:-}
case "$RUN" in
    sqlite | postgres) backend=$RUN ;;
    two-instances) backend=postgres ;;
    *) fail "usage: $0 [sqlite|postgres|two-instances]" ;;
esac

RUN_START=$(now_ms)
install_cleanup
build_api
make_work_dir "outbox-$RUN"
make_database "$backend"
configure_api

# Short retries and lease, so that the faults heal within seconds; webhooks may point at
# 127.0.0.1. The two-instance run keeps the default lease: no delivery should wait one out.
API_ENV+=(
    CASEBRIDGE_WEBHOOK_ALLOW_PRIVATE=true
    CASEBRIDGE_WEBHOOK_FIRST_RETRY_MS=200
    CASEBRIDGE_WEBHOOK_LONGEST_PAUSE_MS=2000
    CASEBRIDGE_WEBHOOK_TIMEOUT_MS=1000
    CASEBRIDGE_OUTBOX_POLL_INTERVAL_MS=100
    CASEBRIDGE_WEBHOOK_CONCURRENCY=4
)
[[ "$RUN" == two-instances ]] || API_ENV+=(CASEBRIDGE_OUTBOX_LEASE_MS=5000)
create_admin

api_start
api_wait_ready "$STARTUP_LIMIT"
pass "API (pid $API_PID, $BACKEND) on $BASE ready after ${WAITED_MS} ms"

# --- The receiver -------------------------------------------------------------------------------

RECEIVER_PID=""
RECEIVER_PORT=$(free_port 28500)
RECEIVED="$WORK_DIR/received.tsv"
: >"$RECEIVED"

receiver_start() {
    python3 tests/fault/webhook_receiver.py --port "$RECEIVER_PORT" --log "$RECEIVED" \
        --secret "$WEBHOOK_SECRET" --delay-ms "$1" 2>>"$WORK_DIR/receiver.log" &
    RECEIVER_PID=$!
    local i
    for ((i = 0; i < 50; i++)); do
        port_in_use "$RECEIVER_PORT" && return 0
        kill -0 "$RECEIVER_PID" 2>/dev/null || fail "the receiver exited: $(tail -n 5 "$WORK_DIR/receiver.log")"
        sleep 0.1
    done
    fail "the receiver did not listen on 127.0.0.1:$RECEIVER_PORT within 5 s"
}

receiver_stop() {
    stop_pid "$RECEIVER_PID" 5
    RECEIVER_PID=""
}

# The second API process of the two-instance run.
API2_PID=""

outbox_cleanup() {
    local rc=$?
    set +e
    receiver_stop
    stop_pid "$API2_PID"
    API2_PID=""
    (exit "$rc")
    fault_cleanup
}
trap outbox_cleanup EXIT

# Distinct events received so far.
received_events() {
    cut -f1 "$RECEIVED" | sort -u | wc -l
}

# Waits until at least $1 distinct events have been received, or $2 seconds pass.
wait_received() {
    local deadline=$(($(now_ms) + $2 * 1000))
    until (($(received_events) >= $1)); do
        (($(now_ms) < deadline)) || fail "fewer than $1 events received within $2 s ($(received_events))"
        sleep 0.1
    done
}

# --- The coordinator, the webhook, the events ---------------------------------------------------

# admin -> organisation -> coordinator (who manages webhooks). Sets COORDINATOR_TOKEN.
set_up_coordinator() {
    local admin_token enrolment_token
    admin_token=$(login "$ADMIN_EMAIL" "$ADMIN_PASSWORD")
    call POST /organisations "$admin_token" \
        '{"name":"Fundacja Pomocy Migrantom","short_name":"FPM","cities":["Kraków"],
          "services":["legal"],"contact_email":"biuro@example.org"}'
    ORG_ID=$(created_id "create organisation")
    call POST /users "$admin_token" "$(jq -nc --arg org "$ORG_ID" --arg e "$COORDINATOR_EMAIL" \
        '{organisation_id: $org, email: $e, display_name: "Ewa Nowak", role: "coordinator", specialties: []}')"
    [[ "$HTTP_CODE" == 201 ]] || fail "create coordinator: HTTP $HTTP_CODE $(head -c 400 "$WORK_DIR/last.body")"
    enrolment_token=$(jq -er '.enrolment.token' "$WORK_DIR/last.body") || fail "no enrolment token"
    call POST /auth/enrol "" "$(jq -nc --arg t "$enrolment_token" --arg p "$COORDINATOR_PASSWORD" '{token: $t, password: $p}')"
    [[ "$HTTP_CODE" == 204 ]] || fail "enrolment: HTTP $HTTP_CODE $(head -c 400 "$WORK_DIR/last.body")"
    COORDINATOR_TOKEN=$(login "$COORDINATOR_EMAIL" "$COORDINATOR_PASSWORD")
}

set_up_webhook() {
    call POST /webhooks "$COORDINATOR_TOKEN" "$(jq -nc --arg url "http://127.0.0.1:$RECEIVER_PORT/casebridge" \
        '{url: $url, event_types: ["referral_sent"], description: "fault test receiver"}')"
    WEBHOOK_ID=$(created_id "create webhook")
    WEBHOOK_SECRET=$(jq -er '.secret' "$WORK_DIR/last.body") || fail "no secret in the webhook's creation"
    pass "webhook $WEBHOOK_ID -> http://127.0.0.1:$RECEIVER_PORT/casebridge"
}

# Makes $1 test events through the API at $2 (8 requests at a time, one curl process); writes
# their ids to $WORK_DIR/events-<pid>.txt. Every request must answer 202.
make_events() {
    trap - EXIT INT TERM
    local count=$1 api=$2 dir="$WORK_DIR/made-$BASHPID" codes
    mkdir -p "$dir"
    codes=$(curl -s --parallel --parallel-max 8 --max-time 30 -X POST \
        -H "authorization: Bearer $COORDINATOR_TOKEN" \
        -w '%{http_code}\n' -o "$dir/#1.json" "$api/webhooks/$WEBHOOK_ID/test?n=[1-$count]" 2>>"$WORK_DIR/curl.log" || true)
    local accepted
    accepted=$(grep -c '^202$' <<<"$codes" || true)
    ((accepted == count)) || fail "of $count test events, $accepted were answered 202: $(sort <<<"$codes" | uniq -c | tr '\n' ' ')"
    cat "$dir"/*.json | jq -r '.event_id' >"$WORK_DIR/events-$BASHPID.txt"
    rm -rf "$dir"
}

# The ids of the events made, one a line, sorted.
events_made() {
    cat "$WORK_DIR"/events-*.txt | sort -u
}

set_up_coordinator
set_up_webhook

outbox_status() {
    casebridge_cli outbox status 2>>"$WORK_DIR/cli.log"
}

# Waits (bounded) until the outbox has nothing waiting or pending. Sets DRAINED_MS.
wait_drained() {
    local start deadline out waiting pending
    start=$(now_ms)
    deadline=$((start + DRAIN_LIMIT * 1000))
    while :; do
        out=$(outbox_status) || fail "casebridge outbox status failed: $(tail -n 5 "$WORK_DIR/cli.log")"
        waiting=$(awk -F'\t' '$1 == "events waiting" { print $2 }' <<<"$out")
        pending=$(awk -F'\t' '$1 == "pending" { print $2 }' <<<"$out")
        [[ "$waiting" == 0 && "$pending" == 0 ]] && break
        (($(now_ms) < deadline)) || fail "the outbox did not empty within $DRAIN_LIMIT s: $(tr '\n\t' '; ' <<<"$out")"
        sleep 0.5
    done
    DRAINED_MS=$(($(now_ms) - start))
    log "  outbox status: $(tr '\n\t' ', ' <<<"$out" | sed 's/, $//')"
}

# Deliveries an instance ($1 = base URL) has made since it started, from its metrics.
delivered_by() {
    curl -s --max-time 10 "$1/metrics" | awk '$1 == "casebridge_outbox_delivery_latency_seconds_count" { print $2 }'
}

# --- Checks -------------------------------------------------------------------------------------

# What reached the receiver against the events made. Sets DUPLICATES.
check_received() {
    local made distinct total missing unexpected mixed bad
    made=$(events_made | wc -l)
    distinct=$(received_events)
    total=$(wc -l <"$RECEIVED")
    missing=$(comm -23 <(events_made) <(cut -f1 "$RECEIVED" | sort -u) | wc -l)
    unexpected=$(comm -13 <(events_made) <(cut -f1 "$RECEIVED" | sort -u) | wc -l)
    # Events whose receipts carry more than one webhook-id.
    mixed=$(cut -f1,2 "$RECEIVED" | sort -u | cut -f1 | uniq -d | wc -l)
    bad=$(awk -F'\t' '$3 != "ok"' "$RECEIVED" | wc -l)
    DUPLICATES=$((total - distinct))
    log "  receiver: $total requests, $distinct distinct events of $made made, $DUPLICATES duplicates"
    ((made == EVENTS)) || check_fail "$made distinct event ids were made, not $EVENTS"
    if ((missing == 0 && distinct == made)); then
        pass "every one of the $made events reached the receiver (none lost)"
    else
        check_fail "$missing of the $made events never reached the receiver; first: $(comm -23 <(events_made) <(cut -f1 "$RECEIVED" | sort -u) | head -n 3 | tr '\n' ' ')"
    fi
    ((unexpected == 0)) || check_fail "$unexpected events reached the receiver that were never made"
    if ((mixed == 0)); then
        pass "every repeat carries the webhook-id of the event's first delivery"
    else
        check_fail "$mixed events arrived under more than one webhook-id"
    fi
    if ((bad == 0)); then
        pass "all $total requests carried a valid webhook-signature"
    else
        check_fail "$bad requests carried no or a wrong signature"
    fi
}

# The outbox's own account: one delivery per event, all delivered.
check_deliveries() {
    local rows delivered per_event retried
    rows=$(db_query "SELECT count(*) FROM deliveries")
    delivered=$(db_query "SELECT count(*) FROM deliveries WHERE status = 'delivered'")
    per_event=$(db_query "SELECT count(*) FROM (SELECT event_id FROM deliveries GROUP BY event_id HAVING count(*) > 1) d")
    retried=$(db_query "SELECT count(*) FROM deliveries WHERE attempts > 1")
    log "  database: $rows deliveries, $delivered delivered, $retried attempted more than once"
    if ((rows == EVENTS && delivered == EVENTS && per_event == 0)); then
        pass "the outbox holds one delivery per event, all $delivered delivered"
    else
        check_fail "deliveries: $rows rows, $delivered delivered, $per_event events with several deliveries"
    fi
}

finish() {
    api_log_excerpt 6
    local elapsed
    elapsed=$(awk -v ms=$(($(now_ms) - RUN_START)) 'BEGIN { printf "%.1f", ms / 1000 }')
    if ((FAILURES > 0)); then
        log "outbox-kill-and-receiver-down ($RUN): $FAILURES invariant(s) FAILED (${elapsed} s)"
        exit 1
    fi
    log "outbox-kill-and-receiver-down ($RUN): all invariants hold; $DUPLICATES duplicate(s) (${elapsed} s)"
}

# --- Two instances, no fault: each event exactly once ----------------------------------------------

if [[ "$RUN" == two-instances ]]; then
    receiver_start 0
    API2_PORT=$(free_port $((API_PORT + 1)))
    BASE2="http://127.0.0.1:$API2_PORT"
    (cd "$WORK_DIR" && exec "${API_ENV[@]}" "CASEBRIDGE_BIND=127.0.0.1:$API2_PORT" "$BIN" serve) \
        </dev/null >>"$WORK_DIR/api2.log" 2>&1 &
    API2_PID=$!
    wait_until_ready "$BASE2" "$API2_PID" "$STARTUP_LIMIT"
    pass "second API (pid $API2_PID) on $BASE2, same database"
    start=$(now_ms)
    (make_events $((EVENTS / 2)) "$API") &
    first=$!
    (make_events $((EVENTS - EVENTS / 2)) "$BASE2/api/v1") || fail "making events through the second instance failed"
    wait "$first" || fail "making events through the first instance failed"
    log "made $EVENTS test events through both instances in $(($(now_ms) - start)) ms"
    wait_received "$EVENTS" "$DRAIN_LIMIT"
    wait_drained
    # Anything still on its way would show as a repeat.
    sleep 1
    one=$(delivered_by "$BASE")
    two=$(delivered_by "$BASE2")
    log "  deliveries made: ${one:-?} by the first instance, ${two:-?} by the second"
    [[ "${one:-0}" != 0 && "${two:-0}" != 0 ]] || log "  (one instance made no delivery: the check below is weaker for it)"
    check_received
    if ((DUPLICATES == 0)); then
        pass "each of the $EVENTS events reached the receiver exactly once"
    else
        check_fail "$DUPLICATES duplicate deliveries with two instances and no fault"
    fi
    check_deliveries
    finish
    exit 0
fi

# --- The faults: kill -9 of the API, the receiver down --------------------------------------------

receiver_start "$RECEIVER_DELAY_MS"
start=$(now_ms)
(make_events "$EVENTS" "$API") || exit 1
log "made $EVENTS test events in $(($(now_ms) - start)) ms; $(received_events) received so far"

wait_received $((EVENTS / 4)) 60
at_kill=$(received_events)
((at_kill < EVENTS)) || check_fail "all events were delivered before the kill: the test proves nothing (slow the receiver)"
old_pid=$API_PID
KILL_MS=$(now_ms)
api_kill9
log "killed the API (pid $old_pid, SIGKILL) with $at_kill of $EVENTS events received"
sleep 0.5
api_start
api_wait_ready "$STARTUP_LIMIT"
pass "restarted API (pid $API_PID) ready $(($(now_ms) - KILL_MS)) ms after the kill"

wait_received $((at_kill + EVENTS / 4)) 60
at_stop=$(received_events)
((at_stop < EVENTS)) || check_fail "all events were delivered before the receiver stopped"
receiver_stop
port_in_use "$RECEIVER_PORT" && fail "the receiver's port still accepts connections after it stopped"
log "stopped the receiver with $at_stop of $EVENTS events received; refusing connections for $RECEIVER_DOWN s"
sleep "$RECEIVER_DOWN"
refused=$(db_query "SELECT count(*) FROM deliveries WHERE status = 'pending' AND last_error IS NOT NULL")
receiver_start "$RECEIVER_DELAY_MS"
log "receiver back; $refused deliveries were waiting to be retried after a failed attempt"

wait_drained
log "the outbox emptied $DRAINED_MS ms after the receiver came back"
# A request on its way when the status was read would show as a repeat.
sleep 1
api_alive
check_received
check_deliveries
finish
