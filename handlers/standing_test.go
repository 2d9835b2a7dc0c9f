package handlers_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"github.com/colo-portal/portal/views/pdf/pdftest"
)

// standingSetup makes CustA organization A's administrator, adds a
// colleague who is not, and a device in cabinet A03.
func standingSetup(t *testing.T, e *env) (colleague *models.User) {
	t.Helper()
	ctx := context.Background()
	sys := models.SystemActor("test")
	if err := e.store.SetOrgAdmin(ctx, sys, e.fx.CustA.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: e.fx.OrgA.ID, Name: "db-01", Address: "127.0.0.5", Cabinet: "A03"}); err != nil {
		t.Fatal(err)
	}
	u, err := e.store.CreateUser(ctx, sys, models.UserInput{Email: "c2@alpha.test", Name: "Carl Colleague", Role: models.RoleCustomer,
		OrgID: &e.fx.OrgA.ID, Password: dbtest.Password, Phone: "+86 10 5555 2222"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// standingForm is a valid form of a new entry from today (2026-11-02 on
// the test clock).
func standingFormValues() url.Values {
	return url.Values{"name": {"王芳"}, "company": {"阿尔法科技"}, "id_type": {models.IDResident}, "id_number": {visitorResident},
		"phone": {"13812345678"}, "valid_from": {"2026-11-02"}, "valid_to": {"2026-11-30"}, "cabinets": {"A03"}, "locale": {"zh-CN"}}
}

// addStanding adds an entry through the administrator's form and returns
// its reference.
func addStanding(t *testing.T, admin *client, form url.Values) string {
	t.Helper()
	r := admin.submit("/access/new", "/access", form)
	wantStatus(t, r, http.StatusSeeOther)
	loc := r.Header.Get("Location")
	if !strings.HasPrefix(loc, "/access/") {
		t.Fatalf("created: Location %q", loc)
	}
	return strings.TrimPrefix(loc, "/access/")
}

func TestStandingListPagesRolesAndTenancy(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		colleague := standingSetup(t, e)
		admin := e.as(t, e.fx.CustA)
		ref := addStanding(t, admin, standingFormValues())

		// The organization's users read it, masked.
		col := e.as(t, colleague)
		r := col.get("/access")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "王芳", visitorMasked, html.EscapeString(zh("standing.admin_only")))
		wantNoBody(t, r, visitorResident, `href="/access/new"`)
		r = col.get("/access/" + ref)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, visitorMasked, "A03")
		wantNoBody(t, r, visitorResident, "/pass.pdf")
		// A colleague may not change, revoke, reissue or print it.
		wantStatus(t, col.get("/access/new"), http.StatusForbidden)
		wantStatus(t, col.get("/access/"+ref+"/edit"), http.StatusForbidden)
		wantStatus(t, col.get("/access/"+ref+"/pass.pdf"), http.StatusForbidden)
		wantStatus(t, col.submit("/access", "/access/"+ref+"/revoke", nil), http.StatusForbidden)
		wantStatus(t, col.submit("/access", "/access/"+ref+"/reissue", nil), http.StatusForbidden)
		wantStatus(t, col.submit("/access", "/access", standingFormValues()), http.StatusForbidden)

		// Another organization: not found, whatever the action.
		b := e.as(t, e.fx.CustB)
		for _, p := range []string{"/access/" + ref, "/access/" + ref + "/edit", "/access/" + ref + "/pass.pdf"} {
			wantStatus(t, b.get(p), http.StatusNotFound)
		}
		wantStatus(t, b.submit("/access", "/access/"+ref+"/revoke", nil), http.StatusNotFound)
		wantStatus(t, b.submit("/access", "/access/"+ref, standingFormValues()), http.StatusNotFound)
		r = b.get("/access")
		wantStatus(t, r, http.StatusOK)
		wantNoBody(t, r, "王芳")

		// Reception sees the number; an admin the mask; an engineer nothing.
		desk := e.as(t, e.fx.Reception)
		r = desk.get("/access/" + ref)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, visitorResident, "13812345678")
		r = e.as(t, e.fx.Admin).get("/access/" + ref)
		wantStatus(t, r, http.StatusOK)
		wantNoBody(t, r, visitorResident)
		wantStatus(t, e.as(t, e.fx.Engineer).get("/access"), http.StatusForbidden)
		wantStatus(t, e.as(t, e.fx.Engineer).get("/access/"+ref), http.StatusForbidden)

		// The administrator's pass: one QR code, of the standing kind.
		r = admin.get("/access/" + ref + "/pass.pdf")
		wantStatus(t, r, http.StatusOK)
		if tokens := pdftest.QRTokens(t, []byte(r.Body)); len(tokens) != 1 || !models.IsStandingToken(tokens[0]) {
			t.Fatalf("pass QR codes %v, want one standing token", tokens)
		}

		// Bad input comes back translated, every field at once, the
		// values kept, nothing stored.
		bad := standingFormValues()
		bad.Set("name", "")
		bad.Set("id_number", "110101199003071234")
		bad.Set("valid_to", "2028-01-01")
		bad.Set("company", "保留的公司")
		r = admin.submit("/access/new", "/access", bad)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, html.EscapeString(zh("error.required")), html.EscapeString(zh("visits.error.resident_check")),
			html.EscapeString(zh("standing.error.too_long", "366")), "保留的公司")
		rows, _ := e.store.ListStanding(context.Background(), models.AllOrgs(), 0, "")
		if len(rows) != 1 {
			t.Fatalf("%d entries after a refused form, want 1", len(rows))
		}
		// Without the CSRF token nothing is changed.
		wantStatus(t, admin.post("/access/"+ref+"/revoke", nil), http.StatusForbidden)

		// The administrator changes it; reception revokes it (a lost pass).
		change := standingFormValues()
		change.Set("id_number", "")
		change.Set("escort_required", "yes")
		wantStatus(t, admin.submit("/access/"+ref+"/edit", "/access/"+ref, change), http.StatusSeeOther)
		r = desk.submit("/access/"+ref, "/access/"+ref+"/revoke", url.Values{"reason": {"通行证遗失"}})
		wantStatus(t, r, http.StatusSeeOther)
		r = col.get("/access/" + ref)
		wantBody(t, r, zh("standing.status.revoked"), "通行证遗失", zh("standing.escort_required"))
		wantStatus(t, admin.get("/access/"+ref+"/pass.pdf"), http.StatusNotFound)
	})
}

