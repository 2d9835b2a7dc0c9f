package handlers_test

import (
	"net/http"
	"testing"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// benchEnv is a seeded store on db with an app whose sign-in limits do not
// get in the way of a benchmark loop.
func benchEnv(b *testing.B, db dbtest.DB, opts ...models.StoreOption) *env {
	store := dbtest.Open(b, db, opts...)
	fx := dbtest.Seed(b, store)
	app := newApp(store, func(d *handlers.Deps) {
		d.SignIn = models.SignInLimits{Window: 1, PerAccount: 1 << 30, PerAddress: 1 << 30}
	})
	return &env{db: db, store: store, fx: fx, app: app}
}

// BenchmarkPages measures signed-in page requests through the whole stack:
// session lookup, access policy, queries and rendering.
func BenchmarkPages(b *testing.B) {
	for _, db := range dbtest.Databases(b) {
		e := benchEnv(b, db)
		for _, tc := range []struct {
			name string
			user *models.User
			path string
		}{
			{"customer_home", e.fx.CustA, "/"},
			{"admin_users", e.fx.Admin, "/admin/users"},
			{"admin_audit", e.fx.Admin, "/admin/audit"},
		} {
			c := signIn(b, e.app, tc.user.Email, dbtest.Password)
			b.Run(db.Name+"/"+tc.name, func(b *testing.B) {
				for b.Loop() {
					if r := c.get(tc.path); r.StatusCode != http.StatusOK {
						b.Fatalf("%s: %s", tc.path, r.Status)
					}
				}
			})
		}
	}
}

// BenchmarkSignIn measures a whole password sign-in (GET the form, POST it)
// with the production Argon2id parameters: the cost of one guess.
func BenchmarkSignIn(b *testing.B) {
	for _, db := range dbtest.Databases(b) {
		e := benchEnv(b, db, models.WithHasher(models.DefaultHasher))
		signIn(b, e.app, e.fx.CustA.Email, dbtest.Password) // upgrades the fixture's fast hash
		b.Run(db.Name, func(b *testing.B) {
			for b.Loop() {
				signIn(b, e.app, e.fx.CustA.Email, dbtest.Password)
			}
		})
	}
}

// BenchmarkAPI measures JSON API reads with a personal access token
// through the whole stack: token lookup (one statement, its last use
// written at most once a minute), rate limit, scope, queries and JSON.
func BenchmarkAPI(b *testing.B) {
	for _, db := range dbtest.Databases(b) {
		store := dbtest.Open(b, db)
		fx := dbtest.Seed(b, store)
		app := newApp(store, func(d *handlers.Deps) { d.APIRate = 1 << 30 })
		for _, tc := range []struct {
			name string
			user *models.User
			path string
		}{
			{"customer_organizations", fx.CustA, handlers.APIPrefix + "/organizations"},
			{"customer_devices", fx.CustA, handlers.APIPrefix + "/devices"},
			{"staff_outages", fx.Engineer, handlers.APIPrefix + "/outages"},
		} {
			a := newAPIClient(b, app, apiToken(b, store, tc.user, false))
			a.unchecked = true // measure the portal, not the validator
			b.Run(db.Name+"/"+tc.name, func(b *testing.B) {
				for b.Loop() {
					if r := a.get(tc.path); r.StatusCode != http.StatusOK {
						b.Fatalf("%s: %s", tc.path, r.Status)
					}
				}
			})
		}
	}
}
