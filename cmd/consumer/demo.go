package main

import (
	"context"
	"fmt"
)

func cmdDemo(ctx context.Context, args []string, s streams) int {
	fmt.Fprintln(s.err, "consumer: not available yet")
	return 1
}
