#!/usr/bin/env bash
# numlookup against nginx, on this machine, in one run (`make bench`).
#
# Starts nginx (the reference: Basic auth + a fixed 200 answer), numlookup on a
# fresh demo database, and numlookup on a database of BENCH_PORTED ported
# numbers; loads each with wrk in rounds (the targets take turns); prints the
# median req/s, p50 and p99 per target and the ratio checks, and writes them to
# bench/out/results.md. Everything it starts is stopped on exit, Ctrl-C included.
# See bench/README.md.
#
# Settings (environment):
#   BENCH_ROUNDS=3          rounds; each round runs every target once
#   BENCH_SECONDS=10        length of one wrk run
#   BENCH_CONNECTIONS=64    wrk connections (one wrk thread)
#   BENCH_PORTED=10000000   ported numbers in the uncached database
#   BENCH_UNKNOWN_SHARE=0   share (0..1) of uncached requests for numbers in no data set
#   BENCH_START_TIMEOUT=120 seconds a server may take to start
#   BENCH_STRICT=0          1: exit 1 when a check is not met
#   BENCH_TARGETS="nginx-http nginx-https numlookup-http numlookup-https numlookup-uncached"
#                           the targets to run (a subset skips the others' servers)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
OUT=$BENCH/out
LAST=$OUT/last            # this run's wrk outputs and server logs

ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_SECONDS:-10}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
PORTED=${BENCH_PORTED:-10000000}
UNKNOWN_SHARE=${BENCH_UNKNOWN_SHARE:-0}
START_TIMEOUT=${BENCH_START_TIMEOUT:-120}
STRICT=${BENCH_STRICT:-0}
ALL_TARGETS=(nginx-http nginx-https numlookup-http numlookup-https numlookup-uncached)
read -r -a TARGETS <<<"${BENCH_TARGETS:-${ALL_TARGETS[*]}}"
PY=$ROOT/.venv/bin/python
NUMLOOKUP=$ROOT/.venv/bin/numlookup
DEMO_MSISDN=46708100100

say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

for pair in ROUNDS:BENCH_ROUNDS DURATION:BENCH_SECONDS CONNECTIONS:BENCH_CONNECTIONS \
    PORTED:BENCH_PORTED START_TIMEOUT:BENCH_START_TIMEOUT; do
    name=${pair%%:*}
    [[ ${!name} =~ ^[1-9][0-9]*$ ]] || die "${pair#*:} must be a positive integer, got '${!name}'"
done
[[ $UNKNOWN_SHARE =~ ^(0(\.[0-9]+)?|1(\.0+)?)$ ]] || die "BENCH_UNKNOWN_SHARE must be in 0..1"
[[ -x $PY && -x $NUMLOOKUP ]] || die "no virtualenv at $ROOT/.venv: run 'make bench'"
for target in "${TARGETS[@]}"; do
    [[ " ${ALL_TARGETS[*]} " == *" $target "* ]] || die "unknown target '$target' in BENCH_TARGETS"
