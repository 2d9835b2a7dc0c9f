package main

import (
	"context"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	gosmtp "github.com/emersion/go-smtp"
)

// readMail is one message the mailbox got: its decoded subject and body.
func readMail(t *testing.T, raw string) (to, subject, body string) {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("read mail: %v", err)
	}
	dec := new(mime.WordDecoder)
	subject, _ = dec.DecodeHeader(m.Header.Get("Subject"))
	to, _ = dec.DecodeHeader(m.Header.Get("To"))
	b, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatalf("decode mail body: %v", err)
	}
	return to, subject, string(b)
}

// The acceptance, end to end through `portal serve` with its
// dispatcher and a real SMTP server: a customer announces a shipment in
// the browser; reception types its tracking number (with spaces, in lower
// case, as a scanner might) into the desk's field, lands on the shipment
// and records its arrival; the customer sees where it is stored, and the
// arrival email reaches the customer and the organization's contact. Then
// a parcel nobody announced: its number matches nothing, reception logs
// it for the organization, and a second scan of the same number finds no
// announcement to receive twice.
func TestBrowserShipmentAnnouncedArrivesAndTheCustomerIsEmailed(t *testing.T) {
	browser := demoBrowser(t)
	box := &mailbox{}
	srv := gosmtp.NewServer(box)
	srv.Domain = "mx.test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	addr := freePort(t)
	base := "http://" + addr
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "portal.db")
	e := map[string]string{
		"PORTAL_LISTEN": addr, "PORTAL_DATABASE_URL": "sqlite:" + dbPath, "PORTAL_DATA_DIR": dir,
		"PORTAL_LOG_LEVEL": "error", "PORTAL_PROBER": "off", "PORTAL_BASE_URL": base, "PORTAL_TIMEZONE": "Asia/Shanghai",
		"PORTAL_SMTP_HOST": "127.0.0.1", "PORTAL_SMTP_MODE": "none", "PORTAL_SMTP_PORT": strconv.Itoa(ln.Addr().(*net.TCPAddr).Port),
		"PORTAL_SMTP_FROM": "Colo NOC <noc@idc.test>",
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, strings.NewReader(""), io.Discard, env(e)) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop within 15 s")
		}
	}()
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := client.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no 200 from /readyz within 10 s")
		}
	}
	// The organizations, users, a device in cabinet A03 and a contact who
	// takes email, through a second connection to the same database.
	s := dbtest.Open(t, dbtest.DB{Name: "sqlite", URL: "sqlite:" + dbPath})
	fx := dbtest.Seed(t, s)
	sys := models.SystemActor("test")
	if _, err := s.CreateDevice(ctx, sys, models.DeviceInput{OrgID: fx.OrgA.ID, Name: "web-01", Address: "10.0.0.5", Cabinet: "A03"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateContact(ctx, sys, fx.OrgA.ID, models.ContactInput{Name: "孙丽", Email: "sun.li@alpha.test",
		Mobile: "138 0013 8000", Channels: []models.Channel{models.ChannelEmail, models.ChannelMobile}, MayAuthorize: true,
		Passphrase: "blue harbour 42", Locale: "zh-CN"}); err != nil {
		t.Fatal(err)
	}

	signIn := func(bctx context.Context, email string) {
		t.Helper()
		if err := chromedp.Do(bctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#f-email")),
			chromedp.SendKeys(chromedp.CSS("#f-email"), email), chromedp.SendKeys(chromedp.CSS("#f-password"), dbtest.Password),
			chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS("header.topbar")),
			chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
			t.Fatalf("sign in as %s: %v", email, err)
		}
	}
	textOf := func(bctx context.Context, sel string) string {
		t.Helper()
		if err := chromedp.Do(bctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	// click presses sel and waits for then, an element of the next page.
	click := func(bctx context.Context, sel, then string) {
		t.Helper()
		if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(sel)), chromedp.WaitVisible(chromedp.CSS(then))); err != nil {
			t.Fatalf("click %s: %v", sel, err)
		}
	}

	// 1. The customer announces the shipment.
	cust := browser // the browser's language is English
	signIn(cust, fx.CustA.Email)
	if err := chromedp.Do(cust, chromedp.Navigate(base+"/shipments"), chromedp.WaitVisible(chromedp.CSS("#new-shipment"))); err != nil {
		t.Fatal(err)
	}
	click(cust, "#new-shipment", "#f-carrier")
	tomorrow := time.Now().AddDate(0, 0, 1).Format(time.DateOnly)
	if err := chromedp.Do(cust,
		chromedp.SendKeys(chromedp.CSS("#f-carrier"), "顺丰速运 SF Express"),
		chromedp.SendKeys(chromedp.CSS("#f-tracking"), "SF1402938475612"),
		chromedp.SetValue(chromedp.CSS("#f-parcels"), "2"),
		chromedp.SetValue(chromedp.CSS("#f-date"), tomorrow),
		chromedp.SendKeys(chromedp.CSS("#f-contents"), "两台服务器 two servers"),
		chromedp.SetValue(chromedp.CSS("#f-cabinet"), "A03"),
	); err != nil {
		t.Fatalf("fill the announcement: %v", err)
	}
	// The form starts with one collector row; "add a person" keeps what
	// was typed and adds a second, which left blank is dropped.
	if err := chromedp.Do(cust,
		chromedp.SendKeys(chromedp.CSS("#f-collector1_name"), "张伟"),
		chromedp.SetValue(chromedp.CSS("#f-collector1_id_type"), models.IDResident),
		chromedp.SendKeys(chromedp.CSS("#f-collector1_id_number"), "110101199003071233"),
		chromedp.SendKeys(chromedp.CSS("#f-collector1_phone"), "13812345678"),
	); err != nil {
		t.Fatalf("fill the collector: %v", err)
	}
	click(cust, "#add-collector", "#f-collector2_name")
	if got, _ := chromedp.Run(cust, chromedp.Evaluate[string](`document.querySelector('#f-collector1_id_number').value + '|' + document.querySelector('#f-tracking').value`)); got != "110101199003071233|SF1402938475612" {
		t.Errorf("after adding a person the form holds %q", got)
	}
	click(cust, "#send-shipment", "#shipment-state")
	page, err := chromedp.Run(cust, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(page, base+"/shipments/") {
		t.Fatalf("after announcing the browser is at %s: %s", page, textOf(cust, "main"))
	}
	if got := textOf(cust, "#shipment-state"); got != "Announced" {
		t.Errorf("the new shipment's state reads %q", got)
	}
	number := strings.Fields(textOf(cust, "main h1 .mono"))[0]
	if number != "SH-"+strconv.Itoa(time.Now().In(mustZone(t)).Year())+"-0001" {
		t.Errorf("number %q", number)
	}
	if body := textOf(cust, "main"); strings.Contains(body, "110101199003071233") || !strings.Contains(body, "110***********1233") {
		t.Errorf("the customer's page shows the collector's ID unmasked or not at all")
	}

	// 2. Reception scans the number and records the arrival.
	desk, cancelD := chromedp.NewContext(cust, chromedp.WithNewBrowserContext())
	defer cancelD()
	signIn(desk, fx.Reception.Email)
	if err := chromedp.Do(desk, chromedp.Navigate(base+"/reception/shipments"), chromedp.WaitVisible(chromedp.CSS("#f-tracking")),
		chromedp.SendKeys(chromedp.CSS("#f-tracking"), "sf 1402 9384 75612"+kb.Enter), chromedp.WaitVisible(chromedp.CSS("#f-storage_place"))); err != nil {
		t.Fatalf("scan the tracking number: %v", err)
	}
	if got := textOf(desk, "main h1 .mono"); got != number {
		t.Fatalf("the scan led to %q, want %s", got, number)
	}
	if !strings.Contains(textOf(desk, "#people"), "110101199003071233") {
		t.Error("reception does not see the collector's ID number to check it")
	}
	if err := chromedp.Do(desk, chromedp.SetValue(chromedp.CSS("#f-parcels"), "2"), chromedp.SendKeys(chromedp.CSS("#f-storage_place"), "前台货架 R2-3"),
		chromedp.SetValue(chromedp.CSS("#f-condition"), "good")); err != nil {
		t.Fatal(err)
	}
	click(desk, "#record-arrival", "#arrival")
	if got := textOf(desk, "#shipment-state"); got != "In store" {
		t.Errorf("after the arrival the desk's page reads %q: %s", got, textOf(desk, "main"))
	}

	// 3. The customer sees it, and is emailed.
	if err := chromedp.Do(cust, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#storage-place"))); err != nil {
		t.Fatal(err)
	}
	if got := textOf(cust, "#storage-place"); got != "前台货架 R2-3" {
		t.Errorf("the customer reads the place %q", got)
	}
	var mails []string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if mails = box.all(); len(mails) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20 s: %d emails, want 2 (the customer and the contact)", len(mails))
		}
	}
	seen := map[string]bool{}
	for _, raw := range mails {
		to, subject, body := readMail(t, raw)
		for _, addr := range []string{fx.CustA.Email, "sun.li@alpha.test"} {
			if strings.Contains(to, addr) {
				seen[addr] = true
			}
		}
		// Each in the recipient's language (the contact's is Chinese).
		if strings.Contains(to, "sun.li@alpha.test") && subject != "["+number+"] 货物已到达：2 件" {
			t.Errorf("subject to the contact %q", subject)
		}
		if !strings.HasPrefix(subject, "["+number+"] ") {
			t.Errorf("subject %q", subject)
		}
		for _, want := range []string{"前台货架 R2-3", page} {
			if !strings.Contains(body, want) {
				t.Errorf("the arrival email lacks %q:\n%s", want, body)
			}
		}
		if strings.Contains(body, "110101199003071233") {
			t.Error("the email shows the collector's ID number")
		}
	}
	if !seen[fx.CustA.Email] || !seen["sun.li@alpha.test"] {
		t.Errorf("emailed %v", seen)
	}

	// 4. A parcel nobody announced: no match; logged for the organization.
	if err := chromedp.Do(desk, chromedp.Navigate(base+"/reception/shipments"), chromedp.WaitVisible(chromedp.CSS("#f-tracking")),
		chromedp.SendKeys(chromedp.CSS("#f-tracking"), "zt 7531 0086"+kb.Enter), chromedp.WaitVisible(chromedp.CSS("#no-match"))); err != nil {
		t.Fatalf("scan an unknown number: %v", err)
	}
	click(desk, "#log-this", "#f-org")
	if err := chromedp.Do(desk, chromedp.SetValue(chromedp.CSS("#f-org"), strconv.FormatInt(fx.OrgA.ID, 10)), chromedp.SendKeys(chromedp.CSS("#f-carrier"), "中通快递 ZTO"),
		chromedp.SendKeys(chromedp.CSS("#f-storage_place"), "R3"), chromedp.SetValue(chromedp.CSS("#f-condition"), "wet"), chromedp.SendKeys(chromedp.CSS("#f-condition_note"), "外箱受潮")); err != nil {
		t.Fatal(err)
	}
	click(desk, "#record-arrival", "#arrival")
	if got := textOf(desk, "#shipment-tracking"); got != "ZT75310086" {
		t.Errorf("the unannounced parcel's tracking number reads %q", got)
	}
	// The first parcel, received, is no longer offered for arrival nor
	// to be logged again: a second scan shows it in store, to be collected.
	if err := chromedp.Do(desk, chromedp.Navigate(base+"/reception/shipments?tracking=SF1402938475612"), chromedp.WaitVisible(chromedp.CSS("#collect-h"))); err != nil {
		t.Fatalf("a second scan of a received parcel: %v", err)
	}
	if err := chromedp.Do(cust, chromedp.Navigate(base+"/shipments"), chromedp.WaitVisible(chromedp.CSS("table.shipments"))); err != nil {
		t.Fatal(err)
	}
	if list := textOf(cust, "table.shipments"); !strings.Contains(list, "ZT75310086") || !strings.Contains(list, "Unannounced") {
		t.Errorf("the customer's list lacks the unannounced parcel: %s", list)
	}
}

func mustZone(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
