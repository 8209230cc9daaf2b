# Benchmark 8 (sourced by run.sh): documents. (a) Ten concurrent 25 MiB uploads: the API's peak
# resident memory (VmHWM) while they stream in, sealed and stored. (b) Downloading a 25 MiB
# document over HTTP against reading the same kind of sealed object from disk and opening it in
# process (`cargo run --release --example document_open`: the project's own sealing code, on the
# API's core).

DOCUMENT_MIB=${DOCUMENT_MIB:-25}
DOCUMENT_UPLOADS=${DOCUMENT_UPLOADS:-10}
DOCUMENT_DOWNLOADS=${DOCUMENT_DOWNLOADS:-9}

# A PDF of $2 MiB whose body is random bytes, in file $1.
document_file() {
    {
        printf '%%PDF-1.7\n%%\342\343\317\323\n'
        head -c $(( $2 * 1024 * 1024 - 15 )) /dev/urandom
    } > "$1"
}

# The API's peak resident memory since it started or since the last reset, in KiB.
peak_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$SERVER_PID/status"; }
mib_of() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }

say "8a. in-process baseline: open a sealed ${DOCUMENT_MIB} MiB document from disk (core $API_CPU)"
cargo build --release --example document_open
taskset -c "$API_CPU" "${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/document_open" "$DOCUMENT_MIB" 9 |
    tee "$WORK/document-open.txt"
in_process=$(figure median_mib_per_s "$WORK/document-open.txt")
result "8 documents" "open a sealed ${DOCUMENT_MIB} MiB document from disk in process (median of 9)" "$in_process MiB/s" "-"

size=$(echo "$SIZES" | awk '{ print $1 }')
for backend in $BACKENDS; do
    say "8. documents ($backend): ${DOCUMENT_UPLOADS} concurrent ${DOCUMENT_MIB} MiB uploads, ${DOCUMENT_MIB} MiB downloads"
    seeded_database "$backend" "$size"
    ensure_admin "$DATABASE_URL"
    rm -rf "$WORK/data/documents"
    start_server "$DATABASE_URL" "$WORK/server-documents-$backend.log"
    BENCH_TOKEN=$(bench_counselor)
    organisation=$(claim "$BENCH_TOKEN" .org)
    query="SELECT id FROM clients WHERE organisation_id = '$organisation' AND status = 'active' ORDER BY id LIMIT 1"
    if [ "$backend" = postgres ]; then
        client=$(psql -X -At "$DATABASE_URL" -c "$query")
    else
        client=$(sqlite3 "$DATABASE_URL" "$query")
    fi
    document_file "$WORK/document.pdf" "$DOCUMENT_MIB"
    printf '{"kind":"decision","title":"Decyzja Szefa UdSC","language":"pl"}' > "$WORK/document-meta.json"
    upload() { # $1 = output file; prints the HTTP status
        taskset -c "$LOAD_CPU" curl -s -o "$1" -w '%{http_code}\n' "$API/clients/$client/documents" \
            -H "Authorization: Bearer $BENCH_TOKEN" \
            -F "metadata=<$WORK/document-meta.json;type=application/json" \
            -F "file=@$WORK/document.pdf;type=application/pdf"
    }

    # The first document of a client creates its data key, which ten uploads at once would each
    # try to create (all but one answered 409 `retry`): one upload first, also the one downloaded.
    status=$(upload "$WORK/upload-0.json")
    if [ "$status" != 201 ]; then echo "the first upload answered $status: $(cat "$WORK/upload-0.json")" >&2; exit 1; fi

    # (a) Peak memory: what the API reached before (start-up, sign-ins, one upload), then the peak
    # during the ten uploads alone (VmHWM reset with clear_refs, which needs root; else the peak
    # since start).
    before=$(peak_kib)
    reset="since start"
    if echo 5 > "/proc/$SERVER_PID/clear_refs" 2>/dev/null; then reset="during the uploads"; fi
    started=$(date +%s%N)
    pids=()
    for i in $(seq 1 "$DOCUMENT_UPLOADS"); do
        upload "$WORK/upload-$i.json" > "$WORK/upload-$i.status" &
        pids+=($!)
    done
    wait "${pids[@]}"
    elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
    after=$(peak_kib)
    created=$(cat "$WORK"/upload-*.status | grep -c '^201$' || true)
    rm -f "$WORK"/upload-*.status
    echo "uploads: $created of $DOCUMENT_UPLOADS answered 201 in $elapsed_ms ms;" \
        "VmHWM before $(mib_of "$before") MiB, $reset $(mib_of "$after") MiB"
    result "8 documents $backend" "$DOCUMENT_UPLOADS concurrent ${DOCUMENT_MIB} MiB uploads: answered 201" "$created" "$DOCUMENT_UPLOADS"
    result "8 documents $backend" "API peak resident memory (VmHWM) before / $reset" \
        "$(mib_of "$before") / $(mib_of "$after") MiB" "< 100 MiB"
    result "8 documents $backend" "the $DOCUMENT_UPLOADS uploads, wall time" \
        "$elapsed_ms ms ($(awk -v n="$DOCUMENT_UPLOADS" -v m="$DOCUMENT_MIB" -v t="$elapsed_ms" 'BEGIN { printf "%.0f", n * m / (t / 1000) }') MiB/s)" "-"

    # (b) Download throughput of one of them: median of DOCUMENT_DOWNLOADS (after one warm-up).
    document=$(jq -r .id "$WORK/upload-0.json")
    rates=()
    for i in $(seq 0 "$DOCUMENT_DOWNLOADS"); do
        line=$(taskset -c "$LOAD_CPU" curl -s -o /dev/null -w '%{http_code} %{size_download} %{time_total}' \
            "$API/documents/$document/content" -H "Authorization: Bearer $BENCH_TOKEN")
        read -r status bytes seconds <<<"$line"
        if [ "$status" != 200 ] || [ "$bytes" != $(( DOCUMENT_MIB * 1024 * 1024 )) ]; then
            echo "download $i answered $status with $bytes bytes" >&2
            continue
        fi
        [ "$i" = 0 ] && continue
        rates+=("$(awk -v b="$bytes" -v s="$seconds" 'BEGIN { printf "%.1f", b / 1048576 / s }')")
    done
    rate=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
    share=$(awk -v a="$rate" -v b="$in_process" 'BEGIN { if (b > 0) printf "%.0f", 100 * a / b; else print "n/a" }')
    echo "download over HTTP: median $rate MiB/s (${rates[*]}); in process $in_process MiB/s: $share %"
    result "8 documents $backend" "download ${DOCUMENT_MIB} MiB over HTTP (median of $DOCUMENT_DOWNLOADS) vs in process" \
        "$rate vs $in_process MiB/s = $share %" ">= 50 %"
    stop_server
    rm -rf "$WORK/data/documents"
done
