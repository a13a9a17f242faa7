#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need
# (Debian's python3-zmq, python3-msgpack and python3-kombu for the interop
# peers, zookeeper and rabbitmq-server for the integration tests), starts
# ZooKeeper and RabbitMQ on loopback, runs vet, gofmt, every package's tests with -race, and a bounded
# run of each fuzz target. It is what `make test` and CI run.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

need=()
/usr/bin/python3 -c 'import zmq, msgpack' 2>/dev/null || need+=(python3-zmq python3-msgpack)
/usr/bin/python3 -c 'import iso8601' 2>/dev/null || need+=(python3-iso8601) # lymph's date parser, for internal/codec's cross-checks
[ -f /usr/share/java/zookeeper.jar ] || need+=(zookeeper)
/usr/bin/python3 -c 'import kombu' 2>/dev/null || need+=(python3-kombu) # the events interop peer
command -v rabbitmq-server >/dev/null || [ -x /usr/sbin/rabbitmq-server ] || need+=(rabbitmq-server)
if [ ${#need[@]} -gt 0 ]; then
	echo "test.sh: installing ${need[*]}" >&2
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >&2
fi

export LYMPH_ZK_PORT="${LYMPH_ZK_PORT:-2181}"
bash .ci/zookeeper.sh start
trap 'bash .ci/zookeeper.sh stop || true' EXIT
export LYMPH_TEST_ZOOKEEPER="127.0.0.1:$LYMPH_ZK_PORT"

# Events: a throw-away RabbitMQ for the events package.
export LYMPH_RMQ_PORT="${LYMPH_RMQ_PORT:-5672}"
bash .ci/rabbitmq.sh start
trap 'bash .ci/rabbitmq.sh stop || true; bash .ci/zookeeper.sh stop || true' EXIT
export LYMPH_TEST_AMQP="amqp://guest:guest@127.0.0.1:$LYMPH_RMQ_PORT/"

echo "== go vet" >&2
go vet ./...
echo "== gofmt" >&2
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change: $unformatted" >&2
	exit 1
fi

echo "== go test -race" >&2
go test -race -count=1 -timeout 15m ./...
# Allocation checks skip themselves under -race (sync.Pool drops items on
# purpose there), so they get a run of their own without it.
echo "== allocation checks" >&2
go test -count=1 -run 'Allocations' ./...

# The fault suite's short run: real processes under kill -9, SIGTERM,
# SIGSTOP, churn, ZooKeeper restarts, hostile neighbours and a partition
# (network namespaces, as root). It fails on any wrong reply or hung call,
# and on a target missed by a wide margin.
echo "== fault suite (short)" >&2
go run ./faults -short

echo "== bench harness (its own module)" >&2
(cd bench && go vet ./... && go test -race -count=1 ./...)

# Each fuzz target for a bounded number of inputs: enough to catch a
# regression in the decoders, few enough for CI (some seconds each). A count
# rather than a duration: with a duration, go test -fuzz sometimes reports
# "context deadline exceeded" when a worker is slow to stop at the end, a
# failure of the harness rather than of the code. The seed corpora run in
# the plain `go test` above too.
fuzztime="${FUZZTIME:-300000x}"
for pkg in ./internal/codec ./internal/transport ./events; do
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "== fuzz $pkg $target ($fuzztime)" >&2
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
	done
done
echo "test.sh: all passed" >&2
