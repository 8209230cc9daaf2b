#!/usr/bin/env bash
# Property-based API testing with Schemathesis, once per role, against the real server.
#
# Builds the server, starts it on a free 127.0.0.1 port with a fresh SQLite database in a
# temporary folder, creates the first administrator with `casebridge create-admin`, then through
# the API an organisation and one user of every other role. For each role in turn
# (consortium_admin, coordinator, counselor, analyst) it signs in and runs every Schemathesis
# phase (examples, coverage, fuzzing, stateful along the links of the OpenAPI document) with
# every check, using the document the server serves. Settings shared by the runs are in
# tests/fuzz/schemathesis.toml; the seed and the examples per operation are fixed, so a run is
# reproducible. Stops the server it started, whatever happens.
#
# Schemathesis is installed (pinned) into a virtualenv under
# ${XDG_CACHE_HOME:-$HOME/.cache}/casebridge-schemathesis on first use.
#
# Usage: bash tests/fuzz/schemathesis.sh [ROLE...]   (from anywhere inside the repository;
#        without arguments every role runs)
# Needs: cargo, python3 (3.9 or newer) with venv, curl. All test traffic goes to 127.0.0.1.
# Exit status: 0 when every role's run passed; otherwise non-zero, after running every role so
# that every failure is reported.
set -euo pipefail

FUZZ_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$FUZZ_DIR/../.." && pwd)"
cd "$ROOT"

SCHEMATHESIS_VERSION="4.32.5"
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/casebridge-schemathesis/venv-$SCHEMATHESIS_VERSION"
CONFIG="$FUZZ_DIR/schemathesis.toml"
STARTUP_LIMIT=60 # seconds allowed for the server to become ready
PASSWORD="violet tram under Wawel 1987!"

