package handlers_test

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/colo-portal/portal/assets"
	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/blobstore"
	"github.com/colo-portal/portal/models/dbtest"
)

// axeSource is axe-core, vendored for the tests only (testdata/README.md):
// the test injects it into each page; the portal never serves it.
//
//go:embed testdata/axe.min.js
var axeSource string

// phoneWidth is the CSS width of the phone every page must fit.
const phoneWidth = 390

// walkedSite is a portal with a bit of everything, so that every page with
// an ID in its path has something to show.
type walkedSite struct {
	base string
	fx   *dbtest.Fixture
	// samples fills a path parameter: key "<segment before it>:<name>",
	// e.g. "devices:id" for /devices/:id/edit.
	samples map[string]string
}

// seedWalkedSite builds the portal the page walk visits: a device with two
// checks, a closed outage with notices and a call task, an operation
// request authorized by phone, carried out during that outage and
// completed, a contact and an open invitation.
func seedWalkedSite(t *testing.T) *walkedSite {
	t.Helper()
	ctx := context.Background()
	db := dbtest.Databases(t)[0]
	clock := dbtest.NewClock()
	t0 := time.Now().UTC().Truncate(time.Minute).Add(-3 * time.Hour)
	clock.Advance(t0.Sub(clock.Now()))
	store := dbtest.Open(t, db, models.WithClock(clock.Now))
	fx := dbtest.Seed(t, store)
	sys := models.SystemActor("test")
	cust, eng := models.UserActor(fx.CustA, "192.0.2.1"), models.UserActor(fx.Engineer, "10.0.0.1")

	contact, err := store.CreateContact(ctx, cust, fx.OrgA.ID, models.ContactInput{Name: "孙丽 Sun Li", Title: "运维主管 Operations lead",
		Mobile: "138 0013 8000", OfficePhone: "+86 10 6552 8899", Email: "sun.li.operations@alpha-trading.example",
		Channels: []models.Channel{models.ChannelMobile, models.ChannelEmail}, MayAuthorize: true, Passphrase: passphrase, Locale: "zh-CN"})
	if err != nil {
		t.Fatal(err)
	}
	// A personal access token, used from a long IPv6 address, so that the
	// token pages' lists have a row to fit.
	_, apiSecret, err := store.CreateAPIToken(ctx, cust, models.APITokenInput{Name: "Zabbix 监控 monitoring-production", Write: true, Days: 90})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.AuthenticateToken(ctx, apiSecret, "2001:db8:1234:5678:9abc:def0:1234:5678"); err != nil {
		t.Fatal(err)
	}
	devTags := "web production trading-frontend"
	dev, err := store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: fx.OrgA.ID, Name: "web-01.alpha-trading.example", Address: "127.0.0.20",
		Cabinet: "A-07", Position: "U12-U14", Tags: &devTags})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.AddCheck(ctx, sys, fx.OrgA.ID, dev.ID, models.CheckInput{Kind: models.KindTCP, Target: "127.0.0.20:443", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	checks, err := store.ListChecks(ctx, models.AllOrgs(), fx.OrgA.ID, dev.ID)
	if err != nil || len(checks) < 2 {
		t.Fatalf("checks %v, %v", checks, err)
	}
	var rs []models.ProbeResult
	for i := 0; i < 12; i++ {
		at := clock.Now().Add(time.Duration(i) * 5 * time.Minute)
		rs = append(rs, models.ProbeResult{CheckID: checks[0].ID, At: at, OK: true, RTTus: 400 + 15*i},
			models.ProbeResult{CheckID: checks[1].ID, At: at.Add(time.Second), OK: true, RTTus: 900})
	}
	if _, err := store.RecordResults(ctx, rs); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	req, err := store.CreateRequest(ctx, cust, fx.OrgA.ID, models.RequestInput{Title: "更换硬盘 Replace the failed disk in slot 2", Work: "Swap the disk and rebuild RAID 1",
		Urgency: "urgent", DeviceIDs: []int64{dev.ID}, RequestedBy: &fx.CustA.ID})
	if err != nil {
		t.Fatal(err)
	}
	start := clock.Now().Add(time.Minute)
	// More failed probes than a page of the outage's evidence lists, so
	// the walk sees its pager.
	var failed []models.ProbeResult
	for i := 0; i < 60; i++ {
		failed = append(failed, models.ProbeResult{CheckID: checks[0].ID, At: start.Add(time.Duration(i) * 9 * time.Second), Reason: models.ReasonTimeout})
	}
	if _, err := store.RecordResults(ctx, failed); err != nil {
		t.Fatal(err)
	}
	clock.Advance(10 * time.Minute)
	evs, err := store.ClaimEvents(ctx, "test", time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if _, err := store.ExpandEvent(ctx, ev, "test", phoneAndEmail); err != nil {
			t.Fatal(err)
		}
	}
	// The email bounces: the outage page and the on-call page offer to
	// send it again.
	mails, err := store.ClaimDeliveries(ctx, "test", time.Minute, 10, []string{models.TransportEmail})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range mails {
		if err := store.RecordAttempt(ctx, "test", d.ID, models.DeliveryBounced, "550 5.1.1 mailbox unavailable", nil); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(12 * time.Minute)
	if _, err := store.RecordPhoneAuthorization(ctx, eng, fx.OrgA.ID, req.ID, models.PhoneInput{ContactID: contact.ID, Passphrase: passphrase}); err != nil {
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
	if _, err := store.RecordResults(ctx, []models.ProbeResult{{CheckID: checks[0].ID, At: clock.Now(), OK: true, RTTus: 200}}); err != nil {
		t.Fatal(err)
	}
	outs, err := store.ListOutages(ctx, models.AllOrgs(), fx.OrgA.ID, dev.ID, 1)
	if err != nil || len(outs) != 1 {
		t.Fatalf("outages %+v, %v", outs, err)
	}
	// A second request still waiting for its authorization.
	if _, err := store.CreateRequest(ctx, cust, fx.OrgA.ID, models.RequestInput{Title: "Reboot the core switch after the firmware upgrade",
		Work: "Power-cycle the switch", Urgency: "normal", DeviceIDs: []int64{dev.ID}, RequestedBy: &fx.CustA.ID}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Now().UTC().Sub(clock.Now())) // back to the present
	// An open invitation of a colleague, for the page its emailed link opens.
	if _, err := store.InviteUser(ctx, cust, models.OrgScope(fx.OrgA.ID), fx.OrgA.ID, models.InviteInput{Email: "zhou.min@alpha-trading.example",
		Name: "周敏 Zhou Min", Locale: "zh-CN"}); err != nil {
		t.Fatal(err)
	}
	invID, err := store.NewestInvitationID(ctx, fx.OrgA.ID)
	if err != nil {
		t.Fatal(err)
	}
	invite, err := store.InvitationFacts(ctx, models.AllOrgs(), fx.OrgA.ID, invID)
	if err != nil {
		t.Fatal(err)
	}
	// A visit of two visitors for tomorrow, linked to the first request.
	sites, err := store.ListSites(ctx)
	if err != nil || len(sites) == 0 {
		t.Fatalf("sites %v, %v", sites, err)
	}
	tomorrow := clock.Now().Truncate(24*time.Hour).AddDate(0, 0, 1)
	_, err = store.CreateVisit(ctx, cust, fx.OrgA.ID, models.VisitInput{SiteID: sites[0].ID, Activity: "operation",
		Reason: "更换二号槽位故障硬盘并重建 RAID 1 Replace the failed disk and rebuild the array", PlannedFrom: tomorrow.Add(10 * time.Hour),
		PlannedTo: tomorrow.Add(16 * time.Hour), OperationRef: req.Ref, DeviceIDs: []int64{dev.ID}, Cabinets: []string{"A-07"},
		Needs: map[string]string{"tools": "扭力螺丝刀 a torque screwdriver", "parking": "京A·12345"}, Locale: "zh-CN",
		Visitors: []models.VisitorInput{
			{Name: "张伟", Company: "阿尔法科技有限公司", IDType: models.IDResident, IDNumber: "110101199003071233", Phone: "13812345678"},
			{Name: "Anna Berg-Lindqvist", Company: "Alpha Trading GmbH", IDType: "passport", IDNumber: "C01X00T47", Phone: "+49 30 1234567", Locale: "en"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	inc := walkedIncident(t, store, clock, fx, eng)
	// The walk runs at whatever hour CI starts it: the visits below are
	// set in the next hours, so the site takes visitors at any hour
	// (between 17:00 and 05:00 UTC its usual hours refused them).
	openAllDay(t, store, fx)
	walkedVisits(t, store, clock, db, fx)
	// The sample of /visits/:ref is approved and nobody has entered yet,
	// so that its pass downloads and the customer may still change it.
	visit := walkedVisitRequests(t, store, clock, fx, dev)
	complaint := walkedComplaint(t, store, clock, fx, outs[0].ID)
	// A contract of A ending in 20 days, covering the device by name, its
	// installation done late: the page shows every part.
	contract, err := store.CreateContract(ctx, models.UserActor(fx.Service, "10.0.0.2"), models.ContractInput{OrgID: fx.OrgA.ID,
		ServiceType: models.ServiceColocation, MonthlyFee: 860050, SignedOn: clock.Now().AddDate(-1, 0, 25).Format(time.DateOnly),
		StartsOn: clock.Now().AddDate(-1, 0, 25).Format(time.DateOnly), DeviceIDs: []int64{dev.ID}, Renewal: models.RenewalPending})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CompleteInstallation(ctx, models.UserActor(fx.Engineer, "10.0.0.1"), contract.Ref,
		clock.Now().AddDate(-1, 0, 35), "上架并接通双路电源 Racked, both feeds connected"); err != nil {
		t.Fatal(err)
	}
	walkedComplaints(t, store, clock, fx)
	sw, swPort := walkedNetworkDevice(t, store, fx, eng, dev.ID, contract.ID)
	power := walkedPowerIncident(t, store, clock, fx, eng)
	cabinets := seedCabinets(t, store, trafficDB(t, db), fx, clock.Now())
	// A contract over the device's cabinet, so that its statement settles
	// the outage above.
	if err := store.SeedContract(ctx, &models.Contract{OrgID: fx.OrgA.ID, ServiceType: models.ServiceColocation, MonthlyFee: 1280000,
		InstallationFee: 300000, SignedOn: "2026-01-01", StartsOn: "2026-01-01", EndsOn: "2099-12-31"}, []string{"A-07"}); err != nil {
		t.Fatal(err)
	}
	maintenance := walkedMaintenance(t, store, clock, fx)
	hook, hookDelivery := walkedWebhook(t, store, fx)
	shipment := walkedShipment(t, store, fx)
	standingRef := walkedStanding(t, store, fx)

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

	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	return &walkedSite{
		base: "http://" + ln.Addr().String(),
		fx:   fx,
		samples: map[string]string{
			"assets:name":    strings.TrimPrefix(assets.URL("portal.css"), assets.Prefix),
			"contacts:id":    id(contact.ID),
			"team:id":        id(fx.CustA.ID),
			"orgs:id":        id(fx.OrgA.ID),
			"devices:id":     id(dev.ID),
			"outages:id":     id(outs[0].ID),
			"operations:id":  req.Ref,
			"outages:outage": id(outs[0].ID),
			"users:id":       id(fx.CustA.ID),
			// No document is uploaded: the route is a download, not a page.
			"documents:doc": "",
			"invite:token":  invite.Token,
			// A calendar feed is a download for calendar programs, not a page.
			"calendar:token":  "",
			"incidents:id":    id(inc.ID),
			"visits:ref":      visit.Ref,
			"sites:id":        id(sites[0].ID),
			"complaints:ref":  complaint.Ref,
			"power:ref":       power.Ref,
			"contracts:ref":   contract.Ref,
			"maintenance:ref": maintenance.Ref,
			"network:id":      id(sw.ID),
			"ports:port":      swPort.Ref,
			"traffic:ref":     walkedTrafficPort(t, store, db, fx, dev.ID),
			"webhooks:ref":    hook.Ref,
			"shipments:ref":   shipment.Ref,
			// A shipment's photo is a download, not a page.
			"photo:name":    "",
			"cabinets:key":  cabinets.keyA,
			"proposals:ref": cabinets.proposal,
			// A meter's page is under its PDU, not the network device
			// walked: TestMeterFormsBadInputAndCSRF reads it.
			"meters:meter":  "",
			"access:ref":    standingRef,
			"deliveries:id": id(hookDelivery),
			// A complaint's file is a download, not a page.
			"files:file": "",
			// Statements: organization A's of the current month.
			"statements:org": id(fx.OrgA.ID),
			":org:month":     clock.Now().In(store.Zone()).Format("2006-01"),
		},
	}
}

// walkedNetworkDevice is a network device with two monitored ports, the
// first mapped to organization A's device and contract.
func walkedNetworkDevice(t *testing.T, store *models.Store, fx *dbtest.Fixture, eng models.Actor, deviceID, contractID int64) (*models.Switch, *models.SwitchPort) {
	t.Helper()
	ctx := context.Background()
	sw, err := store.CreateSwitch(ctx, eng, models.SwitchInput{Name: "core-sw-1.hall-a", Address: "127.0.0.1:1161", Site: "A 楼 Hall A",
		Version: models.SNMPv3, V3User: "portal-ro", V3AuthProto: "SHA256", V3AuthKey: "walk-auth-phrase", V3PrivProto: "AES",
		V3PrivKey: "walk-priv-phrase", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.AddSwitchPorts(ctx, eng, sw.ID, []models.Interface{
		{IfIndex: 10101, Name: "GigabitEthernet1/0/1", Descr: "GigabitEthernet1/0/1", Alias: "web-01 阿尔法交易 Alpha Trading uplink", SpeedBps: 1_000_000_000, HC: true},
		{IfIndex: 10102, Name: "Te1/0/2", Descr: "TenGigabitEthernet1/0/2", SpeedBps: 10_000_000_000, HC: true},
	}); err != nil {
		t.Fatal(err)
	}
	ports, err := store.ListSwitchPorts(ctx, models.AllOrgs(), sw.ID)
	if err != nil || len(ports) != 2 {
		t.Fatalf("ports %+v, %v", ports, err)
	}
	p, err := store.MapSwitchPort(ctx, eng, ports[0].ID, models.PortMapping{OrgID: &fx.OrgA.ID, DeviceID: &deviceID, ContractID: &contractID})
	if err != nil {
		t.Fatal(err)
	}
	return sw, p
}

// walkedComplaint is a complaint of organization A about an outage,
// answered with a handling report and a message, its clock met.
func walkedComplaint(t *testing.T, store *models.Store, clock *dbtest.Clock, fx *dbtest.Fixture, outageID int64) *models.Complaint {
	t.Helper()
	ctx := context.Background()
	c, err := store.CreateComplaint(ctx, models.UserActor(fx.CustA, "192.0.2.10"), fx.OrgA.ID, models.ComplaintInput{
		Category: models.ComplaintNetwork, Subject: "晚高峰丢包严重 Packet loss every evening", OutageID: outageID,
		Description: "每天 20:00 至 23:00 丢包率超过 5%，影响交易系统。\nFrom 20:00 to 23:00 every day more than 5% of packets are lost."})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour)
	desk, dv := models.UserActor(fx.Service, "10.0.0.2"), models.Viewer{Scope: models.AllOrgs(), UserID: fx.Service.ID}
	if _, err := store.WriteComplaintReport(ctx, desk, dv, c.ID, models.ReportInput{Found: "上联光模块老化，晚高峰误码增加。",
		Done: "流量已切换到备用上联。", Next: "周五 02:00 更换光模块，完成后再观察一周。"}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.AddComplaintMessage(ctx, desk, dv, c.ID, "如今晚仍有丢包，请直接回复。"); err != nil {
		t.Fatal(err)
	}
	return c
}

// pagePath fills the parameters of a route's path from the samples; ok is
// false when a parameter has no sample.
func (w *walkedSite) pagePath(route string) (path string, missing string) {
	segs := strings.Split(route, "/")
	orig := slices.Clone(segs) // a key names the route's segment before, not its filled value
	for i, s := range segs {
		if !strings.HasPrefix(s, ":") {
			continue
		}
		key := orig[i-1] + s
		v, ok := w.samples[key]
		if !ok || v == "" {
			return "", key
		}
		segs[i] = v
	}
	return strings.Join(segs, "/"), ""
}

// fragments are GET routes that answer a part of a page for its script to
// swap in (no document of their own): walked as part of their page. The
// metrics route is no page either: Prometheus's, 404 without its token.
var fragments = map[string]bool{"/oncall/live": true, "/metrics": true}

// throughTheIssuer are the single sign-on routes: redirects to and from
// the OpenID Connect issuer, not pages (404 without one configured);
// TestBrowserStaffSignsInThroughSingleSignOn walks them.
var throughTheIssuer = map[string]bool{"/login/sso": true, "/login/sso/callback": true}

// pagesOf lists the GET routes a role may open, in the route table's order;
// public ones are walked signed out.
func pagesOf(role models.Role) []string {
	var out []string
	for _, r := range handlers.Routes() {
		if r.Method != "GET" || fragments[r.Path] || throughTheIssuer[r.Path] {
			continue
		}
		if strings.HasPrefix(r.Path, handlers.APIPrefix+"/") {
			// The JSON API: no pages (its answers are checked against
			// the OpenAPI document by the API tests).
			continue
		}
		if strings.HasSuffix(r.Path, "/live") {
			// A fragment a page fetches into itself (the on-call page's
			// live part), not a page: it is walked inside /oncall.
			continue
		}
		switch r.Access.String() {
		case "second-factor-pending":
			// Only reachable halfway through a sign-in with a second factor.
		case "public":
			if role == "" {
				out = append(out, r.Path)
			}
		case "any-session":
			if role != "" {
				out = append(out, r.Path)
			}
		default:
			if role != "" && r.Access.Allows(role) {
				out = append(out, r.Path)
			}
		}
	}
	return out
}

// pageCheck is what the walk found wrong with one page.
type pageCheck struct {
	Status      int    `json:"status"`
	Type        string `json:"type"`
	URL         string `json:"url"`
	ScrollWidth int    `json:"sw"`
	Viewport    int    `json:"vw"`
	Wide        []string
	Small       []string // chart labels under 11 px on screen
	Tiny        []string // controls under 24 × 24 px
}

const headJS = `fetch(%q, {method: 'HEAD', credentials: 'same-origin'}).then(r => ({status: r.status, type: r.headers.get('content-type') || '', url: r.url}))`

// overflowJS measures the document and names the elements that reach past
// the viewport's right edge, innermost first, so a failure says where.
const overflowJS = `(() => {
  const vw = document.documentElement.clientWidth, out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > vw + 1 && out.length < 6) {
      let name = el.tagName.toLowerCase();
      if (el.id) name += '#' + el.id;
      if (typeof el.className === 'string' && el.className) name += '.' + el.className.trim().split(/\s+/).join('.');
      out.push(name + ' (right ' + Math.round(r.right) + ')');
    }
  }
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\s+/).join('.') : '');
  const small = [];
  for (const tx of document.querySelectorAll('svg text')) {
    const cs = getComputedStyle(tx), svg = tx.ownerSVGElement, vb = svg && svg.viewBox.baseVal;
    if (cs.display === 'none' || !vb || !vb.width || !tx.getClientRects().length) continue;
    const px = parseFloat(cs.fontSize) * svg.getBoundingClientRect().width / vb.width;
    if (px < 11 && small.length < 4) small.push('"' + tx.textContent + '" ' + px.toFixed(1) + ' px');
  }
  const tiny = [];
  for (const el of document.querySelectorAll('button, select, input:not([type=hidden]), textarea, summary, nav a, .tabs a, a.btn')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && (r.width < 24 || r.height < 24) && tiny.length < 4) tiny.push(name(el) + ' ' + Math.round(r.width) + '×' + Math.round(r.height));
  }
  return {sw: document.documentElement.scrollWidth, vw: vw, Wide: out.reverse(), Small: small, Tiny: tiny};
})()`

// axeJS runs axe-core and keeps the serious and critical violations.
const axeJS = `axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
  .filter(v => v.impact === 'serious' || v.impact === 'critical')
  .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' at ' + v.nodes.slice(0, 4).map(n => n.target.join(' ')).join(' | ')))`

// visit opens one page at phone width and reports its overflow and axe-core
// violations; ok is false when the path is a download rather than a page.
func visit(t *testing.T, ctx context.Context, base, path, who string, runAxe bool) (ok bool) {
	t.Helper()
	head, err := chromedp.Run(ctx, chromedp.Evaluate[pageCheck](fmt.Sprintf(headJS, base+path), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Errorf("HEAD %s: %v", path, err)
		return false
	}
	if head.Status != 200 || head.URL != base+path {
		t.Errorf("%s answers %d at %s; the walk's seed should make every page answer 200", path, head.Status, head.URL)
		return false
	}
	if !strings.HasPrefix(head.Type, "text/html") {
		return false
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+path), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		t.Errorf("open %s: %v", path, err)
		return false
	}
	m, err := chromedp.Run(ctx, chromedp.Evaluate[pageCheck](overflowJS))
	if err != nil {
		t.Errorf("measure %s: %v", path, err)
		return true
	}
	if m.Viewport != phoneWidth {
		t.Fatalf("%s: the viewport is %d px wide, want %d", path, m.Viewport, phoneWidth)
	}
	if m.ScrollWidth > m.Viewport {
		t.Errorf("%s is %d px wide on a %d px phone; too wide: %s", path, m.ScrollWidth, m.Viewport, strings.Join(m.Wide, ", "))
	}
	if len(m.Small) > 0 {
		t.Errorf("%s: chart labels under 11 px on a phone: %s", path, strings.Join(m.Small, ", "))
	}
	if len(m.Tiny) > 0 {
		t.Errorf("%s: touch targets under 24 × 24 px: %s", path, strings.Join(m.Tiny, ", "))
	}
	shotPage(t, ctx, who, path)
	if !runAxe {
		return true
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axeSource)); err != nil {
		t.Fatalf("inject axe-core into %s: %v", path, err)
	}
	vs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](axeJS, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Errorf("axe-core on %s: %v", path, err)
		return true
	}
	for _, v := range vs {
		t.Errorf("%s: axe-core: %s", path, v)
	}
	return true
}

// shotPages are the pages photographed at phone and desktop width when
// PORTAL_SCREENSHOT_DIR is set.
var shotPages = map[string]bool{"/": true, "/login": true, "/operations": true, "/operations/new": true, "/contacts": true,
	"/contacts/new": true, "/uptime": true, "/fleet": true, "/oncall": true, "/orgs": true, "/admin/audit": true, "/admin/users": true,
	"/reception/today": true, "/visits": true, "/visits/new": true, "/admin/sites": true}

// shotPage photographs a main page at 390 and 1366 px, named after the
// signed-in role (the header's class) and the page's language.
func shotPage(t *testing.T, ctx context.Context, who, path string) {
	t.Helper()
	if os.Getenv("PORTAL_SCREENSHOT_DIR") == "" {
		return
	}
	generic := regexp.MustCompile(`/[0-9a-f]{6,}|/\d+`).ReplaceAllString(path, "/x")
	if !shotPages[path] && generic != "/operations/x" && generic != "/devices/x" && generic != "/outages/x" && generic != "/orgs/x" && generic != "/visits/x" {
		return
	}
	lang, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
	name := who + "-" + lang + strings.ReplaceAll(generic, "/", "_")
	shot(t, ctx, name+"-390")
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1366, 900), chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, name+"-1366")
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(phoneWidth, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)), chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
}

// Every page of every role fits a 390 px phone without sideways scrolling
// and has no serious or critical axe-core violation. The pages come from
// the route table, so a new page is walked without touching this test; a
// new path parameter needs a sample in seedWalkedSite.
func TestBrowserEveryPageFitsAPhoneAndPassesAxe(t *testing.T) {
	site := seedWalkedSite(t)
	parent := newBrowserTimeout(t, 20*time.Minute)
	if err := chromedp.Do(parent); err != nil { // start the browser
		t.Fatal(err)
	}
	walkers := []struct {
		role models.Role
		user *models.User
	}{
		{"", nil}, // signed out: the public pages
		{models.RoleCustomer, site.fx.CustA},
		{models.RoleReception, site.fx.Reception},
		{models.RoleEngineer, site.fx.Engineer},
		{models.RoleService, site.fx.Service},
		{models.RoleAdmin, site.fx.Admin},
	}
	// Each role walks in its own tab, at the same time. axe-core runs on
	// the public pages, the customer's and the admin's (whose pages hold
	// every staff form); the other staff roles' pages, the same pages with
	// fewer controls, get the width checks.
	var pages atomic.Int64
	t.Cleanup(func() {
		if n := pages.Load(); n < 30 {
			t.Errorf("walked %d pages; the route table and the seed promise more", n)
		} else {
			t.Logf("walked %d pages in Chinese, and those of signed-in roles again in English", n)
		}
	})
	for _, w := range walkers {
		who := string(w.role)
		if who == "" {
			who = "public"
		}
		runAxe := w.role == "" || w.role == models.RoleCustomer || w.role == models.RoleAdmin
		t.Run(who, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := chromedp.NewContext(parent, chromedp.WithNewBrowserContext())
			defer cancel()
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(phoneWidth, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2))); err != nil {
				t.Fatal(err)
			}
			if w.user != nil {
				signInInBrowser(t, ctx, site.base, w.user.Email)
				checkPhoneMenu(t, ctx, who)
			} else if err := chromedp.Do(ctx, chromedp.Navigate(site.base+"/login")); err != nil {
				t.Fatal(err)
			}
			for _, route := range pagesOf(w.role) {
				path, missing := site.pagePath(route)
				if missing != "" {
					if _, known := site.samples[missing]; !known {
						t.Errorf("%s: no sample for the path parameter %q; add one to seedWalkedSite", route, missing)
					}
					continue
				}
				// Chinese first, the browser's language, for the width; then
				// English, whose longer words are the likelier to overflow,
				// for the width and axe-core (the public pages, walked once,
				// get both here).
				if visit(t, ctx, site.base, path, who, runAxe && w.user == nil) {
					pages.Add(1)
				}
			}
			if w.user != nil {
				switchLanguage(t, ctx, "en")
				for _, route := range pagesOf(w.role) {
					if path, missing := site.pagePath(route); missing == "" {
						visit(t, ctx, site.base, path, who, runAxe)
					}
				}
			}
		})
	}
}

// ringJS describes the focused element's focus ring: its width and its
// contrast with the background behind the element (the first ancestor with
// an opaque background), by WCAG's relative luminance.
const ringJS = `(() => {
  const el = document.activeElement, cs = getComputedStyle(el);
  const rgb = s => (s.match(/[\d.]+/g) || []).map(Number);
  const lum = c => { const v = c.slice(0, 3).map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  let bg = [255, 255, 255], p = el.parentElement;
  while (p) { const c = rgb(getComputedStyle(p).backgroundColor); if (c.length >= 3 && (c.length < 4 || c[3] > 0.9)) { bg = c; break; } p = p.parentElement; }
  const ring = rgb(cs.outlineColor), a = lum(ring), b = lum(bg);
  return {style: cs.outlineStyle, width: parseFloat(cs.outlineWidth), contrast: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05),
    current: el.getAttribute('aria-current') || '', text: el.textContent.trim().slice(0, 40), tag: el.tagName};
})()`

type ring struct {
	Style    string  `json:"style"`
	Width    float64 `json:"width"`
	Contrast float64 `json:"contrast"`
	Current  string  `json:"current"`
	Text     string  `json:"text"`
	Tag      string  `json:"tag"`
}

// Tabbing through the header shows a focus ring of at least 3:1 on every
// stop, the current menu item included, and the language is changed by a
// button, not by a select that submits on change.
func TestBrowserKeyboardFocusRingAndLanguageButton(t *testing.T) {
	base, fx := startPortal(t)
	ctx := newBrowser(t)
	signInInBrowser(t, ctx, base, fx.Engineer.Email)
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/oncall"), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
		t.Fatal(err)
	}
	if n := countNodes(t, ctx, "select[data-autosubmit], #lang-select"); n != 0 {
		t.Errorf("the header still has a language select that submits on change")
	}
	if n := countNodes(t, ctx, `form.lang button[name=lang][value=en]`); n != 1 {
		t.Errorf("the header has %d English buttons, want 1", n)
	}
	sawCurrent := false
	for i := 0; i < 14; i++ {
		if err := chromedp.Do(ctx, chromedp.KeyEvent("\t")); err != nil {
			t.Fatal(err)
		}
		r, err := chromedp.Run(ctx, chromedp.Evaluate[ring](ringJS))
		if err != nil {
			t.Fatal(err)
		}
		if r.Tag == "BODY" { // past the last stop
			break
		}
		if r.Style == "none" || r.Width < 2 || r.Contrast < 3 {
			t.Errorf("tab stop %d (%q, current=%q): focus ring %s %.0f px at %.2f:1, want a visible ring of 3:1", i+1, r.Text, r.Current, r.Style, r.Width, r.Contrast)
		}
		if r.Current == "page" {
			sawCurrent = true
		}
	}
	if !sawCurrent {
		t.Errorf("tabbing never reached the current menu item")
	}
	switchLanguage(t, ctx, "en")
	if h1 := text(t, ctx, "main h1"); h1 != "On call" {
		t.Errorf("after pressing English the heading reads %q", h1)
	}
}

