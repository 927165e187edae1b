package remediate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tripline-dev/tripline/internal/signing"
)

// StoredRecord is the latest record of one key of the state topic, as
// read, unchecked.
type StoredRecord struct {
	Key       string
	Value     []byte // nil: a tombstone
	Signature string
}

// ResignOutcome says what Resign did, or would do, with one record.
type ResignOutcome struct {
	Key string
	// Action is "signed" (written again under the current key), "kept"
	// (already signed under it), "skipped" (a tombstone) or "refused"
	// (never signed: see Detail).
	Action string
	Detail string
}

// Resign is the one-time move of a state topic to signed records: every
// record in recs (the latest of each key) that is unsigned or signed under
// the previous key is written again through store, signed under the
// current key, once a ledger without a key would accept it as it is (it
// decodes, matches its key, fits MaxStateRecordBytes and carries no time
// ahead of now). A record signed under another key, or one that would be
// refused, is never signed: it is reported, so an operator can see what an
// attacker or a bug left there before trusting the rest. With dryRun it
// writes nothing and reports what it would do.
func Resign(ctx context.Context, store Store, keys *signing.Keyring, recs []StoredRecord, now func() time.Time, dryRun bool) ([]ResignOutcome, error) {
	if !keys.Signs() {
		return nil, errors.New("resign: no signing key (set TRIPLINE_DLQ_SIGNING_KEY)")
	}
	judge := NewLedger(nil, LedgerConfig{Now: now})
	out := make([]ResignOutcome, 0, len(recs))
	var errs []error
	for _, r := range recs {
		o := ResignOutcome{Key: r.Key}
		previous, verr := keys.Verify(r.Signature, stateFields(r.Key, r.Value)...)
		switch {
		case r.Value == nil:
			o.Action, o.Detail = "skipped", "tombstone"
		case verr == nil && !previous:
			o.Action = "kept"
		case verr != nil && !errors.Is(verr, signing.ErrUnsigned):
			o.Action, o.Detail = "refused", verr.Error()
		default:
			if why := judge.wouldRefuse(r.Key, r.Value); why != nil {
				o.Action, o.Detail = "refused", why.Error()
				break
			}
			o.Action = "signed"
			if previous {
				o.Detail = "was under the previous key"
			}
			if !dryRun {
				if err := store.Put(ctx, r.Key, r.Value, keys.Sign(stateFields(r.Key, r.Value)...)); err != nil {
					errs = append(errs, fmt.Errorf("resign %s: %w", r.Key, err))
					o.Action, o.Detail = "refused", "write failed: "+err.Error()
				}
			}
		}
		out = append(out, o)
	}
	return out, errors.Join(errs...)
}

// wouldRefuse says why the ledger, without a key, would refuse key=value
// (nil when it would accept it). It applies the record to the ledger, so
// use a ledger of its own.
func (l *Ledger) wouldRefuse(key string, value []byte) *refusal {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.verify(key, value, ""); err != nil {
		return err
	}
	return l.applyLocked(key, value)
}
