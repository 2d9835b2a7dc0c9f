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
	"github.com/colo-portal/portal/models/dbtest"
)

// powerEnv is the fixture with a device of A in cabinet A-07 and one of
// B in cabinet B-01, so that the form knows their cabinets.
func powerEnv(t *testing.T, e *env) {
	t.Helper()
	sys := models.SystemActor("test")
	for _, d := range []models.DeviceInput{
		{OrgID: e.fx.OrgA.ID, Name: "web-01", Address: "192.0.2.10", Cabinet: "A-07"},
		{OrgID: e.fx.OrgB.ID, Name: "game-01", Address: "192.0.2.20", Cabinet: "B-01"},
	} {
		if _, err := e.store.CreateDevice(context.Background(), sys, d); err != nil {
			t.Fatal(err)
		}
	}
}

var powerURLRE = regexp.MustCompile(`^/power/[0-9a-f]{16}$`)

// recordPower posts the form as c and returns the new incident's page.
func recordPower(t *testing.T, c *client, form url.Values) string {
	t.Helper()
	r := c.submit("/power/new", "/power", form)
	wantStatus(t, r, http.StatusSeeOther)
	loc := r.Header.Get("Location")
	if !powerURLRE.MatchString(loc) {
		t.Fatalf("after recording: redirect to %q", loc)
	}
	return loc
}

// An engineer records a power incident touching A's cabinet and all of B;
// each customer sees it with its own part only, and an incident touching
// only B is not found for A. A refused form keeps what was typed.
func TestPowerIncidentPages(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		powerEnv(t, e)
		fx := e.fx
		eng, custA, custB := e.as(t, fx.Engineer), e.as(t, fx.CustA), e.as(t, fx.CustB)

		r := eng.get("/power/new")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "alpha", "A-07", "bravo", "B-01", zh("power.targets_hint"), `name="_once"`)

		// Without the CSRF token: refused, nothing stored.
		wantStatus(t, eng.post("/power", url.Values{"cause": {"x"}}), http.StatusForbidden)

		// Every mistake at once, what was typed kept (the clock reads 09:00 UTC).
		r = eng.submit("/power/new", "/power", url.Values{"started_at": {"2026-11-02T09:30"}, "cause": {""},
			"targets": {"alpha A-07\ndelta\n"}, "note": {"keep this note"}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("power.error.started_future"), zh("power.error.both_down"), zh("error.required"),
			zh("power.error.target_unknown", 2, "delta"), `value="2026-11-02T09:30"`, "alpha A-07\ndelta", "keep this note",
			`id="e-started_at"`, `id="e-both_down"`, `id="e-cause"`, `id="e-targets"`)
		r = eng.submit("/power/new", "/power", url.Values{"started_at": {"yesterday"}, "both_down": {"yes"}, "cause": {"UPS"},
			"targets": {"bravo Z-99"}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("error.time_invalid"), zh("power.error.target_cabinet_unknown", 1, "bravo", "Z-99"), `value="yesterday"`)
		if rows, _ := e.store.PowerIncidents(context.Background(), models.AllOrgs(), models.PowerFilter{}); len(rows) != 0 {
			t.Fatalf("%d incidents after refused forms", len(rows))
		}

		page := recordPower(t, eng, url.Values{"started_at": {"2026-11-02T08:10"}, "both_down": {"yes"},
			"cause": {"UPS 2 failed during the mains switch-over"}, "note": {"Bravo's game-01 rebooted twice"},
			"targets": {"alpha a-07\nbravo\n"}})
		onlyB := recordPower(t, eng, url.Values{"started_at": {"2026-11-02T08:40"}, "ended_at": {"2026-11-02T08:50"},
			"both_down": {"no"}, "cause": {"PDU B tripped, UPS held"}, "targets": {"bravo B-01"}})

		r = eng.get(page)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "PI-2026-0001", zh("power.verdict.counts"), fx.OrgA.Name, fx.OrgB.Name, "A-07", zh("power.whole_org"),
			"Bravo&#39;s game-01 rebooted twice", zh("power.ongoing"), fx.Engineer.Name, `id="edit-power"`)
		wantBody(t, eng.get(onlyB), "PI-2026-0002", zh("power.verdict.not_both_down"))

		// A customer sees its own part only: no other customer, no note.
		r = custA.get(page)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "PI-2026-0001", "UPS 2 failed during the mains switch-over", "A-07", zh("power.targets_yours"))
		wantNoBody(t, r, fx.OrgB.Name, "bravo", "game-01", fx.Engineer.Name, `id="edit-power"`)
		r = custB.get(page)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, zh("power.whole_org"))
		wantNoBody(t, r, fx.OrgA.Name, "alpha", "A-07", "game-01")
		for _, p := range []string{onlyB, "/power/0123456789abcdef", "/power/nonsense"} {
			wantStatus(t, custA.get(p), http.StatusNotFound)
		}
		r = custA.get("/power")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "PI-2026-0001")
		wantNoBody(t, r, "PI-2026-0002", zh("power.orgs"), `id="new-power"`)
		wantBody(t, custB.get("/power"), "PI-2026-0001", "PI-2026-0002")

		// Who may write: engineers and admins; reception only reads.
		rec := e.as(t, fx.Reception)
		r = rec.get("/power")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "PI-2026-0001", "PI-2026-0002", zh("power.orgs"))
		wantNoBody(t, r, `id="new-power"`)
		wantNoBody(t, rec.get(page), `id="edit-power"`)
		for _, c := range []*client{rec, e.as(t, fx.Service), custA} {
			wantStatus(t, c.get("/power/new"), http.StatusForbidden)
			wantStatus(t, c.get(page+"/edit"), http.StatusForbidden)
			wantStatus(t, c.submit("/power", page, url.Values{"started_at": {"2026-11-02T08:10"}, "both_down": {"no"},
				"cause": {"x"}, "targets": {"alpha"}}), http.StatusForbidden)
		}
		wantStatus(t, e.as(t, fx.Admin).get("/power/new"), http.StatusOK)

		// Staff filter by organization and what goes on.
		wantBody(t, eng.get("/power?org="+ids(fx.OrgA.ID)), "PI-2026-0001")
		wantNoBody(t, eng.get("/power?org="+ids(fx.OrgA.ID)), "PI-2026-0002")
		r = eng.get("/power?ongoing=1")
		wantBody(t, r, "PI-2026-0001")
		wantNoBody(t, r, "PI-2026-0002")

		// End it and call it force majeure; the form shows what is stored.
		e.clock.Advance(time.Minute)
		r = eng.get(page + "/edit")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "alpha A-07\nbravo\n", `value="2026-11-02T08:10"`, "Bravo&#39;s game-01 rebooted twice")
		r = eng.submit(page+"/edit", page, url.Values{"started_at": {"2026-11-02T08:10"}, "ended_at": {"2026-11-02T08:05"},
			"both_down": {"yes"}, "cause": {"Corrected cause"}, "targets": {"alpha A-07\nbravo"}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("power.error.ended_before"), "Corrected cause", `value="2026-11-02T08:05"`)
		r = eng.submit(page+"/edit", page, url.Values{"started_at": {"2026-11-02T08:10"}, "ended_at": {"2026-11-02T08:55"},
			"both_down": {"yes"}, "force_majeure": {"1"}, "cause": {"City grid failure"}, "targets": {"alpha A-07"}})
		wantRedirect(t, r, page)
		r = eng.get(page)
		wantBody(t, r, zh("power.verdict.force_majeure"), "City grid failure", "2026-11-02 08:55", zh("power.updated"))
		wantNoBody(t, r, fx.OrgB.Name)
		wantStatus(t, custB.get(page), http.StatusNotFound)
		evs, err := e.store.ListAudit(context.Background(), models.AllOrgs(), models.AuditFilter{Action: models.AuditPowerUpdated})
		if err != nil || len(evs) != 1 || !strings.Contains(evs[0].Detail, `"targets_removed":["bravo"]`) {
			t.Fatalf("update records %+v, %v", evs, err)
		}

		// The on-call page leads to the incidents.
		wantBody(t, eng.get("/oncall"), `href="/power"`)
	})
}

