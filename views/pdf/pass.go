package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strconv"
	"strings"

	"github.com/boombuler/barcode/qr"
)

// PassPage is one visitor's page of a visitor pass, in that visitor's
// language: T translates into it, and every string is already formatted
// (and, where it is a label, translated) in it.
type PassPage struct {
	T           T
	Lang        string   // "zh-CN" or "en"; the first page's names the PDF's language
	VisitNumber string   // "VR-2026-0001"
	VisitorName string   // may be Chinese, Latin or both
	Company     string   // the visitor's own company, may be ""
	OrgName     string   // the customer organization the visit is for
	IDType      string   // the ID document's kind, translated
	MaskedID    string   // "110***********1234": never the number itself
	Window      string   // planned entry – exit
	Escort      string   // the staff member who escorts, "" if none yet
	Areas       []string // the cabinets and devices the visitor may reach
	Site        string   // the data center site
	Token       string   // what the QR code holds (passtoken)
}

// The visitor pass is A6 portrait, in millimetres.
const (
	passW, passH  = 105.0, 148.0
	passMargin    = 8.0
	passContentW  = passW - 2*passMargin
	passHeadScale = 0.7  // the letterhead, against A4's
	qrSide        = 32.0 // the QR symbol, quiet zone not included
	qrQuiet       = 4    // modules of white around it, as the standard asks
	qrPixels      = 8    // image pixels per module
	passLead      = 3.7  // a line of the fields
	passPad       = 0.9  // above and below each field
)

var colorWhite = rgb{0xff, 0xff, 0xff}

// passQR is the QR code of one page, as a PNG with its quiet zone.
type passQR struct {
	png     []byte
	modules int // per side, without the quiet zone
}

// VisitorPass renders one A6 page per visitor, each in the visitor's own
// language: the provider's letterhead, the visitor's name, the visit's
// fields and the QR code of the visitor's token, which reception scans at
// check-in.
func VisitorPass(lh Letterhead, pages []PassPage) ([]byte, error) {
	if len(pages) == 0 {
		return nil, errors.New("pdf: a visitor pass needs at least one visitor")
	}
	codes := make([]passQR, len(pages))
	for i, p := range pages {
		c, err := qrPNG(p.Token)
		if err != nil {
			return nil, fmt.Errorf("pdf: visitor pass %s, visitor %d: %w", p.VisitNumber, i+1, err)
		}
		codes[i] = c
	}
	first := pages[0]
	title := first.T("pass.title")
	m := meta{lang: first.Lang, title: title, requestNo: clean(first.VisitNumber), head: lh,
		sheet: sheet{w: passW, h: passH, own: true}}
	return render(first.T, m, func(d *doc) {
		for i, p := range pages {
			if i > 0 {
				d.newPage()
			}
			d.t = p.T
			d.passPage(p, codes[i], i+1, len(pages))
		}
	})
}

