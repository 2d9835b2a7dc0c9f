package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/blobstore"
	"github.com/colo-portal/portal/models/dbtest"
)

// browserPath finds Debian's chromium. Under CI=true a missing browser is a
// failure, elsewhere the test is skipped.
func browserPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PORTAL_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but no chromium on PATH: the browser test must run in CI")
	}
	t.Skip("no chromium on PATH; install Debian's chromium to run the browser test")
	return ""
}

// startPortal serves the real app on a loopback port.
func startPortal(t *testing.T) (string, *dbtest.Fixture) {
	t.Helper()
	base, fx, _ := startPortalStore(t)
	return base, fx
}

// testProvider is the data center the browser tests' documents name.
var testProvider = models.Provider{Name: "华北云数据 North China Cloud IDC", Address: "北京市朝阳区酒仙桥路 10 号\n100015",
	Phone: "+861055550100", Fax: "+861055550199", Email: "forms@idc.example"}

// startPortalStore is startPortal that also returns the store, for a test
// that sets up rows before the browser walks (opts adjust the store: a
// clock); uploads go to a temporary folder.
func startPortalStore(t *testing.T, opts ...models.StoreOption) (string, *dbtest.Fixture, *models.Store) {
	t.Helper()
	db := dbtest.Databases(t)[0]
	store := dbtest.Open(t, db, opts...)
	fx := dbtest.Seed(t, store)
	blobs, err := blobstore.New(filepath.Join(t.TempDir(), "documents"))
	if err != nil {
		t.Fatal(err)
	}
	app := handlers.New(handlers.Deps{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Secret: []byte("browser-test-secret-browser-test-secret"),
		Sessions: models.DefaultSessionPolicy, SignIn: models.DefaultSignInLimits, Blobs: blobs, Provider: testProvider})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	return "http://" + ln.Addr().String(), fx, store
}

// newBrowser starts headless chromium with flags that keep it off the
// network, in Chinese first so the language switch has something to do.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	return newBrowserTimeout(t, 90*time.Second)
}

// newBrowserTimeout is newBrowser for a walk longer than one story.
func newBrowserTimeout(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browserPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("accept-lang", "zh-CN"),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelC := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelC(); cancelB(); cancelA() })
	return ctx
}

// shot saves a screenshot when PORTAL_SCREENSHOT_DIR is set, for review.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("PORTAL_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func signInInBrowser(t *testing.T, ctx context.Context, base, email string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#f-email")),
		chromedp.SendKeys(chromedp.CSS("#f-email"), email),
		chromedp.SendKeys(chromedp.CSS("#f-password"), dbtest.Password),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		// Only signed-in pages have the top bar: this waits for the new page,
		// not the sign-in form still on screen.
		chromedp.WaitVisible(chromedp.CSS("header.topbar")),
		chromedp.WaitVisible(chromedp.CSS("main h1")),
	)
	if err != nil {
		t.Fatalf("sign in as %s: %v", email, err)
	}
}

// switchLanguage picks a language in the header's switcher the way a person
// does: a press of the button named in that language (behind the menu
// button on a phone).
func switchLanguage(t *testing.T, ctx context.Context, lang string) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function(){var b=document.querySelector('.menubtn');if(b&&b.offsetParent!==null&&b.getAttribute('aria-expanded')!=='true'){b.click()}return true})()`))
	if err == nil {
		err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`form.lang button[value="`+lang+`"]`)))
	}
	if err != nil {
		t.Fatalf("switch language: %v", err)
	}
	// The form submits and the page reloads; ask until the new page answers.
	deadline := time.Now().Add(15 * time.Second)
	for {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState === 'complete' ? document.documentElement.lang : ''`))
		if err == nil && got == lang {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("page did not turn %s (lang %q, err %v)", lang, got, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func TestBrowserCustomerSignsInSeesHomeSwitchesLanguageAndSignsOut(t *testing.T) {
	base, fx := startPortal(t)
	ctx := newBrowser(t)

	signInInBrowser(t, ctx, base, fx.CustA.Email)
	if h1 := text(t, ctx, "main h1"); h1 != fx.OrgA.Name {
		t.Fatalf("home page heading = %q, want the organization name %q", h1, fx.OrgA.Name)
	}
	body := text(t, ctx, "main")
	for _, want := range []string{fx.Service.Name, fx.Service.Email, fx.Engineer.Name, fx.Engineer.Email, "客户服务代表", "技术支持工程师"} {
		if !strings.Contains(body, want) {
			t.Errorf("home page lacks %q", want)
		}
	}
	if strings.Contains(body, fx.OrgB.Name) {
		t.Errorf("home page of %s shows the other organization's name", fx.OrgA.Name)
	}
	shot(t, ctx, "customer-home-zh")

	switchLanguage(t, ctx, "en")
	body = text(t, ctx, "main")
	if !strings.Contains(body, "Service representative") || strings.Contains(body, "客户服务代表") {
		t.Fatalf("after switching to English the home page reads: %.300q", body)
	}
	shot(t, ctx, "customer-home-en")

	// The choice is remembered: a fresh load stays English.
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
		t.Fatal(err)
	}
	if lang, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`)); lang != "en" {
		t.Fatalf("after reload the page language is %q, want en", lang)
	}

	err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#f-email")),
	)
	if err != nil {
		t.Fatalf("sign out: %v", err)
	}
	if status := text(t, ctx, "[role=status]"); !strings.Contains(status, "signed out") {
		t.Errorf("after sign-out the notice reads %q", status)
	}
	// The session is gone on the server: the home page asks to sign in again.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#f-email"))); err != nil {
		t.Fatal(err)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if !strings.Contains(loc, "/login") {
		t.Fatalf("after sign-out / went to %s, want the sign-in page", loc)
	}
}

func TestBrowserAdminSeesTheUserListInBothLanguages(t *testing.T) {
	base, fx := startPortal(t)
	ctx := newBrowser(t)

	signInInBrowser(t, ctx, base, fx.Admin.Email)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`nav a[href="/admin/users"]`)), chromedp.WaitVisible(chromedp.CSS("table"))); err != nil {
		t.Fatalf("open the user list: %v", err)
	}
	rows := text(t, ctx, "table tbody")
	for _, u := range []*models.User{fx.CustA, fx.CustB, fx.Engineer} {
		if !strings.Contains(rows, u.Email) {
			t.Errorf("user list lacks %s", u.Email)
		}
	}
	if !strings.Contains(text(t, ctx, "main h1"), "用户") {
		t.Errorf("user list heading is not Chinese")
	}
	shot(t, ctx, "admin-users-zh")
	switchLanguage(t, ctx, "en")
	if h1 := text(t, ctx, "main h1"); h1 != "Users" {
		t.Errorf("English heading = %q", h1)
	}
	shot(t, ctx, "admin-users-en")
}
