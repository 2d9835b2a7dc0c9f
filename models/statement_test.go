package models_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// The statement's rules on hand-worked months (docs/agreement.md, "The
// monthly statement"). Fees: ¥30,000.00 a month (3,000,000 fen) unless a
// case says otherwise.
const fee = 3000000

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

// ledgerStore opens a store per database with the provider's zone in
// Shanghai, as the demo and the default configuration have it.
func ledgerStore(t *testing.T, f func(t *testing.T, s *models.Store, clock *dbtest.Clock)) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		f(t, dbtest.Open(t, db, models.WithClock(clock.Now), models.WithZone(shanghai)), clock)
	})
}

// local is a time in Shanghai.
func local(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04:05.000", s, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// downFor records an outage of check c from start lasting length: two
// failures five minutes apart, then a success; the clock is moved past it
// first.
func downFor(t *testing.T, s *models.Store, clock *dbtest.Clock, c models.Check, start time.Time, length time.Duration) {
	t.Helper()
	if n := start.Add(length + time.Minute); clock.Now().Before(n) {
		clock.Advance(n.Sub(clock.Now()))
	}
	ctx := context.Background()
	if _, err := s.RecordResults(ctx, []models.ProbeResult{{CheckID: c.ID, At: start, Reason: models.ReasonTimeout},
		{CheckID: c.ID, At: start.Add(5 * time.Minute), Reason: models.ReasonTimeout}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordResults(ctx, []models.ProbeResult{{CheckID: c.ID, At: start.Add(length), OK: true, RTTus: 200}}); err != nil {
		t.Fatal(err)
	}
}

// contract stores a contract of orgID over cabinets from startsOn for two
// years.
func contract(t *testing.T, s *models.Store, orgID int64, startsOn string, monthly int64, cabinets ...string) *models.Contract {
	t.Helper()
	start, err := time.Parse(time.DateOnly, startsOn)
	if err != nil {
		t.Fatal(err)
	}
	c := &models.Contract{OrgID: orgID, NumberYear: start.Year(), NumberSeq: int(time.Now().UnixNano() % 9000), ServiceType: models.ServiceColocation,
		MonthlyFee: monthly, InstallationFee: 500000, SignedOn: startsOn, StartsOn: startsOn,
		EndsOn: start.AddDate(2, 0, -1).Format(time.DateOnly)}
	if err := models.InsertContract(context.Background(), s, c, cabinets, nil); err != nil {
		t.Fatal(err)
	}
	return c
}

func statement(t *testing.T, s *models.Store, orgID int64, month string) *models.Statement {
	t.Helper()
	st, err := s.Statement(context.Background(), models.AllOrgs(), orgID, month)
	if err != nil {
		t.Fatalf("statement %s: %v", month, err)
	}
	return st
}

func contractOf(t *testing.T, st *models.Statement, c *models.Contract) *models.ContractMonth {
	t.Helper()
	for i := range st.Contracts {
		if st.Contracts[i].ContractID == c.ID {
			return &st.Contracts[i]
		}
	}
	t.Fatalf("statement %s has no contract %d: %+v", st.Month, c.ID, st.Contracts)
	return nil
}

func linesOf(cm *models.ContractMonth, kind string) []models.CreditLine {
	var out []models.CreditLine
	for _, l := range cm.Lines {
		if l.Kind == kind {
			out = append(out, l)
		}
	}
	return out
}

// At exactly the allowance the promise is kept; a minute more and the
// month's fee is credited: 43.2 minutes of a 30-day month, 44.64 of a
// 31-day one, 40.32 of a 28-day one.
func TestStatementAtTheAllowanceAndOneMinuteOver(t *testing.T) {
	ledgerStore(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx, _, web := probeFixture(t, s) // web-1 in cabinet A03
		db1, err := s.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: fx.OrgA.ID, Name: "db-1", Address: "127.0.0.3", Cabinet: "B01"})
		if err != nil {
			t.Fatal(err)
		}
		cs, err := s.ListChecks(ctx, models.AllOrgs(), fx.OrgA.ID, db1.ID)
		if err != nil || len(cs) != 1 {
			t.Fatal(cs, err)
		}
		exact := contract(t, s, fx.OrgA.ID, "2026-11-01", fee, "A03")
		over := contract(t, s, fx.OrgA.ID, "2026-11-01", fee, "B01")
		for _, c := range []struct {
			month, start string
			days         int
			allowance    time.Duration
		}{
			{"2026-11", "2026-11-10 10:00:00.000", 30, 43*time.Minute + 12*time.Second},
			{"2026-12", "2026-12-10 10:00:00.000", 31, 44*time.Minute + 38400*time.Millisecond},
			{"2027-02", "2027-02-10 10:00:00.000", 28, 40*time.Minute + 19200*time.Millisecond},
		} {
			downFor(t, s, clock, web, local(t, c.start), c.allowance)
			downFor(t, s, clock, cs[0], local(t, c.start), c.allowance+time.Minute)
		}
		clock.Advance(local(t, "2027-03-01 00:00:01.000").Sub(clock.Now()))
		for _, c := range []struct {
			month     string
			days      int
			allowance time.Duration
		}{{"2026-11", 30, 43*time.Minute + 12*time.Second}, {"2026-12", 31, 44*time.Minute + 38400*time.Millisecond}, {"2027-02", 28, 40*time.Minute + 19200*time.Millisecond}} {
			t.Run(c.month, func(t *testing.T) {
				st := statement(t, s, fx.OrgA.ID, c.month)
				if !st.Provisional {
					t.Error("an open month's statement is provisional")
				}
				e, o := contractOf(t, st, exact), contractOf(t, st, over)
				if e.Days != c.days || e.MonthDays != c.days || e.Fee != fee || e.Network.Period != time.Duration(c.days)*24*time.Hour {
					t.Errorf("the whole month: %d of %d days, fee %d, period %s", e.Days, e.MonthDays, e.Fee, e.Network.Period)
				}
				if e.Network.Allowance != c.allowance || e.Network.Counted != c.allowance || !e.Network.Met || len(linesOf(e, models.LineNetwork)) != 0 || e.Credit != 0 {
					t.Errorf("exactly the allowance: %+v, credit %d; want kept and no credit", e.Network, e.Credit)
				}
				if want := 99.9; math.Abs(e.Network.Percent-want) > 1e-9 {
					t.Errorf("exactly the allowance reads %.6f%%, want %.1f%%", e.Network.Percent, want)
				}
				if o.Network.Counted != c.allowance+time.Minute || o.Network.Met {
					t.Errorf("a minute over: %+v, want broken", o.Network)
				}
				if l := linesOf(o, models.LineNetwork); len(l) != 1 || l[0].Amount != fee || o.Credit != fee {
					t.Errorf("a minute over credits the month's fee: lines %+v, credit %d", o.Lines, o.Credit)
				}
				if len(st.Totals) != 1 || st.Totals[0].Currency != "CNY" || st.Totals[0].Credit != fee {
					t.Errorf("totals %+v, want ¥30,000.00", st.Totals)
				}
			})
		}
	})
}

