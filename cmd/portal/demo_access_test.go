package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// The demo's standing access lists load at any hour, once: Aurora's three
// entries (one ended, one needing an escort), Bravo's one, two past
// entries and one person inside now.
func TestDemoStandingAccessAtAnyHour(t *testing.T) {
	ctx := context.Background()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	for _, hm := range [][2]int{{0, 0}, {0, 20}, {12, 0}, {23, 55}} {
		at := time.Date(2026, 3, 9, hm[0], hm[1], 0, 0, shanghai)
		t.Run(at.Format("15:04"), func(t *testing.T) {
			store := dbtest.Open(t, dbtest.Databases(t)[0], models.WithZone(shanghai), models.WithClock(func() time.Time { return at }))
			for range 2 {
				if err := loadDemo(ctx, store, ":8080", demoBlobs(t), io.Discard); err != nil {
					t.Fatalf("loadDemo at %v: %v", at, err)
				}
			}
			rows, err := store.ListStanding(ctx, models.AllOrgs(), 0, "")
			if err != nil || len(rows) != 4 {
				t.Fatalf("standing entries after two runs: %d (%v), want 4", len(rows), err)
			}
			status := map[string]int{}
			escorts := 0
			for _, r := range rows {
				status[r.Status]++
				if r.EscortRequired {
					escorts++
				}
			}
			if status[models.StandingActive] != 3 || status[models.StandingExpired] != 1 || escorts != 1 {
				t.Errorf("statuses %v, %d needing an escort; want 3 valid, 1 ended, 1 with escort", status, escorts)
			}
			in, err := store.StandingInside(ctx, models.AllOrgs())
			if err != nil || len(in) != 1 {
				t.Fatalf("inside now: %+v, %v", in, err)
			}
			_, n, err := store.StandingHistory(ctx, models.AllOrgs(), 0, at.AddDate(0, 0, -30), at.Add(time.Minute), 10)
			if err != nil || n != 3 {
				t.Errorf("entries in the last 30 days: %d (%v), want 3", n, err)
			}
		})
	}
}
