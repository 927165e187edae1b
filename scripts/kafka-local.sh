#!/usr/bin/env bash
# kafka-local.sh: run a real single-node Apache Kafka broker (KRaft, combined
# broker+controller) from the official jars, for local runs and CI.
#
# Usage: scripts/kafka-local.sh up|down|status|env
#
#   up      resolve the jars with Maven (cached), format storage, start the
#           broker in the background, wait until it answers a metadata
#           request, print KAFKA_BROKERS=127.0.0.1:<port>. A no-op when the
#           broker is already running.
#   down    stop the broker (SIGTERM, then SIGKILL after KAFKA_STOP_TIMEOUT
#           seconds) and remove its data directory.
#   status  say whether the broker runs; exit 0 if it does, 3 if not.
#   env     print KAFKA_BROKERS=... (for eval/export).
#
# Environment:
#   KAFKA_VERSION       Apache Kafka version (default below; 3.9.x works too)
#   KAFKA_PORT          client port (default 19092); the controller uses +1
#   KAFKA_CACHE_DIR     cache root (default <repo>/.cache/kafka)
#   KAFKA_HEAP          JVM heap (default 512m)
#   KAFKA_START_TIMEOUT seconds to wait for the broker (default 90)
#   KAFKA_STOP_TIMEOUT  seconds to wait after SIGTERM (default 30)
#   JAVA, MVN           java and mvn commands (default: from PATH)
#
# Jars live in $KAFKA_CACHE_DIR/<version>/libs; the running broker's config,
# data, pid and log live in $KAFKA_CACHE_DIR/run-<port>/. Needs Java 17+ and
# Maven 3; nothing else is downloaded.
set -euo pipefail

# Newest 4.x release verified to resolve from Maven Central and run on Java 17.
readonly DEFAULT_KAFKA_VERSION=4.4.0
# Log4j 1 implementation for 3.x brokers (what the 3.9 distribution ships).
readonly RELOAD4J_VERSION=1.2.25

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KAFKA_VERSION=${KAFKA_VERSION:-$DEFAULT_KAFKA_VERSION}
KAFKA_PORT=${KAFKA_PORT:-19092}
KAFKA_CACHE_DIR=${KAFKA_CACHE_DIR:-$ROOT/.cache/kafka}
KAFKA_HEAP=${KAFKA_HEAP:-512m}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
KAFKA_STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-30}
JAVA=${JAVA:-java}
MVN=${MVN:-mvn}

CONTROLLER_PORT=$((KAFKA_PORT + 1))
LIBS_DIR=$KAFKA_CACHE_DIR/$KAFKA_VERSION/libs
RUN_DIR=$KAFKA_CACHE_DIR/run-$KAFKA_PORT
PID_FILE=$RUN_DIR/kafka.pid
LOG_FILE=$RUN_DIR/server.log
BROKERS=127.0.0.1:$KAFKA_PORT

