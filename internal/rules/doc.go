// Package rules loads, compiles and evaluates tripline's policy rules.
//
// Rules are YAML files (see rules/README.md in the repository for the rule
// author's guide). Each rule carries an expr-lang condition (`when`), an
// action (suspend, reactivate or none), an optional identity expression
// (`user`), a reason template, its cooldown, grace and max_actions, and its
// own inline tests. Load compiles every rule against a typed environment
// mirroring event.Event, so misspelled fields, type errors, unknown lists and
// bad timezones are reported at load time with the file and line, all
// problems at once.
//
// A rule acts when it is enabled, in enforce mode, and suspends or
// reactivates (RuleInfo.Acts). Such a rule must prove itself at every load:
// Load refuses it without an inline test that matches and one that does
// not, and LoadChecked (used at start, on every reload and by `consumer
// rules test`) also runs the inline tests and refuses it if it matches any
// ordinary sign-in of the benign corpus in testdata/benign (CheckBenign).
//
// The package decides; it does not act and suppresses nothing. Cooldowns,
// grace periods, blast-radius caps (max_actions) and protected identities
// are applied by the decision service when it acts: Decision carries the
// rule's Cooldown, Grace and MaxActions, and Set.Protected the protected
// identities parsed from protected.yaml in the rule directory. Load accepts
// a directory without protected.yaml (rule authors lint and test without
// one); a Watcher, which serves the decision service, refuses one whose
// protected.yaml is missing or lists nobody unless it says
// `allow_empty: true` (ErrNoProtected), at start and on every reload.
//
// A loaded Set is immutable and safe for concurrent use. The windowed counts
// used by count() live in a State, which is internally synchronized and can
// be shared by successive Sets so that a hot reload (see Watcher) does not
// reset them. All time arithmetic uses the event time, never the wall clock,
// so replays and tests are deterministic.
//
// Replay (`consumer replay`) evaluates a Set over a JSON-lines file offline,
// on every core, and prints the decisions in input order, the same bytes
// whatever the number of workers.
//
// The package imports internal/event for the normalized record,
// internal/identity for the protected identities and internal/ordered for
// Replay. It must not import Kafka, HTTP or OpenTelemetry exporter packages.
package rules
