package rules

import "github.com/tripline-dev/tripline/internal/event"

// Evaluate evaluates ev with the rule set in force, so that a reload takes
// effect at the next event.
func (w *Watcher) Evaluate(ev *event.Event) Result { return w.Current().Evaluate(ev) }