// checkPhoneMenu checks the header on a phone: one short bar with a menu
// button, the navigation behind it until pressed.
func checkPhoneMenu(t *testing.T, ctx context.Context, who string) {
	t.Helper()
	type bar struct {
		Height   float64 `json:"height"`
		NavShown bool    `json:"nav"`
		Expanded string  `json:"expanded"`
	}
	const js = `({height: document.querySelector('header.topbar').getBoundingClientRect().height,
		nav: !!document.querySelector('header nav a') && document.querySelector('header nav a').getClientRects().length > 0,
		expanded: document.querySelector('.menubtn').getAttribute('aria-expanded')})`
	closed, err := chromedp.Run(ctx, chromedp.Evaluate[bar](js))
	if err != nil {
		t.Fatal(err)
	}
	if closed.Height > 64 || closed.NavShown || closed.Expanded != "false" {
		t.Errorf("%s: the phone header is %.0f px high with the menu shown=%v (aria-expanded %q); want one bar of at most 64 px, menu folded",
			who, closed.Height, closed.NavShown, closed.Expanded)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(".menubtn"))); err != nil {
		t.Fatal(err)
	}
	open, err := chromedp.Run(ctx, chromedp.Evaluate[bar](js))
	if err != nil {
		t.Fatal(err)
	}
	if !open.NavShown || open.Expanded != "true" {
		t.Errorf("%s: after pressing the menu button the menu shown=%v, aria-expanded %q", who, open.NavShown, open.Expanded)
	}
	if os.Getenv("PORTAL_SCREENSHOT_DIR") != "" {
		shot(t, ctx, who+"-menu-open-390")
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(".menubtn"))); err != nil {
		t.Fatal(err)
	}
}

