package handlers_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/colo-portal/portal/models/dbtest"
)

// Issue 9 point 8: after a password change the browser kept its session
// ID, so an ID that had leaked before the change still worked after it.
func TestPasswordChangeRenewsTheSessionID(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		const next = "a brand new passphrase 42"
		c := e.as(t, e.fx.CustA)
		other := e.as(t, e.fx.CustA)
		old := c.session()
		stolen := newClient(t, e.app)
		stolen.cookies[sessionCookie] = old

		r := c.submit("/account", "/account/password", url.Values{"current": {dbtest.Password}, "password": {next}, "confirm": {next}})
		wantRedirect(t, r, "/account")
		if c.session() == "" || c.session() == old {
			t.Fatalf("session cookie after the change %q, want a new ID (was %q)", c.session(), old)
		}
		wantStatus(t, c.get("/account"), http.StatusOK)
		wantRedirect(t, stolen.get("/account"), "/login?next=%2Faccount")
		wantRedirect(t, other.get("/account"), "/login?next=%2Faccount")
	})
}
