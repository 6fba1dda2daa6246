#!/usr/bin/env bash
# The whole multi-process deployment of docs/deploy.md on one machine, for trying it: a
# PostgreSQL primary and a streaming replica, `ledger init`, one `ledger serve --workers 2`
# (writes to the primary, GETs from the replica) and two `ledger worker`s, each with its
# metrics port. Everything lives under one directory; see docs/deploy.md §8.
#
#   deploy/local.sh start | stop | status
#
# Settings (read at the first start and remembered in $LEDGER_DEPLOY_DIR/deploy.env, because
# the replica's connection to the primary is fixed when it is made):
#   LEDGER_DEPLOY_DIR           where everything lives (default: <repo>/var/deploy)
#   LEDGER_DEPLOY_HOST          the API's interface (127.0.0.1)
#   LEDGER_DEPLOY_API_PORT      the API's port (8000)
#   LEDGER_DEPLOY_PRIMARY_PORT  the primary's port (54320)
#   LEDGER_DEPLOY_REPLICA_PORT  the replica's port (54321)
#   LEDGER_DEPLOY_METRICS_PORT  the API's metrics port; the workers take the next two (9100)
#   LEDGER_DEPLOY_PG_BIN        PostgreSQL's binaries (default: the newest /usr/lib/postgresql/*/bin)
#   LEDGER_DEPLOY_START_TIMEOUT seconds to wait for the replica and for /healthz (90)
# Other LEDGER_* variables in the environment, those the script does not set, reach every
# ledger process.
set -Eeuo pipefail
# A command that fails unexpectedly says which, rather than ending the script without a word.
trap 'echo "local.sh: line $LINENO: \"$BASH_COMMAND\" failed (exit $?)" >&2' ERR

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LEDGER=$REPO/.venv/bin/ledger
PYTHON=$REPO/.venv/bin/python
START_TIMEOUT=${LEDGER_DEPLOY_START_TIMEOUT:-90}
STOP_TIMEOUT=30
SLOT=ledger_replica
DATABASE=ledger
WORKERS=(ledger-worker-1 ledger-worker-2)

# shellcheck source=deploy/local_clusters.sh
source "$REPO/deploy/local_clusters.sh"

die() { echo "local.sh: $*" >&2; exit 1; }

usage() {
    sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 2
}

# --- where things are ---------------------------------------------------------------------

# settings record: at start, make the directory and remember the ports in it;
# settings read CODE: for stop and status, exit with CODE when nothing was ever deployed.
settings() {
    DIR=${LEDGER_DEPLOY_DIR:-$REPO/var/deploy}
    if [[ ${1:-} == record ]]; then
        mkdir -p "$DIR"
    elif [[ ! -d $DIR ]]; then
        echo "nothing deployed in $DIR"
        exit "${2:-0}"
    fi
    DIR=$(cd "$DIR" && pwd)
    PG_HOME=$DIR/pg
    PRIMARY=$PG_HOME/primary
    REPLICA=$PG_HOME/replica
    LOGS=$DIR/log
    RUN=$DIR/run
    DATA=$DIR/data
    local remembered=$DIR/deploy.env
    if [[ -f $remembered ]]; then
        # shellcheck source=/dev/null
        source "$remembered"
        warn_if_changed
        return
    fi
    HOST=${LEDGER_DEPLOY_HOST:-127.0.0.1}
    API_PORT=${LEDGER_DEPLOY_API_PORT:-8000}
    PRIMARY_PORT=${LEDGER_DEPLOY_PRIMARY_PORT:-54320}
    REPLICA_PORT=${LEDGER_DEPLOY_REPLICA_PORT:-54321}
    METRICS_PORT=${LEDGER_DEPLOY_METRICS_PORT:-9100}
    PG_BIN=${LEDGER_DEPLOY_PG_BIN:-$(find_pg_bin)}
    if [[ ${1:-} == record ]]; then
        printf '%s\n' "# remembered by deploy/local.sh at the first start" \
            "HOST=$HOST" "API_PORT=$API_PORT" "PRIMARY_PORT=$PRIMARY_PORT" \
            "REPLICA_PORT=$REPLICA_PORT" "METRICS_PORT=$METRICS_PORT" "PG_BIN=$PG_BIN" \
            >"$remembered"
    fi
}

