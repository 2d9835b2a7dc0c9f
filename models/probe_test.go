package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

func probeFixture(t *testing.T, s *models.Store) (*dbtest.Fixture, *models.Device, models.Check) {
	t.Helper()
	fx := dbtest.Seed(t, s)
	d, err := s.CreateDevice(context.Background(), models.SystemActor("test"), models.DeviceInput{OrgID: fx.OrgA.ID, Name: "web-1", Address: "127.0.0.2", Cabinet: "A03", Position: "U12"})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := s.ListChecks(context.Background(), models.AllOrgs(), fx.OrgA.ID, d.ID)
	if err != nil || len(cs) != 1 {
		t.Fatalf("a new device has checks %v (%v), want its ICMP check", cs, err)
	}
	return fx, d, cs[0]
}

func TestResultsOpenAndCloseOutages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx, d, c := probeFixture(t, s)
		if c.Kind != models.KindICMP || c.Target != "127.0.0.2" || c.IntervalSec != 300 || c.FailThreshold != 2 {
			t.Fatalf("default check = %+v", c)
		}
		t0 := clock.Now()
		at := func(i int) time.Time { return t0.Add(time.Duration(i) * 5 * time.Minute) }
		res := func(i int, ok bool) models.ProbeResult {
			r := models.ProbeResult{CheckID: c.ID, At: at(i), OK: ok, RTTus: 250 + i}
			if !ok {
				r.RTTus, r.Reason = 0, models.ReasonTimeout
			}
			return r
		}
		batch := []models.ProbeResult{res(0, true), res(1, false)}
		if n, err := s.RecordResults(ctx, batch); err != nil || n != 2 {
			t.Fatalf("record = %d, %v", n, err)
		}
		t.Run("one failure opens nothing", func(t *testing.T) {
			os, _ := s.ListOutages(ctx, models.AllOrgs(), fx.OrgA.ID, d.ID, 10)
			if len(os) != 0 {
				t.Fatalf("outages after one failure: %+v", os)
			}
		})
		// The second failure arrives with a replay of the first batch.
		if n, err := s.RecordResults(ctx, append(batch, res(2, false), res(3, false))); err != nil || n != 2 {
			t.Fatalf("record with replay = %d, %v; want only the 2 new rows", n, err)
		}
		t.Run("the second consecutive failure opens an outage dated from the first", func(t *testing.T) {
			os, err := s.ListOutages(ctx, models.AllOrgs(), fx.OrgA.ID, d.ID, 10)
			if err != nil || len(os) != 1 {
				t.Fatalf("outages = %+v, %v", os, err)
			}
			o := os[0]
			if !o.StartedAt.Equal(at(1)) || !o.ConfirmedAt.Equal(at(2)) || o.EndedAt != nil {
				t.Fatalf("outage %+v: want start %v, confirmed %v, open", o, at(1), at(2))
			}
		})
		if _, err := s.RecordResults(ctx, []models.ProbeResult{res(4, true)}); err != nil {
			t.Fatal(err)
		}
		t.Run("the first success closes it with its evidence; its notice, not gone out yet, tells of the recovery", func(t *testing.T) {
			os, _ := s.ListOutages(ctx, models.AllOrgs(), fx.OrgA.ID, d.ID, 10)
			if len(os) != 1 || os[0].EndedAt == nil || !os[0].EndedAt.Equal(at(4)) || os[0].Failures != 3 {
				t.Fatalf("outage after recovery: %+v", os)
			}
			ev, err := s.OutageEvidence(ctx, models.AllOrgs(), fx.OrgA.ID, os[0].ID)
			if err != nil || len(ev) != 3 || !ev[0].At.Equal(at(1)) || ev[0].Reason != models.ReasonTimeout {
				t.Fatalf("evidence = %+v, %v; want the 3 failed probes", ev, err)
			}
			kinds, err := s.OutboxKinds(ctx, models.AllOrgs(), fx.OrgA.ID)
			if err != nil || len(kinds) != 1 || kinds[0] != models.EventOutageOpened {
				t.Fatalf("outbox = %v, %v", kinds, err)
			}
		})
		t.Run("rollups count every stored probe once", func(t *testing.T) {
			rs, err := s.Rollups(ctx, models.AllOrgs(), fx.OrgA.ID, c.ID, "h", t0.Add(-time.Hour), t0.Add(time.Hour))
			if err != nil || len(rs) != 1 {
				t.Fatalf("hourly rollups = %+v, %v", rs, err)
			}
			r := rs[0]
			if r.Probes != 5 || r.Failures != 3 || r.RTTCount != 2 || r.RTTMinUs != 250 || r.RTTMaxUs != 254 {
				t.Fatalf("rollup = %+v", r)
			}
		})
		t.Run("another organization sees none of it", func(t *testing.T) {
			if _, err := s.GetDevice(ctx, models.OrgScope(fx.OrgB.ID), d.ID); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("org B reads org A's device: %v", err)
			}
			os, _ := s.ListOutages(ctx, models.AllOrgs(), fx.OrgB.ID, d.ID, 10)
			if len(os) != 0 {
				t.Fatal("org B lists org A's outages")
			}
		})
	})
}

