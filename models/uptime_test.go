package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

func TestDeviceState(t *testing.T) {
	c := func(status string, enabled bool) models.Check { return models.Check{Status: status, Enabled: enabled} }
	for _, tc := range []struct {
		name   string
		checks []models.Check
		want   string
	}{
		{"no checks is unknown", nil, models.StatusUnknown},
		{"every enabled check up is up", []models.Check{c("up", true), c("up", true)}, models.StatusUp},
		{"one enabled check down is down", []models.Check{c("up", true), c("down", true)}, models.StatusDown},
		{"a paused check that is down does not count", []models.Check{c("up", true), c("down", false)}, models.StatusUp},
		{"a check not probed yet makes it unknown", []models.Check{c("up", true), c("unknown", true)}, models.StatusUnknown},
		{"down wins over unknown", []models.Check{c("unknown", true), c("down", true)}, models.StatusDown},
		{"only paused checks is unknown", []models.Check{c("up", false)}, models.StatusUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := models.DeviceState(tc.checks); got != tc.want {
				t.Errorf("DeviceState = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDailyAvailability(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	ptr := func(t time.Time) *time.Time { return &t }
	// 2026-03-08 is 23 hours long in New York (clocks go forward).
	first := time.Date(2026, 3, 7, 0, 0, 0, 0, ny)
	now := time.Date(2026, 3, 9, 12, 0, 0, 0, ny)
	since := time.Date(2026, 3, 7, 12, 0, 0, 0, ny)
	spans := []models.Span{
		// Crosses midnight into the short day: 30 min on the 7th, 30 on the 8th.
		{Start: time.Date(2026, 3, 7, 23, 30, 0, 0, ny), End: ptr(time.Date(2026, 3, 8, 0, 30, 0, 0, ny)), Cause: models.CauseProviderNetwork},
		// Excluded: customer maintenance on the 9th, still open at now.
		{Start: time.Date(2026, 3, 9, 11, 0, 0, 0, ny), Cause: models.CauseCustomerMaintenance},
	}
	days := models.DailyAvailability(time.Date(2026, 3, 6, 0, 0, 0, 0, ny), 4, since, now, spans)
	if len(days) != 4 {
		t.Fatalf("%d days, want 4", len(days))
	}
	t.Run("a day before the device was watched has no data", func(t *testing.T) {
		if !days[0].NoData {
			t.Errorf("day 0 = %+v, want no data", days[0])
		}
	})
	t.Run("the first day counts from when the device was added", func(t *testing.T) {
		d := days[1]
		if !d.Day.Equal(first) || d.Total != 12*time.Hour || d.Counted != 30*time.Minute {
			t.Errorf("day 1 = %+v, want 12 h total, 30 min counted", d)
		}
	})
	t.Run("a 23-hour day is 23 hours long", func(t *testing.T) {
		d := days[2]
		if d.Total != 23*time.Hour || d.Down != 30*time.Minute || d.Counted != 30*time.Minute {
			t.Errorf("day 2 = %+v", d)
		}
	})
	t.Run("today runs until now and an excluded outage is down but not counted", func(t *testing.T) {
		d := days[3]
		if d.Total != 12*time.Hour || d.Down != time.Hour || d.Counted != 0 || d.Percent() != 100 {
			t.Errorf("day 3 = %+v", d)
		}
	})
}

func TestComputeUptimePeriods(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	// 2026-11-01 01:00 in Shanghai is still October in UTC.
	now := time.Date(2026, 10, 31, 17, 0, 0, 0, time.UTC)
	d := models.Device{CreatedAt: now.AddDate(0, -6, 0)}
	end := now.Add(-2 * time.Hour)
	u := models.ComputeUptime(d, nil, []models.Span{{Start: now.Add(-3 * time.Hour), End: &end}}, now, sh)
	want := map[string]time.Duration{models.Period24h: 24 * time.Hour, models.Period30d: 30 * 24 * time.Hour,
		models.PeriodMonth: time.Hour, models.Period90d: 90 * 24 * time.Hour}
	if len(u.Periods) != 4 {
		t.Fatalf("%d periods", len(u.Periods))
	}
	for _, p := range u.Periods {
		if p.Total != want[p.Period] {
			t.Errorf("%s: total %v, want %v", p.Period, p.Total, want[p.Period])
		}
		wantDown := time.Hour
		if p.Period == models.PeriodMonth {
			wantDown = 0 // the outage was in October, Shanghai time
		}
		if p.Counted != wantDown {
			t.Errorf("%s: counted %v, want %v", p.Period, p.Counted, wantDown)
		}
	}
	if n := len(u.Days); n != models.UptimeDays {
		t.Fatalf("%d days, want %d", n, models.UptimeDays)
	}
	last := u.Days[len(u.Days)-1]
	if got := last.Day.Format("2006-01-02"); got != "2026-11-01" || last.Total != time.Hour {
		t.Errorf("today is %s with %v elapsed, want 2026-11-01 with 1h", got, last.Total)
	}
	if prev := u.Days[len(u.Days)-2]; prev.Counted != time.Hour {
		t.Errorf("yesterday counted %v, want the outage's hour", prev.Counted)
	}
	if u.State != models.StatusUnknown {
		t.Errorf("state %q of a device without checks", u.State)
	}
}

func TestFleetAndUptimeQueries(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx, d, c := probeFixture(t, s) // org A's web-1
		sys := models.SystemActor("test")
		other, err := s.CreateDevice(ctx, sys, models.DeviceInput{OrgID: fx.OrgB.ID, Name: "b-1", Address: "127.0.0.9"})
		if err != nil {
			t.Fatal(err)
		}
		t0 := clock.Now()
		var rs []models.ProbeResult
		for i := 1; i <= 4; i++ {
			rs = append(rs, models.ProbeResult{CheckID: c.ID, At: t0.Add(time.Duration(i) * time.Minute), Reason: models.ReasonTimeout})
		}
		if _, err := s.RecordResults(ctx, rs); err != nil {
			t.Fatal(err)
		}
		clock.Advance(10 * time.Minute)

		t.Run("the fleet puts the down device first with its organization", func(t *testing.T) {
			f, err := s.ListFleet(ctx, models.AllOrgs(), models.FleetQuery{})
			if err != nil || len(f.Devices) != 2 || f.Counts != (models.FleetCounts{Down: 1, Unknown: 1}) {
				t.Fatalf("fleet = %+v, %v", f, err)
			}
			fleet := f.Devices
			if fleet[0].ID != d.ID || fleet[0].State != models.StatusDown || fleet[0].OrgName != fx.OrgA.Name ||
				fleet[0].ChecksDown != 1 || fleet[0].Checks != 1 || fleet[0].LastAt == nil {
				t.Errorf("first = %+v", fleet[0])
			}
			if fleet[1].ID != other.ID || fleet[1].State != models.StatusUnknown || fleet[1].LastAt != nil {
				t.Errorf("second = %+v", fleet[1])
			}
		})

		t.Run("an organization's uptime holds only its devices", func(t *testing.T) {
			ups, err := s.OrgUptime(ctx, models.AllOrgs(), fx.OrgA.ID, time.UTC)
			if err != nil || len(ups) != 1 || ups[0].Device.ID != d.ID || ups[0].State != models.StatusDown {
				t.Fatalf("uptime of A = %+v, %v", ups, err)
			}
			if p := ups[0].Periods[0]; p.Counted != 9*time.Minute {
				t.Errorf("24 h counted %v, want 9 min (from the first failure to now)", p.Counted)
			}
			if _, err := s.GetDeviceUptime(ctx, models.AllOrgs(), fx.OrgB.ID, d.ID, time.UTC); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("B reads A's device uptime: %v", err)
			}
		})

		os, err := s.ListOutages(ctx, models.AllOrgs(), fx.OrgA.ID, d.ID, 10)
		if err != nil || len(os) != 1 {
			t.Fatalf("outages %+v, %v", os, err)
		}
		o := os[0]
		t.Run("evidence and results of another organization are not returned", func(t *testing.T) {
			ev, err := s.EvidenceForOutages(ctx, models.AllOrgs(), fx.OrgB.ID, []int64{o.ID}, 100)
			if err != nil || len(ev) != 0 {
				t.Errorf("B reads A's evidence: %+v, %v", ev, err)
			}
			ev, err = s.EvidenceForOutages(ctx, models.AllOrgs(), fx.OrgA.ID, []int64{o.ID}, 100)
			if err != nil || len(ev[o.ID]) != 4 || !ev[o.ID][0].At.Equal(t0.Add(time.Minute)) {
				t.Errorf("A's evidence = %+v, %v; want the 4 failed probes", ev, err)
			}
			ev, err = s.EvidenceForOutages(ctx, models.AllOrgs(), fx.OrgA.ID, []int64{o.ID}, 3)
			if err != nil || len(ev[o.ID]) != 3 || !ev[o.ID][2].At.Equal(t0.Add(3*time.Minute)) {
				t.Errorf("A's first 3 probes = %+v, %v", ev, err)
			}
			n := 0
			count := func(models.ResultRow) error { n++; return nil }
			if err := s.EachDeviceResult(ctx, models.AllOrgs(), fx.OrgB.ID, d.ID, t0, clock.Now(), count); err != nil || n != 0 {
				t.Errorf("B reads %d of A's results (%v)", n, err)
			}
			var rows []models.ResultRow
			err = s.EachDeviceResult(ctx, models.AllOrgs(), fx.OrgA.ID, d.ID, t0, clock.Now(), func(r models.ResultRow) error { rows = append(rows, r); return nil })
			if err != nil || len(rows) != 4 || rows[0].Kind != models.KindICMP || rows[0].Target != "127.0.0.2" ||
				!rows[0].At.Equal(t0.Add(time.Minute)) || rows[0].OK || rows[0].Reason != models.ReasonTimeout {
				t.Errorf("A's results = %+v, %v", rows, err)
			}
		})

		t.Run("setting a cause validates it, records who set it and audits it", func(t *testing.T) {
			eng := models.UserActor(fx.Engineer, "10.0.0.1")
			if _, err := s.SetOutageCause(ctx, eng, o.ID, "gremlins", ""); err == nil {
				t.Fatal("an unknown cause was accepted")
			} else if v, ok := models.AsValidation(err); !ok || v.Field != "cause" {
				t.Fatalf("unknown cause: %v", err)
			}
			if _, err := s.SetOutageCause(ctx, eng, 999999, models.CauseProviderPower, ""); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("missing outage: %v", err)
			}
			got, err := s.SetOutageCause(ctx, eng, o.ID, models.CauseFMNatural, "  Typhoon  ")
			if err != nil || got.Cause != models.CauseFMNatural || got.CauseNote != "Typhoon" || got.CauseSetBy == nil || *got.CauseSetBy != fx.Engineer.ID {
				t.Fatalf("set cause = %+v, %v", got, err)
			}
			ev, err := s.ListAudit(ctx, models.AllOrgs(), models.AuditFilter{Action: models.AuditOutageCause})
			if err != nil || len(ev) != 1 || ev[0].TargetID == nil || *ev[0].TargetID != o.ID || ev[0].OrgID == nil ||
				*ev[0].OrgID != fx.OrgA.ID || ev[0].ActorEmail != fx.Engineer.Email {
				t.Fatalf("audit = %+v, %v", ev, err)
			}
			a, err := s.DeviceAvailability(ctx, models.AllOrgs(), fx.OrgA.ID, d.ID, t0, clock.Now())
			if err != nil || a.Counted != 0 || a.Down != 9*time.Minute {
				t.Errorf("after force majeure: %+v, %v; want 9 min down, none counted", a, err)
			}
		})
	})
}

