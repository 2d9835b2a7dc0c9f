package handlers_test

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// testSecret keys the CSRF tokens of every test app.
var testSecret = []byte("test-secret-test-secret-test-secret")

// quiet drops the request log; failures show in statuses and bodies.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// sessionCookie is the session cookie's name without Deps.Secure.
const sessionCookie = "portal_session"

// env is one database with the fixture and the app built on it.
type env struct {
	db    dbtest.DB
	store *models.Store
	clock *dbtest.Clock
	fx    *dbtest.Fixture
	app   *fiber.App
}

// deps is the Deps every test app starts from. The database deadline is
// generous: the tests share a slow machine, and hundreds of parallel
// sign-ins queue for the audit chain's head longer than the production
// default; the deadline's own tests (db_deadline_test.go) set a short one.
func deps(store *models.Store) handlers.Deps {
	return handlers.Deps{Store: store, Secret: testSecret, Sessions: models.DefaultSessionPolicy,
		SignIn: models.DefaultSignInLimits, Logger: quiet, DBTimeout: time.Minute}
}

// newApp builds the real app on store; edit may change the Deps first.
func newApp(store *models.Store, edit ...func(*handlers.Deps)) *fiber.App {
	d := deps(store)
	for _, f := range edit {
		f(&d)
	}
	return handlers.New(d)
}

// eachDB runs f once per available database, as a subtest named after it,
// with a fresh seeded store on an injected clock and the app built on it.
func eachDB(t *testing.T, f func(t *testing.T, e *env)) {
	t.Helper()
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			clock := dbtest.NewClock()
			store := dbtest.Open(t, db, models.WithClock(clock.Now))
			fx := dbtest.Seed(t, store)
			f(t, &env{db: db, store: store, clock: clock, fx: fx, app: newApp(store)})
		})
	}
}

// response is an HTTP response with its body read.
type response struct {
	*http.Response
	Body string
}

// client is a browser in miniature: it keeps the cookies the app sets and
// sends them back.
type client struct {
	t       testing.TB
	app     *fiber.App
	cookies map[string]string
	// header is sent with every request (Accept-Language, say).
	header http.Header
}

func newClient(t testing.TB, app *fiber.App) *client {
	return &client{t: t, app: app, cookies: map[string]string{}, header: http.Header{}}
}

// do sends one request; form, if not nil, is the url-encoded body.
func (c *client) do(method, path string, form url.Values, hdr http.Header) *response {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
		hdr = hdr.Clone()
		if hdr == nil {
			hdr = http.Header{}
		}
		hdr.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return c.send(method, path, body, hdr)
}

// send sends one request with a raw body.
func (c *client) send(method, path string, body io.Reader, hdr http.Header) *response {
	c.t.Helper()
	// An origin-form target, as browsers send it: an absolute one would
	// reach the app as the whole URL in c.OriginalURL().
	req := httptest.NewRequest(method, path, body)
	for k, vs := range c.header {
		req.Header[k] = vs
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	if len(c.cookies) > 0 {
		var parts []string
		for k, v := range c.cookies {
			parts = append(parts, k+"="+v)
		}
		req.Header.Set("Cookie", strings.Join(parts, "; "))
	}
	resp, err := c.app.Test(req, -1)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	for _, ck := range resp.Cookies() {
		if ck.Value == "" || ck.MaxAge < 0 || (!ck.Expires.IsZero() && ck.Expires.Before(time.Now())) {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck.Value
		}
	}
	return &response{Response: resp, Body: string(b)}
}

func (c *client) get(path string) *response { return c.do(http.MethodGet, path, nil, nil) }

// post sends form as it is, with no CSRF token added.
func (c *client) post(path string, form url.Values) *response {
	if form == nil {
		form = url.Values{}
	}
	return c.do(http.MethodPost, path, form, nil)
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]*)"`)

// csrf GETs page and returns its _csrf field.
func (c *client) csrf(page string) string {
	c.t.Helper()
	r := c.get(page)
	m := csrfRE.FindStringSubmatch(r.Body)
	if m == nil {
		c.t.Fatalf("GET %s (%d): no _csrf field in the page", page, r.StatusCode)
	}
	return html.UnescapeString(m[1])
}

// submit posts form to path with the _csrf token of page, as a browser
// submitting a form on page would.
func (c *client) submit(page, path string, form url.Values) *response {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	f.Set("_csrf", c.csrf(page))
	return c.post(path, f)
}

// login posts the sign-in form and returns the response.
func (c *client) login(email, password string) *response {
	c.t.Helper()
	return c.submit("/login", "/login", url.Values{"email": {email}, "password": {password}})
}

// session is the session cookie's current value, "" when there is none.
func (c *client) session() string { return c.cookies[sessionCookie] }

// signIn returns a client signed in as email with password through
// POST /login, failing the test unless the app answers 303.
func signIn(t testing.TB, app *fiber.App, email, password string) *client {
	t.Helper()
	c := newClient(t, app)
	r := c.login(email, password)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in as %s: status %d, want 303; body:\n%s", email, r.StatusCode, r.Body)
	}
	if c.session() == "" {
		t.Fatalf("sign in as %s: no %s cookie set", email, sessionCookie)
	}
	return c
}

// as signs u in with the fixture password.
func (e *env) as(t *testing.T, u *models.User) *client {
	t.Helper()
	return signIn(t, e.app, u.Email, dbtest.Password)
}

// tr is what the page shows for key in lang, escaped as in the HTML.
func tr(lang, key string, args ...any) string {
	return html.EscapeString(locales.For(lang).T(key, args...))
}

// zh is tr in the default language.
func zh(key string, args ...any) string { return tr(locales.Default, key, args...) }

// wantStatus fails unless r has status want.
func wantStatus(t *testing.T, r *response, want int) {
	t.Helper()
	if r.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body:\n%s", r.Request.Method, r.Request.URL.Path, r.StatusCode, want, clip(r.Body))
	}
}

// wantRedirect fails unless r is a 303 to location.
func wantRedirect(t *testing.T, r *response, location string) {
	t.Helper()
	wantStatus(t, r, http.StatusSeeOther)
	if got := r.Header.Get("Location"); got != location {
		t.Fatalf("redirect to %q, want %q", got, location)
	}
}

// wantBody fails unless body contains every one of want.
func wantBody(t *testing.T, r *response, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(r.Body, w) {
			t.Errorf("body does not contain %q; body:\n%s", w, clip(r.Body))
		}
	}
}

// wantNoBody fails if body contains any of bad.
func wantNoBody(t *testing.T, r *response, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(r.Body, b) {
			t.Errorf("body contains %q but must not", b)
		}
	}
}

func clip(s string) string {
	if len(s) > 3000 {
		return s[:3000] + "…"
	}
	return s
}

// user reloads a user from the store.
func (e *env) user(t *testing.T, id int64) *models.User {
	t.Helper()
	u, err := e.store.GetUser(context.Background(), id)
	if err != nil {
		t.Fatalf("get user %d: %v", id, err)
	}
	return u
}

// ids formats an ID for a path.
func ids(id int64) string { return strconv.FormatInt(id, 10) }
