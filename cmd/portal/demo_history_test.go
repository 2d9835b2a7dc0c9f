package main

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// The demo's first start has 90 days of past for every device: rollups the
// 30-day and 1-year charts read, raw results for the 24-hour chart, two
// past outages of web-01 with different causes, one notice met and one
// missed with its day's fee; and the availability figures agree with the
// outages. A second start adds nothing.
func TestDemoSeedsNinetyDaysOfHistory(t *testing.T) {
	ctx := context.Background()
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			store := dbtest.Open(t, db)
			var out bytes.Buffer
			began := time.Now()
			if err := loadDemo(ctx, store, "127.0.0.1:18392", demoBlobs(t), &out); err != nil {
				t.Fatal(err)
			}
			t.Logf("loadDemo with history took %v", time.Since(began).Round(time.Millisecond))
			now := store.Now()
			aurora, err := store.GetOrgBySlug(ctx, "aurora")
			if err != nil {
				t.Fatal(err)
			}
			bravo, err := store.GetOrgBySlug(ctx, "bravo")
			if err != nil {
				t.Fatal(err)
			}
			var web *models.Device
			counts := map[string]int{}
			for _, org := range []int64{aurora.ID, bravo.ID} {
				ds, err := store.ListDevices(ctx, models.AllOrgs(), org)
				if err != nil {
					t.Fatal(err)
				}
				for i, d := range ds {
					if d.Name == "web-01" {
						web = &ds[i]
					}
					if age := now.Sub(d.CreatedAt); age < 90*24*time.Hour {
						t.Errorf("%s monitored since %v (%v ago), want at least 90 days", d.Name, d.CreatedAt, age)
					}
					cs, err := store.ListChecks(ctx, models.AllOrgs(), org, d.ID)
					if err != nil {
						t.Fatal(err)
					}
					for _, c := range cs {
						if c.Kind == models.KindPort {
							continue // its past starts with its switch's (TestDemoTraffic)
						}
						days, err := store.Rollups(ctx, models.AllOrgs(), org, c.ID, "d", now.Add(-365*24*time.Hour), now)
						if err != nil {
							t.Fatal(err)
						}
						hours, err := store.Rollups(ctx, models.AllOrgs(), org, c.ID, "h", now.Add(-30*24*time.Hour).Truncate(time.Hour), now)
						if err != nil {
							t.Fatal(err)
						}
						raw, err := store.Results(ctx, models.AllOrgs(), org, c.ID, now.Add(-24*time.Hour), now)
						if err != nil {
							t.Fatal(err)
						}
						if len(days) < 91 || len(hours) < 30*24 || len(raw) < 24*12-2 {
							t.Errorf("%s %s: %d daily rollups, %d hourly in 30 days, %d results in 24 h; want 91+, 720+, 287+",
								d.Name, c.Kind, len(days), len(hours), len(raw))
						}
						// Each day's rollup adds up its hours.
						byDay := map[int64]int{} // by the day's Unix time: a time.Time key holds its Location too
						allHours, _ := store.Rollups(ctx, models.AllOrgs(), org, c.ID, "h", now.Add(-92*24*time.Hour), now)
						for _, h := range allHours {
							byDay[h.Start.Truncate(24*time.Hour).Unix()] += h.Probes
						}
						for _, dr := range days {
							if dr.Start.Before(now.Add(-demoHourlyDays * 24 * time.Hour)) {
								continue // hourly rollups are written for the last demoHourlyDays
							}
							if byDay[dr.Start.Unix()] != dr.Probes {
								t.Errorf("%s %s on %v: daily rollup has %d probes, its hours %d", d.Name, c.Kind, dr.Start, dr.Probes, byDay[dr.Start.Unix()])
								break
							}
						}
						for _, r := range raw {
							if !r.OK || r.RTTus <= 0 {
								t.Errorf("%s %s: result %+v in the last day, want successes with a round trip", d.Name, c.Kind, r)
								break
							}
						}
						counts[string(c.Kind)]++
					}
				}
			}
			if web == nil || counts["icmp"] != 4 || counts["http"] != 2 || counts["tcp"] != 1 {
				t.Fatalf("demo checks %v, web-01 %v", counts, web)
			}

			// Two incidents of web-01: the application (the customer's,
			// HTTP only) and the power (the provider's, ping and HTTP).
			outs, err := store.ListOutages(ctx, models.AllOrgs(), aurora.ID, web.ID, 20)
			if err != nil {
				t.Fatal(err)
			}
			causes := map[models.Cause]int{}
			var spans []models.Span
			var down, counted time.Duration
			for _, o := range outs {
				if o.EndedAt == nil {
					t.Fatalf("outage %+v still open", o)
				}
				causes[o.Cause]++
				spans = append(spans, models.Span{Start: o.StartedAt, End: o.EndedAt, Cause: o.Cause})
			}
			if len(outs) != 3 || causes[models.CauseCustomerApplication] != 1 || causes[models.CauseProviderPower] != 2 {
				t.Fatalf("outages of web-01: %+v, want one customer_application and two provider_power", outs)
			}
			for _, o := range outs {
				if o.Cause == models.CauseCustomerApplication {
					down += o.EndedAt.Sub(o.StartedAt)
				}
			}
			// The two power outages are the same stretch of time: counted once.
			for _, o := range outs {
				if o.Cause == models.CauseProviderPower {
					down += o.EndedAt.Sub(o.StartedAt)
					counted = o.EndedAt.Sub(o.StartedAt)
					break
				}
			}

			// Notices: the application's met, the power's two missed, one
			// day charged (the second miss that day is not charged again).
			var met, missed, charged int
			for _, o := range outs {
				c, err := store.OutageClock(ctx, models.AllOrgs(), aurora.ID, o.ID)
				if err != nil || c == nil {
					t.Fatalf("clock of outage %d: %+v, %v", o.ID, c, err)
				}
				switch c.Outcome {
				case models.ClockMet:
					met++
				case models.ClockMissed:
					missed++
					ded, err := store.ClockDeduction(ctx, models.AllOrgs(), aurora.ID, c.ID)
					if err != nil || ded == nil {
						t.Fatalf("deduction of clock %d: %+v, %v", c.ID, ded, err)
					}
					charged += ded.Days
				}
				// The notice and the recovery each went out by email; the
				// contact's mobile has no gateway in the demo, so each was
				// logged as not sent and became a call, which staff made.
				ds, att := mustDeliveries(t, store, aurora.ID, o.ID)
				byHow := map[string]int{}
				for _, d := range ds {
					switch {
					case d.Transport == models.TransportEmail && d.Status == models.DeliveryAccepted && len(att[d.ID]) > 0:
						byHow["email accepted"]++
					case d.Status == models.DeliveryNotSent:
						byHow["not sent"]++
					case d.Transport == models.TransportCall && d.Status == models.DeliveryAnswered:
						byHow["call answered"]++
					default:
						t.Errorf("outage %d delivery %+v: want an accepted email, a channel not sent or an answered call", o.ID, d)
					}
				}
				if byHow["email accepted"] != 2 || byHow["not sent"] != 2 || byHow["call answered"] != 2 {
					t.Errorf("outage %d deliveries %v; want 2 of each (notice and recovery)", o.ID, byHow)
				}
			}
			if met != 1 || missed != 2 || charged != 1 {
				t.Errorf("clocks: %d met, %d missed, %d days charged; want 1, 2, 1", met, missed, charged)
			}

			// The figures agree with the outages.
			up, err := store.GetDeviceUptime(ctx, models.AllOrgs(), aurora.ID, web.ID, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range up.Periods {
				if p.Period != models.Period90d {
					continue
				}
				want := models.ComputeAvailability(p.From, p.To, web.CreatedAt, p.To, spans)
				if p.Down != down || p.Counted != counted || p.Availability != want || p.Total < 90*24*time.Hour-time.Minute {
					t.Errorf("90 days of web-01: %+v, want down %v, counted %v over 90 days (%+v)", p.Availability, down, counted, want)
				}
			}
			var dayDown time.Duration
			for _, d := range up.Days {
				if d.NoData {
					t.Errorf("day %v of the bar has no data", d.Day)
				}
				dayDown += d.Down
			}
			if dayDown != down {
				t.Errorf("the bar of days has %v down, the outages %v", dayDown, down)
			}

			// The start printed an API token of Aurora's customer that works.
			tokenRE := regexp.MustCompile(`Bearer (cpt_[A-Za-z0-9_-]{43})' http://127.0.0.1:18392/api/v1/devices`)
			first := tokenRE.FindStringSubmatch(out.String())
			if first == nil {
				t.Fatalf("no API token printed:\n%s", out.String())
			}
			if _, u, err := store.AuthenticateToken(ctx, first[1], ""); err != nil || u.Email != "ops@aurora.example" {
				t.Fatalf("the printed token: %v %v", u, err)
			}

			// A second start adds no history, and its token replaces the first.
			n := len(outs)
			out.Reset()
			if err := loadDemo(ctx, store, "127.0.0.1:18392", demoBlobs(t), &out); err != nil {
				t.Fatal(err)
			}
			if again, _ := store.ListOutages(ctx, models.AllOrgs(), aurora.ID, web.ID, 20); len(again) != n {
				t.Errorf("after a second start: %d outages of web-01, want %d", len(again), n)
			}
			second := tokenRE.FindStringSubmatch(out.String())
			if second == nil || second[1] == first[1] {
				t.Fatalf("second start's token %v, first %s", second, first[1])
			}
			if _, _, err := store.AuthenticateToken(ctx, first[1], ""); !errors.Is(err, models.ErrTokenInvalid) {
				t.Fatalf("the first start's token after the second: %v", err)
			}
			if _, _, err := store.AuthenticateToken(ctx, second[1], ""); err != nil {
				t.Fatalf("the second start's token: %v", err)
			}
		})
	}
}

func mustDeliveries(t *testing.T, s *models.Store, orgID, outageID int64) ([]models.Delivery, map[int64][]models.DeliveryAttempt) {
	t.Helper()
	ds, att, err := s.OutageDeliveries(context.Background(), models.AllOrgs(), orgID, outageID)
	if err != nil {
		t.Fatal(err)
	}
	return ds, att
}
