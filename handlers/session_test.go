package handlers_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// sessionFrom is a fresh browser holding only the session cookie raw.
func sessionFrom(t *testing.T, e *env, raw string) *client {
	c := newClient(t, e.app)
	c.cookies[sessionCookie] = raw
	return c
}

// wantSignedOut fails unless c's session no longer opens the home page.
func wantSignedOut(t *testing.T, c *client) {
	t.Helper()
	wantRedirect(t, c.get("/"), "/login?next=%2F")
}

func TestSessions(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		fx := e.fx

		t.Run("a session ID planted before sign-in is replaced", func(t *testing.T) {
			planted := models.NewSessionID()
			c := newClient(t, e.app)
			c.cookies[sessionCookie] = planted
			r := c.login(fx.CustA.Email, dbtest.Password)
			wantRedirect(t, r, "/")
			got := ""
			for _, ck := range r.Cookies() {
				if ck.Name == sessionCookie && ck.Value != "" {
					got = ck.Value
				}
			}
			if got == "" || got == planted {
				t.Fatalf("session cookie after sign-in is %q, planted %q: want a new value", got, planted)
			}
			wantStatus(t, c.get("/"), http.StatusOK)
			wantSignedOut(t, sessionFrom(t, e, planted))
		})

		t.Run("a real session the browser had before sign-in ends at sign-in", func(t *testing.T) {
			old := e.as(t, fx.CustB).session()
			c := sessionFrom(t, e, old)
			wantStatus(t, c.get("/"), http.StatusOK) // the old session is live
			// Signed in, the browser gets no sign-in form; it posts one anyway
			// (another tab), with the token of its current session.
			r := c.submit("/", "/login", url.Values{"email": {fx.CustA.Email}, "password": {dbtest.Password}})
			wantRedirect(t, r, "/")
			if c.session() == old {
				t.Fatal("the session ID did not change at sign-in")
			}
			r = c.get("/")
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, fx.OrgA.Name)
			wantSignedOut(t, sessionFrom(t, e, old))
		})

		t.Run("signing out ends the session on the server", func(t *testing.T) {
			c := e.as(t, fx.CustA)
			raw := c.session()
			wantRedirect(t, c.submit("/", "/logout", nil), "/login")
			if c.session() != "" {
				t.Error("the session cookie was not cleared")
			}
			r := c.get("/login")
			wantBody(t, r, zh("flash.signed_out"))
			wantSignedOut(t, sessionFrom(t, e, raw))
		})

		t.Run("disabling a user ends their sessions at once", func(t *testing.T) {
			victim := e.as(t, fx.CustB)
			raw := victim.session()
			wantStatus(t, victim.get("/"), http.StatusOK)
			admin := e.as(t, fx.Admin)
			r := admin.submit("/admin/users/"+ids(fx.CustB.ID), "/admin/users/"+ids(fx.CustB.ID)+"/disable", nil)
			wantRedirect(t, r, "/admin/users/"+ids(fx.CustB.ID))
			wantSignedOut(t, victim)
			r = newClient(t, e.app).login(fx.CustB.Email, dbtest.Password)
			wantStatus(t, r, http.StatusUnauthorized)
			wantBody(t, r, zh("login.bad_credentials"))

			r = admin.submit("/admin/users/"+ids(fx.CustB.ID), "/admin/users/"+ids(fx.CustB.ID)+"/enable", nil)
			wantRedirect(t, r, "/admin/users/"+ids(fx.CustB.ID))
			// Enabling does not bring the old session back: it was deleted,
			// not only refused while the user was disabled.
			wantSignedOut(t, sessionFrom(t, e, raw))
			e.as(t, fx.CustB)
		})

		t.Run("the admin cannot disable themselves", func(t *testing.T) {
			admin := e.as(t, fx.Admin)
			r := admin.submit("/admin/users/"+ids(fx.Admin.ID), "/admin/users/"+ids(fx.Admin.ID)+"/disable", nil)
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh("error.cannot_disable_self"))
			wantStatus(t, admin.get("/admin/users"), http.StatusOK)
		})

		t.Run("changing the password ends the other sessions and keeps this one", func(t *testing.T) {
			other := e.as(t, fx.Engineer)
			this := e.as(t, fx.Engineer)
			pw := "engineer passphrase 2026"
			r := this.submit("/account", "/account/password",
				url.Values{"current": {dbtest.Password}, "password": {pw}, "confirm": {pw}})
			wantRedirect(t, r, "/account")
			r = this.get("/account")
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, zh("flash.password_changed"), zh("account.sessions_count", 1))
			wantSignedOut(t, other)
			wantStatus(t, newClient(t, e.app).login(fx.Engineer.Email, dbtest.Password), http.StatusUnauthorized)
			signIn(t, e.app, fx.Engineer.Email, pw)
		})

		t.Run("a wrong current password changes nothing", func(t *testing.T) {
			c := e.as(t, fx.Service)
			before := e.user(t, fx.Service.ID).PasswordHash
			pw := "service passphrase 2026"
			r := c.submit("/account", "/account/password",
				url.Values{"current": {"not it at all"}, "password": {pw}, "confirm": {pw}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh("error.current_password_wrong"))
			if e.user(t, fx.Service.ID).PasswordHash != before {
				t.Fatal("the password changed")
			}
		})

		t.Run("the session cookie is HttpOnly and SameSite=Lax", func(t *testing.T) {
			c := newClient(t, e.app)
			r := c.login(fx.Reception.Email, dbtest.Password)
			ck := cookieOf(t, r, sessionCookie)
			if !ck.HttpOnly {
				t.Error("session cookie is not HttpOnly")
			}
			if ck.SameSite != http.SameSiteLaxMode {
				t.Errorf("session cookie SameSite = %v, want Lax", ck.SameSite)
			}
			if ck.Path != "/" {
				t.Errorf("session cookie Path = %q, want /", ck.Path)
			}
			if ck.Secure {
				t.Error("session cookie is Secure without Deps.Secure")
			}
			if r.Header.Get("Strict-Transport-Security") != "" {
				t.Error("HSTS is sent without Deps.Secure")
			}
		})

		t.Run("with Secure the cookie is a __Host- cookie and HSTS is on", func(t *testing.T) {
			app := newApp(e.store, func(d *handlers.Deps) { d.Secure = true })
			c := newClient(t, app)
			r := c.get("/login")
			if r.Header.Get("Strict-Transport-Security") == "" {
				t.Error("no Strict-Transport-Security header with Deps.Secure")
			}
			tok := csrfRE.FindStringSubmatch(r.Body)
			if tok == nil {
				t.Fatal("no _csrf field")
			}
			r = c.post("/login", url.Values{"email": {fx.Reception.Email}, "password": {dbtest.Password}, "_csrf": {tok[1]}})
			wantRedirect(t, r, "/")
			ck := cookieOf(t, r, "__Host-portal_session")
			if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" {
				t.Errorf("cookie %+v: want Secure, HttpOnly, SameSite=Lax, Path=/ and no Domain", ck)
			}
			for _, ck := range r.Cookies() {
				if ck.Name == sessionCookie {
					t.Errorf("a plain %s cookie is set with Deps.Secure", sessionCookie)
				}
			}
			if r.Header.Get("Strict-Transport-Security") == "" {
				t.Error("no Strict-Transport-Security header on the sign-in response")
			}
			wantStatus(t, c.get("/"), http.StatusOK)
			// The plain cookie name means nothing to a Secure app.
			plain := newClient(t, app)
			plain.cookies[sessionCookie] = c.cookies["__Host-portal_session"]
			wantRedirect(t, plain.get("/"), "/login?next=%2F")
		})

		t.Run("a session idle for longer than the limit ends", func(t *testing.T) {
			c := e.as(t, fx.CustA)
			idle := models.DefaultSessionPolicy.Idle
			e.clock.Advance(idle - time.Minute)
			wantStatus(t, c.get("/"), http.StatusOK)
			e.clock.Advance(idle - time.Minute) // activity above moved the idle limit on
			wantStatus(t, c.get("/"), http.StatusOK)
			// Never before the limit; at most TouchEvery after it.
			e.clock.Advance(idle + models.DefaultSessionPolicy.TouchEvery())
			wantRedirect(t, c.get("/"), "/login?next=%2F")
		})

		t.Run("a session ends at the absolute limit however active it is", func(t *testing.T) {
			c := e.as(t, fx.CustA)
			p := models.DefaultSessionPolicy
			for passed := time.Duration(0); passed+p.Idle/2 < p.Absolute; passed += p.Idle / 2 {
				e.clock.Advance(p.Idle / 2)
				wantStatus(t, c.get("/"), http.StatusOK)
			}
			e.clock.Advance(p.Idle / 2)
			wantRedirect(t, c.get("/"), "/login?next=%2F")
		})
	})
}

// cookieOf returns the cookie name set by r, failing when there is none.
func cookieOf(t *testing.T, r *response, name string) *http.Cookie {
	t.Helper()
	for _, ck := range r.Cookies() {
		if ck.Name == name && ck.Value != "" {
			return ck
		}
	}
	t.Fatalf("response sets no %s cookie; Set-Cookie: %q", name, r.Header.Values("Set-Cookie"))
	return nil
}
