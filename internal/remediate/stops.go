package remediate

import "context"

// shadowStop ends a shadow decision once the read-only guards passed: the
// outcome shadow says the rule would have acted.
func shadowStop(next handler) handler {
	return func(ctx context.Context, c *call) error {
		if c.d.Mode == ModeShadow {
			c.out.Result = ResultShadow
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
