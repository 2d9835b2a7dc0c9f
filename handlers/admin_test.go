package handlers_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/colo-portal/portal/models"
)

var (
	orgPathRE  = regexp.MustCompile(`^/orgs/(\d+)$`)
	userPathRE = regexp.MustCompile(`^/admin/users/(\d+)$`)
	secretRE   = regexp.MustCompile(`<span class="secret">([^<]+)</span>`)
)

// idFrom returns the ID in r's Location, which must match re.
func idFrom(t *testing.T, r *response, re *regexp.Regexp) string {
	t.Helper()
	wantStatus(t, r, http.StatusSeeOther)
	m := re.FindStringSubmatch(r.Header.Get("Location"))
	if m == nil {
		t.Fatalf("redirect to %q, want one matching %s", r.Header.Get("Location"), re)
	}
	return m[1]
}

// wantAudit fails unless the audit page filtered to action lists an event
// by actor about target ("#<id>").
func wantAudit(t *testing.T, admin *client, action, actor, target string) {
	t.Helper()
	r := admin.get("/admin/audit?action=" + url.QueryEscape(action))
	wantStatus(t, r, http.StatusOK)
	wantNoBody(t, r, zh("audit.empty"))
	wantBody(t, r, zh("audit.action."+action), actor)
	if target != "" {
		wantBody(t, r, "#"+target)
	}
}