done
(( ${#TARGETS[@]} )) || die "BENCH_TARGETS is empty"
wants() {
    local target
    for target in "${TARGETS[@]}"; do [[ $target == "$1"* ]] && return 0; done
    return 1
}

# The numbers of the big database are 467 + 8 digits of k*stride (bench/make_db.py).
STRIDE=7
if (( PORTED * STRIDE > 100000000 )); then
    STRIDE=$(( 100000000 / PORTED ))
    (( STRIDE >= 2 )) || die "BENCH_PORTED=$PORTED is too large (at most 50000000)"
fi

# ------------------------------------------------------------------ tools

install_tools() {
    local missing=()
    command -v wrk >/dev/null || missing+=(wrk)
    command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx-light)
    command -v openssl >/dev/null || missing+=(openssl)
    command -v taskset >/dev/null || missing+=(util-linux)
    (( ${#missing[@]} )) || return 0
    [[ $(id -u) == 0 ]] || die "missing ${missing[*]}; install them (apt-get install ${missing[*]})"
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}
install_tools
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

if (( $(nproc) >= 2 )); then
    SERVER_CPU=(taskset -c 0)   # every server on core 0
    LOAD_CPU=(taskset -c 1)     # wrk on core 1
    PINNING="servers on CPU 0, wrk on CPU 1"
    STAT_CPUS=(cpu0 cpu1)       # /proc/stat lines of the servers' CPU and wrk's
else
    SERVER_CPU=()
    LOAD_CPU=()
    PINNING="one CPU: servers and wrk share it (not comparable to the anchor)"
    STAT_CPUS=()                # no per-CPU accounting
fi

# ------------------------------------------------------------------ processes

TMP=$(mktemp -d /tmp/numlookup-bench.XXXXXX)
PIDS=()      # servers, stopped in stop_all
WRK_PID=''   # the wrk run in progress

stop_all() {
    local pid kids=() deadline
    if [[ -n $WRK_PID ]]; then
        kill -TERM "$WRK_PID" 2>/dev/null || true
        wait "$WRK_PID" 2>/dev/null || true
        WRK_PID=''
    fi
    for pid in "${PIDS[@]}"; do
        # shellcheck disable=SC2207
        kids+=($(children "$pid"))
        kill -TERM "$pid" 2>/dev/null || true
    done
    deadline=$(( SECONDS + 15 ))
    for pid in "${PIDS[@]}"; do
        while alive "$pid" && (( SECONDS < deadline )); do sleep 0.05; done
        if alive "$pid"; then
            say "pid $pid did not stop on SIGTERM; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    # Workers whose parent was killed outright.
    for pid in "${kids[@]}"; do
        if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    done
    PIDS=()
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    stop_all
    rm -rf "$TMP"
    exit "$status"
}
trap cleanup EXIT
trap 'say interrupted; exit 130' INT
trap 'say terminated; exit 143' TERM

read -r NGINX_HTTP NGINX_HTTPS DEMO_HTTP DEMO_HTTPS BIG_HTTP BIG_HTTPS < <(free_ports 6)
[[ -n ${BIG_HTTPS:-} ]] || die "could not find free loopback ports"

rm -rf "$LAST"
mkdir -p "$LAST/raw" "$LAST/logs"

# ------------------------------------------------------------------ nginx

start_nginx() {
    mkdir -p "$TMP/www" "$TMP/nginx-tmp"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$TMP/nginx-key.pem" -out "$TMP/nginx-cert.pem" -days 2 \
        -subj /CN=localhost 2>"$TMP/openssl.log" \
        || fail_with_log "openssl could not make a certificate" "$TMP/openssl.log"
    # {SHA}: base64 of the SHA-1 of the password. A salted crypt hash would be
    # recomputed by nginx on every request (10x slower, see the anchor notes).
    printf 'demo:{SHA}%s\n' "$(printf %s demo | openssl dgst -sha1 -binary | openssl base64 -A)" \
        >"$TMP/htpasswd"
    sed -e "s|@TMP@|$TMP|g" -e "s|@HTTP_PORT@|$NGINX_HTTP|g" -e "s|@HTTPS_PORT@|$NGINX_HTTPS|g" \
        "$BENCH/nginx.conf" >"$TMP/nginx.conf"
    local log=$LAST/logs/nginx.log
    "$NGINX" -t -q -p "$TMP/" -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf" >"$log" 2>&1 \
        || fail_with_log "nginx rejected $BENCH/nginx.conf" "$log"
    setsid "${SERVER_CPU[@]}" "$NGINX" -p "$TMP/" -e "$TMP/nginx-error.log" -c "$TMP/nginx.conf" \
        -g 'daemon off;' >>"$log" 2>&1 &
    NGINX_PID=$!
    PIDS+=("$NGINX_PID")
    wait_port nginx "$NGINX_PID" "$NGINX_HTTP" "$TMP/nginx-error.log"
    wait_port nginx "$NGINX_PID" "$NGINX_HTTPS" "$TMP/nginx-error.log"
}

# ------------------------------------------------------------------ numlookup

# start_numlookup NAME VAR_DIR HTTP_PORT HTTPS_PORT: sets NL_PID.
start_numlookup() {
    local name=$1 var_dir=$2 http=$3 https=$4
    local out=$LAST/logs/$name.out err=$LAST/logs/$name.err deadline=$(( SECONDS + START_TIMEOUT ))
    mkdir -p "$var_dir"
    NUMLOOKUP_VAR_DIR=$var_dir NUMLOOKUP_DATABASE_PATH=$var_dir/numlookup.sqlite3 \
        setsid "${SERVER_CPU[@]}" "$NUMLOOKUP" serve --http "127.0.0.1:$http" --https "127.0.0.1:$https" \
        >"$out" 2>"$err" &
    NL_PID=$!
    PIDS+=("$NL_PID")
    until grep -q '^numlookup listening' "$out" 2>/dev/null; do
        alive "$NL_PID" || fail_with_log "numlookup ($name) exited during start-up" "$out" "$err"
        (( SECONDS < deadline )) || fail_with_log "numlookup ($name) not ready after ${START_TIMEOUT}s" "$out" "$err"
        sleep 0.05
    done
    wait_port "numlookup ($name)" "$NL_PID" "$http" "$err"
    wait_port "numlookup ($name)" "$NL_PID" "$https" "$err"
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# CPU time (clock ticks) of a server: the process and its children (nginx's worker).
server_ticks() {
    local pid total=0 ticks
    for pid in "$1" $(children "$1"); do
        # Fields after "(comm) ": state is the 1st, utime the 12th, stime the 13th.
        ticks=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $12 + $13}') || true
        total=$(( total + ${ticks:-0} ))
    done
    echo "$total"
}

# ------------------------------------------------------------------ run

say "settings: $ROUNDS round(s) of ${DURATION}s, c$CONNECTIONS, $PORTED ported numbers; $PINNING"

NGINX_PID='' DEMO_PID='' BIG_PID='' BIG_RSS_START='' BIG_RSS_END='' DEMO_RSS_END=''

if wants numlookup-uncached; then
    DB_KEY=$(cat "$ROOT"/src/numlookup/store/*.py "$ROOT"/src/numlookup/store/migrations/*.sql \
        "$BENCH/make_db.py" 2>/dev/null | sha1sum | cut -c1-12)
    DB=$OUT/ported-$PORTED-s$STRIDE-$DB_KEY.sqlite3
    if [[ ! -f $DB ]]; then
        say "building $DB (once; later runs reuse it)"
        # Databases of an older schema or builder are of no more use.
        rm -f "$OUT"/ported-"$PORTED"-s"$STRIDE"-*.sqlite3*
        "$PY" "$BENCH/make_db.py" --ported "$PORTED" --stride "$STRIDE" --out "$DB" \
            || die "make_db.py failed"
    fi
fi

if wants nginx; then
    start_nginx
    say "nginx: http=127.0.0.1:$NGINX_HTTP https=127.0.0.1:$NGINX_HTTPS (pid $NGINX_PID)"
fi

if wants numlookup-http; then  # numlookup-http and numlookup-https
    start_numlookup demo "$TMP/var-demo" "$DEMO_HTTP" "$DEMO_HTTPS"
    DEMO_PID=$NL_PID
    say "numlookup (demo database): http=127.0.0.1:$DEMO_HTTP https=127.0.0.1:$DEMO_HTTPS (pid $DEMO_PID)"
fi

if wants numlookup-uncached; then
    # The server writes lookup records into its database: give it a copy.
    mkdir -p "$TMP/var-big"
    cp "$DB" "$TMP/var-big/numlookup.sqlite3"
    start_numlookup big "$TMP/var-big" "$BIG_HTTP" "$BIG_HTTPS"
    BIG_PID=$NL_PID
    BIG_RSS_START=$(rss_kb "$BIG_PID")
    say "numlookup ($PORTED ported numbers): http=127.0.0.1:$BIG_HTTP (pid $BIG_PID)"
fi

declare -A URL=(
    [nginx-http]="http://127.0.0.1:$NGINX_HTTP/lookup?msisdn=$DEMO_MSISDN"
    [nginx-https]="https://127.0.0.1:$NGINX_HTTPS/lookup?msisdn=$DEMO_MSISDN"
    [numlookup-http]="http://127.0.0.1:$DEMO_HTTP/lookup?msisdn=$DEMO_MSISDN"
    [numlookup-https]="https://127.0.0.1:$DEMO_HTTPS/lookup?msisdn=$DEMO_MSISDN"
    [numlookup-uncached]="http://127.0.0.1:$BIG_HTTP/lookup"
)
declare -A SERVER_PID=(
    [nginx-http]=$NGINX_PID [nginx-https]=$NGINX_PID
    [numlookup-http]=$DEMO_PID [numlookup-https]=$DEMO_PID [numlookup-uncached]=$BIG_PID
)

# Check every target answers right (and refuses bad credentials); this also
# puts the demo number in numlookup's cache.
for target in "${TARGETS[@]}"; do
    if [[ $target == numlookup-uncached ]]; then
        "$PY" "$BENCH/probe.py" "${URL[$target]}" --ported "$PORTED" --stride "$STRIDE" \
            || die "$target does not answer as expected"
    else
        "$PY" "$BENCH/probe.py" "${URL[$target]}" || die "$target does not answer as expected"
    fi
done

run_wrk() {
    local target=$1 round=$2 file=$LAST/raw/$1.r$2.txt
    local args=(-t1 "-c$CONNECTIONS" "-d${DURATION}s" --latency --timeout 5s)
    if [[ $target == numlookup-uncached ]]; then
        args+=(-s "$BENCH/uncached.lua" "${URL[$target]}" -- "$PORTED" "$STRIDE" "$UNKNOWN_SHARE")
    else
        args+=(-s "$BENCH/auth.lua" "${URL[$target]}")
    fi
    local pid=${SERVER_PID[$target]} server0 wrk0 idle0 ns0 server1 wrk1 idle1 ns1
    server0=$(server_ticks "$pid")
    wrk0=$(reaped_ticks)
    read -r -a idle0 < <(idle_ticks)
    ns0=$(date +%s%N)
    # In the background and waited for, so that Ctrl-C runs the INT trap at once
    # (bash ignores a Ctrl-C that its foreground child, as wrk does, handles).
    "${LOAD_CPU[@]}" wrk "${args[@]}" >"$file" 2>&1 &
    WRK_PID=$!
    wait "$WRK_PID" || fail_with_log "wrk failed on $target" "$file"
    WRK_PID=''
    ns1=$(date +%s%N)
    read -r -a idle1 < <(idle_ticks)
    wrk1=$(reaped_ticks)
    server1=$(server_ticks "$pid")
    # For report.py (format in its docstring).
    {
        echo "hz $(getconf CLK_TCK)"
        echo "wall_ns $(( ns1 - ns0 ))"
        echo "server $(( server1 - server0 ))"
        echo "wrk $(( wrk1 - wrk0 ))"
        if (( ${#idle0[@]} == 2 && ${#idle1[@]} == 2 )); then
            echo "server_cpu_idle $(( idle1[0] - idle0[0] ))"
            echo "wrk_cpu_idle $(( idle1[1] - idle0[1] ))"
        fi
    } >"${file%.txt}.cpu"
    alive "${SERVER_PID[$target]}" || fail_with_log "the $target server died under load" \
        "$file" "$LAST/logs/nginx.log" "$LAST/logs/demo.err" "$LAST/logs/big.err"
    local rps p99 extra
    rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$file")
    p99=$(awk '$1 == "99%" {print $2}' "$file")
    extra=$(grep -E 'Non-2xx|Socket errors' "$file" | tr -s ' ' | paste -sd ';' || true)
    say "round $round/$ROUNDS $(printf '%-19s' "$target") ${rps:-?} req/s  p99 ${p99:-?}${extra:+  ($extra)}"
}

for (( round = 1; round <= ROUNDS; round++ )); do
    for target in "${TARGETS[@]}"; do
        run_wrk "$target" "$round"
    done
done

# Still answering right after the load?
for target in "${TARGETS[@]}"; do
    [[ $target == numlookup-uncached ]] && continue
    "$PY" "$BENCH/probe.py" "${URL[$target]}" || die "$target answers wrong after the load"
done

[[ -n $BIG_PID ]] && BIG_RSS_END=$(rss_kb "$BIG_PID")
[[ -n $DEMO_PID ]] && DEMO_RSS_END=$(rss_kb "$DEMO_PID")

stop_all
# Server errors worth a look (the logs stay in bench/out/last/logs).
NOTES=()
for log in "$LAST"/logs/*.err; do
    [[ -f $log ]] || continue
    count=$(grep -cE 'ERROR|CRITICAL|Traceback' "$log" || true)
    (( count == 0 )) || NOTES+=(--note "$count error line(s) in $log")
done
cp "$TMP/nginx-error.log" "$LAST/logs/nginx-error.log" 2>/dev/null || true
# The probes' wrong password is logged as "password mismatch": not an error here.
count=$(grep -E '\[(error|crit|alert|emerg)\]' "$LAST/logs/nginx-error.log" 2>/dev/null \
    | grep -cv 'password mismatch' || true)
(( count == 0 )) || NOTES+=(--note "$count error line(s) in $LAST/logs/nginx-error.log")

COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
NGINX_VERSION=$("$NGINX" -v 2>&1 | sed 's/^nginx version: //' || true)
WRK_VERSION=$( (wrk -v 2>&1 || true) | head -1 | cut -d' ' -f1-2)
[[ -z $(git -C "$ROOT" status --porcelain -- src 2>/dev/null) ]] || COMMIT="$COMMIT+uncommitted changes"
NOTES+=(
    --note "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $COMMIT, $(nproc) CPUs, $PINNING"
    --note "wrk -t1 -c$CONNECTIONS -d${DURATION}s, $ROUNDS round(s), targets taking turns; medians over rounds"
    --note "$NGINX_VERSION (1 worker, {SHA} htpasswd); $WRK_VERSION"
    --note "uncached: $PORTED ported numbers, random ones with &nocache, unknown share $UNKNOWN_SHARE"
)
[[ -z ${PYTHONPATH:-} ]] || NOTES+=(--note "PYTHONPATH=$PYTHONPATH")
STRICT_ARG=()
[[ $STRICT == 1 ]] && STRICT_ARG=(--strict)

RSS=()
[[ -n $BIG_RSS_START ]] && RSS+=(--rss "numlookup, $PORTED ported numbers, after start-up=$BIG_RSS_START")
[[ -n $BIG_RSS_END ]] && RSS+=(--rss "numlookup, $PORTED ported numbers, after the uncached runs=$BIG_RSS_END")
[[ -n $DEMO_RSS_END ]] && RSS+=(--rss "numlookup, demo database, after the cached runs=$DEMO_RSS_END")

echo
"$PY" "$BENCH/report.py" --raw "$LAST/raw" --out "$OUT/results.md" "${STRICT_ARG[@]}" \
    "${RSS[@]}" "${NOTES[@]}"
echo
say "table written to $OUT/results.md; wrk outputs and server logs in $LAST"
