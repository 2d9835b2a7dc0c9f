package main

import (
	"context"
	"testing"

	"github.com/colo-portal/portal/models"
)

// checkDemoContracts checks that each demo organization has exactly one
// contract this month, and that Aurora's statements reach back two months
// and Bravo's last month is prorated (its contract starts on the 16th).
func checkDemoContracts(t *testing.T, store *models.Store) {
	t.Helper()
	ctx := context.Background()
	for _, slug := range []string{"aurora", "bravo"} {
		o, err := store.GetOrgBySlug(ctx, slug)
		if err != nil {
			t.Fatal(err)
		}
		months, err := store.StatementMonths(ctx, models.AllOrgs(), o.ID)
		if err != nil || len(months) < 2 || months[0].Contracts != 1 {
			t.Fatalf("%s's statements: %+v, %v", slug, months, err)
		}
		last, err := store.Statement(ctx, models.AllOrgs(), o.ID, months[1].Month)
		if err != nil || len(last.Contracts) != 1 {
			t.Fatalf("%s's last month: %+v, %v", slug, last, err)
		}
		cm := last.Contracts[0]
		if prorated := cm.Days < cm.MonthDays; prorated != (slug == "bravo") {
			t.Errorf("%s's last month: %d of %d days", slug, cm.Days, cm.MonthDays)
		}
	}
}
