package models_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// Defects an independent review of the ledger found, each a test that
// failed before its fix.

// a closed month's adjustment must come from a correction of its
// records (a cause, a waiver, an installation), not from a later change of
// the contract's terms. The desk raising the fee in December (a new price
// from now on) or a device moved to another cabinet in December must not
// give November, closed, a new credit.
func TestContractChangeAfterCloseIsNotAnAdjustment(t *testing.T) {
	ledgerStore(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx, dev, c := probeFixture(t, s) // web-1 in cabinet A03
		k := contract(t, s, fx.OrgA.ID, "2026-11-01", fee, "A03")
		desk := models.UserActor(fx.Service, "10.0.0.2")
		downFor(t, s, clock, c, local(t, "2026-11-20 10:00:00.000"), 65*time.Minute) // over 43.2 min: the fee
		clock.Advance(local(t, "2026-12-02 09:00:00.000").Sub(clock.Now()))
		if _, err := s.SweepClocks(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.CloseMonth(ctx, desk, fx.OrgA.ID, "2026-11"); err != nil {
			t.Fatal(err)
		}
		if got := contractOf(t, statement(t, s, fx.OrgA.ID, "2026-11"), k).Credit; got != fee {
			t.Fatalf("November closed with credit %d", got)
		}
		t.Run("fee raised in December", func(t *testing.T) {
			clock.Advance(8 * 24 * time.Hour)
			if _, err := s.UpdateContract(ctx, desk, k.Ref, models.ContractInput{MonthlyFee: 3600000, InstallationFee: k.InstallationFee,
				StartsOn: k.StartsOn, EndsOn: k.EndsOn, Renewal: k.Renewal, Cabinets: []string{"A03"}}); err != nil {
				t.Fatal(err)
			}
			if a := statement(t, s, fx.OrgA.ID, "2026-12").Adjustments; len(a) != 0 {
				t.Errorf("December adjusts the closed November after a change of price: %+v", a)
			}
		})
		t.Run("device moved to another cabinet in December", func(t *testing.T) {
			if _, err := s.UpdateDevice(ctx, desk, fx.OrgA.ID, dev.ID, models.DeviceInput{OrgID: fx.OrgA.ID, Name: dev.Name,
				Address: dev.Address, Cabinet: "Z99", Position: dev.Position}); err != nil {
				t.Fatal(err)
			}
			if a := statement(t, s, fx.OrgA.ID, "2026-12").Adjustments; len(a) != 0 {
				t.Errorf("December adjusts the closed November after a device moved: %+v", a)
			}
		})
	})
}

// the other way round, a contract whose term no longer reaches a
// closed month is never compared with it: its closed credit is neither
// kept nor taken back, while moving its device took the whole fee back.
func TestAContractMovedOutOfAClosedMonthIsNotCompared(t *testing.T) {
	ledgerStore(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx, _, c := probeFixture(t, s)
		k := contract(t, s, fx.OrgA.ID, "2026-11-01", fee, "A03")
		desk := models.UserActor(fx.Service, "10.0.0.2")
		downFor(t, s, clock, c, local(t, "2026-11-20 10:00:00.000"), 65*time.Minute)
		clock.Advance(local(t, "2026-12-02 09:00:00.000").Sub(clock.Now()))
		if _, err := s.SweepClocks(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.CloseMonth(ctx, desk, fx.OrgA.ID, "2026-11"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateContract(ctx, desk, k.Ref, models.ContractInput{MonthlyFee: fee, InstallationFee: k.InstallationFee,
			StartsOn: "2026-12-01", EndsOn: k.EndsOn, Renewal: k.Renewal, Cabinets: []string{"A03"}}); err != nil {
			t.Fatal(err)
		}
		if a := statement(t, s, fx.OrgA.ID, "2026-12").Adjustments; len(a) != 0 {
			t.Errorf("December adjusts the closed November after the contract's start moved: %+v", a)
		}
	})
}

// agreement, "The credit lines": "A miss is charged to the
// contract covering the outage's device, the first by number when several
// do". Two contracts cover cabinet A03: CT-2026-0001 (¥30,000, from 1
// November) and CT-2026-0002 (¥60,000, entered second but running since 1
// October). The miss of 2 November belongs to CT-2026-0001 (¥1,000.00);
// the statement charges CT-2026-0002 (¥2,000.00), the first by start.
func TestAMissIsChargedToTheFirstContractByNumber(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		n := newNoticeScene(t, s, clock)
		n.contact("Sun Li", "sun.li@alpha.test", true)
		n.confirm()
		first := &models.Contract{OrgID: n.org, NumberYear: 2026, NumberSeq: 1, ServiceType: models.ServiceColocation, MonthlyFee: fee,
			SignedOn: "2026-11-01", StartsOn: "2026-11-01", EndsOn: "2027-10-31"}
		second := &models.Contract{OrgID: n.org, NumberYear: 2026, NumberSeq: 2, ServiceType: models.ServiceColocation, MonthlyFee: 2 * fee,
			SignedOn: "2026-10-01", StartsOn: "2026-10-01", EndsOn: "2027-09-30"}
		for _, c := range []*models.Contract{first, second} {
			if err := models.InsertContract(ctx, s, c, []string{"A03"}, nil); err != nil {
				t.Fatal(err)
			}
		}
		n.miss(models.DeliveryFailed)
		clock.Advance(time.Hour)
		st := statement(t, s, n.org, "2026-11")
		if l := linesOf(contractOf(t, st, first), models.LineNotice); len(l) != 1 || l[0].Amount != 100000 {
			t.Errorf("CT-2026-0001's notice lines %+v; CT-2026-0002's %+v", l, linesOf(contractOf(t, st, second), models.LineNotice))
		}
	})
}

