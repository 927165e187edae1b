// Package rules loads, compiles and evaluates tripline's policy rules.
//
// Rules are YAML files (see rules/README.md in the repository for the rule
// author's guide). Each rule carries an expr-lang condition (`when`), an
// action (suspend, reactivate or none), an optional identity expression
// (`user`), a reason template, a cooldown and its own inline tests. Load
// compiles every rule against a typed environment mirroring event.Event, so
// misspelled fields, type errors, unknown lists and bad timezones are
// reported at load time with the file and line, all problems at once.
//
// A loaded Set is immutable and safe for concurrent use. The windowed counts
// used by count() and the per-rule cooldowns live in a State, which is
// internally synchronized and can be shared by successive Sets so that a hot
// reload (see Watcher) does not reset them. All time arithmetic uses the event
// time, never the wall clock, so replays and tests are deterministic.
//
// The package imports internal/event for the normalized record. It must not
// import Kafka, HTTP or OpenTelemetry exporter packages.
package rules
