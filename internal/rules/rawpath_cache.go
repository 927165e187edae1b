package rules

import (
	"reflect"
	"unsafe"

	"github.com/tripline-dev/tripline/internal/event"
)

// pathCache holds, for the event an evaluation is bound to, the values
// found in its raw document at the paths of the Sigma calls (and of the
// value index), so that the calls of several rules reading the same field
// walk the document once. A binding holds one (binding.paths); binding.reset
// rebinds it to each event, which empties it, as it empties the count()
// keys recorded. Paths are told apart by rawPath.id, which only the
// compiled paths of a Set's sigmaSites have.
type pathCache struct {
	// gen is the evaluation the cache is bound to; slots of another gen
	// are stale.
	gen uint64
	// doc is the event's raw document: only values found in it are
	// cached (a Sigma call may be given another document).
	doc unsafe.Pointer
	// slots[id] is where the values found at the path numbered id are in
	// vals, when slots[id].gen is gen.
	slots []pathSlot
	vals  []any
}

// pathSlot locates the values found at one path: vals[start:end].
type pathSlot struct {
	gen        uint64
	start, end int32
}

// bind empties c and binds it to ev (nil: to no event, dropping the
// references to the last document), allocating it when c is nil, and
// returns it.
func (c *pathCache) bind(ev *event.Event) *pathCache {
	if c == nil {
		c = &pathCache{}
	}
	clear(c.vals)
	c.vals = c.vals[:0]
	c.gen++
	c.doc = nil
	if ev != nil {
		c.doc = mapPointer(ev.Raw)
	}
	return c
}

// values returns the values found at p in doc, as rawPath.appendValues
// gives them (arrays at the end of the path not flattened). They are
// found once per evaluation when doc is the event's raw and p is one of
// the Set's compiled paths; otherwise, or with a nil c, they are found
// again. The caller must not modify or append to the slice returned.
func (c *pathCache) values(p *rawPath, doc map[string]any) []any {
	if c == nil {
		return p.appendValues(nil, doc)
	}
	if p.id < 0 || mapPointer(doc) != c.doc {
		start := len(c.vals)
		c.vals = p.appendValues(c.vals, doc)
		return c.vals[start:len(c.vals):len(c.vals)]
	}
	if p.id >= len(c.slots) {
		c.slots = append(c.slots, make([]pathSlot, p.id+1-len(c.slots))...)
	}
	slot := &c.slots[p.id]
	if slot.gen != c.gen {
		start := len(c.vals)
		c.vals = p.appendValues(c.vals, doc)
		*slot = pathSlot{gen: c.gen, start: int32(start), end: int32(len(c.vals))}
	}
	return c.vals[slot.start:slot.end:slot.end]
}

// mapPointer returns the identity of the map m (nil for a nil map).
func mapPointer(m map[string]any) unsafe.Pointer {
	return reflect.ValueOf(m).UnsafePointer()
}
