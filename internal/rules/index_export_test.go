package rules

// What the external tests of the package (package rules_test, which may
// import packages that import rules, such as internal/sigma) use of its
// internals.

// SameDecisions is sameDecisions: the decisions of Set.Evaluate (the
// source and value indexes) against those of evaluating every rule.
var SameDecisions = sameDecisions

// ShippedFS is shippedFS: the shipped rule directory plus one rule file.
var ShippedFS = shippedFS

// CorpusEvents is corpusEvents: the sample events of every source.
var CorpusEvents = corpusEvents
