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

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// announceForm is the announcement form's values for a window of [start,
// end) over targets, in the test app's zone (UTC).
func announceForm(title string, start, end time.Time, targets string) url.Values {
	return url.Values{"title": {title}, "body": {"Replace the core switch.\n更换核心交换机。"},
		"starts_at": {start.UTC().Format("2006-01-02T15:04")}, "ends_at": {end.UTC().Format("2006-01-02T15:04")}, "targets": {targets}}
}

// announce posts the form as c (with the form's one-time token) and
// returns the new window's page.
func announce(t *testing.T, c *client, form url.Values) string {
	t.Helper()
	page := c.get("/maintenance/new")
	wantStatus(t, page, http.StatusOK)
	once := regexp.MustCompile(`name="_once" value="([0-9a-f]+)"`).FindStringSubmatch(page.Body)
	if once == nil {
		t.Fatal("the form has no one-time token")
	}
	f := url.Values{"_once": {once[1]}}
	for k, v := range form {
		f[k] = v
	}
	r := c.submit("/maintenance/new", "/maintenance", f)
	wantStatus(t, r, http.StatusSeeOther)
	loc := r.Header.Get("Location")
	if !regexp.MustCompile(`^/maintenance/[0-9a-f]{16}$`).MatchString(loc) {
		t.Fatalf("after announcing: redirect to %q", loc)
	}
	return loc
}

