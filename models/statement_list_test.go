package models_test

import (
	"context"
	"errors"
	"testing"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// An organization's list of statements runs from its first contract (or
// its creation, if earlier) to the current month, newest first, each with
// its state: running, open (ended, not closed) or closed. Seeded contracts
// are numbered like signed ones.
func TestStatementMonthsListsEveryMonthWithItsState(t *testing.T) {
	ledgerStore(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s) // organizations created 2 November 2026
		var cs []*models.Contract
		for _, starts := range []string{"2026-09-16", "2026-12-01"} {
			c := &models.Contract{OrgID: fx.OrgA.ID, ServiceType: models.ServiceColocation, MonthlyFee: fee, SignedOn: starts, StartsOn: starts, EndsOn: "2027-08-31"}
			if err := s.SeedContract(ctx, c, []string{"A03"}); err != nil {
				t.Fatal(err)
			}
			cs = append(cs, c)
		}
		if cs[0].Number() != "CT-2026-0001" || cs[1].Number() != "CT-2026-0002" || cs[0].Ref == "" || cs[0].Currency != "CNY" || cs[0].Renewal != models.RenewalAuto {
			t.Fatalf("seeded contracts %+v, %+v", cs[0], cs[1])
		}
		clock.Advance(local(t, "2026-12-05 10:00:00.000").Sub(clock.Now()))
		if err := s.CloseMonth(ctx, models.UserActor(fx.Service, "10.0.0.2"), fx.OrgA.ID, "2026-10"); err != nil {
			t.Fatal(err)
		}
		got, err := s.StatementMonths(ctx, models.OrgScope(fx.OrgA.ID), fx.OrgA.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			month, state string
			contracts    int
		}{{"2026-12", models.StatementRunning, 2}, {"2026-11", models.StatementOpen, 1}, {"2026-10", models.StatementClosed, 1},
			{"2026-09", models.StatementOpen, 1}}
		if len(got) != len(want) {
			t.Fatalf("months %+v", got)
		}
		for i, w := range want {
			g := got[i]
			if g.Month != w.month || g.State != w.state || g.Contracts != w.contracts || len(g.Totals) != 1 || g.Totals[0].Credit != 0 {
				t.Errorf("month %d: %+v, want %+v", i, g, w)
			}
			if (g.State == models.StatementClosed) != (g.ClosedAt != nil && g.Ref != "") {
				t.Errorf("month %s: closed at %v, ref %q", g.Month, g.ClosedAt, g.Ref)
			}
		}
		// Organization B, with no contract: from its creation.
		if got, err := s.StatementMonths(ctx, models.AllOrgs(), fx.OrgB.ID); err != nil || len(got) != 2 || got[1].Month != "2026-11" || got[1].Contracts != 0 || len(got[1].Totals) != 0 {
			t.Fatalf("B's months %+v, %v", got, err)
		}
		// Another organization's list is not found.
		if _, err := s.StatementMonths(ctx, models.OrgScope(fx.OrgB.ID), fx.OrgA.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("B reading A's statements: %v", err)
		}
		if s.CurrentMonth() != "2026-12" || !s.MonthEnded("2026-11") || s.MonthEnded("2026-12") || s.MonthEnded("nonsense") {
			t.Fatal("the current month and which months ended")
		}
	})
}
