package rules

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/event/eventgen"
)

// sigmaShapedSources are the sources of the Sigma rules of cmd/consumer's
// BenchmarkReplaySigma (sigmaBenchSources there) and, for each, the `when`
// `consumer rules import-sigma` writes for each of their four detections;
// %[1]d is the rule's number.
var sigmaShapedSources = [5][4]string{
	{ // Okta
		`source == "okta" && (sigma_eq(raw, "eventType", ["user.bench%[1]d.start", "user.mfa.factor.bench%[1]d"])) && identity != ""`,
		`source == "okta" && (sigma_eq(raw, "eventType", ["user.bench%[1]d.update"]) && sigma_contains(raw, "displayMessage", ["bench-%[1]d"])) && identity != ""`,
		`source == "okta" && (sigma_eq(raw, "eventType", ["policy.bench%[1]d.update"]) && !sigma_cidr(raw, "client.ipAddress", ["10.%[1]d.0.0/16"])) && identity != ""`,
		`source == "okta" && (sigma_re(raw, "debugContext.debugData.requestUri", ["^/bench/%[1]d/"]) || sigma_endswith(raw, "securityContext.isp", ["bench%[1]d.example"])) && identity != ""`,
	},
	{ // Entra sign-ins
		`source == "entra" && (sigma_endswith(raw, "category", ["SignInLogs"]) && sigma_eq(raw, ["resultType", "properties.status.errorCode"], [5%[1]d01, 5%[1]d02])) && identity != ""`,
		`source == "entra" && (sigma_endswith(raw, "category", ["SignInLogs"]) && (sigma_eq(raw, ["resultType", "properties.status.errorCode"], [6%[1]d03]) && sigma_contains(raw, "properties.appDisplayName", ["Bench%[1]d"]))) && identity != ""`,
		`source == "entra" && (sigma_endswith(raw, "category", ["SignInLogs"]) && sigma_eq(raw, ["resultType", "properties.status.errorCode"], [7%[1]d04]) && !sigma_cidr(raw, ["properties.ipAddress", "callerIpAddress"], ["10.%[1]d.0.0/16"])) && identity != ""`,
		`source == "entra" && (sigma_endswith(raw, "category", ["SignInLogs"]) && (sigma_contains(raw, "properties.userAgent", ["BenchAgent"]) && sigma_contains(raw, "properties.userAgent", ["%[1]d"]))) && identity != ""`,
	},
	{ // Entra risk detections
		`source == "entra" && (sigma_endswith(raw, "category", ["RiskEvents"]) && sigma_eq(raw, ["riskEventType", "properties.riskEventType"], ["benchType%[1]d"])) && identity != ""`,
		`source == "entra" && (sigma_endswith(raw, "category", ["RiskEvents"]) && (sigma_eq(raw, ["riskEventType", "properties.riskEventType"], ["benchTravel%[1]d", "benchAnonymizedIP%[1]d"]) && sigma_eq(raw, ["detectionTimingType", "properties.detectionTimingType"], ["offline"]))) && identity != ""`,
		`source == "entra" && (sigma_endswith(raw, "category", ["RiskEvents"]) && sigma_eq(raw, ["riskEventType", "properties.riskEventType"], ["bench%[1]dLeaked"]) && !sigma_cidr(raw, ["properties.ipAddress", "callerIpAddress"], ["10.%[1]d.0.0/16"])) && identity != ""`,
		`source == "entra" && (sigma_endswith(raw, "category", ["RiskEvents"]) && sigma_startswith(raw, ["source", "properties.source"], ["Bench%[1]d"])) && identity != ""`,
	},
	{ // CloudTrail
		`source == "cloudtrail" && (sigma_eq(raw, "eventSource", ["bench%[1]d.amazonaws.com"]) && sigma_eq(raw, "eventName", ["DeleteBench%[1]d", "StopBench%[1]d"])) && identity != ""`,
		`source == "cloudtrail" && (sigma_eq(raw, "eventName", ["Bench%[1]dAccessKey"]) && sigma_contains(raw, "userAgent", ["bench%[1]d"])) && identity != ""`,
		`source == "cloudtrail" && (sigma_eq(raw, "eventName", ["PutBench%[1]dPolicy"]) && !sigma_cidr(raw, "sourceIPAddress", ["10.%[1]d.0.0/16"])) && identity != ""`,
		`source == "cloudtrail" && (sigma_startswith(raw, "errorCode", ["Bench%[1]d"])) && identity != ""`,
	},
	{ // Google Workspace
		`source == "gws" && (sigma_eq(raw, "id.applicationName", ["login"]) && sigma_eq(raw, "events.name", ["bench_%[1]d"])) && identity != ""`,
		`source == "gws" && (sigma_eq(raw, "id.applicationName", ["login"]) && (sigma_eq(raw, "id.applicationName", ["login"]) && sigma_eq(raw, "events.name", ["bench_%[1]d_a", "bench_%[1]d_b"]))) && identity != ""`,
		`source == "gws" && (sigma_eq(raw, "id.applicationName", ["login"]) && sigma_eq(raw, "events.name", ["bench_%[1]d_c"]) && !sigma_cidr(raw, "ipAddress", ["10.%[1]d.0.0/16"])) && identity != ""`,
		`source == "gws" && (sigma_eq(raw, "id.applicationName", ["login"]) && sigma_endswith(raw, "actor.email", ["@bench%[1]d.example"])) && identity != ""`,
	},
}

