package models_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// refRollups is the aggregation RecordResults did before the janitor built
// rollups: every stored result added to its hour's and its day's rollup as
// it was written, and the median filled in once from the raw results that
// were there when the period was over (results arriving later count, but
// leave the median as it was).
type refRollups map[string]*models.Rollup

func refKey(check int64, period string, start time.Time) string {
	return fmt.Sprintf("%d/%s/%d", check, period, start.Unix())
}

func (ref refRollups) add(r models.ProbeResult) {
	for _, p := range []struct {
		name  string
		start time.Time
	}{{"h", r.At.Truncate(time.Hour)}, {"d", time.Date(r.At.Year(), r.At.Month(), r.At.Day(), 0, 0, 0, 0, time.UTC)}} {
		k := refKey(r.CheckID, p.name, p.start)
		ru := ref[k]
		if ru == nil {
			ru = &models.Rollup{CheckID: r.CheckID, Period: p.name, Start: p.start}
			ref[k] = ru
		}
		ru.Probes++
		if !r.OK {
			ru.Failures++
			continue
		}
		if ru.RTTCount == 0 || r.RTTus < ru.RTTMinUs {
			ru.RTTMinUs = r.RTTus
		}
		ru.RTTMaxUs = max(ru.RTTMaxUs, r.RTTus)
		ru.RTTCount++
		ru.RTTSumUs += int64(r.RTTus)
	}
}

// finalize fills the medians from the results given (FinalizeMedians).
func (ref refRollups) finalize(results []models.ProbeResult) {
	rtts := map[string][]int{}
	for _, r := range results {
		if !r.OK {
			continue
		}
		for _, k := range []string{refKey(r.CheckID, "h", r.At.Truncate(time.Hour)),
			refKey(r.CheckID, "d", time.Date(r.At.Year(), r.At.Month(), r.At.Day(), 0, 0, 0, 0, time.UTC))} {
			rtts[k] = append(rtts[k], r.RTTus)
		}
	}
	for k, xs := range rtts {
		if ref[k].RTTMedUs == 0 {
			sort.Ints(xs)
			ref[k].RTTMedUs = max(xs[(len(xs)-1)/2], 1)
		}
	}
}

