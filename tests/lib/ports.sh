# Ports for the test scripts' own servers, on 127.0.0.1 (sourced; `fail` is the caller's).

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