// An outage across local midnight at the end of a month is split by the
// provider's time zone: 23:50 to 00:20 gives November 10 minutes and
// December 20.
func TestAnOutageAcrossTheMonthsEndIsSplitByLocalTime(t *testing.T) {
	ledgerStore(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		fx, _, c := probeFixture(t, s)
		k := contract(t, s, fx.OrgA.ID, "2026-11-01", fee, "A03")
		downFor(t, s, clock, c, local(t, "2026-11-30 23:50:00.000"), 30*time.Minute)
		clock.Advance(40 * 24 * time.Hour)
		nov, dec := contractOf(t, statement(t, s, fx.OrgA.ID, "2026-11"), k), contractOf(t, statement(t, s, fx.OrgA.ID, "2026-12"), k)
		if nov.Network.Counted != 10*time.Minute || dec.Network.Counted != 20*time.Minute {
			t.Fatalf("November %s, December %s; want 10 and 20 minutes", nov.Network.Counted, dec.Network.Counted)
		}
		if len(nov.Network.Evidence) != 1 || nov.Network.Evidence[0].Kind != "outage" || nov.Network.Evidence[0].Label != "web-1" ||
			len(dec.Network.Evidence) != 1 || dec.Network.Evidence[0].ID != nov.Network.Evidence[0].ID {
			t.Fatalf("each month links the one outage: %+v / %+v", nov.Network.Evidence, dec.Network.Evidence)
		}
	})
}

