package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net"
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

// startPortalRefreshing serves the real app like startPortalStore, with
// the on-call page refreshing itself every second.
func startPortalRefreshing(t *testing.T) (string, *dbtest.Fixture, *models.Store) {
	t.Helper()
	store := dbtest.Open(t, dbtest.Databases(t)[0])
	fx := dbtest.Seed(t, store)
	blobs, err := blobstore.New(filepath.Join(t.TempDir(), "documents"))
	if err != nil {
		t.Fatal(err)
	}
	app := handlers.New(handlers.Deps{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Secret: []byte("browser-test-secret-browser-test-secret"), Sessions: models.DefaultSessionPolicy,
		SignIn: models.DefaultSignInLimits, Blobs: blobs, OnCallRefresh: time.Second})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	return "http://" + ln.Addr().String(), fx, store
}

// wantIn fails unless the text of sel holds every one of want.
func wantIn(t *testing.T, ctx context.Context, sel string, want ...string) {
	t.Helper()
	got := text(t, ctx, sel)
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q; it reads %.400q", sel, w, got)
		}
	}
}

// wantAbsent fails when sel matches an element.
func wantAbsent(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+"`"+sel+"`"+`).length`))
	if err != nil || n != 0 {
		t.Errorf("%s: %d elements (%v), want none", sel, n, err)
	}
}

// shotsAtBothWidths takes the page at desktop and phone width.
func shotsAtBothWidths(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	for _, w := range []struct{ w, h int64 }{{1366, 900}, {390, 844}} {
		if _, err := chromedp.Run(ctx, chromedp.EmulateViewport(w.w, w.h)); err != nil {
			t.Fatal(err)
		}
		shot(t, ctx, name+"-"+map[int64]string{1366: "1366", 390: "390"}[w.w])
	}
	if _, err := chromedp.Run(ctx, chromedp.EmulateViewport(1366, 900)); err != nil {
		t.Fatal(err)
	}
}

func TestBrowserEachRoleHomeShowsItsWork(t *testing.T) {
	base, fx, store := startPortalRefreshing(t)
	h := seedHome(t, store, fx, time.Now())
	for _, role := range []struct {
		name  string
		user  *models.User
		check func(t *testing.T, ctx context.Context)
	}{
		{"customer", fx.CustA, func(t *testing.T, ctx context.Context) {
			wantIn(t, ctx, "#home-outages", "web-a", "db-b")
			wantIn(t, ctx, "#home-awaiting", h.sign.Number(), h.phoned.Number())
			wantIn(t, ctx, "#home-missed", "web-a")
			wantIn(t, ctx, "#home-availability", "web-a", "db-b")
			wantAbsent(t, ctx, "#home-clear")
			n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#home-outages .countdown[data-left]').length`))
			if err != nil || n != 1 {
				t.Errorf("running countdowns on the customer's home = %d (%v), want db-b's", n, err)
			}
		}},
		{"engineer", fx.Engineer, func(t *testing.T, ctx context.Context) {
			wantIn(t, ctx, "#home-outages", "web-a", "db-b", fx.OrgA.Name)
			wantIn(t, ctx, "#home-calls", "Sun Li")
			wantIn(t, ctx, "#home-check", h.scan.Number())
			wantIn(t, ctx, "#home-feedback", h.phoned.Number())
			wantAbsent(t, ctx, "#home-failed")
		}},
		{"reception", fx.Reception, func(t *testing.T, ctx context.Context) {
			wantIn(t, ctx, "#home-calls", "Sun Li")
			n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#home-calls form.callform').length`))
			if err != nil || n != 1 {
				t.Errorf("call forms on reception's home = %d (%v), want one for Sun Li's line (two outages' calls)", n, err)
			}
			wantAbsent(t, ctx, "#home-failed, #home-check, #mine-h")
		}},
		{"service", fx.Service, func(t *testing.T, ctx context.Context) {
			wantIn(t, ctx, "#home-calls", "Sun Li")
			wantIn(t, ctx, "#home-failed", "550 mailbox unavailable")
			wantAbsent(t, ctx, "#home-check")
		}},
		{"admin", fx.Admin, func(t *testing.T, ctx context.Context) {
			wantIn(t, ctx, "#home-outages", "web-a")
			wantIn(t, ctx, "#home-calls", "Sun Li")
			wantIn(t, ctx, "#home-check", h.scan.Number())
			wantIn(t, ctx, "#home-failed", "550 mailbox unavailable")
		}},
	} {
		t.Run(role.name, func(t *testing.T) {
			ctx := newBrowser(t)
			signInInBrowser(t, ctx, base, role.user.Email)
			role.check(t, ctx)
			shotsAtBothWidths(t, ctx, "home-"+role.name+"-zh")
			switchLanguage(t, ctx, "en")
			role.check(t, ctx)
			shotsAtBothWidths(t, ctx, "home-"+role.name+"-en")
		})
	}
	t.Run("staff organization page", func(t *testing.T) {
		ctx := newBrowser(t)
		signInInBrowser(t, ctx, base, fx.Service.Email)
		for _, org := range []*models.Organization{fx.OrgA, fx.OrgB} {
			if err := chromedp.Do(ctx, chromedp.Navigate(base+"/orgs/"+ids(org.ID)), chromedp.WaitVisible(chromedp.CSS("#org-contacts"))); err != nil {
				t.Fatal(err)
			}
			if org == fx.OrgA {
				wantIn(t, ctx, "#org-contacts", "Sun Li", "+86 138 0013 8000")
			} else {
				wantIn(t, ctx, "#org-contacts form button")
			}
			shotsAtBothWidths(t, ctx, "org-"+org.Slug+"-en")
		}
	})
}

