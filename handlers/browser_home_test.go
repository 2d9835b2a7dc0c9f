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
