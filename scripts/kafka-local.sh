#!/usr/bin/env bash
# kafka-local.sh: run real Apache Kafka (KRaft, each node a combined
# broker+controller) from the official jars, for local runs and CI: one node
# by default, or a cluster of KAFKA_NODES nodes whose brokers can be killed
# and started again one at a time.
#
# Usage: scripts/kafka-local.sh up|down|status|env|kill N|start N
#
#   up       resolve the jars with Maven (cached), format each node's
#            storage, start the nodes in the background, wait until every
#            broker answers a metadata request listing all of them, print
#            KAFKA_BROKERS=127.0.0.1:<port>[,...]. A no-op when the nodes
#            are already running.
#   down     stop every node (SIGTERM, then SIGKILL after
#            KAFKA_STOP_TIMEOUT seconds) and remove their data directories.
#   status   one line per node saying whether it runs; exit 0 if every node
#            runs, 3 if not.
#   env      print KAFKA_BROKERS=... (for eval/export).
#   kill N   SIGKILL node N (its node.id, 1..KAFKA_NODES), keeping its data:
#            a broker dying, for failover tests.
#   start N  start node N again with the same configuration and data, and
#            wait until its broker serves again (it answers a metadata
#            request listing every broker of the cluster).
#
# Environment:
#   KAFKA_VERSION       Apache Kafka version (default below; 3.9.x works too)
#   KAFKA_NODES         nodes started by `up` (default 1); the other commands
#                       read the count `up` recorded
#   KAFKA_PORT          client port of node 1 (default 19092). Node i (1-based)
#                       listens for clients on KAFKA_PORT+2(i-1) and for its
#                       controller on the port after that, so a cluster of N
#                       nodes takes the 2N ports from KAFKA_PORT on.
#   KAFKA_CACHE_DIR     cache root (default <repo>/.cache/kafka)
#   KAFKA_HEAP          JVM heap per node (default 512m)
#   KAFKA_START_TIMEOUT seconds to wait for the brokers (default 90)
#   KAFKA_STOP_TIMEOUT  seconds to wait after SIGTERM (default 30)
#   JAVA, MVN           java and mvn commands (default: from PATH)
#
# The controller quorum is every node: on 4.x a dynamic quorum
# (controller.quorum.bootstrap.servers, storage formatted with --standalone
# for one node or --initial-controllers for several), on 3.x the static
# controller.quorum.voters. With 3 or more nodes the internal topics
# (consumer offsets, transaction state, share-group state) get replication
# 3 and min.insync.replicas 2; topics keep the broker's min.insync.replicas
# default of 1 unless created with their own.
#
# Jars live in $KAFKA_CACHE_DIR/<version>/libs; node i's config, data, pid
# and log live in $KAFKA_CACHE_DIR/run-<its client port>/ (so node 1 of any
# cluster, and the single node, use run-$KAFKA_PORT, which also records the
# node count). Needs Java 17+ and Maven 3; nothing else is downloaded.
set -euo pipefail

# Newest 4.x release verified to resolve from Maven Central and run on Java 17.
readonly DEFAULT_KAFKA_VERSION=4.4.0
# Log4j 1 implementation for 3.x brokers (what the 3.9 distribution ships).
readonly RELOAD4J_VERSION=1.2.25
readonly HOST=127.0.0.1

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KAFKA_VERSION=${KAFKA_VERSION:-$DEFAULT_KAFKA_VERSION}
KAFKA_PORT=${KAFKA_PORT:-19092}
KAFKA_CACHE_DIR=${KAFKA_CACHE_DIR:-$ROOT/.cache/kafka}
KAFKA_HEAP=${KAFKA_HEAP:-512m}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
KAFKA_STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-30}
JAVA=${JAVA:-java}
MVN=${MVN:-mvn}