// Downtime split across causes: of an hour, 20 minutes the customer's
// equipment (a cause span) and 40 unknown: 40 count, 20 are excluded
// with their cause.
func TestDowntimeSplitAcrossCauses(t *testing.T) {
	ledgerStore(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx, _, c := probeFixture(t, s)
		k := contract(t, s, fx.OrgA.ID, "2026-11-01", fee, "A03")
		start := local(t, "2026-11-20 10:00:00.000")
		downFor(t, s, clock, c, start, time.Hour)
		o := lastOutage(t, s, fx.OrgA.ID, c)
		from, to := start.Add(10*time.Minute), start.Add(30*time.Minute)
		if _, err := s.ChangeOutageCause(ctx, models.UserActor(fx.Engineer, "10.0.0.1"), models.CauseChange{OutageID: o.ID,
			Cause: models.CauseCustomerEquipment, Note: "their switch rebooted", Start: &from, End: &to}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(20 * 24 * time.Hour)
		cm := contractOf(t, statement(t, s, fx.OrgA.ID, "2026-11"), k)
		if cm.Network.Down != time.Hour || cm.Network.Counted != 40*time.Minute {
			t.Fatalf("down %s counted %s; want 60 and 40 minutes", cm.Network.Down, cm.Network.Counted)
		}
		if len(cm.Network.Excluded) != 1 || cm.Network.Excluded[0].Cause != string(models.CauseCustomerEquipment) || cm.Network.Excluded[0].Duration != 20*time.Minute {
			t.Fatalf("excluded %+v; want 20 minutes of the customer's equipment", cm.Network.Excluded)
		}
		if ev := cm.Network.Evidence; len(ev) != 1 || ev[0].Counted != 40*time.Minute || ev[0].Excluded != 20*time.Minute || len(ev[0].Causes) != 2 {
			t.Fatalf("evidence %+v", ev)
		}
		if !cm.Network.Met || cm.Credit != 0 {
			t.Fatalf("40 counted minutes are within a 30-day month's 43.2: met %v, credit %d", cm.Network.Met, cm.Credit)
		}
	})
}

func lastOutage(t *testing.T, s *models.Store, orgID int64, c models.Check) models.Outage {
	t.Helper()
	os, err := s.ListOutages(context.Background(), models.AllOrgs(), orgID, c.DeviceID, 1)
	if err != nil || len(os) != 1 {
		t.Fatalf("outages = %+v, %v", os, err)
	}
	return os[0]
}

