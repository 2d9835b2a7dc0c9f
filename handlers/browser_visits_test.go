package handlers_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views/pdf/pdftest"
)

// A visit from request to departure, in two browsers: the customer asks
// for a visit of two visitors through the form (the second row added with
// "add a visitor"), reception approves it with an escort, the customer
// downloads the passes, reception scans the first one into the scanner
// field on the day's page, hands out a badge, checks the visitor out with
// the badge back, and no badge is left out.
//
// The store's clock runs with real time but shifted to 10:00 of a day
// (UTC, the test's zone), so that a visit from 14:00 to 16:00 is within
// the site's hours and the notice, and on the day the passes are valid,
// whatever hour the test runs at.
func TestBrowserCustomerRequestsAVisitReceptionApprovesScansAndChecksOut(t *testing.T) {
	now := time.Now().UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 10, 0, 0, 0, time.UTC)
	if day.Before(now) {
		day = day.AddDate(0, 0, 1)
	}
	shift := day.Sub(now)
	base, fx, store := startPortalStore(t, models.WithClock(func() time.Time { return time.Now().Add(shift) }))
	ctx := context.Background()
	dev, err := store.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: fx.OrgA.ID, Name: "web-01", Address: "127.0.0.20", Cabinet: "A-07"})
	if err != nil {
		t.Fatal(err)
	}
	const (
		reason   = "更换 web-01 故障硬盘 Replace the failed disk of web-01"
		passport = "E12345678"
	)
	local := func(hour int) string { return day.Add(time.Duration(hour-10) * time.Hour).Format("2006-01-02T15:04") }

	cust := newBrowser(t)
	downloads := allowDownloads(t, cust)

	// 1. The customer asks for the visit.
	signInInBrowser(t, cust, base, fx.CustA.Email)
	clickAndLoad(t, cust, `nav a[href="/visits"]`)
	clickAndLoad(t, cust, `#new-visit`)
	err = chromedp.Do(cust,
		chromedp.SetValue(chromedp.CSS("#f-activity"), "operation"),
		chromedp.SendKeys(chromedp.CSS("#f-reason"), reason),
		chromedp.SetValue(chromedp.CSS("#f-planned_from"), local(14)),
		chromedp.SetValue(chromedp.CSS("#f-planned_to"), local(16)),
		chromedp.SendKeys(chromedp.CSS("#f-visitor1_name"), "张伟"),
		chromedp.SendKeys(chromedp.CSS("#f-visitor1_company"), "阿尔法科技"),
		chromedp.SetValue(chromedp.CSS("#f-visitor1_id_type"), models.IDResident),
		chromedp.SendKeys(chromedp.CSS("#f-visitor1_id_number"), visitorResident),
		chromedp.SendKeys(chromedp.CSS("#f-visitor1_phone"), "13812345678"),
	)
	if err != nil {
		t.Fatalf("fill the first visitor: %v", err)
	}
	clickAndLoad(t, cust, "#add-visitor")
	if n := countNodes(t, cust, "fieldset.visitor"); n != 2 {
		t.Fatalf("after adding a visitor the form has %d visitor rows, want 2", n)
	}
	if got, _ := chromedp.Run(cust, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ''`)); got != "f-visitor2_name" {
		t.Errorf("after adding a visitor %q is focused, want the new row's name", got)
	}
	err = chromedp.Do(cust,
		chromedp.SendKeys(chromedp.CSS("#f-visitor2_name"), "Anna Berg"),
		chromedp.SendKeys(chromedp.CSS("#f-visitor2_company"), "Alpha GmbH"),
		chromedp.SetValue(chromedp.CSS("#f-visitor2_id_type"), "passport"),
		chromedp.SendKeys(chromedp.CSS("#f-visitor2_id_number"), passport),
		chromedp.SendKeys(chromedp.CSS("#f-visitor2_phone"), "+49 30 1234567"),
		chromedp.SetValue(chromedp.CSS("#f-visitor2_locale"), "en"),
		chromedp.Click(chromedp.CSS(`input[name=devices][value="`+ids(dev.ID)+`"]`)),
		chromedp.Click(chromedp.CSS(`input[name=needs][value="tools"]`)),
		chromedp.SendKeys(chromedp.CSS("#f-need_tools"), "扭力螺丝刀"),
	)
	if err != nil {
		t.Fatalf("fill the second visitor, the device and the need: %v", err)
	}
	// What was typed before "add a visitor" is still there.
	if got, _ := chromedp.Run(cust, chromedp.Evaluate[string](`document.querySelector('#f-reason').value + '|' + document.querySelector('#f-planned_from').value + '|' + document.querySelector('#f-visitor1_id_number').value`)); got != reason+"|"+local(14)+"|"+visitorResident {
		t.Errorf("after adding a visitor the form holds %q", got)
	}
	clickAndLoad(t, cust, "#send-visit")
	visitURL, err := chromedp.Run(cust, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	ref := visitURL[strings.LastIndex(visitURL, "/")+1:]
	if !strings.HasPrefix(strings.TrimPrefix(visitURL, base), "/visits/") || len(ref) != 16 {
		t.Fatalf("after sending the request the browser is at %s, want the visit's page; it reads %.600q", visitURL, text(t, cust, "main"))
	}
	if s := text(t, cust, "#visit-state"); s != "待审批" {
		t.Errorf("the new visit's state reads %q, want 待审批", s)
	}
	if s := text(t, cust, "[role=status]"); !strings.Contains(s, "来访申请已提交") {
		t.Errorf("after sending, the notice reads %q", s)
	}
	wantIn(t, cust, "table.visitors", "张伟", "Anna Berg", visitorMasked, models.MaskID(passport))
	wantIn(t, cust, "main", reason, dev.Name, "扭力螺丝刀")
	if body := text(t, cust, "main"); strings.Contains(body, visitorResident) || strings.Contains(body, passport) {
		t.Errorf("the customer's visit page shows an identity number in full")
	}
	if n := countNodes(t, cust, "#visit-pass"); n != 0 {
		t.Errorf("a pending visit offers its passes")
	}
	shot(t, cust, "visit-customer-pending-zh")
	v, err := store.GetVisitByRef(ctx, models.OrgScope(fx.OrgA.ID), ref)
	if err != nil {
		t.Fatal(err)
	}

	// 2. Reception, in a browser context of its own, finds it in the queue
	// and approves it with the engineer as escort.
	desk, cancel := chromedp.NewContext(cust, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// Reception's home page is its queue.
	signInInBrowser(t, desk, base, fx.Reception.Email)
	wantIn(t, desk, "table.reception-queue", v.Number(), fx.OrgA.Name, fx.CustA.Name)
	clickAndLoad(t, desk, `table.reception-queue a[href="/reception/visits/`+ref+`"]`)
	// Reception sees the identity numbers in full.
	wantIn(t, desk, "main", "张伟", visitorResident, "Anna Berg", passport, "扭力螺丝刀")
	err = chromedp.Do(desk, chromedp.SetValue(chromedp.CSS("#f-escort"), ids(fx.Engineer.ID)))
	if err != nil {
		t.Fatalf("pick the escort: %v", err)
	}
	clickAndLoad(t, desk, `form[action$="/approve"] button[type=submit]`)
	if s := text(t, desk, "[role=status]"); !strings.Contains(s, "已批准该来访") {
		t.Errorf("after approving, the notice reads %q; the page reads %.600q", s, text(t, desk, "main"))
	}
	if n := countNodes(t, desk, `table.reception-queue a[href="/reception/visits/`+ref+`"]`); n != 0 {
		t.Errorf("the approved visit is still in the queue")
	}
	wantIn(t, desk, "#reception-upcoming", v.Number(), fx.Engineer.Name)
	shot(t, desk, "visit-reception-approved-zh")

	// 3. The customer sees it approved and downloads the passes.
	if err := chromedp.Do(cust, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#visit-pass"))); err != nil {
		t.Fatalf("reload the visit: %v", err)
	}
	if s := text(t, cust, "#visit-state"); s != "已批准" {
		t.Errorf("the approved visit's state reads %q, want 已批准", s)
	}
	wantIn(t, cust, "#visit-escort", fx.Engineer.Name)
	shot(t, cust, "visit-customer-approved-zh")
	pass := downloadByClick(t, cust, downloads, "#visit-pass")
	if !bytes.HasPrefix(pass, []byte("%PDF-")) {
		t.Fatalf("the pass is not a PDF: %.20q", pass)
	}
	tokens := pdftest.QRTokens(t, pass)
	if len(tokens) != 2 || tokens[0] == tokens[1] {
		t.Fatalf("QR codes on the passes: %q, want two different ones", tokens)
	}
	if txt := pdfText(t, pass); txt != "" {
		flat := squashSpace(txt)
		for _, want := range []string{"张伟", "AnnaBerg", visitorMasked, fx.OrgA.Name, fx.Engineer.Name} {
			if !strings.Contains(flat, squashSpace(want)) {
				t.Errorf("the passes lack %q; their text:\n%s", want, txt)
			}
		}
		if strings.Contains(flat, visitorResident) || strings.Contains(flat, passport) {
			t.Errorf("the passes show an identity number in full:\n%s", txt)
		}
	}

	// 4. Reception scans the first pass on the day's page: the scanner
	// types into the focused field and presses Enter.
	clickAndLoad(t, desk, `nav a[href="/reception/today"]`)
	d, err := store.VisitDetailOf(ctx, models.OrgScope(fx.OrgA.ID), v, false)
	if err != nil || len(d.Visitors) != 2 {
		t.Fatalf("visitors %v, %v", d, err)
	}
	first := ids(d.Visitors[0].Visitor.ID)
	wantIn(t, desk, "#visitor-"+first, "张伟", visitorMasked, v.Number())
	wantIn(t, desk, "#visitor-"+ids(d.Visitors[1].Visitor.ID), "Anna Berg")
	if err := chromedp.Do(desk, chromedp.WaitVisible(chromedp.CSS("#f-token")), chromedp.KeyEvent(tokens[0]+kb.Enter)); err != nil {
		t.Fatal(err)
	}
	waitForURL(t, desk, "done=in")
	wantIn(t, desk, ".alert.ok", "张伟", v.Number(), fx.Engineer.Name)
	wantIn(t, desk, "#inside-h", "1")
	wantIn(t, desk, "#visitor-"+first, "张伟", fx.Engineer.Name)
	// The second visitor is still expected.
	wantIn(t, desk, "#expected-h", "1")
	shot(t, desk, "visit-reception-scanned-zh")

	// 5. The badge handed out, then the visitor leaves with it returned.
	if err := chromedp.Do(desk, chromedp.SendKeys(chromedp.CSS("#hand-"+first), "B-07"+kb.Enter)); err != nil {
		t.Fatal(err)
	}
	waitForURL(t, desk, "done=handed")
	wantIn(t, desk, ".alert.ok", "B-07", "张伟")
	wantIn(t, desk, "#visitor-"+first, "B-07")
	returned, err := chromedp.Run(desk, chromedp.Evaluate[bool](`document.querySelector('#visitor-`+first+` input[name=badge_returned]').checked`))
	if err != nil || !returned {
		t.Fatalf("the check-out form does not start with the badge returned (%v)", err)
	}
	clickAndLoad(t, desk, `#visitor-`+first+` form[action$="/checkout"] button[type=submit]`)
	waitForURL(t, desk, "done=out")
	wantIn(t, desk, ".alert.ok", "张伟", v.Number())
	wantIn(t, desk, "#inside-h", "0")
	wantIn(t, desk, "#badges-h", "0")
	wantIn(t, desk, "section[aria-labelledby=badges-h]", "胸卡已全部归还")
	wantAbsent(t, desk, "#visitor-"+first)
	shot(t, desk, "visit-reception-out-zh")

	b, err := store.TodayBoard(ctx, models.AllOrgs(), store.Now())
	if err != nil || len(b.Inside)+len(b.Badges) != 0 || len(b.Expected) != 1 {
		t.Fatalf("the board after the first visitor left: %+v, %v", b, err)
	}
	d, err = store.VisitDetailOf(ctx, models.OrgScope(fx.OrgA.ID), v, false)
	if err != nil {
		t.Fatal(err)
	}
	x := d.Visitors[0].Visitor
	if x.CheckedInAt == nil || x.CheckedOutAt == nil || x.BadgeReturnedAt == nil || x.BadgeNumber != "B-07" || x.EscortPresentID == nil || *x.EscortPresentID != fx.Engineer.ID {
		t.Errorf("the first visitor after the visit: in %v, out %v, badge %q returned %v, escort %v", x.CheckedInAt, x.CheckedOutAt, x.BadgeNumber, x.BadgeReturnedAt, x.EscortPresentID)
	}

	// 6. The customer's page says the visit is under way (no change, no
	// cancel, the second visitor's pass still offered); the list shows the
	// actual times.
	if err := chromedp.Do(cust, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#visit-next"))); err != nil {
		t.Fatal(err)
	}
	wantIn(t, cust, "#visit-next", "来访正在进行")
	if countNodes(t, cust, "#visit-pass") != 1 || countNodes(t, cust, "#edit-visit")+countNodes(t, cust, "#cancel-visit") != 0 {
		t.Errorf("the visit under way offers: passes %d, change %d, cancel %d; want only the passes",
			countNodes(t, cust, "#visit-pass"), countNodes(t, cust, "#edit-visit"), countNodes(t, cust, "#cancel-visit"))
	}
	clickAndLoad(t, cust, `nav a[href="/visits"]`)
	wantIn(t, cust, "table.visits", v.Number())
	if s := text(t, cust, "table.visits"); strings.Contains(s, "未入场") {
		t.Errorf("after a visitor came and went the list reads %q", s)
	}
}
