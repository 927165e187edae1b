package remediate

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// clockedAPI is an API that takes its time by the service's clock: each call
// moves the test's clock by the delay of its operation before it answers.
type clockedAPI struct {
	API
	now   *time.Time
	delay map[string]time.Duration
}

func (a clockedAPI) GetUser(ctx context.Context, id string) (User, error) {
	*a.now = a.now.Add(a.delay["get"])
	return a.API.GetUser(ctx, id)
}

func (a clockedAPI) SuspendUser(ctx context.Context, id string) (User, error) {
	*a.now = a.now.Add(a.delay["suspend"])
	return a.API.SuspendUser(ctx, id)
}

func (a clockedAPI) ReactivateUser(ctx context.Context, id string) (User, error) {
	*a.now = a.now.Add(a.delay["reactivate"])
	return a.API.ReactivateUser(ctx, id)
}

// timedService is testService with its instruments on a manual reader and
// an API whose calls take get and act (suspend, reactivate) by the clock.
func timedService(t *testing.T, cfg Config, get, act time.Duration, users ...User) (*Service, *fakeAPI, *time.Time, *sdkmetric.ManualReader) {
	t.Helper()
	s, api, _, now := testService(t, cfg, users...)
	reader := sdkmetric.NewManualReader()
	m, err := newMetrics(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("test"), s)
	if err != nil {
		t.Fatal(err)
	}
	s.metrics = m
	s.api = clockedAPI{API: api, now: now, delay: map[string]time.Duration{"get": get, "suspend": act, "reactivate": act}}
	return s, api, now, reader
}

// timesToAction reads tripline_time_to_action's series, by
// "action/result".
func timesToAction(t *testing.T, reader *sdkmetric.ManualReader) map[string]metricdata.HistogramDataPoint[float64] {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.HistogramDataPoint[float64]{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "tripline_time_to_action" {
				continue
			}
			if m.Unit != "s" {
				t.Errorf("unit %q, want s", m.Unit)
			}
			h, ok := m.Data.(metricdata.Histogram[float64])
			if !ok {
				t.Fatalf("tripline_time_to_action is a %T, want a float histogram", m.Data)
			}
			for _, p := range h.DataPoints {
				action, _ := p.Attributes.Value(attribute.Key("action"))
				result, _ := p.Attributes.Value(attribute.Key("result"))
				if p.Attributes.Len() != 2 {
					t.Errorf("series with labels %v, want action and result only", p.Attributes.ToSlice())
				}
				out[action.AsString()+"/"+result.AsString()] = p
			}
		}
	}
	return out
}

// wantTimes checks that the series are exactly want: count and sum (in
// seconds) by "action/result".
func wantTimes(t *testing.T, got map[string]metricdata.HistogramDataPoint[float64], want map[string][2]float64) {
	t.Helper()
	for k, w := range want {
		p, ok := got[k]
		if !ok {
			t.Errorf("no time to action for %s", k)
			continue
		}
		if float64(p.Count) != w[0] || math.Abs(p.Sum-w[1]) > 1e-9 {
			t.Errorf("time to action for %s: count %d, sum %.3f s; want %.0f, %.3f s", k, p.Count, p.Sum, w[0], w[1])
		}
	}
	for k, p := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected time to action for %s: count %d, sum %.3f s", k, p.Count, p.Sum)
		}
	}
}

// TestTimeToActionRunsFromTheRecordToTheAPIsAnswer: a decision whose record
// reached Kafka 3 s ago is timed to the answer of its suspend call (the
// read before it took 100 ms, the call 250 ms): 3.35 s, not the 3 s to the
// start of the decision nor the 3.1 s to the read's answer.
func TestTimeToActionRunsFromTheRecordToTheAPIsAnswer(t *testing.T) {
	t.Parallel()
	s, _, now, reader := timedService(t, Config{}, 100*time.Millisecond, 250*time.Millisecond, ann, bob)
	d := suspendOf("r1", "ann@example.com", "ev-1")
	d.RecordTime = now.Add(-3 * time.Second)
	if out, err := s.Decide(t.Context(), d); err != nil || out.Result != ResultSuspended {
		t.Fatalf("Decide = %s, %v; want suspended", out.Result, err)
	}
	// A second one 1 s after its record: the sum adds up.
	d = suspendOf("r1", "bob@example.com", "ev-2")
	d.RecordTime = now.Add(-time.Second)
	if out, err := s.Decide(t.Context(), d); err != nil || out.Result != ResultSuspended {
		t.Fatalf("Decide = %s, %v; want suspended", out.Result, err)
	}
	wantTimes(t, timesToAction(t, reader), map[string][2]float64{"suspend/suspended": {2, 3.35 + 1.35}})
}

