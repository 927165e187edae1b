// Command genjsonl writes a mixed-format JSON-lines file of valid vendor
// sign-in documents of about 1 KiB each (see package eventgen), for
// benchmarking `consumer replay` and the decoder:
//
//	go run ./internal/event/testdata/genjsonl -n 200000 -o /tmp/signins.jsonl
//	/usr/bin/time -v ./bin/consumer replay --rules rules/ /tmp/signins.jsonl > /dev/null
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tripline-dev/tripline/internal/event/eventgen"
)

func main() {
	n := flag.Int("n", 200_000, "number of lines")
	seed := flag.Uint64("seed", 1, "random seed")
	users := flag.Int("users", 2000, "distinct users")
	out := flag.String("o", "-", "output file (- for stdout)")
	flag.Parse()
	var w io.Writer = os.Stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "genjsonl:", err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
	}
	if err := eventgen.WriteLines(w, *n, eventgen.Config{Seed: *seed, Users: *users}); err != nil {
		fmt.Fprintln(os.Stderr, "genjsonl:", err)
		os.Exit(1)
	}
}
