package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runNormalize(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cmdNormalize(context.Background(), args, streams{strings.NewReader(stdin), &out, &errb})
	return code, out.String(), errb.String()
}

func TestNormalizeFiles(t *testing.T) {
	files, err := filepath.Glob("../../testdata/events/*.json")
	if err != nil || len(files) != 8 {
		t.Fatalf("samples: %v %v", files, err)
	}
	code, out, errOut := runNormalize(t, "", files...)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 8 {
		t.Fatalf("%d lines, want 8:\n%s", len(lines), out)
	}
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if _, ok := rec["raw"]; ok {
			t.Errorf("raw printed without --raw: %s", l)
		}
		if rec["source"] == "" || rec["outcome"] == "" {
			t.Errorf("incomplete record %s", l)
		}
	}
}

func TestNormalizeRawAndFormat(t *testing.T) {
	code, out, errOut := runNormalize(t, "", "--raw", "--format", "okta", "../../testdata/events/okta-session-start-risky.json")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var rec struct {
		UserEmail string         `json:"user_email"`
		Raw       map[string]any `json:"raw"`
	}
	if err := json.Unmarshal([]byte(out), &rec); err != nil || rec.UserEmail != "dana.reyes@example.com" || rec.Raw["uuid"] == nil {
		t.Fatalf("got %s (%v)", out, err)
	}
	code, _, errOut = runNormalize(t, "", "--format", "syslog")
	if code != 2 || !strings.Contains(errOut, "1password") {
		t.Errorf("bad format: exit %d, stderr %q", code, errOut)
	}
}

func TestNormalizeStdinLines(t *testing.T) {
	in := `{"uuid":"A","category":"success","target_user":{"uuid":"U1","email":"a@example.com"},"timestamp":"2025-10-14T08:45:00Z"}
{"uuid":"B","category":"mfa_failed","target_user":{"uuid":"U2","email":"b@example.com"}}{"uuid":"C","category":"success","target_user":{"uuid":"U3","email":"c@example.com"}}
{"broken":
null
{
  "uuid": "D", "category": "sso_failed",
  "target_user": {"uuid": "U4", "email": "d@example.com"}
}
`
	code, out, errOut := runNormalize(t, in)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if n := strings.Count(out, "\n"); n != 4 {
		t.Errorf("%d records, want 4:\n%s", n, out)
	}
	for _, want := range []string{"stdin:3: invalid_json", "not_object"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr %q lacks %q", errOut, want)
		}
	}
}

func TestNormalizeBadFileNamed(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "nouser.json")
	if err := os.WriteFile(bad, []byte(`{"records":[{"category":"SignInLogs","properties":{}}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runNormalize(t, "", bad, "../../testdata/events/gws-suspicious-login.json", filepath.Join(dir, "missing.json"))
	if code != 1 || strings.Count(out, "\n") != 1 {
		t.Errorf("exit %d, out %q", code, out)
	}
	if !strings.Contains(errOut, "nouser.json: no_user") || !strings.Contains(errOut, "missing.json: read") {
		t.Errorf("stderr %q", errOut)
	}
}

func TestNormalizeHelp(t *testing.T) {
	code, out, _ := runNormalize(t, "", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"Examples:", "guardduty", "elastic-alert", "bad_field", "partial", "--raw"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}
