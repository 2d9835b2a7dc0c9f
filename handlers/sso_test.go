package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/handlers/oidctest"
	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
)

// ssoRedirect is the callback the test apps register at the test issuer.
const ssoRedirect = "http://portal.test/login/sso/callback"

// ssoRoles is the group mapping of the test apps.
var ssoRoles = models.SSORoles{"idc-reception": models.RoleReception, "idc-engineers": models.RoleEngineer,
	"idc-service": models.RoleService, "idc-admins": models.RoleAdmin}

// ssoApp is e's app with single sign-on through a fresh test issuer; the
// seeded admin is the break-glass account.
func ssoApp(t *testing.T, e *env) (*fiber.App, *oidctest.Issuer) {
	t.Helper()
	iss := oidctest.New(t, "portal", "client-secret-for-tests")
	iss.SetRedirectURI(ssoRedirect)
	app := newApp(e.store, func(d *handlers.Deps) {
		d.SSO = &handlers.SSOConfig{Issuer: iss.URL, ClientID: "portal", ClientSecret: "client-secret-for-tests",
			RedirectURL: ssoRedirect, Roles: ssoRoles, BreakGlass: []string{e.fx.Admin.Email}}
	})
	return app, iss
}

// noFollow is an HTTP client that shows redirects instead of following them.
var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// ssoCallback starts a single sign-on in c and passes the browser through
// the issuer: it returns the callback path the issuer sends it back to.
func ssoCallback(t *testing.T, c *client) string {
	t.Helper()
	r := c.get("/login/sso")
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET /login/sso: status %d, want 303\n%.400s", r.StatusCode, r.Body)
	}
	resp, err := noFollow.Get(r.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || !strings.HasPrefix(back.String(), ssoRedirect) {
		t.Fatalf("issuer's authorize: status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return back.RequestURI()
}

// ssoSignIn walks a whole single sign-on in c and returns the callback's answer.
func ssoSignIn(t *testing.T, c *client) *response {
	t.Helper()
	return c.get(ssoCallback(t, c))
}

func englishClient(t *testing.T, app *fiber.App) *client {
	c := newClient(t, app)
	c.header.Set("Accept-Language", "en")
	return c
}

// ssoAudits are the records of action, newest first, with their details.
func ssoAudits(t *testing.T, e *env, action string) []map[string]any {
	t.Helper()
	evs, err := e.store.ListAudit(context.Background(), models.AllOrgs(), models.AuditFilter{Action: action, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, ev := range evs {
		d := map[string]any{}
		if ev.Detail != "" {
			if err := json.Unmarshal([]byte(ev.Detail), &d); err != nil {
				t.Fatal(err)
			}
		}
		d["_actor"] = ev.ActorEmail
		if ev.TargetID != nil {
			d["_target"] = float64(*ev.TargetID)
		}
		out = append(out, d)
	}
	return out
}

func TestSSOButtonOnlyWhenConfigured(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		if r := newClient(t, e.app).get("/login"); strings.Contains(r.Body, "/login/sso") {
			t.Error("/login offers single sign-on that is not configured")
		}
		if r := newClient(t, e.app).get("/login/sso"); r.StatusCode != http.StatusNotFound {
			t.Errorf("GET /login/sso without single sign-on: status %d, want 404", r.StatusCode)
		}
		app, _ := ssoApp(t, e)
		r := englishClient(t, app).get("/login?next=/fleet")
		if !strings.Contains(r.Body, `href="/login/sso?next=%2Ffleet"`) || !strings.Contains(r.Body, "Sign in with single sign-on") {
			t.Errorf("/login lacks the single sign-on button carrying next:\n%s", r.Body)
		}
	})
}

func TestSSOFirstSignInCreatesTheStaffUserAndTheNextFindsItBySubject(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		app, iss := ssoApp(t, e)
		iss.SetUser(&oidctest.User{Subject: "kc-1001", Email: "Chen.Wei@IDC.test", EmailVerified: true, Name: "陈伟 Chen Wei",
			Groups: []string{"everyone", "idc-engineers"}})
		c := newClient(t, app)
		r := ssoSignIn(t, c)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" || c.session() == "" {
			t.Fatalf("callback: status %d, Location %q, session %q\n%.500s", r.StatusCode, r.Header.Get("Location"), c.session(), r.Body)
		}
		if r := c.get("/network/new"); r.StatusCode != http.StatusOK {
			t.Errorf("the new engineer gets %d on an engineer's page", r.StatusCode)
		}
		if r := c.get("/admin/users"); r.StatusCode != http.StatusForbidden {
			t.Errorf("the new engineer gets %d on an admin's page, want 403", r.StatusCode)
		}
		u, err := e.store.GetUserByEmail(context.Background(), "chen.wei@idc.test")
		if err != nil {
			t.Fatal(err)
		}
		if u.Role != models.RoleEngineer || u.OrgID != nil || u.OIDCSubject == nil || *u.OIDCSubject != "kc-1001" || u.Name != "陈伟 Chen Wei" {
			t.Errorf("created user = %+v", u)
		}
		if created := ssoAudits(t, e, models.AuditUserCreated); len(created) == 0 || created[0]["method"] != "sso" || created[0]["_target"] != float64(u.ID) {
			t.Errorf("user.created records: %v", created)
		}
		signIns := ssoAudits(t, e, models.AuditSignIn)
		if len(signIns) != 1 || signIns[0]["method"] != "sso" || signIns[0]["_target"] != float64(u.ID) {
			t.Errorf("auth.sign_in records: %v", signIns)
		}
		// The password the new user never had does not sign them in.
		if r := englishClient(t, app).login("chen.wei@idc.test", ""); r.StatusCode == http.StatusSeeOther {
			t.Error("an empty password signs the single sign-on user in")
		}

		// The issuer changes the address; the subject finds the same user.
		iss.SetUser(&oidctest.User{Subject: "kc-1001", Email: "wei.chen@idc.test", EmailVerified: true, Name: "Chen Wei",
			Groups: []string{"idc-engineers"}})
		c2 := newClient(t, app)
		if r := ssoSignIn(t, c2); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("second sign-in: status %d\n%.500s", r.StatusCode, r.Body)
		}
		if _, err := e.store.GetUserByEmail(context.Background(), "wei.chen@idc.test"); err == nil {
			t.Error("a second user was made for the same subject")
		}
		if n := len(ssoAudits(t, e, models.AuditSignIn)); n != 2 {
			t.Errorf("%d sign-in records, want 2", n)
		}
		if n := len(ssoAudits(t, e, models.AuditUserCreated)); n != 7 {
			// Six seeded users and the one made above.
			t.Errorf("%d user.created records, want 7", n)
		}
	})
}

