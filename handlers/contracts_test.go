package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
)

// contractForm is a good contract form for organization org.
func contractForm(org int64, today string, devices ...int64) url.Values {
	f := url.Values{"org": {ids(org)}, "service_type": {models.ServiceColocation}, "monthly_fee": {"12,345.60"},
		"installation_fee": {"800"}, "currency": {"CNY"}, "signed_on": {today}, "starts_on": {today}, "ends_on": {""},
		"renewal": {models.RenewalAuto}, "notes": {"机柜 A-07，双路供电"}, "cabinets": {"A-07"}, "other_cabinets": {"Z-99，Z-98"}}
	for _, d := range devices {
		f.Add("devices", ids(d))
	}
	return f
}

var contractRefRE = regexp.MustCompile(`^/contracts/([0-9a-f]{16})$`)

// The desk records a contract through the form and changes it; an
// engineer records the installation done; every role reaches what it may
// and no more; organization B finds none of A's; bad input comes back
// translated with what was typed, storing nothing.
func TestContractPages(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		fx := e.fx
		sys := models.SystemActor("test")
		dev, err := e.store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: fx.OrgA.ID, Name: "web-01.alpha", Address: "127.0.0.31", Cabinet: "A-07"})
		if err != nil {
			t.Fatal(err)
		}
		devB, err := e.store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: fx.OrgB.ID, Name: "bravo-01", Address: "127.0.0.32"})
		if err != nil {
			t.Fatal(err)
		}
		desk, eng, front := e.as(t, fx.Service), e.as(t, fx.Engineer), e.as(t, fx.Reception)
		custA, custB, admin := e.as(t, fx.CustA), e.as(t, fx.CustB), e.as(t, fx.Admin)
		today := e.store.Today()
		newPage := "/contracts/new?org=" + ids(fx.OrgA.ID)

		// Who may open the form.
		wantBody(t, desk.get("/contracts/new"), `id="pick-org"`, fx.OrgA.Name)
		r := desk.get(newPage)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "web-01.alpha", `value="A-07"`, `name="_once"`)
		wantNoBody(t, r, "bravo-01")
		wantStatus(t, desk.get("/contracts/new?org=999999"), http.StatusNotFound)
		for _, c := range []*client{eng, front, custA} {
			wantStatus(t, c.get(newPage), http.StatusForbidden)
		}
		wantStatus(t, eng.submit("/contracts", "/contracts", contractForm(fx.OrgA.ID, today)), http.StatusForbidden)
		wantStatus(t, custA.submit("/contracts", "/contracts", contractForm(fx.OrgA.ID, today)), http.StatusForbidden)
		// No CSRF token: refused.
		wantStatus(t, desk.post("/contracts", contractForm(fx.OrgA.ID, today)), http.StatusForbidden)

		// Bad input: every problem translated, what was typed kept, nothing stored.
		bad := contractForm(fx.OrgA.ID, today, dev.ID)
		bad.Set("monthly_fee", "12.345")
		bad.Set("starts_on", "2026-02-30")
		bad.Set("notes", "typed <notes> 留着")
		r = desk.submit(newPage, "/contracts", bad)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("contracts.error.money"), zh("error.date_invalid"), `value="12.345"`, `value="2026-02-30"`,
			"typed &lt;notes&gt; 留着", `value="Z-98, Z-99"`)
		if !regexp.MustCompile(`value="` + ids(dev.ID) + `" checked`).MatchString(r.Body) {
			t.Error("the chosen device is not ticked again")
		}
		// Only the installation fee is wrong: still nothing stored.
		bad = contractForm(fx.OrgA.ID, today)
		bad.Set("installation_fee", "-5")
		r = desk.submit(newPage, "/contracts", bad)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("contracts.error.money"), `value="-5"`)
		// Another organization's device, and English for a second reader.
		bad = contractForm(fx.OrgA.ID, today, devB.ID)
		r = desk.submit(newPage, "/contracts", bad)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("contracts.error.device_unknown"))
		if rows, err := e.store.ListContracts(ctx, models.AllOrgs(), models.ContractFilter{}); err != nil || len(rows) != 0 {
			t.Fatalf("stored after refusals: %d, %v", len(rows), err)
		}

		// Recorded, once however often the form is sent.
		csrf, once := desk.formTokens(newPage, "/contracts")
		good := contractForm(fx.OrgA.ID, today, dev.ID)
		good.Set("_csrf", csrf)
		good.Set("_once", once)
		r = desk.post("/contracts", good)
		wantStatus(t, r, http.StatusSeeOther)
		m := contractRefRE.FindStringSubmatch(r.Header.Get("Location"))
		if m == nil {
			t.Fatalf("redirect to %q", r.Header.Get("Location"))
		}
		page := "/contracts/" + m[1]
		wantRedirect(t, desk.post("/contracts", good), page)
		r = desk.get(page)
		wantBody(t, r, "CT-2026-0001", "¥12,345.60", "¥800.00", `href="/devices/`+ids(dev.ID)+`"`, "A-07", "Z-98", "Z-99",
			zh("contracts.install_state.open"), `action="`+page+`/installation"`, `id="edit-contract"`, "机柜 A-07，双路供电")
		wantNoBody(t, r, `id="coverage-empty"`)

		// The customer reads its own, without the desk's forms; B finds nothing.
		r = custA.get(page)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "CT-2026-0001", "¥12,345.60", "web-01.alpha")
		wantNoBody(t, r, `action="`+page+`/installation"`, `id="edit-contract"`)
		wantBody(t, custA.get("/contracts"), "CT-2026-0001")
		wantStatus(t, custB.get(page), http.StatusNotFound)
		wantNoBody(t, custB.get("/contracts"), "CT-2026-0001", fx.OrgA.Name)
		wantStatus(t, custB.get("/contracts/0123456789abcdef"), http.StatusNotFound)
		for _, c := range []*client{custA, custB, eng, front} {
			wantStatus(t, c.get(page+"/edit"), http.StatusForbidden)
		}
		wantBody(t, front.get(page), "CT-2026-0001")
		wantNoBody(t, front.get(page), `action="`+page+`/installation"`)

		// The desk changes it; bad input is shown again as typed.
		r = desk.get(page + "/edit")
		wantBody(t, r, `value="12345.60"`, `value="800.00"`, `value="Z-98, Z-99"`)
		change := url.Values{"monthly_fee": {"13000"}, "installation_fee": {"800"}, "starts_on": {today}, "ends_on": {"2027-12-31"},
			"renewal": {models.RenewalPending}, "notes": {""}, "devices": {ids(dev.ID)}, "service_type": {models.ServiceServer}}
		wrong := url.Values{}
		for k, v := range change {
			wrong[k] = v
		}
		wrong.Set("ends_on", "2026-01-01")
		r = desk.submit(page+"/edit", page, wrong)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("contracts.error.ends_before_start"), `value="2026-01-01"`, `value="13000"`)
		wantRedirect(t, desk.submit(page+"/edit", page, change), page)
		r = custA.get(page)
		wantBody(t, r, "¥13,000.00", "2027-12-31", zh("contracts.renewal.pending"), zh("service_type.colocation"))
		wantNoBody(t, r, "Z-99")
		wantStatus(t, eng.submit(page, page, change), http.StatusForbidden)

		// The installation: recorded by an engineer, not by reception or the customer.
		wantStatus(t, front.submit(page, page+"/installation", url.Values{"completed_at": {"2026-11-02T08:00"}}), http.StatusForbidden)
		wantStatus(t, custA.submit(page, page+"/installation", url.Values{"completed_at": {"2026-11-02T08:00"}}), http.StatusForbidden)
		r = eng.submit(page, page+"/installation", url.Values{"completed_at": {"tomorrow"}, "note": {"kept note"}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("error.time_invalid"), `value="tomorrow"`, "kept note")
		r = eng.submit(page, page+"/installation", url.Values{"completed_at": {"2026-11-02T10:00"}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("contracts.error.completed_future"))
		wantRedirect(t, eng.submit(page, page+"/installation", url.Values{"completed_at": {"2026-11-02T08:30"}, "note": {"Racked"}}),
			page+"#installation")
		r = custA.get(page)
		wantBody(t, r, zh("contracts.install_state.met"), "2026-11-02 08:30", "Racked")
		wantNoBody(t, eng.get(page), `action="`+page+`/installation"`)

		// Lists and badges: a second contract of A ending in 20 days shows
		// "ends in 20 days" to both sides; staff filter to those ending.
		soon, err := e.store.CreateContract(ctx, models.UserActor(fx.Service, ""), models.ContractInput{OrgID: fx.OrgA.ID,
			ServiceType: models.ServiceServer, MonthlyFee: 100, SignedOn: "2026-01-01", StartsOn: "2026-01-01", EndsOn: "2026-11-22"})
		if err != nil {
			t.Fatal(err)
		}
		ends := zh("contracts.ends_in", "20")
		for _, c := range []*client{custA, desk} {
			wantBody(t, c.get("/contracts"), soon.Number(), ends)
			wantBody(t, c.get("/contracts/"+soon.Ref), ends, `id="contract-ends"`, `id="coverage-empty"`)
		}
		r = desk.get("/contracts?ending=1&org=" + ids(fx.OrgA.ID))
		wantBody(t, r, soon.Number())
		wantNoBody(t, r, ">CT-2026-0001<")
		wantNoBody(t, custB.get("/contracts"), soon.Number())
		// The organization's page lists them; the desk may add one there.
		org := "/orgs/" + ids(fx.OrgA.ID)
		wantBody(t, desk.get(org), "CT-2026-0001", soon.Number(), `id="org-new-contract"`)
		wantNoBody(t, eng.get(org), `id="org-new-contract"`)

		wantAudit(t, admin, models.AuditContractCreated, fx.Service.Email, "")
		wantAudit(t, admin, models.AuditContractUpdated, fx.Service.Email, "")
		wantAudit(t, admin, models.AuditInstallationCompleted, fx.Engineer.Email, "")
		if r := admin.get("/admin/audit?action=" + models.AuditContractCreated); !strings.Contains(r.Body, zh("service_type.colocation")) {
			t.Error("the audit sentence does not name the service")
		}
	})
}

