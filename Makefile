# Conveniences; the scripts are the source of truth.
.PHONY: build test bench demo
build:
	go build -o bin/lakefuse ./cmd/lakefuse
test:
	./scripts/test.sh
bench:
	./scripts/bench.sh
demo:
	go run ./cmd/lakefuse demo