func TestSSOLinksAStaffUserByEmailAndItsRoleFollowsTheGroups(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		app, iss := ssoApp(t, e)
		eng := e.fx.Engineer
		// The second factor an admin required is the issuer's business now.
		if err := e.store.SetTOTPRequired(ctx, models.SystemActor("test"), eng.ID, true); err != nil {
			t.Fatal(err)
		}
		var prev *client
		for i, step := range []struct {
			groups []string
			want   models.Role
			page   string // a page only this role (and admins) may see
		}{
			{[]string{"idc-engineers"}, models.RoleEngineer, "/network/new"},
			{[]string{"idc-reception", "idc-admins", "idc-engineers"}, models.RoleAdmin, "/admin/users"},
			{[]string{"idc-service", "idc-reception"}, models.RoleService, "/contracts/new"},
			{[]string{"idc-reception"}, models.RoleReception, "/reception"},
		} {
			iss.SetUser(&oidctest.User{Subject: "azure-oid-7", Email: strings.ToUpper(eng.Email), EmailVerified: true, Name: "Li", Groups: step.groups})
			c := newClient(t, app)
			r := ssoSignIn(t, c)
			if r.StatusCode != http.StatusSeeOther {
				t.Fatalf("step %d: status %d\n%.500s", i, r.StatusCode, r.Body)
			}
			u, err := e.store.GetUser(ctx, eng.ID)
			if err != nil {
				t.Fatal(err)
			}
			if u.Role != step.want || u.OIDCSubject == nil || *u.OIDCSubject != "azure-oid-7" {
				t.Fatalf("step %d (%v): role %s, subject %v; want %s linked", i, step.groups, u.Role, u.OIDCSubject, step.want)
			}
			if r := c.get(step.page); r.StatusCode != http.StatusOK {
				t.Errorf("step %d: %s as %s: status %d (Location %q)", i, step.page, step.want, r.StatusCode, r.Header.Get("Location"))
			}
			if prev != nil {
				// The session from before the role changed is over.
				if r := prev.get("/account"); r.StatusCode != http.StatusSeeOther {
					t.Errorf("step %d: a session of the old role still works (%d)", i, r.StatusCode)
				}
			}
			prev = c
		}
		updates := ssoAudits(t, e, models.AuditUserUpdated)
		var linked, roleChanges int
		for _, d := range updates {
			if d["method"] != "sso" {
				continue
			}
			if after, _ := d["after"].(map[string]any); after["oidc_linked"] == true {
				linked++
			}
			if after, _ := d["after"].(map[string]any); after["role"] != nil {
				roleChanges++
			}
		}
		if linked != 1 || roleChanges != 3 {
			t.Errorf("user.updated by sso: %d links, %d role changes; want 1 and 3: %v", linked, roleChanges, updates)
		}
	})
}

