package models_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// Valid mainland resident identity numbers (check digit computed by hand
// from GB 11643's weights) and one with its last digit changed.
const (
	residentA   = "110101199003071233"
	residentB   = "11010519491231002X"
	residentBad = "110101199003071234"
)

func TestResidentIDCheckDigit(t *testing.T) {
	for _, c := range []struct {
		id string
		ok bool
	}{
		{residentA, true}, {residentB, true}, {strings.ToLower(residentB), true}, {"440304198511206618", true},
		{residentBad, false}, {"11010519491231002", false}, {"1101051949123100200", false}, {"11010519491231002Y", false},
		{"1101051949123100X2", false}, {"", false},
	} {
		if got := models.CheckResidentID(c.id); got != c.ok {
			t.Errorf("CheckResidentID(%q) = %v, want %v", c.id, got, c.ok)
		}
	}
}

func TestMaskingKeepsTheEnds(t *testing.T) {
	if got := models.MaskPhone("13812345678"); got != "138****5678" {
		t.Errorf("MaskPhone = %q", got)
	}
	for in, want := range map[string]string{
		residentA:   "110***********1233",
		"E1234567":  "******67",
		"C01X00T47": "*****0T47",
		"AB":        "**",
	} {
		if got := models.MaskID(in); got != want {
			t.Errorf("MaskID(%q) = %q, want %q", in, got, want)
		}
	}
}

// visitFixture is the seeded organizations with a device in cabinet A03
// for OrgA and one in B07 for OrgB, and the first site.
type visitFixture struct {
	fx        *dbtest.Fixture
	dev, devB *models.Device
	site      models.Site
	customer  models.Actor
	now       func() time.Time
}

func newVisitFixture(t *testing.T, s *models.Store, clock *dbtest.Clock) *visitFixture {
	t.Helper()
	ctx := context.Background()
	fx, d, _ := probeFixture(t, s)
	dB, err := s.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: fx.OrgB.ID, Name: "db-b", Address: "127.0.0.3", Cabinet: "B07"})
	if err != nil {
		t.Fatal(err)
	}
	sites, err := s.ListSites(ctx)
	if err != nil || len(sites) != 1 {
		t.Fatalf("sites %v (%v), want the one the migration adds", sites, err)
	}
	return &visitFixture{fx: fx, dev: d, devB: dB, site: sites[0], customer: models.UserActor(fx.CustA, "10.0.0.1"), now: clock.Now}
}

// input is a valid request for tomorrow 10:00–16:00 with two visitors.
func (f *visitFixture) input() models.VisitInput {
	day := f.now().Truncate(24*time.Hour).AddDate(0, 0, 1)
	return models.VisitInput{SiteID: f.site.ID, Activity: "operation", Reason: "更换硬盘 replace a disk",
		PlannedFrom: day.Add(10 * time.Hour), PlannedTo: day.Add(16 * time.Hour),
		Visitors: []models.VisitorInput{
			{Name: "张伟", Company: "阿尔法科技", IDType: models.IDResident, IDNumber: residentA, Phone: "13812345678", Locale: "zh-CN"},
			{Name: "Anna Berg", Company: "Alpha GmbH", IDType: "passport", IDNumber: "C01X00T47", Phone: "+49 30 1234567"},
		},
		DeviceIDs: []int64{f.dev.ID}, Cabinets: []string{"A03"}, Needs: map[string]string{"tools": "a torque screwdriver", "parking": ""},
		Locale: "en"}
}

