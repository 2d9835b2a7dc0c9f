package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

func part(start, end string, cause models.Cause) models.OutageCauseSpan {
	return models.OutageCauseSpan{StartAt: tm(start), EndAt: tm(end), Cause: cause}
}

// Hand-worked splits: time inside a span has the span's cause, the rest
// the outage's own; a span reaching outside the outage is cut to it.
func TestOutageSegments(t *testing.T) {
	op, fm := models.CauseCustomerOperation, models.CauseFMNatural
	o := models.Outage{StartedAt: tm("2026-11-02 09:00"), EndedAt: tp("2026-11-02 10:20"), Cause: models.CauseProviderNetwork}
	type seg struct {
		start, end string
		cause      models.Cause
	}
	cases := []struct {
		name  string
		o     models.Outage
		parts []models.OutageCauseSpan
		want  []seg
	}{
		{"no span: the whole outage has its own cause", o, nil,
			[]seg{{"09:00", "10:20", models.CauseProviderNetwork}}},
		{"a span inside cuts the outage in three", o, []models.OutageCauseSpan{part("2026-11-02 09:25", "2026-11-02 09:55", op)},
			[]seg{{"09:00", "09:25", models.CauseProviderNetwork}, {"09:25", "09:55", op}, {"09:55", "10:20", models.CauseProviderNetwork}}},
		{"a span past the end is cut at the end", o, []models.OutageCauseSpan{part("2026-11-02 10:00", "2026-11-02 11:00", op)},
			[]seg{{"09:00", "10:00", models.CauseProviderNetwork}, {"10:00", "10:20", op}}},
		{"two spans, given out of order", o, []models.OutageCauseSpan{part("2026-11-02 10:00", "2026-11-02 10:10", fm), part("2026-11-02 09:00", "2026-11-02 09:10", op)},
			[]seg{{"09:00", "09:10", op}, {"09:10", "10:00", models.CauseProviderNetwork}, {"10:00", "10:10", fm}, {"10:10", "10:20", models.CauseProviderNetwork}}},
		{"an open outage keeps an open tail", models.Outage{StartedAt: o.StartedAt, Cause: models.CauseUnknown},
			[]models.OutageCauseSpan{part("2026-11-02 09:10", "2026-11-02 09:20", op)},
			[]seg{{"09:00", "09:10", models.CauseUnknown}, {"09:10", "09:20", op}, {"09:20", "", models.CauseUnknown}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := models.OutageSegments(tc.o, tc.parts)
			if len(got) != len(tc.want) {
				t.Fatalf("%d segments %+v, want %d", len(got), got, len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Start.Format("15:04") != w.start || g.Cause != w.cause || (w.end == "") != (g.End == nil) ||
					(g.End != nil && g.End.Format("15:04") != w.end) {
					t.Errorf("segment %d = %v–%v %s, want %s–%s %s", i, g.Start, g.End, g.Cause, w.start, w.end, w.cause)
				}
			}
		})
	}
	t.Run("availability subtracts only the exempt span", func(t *testing.T) {
		spans := models.SplitOutage(o, []models.OutageCauseSpan{part("2026-11-02 09:25", "2026-11-02 09:55", op)})
		a := models.ComputeAvailability(tm("2026-11-02 00:00"), tm("2026-11-03 00:00"), time.Time{}, tm("2026-12-01 00:00"), spans)
		if a.Down != 80*time.Minute || a.Counted != 50*time.Minute {
			t.Fatalf("%+v, want 80 min down and 50 counted", a)
		}
	})
}

// A cause span from work still running ends at the moment it is set: the
// minutes after it are not exempt until an engineer confirms again, and
// never past the end of the work. Spans are laid over one another, the
// newest winning; every change goes through ChangeOutageCause.
func TestCauseSpansOfUnfinishedWork(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		f := newOpFixture(t, s)
		org := f.fx.OrgA.ID
		t0 := clock.Now()
		o := failOutage(t, s, org, f.chk, t0)
		clock.Advance(22 * time.Minute)
		if _, err := s.RecordPhoneAuthorization(ctx, f.eng, org, f.req.ID, models.PhoneInput{ContactID: f.signer.ID, Passphrase: "blue harbour 42"}); err != nil {
			t.Fatal(err)
		}
		detail := func() *models.RequestDetail {
			d, err := s.GetRequestDetail(ctx, models.AllOrgs(), org, f.req.ID)
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		counted := func() time.Duration {
			a, err := s.DeviceAvailability(ctx, models.AllOrgs(), org, f.dev.ID, t0, clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			return a.Counted
		}
		// Step: Work not started has nothing to exempt.
		func() {
			if _, err := s.PlanOperationCause(ctx, detail(), o.ID); err == nil {
				t.Fatal("an outage was attributed to work that has not started")
			}
		}()
		clock.Advance(3 * time.Minute) // work starts at t0+25m
		if err := s.SetOperationState(ctx, f.eng, org, f.req.ID, models.StateInput{State: models.OpInProgress}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(10 * time.Minute)
		// Step: The span ends now while the work runs.
		func() {
			p, err := s.ApplyOperationCause(ctx, f.eng, detail(), o.ID, "")
			if err != nil || !p.Start.Equal(t0.Add(25*time.Minute)) || !p.End.Equal(t0.Add(35*time.Minute)) {
				t.Fatalf("plan = %+v, %v", p, err)
			}
			clock.Advance(20 * time.Minute) // still down, still working
			if got := counted(); got != 45*time.Minute {
				t.Fatalf("counted %v, want 45 min: 25 before the span and 20 after it", got)
			}
		}()
		// Step: Confirming again extends it to now, no further.
		func() {
			if _, err := s.ApplyOperationCause(ctx, f.eng, detail(), o.ID, ""); err != nil {
				t.Fatal(err)
			}
			ps, err := s.OutageCauseSpans(ctx, models.AllOrgs(), org, o.ID)
			if err != nil || len(ps) != 1 || !ps[0].EndAt.Equal(t0.Add(55*time.Minute)) {
				t.Fatalf("spans %+v, %v; want one to t0+55m", ps, err)
			}
		}()
		// Step: A span laid inside another cuts it.
		func() {
			st, en := t0.Add(30*time.Minute), t0.Add(40*time.Minute)
			if _, err := s.ChangeOutageCause(ctx, f.eng, models.CauseChange{OutageID: o.ID, Cause: models.CauseFMAttack, Note: "DDoS",
				Start: &st, End: &en}); err != nil {
				t.Fatal(err)
			}
			ps, _ := s.OutageCauseSpans(ctx, models.AllOrgs(), org, o.ID)
			if len(ps) != 3 || ps[1].Cause != models.CauseFMAttack || !ps[0].EndAt.Equal(st) || !ps[2].StartAt.Equal(en) ||
				ps[2].Cause != models.CauseCustomerOperation {
				t.Fatalf("spans %+v", ps)
			}
			if got := counted(); got != 25*time.Minute {
				t.Fatalf("counted %v, want 25 min", got)
			}
		}()
		// Step: A span outside the outage or in the future is refused.
		func() {
			before, st := t0.Add(-time.Minute), t0.Add(time.Minute)
			wantInvalid(t, errOf(s.ChangeOutageCause(ctx, f.eng, models.CauseChange{OutageID: o.ID, Cause: models.CauseFMAttack,
				Start: &before, End: &st})), "cause", "outages.error.span_outside")
			future := clock.Now().Add(time.Minute)
			wantInvalid(t, errOf(s.ChangeOutageCause(ctx, f.eng, models.CauseChange{OutageID: o.ID, Cause: models.CauseFMAttack,
				Start: &st, End: &future})), "cause", "outages.error.span_outside")
			wantInvalid(t, errOf(s.ChangeOutageCause(ctx, f.eng, models.CauseChange{OutageID: o.ID, Cause: models.CauseFMAttack,
				Start: &st, End: &st})), "cause", "outages.error.span_empty")
		}()
		// Step: The outage's own cause still decides the rest.
		func() {
			if _, err := s.SetOutageCause(ctx, f.eng, o.ID, models.CauseCustomerEquipment, "their switch"); err != nil {
				t.Fatal(err)
			}
			if got := counted(); got != 0 {
				t.Fatalf("counted %v, want none", got)
			}
			if n := len(auditOf(t, s, models.AuditOutageCause)); n != 4 {
				t.Fatalf("%d cause changes audited, want 4", n)
			}
		}()
		// Step: The work's end bounds the span.
		func() {
			if err := s.SetOperationState(ctx, f.eng, org, f.req.ID, models.StateInput{State: models.OpCompleted, WorkDone: "done",
				Result: "success"}); err != nil {
				t.Fatal(err)
			}
			end := clock.Now()
			clock.Advance(30 * time.Minute)
			p, err := s.PlanOperationCause(ctx, detail(), o.ID)
			if err != nil || !p.End.Equal(end) {
				t.Fatalf("plan = %+v, %v; want it to end with the work at %v", p, err, end)
			}
		}()
	})
}

func errOf[T any](_ T, err error) error { return err }

// The force-majeure waiver of a missed notice follows the cause of the
// time that holds the clock's start (the outage's confirmation): a
// force-majeure cause span there waives, one elsewhere in the outage does
// not; both are re-evaluated through ChangeOutageCause.
func TestNoticeWaiverFollowsTheCauseSpanAtConfirmation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		n := newNoticeScene(t, s, clock)
		n.contact("Sun Li", "sun.li@alpha.test", true)
		n.confirm()
		o := n.miss(models.DeliveryFailed) // started at t, confirmed at t+5m, ended at t+21m
		wantOutcome(t, n.line(o), models.OutcomeCharged, "")
		st, en := o.StartedAt.Add(10*time.Minute), o.StartedAt.Add(20*time.Minute)
		if _, err := s.ChangeOutageCause(ctx, n.eng, models.CauseChange{OutageID: o.ID, Cause: models.CauseFMAttack, Start: &st, End: &en}); err != nil {
			t.Fatal(err)
		}
		wantOutcome(t, n.line(o), models.OutcomeCharged, "")
		st = o.StartedAt
		if _, err := s.ChangeOutageCause(ctx, n.eng, models.CauseChange{OutageID: o.ID, Cause: models.CauseFMAttack, Start: &st, End: &en}); err != nil {
			t.Fatal(err)
		}
		wantOutcome(t, n.line(o), models.OutcomeWaived, models.WaiverForceMajeure)
	})
}
