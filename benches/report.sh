# Benchmark 6 (sourced by run.sh): the indicator report over REPORT_SESSIONS sessions, timed
# through the API and as the same aggregate statements (benches/sql/report.sql) run straight on
# the database — psql on PostgreSQL, sqlite3 on SQLite — each the mean of REPORT_ROUNDS rounds.

REPORT_ROUNDS=${REPORT_ROUNDS:-5}
REPORT_CLIENTS=$((REPORT_SESSIONS / 10))
COORDINATOR_EMAIL="bench-coordinator@example.org"
# Whole calendar months, as reports take them: the three years up to the end of this month.
THIS_MONTH=$(TZ=Europe/Warsaw date +%Y-%m-01)
TO_DAY=$(date -d "$THIS_MONTH + 1 month - 1 day" +%F)
FROM_DAY=$(date -d "$THIS_MONTH - 3 years" +%F)
# The report's period is counted in Polish days; the database holds UTC.
utc_midnight() { date -u -d "$(TZ=Europe/Warsaw date -d "$1 00:00" --rfc-3339=seconds)" '+%Y-%m-%d %H:%M:%S'; }
FROM_UTC=$(utc_midnight "$FROM_DAY")
UNTIL_UTC=$(utc_midnight "$(date -d "$TO_DAY + 1 day" +%F)")

# benches/sql/report.sql with the period and organisation written in, in $1's dialect, REPORT_ROUNDS times.
report_script() {
    local backend="$1" organisation="$2" statements i
    statements=$(sed -e '/^--/d' -e "s/:org/'$organisation'/g" -e "s/:from_day/'$FROM_DAY'/g" \
        -e "s/:to_day/'$TO_DAY'/g" -e "s/:today/'$TO_DAY'/g" -e "s/:from/'$FROM_UTC'/g" \
        -e "s/:until/'$UNTIL_UTC'/g" "$BENCHES/sql/report.sql")
    if [ "$backend" = sqlite ]; then
        statements=$(sed -e 's/= ANY(SELECT/IN (SELECT/g' <<<"$statements")
        printf '%s\n' "$SQLITE_PRAGMAS"
    fi
    for ((i = 0; i < REPORT_ROUNDS; i++)); do printf '%s\n' "$statements"; done
}

for backend in $BACKENDS; do
    label="$(label_of "$REPORT_SESSIONS")-sessions"
    case "$backend" in
        sqlite) DATABASE_URL="$WORK/report-$label.db" ;;
        postgres) DATABASE_URL="$PG_URL/casebridge_bench_report_${label//-/_}" ;;
    esac
    say "6. indicator report over $REPORT_SESSIONS sessions ($backend)"
    marker="$WORK/$backend-report-$label.seeded"
    if [ ! -f "$marker" ]; then
        if [ "$backend" = postgres ]; then
            database="${DATABASE_URL##*/}"
            psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" \
                -c "CREATE DATABASE \"$database\""
            CREATED_PG+=("$database")
        else
            rm -f "$DATABASE_URL" "$DATABASE_URL-wal" "$DATABASE_URL-shm"
        fi
        seed_unpinned "$DATABASE_URL" seed --clients "$REPORT_CLIENTS" --sessions-per-client 10 |
            tee "$WORK/seed-report-$backend.txt"
        touch "$marker"
    fi
    ensure_admin "$DATABASE_URL"
    start_server "$DATABASE_URL" "$WORK/server-report-$backend.log"
    coordinator=$(bench_staff "$COORDINATOR_EMAIL" "Bench Coordinator" coordinator '[]')
    url="$API/reports/indicators?from=$FROM_DAY&to=$TO_DAY"
    sessions=$(curl -fs "$url" -H "Authorization: Bearer $coordinator" | jq -r '.organisations[0].indicators.sessions')
    times=()
    for ((i = 0; i < REPORT_ROUNDS; i++)); do
        times+=("$(curl -fs -o /dev/null -w '%{time_total}' "$url" -H "Authorization: Bearer $coordinator")")
    done
    api_ms=$(printf '%s\n' "${times[@]}" | awk '{ total += $1 } END { printf "%.1f", 1000 * total / NR }')
    stop_server

    report_script "$backend" "$organisation" > "$WORK/report-$backend.sql"
    start=$(date +%s.%N)
    if [ "$backend" = postgres ]; then
        taskset -c "$API_CPU" psql -X -q -o /dev/null "$DATABASE_URL" -f "$WORK/report-$backend.sql"
    else
        taskset -c "$API_CPU" sqlite3 "$DATABASE_URL" < "$WORK/report-$backend.sql" > /dev/null
    fi
    end=$(date +%s.%N)
    direct_ms=$(awk -v a="$start" -v b="$end" -v n="$REPORT_ROUNDS" 'BEGIN { printf "%.1f", 1000 * (b - a) / n }')
    echo "report over $sessions sessions in the period: API $api_ms ms, the same SQL directly $direct_ms ms" \
        "(means of $REPORT_ROUNDS)"
    result "6 report $backend" "indicator report, $sessions sessions: API / same SQL directly" \
        "$api_ms / $direct_ms ms = $(ratio "$api_ms" "$direct_ms")x" "<= 1.3x"
done
