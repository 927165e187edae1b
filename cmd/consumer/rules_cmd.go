package main

import (
	"context"
	"fmt"
)

func cmdRules(ctx context.Context, args []string, s streams) int {
	fmt.Fprintln(s.err, "consumer: not available yet")
	return 1
}
