# Shell functions the bench scripts share (sourced after they define say, die,
# PY and START_TIMEOUT). Processes are watched through /proc (Linux).

# A process that exists and is not a zombie.
alive() {
    local state
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) || return 1
    [[ -n $state && $state != Z ]]
}

children() { cat /proc/"$1"/task/*/children 2>/dev/null || true; }

# Show the end of a log and stop.
fail_with_log() {
    local what=$1 log
    shift
    for log in "$@"; do
        [[ -s $log ]] && { printf -- '--- %s\n' "$log" >&2; tail -n 30 "$log" >&2; }
    done
    die "$what"
}

# Poll until 127.0.0.1:PORT accepts a connection.
wait_port() {
    local name=$1 pid=$2 port=$3 log=$4 deadline=$(( SECONDS + START_TIMEOUT ))
    until (: <>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        alive "$pid" || fail_with_log "$name exited before listening on port $port" "$log"
        (( SECONDS < deadline )) || fail_with_log "$name not listening on port $port after ${START_TIMEOUT}s" "$log"
        sleep 0.05
    done
}

# Distinct free loopback ports, held open together while they are chosen.
free_ports() {
    "$PY" - "$1" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}

# CPU ticks of the children this shell has waited for (wrk, once it has ended).
reaped_ticks() { sed 's/.*) //' "/proc/$$/stat" | awk '{print $14 + $15}'; }

# Idle ticks (idle + iowait) of each CPU of STAT_CPUS, on one line.
idle_ticks() {
    local cpu
    for cpu in "${STAT_CPUS[@]}"; do
        awk -v cpu="$cpu" '$1 == cpu {printf "%d ", $5 + $6}' /proc/stat
    done
    echo
}
