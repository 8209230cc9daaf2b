# The test scripts' own servers on 127.0.0.1: free ports and readiness (sourced; `fail` is the
# caller's).

# True when something accepts TCP connections on 127.0.0.1:$1.
port_in_use() {
    timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# Ports are picked below Linux's ephemeral range (32768-60999), where an outgoing connection may
# hold a port that nothing listens on, so that a free-looking port can always be bound.
free_port() {
    local port
    for ((port = $1; port < $1 + 100; port++)); do
        if ! port_in_use "$port"; then
            printf '%s' "$port"
            return 0
        fi
    done
    fail "no free port in $1..$(($1 + 99))"
}

# Waits until $1/health/ready answers 200; fails when the server (pid $2) exits first or $3
# seconds pass.
wait_until_ready() {
    local deadline=$((SECONDS + $3))
    until curl -fsS --max-time 2 -o /dev/null "$1/health/ready" 2>/dev/null; do
        kill -0 "$2" 2>/dev/null || fail "the server exited during start-up"
        ((SECONDS < deadline)) || fail "the server was not ready within ${3}s"
        sleep 0.2
    done
}