// Missed notices: one day's fee (¥30,000 ÷ 30 = ¥1,000) per calendar day
// with an unwaived miss, however many that day; and the credit cap: a
// contract's credits for a month never exceed its fee plus a refunded
// installation fee.
func TestMissedNoticesAndTheCreditCap(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		n := newNoticeScene(t, s, clock)
		n.contact("Sun Li", "sun.li@alpha.test", true)
		n.confirm()
		k := contract(t, s, n.org, "2026-11-01", fee, "A03")
		n.miss(models.DeliveryFailed) // 2 November
		clock.Advance(time.Hour)
		n.miss(models.DeliveryFailed) // the same day
		clock.Advance(24 * time.Hour)
		third := n.miss(models.DeliveryFailed) // 3 November
		day2, day3 := "2026-11-02", third.StartedAt.In(s.Zone()).Format(time.DateOnly)
		if day3 != "2026-11-03" {
			t.Fatalf("the third miss is on %s", day3)
		}
		st := statement(t, s, n.org, "2026-11")
		cm := contractOf(t, st, k)
		if cm.DayFee != 100000 {
			t.Fatalf("day fee %d, want ¥1,000.00", cm.DayFee)
		}
		got := map[string][]string{}
		var notices int64
		for _, l := range linesOf(cm, models.LineNotice) {
			got[l.Day] = append(got[l.Day], l.Outcome)
			notices += l.Amount
			if l.EvidenceKind != "outage" || l.EvidenceID == 0 {
				t.Errorf("a notice line links its outage: %+v", l)
			}
		}
		if len(got[day2]) != 2 || got[day2][0] != models.OutcomeCharged || got[day2][1] != models.OutcomeNotFirst || len(got[day3]) != 1 || notices != 200000 {
			t.Fatalf("notice lines %v, %d fen; want one charge on each of two days, ¥2,000.00", got, notices)
		}
		// Three outages of 26 minutes break the network promise.
		if cm.Network.Met || len(linesOf(cm, models.LineNetwork)) != 1 {
			t.Fatalf("network %+v: want broken and credited", cm.Network)
		}
		if cm.Capped != 200000 || cm.Credit != fee {
			t.Fatalf("network fee ¥30,000 + notices ¥2,000 capped to the fee: capped %d, credit %d", cm.Capped, cm.Credit)
		}

		t.Run("power below 99.9 % too: still capped at the fee", func(t *testing.T) {
			end := time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)
			if err := models.InsertPowerIncident(ctx, s, &models.PowerIncident{NumberYear: 2026, NumberSeq: 1, StartedAt: end.Add(-time.Hour), EndedAt: &end,
				BothDown: true, Cause: "transfer switch failed"}, []models.PowerTarget{{OrgID: n.org}}); err != nil {
				t.Fatal(err)
			}
			clock.Advance(20 * 24 * time.Hour)
			cm := contractOf(t, statement(t, s, n.org, "2026-11"), k)
			if cm.Power.Counted != time.Hour || cm.Power.Met || len(linesOf(cm, models.LinePower)) != 1 {
				t.Fatalf("power %+v, lines %+v", cm.Power, cm.Lines)
			}
			if cm.Cap != fee || cm.Capped != fee+200000 || cm.Credit != fee {
				t.Fatalf("cap %d capped %d credit %d; want the credit held at the fee", cm.Cap, cm.Capped, cm.Credit)
			}
		})
	})
}

// A contract starting on 16 November runs 15 of the month's 30 days: its
// fee and its allowance are both prorated over them (docs/agreement.md,
// a contract starting or ending mid-month), downtime before the start is
// not its own, and a day's fee stays the month's fee ÷ 30.
func TestAContractStartingMidMonth(t *testing.T) {
	ledgerStore(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		fx, _, c := probeFixture(t, s)
		k := contract(t, s, fx.OrgA.ID, "2026-11-16", fee, "A03")
		downFor(t, s, clock, c, local(t, "2026-11-10 10:00:00.000"), 30*time.Minute)
		downFor(t, s, clock, c, local(t, "2026-11-20 10:00:00.000"), 22*time.Minute)
		clock.Advance(20 * 24 * time.Hour)
		cm := contractOf(t, statement(t, s, fx.OrgA.ID, "2026-11"), k)
		if cm.Days != 15 || cm.MonthDays != 30 || cm.Fee != fee/2 || cm.DayFee != 100000 {
			t.Fatalf("%d of %d days, fee %d, day fee %d", cm.Days, cm.MonthDays, cm.Fee, cm.DayFee)
		}
		if !cm.From.Equal(local(t, "2026-11-16 00:00:00.000")) || cm.Network.Allowance != 21*time.Minute+36*time.Second {
			t.Fatalf("from %s, allowance %s; want the 16th and 21.6 minutes", cm.From, cm.Network.Allowance)
		}
		if cm.Network.Counted != 22*time.Minute || cm.Network.Met || cm.Credit != fee/2 {
			t.Fatalf("counted %s, met %v, credit %d; want 22 minutes, broken, the prorated fee", cm.Network.Counted, cm.Network.Met, cm.Credit)
		}
	})
}

