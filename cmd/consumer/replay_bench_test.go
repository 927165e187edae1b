package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/event/eventgen"
)

// BenchmarkReplay runs `consumer replay --rules ../../rules FILE` in-process
// over a generated 200,000-line mixed-format file (package eventgen, about
// 1 KiB a line) and reports events/s of the whole command.
func BenchmarkReplay(b *testing.B) {
	const n = 200_000
	file := filepath.Join(b.TempDir(), "signins.jsonl")
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
	b.ResetTimer()
	var elapsed time.Duration
	for b.Loop() {
		var errb strings.Builder
		start := time.Now()
		code := cmdReplay(context.Background(), []string{"--rules", "../../rules", file}, streams{in: strings.NewReader(""), out: io.Discard, err: &errb})
		elapsed += time.Since(start)
		if code != 0 {
			b.Fatalf("exit %d: %.2000s", code, errb.String())
		}
	}
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "lines/s")
}
