package pdf

import (
	"bytes"
	"flag"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/image/font/sfnt"

	"github.com/colo-portal/portal/assets"
	"github.com/colo-portal/portal/locales"
)

// -pdfout keeps the rendered documents in a folder, to look at them.
var outDir = flag.String("pdfout", "", "write the test PDFs to this folder")

// The inputs mix what customers and engineers type: Chinese paragraphs
// with no spaces at all, long Latin words and URLs, newlines, full-width
// punctuation, digits, and both at once.
const (
	longChinese = "请于本周六凌晨对机柜A12中的三台服务器进行内存升级，每台由64GB扩容至256GB，升级前请先确认RAID控制器缓存电池状态正常，并在操作前后分别记录系统日志；如发现任何异常（包括但不限于风扇告警、电源冗余丢失、温度过高），请立即停止操作并电话通知我方值班人员：张伟，手机13800138000。操作完成后请执行内存压力测试至少两小时，确认无纠错码错误后再恢复业务流量，谢谢配合！"
	longLatin   = "Replace the failed disk in slot 3 of the storage array, then rebuild the RAID-6 volume. Pneumonoultramicroscopicsilicovolcanoconiosis-style-identifiers-are-long-too. See https://status.example.com/incidents/2024/very/long/path/that/does/not/fit/on/one/line?device=web-01&ticket=OP-000042 for details."
	mixed       = "第一步：关闭web-01（203.0.113.10）上的nginx服务。\n第二步：run `systemctl stop nginx && apt-get install --only-upgrade nginx=1.24.0-2`，然后检查版本号“1.24.0”。\n\n第三步：重新启动服务，并访问https://web-01.example.com/healthz确认返回200。\n    Indented line with    several    spaces."
)

func testAuthorizationVM(lang string) AuthorizationFormVM {
	return AuthorizationFormVM{
		Lang:        lang,
		OrgName:     "北京星河数据科技有限公司 (Galaxy Data Technology Co., Ltd.)",
		RequestNo:   "OP-000042",
		Title:       "机柜A12服务器内存升级 / Memory upgrade of rack A12 servers",
		Devices:     []string{"web-01 (203.0.113.10)", "数据库主机db-02（203.0.113.11）", "storage-array-03.rack-a12.example.com (2001:db8::3)"},
		Work:        longChinese + "\n" + longLatin + "\n" + mixed,
		Urgency:     "紧急 Urgent",
		Window:      "2024-06-08 02:00 – 06:00 (UTC+8)",
		RequestedBy: "李娜 <li.na@galaxy-data.example.cn>",
		Signers: []Signer{
			{Name: "张伟", Title: "运维总监", Phone: "+86 138 0013 8000", Email: "zhang.wei@galaxy-data.example.cn"},
			{Name: "Alexandra Montgomery-Richardson", Title: "Head of Infrastructure Operations", Phone: "+86 10 6552 9988", Email: "alexandra.montgomery-richardson@galaxy-data.example.cn"},
		},
		Generated: "2024-06-07 18:30 (UTC+8)",
	}
}

// testLetterhead is a provider with every field set and a logo.
func testLetterhead() Letterhead {
	img := image.NewRGBA(image.Rect(0, 0, 120, 40))
	for x := 0; x < 120; x++ {
		for y := 0; y < 40; y++ {
			img.Set(x, y, color.RGBA{0x1d, 0x4e, byte(0x89 + x), 0xff})
		}
	}
	var logo bytes.Buffer
	if err := png.Encode(&logo, img); err != nil {
		panic(err)
	}
	return Letterhead{Name: "华北云数据中心有限公司 North China Cloud IDC Co., Ltd.", Address: "北京市朝阳区酒仙桥路 10 号\n100015",
		Phone: "+86 10 5555 0100", Fax: "+86 10 5555 0199", Email: "noc@idc.example", Logo: logo.Bytes(), LogoType: "image/png"}
}

