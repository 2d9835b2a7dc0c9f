package handlers_test

import (
	"net/http"
	"net/url"
	"testing"
)

// Input that is not valid UTF-8 must get a clear answer, never a database
// error: MySQL refuses such bytes where SQLite would store them.
func TestInvalidUTF8IsRefusedCleanly(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		t.Run("a sign-in from a browser with a garbled User-Agent works", func(t *testing.T) {
			c := newClient(t, e.app)
			c.header.Set("User-Agent", "Mozilla \xe9t\xe9")
			r := c.login(e.fx.CustA.Email, "correct horse battery")
			wantStatus(t, r, http.StatusSeeOther)
		})
		t.Run("a sign-in with a garbled email is an ordinary failure", func(t *testing.T) {
			r := newClient(t, e.app).login("a\xff@alpha.test", "whatever it is")
			wantStatus(t, r, http.StatusUnauthorized)
		})
		t.Run("an organization name with invalid bytes gets a translated 422", func(t *testing.T) {
			admin := e.as(t, e.fx.Admin)
			r := admin.submit("/admin/orgs/new", "/admin/orgs", url.Values{"slug": {"lat"}, "name": {"\xe9t\xe9"}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh("error.invalid_text"), `value="lat"`)
		})
	})
}

func TestARefusedLanguageIsNotChosen(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		c := newClient(t, e.app)
		c.header.Set("Accept-Language", "en;q=0, fr")
		r := c.get("/login")
		if got := r.Header.Get("Content-Language"); got != "zh-CN" {
			t.Fatalf("Accept-Language en;q=0 gave Content-Language %q, want the default zh-CN", got)
		}
	})
}
