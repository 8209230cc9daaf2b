#!/usr/bin/env bash
# Benchmarks of casebridge on this machine; benches/README.md says what each one measures.
#
#   1. login throughput against the Argon2 bound (cores used by the API ÷ time per hash)  auth.sh
#   2. p50/p99 of GET /auth/me alone and during a login flood                           auth.sh
#   3. client search latency (first and deep pages) at 10 000 and 1 000 000 clients   search.sh
#   4–5. the read and the write path against the same SQL sent straight to the database paths.sh
#   6. the indicator report over 1 000 000 sessions against its SQL run directly      report.sh
#   7. a mixed workload at 1 000 000 clients, with the API's memory and start-up time  mixed.sh
#   8. documents: memory under ten concurrent 25 MiB uploads, download vs in process   documents.sh
#   9. a counselor's agenda: first page with 5 000 appointments against an empty one     agenda.sh
#  10. referral creation with webhooks being delivered against with none (the outbox)   outbox.sh
# each on SQLite and on PostgreSQL.
#
# Everything listens on 127.0.0.1 and every load is bounded in time. Run from anywhere:
#   bash benches/run.sh [--quick] [options]      (--help lists them)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCHES="$ROOT/benches"
export BENCHES

SIZES="10000 1000000"
REPORT_SESSIONS=1000000
BACKENDS="sqlite postgres"
ONLY="all"
DURATION=10
LOGIN_DURATION=20
PG_URL="postgres://postgres@127.0.0.1:5432"
PORT=18080
WORK=""
KEEP=0
QUERY="kady"
API_CPU=0
LOAD_CPU=1
DB_CPU=""
PATH_CONNECTIONS="1 4"
PATH_PAIRS=3
BINARY=""

usage() {
    cat <<EOF
usage: bash benches/run.sh [options]
  --quick             10 000 clients and 100 000 sessions only (no million-row databases)
  --sizes "N …"       client counts for the search benchmark (default: $SIZES)
  --report-sessions N sessions under the indicator report, 10 per client (default: $REPORT_SESSIONS)
  --backends "…"      sqlite and/or postgres (default: $BACKENDS)
  --only "SECTION …"  run only these: auth (1–2), search (3), paths (4–5), report (6), mixed (7),
                      documents (8), agenda (9), outbox (10)
  --connections "N …" connections for the read and write paths and the outbox (default: $PATH_CONNECTIONS)
  --pairs N           runs side by side per ratio figure, one after the other: API and direct, with
                      webhooks and without (outbox)
                      (read and write paths), alone and during a login flood (/auth/me); the
                      median is reported (default: $PATH_PAIRS)
  --duration S        seconds per latency measurement (default: $DURATION)
  --query PREFIX      the name prefix searched for (default: $QUERY, a common surname prefix)
  --pg-url URL        PostgreSQL server, without a database name (default: $PG_URL)
  --port N            port of the API under test (default: $PORT)
  --work DIR          working folder (SQLite files, logs); reused databases stay there
  --binary PATH       measure this casebridge binary instead of building one (before/after runs)
  --keep              keep the databases (SQLite files and PostgreSQL casebridge_bench_*) for a later run
  --api-cpu N / --load-cpu N   cores for the API and for load generator (default: $API_CPU / $LOAD_CPU)
  --db-cpu N          core for a PostgreSQL server on this machine, restored afterwards (default: the
                      load generator's; "none" leaves it where it is)
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
        --quick) SIZES="10000"; REPORT_SESSIONS=100000 ;;
        --sizes) SIZES="$2"; shift ;;
        --report-sessions) REPORT_SESSIONS="$2"; shift ;;
        --backends) BACKENDS="$2"; shift ;;
        --only) ONLY="$2"; shift ;;
        --duration) DURATION="$2"; shift ;;
        --connections) PATH_CONNECTIONS="$2"; shift ;;
        --pairs) PATH_PAIRS="$2"; shift ;;
        --query) QUERY="$2"; shift ;;
        --pg-url) PG_URL="${2%/}"; shift ;;
        --port) PORT="$2"; shift ;;
        --work) WORK="$2"; shift ;;
        --keep) KEEP=1 ;;
        --binary) BINARY=$(realpath "$2"); shift ;;
        --api-cpu) API_CPU="$2"; shift ;;
        --load-cpu) LOAD_CPU="$2"; shift ;;
        --db-cpu) DB_CPU="$2"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

if [ "$(nproc)" -lt 2 ]; then
    API_CPU=0
    LOAD_CPU=0
