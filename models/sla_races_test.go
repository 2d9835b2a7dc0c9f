package models_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"gorm.io/gorm"
)

// racing runs fn in another goroutine, as another engineer or portal
// instance would, and returns once fn has finished or waits for a row lock
// (MySQL: a transaction in LOCK WAIT); wait waits for fn to finish. The
// caller, inside its own transaction, then goes on: a lock it holds makes
// fn wait for its commit instead of interleaving.
func racing(t *testing.T, db dbtest.DB, fn func()) (wait func()) {
	t.Helper()
	g, _, err := models.Open(context.Background(), models.OpenOptions{URL: db.URL})
	if err != nil {
		t.Fatal(err)
	}
	var dbName string
	if err := g.Raw("SELECT DATABASE()").Scan(&dbName).Error; err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	for {
		select {
		case <-done:
			return func() {}
		default:
		}
		if lockWait(t, g, dbName) {
			return func() { <-done }
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// lockWait reports whether a transaction waits for a row lock in database
// name: SHOW ENGINE INNODB STATUS names the table of the lock it waits for
// (information_schema.innodb_trx does not list it on MariaDB).
func lockWait(t *testing.T, g *gorm.DB, name string) bool {
	t.Helper()
	var typ, file, status string
	if err := g.Raw("SHOW ENGINE INNODB STATUS").Row().Scan(&typ, &file, &status); err != nil {
		t.Fatal(err)
	}
	return regexp.MustCompile("FOR THIS LOCK TO BE GRANTED:\n[^\n]* of table `" + regexp.QuoteMeta(name) + "`").MatchString(status)
}

// startedWork authorizes f's request by phone and starts its work at the
// clock's time.
func startedWork(t *testing.T, s *models.Store, f *opFixture) {
	t.Helper()
	ctx := context.Background()
	org := f.fx.OrgA.ID
	if _, err := s.RecordPhoneAuthorization(ctx, f.eng, org, f.req.ID, models.PhoneInput{ContactID: f.signer.ID, Passphrase: "blue harbour 42"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetOperationState(ctx, f.eng, org, f.req.ID, models.StateInput{State: models.OpInProgress}); err != nil {
		t.Fatal(err)
	}
}

// noSpanAfter fails when a span of the request ends after end.
func noSpanAfter(t *testing.T, s *models.Store, org, outageID, reqID int64, end time.Time) {
	t.Helper()
	ps, err := s.OutageCauseSpans(context.Background(), models.AllOrgs(), org, outageID)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.RequestID != nil && *p.RequestID == reqID && p.EndAt.After(end) {
			t.Errorf("span %v..%v of the request ends %v after the work's end", p.StartAt, p.EndAt, p.EndAt.Sub(end))
		}
	}
}

// Ending the work cuts the request's spans at its end. A cause change of
// the outage committed between the clip's read of the spans and its lock
// of the outage recreated the spans with new IDs: the cut by ID touched
// no row and the request's span kept running past the end of the work.
func TestEndingTheWorkCutsSpansRecreatedWhileItRan(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s, in := interleavedStore(t, db, clock)
		f := newOpFixture(t, s)
		org := f.fx.OrgA.ID
		t0 := clock.Now()
		o := failOutage(t, s, org, f.chk, t0)
		startedWork(t, s, f)
		clock.Advance(60 * time.Minute)
		d, err := s.GetRequestDetail(ctx, models.AllOrgs(), org, f.req.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ApplyOperationCause(ctx, f.eng, d, o.ID, "still working"); err != nil {
			t.Fatal(err)
		}
		end := t0.Add(10 * time.Minute)
		wait := func() {}
		in.after("outage_cause_spans", func() {
			wait = racing(t, db, func() {
				a, b := t0.Add(50*time.Minute), t0.Add(55*time.Minute)
				if _, err := s.ChangeOutageCause(ctx, f.eng, models.CauseChange{OutageID: o.ID, Cause: models.CauseFMNatural, Note: "x", Start: &a, End: &b}); err != nil {
					t.Error(err)
				}
			})
		})
		err = s.SetOperationState(ctx, f.eng, org, f.req.ID, models.StateInput{State: models.OpCompleted, WorkDone: "done",
			Result: "success", EndedAt: &end})
		wait()
		if err != nil {
			t.Fatal(err)
		}
		noSpanAfter(t, s, org, o.ID, f.req.ID, end)
	})
}

// A classification posted from a page read while the work ran, committed
// after another engineer completed the work with an earlier end, must not
// write a span past that end: the window is taken from the request as it
// is when the span is written, and a span outside it is refused.
func TestAStaleClassificationCannotPassTheEndOfTheWork(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		f := newOpFixture(t, s)
		org := f.fx.OrgA.ID
		t0 := clock.Now()
		o := failOutage(t, s, org, f.chk, t0)
		startedWork(t, s, f)
		clock.Advance(60 * time.Minute)
		d, err := s.GetRequestDetail(ctx, models.AllOrgs(), org, f.req.ID)
		if err != nil {
			t.Fatal(err)
		}
		end := t0.Add(10 * time.Minute)
		if err := s.SetOperationState(ctx, f.eng, org, f.req.ID, models.StateInput{State: models.OpCompleted, WorkDone: "done",
			Result: "success", EndedAt: &end}); err != nil {
			t.Fatal(err)
		}
		_, err = s.ApplyOperationCause(ctx, f.eng, d, o.ID, "stale")
		var ve *models.ValidationError
		if !errors.As(err, &ve) || ve.Key != "outages.error.span_outside_work" {
			t.Errorf("stale classification: err = %v, want the validation error outages.error.span_outside_work", err)
		}
		noSpanAfter(t, s, org, o.ID, f.req.ID, end)
	})
}

// The clock sweep marking a notice missed while force majeure is being
// set: the cause change read the clock as running (the sweep's missed not
// yet committed) and skipped it, and the sweep derived the outcome from
// the old cause, so the day stayed charged.
func TestForceMajeureSetWhileTheSweepRunsWaives(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s, in := interleavedStore(t, db, clock)
		n := newNoticeScene(t, s, clock)
		n.contact("Ann", "ann@alpha.test", true)
		n.confirm()
		o := failOutage(t, s, n.org, n.chk, clock.Now())
		ds := n.deliveries()
		retry := clock.Now().Add(time.Hour)
		if err := s.RecordAttempt(ctx, "me", ds[0].ID, models.DeliveryFailed, "mail server down", &retry); err != nil {
			t.Fatal(err)
		}
		clock.Advance(21 * time.Minute)
		wait := func() {}
		in.after("sla_clocks", func() {
			wait = racing(t, db, func() {
				if _, err := s.SweepClocks(ctx); err != nil {
					t.Error(err)
				}
			})
		})
		_, err := s.SetOutageCause(ctx, n.eng, o.ID, models.CauseFMNatural, "typhoon")
		wait()
		if err != nil {
			t.Fatal(err)
		}
		wantOutcome(t, n.line(o), models.OutcomeWaived, models.WaiverForceMajeure)
	})
}