func TestAdministration(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		fx := e.fx
		admin := e.as(t, fx.Admin)
		const pw = "charlie initial passphrase"

		var orgID, userID string
		t.Run("the admin creates an organization", func(t *testing.T) {
			r := admin.submit("/admin/orgs/new", "/admin/orgs", url.Values{"slug": {"charlie"},
				"name": {"Charlie Cloud 查理"}, "contact_address": {"1 Data Road"},
				"service_rep": {ids(fx.Service.ID)}, "engineer": {ids(fx.Engineer.ID)}})
			orgID = idFrom(t, r, orgPathRE)
			r = admin.get("/orgs/" + orgID)
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, "Charlie Cloud 查理", "1 Data Road", fx.Service.Name, fx.Engineer.Name, zh("flash.org_created"))
			wantBody(t, admin.get("/orgs"), "Charlie Cloud 查理")
			wantAudit(t, admin, models.AuditOrgCreated, fx.Admin.Email, orgID)
		})

		t.Run("the admin creates a customer user who can then sign in", func(t *testing.T) {
			if orgID == "" {
				t.Skip("no organization")
			}
			r := admin.submit("/admin/users/new", "/admin/users", url.Values{"email": {"Carol@Charlie.test"},
				"name": {"Carol Charlie"}, "phone": {"+86 21 1234 5678"}, "role": {"customer"},
				"org": {orgID}, "password": {pw}})
			userID = idFrom(t, r, userPathRE)
			r = admin.get("/admin/users/" + userID)
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, "carol@charlie.test", "Carol Charlie", zh("flash.user_created"))
			wantAudit(t, admin, models.AuditUserCreated, fx.Admin.Email, userID)

			// A password the admin chose is changed before anything else.
			c := signIn(t, e.app, "carol@charlie.test", pw)
			wantRedirect(t, c.get("/"), "/account/password")
			wantRedirect(t, c.get("/contacts"), "/account/password")
			r = c.get("/account/password")
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, zh("account.must_change_password"))
			r = c.submit("/account/password", "/account/password", url.Values{"current": {pw},
				"password": {"Mulberry tide 42 lantern"}, "confirm": {"Mulberry tide 42 lantern"}})
			wantRedirect(t, r, "/account")
			r = c.get("/")
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, "Charlie Cloud 查理", fx.Service.Email, fx.Engineer.Email)
			wantNoBody(t, r, fx.OrgA.Name)
		})

		invalid := []struct {
			name, page, path string
			form             url.Values
			errKey           string
			args             []any
			keep             []string // entered values that must still be in the form
		}{
			{name: "a user with a malformed email is refused with the values kept",
				page: "/admin/users/new", path: "/admin/users",
				form: url.Values{"email": {"not-an-email"}, "name": {"Dora Delta"}, "phone": {"+86 1"},
					"role": {"customer"}, "org": {ids(fx.OrgA.ID)}, "password": {pw}},
				errKey: "error.email_invalid", keep: []string{`value="not-an-email"`, `value="Dora Delta"`, `value="+86 1"`}},
			{name: "a user with a taken email is refused",
				page: "/admin/users/new", path: "/admin/users",
				form: url.Values{"email": {fx.CustA.Email}, "name": {"Alice Again"},
					"role": {"customer"}, "org": {ids(fx.OrgA.ID)}, "password": {pw}},
				errKey: "error.email_taken", keep: []string{`value="Alice Again"`}},
			{name: "a customer without an organization is refused with the values kept",
				page: "/admin/users/new", path: "/admin/users",
				form: url.Values{"email": {"eve@echo.test"}, "name": {"Eve Echo"}, "role": {"customer"},
					"org": {""}, "password": {pw}},
				errKey: "error.customer_needs_org", keep: []string{`value="eve@echo.test"`, `value="Eve Echo"`}},
			{name: "a staff user with an organization is refused",
				page: "/admin/users/new", path: "/admin/users",
				form: url.Values{"email": {"sam@idc.test"}, "name": {"Sam Staff"}, "role": {"engineer"},
					"org": {ids(fx.OrgA.ID)}, "password": {pw}},
				errKey: "error.staff_no_org", keep: []string{`value="sam@idc.test"`}},
			{name: "a user with a short password is refused",
				page: "/admin/users/new", path: "/admin/users",
				form: url.Values{"email": {"pat@idc.test"}, "name": {"Pat Short"}, "role": {"engineer"},
					"password": {"short"}},
				errKey: "error.password_too_short", args: []any{models.MinPasswordLen}, keep: []string{`value="Pat Short"`}},
			{name: "an organization with a taken short name is refused with the values kept",
				page: "/admin/orgs/new", path: "/admin/orgs",
				form:   url.Values{"slug": {fx.OrgA.Slug}, "name": {"Another Alpha"}, "contact_address": {"2 Other St"}},
				errKey: "error.slug_taken", keep: []string{`value="Another Alpha"`, "2 Other St", `value="` + fx.OrgA.Slug + `"`}},
			{name: "an organization with a malformed short name is refused",
				page: "/admin/orgs/new", path: "/admin/orgs",
				form:   url.Values{"slug": {"Not A Slug!"}, "name": {"Foxtrot"}},
				errKey: "error.slug_invalid", keep: []string{`value="Foxtrot"`}},
			{name: "an organization whose engineer is not an engineer is refused",
				page: "/admin/orgs/new", path: "/admin/orgs",
				form:   url.Values{"slug": {"golf"}, "name": {"Golf"}, "engineer": {ids(fx.Service.ID)}},
				errKey: "error.assignee_role", args: []any{plain("role.engineer")}, keep: []string{`value="golf"`}},
		}
		for _, tc := range invalid {
			t.Run(tc.name, func(t *testing.T) {
				r := admin.submit(tc.page, tc.path, tc.form)
				wantStatus(t, r, http.StatusUnprocessableEntity)
				wantBody(t, r, zh(tc.errKey, tc.args...))
				wantBody(t, r, tc.keep...)
				if p := tc.form.Get("password"); p != "" {
					wantNoBody(t, r, `value="`+p+`"`) // a password is never sent back
				}
			})
		}
		t.Run("no invalid form created anything", func(t *testing.T) {
			r := admin.get("/admin/users")
			wantNoBody(t, r, "Dora Delta", "Alice Again", "eve@echo.test", "sam@idc.test", "pat@idc.test")
			wantNoBody(t, admin.get("/orgs"), "Another Alpha", "Foxtrot", ">Golf<")
		})

		t.Run("a password reset is shown once and the old password stops working", func(t *testing.T) {
			if userID == "" {
				t.Skip("no user")
			}
			own := "Mulberry tide 42 lantern" // set at the first sign-in above
			other := signIn(t, e.app, "carol@charlie.test", own)
			r := admin.submit("/admin/users/"+userID, "/admin/users/"+userID+"/reset-password", nil)
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, zh("users.new_password_once"))
			m := secretRE.FindStringSubmatch(r.Body)
			if m == nil {
				t.Fatal("no new password on the page")
			}
			newPW := html.UnescapeString(m[1])
			if len(newPW) < models.MinPasswordLen {
				t.Errorf("new password %q is shorter than %d", newPW, models.MinPasswordLen)
			}
			again := admin.get("/admin/users/" + userID)
			wantNoBody(t, again, m[1], zh("users.new_password_once"))

			wantRedirect(t, other.get("/"), "/login?next=%2F") // signed out everywhere
			wantStatus(t, newClient(t, e.app).login("carol@charlie.test", own), http.StatusUnauthorized)
			// A reset password is the admin's too: changed at the next sign-in.
			wantRedirect(t, signIn(t, e.app, "carol@charlie.test", newPW).get("/"), "/account/password")
			wantAudit(t, admin, models.AuditPasswordReset, fx.Admin.Email, userID)
		})

		t.Run("disabling and re-enabling a user are audited", func(t *testing.T) {
			id := ids(fx.CustB.ID)
			wantRedirect(t, admin.submit("/admin/users/"+id, "/admin/users/"+id+"/disable", nil), "/admin/users/"+id)
			wantRedirect(t, admin.submit("/admin/users/"+id, "/admin/users/"+id+"/enable", nil), "/admin/users/"+id)
			wantAudit(t, admin, models.AuditUserDisabled, fx.Admin.Email, id)
			wantAudit(t, admin, models.AuditUserEnabled, fx.Admin.Email, id)
		})

		t.Run("markup in an organization name is shown as text", func(t *testing.T) {
			const evil = `<script>alert(1)</script>`
			r := admin.submit("/admin/orgs/new", "/admin/orgs", url.Values{"slug": {"xss"}, "name": {evil},
				"contact_address": {`<img src=x onerror=alert(2)>`}})
			id := idFrom(t, r, orgPathRE)
			for _, p := range []string{"/orgs", "/orgs/" + id, "/admin/orgs/" + id, "/admin/users"} {
				r := admin.get(p)
				wantStatus(t, r, http.StatusOK)
				wantBody(t, r, "&lt;script&gt;alert(1)&lt;/script&gt;")
				wantNoBody(t, r, evil, "<img src=x")
			}
			wantBody(t, admin.get("/orgs/"+id), "&lt;img src=x onerror=alert(2)&gt;")
		})

		t.Run("an org edit changes what customers see and is audited", func(t *testing.T) {
			id := ids(fx.OrgB.ID)
			r := admin.submit("/admin/orgs/"+id, "/admin/orgs/"+id, url.Values{"slug": {fx.OrgB.Slug},
				"name": {"Bravo Games Renamed"}, "service_rep": {ids(fx.Service.ID)}})
			wantRedirect(t, r, "/orgs/"+id)
			r = e.as(t, fx.CustB).get("/")
			wantBody(t, r, "Bravo Games Renamed", fx.Service.Email)
			wantAudit(t, admin, models.AuditOrgUpdated, fx.Admin.Email, id)
		})
	})
}

// plain translates key in the default language, unescaped, for use as a
// format argument.
func plain(key string) string { return html.UnescapeString(zh(key)) }
