#!/usr/bin/env bash
# Portability data at national scale, in one run (see bench/README.md).
#
# Makes (once; later runs reuse it) an import file of SCALE_ROWS ported numbers,
# then:
#   imports  `numlookup np import ported` into SQLite against the sqlite3 CLI's
#            `.import` of the same file into the same table, and into PostgreSQL
#            against psql's `\copy` of the same file (then its primary key);
#   lookups  `numlookup serve` on each of the two databases, loaded by wrk with
#            one number over and over (cached) and with random numbers and
#            &nocache (uncached, a database read per request), in rounds;
#   replace  the same file imported again into each database while its server
#            answers uncached lookups (atomic replacement under load);
#   shared   cached lookups on two servers sharing one Redis and one PostgreSQL
#            against one embedded server (bench/shared.py);
# and prints rows/s, req/s, p50/p99 and the servers' memory against the
# targets, also to bench/out/scale.md. Everything it starts is stopped on exit,
# Ctrl-C included; all traffic stays on 127.0.0.1.
#
# Settings (environment):
#   SCALE_ROWS=100000000      ported numbers in the import file
#   SCALE_ROUNDS=3            rounds of lookup runs; each runs every target once
#   SCALE_SECONDS=5           length of one wrk run
#   SCALE_CONNECTIONS=64      wrk connections (one wrk thread)
#   SCALE_IMPORT_ROUNDS=1     rounds of imports; each runs the four imports once
#   SCALE_STORES="sqlite postgresql"   the stores to measure
#   SCALE_REPLACE=1           0: no replacement under load at the end
#   SCALE_SHARED=1            0: no two-servers-on-Redis runs (bench/shared.py)
#   SCALE_PG_CPU=1            PostgreSQL's CPU during the lookup runs (wrk's is 1)
#   SCALE_START_TIMEOUT=120   seconds a server may take to start
#   SCALE_STRICT=0            1: exit 1 when a check is not met
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
OUT=$BENCH/out
LAST=$OUT/scale-last      # this run's measurements, wrk outputs and logs

ROWS=${SCALE_ROWS:-100000000}
ROUNDS=${SCALE_ROUNDS:-3}
DURATION=${SCALE_SECONDS:-5}
CONNECTIONS=${SCALE_CONNECTIONS:-64}
IMPORT_ROUNDS=${SCALE_IMPORT_ROUNDS:-1}
PG_CPU=${SCALE_PG_CPU:-1}
REPLACE=${SCALE_REPLACE:-1}
SHARED=${SCALE_SHARED:-1}
START_TIMEOUT=${SCALE_START_TIMEOUT:-120}
STRICT=${SCALE_STRICT:-0}
read -r -a STORES <<<"${SCALE_STORES:-sqlite postgresql}"
PY=$ROOT/.venv/bin/python
NUMLOOKUP=$ROOT/.venv/bin/numlookup