// A device's page says this month's allowance (0.1 % of the part of the
// month it is watched), how much of it counted so far and what is left,
// the figures DeviceAvailability and Allowance give.
func TestDevicePageShowsTheMonthsAllowance(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		sys := models.SystemActor("test")
		// Watched from Monday 2 November 09:00 UTC: 28 days 15 hours of
		// November, 41,220 minutes, allow 41.22.
		dev, err := e.store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: e.fx.OrgA.ID, Name: "db-01", Address: "127.0.0.41"})
		if err != nil {
			t.Fatal(err)
		}
		chk, err := e.store.AddCheck(ctx, sys, e.fx.OrgA.ID, dev.ID, models.CheckInput{Kind: models.KindICMP, Target: dev.Address, Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		start := e.clock.Now().Add(5 * time.Minute)
		if _, err := e.store.RecordResults(ctx, []models.ProbeResult{{CheckID: chk.ID, At: start, Reason: models.ReasonTimeout},
			{CheckID: chk.ID, At: start.Add(time.Minute), Reason: models.ReasonTimeout}}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(20 * time.Minute) // down since 09:05: 15 minutes counted
		from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		to := from.AddDate(0, 1, 0)
		av, err := e.store.DeviceAvailability(ctx, models.AllOrgs(), e.fx.OrgA.ID, dev.ID, from, to)
		if err != nil || av.Counted != 15*time.Minute {
			t.Fatalf("availability %+v, %v", av, err)
		}
		if a := models.Allowance(from, to, models.MonitoredSince(*dev)); a != 41220*time.Minute/1000 {
			t.Fatalf("allowance %s", a)
		}
		want := zh("contracts.month_allowance", "41.22", "15", "26.22")
		for _, u := range []*models.User{e.fx.CustA, e.fx.Engineer} {
			wantBody(t, e.as(t, u).get("/devices/"+ids(dev.ID)), want)
		}
		// Over the allowance: how far.
		e.clock.Advance(40 * time.Minute)
		wantBody(t, e.as(t, e.fx.CustA).get("/devices/"+ids(dev.ID)), zh("contracts.month_over", "41.22", "55", "13.78"))
		wantStatus(t, e.as(t, e.fx.CustB).get("/devices/"+ids(dev.ID)), http.StatusNotFound)
	})
}