# Examples per operation and role: the administrator reaches every organisation and user
# operation, the other roles mostly meet 403/404, so fewer examples keep the run short.
declare -A EXAMPLES=([consortium_admin]=25 [coordinator]=25 [counselor]=10 [analyst]=5)
ROLES=(consortium_admin coordinator counselor analyst)
if (($# > 0)); then
    ROLES=("$@")
fi

log() { printf '%s\n' "$*"; }
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}

for role in "${ROLES[@]}"; do
    [[ -n "${EXAMPLES[$role]:-}" ]] || fail "unknown role '$role' (one of: ${!EXAMPLES[*]})"
done
command -v cargo >/dev/null || fail "cargo is required"
command -v python3 >/dev/null || fail "python3 is required"
command -v curl >/dev/null || fail "curl is required"

# port_in_use, free_port and wait_until_ready
# shellcheck source=tests/lib/server.sh
source "$ROOT/tests/lib/server.sh"

# --- Clean-up, whatever happens ----------------------------------------------------------------

WORK_DIR=""
API_PID=""

cleanup() {
    local rc=$?
    set +e
    if [[ -n "$API_PID" ]] && kill -0 "$API_PID" 2>/dev/null; then
        kill -TERM "$API_PID" 2>/dev/null
        for _ in $(seq 1 50); do
            kill -0 "$API_PID" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$API_PID" 2>/dev/null
        wait "$API_PID" 2>/dev/null
    fi
    if [[ $rc -ne 0 && -n "$WORK_DIR" && -s "$WORK_DIR/api.log" ]]; then
        log "--- server errors and warnings (last 40) ---"
        sed 's/\x1b\[[0-9;]*m//g' "$WORK_DIR/api.log" | grep -E 'ERROR|WARN|panicked' | tail -n 40
    fi
    [[ -n "$WORK_DIR" ]] && rm -rf "$WORK_DIR"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- Schemathesis, pinned, in its own virtualenv -----------------------------------------------

if [[ ! -x "$VENV/bin/schemathesis" ]] || [[ "$("$VENV/bin/schemathesis" --version 2>/dev/null)" != *" $SCHEMATHESIS_VERSION" ]]; then
    log "==> installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
"$VENV/bin/schemathesis" --version
PYTHON="$VENV/bin/python"

# --- Build and start the server ----------------------------------------------------------------

started=$SECONDS
log "==> building casebridge (debug)"
cargo build --locked --bin casebridge
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/casebridge"
[[ -x "$BIN" ]] || fail "binary not found at $BIN"
log "<== built in $((SECONDS - started))s"

WORK_DIR=$(mktemp -d -t casebridge-fuzz.XXXXXX)
PORT=$(free_port 28280)
BASE="http://127.0.0.1:$PORT"
API="$BASE/api/v1"

# The server and the CLI read the same settings; a fresh database and development secrets live
# in the temporary folder. Settings from the caller's environment or a .env file must not leak
# in. Fuzzing the sign-in is expected, so failed sign-ins are not throttled within the run, and
# an access token outlives one role's run.
server_env=(
    env -u CASEBRIDGE_JWT_SIGNING_KEY -u CASEBRIDGE_MASTER_KEYS -u CASEBRIDGE_DB_POOL_SIZE
    DATABASE_URL="$WORK_DIR/casebridge.db"
    CASEBRIDGE_ENV=development
    CASEBRIDGE_BIND="127.0.0.1:$PORT"
    CASEBRIDGE_DATA_DIR="$WORK_DIR"
    CASEBRIDGE_LOG=warn
    CASEBRIDGE_LOG_FORMAT=pretty
    CASEBRIDGE_LOGIN_MAX_FAILURES_PER_ACCOUNT=1000000
    CASEBRIDGE_LOGIN_MAX_FAILURES_PER_IP=1000000
    CASEBRIDGE_ACCESS_TOKEN_TTL_SECONDS=900
)

log "==> creating the first administrator"
(cd "$WORK_DIR" && printf '%s\n' "$PASSWORD" |
    "${server_env[@]}" "$BIN" create-admin --email admin@example.org --name "Consortium Admin") >"$WORK_DIR/create-admin.log" 2>&1 ||
    { sed 's/\x1b\[[0-9;]*m//g' "$WORK_DIR/create-admin.log" >&2; fail "create-admin failed"; }

log "==> starting the server on $BASE"
(cd "$WORK_DIR" && exec "${server_env[@]}" "$BIN" serve </dev/null >"$WORK_DIR/api.log" 2>&1) &
API_PID=$!

wait_until_ready "$BASE" "$API_PID" "$STARTUP_LIMIT"
log "<== ready (pid $API_PID)"

# --- The organisation and a user of every role, through the API --------------------------------

# json_field FIELD: prints a top-level string field of the JSON document on standard input.
json_field() {
    "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# post PATH TOKEN BODY: POSTs JSON, fails unless the answer is 2xx, prints the body.
post() {
    local path=$1 token=$2 body=$3 auth=()
    [[ -n "$token" ]] && auth=(-H "authorization: Bearer $token")
    curl -sS --fail-with-body --max-time 30 "$API$path" "${auth[@]}" \
        -H 'content-type: application/json' -d "$body" ||
        fail "POST $path was refused"
}

sign_in() {
    post /auth/login "" "{\"email\":\"$1\",\"password\":\"$PASSWORD\"}" | json_field access_token
}

# enrolled: reads a created user's answer on standard input, sets the password with its
# one-time enrolment token and prints the user's id.
enrolled() {
    local answer token
    answer=$(cat)
    token=$("$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["enrolment"]["token"])' <<<"$answer")
    post /auth/enrol "" "{\"token\":\"$token\",\"password\":\"$PASSWORD\"}" >/dev/null
    "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["user"]["id"])' <<<"$answer"
}

declare -A EMAIL=([consortium_admin]=admin@example.org)

log "==> creating an organisation and its coordinator, counselor and analyst"
admin_token=$(sign_in admin@example.org)
organisation=$(post /organisations "$admin_token" '{"name":"Polskie Forum Migracyjne","short_name":"PFM",
    "cities":["Warszawa","Lublin"],"services":["psychological","vocational","legal"],
    "contact_email":"biuro@example.org"}' | json_field id)
# The psychological specialty takes a second person: a second administrator confirms the
# coordinator's (the organisation has no psychologist yet), then the coordinator, now a
# psychologist who did not ask for them, confirms the others'.
post /users "$admin_token" '{"email":"second-admin@example.org","display_name":"Second Admin",
    "role":"consortium_admin"}' | enrolled >/dev/null
confirmer_token=$(sign_in second-admin@example.org)
for role in coordinator counselor analyst; do
    EMAIL[$role]="$role@example.org"
    user_id=$(post /users "$admin_token" "{\"organisation_id\":\"$organisation\",\"email\":\"${EMAIL[$role]}\",
        \"display_name\":\"Fuzz ${role^}\",\"role\":\"$role\",\"specialties\":[\"psychological\",\"legal\"]}" | enrolled)
    grant=$(curl -sS --fail-with-body --max-time 30 -H "authorization: Bearer $confirmer_token" \
        "$API/specialty-grants?user_id=$user_id&status=pending" |
        "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["items"][0]["id"])')
    post "/specialty-grants/$grant/confirm" "$confirmer_token" "" >/dev/null
    [[ $role == coordinator ]] && confirmer_token=$(sign_in "${EMAIL[coordinator]}")
done

# --- Schemathesis, one run per role, side by side ----------------------------------------------

# The runs go in parallel (each Schemathesis process keeps one core busy generating data) and
# their reports are printed one after another. They do not disturb each other: the stateful
# phase follows only the links the document declares, so it changes only records it created.
declare -A RUN_PID RESULT
started=$SECONDS
for role in "${ROLES[@]}"; do
    token=$(sign_in "${EMAIL[$role]}")
    log "==> schemathesis as $role (${EXAMPLES[$role]} examples per operation)"
    # Sign-in, enrolment and password change answer alike whoever calls them; one run (the
    # first role's) tests them, so that parallel runs do not fill every place for a password
    # check and meet the 503 that sheds such load.
    only_once=()
    [[ $role != "${ROLES[0]}" ]] && only_once=(--exclude-path-regex '/auth/(login|enrol|password)$')
    (
        CASEBRIDGE_FUZZ_TOKEN=$token exec "$VENV/bin/schemathesis" --config-file "$CONFIG" run \
            --checks all --exclude-checks positive_data_acceptance "${only_once[@]}" \
            --max-examples "${EXAMPLES[$role]}" \
            --no-color \
            --report junit --report-dir "$WORK_DIR/reports/$role" \
            "$API/openapi.json"
    ) >"$WORK_DIR/$role.log" 2>&1 &
    RUN_PID[$role]=$!
    echo "$token" >"$WORK_DIR/$role.token"
done

status=0
for role in "${ROLES[@]}"; do
    if wait "${RUN_PID[$role]}"; then
        RESULT[$role]=passed
    else
        RESULT[$role]=FAILED
        status=1
    fi
    # A run that ended its own session (say, by deactivating its user) would have met only 401
    # from some point on and proved little.
    if ! curl -fsS --max-time 10 -o /dev/null -H "authorization: Bearer $(cat "$WORK_DIR/$role.token")" "$API/auth/me"; then
        RESULT[$role]="FAILED (its access token stopped working during the run)"
        status=1
    fi
done
took=$((SECONDS - started))

for role in "${ROLES[@]}"; do
    log
    log "======== schemathesis as $role: ${RESULT[$role]} ========"
    cat "$WORK_DIR/$role.log"
done

if ! kill -0 "$API_PID" 2>/dev/null; then
    log "the server exited during the run"
    status=1
elif grep -q 'panicked' "$WORK_DIR/api.log"; then
    log "the server log records a panic"
    status=1
fi

log
for role in "${ROLES[@]}"; do
    log "schemathesis $role (${EXAMPLES[$role]} examples per operation): ${RESULT[$role]}"
done
log "all roles ran in ${took}s"
if ((status == 0)); then
    log "schemathesis passed for every role"
else
    log "schemathesis FAILED"
fi
exit "$status"
