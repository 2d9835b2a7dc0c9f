package models_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// Issue 12, the cliff: a data center has more checks than a statement may
// have variables (SQLite 32,766, MySQL 65,535 placeholders). Every
// statement that takes a list of IDs or rows is bounded, so each read and
// claim below works at 100,000 checks and 50,000 devices on both
// databases. Each step failed on the code before the bounds with "too many
// SQL variables" (SQLite) or "too many placeholders" (MySQL).

const (
	bigDevices = 50_000
	bigChecks  = 2 * bigDevices // two ping checks per device
)

// bigFleet is organization A with bigDevices devices and bigChecks
// checks, an ended outage (with one probe of evidence) on each device's
// first check, and as many pending outbox events and deliveries as
// checks. The rows are copies of one template each, written by INSERT …
// SELECT over a table of numbers: a few statements whatever the size.
type bigFleet struct {
	s        *models.Store
	g        *gorm.DB
	fx       *dbtest.Fixture
	devices  []int64
	checks   []int64
	outages  []int64
	outStart time.Time
}

func newBigFleet(t *testing.T, db dbtest.DB, clock *dbtest.Clock) *bigFleet {
	t.Helper()
	ctx := context.Background()
	f := &bigFleet{s: dbtest.Open(t, db, models.WithClock(clock.Now)), g: rawDB(t, db)}
	f.fx = dbtest.Seed(t, f.s)
	g, org := f.g, f.fx.OrgA.ID
	exec := func(sql string, args ...any) {
		t.Helper()
		if err := g.Exec(sql, args...).Error; err != nil {
			t.Fatalf("%s: %v", sql[:min(len(sql), 60)], err)
		}
	}
	// nums holds 1 … 2^17 (≥ bigChecks): 1 … 1024 in one statement, then doubled.
	exec("CREATE TABLE nums (n INTEGER NOT NULL PRIMARY KEY)")
	t.Cleanup(func() { g.Exec("DROP TABLE nums") })
	var vals []string
	for i := 1; i <= 1024; i++ {
		vals = append(vals, fmt.Sprintf("(%d)", i))
	}
	exec("INSERT INTO nums (n) VALUES " + strings.Join(vals, ","))
	for size := 1024; size < bigChecks; size *= 2 {
		exec("INSERT INTO nums (n) SELECT n + ? FROM nums", size)
	}
	d0, err := f.s.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: org, Name: "d1", Address: "127.1.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	name := "'d' || nums.n"
	if f.s.Dialect() == models.MySQL {
		name = "CONCAT('d', nums.n)"
	}
	copyRows(t, g, "devices", map[string]string{"name": name}, "FROM devices t JOIN nums ON nums.n BETWEEN 2 AND ? WHERE t.id = ?", bigDevices, d0.ID)
	// The template device's ping check, then one more check on every device.
	copyRows(t, g, "checks", map[string]string{"device_id": "d.id"},
		"FROM checks t JOIN devices d ON d.org_id = t.org_id AND d.id <> t.device_id WHERE t.device_id = ?", d0.ID)
	copyRows(t, g, "checks", nil, "FROM checks t WHERE t.org_id = ?", org)

	f.outStart = clock.Now().Add(-2 * time.Hour)
	o0 := models.Outage{CheckID: 0, DeviceID: d0.ID, OrgID: org, StartedAt: f.outStart, ConfirmedAt: f.outStart.Add(time.Minute),
		EndedAt: ptr(f.outStart.Add(time.Hour)), Cause: models.CauseUnknown, Failures: 2, CreatedAt: f.outStart, UpdatedAt: f.outStart}
	if err := g.Create(&o0).Error; err != nil {
		t.Fatal(err)
	}
	copyRows(t, g, "outages", map[string]string{"device_id": "c.device_id", "check_id": "c.id"},
		"FROM outages t JOIN checks c ON c.org_id = t.org_id AND c.id IN (SELECT MIN(id) FROM checks GROUP BY device_id) WHERE t.id = ?", o0.ID)
	exec("DELETE FROM outages WHERE id = ?", o0.ID)
	if err := g.Create(&models.OutageProbe{OutageID: 0, At: f.outStart, Reason: models.ReasonTimeout}).Error; err != nil {
		t.Fatal(err)
	}
	copyRows(t, g, "outage_probes", map[string]string{"outage_id": "o.id"}, "FROM outage_probes t JOIN outages o ON o.org_id = ? WHERE t.outage_id = 0", org)
	exec("DELETE FROM outage_probes WHERE outage_id = 0")

	never := time.Unix(0, 0).UTC()
	ev := models.OutboxEvent{Kind: models.EventOutageCauseSpan, OrgID: org, RefID: 0, Payload: "{}", CreatedAt: clock.Now(), LeaseUntil: never}
	if err := g.Create(&ev).Error; err != nil {
		t.Fatal(err)
	}
	copyRows(t, g, "outbox", nil, "FROM outbox t JOIN nums ON nums.n BETWEEN 2 AND ? WHERE t.id = ?", bigChecks, ev.ID)
	dl := models.Delivery{OrgID: org, EventID: ev.ID, Event: ev.Kind, Channel: models.Channel("email"), Transport: models.TransportEmail,
		Address: "ops@alpha.test", Locale: "en", Status: models.DeliveryPending, NextAttemptAt: clock.Now().Add(-time.Minute),
		LeaseUntil: never, CreatedAt: clock.Now()}
	if err := g.Create(&dl).Error; err != nil {
		t.Fatal(err)
	}
	copyRows(t, g, "deliveries", nil, "FROM deliveries t JOIN nums ON nums.n BETWEEN 2 AND ? WHERE t.id = ?", bigChecks, dl.ID)

	// A missed emergency-notice clock and its deduction line per outage,
	// all on one day: a power failure across the data center.
	day := f.outStart.UTC().Format(time.DateOnly)
	c0 := models.Clock{OrgID: org, Kind: models.ClockEmergencyNotice, RefID: 0, StartedAt: f.outStart.Add(time.Minute),
		DeadlineAt: f.outStart.Add(16 * time.Minute), Outcome: models.ClockMissed, CreatedAt: f.outStart}
	if err := g.Create(&c0).Error; err != nil {
		t.Fatal(err)
	}
	copyRows(t, g, "sla_clocks", map[string]string{"ref_id": "o.id"}, "FROM sla_clocks t JOIN outages o ON o.org_id = ? WHERE t.id = ?", org, c0.ID)
	exec("DELETE FROM sla_clocks WHERE id = ?", c0.ID)
	l0 := models.Deduction{OrgID: org, Kind: models.ClockEmergencyNotice, ClockID: 0, Day: day, CreatedAt: f.outStart}
	if err := g.Create(&l0).Error; err != nil {
		t.Fatal(err)
	}
	copyRows(t, g, "deductions", map[string]string{"clock_id": "c.id"},
		"FROM deductions t JOIN sla_clocks c ON c.org_id = ? AND c.kind = ? WHERE t.id = ?", org, models.ClockEmergencyNotice, l0.ID)
	exec("DELETE FROM deductions WHERE id = ?", l0.ID)

	for _, q := range []struct {
		table string
		out   *[]int64
		want  int
	}{{"devices", &f.devices, bigDevices}, {"checks", &f.checks, bigChecks}, {"outages", &f.outages, bigDevices}} {
		if err := g.Table(q.table).Where("org_id = ?", org).Order("id").Pluck("id", q.out).Error; err != nil {
			t.Fatal(err)
		}
		if len(*q.out) != q.want {
			t.Fatalf("fixture: %d %s, want %d", len(*q.out), q.table, q.want)
		}
	}
	return f
}

