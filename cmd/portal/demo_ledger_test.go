package main

import (
	"context"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// checkDemoLedger checks that the demo's ledger shows what README says:
// contracts of the three services (Aurora's colocation ending within 60
// days, its 60-day reminder sent; Bravo's two from mid last month, B07's
// installed late), Bravo's last month closed with the refund of B07's
// installation fee, this month running, Aurora's last month open with
// the agreed maintenance excluded, a power incident with both feeds down
// on one cabinet and a force-majeure one, and the upcoming window Aurora
// agreed to and Bravo still has to answer.
func checkDemoLedger(t *testing.T, store *models.Store) {
	t.Helper()
	ctx := context.Background()
	all := models.AllOrgs()
	org := func(slug string) int64 {
		o, err := store.GetOrgBySlug(ctx, slug)
		if err != nil {
			t.Fatal(err)
		}
		return o.ID
	}
	aurora, bravo := org("aurora"), org("bravo")
	today := store.Today()

	rows, err := store.ListContracts(ctx, all, models.ContractFilter{})
	if err != nil {
		t.Fatal(err)
	}
	services, byOrg := map[string]bool{}, map[int64]int{}
	var ending, late int
	for _, r := range rows {
		services[r.ServiceType] = true
		byOrg[r.OrgID]++
		if r.EndsSoon(today) && r.Expiry60SentAt != nil {
			ending++
		}
		if r.InstallState(store.Now()) == models.InstallMissed {
			late++
		}
	}
	if len(rows) != 3 || len(services) != 3 || byOrg[aurora] != 1 || byOrg[bravo] != 2 || ending != 1 || late != 1 {
		t.Errorf("demo contracts: %d of %d services (Aurora %d, Bravo %d), %d ending with the reminder sent, %d installed late; want 3 of 3 (1, 2), 1, 1",
			len(rows), len(services), byOrg[aurora], byOrg[bravo], ending, late)
	}

	months := func(orgID int64) []models.StatementMonth {
		ms, err := store.StatementMonths(ctx, all, orgID)
		if err != nil || len(ms) < 2 {
			t.Fatalf("statements of organization %d: %+v, %v", orgID, ms, err)
		}
		return ms
	}
	bm, am := months(bravo), months(aurora)
	if len(bm) != 2 || bm[0].State != models.StatementRunning || bm[1].State != models.StatementClosed || am[1].State != models.StatementOpen {
		t.Errorf("Bravo's %d months: this month %s, its last month %s, Aurora's %s; want 2: running, closed, open", len(bm), bm[0].State, bm[1].State, am[1].State)
	}
	// Aurora's earlier months were closed as they ended, each with its
	// contract (the organization was opened the day it signed).
	for _, m := range am[2:] {
		if m.State != models.StatementClosed || m.Contracts != 1 {
			t.Errorf("Aurora's %s: %s with %d contracts, want closed with 1", m.Month, m.State, m.Contracts)
		}
	}
	if len(am) < 10 {
		t.Errorf("Aurora has %d months of statements, want its contract's year so far", len(am))
	}
	closed, err := store.Statement(ctx, all, bravo, bm[1].Month)
	if err != nil {
		t.Fatal(err)
	}
	var refund bool
	for _, cm := range closed.Contracts {
		if cm.Days >= cm.MonthDays {
			t.Errorf("Bravo's %s runs %d of %d days of last month, want from the 16th", cm.Number, cm.Days, cm.MonthDays)
		}
		refund = refund || slices.ContainsFunc(cm.Lines, func(l models.CreditLine) bool {
			return l.Kind == models.LineInstallation && l.Amount == cm.InstallationFee
		})
	}
	if closed.Provisional || !refund || len(closed.Totals) != 1 || closed.Totals[0].Credit <= 0 {
		t.Errorf("Bravo's closed month: provisional %v, refund %v, totals %+v", closed.Provisional, refund, closed.Totals)
	}
	open, err := store.Statement(ctx, all, aurora, am[1].Month)
	if err != nil || len(open.Contracts) != 1 {
		t.Fatalf("Aurora's last month: %+v, %v", open, err)
	}
	if !slices.ContainsFunc(open.Contracts[0].Network.Excluded, func(e models.Excluded) bool { return e.Cause == string(models.CauseCustomerMaintenance) }) {
		t.Errorf("Aurora's last month excludes %+v, want agreed maintenance", open.Contracts[0].Network.Excluded)
	}

	power, err := store.PowerIncidents(ctx, all, models.PowerFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var counts, forceMajeure int
	for _, p := range power {
		switch {
		case p.CountsAgainstProvider() && p.Orgs == 1:
			counts++
		case p.ForceMajeure && p.BothDown:
			forceMajeure++
		}
	}
	if counts != 1 || forceMajeure != 1 {
		t.Errorf("power incidents %+v: want one counting against the provider and one force majeure", power)
	}

	soon, err := store.ListMaintenance(ctx, all, false, 10)
	if err != nil || len(soon) != 1 || soon[0].Orgs != 2 || soon[0].Agreed != 1 {
		t.Errorf("upcoming maintenance: %+v, %v; want one window of two organizations, one agreed", soon, err)
	}
	for id, want := range map[int64]int{aurora: 0, bravo: 1} {
		if ws, err := store.MaintenanceToAnswer(ctx, all, id, 10); err != nil || len(ws) != want {
			t.Errorf("organization %d has %d windows to answer (%v), want %d", id, len(ws), err, want)
		}
	}
	past, err := store.ListMaintenance(ctx, all, true, 10)
	if err != nil || len(past) != 1 || past[0].Agreed != 1 {
		t.Errorf("past maintenance: %+v, %v; want one window, agreed", past, err)
	}
}

// The ledger tells the same story whatever the day the demo first
// starts: in the first seconds of a month (last month February), on the
// last evening of a year and the first night of the next (a year with no
// working-day calendar configured), and on a day whose last month's
// installation fell in the National Day holidays.
func TestDemoLedgerOnAnyDay(t *testing.T) {
	ctx := context.Background()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{
		time.Date(2026, 3, 1, 0, 0, 20, 0, shanghai),
		time.Date(2026, 12, 31, 23, 50, 0, 0, shanghai),
		time.Date(2027, 1, 1, 0, 10, 0, 0, shanghai),
		time.Date(2026, 11, 3, 9, 0, 0, 0, shanghai),
	} {
		t.Run(at.Format("2006-01-02T15:04"), func(t *testing.T) {
			store := dbtest.Open(t, dbtest.Databases(t)[0], models.WithZone(shanghai), models.WithClock(func() time.Time { return at }))
			if err := loadDemo(ctx, store, ":8080", demoBlobs(t), io.Discard); err != nil {
				t.Fatalf("loadDemo at %v: %v", at, err)
			}
			checkDemoLedger(t, store)
		})
	}
}