// Power availability counts incidents with mains and UPS both down that
// touch the contract's cabinets; force majeure and a UPS that held are
// listed as excluded, another cabinet's incident not at all.
func TestPowerIncidentsOfAContract(t *testing.T) {
	ledgerStore(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx, _, _ := probeFixture(t, s)
		k := contract(t, s, fx.OrgA.ID, "2026-11-01", fee, "A03")
		seq := 0
		incident := func(start string, length time.Duration, bothDown, fm bool, targets ...models.PowerTarget) {
			seq++
			st := local(t, start)
			end := st.Add(length)
			if err := models.InsertPowerIncident(ctx, s, &models.PowerIncident{NumberYear: 2026, NumberSeq: seq, StartedAt: st, EndedAt: &end,
				BothDown: bothDown, ForceMajeure: fm, Cause: "test"}, targets); err != nil {
				t.Fatal(err)
			}
		}
		incident("2026-11-05 10:00:00.000", 30*time.Minute, true, false, models.PowerTarget{OrgID: fx.OrgA.ID, Cabinet: "A03"})
		incident("2026-11-06 10:00:00.000", 20*time.Minute, true, true, models.PowerTarget{OrgID: fx.OrgA.ID})
		incident("2026-11-07 10:00:00.000", 15*time.Minute, false, false, models.PowerTarget{OrgID: fx.OrgA.ID, Cabinet: "A03"})
		incident("2026-11-08 10:00:00.000", 50*time.Minute, true, false, models.PowerTarget{OrgID: fx.OrgA.ID, Cabinet: "C09"}, models.PowerTarget{OrgID: fx.OrgB.ID})
		clock.Advance(40 * 24 * time.Hour)
		cm := contractOf(t, statement(t, s, fx.OrgA.ID, "2026-11"), k)
		if cm.Power.Counted != 30*time.Minute || cm.Power.Down != 50*time.Minute || !cm.Power.Met {
			t.Fatalf("power %+v; want 30 counted of 50 down, kept", cm.Power)
		}
		want := map[string]time.Duration{string(models.CauseFMPublic): 20 * time.Minute, models.ExcludedUPSHeld: 15 * time.Minute}
		if len(cm.Power.Excluded) != 2 {
			t.Fatalf("excluded %+v", cm.Power.Excluded)
		}
		for _, e := range cm.Power.Excluded {
			if want[e.Cause] != e.Duration {
				t.Errorf("excluded %s %s, want %s", e.Cause, e.Duration, want[e.Cause])
			}
		}
		ev := cm.Power.Evidence
		if len(ev) != 3 || ev[0].Kind != "power" || ev[0].Label != "PI-2026-0001" || ev[0].Ref == "" || ev[0].Counted != 30*time.Minute {
			t.Fatalf("evidence %+v; want the three incidents that touched it", ev)
		}
		if held := ev[2]; held.Label != "PI-2026-0003" || held.Counted != 0 || held.Excluded != 15*time.Minute ||
			len(held.Causes) != 1 || held.Causes[0] != models.ExcludedUPSHeld || held.End == nil {
			t.Fatalf("the incident the UPS held is evidence of its exclusion: %+v", held)
		}
		if b := statement(t, s, fx.OrgB.ID, "2026-11"); len(b.Contracts) != 0 {
			t.Fatalf("organization B has no contract: %+v", b.Contracts)
		}
	})
}