// copyRows inserts copies of the rows that from selects (the template
// aliased t), with the columns in set replaced by expressions.
func copyRows(t *testing.T, g *gorm.DB, table string, set map[string]string, from string, args ...any) {
	t.Helper()
	cts, err := g.Migrator().ColumnTypes(table)
	if err != nil {
		t.Fatal(err)
	}
	var cols, exprs []string
	for _, ct := range cts {
		c := ct.Name()
		if c == "id" {
			continue
		}
		cols = append(cols, "`"+c+"`")
		if e, ok := set[c]; ok {
			exprs = append(exprs, e)
		} else {
			exprs = append(exprs, "t.`"+c+"`")
		}
	}
	sql := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") SELECT " + strings.Join(exprs, ", ") + " " + from
	if err := g.Exec(sql, args...).Error; err != nil {
		t.Fatalf("copy %s: %v", table, err)
	}
}

func TestListStatementsPastTheVariableLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 checks")
	}
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		f := newBigFleet(t, db, clock)
		ctx := context.Background()
		org := f.fx.OrgA.ID

		t.Run("one instance claims and renews 100,000 checks", func(t *testing.T) {
			clock.Advance(models.UnprobedGrace + time.Second)
			if u, err := f.s.UnprobedChecks(ctx, models.UnprobedGrace); err != nil || u.Checks != bigChecks {
				t.Fatalf("before any claim: %d unprobed checks (%v), want %d", u.Checks, err, bigChecks)
			}
			for round := range 2 {
				r, err := f.s.ShareChecks(ctx, "big", models.ShareOptions{Lease: time.Minute, Max: 2 * bigChecks})
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				if len(r.Checks) != bigChecks || r.Unprobed.Checks != 0 {
					t.Fatalf("round %d holds %d checks and reports %d unprobed, want %d and 0 (those it claimed are held)",
						round, len(r.Checks), r.Unprobed.Checks, bigChecks)
				}
				clock.Advance(15 * time.Second)
			}
			if u, err := f.s.UnprobedChecks(ctx, models.UnprobedGrace); err != nil || u.Checks != 0 {
				t.Fatalf("all held: %d unprobed checks (%v), want 0", u.Checks, err)
			}
		})

		t.Run("outage spans of 50,000 devices", func(t *testing.T) {
			spans, err := f.s.OutageSpans(ctx, models.AllOrgs(), org, f.devices, f.outStart.Add(-time.Hour), clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			if len(spans) != bigDevices {
				t.Fatalf("spans of %d devices, want %d", len(spans), bigDevices)
			}
			for _, id := range []int64{f.devices[0], f.devices[bigDevices/2], f.devices[bigDevices-1]} {
				if got := spans[id]; len(got) != 1 || !got[0].Start.Equal(f.outStart) {
					t.Errorf("device %d: spans %v, want one from %v", id, got, f.outStart)
				}
			}
		})

		t.Run("evidence and cause spans of 50,000 outages", func(t *testing.T) {
			ev, err := f.s.EvidenceForOutages(ctx, models.AllOrgs(), org, f.outages, 5)
			if err != nil {
				t.Fatal(err)
			}
			if len(ev) != bigDevices {
				t.Errorf("evidence of %d outages, want %d", len(ev), bigDevices)
			}
			if _, err := f.s.CauseSpansOf(ctx, models.AllOrgs(), org, f.outages); err != nil {
				t.Error(err)
			}
		})

		t.Run("the missed notices of 50,000 outages on one day", func(t *testing.T) {
			day := f.outStart.UTC().Format(time.DateOnly)
			next := f.outStart.UTC().AddDate(0, 0, 1).Format(time.DateOnly)
			outs, err := f.s.NoticeOutcomes(ctx, models.AllOrgs(), org, day, next)
			if err != nil {
				t.Fatal(err)
			}
			if len(outs) != bigDevices {
				t.Fatalf("%d notice outcomes, want %d", len(outs), bigDevices)
			}
			seen := map[int64]bool{}
			for _, o := range outs {
				seen[o.OutageID] = true
			}
			for _, id := range []int64{f.outages[0], f.outages[bigDevices/2], f.outages[bigDevices-1]} {
				if !seen[id] {
					t.Errorf("outage %d has no notice outcome", id)
				}
			}
		})

		t.Run("one claim of 100,000 outbox events", func(t *testing.T) {
			evs, err := f.s.ClaimEvents(ctx, "big", time.Minute, bigChecks)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != bigChecks {
				t.Fatalf("claimed %d events, want %d", len(evs), bigChecks)
			}
			for i := 1; i < len(evs); i++ {
				if evs[i].ID <= evs[i-1].ID {
					t.Fatalf("events out of ID order at %d", i)
				}
			}
		})

		t.Run("one claim of 100,000 deliveries", func(t *testing.T) {
			ds, err := f.s.ClaimDeliveries(ctx, "big", time.Minute, bigChecks, []string{models.TransportEmail})
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) != bigChecks {
				t.Fatalf("claimed %d deliveries, want %d", len(ds), bigChecks)
			}
			again, err := f.s.ClaimDeliveries(ctx, "other", time.Minute, bigChecks, []string{models.TransportEmail})
			if err != nil || len(again) != 0 {
				t.Fatalf("a second instance claims %d leased deliveries (%v), want 0", len(again), err)
			}
		})

		t.Run("a request on 12,000 devices and its overlapping outages", func(t *testing.T) {
			if f.s.Dialect() == models.MySQL {
				// Its audit record lists every device ID: past about
				// 10,000 devices that is more than MySQL's TEXT column.
				t.Skip("the audit detail of a request on 12,000 devices outgrows MySQL's TEXT")
			}
			// 12,000 links of three columns are 36,000 variables.
			ids := f.devices[:12_000]
			r, err := f.s.CreateRequest(ctx, models.SystemActor("test"), org, models.RequestInput{Title: "hall B power",
				Work: "swap the busbar", Urgency: "normal", DeviceIDs: ids})
			if err != nil {
				t.Fatal(err)
			}
			d, err := f.s.RequestDetailOf(ctx, models.AllOrgs(), r)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Devices) != len(ids) {
				t.Fatalf("the request names %d devices, want %d", len(d.Devices), len(ids))
			}
			started, decided := f.outStart.Add(-time.Hour), f.outStart.Add(-2*time.Hour)
			d.Request.StartedAt = &started
			d.Authorizations = append(d.Authorizations, models.Authorization{Status: models.AuthAccepted, DecidedAt: &decided})
			os, err := f.s.OverlappingOutages(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			if len(os) != len(ids) {
				t.Fatalf("%d overlapping outages, want %d", len(os), len(ids))
			}
			for i := 1; i < len(os); i++ {
				if os[i].StartedAt.Before(os[i-1].StartedAt) || os[i].StartedAt.Equal(os[i-1].StartedAt) && os[i].ID <= os[i-1].ID {
					t.Fatalf("overlapping outages out of (started, id) order at %d", i)
				}
			}
		})
	})
}
