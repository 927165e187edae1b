package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestValueNeverPrints(t *testing.T) {
	t.Parallel()
	s := Value("hunter2")
	type holder struct {
		Name   string
		Secret Value
	}
	h := holder{"x", s}
	var out strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%10s", "%-8v"} {
		fmt.Fprintf(&out, verb+"|", s)
		fmt.Fprintf(&out, verb+"|", h)
	}
	j, _ := json.Marshal(h)
	out.Write(j)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("m", "secret", s, "holder", h)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("m", "secret", s)
	out.Write(logs.Bytes())
	if strings.Contains(out.String(), "hunter2") {
		t.Fatalf("secret printed: %s", out.String())
	}
	if s.Reveal() != "hunter2" || Value("").String() != "" {
		t.Error("Reveal or empty form wrong")
	}
}