func TestSSORefusals(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		app, iss := ssoApp(t, e)
		if err := e.store.SetUserDisabled(ctx, models.SystemActor("test"), e.fx.Service.ID, true); err != nil {
			t.Fatal(err)
		}
		good := oidctest.User{Subject: "sub-new", Email: "new.hire@idc.test", EmailVerified: true, Name: "New Hire", Groups: []string{"idc-engineers"}}
		with := func(edit func(u *oidctest.User)) *oidctest.User { u := good; edit(&u); return &u }
		// The engineer is linked to one subject; another claims the address.
		iss.SetUser(&oidctest.User{Subject: "sub-eng", Email: e.fx.Engineer.Email, EmailVerified: true, Groups: good.Groups})
		if r := ssoSignIn(t, newClient(t, app)); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("linking the engineer: %d", r.StatusCode)
		}
		engUser := with(func(u *oidctest.User) { u.Subject, u.Email = "sub-eng", e.fx.Engineer.Email })
		en := locales.For("en")
		for _, tc := range []struct {
			name   string
			user   *oidctest.User
			fault  oidctest.Fault
			walk   func(c *client) *response // nil: a whole sign-in
			reason string
			// signsIn: sign-ins the walk makes before its refusal.
			signsIn int
			// unaudited: the callback belongs to no sign-in this browser
			// started, so there is no auth.sso_refused record.
			unaudited bool
		}{
			{name: "no mapped group", user: with(func(u *oidctest.User) { u.Groups = []string{"everyone", "idc-visitors"} }), reason: "no_group"},
			{name: "no groups", user: with(func(u *oidctest.User) { u.Groups = nil }), reason: "no_group"},
			{name: "unverified email", user: with(func(u *oidctest.User) { u.EmailVerified = false }), reason: "email_unverified"},
			{name: "no email", user: with(func(u *oidctest.User) { u.Email = "" }), reason: "no_email"},
			{name: "customer's email", user: with(func(u *oidctest.User) { u.Email = e.fx.CustA.Email }), reason: "customer"},
			{name: "disabled staff", user: with(func(u *oidctest.User) { u.Email = e.fx.Service.Email }), reason: "disabled"},
			{name: "address linked to another subject", user: with(func(u *oidctest.User) { u.Email = e.fx.Engineer.Email }), reason: "subject_mismatch"},
			{name: "issuer refused", reason: "issuer_error"},
			{name: "wrong nonce", user: &good, fault: oidctest.FaultWrongNonce, reason: "nonce"},
			{name: "expired ID token", user: &good, fault: oidctest.FaultExpired, reason: "expired"},
			{name: "ID token for another client", user: &good, fault: oidctest.FaultWrongAudience, reason: "id_token"},
			{name: "ID token signed with another key", user: &good, fault: oidctest.FaultForeignKey, reason: "id_token"},
			{name: "state changed", user: &good, reason: "state", walk: func(c *client) *response {
				back := ssoCallback(t, c)
				return c.get(strings.Replace(back, "state=", "state=x", 1))
			}},
			{name: "no state cookie", user: &good, reason: "state", unaudited: true, walk: func(c *client) *response {
				back := ssoCallback(t, c)
				return englishClient(t, app).get(back)
			}},
			{name: "callback replayed", user: engUser, reason: "state", signsIn: 1, unaudited: true, walk: func(c *client) *response {
				back := ssoCallback(t, c)
				if r := c.get(back); r.StatusCode != http.StatusSeeOther {
					t.Fatalf("first callback: %d", r.StatusCode)
				}
				c.cookies = map[string]string{} // another browser with the same link
				return c.get(back)
			}},
			{name: "code replayed in a new sign-in", user: &good, reason: "code", signsIn: 1, walk: func(c *client) *response {
				iss.SetUser(engUser)
				first := newClient(t, app)
				old, _ := url.Parse(ssoCallback(t, first))
				if r := first.get(old.RequestURI()); r.StatusCode != http.StatusSeeOther {
					t.Fatalf("first callback: %d", r.StatusCode)
				}
				iss.SetUser(&good)
				// A new sign-in of c's own, answered with the used code.
				fresh, _ := url.Parse(ssoCallback(t, c))
				q := fresh.Query()
				q.Set("code", old.Query().Get("code"))
				return c.get("/login/sso/callback?" + q.Encode())
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				iss.SetUser(tc.user)
				iss.SetFault(tc.fault)
				defer iss.SetFault(oidctest.FaultNone)
				before := len(ssoAudits(t, e, models.AuditSSORefused))
				signIns := len(ssoAudits(t, e, models.AuditSignIn))
				c := englishClient(t, app)
				var r *response
				if tc.walk != nil {
					r = tc.walk(c)
				} else {
					r = ssoSignIn(t, c)
				}
				if r.StatusCode != http.StatusForbidden {
					t.Fatalf("status %d, want 403\n%.600s", r.StatusCode, r.Body)
				}
				if want := en.T("sso.refused." + tc.reason); !strings.Contains(r.Body, want) {
					t.Errorf("the page does not say %q:\n%.1500s", want, r.Body)
				}
				if c.session() != "" {
					t.Error("a refused sign-in left a session cookie")
				}
				recs := ssoAudits(t, e, models.AuditSSORefused)
				if tc.unaudited {
					if len(recs) != before {
						t.Errorf("a callback of no sign-in of this browser's was audited: %v", recs[0])
					}
				} else if len(recs) <= before || recs[0]["refusal"] != tc.reason {
					t.Errorf("auth.sso_refused records: %v (had %d), want the newest with refusal %s", recs, before, tc.reason)
				}
				if n := len(ssoAudits(t, e, models.AuditSignIn)); n != signIns+tc.signsIn {
					t.Errorf("a refused sign-in was audited as a sign-in")
				}
			})
		}
		// None of the refusals made the user they named.
		if _, err := e.store.GetUserByEmail(ctx, good.Email); err == nil {
			t.Errorf("a refused sign-in created %s", good.Email)
		}
		if _, replays, _, _ := iss.Counts(); replays != 1 {
			t.Errorf("the issuer saw %d replayed codes, want 1", replays)
		}
		// The audit page says each refusal's reason in words.
		admin := signIn(t, app, e.fx.Admin.Email, "correct horse battery")
		admin.header.Set("Accept-Language", "en")
		page := admin.get("/admin/audit?action=" + models.AuditSSORefused)
		for _, want := range []string{"Single sign-on of new.hire@idc.test refused: no mapped group",
			"Single sign-on of new.hire@idc.test refused: wrong nonce", "Single sign-on of a@alpha.test refused: a customer&#39;s email",
			"Single sign-on of — refused: bad or missing state"} {
			if !strings.Contains(page.Body, want) {
				t.Errorf("the audit page lacks %q", want)
			}
		}
		// The Chinese page says it in Chinese.
		iss.SetUser(with(func(u *oidctest.User) { u.EmailVerified = false }))
		c := newClient(t, app)
		c.header.Set("Accept-Language", "zh-CN")
		if r := ssoSignIn(t, c); !strings.Contains(r.Body, locales.For("zh-CN").T("sso.refused.email_unverified")) {
			t.Errorf("the refusal in Chinese:\n%.800s", r.Body)
		}
	})
}

