# Conveniences; the scripts are the source of truth.
.PHONY: build image test bench demo mutation fuzz crash-campaign
build:
	go build -o bin/lakefuse ./cmd/lakefuse
# The static binary the Dockerfile builds; with a Docker engine, also the image.
image:
	./scripts/build-static.sh
	@if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then docker build -t lakefuse:dev .; fi
test:
	./scripts/test.sh
bench:
	./scripts/bench.sh
demo:
	go run ./cmd/lakefuse demo
# Not part of CI: long-running checks of the tests themselves.
mutation:
	./scripts/mutation.sh
fuzz:
	./scripts/fuzz.sh
crash-campaign:
	./scripts/crash-campaign.sh
