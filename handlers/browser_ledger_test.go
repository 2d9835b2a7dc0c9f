package handlers_test

import (
	"context"
	"fmt"
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
	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/blobstore"
	"github.com/colo-portal/portal/models/dbtest"
)

// The SLA ledger in four browsers, on each database: the service desk
// records a contract through the form (fees typed as ¥ amounts, a cabinet
// ticked), signed last month, and completes its installation order, late;
// an engineer records the power incident behind this month's outage and
// announces a maintenance window; the customer agrees to the window from
// its home, opens its statements and this month's, follows a credit
// line's evidence to the outage page, switches to English and downloads
// the statement's PDF, whose text carries the figures; the service desk
// closes last month from the provider's view, and that statement then
// reads closed with no form on it.
func TestBrowserLedgerFromContractToClosedStatement(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { browserLedger(t, db) })
	}
}

func browserLedger(t *testing.T, db dbtest.DB) {
	ctx := context.Background()
	// The story needs a few hours of this month behind it, and its times
	// near the real time: cookies are dated by the store's clock.
	now := time.Now().UTC().Truncate(time.Minute)
	thisMonth := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	if now.Before(thisMonth.Add(36 * time.Hour)) {
		now = thisMonth.Add(36 * time.Hour)
	}
	lastMonth := thisMonth.AddDate(0, -1, 0)
	clock := dbtest.NewClock()
	t0 := now.Add(-4 * time.Hour) // this month's outage
	clock.Advance(t0.Add(-time.Hour).Sub(clock.Now()))
	store := dbtest.Open(t, db, models.WithClock(clock.Now))
	fx := dbtest.Seed(t, store)
	sys := models.SystemActor("test")
	dev, err := store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: fx.OrgA.ID, Name: "web-1", Address: "127.0.0.31", Cabinet: "A-07"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateContact(ctx, sys, fx.OrgA.ID, models.ContactInput{Name: "孙丽 Sun Li", Email: "sun.li@alpha.test",
		Channels: []models.Channel{models.ChannelEmail}, MayAuthorize: true, Passphrase: passphrase}); err != nil {
		t.Fatal(err)
	}
	checks, err := store.ListChecks(ctx, models.AllOrgs(), fx.OrgA.ID, dev.ID)
	if err != nil || len(checks) != 1 {
		t.Fatalf("checks %v, %v", checks, err)
	}
	// web-1 down 65 minutes from t0; its notice never went out, so the
	// sweep marks it missed at the deadline.
	clock.Advance(t0.Sub(clock.Now()))
	if _, err := store.RecordResults(ctx, []models.ProbeResult{{CheckID: checks[0].ID, At: t0, Reason: models.ReasonTimeout},
		{CheckID: checks[0].ID, At: t0.Add(5 * time.Minute), Reason: models.ReasonTimeout}}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(21 * time.Minute)
	if _, err := store.SweepClocks(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(t0.Add(65 * time.Minute).Sub(clock.Now()))
	if _, err := store.RecordResults(ctx, []models.ProbeResult{{CheckID: checks[0].ID, At: clock.Now(), OK: true, RTTus: 300}}); err != nil {
		t.Fatal(err)
	}
	outs, err := store.ListOutages(ctx, models.AllOrgs(), fx.OrgA.ID, dev.ID, 1)
	if err != nil || len(outs) != 1 {
		t.Fatalf("outages %+v, %v", outs, err)
	}
	outage := outs[0]
	clock.Advance(now.Sub(clock.Now())) // the present, where the browsers are

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
	base := "http://" + ln.Addr().String()
	local := func(t time.Time) string { return t.Format("2006-01-02T15:04") } // the store's zone is UTC
	zhT, enT := locales.For(locales.Default).T, locales.For("en").T
	do := func(ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	at := func(ctx context.Context) string {
		t.Helper()
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(loc, base)
	}
	phone := func(ctx context.Context, name string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
			t.Fatal(err)
		}
		shot(t, ctx, name+"-390")
		if wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > 390`)); err != nil || wide {
			t.Errorf("%s scrolls sideways at 390 px (%v)", name, err)
		}
		if _, err := chromedp.Run(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
			t.Fatal(err)
		}
	}

	// 1. The service desk records the contract, signed on the first day of
	// last month and running from it, over cabinet A-07.
	// The customer's browser is the first (its downloads are allowed);
	// the staff's are contexts of their own beside it.
	cust := newBrowserTimeout(t, 240*time.Second)
	do(cust, "start the browser", chromedp.Navigate(base+"/login"))
	downloads := allowDownloads(t, cust)
	desk, cancelDesk := chromedp.NewContext(cust, chromedp.WithNewBrowserContext())
	t.Cleanup(cancelDesk)
	signInInBrowser(t, desk, base, fx.Service.Email)
	clickAndLoad(t, desk, `nav a[href="/contracts"]`)
	clickAndLoad(t, desk, "#new-contract")
	do(desk, "pick the organization", chromedp.SetValue(chromedp.CSS("#f-org"), ids(fx.OrgA.ID)))
	clickAndLoad(t, desk, "#pick-org")
	signed := lastMonth
	do(desk, "fill the contract",
		chromedp.SetValue(chromedp.CSS("#f-service_type"), models.ServiceColocation),
		chromedp.SendKeys(chromedp.CSS("#f-monthly_fee"), "¥25,000.00"),
		chromedp.SendKeys(chromedp.CSS("#f-installation_fee"), "¥5,000"),
		chromedp.SetValue(chromedp.CSS("#f-signed_on"), signed.Format(time.DateOnly)),
		chromedp.SetValue(chromedp.CSS("#f-starts_on"), lastMonth.Format(time.DateOnly)),
		chromedp.Click(chromedp.CSS(`input[name=cabinets][value="A-07"]`)),
		chromedp.SendKeys(chromedp.CSS("#f-notes"), "A-07 整柜托管 Cabinet A-07, colocation"),
	)
	shot(t, desk, "ledger-contract-form")
	clickAndLoad(t, desk, "#save-contract")
	rows, err := store.ListContracts(ctx, models.AllOrgs(), models.ContractFilter{OrgID: fx.OrgA.ID})
	if err != nil || len(rows) != 1 {
		t.Fatalf("contracts after the form: %+v, %v", rows, err)
	}
	k := rows[0]
	if k.MonthlyFee != 2500000 || k.InstallationFee != 500000 || k.ServiceType != models.ServiceColocation || k.SignedOn != signed.Format(time.DateOnly) ||
		k.EndsOn != lastMonth.AddDate(1, 0, -1).Format(time.DateOnly) {
		t.Fatalf("stored contract %+v", k.Contract)
	}
	number := k.Number()
	if got := at(desk); got != "/contracts/"+k.Ref {
		t.Fatalf("after saving the desk is at %s", got)
	}
	wantIn(t, desk, "main h1", number)
	wantIn(t, desk, "main", "¥25,000.00", "¥5,000.00", "A-07", "web-1")
	// Signed last month: the installation order is overdue (due last
	// month); the desk records it done half an hour ago, late.
	wantIn(t, desk, "#installation-state", zhT("contracts.install_state.overdue"))
	do(desk, "complete the installation",
		chromedp.SetValue(chromedp.CSS("#f-completed_at"), local(now.Add(-30*time.Minute))),
		chromedp.SendKeys(chromedp.CSS("#installation #f-note"), "机柜已上架 Racked"))
	clickAndLoad(t, desk, "#complete-installation")
	wantIn(t, desk, "#installation-state", zhT("contracts.install_state.missed"))
	wantIn(t, desk, "#installation-done", now.Add(-30*time.Minute).Format("2006-01-02 15:04"))
	shot(t, desk, "ledger-contract")

	// 2. The engineer records the power incident behind the outage and
	// announces a window in two days.
	eng, cancelEng := chromedp.NewContext(cust, chromedp.WithNewBrowserContext())
	t.Cleanup(cancelEng)
	signInInBrowser(t, eng, base, fx.Engineer.Email)
	do(eng, "open the power form", chromedp.Navigate(base+"/power/new"), chromedp.WaitVisible(chromedp.CSS("#f-started_at")))
	do(eng, "fill the power incident",
		chromedp.SetValue(chromedp.CSS("#f-started_at"), local(t0.Add(-2*time.Minute))),
		chromedp.SetValue(chromedp.CSS("#f-ended_at"), local(t0.Add(62*time.Minute))),
		chromedp.Click(chromedp.CSS(`input[name=both_down][value=yes]`)),
		chromedp.SendKeys(chromedp.CSS("#f-cause"), "A 列 UPS 故障，两路供电中断 UPS of row A failed: both feeds lost"),
		chromedp.SendKeys(chromedp.CSS("#f-targets"), "alpha A-07"))
	clickAndLoad(t, eng, `form[action="/power"] button[type=submit]`)
	power, err := store.PowerIncidents(ctx, models.AllOrgs(), models.PowerFilter{})
	if err != nil || len(power) != 1 || !power[0].CountsAgainstProvider() {
		t.Fatalf("power incidents after the form: %+v, %v", power, err)
	}
	wantIn(t, eng, "main h1", power[0].Number())
	wantIn(t, eng, "main", "A-07", fx.OrgA.Name)
	soon := time.Date(now.Year(), now.Month(), now.Day()+2, 2, 0, 0, 0, time.UTC)
	do(eng, "open the maintenance form", chromedp.Navigate(base+"/maintenance/new"), chromedp.WaitVisible(chromedp.CSS("#f-title")))
	do(eng, "fill the window",
		chromedp.SendKeys(chromedp.CSS("#f-title"), "核心交换机升级 Core switch upgrade"),
		chromedp.SetValue(chromedp.CSS("#f-starts_at"), local(soon)),
		chromedp.SetValue(chromedp.CSS("#f-ends_at"), local(soon.Add(2*time.Hour))),
		chromedp.SendKeys(chromedp.CSS("#f-body"), "上联中断不超过 5 分钟。Uplinks down 5 minutes at most."),
		chromedp.SendKeys(chromedp.CSS("#f-targets"), "alpha"))
	clickAndLoad(t, eng, `form[action="/maintenance"] button[type=submit]`)
	windows, err := store.ListMaintenance(ctx, models.AllOrgs(), false, 10)
	if err != nil || len(windows) != 1 {
		t.Fatalf("windows after the form: %+v, %v", windows, err)
	}
	window := windows[0].Window
	wantIn(t, eng, "main h1", window.Number())
	wantIn(t, eng, "#maintenance-orgs", fx.OrgA.Name, zhT("maintenance.answer.none"))

	// 3. The customer agrees to the window from its home.
	signInInBrowser(t, cust, base, fx.CustA.Email)
	wantIn(t, cust, "#home-maintenance", window.Number(), "Core switch upgrade")
	shot(t, cust, "ledger-home-to-answer")
	clickAndLoad(t, cust, `#home-maintenance a[href="/maintenance/`+window.Ref+`"]`)
	do(cust, "agree", chromedp.Click(chromedp.CSS(`input[name=answer][value="`+models.MaintenanceAgreed+`"]`)))
	clickAndLoad(t, cust, `form[action$="/answer"] button[type=submit]`)
	wantIn(t, cust, "#maintenance-answer", zhT("maintenance.answer.agreed"), fx.CustA.Name)
	if ws, err := store.MaintenanceToAnswer(ctx, models.OrgScope(fx.OrgA.ID), fx.OrgA.ID, 10); err != nil || len(ws) != 0 {
		t.Errorf("windows still to answer after agreeing: %+v, %v", ws, err)
	}
	clickAndLoad(t, cust, `nav a[href="/"]`)
	wantAbsent(t, cust, "#home-maintenance")

	// 4. Its statements: this month runs, last month waits for closing.
	month, prev := now.Format("2006-01"), lastMonth.Format("2006-01")
	clickAndLoad(t, cust, `nav a[href="/statements"]`)
	wantIn(t, cust, "#statement-months", month, prev, zhT("statements.state.running"), zhT("statements.state.open"))
	clickAndLoad(t, cust, `#statement-months a[href="/statements/`+ids(fx.OrgA.ID)+`/`+month+`"]`)
	wantIn(t, cust, "main h1", month)
	wantIn(t, cust, "#statement-provisional", zhT("statements.provisional"))
	// 65 minutes over this month's allowance: network and power (the
	// engineer's incident, 64 minutes) each the month's fee; the missed
	// notice a day's fee; the cap takes the excess off.
	days := thisMonth.AddDate(0, 1, -1).Day()
	dayFee := models.FormatMoney(models.DayFee(2500000, days), "CNY")
	allowance := fmt.Sprintf("%.2f", float64(days)*24*60/1000)
	wantIn(t, cust, "main", number, "¥25,000.00", dayFee, allowance, "65.00", "web-1", power[0].Number(),
		zhT("statements.line.network"), zhT("statements.line.power"), zhT("statements.line.notice"))
	wantIn(t, cust, "#statement-totals", "¥25,000.00")
	shot(t, cust, "ledger-statement-running")
	phone(cust, "ledger-statement-running")
	// The notice line's evidence is the outage.
	clickAndLoad(t, cust, `table.statement-lines a[href="/outages/`+strconv.FormatInt(outage.ID, 10)+`"]`)
	wantIn(t, cust, "main h1", "web-1")
	do(cust, "back to the statement", chromedp.Navigate(base+"/statements/"+ids(fx.OrgA.ID)+"/"+month), chromedp.WaitVisible(chromedp.CSS("#statement-provisional")))
	// In English, the PDF in English: a PDF, with the same figures.
	switchLanguage(t, cust, "en")
	wantIn(t, cust, "#statement-provisional", enT("statements.provisional"))
	pdf := downloadByClick(t, cust, downloads, `a[href$="/statement.pdf?lang=en"]`)
	if !strings.HasPrefix(string(pdf), "%PDF-") {
		t.Fatalf("the statement download is not a PDF: %.40q", pdf)
	}
	if txt := pdfText(t, pdf); txt != "" {
		flat := squashSpace(txt)
		for _, w := range []string{number, "¥25,000.00", dayFee, allowance, "65.00", "web-1", power[0].Number(), fx.OrgA.Name,
			enT("statements.line.network"), enT("statements.line.notice"), "PROVISIONAL"} {
			if !strings.Contains(flat, squashSpace(w)) {
				t.Errorf("the statement's PDF lacks %q:\n%s", w, txt)
			}
		}
	}

	// 5. The service desk closes last month from the provider's view: the
	// late installation's fee is its credit. (The other organization, with
	// no contract, is listed open too.)
	clickAndLoad(t, desk, `nav a[href="/statements"]`)
	wantIn(t, desk, "main h1", prev)
	rowA := `#ledger tr:has(a[href="/statements/` + ids(fx.OrgA.ID) + `/` + prev + `"])`
	wantIn(t, desk, rowA, fx.OrgA.Name, zhT("statements.state.open"), "¥5,000.00")
	wantIn(t, desk, "#ledger-open", "2")
	shot(t, desk, "ledger-provider-open")
	clickAndLoad(t, desk, rowA+` form[action$="/close"] button`)
	wantIn(t, desk, rowA, zhT("statements.state.closed"))
	wantAbsent(t, desk, rowA+` form`)
	wantIn(t, desk, "#ledger-open", "1")
	clickAndLoad(t, desk, `#ledger a[href="/statements/`+ids(fx.OrgA.ID)+`/`+prev+`"]`)
	wantIn(t, desk, "#statement-closed", fx.Service.Name)
	wantIn(t, desk, "main", number, zhT("statements.line.installation"), "¥5,000.00")
	wantAbsent(t, desk, "#statement-provisional")
	wantAbsent(t, desk, "main form")
	shot(t, desk, "ledger-statement-closed")
	phone(desk, "ledger-statement-closed")
	st, err := store.Statement(ctx, models.AllOrgs(), fx.OrgA.ID, prev)
	if err != nil || st.Provisional || len(st.Totals) != 1 || st.Totals[0].Credit != 500000 || st.ClosedBy == nil || *st.ClosedBy != fx.Service.ID {
		t.Errorf("last month's statement after closing: %+v, %v", st, err)
	}
}
