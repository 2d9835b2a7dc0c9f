package handlers_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/colo-portal/portal/models"
)

// browserStepTimeout bounds one page step (a click and the page it loads, a
// download): far above what a step takes, so that only a hang fails.
const browserStepTimeout = 30 * time.Second

// The customer asks for work on a device, downloads the authorization form;
// the engineer uploads the signed scan, accepts it, answers within the
// first-feedback clock and does the work; the customer then downloads the
// report. Two people, two browser contexts, one in English for a step.
func TestBrowserCustomerRequestsOperationEngineerAuthorizesAndCompletesIt(t *testing.T) {
	base, fx, store := startPortalStore(t)
	ctx := context.Background()
	sys := models.SystemActor("test")
	dev, err := store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: fx.OrgA.ID, Name: "web-01", Address: "127.0.0.20", Cabinet: "A-07"})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := store.CreateContact(ctx, sys, fx.OrgA.ID, models.ContactInput{Name: "孙丽 Sun Li", Title: "运维主管", Email: "sun.li@alpha.test",
		Channels: []models.Channel{models.ChannelEmail}, MayAuthorize: true, Passphrase: passphrase})
	if err != nil {
		t.Fatal(err)
	}
	const (
		title    = "更换 web-01 硬盘 Replace failed disk"
		work     = "更换 2 号槽位的故障硬盘并重建 RAID 1。Replace the failed disk in slot 2 and rebuild RAID 1."
		reply    = "您好，工程师已收到授权，15 分钟后到机柜 A-07 更换硬盘。"
		workDone = "已更换 2 号槽位硬盘，RAID 1 重建完成。Disk in slot 2 replaced, RAID 1 rebuilt."
	)

	cust := newBrowser(t)
	downloads := allowDownloads(t, cust)

	// 1. The customer asks for the work.
	signInInBrowser(t, cust, base, fx.CustA.Email)
	clickAndLoad(t, cust, `nav a[href="/operations"]`)
	clickAndLoad(t, cust, `a[href="/operations/new"]`)
	err = chromedp.Do(cust,
		chromedp.WaitVisible(chromedp.CSS("#f-title")),
		chromedp.SendKeys(chromedp.CSS("#f-title"), title),
		chromedp.SendKeys(chromedp.CSS("#f-work"), work),
		chromedp.Click(chromedp.CSS(`input[name=devices][value="`+strconv.FormatInt(dev.ID, 10)+`"]`)),
	)
	if err != nil {
		t.Fatalf("fill the request form: %v", err)
	}
	clickAndLoad(t, cust, `main form button[type=submit]`)
	reqURL, err := chromedp.Run(cust, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	reqPath := strings.TrimPrefix(reqURL, base)
	if !strings.HasPrefix(reqPath, "/operations/") || strings.HasSuffix(reqPath, "/new") {
		t.Fatalf("after submitting the request the browser is at %s, want the request's page", reqURL)
	}
	if s := text(t, cust, "#op-state"); s != "等待授权" {
		t.Errorf("state badge of the new request reads %q, want 等待授权", s)
	}
	if h1 := text(t, cust, "main h1"); !strings.Contains(h1, title) {
		t.Errorf("request heading %q lacks the title %q", h1, title)
	}
	if s := text(t, cust, "[role=status]"); !strings.Contains(s, "申请已提交") {
		t.Errorf("after submitting, the notice reads %q", s)
	}
	if body := text(t, cust, "main"); !strings.Contains(body, work) || !strings.Contains(body, dev.Name) {
		t.Errorf("request page lacks the work or the device: %.400q", body)
	}
	if n := countNodes(t, cust, "#f-file"); n != 0 {
		t.Errorf("the customer's page has the engineer's upload form")
	}
	if s := text(t, cust, "#return-form"); !strings.Contains(s, testProvider.Name) || !strings.Contains(s, "forms@idc.example") {
		t.Errorf("the return card does not say who the form goes back to: %q", s)
	}
	shot(t, cust, "operation-customer-awaiting-zh")

	// 2. The customer downloads the authorization form to have it signed.
	form := downloadByClick(t, cust, downloads, "#form-pdf")
	if !bytes.HasPrefix(form, []byte("%PDF-")) {
		t.Fatalf("the authorization form is not a PDF: %.20q", form)
	}
	if txt := pdfText(t, form); txt != "" {
		for _, want := range []string{title, signer.Name, fx.OrgA.Name, testProvider.Name, "forms@idc.example"} {
			if !strings.Contains(squashSpace(txt), squashSpace(want)) {
				t.Errorf("authorization form lacks %q; its text:\n%s", want, txt)
			}
		}
	}

	// 3. The customer uploads the signed scan on the request's page.
	scan := filepath.Join(t.TempDir(), "签字授权书-scan.png")
	if err := os.WriteFile(scan, pngOf(t, 60, 80), 0o600); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(cust,
		chromedp.WaitVisible(chromedp.CSS("#f-return_contact")),
		chromedp.SetValue(chromedp.CSS("#f-return_contact"), strconv.FormatInt(signer.ID, 10)),
		chromedp.SetUploadFiles(chromedp.CSS("#f-return-file"), []string{scan}),
	)
	if err != nil {
		t.Fatalf("fill the return form: %v", err)
	}
	clickAndLoad(t, cust, `#return-form form button[type=submit]`)
	if s := text(t, cust, "[role=status]"); !strings.Contains(s, "签署的授权书已上传") {
		t.Errorf("after the upload, the notice reads %q", s)
	}
	if rows := text(t, cust, "table.authorizations tbody"); !strings.Contains(rows, "签字授权书-scan.png") || !strings.Contains(rows, "待核验") {
		t.Errorf("after the upload the customer's authorizations read %q", rows)
	}
	if n := countNodes(t, cust, `form[action$="/accept"]`); n != 0 {
		t.Errorf("the customer may accept their own form")
	}
	shot(t, cust, "operation-customer-returned-zh")

	// 4. The engineer, in a browser context of their own, checks the signer,
	// accepts the scan and does the work.
	eng, cancel := chromedp.NewContext(cust, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	signInInBrowser(t, eng, base, fx.Engineer.Email)
	clickAndLoad(t, eng, `nav a[href="/operations"]`)
	clickAndLoad(t, eng, `table.operations a[href="`+reqPath+`"]`)
	rows := text(t, eng, "table.authorizations tbody")
	for _, want := range []string{signer.Name, "签字授权书-scan.png", "待核验", fx.CustA.Name} {
		if !strings.Contains(rows, want) {
			t.Errorf("the engineer sees the authorizations %q, want %q in them", rows, want)
		}
	}
	if n := countNodes(t, eng, `form[action$="/accept"]`); n != 1 {
		t.Fatalf("%d accept buttons after the upload, want 1", n)
	}
	shot(t, eng, "operation-engineer-pending-zh")

	// The one step in English: the engineer reads the pending scan and
	// accepts it with the page in English.
	switchLanguage(t, eng, "en")
	if rows := text(t, eng, "table.authorizations tbody"); !strings.Contains(rows, "Waiting for check") {
		t.Errorf("in English the pending authorization reads %q", rows)
	}
	// Accepting asks first, in a dialog that says what it changes;
	// cancelling leaves everything as it was.
	confirmInDialog(t, eng, `form[action$="/accept"] button[type=submit]`, false, signer.Name, "first-feedback clock")
	if s := text(t, eng, "#op-state"); s != "Awaiting authorization" {
		t.Errorf("after cancelling, the state reads %q", s)
	}
	confirmInDialog(t, eng, `form[action$="/accept"] button[type=submit]`, true, signer.Name)
	if s := text(t, eng, "[role=status]"); !strings.Contains(s, "Authorization accepted") {
		t.Errorf("after accepting, the notice reads %q", s)
	}
	if s := text(t, eng, "#op-state"); s != "Authorized" {
		t.Errorf("after accepting, the state reads %q, want Authorized", s)
	}
	if s := text(t, eng, "#feedback-clock"); !strings.Contains(s, "Running") || !strings.Contains(s, "left") {
		t.Errorf("after accepting, the first-feedback clock reads %q, want it running", s)
	}
	shot(t, eng, "operation-engineer-accepted-en")
	switchLanguage(t, eng, "zh-CN")
	if s := text(t, eng, "#feedback-clock"); !strings.Contains(s, "计时中") {
		t.Errorf("the first-feedback clock reads %q, want 计时中", s)
	}

	// The first message to the customer stops the clock in time.
	if err := chromedp.Do(eng, chromedp.SendKeys(chromedp.CSS("#f-body"), reply)); err != nil {
		t.Fatalf("write the message: %v", err)
	}
	clickAndLoad(t, eng, `form[action$="/messages"] button[type=submit]`)
	if s := text(t, eng, "#timeline"); !strings.Contains(s, reply) {
		t.Errorf("the timeline lacks the message: %q", s)
	}
	if s := text(t, eng, "#feedback-clock"); !strings.Contains(s, "已达标") {
		t.Errorf("after the first message the clock reads %q, want 已达标", s)
	}

	// The work starts, then ends.
	err = chromedp.Do(eng, chromedp.Click(chromedp.CSS(`input[name=state][value="in_progress"]`)))
	if err != nil {
		t.Fatalf("pick in progress: %v", err)
	}
	clickAndLoad(t, eng, `form[action$="/state"] button[type=submit]`)
	if s := text(t, eng, "#op-state"); s != "操作中" {
		t.Fatalf("after starting the work the state reads %q, want 操作中", s)
	}
	err = chromedp.Do(eng,
		chromedp.Click(chromedp.CSS(`input[name=state][value="completed"]`)),
		chromedp.SendKeys(chromedp.CSS("#f-work_done"), workDone),
		chromedp.SetValue(chromedp.CSS("#f-result"), "success"),
	)
	if err != nil {
		t.Fatalf("fill the completion: %v", err)
	}
	confirmInDialog(t, eng, `form[action$="/state"] button[type=submit]`, true, "报告")
	if s := text(t, eng, "#op-state"); s != "已完成" {
		t.Fatalf("after completing the work the state reads %q, want 已完成; the page reads %.600q", s, text(t, eng, "main"))
	}
	shot(t, eng, "operation-engineer-completed-zh")

	// 5. The customer sees the finished work and downloads the report.
	if err := chromedp.Do(cust, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#report-pdf"))); err != nil {
		t.Fatalf("reload the request: %v", err)
	}
	if s := text(t, cust, "#op-state"); s != "已完成" {
		t.Errorf("the customer sees the state %q, want 已完成", s)
	}
	body := text(t, cust, "main")
	for _, want := range []string{workDone, "成功", reply, fx.Engineer.Name} {
		if !strings.Contains(body, want) {
			t.Errorf("the customer's finished request lacks %q", want)
		}
	}
	shot(t, cust, "operation-customer-completed-zh")
	report := downloadByClick(t, cust, downloads, "#report-pdf")
	if !bytes.HasPrefix(report, []byte("%PDF-")) {
		t.Fatalf("the report is not a PDF: %.20q", report)
	}
	if txt := pdfText(t, report); txt != "" {
		for _, want := range []string{"操作情况报告", title, workDone, signer.Name} {
			if !strings.Contains(squashSpace(txt), squashSpace(want)) {
				t.Errorf("report lacks %q; its text:\n%s", want, txt)
			}
		}
	}
}

// clickAndLoad clicks sel and waits for the page that the click loads
// (a link, or a form whose answer redirects), then for its heading.
func clickAndLoad(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, browserStepTimeout)
	defer cancel()
	_, err := chromedp.Run(sctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel))))
	if err == nil {
		err = chromedp.Do(sctx, chromedp.WaitVisible(chromedp.CSS("main h1")))
	}
	if err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("click %s (at %s): %v", sel, loc, err)
	}
}

