package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/blobstore"
	"github.com/colo-portal/portal/models/dbtest"
)

// An engineer attributes part of an outage to an operation the way a
// person does: from the operation page to the confirmation, which shows
// the split, then confirms; the customer then reads on the outage page
// which minutes count. Desktop and a 390 px phone.
func TestBrowserEngineerAttributesPartOfAnOutageToAnOperation(t *testing.T) {
	ctx := context.Background()
	db := dbtest.Databases(t)[0]
	// The story happened in the last two hours: sessions the browser keeps
	// must not look expired to it.
	clock := dbtest.NewClock()
	t0 := time.Now().UTC().Truncate(time.Minute).Add(-2 * time.Hour)
	clock.Advance(t0.Sub(clock.Now()))
	store := dbtest.Open(t, db, models.WithClock(clock.Now))
	fx := dbtest.Seed(t, store)
	sys := models.SystemActor("test")
	dev, err := store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: fx.OrgA.ID, Name: "web-01", Address: "127.0.0.20", Cabinet: "A-07"})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := store.CreateContact(ctx, sys, fx.OrgA.ID, models.ContactInput{Name: "孙丽 Sun Li", Email: "sun.li@alpha.test",
		Channels: []models.Channel{models.ChannelEmail}, MayAuthorize: true, Passphrase: passphrase})
	if err != nil {
		t.Fatal(err)
	}
	cust, eng := models.UserActor(fx.CustA, "192.0.2.1"), models.UserActor(fx.Engineer, "10.0.0.1")
	req, err := store.CreateRequest(ctx, cust, fx.OrgA.ID, models.RequestInput{Title: "更换硬盘 Replace disk", Work: "Swap the disk",
		Urgency: "urgent", DeviceIDs: []int64{dev.ID}, RequestedBy: &fx.CustA.ID})
	if err != nil {
		t.Fatal(err)
	}
	checks, err := store.ListChecks(ctx, models.AllOrgs(), fx.OrgA.ID, dev.ID)
	if err != nil || len(checks) == 0 {
		t.Fatalf("checks %v, %v", checks, err)
	}
	c := checks[0]
	clock.Advance(time.Minute)
	start := clock.Now()
	if _, err := store.RecordResults(ctx, []models.ProbeResult{{CheckID: c.ID, At: start, Reason: models.ReasonTimeout},
		{CheckID: c.ID, At: start.Add(5 * time.Minute), Reason: models.ReasonTimeout}}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(22 * time.Minute)
	if _, err := store.RecordPhoneAuthorization(ctx, eng, fx.OrgA.ID, req.ID, models.PhoneInput{ContactID: signer.ID, Passphrase: passphrase}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(3 * time.Minute)
	if err := store.SetOperationState(ctx, eng, fx.OrgA.ID, req.ID, models.StateInput{State: models.OpInProgress}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(30 * time.Minute)
	if err := store.SetOperationState(ctx, eng, fx.OrgA.ID, req.ID, models.StateInput{State: models.OpCompleted, WorkDone: "Disk swapped",
		Result: "success"}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(25 * time.Minute)
	if _, err := store.RecordResults(ctx, []models.ProbeResult{{CheckID: c.ID, At: clock.Now(), OK: true, RTTus: 200}}); err != nil {
		t.Fatal(err)
	}
	outs, err := store.ListOutages(ctx, models.AllOrgs(), fx.OrgA.ID, dev.ID, 1)
	if err != nil || len(outs) != 1 {
		t.Fatalf("outages %+v, %v", outs, err)
	}
	clock.Advance(time.Now().UTC().Sub(clock.Now())) // back to the present
	blobs, err := blobstore.New(filepath.Join(t.TempDir(), "documents"))
	if err != nil {
		t.Fatal(err)
	}
	app := handlers.New(handlers.Deps{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Secret: []byte("browser-test-secret-browser-test-secret"),
		Sessions: models.DefaultSessionPolicy, SignIn: models.DefaultSignInLimits, Blobs: blobs})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	base := "http://" + ln.Addr().String()
	opURL := "/operations/" + req.Ref
	outURL := "/outages/" + strconv.FormatInt(outs[0].ID, 10)
	bodyText := func(ctx context.Context) string {
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	phone := func(ctx context.Context, name string) {
		if _, err := chromedp.Run(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
			t.Fatal(err)
		}
		shot(t, ctx, name+"-390")
		wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > 390`))
		if err != nil || wide {
			t.Errorf("%s scrolls sideways at 390 px (%v)", name, err)
		}
		if _, err := chromedp.Run(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
			t.Fatal(err)
		}
	}

	b := newBrowser(t)
	signInInBrowser(t, b, base, fx.Engineer.Email)
	if err := chromedp.Do(b, chromedp.Navigate(base+opURL), chromedp.WaitVisible(chromedp.CSS("#ov-h"))); err != nil {
		t.Fatal(err)
	}
	shot(t, b, "operation-outages")
	clickAndLoad(t, b, `#ov-h ~ * a[href$="/classify"], section[aria-labelledby=ov-h] a[href$="/classify"]`)
	text := bodyText(b)
	for _, w := range []string{zh("operation.cause.before"), zh("operation.cause.after"), zh("outages.split.exempt", "30 分钟")} {
		if !strings.Contains(text, w) {
			t.Errorf("the confirmation does not say %q:\n%s", w, text)
		}
	}
	shot(t, b, "cause-confirm")
	phone(b, "cause-confirm")
	if err := chromedp.Do(b, chromedp.SendKeys(chromedp.CSS("#f-note"), "换盘需断电 power off for the swap")); err != nil {
		t.Fatal(err)
	}
	clickAndLoad(t, b, `form[action$="/classify"] button[type=submit]`)
	if loc, _ := chromedp.Run(b, chromedp.Location()); !strings.HasSuffix(loc, opURL+"#ov-h") {
		t.Errorf("after confirming at %s", loc)
	}
	if text := bodyText(b); !strings.Contains(text, zh("outages.split.exempt", "30 分钟")) {
		t.Errorf("the operation page does not show the exempt minutes:\n%s", text)
	}
	shot(t, b, "operation-after")
	phone(b, "operation-after")

	cb := newBrowser(t)
	signInInBrowser(t, cb, base, fx.CustA.Email)
	if err := chromedp.Do(cb, chromedp.Navigate(base+outURL), chromedp.WaitVisible(chromedp.CSS("#split-h"))); err != nil {
		t.Fatal(err)
	}
	text = bodyText(cb)
	for _, w := range []string{zh("outages.split.counted", "50 分钟"), zh("outages.split.exempt", "30 分钟"), "换盘需断电", req.Number()} {
		if !strings.Contains(text, w) {
			t.Errorf("the outage page does not say %q:\n%s", w, text)
		}
	}
	shot(t, cb, "outage-split")
	phone(cb, "outage-split")
}
