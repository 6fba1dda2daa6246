# deploy/local.sh's PostgreSQL: a primary made with initdb and a streaming replica made from it
# with pg_basebackup, both run with pg_ctl (as the `postgres` user when run as root). Sourced by
# local.sh, whose settings (PG_BIN, PG_HOME, PRIMARY, REPLICA, the ports) these functions use.
# shellcheck shell=bash

find_pg_bin() {
    local found
    found=$(find /usr/lib/postgresql -path '*/bin/pg_ctl' 2>/dev/null | sort -V | tail -n 1)
    if [[ -n $found ]]; then
        dirname "$found"
    elif command -v pg_ctl >/dev/null; then
        dirname "$(command -v pg_ctl)"
    fi
}

# initdb refuses to run as root: the clusters then belong to the `postgres` OS user.
as_postgres() {
    if [[ $EUID -eq 0 ]]; then
        (cd "$PG_HOME" && runuser -u postgres -- "$@")
    else
        (cd "$PG_HOME" && "$@")
    fi
}

sql() {  # sql PORT QUERY: one value per line, nothing else
    "$PG_BIN/psql" -X -q -A -t -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "$2"
}

cluster_running() { as_postgres "$PG_BIN/pg_ctl" -D "$1" status >/dev/null 2>&1; }


prepare_pg_home() {
    [[ -x $PG_BIN/initdb ]] ||
        die "PostgreSQL's initdb not found (in '$PG_BIN'): install postgresql, or set LEDGER_DEPLOY_PG_BIN"
    mkdir -p "$PG_HOME"
    if [[ $EUID -eq 0 ]]; then
        id postgres >/dev/null 2>&1 ||
            die "running as root and there is no 'postgres' user to run PostgreSQL as"
        chown postgres: "$PG_HOME"
        runuser -u postgres -- test -x "$PG_HOME" ||
            die "the postgres user cannot reach $PG_HOME: put LEDGER_DEPLOY_DIR where it can (e.g. under /var/tmp)"
    fi
}

init_primary() {
    [[ -f $PRIMARY/PG_VERSION ]] && return
    echo "making the primary cluster in $PRIMARY"
    as_postgres "$PG_BIN/initdb" -D "$PRIMARY" -A trust -U postgres -E UTF8 >"$LOGS/initdb.log" 2>&1 ||
        die "initdb failed: see $LOGS/initdb.log"
    # Copied to the replica by pg_basebackup; the ports are given at each start instead.
    cat >>"$PRIMARY/postgresql.conf" <<'EOF'

# deploy/local.sh: TCP on loopback only (trust authentication), no Unix socket
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
hot_standby = on
# each ledger process holds ~15 connections at rest, up to ~35 under load (docs/deploy.md §4)
max_connections = 200
EOF
}

start_cluster() {  # start_cluster NAME DATADIR PORT
    if cluster_running "$2"; then
        echo "$1 already running on port $3"
        return
    fi
    require_free "$3" "$1"
    # cluster_name becomes the replica's application_name in pg_stat_replication.
    as_postgres "$PG_BIN/pg_ctl" -D "$2" -l "$PG_HOME/$1.log" -o "-p $3 -c cluster_name=$1" \
        -w -t 60 start >/dev/null || die "$1 did not start: see $PG_HOME/$1.log"
    echo "$1 started on port $3"
}

prepare_database_and_slot() {
    if [[ -z $(sql "$PRIMARY_PORT" "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'") ]]; then
        sql "$PRIMARY_PORT" "CREATE DATABASE $DATABASE" >/dev/null
    fi
    # The slot keeps the primary's WAL until the replica has it, even while the replica is down.
    sql "$PRIMARY_PORT" "SELECT pg_create_physical_replication_slot('$SLOT') WHERE NOT EXISTS
        (SELECT 1 FROM pg_replication_slots WHERE slot_name = '$SLOT')" >/dev/null
}

make_replica() {
    [[ -f $REPLICA/PG_VERSION ]] && return
    echo "making the streaming replica in $REPLICA (pg_basebackup -R)"
    # Into a scratch folder first, so that an interrupted copy is never taken for a replica.
    local partial=$REPLICA.partial
    as_postgres rm -rf "$partial"
    as_postgres "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres \
        -D "$partial" -R -S "$SLOT" -X stream --checkpoint=fast >"$LOGS/basebackup.log" 2>&1 ||
        die "pg_basebackup failed: see $LOGS/basebackup.log"
    as_postgres mv "$partial" "$REPLICA"
}

wait_streaming() {
    local deadline=$((SECONDS + START_TIMEOUT))
    until [[ $(sql "$PRIMARY_PORT" "SELECT state FROM pg_stat_replication
                WHERE application_name = 'replica'" 2>/dev/null) == streaming ]]; do
        ((SECONDS < deadline)) || die "the replica is not streaming: see $PG_HOME/replica.log"
        sleep 0.5
    done
}

stop_clusters() {
    # The primary first: its shutdown waits until the replica has received everything.
    local name data
    for name in primary replica; do
        data=$PG_HOME/$name
        if [[ -f $data/PG_VERSION ]] && cluster_running "$data"; then
            as_postgres "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
            echo "$name stopped"
        fi
    done
}

cluster_status() {  # one line per cluster, then pg_stat_replication; fails when one is stopped
    local code=0 name data port
    for name in primary replica; do
        data=$PG_HOME/$name
        port=PRIMARY_PORT
        [[ $name == replica ]] && port=REPLICA_PORT
        if [[ -f $data/PG_VERSION ]] && cluster_running "$data"; then
            printf '%-16s %-8s port %s, data %s\n' "$name" running "${!port}" "$data"
        else
            printf '%-16s %-8s\n' "$name" stopped
            code=3
        fi
    done
    if [[ -f $PRIMARY/PG_VERSION ]] && cluster_running "$PRIMARY"; then
        echo
        echo "replication (pg_stat_replication on the primary):"
        "$PG_BIN/psql" -X -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -d postgres -c \
            "SELECT application_name, state, sent_lsn, replay_lsn, replay_lag
             FROM pg_stat_replication" || code=3
    fi
    return "$code"
}