// TestTimeToActionOfEveryAnswerThatSettlesADecision: a reactivation, a
// user already suspended (the read's answer settles it) and a failed
// suspension (the API refuses) are timed with their result; a record
// dated after the answer counts as 0.
func TestTimeToActionOfEveryAnswerThatSettlesADecision(t *testing.T) {
	t.Parallel()
	carl := User{ID: "CARL", Email: "carl@example.com", State: StateSuspended}
	dora := User{ID: "DORA", Email: "dora@example.com", State: StateActive}
	s, api, now, reader := timedService(t, Config{}, 100*time.Millisecond, 250*time.Millisecond, ann, carl, dora)
	// ann: suspended by tripline, then reactivated by the same rule.
	d := suspendOf("r1", "ann@example.com", "ev-1")
	if _, err := s.Decide(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	d = Decision{RuleID: "r1", Mode: ModeEnforce, Action: ActionReactivate, Identity: "ann@example.com", EventID: "ev-2", RecordTime: now.Add(-2 * time.Second)}
	if out, err := s.Decide(t.Context(), d); err != nil || out.Result != ResultReactivated {
		t.Fatalf("reactivate: %s, %v", out.Result, err)
	}
	d = suspendOf("r1", "carl@example.com", "ev-3")
	d.RecordTime = now.Add(-time.Second)
	if out, err := s.Decide(t.Context(), d); err != nil || out.Result != ResultAlreadySuspended {
		t.Fatalf("carl: %s, %v; want already_suspended", out.Result, err)
	}
	api.errs["suspend"] = fmt.Errorf("suspend DORA: %w", ErrCannotSuspend)
	d = suspendOf("r1", "dora@example.com", "ev-4")
	d.RecordTime = now.Add(-4 * time.Second)
	if out, err := s.Decide(t.Context(), d); err == nil || out.Result != ResultFailed {
		t.Fatalf("dora: %s, %v; want failed", out.Result, err)
	}
	delete(api.errs, "suspend")
	// A record from a clock 10 s ahead.
	api.states["CARL"] = StateActive
	d = suspendOf("r1", "carl@example.com", "ev-5")
	d.RecordTime = now.Add(10 * time.Second)
	if out, err := s.Decide(t.Context(), d); err != nil || out.Result != ResultSuspended {
		t.Fatalf("carl again: %s, %v; want suspended", out.Result, err)
	}
	wantTimes(t, timesToAction(t, reader), map[string][2]float64{
		"reactivate/reactivated":    {1, 2.35},
		"suspend/already_suspended": {1, 1.1},
		"suspend/failed":            {1, 4.35},
		"suspend/suspended":         {1, 0},
	})
}

// TestTimeToActionLeavesOutWhatIsNoAction: decisions that never reach the
// API (shadow, dry run, a failure before any call), an outcome a guard gives after a read
// (grace), and an action no record timed (RecordTime zero: an approved
// action, the end of a timed suspension) are not timed.
func TestTimeToActionLeavesOutWhatIsNoAction(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		cfg  Config
		d    func(now time.Time) Decision
		prep func(t *testing.T, s *Service, now time.Time)
		want Result
	}{
		{name: "shadow", d: func(now time.Time) Decision {
			d := suspendOf("r1", "ann@example.com", "ev-1")
			d.Mode, d.RecordTime = ModeShadow, now.Add(-time.Second)
			return d
		}, want: ResultShadow},
		{name: "dry run", cfg: Config{DryRun: true}, d: func(now time.Time) Decision {
			d := suspendOf("r1", "ann@example.com", "ev-1")
			d.RecordTime = now.Add(-time.Second)
			return d
		}, want: ResultDryRun},
		{name: "grace after a read", d: func(now time.Time) Decision {
			d := suspendOf("r1", "ann@example.com", "ev-2")
			d.Grace, d.RecordTime = 24*time.Hour, now.Add(-time.Second)
			return d
		}, prep: func(t *testing.T, s *Service, now time.Time) {
			if err := s.ledger.PutUser(t.Context(), UserEntry{UserID: "ANN", SuspendedBy: &Stamp{Rule: "r1", Event: "ev-1", At: now.Add(-time.Hour)}}); err != nil {
				t.Fatal(err)
			}
		}, want: ResultGrace},
		{name: "no record time", d: func(time.Time) Decision { return suspendOf("r1", "ann@example.com", "ev-1") }, want: ResultSuspended},
		{name: "failed before the API", d: func(now time.Time) Decision {
			d := suspendOf("r1", "ann@example.com", "ev-1")
			d.UserEmail, d.EventOPUserID, d.RecordTime = "ann@example.com", "BOB", now.Add(-time.Second)
			return d
		}, want: ResultFailed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _, now, reader := timedService(t, tt.cfg, 100*time.Millisecond, 250*time.Millisecond, ann, bob)
			if tt.prep != nil {
				tt.prep(t, s, *now)
			}
			if out, err := s.Decide(t.Context(), tt.d(*now)); out.Result != tt.want || (err != nil) != (tt.want == ResultFailed) {
				t.Fatalf("Decide = %s, %v; want %s", out.Result, err, tt.want)
			}
			wantTimes(t, timesToAction(t, reader), nil)
		})
	}
}
