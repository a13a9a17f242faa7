# The README's commands. `make test` installs what the tests need (apt) and
# runs them all; `make bench` prints the comparison table.
.PHONY: run test bench

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
