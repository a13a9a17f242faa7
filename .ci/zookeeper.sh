#!/usr/bin/env bash
# Runs a throw-away standalone ZooKeeper on 127.0.0.1 for the registry's
# integration tests (Debian's `zookeeper` package, installed when missing).
#
#   .ci/zookeeper.sh start     install if needed, start, wait until it answers
#   .ci/zookeeper.sh stop      stop it (its data stays, so a restart keeps sessions)
#   .ci/zookeeper.sh restart   stop, then start on the same data
#   .ci/zookeeper.sh status    exit 0 when it answers "imok"
#   .ci/zookeeper.sh clean     stop and delete its data
#
# Environment: LYMPH_ZK_DIR (state dir, default /tmp/lymph-zookeeper),
# LYMPH_ZK_PORT (default 2181). Tests want LYMPH_TEST_ZOOKEEPER=127.0.0.1:$LYMPH_ZK_PORT.
# Several servers can run side by side with different LYMPH_ZK_DIR and
# LYMPH_ZK_PORT: the registry's restart test starts a private one that way.
set -euo pipefail

dir="${LYMPH_ZK_DIR:-/tmp/lymph-zookeeper}"
port="${LYMPH_ZK_PORT:-2181}"
pidfile="$dir/zookeeper.pid"
logfile="$dir/zookeeper.log"

log() { echo "zookeeper.sh: $*" >&2; }

# ruok asks the four-letter-word "ruok" over bash's /dev/tcp, so no netcat is needed.
ruok() {
	local answer
	answer=$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && printf ruok >&3 && cat <&3" 2>/dev/null || true)
	[ "$answer" = "imok" ]
}

running_pid() {
	[ -f "$pidfile" ] || return 1
	local pid
	pid=$(cat "$pidfile")
	kill -0 "$pid" 2>/dev/null || return 1
	echo "$pid"
}

install() {
	[ -f /usr/share/java/zookeeper.jar ] && command -v java >/dev/null && return 0
	log "installing Debian's zookeeper package"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >&2
	apt-get install -y -q zookeeper >&2
}

start() {
	install
	if running_pid >/dev/null && ruok; then
		log "already running on 127.0.0.1:$port"
		return 0
	fi
	if ruok; then
		log "something else already answers on 127.0.0.1:$port; using it"
		return 0
	fi
	mkdir -p "$dir/data" "$dir/conf"
	# tickTime 1000 lets tests ask for a 2 s session (the minimum is 2 ticks).
	cat >"$dir/conf/zoo.cfg" <<CFG
tickTime=1000
initLimit=10
syncLimit=5
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,stat,cons
CFG
	# zookeeper.jar's manifest names its dependencies; slf4j-simple sends the
	# server's log to stderr, which goes to the log file.
	local cp="$dir/conf:/usr/share/java/zookeeper.jar"
	[ -f /usr/share/java/slf4j-simple.jar ] && cp="$cp:/usr/share/java/slf4j-simple.jar"
	# setsid: the server must outlive the shell (or go test) that started it.
	setsid java -Xmx256m -Dzookeeper.jmx.log4j.disable=true \
		-cp "$cp" org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/conf/zoo.cfg" \
		>>"$logfile" 2>&1 </dev/null &
	echo $! >"$pidfile"
	for _ in $(seq 1 120); do
		if ruok; then
			log "running on 127.0.0.1:$port (pid $(cat "$pidfile"), log $logfile)"
			return 0
		fi
		if ! running_pid >/dev/null; then
			log "server exited; last lines of $logfile:"
			tail -n 30 "$logfile" >&2 || true
			return 1
		fi
		sleep 0.5
	done
	log "no answer after 60 s; last lines of $logfile:"
	tail -n 30 "$logfile" >&2 || true
	return 1
}

stop() {
	local pid
	if ! pid=$(running_pid); then
		rm -f "$pidfile"
		return 0
	fi
	kill "$pid"
	for _ in $(seq 1 300); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
	rm -f "$pidfile"
	log "stopped"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
restart)
	# Refuse rather than "restart" a server this script does not manage:
	# a test that restarts ZooKeeper must not pass without a restart.
	if ! running_pid >/dev/null; then
		log "no ZooKeeper started by this script is running (no live pid in $pidfile)"
		exit 1
	fi
	stop
	start
	;;
status) ruok ;;
clean)
	stop
	rm -rf "$dir"
	;;
*)
	echo "usage: $0 start|stop|restart|status|clean" >&2
	exit 2
	;;
esac
