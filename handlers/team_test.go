package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"github.com/colo-portal/portal/views"
)

var teamPathRE = regexp.MustCompile(`^/team/(\d+)$`)

func TestOrganizationAdministrator(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		fx := e.fx
		admin := e.as(t, fx.Admin)
		colleague, err := e.store.CreateUser(ctx, models.SystemActor("test"), models.UserInput{Email: "carl@alpha.test",
			Name: "Carl Alpha", Role: models.RoleCustomer, OrgID: &fx.OrgA.ID, Password: dbtest.Password})
		if err != nil {
			t.Fatal(err)
		}

		// Step: Before an admin names one, nobody of the customer may invite.
		a := e.as(t, fx.CustA)
		wantNoBody(t, a.get("/team"), zh("team.invite"))
		wantStatus(t, a.submit("/team", "/team/invite", url.Values{"email": {"x@alpha.test"}, "name": {"X"}}), http.StatusForbidden)

		// Step: The staff admin makes Alice the administrator of Alpha.
		page := "/admin/users/" + ids(fx.CustA.ID)
		wantRedirect(t, admin.submit(page, page+"/org-admin", url.Values{"admin": {"1"}}), page)
		wantBody(t, admin.get(page), zh("flash.org_admin_on"), zh("users.org_admin_remove"))
		wantAudit(t, admin, models.AuditOrgAdminSet, fx.Admin.Email, "")
		// Staff users cannot be one.
		staffPage := "/admin/users/" + ids(fx.Engineer.ID)
		wantStatus(t, admin.submit(staffPage, staffPage+"/org-admin", url.Values{"admin": {"1"}}), http.StatusUnprocessableEntity)

		// Step: An invitation with several mistakes shows them all at once,
		// the values kept.
		r := a.get("/team")
		wantBody(t, r, zh("team.invite"))
		r = a.submit("/team", "/team/invite", url.Values{"email": {"not-an-email"}, "name": {""}, "phone": {"+86\x01"}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("error.email_invalid"), zh("error.required"), `value="not-an-email"`)
		if n := len(errorSpanRE.FindAllString(r.Body, -1)); n < 3 {
			t.Errorf("%d field errors shown, want 3 (email, name, phone)", n)
		}
		r = a.submit("/team", "/team/invite", url.Values{"email": {fx.CustB.Email}, "name": {"Taken"}})
		wantBody(t, r, zh("error.email_taken"))

		// Step: A good invitation creates the user, queues the email and
		// is audited.
		r = a.submit("/team", "/team/invite", url.Values{"email": {"Dana@Alpha.test"}, "name": {"Dana Alpha"}, "locale": {"en"}})
		danaID := idFrom(t, r, teamPathRE)
		r = a.get("/team")
		wantBody(t, r, "dana@alpha.test", zh("team.invited"), zh("flash.user_invited_no_mail")) // the test app has no mail server
		kinds, err := e.store.OutboxKinds(ctx, models.AllOrgs(), fx.OrgA.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !containsString(kinds, models.EventUserInvited) {
			t.Fatalf("outbox %v has no %s", kinds, models.EventUserInvited)
		}
		wantAudit(t, admin, models.AuditUserInvited, fx.CustA.Email, danaID)
		// The invited user cannot sign in before setting a password.
		wantStatus(t, newClient(t, e.app).login("dana@alpha.test", ""), http.StatusUnauthorized)

		// Step: The link sets the password once; every mistake shows at once.
		inv := invitationToken(t, e, fx.OrgA.ID)
		link := "/invite/" + inv
		r = newClient(t, e.app).get(link)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "Dana Alpha", "dana@alpha.test")
		guest := newClient(t, e.app)
		r = guest.submit(link, link, url.Values{"password": {"short"}, "confirm": {"other"}})
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("error.password_too_short", models.MinPasswordLen), zh("error.password_mismatch"))
		wantStatus(t, guest.post(link, url.Values{"password": {"Quiet harbour 77 maple"}, "confirm": {"Quiet harbour 77 maple"}}), http.StatusForbidden)
		wantRedirect(t, guest.submit(link, link, url.Values{"password": {"Quiet harbour 77 maple"}, "confirm": {"Quiet harbour 77 maple"}}), "/login")
		dana := signIn(t, e.app, "dana@alpha.test", "Quiet harbour 77 maple")
		wantStatus(t, dana.get("/"), http.StatusOK) // her own password: nothing to change
		wantStatus(t, newClient(t, e.app).get(link), http.StatusNotFound)
		wantAudit(t, admin, models.AuditInvitationAccepted, "dana@alpha.test", danaID)

		// Step: The administrator sees a colleague's sign-ins and disables
		// them; the colleague is signed out at once.
		r = a.get("/team/" + danaID)
		wantBody(t, r, zh("team.sign_ins"), "0.0.0.0")
		wantRedirect(t, a.submit("/team/"+danaID, "/team/"+danaID+"/disable", nil), "/team/"+danaID)
		wantRedirect(t, dana.get("/"), "/login?next=%2F")
		wantAudit(t, admin, models.AuditUserDisabled, fx.CustA.Email, danaID)
		wantRedirect(t, a.submit("/team/"+danaID, "/team/"+danaID+"/enable", nil), "/team/"+danaID)
		// Not themselves.
		me := "/team/" + ids(fx.CustA.ID)
		wantRedirect(t, a.submit(me, me+"/disable", nil), me)
		if e.user(t, fx.CustA.ID).Disabled() {
			t.Fatal("the administrator disabled themselves")
		}

		// Step: A colleague who is not the administrator may do none of it.
		c := e.as(t, colleague)
		wantNoBody(t, c.get("/team/"+danaID), zh("team.sign_ins"))
		wantStatus(t, c.submit("/team", "/team/"+danaID+"/disable", nil), http.StatusForbidden)
		wantStatus(t, c.submit("/team", "/team/invite", url.Values{"email": {"y@alpha.test"}, "name": {"Y"}}), http.StatusForbidden)

		// Step: Another organization's administrator finds nothing of Alpha.
		if err := e.store.SetOrgAdmin(ctx, models.SystemActor("test"), fx.CustB.ID, true); err != nil {
			t.Fatal(err)
		}
		b := e.as(t, fx.CustB)
		wantStatus(t, b.get("/team/"+danaID), http.StatusNotFound)
		wantStatus(t, b.submit("/team", "/team/"+danaID+"/disable", nil), http.StatusNotFound)
		wantNoBody(t, b.get("/team"), "dana@alpha.test")
		if e.user(t, colleague.ID).Disabled() {
			t.Fatal("a colleague was disabled by someone who may not")
		}

		// Step: An invitation expires.
		r = a.submit("/team", "/team/invite", url.Values{"email": {"eve@alpha.test"}, "name": {"Eve Alpha"}})
		idFrom(t, r, teamPathRE)
		late := "/invite/" + invitationToken(t, e, fx.OrgA.ID)
		e.clock.Advance(models.InvitationLifetime + time.Minute)
		wantStatus(t, newClient(t, e.app).get(late), http.StatusNotFound)

		// Step: Staff keep their power over every user: the admin disables
		// and enables Alpha's users as before.
		admin = e.as(t, fx.Admin) // the clock moved past the old session's life
		wantRedirect(t, admin.submit("/admin/users/"+danaID, "/admin/users/"+danaID+"/disable", nil), "/admin/users/"+danaID)
		if !e.user(t, mustID(t, danaID)).Disabled() {
			t.Error("the staff admin could not disable a customer's user")
		}
	})
}

