package pipeline

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/ledger"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/rules"
)

// renamedDecisionFields maps each rules.Decision field whose
// remediate.Decision field has another name to that name. Every other
// field must reach the remediate.Decision field of the same name.
var renamedDecisionFields = map[string]string{
	"User": "Identity",
}

// TestDecisionOfCopiesEveryField fills every field of a rules.Decision with
// a distinct non-zero value and checks that each value reaches its
// remediate.Decision field. A field added to rules.Decision fails it until
// decisionOf copies it and the field is mapped (by name or in
// renamedDecisionFields).
func TestDecisionOfCopiesEveryField(t *testing.T) {
	t.Parallel()
	var d rules.Decision
	next := 0
	fillDistinct(t, "rules.Decision", reflect.ValueOf(&d).Elem(), &next)

	got := decisionOf(kafka.Message{}, &event.Event{}, d)

	src, dst := reflect.ValueOf(d), reflect.ValueOf(got)
	for i := range src.NumField() {
		f := src.Type().Field(i)
		name := f.Name
		if renamed, ok := renamedDecisionFields[name]; ok {
			name = renamed
		}
		to := dst.FieldByName(name)
		if !to.IsValid() {
			t.Errorf("rules.Decision.%s has no remediate.Decision field %s: copy it in decisionOf, and map it in renamedDecisionFields if the name differs", f.Name, name)
			continue
		}
		sameValue(t, "rules.Decision."+f.Name+" -> remediate.Decision."+name, src.Field(i), to)
	}
	for from := range renamedDecisionFields {
		if _, ok := src.Type().FieldByName(from); !ok {
			t.Errorf("renamedDecisionFields names rules.Decision.%s, which no longer exists", from)
		}
	}
}

// fillDistinct sets every field of v, recursively, to a non-zero value no
// other field has: strings, integers (durations included) and structs of
// them. Another kind fails the test, so a new field cannot go unchecked.
func fillDistinct(t *testing.T, path string, v reflect.Value, next *int) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		*next++
		v.SetString(fmt.Sprintf("%s-%d", path, *next))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		*next++
		n := int64(*next)
		if v.Type() == reflect.TypeFor[time.Duration]() {
			n = int64(time.Duration(n) * time.Minute)
		}
		v.SetInt(n)
	case reflect.Struct:
		for i := range v.NumField() {
			fillDistinct(t, path+"."+v.Type().Field(i).Name, v.Field(i), next)
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range v.Len() {
			fillDistinct(t, fmt.Sprintf("%s[%d]", path, i), v.Index(i), next)
		}
	default:
		t.Fatalf("%s has kind %s: teach fillDistinct to fill it", path, v.Kind())
	}
}

