package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

func TestRetentionKeepsRollupsAndOutages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx, _, c := probeFixture(t, s)
		t0 := clock.Now().Truncate(time.Hour)
		var batch []models.ProbeResult
		for i, rtt := range []int{900, 100, 300, 200, 0} {
			r := models.ProbeResult{CheckID: c.ID, At: t0.Add(time.Duration(i) * time.Minute), OK: rtt > 0, RTTus: rtt}
			if rtt == 0 {
				r.Reason = models.ReasonTimeout
			}
			batch = append(batch, r)
		}
		if _, err := s.RecordResults(ctx, batch); err != nil {
			t.Fatal(err)
		}
		hourly := func(t *testing.T) models.Rollup {
			t.Helper()
			rs, err := s.Rollups(ctx, models.AllOrgs(), fx.OrgA.ID, c.ID, "h", t0, t0.Add(time.Hour))
			if err != nil || len(rs) != 1 {
				t.Fatalf("hourly rollups = %+v, %v; want one", rs, err)
			}
			return rs[0]
		}
		t.Run("the current hour is counted from the raw results", func(t *testing.T) {
			if n, err := s.BuildRollups(ctx, 100); err != nil || n > 2 {
				t.Fatalf("built %d steps, %v during the hour; want only the marks started", n, err)
			}
			if r := hourly(t); r.Probes != 5 || r.Failures != 1 || r.RTTMedUs != 200 || r.RTTMinUs != 100 || r.RTTMaxUs != 900 {
				t.Fatalf("hourly rollup = %+v; median of 100,200,300,900 (lower middle) is 200", r)
			}
		})
		clock.Advance(2 * time.Hour)
		t.Run("once the hour is over the janitor builds it with the same figures", func(t *testing.T) {
			if n, err := s.BuildRollups(ctx, 100); err != nil || n == 0 {
				t.Fatalf("built %d steps, %v; want the hour", n, err)
			}
			if r := hourly(t); r.Probes != 5 || r.Failures != 1 || r.RTTMedUs != 200 || r.RTTSumUs != 1500 {
				t.Fatalf("hourly rollup = %+v", r)
			}
			if n, err := s.BuildRollups(ctx, 100); err != nil || n != 0 {
				t.Fatalf("built %d more steps, %v; want none", n, err)
			}
			if r := hourly(t); r.Probes != 5 {
				t.Fatalf("hourly rollup after a second run = %+v", r)
			}
		})
		clock.Advance(100 * 24 * time.Hour)
		if _, err := s.BuildRollups(ctx, 100000); err != nil {
			t.Fatal(err)
		}
		t.Run("purging raw results keeps rollups", func(t *testing.T) {
			n, err := s.PurgeResults(ctx, clock.Now().Add(-90*24*time.Hour), 10)
			if err != nil || n != 5 {
				t.Fatalf("purged %d, %v; want 5", n, err)
			}
			raw, _ := s.Results(ctx, models.AllOrgs(), fx.OrgA.ID, c.ID, t0, t0.Add(time.Hour))
			if len(raw) != 0 {
				t.Fatalf("raw results left: %d", len(raw))
			}
			d, _ := s.Rollups(ctx, models.AllOrgs(), fx.OrgA.ID, c.ID, "d", t0.Add(-24*time.Hour), t0.Add(24*time.Hour))
			if len(d) != 1 || d[0].Probes != 5 || d[0].Failures != 1 || d[0].RTTMedUs != 200 {
				t.Fatalf("daily rollup after purge = %+v", d)
			}
		})
	})
}
