#!/usr/bin/env bash
# Benchmarks of casebridge on this machine; benches/README.md says what each one measures.
#
#   1. login throughput against the Argon2 bound (cores used by the API ÷ time per hash)
#   2. p50/p99 of GET /auth/me alone and during a login flood
#   3. client search latency (first and deep pages) at 10 000 and 1 000 000 clients,
#      on SQLite and on PostgreSQL
#
# Everything listens on 127.0.0.1 and every load is bounded in time. Run from anywhere:
#   bash benches/run.sh [--quick] [options]      (--help lists them)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCHES="$ROOT/benches"

SIZES="10000 1000000"
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

usage() {
    cat <<EOF
usage: bash benches/run.sh [options]
  --quick             10 000 clients only (no million-client databases)
  --sizes "N …"       client counts for the search benchmark (default: $SIZES)
  --backends "…"      sqlite and/or postgres (default: $BACKENDS)
  --only auth|search  run only benchmarks 1–2 or only benchmark 3
  --duration S        seconds per latency measurement (default: $DURATION)
  --query PREFIX      the name prefix searched for (default: $QUERY, a common surname prefix)
  --pg-url URL        PostgreSQL server, without a database name (default: $PG_URL)
  --port N            port of the API under test (default: $PORT)
  --work DIR          working folder (SQLite files, logs); reused databases stay there
  --keep              keep the databases (SQLite files and PostgreSQL casebridge_bench_*) for a later run
  --api-cpu N / --load-cpu N   cores for the API and for load generator (default: $API_CPU / $LOAD_CPU)
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
        --quick) SIZES="10000" ;;
        --sizes) SIZES="$2"; shift ;;
        --backends) BACKENDS="$2"; shift ;;
        --only) ONLY="$2"; shift ;;
        --duration) DURATION="$2"; shift ;;
        --query) QUERY="$2"; shift ;;
        --pg-url) PG_URL="${2%/}"; shift ;;
        --port) PORT="$2"; shift ;;
        --work) WORK="$2"; shift ;;
        --keep) KEEP=1 ;;
        --api-cpu) API_CPU="$2"; shift ;;
        --load-cpu) LOAD_CPU="$2"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

if [ "$(nproc)" -lt 2 ]; then
    API_CPU=0
    LOAD_CPU=0
fi
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