fi
DB_CPU=${DB_CPU:-$LOAD_CPU}
if [ -z "$WORK" ]; then
    WORK=$(mktemp -d /tmp/casebridge-bench.XXXXXX)
fi
mkdir -p "$WORK"
RESULTS="$WORK/results.tsv"
: > "$RESULTS"

API="http://127.0.0.1:$PORT/api/v1"
PASSWORD="violet tram under Wawel 1987!"
ADMIN_EMAIL="bench-admin@example.org"
COUNSELOR_EMAIL="bench-counselor@example.org"
SERVER_PID=""
FLOOD_PID=""
CREATED_PG=()
PG_POSTMASTER=""
PG_AFFINITY=""

say() { printf '\n== %s\n' "$*"; }
load_average() { cut -d' ' -f1 /proc/loadavg; }
result() { # benchmark | figure | value | target | load average
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$(load_average)" >> "$RESULTS"
}
figure() { awk -v key="$1" '$1 == key { print $2 }' "$2" | tail -n1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}

# Pins a PostgreSQL server on this machine (postmaster, its processes and so every backend it
# starts later) to core DB_CPU; unpin_postgres gives them back the cores they had.
PG_PINNED=0
pin_postgres() {
    local data_dir pid
    [ "$DB_CPU" = none ] && return 0
    case "$PG_URL" in
        *@127.0.0.1*|*@localhost*|*://127.0.0.1*|*://localhost*) ;;
        *) return 0 ;;
    esac
    if [ -z "$PG_POSTMASTER" ]; then
        data_dir=$(psql -Atq "$PG_URL/postgres" -c 'SHOW data_directory' 2>/dev/null) || return 0
        PG_POSTMASTER=$(head -n1 "$data_dir/postmaster.pid" 2>/dev/null) || true
        if [ -z "$PG_POSTMASTER" ] || ! kill -0 "$PG_POSTMASTER" 2>/dev/null; then
            PG_POSTMASTER=""
            return 0
        fi
        PG_AFFINITY=$(taskset -cp "$PG_POSTMASTER" | awk '{ print $NF }')
    fi
    for pid in "$PG_POSTMASTER" $(pgrep -P "$PG_POSTMASTER"); do
        taskset -a -cp "$DB_CPU" "$pid" >/dev/null 2>&1 || true
    done
    PG_PINNED=1
}

unpin_postgres() {
    local pid
    [ -n "$PG_POSTMASTER" ] || return 0
    for pid in "$PG_POSTMASTER" $(pgrep -P "$PG_POSTMASTER"); do
        taskset -a -cp "$PG_AFFINITY" "$pid" >/dev/null 2>&1 || true
    done
    PG_PINNED=0
}

# Seeds with `casebridge seed` (arguments as for it), PostgreSQL on all its cores: seeding is
# measured on its own, not side by side with anything.
seed_unpinned() {
    local pinned=$PG_PINNED
    unpin_postgres
    casebridge "$@"
    if [ "$pinned" = 1 ]; then
        pin_postgres
    fi
}

