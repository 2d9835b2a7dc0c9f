package handlers_test

import (
	"net/http"
	"testing"
)

// A plain visit to a page the role may not see says so, and nothing about
// expired forms; a form refused for its token says the form expired.
func TestForbiddenPagesSayWhy(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		r := e.as(t, e.fx.CustA).get("/admin/users")
		wantStatus(t, r, http.StatusForbidden)
		wantBody(t, r, zh("error.forbidden"), zh("error.forbidden_hint"))
		wantNoBody(t, r, zh("error.csrf_hint"), "失效")

		c := newClient(t, e.app)
		c.get("/login")
		r = c.post("/login", nil)
		wantStatus(t, r, http.StatusForbidden)
		wantBody(t, r, zh("error.csrf"), zh("error.csrf_hint"))
	})
}