cleanup() {
    if [ -n "$FLOOD_PID" ]; then
        kill "$FLOOD_PID" 2>/dev/null || true
    fi
    stop_server
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

# wrk on the load core, with the latency script; $1 = output file, the rest = wrk arguments.
measure() {
    local out="$1"
    shift
    taskset -c "$LOAD_CPU" wrk -t1 --latency -s "$BENCHES/latency.lua" "$@" > "$out"
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
echo "pinning: API (HTTP workers, blocking pool, Argon2) on core $API_CPU; wrk on core $LOAD_CPU;"
echo "         SQLite runs inside the API process (core $API_CPU); PostgreSQL is the system's server at"
echo "         $PG_URL and is not pinned (its backends run where the scheduler puts them)."
echo "load average now: $(cut -d' ' -f1-3 /proc/loadavg)  (another build or test run on this machine shows here)"
echo "working folder: $WORK"

say "build (release)"
command -v wrk >/dev/null || { echo "installing wrk"; apt-get install -y wrk >/dev/null; }
command -v jq >/dev/null || { echo "jq is needed (apt-get install jq)" >&2; exit 1; }
cd "$ROOT"
cargo build --release
cargo bench --bench argon2_hash --no-run
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/casebridge"

# ---------------------------------------------------------------------------------------------
# /auth/me with wrk -c$2 on $1's token, alone and during a login flood; records p50/p99 of both.
me_latency() {
    local backend="$1" connections="$2" token="$3"
    local alone="$WORK/me-$backend-c$connections-alone.txt" flooded="$WORK/me-$backend-c$connections-flood.txt"
    local flood_out="$WORK/flood-$backend-c$connections.txt"
    measure "$alone" -c"$connections" -d"${DURATION}s" -H "Authorization: Bearer $token" "$API/auth/me"
    taskset -c "$LOAD_CPU" wrk -t1 -c16 -d"$((DURATION + 4))s" -s "$BENCHES/login.lua" \
        "$API/auth/login" > "$flood_out" &
    FLOOD_PID=$!
    sleep 2
    measure "$flooded" -c"$connections" -d"${DURATION}s" -H "Authorization: Bearer $token" "$API/auth/me"
    wait "$FLOOD_PID"
    FLOOD_PID=""
    local p50_alone p99_alone p50_flood p99_flood
    p50_alone=$(figure p50_ms "$alone")
    p99_alone=$(figure p99_ms "$alone")
    p50_flood=$(figure p50_ms "$flooded")
    p99_flood=$(figure p99_ms "$flooded")
    echo "wrk -c$connections alone: p50 $p50_alone ms, p99 $p99_alone ms, $(figure rps "$alone") req/s;" \
        "during the flood: p50 $p50_flood ms, p99 $p99_flood ms, $(figure rps "$flooded") req/s" \
        "(flood: $(awk '$1 == "status_200" { printf "%s/s signed in", $3 }' "$flood_out")," \
        "$(awk '$1 == "status_503" { printf "%s/s answered 503", $3 }' "$flood_out"))"
    result "2 /auth/me $backend" "wrk -c$connections, alone: p50 / p99, req/s" \
        "$p50_alone / $p99_alone ms, $(figure rps "$alone")/s" "-"
    result "2 /auth/me $backend" "wrk -c$connections, during login flood (wrk -c16): p50 / p99, req/s" \
        "$p50_flood / $p99_flood ms, $(figure rps "$flooded")/s" "-"
    result "2 /auth/me $backend" "wrk -c$connections, p99 with flood / p99 alone" "$(ratio "$p99_flood" "$p99_alone")" "<= 2"
}

# Median time per Argon2id hash on the API's core, right now; sets HASH_MS and BOUND.
hash_bound() {
    local out="$WORK/argon2-$1.txt"
    taskset -c "$API_CPU" cargo bench -q --bench argon2_hash -- 60 > "$out"
    HASH_MS=$(figure median_ms "$out")
    API_CORES=$(taskset -c "$API_CPU" nproc)
    BOUND=$(awk -v cores="$API_CORES" -v ms="$HASH_MS" 'BEGIN { printf "%.1f", cores * 1000 / ms }')
    echo "Argon2id on the API's core: median $HASH_MS ms (min $(figure min_ms "$out"), max $(figure max_ms "$out"))" \
        "over 60 hashes; API cores: $API_CORES; bound: $BOUND sign-ins/s"
}

if [ "$ONLY" = all ] || [ "$ONLY" = auth ]; then
    export BENCH_EMAIL="$ADMIN_EMAIL" BENCH_PASSWORD="$PASSWORD"
    for backend in $BACKENDS; do
        case "$backend" in
            sqlite) database_url="$WORK/auth.db" ;;
            postgres)
                database_url="$PG_URL/casebridge_bench_auth"
                psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS casebridge_bench_auth WITH (FORCE)" \
                    -c "CREATE DATABASE casebridge_bench_auth"
                CREATED_PG+=(casebridge_bench_auth)
                ;;
            *) echo "unknown backend $backend" >&2; exit 2 ;;
        esac
        say "1. login throughput vs the Argon2 bound ($backend)"
        ensure_admin "$database_url"
        start_server "$database_url" "$WORK/server-auth-$backend.log"
        # Measured just before the sign-ins, as other work on the machine changes it.
        hash_bound "$backend"
        result "1 login $backend" "Argon2id hash, median of 60 (m=19456,t=2,p=1)" "$HASH_MS ms" "-"
        result "1 login $backend" "bound = $API_CORES core(s) / time per hash" "$BOUND /s" "-"
        for connections in 2 4; do
            OUT="$WORK/login-$backend-c$connections.txt"
            taskset -c "$LOAD_CPU" wrk -t1 -c"$connections" -d"${LOGIN_DURATION}s" -s "$BENCHES/login.lua" \
                "$API/auth/login" > "$OUT"
            OK=$(awk '$1 == "status_200" { print $3 }' "$OUT")
            OK=${OK:-0}
            BUSY=$(awk '$1 == "status_503" { print $3 }' "$OUT")
            echo "wrk -c$connections: ${OK} sign-ins/s (200), ${BUSY:-0}/s answered 503 busy"
            result "1 login $backend" "sign-ins/s (200 only), wrk -c$connections, ${LOGIN_DURATION}s" \
                "$OK /s = $(awk -v ok="$OK" -v bound="$BOUND" 'BEGIN { printf "%.0f", 100 * ok / bound }') % of bound" \
                ">= 80 %"
        done

        say "2. GET /auth/me alone and during a login flood ($backend)"
        TOKEN=$(token_of "$ADMIN_EMAIL")
        me_latency "$backend" 8 "$TOKEN"
        me_latency "$backend" 1 "$TOKEN"
        stop_server
    done
fi

# ---------------------------------------------------------------------------------------------
# Follows next_cursor from the first page up to page 101 (or the last page); prints the page
# number and its URL.
deep_page() {
    local token="$1" query="$2"
    local url="$API/clients?$query" page=1 next
    while [ "$page" -lt 101 ]; do
        next=$(curl -fs "$url" -H "Authorization: Bearer $token" | jq -r .next_cursor)
        if [ "$next" = null ]; then
            break
        fi
        url="$API/clients?$query&cursor=$next"
        page=$((page + 1))
    done
    echo "$page $url"
}

