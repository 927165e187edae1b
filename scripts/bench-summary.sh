#!/usr/bin/env bash
# bench-summary.sh runs the headline benchmarks once each and prints one
# table of their figures (make bench runs it after the micro-benchmarks).
set -euo pipefail
GO=${GO:-go}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# run PACKAGE BENCHMARK BENCHTIME [TIMEOUT]: one headline benchmark, its
# test binary stopped after TIMEOUT (default 6m: each takes under a minute
# on a quiet 2-core machine, and their work is fixed, so a busy one
# stretches them), and how long it took.
run() {
	local start=$SECONDS
	echo "== $2" >&2
	$GO test -run '^$' -bench "^$2\$" -benchtime="$3" -timeout "${4:-6m}" "$1" | tee -a "$out" >&2
	echo "== $2 took $((SECONDS - start)) s" >&2
}

run ./cmd/consumer BenchmarkPipelineThroughput 3x
run ./cmd/consumer BenchmarkBurst 1x
run ./cmd/consumer BenchmarkReplay 1x
run ./cmd/consumer BenchmarkReplaySigma 1x
run ./cmd/consumer BenchmarkRunDryRun 1x
run ./cmd/consumer BenchmarkRSSUnderMaxSizeMessages 1x
run ./internal/rules BenchmarkNormalizeEvaluate 2000x
run ./internal/onepassword BenchmarkListAll100k 1x

# metric NAME UNIT: the value reported before UNIT on NAME's result line.
metric() {
	awk -v name="$1" -v unit="$2" '$1 ~ "^"name"(-[0-9]+)?$" { for (i = 2; i < NF; i++) if ($(i+1) == unit) { print $i; exit } }' "$out"
}

printf '\n%-52s %14s  %s\n' "figure" "value" "goal"
row() { printf '%-52s %14s  %s\n' "$1" "$2" "$3"; }
row "pipeline / bare kafka-go (ratio, clocks to last commit)" "$(metric BenchmarkPipelineThroughput ratio)" ">= 0.8"
row "pipeline msgs/s (50k on kfake, 6 partitions)" "$(metric BenchmarkPipelineThroughput pipeline-msgs/s)" ""
row "burst: 1000 users, 1 partition, 50 ms API (s)" "$(metric BenchmarkBurst burst-s)" "<= 5"
row "100 users behind one failing user (s)" "$(metric BenchmarkBurst others-while-stuck-s)" "<= 2"
row "consumer replay, 200k mixed lines (events/s)" "$(metric BenchmarkReplay lines/s)" ">= 100000"
row "replay with 200 Sigma rules / shipped alone (ratio)" "$(metric BenchmarkReplaySigma ratio)" ">= 0.5"
row "consumer run --dry-run, 200k on kfake (events/s)" "$(metric BenchmarkRunDryRun events/s)" ">= 0.9 x replay"
row "normalize + evaluate, one event (ns)" "$(metric BenchmarkNormalizeEvaluate ns/op)" ""
row "list 100k users into the directory (ns)" "$(metric BenchmarkListAll100k ns/op)" ""
row "  its peak heap (MB)" "$(metric BenchmarkListAll100k peak-heap-MB)" ""
row "peak RSS under 400 one-MiB sign-ins (MiB)" "$(metric BenchmarkRSSUnderMaxSizeMessages peak-RSS-MiB)" "<= 150"
