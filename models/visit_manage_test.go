package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

func TestUpdateVisitReplacesItAndSendsAnApprovedOneBack(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		v, err := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, f.input())
		if err != nil {
			t.Fatal(err)
		}
		// Reception approved it with an escort (done by hand: reception's
		// Store methods are another part).
		escort := f.fx.Engineer.ID
		if err := rawDB(t, db).Table("visits").Where("id = ?", v.ID).Updates(map[string]any{"state": models.VisitApproved,
			"escort_id": escort, "decided_by": escort, "decided_at": clock.Now(), "decision_note": "ok"}).Error; err != nil {
			t.Fatal(err)
		}
		in := f.input()
		in.Visitors = in.Visitors[:1]
		in.Visitors[0].IDNumber = residentB
		in.Cabinets = nil
		in.Needs = map[string]string{"meals": "two lunches"}
		in.PlannedTo = in.PlannedTo.Add(-time.Hour)
		// Another organization's visit is not found, and nothing changes.
		if _, err := s.UpdateVisit(ctx, models.UserActor(f.fx.CustB, "10.0.0.2"), f.fx.OrgB.ID, v.ID, in); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("other organization: %v, want not found", err)
		}
		got, err := s.UpdateVisit(ctx, f.customer, f.fx.OrgA.ID, v.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != models.VisitPending || got.DecidedBy != nil || got.DecisionNote != "" || got.EscortID == nil || *got.EscortID != escort {
			t.Fatalf("changed visit = %+v, want pending, undecided, escort kept", got)
		}
		stored, err := s.GetVisitByRef(ctx, models.ScopeOf(f.fx.CustA), v.Ref)
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.VisitDetailOf(ctx, models.ScopeOf(f.fx.CustA), stored, false)
		if err != nil {
			t.Fatal(err)
		}
		if stored.State != models.VisitPending || stored.DecidedAt != nil || stored.Number() != v.Number() || !stored.PlannedTo.Equal(in.PlannedTo) {
			t.Fatalf("stored = %+v", stored)
		}
		if len(d.Visitors) != 1 || d.Visitors[0].ID != "110***********002X" || len(d.Targets) != 1 || d.Targets[0].DeviceID == nil ||
			len(d.Needs) != 1 || d.Needs[0].Need != "meals" || d.Needs[0].Note != "two lunches" {
			t.Fatalf("detail after the change = %+v", d)
		}
		evs := auditOf(t, s, models.AuditVisitChanged)
		if len(evs) != 1 {
			t.Fatalf("%d change records", len(evs))
		}
		for _, want := range []string{`"planned"`, `"visitors"`, `"targets"`, `"needs"`, `"reopened":true`} {
			if !strings.Contains(evs[0].Detail, want) {
				t.Errorf("change record %s lacks %s", evs[0].Detail, want)
			}
		}
		for _, never := range []string{residentA, residentB, "13812345678", `"activity"`, `"site"`} {
			if strings.Contains(evs[0].Detail, never) {
				t.Errorf("change record %s holds %s", evs[0].Detail, never)
			}
		}
		// The same rules as a new request; nothing stored on failure.
		bad := f.input()
		bad.PlannedTo = bad.PlannedFrom
		_, err = s.UpdateVisit(ctx, f.customer, f.fx.OrgA.ID, v.ID, bad)
		wantInvalid(t, err, "planned_to", "visits.error.exit_before_entry")
		if again, _ := s.GetVisitByRef(ctx, models.AllOrgs(), v.Ref); !again.PlannedTo.Equal(in.PlannedTo) {
			t.Fatalf("a refused change was stored: %+v", again)
		}
		// Once somebody has checked in, it can no longer change.
		if err := rawDB(t, db).Table("visit_visitors").Where("visit_id = ?", v.ID).Update("checked_in_at", clock.Now()).Error; err != nil {
			t.Fatal(err)
		}
		_, err = s.UpdateVisit(ctx, f.customer, f.fx.OrgA.ID, v.ID, in)
		wantInvalid(t, err, "state", "visits.error.entered")
		if ok, err := s.VisitChangeable(ctx, stored); ok || err != nil {
			t.Fatalf("changeable after a check-in: %v %v", ok, err)
		}
	})
}

func TestUpdateVisitLeavesItselfOutOfTheCapacity(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		if err := rawDB(t, db).Table("sites").Where("id = ?", f.site.ID).Update("max_inside", 3).Error; err != nil {
			t.Fatal(err)
		}
		v, err := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, f.input())
		if err != nil {
			t.Fatal(err)
		}
		in := f.input()
		in.Visitors = append(in.Visitors, models.VisitorInput{Name: "Li Na", IDType: "passport", IDNumber: "E9999", Phone: "13900000000"})
		if _, err := s.UpdateVisit(ctx, f.customer, f.fx.OrgA.ID, v.ID, in); err != nil {
			t.Fatalf("three of three: %v", err)
		}
		in.Visitors = append(in.Visitors, in.Visitors[0])
		_, err = s.UpdateVisit(ctx, f.customer, f.fx.OrgA.ID, v.ID, in)
		wantInvalid(t, err, "visitors", "visits.error.site_full")
	})
}