say() { printf 'scale: %s\n' "$*" >&2; }
die() { printf 'scale: error: %s\n' "$*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

for pair in ROWS:SCALE_ROWS ROUNDS:SCALE_ROUNDS DURATION:SCALE_SECONDS \
    CONNECTIONS:SCALE_CONNECTIONS IMPORT_ROUNDS:SCALE_IMPORT_ROUNDS \
    START_TIMEOUT:SCALE_START_TIMEOUT; do
    name=${pair%%:*}
    [[ ${!name} =~ ^[1-9][0-9]*$ ]] || die "${pair#*:} must be a positive integer, got '${!name}'"
done
[[ $PG_CPU =~ ^[01]$ ]] || die "SCALE_PG_CPU must be 0 or 1"
[[ $REPLACE =~ ^[01]$ ]] || die "SCALE_REPLACE must be 0 or 1"
[[ $SHARED =~ ^[01]$ ]] || die "SCALE_SHARED must be 0 or 1"
(( ${#STORES[@]} )) || die "SCALE_STORES is empty"
for store in "${STORES[@]}"; do
    [[ $store == sqlite || $store == postgresql ]] || die "unknown store '$store' in SCALE_STORES"
done
[[ -x $PY && -x $NUMLOOKUP ]] || die "no virtualenv at $ROOT/.venv: run 'make test' once"
wants() { [[ " ${STORES[*]} " == *" $1 "* ]]; }

# The numbers are 467 + 9 digits of k*stride (bench/make_db.py --digits 9).
DIGITS=9
STRIDE=7
if (( ROWS * STRIDE > 1000000000 )); then
    STRIDE=$(( 1000000000 / ROWS ))
    (( STRIDE >= 2 )) || die "SCALE_ROWS=$ROWS is too large (at most 500000000)"
fi

# ------------------------------------------------------------------ tools

install_tools() {
    local missing=()
    command -v wrk >/dev/null || missing+=(wrk)
    command -v sqlite3 >/dev/null || missing+=(sqlite3)
    command -v taskset >/dev/null || missing+=(util-linux)
    if wants postgresql; then
        command -v psql >/dev/null || missing+=(postgresql-client)
        compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || missing+=(postgresql)
    fi
    (( ${#missing[@]} )) || return 0
    [[ $(id -u) == 0 ]] || die "missing ${missing[*]}; install them (apt-get install ${missing[*]})"
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}
install_tools

if (( $(nproc) >= 2 )); then
    SERVER_CPU=(taskset -c 0)   # numlookup servers on core 0
    LOAD_CPU=(taskset -c 1)     # wrk on core 1
    PINNING="numlookup on CPU 0, wrk on CPU 1, PostgreSQL on CPU $PG_CPU"
    STAT_CPUS=(cpu0 cpu1)
else
    SERVER_CPU=()
    LOAD_CPU=()
    PINNING="one CPU: servers and wrk share it"
    STAT_CPUS=()
fi

# ------------------------------------------------------------------ processes

TMP=$(mktemp -d /tmp/numlookup-scale.XXXXXX)
PIDS=()          # numlookup servers, stopped in stop_all
PG_HELPER=''     # bench/scale.py postgres
PG_PID=''        # its postmaster
CHILD=''         # the measured command or wrk run in progress
LOAD=''          # wrk running in the background during a replacement

# Send SIGTERM to each pid, wait up to 15 s for all, then SIGKILL what is left.
terminate() {
    local pid deadline=$(( SECONDS + 15 ))
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "$@"; do
        while alive "$pid" && (( SECONDS < deadline )); do sleep 0.05; done
        if alive "$pid"; then
            say "pid $pid did not stop on SIGTERM; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
}

stop_servers() {
    (( ${#PIDS[@]} )) && terminate "${PIDS[@]}"
    PIDS=()
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [[ -n $CHILD ]]; then terminate "$CHILD"; fi
    if [[ -n $LOAD ]]; then terminate "$LOAD"; fi
    stop_servers
    if [[ -n $PG_HELPER ]]; then
        terminate "$PG_HELPER"   # it stops PostgreSQL and removes its directory
        if [[ -n $PG_PID ]] && alive "$PG_PID"; then
            say "PostgreSQL (pid $PG_PID) outlived its helper; stopping it"
            terminate "$PG_PID"
        fi
    fi
    rm -rf "$TMP"
    exit "$status"
}
trap cleanup EXIT
trap 'say interrupted; exit 130' INT
trap 'say terminated; exit 143' TERM

# Run a command in the background and wait for it, so that Ctrl-C is handled at once.
run_child() {
    "$@" &
    CHILD=$!
    local status=0
    wait "$CHILD" || status=$?
    CHILD=''
    return "$status"
}

rm -rf "$LAST"
mkdir -p "$LAST/import" "$LAST/raw" "$LAST/logs"

# ------------------------------------------------------------------ the file

CSV=$OUT/scale-ported-$ROWS-d$DIGITS-s$STRIDE.csv
if [[ ! -f $CSV ]]; then
    say "writing $CSV (once; later runs reuse it)"
    "$PY" "$BENCH/make_db.py" --ported "$ROWS" --stride "$STRIDE" --digits "$DIGITS" --csv "$CSV" \
        || die "make_db.py failed"
fi
FILE_MB=$(( $(stat -c %s "$CSV") / 1048576 ))
say "settings: $ROWS rows ($FILE_MB MiB), $IMPORT_ROUNDS import round(s);" \
    "$ROUNDS lookup round(s) of ${DURATION}s, c$CONNECTIONS; $PINNING"

# ------------------------------------------------------------------ PostgreSQL

PG=''   # postgresql://postgres@127.0.0.1:PORT
if wants postgresql; then
    setsid "$PY" "$BENCH/scale.py" postgres --info "$TMP/pg.info" >"$LAST/logs/postgres.log" 2>&1 &
    PG_HELPER=$!
    deadline=$(( SECONDS + START_TIMEOUT ))
    until [[ -s $TMP/pg.info ]]; do
        alive "$PG_HELPER" || fail_with_log "PostgreSQL did not start" "$LAST/logs/postgres.log"
        (( SECONDS < deadline )) || fail_with_log "PostgreSQL not ready after ${START_TIMEOUT}s" \
            "$LAST/logs/postgres.log"
        sleep 0.1
    done
    read -r PG_URL PG_PID <"$TMP/pg.info"
    PG=${PG_URL%/*}
    say "PostgreSQL $(psql -XAtq "$PG_URL" -c 'SHOW server_version'): $PG (pid $PG_PID)"
fi
# psql without NOTICEs (DROP ... IF EXISTS), stopping at the first error.
export PGOPTIONS='-c client_min_messages=warning'
PSQL=(psql -X -q -v ON_ERROR_STOP=1)

# ------------------------------------------------------------------ imports

SQLITE_VAR=$TMP/var-sqlite
PG_DB=numlookup_scale

# measure NAME ROUND COMMAND...: time it and its memory into $LAST/import/NAME.rROUND.
measure() {
    local name=$1 round=$2 log=$LAST/logs/$1.r$2.log
    shift 2
    run_child "$PY" "$BENCH/scale.py" measure --out "$LAST/import/$name.r$round" --rows "$ROWS" \
        -- "$@" >"$log" 2>&1 || fail_with_log "$name failed" "$log"
    local seconds
    seconds=$(awk '$1 == "seconds" {print $2}' "$LAST/import/$name.r$round")
    say "import round $round/$IMPORT_ROUNDS $(printf '%-26s' "$name") ${seconds}s" \
        "($(awk -v r="$ROWS" -v s="$seconds" 'BEGIN {printf "%.0f", r / s}') rows/s)"
}

expect_count() {
    local what=$1 got=$2
    [[ $got == "$ROWS" ]] || die "$what holds $got rows, expected $ROWS"
}

import_numlookup_sqlite() {
    rm -rf "$SQLITE_VAR"
    mkdir -p "$SQLITE_VAR"
    NUMLOOKUP_VAR_DIR=$SQLITE_VAR NUMLOOKUP_DATABASE_PATH=$SQLITE_VAR/numlookup.sqlite3 \
        measure numlookup-sqlite "$1" "$NUMLOOKUP" np import ported "$CSV"
    expect_count "numlookup's SQLite database" "$(NUMLOOKUP_VAR_DIR=$SQLITE_VAR \
        NUMLOOKUP_DATABASE_PATH=$SQLITE_VAR/numlookup.sqlite3 "$NUMLOOKUP" np stats \
        | awk '$1 == "ported" {print $3}')"
}

import_reference_sqlite() {
    # The same table and journal as numlookup's: WAL, synchronous NORMAL.
    local ref=$TMP/sqlite3-import.sqlite3
    rm -f "$ref" "$ref-wal" "$ref-shm"
    measure sqlite3-import "$1" sqlite3 "$ref" \
        "PRAGMA journal_mode = WAL" "PRAGMA synchronous = NORMAL" \
        "CREATE TABLE ported (msisdn INTEGER PRIMARY KEY, plmn TEXT NOT NULL)" \
        ".import --csv --skip 1 $CSV ported"
    expect_count "sqlite3's table" "$(sqlite3 "$ref" 'SELECT count(*) FROM ported')"
    rm -f "$ref" "$ref-wal" "$ref-shm"
}

import_numlookup_postgresql() {
    "${PSQL[@]}" "$PG/postgres" -c "DROP DATABASE IF EXISTS $PG_DB" -c "CREATE DATABASE $PG_DB"
    NUMLOOKUP_VAR_DIR=$TMP/var-pg NUMLOOKUP_DATABASE_URL=$PG/$PG_DB \
        measure numlookup-postgresql "$1" "$NUMLOOKUP" np import ported "$CSV"
    expect_count "numlookup's PostgreSQL database" \
        "$(psql -XAtq "$PG/$PG_DB" -c 'SELECT count(*) FROM ported')"
}

import_reference_postgresql() {
    # The same columns, COPY from the client as numlookup does, then the same key.
    "${PSQL[@]}" "$PG/postgres" -c "DROP DATABASE IF EXISTS copy_test" -c "CREATE DATABASE copy_test"
    "${PSQL[@]}" "$PG/copy_test" -c "CREATE TABLE ported (msisdn BIGINT NOT NULL, plmn TEXT NOT NULL)"
    measure psql-copy "$1" "${PSQL[@]}" "$PG/copy_test" \
        -c "\\copy ported FROM '$CSV' WITH (FORMAT csv, HEADER true)"
    measure psql-primary-key "$1" "${PSQL[@]}" "$PG/copy_test" \
        -c "SET maintenance_work_mem = '256MB'" -c "ALTER TABLE ported ADD PRIMARY KEY (msisdn)"
    expect_count "psql's table" "$(psql -XAtq "$PG/copy_test" -c 'SELECT count(*) FROM ported')"
    "${PSQL[@]}" "$PG/postgres" -c "DROP DATABASE copy_test"
}

# The imports take turns; every second round runs them in the reverse order, so
# that none is always the one right after another's writes.
IMPORTS=()
for store in "${STORES[@]}"; do IMPORTS+=("numlookup_$store" "reference_$store"); done
for (( round = 1; round <= IMPORT_ROUNDS; round++ )); do
    if (( round % 2 )); then
        for (( i = 0; i < ${#IMPORTS[@]}; i++ )); do "import_${IMPORTS[i]}" "$round"; done
    else
        for (( i = ${#IMPORTS[@]} - 1; i >= 0; i-- )); do "import_${IMPORTS[i]}" "$round"; done
    fi
done

# ------------------------------------------------------------------ lookups

# start_server NAME HTTP_PORT ENV...: sets NL_PID.
start_server() {
    local name=$1 port=$2 out=$LAST/logs/$1.out err=$LAST/logs/$1.err
    local deadline=$(( SECONDS + START_TIMEOUT ))
    shift 2
    env "$@" setsid "${SERVER_CPU[@]}" "$NUMLOOKUP" serve --http "127.0.0.1:$port" --https '' \
        >"$out" 2>"$err" &
    NL_PID=$!
    PIDS+=("$NL_PID")
    until grep -q '^numlookup listening' "$out" 2>/dev/null; do
        alive "$NL_PID" || fail_with_log "numlookup ($name) exited during start-up" "$out" "$err"
        (( SECONDS < deadline )) || fail_with_log "numlookup ($name) not ready after ${START_TIMEOUT}s" \
            "$out" "$err"
        sleep 0.05
    done
    until (: <>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        alive "$NL_PID" || fail_with_log "numlookup ($name) exited" "$out" "$err"
        (( SECONDS < deadline )) || fail_with_log "numlookup ($name) not listening" "$out" "$err"
        sleep 0.05
    done
}

# Memory of a process: VmRSS, RssAnon, RssFile in kB.
memory_kb() {
    awk '/^(VmRSS|RssAnon|RssFile):/ {printf "%s %d\n", $1, $2}' "/proc/$1/status" | tr -d :
}

proc_ticks() {
    sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}' || true
}

# CPU ticks of a process and its children (PostgreSQL: the postmaster and its backends).
tree_ticks() {
    local pid total=0 ticks
    for pid in "$1" $(children "$1"); do
        ticks=$(proc_ticks "$pid")
        total=$(( total + ${ticks:-0} ))
    done
    echo "$total"
}

read -r SQLITE_PORT PG_PORT < <(free_ports 2)
declare -A URL=() SERVER=()
if wants sqlite; then
    start_server sqlite "$SQLITE_PORT" NUMLOOKUP_VAR_DIR="$SQLITE_VAR" \
        NUMLOOKUP_DATABASE_PATH="$SQLITE_VAR/numlookup.sqlite3"
    SERVER[sqlite]=$NL_PID
    URL[sqlite]=http://127.0.0.1:$SQLITE_PORT/lookup
fi
if wants postgresql; then
    start_server postgresql "$PG_PORT" NUMLOOKUP_VAR_DIR="$TMP/var-pg" \
        NUMLOOKUP_DATABASE_URL="$PG/$PG_DB"
    SERVER[postgresql]=$NL_PID
    URL[postgresql]=http://127.0.0.1:$PG_PORT/lookup
    if (( ${#STAT_CPUS[@]} )); then
        # New backends inherit the postmaster's CPU.
        for pid in "$PG_PID" $(children "$PG_PID"); do
            taskset -a -c -p "$PG_CPU" "$pid" >/dev/null 2>&1 || true
        done
    fi
fi
for store in "${STORES[@]}"; do
    "$PY" "$BENCH/scale.py" probe "${URL[$store]}" --rows "$ROWS" --stride "$STRIDE" \
        --digits "$DIGITS" || die "numlookup on $store does not answer as expected"
    memory_kb "${SERVER[$store]}" >"$LAST/raw/$store.start.mem"
done

run_wrk() {
    local store=$1 mode=$2 round=$3 target=$1-$2
    local file=$LAST/raw/$target.r$round.txt pid=${SERVER[$1]}
    local server0 wrk0 db0=0 idle0 ns0 server1 wrk1 db1=0 idle1 ns1
    server0=$(tree_ticks "$pid")
    [[ $store == postgresql ]] && db0=$(tree_ticks "$PG_PID")
    wrk0=$(reaped_ticks)
    read -r -a idle0 < <(idle_ticks)
    ns0=$(date +%s%N)
    run_child "${LOAD_CPU[@]}" wrk -t1 "-c$CONNECTIONS" "-d${DURATION}s" --latency --timeout 5s \
        -s "$BENCH/scale.lua" "${URL[$store]}" -- "$mode" "$ROWS" "$STRIDE" "$DIGITS" "$round" \
        >"$file" 2>&1 || fail_with_log "wrk failed on $target" "$file"
    ns1=$(date +%s%N)
    read -r -a idle1 < <(idle_ticks)
    wrk1=$(reaped_ticks)
    server1=$(tree_ticks "$pid")
    [[ $store == postgresql ]] && db1=$(tree_ticks "$PG_PID")
    {
        echo "hz $(getconf CLK_TCK)"
        echo "wall_ns $(( ns1 - ns0 ))"
        echo "server $(( server1 - server0 ))"
        echo "wrk $(( wrk1 - wrk0 ))"
        if [[ $store == postgresql ]]; then
            echo "database $(( db1 - db0 ))"
            echo "database_cpu $PG_CPU"
        fi
        if (( ${#idle0[@]} == 2 && ${#idle1[@]} == 2 )); then
            echo "server_cpu_idle $(( idle1[0] - idle0[0] ))"
            echo "wrk_cpu_idle $(( idle1[1] - idle0[1] ))"
        fi
    } >"${file%.txt}.cpu"
    alive "$pid" || fail_with_log "numlookup on $store died under load" "$file" "$LAST/logs/$store.err"
    memory_kb "$pid" >"${file%.txt}.mem"
    local rps p99 extra
    rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$file")
    p99=$(awk '$1 == "99%" {print $2}' "$file")
    extra=$(grep -E 'Non-2xx|Socket errors|Unexpected bodies: [1-9]' "$file" | tr -s ' ' | paste -sd ';' || true)
    say "round $round/$ROUNDS $(printf '%-21s' "$target") ${rps:-?} req/s  p99 ${p99:-?}" \
        "RSS $(awk '$1 == "VmRSS" {printf "%.0f MiB", $2 / 1024}' "${file%.txt}.mem")${extra:+  ($extra)}"
}

for (( round = 1; round <= ROUNDS; round++ )); do
    for store in "${STORES[@]}"; do
        for mode in cached uncached; do run_wrk "$store" "$mode" "$round"; done
    done
done

# Atomic replacement under load: the same file imported again into the store a
# server is answering uncached lookups from; every answer must stay OK.
replace_under_load() {
    local store=$1 file=$LAST/raw/$1-replacing.r1.txt
    "${LOAD_CPU[@]}" wrk -t1 "-c$CONNECTIONS" -d1h --latency --timeout 5s \
        -s "$BENCH/scale.lua" "${URL[$store]}" -- uncached "$ROWS" "$STRIDE" "$DIGITS" 99 \
        >"$file" 2>&1 &
    LOAD=$!
    sleep 1
    if [[ $store == sqlite ]]; then
        NUMLOOKUP_VAR_DIR=$SQLITE_VAR NUMLOOKUP_DATABASE_PATH=$SQLITE_VAR/numlookup.sqlite3 \
            measure numlookup-sqlite-replacing 1 "$NUMLOOKUP" np import ported "$CSV"
    else
        NUMLOOKUP_VAR_DIR=$TMP/var-pg NUMLOOKUP_DATABASE_URL=$PG/$PG_DB \
            measure numlookup-postgresql-replacing 1 "$NUMLOOKUP" np import ported "$CSV"
    fi
    sleep 1
    kill -INT "$LOAD" 2>/dev/null || true   # wrk prints its figures on SIGINT
    wait "$LOAD" || true
    LOAD=''
    alive "${SERVER[$store]}" || fail_with_log "numlookup on $store died during the replacement" \
        "$LAST/logs/$store.err"
    memory_kb "${SERVER[$store]}" >"${file%.txt}.mem"
    say "replacement under load, $store: $(awk '/^Requests\/sec:/ {printf "%.0f req/s", $2}' "$file")" \
        "$(grep -E 'Non-2xx|Socket errors|Unexpected bodies: [1-9]' "$file" | tr -s ' ' | paste -sd ';' || true)"
}
if [[ $REPLACE == 1 ]]; then
    for store in "${STORES[@]}"; do replace_under_load "$store"; done
fi

for store in "${STORES[@]}"; do
    "$PY" "$BENCH/scale.py" probe "${URL[$store]}" --rows "$ROWS" --stride "$STRIDE" \
        --digits "$DIGITS" || die "numlookup on $store answers wrong after the load"
    memory_kb "${SERVER[$store]}" >"$LAST/raw/$store.end.mem"
done
stop_servers

# ------------------------------------------------------------------ two servers on Redis

# bench/shared.py starts its own Redis, PostgreSQL and servers and stops them on exit.
if [[ $SHARED == 1 ]]; then
    say "cached lookups: two servers sharing Redis and PostgreSQL against one embedded server"
    run_child "$PY" "$BENCH/shared.py" --rounds "$ROUNDS" --seconds "$DURATION" \
        --connections "$CONNECTIONS" >"$LAST/shared.md" 2>"$LAST/logs/shared.err" \
        || fail_with_log "bench/shared.py failed" "$LAST/logs/shared.err"
fi

# ------------------------------------------------------------------ report

NOTES=()
for log in "$LAST"/logs/*.err; do
    [[ -f $log ]] || continue
    count=$(grep -cE 'ERROR|CRITICAL|Traceback' "$log" || true)
    (( count == 0 )) || NOTES+=(--note "$count error line(s) in $log")
done
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git -C "$ROOT" status --porcelain -- src 2>/dev/null) ]] || COMMIT="$COMMIT+uncommitted changes"
NOTES+=(
    --note "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $COMMIT, $(nproc) CPUs, $(free -g | awk '/^Mem:/ {print $2}') GiB; $PINNING"
    --note "import file: $CSV ($FILE_MB MiB, sorted by number); $(sqlite3 --version | cut -d' ' -f1) CLI"
    --note "wrk -t1 -c$CONNECTIONS -d${DURATION}s, $ROUNDS round(s), targets taking turns; medians over rounds"
)
if wants postgresql; then
    NOTES+=(--note "PostgreSQL $(psql -XAtq "$PG/postgres" -c 'SHOW server_version' 2>/dev/null || echo '?') as the tests run it: fsync, synchronous_commit and full_page_writes off")
fi
STRICT_ARG=()
[[ $STRICT == 1 ]] && STRICT_ARG=(--strict)
echo
REPORT=0   # with SCALE_STRICT=1, 1 when a check is not met
"$PY" "$BENCH/scale_report.py" --dir "$LAST" --rows "$ROWS" --out "$OUT/scale.md" \
    "${STRICT_ARG[@]}" "${NOTES[@]}" || REPORT=$?
echo
if [[ -s $LAST/shared.md ]]; then
    { echo; cat "$LAST/shared.md"; } | tee -a "$OUT/scale.md"
    echo
fi
say "table written to $OUT/scale.md; measurements, wrk outputs and logs in $LAST"
exit "$REPORT"