func TestLeasesGiveEachCheckToOneInstance(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		for i := 0; i < 6; i++ {
			if _, err := s.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: fx.OrgA.ID, Name: "d", Address: "127.0.1.1"}); err != nil {
				t.Fatal(err)
			}
		}
		claim := func(owner string, max int) []models.Check {
			t.Helper()
			r, err := s.ShareChecks(ctx, owner, models.ShareOptions{Lease: time.Minute, Max: max})
			if err != nil {
				t.Fatalf("%s: %v", owner, err)
			}
			return r.Checks
		}
		if a := claim("a", 4); len(a) != 4 {
			t.Fatalf("a claims %d, want 4", len(a))
		}
		if b := claim("b", 100); len(b) != 2 {
			t.Fatalf("b claims %d; want the 2 left", len(b))
		}
		clock.Advance(30 * time.Second)
		if a2 := claim("a", 100); len(a2) != 4 {
			t.Fatalf("a renews %d, want its 4", len(a2))
		}
		// b stops renewing: after its lease runs out a takes its checks.
		clock.Advance(61 * time.Second)
		a3, err := s.ShareChecks(ctx, "a", models.ShareOptions{Lease: time.Minute, Max: 100})
		if err != nil || len(a3.Checks) != 6 {
			t.Fatalf("after b's lease ran out a holds %d, %v; want all 6", len(a3.Checks), err)
		}
	})
}

// A check's row is written only when its state changes; its last result
// on the pages is read from the results, reason words included (one the
// code list does not know as well), as are the reasons of an outage's
// evidence and of the raw results.
func TestLastResultAndReasonsReadBackAsWritten(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx, d, c := probeFixture(t, s)
		t0 := clock.Now()
		record := func(rs ...models.ProbeResult) {
			t.Helper()
			if n, err := s.RecordResults(ctx, rs); err != nil || n != len(rs) {
				t.Fatalf("record %d: %d, %v", len(rs), n, err)
			}
		}
		last := func() models.Check {
			t.Helper()
			cs, err := s.ListChecks(ctx, models.AllOrgs(), fx.OrgA.ID, d.ID)
			if err != nil || len(cs) != 1 {
				t.Fatalf("checks = %+v, %v", cs, err)
			}
			return cs[0]
		}
		record(models.ProbeResult{CheckID: c.ID, At: t0, OK: true, RTTus: 300})
		record(models.ProbeResult{CheckID: c.ID, At: t0.Add(time.Minute), OK: true, RTTus: 456})
		if l := last(); l.LastAt == nil || !l.LastAt.Equal(t0.Add(time.Minute)) || !l.LastOK || l.LastRTTus != 456 || l.Status != models.StatusUp {
			t.Fatalf("after two successes: %+v", l)
		}
		record(models.ProbeResult{CheckID: c.ID, At: t0.Add(2 * time.Minute), Reason: "odd_new_reason"},
			models.ProbeResult{CheckID: c.ID, At: t0.Add(3 * time.Minute), Reason: models.ReasonRefused})
		if l := last(); !l.LastAt.Equal(t0.Add(3*time.Minute)) || l.LastOK || l.LastReason != models.ReasonRefused || l.Status != models.StatusDown {
			t.Fatalf("after two failures: %+v", l)
		}
		os, err := s.ListOutages(ctx, models.AllOrgs(), fx.OrgA.ID, d.ID, 10)
		if err != nil || len(os) != 1 {
			t.Fatalf("outages = %+v, %v", os, err)
		}
		ev, err := s.OutageEvidence(ctx, models.AllOrgs(), fx.OrgA.ID, os[0].ID)
		if err != nil || len(ev) != 2 || ev[0].Reason != "odd_new_reason" || ev[1].Reason != models.ReasonRefused {
			t.Fatalf("evidence = %+v, %v", ev, err)
		}
		rs, err := s.Results(ctx, models.AllOrgs(), fx.OrgA.ID, c.ID, t0, t0.Add(time.Hour))
		if err != nil || len(rs) != 4 || rs[2].Reason != "odd_new_reason" || rs[3].Reason != models.ReasonRefused || rs[0].Reason != "" {
			t.Fatalf("results = %+v, %v", rs, err)
		}
	})
}