// sigmaShapedRules returns n rules shaped like the imported Sigma rules of
// BenchmarkReplaySigma, spread in the same way over sigmaShapedSources.
func sigmaShapedRules(n int) string {
	var b strings.Builder
	b.WriteString("rules:\n")
	for i := range n {
		src := sigmaShapedSources[i%len(sigmaShapedSources)]
		when := fmt.Sprintf(src[(i/len(sigmaShapedSources))%4], i)
		fmt.Fprintf(&b, "  - id: sigma_bench_%03d\n    severity: medium\n    mode: shadow\n    action: suspend\n    when: %q\n", i, when)
	}
	return b.String()
}

// generatedEvents decodes n lines of eventgen's mixed-format traffic (the
// input of BenchmarkReplaySigma).
func generatedEvents(tb testing.TB, n int) []event.Event {
	tb.Helper()
	decode := shippedDecoder(tb)
	g := eventgen.New(eventgen.Config{Seed: 1})
	var out []event.Event
	var line []byte
	for range n {
		line = g.Append(line[:0])
		evs, err := decode(line)
		if err != nil {
			tb.Fatalf("decode %s: %v", line, err)
		}
		out = append(out, evs...)
	}
	return out
}

// BenchmarkEvaluateSigma evaluates eventgen's events against the shipped
// rules alone and with 200 rules shaped like imported Sigma rules (the
// rules of BenchmarkReplaySigma), and reports events/s: what
// BenchmarkReplaySigma measures, without decoding. with_sigma is
// Set.Evaluate; no_value_index runs the rules of the event's source
// bucket without the value index.
func BenchmarkEvaluateSigma(b *testing.B) {
	shipped, err := Load(shippedFS(b, "rules: []\n"))
	if err != nil {
		b.Fatal(err)
	}
	withSigma, err := Load(shippedFS(b, sigmaShapedRules(200)))
	if err != nil {
		b.Fatal(err)
	}
	events := generatedEvents(b, 5000)
	ran, indexed := 0, 0
	e := withSigma.pool.Get().(*evaluator)
	for i := range events {
		bk := withSigma.index.lookup(events[i].Source)
		ran += len(bk.rules)
		if bk.values == nil {
			indexed += len(bk.rules)
			continue
		}
		e.b.reset(&events[i])
		sel, _ := bk.values.selectRules(nil, e.b.paths, events[i].Raw, nil)
		indexed += countSelected(sel)
		e.b.reset(nil)
	}
	withSigma.pool.Put(e)
	b.Logf("%d rules, %d events; rules run per event: %.1f by source, %.1f with the value index",
		len(withSigma.Rules()), len(events), float64(ran)/float64(len(events)), float64(indexed)/float64(len(events)))
	noValueIndex := func(s *Set, ev *event.Event) Result {
		e := s.pool.Get().(*evaluator)
		defer s.pool.Put(e)
		bk := s.index.lookup(ev.Source)
		return evaluateFields(e, bk.rules, nil, bk.fields, ev, false)
	}
	for _, bc := range []struct {
		name string
		set  *Set
		eval func(*Set, *event.Event) Result
	}{
		{"shipped_only", shipped, (*Set).Evaluate},
		{"with_sigma", withSigma, (*Set).Evaluate},
		{"no_value_index", withSigma, noValueIndex},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for i := range events {
					bc.eval(bc.set, &events[i])
				}
			}
			b.ReportMetric(float64(b.N*len(events))/b.Elapsed().Seconds(), "events/s")
		})
	}
}