func TestSSOBreakGlassPasswords(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		app, _ := ssoApp(t, e)
		for _, u := range []*models.User{e.fx.Engineer, e.fx.Service, e.fx.Reception} {
			c := englishClient(t, app)
			r := c.login(u.Email, "correct horse battery")
			if r.StatusCode != http.StatusForbidden || c.session() != "" {
				t.Errorf("%s's password with single sign-on on: status %d, session %q", u.Role, r.StatusCode, c.session())
			}
			if !strings.Contains(r.Body, locales.For("en").T("sso.password_refused")) || !strings.Contains(r.Body, `value="`+u.Email+`"`) {
				t.Errorf("%s's refusal does not say why or loses the email:\n%.800s", u.Role, r.Body)
			}
		}
		refused := 0
		for _, d := range ssoAudits(t, e, models.AuditSignInFailed) {
			if d["reason"] == "sso_required" {
				refused++
			}
		}
		if refused != 3 {
			t.Errorf("%d auth.sign_in_failed records with reason sso_required, want 3", refused)
		}
		// The break-glass admin and customers still use passwords.
		for _, u := range []*models.User{e.fx.Admin, e.fx.CustA} {
			c := signIn(t, app, u.Email, "correct horse battery")
			if r := c.get("/account"); r.StatusCode != http.StatusOK {
				t.Errorf("%s signed in with a password: /account %d", u.Email, r.StatusCode)
			}
		}
		// Another admin is not break-glass.
		other, err := e.store.CreateUser(context.Background(), models.SystemActor("test"), models.UserInput{Email: "root2@idc.test",
			Name: "Second Admin", Role: models.RoleAdmin, Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		if r := englishClient(t, app).login(other.Email, "correct horse battery"); r.StatusCode != http.StatusForbidden {
			t.Errorf("an admin not named break-glass signs in with a password: %d", r.StatusCode)
		}
		// Without single sign-on every staff password works as before.
		signIn(t, e.app, e.fx.Engineer.Email, "correct horse battery")
	})
}

