package remediate

import "context"

// shadowStop ends a shadow decision once the read-only guards passed: the
// outcome shadow says the rule would have acted. A decision about a stale
// event ends here too, as stale.
func shadowStop(next handler) handler {
	return func(ctx context.Context, c *call) error {
		switch {
		case c.d.Mode == ModeShadow:
			c.out.Result = ResultShadow
			return nil
		case c.d.Stale != "":
			c.out.Result, c.out.Detail = ResultStale, c.d.Stale
			return nil
		}
		return next(ctx, c)
	}
}

// dryRunStop ends every decision of a process that runs dry, once the
// guards passed: nothing is called and nothing is written.
func dryRunStop(next handler) handler {
	return func(ctx context.Context, c *call) error {
		c.out.Result = ResultDryRun
		return nil
	}
}