// confirmInDialog clicks sel, expects the confirmation dialog with want
// in it, and confirms (waiting for the next page) or cancels.
func confirmInDialog(t *testing.T, ctx context.Context, sel string, yes bool, want ...string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, browserStepTimeout)
	defer cancel()
	if err := chromedp.Do(sctx, chromedp.Click(chromedp.CSS(sel)), chromedp.WaitVisible(chromedp.CSS("dialog#confirm-dialog[open]"))); err != nil {
		t.Fatalf("click %s: no confirmation dialog: %v", sel, err)
	}
	body := text(t, ctx, "dialog#confirm-dialog")
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("the confirmation reads %q, want %q in it", body, w)
		}
	}
	shot(t, ctx, "confirm-dialog")
	if !yes {
		if err := chromedp.Do(sctx, chromedp.Click(chromedp.CSS("#confirm-dialog-cancel")), chromedp.WaitNotPresent(chromedp.CSS("dialog#confirm-dialog"))); err != nil {
			t.Fatalf("cancel the confirmation: %v", err)
		}
		return
	}
	clickAndLoad(t, ctx, "#confirm-dialog-ok")
}

// allowDownloads makes the browser of ctx save downloads, each named by
// its GUID, in a fresh folder, and report their progress.
func allowDownloads(t *testing.T, ctx context.Context) string {
	t.Helper()
	dir := t.TempDir()
	_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: new(true)})
	if err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	return dir
}

// downloadByClick clicks the link sel and returns the file that the browser
// saves in dir, once it is complete.
func downloadByClick(t *testing.T, ctx context.Context, dir, sel string) []byte {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, browserStepTimeout)
	defer cancel()
	events := chromedp.BrowserEvents(sctx, browser.DownloadProgress)
	if err := chromedp.Do(sctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
	for ev, err := range events {
		if err != nil {
			t.Fatalf("download from %s: %v", sel, err)
		}
		switch ev.State {
		case browser.DownloadProgressStateCompleted:
			b, err := os.ReadFile(filepath.Join(dir, ev.GUID))
			if err != nil {
				t.Fatalf("download from %s: %v", sel, err)
			}
			return b
		case browser.DownloadProgressStateCanceled:
			t.Fatalf("download from %s was canceled", sel)
		}
	}
	t.Fatalf("download from %s: no completed download", sel)
	return nil
}

// countNodes is how many elements match sel on the page now.
func countNodes(t *testing.T, ctx context.Context, sel string) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(sel)+`).length`))
	if err != nil {
		t.Fatalf("count %s: %v", sel, err)
	}
	return n
}

// squashSpace drops white space, which a PDF's text breaks and spreads where
// its lines wrap.
func squashSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}