// sameValue reports a difference between src and the field it reached.
func sameValue(t *testing.T, path string, src, dst reflect.Value) {
	t.Helper()
	if src.Kind() != dst.Kind() {
		t.Errorf("%s: kind %s reached a field of kind %s", path, src.Kind(), dst.Kind())
		return
	}
	switch src.Kind() {
	case reflect.String:
		if src.String() != dst.String() {
			t.Errorf("%s: got %q, want %q", path, dst.String(), src.String())
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if src.Int() != dst.Int() {
			t.Errorf("%s: got %d, want %d", path, dst.Int(), src.Int())
		}
	case reflect.Slice:
		if src.Len() != dst.Len() {
			t.Errorf("%s: %d elements reached %d", path, src.Len(), dst.Len())
			return
		}
		for i := range src.Len() {
			sameValue(t, fmt.Sprintf("%s[%d]", path, i), src.Index(i), dst.Index(i))
		}
	case reflect.Struct:
		for i := range src.NumField() {
			name := src.Type().Field(i).Name
			to := dst.FieldByName(name)
			if !to.IsValid() {
				t.Errorf("%s.%s has no field of that name in %s", path, name, dst.Type())
				continue
			}
			sameValue(t, path+"."+name, src.Field(i), to)
		}
	default:
		t.Errorf("%s: kind %s: teach sameValue to compare it", path, src.Kind())
	}
}

// TestApproveRuleTimeoutReachesApproval loads an approve rule with
// approval_timeout 5m, evaluates an event, and gives the decision (through
// decisionOf) to a decision service with approvals on: the pending
// approval expires 5m after it was created, not after the 30m default.
func TestApproveRuleTimeoutReachesApproval(t *testing.T) {
	t.Parallel()
	set, err := rules.Load(fstest.MapFS{"r.yaml": {Data: []byte(`
rules:
  - id: ask_first
    severity: high
    mode: approve
    approval_timeout: 5m
    action: suspend
    when: outcome == "success"
    tests:
      - {name: success, event: {user_email: a@example.com, outcome: success}, expect: {match: true}}
      - {name: failure, event: {user_email: a@example.com, outcome: failure}, expect: {match: false}}
`)}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 10, 14, 8, 0, 0, 0, time.UTC)
	ann := remediate.User{ID: "ANN", Email: "ann@example.com", State: remediate.StateActive}
	users := oneUser{ann}
	led := remediate.NewLedger(nil, remediate.LedgerConfig{Instance: "decision-fields", Now: func() time.Time { return now }})
	led.SetStore(ledger.NewMemory(led.Apply))
	var mu sync.Mutex
	var requested []remediate.Approval
	svc, err := remediate.New(remediate.Config{Approvals: true}, remediate.Deps{
		Directory: users, API: users, Ledger: led, Now: func() time.Time { return now },
		Notify: func(_ context.Context, n remediate.Notice) {
			if n.Type == remediate.NoticeApprovalRequested && n.Approval != nil {
				mu.Lock()
				requested = append(requested, *n.Approval)
				mu.Unlock()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	ev := event.Event{UserEmail: ann.Email, EventID: "e1", Time: now, Kind: "signin", Outcome: "success"}
	res := set.Evaluate(&ev)
	if len(res.Decisions) != 1 || len(res.Errors) != 0 {
		t.Fatalf("evaluate: %+v", res)
	}
	out, err := svc.Decide(t.Context(), decisionOf(kafka.Message{Topic: "signins"}, &ev, res.Decisions[0]))
	if err != nil || out.Result != remediate.ResultPendingApproval {
		t.Fatalf("decide: result %s (%s), error %v", out.Result, out.Detail, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(requested) != 1 {
		t.Fatalf("%d approvals requested, want 1", len(requested))
	}
	a := requested[0]
	if got := a.Expires.Sub(a.Created); got != 5*time.Minute {
		t.Errorf("approval %s waits %s (created %s, expires %s), want the rule's 5m", a.ID, got, a.Created, a.Expires)
	}
	if stored, ok := led.Approval(a.ID); !ok || stored.Expires.Sub(stored.Created) != 5*time.Minute {
		t.Errorf("ledger approval %s: %+v (found %t), want one that waits 5m", a.ID, stored, ok)
	}
}

// oneUser is a Directory and an API that know one active user.
type oneUser struct{ u remediate.User }

func (o oneUser) Lookup(_ context.Context, identity string) (remediate.User, error) {
	if identity != o.u.Email && identity != o.u.ID {
		return remediate.User{}, fmt.Errorf("lookup %s: %w", identity, remediate.ErrUserNotFound)
	}
	return o.u, nil
}

func (o oneUser) LoadedAt() time.Time { return time.Time{} }

func (o oneUser) GetUser(_ context.Context, id string) (remediate.User, error) {
	if id != o.u.ID {
		return remediate.User{}, fmt.Errorf("get user %s: %w", id, remediate.ErrUserNotFound)
	}
	return o.u, nil
}

func (o oneUser) SuspendUser(context.Context, string) (remediate.User, error) {
	return remediate.User{}, fmt.Errorf("suspend user: not expected before approval")
}

func (o oneUser) ReactivateUser(context.Context, string) (remediate.User, error) {
	return remediate.User{}, fmt.Errorf("reactivate user: not expected")
}

var (
	_ remediate.Directory = oneUser{}
	_ remediate.API       = oneUser{}
)
