package handlers_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models/dbtest"
)

// Issue 9 point 8: HEAD on a GET route answered 404, /healthz included.
func TestHeadOnGetRoutes(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		t.Run("every GET route of the table is served for HEAD too", func(t *testing.T) {
			head := map[string]bool{}
			for _, r := range e.app.GetRoutes(true) {
				if r.Method == http.MethodHead {
					head[r.Path] = true
				}
			}
			for _, r := range handlers.Routes() {
				if r.Method == http.MethodGet && !head[r.Path] {
					t.Errorf("HEAD %s is not served", r.Path)
				}
			}
		})

		anon := newClient(t, e.app)
		signedIn := e.as(t, e.fx.CustA)
		cases := []struct {
			name     string
			c        *client
			path     string
			status   int
			location string
		}{
			{"HEAD /healthz answers 200 without a body", anon, "/healthz", http.StatusOK, ""},
			{"HEAD /login answers 200 without a body", anon, "/login", http.StatusOK, ""},
			{"HEAD of a page that needs a session sends the anonymous to sign in, as GET does", anon, "/account", http.StatusSeeOther, "/login?next=%2Faccount"},
			{"HEAD of a page answers 200 for the signed-in", signedIn, "/account", http.StatusOK, ""},
			{"HEAD of a POST-only route is not found", signedIn, "/logout", http.StatusNotFound, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := c.c.do(http.MethodHead, c.path, nil, nil)
				wantStatus(t, r, c.status)
				if r.Body != "" {
					t.Errorf("HEAD %s sent a body of %d bytes", c.path, len(r.Body))
				}
				if got := r.Header.Get("Location"); got != c.location {
					t.Errorf("Location %q, want %q", got, c.location)
				}
			})
		}
	})
}

// Issue 9 point 8: the CSRF token was also taken from the query string,
// where it leaks into logs, history and Referer headers.
func TestCSRFTokenOnlyFromFormOrHeader(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		creds := url.Values{"email": {e.fx.CustA.Email}, "password": {dbtest.Password}}

		t.Run("a token in the query string is refused", func(t *testing.T) {
			c := newClient(t, e.app)
			tok := c.csrf("/login")
			wantStatus(t, c.post("/login?_csrf="+url.QueryEscape(tok), creds), http.StatusForbidden)
			if c.session() != "" {
				t.Error("signed in with a token from the query string")
			}
		})

		t.Run("a token in the header is taken", func(t *testing.T) {
			c := newClient(t, e.app)
			tok := c.csrf("/login")
			r := c.do(http.MethodPost, "/login", creds, http.Header{"X-Csrf-Token": {tok}})
			wantRedirect(t, r, "/")
		})

		t.Run("a token in a multipart form is taken", func(t *testing.T) {
			c := newClient(t, e.app)
			tok := c.csrf("/login")
			var body bytes.Buffer
			w := multipart.NewWriter(&body)
			for k, v := range map[string]string{"_csrf": tok, "email": e.fx.CustA.Email, "password": dbtest.Password} {
				if err := w.WriteField(k, v); err != nil {
					t.Fatal(err)
				}
			}
			w.Close()
			r := c.send(http.MethodPost, "/login", strings.NewReader(body.String()), http.Header{"Content-Type": {w.FormDataContentType()}})
			wantRedirect(t, r, "/")
		})

		t.Run("a token in the query string of a multipart post is refused", func(t *testing.T) {
			c := newClient(t, e.app)
			tok := c.csrf("/login")
			var body bytes.Buffer
			w := multipart.NewWriter(&body)
			w.WriteField("email", e.fx.CustA.Email)
			w.WriteField("password", dbtest.Password)
			w.Close()
			r := c.send(http.MethodPost, "/login?_csrf="+url.QueryEscape(tok), strings.NewReader(body.String()), http.Header{"Content-Type": {w.FormDataContentType()}})
			wantStatus(t, r, http.StatusForbidden)
		})
	})
}
