package models_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"gorm.io/gorm"
)

// fiveMinutes is the poller's default interval, in milliseconds.
const fiveMinutes = 300_000

// trafficPort stores a port of switch "core-1" with ifIndex n, mapped to
// orgID and contract when given.
func trafficPort(t *testing.T, s *models.Store, n int, orgID, contract *int64) *models.SwitchPort {
	t.Helper()
	p, err := models.AddTestSwitchPort(context.Background(), s, "core-1", n, orgID, contract)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func recordTraffic(t *testing.T, s *models.Store, samples []models.TrafficSample) int {
	t.Helper()
	n, err := s.RecordTraffic(context.Background(), samples)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// sample is a valid 5-minute sample of port at at.
func sample(port int64, at time.Time, in, out int64) models.TrafficSample {
	return models.TrafficSample{PortID: port, At: at, OperUp: true, Valid: true, Ms: fiveMinutes, InOctets: in, OutOctets: out}
}

// rollupOf sums port's samples of period starting at start as a rollup:
// the rule written out once more, for comparing.
func rollupOf(port int64, period string, start time.Time, samples []models.TrafficSample) models.TrafficRollup {
	r := models.TrafficRollup{PortID: port, Period: period, Start: start}
	end := start.Add(time.Hour)
	if period == "d" {
		end = start.Add(24 * time.Hour)
	}
	for i := range samples {
		x := &samples[i]
		if x.PortID != port || x.At.Before(start) || !x.At.Before(end) {
			continue
		}
		if !x.OperUp {
			r.DownSamples++
		}
		if !x.Valid {
			continue
		}
		r.Samples++
		r.Ms += x.Ms
		r.InOctets += x.InOctets
		r.OutOctets += x.OutOctets
		r.InErrors += x.InErrors
		r.OutErrors += x.OutErrors
		r.InDiscards += x.InDiscards
		r.OutDiscards += x.OutDiscards
		r.InMaxBps, r.OutMaxBps = max(r.InMaxBps, x.InBps()), max(r.OutMaxBps, x.OutBps())
	}
	return r
}

func storedRollups(t *testing.T, s *models.Store, port int64, period string) []models.TrafficRollup {
	t.Helper()
	rs, err := models.StoredTrafficRollups(context.Background(), s, port, period)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// handBuiltDay is a UTC day of 5-minute samples of port: in the hour from
// 10:00, 2 MB in and 1 MB out each (53,333 and 26,666 b/s) but for a 10:30
// burst of 30 MB in (800,000 b/s), two samples with the port down (10:40
// valid with nothing moved, 10:45 invalid), a counter reset at 10:50 whose
// made-up octets must count nowhere, and errors and discards; every other
// hour 1 MB each way.
func handBuiltDay(port int64, day time.Time) []models.TrafficSample {
	var out []models.TrafficSample
	for i := 0; i < 288; i++ {
		at := day.Add(time.Duration(i) * 5 * time.Minute)
		x := sample(port, at, 1_000_000, 1_000_000)
		if at.Hour() == 10 {
			x.InOctets, x.OutOctets = 2_000_000, 1_000_000
			switch at.Minute() {
			case 30:
				x.InOctets = 30_000_000
			case 40:
				x.OperUp, x.InOctets, x.OutOctets = false, 0, 0
			case 45:
				x = models.TrafficSample{PortID: port, At: at, Note: models.SampleFirst}
			case 50:
				x = models.TrafficSample{PortID: port, At: at, OperUp: true, Note: models.SampleReset, Ms: fiveMinutes,
					InOctets: 900_000_000_000, OutOctets: 900_000_000_000}
			case 55:
				x.InErrors, x.OutErrors, x.InDiscards, x.OutDiscards = 3, 4, 5, 6
			}
		}
		out = append(out, x)
	}
	return out
}

// The janitor's rollups of a hand-built day: sums of the valid samples,
// the down samples, the highest rate; an invalid sample counts nowhere.
// It builds in bounded runs, each period once, and leaves the port with no
// samples without rows.
func TestTrafficRollupsOfAHandBuiltDay(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		p, quiet := trafficPort(t, s, 1, nil, nil), trafficPort(t, s, 2, nil, nil)
		day := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
		samples := handBuiltDay(p.ID, day)
		if n := recordTraffic(t, s, samples); n != 288 {
			t.Fatalf("stored %d samples, want 288", n)
		}
		if n, err := s.BuildTrafficRollups(ctx, 100); err != nil || n != 0 {
			t.Fatalf("before the day is over: built %d, %v; want nothing", n, err)
		}
		// 00:09 the next day: the last hour ended 9 minutes ago, within
		// the grace; a minute later it and the day can be built.
		clock.Advance(day.Add(24*time.Hour + 9*time.Minute).Sub(clock.Now()))
		if n, err := s.BuildTrafficRollups(ctx, 100); err != nil || n != 23 {
			t.Fatalf("built %d, %v; want 23 hours", n, err)
		}
		clock.Advance(time.Minute)
		for _, want := range []int{1, 1, 0} { // the last hour, the day, nothing
			if n, err := s.BuildTrafficRollups(ctx, 1); err != nil || n != want {
				t.Fatalf("built %d, %v; want %d", n, err, want)
			}
		}
		hours := storedRollups(t, s, p.ID, "h")
		if len(hours) != 24 {
			t.Fatalf("%d hourly rollups, want 24", len(hours))
		}
		ten := hours[10]
		want := models.TrafficRollup{PortID: p.ID, Period: "h", Start: day.Add(10 * time.Hour),
			Samples: 10, DownSamples: 2, Ms: 10 * fiveMinutes,
			InOctets: 8*2_000_000 + 30_000_000, OutOctets: 9 * 1_000_000,
			InMaxBps: 800_000, OutMaxBps: 26_666,
			InErrors: 3, OutErrors: 4, InDiscards: 5, OutDiscards: 6}
		if ten != want {
			t.Errorf("10:00 is %+v\nwant        %+v", ten, want)
		}
		if got := rollupOf(p.ID, "h", ten.Start, samples[120:132]); got != want {
			t.Fatalf("the hand-worked hour disagrees with the rule: %+v", got)
		}
		for i, h := range hours {
			if w := rollupOf(p.ID, "h", day.Add(time.Duration(i)*time.Hour), samples[i*12:i*12+12]); h != w {
				t.Errorf("hour %d: %+v, want %+v", i, h, w)
			}
		}
		days := storedRollups(t, s, p.ID, "d")
		if len(days) != 1 || days[0] != rollupOf(p.ID, "d", day, samples) {
			t.Errorf("the day: %+v, want %+v", days, rollupOf(p.ID, "d", day, samples))
		}
		if d := days[0]; d.Samples != 286 || d.DownSamples != 2 || d.InMaxBps != 800_000 || d.InAvgBps() >= 800_000 {
			t.Errorf("the day: %+v", d)
		}
		if rs := storedRollups(t, s, quiet.ID, "h"); len(rs) != 0 {
			t.Errorf("a port without samples has rollups %+v", rs)
		}
		marks, err := models.TrafficMarks(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if !marks["h"].Equal(day.Add(24*time.Hour)) || !marks["d"].Equal(day.Add(24*time.Hour)) {
			t.Errorf("marks %v, want both at the next day", marks)
		}
	})
}

// Two instances' janitors building at the same time build each period
// once: the rollups are the samples' sums (not twice them), and the
// periods the two report add up to the periods there are.
func TestTrafficRollupsOfTwoBuildersAtOnceAreBuiltOnce(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := dbtest.NewClock()
			a := dbtest.Open(t, db, models.WithClock(clock.Now))
			b := dbtest.Open(t, db, models.WithClock(clock.Now))
			start := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
			var ports []*models.SwitchPort
			var samples []models.TrafficSample
			for n := 1; n <= 3; n++ {
				p := trafficPort(t, a, n, nil, nil)
				ports = append(ports, p)
				for i := 0; i < 3*288; i++ { // three days
					samples = append(samples, sample(p.ID, start.Add(time.Duration(i)*5*time.Minute), int64(1000*n+i), int64(n+i)))
				}
			}
			recordTraffic(t, a, samples)
			clock.Advance(start.Add(72*time.Hour + 15*time.Minute).Sub(clock.Now()))
			var built [2]int
			var wg sync.WaitGroup
			for i, s := range []*models.Store{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					n, err := s.BuildTrafficRollups(ctx, 1000)
					if err != nil {
						t.Error(err)
					}
					built[i] = n
				}()
			}
			wg.Wait()
			if total := built[0] + built[1]; total != 72+3 {
				t.Errorf("the builders built %d and %d periods, %d in all; want 75", built[0], built[1], total)
			}
			t.Logf("built %d and %d", built[0], built[1])
			for _, p := range ports {
				hours, days := storedRollups(t, a, p.ID, "h"), storedRollups(t, a, p.ID, "d")
				if len(hours) != 72 || len(days) != 3 {
					t.Fatalf("port %d: %d hours and %d days, want 72 and 3", p.ID, len(hours), len(days))
				}
				for i, h := range hours {
					var hs []models.TrafficSample
					for _, x := range samples {
						if x.PortID == p.ID && !x.At.Before(h.Start) && x.At.Before(h.Start.Add(time.Hour)) {
							hs = append(hs, x)
						}
					}
					if w := rollupOf(p.ID, "h", start.Add(time.Duration(i)*time.Hour), hs); h != w {
						t.Fatalf("port %d hour %d: %+v, want %+v", p.ID, i, h, w)
					}
				}
				for i, d := range days {
					if w := rollupOf(p.ID, "d", start.Add(time.Duration(i)*24*time.Hour), samples[(p.IfIndex-1)*864+i*288:(p.IfIndex-1)*864+i*288+288]); d != w {
						t.Fatalf("port %d day %d: %+v, want %+v", p.ID, i, d, w)
					}
				}
			}
		})
	}
}