var errorSpanRE = regexp.MustCompile(`<span class="error" id="e-`)

// invitationToken is the token of the newest open invitation of orgID,
// as the email would carry it.
func invitationToken(t *testing.T, e *env, orgID int64) string {
	t.Helper()
	id, err := e.store.NewestInvitationID(context.Background(), orgID)
	if err != nil {
		t.Fatal(err)
	}
	f, err := e.store.InvitationFacts(context.Background(), models.AllOrgs(), orgID, id)
	if err != nil {
		t.Fatal(err)
	}
	return f.Token
}

func mustID(t *testing.T, s string) int64 {
	t.Helper()
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// An invitation says it was sent only where a mail server can send it;
// without one the administrator is told that no email went out.
func TestAnInvitationSaysWhetherItsEmailCanGo(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		if err := e.store.SetOrgAdmin(context.Background(), models.SystemActor("test"), e.fx.CustA.ID, true); err != nil {
			t.Fatal(err)
		}
		for i, mail := range []bool{false, true} {
			e.app = newApp(e.store, func(d *handlers.Deps) { d.Means = views.DeliveryMeans{Email: mail} })
			a := e.as(t, e.fx.CustA)
			email := fmt.Sprintf("new%d@alpha.test", i)
			a.submit("/team", "/team/invite", url.Values{"email": {email}, "name": {"New Colleague"}})
			r := a.get("/team")
			if mail {
				wantBody(t, r, email, zh("flash.user_invited"))
				wantNoBody(t, r, zh("flash.user_invited_no_mail"))
			} else {
				wantBody(t, r, email, zh("flash.user_invited_no_mail"))
			}
		}
	})
}
