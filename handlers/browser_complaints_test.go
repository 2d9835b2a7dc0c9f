package handlers_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/colo-portal/portal/models"
)

// A complaint about a named engineer, in three browsers: the customer
// files it through the form (a Chinese subject, a script tag and SQL in
// the description) and sees the 24-hour clock running; the service desk
// finds it in its queue, writes the handling report and resolves it; the
// customer reads the report as written, with no script run, and confirms
// the resolution. The engineer it names gets 404 on its page and finds it
// in no list, filter, home page or count, while a complaint of the same
// organization that does not name him is there: the pages would show it.
func TestBrowserCustomerComplainsAboutAnEngineerDeskRespondsCustomerConfirms(t *testing.T) {
	base, fx, store := startPortalStore(t)
	ctx := context.Background()
	const (
		subject     = "值班工程师态度恶劣，拒绝协助重启服务器"
		description = "3 月 2 日夜间电话求助时工程师挂断电话。\n<script>alert(1)</script>\n'; DROP TABLE complaints; --"
		found       = "经核查通话记录，工程师确实提前结束了通话。<img src=x onerror=alert(2)>"
		done        = "已与当事工程师谈话，并重新安排人员协助重启。"
		next        = "下周起夜班电话全程录音，每周抽查。"
		summary     = "已书面致歉并调整夜班安排。'; DELETE FROM complaints; --"
	)
	// A complaint of the same organization that names nobody: the
	// engineer's pages count and list it, so that a page leaving out the
	// named one is not simply empty.
	other, err := store.CreateComplaint(ctx, models.UserActor(fx.CustA, "192.0.2.10"), fx.OrgA.ID, models.ComplaintInput{
		Category: models.ComplaintNetwork, Subject: "机柜 A-07 上联丢包 Packet loss on A-07", Description: "每晚 21 点前后丢包。"})
	if err != nil {
		t.Fatal(err)
	}

	cust := newBrowserTimeout(t, 150*time.Second)
	signInInBrowser(t, cust, base, fx.CustA.Email)
	// Any alert, confirm or prompt the page's text might run marks the
	// page instead of opening a dialog.
	if _, err := chromedp.Call(cust, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `(function(){var hit=function(){window.__alerted=true;document.title='ALERTED';};window.alert=hit;window.confirm=hit;window.prompt=hit;})()`}); err != nil {
		t.Fatalf("watch for alerts: %v", err)
	}

	// 1. The customer files the complaint about the engineer, chosen by
	// name in the staff list.
	clickAndLoad(t, cust, `nav a[href="/complaints"]`)
	clickAndLoad(t, cust, "#new-complaint")
	wantIn(t, cust, "#f-named_user", fx.Engineer.Name, fx.Service.Name)
	err = chromedp.Do(cust,
		chromedp.Click(chromedp.CSS(`input[name=category][value="`+models.ComplaintEmployee+`"]`)),
		chromedp.SetValue(chromedp.CSS("#f-named_user"), ids(fx.Engineer.ID)),
		chromedp.SendKeys(chromedp.CSS("#f-subject"), subject),
		chromedp.SendKeys(chromedp.CSS("#f-description"), description),
	)
	if err != nil {
		t.Fatalf("fill the complaint: %v", err)
	}
	clickAndLoad(t, cust, `form[action="/complaints/new"] button[type=submit]`)
	loc, err := chromedp.Run(cust, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	ref := loc[strings.LastIndex(loc, "/")+1:]
	if !strings.HasPrefix(strings.TrimPrefix(loc, base), "/complaints/") || ref == "new" {
		t.Fatalf("after filing the browser is at %s; the page reads %.600q", loc, text(t, cust, "main"))
	}
	cp, err := store.GetComplaintByRef(ctx, models.Viewer{Scope: models.OrgScope(fx.OrgA.ID), UserID: fx.CustA.ID}, ref)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Subject != subject || crlf.Replace(cp.Description) != description || cp.NamedUserID == nil || *cp.NamedUserID != fx.Engineer.ID {
		t.Fatalf("stored: subject %q, description %q, named %v", cp.Subject, cp.Description, cp.NamedUserID)
	}
	// (A browser sends a textarea's line breaks as CR LF; which of the two
	// the store keeps is not this test's business.)
	number := cp.Number()
	if s := text(t, cust, "[role=status]"); !strings.Contains(s, "投诉已提交") {
		t.Errorf("after filing the notice reads %q", s)
	}
	if s := text(t, cust, "#complaint-state"); s != "待答复" {
		t.Errorf("the new complaint's state reads %q, want 待答复", s)
	}
	wantIn(t, cust, "#complaint-clock", "计时中", "剩余")
	wantIn(t, cust, "main h1", number, subject)
	wantIn(t, cust, "main", fx.Engineer.Name)
	checkVerbatim(t, cust, "#complaint-description", description)
	shot(t, cust, "complaint-customer-open-zh")

	// 2. The service desk, in a browser context of its own, finds it at
	// the head of its home page and in the queue.
	desk, cancelDesk := chromedp.NewContext(cust, chromedp.WithNewBrowserContext())
	t.Cleanup(cancelDesk)
	signInInBrowser(t, desk, base, fx.Service.Email)
	wantIn(t, desk, "#home-complaints", number, subject, "待答复 2 项")
	clickAndLoad(t, desk, `nav a[href="/complaints"]`)
	wantIn(t, desk, "#complaint-counts", "待答复 2 项")
	wantIn(t, desk, "#complaint-queue", number, subject, other.Number())

	// The engineer it names, signed in meanwhile, does not see it while it
	// is open: each of his counts is the desk's less this complaint.
	eng, cancelEng := chromedp.NewContext(cust, chromedp.WithNewBrowserContext())
	t.Cleanup(cancelEng)
	signInInBrowser(t, eng, base, fx.Engineer.Email)
	noTrace := func(where string) {
		t.Helper()
		body := text(t, eng, "body")
		for _, s := range []string{number, subject, ref} {
			if strings.Contains(body, s) {
				t.Errorf("the named engineer's %s shows %q", where, s)
			}
		}
	}
	engineerSees := func(state string) {
		t.Helper()
		navigate(t, eng, base+"/")
		noTrace("home page")
		resp, err := chromedp.Run(eng, chromedp.NavigateResponse(base+"/complaints/"+ref))
		if err != nil {
			t.Fatalf("open the complaint: %v", err)
		}
		if resp.Status != 404 {
			t.Errorf("the complaint %s: the named engineer gets %d on its page, want 404", state, resp.Status)
		}
		noTrace("page at the complaint's address")
		// Counts: open, overdue, answered, resolved.
		bucket := map[string]int{models.ComplaintOpen: 0, models.ComplaintResponded: 2, models.ComplaintResolved: 3}
		for _, q := range []string{"", "?category=" + models.ComplaintEmployee, "?org=" + ids(fx.OrgA.ID), "?assignee=none"} {
			want := complaintCounts(t, desk, base+"/complaints"+q)
			if i, ok := bucket[state]; ok {
				want[i]--
			}
			got := complaintCounts(t, eng, base+"/complaints"+q)
			if got != want {
				t.Errorf("the complaint %s: on /complaints%s the named engineer counts %v, want the desk's less it: %v", state, q, got, want)
			}
			noTrace("/complaints" + q)
			if q == "" {
				wantIn(t, eng, "main", other.Number())
			}
		}
		for _, st := range models.ComplaintStates {
			navigate(t, eng, base+"/complaints?state="+st+"&category="+models.ComplaintEmployee)
			noTrace("/complaints?state=" + st)
		}
	}
	engineerSees(models.ComplaintOpen)
	navigate(t, desk, base+"/complaints")
	clickAndLoad(t, desk, `#complaint-queue a[href="/complaints/`+ref+`"]`)
	checkVerbatim(t, desk, "#complaint-description", description)
	err = chromedp.Do(desk,
		chromedp.SendKeys(chromedp.CSS("#f-found"), found),
		chromedp.SendKeys(chromedp.CSS("#f-done"), done),
		chromedp.SendKeys(chromedp.CSS("#f-next"), next),
	)
	if err != nil {
		t.Fatalf("write the report: %v", err)
	}
	clickAndLoad(t, desk, `form[action$="/report"] button[type=submit]`)
	if s := text(t, desk, "[role=status]"); !strings.Contains(s, "处理报告已发送给客户") {
		t.Errorf("after the report the notice reads %q; the page reads %.600q", s, text(t, desk, "main"))
	}
	if s := text(t, desk, "#complaint-state"); s != "已答复" {
		t.Errorf("after the report the state reads %q, want 已答复", s)
	}
	wantIn(t, desk, "#complaint-clock", "已达标")
	if err := chromedp.Do(desk, chromedp.SendKeys(chromedp.CSS("#f-summary"), summary)); err != nil {
		t.Fatalf("write the summary: %v", err)
	}
	clickAndLoad(t, desk, `form[action$="/resolve"] button[type=submit]`)
	if s := text(t, desk, "#complaint-state"); s != "已解决" {
		t.Errorf("after resolving the state reads %q, want 已解决; the page reads %.600q", s, text(t, desk, "main"))
	}
	shot(t, desk, "complaint-desk-resolved-zh")
	engineerSees(models.ComplaintResolved)

	// 3. The customer sees the report and the summary as written, and
	// confirms the resolution.
	if err := chromedp.Do(cust, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#thread"))); err != nil {
		t.Fatalf("reload the complaint: %v", err)
	}
	if s := text(t, cust, "#complaint-state"); s != "已解决" {
		t.Errorf("the customer sees the state %q, want 已解决", s)
	}
	wantIn(t, cust, "#complaint-clock", "已达标")
	checkVerbatim(t, cust, "#thread", found, done, next, summary)
	checkVerbatim(t, cust, "main", summary, description)
	shot(t, cust, "complaint-customer-resolved-zh")
	clickAndLoad(t, cust, `form[action$="/confirm"] button[type=submit]`)
	if s := text(t, cust, "#complaint-state"); s != "已关闭" {
		t.Errorf("after confirming the state reads %q, want 已关闭", s)
	}
	if s := text(t, cust, "[role=status]"); !strings.Contains(s, "投诉已结案") {
		t.Errorf("after confirming the notice reads %q", s)
	}
	if n := countNodes(t, cust, `form[action$="/confirm"]`); n != 0 {
		t.Errorf("the closed complaint still offers to confirm")
	}
	checkVerbatim(t, cust, "main", found, summary)
	if got, err := store.GetComplaintByRef(ctx, models.Viewer{Scope: models.OrgScope(fx.OrgA.ID), UserID: fx.CustA.ID}, ref); err != nil || got.State != models.ComplaintClosed || got.Resolution != summary {
		t.Fatalf("after confirming the complaint is %+v, %v", got, err)
	}

	// The desk still finds the closed complaint by its filters (the
	// engineer's same filters below must not).
	navigate(t, desk, base+"/complaints?category="+models.ComplaintEmployee+"&org="+ids(fx.OrgA.ID)+"&state="+models.ComplaintClosed)
	wantIn(t, desk, "#complaint-rest", number, subject)

	// 4. The engineer it names, in the end: 404 on its page, no trace in a
	// list or count, and the monthly figures count the other complaint
	// only.
	engineerSees(models.ComplaintClosed)
	navigate(t, desk, base+"/complaints/figures")
	if got := receivedOf(t, desk, fx.OrgA.Name); got != "2" {
		t.Errorf("the desk's figures count %q complaints received by %s, want 2", got, fx.OrgA.Name)
	}
	navigate(t, eng, base+"/complaints/figures")
	if got := receivedOf(t, eng, fx.OrgA.Name); got != "1" {
		t.Errorf("the named engineer's figures count %q complaints received by %s, want 1", got, fx.OrgA.Name)
	}
	noTrace("/complaints/figures")
	shot(t, eng, "complaint-engineer-figures-zh")
}