// A sample that arrives after its hour, day and month were built (a spool
// replayed late) has them counted again with it, once: replaying the same
// samples again changes nothing.
func TestALateTrafficSampleReDerivesItsRollupsAndMonthOnce(t *testing.T) {
	ledgerStore(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		p := trafficPort(t, s, 1, nil, nil)
		day := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
		samples := handBuiltDay(p.ID, day)
		// The poller lost 10:10 and 10:15 and its spool has them.
		late := []models.TrafficSample{samples[122], samples[123]}
		late[1].InOctets = 60_000_000 // 1.6 Mb/s: the hour's new peak
		kept := append(append([]models.TrafficSample{}, samples[:122]...), samples[124:]...)
		recordTraffic(t, s, kept)
		clock.Advance(day.Add(24*time.Hour + 30*time.Minute).Sub(clock.Now()))
		if n, err := s.BuildTrafficRollups(ctx, 1000); err != nil || n != 25 {
			t.Fatalf("built %d, %v; want 24 hours and the day", n, err)
		}
		clock.Advance(local(t, "2026-12-01 00:10:00.000").Sub(clock.Now()))
		if n, err := s.BuildTrafficMonths(ctx); err != nil || n != 1 {
			t.Fatalf("built %d months, %v; want November", n, err)
		}
		before := storedRollups(t, s, p.ID, "h")[10]
		months, err := models.StoredTrafficMonths(ctx, s, p.ID)
		if err != nil || len(months) != 1 || months[0].Month != "2026-11" || months[0].Samples != 284 {
			t.Fatalf("months %+v, %v; want November of 284 slots", months, err)
		}
		all := append(append([]models.TrafficSample{}, kept...), late...)
		for replay := 0; replay < 3; replay++ {
			n := recordTraffic(t, s, append([]models.TrafficSample(nil), late...))
			if want := 2; n != want && replay == 0 || n != 0 && replay > 0 {
				t.Fatalf("replay %d stored %d samples; want 2, then none", replay, n)
			}
			hours, days := storedRollups(t, s, p.ID, "h"), storedRollups(t, s, p.ID, "d")
			if len(hours) != 24 || len(days) != 1 {
				t.Fatalf("replay %d: %d hours, %d days", replay, len(hours), len(days))
			}
			if w := rollupOf(p.ID, "h", day.Add(10*time.Hour), all); hours[10] != w {
				t.Fatalf("replay %d: 10:00 is %+v, want %+v", replay, hours[10], w)
			}
			if hours[10].Samples != before.Samples+2 || hours[10].InMaxBps != 1_600_000 {
				t.Fatalf("replay %d: 10:00 has %d samples peaking at %d b/s; was %d", replay, hours[10].Samples, hours[10].InMaxBps, before.Samples)
			}
			if w := rollupOf(p.ID, "d", day, all); days[0] != w {
				t.Fatalf("replay %d: the day is %+v, want %+v", replay, days[0], w)
			}
			if w := rollupOf(p.ID, "h", day.Add(11*time.Hour), all); hours[11] != w {
				t.Fatalf("replay %d: 11:00 changed: %+v", replay, hours[11])
			}
			ms, err := models.StoredTrafficMonths(ctx, s, p.ID)
			if err != nil || len(ms) != 1 || ms[0].Samples != 286 || ms[0].InMaxBps != 1_600_000 {
				t.Fatalf("replay %d: months %+v, %v; want 286 slots peaking at 1.6 Mb/s", replay, ms, err)
			}
		}
	})
}

