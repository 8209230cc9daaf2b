# Benchmarks 1–2 (sourced by run.sh): login throughput against the Argon2 bound, and the p99 of
# GET /auth/me alone and during a login flood.

(cd "$ROOT" && cargo bench --bench argon2_hash --no-run)

# /auth/me with wrk -c$2 on $1's token, alone and during a login flood, PATH_PAIRS times one
# after the other; records the pair with the median ratio of the two p99s (one pair is at the
# mercy of a single stall of the machine).
me_latency() {
    local backend="$1" connections="$2" token="$3" pairs=() pair
    for ((pair = 1; pair <= PATH_PAIRS; pair++)); do
        local alone="$WORK/me-$backend-c$connections-alone-$pair.txt"
        local flooded="$WORK/me-$backend-c$connections-flood-$pair.txt"
        local flood_out="$WORK/flood-$backend-c$connections-$pair.txt"
        measure "$alone" -c"$connections" -d"${DURATION}s" -H "Authorization: Bearer $token" "$API/auth/me"
        taskset -c "$LOAD_CPU" wrk -t1 -c16 -d"$((DURATION + 4))s" -s "$BENCHES/login.lua" \
            "$API/auth/login" > "$flood_out" &
        FLOOD_PID=$!
        sleep 2
        measure "$flooded" -c"$connections" -d"${DURATION}s" -H "Authorization: Bearer $token" "$API/auth/me"
        wait "$FLOOD_PID"
        FLOOD_PID=""
        echo "wrk -c$connections, pair $pair: alone p50 $(figure p50_ms "$alone") ms, p99 $(figure p99_ms "$alone") ms," \
            "$(figure rps "$alone") req/s; during the flood p50 $(figure p50_ms "$flooded") ms," \
            "p99 $(figure p99_ms "$flooded") ms, $(figure rps "$flooded") req/s" \
            "(flood: $(awk '$1 == "status_200" { printf "%s/s signed in", $3 }' "$flood_out")," \
            "$(awk '$1 == "status_503" { printf "%s/s answered 503", $3 }' "$flood_out"))"
        pairs+=("$(ratio "$(figure p99_ms "$flooded")" "$(figure p99_ms "$alone")") $alone $flooded")
    done
    local median alone flooded
    read -r median alone flooded < <(printf '%s\n' "${pairs[@]}" | sort -n | sed -n "$(((PATH_PAIRS + 1) / 2))p")
    result "2 /auth/me $backend" "wrk -c$connections, alone: p50 / p99, req/s" \
        "$(figure p50_ms "$alone") / $(figure p99_ms "$alone") ms, $(figure rps "$alone")/s" "-"
    result "2 /auth/me $backend" "wrk -c$connections, during login flood (wrk -c16): p50 / p99, req/s" \
        "$(figure p50_ms "$flooded") / $(figure p99_ms "$flooded") ms, $(figure rps "$flooded")/s" "-"
    result "2 /auth/me $backend" "wrk -c$connections, p99 with flood / p99 alone (median of $PATH_PAIRS pairs)" \
        "$median" "<= 2"
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
