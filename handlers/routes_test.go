package handlers_test

import (
	"strings"
	"testing"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// TestRouteTable keeps the route table and the app in step: every route
// the app answers has a policy, and the policies say what they should.
func TestRouteTable(t *testing.T) {
	table := map[string]handlers.RouteInfo{}
	for _, r := range handlers.Routes() {
		table[r.Method+" "+r.Path] = r
	}

	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			app := newApp(dbtest.Open(t, db))
			// GetRoutes(true) leaves out USE handlers: the middleware and the
			// catch-all 404 on "/". What is left is exactly what app.Add got.
			routes := app.GetRoutes(true)
			if len(routes) == 0 {
				t.Fatal("the app registers no routes")
			}
			t.Run("every route of the app has an entry in the route table", func(t *testing.T) {
				seen := map[string]bool{}
				for _, r := range routes {
					method := r.Method
					if method == "HEAD" {
						method = "GET" // fiber answers HEAD for every GET
					}
					key := method + " " + r.Path
					if _, ok := table[key]; !ok {
						t.Errorf("%s %s is served but has no entry in handlers.Routes()", r.Method, r.Path)
					}
					seen[key] = true
				}
				for key := range table {
					if !seen[key] {
						t.Errorf("handlers.Routes() lists %s but the app does not serve it", key)
					}
				}
			})
		})
	}

	t.Run("every route has a policy", func(t *testing.T) {
		for _, r := range handlers.Routes() {
			if strings.TrimSpace(r.Access.String()) == "" {
				t.Errorf("%s %s has an empty policy", r.Method, r.Path)
			}
		}
	})

	t.Run("admin paths allow only the admin role", func(t *testing.T) {
		n := 0
		for _, r := range handlers.Routes() {
			if !strings.HasPrefix(r.Path, "/admin/") && r.Path != "/admin" {
				continue
			}
			n++
			if got := r.Access.String(); got != string(models.RoleAdmin) {
				t.Errorf("%s %s has policy %q, want %q", r.Method, r.Path, got, models.RoleAdmin)
			}
			for _, role := range models.Roles {
				if got, want := r.Access.Allows(role), role == models.RoleAdmin; got != want {
					t.Errorf("%s %s: Allows(%s) = %v, want %v", r.Method, r.Path, role, got, want)
				}
			}
		}
		if n == 0 {
			t.Error("no /admin/ routes found; the table changed shape")
		}
	})

	t.Run("no route is listed twice", func(t *testing.T) {
		seen := map[string]bool{}
		for _, r := range handlers.Routes() {
			key := r.Method + " " + r.Path
			if seen[key] {
				t.Errorf("%s is listed twice", key)
			}
			seen[key] = true
		}
	})
}
