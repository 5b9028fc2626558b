# carepath: `make demo` runs the main job, `make test` runs every test.
# Both install what is missing first, quietly when it is already there.

SHELL := /bin/bash
SWIFT ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)
PYTHON ?= $(shell command -v python3 2>/dev/null || echo python3)
SHARED ?= ../shared
BIN := .build/debug/carepath
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all build test deps demo bench clean test-swift test-scenarios test-schemas test-deployment test-cloudevents test-model

all: build

## Install what the build and the tests need (idempotent, quiet when present):
## Debian's librdkafka-dev for the Kafka shim, Debian's PostgreSQL server (the tests start a
## throwaway cluster with it, as nobody when run as root), Python's jsonschema for the schema checks,
## the CloudEvents Python SDK (2.x) and confluent-kafka for the CloudEvents end-to-end test,
## Debian's spin for the ownership model.
deps:
	@pkg-config --exists rdkafka 2>/dev/null || { \
		echo "installing librdkafka-dev (Debian)"; \
		$(SUDO) apt-get update -qq >/dev/null && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq librdkafka-dev pkg-config >/dev/null; }
	@pkg-config --exists sqlite3 2>/dev/null || { \
		echo "installing libsqlite3-dev (Debian)"; \
		$(SUDO) apt-get update -qq >/dev/null && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libsqlite3-dev pkg-config >/dev/null; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		echo "installing postgresql (Debian, for the PostgreSQL store's tests; the tests start their own cluster)"; \
		$(SUDO) apt-get update -qq >/dev/null && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }
	@command -v docker-compose >/dev/null 2>&1 || { \
		echo "installing docker-compose (Debian, to validate docker-compose.yml; no engine)"; \
		$(SUDO) apt-get update -qq >/dev/null && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null; }
	@command -v spin >/dev/null 2>&1 || { \
		echo "installing spin (Debian, to model-check the ownership protocol)"; \
		$(SUDO) apt-get update -qq >/dev/null && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq spin >/dev/null; }
	@$(PYTHON) -c "import jsonschema, rfc3339_validator" 2>/dev/null || \
		$(PYTHON) -m pip install --quiet --disable-pip-version-check jsonschema rfc3339-validator
	@$(PYTHON) -c "import cloudevents.core.bindings.kafka, cloudevents.v1.kafka, confluent_kafka" 2>/dev/null || \
		$(PYTHON) -m pip install --quiet --disable-pip-version-check "cloudevents>=2.2,<3" "confluent-kafka>=2.3"

build: deps
	@$(SWIFT) build

## Every test: Swift unit and property tests, the shared scenarios, the schemas,
## the CloudEvents SDK against `carepath run`, the ownership protocol's model.
test: deps
	@$(SWIFT) build --build-tests
	@$(MAKE) --no-print-directory test-swift test-schemas test-scenarios test-deployment test-cloudevents test-model

test-swift:
	@$(SWIFT) test --skip-build

test-scenarios:
	@if [ -f "$(SHARED)/scenarios/check.py" ]; then \
		echo "== shared scenarios"; $(PYTHON) "$(SHARED)/scenarios/check.py" --bin $(BIN); \
	else echo "== shared scenarios: $(SHARED)/scenarios not found, skipped"; fi

## Both CloudEvents content modes end to end: `carepath run` on its embedded cluster, fed by
## the CloudEvents Python SDK through confluent-kafka (binary, structured, structured sent as
## application/json, duplicates across modes, malformed binary messages).
test-cloudevents: deps
	@echo "== cloudevents: the Python SDK's binary and structured messages against carepath run"
	@$(PYTHON) Tests/cloudevents/check.py --bin $(BIN)

## The partition ownership protocol (claims with epochs, fenced commits, the relay, crashes
## and pauses) model-checked with spin: Sources/CarepathRuntime/PartitionOwnership.pml.
test-model: deps
	@bash Tests/model/check.sh

## The deployment files: docker-compose.yml, Dockerfile, deploy/carepath.env (no Docker engine needed).
test-deployment:
	@echo "== deployment: docker-compose.yml, Dockerfile, deploy/carepath.env"
	@bash Tests/deployment/check_compose.sh

test-schemas: deps
	@echo "== schemas: fixtures against jsonschema and carepath's decoders, evaluate output against the schemas"
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	for f in Tests/fixtures/*.events.jsonl $(wildcard $(SHARED)/scenarios/*.events.jsonl); do \
		[ -f "$$f" ] && $(BIN) evaluate --events "$$f" --until 2027-01-01T00:00:00Z >> "$$tmp/outputs.jsonl"; \
	done; \
	$(PYTHON) Tests/schema/check_schemas.py --bin $(BIN) --outputs "$$tmp/outputs.jsonl"

## The main job: carepath live on an embedded Kafka cluster, fed the example
## histories and a synthetic mix, each change shown as it is published.
demo: build
	@$(BIN) demo $(if $(wildcard $(SHARED)/scenarios),--scenarios $(SHARED)/scenarios)

## Release-mode benchmarks (figures, not tests): offline evaluation, Kafka
## clients against raw librdkafka, then the end-to-end pipeline.
bench: deps
	@$(SWIFT) build -c release --product carepath-bench
	@.build/release/carepath-bench evaluate --patients 10000 --events 20
	@.build/release/carepath-bench kafka
	@.build/release/carepath-bench pipeline

clean:
	@rm -rf .build