// An issuer that does not answer stops nobody but staff: the portal
// serves, the button leads to a 503 page that says so.
func TestSSOIssuerDownIsA503Page(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		app := newApp(e.store, func(d *handlers.Deps) {
			d.SSO = &handlers.SSOConfig{Issuer: "http://127.0.0.1:1/never", ClientID: "portal", ClientSecret: "s",
				RedirectURL: ssoRedirect, Roles: ssoRoles}
		})
		c := englishClient(t, app)
		r := c.get("/login/sso")
		if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" ||
			!strings.Contains(r.Body, locales.For("en").T("sso.unavailable")) {
			t.Errorf("GET /login/sso with the issuer down: %d, Retry-After %q\n%.600s", r.StatusCode, r.Header.Get("Retry-After"), r.Body)
		}
		if c.cookies["portal_sso"] != "" {
			t.Error("a state cookie was set for a sign-in that cannot start")
		}
		signIn(t, app, e.fx.CustA.Email, "correct horse battery")
	})
}

// The break-glass admin's address is also at the issuer (the same
// person, in the engineers' group). Single sign-on refuses it, says why
// and audits it; the account is neither linked nor re-roled, and its
// password still works: the break-glass admin is still there.
func TestSSONeverChangesTheBreakGlassAdmin(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		app, iss := ssoApp(t, e)
		for _, email := range []string{e.fx.Admin.Email, strings.ToUpper(e.fx.Admin.Email)} {
			iss.SetUser(&oidctest.User{Subject: "kc-root", Email: email, EmailVerified: true, Name: "Root",
				Groups: []string{"idc-engineers"}})
			c := englishClient(t, app)
			r := ssoSignIn(t, c)
			if r.StatusCode != http.StatusForbidden || c.session() != "" {
				t.Errorf("single sign-on as the break-glass admin (%s): status %d, session %q", email, r.StatusCode, c.session())
			}
			if want := locales.For("en").T("sso.refused.break_glass"); !strings.Contains(r.Body, want) {
				t.Errorf("the page does not say %q:\n%.800s", want, r.Body)
			}
			if recs := ssoAudits(t, e, models.AuditSSORefused); len(recs) == 0 || recs[0]["refusal"] != models.SSOBreakGlass ||
				recs[0]["_target"] != float64(e.fx.Admin.ID) {
				t.Errorf("auth.sso_refused records: %v, want the newest break_glass on the admin", recs)
			}
		}
		u, err := e.store.GetUserByEmail(context.Background(), e.fx.Admin.Email)
		if err != nil {
			t.Fatal(err)
		}
		if u.Role != models.RoleAdmin || u.OIDCSubject != nil {
			t.Errorf("the break-glass admin is now %s, linked to %v, after a single sign-on", u.Role, u.OIDCSubject)
		}
		if n := len(ssoAudits(t, e, models.AuditUserUpdated)); n != 0 {
			t.Errorf("%d auth user updates after a refused single sign-on", n)
		}
		if r := englishClient(t, app).login(e.fx.Admin.Email, "correct horse battery"); r.StatusCode != http.StatusSeeOther {
			t.Errorf("the break-glass admin's password after a single sign-on: %d", r.StatusCode)
		}
		// A subject linked before to a user who is now break-glass (the
		// address changed at the issuer) is refused too.
		iss.SetUser(&oidctest.User{Subject: "kc-root", Email: "someone.else@idc.test", EmailVerified: true, Groups: []string{"idc-admins"}})
		if r := ssoSignIn(t, englishClient(t, app)); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("first sign-in of someone.else: %d", r.StatusCode)
		}
		other, err := e.store.GetUserByEmail(context.Background(), "someone.else@idc.test")
		if err != nil {
			t.Fatal(err)
		}
		app2 := newApp(e.store, func(d *handlers.Deps) {
			d.SSO = &handlers.SSOConfig{Issuer: iss.URL, ClientID: "portal", ClientSecret: "client-secret-for-tests",
				RedirectURL: ssoRedirect, Roles: ssoRoles, BreakGlass: []string{e.fx.Admin.Email, " SOMEONE.else@idc.test "}}
		})
		iss.SetUser(&oidctest.User{Subject: "kc-root", Email: "renamed@idc.test", EmailVerified: true, Groups: []string{"idc-reception"}})
		if r := ssoSignIn(t, englishClient(t, app2)); r.StatusCode != http.StatusForbidden {
			t.Errorf("single sign-on of a subject linked to a break-glass account: %d", r.StatusCode)
		}
		if u, err := e.store.GetUser(context.Background(), other.ID); err != nil || u.Role != models.RoleAdmin {
			t.Errorf("the break-glass account linked before: %v, %v", u, err)
		}
	})
}

