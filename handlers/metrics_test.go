package handlers_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models/dbtest"
	"github.com/colo-portal/portal/models/metricstest"
)

const metricsToken = "scrape-token-0123456789"

// scrapeApp reads GET /metrics with the token and parses the exposition.
func scrapeApp(t *testing.T, c *client) metricstest.Families {
	t.Helper()
	r := c.do(http.MethodGet, "/metrics", nil, http.Header{"Authorization": {"Bearer " + metricsToken}})
	wantStatus(t, r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("GET /metrics: Content-Type %q, want the text exposition", ct)
	}
	return metricstest.Parse(t, strings.NewReader(r.Body))
}

// GET /metrics answers 404 unless a token is configured, as an unknown
// path does; with one, 401 without the right bearer token, and the
// exposition with it. No session is read for it.
func TestMetricsRouteNeedsItsToken(t *testing.T) {
	db := dbtest.Databases(t)[0]
	store := dbtest.Open(t, db)
	fx := dbtest.Seed(t, store)

	t.Run("no token configured: 404", func(t *testing.T) {
		for _, reg := range []*prometheus.Registry{nil, prometheus.NewRegistry()} {
			app := newApp(store, func(d *handlers.Deps) { d.Metrics = reg })
			r := newClient(t, app).do(http.MethodGet, "/metrics", nil, http.Header{"Authorization": {"Bearer " + metricsToken}})
			wantStatus(t, r, http.StatusNotFound)
			wantNoBody(t, r, "portal_http_request_duration_seconds")
		}
	})

	reg := prometheus.NewRegistry()
	app := newApp(store, func(d *handlers.Deps) { d.Metrics, d.MetricsToken = reg, metricsToken })
	anon := newClient(t, app)
	for _, tc := range []struct{ name, auth string }{
		{"no header", ""},
		{"wrong token", "Bearer scrape-token-0123456788"},
		{"a prefix of the token", "Bearer scrape-token"},
		{"the token as basic credentials", "Basic " + metricsToken},
		{"the token without its scheme", metricsToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := http.Header{}
			if tc.auth != "" {
				hdr.Set("Authorization", tc.auth)
			}
			r := anon.do(http.MethodGet, "/metrics", nil, hdr)
			wantStatus(t, r, http.StatusUnauthorized)
			if got := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Errorf("WWW-Authenticate %q, want a Bearer challenge", got)
			}
			wantNoBody(t, r, "portal_")
		})
	}
	t.Run("the right token", func(t *testing.T) {
		fams := scrapeApp(t, anon)
		if _, ok := fams.Value("portal_signins_total", "step", "password", "outcome", "failed"); !ok {
			t.Errorf("no portal_signins_total{step=password,outcome=failed} series; have %v", fams.Names("portal_"))
		}
		if r := anon.do(http.MethodHead, "/metrics", nil, http.Header{"Authorization": {"Bearer " + metricsToken}}); r.StatusCode != http.StatusOK {
			t.Errorf("HEAD /metrics with the token: %d", r.StatusCode)
		}
	})
	t.Run("answered while the instance migrates", func(t *testing.T) {
		ready := &handlers.Readiness{}
		ready.SetMigrating(true)
		app := newApp(store, func(d *handlers.Deps) {
			d.Metrics, d.MetricsToken, d.Readiness = prometheus.NewRegistry(), metricsToken, ready
		})
		c := newClient(t, app)
		wantStatus(t, c.get("/login"), http.StatusServiceUnavailable)
		scrapeApp(t, c)
	})
	t.Run("a session cookie is never looked at", func(t *testing.T) {
		cust := signIn(t, app, fx.CustA.Email, dbtest.Password)
		r := cust.do(http.MethodGet, "/metrics", nil, nil)
		wantStatus(t, r, http.StatusUnauthorized)
	})
}