func countVisits(t *testing.T, s *models.Store, db dbtest.DB) int64 {
	t.Helper()
	var n int64
	if err := rawDB(t, db).Table("visits").Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCreateVisitSealsVisitorsAndNumbersIt(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		v, err := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, f.input())
		if err != nil {
			t.Fatal(err)
		}
		if v.State != models.VisitPending || v.Number() != "VR-2026-0001" || !models.ValidRequestRef(v.Ref) || *v.RequestedBy != f.fx.CustA.ID {
			t.Fatalf("new visit = %+v (%s)", v, v.Number())
		}
		var raw []map[string]any
		if err := rawDB(t, db).Table("visit_visitors").Order("seq").Find(&raw).Error; err != nil {
			t.Fatal(err)
		}
		for _, row := range raw {
			for col, val := range row {
				if s, ok := val.(string); ok && (strings.Contains(s, residentA) || strings.Contains(s, "13812345678") || strings.Contains(s, "C01X00T47")) {
					t.Errorf("column %s holds %q in the clear", col, s)
				}
			}
		}
		// Another organization does not see it; its own sees masked
		// values; reception's reveal opens them.
		if _, err := s.GetVisitByRef(ctx, models.ScopeOf(f.fx.CustB), v.Ref); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("other organization: %v, want not found", err)
		}
		got, err := s.GetVisitByRef(ctx, models.ScopeOf(f.fx.CustA), v.Ref)
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.VisitDetailOf(ctx, models.ScopeOf(f.fx.CustA), got, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Visitors) != 2 || d.Visitors[0].ID != "110***********1233" || d.Visitors[0].Phone != "138****5678" ||
			d.Visitors[1].ID != "*****0T47" || d.Visitors[1].Locale != "en" || d.Visitors[0].Locale != "zh-CN" {
			t.Fatalf("masked visitors = %+v", d.Visitors)
		}
		if len(d.Targets) != 2 || len(d.Needs) != 2 || d.Needs[0].Need != "tools" || d.Site.ID != f.site.ID || d.Requester != f.fx.CustA.Name {
			t.Fatalf("detail = %+v", d)
		}
		open, err := s.VisitDetailOf(ctx, models.AllOrgs(), got, true)
		if err != nil {
			t.Fatal(err)
		}
		if open.Visitors[0].ID != residentA || open.Visitors[1].Phone != "+49 30 1234567" {
			t.Fatalf("revealed visitors = %+v", open.Visitors)
		}
		if evs := auditOf(t, s, models.AuditVisitRequested); len(evs) != 1 || strings.Contains(evs[0].Detail, residentA) {
			t.Fatalf("audit = %+v", evs)
		}
		v2, err := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, f.input())
		if err != nil || v2.Number() != "VR-2026-0002" {
			t.Fatalf("second visit %v (%v)", v2, err)
		}
	})
}