warn_if_changed() {
    local name value
    for name in HOST API_PORT PRIMARY_PORT REPLICA_PORT METRICS_PORT PG_BIN; do
        value=LEDGER_DEPLOY_$name
        if [[ -n ${!value:-} && ${!value} != "${!name}" ]]; then
            echo "note: $value=${!value} ignored: this deployment keeps ${!name}" \
                "($DIR/deploy.env; stop it and remove $DIR to start afresh)" >&2
        fi
    done
}

primary_url() { echo "postgresql://postgres@127.0.0.1:$PRIMARY_PORT/$DATABASE"; }
replica_url() { echo "postgresql://postgres@127.0.0.1:$REPLICA_PORT/$DATABASE"; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

require_free() {  # require_free PORT WHAT
    if port_in_use "$1"; then
        die "port $1 (for $2) is taken by another program; choose others with LEDGER_DEPLOY_*_PORT"
    fi
}

# --- ledger processes ---------------------------------------------------------------------

pid_of() { cat "$RUN/$1.pid" 2>/dev/null || true; }

# Ours and alive: a pid that was reused, or a zombie (its command line is empty), is not.
ledger_alive() {
    local command
    [[ -n $1 ]] && command=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) && [[ $command == *"$LEDGER"* ]]
}

api_url() {
    local shown=$HOST
    [[ $shown == 0.0.0.0 || $shown == :: ]] && shown=127.0.0.1
    echo "http://$shown:$API_PORT"
}

shared_env() {  # shared_env NAME: the settings every ledger process shares, in SHARED_ENV
    # The public URL names the log (its origin, chosen at `ledger init`) and the portal's links.
    SHARED_ENV=(PGAPPNAME="$1" LEDGER_DATABASE_URL="$(primary_url)" LEDGER_DATA_DIR="$DATA"
        LEDGER_PUBLIC_URL="${LEDGER_PUBLIC_URL:-$(api_url)}" LEDGER_LOG_FORMAT=json)
}

launch() {  # launch NAME METRICS_PORT [VAR=VALUE...] -- LEDGER ARGS...
    local name=$1 metrics=$2 pid
    shift 2
    if ledger_alive "$(pid_of "$name")"; then
        echo "$name already running (pid $(pid_of "$name"))"
        return
    fi
    require_free "$metrics" "$name's metrics"
    local vars=()
    while [[ $1 != -- ]]; do vars+=("$1"); shift; done
    shift
    # A session of its own: the terminal's Ctrl-C and hangup do not reach it, and `stop` can
    # end what it leaves behind by its process group.
    # `exec` all the way down (subshell, setsid, env), so that $! is the ledger process itself.
    shared_env "$name"
    (cd "$DIR" && exec setsid env "${SHARED_ENV[@]}" LEDGER_METRICS_PORT="$metrics" \
        "${vars[@]}" "$LEDGER" "$@") </dev/null >>"$LOGS/$name.log" 2>&1 &
    echo $! >"$RUN/$name.pid"
    echo "$name started (pid $!)"
}

wait_healthy() {  # wait_healthy NAME URL
    local deadline=$((SECONDS + START_TIMEOUT))
    until "$PYTHON" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
        "$2" 2>/dev/null; do
        if ! ledger_alive "$(pid_of "$1")"; then
            tail -n 30 "$LOGS/$1.log" >&2
            die "$1 exited: see $LOGS/$1.log"
        fi
        ((SECONDS < deadline)) || die "$1 did not answer $2 within ${START_TIMEOUT}s: see $LOGS/$1.log"
        sleep 0.5
    done
}

