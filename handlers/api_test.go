package handlers_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
)

// The OpenAPI document validates, and its operations are exactly the API
// routes of the route table.
func TestOpenAPIDocumentIsValidAndListsEveryAPIRoute(t *testing.T) {
	v := openAPIValidator(t)
	if ok, errs := v.ValidateDocument(); !ok {
		for _, e := range errs {
			t.Errorf("document: %s: %s", e.Message, e.Reason)
		}
		t.FailNow()
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	b, err := handlers.OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	(&apiResponse{Body: b}).JSON(t, &doc)
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	routes := map[string]bool{}
	for _, r := range handlers.Routes() {
		if strings.HasPrefix(r.Path, handlers.APIPrefix+"/") {
			routes[strings.ToLower(r.Method)+" "+handlers.OpenAPIPath(r.Path)] = true
		}
	}
	documented := map[string]bool{}
	ids := map[string]bool{}
	for p, item := range doc.Paths {
		for m, op := range item {
			documented[m+" "+p] = true
			id, _ := op["operationId"].(string)
			if id == "" || ids[id] {
				t.Errorf("%s %s: operationId %q missing or used twice", m, p, id)
			}
			ids[id] = true
		}
	}
	for r := range routes {
		if !documented[r] {
			t.Errorf("route %s is not in the document", r)
		}
	}
	for d := range documented {
		if !routes[d] {
			t.Errorf("the document lists %s, which is no route", d)
		}
	}
	if len(routes) < 3 {
		t.Fatalf("only %d API routes", len(routes))
	}
	// The served document is the same.
	eachDB(t, func(t *testing.T, e *env) {
		r := newAPIClient(t, e.app, "").get(handlers.APIPrefix + "/openapi.json")
		if r.StatusCode != http.StatusOK || string(r.Body) != string(b) {
			t.Fatalf("served document: %d, %d bytes, want %d", r.StatusCode, len(r.Body), len(b))
		}
	})
}

func TestAPITokensAuthenticateAndScopeTheAPI(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		f := e.fx
		orgs := handlers.APIPrefix + "/organizations"
		tokA := apiToken(t, e.store, f.CustA, false)
		a := newAPIClient(t, e.app, tokA)

		// The customer sees its own organization, and another's is 404
		// exactly like one that does not exist.
		r := a.get(orgs)
		wantAPIStatus(t, r, http.StatusOK)
		var list handlers.List[handlers.APIOrganization]
		r.JSON(t, &list)
		if len(list.Data) != 1 || list.Data[0].ID != f.OrgA.ID || list.NextCursor != nil {
			t.Fatalf("A's organizations: %+v", list)
		}
		wantAPIStatus(t, a.get(orgs+"/"+ids(f.OrgA.ID)), http.StatusOK)
		other, missing := a.get(orgs+"/"+ids(f.OrgB.ID)), a.get(orgs+"/999999")
		wantAPIStatus(t, other, http.StatusNotFound)
		wantAPIStatus(t, missing, http.StatusNotFound)
		if po, pm := other.Problem(t), missing.Problem(t); po.Title != pm.Title || po.Detail != pm.Detail || po.Type != pm.Type {
			t.Fatalf("another organization's %+v differs from a missing one's %+v", po, pm)
		}

		// No token, a wrong one, a session cookie: 401 with a problem.
		c := e.as(t, f.CustA)
		for name, hdr := range map[string]http.Header{
			"no token":        {},
			"a wrong token":   {"Authorization": {"Bearer cpt_" + strings.Repeat("A", 43)}},
			"basic":           {"Authorization": {"Basic YTpi"}},
			"a session only":  {"Cookie": {sessionCookie + "=" + c.session()}},
			"the page's CSRF": {"X-CSRF-Token": {c.csrf("/")}},
		} {
			anon := newAPIClient(t, e.app, "")
			anon.header = hdr
			r := anon.get(orgs)
			wantAPIStatus(t, r, http.StatusUnauthorized)
			if p := r.Problem(t); r.Header.Get("WWW-Authenticate") == "" || p.Detail == "" {
				t.Fatalf("%s: %+v, WWW-Authenticate %q", name, p, r.Header.Get("WWW-Authenticate"))
			}
		}

		// A token is no key to the pages.
		page := newClient(t, e.app)
		page.header.Set("Authorization", "Bearer "+tokA)
		if r := page.get("/contacts"); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
			t.Fatalf("a page with a token: %d %s", r.StatusCode, r.Header.Get("Location"))
		}

		// Staff see every organization, a page at a time.
		s := newAPIClient(t, e.app, apiToken(t, e.store, f.Reception, false))
		r = s.get(orgs + "?limit=1")
		wantAPIStatus(t, r, http.StatusOK)
		r.JSON(t, &list)
		if len(list.Data) != 1 || list.NextCursor == nil || !strings.Contains(r.Header.Get("Link"), `rel="next"`) {
			t.Fatalf("first page: %+v, Link %q", list, r.Header.Get("Link"))
		}
		first := list.Data[0].ID
		r = s.get(orgs + "?limit=1&cursor=" + *list.NextCursor)
		wantAPIStatus(t, r, http.StatusOK)
		list = handlers.List[handlers.APIOrganization]{}
		r.JSON(t, &list)
		if len(list.Data) != 1 || list.Data[0].ID == first || list.NextCursor != nil {
			t.Fatalf("second page: %+v", list)
		}
		for _, q := range []string{"?limit=0", "?limit=201", "?limit=x", "?cursor=%%%", "?cursor=bm90IGpzb24"} {
			r := s.get(orgs + q)
			wantAPIStatus(t, r, http.StatusBadRequest)
			r.Problem(t)
		}

		// Revoked, expired, disabled: 401.
		toks, err := e.store.ListAPITokens(ctx, f.CustA.ID)
		if err != nil || len(toks) != 1 {
			t.Fatal(toks, err)
		}
		if err := e.store.RevokeAPIToken(ctx, models.UserActor(f.CustA, ""), f.CustA, toks[0].ID); err != nil {
			t.Fatal(err)
		}
		wantAPIStatus(t, a.get(orgs), http.StatusUnauthorized)
		b := newAPIClient(t, e.app, apiToken(t, e.store, f.CustB, false))
		wantAPIStatus(t, b.get(orgs), http.StatusOK)
		e.clock.Advance(31 * 24 * time.Hour)
		wantAPIStatus(t, b.get(orgs), http.StatusUnauthorized)
		eng := newAPIClient(t, e.app, apiToken(t, e.store, f.Engineer, false))
		wantAPIStatus(t, eng.get(orgs), http.StatusOK)
		if err := e.store.SetUserDisabled(ctx, models.SystemActor("test"), f.Engineer.ID, true); err != nil {
			t.Fatal(err)
		}
		wantAPIStatus(t, eng.get(orgs), http.StatusUnauthorized)

		// An unknown API path is a problem too, in the language asked for.
		s.header.Set("Accept-Language", "en")
		s.unchecked = true // a path the document cannot know
		r = s.get(handlers.APIPrefix + "/nothing-here")
		wantAPIStatus(t, r, http.StatusNotFound)
		if p := r.Problem(t); p.Title != "Not found" {
			t.Fatalf("English problem %+v", p)
		}
	})
}

