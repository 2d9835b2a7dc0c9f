package handlers_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/colo-portal/portal/models/dbtest"
)

func TestCSRF(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		fx := e.fx
		creds := func(u string) url.Values { return url.Values{"email": {u}, "password": {dbtest.Password}} }
		newPassword := "a brand new passphrase 42"
		pwForm := url.Values{"current": {dbtest.Password}, "password": {newPassword}, "confirm": {newPassword}}

		t.Run("signing in without a token is refused", func(t *testing.T) {
			c := newClient(t, e.app)
			c.get("/login")
			r := c.post("/login", creds(fx.CustA.Email))
			wantStatus(t, r, http.StatusForbidden)
			if c.session() != "" {
				t.Error("a session cookie was set although the token was missing")
			}
		})

		t.Run("signing in with a wrong token is refused", func(t *testing.T) {
			c := newClient(t, e.app)
			c.get("/login")
			f := creds(fx.CustA.Email)
			f.Set("_csrf", "not-the-token")
			wantStatus(t, c.post("/login", f), http.StatusForbidden)
		})

		t.Run("signing in with the token of the form works", func(t *testing.T) {
			c := newClient(t, e.app)
			wantRedirect(t, c.login(fx.CustA.Email, dbtest.Password), "/")
		})

		t.Run("a sign-in token of one browser does not work in another", func(t *testing.T) {
			c1, c2 := newClient(t, e.app), newClient(t, e.app)
			tok := c1.csrf("/login")
			c2.get("/login")
			f := creds(fx.CustA.Email)
			f.Set("_csrf", tok)
			wantStatus(t, c2.post("/login", f), http.StatusForbidden)
		})

		t.Run("a signed-in post without a token is refused and changes nothing", func(t *testing.T) {
			before := e.user(t, fx.CustA.ID).PasswordHash
			c := e.as(t, fx.CustA)
			wantStatus(t, c.post("/account/password", pwForm), http.StatusForbidden)
			if e.user(t, fx.CustA.ID).PasswordHash != before {
				t.Fatal("the password changed without a CSRF token")
			}
			wantStatus(t, c.get("/"), http.StatusOK) // still signed in
		})

		t.Run("the token of one session does not work for another session", func(t *testing.T) {
			before := e.user(t, fx.CustA.ID).PasswordHash
			c1, c2 := e.as(t, fx.CustA), e.as(t, fx.CustA)
			tok := c1.csrf("/account")
			f := url.Values{}
			for k, v := range pwForm {
				f[k] = v
			}
			f.Set("_csrf", tok)
			wantStatus(t, c2.post("/account/password", f), http.StatusForbidden)
			r := c2.do(http.MethodPost, "/account/password", pwForm, http.Header{"X-Csrf-Token": {tok}})
			wantStatus(t, r, http.StatusForbidden)
			if e.user(t, fx.CustA.ID).PasswordHash != before {
				t.Fatal("the password changed with another session's token")
			}
		})

		t.Run("the token from before sign-in does not work after it", func(t *testing.T) {
			c := newClient(t, e.app)
			anon := c.csrf("/login")
			wantRedirect(t, c.login(fx.CustB.Email, dbtest.Password), "/")
			r := c.post("/lang", url.Values{"lang": {"en"}, "_csrf": {anon}})
			wantStatus(t, r, http.StatusForbidden)
		})

		t.Run("the token in the X-CSRF-Token header is accepted", func(t *testing.T) {
			c := e.as(t, fx.CustA)
			tok := c.csrf("/account")
			r := c.do(http.MethodPost, "/account/password", pwForm, http.Header{"X-CSRF-Token": {tok}})
			wantRedirect(t, r, "/account")
			wantRedirect(t, newClient(t, e.app).login(fx.CustA.Email, newPassword), "/")
		})

		t.Run("GET never signs out", func(t *testing.T) {
			c := e.as(t, fx.CustB)
			r := c.get("/logout")
			if r.StatusCode != http.StatusNotFound && r.StatusCode != http.StatusMethodNotAllowed {
				t.Fatalf("GET /logout: status %d, want 404 or 405", r.StatusCode)
			}
			wantStatus(t, c.get("/"), http.StatusOK)
		})

		t.Run("GET never disables a user", func(t *testing.T) {
			c := e.as(t, fx.Admin)
			r := c.get("/admin/users/" + ids(fx.CustB.ID) + "/disable")
			if r.StatusCode != http.StatusNotFound && r.StatusCode != http.StatusMethodNotAllowed {
				t.Fatalf("GET disable: status %d, want 404 or 405", r.StatusCode)
			}
			if e.user(t, fx.CustB.ID).Disabled() {
				t.Fatal("a GET disabled the user")
			}
		})

		t.Run("GET never changes the language", func(t *testing.T) {
			c := e.as(t, fx.CustB)
			for _, lang := range []string{"en", "zh-CN"} {
				before := e.user(t, fx.CustB.ID).Locale
				r := c.get("/lang?lang=" + lang)
				if r.StatusCode != http.StatusNotFound && r.StatusCode != http.StatusMethodNotAllowed {
					t.Fatalf("GET /lang: status %d, want 404 or 405", r.StatusCode)
				}
				if got := e.user(t, fx.CustB.ID).Locale; got != before {
					t.Fatalf("a GET changed the user's language from %q to %q", before, got)
				}
			}
		})
	})
}