func testReportVM(lang string) ReportVM {
	var timeline []TimelineEntry
	for i := 0; i < 30; i++ {
		timeline = append(timeline, TimelineEntry{
			At:   "2024-06-08 02:" + strconv.Itoa(10+i),
			Who:  "王工程师 Wang",
			Text: "第" + strconv.Itoa(i+1) + "条记录：已完成磁盘检查，SMART状态正常；step " + strconv.Itoa(i+1) + " done, see https://example.com/log/" + strconv.Itoa(i),
		})
	}
	timeline[7].Text = longChinese + longChinese + "\n" + longLatin
	return ReportVM{
		Lang:      lang,
		OrgName:   "北京星河数据科技有限公司 (Galaxy Data Technology Co., Ltd.)",
		RequestNo: "OP-000042",
		Title:     "机柜A12服务器内存升级 / Memory upgrade of rack A12 servers",
		Devices:   []string{"web-01 (203.0.113.10)", "数据库主机db-02（203.0.113.11）"},
		Work:      longChinese + "\n" + mixed,
		State:     "已完成 Completed",
		Engineer:  "王强 Wang Qiang <wang.qiang@provider.example>",
		Authorizations: []AuthorizationLine{
			{Method: "书面 Written", Contact: "张伟 Zhang Wei", At: "2024-06-07 19:02", AcceptedBy: "值班经理 Liu", AcceptedAt: "2024-06-07 19:10",
				Document: "操作授权书-OP-000042-signed-scan.pdf", SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
			{Method: "电话 Phone", Contact: "Alexandra Montgomery-Richardson", At: "2024-06-07 18:45", AcceptedBy: "值班经理 Liu", AcceptedAt: "2024-06-07 18:46"},
		},
		Started:  "2024-06-08 02:05",
		Ended:    "2024-06-08 05:40",
		Timeline: timeline,
		Done:     longChinese + "\n" + longLatin,
		Result:   "三台服务器内存均已升级至256GB，压力测试2小时无错误（0 ECC errors）。All services are back: https://status.example.com/ shows 100%。",
		FollowUp: mixed,
		Clocks: []ClockLine{
			{Name: "首次反馈（30分钟） First feedback", Started: "2024-06-07 19:10", Deadline: "2024-06-07 19:40", Stopped: "2024-06-07 19:21", Outcome: "达标 met", Met: true},
			{Name: "书面报告 Written report", Started: "2024-06-08 05:40", Deadline: "2024-06-09 05:40", Stopped: "2024-06-09 09:00", Outcome: "超时 missed"},
			{Name: "回访 Follow-up call", Started: "2024-06-09 09:00", Deadline: "2024-06-10 09:00", Outcome: "进行中 running"},
		},
		Generated: "2024-06-09 09:05 (UTC+8)",
	}
}

func authorizationFields(vm AuthorizationFormVM) []string {
	out := []string{vm.OrgName, vm.RequestNo, vm.Title, vm.Work, vm.Urgency, vm.Window, vm.RequestedBy, vm.Generated}
	out = append(out, vm.Devices...)
	for _, s := range vm.Signers {
		out = append(out, s.Name, s.Title, s.Phone, s.Email)
	}
	return out
}

func reportFields(vm ReportVM) []string {
	out := []string{vm.OrgName, vm.RequestNo, vm.Title, vm.Work, vm.State, vm.Engineer, vm.Started, vm.Ended,
		vm.Done, vm.Result, vm.FollowUp, vm.Generated}
	out = append(out, vm.Devices...)
	for _, a := range vm.Authorizations {
		out = append(out, a.Method, a.Contact, a.At, a.AcceptedBy, a.AcceptedAt, a.Document, a.SHA256)
	}
	for _, e := range vm.Timeline {
		out = append(out, e.At, e.Who, e.Text)
	}
	for _, c := range vm.Clocks {
		out = append(out, c.Name, c.Started, c.Deadline, c.Stopped, c.Outcome)
	}
	return out
}

func translator(lang string) T { return locales.For(lang).T }

func needPoppler(t testing.TB, tool string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (poppler-utils) is missing: %v", tool, err)
		}
		t.Skipf("%s (poppler-utils) is not installed", tool)
	}
}

// pdftotext extracts the text of a PDF with poppler.
func pdftotext(t *testing.T, doc []byte) string {
	t.Helper()
	needPoppler(t, "pdftotext")
	cmd := exec.Command("pdftotext", "-enc", "UTF-8", "-", "-")
	cmd.Stdin = bytes.NewReader(doc)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v: %s", err, stderr.String())
	}
	return string(out)
}

