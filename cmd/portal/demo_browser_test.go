package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// demoBrowser starts headless Chromium, or skips without one (fails under
// CI=true).
func demoBrowser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("PORTAL_TEST_CHROMIUM")
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path != "" {
			break
		}
		path, _ = exec.LookPath(name)
	}
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but no chromium on PATH: the browser test must run in CI")
		}
		t.Skip("no chromium on PATH")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1366, 900),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelC := context.WithTimeout(ctx, 120*time.Second)
	t.Cleanup(func() { cancelC(); cancelB(); cancelA() })
	return ctx
}

// The demo's pages show the seeded past on first start: the 90-day bar of
// every device has no empty day, and web-01's 30-day and 1-year charts
// have their points and its outages. PORTAL_SCREENSHOT_DIR keeps
// screenshots of the home, uptime and device pages at 1366 and 390 px.
func TestBrowserDemoShowsItsHistory(t *testing.T) {
	ctx := demoBrowser(t)
	store := dbtest.Open(t, dbtest.Databases(t)[0])
	if err := loadDemo(context.Background(), store, "127.0.0.1:18394", demoBlobs(t), io.Discard); err != nil {
		t.Fatal(err)
	}
	app := handlers.New(handlers.Deps{Store: store, Logger: slog.New(slog.DiscardHandler),
		Secret: []byte("demo-browser-secret-demo-browser-secret"), Sessions: models.DefaultSessionPolicy,
		SignIn: models.DefaultSignInLimits, Blobs: demoBlobs(t)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	base := "http://" + ln.Addr().String()

	aurora, err := store.GetOrgBySlug(context.Background(), "aurora")
	if err != nil {
		t.Fatal(err)
	}
	ds, err := store.ListDevices(context.Background(), models.AllOrgs(), aurora.ID)
	if err != nil {
		t.Fatal(err)
	}
	var web int64
	for _, d := range ds {
		if d.Name == "web-01" {
			web = d.ID
		}
	}

	dir := os.Getenv("PORTAL_SCREENSHOT_DIR")
	shoot := func(name string) {
		t.Helper()
		if dir == "" {
			return
		}
		for _, w := range []struct {
			width, height int64
			suffix        string
		}{{1366, 900, "desktop"}, {390, 844, "phone"}} {
			if _, err := chromedp.Run(ctx, chromedp.EmulateViewport(w.width, w.height)); err != nil {
				t.Fatal(err)
			}
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("screenshot %s: %v", name, err)
			}
			if err := os.WriteFile(filepath.Join(dir, "demo-"+name+"-"+w.suffix+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := chromedp.Run(ctx, chromedp.EmulateViewport(1366, 900)); err != nil {
			t.Fatal(err)
		}
	}
	count := func(sel string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(sel)+`).length`))
		if err != nil {
			t.Fatalf("count %s: %v", sel, err)
		}
		return n
	}

	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#f-email")),
		chromedp.SendKeys(chromedp.CSS("#f-email"), "ops@aurora.example"),
		chromedp.SendKeys(chromedp.CSS("#f-password"), "demo-Aurora-2026"),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("header.topbar")),
	)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	shoot("home")

	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/uptime"), chromedp.WaitVisible(chromedp.CSS("table.uptimelist"))); err != nil {
		t.Fatal(err)
	}
	if rows := count("table.uptimelist tbody tr"); rows != 2 {
		t.Errorf("uptime list: %d rows, want the two devices", rows)
	}
	shoot("uptime")

	// The bar of days is on the device's page.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/devices/"+strconv.FormatInt(web, 10)), chromedp.WaitVisible(chromedp.CSS(".daybar"))); err != nil {
		t.Fatal(err)
	}
	// A run of alike days is one rect of width 10·days − 2 (views.dayBar).
	days, err := chromedp.Run(ctx, chromedp.Evaluate[int](`[...document.querySelectorAll(".daybar rect")].reduce((n, r) => n + (+r.getAttribute("width") + 2) / 10, 0)`))
	if err != nil {
		t.Fatal(err)
	}
	if empty := count(".daybar rect.a-none"); days != models.UptimeDays || empty != 0 {
		t.Errorf("web-01's bar: %d days, %d without data; want %d days, all with data", days, empty, models.UptimeDays)
	}

	for _, rng := range []struct {
		name      string
		minPoints int
	}{{"24h", 90}, {"30d", 30 * 24 * 9 / 10}, {"1y", 90}} {
		url := base + "/devices/" + strconv.FormatInt(web, 10) + "?range=" + rng.name
		if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
			t.Fatal(err)
		}
		if hits, nodata := count("svg rect.hit"), count("svg text.nodata"); hits < rng.minPoints || nodata != 0 {
			t.Errorf("web-01 chart over %s: %d points, %d 'no data'; want at least %d points", rng.name, hits, nodata, rng.minPoints)
		}
		shoot("web-01-" + rng.name)
	}
}
