package event

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tripline-dev/tripline/internal/event/eventgen"
)

type compareSample struct {
	name   string
	in     []byte
	reason string // what Decode says of it: "" or partial for the batch sample with a failed item
}

// compareSamples are the sample corpus (testdata/*.json) and one
// representative generated Okta and Entra sign-in of about 1 KiB.
func compareSamples(t testing.TB) []compareSample {
	t.Helper()
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	var out []compareSample
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, compareSample{name: strings.TrimSuffix(filepath.Base(f), ".json"), in: b})
	}
	g := eventgen.New(eventgen.Config{Seed: 7})
	out = append(out, compareSample{name: "gen-okta-1k", in: g.Append(nil)}, compareSample{name: "gen-entra-1k", in: g.Append(nil)})
	dec, _ := NewDecoder(Config{})
	for i := range out {
		_, err := dec.Decode(out[i].in, FormatAuto)
		out[i].reason = Reason(err)
	}
	return out
}

// hasDottedKey reports whether some key of the tree v has a '.' (what
// parseDocument notes as it reads the keys), for lookup.
func hasDottedKey(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if strings.IndexByte(k, '.') >= 0 || hasDottedKey(x) {
				return true
			}
		}
	case []any:
		for _, x := range v {
			if hasDottedKey(x) {
				return true
			}
		}
	}
	return false
}
