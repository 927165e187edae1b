package rules

import (
	"testing"
	"time"
)

func TestLimitString(t *testing.T) {
	t.Parallel()
	cases := []struct {
		l    Limit
		want string
	}{
		{Limit{}, ""},
		{Limit{10, time.Hour}, "10/1h"},
		{Limit{3, 90 * time.Minute}, "3/1h30m"},
		{Limit{20, 10 * time.Minute}, "20/10m"},
		{Limit{5, 30 * time.Second}, "5/30s"},
		{Limit{1, 1500 * time.Millisecond}, "1/1.5s"},
		{Limit{2, 24 * time.Hour}, "2/24h"},
	}
	for _, c := range cases {
		if got := c.l.String(); got != c.want {
			t.Errorf("%#v.String() = %q, want %q", c.l, got, c.want)
		}
		if c.want == "" {
			continue
		}
		// What String prints is what a rule may write.
		if back, err := parseLimit(c.want); err != nil || back != c.l {
			t.Errorf("parseLimit(%q) = %v, %v", c.want, back, err)
		}
	}
}
