#!/usr/bin/env bash
# Runs a throw-away RabbitMQ on 127.0.0.1 for the events package's
# integration tests (Debian's `rabbitmq-server` package, installed when
# missing), as .ci/zookeeper.sh does for ZooKeeper.
#
#   .ci/rabbitmq.sh start     install if needed, start, wait until it answers AMQP
#   .ci/rabbitmq.sh stop      stop it (its data dir stays)
#   .ci/rabbitmq.sh restart   stop, then start on the same data dir
#   .ci/rabbitmq.sh status    exit 0 when something answers AMQP on the port
#   .ci/rabbitmq.sh clean     stop and delete its data
#
# Environment: LYMPH_RMQ_DIR (state dir, default /tmp/lymph-rabbitmq),
# LYMPH_RMQ_PORT (default 5672). Tests want
# LYMPH_TEST_AMQP=amqp://guest:guest@127.0.0.1:$LYMPH_RMQ_PORT/.
# The node is named lymphtest-$LYMPH_RMQ_PORT@localhost so that it never
# collides with a system broker (rabbit@host).
set -euo pipefail

dir="${LYMPH_RMQ_DIR:-/tmp/lymph-rabbitmq}"
port="${LYMPH_RMQ_PORT:-5672}"
node="lymphtest-$port@localhost"
pidfile="$dir/rabbitmq.pid"
logfile="$dir/rabbitmq.out"

log() { echo "rabbitmq.sh: $*" >&2; }

# answers sends a bad protocol header: an AMQP broker replies with the
# header it speaks ("AMQP\0\0\x09\x01") and closes. Bash's /dev/tcp, no netcat.
answers() {
	local reply
	reply=$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && printf 'AMQP\x00\x00\x00\x00' >&3 && head -c 4 <&3" 2>/dev/null || true)
	[ "$reply" = "AMQP" ]
}

running_pid() {
	[ -f "$pidfile" ] || return 1
	local pid
	pid=$(cat "$pidfile")
	kill -0 "$pid" 2>/dev/null || return 1
	echo "$pid"
}

install() {
	command -v rabbitmq-server >/dev/null && return 0
	log "installing Debian's rabbitmq-server package"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >&2
	apt-get install -y -q rabbitmq-server >&2
	# The package starts a system broker on 5672; ours is throw-away.
	(systemctl stop rabbitmq-server || service rabbitmq-server stop) >/dev/null 2>&1 || true
}

env_for() {
	export RABBITMQ_NODENAME="$node"
	export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
	export RABBITMQ_NODE_PORT="$port"
	export RABBITMQ_DIST_PORT=$((port + 20000))
	export RABBITMQ_MNESIA_BASE="$dir/mnesia"
	export RABBITMQ_LOG_BASE="$dir/log"
	export RABBITMQ_PID_FILE="$dir/beam.pid"
	export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
	export RABBITMQ_CONFIG_FILE="$dir/rabbitmq"
	export RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config"
	export HOME="${HOME:-/root}"
}

start() {
	install
	if answers; then
		log "already answering on 127.0.0.1:$port"
		return 0
	fi
	mkdir -p "$dir/mnesia" "$dir/log"
	echo "[]." >"$dir/enabled_plugins"
	# guest may log in over loopback only, which is all the tests use. No
	# disk alarm on small CI disks.
	cat >"$dir/rabbitmq.conf" <<CFG
listeners.tcp.default = 127.0.0.1:$port
loopback_users.guest = true
disk_free_limit.absolute = 50MB
log.console = false
log.file.level = warning
CFG
	echo "[]." >"$dir/advanced.config"
	# Debian's rabbitmq-server drops root to the rabbitmq user: let it write.
	if [ "$(id -u)" -eq 0 ] && id rabbitmq >/dev/null 2>&1; then
		chown -R rabbitmq:rabbitmq "$dir"
	fi
	env_for
	# setsid: the broker must outlive the shell (or go test) that started it.
	setsid rabbitmq-server >>"$logfile" 2>&1 </dev/null &
	echo $! >"$pidfile"
	for _ in $(seq 1 240); do
		if answers; then
			log "running on 127.0.0.1:$port (node $node, log $logfile)"
			return 0
		fi
		if ! running_pid >/dev/null; then
			log "broker exited; last lines of $logfile:"
			tail -n 30 "$logfile" >&2 || true
			return 1
		fi
		sleep 0.5
	done
	log "no answer after 120 s; last lines of $logfile:"
	tail -n 30 "$logfile" >&2 || true
	return 1
}

stop() {
	local pid
	if ! pid=$(running_pid); then
		rm -f "$pidfile"
		return 0
	fi
	env_for
	rabbitmqctl -q -n "$node" stop >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
	for _ in $(seq 1 300); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 -- "-$pid" 2>/dev/null || kill -9 "$pid"
	fi
	rm -f "$pidfile"
	log "stopped"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
restart)
	# Refuse rather than "restart" a broker this script does not manage:
	# a reconnect test must not pass without a restart.
	if ! running_pid >/dev/null; then
		log "no RabbitMQ started by this script is running (no live pid in $pidfile)"
		exit 1
	fi
	stop
	start
	;;
status) answers ;;
clean)
	stop
	rm -rf "$dir"
	;;
*)
	echo "usage: $0 start|stop|restart|status|clean" >&2
	exit 2
	;;
esac