func TestAPIRateLimitIsPerToken(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		app := newApp(e.store, func(d *handlers.Deps) { d.APIRate = 3 })
		orgs := handlers.APIPrefix + "/organizations"
		a := newAPIClient(t, app, apiToken(t, e.store, e.fx.CustA, false))
		for i := range 3 {
			r := a.get(orgs)
			wantAPIStatus(t, r, http.StatusOK)
			if got := r.Header.Get("RateLimit-Remaining"); got != ids(int64(2-i)) {
				t.Fatalf("request %d: RateLimit-Remaining %q", i+1, got)
			}
		}
		r := a.get(orgs)
		wantAPIStatus(t, r, http.StatusTooManyRequests)
		if r.Problem(t); r.Header.Get("Retry-After") == "" || r.Header.Get("RateLimit-Remaining") != "0" {
			t.Fatalf("429 with Retry-After %q, RateLimit-Remaining %q", r.Header.Get("Retry-After"), r.Header.Get("RateLimit-Remaining"))
		}
		// Another token has its own allowance, and the scheme's case does
		// not matter (RFC 6750).
		b := newAPIClient(t, app, "")
		b.header.Set("Authorization", "bearer "+apiToken(t, e.store, e.fx.CustB, false))
		wantAPIStatus(t, b.get(orgs), http.StatusOK)
		// Guessing tokens is limited per address like using one.
		guess := newAPIClient(t, app, "cpt_"+strings.Repeat("x", 43))
		for range 3 {
			wantAPIStatus(t, guess.get(orgs), http.StatusUnauthorized)
		}
		wantAPIStatus(t, guess.get(orgs), http.StatusTooManyRequests)
	})
}

// wantAPIStatus fails unless r has status want.
func wantAPIStatus(t testing.TB, r *apiResponse, want int) {
	t.Helper()
	if r.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body %s", r.Request.Method, r.Request.URL, r.StatusCode, want, clip(string(r.Body)))
	}
}