// a month closed before statements were kept reads as closed
// ("final"), but its figures are computed from the records on every read:
// a contract entered with its real start after the upgrade gives that
// "closed" month a credit, a reclassification silently takes it away, and
// no later statement ever adjusts it.
func TestAMonthClosedBeforeTheLedgerIsFrozenAtItsFirstRead(t *testing.T) {
	ledgerStore(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx, _, c := probeFixture(t, s)
		desk, eng := models.UserActor(fx.Service, "10.0.0.2"), models.UserActor(fx.Engineer, "10.0.0.1")
		downFor(t, s, clock, c, local(t, "2026-11-20 10:00:00.000"), 65*time.Minute)
		o := lastOutage(t, s, fx.OrgA.ID, c)
		clock.Advance(local(t, "2026-12-02 09:00:00.000").Sub(clock.Now()))
		if _, err := s.SweepClocks(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.CloseMonth(ctx, desk, fx.OrgA.ID, "2026-11"); err != nil {
			t.Fatal(err)
		}
		if err := models.ForgetStatement(ctx, s, fx.OrgA.ID, "2026-11"); err != nil { // closed before migration 24
			t.Fatal(err)
		}
		k := contract(t, s, fx.OrgA.ID, "2026-11-01", fee, "A03") // the contract entered after the upgrade
		before := statement(t, s, fx.OrgA.ID, "2026-11")
		if _, err := s.ChangeOutageCause(ctx, eng, models.CauseChange{OutageID: o.ID, Cause: models.CauseCustomerEquipment, Note: "theirs"}); err != nil {
			t.Fatal(err)
		}
		after := statement(t, s, fx.OrgA.ID, "2026-11")
		dec := statement(t, s, fx.OrgA.ID, "2026-12")
		if !after.Provisional && contractOf(t, before, k).Credit != contractOf(t, after, k).Credit {
			t.Errorf("a closed November changed from %d to %d (December adjusts %+v)", contractOf(t, before, k).Credit,
				contractOf(t, after, k).Credit, dec.Adjustments)
		}
	})
}

// the demo's contracts (Store.SeedContract, no installation order)
// are linked from the statements and the contract list, but their page is
// "not found": ContractOf requires an installation order.
func TestASeededContractHasAPage(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		c := &models.Contract{OrgID: fx.OrgA.ID, ServiceType: models.ServiceColocation, MonthlyFee: fee, SignedOn: "2026-10-25",
			StartsOn: "2026-11-01", EndsOn: "2027-10-31"}
		if err := s.SeedContract(ctx, c, []string{"A03"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ContractOf(ctx, models.AllOrgs(), c.Ref); err != nil {
			t.Errorf("the seeded contract %s: %v", c.Number(), err)
		}
	})
}

