# shellcheck shell=bash
# Helpers shared by the fault scripts in this folder (kill-during-writes.sh,
# postgres-restart-during-writes.sh, outbox-kill-and-receiver-down.sh). Source it; it does nothing
# by itself.
#
# What it provides:
#   - logging (log, pass, fail = fatal, check_fail = counted, the script goes on);
#   - free ports, millisecond clock;
#   - the cargo build of the API binary ($BIN), honouring CARGO_TARGET_DIR;
#   - a throwaway PostgreSQL cluster on a free port under a temporary directory, owned by the
#     'postgres' user when running as root (never the machine's own cluster);
#   - starting, killing and stopping the API by PID, with a fixed environment, in a working
#     directory of its own (so no .env file of the checkout is read);
#   - the admin -> organisation -> counselor -> client set-up, a bounded parallel write load of
#     session logs with confidential notes, and the invariants checked after a fault;
#   - clean-up on exit (API, load workers, cluster, temporary files), by PID only.
#
# Everything goes to 127.0.0.1. Set FAULT_KEEP_WORK=1 to keep the temporary files for inspection.
# The load can be tuned with LOAD_WORKERS, LOAD_REQUESTS, LOAD_LIMIT, LOAD_PAUSE (see below).

FAULT_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

ADMIN_EMAIL=admin@example.org
ADMIN_PASSWORD='violet tram under Wawel 1987!'
COUNSELOR_EMAIL=prawnik@example.org
COUNSELOR_PASSWORD='copper lantern near Odra 2040%'

FAILURES=0

log() { printf '%s\n' "$*"; }
pass() { printf 'PASS: %s\n' "$*"; }
# Fatal: the run cannot go on (set-up broken, process gone, ...). On standard error, so that it
# shows even from inside $(...).
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}
# An invariant that does not hold: reported, counted, and the remaining checks still run.
check_fail() {
    printf 'FAIL: %s\n' "$*"
    FAILURES=$((FAILURES + 1))
}

# Milliseconds since the epoch (bash 5 keeps microseconds in EPOCHREALTIME).
now_ms() {
    local us=${EPOCHREALTIME/[.,]/}
    printf '%s' "$((us / 1000))"
}

# port_in_use and free_port
# shellcheck source=tests/lib/server.sh
source "$FAULT_REPO/tests/lib/server.sh"

require_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || fail "$tool is required"
    done
}

# --- Build ------------------------------------------------------------------------------------

