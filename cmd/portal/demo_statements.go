package main

import (
	"context"
	"fmt"
	"time"

	"github.com/colo-portal/portal/models"
)

// loadDemoContracts gives the statements something to settle, unless the
// organization has a contract this month already: Aurora a colocation
// contract over cabinet A03 since the first of the month two months ago
// (¥12,800.00 a month), so its statements of the past months hold the
// demo's outages; Bravo a colocation contract over B07 since the 16th of
// last month (¥36,000.00), so last month's statement shows a contract
// starting mid-month. They are seeded as they stand (Store.SeedContract):
// the contracts area's form is the real way to sign one.
func loadDemoContracts(ctx context.Context, store *models.Store, orgIDs map[string]int64) error {
	now := store.Now().In(store.Zone())
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, store.Zone())
	for _, d := range []struct {
		org, service, cabinet string
		fee                   int64
		starts                time.Time
	}{
		{"aurora", models.ServiceColocation, "A03", 1280000, first.AddDate(0, -2, 0)},
		{"bravo", models.ServiceColocation, "B07", 3600000, first.AddDate(0, -1, 15)},
	} {
		st, err := store.Statement(ctx, models.AllOrgs(), orgIDs[d.org], store.CurrentMonth())
		if err != nil {
			return fmt.Errorf("demo contracts: %w", err)
		}
		if len(st.Contracts) > 0 {
			continue
		}
		c := &models.Contract{OrgID: orgIDs[d.org], ServiceType: d.service, MonthlyFee: d.fee, InstallationFee: d.fee / 4,
			SignedOn: d.starts.AddDate(0, 0, -7).Format(time.DateOnly), StartsOn: d.starts.Format(time.DateOnly),
			EndsOn: d.starts.AddDate(1, 0, -1).Format(time.DateOnly)}
		if err := store.SeedContract(ctx, c, []string{d.cabinet}); err != nil {
			return fmt.Errorf("demo contracts: %w", err)
		}
	}
	return nil
}
