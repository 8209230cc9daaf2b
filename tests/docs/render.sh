#!/usr/bin/env bash
# Renders the interactive API docs (/docs) in headless Chromium with every host but the local
# API unreachable, and checks that the operations of the OpenAPI document appear on the page.
# Installs Debian's chromium when it is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

if ! command -v chromium >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

cargo build --locked -q
BIN="${CARGO_TARGET_DIR:-target}/debug/casebridge"
WORK_DIR=$(mktemp -d)
API_PID=""
cleanup() {
    [[ -n "$API_PID" ]] && kill "$API_PID" 2>/dev/null && wait "$API_PID" 2>/dev/null
    rm -rf "$WORK_DIR"
}
trap cleanup EXIT

PORT=58180
while (echo >"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do PORT=$((PORT + 1)); done
DATABASE_URL="$WORK_DIR/docs.db" CASEBRIDGE_DATA_DIR="$WORK_DIR" CASEBRIDGE_BIND="127.0.0.1:$PORT" CASEBRIDGE_LOG=warn \
    "$BIN" serve >"$WORK_DIR/api.log" 2>&1 &
API_PID=$!
for _ in $(seq 1 50); do
    curl -fs "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1 && break
    sleep 0.2
done

# Chromium is slow to start on a loaded machine: give it two tries and show its log when both fail.
render() {
    timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-quic \
        --no-first-run --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$WORK_DIR/profile-$1" \
        --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" \
        --virtual-time-budget=15000 --dump-dom "http://127.0.0.1:$PORT/docs/" \
        >"$WORK_DIR/dom.html" 2>"$WORK_DIR/chromium.log"
}
rendered=false
for attempt in 1 2; do
    if render "$attempt" && grep -q 'opblock-summary-path' "$WORK_DIR/dom.html"; then
        rendered=true
        break
    fi
    echo "chromium attempt $attempt did not render the page (exit code or empty page); log tail:" >&2
    tail -n 20 "$WORK_DIR/chromium.log" >&2
done
$rendered || { echo "FAIL: chromium did not render /docs" >&2; exit 1; }

operations=$(grep -o "class=\"opblock-summary-path\"" "$WORK_DIR/dom.html" | wc -l)
expected=$(curl -fs "http://127.0.0.1:$PORT/api/v1/openapi.json" | python3 -c \
    'import json,sys; d=json.load(sys.stdin); print(sum(len(v) for v in d["paths"].values()))')
echo "docs page shows $operations operation(s); the document has $expected"
if [[ "$operations" -ne "$expected" ]] || ! grep -q '/health/ready' "$WORK_DIR/dom.html"; then
    echo "FAIL: the docs page did not render every operation" >&2
    tail -n 20 "$WORK_DIR/chromium.log" >&2
    exit 1
fi
echo "PASS: /docs renders all $operations operations offline"
