# Benchmark 10 (sourced by run.sh): what the outbox costs the write path. Referral creation
# (POST /referrals, which writes the referral, its history, its audit event and its outbox event
# in one transaction) with no active webhook, against the same with two webhooks subscribed to
# referral_sent — the sender's and the partner's — pointing at a local receiver that answers 200,
# so that the dispatcher fans out and delivers two webhooks per referral during the run.
#
# A run lasts OUTBOX_SECONDS and refers each of OUTBOX_CLIENTS clients (each with a consent to share
# with the partner) at most once, in turn; between runs the referrals are closed straight in the database (status
# cancelled, so the clients may be referred again), the outbox is left to empty and the audit
# sealer to catch up. The runs alternate (without, with; then with, without; …) so that neither
# side always meets the larger tables; the median ratio of PATH_PAIRS pairs is reported. A
# warm-up run of OUTBOX_WARMUP_SECONDS, not measured, comes first.

OUTBOX_CLIENTS=${OUTBOX_CLIENTS:-20000}
OUTBOX_SECONDS=${OUTBOX_SECONDS:-12}
OUTBOX_WARMUP_SECONDS=${OUTBOX_WARMUP_SECONDS:-4}
OUTBOX_RECEIVER_PORT=$((PORT + 420))
OUTBOX_RECEIVER_PID=""
CLOCK_TICKS=$(getconf CLK_TCK)

# The processor time process $1 has used so far (user and system), in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# The processor time PostgreSQL's running processes have used so far, in clock ticks (0 on SQLite).
# The API's connections live through a run; a process that ends meanwhile (a vacuum) drops out.
database_ticks() {
    [ "$OUTBOX_BACKEND" = postgres ] && [ -n "$PG_POSTMASTER" ] || { echo 0; return; }
    local total=0 pid
    for pid in "$PG_POSTMASTER" $(pgrep -P "$PG_POSTMASTER"); do
        total=$((total + $(cpu_ticks "$pid" 2>/dev/null || echo 0)))
    done
    echo "$total"
}

outbox_receiver_stop() {
    if [ -n "$OUTBOX_RECEIVER_PID" ]; then
        kill "$OUTBOX_RECEIVER_PID" 2>/dev/null || true
        wait "$OUTBOX_RECEIVER_PID" 2>/dev/null || true
        OUTBOX_RECEIVER_PID=""
    fi
}

# Runs SQL statement $1 on the benchmark's database.
outbox_sql() {
    if [ "$OUTBOX_BACKEND" = postgres ]; then
        psql -X -Atq "$DATABASE_URL" -c "$1"
    else
        sqlite3 -cmd '.timeout 5000' "$DATABASE_URL" "$1"
    fi
}