func TestBrowserOnCallShowsANewOutageWithoutReload(t *testing.T) {
	base, fx, store := startPortalRefreshing(t)
	ctx := newBrowser(t)
	signInInBrowser(t, ctx, base, fx.Engineer.Email)
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/oncall"), chromedp.WaitVisible(chromedp.CSS("#outages"))); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text(t, ctx, "#outages"), "late-dev") {
		t.Fatal("the outage is on the page before it happened")
	}
	// A mark on this page: a reload would lose it.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.portalMark = true`)); err != nil {
		t.Fatal(err)
	}
	dctx := context.Background()
	d, err := store.CreateDevice(dctx, models.SystemActor("test"), models.DeviceInput{OrgID: fx.OrgB.ID, Name: "late-dev", Address: "127.0.0.3"})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := store.ListChecks(dctx, models.AllOrgs(), fx.OrgB.ID, d.ID)
	if err != nil || len(cs) != 1 {
		t.Fatalf("checks = %+v, %v", cs, err)
	}
	now := time.Now()
	if _, err := store.RecordResults(dctx, []models.ProbeResult{
		{CheckID: cs[0].ID, At: now.Add(-5 * time.Minute), Reason: models.ReasonTimeout},
		{CheckID: cs[0].ID, At: now, Reason: models.ReasonTimeout},
	}); err != nil {
		t.Fatal(err)
	}
	// The page asks every second; wait (not a timing assertion) until the
	// outage shows, with its countdown ticking.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(text(t, ctx, "#outages"), "late-dev") {
		if time.Now().After(deadline) {
			t.Fatalf("the new outage did not appear without a reload; #outages reads %.300q", text(t, ctx, "#outages"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	mark, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.portalMark === true`))
	if err != nil || !mark {
		t.Fatalf("the page was reloaded (mark %v, %v), want its live part replaced", mark, err)
	}
	first := text(t, ctx, "#outages .countdown")
	for text(t, ctx, "#outages .countdown") == first {
		if time.Now().After(deadline) {
			t.Fatalf("the new outage's countdown does not tick: %q", first)
		}
		time.Sleep(200 * time.Millisecond)
	}
	shot(t, ctx, "oncall-refreshed")
}

// In a storm the on-call page is one call line for the contact, folded,
// that fits a phone; a line opened to read its devices stays open when
// the page refreshes its live part.
func TestBrowserOnCallStormLineFoldsAndStaysOpenAcrossARefresh(t *testing.T) {
	base, fx, store := startPortalRefreshing(t)
	stormContact(t, store, fx.OrgA.ID, "Zhao Min", "138 0013 8000")
	stormOrg(t, store, fx.OrgA, "a", 120, time.Now().Add(-6*time.Minute))
	ctx := newBrowser(t)
	signInInBrowser(t, ctx, base, fx.Reception.Email)
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/oncall"), chromedp.WaitVisible(chromedp.CSS("#calls li.callgroup"))); err != nil {
		t.Fatal(err)
	}
	if n := countNodes(t, ctx, "#calls li.callgroup"); n != 1 {
		t.Fatalf("call lines = %d, want one for Zhao Min", n)
	}
	wantIn(t, ctx, "#calls li.callgroup", "Zhao Min", fx.OrgA.Name, "a-0000")
	shotsAtBothWidths(t, ctx, "oncall-storm-zh")
	sel := "#calls details.groupdevices"
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const d = document.querySelector("`+sel+`"); d.open = true; d.dataset.before = "1"; return true })()`)); err != nil {
		t.Fatal(err)
	}
	// The page asks every second and swaps its live part in when it
	// changed (the countdowns' seconds change it); wait for a swap.
	deadline := time.Now().Add(30 * time.Second)
	for {
		swapped, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("`+sel+`").dataset.before !== "1"`))
		if err != nil {
			t.Fatal(err)
		}
		if swapped {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the live part was not refreshed")
		}
		time.Sleep(200 * time.Millisecond)
	}
	open, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("`+sel+`").open`))
	if err != nil || !open {
		t.Fatalf("the opened device list is folded again after a refresh (open %v, %v)", open, err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelectorAll("details.groupdevices").forEach(d => d.open = true) || true`)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil || wide {
		t.Errorf("the open lists are wider than a 390 px phone (%v)", err)
	}
	shot(t, ctx, "oncall-storm-open-390")
	if _, err := chromedp.Run(ctx, chromedp.EmulateViewport(1366, 900)); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "oncall-storm-open-1366")
	switchLanguage(t, ctx, "en")
	wantIn(t, ctx, "#calls li.callgroup", "Zhao Min", "device(s) down since")
	shotsAtBothWidths(t, ctx, "oncall-storm-en")
}