// handWorkedMonth is November 2026 (Shanghai, 30 days) of port: 8,640
// five-minute samples whose in rates are 8,000 × 1 … 8,640 b/s and out
// rates 4,000 × the same, in a scrambled order. The 95th percentile drops
// the top 432 and is the 8,208th smallest: 65,664,000 b/s in, 32,832,000
// out.
func handWorkedMonth(t *testing.T, port int64) []models.TrafficSample {
	from := local(t, "2026-11-01 00:00:00.000")
	out := make([]models.TrafficSample, 8640)
	for i := range out {
		k := int64(i*7919%8640 + 1) // 7919 is prime to 8640: each k once
		out[i] = sample(port, from.Add(time.Duration(i)*5*time.Minute), k*300_000, k*150_000)
	}
	return out
}

// The month the janitor stores for the hand-worked 30-day month: 8,640
// slots, 95th percentile the 8,208th smallest rate each way; built once,
// the stored figures are what TrafficMonthOf reads.
func TestTrafficMonthOfTheHandWorkedMonth(t *testing.T) {
	ledgerStore(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		p := trafficPort(t, s, 1, nil, nil)
		recordTraffic(t, s, handWorkedMonth(t, p.ID))
		// A sample of December: the month after has samples, and is not
		// over.
		recordTraffic(t, s, []models.TrafficSample{sample(p.ID, local(t, "2026-12-01 00:00:00.000"), 1, 1)})
		clock.Advance(local(t, "2026-12-01 00:09:00.000").Sub(clock.Now()))
		if n, err := s.BuildTrafficMonths(ctx); err != nil || n != 0 {
			t.Fatalf("within the grace: built %d, %v", n, err)
		}
		counted, err := s.TrafficMonthOf(ctx, models.AllOrgs(), p, "2026-11")
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
		if n, err := s.BuildTrafficMonths(ctx); err != nil || n != 1 {
			t.Fatalf("built %d, %v; want November", n, err)
		}
		if n, err := s.BuildTrafficMonths(ctx); err != nil || n != 0 {
			t.Fatalf("built %d more, %v; want none", n, err)
		}
		ms, err := models.StoredTrafficMonths(ctx, s, p.ID)
		if err != nil || len(ms) != 1 {
			t.Fatalf("stored %+v, %v", ms, err)
		}
		m := ms[0]
		if m.Month != "2026-11" || m.Samples != 8640 || m.InP95Bps != 8208*8000 || m.OutP95Bps != 8208*4000 ||
			m.InMaxBps != 8640*8000 || m.OutMaxBps != 8640*4000 || m.BilledP95Bps() != 65_664_000 {
			t.Errorf("November is %+v; want 8,640 slots, 95th 65,664,000 in and 32,832,000 out", m)
		}
		if m.InOctets != 300_000*8640*8641/2 || m.OutOctets != 150_000*8640*8641/2 {
			t.Errorf("octets %d / %d", m.InOctets, m.OutOctets)
		}
		m.BuiltAt = time.Time{}
		if counted != m {
			t.Errorf("counted before the build %+v, stored %+v", counted, m)
		}
		read, err := s.TrafficMonthOf(ctx, models.AllOrgs(), p, "2026-11")
		if read.BuiltAt.IsZero() {
			t.Error("TrafficMonthOf did not read the stored month")
		}
		if read.BuiltAt = (time.Time{}); err != nil || read != m {
			t.Errorf("TrafficMonthOf reads %+v, %v; want the stored month", read, err)
		}
		marks, err := models.TrafficMarks(ctx, s)
		if err != nil || !marks["m"].Equal(local(t, "2026-12-01 00:00:00.000")) {
			t.Errorf("months built until %v, %v; want December", marks["m"], err)
		}
	})
}

