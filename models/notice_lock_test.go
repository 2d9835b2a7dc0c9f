package models_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// Two writers of probe results (two instances, or the writer and a spool
// replay) whose batches confirm outages of the same two organizations in
// opposite orders. The first holds the row of the first organization it
// joins a notice of while the second runs: the second must wait for it,
// not take the other organization first. Before, each batch locked the
// organizations in the order its checks were advanced: the second locked
// Alpha and waited for Bravo, the first then waited for Alpha, and MySQL
// rolled one back as a deadlock (1213) to be run again (a whole batch of
// results, five times at most).
func TestTwoBatchesJoiningNoticesOfTwoOrganizationsDoNotDeadlock(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s, in := interleavedStore(t, db, clock)
		var retried atomic.Int32
		models.OnTxRetry(s, func(err error) {
			retried.Add(1)
			t.Logf("run again after: %v", err)
		})
		fx := dbtest.Seed(t, s)
		if fx.OrgA.ID >= fx.OrgB.ID {
			t.Fatalf("organizations %d, %d: the test wants Alpha first", fx.OrgA.ID, fx.OrgB.ID)
		}
		check := func(org int64, i int) int64 {
			d, err := s.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: org, Name: fmt.Sprintf("d%d", i),
				Address: fmt.Sprintf("127.1.0.%d", i)})
			if err != nil {
				t.Fatal(err)
			}
			cs, err := s.ListChecks(ctx, models.AllOrgs(), org, d.ID)
			if err != nil || len(cs) != 1 {
				t.Fatalf("checks %v, %v", cs, err)
			}
			return cs[0].ID
		}
		a1, a2 := check(fx.OrgA.ID, 1), check(fx.OrgA.ID, 2)
		b1, b2 := check(fx.OrgB.ID, 3), check(fx.OrgB.ID, 4)
		t0 := clock.Now()
		// Two failures each confirm an outage (the default threshold).
		batch := func(ids ...int64) []models.ProbeResult {
			var rs []models.ProbeResult
			for _, id := range ids {
				rs = append(rs, models.ProbeResult{CheckID: id, At: t0, Reason: models.ReasonTimeout},
					models.ProbeResult{CheckID: id, At: t0.Add(5 * time.Minute), Reason: models.ReasonTimeout})
			}
			return rs
		}
		clock.Advance(6 * time.Minute)
		wait := func() {}
		in.after("organizations", func() {
			wait = racing(t, db, func() {
				if _, err := s.RecordResults(ctx, batch(a2, b2)); err != nil {
					t.Error(err)
				}
			})
		})
		_, err := s.RecordResults(ctx, batch(b1, a1))
		wait()
		if err != nil {
			t.Fatal(err)
		}
		if n := retried.Load(); n != 0 {
			t.Errorf("%d transactions run again after a deadlock or lock wait, want none", n)
		}
		// Each organization's two outages share one notice, one event.
		raw := rawDB(t, db)
		for _, org := range []int64{fx.OrgA.ID, fx.OrgB.ID} {
			var notices []int64
			if err := raw.Raw("SELECT id FROM notices WHERE org_id = ? AND kind = ?", org, models.NoticeOpened).Scan(&notices).Error; err != nil {
				t.Fatal(err)
			}
			if len(notices) != 1 {
				t.Fatalf("organization %d: opened notices %v, want one", org, notices)
			}
			var members, events int64
			if err := raw.Raw("SELECT COUNT(*) FROM notice_outages WHERE notice_id = ?", notices[0]).Scan(&members).Error; err != nil {
				t.Fatal(err)
			}
			if err := raw.Raw("SELECT COUNT(*) FROM outbox WHERE org_id = ? AND kind = ?", org, models.EventOutageOpened).Scan(&events).Error; err != nil {
				t.Fatal(err)
			}
			if members != 2 || events != 1 {
				t.Errorf("organization %d: notice %d has %d outages and %d events, want 2 and 1", org, notices[0], members, events)
			}
		}
	})
}

// Joined at the end of the transaction, organization by organization: an
// outage confirmed and ended in one batch is still told only in its opened
// notice, as recovered there, whatever organizations the batch names
// before it; the other organization's outage gets its own notice.
func TestAnOutageOpenedAndEndedInOneBatchIsToldInItsOpenedNotice(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		check := func(org int64, i int) models.Check {
			d, err := s.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: org, Name: fmt.Sprintf("d%d", i),
				Address: fmt.Sprintf("127.1.0.%d", i)})
			if err != nil {
				t.Fatal(err)
			}
			cs, err := s.ListChecks(ctx, models.AllOrgs(), org, d.ID)
			if err != nil || len(cs) != 1 {
				t.Fatalf("checks %v, %v", cs, err)
			}
			return cs[0]
		}
		ca, cb := check(fx.OrgA.ID, 1), check(fx.OrgB.ID, 2)
		a, b := ca.ID, cb.ID
		t0 := clock.Now()
		clock.Advance(11 * time.Minute)
		rs := []models.ProbeResult{
			{CheckID: b, At: t0, Reason: models.ReasonTimeout},
			{CheckID: b, At: t0.Add(5 * time.Minute), Reason: models.ReasonTimeout},
			{CheckID: b, At: t0.Add(10 * time.Minute), OK: true, RTTus: 300},
			{CheckID: a, At: t0, Reason: models.ReasonTimeout},
			{CheckID: a, At: t0.Add(5 * time.Minute), Reason: models.ReasonTimeout},
		}
		if _, err := s.RecordResults(ctx, rs); err != nil {
			t.Fatal(err)
		}
		for _, org := range []int64{fx.OrgA.ID, fx.OrgB.ID} {
			kinds, err := s.OutboxKinds(ctx, models.AllOrgs(), org)
			if err != nil {
				t.Fatal(err)
			}
			if len(kinds) != 1 || kinds[0] != models.EventOutageOpened {
				t.Errorf("organization %d: events %v, want one %s", org, kinds, models.EventOutageOpened)
			}
		}
		os, err := s.ListOutages(ctx, models.AllOrgs(), fx.OrgB.ID, cb.DeviceID, 10)
		if err != nil || len(os) != 1 || os[0].EndedAt == nil {
			t.Fatalf("Bravo's outages %+v, %v: want one, ended", os, err)
		}
	})
}
