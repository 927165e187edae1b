package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/tripline-dev/tripline/internal/identity"
)

var knownReasons = map[string]bool{
	ReasonEmpty: true, ReasonTooLarge: true, ReasonInvalidUTF8: true, ReasonInvalidJSON: true,
	ReasonTooDeep: true, ReasonNotObject: true, ReasonUnknownFormat: true, ReasonNoUser: true,
	ReasonBadField: true, ReasonAmbiguousIdentity: true, ReasonEmptyBatch: true, ReasonPartial: true,
}

// FuzzDecode checks that Decode never panics and returns either events or
// an *Error with a known reason (or both, for a partial batch); that events
// respect the caps and hold no ambiguous email; and that every failed
// batch item carries its own bytes, a JSON value.
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
	f.Add([]byte(`{"eventType":"com.okta.event_hook","data":{"events":[{}, 1 ,{"actor":{"alternateId":"\u212a@x.io"}}]}}`), "")
	f.Add([]byte(`{"actor.alternateId":"a@x.io","actor":{"alternateId":"b@y.io","alternateId":"c@z.io"}}`), "okta")
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
				checkEvent(t, e)
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
		for _, e := range evs {
			checkEvent(t, e)
		}
		for _, it := range de.Items {
			if !json.Valid(it.Raw) || !bytes.Contains(value, it.Raw) {
				t.Fatalf("item %d raw %q is not a JSON value of the message", it.Index, it.Raw)
			}
		}
	})
}

// checkEvent checks what every decoded event must hold. Only an activity
// may have no user (an AWS service, the root account, a system actor).
func checkEvent(t *testing.T, e Event) {
	t.Helper()
	if e.Reasons == nil || e.Outcome == "" || e.Risk == "" || e.EventID == "" ||
		(e.Kind != KindActivity && e.UserEmail == "" && e.UserID == "" && e.UserName == "") {
		t.Fatalf("incomplete event %+v", e)
	}
	if len(e.UserEmail) > MaxIdentityLen || len(e.UserID) > MaxIdentityLen || len(e.UserName) > MaxIdentityLen ||
		len(e.OPUserID) > MaxIdentityLen || len(e.EventID) > MaxIdentityLen+len(e.Source)+len(":-10000") ||
		len(e.SrcIP) > MaxIPLen || len(e.Country) > MaxGeoLen || len(e.City) > MaxGeoLen || len(e.Reasons) > MaxReasons {
		t.Fatalf("event past a cap: %+v", e)
	}
	for _, r := range e.Reasons {
		if len(r) > MaxReasonLen || !utf8.ValidString(r) {
			t.Fatalf("reason %q past the cap or not UTF-8", r)
		}
	}
	if identity.Ambiguous(e.UserEmail) {
		t.Fatalf("ambiguous email %q accepted", e.UserEmail)
	}
}