// The purge keeps the samples of hours and days not rolled up and of
// months not built, whatever the retention says; once they are built it
// deletes what is older, and keeps the rollups and months. A late sample
// in what it purged counts nothing again from the remnant.
func TestTrafficPurgeKeepsWhatIsNotBuilt(t *testing.T) {
	ledgerStore(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		p := trafficPort(t, s, 1, nil, nil)
		from := time.Date(2026, 10, 30, 0, 0, 0, 0, time.UTC)
		var samples []models.TrafficSample
		for i := 0; i < 4*288; i++ { // Oct 30 to Nov 2, UTC days
			samples = append(samples, sample(p.ID, from.Add(time.Duration(i)*5*time.Minute), 1_000_000, 2_000_000))
		}
		recordTraffic(t, s, samples)
		clock.Advance(time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC).Sub(clock.Now()))
		count := func(from, to time.Time) int64 {
			t.Helper()
			n, err := models.CountTrafficSamples(ctx, s, p.ID, from, to)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		purge := func() int64 {
			t.Helper()
			n, err := s.PurgeTrafficSamples(ctx, clock.Now()) // a retention of nothing
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := purge(); n != 0 {
			t.Fatalf("purged %d samples before anything was built", n)
		}
		if _, err := s.BuildTrafficRollups(ctx, 1000); err != nil {
			t.Fatal(err)
		}
		if n := purge(); n != 0 {
			t.Fatalf("purged %d samples of months not built", n)
		}
		if n, err := s.BuildTrafficMonths(ctx); err != nil || n != 1 {
			t.Fatalf("built %d months, %v; want October", n, err)
		}
		// October (Shanghai) ended at 16:00 UTC on the 31st: the purge
		// goes that far and no further.
		octEnd := local(t, "2026-11-01 00:00:00.000")
		if got := purge(); got != 480 || count(from, octEnd) != 0 {
			t.Fatalf("purged %d, want the 480 samples of October (Oct 30 00:00 to Oct 31 16:00 UTC); %d left", got, count(from, octEnd))
		}
		if n := count(octEnd, from.Add(4*24*time.Hour)); n != 4*288-480 {
			t.Errorf("%d samples left after October, want %d", n, 4*288-480)
		}
		if n := purge(); n != 0 {
			t.Errorf("a second purge deleted %d", n)
		}
		hours, days := storedRollups(t, s, p.ID, "h"), storedRollups(t, s, p.ID, "d")
		if len(hours) != 4*24 || len(days) != 4 || days[0] != rollupOf(p.ID, "d", from, samples[:288]) {
			t.Errorf("rollups after the purge: %d hours, %d days %+v", len(hours), len(days), days)
		}
		oct, err := models.StoredTrafficMonths(ctx, s, p.ID)
		if err != nil || len(oct) != 1 || oct[0].Samples != 480 {
			t.Fatalf("October after the purge: %+v, %v", oct, err)
		}
		// A late sample of October 31, 12:02:30 UTC: its hour and day
		// were built and partly purged, October too. It is stored; none
		// of them is counted again from what is left.
		x := sample(p.ID, time.Date(2026, 10, 31, 12, 2, 30, 0, time.UTC), 9_000_000, 9_000_000)
		if n := recordTraffic(t, s, []models.TrafficSample{x}); n != 1 {
			t.Fatalf("stored %d", n)
		}
		if h := storedRollups(t, s, p.ID, "h"); h[36] != hours[36] {
			t.Errorf("the purged hour was counted again: %+v, was %+v", h[36], hours[36])
		}
		if d := storedRollups(t, s, p.ID, "d"); d[1] != days[1] {
			t.Errorf("the purged day was counted again: %+v, was %+v", d[1], days[1])
		}
		if ms, err := models.StoredTrafficMonths(ctx, s, p.ID); err != nil || len(ms) != 1 || ms[0] != oct[0] {
			t.Errorf("October was counted again: %+v, was %+v", ms, oct)
		}
	})
}

