# Benchmark 3 (sourced by run.sh): client search latency, first and deep pages, by database size.

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

say "3. client search latency"
for backend in $BACKENDS; do
    for size in $SIZES; do
        label=$(label_of "$size")
        seeded_database "$backend" "$size"
        ensure_admin "$DATABASE_URL"
        start_server "$DATABASE_URL" "$WORK/server-$backend-$label.log"
        counselor=$(bench_counselor)
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
