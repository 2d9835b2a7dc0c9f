package handlers_test

import (
	"context"
	"database/sql"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// stallProxy forwards TCP connections to a database until told to stall:
// then it holds every byte, both ways, and holds new connections too, as a
// database behind a global lock or a dead network would.
type stallProxy struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	cond     *sync.Cond
	stalled  bool
	closed   bool
}

func newStallProxy(t *testing.T, upstream string) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, upstream: upstream}
	p.cond = sync.NewCond(&p.mu)
	t.Cleanup(p.close)
	go p.serve()
	return p
}

func (p *stallProxy) addr() string { return p.ln.Addr().String() }

// stall stops forwarding; resume forwards again.
func (p *stallProxy) stall()  { p.set(true) }
func (p *stallProxy) resume() { p.set(false) }

func (p *stallProxy) set(stalled bool) {
	p.mu.Lock()
	p.stalled = stalled
	p.mu.Unlock()
	p.cond.Broadcast()
}

func (p *stallProxy) close() {
	p.mu.Lock()
	p.closed, p.stalled = true, false
	p.mu.Unlock()
	p.cond.Broadcast()
	p.ln.Close()
}

// wait blocks while the proxy is stalled; false once it is closed.
func (p *stallProxy) wait() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.stalled && !p.closed {
		p.cond.Wait()
	}
	return !p.closed
}

func (p *stallProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			if !p.wait() {
				c.Close()
				return
			}
			up, err := net.Dial("tcp", p.upstream)
			if err != nil {
				c.Close()
				return
			}
			go p.pipe(up, c)
			p.pipe(c, up)
		}()
	}
}

