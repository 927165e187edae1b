package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/event/eventgen"
)

// sigmaBenchRules is how many Sigma rules BenchmarkReplaySigma imports.
const sigmaBenchRules = 200

// sigmaBenchSources are the logsources of the generated Sigma rules and, for
// each, four detections over fields the generated events carry, shaped
// like SigmaHQ's rules for these sources: most select on the event's type
// or name (eventType, eventName, ResultType, riskEventType) with plain
// values, some add a contains, a wildcard, a CIDR or a filter, and one in
// four selects on other fields only (a regular expression, 1 of). Every
// rule does the work of a real one; the values never match, so the
// decisions stay those of the shipped rules. %[1]d is the rule's number.
var sigmaBenchSources = []struct {
	logsource  string
	detections [4]string
}{
	{"product: okta\n  service: okta", [4]string{
		"selection:\n    eventType: [user.bench%[1]d.start, user.mfa.factor.bench%[1]d]\n  condition: selection",
		"selection:\n    eventType: user.bench%[1]d.update\n    displayMessage|contains: bench-%[1]d\n  condition: selection",
		"selection:\n    eventType: policy.bench%[1]d.update\n  filter:\n    client.ipAddress|cidr: 10.%[1]d.0.0/16\n  condition: selection and not filter",
		"selection_uri:\n    debugContext.debugData.requestUri|re: '^/bench/%[1]d/'\n  selection_isp:\n    securityContext.isp|endswith: bench%[1]d.example\n  condition: 1 of selection_*",
	}},
	{"product: azure\n  service: signinlogs", [4]string{
		"selection:\n    ResultType: [5%[1]d01, 5%[1]d02]\n  condition: selection",
		"selection:\n    ResultType: 6%[1]d03\n    AppDisplayName|contains: Bench%[1]d\n  condition: selection",
		"selection:\n    ResultType: 7%[1]d04\n  filter:\n    IPAddress|cidr: 10.%[1]d.0.0/16\n  condition: selection and not filter",
		"selection:\n    UserAgent|contains|all: [BenchAgent, '%[1]d']\n  condition: selection",
	}},
	{"product: azure\n  service: riskdetection", [4]string{
		"selection:\n    riskEventType: benchType%[1]d\n  condition: selection",
		"selection:\n    riskEventType: [benchTravel%[1]d, benchAnonymizedIP%[1]d]\n    detectionTimingType: offline\n  condition: selection",
		"selection:\n    riskEventType: bench%[1]dLeaked\n  filter:\n    ipAddress|cidr: 10.%[1]d.0.0/16\n  condition: selection and not filter",
		"selection:\n    source|startswith: Bench%[1]d\n  condition: selection",
	}},
	{"product: aws\n  service: cloudtrail", [4]string{
		"selection:\n    eventSource: bench%[1]d.amazonaws.com\n    eventName: [DeleteBench%[1]d, StopBench%[1]d]\n  condition: selection",
		"selection:\n    eventName: Bench%[1]dAccessKey\n    userAgent|contains: bench%[1]d\n  condition: selection",
		"selection:\n    eventName: PutBench%[1]dPolicy\n  filter:\n    sourceIPAddress|cidr: 10.%[1]d.0.0/16\n  condition: selection and not filter",
		"selection:\n    errorCode|startswith: Bench%[1]d\n  condition: selection",
	}},
	{"product: gcp\n  service: google_workspace.login", [4]string{
		"selection:\n    protoPayload.metadata.event.eventName: bench_%[1]d\n  condition: selection",
		"selection:\n    protoPayload.serviceName: login.googleapis.com\n    protoPayload.metadata.event.eventName: [bench_%[1]d_a, bench_%[1]d_b]\n  condition: selection",
		"selection:\n    protoPayload.metadata.event.eventName: bench_%[1]d_c\n  filter:\n    protoPayload.requestMetadata.callerIp|cidr: 10.%[1]d.0.0/16\n  condition: selection and not filter",
		"selection:\n    protoPayload.authenticationInfo.principalEmail|endswith: '@bench%[1]d.example'\n  condition: selection",
	}},
}

