package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"gorm.io/gorm"
)

// interleaving lets a test run another piece of work, to its commit,
// right after the next read of a table by the store: what another
// engineer or another portal instance does between the first read of a
// transaction and the rest of it.
type interleaving struct {
	table string
	then  func()
}

// after arms the interleaving: then runs once, after the next read of table.
func (in *interleaving) after(table string, then func()) { in.table, in.then = table, then }

// interleavedStore opens a store on db whose reads pass through in. On
// SQLite a transaction holds the write lock from its first statement
// (_txlock=immediate): no other writer can commit inside it, so the test
// has nothing to show there and is skipped.
func interleavedStore(t *testing.T, db dbtest.DB, clock *dbtest.Clock) (*models.Store, *interleaving) {
	t.Helper()
	if db.Name == "sqlite" {
		t.Skip("SQLite serializes writers: nothing commits inside another write transaction")
	}
	g, _, err := models.Open(context.Background(), models.OpenOptions{URL: db.URL})
	if err != nil {
		t.Fatalf("open %s: %v", db.Name, err)
	}
	in := &interleaving{}
	err = g.Callback().Query().After("gorm:query").Register("test:interleave", func(tx *gorm.DB) {
		if in.then != nil && tx.Statement.Table == in.table {
			then := in.then
			in.then = nil
			then()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	s := models.NewStore(g, models.WithHasher(dbtest.FastHasher), models.WithSecretKey([]byte("test secret")), models.WithClock(clock.Now),
		models.WithNoticeWindow(0))
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, in
}

// A delivery's result re-derives the day's missed notices. Force majeure
// set while that transaction ran (after its first read) must be seen: on
// MySQL at REPEATABLE READ the re-derivation read the outage's cause from
// the snapshot of its first read and charged the day again.
func TestARederivationSeesACauseSetWhileItRan(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s, in := interleavedStore(t, db, clock)
		n := newNoticeScene(t, s, clock)
		n.contact("Ann", "ann@alpha.test", true)
		n.confirm()
		o := failOutage(t, s, n.org, n.chk, clock.Now())
		ds := n.deliveries()
		if len(ds) != 1 {
			t.Fatalf("deliveries = %+v", ds)
		}
		retry := clock.Now().Add(time.Hour)
		if err := s.RecordAttempt(ctx, "me", ds[0].ID, models.DeliveryFailed, "mail server down", &retry); err != nil {
			t.Fatal(err)
		}
		clock.Advance(21 * time.Minute)
		if _, err := s.SweepClocks(ctx); err != nil {
			t.Fatal(err)
		}
		wantOutcome(t, n.line(o), models.OutcomeCharged, "")
		clock.Advance(time.Hour)
		ds = n.deliveries() // the retry is due
		if len(ds) != 1 {
			t.Fatalf("deliveries due = %+v", ds)
		}
		in.after("deliveries", func() {
			if _, err := s.SetOutageCause(ctx, n.eng, o.ID, models.CauseFMNatural, "typhoon"); err != nil {
				t.Fatal(err)
			}
			wantOutcome(t, n.line(o), models.OutcomeWaived, models.WaiverForceMajeure)
		})
		if err := s.RecordAttempt(ctx, "me", ds[0].ID, models.DeliveryFailed, "mail server down", nil); err != nil {
			t.Fatal(err)
		}
		if in.then != nil {
			t.Fatal("the delivery's result was recorded without reading the delivery")
		}
		wantOutcome(t, n.line(o), models.OutcomeWaived, models.WaiverForceMajeure)
	})
}

// A transaction that changes a cause and read the outage before the month
// was closed must find the month closed once it re-derives: on MySQL at
// REPEATABLE READ it saw the month open and rewrote a frozen line.
func TestACauseChangeRacingTheMonthsCloseLeavesTheMonthFrozen(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s, in := interleavedStore(t, db, clock)
		n := newNoticeScene(t, s, clock)
		n.contact("Ann", "ann@alpha.test", true)
		n.confirm()
		o := n.miss(models.DeliveryFailed)
		wantOutcome(t, n.line(o), models.OutcomeCharged, "")
		month := n.line(o).Day[:7]
		clock.Advance(45 * 24 * time.Hour)
		in.after("outages", func() {
			if err := s.CloseMonth(ctx, n.eng, n.org, month); err != nil {
				t.Fatal(err)
			}
		})
		if _, err := s.SetOutageCause(ctx, n.eng, o.ID, models.CauseFMNatural, "typhoon"); err != nil {
			t.Fatal(err)
		}
		if in.then != nil {
			t.Fatal("the cause was set without reading the outage")
		}
		wantOutcome(t, n.line(o), models.OutcomeCharged, "")
		if evs := outcomeAudits(t, s, n.org, models.AuditNoticeFrozen); len(evs) != 1 {
			t.Fatalf("%d frozen-outcome audits, want 1 (the change the closed month kept from happening)", len(evs))
		}
	})
}