// a complaint about a named employee never reaches that employee
// (agreement §8: "absent from every list and count"). The statement lists
// every clock of the month, the complaint's response clock among them, with
// its number and link; the provider's month counts it as missed.
func TestTheStatementHidesAComplaintFromTheEmployeeItNames(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		cp, err := s.CreateComplaint(ctx, models.UserActor(fx.CustA, "10.0.0.1"), fx.OrgA.ID, models.ComplaintInput{
			Category: models.ComplaintEmployee, NamedUserID: fx.Engineer.ID, Subject: "rude on the phone", Description: "…"})
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(40 * 24 * time.Hour)
		if _, err := s.SweepClocks(ctx); err != nil {
			t.Fatal(err)
		}
		month := cp.ReceivedAt.In(s.Zone()).Format("2006-01")
		st, err := s.Statement(ctx, models.ScopeOf(fx.Engineer), fx.OrgA.ID, month)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range st.Clocks {
			if k.Kind == models.ClockComplaintResponse {
				t.Errorf("the named engineer reads the complaint's clock on the statement: %+v", k)
			}
		}
		rows, err := s.ProviderMonth(ctx, models.ScopeOf(fx.Engineer), month)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.OrgID == fx.OrgA.ID && r.ClocksMissed != 0 {
				t.Errorf("the named engineer's provider view counts the complaint's missed clock: %+v", r)
			}
		}
	})
}

// The running month's statement does not compute again the closed months
// before it unless their records changed after closing: after a year of
// closed months it costs what it cost with none, and a correction makes
// only the corrected month computed again, with its adjusting line.
func TestAnOpenStatementComputesOnlyCorrectedClosedMonths(t *testing.T) {
	ledgerStore(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx, _, c := probeFixture(t, s)
		k := contract(t, s, fx.OrgA.ID, "2026-01-01", fee, "A03")
		desk, eng := models.UserActor(fx.Service, "10.0.0.2"), models.UserActor(fx.Engineer, "10.0.0.1")
		clock.Advance(local(t, "2026-01-15 00:00:00.000").Sub(clock.Now()))
		n := models.CountQueries(s)
		n.Store(0)
		statement(t, s, fx.OrgA.ID, "2026-01")
		base := n.Load()
		var o models.Outage
		for m := 1; m <= 12; m++ {
			if m == 3 { // March: over the allowance
				downFor(t, s, clock, c, local(t, "2026-03-10 10:00:00.000"), 65*time.Minute)
				o = lastOutage(t, s, fx.OrgA.ID, c)
			}
			next := time.Date(2026, time.Month(m)+1, 1, 9, 0, 0, 0, shanghai)
			clock.Advance(next.Sub(clock.Now()))
			if _, err := s.SweepClocks(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.CloseMonth(ctx, desk, fx.OrgA.ID, fmt.Sprintf("2026-%02d", m)); err != nil {
				t.Fatal(err)
			}
		}
		n.Store(0)
		if jan := statement(t, s, fx.OrgA.ID, "2027-01"); len(jan.Adjustments) != 0 {
			t.Fatalf("adjustments with nothing corrected: %+v", jan.Adjustments)
		}
		if after := n.Load(); after > base+2 {
			t.Errorf("the running month costs %d queries after a year of closed months, %d with none", after, base)
		}
		if _, err := s.ChangeOutageCause(ctx, eng, models.CauseChange{OutageID: o.ID, Cause: models.CauseCustomerEquipment, Note: "their switch"}); err != nil {
			t.Fatal(err)
		}
		jan := statement(t, s, fx.OrgA.ID, "2027-01")
		if len(jan.Adjustments) != 1 || jan.Adjustments[0].Origin != "2026-03" || jan.Adjustments[0].Amount != -fee || jan.Adjustments[0].ContractID != k.ID {
			t.Fatalf("adjustments after March's outage was reclassified: %+v", jan.Adjustments)
		}
		// A power incident of May recorded late corrects May.
		end := local(t, "2026-05-20 11:00:00.000")
		if _, err := s.RecordPowerIncident(ctx, eng, models.PowerInput{StartedAt: end.Add(-time.Hour), EndedAt: &end, BothDown: true,
			Cause: "transfer switch", Targets: []models.PowerTargetInput{{OrgID: fx.OrgA.ID}}}); err != nil {
			t.Fatal(err)
		}
		jan = statement(t, s, fx.OrgA.ID, "2027-01")
		if len(jan.Adjustments) != 2 || jan.Adjustments[1].Origin != "2026-05" || jan.Adjustments[1].Amount != fee ||
			len(jan.Adjustments[1].Changes) != 1 || jan.Adjustments[1].Changes[0].Kind != models.LinePower {
			t.Fatalf("adjustments after May's power incident was recorded: %+v", jan.Adjustments)
		}
	})
}
