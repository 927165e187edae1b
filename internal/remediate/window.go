package remediate

import (
	"slices"
	"sort"
	"time"
)

// windowIndex holds the suspensions the breakers' windows count, so that
// counting a window costs O(log n) plus the holds in flight, whatever the
// history: every suspension sorted by time, the same per rule (for the
// rules' max_actions), and the holds not yet confirmed nor released apart
// (few: one per decision in flight on any instance, and those of
// instances that died mid-call), whose in-flight part a count reads one by
// one. The Ledger keeps it under its lock.
type windowIndex struct {
	all    timeline
	byRule map[string]*timeline
	holds  []suspension // the pending holds, in no order
}

func newWindowIndex() *windowIndex {
	return &windowIndex{byRule: map[string]*timeline{}}
}

// add records a suspension (or a hold) made at s.at. It does not check
// for duplicates: the Ledger adds each suspension once.
func (w *windowIndex) add(s suspension) {
	w.all.insert(s)
	r := w.byRule[s.rule]
	if r == nil {
		r = &timeline{}
		w.byRule[s.rule] = r
	}
	r.insert(s)
}

// remove forgets a suspension added before (a hold released or
// replaced), and its pending hold if it has one.
func (w *windowIndex) remove(s suspension) {
	w.settle(s)
	if !w.all.remove(s) {
		return
	}
	if r := w.byRule[s.rule]; r != nil {
		r.remove(s)
		if len(*r) == 0 {
			delete(w.byRule, s.rule)
		}
	}
}

// cut forgets every suspension made before t, handing each to forgotten,
// oldest first.
func (w *windowIndex) cut(t time.Time, forgotten func(suspension)) {
	w.all.cut(t, func(s suspension) {
		if r := w.byRule[s.rule]; r != nil {
			r.cut(t, nil)
			if len(*r) == 0 {
				delete(w.byRule, s.rule)
			}
		}
		w.settle(s)
		forgotten(s)
	})
}

// hold notes that s, added before, is a pending hold.
func (w *windowIndex) hold(s suspension) {
	if !slices.Contains(w.holds, s) {
		w.holds = append(w.holds, s)
	}
}

// settle notes that s is no longer a pending hold.
func (w *windowIndex) settle(s suspension) {
	if i := slices.Index(w.holds, s); i >= 0 {
		last := len(w.holds) - 1
		w.holds[i] = w.holds[last]
		w.holds[last] = suspension{}
		w.holds = w.holds[:last]
	}
}

// count counts the suspensions made after since, of rule only when
// perRule.
func (w *windowIndex) count(rule string, perRule bool, since time.Time) int {
	if !perRule {
		return w.all.after(since)
	}
	if r := w.byRule[rule]; r != nil {
		return r.after(since)
	}
	return 0
}

// pendingHolds returns the pending holds made after since, of rule only
// when perRule, to yield, until it returns false.
func (w *windowIndex) pendingHolds(rule string, perRule bool, since time.Time, yield func(suspension) bool) {
	for _, s := range w.holds {
		if !s.at.After(since) || (perRule && s.rule != rule) {
			continue
		}
		if !yield(s) {
			return
		}
	}
}

// timeline is a multiset of suspensions sorted by time, equal times in
// the order they were added. Adding or removing one moves only the
// suspensions made after it (few: suspensions arrive about in time order);
// cutting the oldest moves none.
type timeline []suspension

// after counts the suspensions made after since.
func (t timeline) after(since time.Time) int {
	return len(t) - sort.Search(len(t), func(i int) bool { return t[i].at.After(since) })
}

// insert adds s after every suspension made at or before s.at.
func (t *timeline) insert(s suspension) {
	i := sort.Search(len(*t), func(i int) bool { return (*t)[i].at.After(s.at) })
	if i == len(*t) {
		*t = append(*t, s)
		return
	}
	*t = slices.Insert(*t, i, s)
}

// remove removes one s and reports whether there was one.
func (t *timeline) remove(s suspension) bool {
	ts := *t
	for i := sort.Search(len(ts), func(i int) bool { return !ts[i].at.Before(s.at) }); i < len(ts) && ts[i].at.Equal(s.at); i++ {
		if ts[i] == s {
			*t = slices.Delete(ts, i, i+1)
			return true
		}
	}
	return false
}

// cut removes the suspensions made before at, handing each to forgotten
// (when not nil), oldest first.
func (t *timeline) cut(at time.Time, forgotten func(suspension)) {
	ts := *t
	n := sort.Search(len(ts), func(i int) bool { return !ts[i].at.Before(at) })
	if n == 0 {
		return
	}
	*t = ts[n:]
	if forgotten != nil {
		for _, s := range ts[:n] {
			forgotten(s)
		}
	}
	clear(ts[:n]) // let the cut suspensions' strings go
}
