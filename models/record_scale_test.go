package models_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"gorm.io/gorm"
)

// bulkChecks adds n ICMP checks to device deviceID straight into the
// table, 40 rows (1,000 values) a statement, and returns their IDs.
func bulkChecks(t testing.TB, g *gorm.DB, orgID, deviceID int64, n, threshold int, now time.Time) []int64 {
	t.Helper()
	cs := make([]models.Check, n)
	for i := range cs {
		cs[i] = models.Check{DeviceID: deviceID, OrgID: orgID, Kind: models.KindICMP, Target: "127.0.0.2", IntervalSec: 60,
			TimeoutMs: 1000, FailThreshold: threshold, Enabled: true, LeaseUntil: now, Status: models.StatusUnknown,
			CreatedAt: now, UpdatedAt: now}
	}
	if err := g.CreateInBatches(cs, 40).Error; err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, n)
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

// One batch of results for 100,000 distinct checks, more than either
// database binds in one statement (SQLite 32,766 values, MySQL 65,535):
// stored, replayed, failing (every check's state written), and rolled up.
func TestRecordResultsTakesABatchFor100000Checks(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		g := rawDB(t, db)
		fx := dbtest.Seed(t, s)
		d, err := s.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: fx.OrgA.ID, Name: "rack", Address: "127.0.0.2"})
		if err != nil {
			t.Fatal(err)
		}
		ids := bulkChecks(t, g, fx.OrgA.ID, d.ID, 100000, 3, clock.Now())
		t0 := clock.Now()
		batch := func(at time.Time, ok bool) []models.ProbeResult {
			rs := make([]models.ProbeResult, len(ids))
			for i, id := range ids {
				rs[i] = models.ProbeResult{CheckID: id, At: at, OK: ok, RTTus: 100 + i%900}
				if !ok {
					rs[i].RTTus, rs[i].Reason = 0, models.ReasonTimeout
				}
			}
			return rs
		}
		if n, err := s.RecordResults(ctx, batch(t0, true)); err != nil || n != len(ids) {
			t.Fatalf("record %d results: %d, %v", len(ids), n, err)
		}
		if n, err := s.RecordResults(ctx, batch(t0, true)); err != nil || n != 0 {
			t.Fatalf("replay: %d stored, %v; want 0", n, err)
		}
		if n, err := s.RecordResults(ctx, batch(t0.Add(time.Minute), false)); err != nil || n != len(ids) {
			t.Fatalf("record failures: %d, %v", n, err)
		}
		var failing int64
		if err := g.Model(&models.Check{}).Where("consec_fails = 1 AND status = ?", models.StatusUp).Count(&failing).Error; err != nil || failing != int64(len(ids)) {
			t.Fatalf("checks with one failure after it: %d, %v; want %d", failing, err, len(ids))
		}
		clock.Advance(2 * time.Hour)
		if _, err := s.BuildRollups(ctx, 1<<30); err != nil {
			t.Fatal(err)
		}
		var hourly int64
		if err := g.Model(&models.Rollup{}).Where("period = 'h' AND probes = 2 AND failures = 1").Count(&hourly).Error; err != nil || hourly != int64(len(ids)) {
			t.Fatalf("hourly rollups of two probes: %d, %v; want %d", hourly, err, len(ids))
		}
	})
}

// BenchmarkRecordResults writes batches of 2,000 results for 2,000
// distinct checks, slot after slot, as the capacity phase of `portal bench
// probe` does, with INSERTs of a few sizes.
func BenchmarkRecordResults(b *testing.B) {
	for i, name := range dbtest.Databases(b) {
		for _, per := range []int{50, 100, 200, 500, 1000} {
			b.Run(fmt.Sprintf("%s/%d-rows-per-insert", name.Name, per), func(b *testing.B) {
				db := dbtest.Databases(b)[i] // a new database for each run
				defer models.SetResultsPerInsert(per)()
				ctx := context.Background()
				clock := dbtest.NewClock()
				s := dbtest.Open(b, db, models.WithClock(clock.Now))
				g := rawDB(b, db)
				fx := dbtest.Seed(b, s)
				d, err := s.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: fx.OrgA.ID, Name: "rack", Address: "127.0.0.2"})
				if err != nil {
					b.Fatal(err)
				}
				ids := bulkChecks(b, g, fx.OrgA.ID, d.ID, 2000, 3, clock.Now())
				batch := make([]models.ProbeResult, len(ids))
				cpu0 := cpuTime()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					at := clock.Now().Add(time.Duration(i) * time.Minute)
					for j, id := range ids {
						batch[j] = models.ProbeResult{CheckID: id, At: at, OK: true, RTTus: 100 + j%900}
					}
					if _, err := s.RecordResults(ctx, batch); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*len(ids))/b.Elapsed().Seconds(), "rows/s")
				// CPU of this process (the database too, for SQLite): steadier
				// than the time on a shared machine.
				b.ReportMetric(float64(b.N*len(ids))/(cpuTime()-cpu0).Seconds(), "rows/cpu-s")
			})
		}
	}
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRecordResultsStateChanges writes batches where every one of
// 2,000 checks changes its state, in a cycle of three: the first failure,
// the failure that opens an outage (threshold 2, with its clock and its
// organization's notice), the recovery that ends it. It measures what the
// state machine costs per batch, and what the webhook events add to it
// (docs/benchmarks.md): "none" with no endpoint, "subscribed" with an
// endpoint of the organization subscribed to the outage events.
func BenchmarkRecordResultsStateChanges(b *testing.B) {
	for i, name := range dbtest.Databases(b) {
		for _, hooks := range []string{"none", "subscribed"} {
			b.Run(name.Name+"/"+hooks, func(b *testing.B) {
				db := dbtest.Databases(b)[i] // a new database for each run
				ctx := context.Background()
				clock := dbtest.NewClock()
				s := dbtest.Open(b, db, models.WithClock(clock.Now))
				g := rawDB(b, db)
				fx := dbtest.Seed(b, s)
				d, err := s.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: fx.OrgA.ID, Name: "rack", Address: "127.0.0.2"})
				if err != nil {
					b.Fatal(err)
				}
				if hooks == "subscribed" {
					addHookEndpoint(b, g, fx.OrgA.ID, true, models.HookOutageOpened, models.HookOutageConfirmed, models.HookOutageClosed)
				}
				ids := bulkChecks(b, g, fx.OrgA.ID, d.ID, 2000, 2, clock.Now())
				batch := make([]models.ProbeResult, len(ids))
				cpu0 := cpuTime()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					at := clock.Now().Add(time.Duration(i) * time.Minute)
					ok := i%3 == 2
					for j, id := range ids {
						batch[j] = models.ProbeResult{CheckID: id, At: at, OK: ok, RTTus: 100 + j%900}
						if !ok {
							batch[j].RTTus, batch[j].Reason = 0, models.ReasonTimeout
						}
					}
					if _, err := s.RecordResults(ctx, batch); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*len(ids))/b.Elapsed().Seconds(), "rows/s")
				b.ReportMetric(float64(b.N*len(ids))/(cpuTime()-cpu0).Seconds(), "rows/cpu-s")
			})
		}
	}
}