// Engineers announce a window; the customers it touches see it (and only
// their own part of it), agree or decline until it starts, and the answer
// shows on the staff's page; after the start the answer is final. The
// agreed part of an outage inside the window shows on the outage page with
// the window's number and link. Another organization gets 404 on a window
// that does not touch it and cannot answer it.
func TestMaintenanceFromAnnouncementToAnswers(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		sys := models.SystemActor("test")
		web, err := e.store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: e.fx.OrgA.ID, Name: "web-1", Address: "127.0.0.2", Cabinet: "A03"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: e.fx.OrgB.ID, Name: "db-bravo", Address: "127.0.0.3", Cabinet: "B01"}); err != nil {
			t.Fatal(err)
		}
		eng, custA, custB := e.as(t, e.fx.Engineer), e.as(t, e.fx.CustA), e.as(t, e.fx.CustB)
		now := e.clock.Now()
		start, end := now.Add(24*time.Hour), now.Add(26*time.Hour)

		// Who may announce.
		wantStatus(t, custA.get("/maintenance/new"), http.StatusForbidden)
		wantStatus(t, e.as(t, e.fx.Reception).get("/maintenance/new"), http.StatusForbidden)
		wantStatus(t, custA.submit("/maintenance", "/maintenance", announceForm("x", start, end, "alpha")), http.StatusForbidden)
		// Without the CSRF token nothing is announced.
		wantStatus(t, eng.post("/maintenance", announceForm("x", start, end, "alpha")), http.StatusForbidden)

		// Bad input: every mistake at once, the input kept, nothing stored.
		evil := "<script>alert(1)</script>'; DROP TABLE maintenance_windows; --"
		bad := announceForm("", now.Add(-time.Hour), now.Add(-2*time.Hour), "nobody\n"+evil)
		r := eng.submit("/maintenance/new", "/maintenance", bad)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("error.required"), zh("maintenance.error.starts_past"), zh("maintenance.error.ends_before_start"),
			html.EscapeString("nobody\n"+evil))
		wantNoBody(t, r, "<script>alert(1)")
		bad = announceForm("Title", start, end, "alpha")
		bad.Set("starts_at", "tomorrow")
		bad.Set("targets", "alpha device nothing-here")
		r = eng.submit("/maintenance/new", "/maintenance", bad)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("error.time_invalid"), html.EscapeString(zh("maintenance.error.target_device", 1, "nothing-here")))
		if rows, err := e.store.ListMaintenance(ctx, models.AllOrgs(), false, 10); err != nil || len(rows) != 0 {
			t.Fatalf("refused forms stored %v (%v)", rows, err)
		}

		onlyA := announce(t, eng, announceForm(evil, start, end, "alpha device web-1"))
		both := announce(t, eng, announceForm("Core switch 核心交换机", start, end, "alpha cabinet A03\nbravo"))
		r = eng.get(onlyA)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "MW-2026-0001", html.EscapeString(evil), "web-1", zh("maintenance.answer.none"), zh("maintenance.cancel_submit"))
		wantNoBody(t, r, "<script>alert(1)", zh("maintenance.answer_submit"))

		// Customers: A sees both, B only the one touching it.
		r = custA.get("/maintenance")
		wantBody(t, r, "MW-2026-0001", "MW-2026-0002")
		r = custB.get("/maintenance")
		wantBody(t, r, "MW-2026-0002")
		wantNoBody(t, r, "MW-2026-0001")
		wantStatus(t, custB.get(onlyA), http.StatusNotFound)
		wantStatus(t, custB.get("/maintenance/0123456789abcdef"), http.StatusNotFound)
		wantStatus(t, custB.get("/maintenance/not-a-ref"), http.StatusNotFound)
		wantStatus(t, custB.submit("/maintenance", onlyA+"/answer", url.Values{"answer": {models.MaintenanceAgreed}}), http.StatusNotFound)
		// Of the window touching both, each sees its own part only.
		r = custB.get(both)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, zh("maintenance.affects_whole"), zh("maintenance.answer_submit"))
		wantNoBody(t, r, html.EscapeString(e.fx.OrgA.Name), "A03", "web-1")
		r = custA.get(both)
		wantBody(t, r, zh("maintenance.affects_cabinet", "A03"))
		wantNoBody(t, r, "Bravo Games", "db-bravo", zh("maintenance.affects_whole"), zh("maintenance.cancel_submit"))

		// The homes show what waits for an answer.
		r = custB.get("/")
		wantBody(t, r, `id="home-maintenance"`, "MW-2026-0002")
		wantNoBody(t, r, "MW-2026-0001")

		// Answers: a bad one comes back; staff may not answer.
		r = custA.submit(onlyA, onlyA+"/answer", url.Values{"answer": {"maybe"}, "note": {evil}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("maintenance.error.answer"), html.EscapeString(evil))
		wantStatus(t, e.as(t, e.fx.Service).submit(onlyA, onlyA+"/answer", url.Values{"answer": {models.MaintenanceAgreed}}), http.StatusForbidden)
		wantRedirect(t, custA.submit(onlyA, onlyA+"/answer", url.Values{"answer": {models.MaintenanceDeclined}}), onlyA)
		wantRedirect(t, custA.submit(onlyA, onlyA+"/answer", url.Values{"answer": {models.MaintenanceAgreed}, "note": {"夜间可以 fine at night"}}), onlyA)
		wantRedirect(t, custB.submit(both, both+"/answer", url.Values{"answer": {models.MaintenanceDeclined}}), both)
		r = eng.get(onlyA)
		wantBody(t, r, zh("maintenance.answer.agreed"), "夜间可以 fine at night", e.fx.CustA.Name)
		r = eng.get(both)
		wantBody(t, r, zh("maintenance.answer.declined"), e.fx.CustB.Name, zh("maintenance.answer.none"))
		r = custB.get("/")
		wantNoBody(t, r, `id="home-maintenance"`)

		// Cancelling: only engineers and admins, with a reason.
		wantStatus(t, custA.submit(onlyA, both+"/cancel", url.Values{"reason": {"no"}}), http.StatusForbidden)
		r = eng.submit(both, both+"/cancel", url.Values{"reason": {" "}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("error.required"))
		wantRedirect(t, eng.submit(both, both+"/cancel", url.Values{"reason": {"备件未到 Parts late"}}), both)
		r = custB.get(both)
		wantBody(t, r, zh("maintenance.state.cancelled"), "备件未到 Parts late")
		wantNoBody(t, r, zh("maintenance.answer_submit"))

		// The window starts: the answer is final.
		e.clock.Advance(24*time.Hour + 30*time.Minute)
		custA, eng = e.as(t, e.fx.CustA), e.as(t, e.fx.Engineer)
		r = custA.get(onlyA)
		wantBody(t, r, zh("maintenance.state.in_progress"), zh("maintenance.error.started"))
		wantNoBody(t, r, zh("maintenance.answer_submit"))
		r = custA.submit(onlyA, onlyA+"/answer", url.Values{"answer": {models.MaintenanceDeclined}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("maintenance.error.started"))
		wantNoBody(t, eng.get(onlyA), zh("maintenance.cancel_submit"))

		// web-1 goes down inside the window it was agreed for and comes
		// back after it: the outage page shows the agreed part with the
		// window's number and link, and the rest counting.
		chk, err := e.store.ListChecks(ctx, models.AllOrgs(), e.fx.OrgA.ID, web.ID)
		if err != nil || len(chk) != 1 {
			t.Fatalf("checks %v (%v)", chk, err)
		}
		down := start.Add(time.Hour + 30*time.Minute)
		e.clock.Advance(2 * time.Hour)
		if _, err := e.store.RecordResults(ctx, []models.ProbeResult{{CheckID: chk[0].ID, At: down, Reason: models.ReasonTimeout},
			{CheckID: chk[0].ID, At: down.Add(5 * time.Minute), Reason: models.ReasonTimeout},
			{CheckID: chk[0].ID, At: end.Add(30 * time.Minute), OK: true, RTTus: 300}}); err != nil {
			t.Fatal(err)
		}
		outs, err := e.store.ListOutages(ctx, models.AllOrgs(), e.fx.OrgA.ID, web.ID, 1)
		if err != nil || len(outs) != 1 || outs[0].EndedAt == nil {
			t.Fatalf("outages %v (%v)", outs, err)
		}
		custA = e.as(t, e.fx.CustA)
		half := locales.For(locales.Default).Duration(30 * time.Minute)
		r = custA.get("/outages/" + ids(outs[0].ID))
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, `href="`+onlyA+`">MW-2026-0001</a>`, zh("cause.customer_maintenance"),
			zh("outages.split.counted", half), zh("outages.split.exempt", half))
		// The device page's outage line agrees.
		r = custA.get("/devices/" + ids(web.ID))
		wantBody(t, r, zh("outages.split.counted", half))
		if !strings.Contains(eng.get("/maintenance").Body, "MW-2026-0001") {
			t.Fatal("the staff list lost the window")
		}
	})
}

