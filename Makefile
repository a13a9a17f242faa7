# The README's commands. `make test` installs what the tests need (apt) and
# runs them all; `make bench` prints the comparison table.
.PHONY: run test bench bench-events

run:
	go run ./examples/echo

test:
	bash scripts/test.sh

bench:
	cd bench && go run .

# The fault suite (README "Fault suite"): real processes, one table.
.PHONY: faults faults-short
faults:
	go run ./faults

faults-short:
	go run ./faults -short

# Events per second through RabbitMQ, lymph's Bus against plain amqp091-go
# (needs a broker: bash .ci/rabbitmq.sh start).
bench-events:
	LYMPH_TEST_AMQP=$${LYMPH_TEST_AMQP:-amqp://guest:guest@127.0.0.1:5672/} go test -run '^$$' -bench AMQP -benchtime 20000x -count 3 ./events/
