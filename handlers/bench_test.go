package handlers_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

var benchCSRF = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// benchSignIn signs email in through the real form and returns the cookies.
func benchSignIn(b *testing.B, app *fiber.App, email string) []*http.Cookie {
	b.Helper()
	resp, err := app.Test(httptest.NewRequest("GET", "/login", nil), -1)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	m := benchCSRF.FindSubmatch(body)
	if m == nil {
		b.Fatal("no csrf token on /login")
	}
	form := url.Values{"email": {email}, "password": {dbtest.Password}, "_csrf": {string(m[1])}}
	req := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range resp.Cookies() {
		req.AddCookie(c)
	}
	resp, err = app.Test(req, -1)
	if err != nil || resp.StatusCode != fiber.StatusSeeOther {
		b.Fatalf("sign in: %v %v", err, resp.Status)
	}
	return resp.Cookies()
}

func benchApp(b *testing.B, db dbtest.DB, opts ...models.StoreOption) (*fiber.App, *dbtest.Fixture) {
	store := dbtest.Open(b, db, opts...)
	fx := dbtest.Seed(b, store)
	app := handlers.New(handlers.Deps{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Secret: []byte("bench-secret-bench-secret-bench-secret"), Sessions: models.DefaultSessionPolicy,
		SignIn: models.SignInLimits{Window: 1, PerAccount: 1 << 30, PerAddress: 1 << 30}})
	return app, fx
}

// BenchmarkPages measures signed-in page requests through the whole stack:
// session lookup, access policy, queries and rendering.
func BenchmarkPages(b *testing.B) {
	for _, db := range dbtest.Databases(b) {
		app, fx := benchApp(b, db)
		for _, tc := range []struct{ name, email, path string }{
			{"customer_home", fx.CustA.Email, "/"},
			{"admin_users", fx.Admin.Email, "/admin/users"},
			{"admin_audit", fx.Admin.Email, "/admin/audit"},
		} {
			cookies := benchSignIn(b, app, tc.email)
			b.Run(db.Name+"/"+tc.name, func(b *testing.B) {
				for b.Loop() {
					req := httptest.NewRequest("GET", tc.path, nil)
					for _, c := range cookies {
						req.AddCookie(c)
					}
					resp, err := app.Test(req, -1)
					if err != nil || resp.StatusCode != 200 {
						b.Fatalf("%s: %v %v", tc.path, err, resp.Status)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
				}
			})
		}
	}
}

// BenchmarkSignIn measures a whole password sign-in with the production
// Argon2id parameters: the cost an attacker pays per guess.
func BenchmarkSignIn(b *testing.B) {
	for _, db := range dbtest.Databases(b) {
		app, fx := benchApp(b, db, models.WithHasher(models.DefaultHasher))
		benchSignIn(b, app, fx.CustA.Email) // upgrades the fixture's fast hash
		b.Run(db.Name, func(b *testing.B) {
			for b.Loop() {
				benchSignIn(b, app, fx.CustA.Email)
			}
		})
	}
}
