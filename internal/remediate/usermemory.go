package remediate

import (
	"time"

	jsonv2 "github.com/go-json-experiment/json"
)

// The ledger keeps one entry per user tripline acted on: at 100,000 users
// every byte of an entry is 100 kB of heap. An entry as decoded holds the
// same texts several times (the rule, event and instance of its last
// action and of its suspension, which are the same stamp most of the
// time), and a map for a single cooldown that its last action started.
// compactLocked shares what is repeated; clone gives every reader a full,
// independent copy. Entries held by the ledger are never changed in place.

// maxInterned bounds the texts the ledger shares between entries (rule ids,
// actions, results, states, instance names): past it, new texts are kept
// as they are.
const maxInterned = 4096

// decodeUser decodes a user record strictly: the fields as tripline writes
// them (names matched exactly, none twice, valid UTF-8), into e.
func decodeUser(value []byte, e *UserEntry) *refusal {
	if err := jsonv2.Unmarshal(value, e); err != nil {
		return refuse(RefusedUndecodable, "%v", err)
	}
	return nil
}

// intern returns the ledger's shared copy of s; l.mu is held.
func (l *Ledger) intern(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := l.interned[s]; ok {
		return v
	}
	if len(l.interned) < maxInterned {
		l.interned[s] = s
	}
	return s
}

// compactLocked makes a decoded entry of user id smaller before the
// ledger keeps it: its id shares the record key's text, its low-variety
// texts are interned, its suspension shares its last action's stamp when
// they are equal, its event ids share one text, and a single cooldown
// that its last action started is folded into that stamp (clone restores
// it). l.mu is held.
func (l *Ledger) compactLocked(id string, e *UserEntry) {
	e.UserID = id
	for _, st := range []*Stamp{e.Last, e.SuspendedBy} {
		if st != nil {
			st.Rule, st.Action, st.Result = l.intern(st.Rule), l.intern(st.Action), l.intern(st.Result)
			st.Before, st.Instance = l.intern(st.Before), l.intern(st.Instance)
		}
	}
	if e.Last != nil && e.SuspendedBy != nil && *e.Last == *e.SuspendedBy {
		e.SuspendedBy = e.Last
	}
	if e.Last != nil {
		for i, ev := range e.Events {
			if ev == e.Last.Event {
				e.Events[i] = e.Last.Event
			}
		}
	}
	if e.SuspendedBy != nil && e.SuspendedBy != e.Last {
		for _, ev := range e.Events {
			if ev == e.SuspendedBy.Event {
				e.SuspendedBy.Event = ev
			}
		}
	}
	if len(e.Events) > 0 && cap(e.Events) > len(e.Events) {
		e.Events = append([]string(nil), e.Events...)
	}
	if len(e.Cooldowns) == 1 && e.Last != nil {
		if at, ok := e.Cooldowns[e.Last.Rule]; ok && at == e.Last.At {
			e.Cooldowns, e.cooldownOfLast = nil, true
		}
	}
}

// cooldowns returns the entry's cooldowns, the one folded into its last
// action included (nil when there are none).
func (e *UserEntry) cooldowns() map[string]time.Time {
	if e.cooldownOfLast {
		return map[string]time.Time{e.Last.Rule: e.Last.At}
	}
	if e.Cooldowns == nil {
		return nil
	}
	c := make(map[string]time.Time, len(e.Cooldowns))
	for k, v := range e.Cooldowns {
		c[k] = v
	}
	return c
}