func TestImportDevices(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		sys := models.SystemActor("test")
		count := func() int {
			n := 0
			for _, org := range []int64{fx.OrgA.ID, fx.OrgB.ID} {
				ds, err := s.ListDevices(ctx, models.AllOrgs(), org)
				if err != nil {
					t.Fatal(err)
				}
				n += len(ds)
			}
			return n
		}

		t.Run("one bad line imports nothing and every bad line is named", func(t *testing.T) {
			_, err := s.ImportDevices(ctx, sys, []models.DeviceImportRow{
				{Line: 2, Org: "alpha", Name: "web-1", Address: "10.0.0.1"},
				{Line: 3, Org: "nope", Name: "x", Address: "10.0.0.2"},
				{Line: 4, Org: "alpha", Name: "web-1", Kind: "http", Target: "not a url"},
				{Line: 5, Org: "bravo", Name: "db", Address: "10.0.0.300"},
				{Line: 6, Org: "alpha", Name: "web-1", Kind: "tcp", Target: "10.0.0.1:22", Interval: "often"},
				{Line: 7, Org: "alpha", Name: "web-1", Address: "10.9.9.9", Kind: "tcp", Target: "10.0.0.1:23"},
			})
			var ie *models.ImportError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want an ImportError", err)
			}
			want := map[int]string{3: "error.org_unknown", 4: "error.url_invalid", 5: "error.host_invalid",
				6: "error.interval_invalid", 7: "error.import_differs"}
			if len(ie.Problems) != len(want) {
				t.Errorf("problems = %+v, want lines 3 to 7", ie.Problems)
			}
			for _, p := range ie.Problems {
				if want[p.Line] != p.Key {
					t.Errorf("line %d: %s, want %s", p.Line, p.Key, want[p.Line])
				}
			}
			if n := count(); n != 0 {
				t.Errorf("%d devices after a refused import, want 0", n)
			}
		})

		t.Run("a good file creates devices and checks in one go", func(t *testing.T) {
			sum, err := s.ImportDevices(ctx, sys, []models.DeviceImportRow{
				{Line: 2, Org: "alpha", Name: "web-1", Address: "10.0.0.1", Cabinet: "A01", Position: "U1", Kind: "icmp", Interval: "60"},
				{Line: 3, Org: "alpha", Name: "web-1", Kind: "https", Target: "https://web.alpha.example/", Interval: "2m"},
				{Line: 4, Org: "ALPHA", Name: "web-1", Address: "10.0.0.1", Kind: "smtp", Target: "10.0.0.1"},
				{Line: 5, Org: "bravo", Name: "db", Address: "db.bravo.example"},
			})
			if err != nil || sum.Devices != 2 || sum.Checks != 4 {
				t.Fatalf("import = %+v, %v; want 2 devices, 4 checks", sum, err)
			}
			ds, _ := s.ListDevices(ctx, models.AllOrgs(), fx.OrgA.ID)
			if len(ds) != 1 || ds[0].Cabinet != "A01" {
				t.Fatalf("alpha's devices = %+v", ds)
			}
			cs, _ := s.ListChecks(ctx, models.AllOrgs(), fx.OrgA.ID, ds[0].ID)
			if len(cs) != 3 || cs[0].Kind != models.KindICMP || cs[0].IntervalSec != 60 || cs[1].IntervalSec != 120 || cs[2].Target != "10.0.0.1:25" {
				t.Errorf("web-1's checks = %+v", cs)
			}
		})

		t.Run("importing the same device again is refused", func(t *testing.T) {
			// A device of its own, so this does not depend on the import above.
			rows := []models.DeviceImportRow{{Line: 2, Org: "bravo", Name: "mail-1", Address: "10.0.1.25"}}
			if _, err := s.ImportDevices(ctx, sys, rows); err != nil {
				t.Fatalf("first import: %v", err)
			}
			before := count()
			_, err := s.ImportDevices(ctx, sys, rows)
			var ie *models.ImportError
			if !errors.As(err, &ie) || len(ie.Problems) != 1 || ie.Problems[0].Key != "error.device_exists" {
				t.Fatalf("err = %v", err)
			}
			if n := count(); n != before {
				t.Errorf("%d devices, want still %d", n, before)
			}
		})
	})
}