// qrPNG encodes token as a QR code (error correction M) and draws it as a
// grey PNG, qrPixels per module, with the quiet zone around it.
func qrPNG(token string) (passQR, error) {
	if strings.TrimSpace(token) == "" {
		return passQR{}, errors.New("no token for the QR code")
	}
	code, err := qr.Encode(token, qr.M, qr.Auto)
	if err != nil {
		return passQR{}, err
	}
	n := code.Bounds().Dx()
	side := (n + 2*qrQuiet) * qrPixels
	img := image.NewGray(image.Rect(0, 0, side, side))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	b := code.Bounds()
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			if g := color.GrayModel.Convert(code.At(b.Min.X+x, b.Min.Y+y)).(color.Gray); g.Y >= 0x80 {
				continue
			}
			for py := 0; py < qrPixels; py++ {
				row := ((y+qrQuiet)*qrPixels + py) * img.Stride
				for px := 0; px < qrPixels; px++ {
					img.Pix[row+(x+qrQuiet)*qrPixels+px] = 0
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return passQR{}, err
	}
	return passQR{png: buf.Bytes(), modules: n}, nil
}

// passPage draws one visitor's page, and leaves the cursor under the
// fields, which end above the QR code's quiet zone.
func (d *doc) passPage(p PassPage, code passQR, n, of int) {
	t := d.t
	d.y = 6
	if d.m.head.drawn() {
		d.letterhead(passMargin, passContentW, passHeadScale, 2)
	}

	// The title on a coloured band, so reception tells a pass at a glance.
	band := 9.0
	d.fillRect(passMargin, d.y, passContentW, band, colorAccent)
	d.font(13, colorWhite)
	d.bold(true, colorWhite)
	title := clipLines(wrap(clean(t("pass.title")), passContentW-4, d.width), 1, passContentW-4, d.width)[0]
	d.text(passMargin+(passContentW-d.width(title))/2, baseline(d.y, band, d.size), title)
	d.bold(false, colorWhite)
	d.y += band + 3

	// The visitor's name, as large as two lines allow.
	name := clean(d.or(p.VisitorName, "pdf.none"))
	var names []string
	for _, size := range []float64{18, 15, 12.5} {
		d.font(size, colorText)
		ls := wrap(name, passContentW, d.width)
		names = clipLines(ls, 2, passContentW, d.width)
		if len(ls) <= 2 {
			break
		}
	}
	lead := d.size * ptToMM * 1.3
	d.bold(true, colorText)
	for _, s := range names {
		d.text(passMargin+(passContentW-d.width(s))/2, baseline(d.y, lead, d.size), s)
		d.y += lead
	}
	d.bold(false, colorText)
	if c := strings.TrimSpace(p.Company); c != "" {
		d.font(9, colorMuted)
		for _, s := range clipLines(wrap(clean(c), passContentW, d.width), 2, passContentW, d.width) {
			d.text(passMargin+(passContentW-d.width(s))/2, baseline(d.y, 4.2, d.size), s)
			d.y += 4.2
		}
	}
	d.y += 2

	qrTop := passH - 10 - qrSide
	module := qrSide / float64(code.modules)
	d.passFields(p, qrTop-qrQuiet*module-1)

	// The QR code, bottom left, its quiet zone drawn white over whatever
	// is near; beside it the visit number and what to do with the pass.
	quiet := qrQuiet * module
	d.fillRect(passMargin-quiet, qrTop-quiet, qrSide+2*quiet, qrSide+2*quiet, colorWhite)
	d.image("qr"+strconv.Itoa(n), "PNG", code.png, passMargin-quiet, qrTop-quiet, qrSide+2*quiet, qrSide+2*quiet)
	x := passMargin + qrSide + 5
	w := passW - passMargin - x
	y := qrTop
	d.font(7, colorMuted)
	d.text(x, baseline(y, 3.5, d.size), t("pass.visit_number"))
	y += 3.5
	d.font(10.5, colorText)
	d.bold(true, colorText)
	d.text(x, baseline(y, 5, d.size), clean(p.VisitNumber))
	d.bold(false, colorText)
	y += 6.5
	d.font(7.5, colorText)
	for _, s := range clipLines(wrap(clean(t("pass.instructions")), w, d.width), 7, w, d.width) {
		d.text(x, baseline(y, 3.4, d.size), s)
		y += 3.4
	}

	d.line(passMargin, passH-7.5, passW-passMargin, passH-7.5, 0.2, colorRule)
	d.font(6.5, colorMuted)
	foot := t("pass.visitor_n", n, of)
	d.text(passW-passMargin-d.width(foot), passH-4.5, foot)
	if s := strings.TrimSpace(p.Site); s != "" {
		s = clipLines(wrap(clean(s), passContentW-d.width(foot)-4, d.width), 1, passContentW-d.width(foot)-4, d.width)[0]
		d.text(passMargin, passH-4.5, s)
	}
}

// passFields draws the label and value rows of a pass from the cursor,
// ending above bottom: a value takes at most two lines, the areas what is
// left, and what does not fit ends in an ellipsis.
func (d *doc) passFields(p PassPage, bottom float64) {
	t := d.t
	id := strings.TrimSpace(strings.TrimSpace(p.IDType) + " " + strings.TrimSpace(p.MaskedID))
	var areas []string
	for _, a := range p.Areas {
		if a = strings.TrimSpace(a); a != "" {
			areas = append(areas, a)
		}
	}
	rows := [][2]string{
		{t("pass.organization"), d.or(p.OrgName, "pdf.none")},
		{t("pass.id"), d.or(id, "pdf.none")},
		{t("pass.window"), d.or(p.Window, "pdf.none")},
		{t("pass.escort"), d.or(p.Escort, "pdf.none")},
		{t("pass.areas"), d.or(strings.Join(areas, t("pass.list_sep")), "pdf.none")},
		{t("pass.site"), d.or(p.Site, "pdf.none")},
	}
	const areasRow = 4

	d.font(7, colorMuted)
	labelW := 0.0
	for _, r := range rows {
		labelW = max(labelW, d.width(r[0]))
	}
	labelW = min(labelW+3, 26)
	valueW := passContentW - labelW

	d.font(8, colorText)
	wrapped := make([][]line, len(rows))
	for i, r := range rows {
		wrapped[i] = wrap(clean(r[1]), valueW, d.width)
	}
	// How many lines each value gets: two at most, except the areas, which
	// get what is left. On a page too short, the areas give up lines down
	// to two, then the other values down to one (the site first), then the
	// areas down to one.
	budget := int((bottom - d.y - float64(len(rows))*2*passPad) / passLead)
	shown := make([]int, len(rows))
	over := -budget
	for i, w := range wrapped {
		shown[i] = max(1, len(w))
		if i != areasRow {
			shown[i] = min(shown[i], 2)
		}
		over += shown[i]
	}
	for _, step := range [][2]int{{areasRow, 2}, {5, 1}, {0, 1}, {2, 1}, {3, 1}, {1, 1}, {areasRow, 1}} {
		row, floor := step[0], step[1]
		cut := max(0, min(over, shown[row]-floor))
		shown[row] -= cut
		over -= cut
	}

	for i, r := range rows {
		vals := clipLines(wrapped[i], shown[i], valueW, d.width)
		h := float64(len(vals))*passLead + 2*passPad
		d.font(7, colorMuted)
		for k, s := range clipLines(wrap(clean(r[0]), labelW-2, d.width), len(vals), labelW-2, d.width) {
			d.text(passMargin, baseline(d.y+passPad+float64(k)*passLead, passLead, 8), s)
		}
		d.font(8, colorText)
		for k, s := range vals {
			d.text(passMargin+labelW, baseline(d.y+passPad+float64(k)*passLead, passLead, d.size), s)
		}
		d.y += h
		if i < len(rows)-1 {
			d.line(passMargin, d.y, passW-passMargin, d.y, 0.1, colorRuleDim)
		}
	}
	d.line(passMargin, d.y, passW-passMargin, d.y, 0.3, colorRule)
}

// clipLines keeps the first n of ls (at least one line, "" for none);
// when some are left out, the last kept one ends in an ellipsis within w.
func clipLines(ls []line, n int, w float64, width func(string) float64) []string {
	n = max(n, 1)
	if len(ls) == 0 {
		return []string{""}
	}
	out := make([]string, 0, min(n, len(ls)))
	for i := 0; i < len(ls) && i < n; i++ {
		out = append(out, ls[i].text)
	}
	if len(ls) <= n {
		return out
	}
	last := []rune(strings.TrimRight(out[n-1], " "))
	for len(last) > 0 && width(string(last)+"…") > w {
		last = last[:len(last)-1]
	}
	out[n-1] = string(last) + "…"
	return out
}
