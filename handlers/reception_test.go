package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
)

const residentID = "110101199003071233"

// askVisit records a tour of OrgA's customer, days after tomorrow's
// 10:00–16:00 (UTC, the pages' zone here).
func askVisit(t *testing.T, e *env, days int, emergency bool) *models.Visit {
	t.Helper()
	ctx := context.Background()
	sites, err := e.store.ListSites(ctx)
	if err != nil || len(sites) == 0 {
		t.Fatalf("sites %v (%v)", sites, err)
	}
	day := e.clock.Now().Truncate(24*time.Hour).AddDate(0, 0, 1+days)
	v, err := e.store.CreateVisit(ctx, models.UserActor(e.fx.CustA, "192.0.2.10"), e.fx.OrgA.ID, models.VisitInput{
		SiteID: sites[0].ID, Activity: "tour", Reason: "参观 a tour", Emergency: emergency,
		PlannedFrom: day.Add(10 * time.Hour), PlannedTo: day.Add(16 * time.Hour), Locale: "zh-CN",
		Visitors: []models.VisitorInput{{Name: "张伟", IDType: models.IDResident, IDNumber: residentID, Phone: "13812345678"}}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func visitState(t *testing.T, e *env, ref string) *models.Visit {
	t.Helper()
	v, err := e.store.GetVisitByRef(context.Background(), models.AllOrgs(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestReceptionPagesByRole(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		later := askVisit(t, e, 0, false)
		urgent := askVisit(t, e, 2, true)
		page := "/reception/visits/" + later.Ref
		runScenarios(t, e, []scenario{
			{name: "reception's queue lists the emergency and the request with the counts",
				who: "reception", path: "/reception", status: http.StatusOK,
				contains: []string{urgent.Number(), later.Number(), zh("reception.emergency"), zh("reception.pending_count", "2"),
					zh("reception.expected_today", "0"), zh("visits.activity.tour"), e.fx.OrgA.Name, e.fx.CustA.Name,
					zh("reception.in", locales.For(locales.Default).Duration(25*time.Hour)), zh("reception.upcoming_none")},
				lacks: []string{residentID, "13812345678"}},
			{name: "reception's home starts with the queue and keeps the calls to make",
				who: "reception", path: "/", status: http.StatusOK,
				contains: []string{`id="home-visits"`, later.Number(), urgent.Number(), `id="home-calls"`}},
			{name: "reception sees the full identity number and phone on its page of the visit",
				who: "reception", path: page, status: http.StatusOK,
				contains: []string{residentID, "13812345678", "张伟", page + "/approve", page + "/refuse", e.fx.Engineer.Name,
					zh("reception.approve_submit")}},
			{name: "an admin may decide, and sees the visitors masked",
				who: "admin", path: page, status: http.StatusOK,
				contains: []string{"110***********1233", "138****5678", page + "/approve"}, lacks: []string{residentID, "13812345678"}},
			{name: "an engineer has no reception page", who: "engineer", path: page, status: http.StatusForbidden,
				lacks: []string{residentID, page + "/approve"}},
			{name: "an engineer has no queue", who: "engineer", path: "/reception", status: http.StatusForbidden},
			{name: "the engineer's home has no queue", who: "engineer", path: "/", status: http.StatusOK, lacks: []string{`id="home-visits"`}},
			{name: "the requesting customer has no reception page", who: "custA", path: page, status: http.StatusForbidden,
				lacks: []string{residentID}},
			{name: "a reference that names no visit is not found", who: "reception", path: "/reception/visits/0123456789abcdef",
				status: http.StatusNotFound},
			{name: "a malformed reference is not found", who: "reception", path: "/reception/visits/..%2Fetc", status: http.StatusNotFound},
		})
		// The emergency, though later, comes first.
		body := e.as(t, e.fx.Reception).get("/reception").Body
		if i, j := strings.Index(body, urgent.Number()), strings.Index(body, later.Number()); i < 0 || j < 0 || i > j {
			t.Errorf("emergency %s at %d, request %s at %d: want the emergency first", urgent.Number(), i, later.Number(), j)
		}
	})
}

func TestReceptionDecides(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		first := askVisit(t, e, 0, false)
		second := askVisit(t, e, 0, false) // the same hours
		third := askVisit(t, e, 1, false)
		page := func(v *models.Visit) string { return "/reception/visits/" + v.Ref }
		escort := url.Values{"escort": {ids(e.fx.Engineer.ID)}}
		decisions := func() int {
			n := 0
			for _, a := range []string{models.AuditVisitApproved, models.AuditVisitRefused} {
				evs, err := e.store.ListAudit(context.Background(), models.AllOrgs(), models.AuditFilter{Action: a, Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				n += len(evs)
			}
			return n
		}

		// Step: neither the customer nor an engineer may decide.
		for _, u := range []*models.User{e.fx.CustA, e.fx.Engineer} {
			c := e.as(t, u)
			wantStatus(t, c.submit("/", page(first)+"/approve", escort), http.StatusForbidden)
			wantStatus(t, c.submit("/", page(first)+"/refuse", url.Values{"reason": {"no"}}), http.StatusForbidden)
		}
		if v := visitState(t, e, first.Ref); v.State != models.VisitPending || decisions() != 0 {
			t.Fatalf("after refused posts: %+v, %d decisions", v, decisions())
		}

		rec := e.as(t, e.fx.Reception)
		// Step: a refusal without a reason is shown again, translated, and changes nothing.
		r := rec.submit(page(first), page(first)+"/refuse", url.Values{"reason": {"  "}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("reception.error.reason_required"), `aria-invalid="true"`)
		if v := visitState(t, e, first.Ref); v.State != models.VisitPending || decisions() != 0 {
			t.Fatalf("after a refusal without a reason: %+v, %d decisions", v, decisions())
		}
		// Step: adjusted times without a note are refused, the input kept.
		r = rec.submit(page(first), page(first)+"/approve", url.Values{"escort": escort["escort"],
			"planned_from": {first.PlannedFrom.Add(time.Hour).Format("2006-01-02T15:04")}, "planned_to": {first.PlannedTo.Format("2006-01-02T15:04")}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("reception.error.note_required"), first.PlannedFrom.Add(time.Hour).Format("2006-01-02T15:04"))

		// Step: the approval with an escort goes back to the queue.
		form := url.Values{"escort": escort["escort"], "planned_from": {first.PlannedFrom.Format("2006-01-02T15:04")},
			"planned_to": {first.PlannedTo.Format("2006-01-02T15:04")}}
		wantRedirect(t, rec.submit(page(first), page(first)+"/approve", form), "/reception")
		wantBody(t, rec.get("/reception"), zh("flash.visit_approved"), zh("reception.pending_count", "2"))
		if v := visitState(t, e, first.Ref); v.State != models.VisitApproved || *v.EscortID != e.fx.Engineer.ID {
			t.Fatalf("approved visit = %+v", v)
		}
		// The decided visit shows its escort and no forms any more.
		r = rec.get(page(first))
		wantBody(t, r, zh("visits.state.approved"), e.fx.Engineer.Name, "/visits/"+first.Ref+"/pass.pdf")
		wantNoBody(t, r, page(first)+"/approve")
		// The escort's home lists the visits they escort; reception's, who
		// escorts none, does not.
		wantBody(t, e.as(t, e.fx.Engineer).get("/"), `id="home-escorting"`, zh("visits.escorting"), first.Number(), e.fx.OrgA.Name)
		wantNoBody(t, rec.get("/"), `id="home-escorting"`)

		// Step: the same escort at the same time is a warning with the
		// overlapping visit, then approved when confirmed.
		r = rec.submit(page(second), page(second)+"/approve", escort)
		wantStatus(t, r, http.StatusConflict)
		wantBody(t, r, zh("reception.busy_title", e.fx.Engineer.Name), first.Number(), zh("reception.approve_anyway"), `name="confirmed" value="1"`)
		if v := visitState(t, e, second.Ref); v.State != models.VisitPending {
			t.Fatalf("the warning approved %+v", v)
		}
		confirmed := url.Values{"escort": escort["escort"], "confirmed": {"1"}}
		wantRedirect(t, rec.submit(page(second), page(second)+"/approve", confirmed), "/reception")
		if v := visitState(t, e, second.Ref); v.State != models.VisitApproved {
			t.Fatalf("confirmed approval left %+v", v)
		}
		// Step: a decided visit cannot be decided again.
		r = rec.submit(page(third), page(second)+"/refuse", url.Values{"reason": {"late"}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("reception.error.not_pending"))

		// Step: the refusal with a reason.
		wantRedirect(t, rec.submit(page(third), page(third)+"/refuse", url.Values{"reason": {"当天停电检修"}}), "/reception")
		if v := visitState(t, e, third.Ref); v.State != models.VisitRefused || v.DecisionNote != "当天停电检修" {
			t.Fatalf("refused visit = %+v", v)
		}
		if n := decisions(); n != 3 {
			t.Fatalf("%d decisions audited, want 3", n)
		}
		wantBody(t, rec.get("/reception"), zh("reception.queue_empty"), first.Number(), zh("flash.visit_refused"))
	})
}

// The decision forms carry when the visit last changed as the page showed
// it: a customer's change in between sends reception back to read it.
func TestReceptionDecisionOnAChangedVisitIsRefused(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		v := askVisit(t, e, 0, false)
		page := "/reception/visits/" + v.Ref
		rec := e.as(t, e.fx.Reception)
		seen := v.UpdatedAt.UTC().Format(time.RFC3339Nano)
		wantBody(t, rec.get(page), `name="as_of" value="`+seen+`"`)
		e.clock.Advance(time.Minute)
		in := models.VisitInput{SiteID: v.SiteID, Activity: "tour", Reason: "搬走旧服务器 take the old server away",
			PlannedFrom: v.PlannedFrom, PlannedTo: v.PlannedTo, Locale: "zh-CN",
			Visitors: []models.VisitorInput{{Name: "王强", IDType: "passport", IDNumber: "E7654321", Phone: "13900001111"}}}
		if _, err := e.store.UpdateVisit(context.Background(), models.UserActor(e.fx.CustA, ""), e.fx.OrgA.ID, v.ID, in); err != nil {
			t.Fatal(err)
		}
		for _, post := range []url.Values{{"escort": {ids(e.fx.Engineer.ID)}, "as_of": {seen}}, {"reason": {"no"}, "as_of": {seen}}} {
			action := "/approve"
			if post.Has("reason") {
				action = "/refuse"
			}
			r := rec.submit(page, page+action, post)
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh("reception.error.changed"), "王强")
		}
		if got := visitState(t, e, v.Ref); got.State != models.VisitPending {
			t.Fatalf("a changed visit was decided unseen: %+v", got)
		}
	})
}