// At the desk: a standing pass scanned checks the person in without a
// visit request; they appear on "inside now" under their organization;
// an expired entry is refused with the day it ended; one that needs an
// escort asks for one; the access history and its CSV list the entry.
func TestStandingAtTheDesk(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		standingSetup(t, e)
		admin := e.as(t, e.fx.CustA)
		ref := addStanding(t, admin, standingFormValues())
		r := admin.get("/access/" + ref + "/pass.pdf")
		wantStatus(t, r, http.StatusOK)
		token := pdftest.QRTokens(t, []byte(r.Body))[0]

		desk := e.as(t, e.fx.Reception)
		r = desk.submit("/reception/today", "/reception/checkin", url.Values{"token": {token + "\r\n"}})
		wantRedirect(t, r, "/reception/today?done=sin&s="+ref)
		r = desk.get("/reception/today?done=sin&s=" + ref)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, html.EscapeString(zh("standing.done_in", "王芳", e.fx.OrgA.Name)), `id="standing-`+ref+`"`,
			`id="inside-org-`+ids(e.fx.OrgA.ID)+`"`)
		// Reception's queue counts them among those inside now.
		wantBody(t, desk.get("/reception"), html.EscapeString(zh("reception.inside_now", "1")))
		// Scanned again: already inside.
		r = desk.submit("/reception/today", "/reception/checkin", url.Values{"token": {token}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, html.EscapeString(zh("standing.error.already_in", "王芳")))
		// Organization B's scope does not reach it; then out from the board.
		wantStatus(t, e.as(t, e.fx.CustB).submit("/access", "/reception/access/"+ref+"/checkout", nil), http.StatusForbidden)
		e.clock.Advance(90 * time.Minute)
		r = desk.submit("/reception/today", "/reception/access/"+ref+"/checkout", nil)
		wantRedirect(t, r, "/reception/today?done=sout&s="+ref)
		r = desk.get("/reception/today")
		wantBody(t, r, html.EscapeString(zh("checkin.inside_none")))
		wantBody(t, desk.get("/reception"), html.EscapeString(zh("reception.inside_now", "0")))

		// The customer's access history and its CSV.
		r = admin.get("/access/history")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "王芳", html.EscapeString(zh("standing.history_count", "1")))
		r = admin.get("/access/history.csv?from=2026-11-01&to=2026-11-30")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "王芳", visitorMasked)
		wantNoBody(t, r, visitorResident)
		r = e.as(t, e.fx.CustB).get("/access/history.csv?from=2026-11-01&to=2026-11-30")
		wantStatus(t, r, http.StatusOK)
		wantNoBody(t, r, "王芳")
		wantStatus(t, admin.get("/access/history?from=2026-11-30&to=2026-11-01"), http.StatusUnprocessableEntity)

		// Escort required: the scan asks for the escort, with the form.
		change := standingFormValues()
		change.Set("id_number", "")
		change.Set("escort_required", "yes")
		wantStatus(t, admin.submit("/access/"+ref+"/edit", "/access/"+ref, change), http.StatusSeeOther)
		r = desk.submit("/reception/today", "/reception/checkin", url.Values{"token": {token}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, html.EscapeString(zh("standing.error.escort_needed", "王芳")), `action="/reception/access/`+ref+`/checkin"`)
		r = desk.submit("/reception/today", "/reception/access/"+ref+"/checkin", url.Values{"escort": {ids(e.fx.Engineer.ID)}, "badge": {"S-3"}})
		wantRedirect(t, r, "/reception/today?done=sin&s="+ref)
		r = desk.get("/reception/today?done=sin&s=" + ref)
		wantBody(t, r, "S-3", html.EscapeString(zh("checkin.done_escort", e.fx.Engineer.Name)))
		// Out without the badge: it is listed until it comes back.
		wantRedirect(t, desk.submit("/reception/today", "/reception/access/"+ref+"/checkout", nil), "/reception/today?done=sout&s="+ref)
		r = desk.get("/reception/today?done=sout&s=" + ref)
		wantBody(t, r, html.EscapeString(zh("checkin.done_badge_missing", "S-3")), `id="standing-badge-`+ref+`"`)
		wantRedirect(t, desk.submit("/reception/today", "/reception/access/"+ref+"/badge", nil), "/reception/today?done=sbadge&s="+ref)
		r = desk.get("/reception/today?done=sbadge&s=" + ref)
		wantBody(t, r, html.EscapeString(zh("standing.done_badge", "王芳")))
		wantNoBody(t, r, `id="standing-badge-`+ref+`"`)
		r = desk.submit("/reception/today", "/reception/access/"+ref+"/badge", nil)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, html.EscapeString(zh("checkin.error.no_badge_out", "王芳")))

		// Found by name when the pass is forgotten.
		r = desk.get("/reception/today?sq=王")
		wantBody(t, r, `id="found-`+ref+`"`)

		// After its last day the pass is refused with that day.
		e.clock.Advance(30 * 24 * time.Hour)
		desk = e.as(t, e.fx.Reception) // the session has expired meanwhile
		r = desk.submit("/reception/today", "/reception/checkin", url.Values{"token": {token}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, html.EscapeString(zh("standing.error.expired", "王芳", "2026-11-30")))
		r = desk.submit("/reception/today", "/reception/access/"+ref+"/checkin", url.Values{"escort": {ids(e.fx.Engineer.ID)}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, html.EscapeString(zh("standing.error.expired", "王芳", "2026-11-30")))
		// A forged pass.
		r = desk.submit("/reception/today", "/reception/checkin", url.Values{"token": {"S1.AAAA" + strings.Repeat("B", 60)}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
	})
}
