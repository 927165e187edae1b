package event

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// streamGood is a 1Password sign-in for user U<id>, event id id.
func streamGood(id string) string {
	return `{"uuid":"` + id + `","category":"success","target_user":{"uuid":"U` + id + `","email":"` + id + `@example.com"}}`
}

// TestDecodeStreamShapes mixes JSON lines, documents spread over lines and
// several documents to a line, and checks the line each document and each
// error is given with, and that every good document comes once, in order.
func TestDecodeStreamShapes(t *testing.T) {
	bad := `{"uuid":"N","category":"success","target_user":{}}` // no_user
	in := strings.Join([]string{
		streamGood("a"),                         // 1
		"",                                      // 2
		streamGood("b") + " " + streamGood("c"), // 3
		bad,                                     // 4
		"{",                                     // 5
		`  "uuid": "d", "category": "success",`, // 6
		`  "target_user": {"uuid": "Ud"}`,       // 7
		"}  " + bad,                             // 8: ends d, then a no_user document
		streamGood("e") + bad,                   // 9: a good and a bad one, no space
		`{"uuid":"broken",`,                     // 10: broken; line 11 is read on its own
		streamGood("f"),                         // 11
		"[1,2",                                  // 12
		streamGood("g"),                         // 13
	}, "\n") + "\n"
	dec, err := NewDecoder(Config{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	dec.DecodeStream(context.Background(), []byte(in), FormatAuto, func(line int, evs []Event, err error) bool {
		for _, e := range evs {
			got = append(got, fmt.Sprintf("%d:%s", line, strings.TrimPrefix(e.EventID, "1password:")))
		}
		if err != nil {
			got = append(got, fmt.Sprintf("%d:%s", line, Reason(err)))
		}
		return true
	})
	want := "1:a 3:b 3:c 4:no_user 5:d 8:no_user 9:e 9:no_user 10:invalid_json 11:f 12:invalid_json 13:g"
	if g := strings.Join(got, " "); g != want {
		t.Errorf("got  %s\nwant %s", g, want)
	}
}

// TestDecodeStreamStops checks that DecodeStream stops when yield returns
// false, on a line of its own and inside a run of documents, and when the
// context is done.
func TestDecodeStreamStops(t *testing.T) {
	dec, err := NewDecoder(Config{})
	if err != nil {
		t.Fatal(err)
	}
	count := func(ctx context.Context, in string, stopAfter int) int {
		n := 0
		dec.DecodeStream(ctx, []byte(in), FormatAuto, func(int, []Event, error) bool {
			n++
			return n < stopAfter
		})
		return n
	}
	lines := streamGood("a") + "\n" + streamGood("b") + "\n" + streamGood("c") + "\n"
	if n := count(context.Background(), lines, 2); n != 2 {
		t.Errorf("JSON lines: %d documents after yield said stop at 2", n)
	}
	run := streamGood("a") + streamGood("b") + streamGood("c") + "\n" + streamGood("d") + "\n"
	if n := count(context.Background(), run, 2); n != 2 {
		t.Errorf("several to a line: %d documents after yield said stop at 2", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n := count(ctx, lines, 10); n != 0 {
		t.Errorf("done context: %d documents", n)
	}
}