log() { printf 'kafka-local: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

need() {
	command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"
}

# running prints the broker's pid and succeeds if it is alive.
running() {
	[[ -f $PID_FILE ]] || return 1
	local pid
	pid=$(<"$PID_FILE")
	[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
	printf '%s\n' "$pid"
}

# resolve_jars fills $LIBS_DIR with kafka_2.13 and its runtime dependencies
# plus an SLF4J binding, once per version.
resolve_jars() {
	if [[ -f $LIBS_DIR/.complete ]]; then
		return
	fi
	need "$MVN" "install Maven 3 (Debian: apt-get install -y maven)"
	local work=$KAFKA_CACHE_DIR/$KAFKA_VERSION
	rm -rf "$LIBS_DIR"
	mkdir -p "$work"
	rm -f "$work/mvn.log"
	cat >"$work/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.tripline</groupId>
  <artifactId>kafka-local</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
	log "resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION with Maven"
	mvn_run "kafka_2.13:$KAFKA_VERSION (is that version published?)" dependency:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory="$LIBS_DIR"
	local binding
	for binding in $(logging_artifacts); do
		mvn_run "$binding" dependency:copy -Dartifact="$binding" -DoutputDirectory="$LIBS_DIR"
	done
	touch "$LIBS_DIR/.complete"
}

# mvn_run runs a Maven goal on the generated pom, its output in mvn.log;
# $1 names what is being resolved, for the error message.
mvn_run() {
	local what=$1 work=$KAFKA_CACHE_DIR/$KAFKA_VERSION
	shift
	if ! "$MVN" -B -q -Dstyle.color=never -f "$work/pom.xml" "$@" >>"$work/mvn.log" 2>&1 </dev/null; then
		tail -n 30 "$work/mvn.log" >&2
		die "maven could not resolve $what (full log: $work/mvn.log)"
	fi
}

# jar_version prints the version of the one jar in $LIBS_DIR named
# <artifact>-<version>.jar, or nothing.
jar_version() {
	local f
	for f in "$LIBS_DIR/$1"-[0-9]*.jar; do
		[[ -e $f ]] || continue
		f=${f##*/"$1"-}
		printf '%s\n' "${f%.jar}"
		return
	done
}

# logging_artifacts prints the group:artifact:version of the logging
# implementation the resolved broker needs: Kafka 4 logs through Log4j 2,
# Kafka 3 through Log4j 1 (reload4j); both through SLF4J.
logging_artifacts() {
	local slf4j log4j
	slf4j=$(jar_version slf4j-api)
	[[ -n $slf4j ]] || die "no slf4j-api jar among the resolved dependencies"
	log4j=$(jar_version log4j-api)
	if [[ -n $log4j ]]; then
		if [[ $slf4j == 1.* ]]; then
			echo "org.apache.logging.log4j:log4j-slf4j-impl:$log4j"
		else
			echo "org.apache.logging.log4j:log4j-slf4j2-impl:$log4j"
		fi
	else
		echo "ch.qos.reload4j:reload4j:$RELOAD4J_VERSION"
		echo "org.slf4j:slf4j-reload4j:$slf4j"
	fi
}

# write_config writes server.properties and the logging configs into $RUN_DIR.
write_config() {
	local quorum
	if [[ $KAFKA_VERSION == 3.* ]]; then
		# 3.x KRaft has no dynamic quorum: name the static voter set.
		quorum="controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT"
	else
		quorum="controller.quorum.bootstrap.servers=127.0.0.1:$CONTROLLER_PORT"
	fi
	cat >"$RUN_DIR/server.properties" <<EOF
process.roles=broker,controller
node.id=1
$quorum
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$RUN_DIR/data
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
EOF
	cat >"$RUN_DIR/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
EOF
	cat >"$RUN_DIR/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.state.change.logger=WARN
EOF
}

# cluster_id prints a random KRaft cluster id: 16 random bytes in URL-safe
# base64 without padding (22 characters), like `kafka-storage random-uuid`.
cluster_id() {
	head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'
}

# java_cmd runs a Kafka main class with the cached jars. It execs, so call it
# in a subshell or as the last command of a background job: the pid of
# `java_cmd ... &` is then the JVM's own.
java_cmd() {
	exec "$JAVA" -Xms128m -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$RUN_DIR/log4j2.properties" \
		-Dlog4j.configuration="file:$RUN_DIR/log4j.properties" \
		-Dkafka.logs.dir="$RUN_DIR" \
		-cp "$LIBS_DIR/*" "$@"
}

format_storage() {
	local args=(format -t "$(cluster_id)" -c "$RUN_DIR/server.properties")
	if [[ $KAFKA_VERSION != 3.* ]]; then
		args+=(--standalone)
	fi
	(java_cmd kafka.tools.StorageTool "${args[@]}") >"$RUN_DIR/format.log" 2>&1 </dev/null || {
		cat "$RUN_DIR/format.log" >&2
		die "formatting storage failed"
	}
}

port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_ready waits until the port accepts connections and the broker answers
# a metadata request (through cmd/kafkacheck when Go is available).
wait_ready() {
	local pid=$1 deadline=$((SECONDS + KAFKA_START_TIMEOUT))
	until port_open "$KAFKA_PORT"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 30 "$LOG_FILE" >&2 || true
			die "broker exited during start-up (log: $LOG_FILE)"
		fi
		((SECONDS < deadline)) || die "port $KAFKA_PORT not open after ${KAFKA_START_TIMEOUT}s (log: $LOG_FILE)"
		sleep 0.5
	done
	local left=$((deadline - SECONDS))
	((left > 5)) || left=5
	if command -v go >/dev/null 2>&1; then
		(cd "$ROOT" && go run ./cmd/kafkacheck -brokers "$BROKERS" -timeout "${left}s" >&2) ||
			die "broker on $BROKERS does not answer metadata requests (log: $LOG_FILE)"
	else
		log "go not found: checking the startup log instead of a metadata request"
		until grep -q 'Kafka Server started' "$LOG_FILE"; do
			((SECONDS < deadline)) || die "broker not started after ${KAFKA_START_TIMEOUT}s (log: $LOG_FILE)"
			sleep 0.5
		done
	fi
}

cmd_up() {
	local pid
	if pid=$(running); then
		log "already up (pid $pid, Kafka $(<"$RUN_DIR/version"))"
		echo "KAFKA_BROKERS=$BROKERS"
		return
	fi
	need "$JAVA" "install Java 17 or later (Debian: apt-get install -y openjdk-17-jre-headless)"
	if port_open "$KAFKA_PORT" || port_open "$CONTROLLER_PORT"; then
		die "port $KAFKA_PORT or $CONTROLLER_PORT is in use by another process (set KAFKA_PORT)"
	fi
	resolve_jars
	rm -rf "$RUN_DIR"
	mkdir -p "$RUN_DIR/data"
	echo "$KAFKA_VERSION" >"$RUN_DIR/version"
	write_config
	format_storage
	log "starting Kafka $KAFKA_VERSION on $BROKERS (log: $LOG_FILE)"
	java_cmd kafka.Kafka "$RUN_DIR/server.properties" >"$LOG_FILE" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$PID_FILE"
	wait_ready "$pid"
	log "up (pid $pid)"
	echo "KAFKA_BROKERS=$BROKERS"
}

cmd_down() {
	local pid
	if ! pid=$(running); then
		log "not running"
		rm -rf "$RUN_DIR"
		return
	fi
	log "stopping pid $pid"
	kill -TERM "$pid" 2>/dev/null || true
	local deadline=$((SECONDS + KAFKA_STOP_TIMEOUT))
	while kill -0 "$pid" 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			log "still running after ${KAFKA_STOP_TIMEOUT}s: SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			break
		fi
		sleep 0.2
	done
	rm -rf "$RUN_DIR"
	log "down"
}

cmd_status() {
	local pid
	if pid=$(running); then
		echo "kafka-local: up (pid $pid, Kafka $(<"$RUN_DIR/version"), KAFKA_BROKERS=$BROKERS)"
		return 0
	fi
	echo "kafka-local: down"
	return 3
}

main() {
	case ${1:-} in
	up) cmd_up ;;
	down) cmd_down ;;
	status) cmd_status ;;
	env) echo "KAFKA_BROKERS=$BROKERS" ;;
	*)
		echo "usage: $0 up|down|status|env" >&2
		exit 2
		;;
	esac
}

main "$@"