func TestCancelVisit(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		v, err := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, f.input())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CancelVisit(ctx, models.UserActor(f.fx.CustB, ""), f.fx.OrgB.ID, v.ID, ""); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("other organization: %v, want not found", err)
		}
		if err := s.CancelVisit(ctx, f.customer, f.fx.OrgA.ID, v.ID, "plans changed"); err != nil {
			t.Fatal(err)
		}
		got, _ := s.GetVisitByRef(ctx, models.AllOrgs(), v.Ref)
		if got.State != models.VisitCancelled || got.CancelledAt == nil || !got.CancelledAt.Equal(clock.Now()) {
			t.Fatalf("cancelled visit = %+v", got)
		}
		if evs := auditOf(t, s, models.AuditVisitCancelled); len(evs) != 1 || !strings.Contains(evs[0].Detail, "plans changed") {
			t.Fatalf("audit = %+v", evs)
		}
		wantInvalid(t, s.CancelVisit(ctx, f.customer, f.fx.OrgA.ID, v.ID, ""), "state", "visits.error.closed")
		_, err = s.UpdateVisit(ctx, f.customer, f.fx.OrgA.ID, v.ID, f.input())
		wantInvalid(t, err, "state", "visits.error.closed")
		// Not after somebody entered.
		v2, err := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, f.input())
		if err != nil {
			t.Fatal(err)
		}
		if err := rawDB(t, db).Table("visit_visitors").Where("visit_id = ? AND seq = 1", v2.ID).Update("checked_in_at", clock.Now()).Error; err != nil {
			t.Fatal(err)
		}
		wantInvalid(t, s.CancelVisit(ctx, f.customer, f.fx.OrgA.ID, v2.ID, ""), "state", "visits.error.entered")
	})
}

func TestListVisitsUpcomingAndPastWithTheDoorTimes(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		mk := func(org int64, actor models.Actor, days int, edit func(in *models.VisitInput)) *models.Visit {
			t.Helper()
			in := f.input()
			in.PlannedFrom, in.PlannedTo = in.PlannedFrom.AddDate(0, 0, days), in.PlannedTo.AddDate(0, 0, days)
			if edit != nil {
				edit(&in)
			}
			v, err := s.CreateVisit(ctx, actor, org, in)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		later := mk(f.fx.OrgA.ID, f.customer, 3, nil)
		soon := mk(f.fx.OrgA.ID, f.customer, 0, nil)
		gone := mk(f.fx.OrgA.ID, f.customer, 1, nil)
		if err := s.CancelVisit(ctx, f.customer, f.fx.OrgA.ID, gone.ID, ""); err != nil {
			t.Fatal(err)
		}
		other := mk(f.fx.OrgB.ID, models.UserActor(f.fx.CustB, ""), 0, func(in *models.VisitInput) {
			in.DeviceIDs, in.Cabinets = []int64{f.devB.ID}, nil
		})
		// Both visitors of soon came in; one left, then the other.
		in1, out1, out2 := clock.Now().Add(26*time.Hour), clock.Now().Add(27*time.Hour), clock.Now().Add(28*time.Hour)
		raw := rawDB(t, db).Table("visit_visitors")
		if err := raw.Where("visit_id = ?", soon.ID).Update("checked_in_at", in1).Error; err != nil {
			t.Fatal(err)
		}
		if err := raw.Where("visit_id = ? AND seq = 1", soon.ID).Update("checked_out_at", out1).Error; err != nil {
			t.Fatal(err)
		}
		custA := models.ScopeOf(f.fx.CustA)
		up, err := s.ListVisits(ctx, custA, models.VisitFilter{Period: models.VisitsUpcoming})
		if err != nil {
			t.Fatal(err)
		}
		if len(up) != 2 || up[0].ID != soon.ID || up[1].ID != later.ID {
			t.Fatalf("upcoming = %+v, want soon then later", up)
		}
		if up[0].Visitors != 2 || up[0].FirstIn == nil || !up[0].FirstIn.Equal(in1) || up[0].LastOut != nil || up[0].Inside != 1 {
			t.Fatalf("door times while one is inside = %+v", up[0])
		}
		if err := rawDB(t, db).Table("visit_visitors").Where("visit_id = ? AND seq = 2", soon.ID).Update("checked_out_at", out2).Error; err != nil {
			t.Fatal(err)
		}
		past, err := s.ListVisits(ctx, custA, models.VisitFilter{Period: models.VisitsPast})
		if err != nil {
			t.Fatal(err)
		}
		if len(past) != 1 || past[0].ID != gone.ID {
			t.Fatalf("past = %+v, want the cancelled one", past)
		}
		// Past the planned exit the visit is history, with its last exit.
		clock.Advance(soon.PlannedTo.Add(time.Minute).Sub(clock.Now()))
		past, err = s.ListVisits(ctx, custA, models.VisitFilter{Period: models.VisitsPast})
		if err != nil {
			t.Fatal(err)
		}
		if len(past) != 2 || past[0].ID != gone.ID || past[1].ID != soon.ID || past[1].LastOut == nil || !past[1].LastOut.Equal(out2) {
			t.Fatalf("past later = %+v", past)
		}
		// Staff see every organization, and filter by one; a customer
		// asking for another organization gets nothing.
		all, err := s.ListVisits(ctx, models.AllOrgs(), models.VisitFilter{})
		if err != nil || len(all) != 4 {
			t.Fatalf("all = %d (%v)", len(all), err)
		}
		onlyB, err := s.ListVisits(ctx, models.AllOrgs(), models.VisitFilter{OrgID: f.fx.OrgB.ID})
		if err != nil || len(onlyB) != 1 || onlyB[0].ID != other.ID {
			t.Fatalf("org B = %+v (%v)", onlyB, err)
		}
		if none, err := s.ListVisits(ctx, custA, models.VisitFilter{OrgID: f.fx.OrgB.ID}); err != nil || len(none) != 0 {
			t.Fatalf("customer A asking for B = %+v (%v)", none, err)
		}
		cancelled, err := s.ListVisits(ctx, models.AllOrgs(), models.VisitFilter{State: models.VisitCancelled})
		if err != nil || len(cancelled) != 1 || cancelled[0].ID != gone.ID {
			t.Fatalf("cancelled = %+v (%v)", cancelled, err)
		}
		ranged, err := s.ListVisits(ctx, models.AllOrgs(), models.VisitFilter{From: later.PlannedFrom, Limit: 1})
		if err != nil || len(ranged) != 1 || ranged[0].ID != later.ID {
			t.Fatalf("from later = %+v (%v)", ranged, err)
		}
	})
}

