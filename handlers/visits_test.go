package handlers_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/colo-portal/portal/models"
)

// A valid mainland resident identity number and its masked form.
const (
	visitResident       = "110101199003071233"
	visitResidentMasked = "110***********1233"
)

// visitEnv is organization A with a device in cabinet A03.
type visitEnv struct {
	*env
	dev *models.Device
}

func newVisitEnv(t *testing.T, e *env) *visitEnv {
	t.Helper()
	d, err := e.store.CreateDevice(context.Background(), models.SystemActor("test"), models.DeviceInput{OrgID: e.fx.OrgA.ID,
		Name: "db-01", Address: "127.0.0.30", Cabinet: "A03"})
	if err != nil {
		t.Fatal(err)
	}
	return &visitEnv{env: e, dev: d}
}

// local is t as a datetime-local value (the test app's zone is UTC).
func local(t time.Time) string { return t.UTC().Format("2006-01-02T15:04") }

// form is a valid request for tomorrow 10:00–16:00 with two visitors.
func (v *visitEnv) form() url.Values {
	day := v.clock.Now().Truncate(24*time.Hour).AddDate(0, 0, 1)
	return url.Values{
		"site": {"1"}, "activity": {"operation"}, "reason": {"更换硬盘 replace a disk"},
		"planned_from": {local(day.Add(10 * time.Hour))}, "planned_to": {local(day.Add(16 * time.Hour))},
		"rows":          {"2"},
		"visitor1_name": {"张伟"}, "visitor1_company": {"阿尔法科技"}, "visitor1_id_type": {models.IDResident},
		"visitor1_id_number": {visitResident}, "visitor1_phone": {"13812345678"}, "visitor1_locale": {"zh-CN"},
		"visitor2_name": {"Anna Berg"}, "visitor2_company": {"Alpha GmbH"}, "visitor2_id_type": {"passport"},
		"visitor2_id_number": {"C01X00T47"}, "visitor2_phone": {"+49 30 1234567"}, "visitor2_locale": {"en"},
		"devices": {ids(v.dev.ID)}, "cabinets": {"A03"}, "needs": {"tools"}, "need_tools": {"扭力螺丝刀"},
	}
}

// withOnce adds the one-time token of the new-visit form.
func withOnce(c *client, f url.Values) url.Values {
	c.t.Helper()
	m := regexp.MustCompile(`name="_once" value="([0-9a-f]+)"`).FindStringSubmatch(c.get("/visits/new").Body)
	if m == nil {
		c.t.Fatal("no _once field on /visits/new")
	}
	g := url.Values{}
	for k, vs := range f {
		g[k] = vs
	}
	g.Set("_once", m[1])
	return g
}

// request files the form as customer c and returns the visit's path.
func (v *visitEnv) request(t *testing.T, c *client, f url.Values) string {
	t.Helper()
	r := c.submit("/visits/new", "/visits/new", withOnce(c, f))
	wantStatus(t, r, http.StatusSeeOther)
	loc := r.Header.Get("Location")
	if !regexp.MustCompile(`^/visits/[0-9a-f]{16}$`).MatchString(loc) {
		t.Fatalf("after create: redirect to %q", loc)
	}
	return loc
}