// Two engineers give spans of one outage causes at the same time: the
// second waits for the first (the outage's row lock comes first) and lays
// its span over the first's, so both spans are kept. Before, each read
// the spans before the other wrote, and the later one's rewrite dropped
// the earlier one's span.
func TestTwoSpansSetAtOnceAreBothKept(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s, in := interleavedStore(t, db, clock)
		n := newNoticeScene(t, s, clock)
		t0 := clock.Now()
		o := failOutage(t, s, n.org, n.chk, t0)
		clock.Advance(time.Hour)
		at := func(m int) *time.Time { v := t0.Add(time.Duration(m) * time.Minute); return &v }
		raw := rawDB(t, db)
		done := make(chan error, 1)
		in.after("outages", func() {
			go func() {
				_, err := s.ChangeOutageCause(ctx, n.eng, models.CauseChange{OutageID: o.ID, Cause: models.CauseFMAttack,
					Note: "second engineer", Start: at(30), End: at(40)})
				done <- err
			}()
			// Go on once the second change has finished, or is at its
			// locking read of the outage (which waits for this one).
			for {
				select {
				case err := <-done:
					done <- err
					return
				default:
				}
				var waiting int64
				if err := raw.Raw("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE id <> CONNECTION_ID() AND info LIKE ?",
					"%FROM `outages`%FOR UPDATE").Scan(&waiting).Error; err != nil {
					t.Error(err)
					return
				}
				if waiting > 0 {
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
		if _, err := s.ChangeOutageCause(ctx, n.eng, models.CauseChange{OutageID: o.ID, Cause: models.CauseFMNatural,
			Note: "first engineer", Start: at(10), End: at(20)}); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		ps, err := s.OutageCauseSpans(ctx, models.AllOrgs(), n.org, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != 2 || ps[0].Cause != models.CauseFMNatural || ps[1].Cause != models.CauseFMAttack {
			t.Fatalf("cause spans = %+v, want the first and the second engineer's", ps)
		}
	})
}

// Migration 10 indexes the clocks by what the locking read of a day's
// missed notices filters on, so that it locks that day's clocks of the
// organization and not all of them.
func TestTheNoticeDayLockHasAnIndex(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, _ *dbtest.Clock) {
		dbtest.Open(t, db)
		if !rawDB(t, db).Migrator().HasIndex("sla_clocks", "idx_clock_notice_day") {
			t.Fatal("sla_clocks has no index idx_clock_notice_day")
		}
	})
}

// The customer's operation is a cause only for the authorized work's
// span, set from the operation's page; the device page used to give it
// to a whole outage.
func TestTheCustomersOperationIsNeverAWholeOutagesCause(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		n := newNoticeScene(t, s, clock)
		t0 := clock.Now()
		o := failOutage(t, s, n.org, n.chk, t0)
		clock.Advance(time.Hour)
		_, err := s.SetOutageCause(ctx, n.eng, o.ID, models.CauseCustomerOperation, "the customer's work")
		if v, ok := models.AsValidation(err); !ok || v.Key != "outages.error.operation_cause_whole" {
			t.Fatalf("whole outage: err = %v, want a validation error on the cause", err)
		}
		st, en := t0.Add(10*time.Minute), t0.Add(20*time.Minute)
		_, err = s.ChangeOutageCause(ctx, n.eng, models.CauseChange{OutageID: o.ID, Cause: models.CauseCustomerOperation, Start: &st, End: &en})
		if _, ok := models.AsValidation(err); !ok {
			t.Fatalf("span without a request: err = %v, want a validation error", err)
		}
		got, err := s.GetOutage(ctx, models.OrgScope(n.org), o.ID)
		if err != nil || got.Cause != models.CauseUnknown {
			t.Fatalf("outage cause = %q, %v; want it unchanged", got.Cause, err)
		}
		if ps, err := s.OutageCauseSpans(ctx, models.AllOrgs(), n.org, o.ID); err != nil || len(ps) != 0 {
			t.Fatalf("cause spans = %+v, %v; want none", ps, err)
		}
	})
}

// Work applied as a cause span while it ran, then completed with an
// earlier end: the span is cut at the work's end, so the minutes after
// the work count again, and the cut is audited.
func TestEndingTheWorkEarlierCutsItsCauseSpans(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		f := newOpFixture(t, s)
		org := f.fx.OrgA.ID
		t0 := clock.Now()
		o := failOutage(t, s, org, f.chk, t0)
		if _, err := s.RecordPhoneAuthorization(ctx, f.eng, org, f.req.ID, models.PhoneInput{ContactID: f.signer.ID, Passphrase: "blue harbour 42"}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetOperationState(ctx, f.eng, org, f.req.ID, models.StateInput{State: models.OpInProgress}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(60 * time.Minute)
		d, err := s.GetRequestDetail(ctx, models.AllOrgs(), org, f.req.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ApplyOperationCause(ctx, f.eng, d, o.ID, "still working"); err != nil {
			t.Fatal(err)
		}
		end := t0.Add(10 * time.Minute)
		if err := s.SetOperationState(ctx, f.eng, org, f.req.ID, models.StateInput{State: models.OpCompleted, WorkDone: "done",
			Result: "success", EndedAt: &end}); err != nil {
			t.Fatal(err)
		}
		ps, err := s.OutageCauseSpans(ctx, models.AllOrgs(), org, o.ID)
		if err != nil || len(ps) != 1 {
			t.Fatalf("cause spans = %+v, %v", ps, err)
		}
		if !ps[0].EndAt.Equal(end) {
			t.Fatalf("span ends %v after the work ended, want it cut at the end", ps[0].EndAt.Sub(end))
		}
		got, err := s.GetOutage(ctx, models.OrgScope(org), o.ID)
		if err != nil {
			t.Fatal(err)
		}
		counted, exempt := models.SplitTotals(models.OutageSegments(*got, ps), clock.Now())
		if exempt != ps[0].EndAt.Sub(ps[0].StartAt) || counted != clock.Now().Sub(t0)-exempt {
			t.Fatalf("counted %v, exempt %v; want only the work's %v exempt", counted, exempt, ps[0].EndAt.Sub(ps[0].StartAt))
		}
		evs, err := s.ListAudit(ctx, models.AllOrgs(), models.AuditFilter{Action: models.AuditOutageCause, OrgID: org})
		if err != nil || len(evs) != 2 || detailOf(t, evs[0])["clipped_to"] == nil {
			t.Fatalf("audit = %+v, %v; want the cut audited", evs, err)
		}
	})
}
