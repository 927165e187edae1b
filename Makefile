# tripline: make help lists the targets.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/tripline-dev/tripline/internal/version.Version=$(VERSION)
BIN       := bin
# go vet runs in make lint (CI runs it), not in go test: the vet facts of every
# dependency would double a cold make test's build. Every module is tested
# with -race: one build of the standard library serves them all.
TEST_FLAGS ?= -race -vet=off -shuffle=on -timeout 15m
DEPLOY_TEST_FLAGS ?= -race -vet=off -shuffle=on -timeout 10m

.PHONY: help build test test-std test-main test-deploy lint fmt tidy bench bench-parsers bench-pipeline bench-burst bench-rss bench-ledger-startup bench-ledger bench-replay bench-contain demo run up down clean rules-check

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build every binary into bin/
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/...

test: ## run the unit and integration tests (embedded broker, simulator) with -race, deploy/'s dashboard and alert checks, and the Helm chart's (deploy/helm): test-main beside test-deploy, each one's output in one piece
	@$(MAKE) --no-print-directory test-std
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-main test-deploy

# The standard library packages the tests use, built once (with -race when
# TEST_FLAGS has it) before test-main and test-deploy start side by side:
# each would build it anew.
test-std:
	@pkgs=$$($(GO) list -deps -test ./...) && $(GO) build $(filter -race,$(TEST_FLAGS)) $$(echo "$$pkgs" | grep -v '[.]')

test-main: ## the main module's tests only (with -race)
	$(GO) test $(TEST_FLAGS) ./...

test-deploy: ## deploy/'s dashboard, alert and compose checks, then the Helm chart's (deploy/helm)
	cd deploy && $(GO) test $(DEPLOY_TEST_FLAGS) ./...
	cd deploy/helm && $(GO) test $(DEPLOY_TEST_FLAGS) ./...

lint: ## go vet and gofmt check (every module), and the Helm chart's lint (deploy/helm's TestLint)
	$(GO) vet ./...
	cd deploy && $(GO) vet ./...
	cd deploy/helm && $(GO) vet ./... && $(GO) test -count=1 -run '^TestLint$$' ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

tidy: ## tidy go.mod
	$(GO) mod tidy

bench: ## run every benchmark (500 ms each; internal/event's parser comparison, built with -tags parsers, at 50 ms each, bench-parsers for 1 s), then the headline ones once each with a summary table of their figures
	$(GO) test -run '^$$' -bench . -benchtime=500ms -timeout 4m -skip '^(BenchmarkDecodeParsers|BenchmarkPipelineThroughput|BenchmarkRSSUnderMaxSizeMessages|BenchmarkBurst|BenchmarkReplay|BenchmarkReplaySigma|BenchmarkRunDryRun|BenchmarkListAll100k|BenchmarkContain|BenchmarkLedgerStartup|BenchmarkLedgerRate)$$' -benchmem ./...
	$(GO) test -tags parsers -run '^TestAltParsersAgree$$' -bench '^(BenchmarkDecodeParsers|BenchmarkDecodeParts)$$' -benchtime=50ms -timeout 3m -benchmem ./internal/event
	GO=$(GO) bash scripts/bench-summary.sh

bench-parsers: ## internal/event's JSON parser comparison (448 sub-benchmarks) at 1 s each: about 9 minutes
	$(GO) test -tags parsers -run '^TestAltParsersAgree$$' -bench '^(BenchmarkDecodeParsers|BenchmarkDecodeParts)$$' -benchtime=1s -timeout 20m -benchmem ./internal/event

bench-pipeline: ## pipeline vs bare kafka-go+json msgs/s over 50k messages on kfake, clocks to the last commit, ratio (goal >= 0.8)
	$(GO) test -run '^$$' -bench '^BenchmarkPipelineThroughput$$' -benchtime=3x -benchmem ./cmd/consumer

bench-burst: ## 1000 risky users on one partition at 50 ms per API call (goal <= 5 s); 100 users behind one failing user (goal <= 2 s)
	$(GO) test -run '^$$' -bench '^BenchmarkBurst$$' -benchtime=1x ./cmd/consumer

bench-replay: ## consumer replay over 200k generated mixed-format lines, and consumer run --dry-run over the same on kfake (events/s)
	$(GO) test -run '^$$' -bench '^(BenchmarkReplay|BenchmarkRunDryRun)$$' -benchtime=1x ./cmd/consumer

bench-ledger-startup: ## start-up on a state topic of 100,000 signed user records: time to ready (goal <= 3 s), peak RSS (goal <= 150 MiB), ledger heap per user (goal <= 1 KiB)
	$(GO) test -run '^$$' -bench '^BenchmarkLedgerStartup$$' -benchtime=3x -timeout 15m ./cmd/consumer

bench-ledger: ## 50,000 suspensions in a row, caps raised, embedded broker: rate over the first and last 10,000 (goal ratio >= 0.8), ledger syncs timed out (goal 0); about 3 minutes
	$(GO) test -run '^$$' -bench '^BenchmarkLedgerRate$$' -benchtime=1x -timeout 20m ./cmd/consumer

bench-rss: ## peak RSS of the consumer process under 400 one-MiB sign-ins for distinct users (goal <= 150 MB)
	$(GO) test -run '^$$' -bench '^BenchmarkRSSUnderMaxSizeMessages$$' -benchtime=1x ./cmd/consumer

bench-contain: ## produce to suspension of a risky user every 200 ms under 2,000 and 10,000 sign-ins/s, API at 0 and 50 ms: p50/p99/max, consumer CPU and RSS (KAFKA_BROKERS: a real broker)
	$(GO) test -run '^$$' -bench '^BenchmarkContain$$' -benchtime=1x -timeout 30m ./cmd/consumer

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
.PHONY: kafka-up kafka-down test-kafka test-kafka-smoke test-kafka-failover devbroker
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

test-kafka-failover: ## the broker-failover scenario on 3 brokers (KAFKA_NODES=3 KAFKA_PORT=29092 bash scripts/kafka-local.sh up; KAFKA_BROKERS set); a skip fails
	@mkdir -p .cache
	@if [ -z "$$KAFKA_BROKERS" ]; then echo "test-kafka-failover: set KAFKA_BROKERS to a 3-node cluster: export \"\$$(KAFKA_NODES=3 KAFKA_PORT=29092 bash scripts/kafka-local.sh up)\"" >&2; exit 2; fi
	@status=0; $(GO) test $(KAFKA_TEST_FLAGS) -v -tags kafka -run '^TestReliabilityBrokerFailover$$' ./test/kafka/... > .cache/test-kafka-failover.log 2>&1 || status=$$?; \
	grep -E '^(--- |RELIABILITY|ok|FAIL|PASS|panic)|^ +[a-z_]+_test.go' .cache/test-kafka-failover.log; \
	if grep -q -- '--- SKIP: TestReliabilityBrokerFailover' .cache/test-kafka-failover.log; then echo "test-kafka-failover: the scenario was skipped (see above)"; status=1; fi; \
	echo "full log: .cache/test-kafka-failover.log"; exit $$status

devbroker: ## run an in-process Kafka broker on 127.0.0.1:9092 for manual runs
	$(GO) run ./cmd/devbroker

# Docker Compose: Kafka, the Users API simulator, the consumer, OTel collector, Jaeger.
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)

up: ## start the docker-compose stack (Kafka, opsim, consumer, OTel collector, Jaeger UI on :16686, Prometheus on :9090, Grafana on :3000)
	$(COMPOSE) up -d --build

down: ## stop the docker-compose stack and remove its volumes
	$(COMPOSE) down -v