func TestCreateVisitRules(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now), models.WithVisitRules(models.VisitRules{MaxVisitors: 3}))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		now := clock.Now()
		cases := []struct {
			name, field, key string
			edit             func(in *models.VisitInput)
		}{
			{"exit before entry", "planned_to", "visits.error.exit_before_entry", func(in *models.VisitInput) { in.PlannedTo = in.PlannedFrom }},
			{"entry in the past", "planned_from", "visits.error.entry_past", func(in *models.VisitInput) {
				in.PlannedFrom, in.PlannedTo = now.Add(-time.Hour), now.Add(time.Hour)
			}},
			{"beyond the horizon", "planned_from", "visits.error.entry_horizon", func(in *models.VisitInput) {
				in.PlannedFrom, in.PlannedTo = in.PlannedFrom.AddDate(0, 0, 60), in.PlannedTo.AddDate(0, 0, 60)
			}},
			{"short notice", "planned_from", "visits.error.notice", func(in *models.VisitInput) {
				in.PlannedFrom, in.PlannedTo = now.Add(time.Hour+59*time.Minute), now.Add(3*time.Hour)
			}},
			{"outside visiting hours", "planned_from", "visits.error.hours", func(in *models.VisitInput) {
				in.PlannedTo = in.PlannedFrom.Add(12*time.Hour + time.Minute) // 22:01
			}},
			{"resident number length", "visitor1_id_number", "visits.error.resident_length", func(in *models.VisitInput) {
				in.Visitors[0].IDNumber = residentA[:17]
			}},
			{"resident check digit", "visitor1_id_number", "visits.error.resident_check", func(in *models.VisitInput) {
				in.Visitors[0].IDNumber = residentBad
			}},
			{"no visitors", "visitors", "visits.error.no_visitors", func(in *models.VisitInput) { in.Visitors = nil }},
			{"too many visitors", "visitors", "visits.error.too_many_visitors", func(in *models.VisitInput) {
				in.Visitors = append(in.Visitors, in.Visitors...)
			}},
			{"visitor without a name", "visitor2_name", "error.required", func(in *models.VisitInput) { in.Visitors[1].Name = " " }},
			{"bad phone", "visitor2_phone", "visits.error.phone", func(in *models.VisitInput) { in.Visitors[1].Phone = "call me" }},
			{"another organization's device", "targets", "visits.error.device_unknown", func(in *models.VisitInput) {
				in.DeviceIDs = []int64{f.devB.ID}
			}},
			{"another organization's cabinet", "targets", "visits.error.cabinet_unknown", func(in *models.VisitInput) {
				in.Cabinets = []string{"B07"}
			}},
			{"nothing to reach", "targets", "visits.error.no_targets", func(in *models.VisitInput) { in.DeviceIDs, in.Cabinets = nil, nil }},
			{"unknown activity", "activity", "visits.error.activity", func(in *models.VisitInput) { in.Activity = "party" }},
			{"no reason", "reason", "error.required", func(in *models.VisitInput) { in.Reason = "" }},
			{"other need without a note", "need_other", "visits.error.need_other", func(in *models.VisitInput) { in.Needs["other"] = " " }},
			{"another organization's operation", "operation", "visits.error.operation", func(in *models.VisitInput) {
				in.OperationRef = "0123456789abcdef"
			}},
		}
		for _, c := range cases {
			in := f.input()
			c.edit(&in)
			_, err := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, in)
			found := false
			for _, v := range models.Validations(err) {
				if v.Field == c.field && v.Key == c.key {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: got %v, want %s on %s", c.name, err, c.key, c.field)
			}
		}
		if n := countVisits(t, s, db); n != 0 {
			t.Fatalf("%d visits stored by refused requests", n)
		}
		// Every problem of a form is reported at once.
		in := f.input()
		in.PlannedTo = in.PlannedFrom
		in.Visitors[0].IDNumber = residentBad
		in.Reason = ""
		if vs := models.Validations(mustFail(s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, in))); len(vs) != 3 {
			t.Fatalf("got %d problems %v, want 3", len(vs), vs)
		}
		// An emergency may come at short notice, but keeps to the visiting
		// hours and the cap on targets like any visit.
		in = f.input()
		in.Emergency = true
		in.PlannedFrom, in.PlannedTo = now.Add(30*time.Minute), now.Add(14*time.Hour)
		wantInvalid(t, mustFail(s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, in)), "planned_from", "visits.error.hours")
		in.Cabinets = make([]string, models.MaxVisitTargets)
		for i := range in.Cabinets {
			in.Cabinets[i] = fmt.Sprintf("C%03d", i)
		}
		wantInvalid(t, mustFail(s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, in)), "targets", "visits.error.too_many_targets")
		in = f.input()
		in.Emergency = true
		in.PlannedFrom, in.PlannedTo = now.Add(30*time.Minute), now.Add(12*time.Hour)
		if _, err := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, in); err != nil {
			t.Fatalf("emergency: %v", err)
		}
	})
}

func mustFail(_ *models.Visit, err error) error { return err }

func TestCreateVisitHonoursTheSiteCapacity(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		if err := rawDB(t, db).Table("sites").Where("id = ?", f.site.ID).Update("max_inside", 3).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, f.input()); err != nil {
			t.Fatal(err)
		}
		_, err := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, f.input())
		wantInvalid(t, err, "visitors", "visits.error.site_full")
		in := f.input()
		in.Visitors = in.Visitors[:1]
		if _, err := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, in); err != nil {
			t.Fatalf("one more fits: %v", err)
		}
		// The next day is free again.
		in = f.input()
		in.PlannedFrom, in.PlannedTo = in.PlannedFrom.AddDate(0, 0, 1), in.PlannedTo.AddDate(0, 0, 1)
		if _, err := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, in); err != nil {
			t.Fatalf("next day: %v", err)
		}
	})
}
