package pdf

import (
	"bytes"
	"math"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models/passtoken"
	"github.com/colo-portal/portal/views/pdf/pdftest"
)

var (
	passKey  = passtoken.NewKey([]byte("portal secret for the test"))
	passDay  = time.Date(2026, 3, 9, 16, 0, 0, 0, time.UTC) // 10 March, 00:00 in Beijing
	passTime = passDay.Add(10 * time.Hour)
)

func passClaims(visitor int64) passtoken.Claims {
	return passtoken.Claims{VisitID: 7, VisitorID: visitor, NotBefore: passDay, Expires: passDay.Add(48 * time.Hour)}
}

// testPassPages is a visit of two visitors: a Chinese one whose pass is
// in Chinese, and one whose pass is in English.
func testPassPages() []PassPage {
	return []PassPage{{
		T: translator("zh-CN"), Lang: "zh-CN",
		VisitNumber: "VR-2026-0001",
		VisitorName: "张伟",
		Company:     "北京星河数据科技有限公司",
		OrgName:     "北京星河数据科技有限公司 (Galaxy Data Technology Co., Ltd.)",
		IDType:      "居民身份证",
		MaskedID:    "110***********1234",
		Window:      "2026-03-10 09:00 – 2026-03-11 18:00 (UTC+8)",
		Escort:      "王强",
		Areas:       []string{"机柜 A12", "web-01 (203.0.113.10)", "数据库主机db-02"},
		Site:        "北京亦庄一号机房",
		Token:       passKey.Sign(passClaims(101)),
	}, {
		T: translator("en"), Lang: "en",
		VisitNumber: "VR-2026-0001",
		VisitorName: "Alexandra Montgomery-Richardson",
		Company:     "Montgomery Field Services Ltd.",
		OrgName:     "北京星河数据科技有限公司 (Galaxy Data Technology Co., Ltd.)",
		IDType:      "Passport",
		MaskedID:    "E1*****89",
		Window:      "2026-03-10 09:00 – 2026-03-11 18:00 (UTC+8)",
		Escort:      "Wang Qiang",
		Areas:       []string{"Cabinet A12", "web-01 (203.0.113.10)"},
		Site:        "Beijing Yizhuang DC1",
		Token:       passKey.Sign(passClaims(102)),
	}}
}

// pageText is pdftotext of one page.
func pageText(t *testing.T, doc []byte, page int) string {
	t.Helper()
	needPoppler(t, "pdftotext")
	p := strconv.Itoa(page)
	cmd := exec.Command("pdftotext", "-f", p, "-l", p, "-enc", "UTF-8", "-", "-")
	cmd.Stdin = bytes.NewReader(doc)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext page %d: %v", page, err)
	}
	return string(out)
}

// qrSymbolsMM are the sides of the QR symbols (their quiet zones left
// out) as printed, in millimetres, from pdfimages' list of pictures.
func qrSymbolsMM(t *testing.T, doc []byte) []float64 {
	t.Helper()
	needPoppler(t, "pdfimages")
	cmd := exec.Command("pdfimages", "-list", "-")
	cmd.Stdin = bytes.NewReader(doc)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdfimages: %v", err)
	}
	var sides []float64
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		// page num type width height color comp bpc enc interp object ID x-ppi y-ppi size ratio
		if len(f) < 14 || f[2] != "image" || f[5] != "gray" {
			continue
		}
		px, _ := strconv.Atoi(f[3])
		ppi, _ := strconv.ParseFloat(f[12], 64)
		if f[9] != "no" {
			t.Errorf("the QR image is interpolated when scaled: %s", l)
		}
		modules := px/qrPixels - 2*qrQuiet
		sides = append(sides, float64(px)/ppi*25.4*float64(modules)/float64(modules+2*qrQuiet))
	}
	return sides
}