# Waits (at most 120 s) until the outbox has nothing waiting or pending and every audit event is
# sealed, then (on PostgreSQL) vacuums, so that autovacuum does not start on the rows the last
# run and the harness changed during the next run, and checkpoints: each run starts from the
# same state.
outbox_settle() {
    local left
    for _ in $(seq 1 1200); do
        left=$(outbox_sql "SELECT (SELECT count(*) FROM outbox_events WHERE fanned_out_at IS NULL)
            + (SELECT count(*) FROM deliveries WHERE status = 'pending')
            + (SELECT count(*) FROM audit_pending)")
        [ "$left" = 0 ] && break
        sleep 0.1
    done
    [ "$left" = 0 ] || echo "warning: $left outbox rows or audit events still waiting after 120 s" >&2
    if [ "$OUTBOX_BACKEND" = postgres ]; then
        outbox_sql 'VACUUM (ANALYZE)' > /dev/null
        outbox_sql CHECKPOINT > /dev/null
    else
        outbox_sql 'PRAGMA wal_checkpoint(TRUNCATE)' > /dev/null
    fi
}

# A user of organisation $1 (id) with a password set through its enrolment token; prints a token.
# $2 = e-mail, $3 = role, $4 = specialties as a JSON list.
outbox_staff() {
    local admin enrolment
    admin=$(token_of "$ADMIN_EMAIL")
    enrolment=$(curl -fs "$API/users" -H "Authorization: Bearer $admin" -H 'content-type: application/json' \
        -d "{\"organisation_id\":\"$1\",\"email\":\"$2\",\"display_name\":\"Bench $3\",\"role\":\"$3\",
             \"specialties\":$4}" | jq -r '.enrolment.token')
    curl -fs -o /dev/null "$API/auth/enrol" -H 'content-type: application/json' \
        -d "{\"token\":\"$enrolment\",\"password\":\"$PASSWORD\"}"
    token_of "$2"
}

outbox_webhook() {
    curl -fs -o /dev/null "$API/webhooks" -H "Authorization: Bearer $1" -H 'content-type: application/json' \
        -d "{\"url\":\"http://127.0.0.1:$OUTBOX_RECEIVER_PORT/casebridge\",\"event_types\":[\"referral_sent\"]}"
}

# The receiver: answers 200 and nothing else, on one thread (benches/webhook_sink.rs); built
# unless OUTBOX_SINK names a build of it.
if [ -z "${OUTBOX_SINK:-}" ]; then
    cargo build --release --example webhook_sink
    OUTBOX_SINK="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/webhook_sink"
fi

OUTBOX_SAVED_ENV=("${BENCH_ENV[@]}")
BENCH_ENV+=(CASEBRIDGE_WEBHOOK_ALLOW_PRIVATE=true)

for OUTBOX_BACKEND in $BACKENDS; do
    say "10. outbox, $OUTBOX_BACKEND: POST /referrals with webhooks being delivered vs with none"
    case "$OUTBOX_BACKEND" in
        sqlite)
            DATABASE_URL="$WORK/outbox.db"
            rm -f "$DATABASE_URL" "$DATABASE_URL-wal" "$DATABASE_URL-shm"
            ;;
        postgres)
            DATABASE_URL="$PG_URL/casebridge_bench_outbox"
            psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS casebridge_bench_outbox WITH (FORCE)" \
                -c "CREATE DATABASE casebridge_bench_outbox"
            CREATED_PG+=(casebridge_bench_outbox)
            ;;
    esac
    seed_unpinned "$DATABASE_URL" seed --clients "$OUTBOX_CLIENTS" > "$WORK/seed-outbox-$OUTBOX_BACKEND.txt"
    ensure_admin "$DATABASE_URL"
    start_server "$DATABASE_URL" "$WORK/server-outbox-$OUTBOX_BACKEND.log"
    wrk_on=$(path_load_cpu "$OUTBOX_BACKEND")
    taskset -c "$wrk_on" "$OUTBOX_SINK" "$OUTBOX_RECEIVER_PORT" 2> "$WORK/receiver-outbox.log" &
    OUTBOX_RECEIVER_PID=$!

    counselor=$(bench_counselor)
    bench_org=$(claim "$counselor" .org)
    admin=$(token_of "$ADMIN_EMAIL")
    partner=$(curl -fs "$API/organisations" -H "Authorization: Bearer $admin" -H 'content-type: application/json' \
        -d '{"name":"Bench Partner","short_name":"PARTNER","cities":["Lublin"],"services":["legal"],
             "contact_email":"partner@example.org"}' | jq -r .id)
    outbox_webhook "$(outbox_staff "$bench_org" bench-coordinator@example.org coordinator '[]')"
    outbox_webhook "$(outbox_staff "$partner" partner-coordinator@example.org coordinator '[]')"

    # A consent to share identity with the partner for each client, eight requests at a time.
    given_on=$(date -u -d '-1 day' +%Y-%m-%d)
    consent_body="{\"purpose\":\"sharing_with_partner\",\"partner_id\":\"$partner\",\"scope\":[\"identity\"],