cleanup() {
    if [ -n "$FLOOD_PID" ]; then
        kill "$FLOOD_PID" 2>/dev/null || true
    fi
    if declare -F outbox_receiver_stop >/dev/null; then
        outbox_receiver_stop
    fi
    stop_server
    unpin_postgres
    if [ "$KEEP" = 0 ]; then
        for database in "${CREATED_PG[@]}"; do
            psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null 2>&1 || true
        done
        rm -f "$WORK"/*.db "$WORK"/*.db-wal "$WORK"/*.db-shm "$WORK"/*.seeded
    else
        echo "kept: $WORK ${CREATED_PG[*]:-}"
    fi
}
trap cleanup EXIT

# The environment of every casebridge process: no sign-in is ever throttled, tokens live as long
# as allowed, and logs stay quiet.
BENCH_ENV=(
    CASEBRIDGE_DATA_DIR="$WORK/data"
    CASEBRIDGE_BIND="127.0.0.1:$PORT"
    CASEBRIDGE_LOG=warn
    CASEBRIDGE_LOGIN_MAX_FAILURES_PER_ACCOUNT=1000000000
    CASEBRIDGE_LOGIN_MAX_FAILURES_PER_IP=1000000000
    CASEBRIDGE_ACCESS_TOKEN_TTL_SECONDS=900
)

# What the API sets on each SQLite connection (src/db/mod.rs), for sqlite3 sending its SQL directly.
SQLITE_PRAGMAS="PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
PRAGMA busy_timeout = 5000; PRAGMA cache_size = -1024;"

# The session that the write benchmarks log (legal, so the bench counselor may), with notes.
STARTED_AT=$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%SZ)
SESSION_BODY="{\"kind\":\"legal\",\"mode\":\"in_person\",\"city\":\"Lublin\",\"started_at\":\"$STARTED_AT\",
\"duration_minutes\":50,\"language\":\"ru\",\"interpreter_used\":true,\"topics\":[\"asylum_interview\"],
\"summary\":\"Preparation for the interview.\",\"notes\":\"Confidential notes of the meeting.\"}"
export SESSION_BODY

casebridge() {
    local database_url="$1"
    shift
    env "${BENCH_ENV[@]}" DATABASE_URL="$database_url" "$BIN" "$@"
}

start_server() {
    local database_url="$1" log="$2"
    casebridge "$database_url" migrate >/dev/null
    taskset -c "$API_CPU" env "${BENCH_ENV[@]}" DATABASE_URL="$database_url" "$BIN" serve > "$log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 120); do
        if curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.5
    done
    echo "the API did not start; see $log" >&2
    exit 1
}

ensure_admin() {
    local database_url="$1"
    local output
    if ! output=$(printf '%s' "$PASSWORD" | casebridge "$database_url" create-admin --email "$ADMIN_EMAIL" --name "Bench Admin" 2>&1); then
        case "$output" in
            *"already exists"*) ;;
            *) echo "$output" >&2; exit 1 ;;
        esac
    fi
}

token_of() {
    local email="$1"
    curl -fs "$API/auth/login" -H 'content-type: application/json' \
        -d "{\"email\":\"$email\",\"password\":\"$PASSWORD\"}" | jq -r .access_token
}

label_of() {
    case "$1" in
        1000000) echo 1m ;;
        *000) echo "$(( $1 / 1000 ))k" ;;
        *) echo "$1" ;;
    esac
}

# The database of $2 clients on backend $1, seeded once per working folder (a later run with the
# same --work reuses it); sets DATABASE_URL.
seeded_database() {
    local backend="$1" size="$2" label marker
    label=$(label_of "$size")
    case "$backend" in
        sqlite) DATABASE_URL="$WORK/search-$label.db" ;;
        postgres) DATABASE_URL="$PG_URL/casebridge_bench_$label" ;;
        *) echo "unknown backend $backend" >&2; exit 2 ;;
    esac
    marker="$WORK/$backend-$label.seeded"
    if [ -f "$marker" ]; then
        echo "$backend, $size clients: reusing the seeded database ($(cat "$marker"))"
        return 0
    fi
    if [ "$backend" = postgres ]; then
        psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS \"casebridge_bench_$label\" WITH (FORCE)" \
            -c "CREATE DATABASE \"casebridge_bench_$label\""
        CREATED_PG+=("casebridge_bench_$label")
    else
        rm -f "$DATABASE_URL" "$DATABASE_URL-wal" "$DATABASE_URL-shm"
    fi
    echo "seeding $size clients into $backend (load average $(load_average))"
    seed_unpinned "$DATABASE_URL" seed --clients "$size" | tee "$WORK/seed-$backend-$label.txt"
    grep -o '[0-9]* clients/s, [0-9]* rows/s' "$WORK/seed-$backend-$label.txt" > "$marker"
    result "3 seed" "seed --clients $size, $backend" "$(cat "$marker")" ">= 50000 rows/s (PostgreSQL)"
}

# A user of the BENCH organisation: created once (a later run gets a 409 and goes on), the
# password set with the one-time enrolment token the creation answers; prints a fresh token.
# $1 = e-mail, $2 = display name, $3 = role, $4 = specialties as a JSON list.
bench_staff() {
    local email="$1" name="$2" role="$3" specialties="$4" admin organisation enrolment
    admin=$(token_of "$ADMIN_EMAIL")
    organisation=$(curl -fs "$API/organisations?limit=200" -H "Authorization: Bearer $admin" |
        jq -r '.items[] | select(.short_name == "BENCH") | .id')
    enrolment=$(curl -s "$API/users" -H "Authorization: Bearer $admin" -H 'content-type: application/json' \
        -d "{\"organisation_id\":\"$organisation\",\"email\":\"$email\",\"display_name\":\"$name\",
             \"role\":\"$role\",\"specialties\":$specialties}" | jq -r '.enrolment.token // empty')
    if [ -n "$enrolment" ]; then
        curl -fs -o /dev/null "$API/auth/enrol" -H 'content-type: application/json' \
            -d "{\"token\":\"$enrolment\",\"password\":\"$PASSWORD\"}"
    fi
    token_of "$email"
}

# The counselor of the BENCH organisation (legal specialty); prints a fresh token.
bench_counselor() {
    bench_staff "$COUNSELOR_EMAIL" "Bench Counselor" counselor '["legal"]'
}

# A claim of access token $1, picked by the jq path $2 from its payload.
claim() {
    local payload
    payload=$(cut -d. -f2 <<<"$1" | tr '_-' '/+')
    while [ $(( ${#payload} % 4 )) -ne 0 ]; do payload="$payload="; done
    base64 -d <<<"$payload" | jq -r "$2"
}

# The core wrk runs on for the read and write paths of backend $1: never the database engine's,
# which has its core to itself in the direct run. SQLite's engine runs in the API, so wrk takes
# the load core; a PostgreSQL pinned to the load core leaves wrk beside the API (which then pays
# for its own load).
path_load_cpu() {
    if [ "$1" = postgres ] && [ -n "$PG_POSTMASTER" ] && [ "$DB_CPU" = "$LOAD_CPU" ]; then
        echo "$API_CPU"
    else
        echo "$LOAD_CPU"
    fi
}

# wrk on the load core, or on core WRK_CPU if set; $1 = output file, the rest = wrk arguments.
# The script is latency.lua unless the arguments name one that loads it.
measure() {
    local out="$1" script=(-s "$BENCHES/latency.lua")
    shift
    case " $* " in *" -s "*) script=() ;; esac
    taskset -c "${WRK_CPU:-$LOAD_CPU}" wrk -t1 --latency "${script[@]}" "$@" > "$out"
    local failed
    failed=$(( $(figure non_2xx "$out") + $(figure socket_errors "$out") ))
    if [ "$failed" -gt 0 ]; then
        echo "warning: $failed failed requests in $out" >&2
    fi
}

# ---------------------------------------------------------------------------------------------
say "machine"
CPU_MODEL=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
MEMORY=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
echo "cores: $(nproc); CPU: $CPU_MODEL; memory: $MEMORY; kernel: $(uname -r)"
if [[ " $BACKENDS " == *" postgres "* ]]; then
    pin_postgres
fi
echo "pinning: API (HTTP workers, blocking pool, password threads) on core $API_CPU; wrk on core $LOAD_CPU;"
echo "         SQLite runs inside the API process (core $API_CPU), and sqlite3 and pgbench run where the"
echo "         API would (core $API_CPU) when they send its SQL directly;"
if [ -n "$PG_POSTMASTER" ]; then
    echo "         PostgreSQL at $PG_URL (postmaster $PG_POSTMASTER and all its processes) on core $DB_CPU"
    echo "         for sign-ins and the read and write paths; on its own cores ($PG_AFFINITY, as"
    echo "         before this run) for seeding, search, the report and the mixed load."
    if [ "$(path_load_cpu postgres)" != "$LOAD_CPU" ]; then
        echo "         For the read and write paths on PostgreSQL wrk runs on core $API_CPU, beside the API, so"
        echo "         that PostgreSQL's core carries PostgreSQL alone, as in the direct run."
    fi
else
    echo "         PostgreSQL at $PG_URL is not pinned (not on this machine, or --db-cpu none)."
fi
echo "load average now: $(cut -d' ' -f1-3 /proc/loadavg)  (another build or test run on this machine shows here)"
echo "working folder: $WORK"

say "build (release)"
command -v wrk >/dev/null || { echo "installing wrk"; apt-get install -y wrk >/dev/null; }
command -v jq >/dev/null || { echo "jq is needed (apt-get install jq)" >&2; exit 1; }
cd "$ROOT"
if [ -n "$BINARY" ]; then
    BIN="$BINARY"
    echo "measuring $BIN (not built)"
else
    cargo build --release
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/casebridge"
fi

for section in auth search paths report mixed documents agenda outbox; do
    if [ "$ONLY" = all ] || [[ " $ONLY " == *" $section "* ]]; then
        # Search, the report and the mixed load run queries that PostgreSQL spreads over parallel
        # workers (a million clients, a million sessions): there it keeps all its cores, as its
        # workers would otherwise share one core with the backend they work for.
        if [ -n "$PG_POSTMASTER" ]; then
            case "$section" in
                search|report|mixed) unpin_postgres ;;
                *) pin_postgres ;;
            esac
        fi
        # shellcheck source=/dev/null
        source "$BENCHES/$section.sh"
    fi
done

say "results ($(date -u '+%Y-%m-%d %H:%M UTC'); load average = 1-minute load when the figure was taken)"
{
    printf 'benchmark\tfigure\tvalue\ttarget\tload\n'
    cat "$RESULTS"
} | column -t -s "$(printf '\t')"