// A transaction that re-derives missed notices takes every lock before it
// writes its first audit record: appendAudit locks the head of the audit
// chain until commit, so a record written and then a wait for a day's
// lock, held by a sweep waiting for the head, is a deadlock cycle. Ending
// the work on two outages with missed notices audited the first outage's
// cut, then locked the second outage's day.
func TestEndingTheWorkTakesItsLocksBeforeItsAuditRecords(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		if db.Name == "sqlite" {
			t.Skip("SQLite takes no row locks: its transactions hold the one write lock from their start")
		}
		ctx := context.Background()
		g, _, err := models.Open(ctx, models.OpenOptions{URL: db.URL})
		if err != nil {
			t.Fatal(err)
		}
		var recording bool
		var stmts []string
		record := func(tx *gorm.DB) {
			if recording {
				stmts = append(stmts, tx.Statement.SQL.String())
			}
		}
		cb := g.Callback()
		for name, err := range map[string]error{
			"query":  cb.Query().After("gorm:query").Register("test:record", record),
			"create": cb.Create().After("gorm:create").Register("test:record", record),
			"update": cb.Update().After("gorm:update").Register("test:record", record),
			"delete": cb.Delete().After("gorm:delete").Register("test:record", record),
			"row":    cb.Row().After("gorm:row").Register("test:record", record),
		} {
			if err != nil {
				t.Fatal(name, err)
			}
		}
		s := models.NewStore(g, models.WithHasher(dbtest.FastHasher), models.WithSecretKey([]byte("test secret")), models.WithClock(clock.Now),
			models.WithNoticeWindow(0))
		t.Cleanup(func() { s.Close() })
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		f := newOpFixture(t, s)
		org := f.fx.OrgA.ID
		t0 := clock.Now()
		startedWork(t, s, f)
		o1 := failOutage(t, s, org, f.chk, t0)
		clock.Advance(20 * time.Minute)
		recoverCheck(t, s, f.chk, clock.Now())
		o2 := failOutage(t, s, org, f.chk, t0.Add(25*time.Minute))
		clock.Advance(30 * time.Minute)
		if n, err := s.SweepClocks(ctx); err != nil || n < 2 {
			t.Fatalf("sweep = %d, %v", n, err)
		}
		d, err := s.GetRequestDetail(ctx, models.AllOrgs(), org, f.req.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range []models.Outage{o1, o2} {
			if _, err := s.ApplyOperationCause(ctx, f.eng, d, o.ID, "reboot"); err != nil {
				t.Fatal(err)
			}
		}
		end := t0.Add(10 * time.Minute)
		recording = true
		err = s.SetOperationState(ctx, f.eng, org, f.req.ID, models.StateInput{State: models.OpCompleted, WorkDone: "done",
			Result: "success", EndedAt: &end})
		recording = false
		if err != nil {
			t.Fatal(err)
		}
		audited := -1
		for i, q := range stmts {
			switch {
			case audited < 0 && strings.HasPrefix(q, "INSERT INTO `audit_events`"):
				audited = i
			case audited >= 0 && strings.HasSuffix(q, "FOR UPDATE") && !strings.Contains(q, "`audit_chain_head`"):
				t.Errorf("lock taken after the first audit record (statement %d): %s", audited, q)
			}
		}
		if audited < 0 {
			t.Fatalf("no audit record among %q", stmts)
		}
		noSpanAfter(t, s, org, o1.ID, f.req.ID, end)
		noSpanAfter(t, s, org, o2.ID, f.req.ID, end)
	})
}

