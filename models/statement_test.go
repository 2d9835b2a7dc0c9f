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
