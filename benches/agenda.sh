# Benchmark 9 (sourced by run.sh): a counselor's agenda. The first page of `GET /agenda` for a
# counselor with 5 000 appointments in the database against the same request for a counselor
# with none (target: at most twice the time). The appointments are planned through the API, two
# hours apart from a month ago on, so the default fortnight of the agenda holds about 170 of
# them and the first page is full.

AGENDA_APPOINTMENTS=${AGENDA_APPOINTMENTS:-5000}

size=$(echo "$SIZES" | awk '{ print $1 }')
for backend in $BACKENDS; do
    say "9. agenda ($backend): first page with $AGENDA_APPOINTMENTS appointments against an empty agenda"
    seeded_database "$backend" "$size"
    ensure_admin "$DATABASE_URL"
    start_server "$DATABASE_URL" "$WORK/server-agenda-$backend.log"
    busy=$(bench_staff "agenda-busy@example.org" "Agenda Busy" counselor '["legal"]')
    empty=$(bench_staff "agenda-empty@example.org" "Agenda Empty" counselor '["legal"]')
    organisation=$(claim "$busy" .org)
    counselor=$(claim "$busy" .sub)
    count="SELECT COUNT(*) FROM appointments WHERE counselor_id = '$counselor'"
    client_query="SELECT id FROM clients WHERE organisation_id = '$organisation' AND status = 'active' ORDER BY id LIMIT 1"
    if [ "$backend" = postgres ]; then
        planned=$(psql -X -At "$DATABASE_URL" -c "$count")
        client=$(psql -X -At "$DATABASE_URL" -c "$client_query")
    else
        planned=$(sqlite3 "$DATABASE_URL" "$count")
        client=$(sqlite3 "$DATABASE_URL" "$client_query")
    fi
    if [ "$planned" -lt "$AGENDA_APPOINTMENTS" ]; then
        first=$(( $(date +%s) / 3600 * 3600 - 30 * 86400 ))
        started=$(date +%s)
        for i in $(seq "$planned" $(( AGENDA_APPOINTMENTS - 1 ))); do
            printf '%(%Y-%m-%dT%H:%M:%SZ)T\n' $(( first + i * 7200 ))
        done | TZ=UTC taskset -c "$LOAD_CPU" xargs -P 4 -I{} curl -fs -o /dev/null "$API/clients/$client/appointments" \
            -H "Authorization: Bearer $busy" -H 'content-type: application/json' \
            -d '{"kind":"legal","mode":"in_person","city":"Lublin","starts_at":"{}","duration_minutes":60}'
        echo "planned $(( AGENDA_APPOINTMENTS - planned )) appointments in $(( $(date +%s) - started )) s"
    fi
    for who in empty busy; do
        token=$empty
        [ "$who" = busy ] && token=$busy
        items=$(curl -fs "$API/agenda" -H "Authorization: Bearer $token" | jq '.items | length')
        out="$WORK/agenda-$backend-$who.txt"
        measure "$out" -c1 -d"${DURATION}s" -H "Authorization: Bearer $token" "$API/agenda"
        p50=$(figure p50_ms "$out")
        p99=$(figure p99_ms "$out")
        echo "  $who agenda ($items entries on the first page): p50 $p50 ms, p99 $p99 ms"
        echo "$p50" > "$WORK/p50-agenda-$backend-$who"
        result "9 agenda $backend" "GET /agenda, $who counselor ($items entries; wrk -c1): p50 / p99" "$p50 / $p99 ms" "-"
    done
    result "9 agenda $backend" "p50 with $AGENDA_APPOINTMENTS appointments / p50 empty" \
        "$(ratio "$(cat "$WORK/p50-agenda-$backend-busy")" "$(cat "$WORK/p50-agenda-$backend-empty")")" "<= 2"
    stop_server
done