// walkedMaintenance is a window the day after tomorrow over A's cabinet
// A-07 and all of B, which A agreed to with a note; a second one waits
// for A's answer, for the home page's card.
func walkedMaintenance(t *testing.T, store *models.Store, clock interface{ Now() time.Time }, fx *dbtest.Fixture) *models.MaintenanceWindow {
	t.Helper()
	ctx := context.Background()
	eng := models.UserActor(fx.Engineer, "10.0.0.1")
	start := clock.Now().Truncate(time.Hour).Add(50 * time.Hour)
	w, err := store.AnnounceMaintenance(ctx, eng, models.MaintenanceInput{Title: "核心交换机固件升级 Core switch firmware upgrade",
		Body:     "升级 A 区核心交换机固件，期间上联可能中断两次，每次不超过 5 分钟。\nThe uplinks of room A may drop twice, at most 5 minutes each.",
		StartsAt: start, EndsAt: start.Add(3 * time.Hour), TargetLines: "alpha cabinet A-07\nbravo"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.AnswerMaintenance(ctx, models.UserActor(fx.CustA, "192.0.2.1"), fx.CustA, w.Ref, models.MaintenanceAgreed,
		"请在操作前电话通知值班人员 Please call the duty engineer first"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.AnnounceMaintenance(ctx, eng, models.MaintenanceInput{Title: "UPS battery replacement 更换 UPS 电池",
		StartsAt: start.Add(24 * time.Hour), EndsAt: start.Add(26 * time.Hour), TargetLines: "alpha"}); err != nil {
		t.Fatal(err)
	}
	return w
}