// A late installation refunds its fee on the statement of the month it
// was due, and raises the cap by as much.
func TestALateInstallationRefundsItsFee(t *testing.T) {
	ledgerStore(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx, _, _ := probeFixture(t, s)
		late := contract(t, s, fx.OrgA.ID, "2026-11-01", fee, "A03")
		onTime := contract(t, s, fx.OrgA.ID, "2026-11-01", fee, "B01")
		due := local(t, "2026-11-05 00:00:00.000")
		for _, o := range []*models.InstallationOrder{
			{OrgID: fx.OrgA.ID, ContractID: late.ID, SignedAt: local(t, "2026-11-01 00:00:00.000"), DueAt: due, CompletedAt: ptr(due.Add(time.Hour))},
			{OrgID: fx.OrgA.ID, ContractID: onTime.ID, SignedAt: local(t, "2026-11-01 00:00:00.000"), DueAt: due, CompletedAt: ptr(due.Add(-time.Hour))},
		} {
			if err := models.InsertInstallationOrder(ctx, s, o); err != nil {
				t.Fatal(err)
			}
		}
		clock.Advance(40 * 24 * time.Hour)
		st := statement(t, s, fx.OrgA.ID, "2026-11")
		l, o := contractOf(t, st, late), contractOf(t, st, onTime)
		if lines := linesOf(l, models.LineInstallation); len(lines) != 1 || lines[0].Amount != 500000 || l.Cap != fee+500000 || l.Credit != 500000 {
			t.Fatalf("late: lines %+v cap %d credit %d", l.Lines, l.Cap, l.Credit)
		}
		if len(o.Lines) != 0 || o.Credit != 0 {
			t.Fatalf("on time: %+v", o.Lines)
		}
		if dec := statement(t, s, fx.OrgA.ID, "2026-12"); len(linesOf(contractOf(t, dec, late), models.LineInstallation)) != 0 {
			t.Fatal("the refund belongs to the month it was due only")
		}

		// Due at 00:00 on 1 December is the end of 30 November: a
		// November refund.
		edge := contract(t, s, fx.OrgA.ID, "2026-11-01", fee, "C01")
		end := local(t, "2026-12-01 00:00:00.000")
		if err := models.InsertInstallationOrder(ctx, s, &models.InstallationOrder{OrgID: fx.OrgA.ID, ContractID: edge.ID,
			SignedAt: local(t, "2026-11-25 00:00:00.000"), DueAt: end, CompletedAt: ptr(end.Add(time.Hour))}); err != nil {
			t.Fatal(err)
		}
		nov, dec := statement(t, s, fx.OrgA.ID, "2026-11"), statement(t, s, fx.OrgA.ID, "2026-12")
		if len(linesOf(contractOf(t, nov, edge), models.LineInstallation)) != 1 || len(linesOf(contractOf(t, dec, edge), models.LineInstallation)) != 0 {
			t.Fatal("an installation due at the end of the month's last day is refunded on that month's statement")
		}
	})
}

// A closed statement never changes: a correction afterwards (a waiver its
// inputs now give, a cause set back) becomes an adjusting line on the next
// open statement, once.
func TestAClosedStatementNeverChangesAndCorrectionsAdjustTheNextOpenMonth(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		n := newNoticeScene(t, s, clock)
		n.contact("Sun Li", "sun.li@alpha.test", true)
		n.confirm()
		k := contract(t, s, n.org, "2026-11-01", fee, "A03")
		o := n.miss(models.DeliveryFailed)
		svc := models.UserActor(n.fx.Service, "10.0.0.2")
		clock.Advance(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC).Sub(clock.Now()))
		if err := s.CloseMonth(ctx, svc, n.org, "2026-11"); err != nil {
			t.Fatal(err)
		}
		nov := statement(t, s, n.org, "2026-11")
		if nov.Provisional || nov.ClosedAt == nil || nov.Ref == "" || nov.ClosedByName != n.fx.Service.Name || contractOf(t, nov, k).Credit != 100000 {
			t.Fatalf("closed November: provisional %v, closed %v by %q, credit %d", nov.Provisional, nov.ClosedAt, nov.ClosedByName, contractOf(t, nov, k).Credit)
		}
		if _, err := s.SetOutageCause(ctx, n.eng, o.ID, models.CauseFMNatural, "flood"); err != nil {
			t.Fatal(err)
		}
		if again := statement(t, s, n.org, "2026-11"); contractOf(t, again, k).Credit != 100000 || !again.ComputedAt.Equal(nov.ComputedAt) {
			t.Fatal("a closed statement changed after a cause was set")
		}
		wantOutcome(t, n.line(o), models.OutcomeCharged, "")

		dec := statement(t, s, n.org, "2026-12")
		if len(dec.Adjustments) != 1 {
			t.Fatalf("December adjustments %+v, want one", dec.Adjustments)
		}
		a := dec.Adjustments[0]
		if a.Origin != "2026-11" || a.ContractID != k.ID || a.Amount != -100000 || a.Was != 100000 || a.Now != 0 ||
			len(a.Changes) != 1 || a.Changes[0].Kind != models.LineNotice {
			t.Fatalf("adjustment %+v; want November's day fee taken back", a)
		}
		if len(dec.Totals) != 1 || dec.Totals[0].Credit != -100000 {
			t.Fatalf("December totals %+v", dec.Totals)
		}

		clock.Advance(time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC).Sub(clock.Now()))
		if err := s.CloseMonth(ctx, svc, n.org, "2026-12"); err != nil {
			t.Fatal(err)
		}
		if jan := statement(t, s, n.org, "2027-01"); len(jan.Adjustments) != 0 {
			t.Fatalf("January repeats an adjustment December carried: %+v", jan.Adjustments)
		}
		if _, err := s.SetOutageCause(ctx, n.eng, o.ID, models.CauseProviderNetwork, "it was our router after all"); err != nil {
			t.Fatal(err)
		}
		jan := statement(t, s, n.org, "2027-01")
		if len(jan.Adjustments) != 1 || jan.Adjustments[0].Origin != "2026-11" || jan.Adjustments[0].Amount != 100000 || jan.Adjustments[0].Was != 0 {
			t.Fatalf("January adjustments %+v; want the day fee given again", jan.Adjustments)
		}
	})
}

