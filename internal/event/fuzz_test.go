package event

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

var knownReasons = map[string]bool{
	ReasonEmpty: true, ReasonTooLarge: true, ReasonInvalidUTF8: true, ReasonInvalidJSON: true,
	ReasonTooDeep: true, ReasonNotObject: true, ReasonUnknownFormat: true, ReasonNoUser: true,
	ReasonBadField: true, ReasonEmptyBatch: true, ReasonPartial: true,
}

// FuzzDecode checks that Decode never panics and returns either events or
// an *Error with a known reason (or both, for a partial batch).
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "")
	}
	f.Add([]byte(`{"records":[{},1,null]}`), "entra")
	f.Add([]byte(`[[[[`), "okta")
	dec, err := NewDecoder(Config{MaxDepth: 32})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, value []byte, format string) {
		fm, err := ParseFormat(format)
		if err != nil {
			fm = Format(format)
		}
		evs, err := dec.Decode(value, fm)
		if err == nil {
			if len(evs) == 0 {
				t.Fatal("no events and no error")
			}
			for _, e := range evs {
				if e.Reasons == nil || e.Outcome == "" || e.Risk == "" || e.EventID == "" ||
					(e.UserEmail == "" && e.UserID == "" && e.UserName == "") {
					t.Fatalf("incomplete event %+v", e)
				}
			}
			return
		}
		var de *Error
		if !errors.As(err, &de) || !knownReasons[de.Reason] {
			t.Fatalf("error %v (%T) has no known reason", err, err)
		}
		_ = err.Error()
		if len(evs) > 0 && de.Reason != ReasonPartial {
			t.Fatalf("events with a %s error", de.Reason)
		}
	})
}
