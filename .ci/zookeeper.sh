#!/usr/bin/env bash
# A throwaway standalone ZooKeeper server for the master-detection tests.
#
#   .ci/zookeeper.sh start DIR   installs the Debian package `zookeeper` if
#                                it is missing, starts a server on 127.0.0.1
#                                on a free port with its data in DIR, waits
#                                until it answers, and prints its address
#                                (`127.0.0.1:PORT`) on stdout: the value for
#                                CORRAL_TEST_ZK.
#   .ci/zookeeper.sh stop DIR    stops the server started in DIR (by the pid
#                                it recorded) and removes DIR.
#
# Everything but the address goes to stderr. Nothing is left running on a
# fixed port, so several checkouts can run it at once.
set -euo pipefail

jar=/usr/share/java/zookeeper.jar

log() { echo "zookeeper.sh: $*" >&2; }

install_if_missing() {
    if [[ -f $jar ]] && command -v java >/dev/null; then
        return
    fi
    log "installing the Debian package zookeeper (apt-get)"
    local started=$SECONDS
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends zookeeper >&2; then
        apt-get update >&2
        apt-get install -y --no-install-recommends zookeeper >&2
    fi
    log "installed in $((SECONDS - started)) s"
    [[ -f $jar ]] || { log "the package did not install $jar"; exit 1; }
}

# A port nothing listens on now (the server's own bind is the real test:
# a lost race is retried by the caller's loop).
free_port() {
    local used port
    used=$(ss -Htln 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u)
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 20000))
        if ! grep -qx "$port" <<<"$used"; then
            echo "$port"
            return
        fi
    done
    log "no free port found"
    exit 1
}

# ZooKeeper's four-letter `ruok` answers `imok` once the server serves.
answers() {
    local port=$1 reply=""
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    echo ruok >&3
    read -r -t 2 -n 4 reply <&3 || true
    exec 3<&- 3>&-
    [[ $reply == imok ]]
}

start() {
    local dir=$1 port pid
    install_if_missing
    mkdir -p "$dir/data"
    for attempt in 1 2 3; do
        port=$(free_port)
        cat >"$dir/zoo.cfg" <<EOF
tickTime=500
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr
maxClientCnxns=0
EOF
        java -Xmx256m -cp "$jar" -Dzookeeper.log.dir="$dir" \
            org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zoo.cfg" \
            >"$dir/server.log" 2>&1 &
        pid=$!
        echo "$pid" >"$dir/pid"
        for _ in $(seq 1 200); do
            if ! kill -0 "$pid" 2>/dev/null; then
                break
            fi
            if answers "$port" 2>/dev/null; then
                log "standalone server on 127.0.0.1:$port (pid $pid, data in $dir)"
                echo "127.0.0.1:$port"
                return
            fi
            sleep 0.1
        done
        log "attempt $attempt: the server on port $port did not answer; its log:"
        tail -20 "$dir/server.log" >&2 || true
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    log "could not start a ZooKeeper server"
    exit 1
}

stop() {
    local dir=$1 pid
    if [[ -f $dir/pid ]]; then
        pid=$(cat "$dir/pid")
        if kill "$pid" 2>/dev/null; then
            for _ in $(seq 1 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -9 "$pid" 2>/dev/null || true
            log "stopped the server (pid $pid)"
        fi
    fi
    rm -rf "$dir"
}

case "${1:-}" in
start) start "${2:?usage: zookeeper.sh start DIR}" ;;
stop) stop "${2:?usage: zookeeper.sh stop DIR}" ;;
*)
    echo "usage: $0 start DIR | stop DIR" >&2
    exit 2
    ;;
esac
