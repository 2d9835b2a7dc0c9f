package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"github.com/colo-portal/portal/views/pdf/pdftest"
)

// walkedStanding is a standing access entry of organization A valid from
// today for 60 days, needing an escort, its person inside now (so that
// reception's today page shows them), for the page walk.
func walkedStanding(t *testing.T, store *models.Store, fx *dbtest.Fixture) string {
	t.Helper()
	ctx := context.Background()
	cabs, err := store.OrgCabinets(ctx, models.AllOrgs(), fx.OrgA.ID)
	if err != nil {
		t.Fatal(err)
	}
	today := store.Now().In(store.Zone())
	a, err := store.CreateStanding(ctx, models.UserActor(fx.CustA, "192.0.2.1"), models.AllOrgs(), fx.OrgA.ID, models.StandingInput{
		Name: "欧阳明轩 Ouyang Mingxuan", Company: "阿尔法交易运维外包服务有限公司 Alpha Trading Operations Outsourcing", IDType: models.IDResident,
		IDNumber: visitorResident, Phone: "13812345678", Cabinets: cabs, ValidFrom: today.Format("2006-01-02"),
		ValidTo: today.AddDate(0, 0, 60).Format("2006-01-02"), EscortRequired: true, Note: "夜间巡检 Night rounds", Locale: "zh-CN"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.StandingCheckIn(ctx, models.UserActor(fx.Reception, "10.0.0.3"), models.AllOrgs(), a.Ref, "S-12", fx.Engineer.ID); err != nil {
		t.Fatal(err)
	}
	return a.Ref
}

// A standing-list person checks in through the scanner field, with no
// visit request: the organization's administrator downloads the pass,
// its QR code is typed into the field followed by Enter, as a handheld
// scanner does; the person appears on "inside now" under their
// organization, and reception checks them out from there.
func TestBrowserStandingPersonChecksInThroughTheScanner(t *testing.T) {
	db := dbtest.Databases(t)[0]
	store := dbtest.Open(t, db)
	fx := dbtest.Seed(t, store)
	ctx := context.Background()
	sys := models.SystemActor("test")
	if err := store.SetOrgAdmin(ctx, sys, fx.CustA.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: fx.OrgA.ID, Name: "db-01", Address: "127.0.0.5", Cabinet: "A03"}); err != nil {
		t.Fatal(err)
	}
	app := handlers.New(handlers.Deps{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Secret: []byte("browser-test-secret-browser-test-secret"), Sessions: models.DefaultSessionPolicy, SignIn: models.DefaultSignInLimits})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	base := "http://" + ln.Addr().String()

	today := store.Now().In(store.Zone())
	a, err := store.CreateStanding(ctx, models.UserActor(fx.CustA, "10.0.0.1"), models.ScopeOf(fx.CustA), fx.OrgA.ID, models.StandingInput{
		Name: "王芳", Company: "阿尔法科技", IDType: models.IDResident, IDNumber: visitorResident, Cabinets: []string{"A03"},
		ValidFrom: today.Format("2006-01-02"), ValidTo: today.AddDate(0, 0, 30).Format("2006-01-02"), Locale: "zh-CN"})
	if err != nil {
		t.Fatal(err)
	}
	cust := signIn(t, app, fx.CustA.Email, dbtest.Password)
	r := cust.get("/access/" + a.Ref + "/pass.pdf")
	wantStatus(t, r, http.StatusOK)
	tokens := pdftest.QRTokens(t, []byte(r.Body))
	if len(tokens) != 1 || !models.IsStandingToken(tokens[0]) {
		t.Fatalf("QR codes on the pass: %v, want one standing token", tokens)
	}

	bctx := newBrowser(t)
	signInInBrowser(t, bctx, base, fx.Reception.Email)
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/reception/today"), chromedp.WaitVisible(chromedp.CSS("#f-token"))); err != nil {
		t.Fatal(err)
	}
	wantIn(t, bctx, "#inside-h", "0")
	if err := chromedp.Do(bctx, chromedp.KeyEvent(tokens[0]+kb.Enter)); err != nil {
		t.Fatal(err)
	}
	waitForURL(t, bctx, "done=sin")
	wantIn(t, bctx, "#standing-done", "王芳", fx.OrgA.Name)
	wantIn(t, bctx, "#inside-h", "1")
	wantIn(t, bctx, "#inside-org-"+ids(fx.OrgA.ID), fx.OrgA.Name, "王芳", "110***********1233")
	shot(t, bctx, "standing-scanned")
	if in, err := store.StandingInside(ctx, models.AllOrgs()); err != nil || len(in) != 1 || in[0].Ref != a.Ref {
		t.Fatalf("inside now: %+v, %v", in, err)
	}

	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`#standing-`+a.Ref+` form[action$="/checkout"] button[type=submit]`))); err != nil {
		t.Fatal(err)
	}
	waitForURL(t, bctx, "done=sout")
	wantIn(t, bctx, "#standing-done", "王芳")
	wantAbsent(t, bctx, "#standing-"+a.Ref)
	if in, err := store.StandingInside(ctx, models.AllOrgs()); err != nil || len(in) != 0 {
		t.Fatalf("inside after check-out: %+v, %v", in, err)
	}
}
