package models_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// outageAt records a 20-minute outage of check c from at: two failures
// five minutes apart, then an answer at +20 min.
func outageAt(t *testing.T, s *models.Store, c models.Check, at time.Time) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.RecordResults(ctx, []models.ProbeResult{{CheckID: c.ID, At: at, Reason: models.ReasonTimeout},
		{CheckID: c.ID, At: at.Add(5 * time.Minute), Reason: models.ReasonTimeout}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordResults(ctx, []models.ProbeResult{{CheckID: c.ID, At: at.Add(20 * time.Minute), OK: true, RTTus: 200}}); err != nil {
		t.Fatal(err)
	}
}

// The agreement's month is cut in the data center's time zone. An outage
// at 01:00 on 1 December in Shanghai is 17:00 UTC on 30 November: bounds
// carrying +08:00 must find it on both databases (SQLite compared them as
// text and lost it).
func TestMonthBoundsInShanghaiCountTheSameOnEveryDatabase(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx, d, c := probeFixture(t, s)
		at := time.Date(2026, 11, 30, 17, 0, 0, 0, time.UTC) // 2026-12-01 01:00 in Shanghai
		clock.Advance(at.Sub(clock.Now()) - time.Minute)
		outageAt(t, s, c, at)
		clock.Advance(40 * 24 * time.Hour) // both months are over
		nov := time.Date(2026, 11, 1, 0, 0, 0, 0, sh)
		dec := time.Date(2026, 12, 1, 0, 0, 0, 0, sh)
		jan := time.Date(2027, 1, 1, 0, 0, 0, 0, sh)

		t.Run("December in Shanghai counts the 20 minutes", func(t *testing.T) {
			a, err := s.DeviceAvailability(ctx, models.AllOrgs(), fx.OrgA.ID, d.ID, dec, jan)
			if err != nil || a.Counted != 20*time.Minute || a.Total != 31*24*time.Hour {
				t.Fatalf("December = %+v, %v; want 20 min counted of 31 days", a, err)
			}
			spans, err := s.OutageSpans(ctx, models.AllOrgs(), fx.OrgA.ID, nil, dec, jan)
			if err != nil || len(spans[d.ID]) != 1 {
				t.Fatalf("December spans = %+v, %v", spans, err)
			}
		})
		t.Run("November in Shanghai does not", func(t *testing.T) {
			spans, err := s.OutageSpans(ctx, models.AllOrgs(), fx.OrgA.ID, []int64{d.ID}, nov, dec)
			if err != nil || len(spans[d.ID]) != 0 {
				t.Fatalf("November spans = %+v, %v", spans, err)
			}
		})
		t.Run("the probe results of the month are found with the same bounds", func(t *testing.T) {
			rs, err := s.Results(ctx, models.AllOrgs(), fx.OrgA.ID, c.ID, dec, jan)
			if err != nil || len(rs) != 3 {
				t.Fatalf("December results = %d, %v; want 3", len(rs), err)
			}
			rs, err = s.Results(ctx, models.AllOrgs(), fx.OrgA.ID, c.ID, nov, dec)
			if err != nil || len(rs) != 0 {
				t.Fatalf("November results = %d, %v; want 0", len(rs), err)
			}
		})
		t.Run("hourly rollups and the results export use the same bounds", func(t *testing.T) {
			if rs, err := s.Rollups(ctx, models.AllOrgs(), fx.OrgA.ID, c.ID, "h", dec, jan); err != nil || len(rs) != 1 {
				t.Errorf("December hourly rollups = %+v, %v; want the hour of the outage", rs, err)
			}
			if rs, err := s.Rollups(ctx, models.AllOrgs(), fx.OrgA.ID, c.ID, "h", nov, dec); err != nil || len(rs) != 0 {
				t.Errorf("November hourly rollups = %+v, %v; want none", rs, err)
			}
			n := 0
			if err := s.EachDeviceResult(ctx, models.AllOrgs(), fx.OrgA.ID, d.ID, dec, jan, func(models.ResultRow) error { n++; return nil }); err != nil || n != 3 {
				t.Errorf("December export = %d rows, %v; want 3", n, err)
			}
		})
		t.Run("the uptime page cut in Shanghai counts it in this month's days", func(t *testing.T) {
			clock.Advance(time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC).Sub(clock.Now()))
			u, err := s.GetDeviceUptime(ctx, models.AllOrgs(), fx.OrgA.ID, d.ID, sh)
			if err != nil {
				t.Fatal(err)
			}
			if p := u.Periods[2]; p.Period != models.PeriodMonth || p.Counted != 20*time.Minute {
				t.Errorf("this month = %+v, want 20 min counted", p)
			}
		})
	})
}

// A device added in the middle of a month is measured over the part of the
// month it was watched, by the uptime page and by DeviceAvailability alike.
func TestADeviceAddedMidMonthReadsTheSameEverywhere(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		// The device is added at 00:00 on 16 November (UTC): 15 of the 30
		// days are watched, 21,600 minutes; 20 of them are down.
		clock.Advance(time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC).Sub(clock.Now()))
		fx, d, c := probeFixture(t, s)
		outageAt(t, s, c, time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
		clock.Advance(time.Date(2026, 11, 30, 23, 59, 0, 0, time.UTC).Sub(clock.Now()))
		nov, dec := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		clock.Advance(2 * time.Minute) // the month is over

		want := 100 * (21600.0 - 20) / 21600 // 99.9074%
		a, err := s.DeviceAvailability(ctx, models.AllOrgs(), fx.OrgA.ID, d.ID, nov, dec)
		if err != nil {
			t.Fatal(err)
		}
		if a.Total != 15*24*time.Hour || math.Abs(a.Percent()-want) > 1e-9 {
			t.Errorf("DeviceAvailability = %+v (%.4f%%), want 21,600 min watched and %.4f%%", a, a.Percent(), want)
		}
		// The same month read on the page: set the clock back inside it.
		clock.Advance(-2 * time.Minute)
		u, err := s.GetDeviceUptime(ctx, models.AllOrgs(), fx.OrgA.ID, d.ID, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		a2, err := s.DeviceAvailability(ctx, models.AllOrgs(), fx.OrgA.ID, d.ID, nov, dec)
		if err != nil {
			t.Fatal(err)
		}
		if p := u.Periods[2]; p.Availability != a2 {
			t.Errorf("page %+v (%.4f%%) and DeviceAvailability %+v (%.4f%%) differ", p.Availability, p.Percent(), a2, a2.Percent())
		}
	})
}