// Requests are timed by the route template that answered them, never by
// the path asked for, with their status class; paths no route answers
// share one label. Sign-ins count by outcome.
func TestMetricsCountRequestsAndSignIns(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		reg := prometheus.NewRegistry()
		app := newApp(e.store, func(d *handlers.Deps) { d.Metrics, d.MetricsToken = reg, metricsToken })
		scraper := newClient(t, app)
		before := scrapeApp(t, scraper)
		count := func(f metricstest.Families, method, route, code string) float64 {
			v, _ := f.Value("portal_http_request_duration_seconds", "method", method, "route", route, "code", code)
			return v
		}

		eng := signIn(t, app, e.fx.Engineer.Email, dbtest.Password)
		wantStatus(t, eng.get("/orgs/"+ids(e.fx.OrgA.ID)), http.StatusOK)
		wantStatus(t, eng.get("/orgs/"+ids(e.fx.OrgB.ID)), http.StatusOK)
		wantStatus(t, eng.get("/orgs/987654321"), http.StatusNotFound)
		wantStatus(t, eng.get("/no/such/page-4711"), http.StatusNotFound)
		bad := newClient(t, app)
		wantStatus(t, bad.login(e.fx.CustA.Email, "not the password"), http.StatusUnauthorized)

		after := scrapeApp(t, scraper)
		for _, tc := range []struct {
			method, route, code string
			want                float64
		}{
			{"GET", "/orgs/:id", "2xx", 2},
			{"GET", "/orgs/:id", "4xx", 1},
			{"GET", "unmatched", "4xx", 1},
			{"POST", "/login", "3xx", 1}, // the engineer's sign-in
			{"POST", "/login", "4xx", 1}, // the wrong password
		} {
			if got := count(after, tc.method, tc.route, tc.code) - count(before, tc.method, tc.route, tc.code); got != tc.want {
				t.Errorf("%s %s %s: %v more requests, want %v", tc.method, tc.route, tc.code, got, tc.want)
			}
		}
		for _, route := range after.LabelValues("portal_http_request_duration_seconds", "route") {
			if route != "unmatched" && !slices.Contains(routePaths(), route) {
				t.Errorf("route label %q is not a path of the route table: a raw path became a label", route)
			}
		}
		failed := func(f metricstest.Families) float64 {
			v, _ := f.Value("portal_signins_total", "step", "password", "outcome", "failed")
			return v
		}
		ok := func(f metricstest.Families) float64 {
			v, _ := f.Value("portal_signins_total", "step", "password", "outcome", "ok")
			return v
		}
		if d := failed(after) - failed(before); d != 1 {
			t.Errorf("failed sign-ins went up by %v, want 1", d)
		}
		if d := ok(after) - ok(before); d != 1 {
			t.Errorf("sign-ins with the right password went up by %v, want 1", d)
		}
		// The same registry keeps counting: a second wrong password moves it again.
		wantStatus(t, bad.login(e.fx.CustA.Email, "still wrong"), http.StatusUnauthorized)
		if d := failed(scrapeApp(t, scraper)) - failed(after); d != 1 {
			t.Errorf("a second failed sign-in moved the count by %v, want 1", d)
		}
	})
}

// routePaths are the route table's paths.
func routePaths() []string {
	var out []string
	for _, r := range handlers.Routes() {
		out = append(out, r.Path)
	}
	return out
}

// JSON API requests are counted by the scope of their token and their
// status class, and timed under their route's template like the pages.
func TestMetricsCountAPIRequests(t *testing.T) {
	db := dbtest.Databases(t)[0]
	store := dbtest.Open(t, db)
	fx := dbtest.Seed(t, store)
	reg := prometheus.NewRegistry()
	app := newApp(store, func(d *handlers.Deps) { d.Metrics, d.MetricsToken = reg, metricsToken })
	read := newAPIClient(t, app, apiToken(t, store, fx.CustA, false))
	write := newAPIClient(t, app, apiToken(t, store, fx.Admin, true))
	for range 2 {
		if r := read.get("/api/v1/organizations"); r.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/v1/organizations with a read token: %d", r.StatusCode)
		}
	}
	if r := write.get("/api/v1/organizations"); r.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/organizations with a write token: %d", r.StatusCode)
	}
	anon := newClient(t, app)
	wantStatus(t, anon.get("/api/v1/organizations"), http.StatusUnauthorized)

	f := scrapeApp(t, anon)
	for _, tc := range []struct {
		scope, code string
		want        float64
	}{{"read", "2xx", 2}, {"write", "2xx", 1}, {"none", "4xx", 1}} {
		if got, _ := f.Value("portal_api_requests_total", "scope", tc.scope, "code", tc.code); got != tc.want {
			t.Errorf("portal_api_requests_total{scope=%s,code=%s} = %v, want %v", tc.scope, tc.code, got, tc.want)
		}
	}
	if got, _ := f.Value("portal_http_request_duration_seconds", "route", "/api/v1/organizations", "code", "2xx"); got != 3 {
		t.Errorf("API requests timed under their route: %v, want 3", got)
	}
	if got, _ := f.Value("portal_http_request_duration_seconds", "route", "/api/v1/organizations", "code", "4xx"); got != 1 {
		t.Errorf("the refused API request timed under its route: %v, want 1", got)
	}
}
