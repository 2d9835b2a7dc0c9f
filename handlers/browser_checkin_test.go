package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"github.com/colo-portal/portal/views/pdf/pdftest"
)

// waitForURL waits until the page's address holds part and the page has
// loaded.
func waitForURL(t *testing.T, ctx context.Context, part string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState === 'complete' ? location.href : ''`))
		if err == nil && strings.Contains(got, part) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page did not reach %q (at %q, %v)", part, got, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The end of a visit at the desk: the customer's pass is downloaded, its
// QR code read from the PDF and typed into the scanner field followed by
// Enter, as a handheld scanner does; the page comes back naming the
// visitor with the field focused for the next scan; reception notes the
// badge, checks the visitor out without it, and marks it returned later.
func TestBrowserReceptionScansAPassAndChecksOut(t *testing.T) {
	db := dbtest.Databases(t)[0]
	store := dbtest.Open(t, db)
	fx := dbtest.Seed(t, store)
	app := handlers.New(handlers.Deps{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Secret: []byte("browser-test-secret-browser-test-secret"), Sessions: models.DefaultSessionPolicy, SignIn: models.DefaultSignInLimits})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	base := "http://" + ln.Addr().String()

	// An emergency visit starting in a few minutes, approved.
	e := &env{db: db, store: store, fx: fx, app: app}
	ctx := context.Background()
	sites, err := store.ListSites(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The visit is booked at the real time of day, so the site is open all
	// day: with the seed's 08:00–22:00 the test failed at night.
	if _, err := store.SaveSite(ctx, models.UserActor(fx.Admin, "10.0.0.1"), sites[0].ID, models.SiteInput{
		Name: sites[0].Name, Address: sites[0].Address, AllDay: true, MaxInside: "20"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	v, err := store.CreateVisit(ctx, models.UserActor(fx.CustA, "10.0.0.1"), fx.OrgA.ID, models.VisitInput{SiteID: sites[0].ID, Activity: "tour",
		Emergency: true, Reason: "参观机房", PlannedFrom: now.Add(5 * time.Minute), PlannedTo: now.Add(2 * time.Hour),
		Visitors: []models.VisitorInput{{Name: "张伟", IDType: models.IDResident, IDNumber: visitorResident, Phone: "13812345678", Locale: "zh-CN"}}, Locale: "zh-CN"})
	if err != nil {
		t.Fatal(err)
	}
	approveByUpdate(t, e, v)
	cust := signIn(t, app, fx.CustA.Email, dbtest.Password)
	r := cust.get("/visits/" + v.Ref + "/pass.pdf")
	wantStatus(t, r, http.StatusOK)
	tokens := pdftest.QRTokens(t, []byte(r.Body))
	if len(tokens) != 1 {
		t.Fatalf("QR codes on the pass: %d, want 1", len(tokens))
	}
	b, err := store.TodayBoard(ctx, models.AllOrgs(), store.Now())
	if err != nil || len(b.Expected) != 1 {
		t.Fatalf("expected today: %+v, %v", b, err)
	}
	id := ids(b.Expected[0].VisitorID)

	bctx := newBrowser(t)
	signInInBrowser(t, bctx, base, fx.Reception.Email)
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/reception/today"), chromedp.WaitVisible(chromedp.CSS("#f-token"))); err != nil {
		t.Fatal(err)
	}
	focused := func() string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ''`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if f := focused(); f != "f-token" {
		t.Fatalf("the page opens with %q focused, want the scanner field", f)
	}
	// The scanner types into the focused field and presses Enter.
	if err := chromedp.Do(bctx, chromedp.KeyEvent(tokens[0]+kb.Enter)); err != nil {
		t.Fatal(err)
	}
	waitForURL(t, bctx, "done=in")
	wantIn(t, bctx, ".alert.ok", "张伟", v.Number())
	wantIn(t, bctx, "#visitor-"+id, "张伟", visitorMasked)
	if f := focused(); f != "f-token" {
		t.Fatalf("after the scan %q is focused, want the scanner field", f)
	}
	shot(t, bctx, "checkin-scanned")

	// The badge handed out, then out without it.
	if err := chromedp.Do(bctx, chromedp.SendKeys(chromedp.CSS("#hand-"+id), "B-9"+kb.Enter)); err != nil {
		t.Fatal(err)
	}
	waitForURL(t, bctx, "done=handed")
	wantIn(t, bctx, ".alert.ok", "B-9", "张伟")
	if err := chromedp.Do(bctx,
		chromedp.Click(chromedp.CSS(`#visitor-`+id+` form[action$="/checkout"] input[name=badge_returned]`)),
		chromedp.Click(chromedp.CSS(`#visitor-`+id+` form[action$="/checkout"] button[type=submit]`))); err != nil {
		t.Fatal(err)
	}
	waitForURL(t, bctx, "done=out")
	wantIn(t, bctx, ".alert.ok", "张伟", "B-9")
	wantIn(t, bctx, "#visitor-"+id, "B-9")
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`#visitor-`+id+` form[action$="/badge"] button[type=submit]`))); err != nil {
		t.Fatal(err)
	}
	waitForURL(t, bctx, "done=badge")
	wantAbsent(t, bctx, "#visitor-"+id)
	b, err = store.TodayBoard(ctx, models.AllOrgs(), store.Now())
	if err != nil || len(b.Inside)+len(b.Badges)+len(b.Expected) != 0 {
		t.Fatalf("board after the visit: %+v, %v", b, err)
	}
}