\"given_on\":\"$given_on\",\"language\":\"ru\",\"form_version\":\"BENCH-2026\"}"
    consent_data=$(jq -c . <<<"$consent_body" | jq -R .)
    outbox_sql "SELECT id FROM clients WHERE organisation_id = '$bench_org' ORDER BY id LIMIT $OUTBOX_CLIENTS" |
        while read -r client; do
            printf 'url = "%s"\nrequest = POST\nheader = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\ndata = %s\noutput = /dev/null\nwrite-out = "%%{http_code}\\n"\nsilent\nretry = 2\nretry-all-errors\nnext\n' \
                "$API/clients/$client/consents" "$counselor" "$consent_data"
        done > "$WORK/consents.curl"
    curl --parallel --parallel-max 8 -K "$WORK/consents.curl" > "$WORK/consents.codes" 2>/dev/null || true
    export OUTBOX_PAIRS="$WORK/referral-pairs.txt" OUTBOX_PARTNER="$partner"
    outbox_sql "SELECT client_id || ' ' || max(id) FROM consents WHERE purpose = 'sharing_with_partner'
        GROUP BY client_id" > "$OUTBOX_PAIRS"
    echo "$(wc -l < "$OUTBOX_PAIRS") of $OUTBOX_CLIENTS clients with a consent to share with the partner;" \
        "2 webhooks on a receiver at 127.0.0.1:$OUTBOX_RECEIVER_PORT (core $wrk_on)"

    # A warm-up run, not measured: the first run would otherwise start on an empty referrals
    # table, and PostgreSQL's plans made for it (sequential scans) stay in use while the table
    # grows, slowing that run as it goes (the first pairs measured 148-157 %).
    outbox_sql "UPDATE webhooks SET active = $([ "$OUTBOX_BACKEND" = sqlite ] && echo 0 || echo false)" > /dev/null
    WRK_CPU=$wrk_on measure "$WORK/outbox-$OUTBOX_BACKEND-warm-up.txt" -c4 -d"${OUTBOX_WARMUP_SECONDS}s" \
        -s "$BENCHES/referral.lua" -H "Authorization: Bearer $counselor" "$API/referrals"

    for connections in $PATH_CONNECTIONS; do
        pairs=()
        for ((pair = 1; pair <= PATH_PAIRS; pair++)); do
            if ((pair % 2)); then order="without with"; else order="with without"; fi
            for side in $order; do
                # The harness closes the referrals of the previous run; no API route does that.
                outbox_sql "UPDATE referrals SET status = 'cancelled' WHERE status = 'pending'" > /dev/null
                if [ "$side" = with ]; then active=true; else active=false; fi
                [ "$OUTBOX_BACKEND" = sqlite ] && active=$([ "$active" = true ] && echo 1 || echo 0)
                outbox_sql "UPDATE webhooks SET active = $active" > /dev/null
                outbox_settle
                before=$(outbox_sql "SELECT count(*) FROM deliveries WHERE status = 'delivered'")
                out="$WORK/outbox-$OUTBOX_BACKEND-c$connections-$pair-$side.txt"
                cpu_before=$(cpu_ticks "$SERVER_PID")
                sink_before=$(cpu_ticks "$OUTBOX_RECEIVER_PID")
                database_before=$(database_ticks)
                WRK_CPU=$wrk_on measure "$out" -c"$connections" -d"${OUTBOX_SECONDS}s" -s "$BENCHES/referral.lua" \
                    -H "Authorization: Bearer $counselor" "$API/referrals"
                during=$(( $(outbox_sql "SELECT count(*) FROM deliveries WHERE status = 'delivered'") - before ))
                waiting=$(outbox_sql "SELECT count(*) FROM deliveries WHERE status = 'pending'")
                # The API's processor time for the run and for delivering what it left pending.
                outbox_settle
                cpu_us=$(( ($(cpu_ticks "$SERVER_PID") - cpu_before) * 1000000 / CLOCK_TICKS ))
                sink_us=$(( ($(cpu_ticks "$OUTBOX_RECEIVER_PID") - sink_before) * 1000000 / CLOCK_TICKS ))
                database_us=$(( ($(database_ticks) - database_before) * 1000000 / CLOCK_TICKS ))
                rate=$(figure rps "$out")
                cpu=$(awk -v t="$cpu_us" -v n="$(figure requests "$out")" 'BEGIN { printf "%.0f", t / n }')
                sink_cpu=$(awk -v t="$sink_us" -v n="$(figure requests "$out")" 'BEGIN { printf "%.0f", t / n }')
                database_cpu=$(awk -v t="$database_us" -v n="$(figure requests "$out")" 'BEGIN { printf "%.0f", t / n }')
                echo "$connections connection(s), pair $pair, $side webhooks: $rate referrals/s (p50 $(figure p50_ms "$out") ms," \
                    "p99 $(figure p99_ms "$out") ms); $during webhooks delivered during the run, $waiting pending at its end;" \
                    "API CPU $cpu µs per referral; the receiver's $sink_cpu µs; PostgreSQL's $database_cpu µs"
                if [ "$side" = with ]; then with_rate=$rate; with_during=$during; with_cpu=$cpu; else without_rate=$rate; without_cpu=$cpu; fi
            done
            share=$(awk -v a="$with_rate" -v b="$without_rate" 'BEGIN { printf "%.0f", 100 * a / b }')
            pairs+=("$share $with_rate $without_rate $with_during $with_cpu $without_cpu")
        done
        read -r share with_rate without_rate with_during with_cpu without_cpu < <(printf '%s\n' "${pairs[@]}" | sort -n | sed -n "$(((PATH_PAIRS + 1) / 2))p")
        result "10 outbox $OUTBOX_BACKEND" "POST /referrals, $connections conn.: with 2 webhooks delivering / with none (median of $PATH_PAIRS pairs)" \
            "$with_rate / $without_rate per s = $share % ($with_during delivered during the run; API CPU $with_cpu / $without_cpu µs per referral)" ">= 90 %"
    done
    outbox_receiver_stop
    stop_server
done

BENCH_ENV=("${OUTBOX_SAVED_ENV[@]}")