# Builds the API (unless FAULT_SKIP_BUILD=1, set by a caller that just built it) and sets BIN.
build_api() {
    if [[ "${FAULT_SKIP_BUILD:-}" != 1 ]]; then
        require_tools cargo
        log "Building casebridge (debug)..."
        (cd "$FAULT_REPO" && cargo build --locked --bin casebridge) || fail "cargo build failed"
    fi
    local target=${CARGO_TARGET_DIR:-target}
    [[ "$target" == /* ]] || target="$FAULT_REPO/$target"
    BIN="$target/debug/casebridge"
    [[ -x "$BIN" ]] || fail "binary not found at $BIN"
}

# --- Temporary files and clean-up -----------------------------------------------------------

WORK_DIR=""
PG_ROOT=""
API_PID=""
WORKER_PIDS=()

# Creates $WORK_DIR (API data folder, logs, load records). $1: a short name for the run.
make_work_dir() {
    WORK_DIR=$(mktemp -d -t "casebridge-$1.XXXXXX")
    mkdir -p "$WORK_DIR/data" "$WORK_DIR/load"
}

# Ends a process we started, by PID: TERM, then KILL after $2 seconds (default 10).
stop_pid() {
    local pid=$1 limit=${2:-10} i
    [[ -n "$pid" ]] || return 0
    if kill -TERM "$pid" 2>/dev/null; then
        for ((i = 0; i < limit * 5; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# The curl processes a load worker started (children of that worker's PID).
children_of() {
    ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ' || true
}

stop_workers() {
    local pid child
    for pid in "${WORKER_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            for child in $(children_of "$pid"); do
                kill -TERM "$child" 2>/dev/null || true
            done
            kill -TERM "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    WORKER_PIDS=()
}

strip_colours() { sed 's/\x1b\[[0-9;]*m//g' "$@"; }

fault_cleanup() {
    local rc=$?
    set +e
    trap - INT TERM
    stop_workers
    stop_pid "$API_PID"
    API_PID=""
    if [[ -n "$PG_ROOT" && -f "$PG_ROOT/data/postmaster.pid" ]]; then
        as_pg "$PG_BIN/pg_ctl" -D "$PG_ROOT/data" stop -m immediate -w -t 30 >/dev/null 2>&1
    fi
    if [[ $rc -eq 130 || $rc -eq 143 ]]; then
        log "interrupted; cleaning up"
    elif [[ $rc -ne 0 ]]; then
        if [[ -n "$WORK_DIR" && -s "$WORK_DIR/api.log" ]]; then
            log "--- last lines of the API log ---"
            strip_colours "$WORK_DIR/api.log" | tail -n 40
        fi
        if [[ -n "$PG_ROOT" && -s "$PG_ROOT/log" ]]; then
            log "--- last lines of the PostgreSQL log ---"
            tail -n 20 "$PG_ROOT/log"
        fi
    fi
    if [[ "${FAULT_KEEP_WORK:-}" == 1 ]]; then
        log "kept: ${WORK_DIR:-} ${PG_ROOT:-}"
    else
        [[ -n "$PG_ROOT" ]] && rm -rf "$PG_ROOT"
        [[ -n "$WORK_DIR" ]] && rm -rf "$WORK_DIR"
    fi
    exit "$rc"
}

install_cleanup() {
    trap fault_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# --- Throwaway PostgreSQL cluster ---------------------------------------------------------------

PG_BIN=""
PG_OWNER=""

pg_detect() {
    PG_BIN=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -n 1 || true)
    [[ -n "$PG_BIN" && -x "$PG_BIN/initdb" ]] || fail "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin"
    if [[ $(id -u) -eq 0 ]]; then
        id postgres >/dev/null 2>&1 || fail "running as root needs a 'postgres' user to own the throwaway cluster"
        PG_OWNER=postgres
    else
        PG_OWNER=$(id -un)
    fi
}

# Runs a command as the owner of the throwaway cluster (initdb and postgres refuse to run as root).
as_pg() {
    if [[ $(id -u) -eq 0 ]]; then
        su "$PG_OWNER" -s /bin/bash -c "cd / && $(printf '%q ' "$@")"
    else
        "$@"
    fi
}

pg_options() {
    printf '%s' "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_ROOT -c fsync=off"
}

pg_start() {
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -o "$(pg_options)" -l "$PG_ROOT/log" -w -t 30 start >/dev/null
}

# Crash-like restart: the server stops without a checkpoint and recovers from WAL on start.
pg_restart_immediate() {
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -o "$(pg_options)" -l "$PG_ROOT/log" -m immediate -w -t 30 restart >/dev/null
}

# Creates and starts the cluster with a database 'casebridge'; sets PG_PORT, PG_DATA, DB_URL.
pg_create() {
    pg_detect
    PG_ROOT=$(mktemp -d -t casebridge-fault-pg.XXXXXX)
    [[ $(id -u) -eq 0 ]] && chown "$PG_OWNER" "$PG_ROOT"
    PG_DATA="$PG_ROOT/data"
    PG_PORT=$(free_port 25432)
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U postgres --no-sync >"$WORK_DIR/initdb.log" 2>&1 ||
        { cat "$WORK_DIR/initdb.log"; fail "initdb failed"; }
    pg_start || fail "the throwaway PostgreSQL cluster did not start"
    "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres casebridge || fail "createdb failed"
    DB_URL="postgres://postgres@127.0.0.1:$PG_PORT/casebridge"
    pass "throwaway PostgreSQL ($("$PG_BIN/postgres" --version | awk '{print $3}')) on 127.0.0.1:$PG_PORT"
}

# --- The database under test --------------------------------------------------------------------

BACKEND=""
DB_FILE=""

# Sets BACKEND and DB_URL: a fresh SQLite file in $WORK_DIR, or a throwaway PostgreSQL cluster.
make_database() {
    BACKEND=$1
    case "$BACKEND" in
        sqlite)
            require_tools sqlite3
            DB_FILE="$WORK_DIR/casebridge.db"
            DB_URL="$DB_FILE"
            pass "fresh SQLite database $DB_FILE"
            ;;
        postgres) pg_create ;;
        *) fail "unknown database '$BACKEND' (sqlite or postgres)" ;;
    esac
}

# One SQL query straight against the database; prints the result (one value a line).
db_query() {
    case "$BACKEND" in
        sqlite) sqlite3 -batch -bail -cmd '.timeout 5000' "$DB_FILE" "$1" ;;
        postgres)
            "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d casebridge -c "$1"
            ;;
    esac
}

# --- The API process ----------------------------------------------------------------------------

API_PORT=""
BASE=""
API=""
DB_TIMEOUT_SECONDS=${DB_TIMEOUT_SECONDS:-3}

# The API's whole environment: nothing inherited but PATH and HOME, the same for every start and
# for the command-line tools (development secrets live in $WORK_DIR/data and survive restarts).
configure_api() {
    API_PORT=$(free_port 28080)
    BASE="http://127.0.0.1:$API_PORT"
    API="$BASE/api/v1"
    API_ENV=(
        env -i "PATH=$PATH" "HOME=${HOME:-/}"
        "DATABASE_URL=$DB_URL"
        CASEBRIDGE_ENV=development
        "CASEBRIDGE_BIND=127.0.0.1:$API_PORT"
        "CASEBRIDGE_DATA_DIR=$WORK_DIR/data"
        "CASEBRIDGE_DB_TIMEOUT_SECONDS=$DB_TIMEOUT_SECONDS"
        CASEBRIDGE_LOG=warn
        CASEBRIDGE_LOG_FORMAT=pretty
    )
}

casebridge_cli() {
    (cd "$WORK_DIR" && exec "${API_ENV[@]}" "$BIN" "$@")
}

api_start() {
    printf -- '----- casebridge serve started at %s -----\n' "$(date -u +%H:%M:%S.%N)" >>"$WORK_DIR/api.log"
    (cd "$WORK_DIR" && exec "${API_ENV[@]}" "$BIN" serve) </dev/null >>"$WORK_DIR/api.log" 2>&1 &
    API_PID=$!
}

api_alive() {
    kill -0 "$API_PID" 2>/dev/null || fail "the API process ($API_PID) exited"
}

# Status code of GET $1 (000 when there is no HTTP answer).
status_of() {
    curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$BASE$1" 2>/dev/null || true
}

# Polls /health/ready until 200 or $1 seconds pass. Sets WAITED_MS.
api_wait_ready() {
    local limit_ms=$(($1 * 1000)) start code
    start=$(now_ms)
    while :; do
        api_alive
        code=$(status_of /health/ready)
        WAITED_MS=$(($(now_ms) - start))
        [[ "$code" == 200 ]] && return 0
        ((WAITED_MS < limit_ms)) || fail "/health/ready did not answer 200 within $1 s (last: $code)"
        sleep 0.1
    done
}

api_kill9() {
    kill -KILL "$API_PID" || fail "could not kill the API process $API_PID"
    wait "$API_PID" 2>/dev/null || true
}

api_stop() {
    stop_pid "$API_PID" 20
    API_PID=""
}

# --- HTTP helpers ---------------------------------------------------------------------------------

# call METHOD PATH TOKEN [BODY]: sets HTTP_CODE; the body is in $WORK_DIR/last.body.
call() {
    local method=$1 path=$2 token=$3 body=${4:-}
    local args=(-s --max-time 30 -X "$method" -o "$WORK_DIR/last.body" -w '%{http_code}')
    [[ -n "$token" ]] && args+=(-H "authorization: Bearer $token")
    [[ -n "$body" ]] && args+=(-H 'content-type: application/json' --data-binary "$body")
    HTTP_CODE=$(curl "${args[@]}" "$API$path" 2>/dev/null || true)
}

# created_id WHAT: fails unless the last call answered 201 with an id; prints the id.
created_id() {
    [[ "$HTTP_CODE" == 201 ]] || fail "$1: HTTP $HTTP_CODE $(head -c 400 "$WORK_DIR/last.body")"
    jq -er '.id' "$WORK_DIR/last.body" || fail "$1: no id in $(head -c 400 "$WORK_DIR/last.body")"
}

login() {
    call POST /auth/login "" "$(jq -nc --arg e "$1" --arg p "$2" '{email: $e, password: $p}')"
    [[ "$HTTP_CODE" == 200 ]] || fail "login of $1: HTTP $HTTP_CODE $(head -c 400 "$WORK_DIR/last.body")"
    jq -er '.access_token' "$WORK_DIR/last.body" || fail "login of $1: no access_token"
}

# The first administrator, through the command line (before the API starts).
create_admin() {
    printf '%s\n' "$ADMIN_PASSWORD" | casebridge_cli create-admin --email "$ADMIN_EMAIL" --name "Fault Admin" \
        >"$WORK_DIR/create-admin.log" 2>&1 || { cat "$WORK_DIR/create-admin.log"; fail "create-admin failed"; }
}

# admin -> organisation -> counselor (specialties: legal) -> one client. Sets COUNSELOR_TOKEN,
# ORG_ID, COUNSELOR_ID, CLIENT_ID.
set_up_records() {
    local admin_token
    admin_token=$(login "$ADMIN_EMAIL" "$ADMIN_PASSWORD")
    call POST /organisations "$admin_token" \
        '{"name":"Stowarzyszenie Interwencji Prawnej","short_name":"SIP","cities":["Warszawa"],
          "services":["legal","psychological"],"contact_email":"biuro@example.org"}'
    ORG_ID=$(created_id "create organisation")
    call POST /users "$admin_token" "$(jq -nc --arg org "$ORG_ID" --arg e "$COUNSELOR_EMAIL" \
        '{organisation_id: $org, email: $e, display_name: "Anna Zielińska", role: "counselor",
          specialties: ["legal"]}')"
    [[ "$HTTP_CODE" == 201 ]] || fail "create counselor: HTTP $HTTP_CODE $(head -c 400 "$WORK_DIR/last.body")"
    COUNSELOR_ID=$(jq -er '.user.id' "$WORK_DIR/last.body") || fail "create counselor: no id"
    local enrolment_token
    enrolment_token=$(jq -er '.enrolment.token' "$WORK_DIR/last.body") || fail "no enrolment token"
    call POST /auth/enrol "" "$(jq -nc --arg t "$enrolment_token" --arg p "$COUNSELOR_PASSWORD" '{token: $t, password: $p}')"
    [[ "$HTTP_CODE" == 204 ]] || fail "enrolment: HTTP $HTTP_CODE $(head -c 400 "$WORK_DIR/last.body")"
    COUNSELOR_TOKEN=$(login "$COUNSELOR_EMAIL" "$COUNSELOR_PASSWORD")
    call POST /clients "$COUNSELOR_TOKEN" '{"given_names":"Aminat","family_name":"Dudayeva"}'
    CLIENT_ID=$(created_id "create client")
    pass "set up organisation $ORG_ID, counselor $COUNSELOR_ID (legal), client $CLIENT_ID"
}

# --- Write load -----------------------------------------------------------------------------------

LOAD_WORKERS=${LOAD_WORKERS:-4}
LOAD_REQUESTS=${LOAD_REQUESTS:-60}    # per worker
LOAD_LIMIT=${LOAD_LIMIT:-45}          # seconds after which a worker sends nothing more
LOAD_PAUSE=${LOAD_PAUSE:-0.02}        # seconds between two requests of a worker
LOAD_DOWN_PAUSE=${LOAD_DOWN_PAUSE:-0.2} # seconds after a request without an HTTP answer

# One worker: up to LOAD_REQUESTS session logs with notes, until the deadline ($2, ms). Writes one
# line a request to $WORK_DIR/load/$1.tsv, tab-separated ("-" for empty):
#   worker seq start_ms curl_exit http_code time_total content_type session_id problem_code notes
load_worker() {
    trap - EXIT INT TERM
    set +e
    local w=$1 deadline_ms=$2 i note body start meta rc code time ctype sid pcode
    local out="$WORK_DIR/load/$w.tsv" resp="$WORK_DIR/load/$w.body" started_at
    started_at=$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%SZ)
    for ((i = 1; i <= LOAD_REQUESTS; i++)); do
        (($(now_ms) < deadline_ms)) || break
        note="Notatka poufna $w/$i: klient przyniósł decyzję — odwołanie w 14 dni ($RANDOM$RANDOM)"
        body=$(printf '{"kind":"legal","mode":"%s","started_at":"%s","duration_minutes":%d,"notes":"%s"}' \
            "$([[ $((i % 2)) == 0 ]] && echo in_person || echo phone)" "$started_at" $((15 + i % 90)) "$note")
        : >"$resp"
        start=$(now_ms)
        meta=$(curl -s --connect-timeout 2 --max-time 20 -o "$resp" \
            -w '%{http_code}\t%{time_total}\t%{content_type}' \
            -H "authorization: Bearer $COUNSELOR_TOKEN" -H 'content-type: application/json' \
            --data-binary "$body" "$API/clients/$CLIENT_ID/sessions")
        rc=$?
        IFS=$'\t' read -r code time ctype <<<"$meta"
        [[ -n "$code" ]] || code=000
        sid=-
        pcode=-
        if [[ "$code" == 2?? ]]; then
            # The top-level "id" (other keys end in _id); jq only when the pattern does not match.
            if [[ "$(<"$resp")" =~ \"id\":\"([0-9A-Za-z-]+)\" ]]; then
                sid=${BASH_REMATCH[1]}
            else
                sid=$(jq -r '.id // "-"' "$resp" 2>/dev/null || echo -)
            fi
        elif [[ "$code" != 000 ]]; then
            pcode=$(jq -r '.code // "-"' "$resp" 2>/dev/null || echo -)
            { printf '%s/%s HTTP %s: ' "$w" "$i" "$code"; head -c 300 "$resp"; echo; } >>"$WORK_DIR/load/problems.txt"
        fi
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$i" "$start" "$rc" "$code" "${time:--}" \
            "${ctype:--}" "${sid:--}" "${pcode:--}" "$note" >>"$out"
        if [[ "$code" == 000 ]]; then sleep "$LOAD_DOWN_PAUSE"; else sleep "$LOAD_PAUSE"; fi
    done
}

# Starts the workers; sets LOAD_START_MS.
start_load() {
    local w deadline
    LOAD_START_MS=$(now_ms)
    deadline=$((LOAD_START_MS + LOAD_LIMIT * 1000))
    for ((w = 1; w <= LOAD_WORKERS; w++)); do
        load_worker "w$w" "$deadline" &
        WORKER_PIDS+=("$!")
    done
    log "write load: $LOAD_WORKERS workers x up to $LOAD_REQUESTS POST /clients/{id}/sessions (limit ${LOAD_LIMIT}s)"
}

# All load records, one file.
load_records() {
    cat "$WORK_DIR"/load/w*.tsv 2>/dev/null || true
}

# How many requests answered 2xx so far.
answered_2xx() {
    load_records | awk -F'\t' '$5 ~ /^2/' | wc -l
}

# Waits (bounded: the workers' own deadline plus the longest curl) for the workers to finish.
wait_load() {
    local limit_ms=$(((LOAD_LIMIT + 25) * 1000)) pid busy
    while :; do
        busy=0
        for pid in "${WORKER_PIDS[@]}"; do
            kill -0 "$pid" 2>/dev/null && busy=1
        done
        ((busy)) || break
        if (($(now_ms) - LOAD_START_MS > limit_ms)); then
            stop_workers
            fail "the load workers did not finish within $((limit_ms / 1000)) s"
        fi
        sleep 0.2
    done
    for pid in "${WORKER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    WORKER_PIDS=()
    # shellcheck disable=SC2034 # read by the scripts
    LOAD_END_MS=$(now_ms)
}

# Prints a one-line summary of the load: totals per HTTP status.
load_summary() {
    load_records | awk -F'\t' '
        { n++; s[$5 == "000" ? "no HTTP answer (curl exit " $4 ")" : "HTTP " $5]++ }
        END {
            printf "%d requests:", n
            sep = " "
            for (k in s) { printf "%s%s x%d", sep, k, s[k]; sep = ", " }
            printf "\n"
        }'
}

# --- Invariants -------------------------------------------------------------------------------------

# Checks the sessions answered 2xx in one load record file ($1): each must exist for the counselor
# (GET 200) with the very notes sent, decrypted. Writes one line per session to $1.check:
# "ok", or "missing|wrong <detail>".
check_record_file() {
    trap - EXIT INT TERM
    set +e
    local file=$1 w i start rc code time ctype sid pcode note got_code got_notes unreadable
    local body="$file.get" out="$file.check"
    : >"$out"
    while IFS=$'\t' read -r w i start rc code time ctype sid pcode note; do
        [[ "$code" == 2?? ]] || continue
        if [[ "$sid" == - ]]; then
            printf 'wrong %s/%s answered %s without a session id\n' "$w" "$i" "$code" >>"$out"
            continue
        fi
        got_code=$(curl -s --max-time 10 -o "$body" -w '%{http_code}' \
            -H "authorization: Bearer $COUNSELOR_TOKEN" "$API/sessions/$sid" 2>/dev/null)
        if [[ "$got_code" != 200 ]]; then
            printf 'missing GET /sessions/%s (%s/%s, answered %s) -> %s %s\n' "$sid" "$w" "$i" "$code" \
                "${got_code:-000}" "$(head -c 300 "$body" | tr '\n' ' ')" >>"$out"
            continue
        fi
        IFS=$'\t' read -r unreadable got_notes < <(jq -j '.notes_unreadable, "\t", (.notes // "<null>"), "\n"' "$body")
        if [[ "$got_notes" != "$note" || "$unreadable" != false ]]; then
            printf 'wrong session %s (%s/%s): notes_unreadable=%s, notes=%q, sent %q\n' "$sid" "$w" "$i" \
                "$unreadable" "$got_notes" "$note" >>"$out"
            continue
        fi
        echo ok >>"$out"
    done <"$file"
}

# Every session id answered 2xx exists, with its notes readable (one checker per record file, in
# parallel, bounded in time). Sets CREATED_2XX.
check_created_sessions() {
    local file pid start total ok missing wrong first
    start=$(now_ms)
    for file in "$WORK_DIR"/load/w*.tsv; do
        check_record_file "$file" &
        WORKER_PIDS+=("$!")
    done
    while :; do
        local busy=0
        for pid in "${WORKER_PIDS[@]}"; do
            if kill -0 "$pid" 2>/dev/null; then busy=1; fi
        done
        ((busy)) || break
        if (($(now_ms) - start > 60000)); then
            stop_workers
            fail "checking the created sessions took longer than 60 s"
        fi
        sleep 0.1
    done
    for pid in "${WORKER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    WORKER_PIDS=()
    total=$(load_records | awk -F'\t' '$5 ~ /^2/' | wc -l)
    ok=$(cat "$WORK_DIR"/load/w*.tsv.check | grep -c '^ok$' || true)
    missing=$(cat "$WORK_DIR"/load/w*.tsv.check | grep -c '^missing ' || true)
    wrong=$(cat "$WORK_DIR"/load/w*.tsv.check | grep -c '^wrong ' || true)
    first=$(cat "$WORK_DIR"/load/w*.tsv.check | grep -v '^ok$' | head -n 3 | tr '\n' ';' || true)
    CREATED_2XX=$total
    if ((total == 0)); then
        check_fail "no request was answered 2xx at all"
    elif ((ok == total)); then
        pass "all $total sessions answered 2xx exist (GET 200) and their notes decrypt to what was sent ($(($(now_ms) - start)) ms to check)"
    else
        check_fail "of $total sessions answered 2xx, $missing are missing, $wrong have wrong or unreadable notes" \
            "($((total - ok - missing - wrong)) unchecked); first: $first"
    fi
}

# Straight from the database: every session has exactly one session.create event and vice versa.
check_audit_rows() {
    local sessions events missing duplicated orphans unanswered
    sessions=$(db_query "SELECT count(*) FROM sessions") || { check_fail "cannot count sessions"; return; }
    events=$(db_query "SELECT count(*) FROM audit_events WHERE action = 'session.create'")
    missing=$(db_query "SELECT count(*) FROM sessions s WHERE NOT EXISTS
        (SELECT 1 FROM audit_events a WHERE a.resource_id = s.id AND a.action = 'session.create')")
    duplicated=$(db_query "SELECT count(*) FROM (SELECT resource_id FROM audit_events
        WHERE action = 'session.create' GROUP BY resource_id HAVING count(*) > 1) d")
    orphans=$(db_query "SELECT count(*) FROM audit_events a WHERE a.action = 'session.create' AND NOT EXISTS
        (SELECT 1 FROM sessions s WHERE s.id = a.resource_id)")
    log "  database: $sessions sessions, $events session.create events, $missing sessions without an event," \
        "$duplicated sessions with several events, $orphans events without a session"
    if [[ "$sessions" == "$events" && "$missing" == 0 && "$duplicated" == 0 && "$orphans" == 0 ]]; then
        pass "every one of the $sessions sessions has exactly one session.create audit event (and no event lacks its session)"
    else
        check_fail "sessions ($sessions) vs session.create events ($events): missing $missing, duplicated $duplicated, orphan events $orphans"
    fi
    # Sessions the API wrote but never confirmed can only come from requests that got no answer or
    # a 5xx (the process died or the database went away around the commit).
    unanswered=$(load_records | awk -F'\t' '$5 == "000" || $5 ~ /^5/' | wc -l)
    if ((sessions >= CREATED_2XX && sessions <= CREATED_2XX + unanswered)); then
        pass "$sessions sessions stored for $CREATED_2XX answered 2xx and $unanswered with no answer or a 5xx (nothing lost, nothing doubled)"
    else
        check_fail "$sessions sessions stored, but $CREATED_2XX answered 2xx and only $unanswered got no answer or a 5xx"
    fi
}

check_audit_verify() {
    local out rc=0
    out=$(casebridge_cli audit verify 2>&1) || rc=$?
    if [[ $rc -eq 0 ]] && grep -q 'audit chain intact' <<<"$out"; then
        pass "casebridge audit verify: $(grep 'audit chain intact' <<<"$out")"
    else
        check_fail "casebridge audit verify exited $rc: $(strip_colours <<<"$out" | tail -n 5)"
    fi
}

check_ready() {
    local code
    code=$(status_of /health/ready)
    if [[ "$code" == 200 ]]; then
        pass "/health/ready answers 200 $1"
    else
        check_fail "/health/ready answers $code $1"
    fi
}

# One more session after the fault, as a probe that writes work.
check_write_after() {
    call POST "/clients/$CLIENT_ID/sessions" "$COUNSELOR_TOKEN" \
        "$(jq -nc --arg t "$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)" \
            '{kind: "other", mode: "video", started_at: $t, duration_minutes: 20, notes: "po awarii"}')"
    if [[ "$HTTP_CODE" == 201 ]]; then
        local sid
        sid=$(jq -r .id "$WORK_DIR/last.body")
        printf 'probe\t1\t%s\t0\t201\t-\t-\t%s\t-\tpo awarii\n' "$(now_ms)" "$sid" >>"$WORK_DIR/load/wprobe.tsv"
        pass "a new session can be logged $1 (201)"
    else
        check_fail "logging a session $1 answered $HTTP_CODE: $(head -c 300 "$WORK_DIR/last.body")"
    fi
}

# Summarises the API log: how many ERROR lines, and the distinct ERROR messages (at most $1).
api_log_excerpt() {
    [[ -s "$WORK_DIR/api.log" ]] || return 0
    local errors
    errors=$(strip_colours "$WORK_DIR/api.log" | grep -c ' ERROR ' || true)
    log "  API log: $errors ERROR line(s)"
    ((errors > 0)) || return 0
    strip_colours "$WORK_DIR/api.log" | grep ' ERROR ' | sed 's/^[^ ]* *ERROR *//' | cut -c1-160 |
        sort | uniq -c | sort -rn | head -n "$1" | sed 's/^/  | /'
}