// The provider's month lists every organization with its statement's
// figures, and only staff may read it.
func TestProviderMonth(t *testing.T) {
	ledgerStore(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx, _, c := probeFixture(t, s)
		contract(t, s, fx.OrgA.ID, "2026-11-01", fee, "A03")
		downFor(t, s, clock, c, local(t, "2026-11-10 10:00:00.000"), time.Hour)
		clock.Advance(30 * 24 * time.Hour)
		rows, err := s.ProviderMonth(ctx, models.AllOrgs(), "2026-11")
		if err != nil || len(rows) != 2 {
			t.Fatalf("rows %+v, %v", rows, err)
		}
		a, b := rows[0], rows[1]
		if a.OrgID != fx.OrgA.ID || a.Contracts != 1 || a.Breaches != 1 || a.Closed || len(a.Credits) != 1 || a.Credits[0].Credit != fee ||
			math.Abs(a.Network-100*(43200-60)/43200.0) > 1e-9 || a.Power != 100 {
			t.Errorf("organization A: %+v", a)
		}
		if b.OrgID != fx.OrgB.ID || b.Contracts != 0 || b.Breaches != 0 || len(b.Credits) != 0 {
			t.Errorf("organization B: %+v", b)
		}
		if _, err := s.ProviderMonth(ctx, models.OrgScope(fx.OrgA.ID), "2026-11"); err == nil {
			t.Error("a customer's scope read the provider's month")
		}
		if _, err := s.ProviderMonth(ctx, models.AllOrgs(), "2026-13"); !isInvalid(err) {
			t.Errorf("month 2026-13: %v", err)
		}
	})
}

// A month closed before statements were kept has no stored statement: it
// still reads as closed, never as open with a close button that answers
// "already closed".
func TestAMonthClosedBeforeTheLedgerReadsAsClosed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		n := newNoticeScene(t, s, clock)
		n.contact("Sun Li", "sun.li@alpha.test", true)
		n.confirm()
		n.miss(models.DeliveryFailed)
		clock.Advance(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC).Sub(clock.Now()))
		if err := s.CloseMonth(ctx, models.UserActor(n.fx.Service, "10.0.0.2"), n.org, "2026-11"); err != nil {
			t.Fatal(err)
		}
		if err := models.ForgetStatement(ctx, s, n.org, "2026-11"); err != nil {
			t.Fatal(err)
		}
		st := statement(t, s, n.org, "2026-11")
		if st.Provisional || st.ClosedAt == nil || len(st.Uncovered) != 1 || st.Uncovered[0].Outcome != models.OutcomeCharged {
			t.Fatalf("closed before the ledger: provisional %v, closed %v, uncovered %+v", st.Provisional, st.ClosedAt, st.Uncovered)
		}
		if s.StatementState("2026-11", !st.Provisional) != models.StatementClosed {
			t.Fatal("its state is not closed")
		}
	})
}
