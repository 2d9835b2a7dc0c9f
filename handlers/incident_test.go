package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
)

// incidentSite makes Alpha and 59 more customers whose devices fail
// within 24 s of one another, Bravo's device stays up, and the
// detection opens the incident.
func incidentSite(t *testing.T, e *env) (*models.Incident, int64) {
	t.Helper()
	ctx := context.Background()
	sys := models.SystemActor("test")
	orgs := []int64{e.fx.OrgA.ID}
	for i := 1; i < 60; i++ {
		o, err := e.store.CreateOrg(ctx, sys, models.OrgInput{Slug: fmt.Sprintf("cust-%02d", i), Name: fmt.Sprintf("Customer %02d", i)})
		if err != nil {
			t.Fatal(err)
		}
		orgs = append(orgs, o.ID)
	}
	orgs = append(orgs, e.fx.OrgB.ID)
	var rs []models.ProbeResult
	var devA int64
	for i, org := range orgs {
		d, err := e.store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: org, Name: fmt.Sprintf("srv-%02d", i), Address: fmt.Sprintf("10.9.%d.1", i)})
		if err != nil {
			t.Fatal(err)
		}
		c, err := e.store.AddCheck(ctx, sys, org, d.ID, models.CheckInput{Kind: models.KindICMP, Target: d.Address})
		if err != nil {
			t.Fatal(err)
		}
		if org == e.fx.OrgB.ID {
			continue
		}
		if org == e.fx.OrgA.ID {
			devA = d.ID
		}
		at := e.clock.Now().Add(time.Duration(i) * 400 * time.Millisecond)
		rs = append(rs, models.ProbeResult{CheckID: c.ID, At: at, Reason: models.ReasonTimeout},
			models.ProbeResult{CheckID: c.ID, At: at.Add(30 * time.Second), Reason: models.ReasonTimeout})
	}
	if _, err := e.store.CreateContact(ctx, sys, e.fx.OrgA.ID, models.ContactInput{Name: "Sun Li", Mobile: "13800138000",
		Email: "sun@alpha.test", Channels: []models.Channel{models.ChannelEmail}, MayAuthorize: true, Passphrase: "blue harbour 42"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.RecordResults(ctx, rs); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	inc, opened, err := e.store.DetectIncident(ctx, models.IncidentRules{})
	if err != nil || !opened {
		t.Fatalf("detect: %+v %v %v", inc, opened, err)
	}
	return inc, devA
}

// The incident through the app: the banner on every staff page and on
// the affected customers' home only (with the update's text and nothing
// of other customers), the incident's pages for staff only, one cause for
// all its outages after a confirmation, an update, resolving; the
// organization's contracted service; who may do what.
func TestProviderWideIncidentPages(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		eng := e.as(t, e.fx.Engineer)
		custA, custB := e.as(t, e.fx.CustA), e.as(t, e.fx.CustB)
		desk, front := e.as(t, e.fx.Service), e.as(t, e.fx.Reception)
		// Before: no banner anywhere.
		wantNoBody(t, eng.get("/"), `id="incident-banner"`)
		inc, devA := incidentSite(t, e)
		page := "/incidents/" + ids(inc.ID)

		for _, p := range []string{"/", "/oncall", "/fleet", "/orgs", "/operations", "/incidents"} {
			r := eng.get(p)
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, `id="incident-banner"`, `href="`+page+`"`, zh("incidents.banner_title"))
		}
		r := front.get("/oncall")
		wantBody(t, r, `id="incident-banner"`)
		wantNoBody(t, custA.get("/"), `id="incident-banner"`, `id="incident-notice"`)

		// Staff pages; customers are refused by the route table.
		r = eng.get("/incidents")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, `href="`+page+`"`, ">60<")
		r = eng.get(page)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "Alpha Trading", "Customer 59", "Sun Li", "13800138000", zh("incidents.set_cause", 60))
		wantNoBody(t, r, `id="incident-banner"`) // not on the incident's own page
		for _, p := range []string{"/incidents", page} {
			wantStatus(t, custA.get(p), http.StatusForbidden)
		}
		wantStatus(t, eng.get("/incidents/999999"), http.StatusNotFound)
		wantStatus(t, eng.get("/incidents/x"), http.StatusNotFound)

		// One cause for all: first the confirmation, then every outage.
		r = eng.submit(page, page+"/cause", url.Values{"cause": {string(models.CauseProviderNetwork)}, "note": {"core switch"}})
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, zh("incidents.confirm_cause", 60, 60), `name="confirmed"`)
		r = eng.submit(page, page+"/cause", url.Values{"cause": {string(models.CauseProviderNetwork)}, "note": {"core switch"}, "confirmed": {"1"}})
		wantRedirect(t, r, page)
		os, err := e.store.ListOutages(context.Background(), models.AllOrgs(), e.fx.OrgA.ID, devA, 10)
		if err != nil || len(os) != 1 {
			t.Fatal(os, err)
		}
		for _, o := range os {
			if o.Cause != models.CauseProviderNetwork || o.CauseNote != "core switch" {
				t.Errorf("outage %d after the incident's cause: %s %q", o.ID, o.Cause, o.CauseNote)
			}
		}
		r = eng.submit(page, page+"/cause", url.Values{"cause": {string(models.CauseCustomerOperation)}, "confirmed": {"1"}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("outages.error.operation_cause_whole"))
		wantStatus(t, front.submit(page, page+"/cause", url.Values{"cause": {"unknown"}, "confirmed": {"1"}}), http.StatusForbidden)
		wantStatus(t, eng.post(page+"/cause", url.Values{"cause": {"unknown"}, "confirmed": {"1"}}), http.StatusForbidden) // no CSRF token

		// Name it; post an update (one-time form); the customers see it.
		wantRedirect(t, eng.submit(page, page+"/title", url.Values{"title": {"Upstream link <A>"}}), page)
		wantBody(t, eng.get(page), "Upstream link &lt;A&gt;")
		wantStatus(t, desk.submit(page, page+"/updates", url.Values{"body": {"  "}}), http.StatusUnprocessableEntity)
		csrf, once := desk.formTokens(page, page+"/updates")
		r = desk.post(page+"/updates", url.Values{"_csrf": {csrf}, "_once": {once}, "body": {"Upstream fibre cut <b>; engineers on site."}})
		wantRedirect(t, r, page)
		wantStatus(t, front.submit(page, page+"/updates", url.Values{"body": {"x"}}), http.StatusForbidden)
		r = custA.get("/")
		wantBody(t, r, `id="incident-notice"`, "Upstream fibre cut &lt;b&gt;; engineers on site.")
		wantNoBody(t, r, "Customer 01", "Customer 59", "Upstream link", `id="incident-banner"`)
		wantNoBody(t, custB.get("/"), `id="incident-notice"`, "Upstream fibre cut")
		if n := strings.Count(eng.get(page).Body, "Upstream fibre cut"); n != 1 {
			t.Errorf("the update shows %d times on the incident page", n)
		}

		// The contracted service comes from the contracts in force: the
		// organization's page lists them, with no form to set it by hand.
		org := "/orgs/" + ids(e.fx.OrgA.ID)
		wantNoBody(t, desk.get(org), `action="`+org+`/service"`)
		today := e.store.Today()
		ct, err := e.store.CreateContract(context.Background(), models.UserActor(e.fx.Service, "10.0.0.2"), models.ContractInput{
			OrgID: e.fx.OrgA.ID, ServiceType: models.ServiceColocation, MonthlyFee: 100000, SignedOn: today, StartsOn: today})
		if err != nil {
			t.Fatal(err)
		}
		wantBody(t, eng.get(org), `<span id="org-service">`+zh("service_type.colocation")+`</span>`, ct.Number())
		admin := e.as(t, e.fx.Admin)
		wantAudit(t, admin, models.AuditIncidentCause, e.fx.Engineer.Email, ids(inc.ID))
		wantAudit(t, admin, models.AuditIncidentUpdate, e.fx.Service.Email, ids(inc.ID))

		// Resolved: the staff banner goes; the customer's stays a day.
		wantRedirect(t, eng.submit(page, page+"/resolve", nil), page)
		wantStatus(t, eng.post(page+"/resolve", url.Values{"_csrf": {eng.csrf(page)}}), http.StatusUnprocessableEntity)
		wantNoBody(t, eng.get("/oncall"), `id="incident-banner"`)
		wantBody(t, custA.get("/"), `id="incident-notice"`, zh("incidents.customer_resolved_title"))
		e.clock.Advance(25 * time.Hour)
		r = e.as(t, e.fx.CustA).get("/")
		wantStatus(t, r, http.StatusOK)
		wantNoBody(t, r, `id="incident-notice"`)
		wantAudit(t, e.as(t, e.fx.Admin), models.AuditIncidentResolved, e.fx.Engineer.Email, ids(inc.ID))
	})
}