// Huge deltas (a 64-bit counter far beyond any real port, still accepted
// because the port's speed is unknown) give their true rate in Go, in the
// rollups' SQL and in the busiest-ports query, without overflowing
// octets × 8000.
func TestTrafficRatesOfHugeDeltasDoNotOverflow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		p := trafficPort(t, s, 1, nil, nil)
		hour := clock.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour)
		big := models.TrafficSample{PortID: p.ID, At: hour.Add(5 * time.Minute), OperUp: true, Valid: true,
			Ms: 300_001, InOctets: 1 << 60, OutOctets: 1<<60 + 12345}
		recordTraffic(t, s, []models.TrafficSample{big, sample(p.ID, hour.Add(10*time.Minute), 1000, 1000)})
		// (2⁶⁰ × 8000) ÷ 300001, worked out exactly.
		const wantIn, wantOut = 30_744_470_974_612_670, 30_744_470_974_612_999
		if big.InBps() != wantIn || big.OutBps() != wantOut {
			t.Fatalf("Go rates %d/%d, want %d/%d", big.InBps(), big.OutBps(), int64(wantIn), int64(wantOut))
		}
		if _, err := s.BuildTrafficRollups(ctx, 100); err != nil {
			t.Fatal(err)
		}
		hours := storedRollups(t, s, p.ID, "h")
		if len(hours) != 1 || hours[0].InMaxBps != wantIn || hours[0].OutMaxBps != wantOut {
			t.Fatalf("rollups %+v, want peaks %d/%d", hours, int64(wantIn), int64(wantOut))
		}
		bs, err := s.BusiestPorts(ctx, models.AllOrgs(), hour, 5, models.RankPeak)
		if err != nil || len(bs) != 1 || bs[0].InMaxBps != wantIn || bs[0].OutMaxBps != wantOut {
			t.Fatalf("busiest ports %+v, %v; want peaks %d/%d", bs, err, int64(wantIn), int64(wantOut))
		}
	})
}