LIBS_DIR=$KAFKA_CACHE_DIR/$KAFKA_VERSION/libs
# NODES_FILE records how many nodes `up` started, for the other commands.
NODES_FILE=$KAFKA_CACHE_DIR/run-$KAFKA_PORT/nodes

log() { printf 'kafka-local: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

need() {
	command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"
}

# --- the cluster's layout ---------------------------------------------------

# node_count prints the number of nodes: what `up` recorded when the
# cluster exists, else KAFKA_NODES (default 1).
node_count() {
	local n
	if [[ -f $NODES_FILE ]]; then
		n=$(<"$NODES_FILE")
	else
		n=${KAFKA_NODES:-1}
	fi
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "KAFKA_NODES must be a positive number, got '$n'"
	printf '%s\n' "$n"
}

node_port() { echo $((KAFKA_PORT + 2 * ($1 - 1))); }
controller_port() { echo $((KAFKA_PORT + 2 * ($1 - 1) + 1)); }
node_dir() { echo "$KAFKA_CACHE_DIR/run-$(node_port "$1")"; }

# brokers prints the bootstrap list of the first $1 nodes.
brokers() {
	local i out=
	for ((i = 1; i <= $1; i++)); do
		out+=${out:+,}$HOST:$(node_port "$i")
	done
	printf '%s\n' "$out"
}

# check_node fails unless $1 names a node of a cluster of $2 nodes.
check_node() {
	[[ $1 =~ ^[1-9][0-9]*$ ]] && (($1 <= $2)) || die "no node '$1': the cluster has nodes 1..$2"
}

# alive succeeds if process $1 runs: it exists and is not a zombie (a
# killed node whose parent, the shell that started it, is gone may wait
# to be reaped).
alive() {
	kill -0 "$1" 2>/dev/null && [[ $(ps -o stat= -p "$1" 2>/dev/null) != Z* ]]
}

# running prints node $1's pid and succeeds if it is alive.
running() {
	local pid_file
	pid_file=$(node_dir "$1")/kafka.pid
	[[ -f $pid_file ]] || return 1
	local pid
	pid=$(<"$pid_file")
	[[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
	printf '%s\n' "$pid"
}

# --- the jars ---------------------------------------------------------------

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

# --- configuration and storage ----------------------------------------------

# quorum_config prints the controller quorum setting of a cluster of $1
# nodes: every node is a voter.
quorum_config() {
	local i list=
	if [[ $KAFKA_VERSION == 3.* ]]; then
		# 3.x KRaft has no dynamic quorum: name the static voter set.
		for ((i = 1; i <= $1; i++)); do
			list+=${list:+,}$i@$HOST:$(controller_port "$i")
		done
		echo "controller.quorum.voters=$list"
		return
	fi
	for ((i = 1; i <= $1; i++)); do
		list+=${list:+,}$HOST:$(controller_port "$i")
	done
	echo "controller.quorum.bootstrap.servers=$list"
}

# write_config writes node $1's server.properties (cluster of $2 nodes)
# and the logging configs into its directory.
write_config() {
	local id=$1 nodes=$2 dir replication min_isr
	dir=$(node_dir "$id")
	# Internal topics are replicated on up to 3 nodes; with 3 they accept
	# writes with one broker down (min.insync.replicas 2).
	replication=$((nodes < 3 ? nodes : 3))
	min_isr=$((replication < 3 ? 1 : 2))
	cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=$id
$(quorum_config "$nodes")
listeners=PLAINTEXT://$HOST:$(node_port "$id"),CONTROLLER://$HOST:$(controller_port "$id")
advertised.listeners=PLAINTEXT://$HOST:$(node_port "$id")
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=3
default.replication.factor=$replication
offsets.topic.replication.factor=$replication
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$replication
transaction.state.log.min.isr=$min_isr
share.coordinator.state.topic.replication.factor=$replication
share.coordinator.state.topic.min.isr=$min_isr
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
EOF
	cat >"$dir/log4j2.properties" <<'EOF'
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
	cat >"$dir/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.state.change.logger=WARN
EOF
}

# random_uuid prints a random Kafka Uuid as `kafka-storage random-uuid`
# does: 16 random bytes in URL-safe base64 without padding (22
# characters), never starting with '-' (it would read as an option).
random_uuid() {
	local id
	while :; do
		id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
		[[ $id == -* ]] || break
	done
	printf '%s\n' "$id"
}

# java_cmd runs a Kafka main class with the cached jars, logging as node
# directory $1 configures. It execs, so call it in a subshell or as the
# last command of a background job: the pid of `java_cmd ... &` is then
# the JVM's own.
java_cmd() {
	local dir=$1
	shift
	exec "$JAVA" -Xms128m -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$dir/log4j2.properties" \
		-Dlog4j.configuration="file:$dir/log4j.properties" \
		-Dkafka.logs.dir="$dir" \
		-cp "$LIBS_DIR/*" "$@"
}

# format_storage formats node $1's storage for cluster id $2; $3 is the
# 4.x --initial-controllers list of a multi-node cluster ("" otherwise).
format_storage() {
	local id=$1 cluster=$2 controllers=$3 dir
	dir=$(node_dir "$id")
	local args=(format -t "$cluster" -c "$dir/server.properties")
	if [[ $KAFKA_VERSION != 3.* ]]; then
		if [[ -n $controllers ]]; then
			args+=(--initial-controllers "$controllers")
		else
			args+=(--standalone)
		fi
	fi
	(java_cmd "$dir" kafka.tools.StorageTool "${args[@]}") >"$dir/format.log" 2>&1 </dev/null || {
		cat "$dir/format.log" >&2
		die "formatting storage of node $id failed"
	}
}

# initial_controllers prints the 4.x --initial-controllers list of a
# cluster of $1 nodes (id@host:port:directory-id, each with a fresh
# directory id), or nothing for one node (formatted --standalone) and 3.x
# (static voters).
initial_controllers() {
	local i list=
	if (($1 == 1)) || [[ $KAFKA_VERSION == 3.* ]]; then
		return
	fi
	for ((i = 1; i <= $1; i++)); do
		list+=${list:+,}$i@$HOST:$(controller_port "$i"):$(random_uuid)
	done
	printf '%s\n' "$list"
}

# --- processes --------------------------------------------------------------

port_open() {
	(exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

# launch starts node $1's JVM in the background, appending to its log, and
# records its pid.
launch() {
	local dir pid
	dir=$(node_dir "$1")
	java_cmd "$dir" kafka.Kafka "$dir/server.properties" >>"$dir/server.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$dir/kafka.pid"
}

# wait_ready waits until node $1's port accepts connections and its broker
# answers a metadata request listing all $2 brokers of the cluster
# (through cmd/kafkacheck when Go is available). Every node must be
# launched first: a broker registers only once a controller quorum exists.
wait_ready() {
	local id=$1 nodes=$2 pid dir port deadline=$((SECONDS + KAFKA_START_TIMEOUT))
	dir=$(node_dir "$id")
	port=$(node_port "$id")
	pid=$(<"$dir/kafka.pid")
	until port_open "$port"; do
		if ! alive "$pid"; then
			tail -n 30 "$dir/server.log" >&2 || true
			die "node $id exited during start-up (log: $dir/server.log)"
		fi
		((SECONDS < deadline)) || die "port $port not open after ${KAFKA_START_TIMEOUT}s (log: $dir/server.log)"
		sleep 0.5
	done
	local left=$((deadline - SECONDS))
	((left > 5)) || left=5
	if command -v go >/dev/null 2>&1; then
		(cd "$ROOT" && go run ./cmd/kafkacheck -brokers "$HOST:$port" -min-brokers "$nodes" -timeout "${left}s" >&2) ||
			die "broker on $HOST:$port does not answer metadata requests listing $nodes broker(s) (log: $dir/server.log)"
	else
		log "go not found: checking the startup log instead of a metadata request"
		until grep -q 'Kafka Server started' "$dir/server.log"; do
			((SECONDS < deadline)) || die "node $id not started after ${KAFKA_START_TIMEOUT}s (log: $dir/server.log)"
			sleep 0.5
		done
	fi
}

# stop_nodes sends SIGTERM to the given pids at once and waits for them,
# with SIGKILL for those still running after KAFKA_STOP_TIMEOUT seconds.
stop_nodes() {
	local pid
	for pid in "$@"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	local deadline=$((SECONDS + KAFKA_STOP_TIMEOUT))
	for pid in "$@"; do
		while alive "$pid"; do
			if ((SECONDS >= deadline)); then
				log "pid $pid still running after ${KAFKA_STOP_TIMEOUT}s: SIGKILL"
				kill -KILL "$pid" 2>/dev/null || true
				break
			fi
			sleep 0.2
		done
	done
}

# --- commands ---------------------------------------------------------------

cmd_up() {
	local nodes=${KAFKA_NODES:-1} i pid up=0 bootstrap
	[[ $nodes =~ ^[1-9][0-9]*$ ]] || die "KAFKA_NODES must be a positive number, got '$nodes'"
	if [[ -f $NODES_FILE ]] && [[ $(<"$NODES_FILE") != "$nodes" ]] && running 1 >/dev/null; then
		die "a cluster of $(<"$NODES_FILE") node(s) already runs from port $KAFKA_PORT (scripts/kafka-local.sh down first, or set KAFKA_PORT)"
	fi
	bootstrap=$(brokers "$nodes")
	for ((i = 1; i <= nodes; i++)); do
		if running "$i" >/dev/null; then
			up=$((up + 1))
		fi
	done
	if ((up == nodes)); then
		if ((nodes == 1)); then
			log "already up (pid $(running 1), Kafka $(<"$(node_dir 1)/version"))"
		else
			log "already up ($nodes nodes, Kafka $(<"$(node_dir 1)/version"))"
		fi
		echo "KAFKA_BROKERS=$bootstrap"
		return
	fi
	if ((up > 0)); then
		die "only $up of $nodes nodes run (scripts/kafka-local.sh status; start N restarts one, down stops all)"
	fi
	need "$JAVA" "install Java 17 or later (Debian: apt-get install -y openjdk-17-jre-headless)"
	for ((i = 1; i <= nodes; i++)); do
		if port_open "$(node_port "$i")" || port_open "$(controller_port "$i")"; then
			die "port $(node_port "$i") or $(controller_port "$i") is in use by another process (set KAFKA_PORT)"
		fi
	done
	resolve_jars
	local cluster controllers
	cluster=$(random_uuid)
	controllers=$(initial_controllers "$nodes")
	for ((i = 1; i <= nodes; i++)); do
		rm -rf "$(node_dir "$i")"
		mkdir -p "$(node_dir "$i")/data"
		echo "$KAFKA_VERSION" >"$(node_dir "$i")/version"
		write_config "$i" "$nodes"
		format_storage "$i" "$cluster" "$controllers"
	done
	echo "$nodes" >"$NODES_FILE"
	if ((nodes == 1)); then
		log "starting Kafka $KAFKA_VERSION on $bootstrap (log: $(node_dir 1)/server.log)"
	else
		log "starting Kafka $KAFKA_VERSION on $nodes nodes: $bootstrap (logs: $KAFKA_CACHE_DIR/run-<port>/server.log)"
	fi
	for ((i = 1; i <= nodes; i++)); do
		launch "$i"
	done
	for ((i = 1; i <= nodes; i++)); do
		wait_ready "$i" "$nodes"
	done
	if ((nodes == 1)); then
		log "up (pid $(running 1))"
	else
		for ((i = 1; i <= nodes; i++)); do
			log "node $i up (pid $(running "$i"), $HOST:$(node_port "$i"))"
		done
	fi
	echo "KAFKA_BROKERS=$bootstrap"
}

cmd_down() {
	local nodes i pid pids=()
	nodes=$(node_count)
	for ((i = 1; i <= nodes; i++)); do
		if pid=$(running "$i"); then
			pids+=("$pid")
			if ((nodes == 1)); then
				log "stopping pid $pid"
			else
				log "stopping node $i (pid $pid)"
			fi
		elif ((nodes > 1)); then
			log "node $i not running"
		fi
	done
	if ((${#pids[@]} == 0)); then
		((nodes > 1)) || log "not running"
	else
		stop_nodes "${pids[@]}"
	fi
	for ((i = nodes; i >= 1; i--)); do # node 1's directory, with the count, last
		rm -rf "$(node_dir "$i")"
	done
	((${#pids[@]} == 0)) || log "down"
}

cmd_status() {
	local nodes i pid up=0
	nodes=$(node_count)
	if ((nodes == 1)); then
		if pid=$(running 1); then
			echo "kafka-local: up (pid $pid, Kafka $(<"$(node_dir 1)/version"), KAFKA_BROKERS=$(brokers 1))"
			return 0
		fi
		echo "kafka-local: down"
		return 3
	fi
	for ((i = 1; i <= nodes; i++)); do
		if pid=$(running "$i"); then
			up=$((up + 1))
			echo "kafka-local: node $i up (pid $pid, Kafka $(<"$(node_dir "$i")/version"), $HOST:$(node_port "$i"))"
		else
			echo "kafka-local: node $i down ($HOST:$(node_port "$i"))"
		fi
	done
	echo "kafka-local: $up of $nodes nodes up, KAFKA_BROKERS=$(brokers "$nodes")"
	((up == nodes)) || return 3
}

# cmd_kill SIGKILLs node $1, keeping its data, and waits until it is gone.
cmd_kill() {
	local id=$1 nodes pid
	nodes=$(node_count)
	check_node "$id" "$nodes"
	pid=$(running "$id") || die "node $id is not running"
	kill -KILL "$pid"
	local deadline=$((SECONDS + 10))
	while alive "$pid"; do
		((SECONDS < deadline)) || die "node $id (pid $pid) still running 10s after SIGKILL"
		sleep 0.1
	done
	log "node $id killed (pid $pid, $HOST:$(node_port "$id"))"
}

# cmd_start starts node $1 again with its configuration and data and waits
# until its broker serves again.
cmd_start() {
	local id=$1 nodes dir pid
	nodes=$(node_count)
	check_node "$id" "$nodes"
	dir=$(node_dir "$id")
	[[ -f $dir/server.properties ]] || die "node $id has no configuration in $dir (scripts/kafka-local.sh up first)"
	if pid=$(running "$id"); then
		log "node $id already running (pid $pid)"
		return
	fi
	need "$JAVA" "install Java 17 or later (Debian: apt-get install -y openjdk-17-jre-headless)"
	KAFKA_VERSION=$(<"$dir/version")
	LIBS_DIR=$KAFKA_CACHE_DIR/$KAFKA_VERSION/libs
	launch "$id"
	log "starting node $id again on $HOST:$(node_port "$id") (log: $dir/server.log)"
	wait_ready "$id" "$nodes"
	log "node $id up (pid $(running "$id"))"
}

usage() {
	echo "usage: $0 up|down|status|env|kill N|start N" >&2
	exit 2
}

main() {
	case ${1:-} in
	up) cmd_up ;;
	down) cmd_down ;;
	status) cmd_status ;;
	env) echo "KAFKA_BROKERS=$(brokers "$(node_count)")" ;;
	kill) (($# == 2)) || usage; cmd_kill "$2" ;;
	start) (($# == 2)) || usage; cmd_start "$2" ;;
	*) usage ;;
	esac
}

main "$@"