func TestListVisitsOfAnOperation(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		op, err := s.CreateRequest(ctx, f.customer, f.fx.OrgA.ID, models.RequestInput{Title: "swap a disk", Work: "swap it",
			Urgency: "normal", RequestedBy: &f.fx.CustA.ID, Channel: "portal", DeviceIDs: []int64{f.dev.ID}})
		if err != nil {
			t.Fatal(err)
		}
		in := f.input()
		in.OperationRef = op.Ref
		linked, err := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, f.input()); err != nil {
			t.Fatal(err)
		}
		got, err := s.ListVisits(ctx, models.ScopeOf(f.fx.CustA), models.VisitFilter{OperationID: op.ID})
		if err != nil || len(got) != 1 || got[0].ID != linked.ID {
			t.Fatalf("visits of the operation = %+v (%v)", got, err)
		}
	})
}

func TestSaveSite(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		admin := models.UserActor(fx.Admin, "10.0.0.9")
		site, err := s.SaveSite(ctx, admin, 0, models.SiteInput{Name: " 北京二号楼 ", Address: "亦庄 8 号", Open: "07:30", Close: "21:00", MaxInside: "12"})
		if err != nil {
			t.Fatal(err)
		}
		if site.Name != "北京二号楼" || site.OpenMinute != 450 || site.CloseMinute != 1260 || site.MaxInside != 12 || site.AllDay() {
			t.Fatalf("new site = %+v", site)
		}
		site, err = s.SaveSite(ctx, admin, site.ID, models.SiteInput{Name: "北京二号楼", AllDay: true, Open: "junk"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.GetSite(ctx, site.ID)
		if err != nil || !got.AllDay() || got.MaxInside != 0 || got.Address != "" {
			t.Fatalf("changed site = %+v (%v)", got, err)
		}
		if evs := auditOf(t, s, models.AuditSiteSaved); len(evs) != 2 || !strings.Contains(evs[0].Detail, `"before"`) {
			t.Fatalf("audit = %+v", evs)
		}
		for _, c := range []struct {
			in         models.SiteInput
			field, key string
		}{
			{models.SiteInput{Open: "08:00", Close: "18:00"}, "name", "error.required"},
			{models.SiteInput{Name: "x", Open: "8", Close: "18:00"}, "open", "sites.error.clock"},
			{models.SiteInput{Name: "x", Open: "08:00", Close: "25:00"}, "close", "sites.error.clock"},
			{models.SiteInput{Name: "x", Open: "18:00", Close: "08:00"}, "close", "sites.error.close_before_open"},
			{models.SiteInput{Name: "x", AllDay: true, MaxInside: "-1"}, "max_inside", "sites.error.capacity"},
			{models.SiteInput{Name: "x", AllDay: true, MaxInside: "many"}, "max_inside", "sites.error.capacity"},
			{models.SiteInput{Name: "北京二号楼", AllDay: true}, "name", "sites.error.name_taken"},
		} {
			_, err := s.SaveSite(ctx, admin, 0, c.in)
			wantInvalid(t, err, c.field, c.key)
		}
		if _, err := s.SaveSite(ctx, admin, 999999, models.SiteInput{Name: "y", AllDay: true}); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown site: %v", err)
		}
		sites, _ := s.ListSites(ctx)
		if len(sites) != 2 {
			t.Fatalf("%d sites, want the default and the new one", len(sites))
		}
	})
}
