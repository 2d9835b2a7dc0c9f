package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/handlers/oidctest"
	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// A staff member presses the single sign-on button on /login, passes
// through the test issuer, and lands on the page they asked for, signed
// in with the role their groups map to: an engineer sees the fleet and
// not the admin's pages. The redirect URI is the portal's own address
// (no PORTAL_BASE_URL, no PORTAL_OIDC_REDIRECT_URL).
func TestBrowserStaffSignsInThroughSingleSignOn(t *testing.T) {
	db := dbtest.Databases(t)[0]
	store := dbtest.Open(t, db)
	fx := dbtest.Seed(t, store)
	iss := oidctest.New(t, "portal", "browser-client-secret")
	app := handlers.New(handlers.Deps{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Secret: []byte("browser-test-secret-browser-test-secret"), Sessions: models.DefaultSessionPolicy,
		SignIn: models.DefaultSignInLimits, Provider: testProvider,
		SSO: &handlers.SSOConfig{Issuer: iss.URL, ClientID: "portal", ClientSecret: "browser-client-secret",
			Roles:      models.SSORoles{"/idc/engineers": models.RoleEngineer, "/idc/reception": models.RoleReception},
			BreakGlass: []string{fx.Admin.Email}}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	base := "http://" + ln.Addr().String()
	iss.SetRedirectURI(base + "/login/sso/callback")
	iss.SetUser(&oidctest.User{Subject: "kc-2f9a", Email: "zhou.ming@idc.test", EmailVerified: true, Name: "周明",
		Groups: []string{"/idc/reception", "/idc/engineers"}})

	ctx := newBrowser(t)
	zh := locales.For("zh-CN")
	// The fleet asks for a sign-in first and comes back to it after.
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/fleet"),
		chromedp.WaitVisible(chromedp.CSS("#sso-button")),
	)
	if err != nil {
		t.Fatalf("sign-in page: %v", err)
	}
	if got := text(t, ctx, "#sso-button"); strings.TrimSpace(got) != zh.T("sso.button") {
		t.Errorf("the button reads %q", got)
	}
	shot(t, ctx, "sso-login")
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#sso-button")),
		chromedp.WaitVisible(chromedp.CSS("header.topbar")),
		chromedp.WaitVisible(chromedp.CSS("main h1")),
	)
	if err != nil {
		t.Fatalf("through the issuer: %v", err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
	if err != nil || loc != "/fleet" {
		t.Errorf("landed on %q (%v), want /fleet", loc, err)
	}
	if h1 := text(t, ctx, "main h1"); h1 != zh.T("fleet.title") {
		t.Errorf("the engineer's page heading = %q, want %q", h1, zh.T("fleet.title"))
	}
	if bar := text(t, ctx, "header.topbar"); !strings.Contains(bar, "周明") {
		t.Errorf("the top bar does not name the new user: %q", bar)
	}
	shot(t, ctx, "sso-fleet")
	u, err := store.GetUserByEmail(context.Background(), "zhou.ming@idc.test")
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != models.RoleEngineer {
		t.Errorf("role %s, want engineer (the higher of the two groups)", u.Role)
	}
	// An admin's page stays closed to the engineer.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/admin/users"), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
		t.Fatal(err)
	}
	if h1 := text(t, ctx, "main h1"); h1 != zh.T("error.forbidden") {
		t.Errorf("/admin/users as the engineer: %q, want %q", h1, zh.T("error.forbidden"))
	}
}
