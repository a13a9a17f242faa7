# The README's commands. `make test` installs what the tests need (apt) and
# runs them all; `make bench` prints the comparison table.
.PHONY: run test bench

run:
	go run ./examples/echo

test:
	bash scripts/test.sh

bench:
	cd bench && go run .
