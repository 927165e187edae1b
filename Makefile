# tripline: make help lists the targets.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/tripline-dev/tripline/internal/version.Version=$(VERSION)
BIN       := bin
TEST_FLAGS ?= -race -shuffle=on -timeout 15m

.PHONY: help build test lint fmt tidy bench bench-pipeline bench-burst bench-rss bench-replay demo run up down clean rules-check

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build every binary into bin/
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/...

test: ## run the unit and integration tests (embedded broker, simulator) with -race, and deploy/'s dashboard and alert checks
	$(GO) test $(TEST_FLAGS) ./...
	cd deploy && $(GO) test $(TEST_FLAGS) ./...

lint: ## go vet and gofmt check (both modules)
	$(GO) vet ./...
	cd deploy && $(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

tidy: ## tidy go.mod
	$(GO) mod tidy

bench: ## run every benchmark, then the headline ones once each with a summary table of their figures
	$(GO) test -run '^$$' -bench . -skip '^(BenchmarkPipelineThroughput|BenchmarkRSSUnderMaxSizeMessages|BenchmarkBurst|BenchmarkReplay|BenchmarkRunDryRun|BenchmarkListAll100k)$$' -benchmem ./...
	GO=$(GO) bash scripts/bench-summary.sh

bench-pipeline: ## pipeline vs bare kafka-go+json msgs/s over 50k messages on kfake, clocks to the last commit, ratio (goal >= 0.8)
	$(GO) test -run '^$$' -bench '^BenchmarkPipelineThroughput$$' -benchtime=3x -benchmem ./cmd/consumer

bench-burst: ## 1000 risky users on one partition at 50 ms per API call (goal <= 5 s); 100 users behind one failing user (goal <= 2 s)
	$(GO) test -run '^$$' -bench '^BenchmarkBurst$$' -benchtime=1x ./cmd/consumer

bench-replay: ## consumer replay over 200k generated mixed-format lines, and consumer run --dry-run over the same on kfake (events/s)
	$(GO) test -run '^$$' -bench '^(BenchmarkReplay|BenchmarkRunDryRun)$$' -benchtime=1x ./cmd/consumer

bench-rss: ## peak RSS of the consumer process under 400 one-MiB sign-ins for distinct users (goal <= 150 MB)
	$(GO) test -run '^$$' -bench '^BenchmarkRSSUnderMaxSizeMessages$$' -benchtime=1x ./cmd/consumer

demo: ## run the whole pipeline offline: embedded broker, simulator, sample events, summary
	$(GO) run ./cmd/consumer demo

run: ## run the consumer with the environment (TRIPLINE_*) or --config from TRIPLINE_CONFIG
	$(GO) run ./cmd/consumer run

rules-check: ## lint and test the rules in rules/
	$(GO) run ./cmd/consumer rules lint rules
	$(GO) run ./cmd/consumer rules test rules

clean: ## remove build output
	rm -rf $(BIN)

# Kafka: a real single-node Apache Kafka from the official jars (needs Java 17
# and Maven; KAFKA_VERSION and KAFKA_PORT pick the version and port) and the
# Kafka integration suite, which uses KAFKA_BROKERS when set and an in-process
# broker otherwise. `make kafka-up` prints the KAFKA_BROKERS to export.
.PHONY: kafka-up kafka-down test-kafka test-kafka-smoke devbroker
KAFKA_TEST_FLAGS ?= -count=1 -timeout 20m

kafka-up: ## start a local Apache Kafka (KRaft) from the jars: scripts/kafka-local.sh up
	bash scripts/kafka-local.sh up

kafka-down: ## stop the local Apache Kafka and remove its data
	bash scripts/kafka-local.sh down

test-kafka: ## run the Kafka suite (smoke + reliability, prints RELIABILITY figures) against KAFKA_BROKERS if set, else an in-process broker
	@mkdir -p .cache
	@status=0; $(GO) test $(KAFKA_TEST_FLAGS) -v -tags kafka ./test/kafka/... > .cache/test-kafka.log 2>&1 || status=$$?; \
	grep -E '^(--- |RELIABILITY|ok|FAIL|PASS|panic)|^ +[a-z_]+_test.go' .cache/test-kafka.log; \
	echo "full log: .cache/test-kafka.log"; exit $$status

test-kafka-smoke: ## the short Kafka smoke subset (risky event suspended, malformed dead-lettered, restart resumes)
	$(GO) test $(KAFKA_TEST_FLAGS) -v -tags kafka -run '^TestSmoke' ./test/kafka/...

devbroker: ## run an in-process Kafka broker on 127.0.0.1:9092 for manual runs
	$(GO) run ./cmd/devbroker

# Docker Compose: Kafka, the Users API simulator, the consumer, OTel collector, Jaeger.
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)

up: ## start the docker-compose stack (Kafka, opsim, consumer, OTel collector, Jaeger UI on :16686, Prometheus on :9090, Grafana on :3000)
	$(COMPOSE) up -d --build

down: ## stop the docker-compose stack and remove its volumes
	$(COMPOSE) down -v