// walkedIncident opens a provider-wide incident for the walk: a device of
// each organization fails at once (the threshold lowered to two
// organizations), with a contracted service and an update, so that the
// staff banner, the incident's pages and the customer's notice are seen.
func walkedIncident(t *testing.T, store *models.Store, clock *dbtest.Clock, fx *dbtest.Fixture, eng models.Actor) *models.Incident {
	t.Helper()
	ctx := context.Background()
	sys := models.SystemActor("test")
	var rs []models.ProbeResult
	for i, org := range []int64{fx.OrgA.ID, fx.OrgB.ID} {
		d, err := store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: org, Name: fmt.Sprintf("edge-%02d.example", i+1), Address: fmt.Sprintf("127.0.0.%d", 40+i)})
		if err != nil {
			t.Fatal(err)
		}
		c, err := store.AddCheck(ctx, sys, org, d.ID, models.CheckInput{Kind: models.KindICMP, Target: d.Address})
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, models.ProbeResult{CheckID: c.ID, At: clock.Now().Add(-2 * time.Minute), Reason: models.ReasonTimeout},
			models.ProbeResult{CheckID: c.ID, At: clock.Now().Add(-time.Minute), Reason: models.ReasonTimeout})
	}
	if _, err := store.RecordResults(ctx, rs); err != nil {
		t.Fatal(err)
	}
	inc, _, err := store.DetectIncident(ctx, models.IncidentRules{Orgs: 2})
	if err != nil || inc == nil {
		t.Fatalf("incident %+v, %v", inc, err)
	}
	today := store.Today()
	if _, err := store.CreateContract(ctx, models.UserActor(fx.Service, "10.0.0.2"), models.ContractInput{OrgID: fx.OrgA.ID,
		ServiceType: models.ServiceFullCabinet, MonthlyFee: 1280000, InstallationFee: 300000, SignedOn: today, StartsOn: today,
		Cabinets: []string{"A-07"}, Notes: "整机柜 42U，双路供电 Full cabinet, two power feeds"}); err != nil {
		t.Fatal(err)
	}
	if err := store.RenameIncident(ctx, eng, inc.ID, "上游链路中断 Upstream link down"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.PostIncidentUpdate(ctx, eng, inc.ID, "上游光缆被挖断，工程师已到现场。The upstream fibre was cut; engineers are on site.", "zh-CN"); err != nil {
		t.Fatal(err)
	}
	return inc
}

