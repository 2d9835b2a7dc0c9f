package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// The keyset-paged reads walk every row once, in their order, across
// pages, and see only their scope's organizations.
func TestMonitoringReadsAreKeysetPagedAndScoped(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		sys := models.SystemActor("test")
		scA, scB := models.OrgScope(fx.OrgA.ID), models.OrgScope(fx.OrgB.ID)
		tags := "db, web"
		var devs []*models.Device
		var checks []models.Check
		for i, in := range []models.DeviceInput{
			{OrgID: fx.OrgA.ID, Name: "web-1", Address: "127.0.0.2", Tags: &tags},
			{OrgID: fx.OrgB.ID, Name: "web-b", Address: "127.0.0.3"},
			{OrgID: fx.OrgA.ID, Name: "web-2", Address: "127.0.0.4"},
			{OrgID: fx.OrgA.ID, Name: "web-3", Address: "127.0.0.5"},
		} {
			d, err := s.CreateDevice(ctx, sys, in)
			if err != nil {
				t.Fatal(i, err)
			}
			cs, err := s.ListChecks(ctx, models.AllOrgs(), in.OrgID, d.ID)
			if err != nil || len(cs) != 1 {
				t.Fatalf("checks %+v, %v", cs, err)
			}
			devs, checks = append(devs, d), append(checks, cs[0])
		}
		t0 := clock.Now()
		at := func(i int) time.Time { return t0.Add(time.Duration(i) * 5 * time.Minute) }
		// web-1: fail, fail (an outage), ok (its end), fail, ok; web-2 and
		// web-3 down together (two outages starting at one instant); web-b
		// down.
		var batch []models.ProbeResult
		for i, ok := range []bool{false, false, true, false, true} {
			r := models.ProbeResult{CheckID: checks[0].ID, At: at(i), OK: ok, RTTus: 100 + i}
			if !ok {
				r.RTTus, r.Reason = 0, models.ReasonRefused
			}
			batch = append(batch, r)
		}
		for _, c := range checks[1:] {
			batch = append(batch, models.ProbeResult{CheckID: c.ID, At: at(1), Reason: models.ReasonTimeout},
				models.ProbeResult{CheckID: c.ID, At: at(2), Reason: models.ReasonTimeout})
		}
		clock.Advance(30 * time.Minute)
		if _, err := s.RecordResults(ctx, batch); err != nil {
			t.Fatal(err)
		}

		t.Run("devices", func(t *testing.T) {
			var got []models.Device
			var after int64
			for {
				ds, more, err := s.DevicesPage(ctx, scA, 0, after, 2)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ds...)
				if !more {
					break
				}
				after = ds[len(ds)-1].ID
			}
			if len(got) != 3 || got[0].ID != devs[0].ID || got[1].ID != devs[2].ID || got[2].ID != devs[3].ID {
				t.Fatalf("A's devices %+v", got)
			}
			if len(got[0].Tags) != 2 || got[0].Tags[0] != "db" || len(got[1].Tags) != 0 {
				t.Fatalf("tags %v, %v", got[0].Tags, got[1].Tags)
			}
			all, more, err := s.DevicesPage(ctx, models.AllOrgs(), 0, 0, 10)
			if err != nil || more || len(all) != 4 {
				t.Fatalf("every device: %d, %v, %v", len(all), more, err)
			}
			if ds, _, err := s.DevicesPage(ctx, models.AllOrgs(), fx.OrgB.ID, 0, 10); err != nil || len(ds) != 1 || ds[0].ID != devs[1].ID {
				t.Fatalf("B's devices for staff %+v, %v", ds, err)
			}
			if _, _, err := s.DevicesPage(ctx, scA, fx.OrgB.ID, 0, 10); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("A asking for B's devices: %v", err)
			}
			cs, err := s.ChecksOfDevices(ctx, scA, []int64{devs[0].ID, devs[1].ID})
			if err != nil || len(cs[devs[0].ID]) != 1 || len(cs[devs[1].ID]) != 0 {
				t.Fatalf("checks of devices within A's scope: %+v, %v", cs, err)
			}
		})

		t.Run("results", func(t *testing.T) {
			var got []models.ProbeResult
			var before time.Time
			for range 5 {
				rs, more, err := s.ResultsPage(ctx, scA, fx.OrgA.ID, checks[0].ID, t0, at(10), before, 2)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, rs...)
				if !more {
					break
				}
				before = rs[len(rs)-1].At
			}
			if len(got) != 5 {
				t.Fatalf("%d results, want 5: %+v", len(got), got)
			}
			for i, r := range got {
				if !r.At.Equal(at(4-i)) || r.OK != batch[4-i].OK || (!r.OK && r.Reason != models.ReasonRefused) {
					t.Fatalf("result %d: %+v, want %+v", i, r, batch[4-i])
				}
			}
			if rs, _, err := s.ResultsPage(ctx, scA, fx.OrgA.ID, checks[0].ID, at(1), at(3), time.Time{}, 10); err != nil || len(rs) != 2 {
				t.Fatalf("results in [at(1), at(3)): %+v, %v", rs, err)
			}
			if _, _, err := s.ResultsPage(ctx, scB, fx.OrgA.ID, checks[0].ID, t0, at(10), time.Time{}, 10); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("B reading A's results: %v", err)
			}
			if rs, _, err := s.ResultsPage(ctx, scB, fx.OrgB.ID, checks[0].ID, t0, at(10), time.Time{}, 10); err != nil || len(rs) != 0 {
				t.Fatalf("A's check under B's organization: %+v, %v", rs, err)
			}
			n := 0
			if err := s.EachCheckResult(ctx, scA, fx.OrgA.ID, checks[0].ID, t0, at(10), func(r models.ResultRow) error {
				if r.CheckID != checks[0].ID || r.Kind != models.KindICMP {
					t.Errorf("row %+v", r)
				}
				n++
				return nil
			}); err != nil || n != 5 {
				t.Fatalf("EachCheckResult: %d rows, %v", n, err)
			}
			if err := s.EachCheckResult(ctx, scB, fx.OrgA.ID, checks[0].ID, t0, at(10), func(models.ResultRow) error { return nil }); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("EachCheckResult of another organization: %v", err)
			}
		})

		t.Run("outages", func(t *testing.T) {
			walk := func(sc models.Scope, f models.OutageFilter) []models.Outage {
				t.Helper()
				var got []models.Outage
				var after *models.OutageKey
				for range 10 {
					os, more, err := s.OutagesPage(ctx, sc, f, after, 1)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, os...)
					if !more {
						break
					}
					last := os[len(os)-1]
					after = &models.OutageKey{StartedAt: last.StartedAt, ID: last.ID}
				}
				return got
			}
			got := walk(scA, models.OutageFilter{})
			// web-1's second failure (at(3)) is one probe: no outage.
			if len(got) != 3 || !got[0].StartedAt.Equal(at(1)) || !got[1].StartedAt.Equal(at(1)) || got[0].ID < got[1].ID ||
				!got[2].StartedAt.Equal(at(0)) || got[2].DeviceID != devs[0].ID {
				t.Fatalf("A's outages newest first: %+v", got)
			}
			if open := walk(scA, models.OutageFilter{State: models.OutageOpen}); len(open) != 2 || open[0].EndedAt != nil {
				t.Fatalf("A's open outages %+v", open)
			}
			if closed := walk(scA, models.OutageFilter{State: models.OutageClosed}); len(closed) != 1 || closed[0].DeviceID != devs[0].ID {
				t.Fatalf("A's closed outages %+v", closed)
			}
			if early := walk(scA, models.OutageFilter{To: at(1)}); len(early) != 1 || early[0].DeviceID != devs[0].ID {
				t.Fatalf("A's outages started before at(1): %+v", early)
			}
			if late := walk(scA, models.OutageFilter{From: at(2).Add(time.Second)}); len(late) != 2 {
				t.Fatalf("A's outages going on after at(2): %+v", late)
			}
			if all := walk(models.AllOrgs(), models.OutageFilter{}); len(all) != 4 {
				t.Fatalf("every outage: %+v", all)
			}
			if b := walk(models.AllOrgs(), models.OutageFilter{OrgID: fx.OrgB.ID}); len(b) != 1 || b[0].OrgID != fx.OrgB.ID {
				t.Fatalf("B's outages for staff: %+v", b)
			}
			if _, _, err := s.OutagesPage(ctx, scA, models.OutageFilter{OrgID: fx.OrgB.ID}, nil, 10); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("A asking for B's outages: %v", err)
			}
		})

		t.Run("notices", func(t *testing.T) {
			var got []models.NoticeRecord
			var before int64
			for range 10 {
				ns, more, err := s.NoticesPage(ctx, scA, 0, before, 1)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ns...)
				if !more {
					break
				}
				before = ns[len(ns)-1].ID
			}
			outages := map[int64]bool{}
			for i, n := range got {
				if n.OrgID != fx.OrgA.ID || (i > 0 && n.ID >= got[i-1].ID) {
					t.Fatalf("A's notices %+v", got)
				}
				for _, o := range n.Outages {
					if n.Kind == models.NoticeOpened {
						outages[o.OutageID] = true
						if o.Clock == nil || o.Clock.RefID != o.OutageID {
							t.Fatalf("notice %d, outage %d: clock %+v", n.ID, o.OutageID, o.Clock)
						}
					}
				}
			}
			if len(got) == 0 || len(outages) != 3 {
				t.Fatalf("A's notices tell of %d outages, want 3: %+v", len(outages), got)
			}
			one, err := s.GetNotice(ctx, scA, got[0].ID)
			if err != nil || one.ID != got[0].ID || len(one.Outages) != len(got[0].Outages) {
				t.Fatalf("GetNotice %+v, %v", one, err)
			}
			bs, _, err := s.NoticesPage(ctx, models.AllOrgs(), fx.OrgB.ID, 0, 10)
			if err != nil || len(bs) != 1 {
				t.Fatalf("B's notices %+v, %v", bs, err)
			}
			if _, err := s.GetNotice(ctx, scA, bs[0].ID); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("A reading B's notice: %v", err)
			}
			if _, _, err := s.NoticesPage(ctx, scA, fx.OrgB.ID, 0, 10); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("A listing B's notices: %v", err)
			}
			ons, err := s.OutageNotices(ctx, scA, fx.OrgA.ID, got[len(got)-1].Outages[0].OutageID)
			if err != nil || len(ons) == 0 {
				t.Fatalf("OutageNotices %+v, %v", ons, err)
			}
			if _, err := s.OutageNotices(ctx, scB, fx.OrgA.ID, 1); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("OutageNotices of another organization: %v", err)
			}
		})
	})
}
