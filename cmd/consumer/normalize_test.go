package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tripline-dev/tripline/internal/event/eventgen"
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

// documentEnd is the hand-written splitter `consumer normalize` used before it moved to
// encoding/json's Decoder, kept here as the reference of
// BenchmarkNormalizeSplit: the length of the JSON document at the start of
// b, up to the bracket closing the first one (strings skipped), or up to
// white space for a scalar.
func documentEnd(b []byte) int {
	if b[0] != '{' && b[0] != '[' {
		if i := bytes.IndexAny(b, " \t\r\n"); i > 0 {
			return i
		}
		return len(b)
	}
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		}
	}
	return len(b)
}

// BenchmarkNormalizeSplit compares splitting 5,000 generated lines of
// about 1 KiB with the hand-written splitter and with json.Decoder, and
// the whole `consumer normalize` of them (see event.Decoder.DecodeStream).
func BenchmarkNormalizeSplit(b *testing.B) {
	var buf bytes.Buffer
	if err := eventgen.WriteLines(&buf, 5000, eventgen.Config{Seed: 1}); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.Run("split/documentEnd", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			n := 0
			for d := bytes.TrimLeft(data, " \t\r\n"); len(d) > 0; d = bytes.TrimLeft(d, " \t\r\n") {
				d = d[documentEnd(d):]
				n++
			}
			if n != 5000 {
				b.Fatalf("%d documents", n)
			}
		}
	})
	b.Run("split/json.Decoder", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			jd := json.NewDecoder(bytes.NewReader(data))
			n := 0
			for {
				var raw json.RawMessage
				if err := jd.Decode(&raw); err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
				n++
			}
			if n != 5000 {
				b.Fatalf("%d documents", n)
			}
		}
	})
	b.Run("normalize", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var errb bytes.Buffer
			if code := cmdNormalize(context.Background(), nil, streams{bytes.NewReader(data), io.Discard, &errb}); code != 0 {
				b.Fatalf("exit %d: %.500s", code, errb.String())
			}
		}
	})
}

// TestNormalizeStdinShapes mixes JSON lines, documents spread over lines
// and several documents to a line, and checks which line each error is
// reported on and that every good document is printed once, in order.
func TestNormalizeStdinShapes(t *testing.T) {
	good := func(id string) string {
		return `{"uuid":"` + id + `","category":"success","target_user":{"uuid":"U` + id + `","email":"` + id + `@example.com"}}`
	}
	bad := `{"uuid":"N","category":"success","target_user":{}}` // no_user
	in := strings.Join([]string{
		good("a"),                               // 1
		"",                                      // 2
		good("b") + " " + good("c"),             // 3
		bad,                                     // 4
		"{",                                     // 5
		`  "uuid": "d", "category": "success",`, // 6
		`  "target_user": {"uuid": "Ud"}`,       // 7
		"}  " + bad,                             // 8: ends d, then a no_user document
		good("e") + bad,                         // 9: a good and a bad one, no space
		`{"uuid":"broken",`,                     // 10
		good("f"),                               // 11
		"[1,2",                                  // 12
		good("g"),                               // 13
	}, "\n") + "\n"
	code, out, errOut := runNormalize(t, in)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	var ids []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var rec struct {
			EventID string `json:"event_id"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		ids = append(ids, strings.TrimPrefix(rec.EventID, "1password:"))
	}
	if got := strings.Join(ids, ","); got != "a,b,c,d,e,f,g" {
		t.Errorf("printed %s, want a,b,c,d,e,f,g", got)
	}
	for _, want := range []string{"stdin:4: no_user", "stdin:8: no_user", "stdin:9: no_user", "stdin:10: invalid_json", "stdin:12: invalid_json"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if n := strings.Count(errOut, "\n"); n != 5 {
		t.Errorf("%d errors, want 5:\n%s", n, errOut)
	}
}