func TestVisitorPassIsOnePagePerVisitorInTheirLanguage(t *testing.T) {
	pages := testPassPages()
	doc, err := VisitorPass(testLetterhead(), pages)
	if err != nil {
		t.Fatal(err)
	}
	keep(t, "visitor-pass.pdf", doc)

	if n := pagesOf(t, doc); n != 2 {
		t.Fatalf("%d pages, want one per visitor (2)", n)
	}
	if size := pageSize(t, doc); math.Abs(size[0]-105) > 0.5 || math.Abs(size[1]-148) > 0.5 {
		t.Fatalf("page size %.1f x %.1f mm, want A6 portrait (105 x 148)", size[0], size[1])
	}

	whole := pdftotext(t, doc)
	if regexp.MustCompile(`\d{6}\s*\d{8}\s*\d{3}[\dX]`).MatchString(whole) {
		t.Fatalf("the pass shows an ID number unmasked:\n%s", whole)
	}
	zh, en := pageText(t, doc, 1), pageText(t, doc, 2)
	for _, c := range []struct {
		name, text string
		want       []string
		not        []string
	}{
		{"the Chinese visitor's page", zh,
			[]string{"访客通行证", "张伟", "110***********1234", "居民身份证", "所属单位", "陪同人员", "王强", "机柜 A12", "VR-2026-0001", "北京亦庄一号机房", "请在前台出示", "第 1 位访客，共 2 位", "华北云数据中心有限公司", "电话 +86 10 5555 0100"},
			[]string{"Visitor pass", "Escort", "Alexandra"}},
		{"the English visitor's page", en,
			[]string{"Visitor pass", "Alexandra Montgomery-Richardson", "Montgomery Field Services", "E1*****89", "Passport", "Escort", "Wang Qiang", "Cabinet A12, web-01", "VR-2026-0001", "Beijing Yizhuang DC1", "Show this pass", "Visitor 2 of 2", "Tel +86 10 5555 0100"},
			[]string{"访客通行证", "张伟", "陪同人员"}},
	} {
		got := nonSpace(c.text)
		for _, w := range c.want {
			if rest := missingFrom(got, w); rest != "" {
				t.Errorf("%s lacks %q:\n%s", c.name, w, c.text)
			}
		}
		for _, w := range c.not {
			if strings.Contains(c.text, w) {
				t.Errorf("%s shows %q, from another visitor or language:\n%s", c.name, w, c.text)
			}
		}
	}

	tokens := pdftest.QRTokens(t, doc)
	if len(tokens) != 2 || tokens[0] != pages[0].Token || tokens[1] != pages[1].Token {
		t.Fatalf("the QR codes read %q, want the two visitors' tokens in page order", tokens)
	}
	for i, tok := range tokens {
		c, err := passKey.Verify(tok, passTime)
		if err != nil || c != passClaims(int64(101+i)) {
			t.Fatalf("the QR code of page %d verifies as %+v, %v", i+1, c, err)
		}
	}
	sides := qrSymbolsMM(t, doc)
	if len(sides) != 2 {
		t.Fatalf("%d QR images in the PDF, want 2", len(sides))
	}
	for _, s := range sides {
		if s < 30 {
			t.Fatalf("a QR code is printed %.1f mm wide, want at least 30 mm for a handheld scanner", s)
		}
	}
}

// A pass whose fields are far too long for A6 still fits each visitor on
// one page with a readable QR code: values end in an ellipsis instead.
func TestAnOverfullPassStaysOnePageWithAReadableQRCode(t *testing.T) {
	p := testPassPages()[0]
	p.VisitorName = strings.Repeat("欧阳娜娜", 12)
	p.Company = longChinese
	p.OrgName = longLatin
	p.Escort = longChinese
	p.Window = longLatin
	p.Areas = nil
	for i := 0; i < 60; i++ {
		p.Areas = append(p.Areas, "机柜 B"+strconv.Itoa(i)+" / rack-b"+strconv.Itoa(i)+".example.com")
	}
	p.Site = longChinese
	head := testLetterhead()
	head.Name = strings.Repeat(head.Name, 3)
	head.Address = longChinese
	pdf, err := VisitorPass(head, []PassPage{p})
	if err != nil {
		t.Fatal(err)
	}
	keep(t, "visitor-pass-overfull.pdf", pdf)

	// Lay the page out again, measuring only: the fields end above the QR
	// code's quiet zone.
	fnt, err := loadFont()
	if err != nil {
		t.Fatal(err)
	}
	code, err := qrPNG(p.Token)
	if err != nil {
		t.Fatal(err)
	}
	d := &doc{t: p.T, face: fnt, used: map[rune]bool{}, m: meta{head: head, sheet: sheet{w: passW, h: passH, own: true}}}
	d.passPage(p, code, 1, 1)
	if top := passH - 10 - qrSide - qrQuiet*qrSide/float64(code.modules); d.y > top {
		t.Fatalf("the fields end at %.1f mm, over the QR code's quiet zone from %.1f mm", d.y, top)
	}
	if n := pagesOf(t, pdf); n != 1 {
		t.Fatalf("%d pages, want 1", n)
	}
	text := pageText(t, pdf, 1)
	for _, w := range []string{"…", "访客通行证", "欧阳娜娜", "110***********1234", "请在前台出示"} {
		if !strings.Contains(text, w) {
			t.Errorf("the overfull pass lacks %q:\n%s", w, text)
		}
	}
	if strings.Contains(text, "B59") {
		t.Errorf("all 60 areas fit on an A6 page, so the test proves nothing:\n%s", text)
	}
	if got := pdftest.QRTokens(t, pdf); len(got) != 1 || got[0] != p.Token {
		t.Fatalf("the QR code of the overfull pass reads %q, want %q", got, p.Token)
	}
}