func (ref refRollups) of(check int64, period string) []models.Rollup {
	var out []models.Rollup
	for _, r := range ref {
		if r.CheckID == check && r.Period == period {
			out = append(out, *r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

func sameRollups(t *testing.T, what string, got, want []models.Rollup) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rollups, want %d", what, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		g.Start, w.Start = g.Start.UTC(), w.Start.UTC()
		if g != w {
			t.Fatalf("%s: rollup %d is %+v, want %+v", what, i, g, w)
		}
	}
}

// A year of results, written week by week with the janitor running after
// each week (and a late replay into periods built already), gives the
// rollups the old incremental aggregation gave: those the janitor built,
// and those Store.Rollups returns (built, imported, and counted on read),
// hourly and daily, medians included.
func TestRollupsBuiltByTheJanitorMatchTheOldAggregationOverAYear(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx, d, c1 := probeFixture(t, s)
		d2, err := s.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: fx.OrgA.ID, Name: "web-2", Address: "127.0.0.3"})
		if err != nil {
			t.Fatal(err)
		}
		cs2, err := s.ListChecks(ctx, models.AllOrgs(), fx.OrgA.ID, d2.ID)
		if err != nil || len(cs2) != 1 {
			t.Fatal(cs2, err)
		}
		checks := []int64{c1.ID, cs2[0].ID}
		rng := rand.New(rand.NewPCG(1, 2))
		end := clock.Now().Add(-25 * time.Minute)
		year := clock.Now().Truncate(time.Hour).Add(-365 * 24 * time.Hour)
		clock.Advance(year.Add(-time.Hour).Sub(clock.Now())) // back to the start of the year

		// History before the year, imported as rollups (ImportHistory).
		ref := refRollups{}
		importedDay := year.Add(-48 * time.Hour).Truncate(24 * time.Hour)
		imported := []models.Rollup{
			{CheckID: c1.ID, Period: "d", Start: importedDay, Probes: 288, Failures: 3, RTTCount: 285, RTTSumUs: 285 * 400, RTTMinUs: 100, RTTMaxUs: 900, RTTMedUs: 380},
			{CheckID: c1.ID, Period: "h", Start: importedDay.Add(5 * time.Hour), Probes: 12, Failures: 0, RTTCount: 12, RTTSumUs: 12 * 300, RTTMinUs: 200, RTTMaxUs: 500, RTTMedUs: 290},
		}
		if err := s.ImportHistory(ctx, models.SystemActor("test"), fx.OrgA.ID, d.ID, importedDay, imported); err != nil {
			t.Fatal(err)
		}
		for i := range imported {
			r := imported[i]
			ref[refKey(r.CheckID, r.Period, r.Start)] = &r
		}

		// Every 20 minutes, for a year; a failure now and then, some
		// round trips of 0 µs (a loopback probe rounds down).
		result := func(check int64, at time.Time) models.ProbeResult {
			r := models.ProbeResult{CheckID: check, At: at, OK: true, RTTus: rng.IntN(2000)}
			if rng.IntN(40) == 0 {
				r.OK, r.RTTus, r.Reason = false, 0, models.ReasonTimeout
			}
			return r
		}
		var onTime []models.ProbeResult // stored before their period was over
		var late []models.ProbeResult
		for week := year; week.Before(end); week = week.Add(7 * 24 * time.Hour) {
			var batch []models.ProbeResult
			for at := week; at.Before(week.Add(7*24*time.Hour)) && at.Before(end); at = at.Add(20 * time.Minute) {
				for _, id := range checks {
					batch = append(batch, result(id, at.Add(time.Duration(id)*time.Second)))
				}
			}
			clockTo(clock, batch[len(batch)-1].At.Add(time.Minute))
			for len(batch) > 0 {
				part := batch[:min(len(batch), 3000)]
				batch = batch[len(part):]
				if n, err := s.RecordResults(ctx, part); err != nil || n != len(part) {
					t.Fatalf("record %d results: %d, %v", len(part), n, err)
				}
				for _, r := range part {
					ref.add(r)
				}
				onTime = append(onTime, part...)
			}
			if week.Sub(year) == 14*24*time.Hour {
				// A spool replayed late: results into the first week, whose
				// hours and days are built, and the same again (stored once).
				var replay []models.ProbeResult
				for i := 0; i < 30; i++ {
					replay = append(replay, result(checks[i%2], year.Add(time.Duration(i)*time.Hour+7*time.Minute)))
				}
				for run := 0; run < 2; run++ {
					n, err := s.RecordResults(ctx, replay)
					if want := map[int]int{0: len(replay), 1: 0}[run]; err != nil || n != want {
						t.Fatalf("late replay run %d: stored %d, %v; want %d", run, n, err, want)
					}
				}
				for _, r := range replay {
					ref.add(r)
				}
				late = append(late, replay...)
			}
			if _, err := s.BuildRollups(ctx, 1<<30); err != nil {
				t.Fatal(err)
			}
		}
		ref.finalize(onTime)
		ref.finalize(late) // periods with only late results
		clockTo(clock, end.Add(5*time.Minute))

		for _, id := range checks {
			for _, p := range []struct {
				name string
				from time.Time
			}{{"h", importedDay}, {"d", importedDay}} {
				got, err := s.Rollups(ctx, models.AllOrgs(), fx.OrgA.ID, id, p.name, p.from, clock.Now().Add(time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				sameRollups(t, fmt.Sprintf("check %d %s", id, p.name), got, ref.of(id, p.name))
			}
		}
		t.Run("the janitor built every finished period", func(t *testing.T) {
			if _, err := s.BuildRollups(ctx, 1<<30); err != nil {
				t.Fatal(err)
			}
			clockTo(clock, clock.Now().Add(48*time.Hour))
			if n, err := s.BuildRollups(ctx, 1<<30); err != nil || n == 0 {
				t.Fatalf("built %d, %v; want the last periods", n, err)
			}
			if n, err := s.BuildRollups(ctx, 1<<30); err != nil || n != 0 {
				t.Fatalf("built %d more, %v; want nothing: a second run changes nothing", n, err)
			}
			for _, id := range checks {
				for _, period := range []string{"h", "d"} {
					got, err := models.StoredRollups(ctx, s, id, period)
					if err != nil {
						t.Fatal(err)
					}
					sameRollups(t, fmt.Sprintf("stored rollups of check %d %s", id, period), got, ref.of(id, period))
				}
			}
		})
	})
}