func (v *visitEnv) visits(t *testing.T) []models.VisitRow {
	t.Helper()
	rows, err := v.store.ListVisits(context.Background(), models.AllOrgs(), models.VisitFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// raw opens the test database behind the store's back.
func (v *visitEnv) raw(t *testing.T) *gorm.DB {
	t.Helper()
	db, _, err := models.Open(t.Context(), models.OpenOptions{URL: v.db.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s, err := db.DB(); err == nil {
			s.Close()
		}
	})
	return db
}

func TestVisitRequestChangeAndCancel(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		v := newVisitEnv(t, e)
		cust := e.as(t, e.fx.CustA)
		// The form starts with one visitor row; "add a visitor" posts back
		// with one more and stores nothing.
		r := cust.get("/visits/new")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, `name="visitor1_name"`, `name="emergency"`, zh("visits.form.emergency_hint"), `value="A03"`)
		wantNoBody(t, r, `name="visitor2_name"`)
		f := v.form()
		f.Set("rows", "1")
		f.Set("add_visitor", "1")
		r = cust.submit("/visits/new", "/visits/new", withOnce(cust, f))
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, `name="visitor2_name"`, `value="张伟"`)
		if n := len(v.visits(t)); n != 0 {
			t.Fatalf("adding a row stored %d visits", n)
		}

		// Two visitors: 303 to the visit's page, masked.
		page := v.request(t, cust, v.form())
		r = cust.get(page)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "VR-2026-0001", "张伟", "Anna Berg", visitResidentMasked, "138****5678", zh("visits.next.pending"), zh("visits.cancel"))
		wantNoBody(t, r, visitResident, "13812345678", "C01X00T47")
		r = cust.get("/visits")
		wantBody(t, r, "VR-2026-0001", zh("visits.state.pending"))

		// An engineer sees it masked, with the organization, and cannot
		// change it; reception gets a link to its own page.
		eng := e.as(t, e.fx.Engineer)
		r = eng.get(page)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, visitResidentMasked, e.fx.OrgA.Name)
		wantNoBody(t, r, visitResident, zh("visits.cancel"), "/reception/visits/")
		wantBody(t, eng.get("/visits"), "VR-2026-0001", e.fx.OrgA.Name)
		wantStatus(t, eng.get("/visits/new"), http.StatusForbidden)
		wantStatus(t, eng.get(page+"/edit"), http.StatusForbidden)
		wantStatus(t, eng.submit(page, page+"/cancel", url.Values{"confirmed": {"1"}}), http.StatusForbidden)
		wantStatus(t, eng.submit(page, "/visits/new", v.form()), http.StatusForbidden)
		rec := e.as(t, e.fx.Reception)
		wantBody(t, rec.get(page), "/reception/visits/"+strings.TrimPrefix(page, "/visits/"))

		// Another organization: not found, everywhere.
		custB := e.as(t, e.fx.CustB)
		wantStatus(t, custB.get(page), http.StatusNotFound)
		wantStatus(t, custB.get(page+"/edit"), http.StatusNotFound)
		wantStatus(t, custB.submit("/visits", page+"/edit", v.form()), http.StatusNotFound)
		wantStatus(t, custB.submit("/visits", page+"/cancel", url.Values{"confirmed": {"1"}}), http.StatusNotFound)
		wantNoBody(t, custB.get("/visits"), "VR-2026-0001")

		// Without the CSRF token: refused, nothing changes.
		wantStatus(t, cust.post(page+"/cancel", url.Values{"confirmed": {"1"}}), http.StatusForbidden)
		wantStatus(t, cust.post("/visits/new", withOnce(cust, v.form())), http.StatusForbidden)
		if rows := v.visits(t); len(rows) != 1 || rows[0].State != models.VisitPending {
			t.Fatalf("after refused posts: %+v", rows)
		}

		// Reception approved it (its own branch's work, done by hand here).
		raw := v.raw(t)
		if err := raw.Table("visits").Where("id = ?", v.visits(t)[0].ID).Updates(map[string]any{"state": models.VisitApproved,
			"escort_id": e.fx.Engineer.ID, "decided_by": e.fx.Reception.ID, "decided_at": e.clock.Now(), "decision_note": "请提前十分钟到达"}).Error; err != nil {
			t.Fatal(err)
		}
		r = cust.get(page)
		wantBody(t, r, zh("visits.state.approved"), e.fx.Engineer.Name, "请提前十分钟到达")
		// The change form shows the numbers masked, never in full; kept
		// as shown, the stored ones stay.
		r = cust.get(page + "/edit")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, `value="`+visitResidentMasked+`"`, zh("visits.form.back_to_reception"))
		wantNoBody(t, r, visitResident, "13812345678")
		f = v.form()
		f.Set("visitor1_id_number", visitResidentMasked)
		f.Set("visitor1_phone", "138****5678")
		day := e.clock.Now().Truncate(24*time.Hour).AddDate(0, 0, 1)
		f.Set("planned_to", local(day.Add(15*time.Hour)))
		r = cust.submit(page+"/edit", page+"/edit", f)
		wantRedirect(t, r, page)
		r = cust.get(page)
		wantBody(t, r, zh("visits.state.pending"), zh("flash.visit_changed_back"), e.fx.Engineer.Name, zh("visits.escort_suggested"))
		wantNoBody(t, r, "请提前十分钟到达")
		vis, err := e.store.GetVisitByRef(context.Background(), models.AllOrgs(), strings.TrimPrefix(page, "/visits/"))
		if err != nil {
			t.Fatal(err)
		}
		d, err := e.store.VisitDetailOf(context.Background(), models.AllOrgs(), vis, true)
		if err != nil {
			t.Fatal(err)
		}
		if d.Visitors[0].ID != visitResident || d.Visitors[0].Phone != "13812345678" || !vis.PlannedTo.Equal(day.Add(15*time.Hour)) {
			t.Fatalf("after the change: visitor %s %s, to %v", d.Visitors[0].ID, d.Visitors[0].Phone, vis.PlannedTo)
		}

		// Cancelling asks first, then cancels.
		r = cust.submit(page, page+"/cancel", url.Values{"reason": {"计划有变"}})
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, html.EscapeString(zh("visits.cancel_confirm.title", "VR-2026-0001")), `name="confirmed" value="1"`, "计划有变")
		if v.visits(t)[0].State != models.VisitPending {
			t.Fatal("cancelled without the confirmation")
		}
		r = cust.submit(page, page+"/cancel", url.Values{"reason": {"计划有变"}, "confirmed": {"1"}})
		wantRedirect(t, r, page)
		r = cust.get(page)
		wantBody(t, r, zh("visits.state.cancelled"), zh("visits.next.cancelled"))
		wantNoBody(t, r, `id="edit-visit"`, `id="cancel-visit"`)
		r = cust.get(page + "/edit")
		wantRedirect(t, r, page)
	})
}