# Whether any live process is left in process group $1 (a zombie is not live: an orphan whose
# new parent does not reap it stays one).
group_alive() {
    local file line fields
    for file in /proc/[0-9]*/stat; do
        # `read`, not `$(<file)`: bash leaves the script when $(<file) cannot open a file that
        # went away, whatever follows it (seen under load, with `set -e`).
        read -r line 2>/dev/null <"$file" || continue
        read -ra fields <<<"${line##*) }"  # state, ppid, pgrp, ...
        ((${#fields[@]} > 2)) || continue  # gone while it was read
        [[ ${fields[2]} == "$1" && ${fields[0]} != Z ]] && return 0
    done
    return 1
}

wait_for_group() {  # wait_for_group PGID SECONDS: until none of it is left
    local deadline=$((SECONDS + $2))
    while group_alive "$1"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

stop_ledger() {  # stop_ledger NAME: SIGTERM, then wait until everything of its session ended
    local name=$1 pid
    pid=$(pid_of "$name")
    [[ -n $pid ]] || return 0
    if ledger_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
    fi
    # Its process group (its session, from setsid) holds uvicorn's workers and
    # multiprocessing's resource tracker, which ends a moment after the process it serves.
    if ! wait_for_group "$pid" "$STOP_TIMEOUT"; then
        echo "$name did not stop within ${STOP_TIMEOUT}s of SIGTERM: killing it" >&2
        kill -KILL -- "-$pid" 2>/dev/null || true
        wait_for_group "$pid" 10 || die "$name's processes (process group $pid) are still there"
    fi
    rm -f "$RUN/$name.pid"
    echo "$name stopped"
}

# --- commands -----------------------------------------------------------------------------

start() {
    settings record
    mkdir -p "$LOGS" "$RUN"
    [[ -x $LEDGER ]] || make -C "$REPO" install
    prepare_pg_home
    init_primary
    start_cluster primary "$PRIMARY" "$PRIMARY_PORT"
    prepare_database_and_slot
    make_replica
    start_cluster replica "$REPLICA" "$REPLICA_PORT"
    wait_streaming
    if [[ ! -f $RUN/initialised ]]; then
        shared_env ledger-init
        (cd "$DIR" && env "${SHARED_ENV[@]}" "$LEDGER" init) >>"$LOGS/ledger-init.log" 2>&1 ||
            die "ledger init failed: see $LOGS/ledger-init.log"
        touch "$RUN/initialised"
    fi
    if ! ledger_alive "$(pid_of ledger-api)"; then require_free "$API_PORT" "the API"; fi
    launch ledger-api "$METRICS_PORT" LEDGER_RUN_WORKERS=false \
        LEDGER_READ_DATABASE_URL="$(replica_url)" -- \
        serve --host "$HOST" --port "$API_PORT" --workers 2
    launch "${WORKERS[0]}" $((METRICS_PORT + 1)) LEDGER_READ_DATABASE_URL= -- worker --sweep
    launch "${WORKERS[1]}" $((METRICS_PORT + 2)) LEDGER_READ_DATABASE_URL= -- worker
    wait_healthy ledger-api "http://127.0.0.1:$API_PORT/healthz"
    for name in "${WORKERS[@]}"; do
        ledger_alive "$(pid_of "$name")" || die "$name exited: see $LOGS/$name.log"
    done
    show_where
}

show_where() {
    cat <<EOF

Running, all under $DIR:
  API        $(api_url) (docs: /docs)   ledger serve --workers 2, GETs from the replica
  metrics    http://127.0.0.1:$METRICS_PORT/metrics (API, both its processes)
             http://127.0.0.1:$((METRICS_PORT + 1))/metrics (${WORKERS[0]}, with --sweep)
             http://127.0.0.1:$((METRICS_PORT + 2))/metrics (${WORKERS[1]})
  primary    $(primary_url)
  replica    $(replica_url)
  logs       $LOGS/*.log, $PG_HOME/{primary,replica}.log
  a token    LEDGER_DATA_DIR=$DATA $LEDGER token --role officer --actor olga
  status     $0 status
  stop       $0 stop
EOF
}

stop() {
    settings read 0
    for name in ledger-api "${WORKERS[@]}"; do stop_ledger "$name"; done
    stop_clusters
}

status() {
    settings read 3
    local code=0 name pid
    printf '%-16s %-8s %s\n' PROCESS STATE DETAIL
    for name in ledger-api "${WORKERS[@]}"; do
        pid=$(pid_of "$name")
        if ledger_alive "$pid"; then
            printf '%-16s %-8s pid %s, log %s\n' "$name" running "$pid" "$LOGS/$name.log"
        else
            printf '%-16s %-8s\n' "$name" stopped
            code=3
        fi
    done
    cluster_status || code=3
    return "$code"
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) usage ;;
esac
