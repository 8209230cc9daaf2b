# Benchmarks 4–5 (sourced by run.sh): the read path (GET /clients/{id}) and the write path (POST a
# session with encrypted notes) against the same SQL statements sent straight to the database —
# pgbench -M prepared on PostgreSQL, sqlite3 on SQLite — with the same number of connections.
# benches/sql/{read,write}.sql hold the statements; the API side is also audited and sealed.

# The statements of benches/sql/$1.sql in backend $2's dialect. Ids are UUIDs in the API's text
# form, as the API reads back what it stores (the audit sealer among others).
dialect() {
    local file="$BENCHES/sql/$1.sql" uuid_of
    case "$2" in
        postgres)
            # The session id: the random number sn in UUID form.
            uuid_of="(SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || substr(h, 13, 4) || '-' || substr(h, 17, 4) || '-' || substr(h, 21) FROM (SELECT lpad(to_hex(:sn::bigint), 32, '0') AS h) AS x)"
            printf '%s\n' '\set sn random(1, 9000000000000000000)'
            sed -e '/^--/d' \
                -e "s/@NOW@/(now() AT TIME ZONE 'UTC')/g" \
                -e 's/@UUID@/gen_random_uuid()::text/g' \
                -e "s/@SID@/$uuid_of/g" \
                -e "s/@BLOB@/decode(repeat('a5', 52), 'hex')/g" "$file"
            ;;
        sqlite)
            # sn is written in per round by direct_rate, already in UUID form.
            sed -e '/^--/d' \
                -e "s/@NOW@/strftime('%Y-%m-%d %H:%M:%f', 'now')/g" \
                -e "s/@UUID@/(SELECT lower(substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || substr(h, 13, 4) || '-' || substr(h, 17, 4) || '-' || substr(h, 21)) FROM (SELECT hex(randomblob(16)) AS h))/g" \
                -e 's/@SID@/:sn/g' \
                -e 's/@BLOB@/randomblob(52)/g' \
                -e 's/^BEGIN;/BEGIN IMMEDIATE;/' "$file"
            ;;
    esac
}