// writeSigmaBenchRules writes n Sigma rule files into dir, spread evenly
// over sigmaBenchSources.
func writeSigmaBenchRules(dir string, n int) error {
	for i := range n {
		src := sigmaBenchSources[i%len(sigmaBenchSources)]
		detection := fmt.Sprintf(src.detections[(i/len(sigmaBenchSources))%4], i)
		rule := fmt.Sprintf("title: Bench rule %d\nid: 00000000-0000-4000-8000-%012d\nstatus: test\nlevel: medium\n"+
			"logsource:\n  %s\ndetection:\n  %s\n", i, i, src.logsource, detection)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("bench_%03d.yml", i)), []byte(rule), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkReplaySigma runs `consumer replay` over the 200,000-line
// mixed-format file of BenchmarkReplay twice per iteration, in the same
// way: with the shipped rules alone, then with the shipped rules plus 200
// Sigma rules imported by `consumer rules import-sigma` (40 per source:
// Okta, Entra sign-ins, Entra risk detections, CloudTrail, Google
// Workspace). It reports both rates and their ratio (goal: at least 0.5).
func BenchmarkReplaySigma(b *testing.B) {
	const n = 200_000
	dir := b.TempDir()
	file := filepath.Join(dir, "signins.jsonl")
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	if err := eventgen.WriteLines(f, n, eventgen.Config{Seed: 1}); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	withSigma := sigmaBenchRulesDir(b, dir)
	b.ResetTimer()
	var shipped, imported time.Duration
	for b.Loop() {
		shipped += timeReplay(b, "../../rules", file)
		imported += timeReplay(b, withSigma, file)
	}
	b.ReportMetric(float64(n*b.N)/shipped.Seconds(), "shipped-lines/s")
	b.ReportMetric(float64(n*b.N)/imported.Seconds(), "with-sigma-lines/s")
	b.ReportMetric(shipped.Seconds()/imported.Seconds(), "ratio")
}

// sigmaBenchRulesDir returns a rule directory holding the shipped rules
// and sigmaBenchRules imported Sigma rules, checking they all imported.
func sigmaBenchRulesDir(b *testing.B, dir string) string {
	b.Helper()
	sigmaDir, rulesDir := filepath.Join(dir, "sigma"), filepath.Join(dir, "rules")
	if err := os.Mkdir(sigmaDir, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := writeSigmaBenchRules(sigmaDir, sigmaBenchRules); err != nil {
		b.Fatal(err)
	}
	if err := os.CopyFS(rulesDir, os.DirFS("../../rules")); err != nil {
		b.Fatal(err)
	}
	var out, errs strings.Builder
	if code := cmdRulesImportSigma([]string{"--out", rulesDir, sigmaDir}, streams{in: strings.NewReader(""), out: &out, err: &errs}); code != 0 {
		b.Fatalf("import-sigma: exit %d\n%s%s", code, out.String(), errs.String())
	}
	if want := fmt.Sprintf("imported %d, skipped 0", sigmaBenchRules); !strings.Contains(out.String()+errs.String(), want) {
		b.Fatalf("import-sigma did not say %q:\n%s%s", want, out.String(), errs.String())
	}
	return rulesDir
}

// timeReplay runs `consumer replay --rules rules file` and returns how long
// it took.
func timeReplay(b *testing.B, rules, file string) time.Duration {
	b.Helper()
	var errb strings.Builder
	start := time.Now()
	code := cmdReplay(context.Background(), []string{"--rules", rules, file}, streams{in: strings.NewReader(""), out: io.Discard, err: &errb})
	took := time.Since(start)
	if code != 0 {
		b.Fatalf("replay --rules %s: exit %d: %.2000s", rules, code, errb.String())
	}
	return took
}