label_of() {
    case "$1" in
        1000000) echo 1m ;;
        *000) echo "$(( $1 / 1000 ))k" ;;
        *) echo "$1" ;;
    esac
}

if [ "$ONLY" = all ] || [ "$ONLY" = search ]; then
    say "3. client search latency"
    for backend in $BACKENDS; do
        for size in $SIZES; do
            label=$(label_of "$size")
            case "$backend" in
                sqlite) database_url="$WORK/search-$label.db" ;;
                postgres) database_url="$PG_URL/casebridge_bench_$label" ;;
                *) echo "unknown backend $backend" >&2; exit 2 ;;
            esac
            marker="$WORK/$backend-$label.seeded"
            if [ -f "$marker" ]; then
                echo "$backend, $size clients: reusing the seeded database ($(cat "$marker"))"
            else
                if [ "$backend" = postgres ]; then
                    psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS \"casebridge_bench_$label\" WITH (FORCE)" \
                        -c "CREATE DATABASE \"casebridge_bench_$label\""
                    CREATED_PG+=("casebridge_bench_$label")
                else
                    rm -f "$database_url" "$database_url-wal" "$database_url-shm"
                fi
                echo "seeding $size clients into $backend (load average $(load_average))"
                casebridge "$database_url" seed --clients "$size" | tee "$WORK/seed-$backend-$label.txt"
                seeded=$(grep -o '[0-9]* clients/s, [0-9]* rows/s' "$WORK/seed-$backend-$label.txt")
                echo "$seeded" > "$marker"
                result "3 seed" "seed --clients $size, $backend" "$seeded" ">= 50000 rows/s (PostgreSQL)"
            fi

            ensure_admin "$database_url"
            start_server "$database_url" "$WORK/server-$backend-$label.log"
            admin=$(token_of "$ADMIN_EMAIL")
            organisation=$(curl -fs "$API/organisations?limit=200" -H "Authorization: Bearer $admin" |
                jq -r '.items[] | select(.short_name == "BENCH") | .id')
            curl -s -o /dev/null "$API/users" -H "Authorization: Bearer $admin" -H 'content-type: application/json' \
                -d "{\"organisation_id\":\"$organisation\",\"email\":\"$COUNSELOR_EMAIL\",\"display_name\":\"Bench Counselor\",
                     \"role\":\"counselor\",\"specialties\":[\"legal\"],\"password\":\"$PASSWORD\"}"
            counselor=$(token_of "$COUNSELOR_EMAIL")
            matches=$(curl -fs "$API/clients?q=$QUERY&limit=200" -H "Authorization: Bearer $counselor" | jq '.items | length')
            [ "$matches" = 200 ] && matches="200 or more"
            read -r list_page list_url < <(deep_page "$counselor" "limit=50")
            read -r query_page query_url < <(deep_page "$counselor" "q=$QUERY&limit=50")
            echo "$backend, $size clients: q=$QUERY matches $matches; deepest pages reached: list $list_page, q $query_page"
            for name in first_q first_list deep_list deep_q; do
                case "$name" in
                    first_q) url="$API/clients?q=$QUERY&limit=50"; what="q=$QUERY, first page" ;;
                    first_list) url="$API/clients?limit=50"; what="list, first page" ;;
                    deep_list) url="$list_url"; what="list, page $list_page" ;;
                    deep_q) url="$query_url"; what="q=$QUERY, page $query_page" ;;
                esac
                out="$WORK/search-$backend-$label-$name.txt"
                measure "$out" -c1 -d"${DURATION}s" -H "Authorization: Bearer $counselor" "$url"
                p50=$(figure p50_ms "$out")
                p99=$(figure p99_ms "$out")
                echo "  $what: p50 $p50 ms, p99 $p99 ms"
                echo "$p50" > "$WORK/p50-$backend-$label-$name"
                result "3 search $backend" "$what, $size clients (wrk -c1): p50 / p99" "$p50 / $p99 ms" "-"
            done
            stop_server
        done
        first_label=$(label_of "$(echo "$SIZES" | awk '{ print $1 }')")
        last_label=$(label_of "$(echo "$SIZES" | awk '{ print $NF }')")
        if [ "$first_label" != "$last_label" ]; then
            for name in first_q first_list deep_list deep_q; do
                small=$(cat "$WORK/p50-$backend-$first_label-$name")
                large=$(cat "$WORK/p50-$backend-$last_label-$name")
                result "3 search $backend" "p50 $last_label / p50 $first_label: $name" "$(ratio "$large" "$small")" "<= 2"
            done
        fi
    done
fi

say "results ($(date -u '+%Y-%m-%d %H:%M UTC'); load average = 1-minute load when the figure was taken)"
{
    printf 'benchmark\tfigure\tvalue\ttarget\tload\n'
    cat "$RESULTS"
} | column -t -s "$(printf '\t')"