// clockTo moves the test clock forward to at.
func clockTo(clock *dbtest.Clock, at time.Time) {
	if d := at.Sub(clock.Now()); d > 0 {
		clock.Advance(d)
	}
}

// A period built for some checks and not yet for others (the janitor
// stopped between two statements) reads the same for both: the built
// check from its rollup, the other from its raw results; the next run
// builds the rest once.
func TestRollupsOfAPeriodBuiltForPartOfTheChecks(t *testing.T) {
	defer models.SetRollupChecksPerStatement(1)()
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx, _, c1 := probeFixture(t, s)
		d2, err := s.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: fx.OrgA.ID, Name: "web-2", Address: "127.0.0.3"})
		if err != nil {
			t.Fatal(err)
		}
		cs2, err := s.ListChecks(ctx, models.AllOrgs(), fx.OrgA.ID, d2.ID)
		if err != nil || len(cs2) != 1 {
			t.Fatal(cs2, err)
		}
		h := clock.Now().Truncate(time.Hour)
		ref := refRollups{}
		var rs []models.ProbeResult
		for i, id := range []int64{c1.ID, cs2[0].ID} {
			for m := 0; m < 60; m += 10 {
				r := models.ProbeResult{CheckID: id, At: h.Add(time.Duration(m) * time.Minute), OK: m != 20, RTTus: 100*i + m + 1}
				if !r.OK {
					r.RTTus, r.Reason = 0, models.ReasonTimeout
				}
				rs = append(rs, r)
				ref.add(r)
			}
		}
		ref.finalize(rs)
		if _, err := s.RecordResults(ctx, rs); err != nil {
			t.Fatal(err)
		}
		clock.Advance(2 * time.Hour)
		// Starting the marks is a step each; then the hour of the first check.
		if n, err := s.BuildRollups(ctx, 2); err != nil || n != 2 {
			t.Fatalf("built %d, %v", n, err)
		}
		for _, id := range []int64{c1.ID, cs2[0].ID} {
			got, err := s.Rollups(ctx, models.AllOrgs(), fx.OrgA.ID, id, "h", h, h.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			sameRollups(t, fmt.Sprintf("check %d half way", id), got, ref.of(id, "h"))
		}
		if stored, _ := models.StoredRollups(ctx, s, cs2[0].ID, "h"); len(stored) != 0 {
			t.Fatalf("second check built already: %+v", stored)
		}
		clock.Advance(48 * time.Hour) // and the day is over
		if _, err := s.BuildRollups(ctx, 1000); err != nil {
			t.Fatal(err)
		}
		for _, id := range []int64{c1.ID, cs2[0].ID} {
			for _, p := range []string{"h", "d"} {
				got, err := models.StoredRollups(ctx, s, id, p)
				if err != nil {
					t.Fatal(err)
				}
				sameRollups(t, fmt.Sprintf("stored %s of check %d", p, id), got, ref.of(id, p))
			}
		}
	})
}