func pages(t *testing.T, doc []byte) int {
	t.Helper()
	needPoppler(t, "pdfinfo")
	cmd := exec.Command("pdfinfo", "-")
	cmd.Stdin = bytes.NewReader(doc)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdfinfo: %v", err)
	}
	m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("pdfinfo gave no page count:\n%s", out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

func nonSpace(s string) []rune {
	var out []rune
	for _, r := range s {
		if !unicode.IsSpace(r) {
			out = append(out, r)
		}
	}
	return out
}

// missingFrom returns "" when the non-space runes of want appear in got in
// order (pdftotext adds line breaks and spaces), else what is left over.
func missingFrom(got []rune, want string) string {
	w := nonSpace(want)
	i := 0
	for _, r := range got {
		if i < len(w) && r == w[i] {
			i++
		}
	}
	if i == len(w) {
		return ""
	}
	return string(w[i:])
}

func keep(t *testing.T, name string, doc []byte) {
	if *outDir == "" {
		return
	}
	if err := os.WriteFile(filepath.Join(*outDir, name), doc, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDocumentsKeepEveryCharacter(t *testing.T) {
	for _, lang := range locales.Supported {
		tr := translator(lang)
		docs := []struct {
			name   string
			render func() ([]byte, error)
			fields []string
			labels []string
		}{
			{"authorization form", func() ([]byte, error) { return AuthorizationForm(tr, testAuthorizationVM(lang)) },
				authorizationFields(testAuthorizationVM(lang)),
				[]string{tr("pdf.auth.title"), tr("pdf.field.work"), tr("pdf.auth.signature"), tr("pdf.auth.printed_name"),
					tr("pdf.auth.date"), tr("pdf.auth.seal"), tr("pdf.auth.signers"),
					tr("pdf.auth.statement", testAuthorizationVM(lang).OrgName, "OP-000042")}},
			{"operation report", func() ([]byte, error) { return OperationReport(tr, testReportVM(lang)) },
				reportFields(testReportVM(lang)),
				[]string{tr("pdf.report.title"), tr("pdf.section.timeline"), tr("pdf.section.clocks"), tr("pdf.clock.not_stopped"),
					tr("pdf.authorization.sha256"), tr("pdf.section.follow_up")}},
		}
		for _, d := range docs {
			t.Run("the "+lang+" "+d.name+" holds every character put in, in order", func(t *testing.T) {
				doc, err := d.render()
				if err != nil {
					t.Fatal(err)
				}
				keep(t, lang+"-"+strings.ReplaceAll(d.name, " ", "-")+".pdf", doc)
				text := pdftotext(t, doc)
				got := nonSpace(text)
				for _, f := range append(d.fields, d.labels...) {
					if left := missingFrom(got, f); left != "" {
						t.Errorf("the text of %q is not all there: from %q on it is missing", f, left)
					}
				}
				n := pages(t, doc)
				if n < 2 {
					t.Errorf("the test input should span pages, got %d page(s)", n)
				}
				for p := 1; p <= n; p++ {
					footer := tr("pdf.footer.page", "OP-000042", p, n)
					if left := missingFrom(got, footer); left != "" {
						t.Errorf("page footer %q is missing (from %q)", footer, left)
					}
				}
				if strings.ContainsRune(text, '\uFFFD') {
					t.Errorf("the text holds a replacement character: %q", text)
				}
			})
		}
	}
}

// TestTextLongerThanAPage checks the page breaks inside a table cell and
// a paragraph that are each longer than a page: lines move to the next
// page whole, and none is lost.
func TestTextLongerThanAPage(t *testing.T) {
	vm := testReportVM("en")
	vm.Work = strings.Repeat(longChinese+"\n", 12)
	vm.Done = strings.Repeat(longLatin+" ", 25)
	vm.Timeline = []TimelineEntry{{At: "02:00", Who: "Wang", Text: strings.Repeat(mixed+"\n", 15)}}
	doc, err := OperationReport(translator("en"), vm)
	if err != nil {
		t.Fatal(err)
	}
	keep(t, "en-long-report.pdf", doc)
	got := nonSpace(pdftotext(t, doc))
	for _, f := range reportFields(vm) {
		if left := missingFrom(got, f); left != "" {
			t.Errorf("from %q on, the text is missing", left)
		}
	}
	if n := pages(t, doc); n < 5 {
		t.Errorf("the long report has %d pages; the test means to break cells and paragraphs across pages", n)
	}
}

// TestParagraphsStayWhole checks that a wrapped paragraph comes out as one
// run of text: wrapping split it into lines but lost and reordered nothing.
func TestParagraphsStayWhole(t *testing.T) {
	vm := testReportVM("zh-CN")
	doc, err := OperationReport(translator("zh-CN"), vm)
	if err != nil {
		t.Fatal(err)
	}
	got := string(nonSpace(pdftotext(t, doc)))
	for _, p := range []string{longChinese, longLatin, vm.Result} {
		if !strings.Contains(got, string(nonSpace(p))) {
			t.Errorf("the paragraph %q is not in the text in one piece", p)
		}
	}
}

func TestShortDocumentsAreOnePageAndSmall(t *testing.T) {
	for _, lang := range locales.Supported {
		tr := translator(lang)
		report := ReportVM{Lang: lang, OrgName: "星河数据", RequestNo: "OP-000007", Title: "重启 web-01", Devices: []string{"web-01"},
			Work: "请重启服务器。", State: "已完成", Engineer: "王强", Started: "02:00", Ended: "02:10", Done: "已重启。",
			Result: "正常。", Generated: "2024-06-09"}
		form := AuthorizationFormVM{Lang: lang, OrgName: "星河数据", RequestNo: "OP-000007", Title: "重启 web-01",
			Devices: []string{"web-01"}, Work: "请重启服务器。", Urgency: "一般", RequestedBy: "李娜 <li@example.cn>",
			Signers: []Signer{{Name: "张伟", Title: "运维总监", Phone: "+86 138 0013 8000", Email: "zw@example.cn"}}, Generated: "2024-06-09",
			Provider: testLetterhead(), ReturnURL: "https://portal.idc.example/operations/k3x9q2"}
		report.Provider = testLetterhead()
		for name, render := range map[string]func() ([]byte, error){
			"report":             func() ([]byte, error) { return OperationReport(tr, report) },
			"authorization form": func() ([]byte, error) { return AuthorizationForm(tr, form) },
		} {
			t.Run("a short "+lang+" "+name, func(t *testing.T) {
				doc, err := render()
				if err != nil {
					t.Fatal(err)
				}
				keep(t, lang+"-short-"+strings.ReplaceAll(name, " ", "-")+".pdf", doc)
				if n := pages(t, doc); n != 1 {
					t.Errorf("it has %d pages, want 1", n)
				}
				// The whole font is 4.6 MB; a subset of a page's glyphs is
				// tens of KB.
				if len(doc) > 300<<10 {
					t.Errorf("it is %d bytes: is the font embedded whole?", len(doc))
				}
				text := nonSpace(pdftotext(t, doc))
				if missing := missingFrom(text, "重启 web-01"); missing != "" {
					t.Errorf("text extraction lost %q", missing)
				}
				// The letterhead names the provider on every document, and
				// the form says where the signed copy goes.
				want := []string{"华北云数据中心有限公司", "北京市朝阳区酒仙桥路10号", "+861055550100", "noc@idc.example"}
				if name == "authorization form" {
					want = append(want, "https://portal.idc.example/operations/k3x9q2", "+861055550199", tr("pdf.auth.return_fax"))
				}
				for _, w := range want {
					if !strings.Contains(string(text), string(nonSpace(w))) {
						t.Errorf("the %s does not show %q", name, w)
					}
				}
			})
		}
	}
}

func TestEmptyFieldsRender(t *testing.T) {
	tr := translator("en")
	if _, err := OperationReport(tr, ReportVM{}); err != nil {
		t.Errorf("an empty report: %v", err)
	}
	if _, err := AuthorizationForm(tr, AuthorizationFormVM{}); err != nil {
		t.Errorf("an empty form: %v", err)
	}
	doc, err := OperationReport(tr, ReportVM{Work: "x\x00y\r\nz\t😀 {nb}"})
	if err != nil {
		t.Fatal(err)
	}
	if missing := missingFrom(nonSpace(pdftotext(t, doc)), "xyz{nb}"); missing != "" {
		t.Errorf("control and astral characters garbled the text: %q is missing", missing)
	}
}

// TestTheFontHasEveryGlyph looks every character of the test input and of
// every pdf.* text in both catalogs up in the embedded font's cmap.
func TestTheFontHasEveryGlyph(t *testing.T) {
	f, err := sfnt.Parse(assets.PDFFont())
	if err != nil {
		t.Fatalf("the embedded font does not parse: %v", err)
	}
	var buf sfnt.Buffer
	check := func(where, s string) {
		for _, r := range s {
			if r == '\n' {
				continue
			}
			if g, err := f.GlyphIndex(&buf, r); err != nil || g == 0 {
				t.Errorf("%s: the font has no glyph for %q (%U)", where, r, r)
			}
		}
	}
	for _, lang := range locales.Supported {
		for _, s := range authorizationFields(testAuthorizationVM(lang)) {
			check("authorization form input", s)
		}
		for _, s := range reportFields(testReportVM(lang)) {
			check("report input", s)
		}
		n := 0
		for k, v := range locales.Catalog(lang) {
			if strings.HasPrefix(k, "pdf.") {
				check(lang+" "+k, v)
				n++
			}
		}
		if n < 20 {
			t.Errorf("%s has only %d pdf.* keys", lang, n)
		}
	}
	check("the placeholders", "—…·")
}

func BenchmarkOperationReport(b *testing.B) {
	tr := translator("zh-CN")
	vm := testReportVM("zh-CN")
	b.Run("subset font", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := OperationReport(tr, vm); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("whole font", func(b *testing.B) {
		m := meta{lang: vm.Lang, title: tr("pdf.report.title"), requestNo: vm.RequestNo, generated: vm.Generated}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := renderFont(tr, m, func(d *doc) { report(d, tr, vm) }, false); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkAuthorizationForm(b *testing.B) {
	tr := translator("zh-CN")
	vm := testAuthorizationVM("zh-CN")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AuthorizationForm(tr, vm); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEmptyDocument is the fixed cost of a document.
func BenchmarkEmptyDocument(b *testing.B) {
	tr := translator("zh-CN")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := render(tr, meta{lang: "zh-CN", title: "x"}, func(*doc) {}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDocumentsRenderConcurrently(t *testing.T) {
	tr := translator("zh-CN")
	vm := testReportVM("zh-CN")
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		go func() {
			_, err := OperationReport(tr, vm)
			errs <- err
		}()
	}
	for i := 0; i < 4; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// A table whose first row is several lines tall starts on the next page
// with its heading row, rather than leave the heading row alone at the
// foot of a page.
func TestATableHeadingIsNeverAloneAtThePageFoot(t *testing.T) {
	tr := translator("en")
	var timeline []TimelineEntry
	long := strings.Repeat("A long line of the engineer's notes that wraps. ", 12)
	for i := range 3 {
		timeline = append(timeline, TimelineEntry{At: "2024-06-08 02:1" + strconv.Itoa(i), Who: "Wang", Text: long})
	}
	// Fill the first page so that the timeline's heading row would land
	// just above its foot.
	for pad := 0; pad < 60; pad++ {
		vm := ReportVM{Lang: "en", RequestNo: "OP-1", Work: strings.Repeat("line\n", pad), Timeline: timeline}
		doc, err := OperationReport(tr, vm)
		if err != nil {
			t.Fatal(err)
		}
		pages := strings.Split(pdftotext(t, doc), "\f")
		for i, pg := range pages {
			body := strings.TrimSpace(pg)
			// The heading row is the last thing on a page, footer aside.
			idx := strings.LastIndex(body, tr("pdf.timeline.text"))
			if idx < 0 {
				continue
			}
			after := body[idx+len(tr("pdf.timeline.text")):]
			if !strings.Contains(after, "Wang") && strings.Contains(after, "Page") && i < len(pages)-1 {
				t.Fatalf("with %d lines of work the timeline's heading row stands alone at the foot of page %d:\n%s", pad, i+1, after)
			}
		}
	}
}