func TestAPassWithoutLetterheadOrOptionalFieldsRenders(t *testing.T) {
	p := PassPage{T: translator("en"), Lang: "en", VisitNumber: "VR-2026-0002", VisitorName: "Li Na", Token: passKey.Sign(passClaims(5))}
	doc, err := VisitorPass(Letterhead{}, []PassPage{p})
	if err != nil {
		t.Fatal(err)
	}
	text := pageText(t, doc, 1)
	for _, w := range []string{"Visitor pass", "Li Na", "None", "VR-2026-0002"} {
		if !strings.Contains(text, w) {
			t.Errorf("the bare pass lacks %q:\n%s", w, text)
		}
	}
	if got := pdftest.QRTokens(t, doc); len(got) != 1 || got[0] != p.Token {
		t.Fatalf("the QR code reads %q", got)
	}
}

func TestAPassNeedsVisitorsAndTokens(t *testing.T) {
	if _, err := VisitorPass(testLetterhead(), nil); err == nil {
		t.Fatal("a pass of no visitors renders")
	}
	p := testPassPages()
	p[1].Token = " "
	if _, err := VisitorPass(testLetterhead(), p); err == nil {
		t.Fatal("a pass page without a token renders")
	}
}

func TestClipLines(t *testing.T) {
	ls := wrap("one two three four five six", 9, fakeWidth)
	if got := clipLines(ls, 10, 9, fakeWidth); len(got) != len(ls) || strings.Contains(strings.Join(got, ""), "…") {
		t.Fatalf("clipLines with room for every line = %q", got)
	}
	got := clipLines(ls, 2, 9, fakeWidth)
	if len(got) != 2 || !strings.HasSuffix(got[1], "…") || fakeWidth(got[1]) > 9 {
		t.Fatalf("clipLines to 2 = %q, want two lines, the last ending in an ellipsis within the width", got)
	}
	if got := clipLines(nil, 2, 9, fakeWidth); len(got) != 1 || got[0] != "" {
		t.Fatalf("clipLines(nil) = %q, want one empty line", got)
	}
}

func pagesOf(t *testing.T, doc []byte) int { return pages(t, doc) }

// pageSize is the first page's width and height in millimetres.
func pageSize(t *testing.T, doc []byte) [2]float64 {
	t.Helper()
	needPoppler(t, "pdfinfo")
	cmd := exec.Command("pdfinfo", "-")
	cmd.Stdin = bytes.NewReader(doc)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdfinfo: %v", err)
	}
	m := regexp.MustCompile(`(?m)^Page size:\s+([\d.]+) x ([\d.]+) pts`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("pdfinfo gave no page size:\n%s", out)
	}
	w, _ := strconv.ParseFloat(string(m[1]), 64)
	h, _ := strconv.ParseFloat(string(m[2]), 64)
	return [2]float64{w / 72 * 25.4, h / 72 * 25.4}
}

func TestQRTokensOfADocumentWithoutQRCodesIsEmpty(t *testing.T) {
	doc, err := AuthorizationForm(translator("en"), testAuthorizationVM("en"))
	if err != nil {
		t.Fatal(err)
	}
	if got := pdftest.QRTokens(t, doc); len(got) != 0 {
		t.Fatalf("an authorization form has QR codes %q", got)
	}
}
