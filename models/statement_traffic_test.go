package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// The statement lists, for information, the organization's ports with
// the month's 95th percentile: its own ports only (another
// organization's and unmapped ones are absent, as is a port added after
// the month), with the contract each serves, and no credit. Closing the
// month freezes the figures: samples arriving after change the port's
// month, not the closed statement.
func TestStatementListsTheOrganizationsPortsForInformation(t *testing.T) {
	ledgerStore(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		k := contract(t, s, fx.OrgA.ID, "2026-11-01", fee, "A01")
		a1 := trafficPort(t, s, 1, &fx.OrgA.ID, &k.ID)
		a2, err := models.AddTestSwitchPort(ctx, s, "access-2", 7, &fx.OrgA.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		b1 := trafficPort(t, s, 2, &fx.OrgB.ID, nil)
		unmapped := trafficPort(t, s, 3, nil, nil)
		recordTraffic(t, s, handWorkedMonth(t, a1.ID))
		from := local(t, "2026-11-10 00:00:00.000")
		var few []models.TrafficSample
		for i := 0; i < 20; i++ {
			// a2: 1, 2, … 20 × 80,000 b/s; 95th of 20 drops the top one.
			few = append(few, sample(a2.ID, from.Add(time.Duration(i)*5*time.Minute), int64(i+1)*3_000_000, 1_000),
				sample(b1.ID, from.Add(time.Duration(i)*5*time.Minute), 9_000_000, 9_000_000),
				sample(unmapped.ID, from.Add(time.Duration(i)*5*time.Minute), 9_000_000, 9_000_000))
		}
		recordTraffic(t, s, few)
		clock.Advance(local(t, "2026-12-01 00:30:00.000").Sub(clock.Now()))
		late, err := models.AddTestSwitchPort(ctx, s, "core-1", 9, &fx.OrgA.ID, nil) // added in December
		if err != nil {
			t.Fatal(err)
		}

		st := statement(t, s, fx.OrgA.ID, "2026-11")
		if len(st.Traffic) != 2 {
			t.Fatalf("traffic of %d ports %+v; want a1 and a2", len(st.Traffic), st.Traffic)
		}
		// By network device: access-2 before core-1.
		x2, x1 := st.Traffic[0], st.Traffic[1]
		want1 := models.PortTraffic{PortID: a1.ID, Ref: a1.Ref, Port: "Gi1/0/1", Switch: "core-1", ContractID: &k.ID, Contract: k.Number(),
			Samples: 8640, InP95Bps: 65_664_000, OutP95Bps: 32_832_000, BilledP95Bps: 65_664_000}
		if x1.ContractID == nil || *x1.ContractID != k.ID {
			t.Errorf("a1's contract %v, want %d", x1.ContractID, k.ID)
		}
		x1.ContractID = want1.ContractID
		if x1 != want1 {
			t.Errorf("a1 is %+v\nwant  %+v", x1, want1)
		}
		if x2.PortID != a2.ID || x2.Switch != "access-2" || x2.ContractID != nil || x2.Contract != "" ||
			x2.Samples != 20 || x2.InP95Bps != 19*80_000 || x2.OutP95Bps != 26 || x2.BilledP95Bps != 19*80_000 {
			t.Errorf("a2 is %+v; want 20 samples, 95th 1,520,000 b/s in, no contract", x2)
		}
		for _, p := range st.Traffic {
			if p.PortID == b1.ID || p.PortID == unmapped.ID || p.PortID == late.ID {
				t.Errorf("port %d listed on Alpha's statement", p.PortID)
			}
		}
		if cm := contractOf(t, st, k); len(cm.Lines) != 0 || cm.Credit != 0 {
			t.Errorf("traffic credited something: %+v", cm.Lines)
		}
		for _, tt := range st.Totals {
			if tt.Credit != 0 {
				t.Errorf("totals %+v", st.Totals)
			}
		}
		if stB := statement(t, s, fx.OrgB.ID, "2026-11"); len(stB.Traffic) != 1 || stB.Traffic[0].PortID != b1.ID {
			t.Errorf("Bravo's statement lists %+v, want its one port", stB.Traffic)
		}
		if dec := statement(t, s, fx.OrgA.ID, "2026-12"); len(dec.Traffic) != 3 {
			t.Errorf("December lists %d ports, want the one added too", len(dec.Traffic))
		}

		if err := s.CloseMonth(ctx, models.UserActor(fx.Service, "10.0.0.2"), fx.OrgA.ID, "2026-11"); err != nil {
			t.Fatal(err)
		}
		// After closing: a2's spool brings 20 more samples of November
		// at 2 Mb/s, and the janitor builds the month.
		var more []models.TrafficSample
		for i := 0; i < 20; i++ {
			more = append(more, sample(a2.ID, from.Add(time.Duration(100+i)*5*time.Minute), 75_000_000, 1_000))
		}
		recordTraffic(t, s, more)
		if _, err := s.BuildTrafficMonths(ctx); err != nil {
			t.Fatal(err)
		}
		now, err := s.TrafficMonthOf(ctx, models.AllOrgs(), a2, "2026-11")
		if err != nil || now.Samples != 40 || now.InP95Bps != 2_000_000 {
			t.Fatalf("a2's November now %+v, %v; want 40 samples, 95th 2 Mb/s", now, err)
		}
		closed := statement(t, s, fx.OrgA.ID, "2026-11")
		if closed.Provisional || len(closed.Traffic) != 2 {
			t.Fatalf("closed statement: provisional %v, traffic %+v", closed.Provisional, closed.Traffic)
		}
		if c := closed.Traffic[0]; c.PortID != a2.ID || c.Samples != 20 || c.InP95Bps != 19*80_000 {
			t.Errorf("the closed statement shows a2 as %+v; want the figures it was closed with", c)
		}
		if c := closed.Traffic[1]; c.InP95Bps != 65_664_000 || c.Contract != k.Number() {
			t.Errorf("the closed statement shows a1 as %+v", c)
		}
	})
}