// A cause change of one outage and the sweep of another outage's notice on
// the same day: each re-derivation locks the day's clocks in deadline
// order and nothing else of them first. A cause change that locked its
// outage's clock before the day waited for the sweep, which held its own
// clock and waited for that one: a deadlock, one of the two rolled back.
func TestACauseChangeAndASweepOfTheSameDayDoNotWaitInACycle(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s, in := interleavedStore(t, db, clock)
		n := newNoticeScene(t, s, clock)
		n.contact("Ann", "ann@alpha.test", true)
		n.confirm()
		first := n.miss(models.DeliveryFailed)
		wantOutcome(t, n.line(first), models.OutcomeCharged, "")
		clock.Advance(5 * time.Minute)
		second := failOutage(t, s, n.org, n.chk, clock.Now())
		ds := n.deliveries()
		retry := clock.Now().Add(time.Hour)
		for _, d := range ds {
			if err := s.RecordAttempt(ctx, "me", d.ID, models.DeliveryFailed, "mail server down", &retry); err != nil {
				t.Fatal(err)
			}
		}
		clock.Advance(21 * time.Minute)
		wait := func() {}
		in.after("sla_clocks", func() {
			wait = racing(t, db, func() {
				if _, err := s.SweepClocks(ctx); err != nil {
					t.Error(err)
				}
			})
		})
		_, err := s.SetOutageCause(ctx, n.eng, first.ID, models.CauseFMNatural, "typhoon")
		wait()
		if err != nil {
			t.Fatal(err)
		}
		wantOutcome(t, n.line(first), models.OutcomeWaived, models.WaiverForceMajeure)
		wantOutcome(t, n.line(second), models.OutcomeCharged, "")
	})
}