// pipe copies src to dst chunk by chunk, holding each chunk while stalled.
func (p *stallProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.wait() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// mysqlDB is the MySQL test database, or a skip without one (under
// CI=true dbtest.Databases fails instead).
func mysqlDB(t *testing.T) dbtest.DB {
	t.Helper()
	for _, db := range dbtest.Databases(t) {
		if db.Name == "mysql" {
			return db
		}
	}
	t.Skip("no MySQL (PORTAL_TEST_MYSQL_DSN unset)")
	return dbtest.DB{}
}

// throughProxy is db's URL with its host replaced by the proxy's address;
// the proxy forwards to db's host.
func throughProxy(t *testing.T, db dbtest.DB) (dbtest.DB, *stallProxy) {
	t.Helper()
	u, err := url.Parse(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	host := u.Host
	if u.Port() == "" {
		host += ":3306"
	}
	p := newStallProxy(t, host)
	u.Host = p.addr()
	return dbtest.DB{Name: db.Name, URL: u.String()}, p
}

// sendWithin is c.send with a guard: a request that has not answered in
// limit fails the test instead of hanging it. The deadlines under test
// are far shorter; the guard only catches a request that waits for the
// database without one.
func sendWithin(c *client, method, path string, form url.Values, limit time.Duration) *response {
	c.t.Helper()
	var body io.Reader
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range c.header {
		req.Header[k] = vs
	}
	var parts []string
	for k, v := range c.cookies {
		parts = append(parts, k+"="+v)
	}
	if len(parts) > 0 {
		req.Header.Set("Cookie", strings.Join(parts, "; "))
	}
	resp, err := c.app.Test(req, int(limit/time.Millisecond))
	if err != nil {
		c.t.Fatalf("%s %s: no answer within %s: %v", method, path, limit, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &response{Response: resp, Body: string(b)}
}

// With the database stalled (a proxy that stops forwarding), signed-in
// pages, sign-in, /healthz and /readyz answer 503 with Retry-After once
// the database deadline passes, in the reader's language, instead of
// hanging until the request's own deadline; when the database is back,
// so are the pages.
func TestAStalledDatabaseFailsPagesFast(t *testing.T) {
	db, proxy := throughProxy(t, mysqlDB(t))
	store := dbtest.Open(t, db)
	fx := dbtest.Seed(t, store)
	// Two apps on one store, as two instances: the sessions live in the
	// database. The test machine is slow and shared, so everything but
	// the stalled requests runs on the app with the tests' generous
	// deadline; the stalled ones go to the app with a short one.
	slow := newApp(store)
	app := newApp(store, func(d *handlers.Deps) {
		d.DBTimeout = 2 * time.Second
		d.RequestTimeout = 10 * time.Minute
	})
	en := signIn(t, slow, fx.CustA.Email, dbtest.Password)
	en.header.Set("Accept-Language", "en")
	en.cookies["portal_lang"] = "en" // the user's choice, as /lang sets it
	zhc := signIn(t, slow, fx.CustB.Email, dbtest.Password)
	zhc.header.Set("Accept-Language", "zh-CN")
	wantStatus(t, en.get("/"), http.StatusOK)
	anon := newClient(t, slow)
	anon.header.Set("Accept-Language", "en")
	login := url.Values{"email": {fx.CustA.Email}, "password": {dbtest.Password}, "_csrf": {anon.csrf("/login")}}

	en.app, zhc.app, anon.app = app, app, app
	proxy.stall()
	const guard = 40 * time.Second
	for _, c := range []struct {
		name string
		cl   *client
		lang string
	}{{"en", en, "en"}, {"zh", zhc, "zh-CN"}} {
		r := sendWithin(c.cl, http.MethodGet, "/", nil, guard)
		wantStatus(t, r, http.StatusServiceUnavailable)
		if r.Header.Get("Retry-After") == "" {
			t.Errorf("%s: 503 without Retry-After", c.name)
		}
		wantBody(t, r, tr(c.lang, "error.unavailable"), tr(c.lang, "error.unavailable_hint"))
	}
	r := sendWithin(anon, http.MethodPost, "/login", login, guard)
	wantStatus(t, r, http.StatusServiceUnavailable)
	wantBody(t, r, tr("en", "error.unavailable"))
	for _, ck := range r.Cookies() {
		if ck.Name == sessionCookie && ck.Value != "" {
			t.Errorf("a sign-in that answered 503 set a session cookie")
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		r := sendWithin(anon, http.MethodGet, path, nil, guard)
		wantStatus(t, r, http.StatusServiceUnavailable)
		if r.Header.Get("Retry-After") == "" {
			t.Errorf("%s: 503 without Retry-After", path)
		}
	}

	proxy.resume()
	en.app, anon.app = slow, slow
	wantStatus(t, sendWithin(en, http.MethodGet, "/", nil, guard), http.StatusOK)
	wantStatus(t, sendWithin(anon, http.MethodGet, "/healthz", nil, guard), http.StatusOK)
	wantStatus(t, sendWithin(anon, http.MethodGet, "/readyz", nil, guard), http.StatusOK)
}

// A table the database will not let anyone write (a lock held by another
// session here, a global read lock in the field) still answers a ping;
// /healthz asks a real question and says the database is unhealthy.
func TestHealthzFailsWhenTheDatabaseTakesNoWrites(t *testing.T) {
	db := mysqlDB(t)
	store := dbtest.Open(t, db)
	app := newApp(store, func(d *handlers.Deps) { d.DBTimeout = time.Second })
	c := newClient(t, app)
	wantStatus(t, c.get("/healthz"), http.StatusOK)
	wantStatus(t, c.get("/readyz"), http.StatusOK)

	dsn, err := models.MySQLDSN(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ctx := context.Background()
	conn, err := raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "LOCK TABLES schema_migrations READ"); err != nil {
		t.Fatal(err)
	}
	if err := store.Ping(ctx); err != nil {
		t.Fatalf("ping under the lock: %v (the lock should not stop a ping)", err)
	}
	const guard = 40 * time.Second
	for _, path := range []string{"/healthz", "/readyz"} {
		r := sendWithin(c, http.MethodGet, path, nil, guard)
		wantStatus(t, r, http.StatusServiceUnavailable)
		wantBody(t, r, "database unavailable")
	}
	if _, err := conn.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, sendWithin(c, http.MethodGet, "/healthz", nil, guard), http.StatusOK)
}

// /readyz says not ready while the instance migrates or drains, and when
// the database lacks migrations this binary needs.
func TestReadyzSaysWhyNotReady(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ready := &handlers.Readiness{}
		app := newApp(e.store, func(d *handlers.Deps) { d.Readiness = ready })
		c := newClient(t, app)
		wantStatus(t, c.get("/readyz"), http.StatusOK)
		ready.SetMigrating(true)
		r := c.get("/readyz")
		wantStatus(t, r, http.StatusServiceUnavailable)
		wantBody(t, r, "migrating")
		wantStatus(t, c.get("/healthz"), http.StatusOK) // alive, only not ready
		r = c.get("/login")
		wantStatus(t, r, http.StatusServiceUnavailable) // no page before the schema is there
		wantBody(t, r, zh("error.unavailable"))
		ready.SetMigrating(false)
		wantStatus(t, c.get("/readyz"), http.StatusOK)
		ready.SetDraining()
		r = c.get("/readyz")
		wantStatus(t, r, http.StatusServiceUnavailable)
		wantBody(t, r, "draining")
		if r.Header.Get("Retry-After") == "" {
			t.Error("not ready without Retry-After")
		}
	})
}