// GET /login/sso/callback is public: a callback that belongs to no flow
// this browser started (no state cookie, or one that does not verify)
// is refused with the page but writes no audit record, so nobody can
// flood the hash-chained audit trail through it.
func TestSSOCallbackWithoutAFlowWritesNoAudit(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		app, _ := ssoApp(t, e)
		before := len(ssoAudits(t, e, models.AuditSSORefused))
		c := englishClient(t, app)
		for i := range 20 {
			if i%2 == 1 {
				c.cookies["portal_sso"] = "forged.state"
			}
			r := c.get("/login/sso/callback?state=x&code=y")
			if r.StatusCode != http.StatusForbidden || !strings.Contains(r.Body, locales.For("en").T("sso.refused.state")) {
				t.Fatalf("anonymous callback: status %d\n%.600s", r.StatusCode, r.Body)
			}
		}
		if n := len(ssoAudits(t, e, models.AuditSSORefused)) - before; n != 0 {
			t.Errorf("20 anonymous callbacks wrote %d audit records", n)
		}
	})
}

// A linked staff member taken out of every mapped group at the issuer
// (or disabled here) is offboarded by their next single sign-on: the
// refusal ends their sessions and revokes their live API tokens, each
// audited, in the refusal's transaction. A user the issuer never linked
// keeps theirs.
func TestSSORefusalOfALinkedUserEndsSessionsAndRevokesTokens(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		app, iss := ssoApp(t, e)
		token := func(u *models.User) string {
			t.Helper()
			_, secret, err := e.store.CreateAPIToken(ctx, models.UserActor(u, "192.0.2.1"), models.APITokenInput{Name: "monitoring", Days: 30})
			if err != nil {
				t.Fatal(err)
			}
			return secret
		}
		for _, tc := range []struct {
			name    string
			user    *models.User
			refusal string
			prepare func()
		}{
			{name: "no mapped group", user: e.fx.Engineer, refusal: models.SSONoGroup},
			{name: "disabled", user: e.fx.Service, refusal: models.SSODisabled, prepare: func() {
				if err := e.store.SetUserDisabled(ctx, models.SystemActor("test"), e.fx.Service.ID, true); err != nil {
					t.Fatal(err)
				}
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				sub := "sub-" + string(tc.user.Role)
				iss.SetUser(&oidctest.User{Subject: sub, Email: tc.user.Email, EmailVerified: true, Groups: []string{"idc-engineers"}})
				browser := newClient(t, app)
				if r := ssoSignIn(t, browser); r.StatusCode != http.StatusSeeOther {
					t.Fatalf("linking %s: %d", tc.user.Email, r.StatusCode)
				}
				secret := token(tc.user)
				token(tc.user)
				if _, _, err := e.store.AuthenticateToken(ctx, secret, "192.0.2.1"); err != nil {
					t.Fatalf("the token before: %v", err)
				}
				revokedBefore := len(ssoAudits(t, e, models.AuditTokenRevoked))
				if tc.prepare != nil {
					tc.prepare()
				} else {
					// Taken out of the groups at the issuer; the session
					// of the earlier sign-in is still live.
					if r := browser.get("/account"); r.StatusCode != http.StatusOK {
						t.Fatalf("the session before the refusal: %d", r.StatusCode)
					}
				}
				iss.SetUser(&oidctest.User{Subject: sub, Email: tc.user.Email, EmailVerified: true, Groups: []string{"everyone"}})
				if r := ssoSignIn(t, englishClient(t, app)); r.StatusCode != http.StatusForbidden {
					t.Fatalf("the refused sign-in: %d", r.StatusCode)
				}
				if r := browser.get("/account"); r.StatusCode == http.StatusOK {
					t.Error("the earlier session still works after the refusal")
				}
				if _, _, err := e.store.AuthenticateToken(ctx, secret, "192.0.2.1"); err == nil {
					t.Error("the API token still works after the refusal")
				}
				if err := e.store.SetUserDisabled(ctx, models.SystemActor("test"), tc.user.ID, false); err != nil {
					t.Fatal(err)
				}
				if _, _, err := e.store.AuthenticateToken(ctx, secret, "192.0.2.1"); err == nil {
					t.Error("the API token works again once the user is enabled: it was not revoked")
				}
				recs := ssoAudits(t, e, models.AuditSSORefused)
				if len(recs) == 0 || recs[0]["refusal"] != tc.refusal || recs[0]["tokens_revoked"] != float64(2) {
					t.Errorf("the refusal's record: %v, want %s with tokens_revoked 2", recs[0], tc.refusal)
				}
				revoked := ssoAudits(t, e, models.AuditTokenRevoked)
				if len(revoked)-revokedBefore != 2 || revoked[0]["reason"] != "sso_refused" || revoked[0]["owner_id"] != float64(tc.user.ID) {
					t.Errorf("auth.token_revoked records: %v (had %d), want 2 more with reason sso_refused", revoked, revokedBefore)
				}
			})
		}
		// The reception user was never linked: a refusal by address leaves
		// their token alone (the issuer never vouched for them).
		secret := token(e.fx.Reception)
		iss.SetUser(&oidctest.User{Subject: "sub-unlinked", Email: e.fx.Reception.Email, EmailVerified: true, Groups: []string{"everyone"}})
		if r := ssoSignIn(t, englishClient(t, app)); r.StatusCode != http.StatusForbidden {
			t.Fatalf("the refused sign-in of an unlinked user: %d", r.StatusCode)
		}
		if _, _, err := e.store.AuthenticateToken(ctx, secret, "192.0.2.1"); err != nil {
			t.Errorf("an unlinked user's token after a refused single sign-on: %v", err)
		}
	})
}