# Transactions per second of benches/sql/$1.sql straight on the database, $3 connections, for
# DURATION seconds (PostgreSQL) or a fixed number of rounds (SQLite); the caller's ids in
# SQL_VARS (name=value …).
direct_rate() {
    local path="$1" backend="$2" connections="$3" script="$WORK/$1-$2.sql"
    dialect "$path" "$backend" > "$script"
    if [ "$backend" = postgres ]; then
        local defines=() pair
        for pair in "${SQL_VARS[@]}"; do defines+=(-D "$pair"); done
        taskset -c "$API_CPU" pgbench -n -M prepared -c "$connections" -j 1 -T "$DURATION" \
            "${defines[@]}" -f "$script" "$DATABASE_URL" > "$WORK/pgbench-$path.txt" 2>&1
        awk '/^tps/ { printf "%.1f", $3; exit }' "$WORK/pgbench-$path.txt"
        return 0
    fi
    # sqlite3: each connection runs ROUNDS copies of the statements with the values written in,
    # with the pragmas the API sets on its connections.
    # Session ids are made unique per call from the time in milliseconds (a run lasts seconds).
    local rounds=$SQLITE_ROUNDS run=$(( $(date +%s%3N) % 0x100000000 )) statements start end pids=() c i
    statements=$(cat "$script")
    local pair
    for pair in "${SQL_VARS[@]}"; do
        statements=${statements//:${pair%%=*}/\'${pair#*=}\'}
    done
    for ((c = 0; c < connections; c++)); do
        {
            echo "$SQLITE_PRAGMAS"
            for ((i = 0; i < rounds; i++)); do
                printf '%s\n' "${statements//:sn/\'$(printf '%08x-%04x-4%03x-8000-%012x' "$run" "$c" "$connections" "$i")\'}"
            done
        } > "$WORK/$path-sqlite-$c.sql"
    done
    start=$(date +%s.%N)
    for ((c = 0; c < connections; c++)); do
        taskset -c "$API_CPU" sqlite3 "$DATABASE_URL" < "$WORK/$path-sqlite-$c.sql" > /dev/null &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid"; done
    end=$(date +%s.%N)
    awk -v n=$((rounds * connections)) -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", n / (b - a) }'
}

# Each measured run, the API's and the direct one, starts from the same state: with the API
# running, its sealer has chained every audit event written before (the direct side's inserts
# among them, which would otherwise be sealed during the API's next run), and what earlier runs
# wrote is flushed to the database files.
settle() {
    if [ -n "$SERVER_PID" ]; then
        local pending
        for _ in $(seq 1 600); do
            pending=$(sql_on "$1" 'SELECT count(*) FROM audit_pending')
            [ "$pending" = 0 ] && break
            sleep 0.1
        done
        if [ "$pending" != 0 ]; then
            echo "warning: $pending audit events still unsealed after 60 s; the API's run seals them" >&2
        fi
    fi
    if [ "$1" = postgres ]; then
        sql_on "$1" CHECKPOINT > /dev/null
    else
        sql_on "$1" 'PRAGMA wal_checkpoint(TRUNCATE)' > /dev/null
    fi
}

# Runs SQL statement $2 on the benchmark's database of backend $1.
sql_on() {
    if [ "$1" = postgres ]; then
        psql -X -Atq "$DATABASE_URL" -c "$2"
    else
        sqlite3 "$DATABASE_URL" "$2"
    fi
}

SQLITE_ROUNDS=${SQLITE_ROUNDS:-3000}

for backend in $BACKENDS; do
    size=$(echo "$SIZES" | awk '{ print $1 }')
    seeded_database "$backend" "$size"
    ensure_admin "$DATABASE_URL"
    start_server "$DATABASE_URL" "$WORK/server-paths-$backend.log"
    wrk_on=$(path_load_cpu "$backend")
    counselor=$(bench_counselor)
    client=$(curl -fs "$API/clients?limit=1" -H "Authorization: Bearer $counselor" | jq -r '.items[0].id')
    SQL_VARS=("sid=$(claim "$counselor" .sid)" "uid=$(claim "$counselor" .sub)" "org=$(claim "$counselor" .org)" "cid=$client")
    # One session first, so that the client's data key exists, as it does after the first note.
    curl -fs -o /dev/null "$API/clients/$client/sessions" -H "Authorization: Bearer $counselor" \
        -H 'content-type: application/json' -d "$SESSION_BODY"

    for path in read write; do
        case "$path" in
            read) number=4; what="GET /clients/{id}"; target=">= 80 %" ;;
            write) number=5; what="POST /clients/{id}/sessions"; target=">= 70 %" ;;
        esac
        say "$number. $path path, $backend: $what vs the same SQL on the database"
        for connections in $PATH_CONNECTIONS; do
            pairs=()
            for ((pair = 1; pair <= PATH_PAIRS; pair++)); do
                out="$WORK/$path-$backend-c$connections-$pair.txt"
                settle "$backend"
                if [ "$path" = read ]; then
                    WRK_CPU=$wrk_on measure "$out" -c"$connections" -d"${DURATION}s" -H "Authorization: Bearer $counselor" "$API/clients/$client"
                else
                    WRK_CPU=$wrk_on measure "$out" -c"$connections" -d"${DURATION}s" -s "$BENCHES/session.lua" \
                        -H "Authorization: Bearer $counselor" "$API/clients/$client/sessions"
                fi
                api_rate=$(figure rps "$out")
                stop_server
                settle "$backend"
                direct=$(direct_rate "$path" "$backend" "$connections")
                start_server "$DATABASE_URL" "$WORK/server-paths-$backend.log"
                share=$(awk -v a="$api_rate" -v d="$direct" 'BEGIN { printf "%.0f", 100 * a / d }')
                echo "$connections connection(s), pair $pair: API $api_rate req/s (p50 $(figure p50_ms "$out") ms," \
                    "p99 $(figure p99_ms "$out") ms); the same SQL directly: $direct tx/s; share: $share %"
                pairs+=("$share $api_rate $direct")
            done
            read -r share api_rate direct < <(printf '%s\n' "${pairs[@]}" | sort -n | sed -n "$(((PATH_PAIRS + 1) / 2))p")
            result "$number $path path $backend" "$what, $connections conn.: API / same SQL directly (median of $PATH_PAIRS pairs)" \
                "$api_rate / $direct per s = $share %" "$target"
        done
    done
    stop_server
done
