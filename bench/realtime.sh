#!/usr/bin/env bash
# Real-time lookups through the whole stack, on this machine, in one run:
# HTTP with &nocache -> numlookup -> MAP SRI-SM in TCAP/SCCP over M3UA over TCP
# -> `numlookup hlr-sim`, and back.
#
# Starts hlr-sim on a subscriber table written for the bench (one block
# answered at once, one answered after BENCH_DELAY_MS), numlookup on a fresh
# var dir with hlr-sim as its real-time peer, and an account `bench` on the
# realtime service; then, in rounds, loads it with wrk: throughput runs on the
# immediate block at BENCH_CONNECTIONS, and an in-flight run of
# BENCH_INFLIGHT connections on the delayed block, so that as many dialogues
# wait on the HLR at once. Checks every answer's body, the server's lookup
# records (none lost, none left), times the TCAP/MAP codec, prints a table and
# writes it to bench/out/realtime.md. Everything it starts is stopped on exit,
# Ctrl-C and failures included. See bench/README.md.
#
# Settings (environment):
#   BENCH_ROUNDS=3              rounds; each runs every load once
#   BENCH_SECONDS=10            length of one wrk run
#   BENCH_CONNECTIONS="64 256"  connections of the throughput runs (one wrk thread)
#   BENCH_INFLIGHT=10000        connections of the in-flight run (two wrk threads); 0: none
#   BENCH_DELAY_MS=2000         how long hlr-sim holds each answer of the delayed block
#   BENCH_HLR_CPU=1             CPU of hlr-sim: 1 (beside wrk) or 0 (beside numlookup)
#   BENCH_TARGET_RPS=5000       the throughput check
#   BENCH_START_TIMEOUT=120     seconds a server may take to start
#   BENCH_STRICT=0              1: exit 1 when a check is not met
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
OUT=$BENCH/out
LAST=$OUT/realtime-last   # this run's wrk outputs, per-run figures and server logs

ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_SECONDS:-10}
read -r -a CONNECTIONS <<<"${BENCH_CONNECTIONS:-64 256}"
INFLIGHT=${BENCH_INFLIGHT:-10000}
DELAY_MS=${BENCH_DELAY_MS:-2000}
HLR_CPU_NUMBER=${BENCH_HLR_CPU:-1}
TARGET_RPS=${BENCH_TARGET_RPS:-5000}
START_TIMEOUT=${BENCH_START_TIMEOUT:-120}
STRICT=${BENCH_STRICT:-0}
PY=$ROOT/.venv/bin/python
NUMLOOKUP=$ROOT/.venv/bin/numlookup

USER_NAME=bench
PASSWORD=bench
AUTH=$(printf '%s:%s' "$USER_NAME" "$PASSWORD" | base64)
EXPECTED='result=OK;imsi=24008;location=46'
NOW_BLOCK=467081     # hlr-sim answers at once
LATE_BLOCK=467082    # hlr-sim answers after DELAY_MS
NOW_SAMPLE=${NOW_BLOCK}99999
LATE_SAMPLE=${LATE_BLOCK}99999

say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

for pair in ROUNDS:BENCH_ROUNDS DURATION:BENCH_SECONDS DELAY_MS:BENCH_DELAY_MS \
    TARGET_RPS:BENCH_TARGET_RPS START_TIMEOUT:BENCH_START_TIMEOUT; do
    name=${pair%%:*}
    [[ ${!name} =~ ^[1-9][0-9]*$ ]] || die "${pair#*:} must be a positive integer, got '${!name}'"
done
[[ $INFLIGHT =~ ^[0-9]+$ ]] || die "BENCH_INFLIGHT must be a number, got '$INFLIGHT'"
for c in "${CONNECTIONS[@]}"; do
    [[ $c =~ ^[1-9][0-9]*$ ]] || die "BENCH_CONNECTIONS must be positive integers, got '$c'"
done
[[ $HLR_CPU_NUMBER == 0 || $HLR_CPU_NUMBER == 1 ]] || die "BENCH_HLR_CPU must be 0 or 1"
[[ -x $PY && -x $NUMLOOKUP ]] || die "no virtualenv at $ROOT/.venv: run 'make bench' once"

# ------------------------------------------------------------------ tools