func TestVisitFormErrorsAreShownWithTheInputKept(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		v := newVisitEnv(t, e)
		cust := e.as(t, e.fx.CustA)
		now := e.clock.Now()
		cases := []struct {
			name, field, key string
			edit             func(f url.Values)
		}{
			{"exit before entry", "planned_to", "visits.error.exit_before_entry", func(f url.Values) { f.Set("planned_to", f.Get("planned_from")) }},
			{"entry not a time", "planned_from", "error.time_invalid", func(f url.Values) { f.Set("planned_from", "明天上午") }},
			{"entry in the past", "planned_from", "visits.error.entry_past", func(f url.Values) { f.Set("planned_from", local(now.Add(-time.Hour))) }},
			{"resident check digit", "visitor1_id_number", "visits.error.resident_check", func(f url.Values) {
				f.Set("visitor1_id_number", "110101199003071234")
			}},
			{"resident length", "visitor1_id_number", "visits.error.resident_length", func(f url.Values) {
				f.Set("visitor1_id_number", "11010119900307123")
			}},
			{"second visitor's phone", "visitor2_phone", "visits.error.phone", func(f url.Values) { f.Set("visitor2_phone", "call me") }},
			{"no visitors", "visitors", "visits.error.no_visitors", func(f url.Values) {
				for _, k := range []string{"name", "company", "id_number", "phone"} {
					f.Del("visitor1_" + k)
					f.Del("visitor2_" + k)
				}
			}},
			{"no reason", "reason", "error.required", func(f url.Values) { f.Set("reason", " ") }},
			{"nothing to reach", "targets", "visits.error.no_targets", func(f url.Values) { f.Del("devices"); f.Del("cabinets") }},
			{"another organization's operation", "operation", "visits.error.operation", func(f url.Values) { f.Set("operation", "0123456789abcdef") }},
			{"other need without a note", "need_other", "visits.error.need_other", func(f url.Values) { f.Add("needs", "other") }},
		}
		for _, c := range cases {
			f := v.form()
			c.edit(f)
			r := cust.submit("/visits/new", "/visits/new", withOnce(cust, f))
			if r.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("%s: status %d, want 422", c.name, r.StatusCode)
				continue
			}
			// The message sits next to its field, and what was typed stays.
			msg := regexp.MustCompile(`id="e-` + c.field + `">([^<]*)<`).FindStringSubmatch(r.Body)
			if msg == nil || html.UnescapeString(msg[1]) != zh(c.key) {
				t.Errorf("%s: message on %s = %v, want %q", c.name, c.field, msg, zh(c.key))
			}
			kept := []string{`value="阿尔法科技"`, `value="` + v.form().Get("planned_to")[:10]}
			if c.field != "reason" {
				kept = append(kept, "更换硬盘 replace a disk")
			}
			if c.field != "visitors" {
				kept = append(kept, `value="张伟"`)
			}
			for _, k := range kept {
				if c.field == "visitors" && k == `value="阿尔法科技"` {
					continue
				}
				if !strings.Contains(r.Body, k) {
					t.Errorf("%s: the form lost %s", c.name, k)
				}
			}
		}
		if n := len(v.visits(t)); n != 0 {
			t.Fatalf("%d visits stored by refused forms", n)
		}
	})
}