// walkedVisits fills reception's today page: an approved emergency visit
// that began four hours ago with one visitor still inside past the
// planned exit and one gone without returning the badge, and another
// expected later.
// Approving is done by a direct update, as the visit's own tests do.
func walkedVisits(t *testing.T, store *models.Store, clock *dbtest.Clock, db dbtest.DB, fx *dbtest.Fixture) {
	t.Helper()
	ctx := context.Background()
	raw, _, err := models.Open(ctx, models.OpenOptions{URL: db.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if s, err := raw.DB(); err == nil {
			s.Close()
		}
	}()
	sites, err := store.ListSites(ctx)
	if err != nil || len(sites) == 0 {
		t.Fatalf("sites %v, %v", sites, err)
	}
	present := clock.Now()
	clock.Advance(-4 * time.Hour)
	cust, desk := models.UserActor(fx.CustA, "192.0.2.1"), models.UserActor(fx.Reception, "10.0.0.2")
	mk := func(from, to time.Time, visitors ...models.VisitorInput) *models.Visit {
		v, err := store.CreateVisit(ctx, cust, fx.OrgA.ID, models.VisitInput{SiteID: sites[0].ID, Activity: "operation", Emergency: true,
			Reason: "更换故障硬盘 Replace a failed disk", PlannedFrom: from, PlannedTo: to, Visitors: visitors, Cabinets: []string{"A-07"}, Locale: "zh-CN"})
		if err != nil {
			t.Fatal(err)
		}
		if err := raw.Table("visits").Where("id = ?", v.ID).Updates(map[string]any{"state": models.VisitApproved, "escort_id": fx.Engineer.ID}).Error; err != nil {
			t.Fatal(err)
		}
		return v
	}
	v := mk(clock.Now().Add(10*time.Minute), clock.Now().Add(2*time.Hour),
		models.VisitorInput{Name: "张伟", Company: "阿尔法科技有限公司", IDType: models.IDResident, IDNumber: "110101199003071233", Phone: "13812345678", Locale: "zh-CN"},
		models.VisitorInput{Name: "Anna Berg-Lindqvist", Company: "Alpha Trading GmbH", IDType: "passport", IDNumber: "C01X00T47", Phone: "+49 30 1234567", Locale: "en"})
	d, err := store.VisitDetailOf(ctx, models.AllOrgs(), v, false)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(15 * time.Minute)
	for i, x := range d.Visitors {
		if _, err := store.CheckIn(ctx, desk, fx.OrgA.ID, x.Visitor.ID, fmt.Sprintf("B-%02d", 12+i), 0); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(time.Hour)
	if err := store.CheckOut(ctx, desk, fx.OrgA.ID, d.Visitors[1].Visitor.ID, false); err != nil {
		t.Fatal(err)
	}
	clock.Advance(present.Sub(clock.Now()))
	mk(clock.Now().Add(30*time.Minute), clock.Now().Add(90*time.Minute),
		models.VisitorInput{Name: "李娜", Company: "阿尔法科技有限公司", IDType: "passport", IDNumber: "E12345678", Phone: "13900001111", Locale: "zh-CN"})
}

// openAllDay makes every site take visitors at any hour.
func openAllDay(t *testing.T, store *models.Store, fx *dbtest.Fixture) {
	t.Helper()
	ctx := context.Background()
	sites, err := store.ListSites(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sites {
		if _, err := store.SaveSite(ctx, models.UserActor(fx.Admin, "10.0.0.1"), st.ID, models.SiteInput{Name: st.Name, Address: st.Address,
			AllDay: true, MaxInside: strconv.Itoa(st.MaxInside)}); err != nil {
			t.Fatal(err)
		}
	}
}

// walkedVisitRequests adds a pending emergency visit of two visitors for
// reception's queue, and an approved one for tomorrow, which it returns.
func walkedVisitRequests(t *testing.T, store *models.Store, clock *dbtest.Clock, fx *dbtest.Fixture, dev *models.Device) *models.Visit {
	t.Helper()
	ctx := context.Background()
	sites, err := store.ListSites(ctx)
	if err != nil || len(sites) == 0 {
		t.Fatalf("sites %v (%v)", sites, err)
	}
	ask := func(from time.Time) *models.Visit {
		v, err := store.CreateVisit(ctx, models.UserActor(fx.CustA, "192.0.2.1"), fx.OrgA.ID, models.VisitInput{SiteID: sites[0].ID,
			Activity: "operation", Reason: "更换故障硬盘并重建阵列 Replace the failed disk and rebuild the array", Emergency: true,
			PlannedFrom: from, PlannedTo: from.Add(2 * time.Hour), DeviceIDs: []int64{dev.ID}, Cabinets: []string{"A-07"},
			Needs: map[string]string{"tools": "扭力螺丝刀 a torque screwdriver", "parking": ""}, Locale: "zh-CN",
			Visitors: []models.VisitorInput{
				{Name: "张伟", Company: "阿尔法贸易 Alpha Trading", IDType: models.IDResident, IDNumber: "110101199003071233", Phone: "138 1234 5678"},
				{Name: "Anna Berg-Johansson", Company: "Alpha Trading GmbH", IDType: "passport", IDNumber: "C01X00T47", Phone: "+49 30 1234567", Locale: "en"},
			}})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	ask(clock.Now().Add(3 * time.Hour).Truncate(time.Minute))
	approved := ask(clock.Now().Add(27 * time.Hour).Truncate(time.Minute))
	if _, err := store.ApproveVisit(ctx, models.UserActor(fx.Reception, "10.0.0.3"), fx.OrgA.ID, approved.ID,
		models.ApproveInput{EscortID: fx.Engineer.ID}); err != nil {
		t.Fatal(err)
	}
	approved, err = store.GetVisitByRef(ctx, models.AllOrgs(), approved.Ref)
	if err != nil {
		t.Fatal(err)
	}
	return approved
}

// walkedWebhook is an endpoint of organization A with a test delivery
// tried once and refused, so that its log and attempt have something to
// show.
func walkedWebhook(t *testing.T, store *models.Store, fx *dbtest.Fixture) (*models.WebhookEndpoint, int64) {
	t.Helper()
	ctx := context.Background()
	// Alice administers Alpha, so that the endpoint form is a page too.
	if err := store.SetOrgAdmin(ctx, models.SystemActor("walk"), fx.CustA.ID, true); err != nil {
		t.Fatal(err)
	}
	a := models.UserActor(fx.CustA, "192.0.2.1")
	e, _, err := store.CreateWebhook(ctx, a, models.ScopeOf(fx.CustA), fx.OrgA.ID, models.WebhookInput{
		URL: "https://hooks.alpha.example/portal/incoming-events-from-the-colocation-portal", Description: "工单系统 ticketing bridge",
		Events: []string{models.HookOutageConfirmed, models.HookOutageClosed, models.HookVisitApproved}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := store.SendWebhookTest(ctx, a, models.ScopeOf(fx.CustA), e.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.ClaimHookDeliveries(ctx, "walk", time.Minute, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := store.RecordHookAttempt(ctx, "walk", d.ID, models.HookResult{StatusCode: 503, Problem: "answered 503 Service Unavailable",
		Response: strings.Repeat("upstream busy, try again later; ", 30), Duration: 120 * time.Millisecond}, 15); err != nil {
		t.Fatal(err)
	}
	return e, d.ID
}