install_tools() {
    local missing=()
    command -v wrk >/dev/null || missing+=(wrk)
    command -v curl >/dev/null || missing+=(curl)
    command -v taskset >/dev/null || missing+=(util-linux)
    (( ${#missing[@]} )) || return 0
    [[ $(id -u) == 0 ]] || die "missing ${missing[*]}; install them (apt-get install ${missing[*]})"
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}
install_tools

# numlookup and wrk each hold one descriptor per connection.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT=$(ulimit -n)
NOTES=()
if [[ $FD_LIMIT != unlimited ]] && (( INFLIGHT + 200 > FD_LIMIT )); then
    NOTES+=(--note "BENCH_INFLIGHT=$INFLIGHT lowered to $(( FD_LIMIT - 200 )): the open-files limit here is $FD_LIMIT")
    INFLIGHT=$(( FD_LIMIT - 200 ))
fi

# numlookup alone on CPU 0, as the servers are in bench/run.sh; wrk on CPU 1.
# hlr-sim stands for the network and does about as much work per lookup as
# numlookup (it decodes the request and encodes the answer), so by default it
# shares CPU 1 with wrk, the other stand-in for the outside world: numlookup
# keeps a CPU of its own, as it would on its own host. BENCH_HLR_CPU=0 puts it
# beside numlookup instead (then the two share one CPU).
if (( $(nproc) >= 2 )); then
    NL_CPU=(taskset -c 0)
    HLR_CPU=(taskset -c "$HLR_CPU_NUMBER")
    LOAD_CPU=(taskset -c 1)
    PINNING="numlookup on CPU 0, wrk on CPU 1, hlr-sim on CPU $HLR_CPU_NUMBER"
    STAT_CPUS=(cpu0 cpu1)
else
    NL_CPU=() HLR_CPU=() LOAD_CPU=()
    PINNING="one CPU: everything shares it"
    STAT_CPUS=()
    HLR_CPU_NUMBER=-
fi

TARGETS=()
for c in "${CONNECTIONS[@]}"; do TARGETS+=("throughput-c$c"); done
(( INFLIGHT > 0 )) && TARGETS+=("inflight-c$INFLIGHT")
(( ${#TARGETS[@]} )) || die "nothing to run: BENCH_CONNECTIONS is empty and BENCH_INFLIGHT=0"

# ------------------------------------------------------------------ processes

TMP=$(mktemp -d /tmp/numlookup-realtime-bench.XXXXXX)
PIDS=()      # hlr-sim and numlookup, stopped in stop_all (numlookup first)
WRK_PID=''   # the wrk run in progress

# stop_pid PID: SIGTERM, up to 15 s, then SIGKILL.
stop_pid() {
    local pid=$1 deadline=$(( SECONDS + 15 ))
    kill -TERM "$pid" 2>/dev/null || true
    while alive "$pid" && (( SECONDS < deadline )); do sleep 0.05; done
    if alive "$pid"; then
        say "pid $pid did not stop on SIGTERM; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

stop_all() {
    local i
    if [[ -n $WRK_PID ]]; then
        kill -TERM "$WRK_PID" 2>/dev/null || true
        wait "$WRK_PID" 2>/dev/null || true
        WRK_PID=''
    fi
    # Latest first: numlookup before the hlr-sim it talks to.
    for (( i = ${#PIDS[@]} - 1; i >= 0; i-- )); do stop_pid "${PIDS[i]}"; done
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

# wait_line NAME PID FILE PATTERN: until FILE has a line starting with PATTERN.
wait_line() {
    local name=$1 pid=$2 file=$3 pattern=$4 deadline=$(( SECONDS + START_TIMEOUT ))
    shift 4
    until grep -q "^$pattern" "$file" 2>/dev/null; do
        alive "$pid" || fail_with_log "$name exited during start-up" "$file" "$@"
        (( SECONDS < deadline )) || fail_with_log "$name not ready after ${START_TIMEOUT}s" "$file" "$@"
        sleep 0.05
    done
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# The process's own memory, without the file pages it maps (numlookup reads its
# database through mmap, and the records it writes make that grow).
anon_kb() { awk '/^RssAnon:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# CPU ticks (user + system, all threads) of a process.
ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0; }

rm -rf "$LAST"
mkdir -p "$LAST/raw" "$LAST/logs" "$LAST/codec"

# ------------------------------------------------------------------ hlr-sim

SUBSCRIBERS=$TMP/hlr-subscribers.csv
cat >"$SUBSCRIBERS" <<EOF
prefix,behaviour,imsi,network_node,delay_ms
$NOW_BLOCK,ok,240080000000000,46708999001,
$LATE_BLOCK,delay,240080000000000,46708999001,$DELAY_MS
EOF
cp "$SUBSCRIBERS" "$LAST/logs/"

say "settings: $ROUNDS round(s) of ${DURATION}s; throughput at c${CONNECTIONS[*]}; in flight c$INFLIGHT, HLR delay ${DELAY_MS} ms; $PINNING"

HLR_OUT=$LAST/logs/hlr-sim.out HLR_ERR=$LAST/logs/hlr-sim.err
setsid "${HLR_CPU[@]}" "$NUMLOOKUP" hlr-sim --listen 127.0.0.1:0 --subscribers "$SUBSCRIBERS" \
    >"$HLR_OUT" 2>"$HLR_ERR" &
HLR_PID=$!
PIDS+=("$HLR_PID")
wait_line hlr-sim "$HLR_PID" "$HLR_OUT" 'hlr-sim listening' "$HLR_ERR"
HLR_AT=$(sed -n 's/^hlr-sim listening.*m3ua-tcp=\([^ ]*\).*/\1/p' "$HLR_OUT")
[[ $HLR_AT =~ ^127\.0\.0\.1:[0-9]+$ ]] || fail_with_log "hlr-sim: unexpected address '$HLR_AT'" "$HLR_OUT"
wait_port hlr-sim "$HLR_PID" "${HLR_AT##*:}" "$HLR_ERR"
say "hlr-sim: m3ua-tcp=$HLR_AT (pid $HLR_PID)"

# ------------------------------------------------------------------ numlookup

VAR=$TMP/var
DB=$VAR/numlookup.sqlite3
mkdir -p "$VAR"
NL_ENV=(
    NUMLOOKUP_VAR_DIR="$VAR"
    NUMLOOKUP_DATABASE_PATH="$DB"
    NUMLOOKUP_REALTIME_PEERS="m3ua-tcp://$HLR_AT"
    NUMLOOKUP_REALTIME_MAX_DIALOGUES=20000
    NUMLOOKUP_SERVER_MAX_CONNECTIONS=30000
)
NL_OUT=$LAST/logs/numlookup.out NL_ERR=$LAST/logs/numlookup.err
env "${NL_ENV[@]}" setsid "${NL_CPU[@]}" "$NUMLOOKUP" serve --http 127.0.0.1:0 --https '' \
    >"$NL_OUT" 2>"$NL_ERR" &
NL_PID=$!
PIDS+=("$NL_PID")
wait_line numlookup "$NL_PID" "$NL_OUT" 'numlookup listening' "$NL_ERR"
NL_AT=$(sed -n 's/^numlookup listening.*http=\([^ ]*\).*/\1/p' "$NL_OUT")
[[ $NL_AT =~ ^127\.0\.0\.1:[0-9]+$ ]] || fail_with_log "numlookup: unexpected address '$NL_AT'" "$NL_OUT"
wait_port numlookup "$NL_PID" "${NL_AT##*:}" "$NL_ERR"
NL_RSS_START=$(rss_kb "$NL_PID") NL_ANON_START=$(anon_kb "$NL_PID")
HLR_RSS_START=$(rss_kb "$HLR_PID")
say "numlookup: http=$NL_AT (pid $NL_PID)"

# The account, in the server's database; the server picks it up within a second.
env "${NL_ENV[@]}" "$NUMLOOKUP" account add "$USER_NAME" --password "$PASSWORD" \
    --service realtime --max-ongoing 20000 >"$LAST/logs/account.log" 2>&1 \
    || fail_with_log "could not add the bench account" "$LAST/logs/account.log"

BASE=http://$NL_AT

# lookup MSISDN [USER:PASSWORD]: prints "STATUS MS BODY" (one curl request).
lookup() {
    local body=$TMP/curl.body status_time
    status_time=$(curl -s -o "$body" -w '%{http_code} %{time_total}' --max-time 30 \
        ${2:+-u "$2"} "$BASE/lookup?msisdn=$1&nocache") || status_time="000 0"
    awk -v st="$status_time" -v body="$(cat "$body" 2>/dev/null)" \
        'BEGIN {split(st, a, " "); printf "%s %.1f %s\n", a[1], a[2] * 1000, body}'
}

deadline=$(( SECONDS + START_TIMEOUT ))
until [[ $(lookup "$NOW_SAMPLE" "$USER_NAME:$PASSWORD") == "200 "*" $EXPECTED" ]]; do
    alive "$NL_PID" || fail_with_log "numlookup exited" "$NL_ERR"
    (( SECONDS < deadline )) || fail_with_log "the bench account never got a real-time answer: $(lookup "$NOW_SAMPLE" "$USER_NAME:$PASSWORD")" "$NL_ERR" "$HLR_ERR"
    sleep 0.2
done

# samples WHEN: one lookup of each block, and the refusals; fails on a wrong answer.
SAMPLES=()
samples() {
    local when=$1 now late anonymous wrong
    now=$(lookup "$NOW_SAMPLE" "$USER_NAME:$PASSWORD")
    late=$(lookup "$LATE_SAMPLE" "$USER_NAME:$PASSWORD")
    anonymous=$(lookup "$NOW_SAMPLE")
    wrong=$(lookup "$NOW_SAMPLE" "$USER_NAME:wrong")
    read -r _ now_ms _ <<<"$now"
    read -r _ late_ms _ <<<"$late"
    say "curl $when: $NOW_SAMPLE -> '${now#* * }' in $now_ms ms; $LATE_SAMPLE -> '${late#* * }' in $late_ms ms; no credentials -> ${anonymous%% *}; wrong password -> ${wrong%% *}"
    [[ $now == "200 "*" $EXPECTED" && $late == "200 "*" $EXPECTED" ]] \
        || fail_with_log "wrong real-time answer $when the load: '$now' / '$late'" "$NL_ERR"
    [[ ${anonymous%% *} == 401 && ${wrong%% *} == 401 ]] \
        || die "credentials not enforced $when the load: '$anonymous' / '$wrong'"
    SAMPLES+=("curl $when the load: $NOW_SAMPLE → \`$EXPECTED\` in $now_ms ms, $LATE_SAMPLE → the same in $late_ms ms; no or wrong credentials → 401")
}
samples before

# Records of the bench account finished at or after Unix ns $1.
count_records() {
    "$PY" - "$DB" "$1" <<'EOF'
import sqlite3, sys
conn = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=30)
print(conn.execute(
    "SELECT count(*) FROM records WHERE account = 'bench' AND time >= ?",
    (int(sys.argv[2]) / 1e9,),
).fetchone()[0])
EOF
}

# ------------------------------------------------------------------ runs

run_wrk() {
    local target=$1 round=$2 file=$LAST/raw/$1.r$2.txt stats=$LAST/raw/$1.r$2.stats
    local connections=${target##*-c} threads=1 block=$NOW_BLOCK timeout=5 settle=1
    if [[ $target == inflight-* ]]; then
        threads=2 block=$LATE_BLOCK
        timeout=$(( DELAY_MS / 1000 + 8 ))
        settle=$(( DELAY_MS / 1000 + 1 ))
    fi
    local nl0 hlr0 wrk0 idle0 ns0 nl1 hlr1 wrk1 idle1 ns1
    nl0=$(ticks "$NL_PID")
    hlr0=$(ticks "$HLR_PID")
    wrk0=$(reaped_ticks)
    read -r -a idle0 < <(idle_ticks)
    ns0=$(date +%s%N)
    "${LOAD_CPU[@]}" wrk "-t$threads" "-c$connections" "-d${DURATION}s" --latency \
        --timeout "${timeout}s" -s "$BENCH/realtime.lua" "$BASE" -- \
        "$block" "$AUTH" "$EXPECTED" "$threads" >"$file" 2>&1 &
    WRK_PID=$!
    wait "$WRK_PID" || fail_with_log "wrk failed on $target" "$file"
    WRK_PID=''
    ns1=$(date +%s%N)
    read -r -a idle1 < <(idle_ticks)
    wrk1=$(reaped_ticks)
    hlr1=$(ticks "$HLR_PID")
    nl1=$(ticks "$NL_PID")
    alive "$NL_PID" || fail_with_log "numlookup died under load" "$file" "$NL_ERR"
    alive "$HLR_PID" || fail_with_log "hlr-sim died under load" "$file" "$HLR_ERR"

    # The lookups wrk stopped waiting for are still answered by the server: wait
    # for them (the HLR's delay, then until the records stop growing).
    local before=-1 count deadline=$(( SECONDS + settle + 30 ))
    sleep "$settle"
    while count=$(count_records "$ns0") && [[ $count != "$before" ]] && (( SECONDS < deadline )); do
        before=$count
        sleep 1.2   # records are written every 0.5 s
    done

    local records
    records=$("$PY" "$BENCH/realtime_report.py" records --db "$DB" --start "$ns0" --end "$ns1" \
        --warmup "$(( settle + 1 ))") || die "could not read the server's records"

    # One more lookup: answered at once when no dialogue is left over.
    local after after_ms after_ok=0
    after=$(lookup "$NOW_SAMPLE" "$USER_NAME:$PASSWORD")
    read -r _ after_ms _ <<<"$after"
    [[ $after == "200 "*" $EXPECTED" ]] && after_ok=1
    {
        echo "hz $(getconf CLK_TCK)"
        echo "wall_ns $(( ns1 - ns0 ))"
        echo "numlookup_ticks $(( nl1 - nl0 ))"
        echo "hlrsim_ticks $(( hlr1 - hlr0 ))"
        echo "wrk_ticks $(( wrk1 - wrk0 ))"
        if (( ${#idle0[@]} == 2 && ${#idle1[@]} == 2 )); then
            echo "cpu0_idle $(( idle1[0] - idle0[0] ))"
            echo "cpu1_idle $(( idle1[1] - idle0[1] ))"
        fi
        echo "hlrsim_cpu $HLR_CPU_NUMBER"
        echo "numlookup_rss_kb $(rss_kb "$NL_PID")"
        echo "numlookup_anon_kb $(anon_kb "$NL_PID")"
        echo "hlrsim_rss_kb $(rss_kb "$HLR_PID")"
        echo "hlrsim_anon_kb $(anon_kb "$HLR_PID")"
        echo "after_ms $after_ms"
        echo "after_ok $after_ok"
        echo "$records"
    } >"$stats"
    local rps p99 extra bodies held
    rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$file")
    p99=$(awk '$1 == "99%" {print $2}' "$file")
    bodies=$(sed -n 's/^bodies: //p' "$file")
    held=$(awk '$1 == "inflight_median" {print $2}' "$stats")
    extra=$(grep -E 'Non-2xx|Socket errors' "$file" | tr -s ' ' | paste -sd ';' || true)
    say "round $round/$ROUNDS $(printf '%-18s' "$target") ${rps:-?} req/s  p99 ${p99:-?}  in flight ${held:-?}  ${bodies:-no body check}  records $count${extra:+  ($extra)}; one more lookup: ${after%% *} in $after_ms ms"
    [[ $after_ok == 1 ]] || say "after $target: wrong answer '$after'"
}

for (( round = 1; round <= ROUNDS; round++ )); do
    for target in "${TARGETS[@]}"; do
        run_wrk "$target" "$round"
    done
done

samples after
NL_RSS_END=$(rss_kb "$NL_PID") NL_ANON_END=$(anon_kb "$NL_PID")
HLR_RSS_END=$(rss_kb "$HLR_PID")

# numlookup first: a dialogue still open at its stop would be answered
# HLR_LOCAL_CANCEL and recorded, so the records tell whether any was left.
stop_pid "$NL_PID"
PIDS=("$HLR_PID")
CHECKS=()
read -r TOTAL NOT_OK KINDS < <("$PY" - "$DB" <<'EOF'
import sqlite3, sys
conn = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=30)
rows = conn.execute(
    "SELECT result, count(*) FROM records WHERE account = 'bench' GROUP BY result"
).fetchall()
bad = {r: n for r, n in rows if r != "OK"}
kinds = ",".join(f"{r}:{n}" for r, n in sorted(bad.items())) or "-"
print(sum(n for _, n in rows), sum(bad.values()), kinds)
EOF
)
[[ ${TOTAL:-} =~ ^[0-9]+$ && ${NOT_OK:-} =~ ^[0-9]+$ ]] || die "could not count the records in $DB"
WRITTEN=$(sed -n 's/.*stopped; \([0-9]*\) lookup records written.*/\1/p' "$NL_ERR" | tail -1)
if (( NOT_OK == 0 )); then
    CHECKS+=(--check "every record of the bench account OK, also after numlookup's stop|$TOTAL records, $NOT_OK not OK|0 not OK|1")
else
    CHECKS+=(--check "every record of the bench account OK, also after numlookup's stop|$TOTAL records, not OK: $KINDS|0 not OK|0")
fi
stop_all

# ------------------------------------------------------------------ codec

CODEC_FILES=()
for script in ss7_codec sigtran_codec; do
    [[ -f $BENCH/$script.py ]] || continue
    say "timing the codec: bench/$script.py"
    if (cd "$BENCH" && "${NL_CPU[@]}" timeout 600 "$PY" "$script.py") >"$LAST/codec/$script.txt" 2>&1; then
        CODEC_FILES+=(--codec "$LAST/codec/$script.txt")
    else
        NOTES+=(--note "bench/$script.py failed: see $LAST/codec/$script.txt")
    fi
done

# ------------------------------------------------------------------ report

for log in "$NL_ERR" "$HLR_ERR"; do
    count=$(grep -cE 'WARNING|ERROR|CRITICAL|Traceback' "$log" || true)
    (( count == 0 )) || NOTES+=(--note "$count warning/error line(s) in $log")
done
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git -C "$ROOT" status --porcelain -- src 2>/dev/null) ]] || COMMIT="$COMMIT+uncommitted changes"
WRK_VERSION=$( (wrk -v 2>&1 || true) | head -1 | cut -d' ' -f1-2)
NOTES+=(
    --note "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $COMMIT, $(nproc) CPUs, $PINNING"
    --note "HTTP with &nocache → numlookup → SRI-SM (TCAP/SCCP) over M3UA over TCP → hlr-sim; account $USER_NAME on the realtime service, max-ongoing 20000; NUMLOOKUP_REALTIME_MAX_DIALOGUES=20000"
    --note "throughput: wrk -t1 $(printf -- '-c%s ' "${CONNECTIONS[@]}")on block $NOW_BLOCK (answered at once); in flight: wrk -t2 -c$INFLIGHT on block $LATE_BLOCK (hlr-sim answers after $DELAY_MS ms); ${DURATION}s runs, $ROUNDS round(s) taking turns, medians over rounds; $WRK_VERSION"
    --note "every lookup asks for a number of its own (bench/realtime.lua): one TCAP dialogue each; wrk checks every answer's body"
    --note "req/s (wrk) counts answers received within the run; with answers ${DELAY_MS} ms apart on each connection, it falls short of the steady rate (lookups in flight / mean latency, from the server's records)"
    --note "${SAMPLES[0]}"
    --note "${SAMPLES[1]}"
    --note "numlookup VmRSS (RssAnon): $(( NL_RSS_START / 1024 )) ($(( NL_ANON_START / 1024 ))) MiB after start-up, $(( NL_RSS_END / 1024 )) ($(( NL_ANON_END / 1024 ))) MiB after the load; the rest is the database file read through mmap, $(( $(stat -c %s "$DB") / 1048576 )) MiB at the end with the records; hlr-sim VmRSS: $(( HLR_RSS_START / 1024 )) → $(( HLR_RSS_END / 1024 )) MiB"
    --note "numlookup at its stop: ${WRITTEN:-?} lookup records written (all accounts)"
)
[[ -z ${PYTHONPATH:-} ]] || NOTES+=(--note "PYTHONPATH=$PYTHONPATH")
STRICT_ARG=()
[[ $STRICT == 1 ]] && STRICT_ARG=(--strict)

echo
"$PY" "$BENCH/realtime_report.py" table --raw "$LAST/raw" --out "$OUT/realtime.md" \
    --inflight "$INFLIGHT" --delay-ms "$DELAY_MS" --target-rps "$TARGET_RPS" \
    "${CHECKS[@]}" "${CODEC_FILES[@]}" "${STRICT_ARG[@]}" "${NOTES[@]}"
echo
say "table written to $OUT/realtime.md; wrk outputs, per-run figures and logs in $LAST"
