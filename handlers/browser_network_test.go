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
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// The discovery page, which the page walk cannot reach (it answers a
// form), fits a phone and passes axe-core; ticking an interface there
// and sending the form monitors it, without JavaScript doing anything
// but what the browser does.
func TestBrowserNetworkDiscoveryOnAPhone(t *testing.T) {
	ctx0 := context.Background()
	store := dbtest.Open(t, dbtest.Databases(t)[0])
	fx := dbtest.Seed(t, store)
	sw, err := store.CreateSwitch(ctx0, models.UserActor(fx.Engineer, "10.0.0.1"), models.SwitchInput{Name: "core-sw-1.hall-a",
		Address: "127.0.0.1:1161", Version: models.SNMPv2c, Community: netCommunity, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	fake := newFakeDiscovery()
	fake.ifs = append(fake.ifs, models.Interface{IfIndex: 10148, Name: "GigabitEthernet1/0/48",
		Descr: "GigabitEthernet1/0/48 uplink to the core of hall A", Alias: "阿尔法交易 Alpha Trading web-01 primary uplink", SpeedBps: 1_000_000_000, HC: true, AdminUp: true, OperUp: true})
	app := handlers.New(handlers.Deps{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Secret: []byte("browser-test-secret-browser-test-secret"), Sessions: models.DefaultSessionPolicy,
		SignIn: models.DefaultSignInLimits, DiscoverInterfaces: fake.discover})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	base := "http://" + ln.Addr().String()

	ctx := newBrowserTimeout(t, 3*time.Minute)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(phoneWidth, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2))); err != nil {
		t.Fatal(err)
	}
	signInInBrowser(t, ctx, base, fx.Engineer.Email)
	page := base + "/network/" + ids(sw.ID)
	if err := chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#discover")),
		chromedp.Click(chromedp.CSS("#discover")), chromedp.WaitVisible(chromedp.CSS("#monitor-ports"))); err != nil {
		t.Fatal(err)
	}
	type measure struct {
		SW    int      `json:"sw"`
		VW    int      `json:"vw"`
		Wide  []string `json:"Wide"`
		Tiny  []string `json:"Tiny"`
		Small []string `json:"Small"`
	}
	m, err := chromedp.Run(ctx, chromedp.Evaluate[measure](overflowJS))
	if err != nil {
		t.Fatal(err)
	}
	if m.VW != phoneWidth || m.SW > m.VW || len(m.Tiny) > 0 {
		t.Errorf("the discovery page on a %d px phone: %d px wide (%s), small controls %v", m.VW, m.SW, strings.Join(m.Wide, ", "), m.Tiny)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axeSource)); err != nil {
		t.Fatal(err)
	}
	vs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](axeJS, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		t.Errorf("the discovery page: axe-core: %s", v)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`input[name=if][value="10148"]`)),
		chromedp.Click(chromedp.CSS("#monitor-ports")), chromedp.WaitVisible(chromedp.CSS("#switch-ports-h"))); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, "main table tbody"); !strings.Contains(got, "GigabitEthernet1/0/48") {
		t.Fatalf("after ticking the port the device's page lists: %q", got)
	}
	ports, err := store.ListSwitchPorts(ctx0, models.AllOrgs(), sw.ID)
	if err != nil || len(ports) != 1 || ports[0].IfIndex != 10148 {
		t.Fatalf("monitored: %+v, %v", ports, err)
	}
}
