package handlers_test

import (
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// The customer's cabinets on a phone and on a desktop: the cabinet's
// draw against the contracted power as a bar, per feed, temperature and
// humidity, the crossing going on; its page with the draw, temperature
// and humidity charts, the contracted power and the thresholds drawn,
// every range; nothing wider than the screen. Screenshots go to
// PORTAL_SCREENSHOT_DIR when it is set.
func TestBrowserCustomerCabinets(t *testing.T) {
	db := dbtest.Databases(t)[0]
	clock := dbtest.NewClock()
	clock.Advance(time.Now().UTC().Truncate(time.Minute).Sub(clock.Now()))
	store := dbtest.Open(t, db, models.WithClock(clock.Now))
	fx := dbtest.Seed(t, store)
	cs := seedCabinets(t, store, trafficDB(t, db), fx, clock.Now())
	app := handlers.New(handlers.Deps{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Secret: []byte("browser-test-secret-browser-test-secret"), Sessions: models.DefaultSessionPolicy, SignIn: models.DefaultSignInLimits})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	base := "http://" + ln.Addr().String()

	for _, size := range []struct {
		name  string
		phone bool
	}{{"phone", true}, {"desktop", false}} {
		t.Run(size.name, func(t *testing.T) {
			ctx := newBrowserTimeout(t, 2*time.Minute)
			if size.phone {
				if err := chromedp.Do(ctx, chromedp.EmulateViewport(phoneWidth, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2))); err != nil {
					t.Fatal(err)
				}
			}
			signInInBrowser(t, ctx, base, fx.CustA.Email)
			if err := chromedp.Do(ctx, chromedp.Navigate(base+"/cabinets"), chromedp.WaitVisible(chromedp.CSS(".cabinetcard"))); err != nil {
				t.Fatal(err)
			}
			fits := func(where string) {
				t.Helper()
				over, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`))
				if err != nil || over > 0 {
					t.Errorf("%s: %d px wider than the screen (%v)", where, over, err)
				}
			}
			cards, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('.cabinetcard')].map(c => c.innerText)`))
			if err != nil {
				t.Fatal(err)
			}
			if len(cards) != 1 || !strings.Contains(cards[0], "A-07") || !strings.Contains(cards[0], "4.4 kW") ||
				!strings.Contains(cards[0], "73%") || !strings.Contains(cards[0], "28.5 °C") || strings.Contains(cards[0], "B-01") {
				t.Fatalf("the customer's cabinets: %q", cards)
			}
			bar, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector('meter.usebar').value`))
			if err != nil || bar != 73 {
				t.Errorf("the bar is at %v (%v), want 73", bar, err)
			}
			fits("/cabinets")
			shot(t, ctx, "cabinets-list-"+size.name)

			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`.cabinetcard h2 a`)), chromedp.WaitVisible(chromedp.CSS("figure.chart.facility"))); err != nil {
				t.Fatal(err)
			}
			got, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[
				document.querySelectorAll('figure.chart.facility').length,
				document.querySelectorAll('figure.chart.facility polyline.f-line').length,
				document.querySelectorAll('line.f-contract').length,
				document.querySelectorAll('line.f-high').length + document.querySelectorAll('line.f-low').length]`))
			if err != nil {
				t.Fatal(err)
			}
			if got[0] != 3 || got[1] < 3 || got[2] != 1 || got[3] != 4 {
				t.Errorf("charts %d, lines %d, contracted power %d, thresholds %d; want 3 charts, a line each, the contract, 4 thresholds", got[0], got[1], got[2], got[3])
			}
			// The chart's labels are readable on a phone: at least 11 px.
			small, err := chromedp.Run(ctx, chromedp.Evaluate[int](`[...document.querySelectorAll('figure.chart.facility text')].filter(e => e.getClientRects().length && e.getBoundingClientRect().height > 0 && parseFloat(getComputedStyle(e).fontSize) * e.getScreenCTM().a < 11).length`))
			if err != nil || small > 0 {
				t.Errorf("%d chart labels under 11 px (%v)", small, err)
			}
			fits("the cabinet's page")
			shot(t, ctx, "cabinets-chart-"+size.name)
			for _, rng := range []string{"week", "month", "year"} {
				if err := chromedp.Do(ctx, chromedp.Navigate(base+"/cabinets/"+cs.keyA+"?range="+rng), chromedp.WaitVisible(chromedp.CSS("figure.chart.facility"))); err != nil {
					t.Fatal(err)
				}
				lines, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('figure.chart.facility polyline.f-line').length`))
				if err != nil || lines < 3 {
					t.Errorf("range %s: %d lines (%v)", rng, lines, err)
				}
				fits("range " + rng)
			}
			shot(t, ctx, "cabinets-year-"+size.name)
			csv, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch('/cabinets/`+cs.keyA+`/readings.csv').then(async r => r.status + '\n' + await r.text())`, chromedp.EvalAwaitPromise))
			if err != nil || !strings.HasPrefix(csv, "200\nat,meter,quantity,feed,value,unit") || !strings.Contains(csv, "A 路 feed A,power,A,") {
				t.Errorf("the readings download: %q (%v)", clip(csv), err)
			}
			status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch('/cabinets/`+cs.keyB+`').then(r => r.status)`, chromedp.EvalAwaitPromise))
			if err != nil || status != 404 {
				t.Errorf("another organization's cabinet: %d (%v), want 404", status, err)
			}
		})
	}
	// The engineer's PDU page with its meters, on a desktop, for review.
	eng := newBrowserTimeout(t, time.Minute)
	signInInBrowser(t, eng, base, fx.Engineer.Email)
	if err := chromedp.Do(eng, chromedp.Navigate(base+"/network/"+ids(cs.pdu.ID)), chromedp.WaitVisible(chromedp.CSS("#meters"))); err != nil {
		t.Fatal(err)
	}
	shot(t, eng, "cabinets-pdu-desktop")
	if err := chromedp.Do(eng, chromedp.Navigate(base+"/power"), chromedp.WaitVisible(chromedp.CSS("#proposals"))); err != nil {
		t.Fatal(err)
	}
	shot(t, eng, "cabinets-proposals-desktop")
}
