// Package sigma imports Sigma rules (https://sigmahq.io) as tripline rules:
// `consumer rules import-sigma` is its command line.
//
// Each Sigma rule becomes one tripline rule in shadow mode whose `when` is
// the rule's detection compiled to calls of the Sigma functions of the rules
// package (sigma_eq, sigma_contains, sigma_null, ...; see
// internal/rules/funcs_sigma.go), behind a guard on the event source:
//
//	source == "okta" && (sigma_eq(raw, "eventType", ["user.session.start"]) && ...)
//
// The steps, one file each:
//
//   - parse.go reads a Sigma file: its YAML documents, the collection
//     actions (global, reset, repeat) and the rule fields.
//   - condition.go parses a detection's condition.
//   - detection.go compiles the search identifiers (selections) and the
//     condition into a formula over clauses, each clause one function call;
//     value.go handles the values (wildcards, the transformation modifiers
//     windash, base64 and base64offset, placeholders).
//   - mapping.go places the Sigma field names on the vendor documents
//     tripline receives: one embedded mapping file per source (mappings/),
//     extended or overridden by the user's (--mapping).
//   - testgen.go builds, for each rule, an event that matches and one that
//     does not, and checks them against the rule compiled by the rules
//     package.
//   - importer.go names the rules, records what was skipped and why, and
//     write.go renders the rule files, byte for byte the same for the same
//     input.
//
// A rule that cannot be compiled exactly is skipped with a Skip naming the
// reason (aggregation, correlation, timeframe, a logsource tripline does not
// read, a regular expression RE2 cannot run, an unsupported modifier, a
// field the mapping cannot place, ...): never imported approximately.
package sigma