// TestPurgeDeletesTheTrafficOfVanishedPorts: samples of a batch in flight
// when their port was removed, stored after the removal, and any rollup
// or month of a port that no longer exists, go at the next purge, even
// before anything is built; the ports that exist keep everything.
func TestPurgeDeletesTheTrafficOfVanishedPorts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		p1, err := models.AddTestSwitchPort(ctx, s, "core-1", 1, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		p2, err := models.AddTestSwitchPort(ctx, s, "core-1", 2, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveSwitchPort(ctx, models.SystemActor("test"), p2.ID); err != nil {
			t.Fatal(err)
		}
		at := clock.Now().Add(-time.Hour)
		recordTraffic(t, s, []models.TrafficSample{sample(p1.ID, at, 1, 1), sample(p1.ID, at.Add(5*time.Minute), 1, 1),
			sample(p2.ID, at, 1, 1), sample(p2.ID, at.Add(5*time.Minute), 1, 1), sample(p2.ID, at.Add(10*time.Minute), 1, 1)})
		count := func() map[string]int64 {
			t.Helper()
			n := map[string]int64{}
			if err := models.RunTx(ctx, s, false, func(tx *gorm.DB) error {
				for _, p := range []*models.SwitchPort{p1, p2} {
					for _, m := range []any{&models.TrafficSample{}, &models.TrafficRollup{}, &models.TrafficMonth{}} {
						var k int64
						if err := tx.Model(m).Where("port_id = ?", p.ID).Count(&k).Error; err != nil {
							return err
						}
						n[fmt.Sprintf("%s %T", p.Name, m)] = k
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if err := models.RunTx(ctx, s, false, func(tx *gorm.DB) error {
			for _, id := range []int64{p1.ID, p2.ID} {
				if err := tx.Create(&models.TrafficRollup{PortID: id, Period: "h", Start: at.Truncate(time.Hour), Samples: 1}).Error; err != nil {
					return err
				}
				if err := tx.Create(&models.TrafficMonth{PortID: id, Month: "2026-10", Samples: 1, BuiltAt: clock.Now()}).Error; err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		n, err := s.PurgeTrafficSamples(ctx, clock.Now().Add(-24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		got := count()
		t.Logf("purged %d; left %v", n, got)
		if n != 3 {
			t.Errorf("purged %d samples, want the vanished port's 3", n)
		}
		for k, v := range got {
			want := int64(0)
			if strings.HasPrefix(k, p1.Name+" ") {
				want = 1
				if strings.HasSuffix(k, "TrafficSample") {
					want = 2
				}
			}
			if v != want {
				t.Errorf("%s: %d rows left, want %d", k, v, want)
			}
		}
	})
}
