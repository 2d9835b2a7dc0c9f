package models_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// Migration 17 on a database at 16 with three days of results and the
// rollups the old writer kept: every result is still there with its
// reason (one the code list does not know included), the rollups read the
// same (the newest hour and day, which the old writer was still adding to,
// now counted from the raw results), and the janitor builds the rest.
func TestMigration17CompactsResultsAndKeepsTheirFigures(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		clock.Advance(30 * time.Minute) // 09:30
		g := rawDB(t, db)
		s := models.NewStore(g, models.WithHasher(dbtest.FastHasher), models.WithSecretKey([]byte("test secret")), models.WithClock(clock.Now))
		if err := models.MigrateTo(ctx, s, 16); err != nil {
			t.Fatal(err)
		}
		fx, _, c := probeFixture(t, s)

		// What the old writer stored: results with their reasons as text,
		// rollups added to as they came, medians of finished periods.
		reasons := []string{models.ReasonTimeout, models.ReasonRefused, "weird_reason", models.ReasonTLS}
		ref := refRollups{}
		var results []models.ProbeResult
		now := clock.Now()
		for at := now.Add(-72 * time.Hour); at.Before(now.Add(-2 * time.Minute)); at = at.Add(5 * time.Minute) {
			r := models.ProbeResult{CheckID: c.ID, At: at, OK: true, RTTus: 100 + len(results)%700}
			if len(results)%17 == 0 {
				r.OK, r.RTTus, r.Reason = false, 0, reasons[len(results)%len(reasons)]
			}
			results = append(results, r)
			ref.add(r)
		}
		for _, r := range results {
			if err := g.Exec("INSERT INTO probe_results (check_id, at, ok, rtt_us, reason) VALUES (?, ?, ?, ?, ?)",
				r.CheckID, r.At, r.OK, r.RTTus, r.Reason).Error; err != nil {
				t.Fatal(err)
			}
		}
		oldRows := refRollups{}
		for k, r := range ref {
			cp := *r
			oldRows[k] = &cp
		}
		oldRows.finalize(results)
		for _, r := range oldRows {
			if r.Period == "d" && !r.Start.Before(now.Truncate(24*time.Hour)) {
				r.RTTMedUs = 0 // today is not over
			}
			if r.Period == "h" && !r.Start.Before(now.Truncate(time.Hour)) {
				r.RTTMedUs = 0
			}
			if err := g.Exec("INSERT INTO rollups (check_id, period, start, probes, failures, rtt_count, rtt_sum_us, rtt_min_us, rtt_max_us, rtt_med_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
				r.CheckID, r.Period, r.Start, r.Probes, r.Failures, r.RTTCount, r.RTTSumUs, r.RTTMinUs, r.RTTMaxUs, r.RTTMedUs).Error; err != nil {
				t.Fatal(err)
			}
		}
		ref.finalize(results)

		if n, err := s.Migrate(ctx); err != nil || n != len(models.Versions())-16 {
			t.Fatalf("migrate from 16: %d steps, %v", n, err)
		}
		check := func(t *testing.T) {
			t.Helper()
			got, err := s.Results(ctx, models.AllOrgs(), fx.OrgA.ID, c.ID, now.Add(-73*time.Hour), now)
			if err != nil || len(got) != len(results) {
				t.Fatalf("results after migration: %d, %v; want %d", len(got), err, len(results))
			}
			for i, r := range results {
				if g := got[i]; !g.At.Equal(r.At) || g.OK != r.OK || g.RTTus != r.RTTus || g.Reason != r.Reason {
					t.Fatalf("result %d after migration: %+v, want %+v", i, g, r)
				}
			}
			var csv []string
			if err := s.EachDeviceResult(ctx, models.AllOrgs(), fx.OrgA.ID, c.DeviceID, now.Add(-73*time.Hour), now, func(r models.ResultRow) error {
				if !r.OK {
					csv = append(csv, r.Reason)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(csv) < len(reasons) || csv[0] != reasons[0] || csv[2] != "weird_reason" {
				t.Fatalf("reasons in the CSV rows: %v", csv)
			}
			for _, p := range []string{"h", "d"} {
				rs, err := s.Rollups(ctx, models.AllOrgs(), fx.OrgA.ID, c.ID, p, now.Add(-96*time.Hour), now.Add(time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				sameRollups(t, fmt.Sprintf("%s rollups after migration", p), rs, ref.of(c.ID, p))
			}
		}
		check(t)
		t.Run("running the step again changes nothing", func(t *testing.T) {
			if err := models.RerunMigrations(ctx, s); err != nil {
				t.Fatal(err)
			}
			check(t)
		})
		t.Run("the janitor builds the newest hour and day once they are over", func(t *testing.T) {
			clock.Advance(48 * time.Hour)
			if n, err := s.BuildRollups(ctx, 1000); err != nil || n == 0 {
				t.Fatalf("built %d, %v", n, err)
			}
			for _, p := range []string{"h", "d"} {
				rs, err := models.StoredRollups(ctx, s, c.ID, p)
				if err != nil {
					t.Fatal(err)
				}
				sameRollups(t, "stored "+p, rs, ref.of(c.ID, p))
			}
		})
	})
}