var crlf = strings.NewReplacer("\r\n", "\n")

// checkVerbatim fails unless the text of sel holds every line of want as
// typed, no element was made of it (no script or img inside sel), and no
// alert ran on the page.
func checkVerbatim(t *testing.T, ctx context.Context, sel string, want ...string) {
	t.Helper()
	var lines []string
	for _, w := range want {
		lines = append(lines, strings.Split(w, "\n")...)
	}
	wantIn(t, ctx, sel, lines...)
	if n := countNodes(t, ctx, sel+" script, "+sel+" img"); n != 0 {
		t.Errorf("%s holds %d script or img elements made of the text", sel, n)
	}
	alerted, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__alerted === true || document.title === 'ALERTED'`))
	if err != nil || alerted {
		t.Errorf("an alert ran on the page (%v)", err)
	}
}

// navigate loads url and waits for its heading.
func navigate(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
}

// receivedOf is the "received" figure of org's rows on the figures page.
func receivedOf(t *testing.T, ctx context.Context, org string) string {
	t.Helper()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll('table.complaintfigures tbody tr')).filter(function(r){return r.cells[1].textContent.trim()===`+strconv.Quote(org)+`}).map(function(r){return r.cells[2].textContent.trim()}).join(',')`))
	if err != nil {
		t.Fatalf("read the figures: %v", err)
	}
	return got
}

// complaintCounts opens url (a complaint list) and reads its counts: open,
// overdue, answered, resolved.
func complaintCounts(t *testing.T, ctx context.Context, url string) [4]int {
	t.Helper()
	navigate(t, ctx, url)
	s := text(t, ctx, "#complaint-counts")
	var n [4]int
	f := regexp.MustCompile(`\d+`).FindAllString(s, -1)
	if len(f) != 4 {
		t.Fatalf("the counts on %s read %q, want four numbers", url, s)
	}
	for i := range f {
		n[i], _ = strconv.Atoi(f[i])
	}
	return n
}
