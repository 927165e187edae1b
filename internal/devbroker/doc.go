// Package devbroker starts an in-process Kafka broker (franz-go's kfake) for
// local runs: cmd/devbroker wraps it as a standalone program and the offline
// demo embeds it. Tests use internal/kafkatest, which builds on it.
//
// The broker speaks the Kafka protocol on one TCP address, creates topics on
// first use, and can persist its log and group offsets in a directory. It is
// a development tool: it has no authentication and keeps everything in one
// process.
package devbroker