func TestVisitsListShowsActualTimesAndFiltersForStaff(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		v := newVisitEnv(t, e)
		cust := e.as(t, e.fx.CustA)
		page := v.request(t, cust, v.form())
		ref := strings.TrimPrefix(page, "/visits/")
		in := e.clock.Now().Truncate(24*time.Hour).AddDate(0, 0, 1).Add(10*time.Hour + 5*time.Minute)
		raw := v.raw(t)
		id := v.visits(t)[0].ID
		if err := raw.Table("visit_visitors").Where("visit_id = ?", id).Update("checked_in_at", in).Error; err != nil {
			t.Fatal(err)
		}
		r := cust.get("/visits")
		wantBody(t, r, ref, html.EscapeString(zh("visits.inside_since", in.Format("2006-01-02 15:04"), "2")))
		if err := raw.Table("visit_visitors").Where("visit_id = ?", id).Update("checked_out_at", in.Add(2*time.Hour)).Error; err != nil {
			t.Fatal(err)
		}
		r = cust.get("/visits")
		wantBody(t, r, in.Format("2006-01-02 15:04")+" – "+in.Add(2*time.Hour).Format("15:04"))
		// Staff filter by organization.
		eng := e.as(t, e.fx.Engineer)
		wantBody(t, eng.get("/visits?org="+ids(e.fx.OrgA.ID)), ref)
		wantNoBody(t, eng.get("/visits?org="+ids(e.fx.OrgB.ID)), ref)
		wantNoBody(t, eng.get("/visits?state=cancelled"), ref)
	})
}

func TestOperationPageListsItsVisits(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		v := newVisitEnv(t, e)
		cust := e.as(t, e.fx.CustA)
		op, err := e.store.CreateRequest(context.Background(), models.UserActor(e.fx.CustA, ""), e.fx.OrgA.ID, models.RequestInput{
			Title: "换盘", Work: "换第二块盘", Urgency: "normal", Channel: "portal", RequestedBy: &e.fx.CustA.ID, DeviceIDs: []int64{v.dev.ID}})
		if err != nil {
			t.Fatal(err)
		}
		opPage := "/operations/" + op.Ref
		wantBody(t, cust.get(opPage), zh("visits.of_operation_none"), "/visits/new?operation="+op.Ref)
		r := cust.get("/visits/new?operation=" + op.Ref)
		wantBody(t, r, `value="`+op.Ref+`" selected`)
		f := v.form()
		f.Set("operation", op.Ref)
		page := v.request(t, cust, f)
		wantBody(t, cust.get(page), op.Number(), opPage)
		r = e.as(t, e.fx.Engineer).get(opPage)
		wantBody(t, r, page, "VR-2026-0001", zh("visits.state.pending"))
	})
}

func TestAdminKeepsTheSites(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		adm := e.as(t, e.fx.Admin)
		r := adm.get("/admin/sites")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "Main data center", "08:00–22:00")
		r = adm.submit("/admin/sites", "/admin/sites", url.Values{"name": {"二号楼"}, "open": {"9h"}, "close": {"18:00"}, "max_inside": {"-2"}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("sites.error.clock"), zh("sites.error.capacity"), `value="二号楼"`)
		r = adm.submit("/admin/sites", "/admin/sites", url.Values{"name": {"二号楼"}, "address": {"亦庄"}, "open": {"09:00"}, "close": {"18:00"}, "max_inside": {"6"}})
		wantRedirect(t, r, "/admin/sites")
		sites, err := e.store.ListSites(context.Background())
		if err != nil || len(sites) != 2 {
			t.Fatalf("sites %+v (%v)", sites, err)
		}
		var id int64
		for _, s := range sites {
			if s.Name == "二号楼" {
				id = s.ID
			}
		}
		path := "/admin/sites/" + ids(id)
		wantBody(t, adm.get(path), `value="亦庄"`, `value="6"`)
		r = adm.submit(path, path, url.Values{"name": {"二号楼"}, "all_day": {"1"}})
		wantRedirect(t, r, "/admin/sites")
		wantBody(t, adm.get("/admin/sites"), zh("sites.all_day"), zh("sites.no_limit"))
		wantStatus(t, adm.get("/admin/sites/999999"), http.StatusNotFound)
		// Only admins.
		wantStatus(t, e.as(t, e.fx.Reception).get("/admin/sites"), http.StatusForbidden)
		wantStatus(t, e.as(t, e.fx.CustA).get("/admin/sites"), http.StatusForbidden)
	})
}