// A repeated post of the form records one incident.
func TestPowerFormPostedTwiceRecordsOne(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		powerEnv(t, e)
		eng := e.as(t, e.fx.Engineer)
		page := eng.get("/power/new")
		once := regexp.MustCompile(`name="_once" value="([0-9a-f]{32})"`).FindStringSubmatch(page.Body)
		if once == nil {
			t.Fatal("no _once field")
		}
		form := url.Values{"started_at": {"2026-11-02T08:10"}, "both_down": {"yes"}, "cause": {"UPS"}, "targets": {"alpha"},
			"_once": {once[1]}}
		first := eng.submit("/power/new", "/power", form)
		second := eng.submit("/power/new", "/power", form)
		wantStatus(t, first, http.StatusSeeOther)
		wantRedirect(t, second, first.Header.Get("Location"))
		if rows, _ := e.store.PowerIncidents(context.Background(), models.AllOrgs(), models.PowerFilter{}); len(rows) != 1 {
			t.Fatalf("%d incidents, want 1", len(rows))
		}
	})
}

// walkedPowerIncident is an ongoing power incident of the page walk,
// touching A's cabinet of the walked device and all of B.
func walkedPowerIncident(t *testing.T, store *models.Store, clock *dbtest.Clock, fx *dbtest.Fixture, eng models.Actor) *models.PowerIncident {
	t.Helper()
	p, err := store.RecordPowerIncident(context.Background(), eng, models.PowerInput{StartedAt: clock.Now().Add(-40 * time.Minute),
		BothDown: true, Cause: "2 号 UPS 切换失败，A 列机柜断电 UPS 2 failed to take over; row A lost power",
		Note:    "厂家工程师已在路上 The vendor's engineer is on the way",
		Targets: []models.PowerTargetInput{{OrgID: fx.OrgA.ID, Cabinet: "A-07"}, {OrgID: fx.OrgB.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
