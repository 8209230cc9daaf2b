# Benchmark 7 (sourced by run.sh): the mixed workload (benches/mixed.lua) at the largest client
# count of --sizes, with the API's resident memory under that load, its start-up time to
# /health/ready on a migrated database, and the release binary's size.

MIXED_CONNECTIONS=${MIXED_CONNECTIONS:-8}

# Milliseconds from starting `casebridge serve` to the first 200 of /health/ready.
startup_ms() {
    local start now
    start=$(date +%s%N)
    taskset -c "$API_CPU" env "${BENCH_ENV[@]}" DATABASE_URL="$DATABASE_URL" "$BIN" serve > "$WORK/startup.log" 2>&1 &
    SERVER_PID=$!
    until curl -fs -o /dev/null "http://127.0.0.1:$PORT/health/ready" 2>/dev/null; do
        now=$(date +%s%N)
        if (( (now - start) / 1000000 > 30000 )); then echo "the API did not start" >&2; exit 1; fi
        sleep 0.002
    done
    now=$(date +%s%N)
    echo $(( (now - start) / 1000000 ))
    stop_server
}

size=$(echo "$SIZES" | awk '{ print $NF }')
for backend in $BACKENDS; do
    say "7. mixed workload at $size clients ($backend), memory, start-up"
    seeded_database "$backend" "$size"
    ensure_admin "$DATABASE_URL"
    start_server "$DATABASE_URL" "$WORK/server-mixed-$backend.log"
    BENCH_TOKEN=$(bench_counselor)
    export BENCH_TOKEN CLIENT_IDS="$WORK/client-ids-$backend.txt"
    organisation=$(claim "$BENCH_TOKEN" .org)
    query="SELECT id FROM clients WHERE organisation_id = '$organisation' AND status = 'active' ORDER BY random() LIMIT 2000"
    if [ "$backend" = postgres ]; then
        psql -X -At "$DATABASE_URL" -c "$query" > "$CLIENT_IDS"
    else
        sqlite3 "$DATABASE_URL" "$query" > "$CLIENT_IDS"
    fi
    out="$WORK/mixed-$backend.txt"
    rss_peak=0
    measure "$out" -c"$MIXED_CONNECTIONS" -d"$((DURATION * 3))s" -s "$BENCHES/mixed.lua" "http://127.0.0.1:$PORT" &
    load_pid=$!
    while kill -0 "$load_pid" 2>/dev/null; do
        rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$SERVER_PID/status")
        (( rss > rss_peak )) && rss_peak=$rss
        sleep 0.5
    done
    wait "$load_pid"
    rss_mib=$(awk -v kb="$rss_peak" 'BEGIN { printf "%.1f", kb / 1024 }')
    errors=$(( $(figure non_2xx "$out") + $(figure socket_errors "$out") ))
    echo "mixed, $MIXED_CONNECTIONS connections: $(figure rps "$out") req/s, p50 $(figure p50_ms "$out") ms," \
        "p99 $(figure p99_ms "$out") ms, $errors errors; API resident memory at most $rss_mib MiB"
    result "7 mixed $backend" "70/20/10 read/list+search/write, $size clients, wrk -c$MIXED_CONNECTIONS: req/s, p50 / p99" \
        "$(figure rps "$out")/s, $(figure p50_ms "$out") / $(figure p99_ms "$out") ms" "-"
    result "7 mixed $backend" "errors (non-2xx and socket) during the mixed workload" "$errors" "0"
    result "7 footprint $backend" "API resident memory (VmRSS, highest sample) under the mixed load" "$rss_mib MiB" "<= 64 MiB"
    stop_server

    startups=()
    for _ in 1 2 3 4 5; do startups+=("$(startup_ms)"); done
    startup=$(printf '%s\n' "${startups[@]}" | sort -n | sed -n 3p)
    echo "start-up to /health/ready on a migrated database: median $startup ms (${startups[*]})"
    result "7 footprint $backend" "start-up to /health/ready, migrated database (median of 5)" "$startup ms" "<= 200 ms"
done
result "7 footprint" "release binary size ($(basename "$BIN"))" \
    "$(awk -v b="$(stat -c %s "$BIN")" 'BEGIN { printf "%.1f MiB", b / 1048576 }')" "-"
