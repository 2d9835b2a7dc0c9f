// Package pdf renders the documents of an operation as A4 PDFs: the
// authorization form a customer signs, and the report the engineer files
// when the work is done; and visitor passes, one A6 page per visitor. All
// embed a subset of one TrueType font that covers Latin and simplified
// Chinese, so either language, or a mix, renders and extracts as text.
package pdf

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/go-pdf/fpdf"
)

// T translates a locale key with fmt-style args: pass (*locales.Translator).T
type T func(key string, args ...any) string

// Page geometry of the A4 documents, in millimetres.
const (
	pageW, pageH = 210.0, 297.0
	marginX      = 18.0
	marginTop    = 22.0
	bodyBottom   = pageH - 20.0 // the lowest a line of the body may reach
	contentW     = pageW - 2*marginX
	cellPadX     = 1.8
	cellPadY     = 1.2
	ptToMM       = 25.4 / 72
)

// Type sizes, in points, and line heights, in millimetres.
const (
	sizeTitle   = 18.0
	sizeHeading = 11.5
	sizeBody    = 10.0
	sizeTable   = 9.0
	sizeSmall   = 7.5
	leadBody    = 5.2
	leadTable   = 4.6
)

type rgb struct{ r, g, b int }

var (
	colorText    = rgb{0x1f, 0x23, 0x28}
	colorMuted   = rgb{0x5b, 0x63, 0x6e}
	colorAccent  = rgb{0x1d, 0x4e, 0x89}
	colorRule    = rgb{0xb8, 0xbf, 0xc7}
	colorRuleDim = rgb{0xdd, 0xe1, 0xe6}
	colorHeadBg  = rgb{0xec, 0xf0, 0xf4}
	colorMet     = rgb{0x1a, 0x7f, 0x37}
	colorMissed  = rgb{0xb4, 0x23, 0x18}
)

const fontFamily = "wqy"

// sheet is the paper a document is printed on, in millimetres; the zero
// sheet is A4. A document on a sheet of its own (a visitor pass) draws
// each page whole: doc adds no running head, letterhead or footer, and the
// body starts every page after the first itself (newPage).
type sheet struct {
	w, h float64
	own  bool
}

// meta is what every page of a document repeats.
type meta struct {
	lang      string
	title     string // the document's name: the PDF title and the running head
	requestNo string
	generated string // footer, left
	head      Letterhead
	sheet     sheet
}

// doc is one document being laid out. Each document is laid out twice
// by the same code: first with no PDF at all, to learn which characters
// it draws and how many pages it has, then into fpdf, with a font subset
// of exactly those characters and the page count in every footer.
//
// doc breaks pages itself, a whole line at a time (fpdf's automatic page
// break is off), so no text is ever split or dropped at a page end.
type doc struct {
	t     T
	face  *font
	m     meta
	f     *fpdf.Fpdf    // nil while measuring
	used  map[rune]bool // while measuring: every character drawn
	page  int           // the current page, from 1
	pages int           // the page count, once measured
	y     float64       // the top of the next line
	size  float64       // the current type size, in points
}

// render lays out a document twice, as doc explains, and returns the PDF.
func render(t T, m meta, body func(d *doc)) ([]byte, error) {
	return renderFont(t, m, body, true)
}

// renderFont is render, giving fpdf the whole font unless subset is
// true; BenchmarkOperationReport compares the two.
func renderFont(t T, m meta, body func(d *doc), subset bool) ([]byte, error) {
	fnt, err := loadFont()
	if err != nil {
		return nil, err
	}
	measured := &doc{t: t, face: fnt, m: m, used: map[rune]bool{}}
	measured.run(body)
	for r := rune(0x20); r < 0x7F; r++ { // digits of page numbers, and spare
		measured.used[r] = true
	}
	sub := fnt.src
	if subset {
		if b, err := fnt.subset(measured.used); err == nil {
			sub = b
		} // else too many characters for one cmap: fpdf copes, slowly
	}

	size := fpdf.SizeType{Wd: pageW, Ht: pageH}
	if m.sheet.w > 0 {
		size = fpdf.SizeType{Wd: m.sheet.w, Ht: m.sheet.h}
	}
	f := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", Size: size})
	f.SetMargins(marginX, marginTop, marginX)
	f.SetAutoPageBreak(false, 0)
	f.AddUTF8FontFromBytes(fontFamily, "", sub)
	f.SetTitle(strings.TrimSpace(m.title+" "+m.requestNo), true)
	f.SetLang(m.lang)
	drawn := &doc{t: t, face: fnt, m: m, f: f, pages: measured.page}
	drawn.run(body)
	if drawn.page != measured.page {
		return nil, fmt.Errorf("pdf: %s laid out as %d pages, then drawn as %d", m.title, measured.page, drawn.page)
	}
	var buf bytes.Buffer
	if err := f.Output(&buf); err != nil {
		return nil, fmt.Errorf("pdf: %s: %w", m.title, err)
	}
	return buf.Bytes(), nil
}

func (d *doc) run(body func(d *doc)) {
	d.newPage()
	body(d)
	d.footer()
}

// newPage ends the current page, if any, and starts the next with its
// running head.
func (d *doc) newPage() {
	if d.page > 0 {
		d.footer()
	}
	d.page++
	if d.f != nil {
		d.f.AddPage()
	}
	d.y = marginTop
	if d.m.sheet.own {
		d.y = 0
		return
	}
	// The first page carries the letterhead instead of the running head.
	if d.page == 1 && d.m.head.drawn() {
		d.y = 6
		d.letterhead(marginX, contentW, 1, 0)
		return
	}
	d.font(sizeSmall, colorMuted)
	running := d.m.title
	if n := strings.TrimSpace(d.m.head.Name); n != "" {
		running = n + "  ·  " + running
	}
	d.text(marginX, 12, running)
	d.text(pageW-marginX-d.width(d.m.requestNo), 12, d.m.requestNo)
	d.rule(14, 0.2, colorRule)
}

func (d *doc) footer() {
	if d.m.sheet.own {
		return
	}
	d.rule(pageH-15, 0.2, colorRule)
	d.font(sizeSmall, colorMuted)
	d.text(marginX, pageH-10, d.m.generated)
	p := d.t("pdf.footer.page", d.m.requestNo, d.page, d.pages)
	d.text(pageW-marginX-d.width(p), pageH-10, p)
}

// The drawing primitives: they measure, or draw into fpdf.

func (d *doc) font(size float64, c rgb) {
	d.size = size
	if d.f != nil {
		d.f.SetFont(fontFamily, "", size)
		d.f.SetTextColor(c.r, c.g, c.b)
	}
}

// width is the width of s in the current type size, in millimetres.
func (d *doc) width(s string) float64 { return d.face.width(s) * d.size * ptToMM }

// text draws one line of text with its baseline at y.
func (d *doc) text(x, y float64, s string) {
	if d.f == nil {
		for _, r := range s {
			d.used[r] = true
		}
		return
	}
	d.f.Text(x, y, s)
}

// bold draws the following text thicker: the font has one weight, so the
// glyphs are stroked as well as filled.
func (d *doc) bold(on bool, c rgb) {
	if d.f == nil {
		return
	}
	if on {
		d.f.SetTextRenderingMode(2)
		d.f.SetDrawColor(c.r, c.g, c.b)
		d.f.SetLineWidth(0.18)
	} else {
		d.f.SetTextRenderingMode(0)
	}
}

func (d *doc) line(x1, y1, x2, y2, width float64, c rgb) {
	if d.f != nil {
		d.f.SetDrawColor(c.r, c.g, c.b)
		d.f.SetLineWidth(width)
		d.f.Line(x1, y1, x2, y2)
	}
}

func (d *doc) rule(y, width float64, c rgb) { d.line(marginX, y, pageW-marginX, y, width, c) }

func (d *doc) fillRect(x, y, w, h float64, c rgb) {
	if d.f != nil {
		d.f.SetFillColor(c.r, c.g, c.b)
		d.f.Rect(x, y, w, h, "F")
	}
}

// image draws a PNG or JPEG (typ "PNG" or "JPG") w by h millimetres with
// its top left corner at x, y; a w of 0 keeps the picture's proportions. name identifies the picture in the PDF:
// drawn again under the same name, it is stored once.
func (d *doc) image(name, typ string, pic []byte, x, y, w, h float64) {
	if d.f == nil {
		return
	}
	opt := fpdf.ImageOptions{ImageType: typ}
	d.f.RegisterImageOptionsReader(name, opt, bytes.NewReader(pic))
	d.f.ImageOptions(name, x, y, w, h, false, opt, 0, "")
}

func (d *doc) dashedRect(x, y, w, h, width float64, c rgb) {
	if d.f != nil {
		d.f.SetDrawColor(c.r, c.g, c.b)
		d.f.SetLineWidth(width)
		d.f.SetDashPattern([]float64{1.2, 1.2}, 0)
		d.f.Rect(x, y, w, h, "D")
		d.f.SetDashPattern(nil, 0)
	}
}

// Layout.

// room makes sure h millimetres are free below the cursor, starting a new
// page when they are not. It reports whether it did.
func (d *doc) room(h float64) bool {
	if d.y+h <= bodyBottom {
		return false
	}
	d.newPage()
	return true
}

// baseline is where text of size pt sits in a line of height lead whose
// top is at y.
func baseline(y, lead, pt float64) float64 {
	return y + lead/2 + pt*ptToMM*0.36
}

// lines writes s wrapped to width w from x, one line of height lead at a
// time, breaking pages between lines; centred puts each line in the
// middle of w.
func (d *doc) lines(s string, x, w, lead float64, centred bool) {
	for _, l := range wrap(clean(s), w, d.width) {
		d.room(lead)
		lx := x
		if centred {
			lx += (w - d.width(l.text)) / 2
		}
		d.text(lx, baseline(d.y, lead, d.size), l.text)
		d.y += lead
	}
}

// title writes the document title, centred, with a double rule below.
func (d *doc) title(s string) {
	d.font(sizeTitle, colorText)
	d.bold(true, colorText)
	d.lines(s, marginX, contentW, sizeTitle*ptToMM*1.5, true)
	d.bold(false, colorText)
	d.y++
	d.rule(d.y, 0.6, colorAccent)
	d.rule(d.y+0.9, 0.2, colorAccent)
	d.y += 5
}

// heading starts a section; it moves to a new page rather than stand
// alone at the bottom of one.
func (d *doc) heading(s string) {
	if !d.room(7 + 3*leadTable + 6) {
		d.y += 3
	}
	d.font(sizeHeading, colorAccent)
	d.bold(true, colorAccent)
	d.lines(s, marginX, contentW, 7, false)
	d.bold(false, colorAccent)
	d.rule(d.y, 0.35, colorAccent)
	d.y += 2
}

// subheading is a smaller title inside a section.
func (d *doc) subheading(s string) {
	d.room(6 + 2*leadTable + 4)
	d.font(sizeBody, colorText)
	d.bold(true, colorText)
	d.lines(s, marginX, contentW, 6, false)
	d.bold(false, colorText)
}

// paragraph writes wrapped body text.
func (d *doc) paragraph(s string, c rgb) {
	d.font(sizeBody, c)
	d.lines(s, marginX, contentW, leadBody, false)
	d.y += 1.5
}

// column of a table: its heading ("" for none), width and style.
type column struct {
	head  string
	width float64
	label bool // a row label: muted
}

// row of a table; color, when set, colours the last cell.
type row struct {
	cells []string
	color *rgb
}

// table draws rows with rules between them. A row that does not fit at
// the bottom of a page moves to the next, and the heading row repeats; a
// row taller than a whole page is split between lines. Cells wrap.
func (d *doc) table(cols []column, rows []row) {
	d.font(sizeTable, colorText)
	hasHead := false
	for _, c := range cols {
		hasHead = hasHead || c.head != ""
	}
	wrapCells := func(cells []string) ([][]line, int) {
		out := make([][]line, len(cols))
		n := 1
		for i, c := range cols {
			s := ""
			if i < len(cells) {
				s = cells[i]
			}
			out[i] = wrap(clean(s), c.width-2*cellPadX, d.width)
			n = max(n, len(out[i]))
		}
		return out, n
	}
	var head [][]line
	headN := 0
	if hasHead {
		heads := make([]string, len(cols))
		for i, c := range cols {
			heads[i] = c.head
		}
		head, headN = wrapCells(heads)
	}
	headH := float64(headN)*leadTable + 2*cellPadY
	drawHead := func() {
		d.rule(d.y, 0.35, colorMuted)
		if !hasHead {
			return
		}
		d.fillRect(marginX, d.y, contentW, headH, colorHeadBg)
		d.rule(d.y, 0.35, colorMuted) // again, over the fill
		d.drawCells(cols, head, 0, headN, colorMuted, nil, true)
		d.rule(d.y+headH, 0.25, colorMuted)
		d.y += headH
	}
	fresh := int((bodyBottom - marginTop - headH - 2*cellPadY) / leadTable)
	// The heading row goes where the first row fits under it, or the whole
	// page's worth of it: never alone at the foot of a page.
	first := 1
	if len(rows) > 0 {
		_, n := wrapCells(rows[0].cells)
		first = max(1, min(n, fresh))
	}
	d.room(headH + float64(first)*leadTable + 2*cellPadY)
	drawHead()
	for ri, r := range rows {
		cells, n := wrapCells(r.cells)
		for from := 0; from < n; {
			avail := int((bodyBottom - d.y - 2*cellPadY) / leadTable)
			if avail < n-from && (n-from <= fresh || avail < 1) {
				d.newPage()
				drawHead()
				continue
			}
			to := min(n, from+avail)
			h := float64(to-from)*leadTable + 2*cellPadY
			d.drawCells(cols, cells, from, to, colorText, r.color, false)
			if ri == len(rows)-1 && to == n {
				d.rule(d.y+h, 0.35, colorMuted)
			} else {
				d.rule(d.y+h, 0.1, colorRuleDim)
			}
			d.y += h
			if from = to; from < n {
				d.newPage()
				drawHead()
			}
		}
	}
	d.y += 3
}

// drawCells writes lines [from, to) of each cell of a row at the cursor.
func (d *doc) drawCells(cols []column, cells [][]line, from, to int, c rgb, last *rgb, head bool) {
	x := marginX
	for i, col := range cols {
		color := c
		switch {
		case head:
		case col.label:
			color = colorMuted
		case last != nil && i == len(cols)-1:
			color = *last
		}
		d.font(sizeTable, color)
		for k := from; k < to && k < len(cells[i]); k++ {
			ly := d.y + cellPadY + float64(k-from)*leadTable
			d.text(x+cellPadX, baseline(ly, leadTable, sizeTable), cells[i][k].text)
		}
		x += col.width
	}
}

// fields is a two-column table of labels and values.
func (d *doc) fields(pairs [][2]string) {
	cols := []column{{width: 38, label: true}, {width: contentW - 38}}
	rows := make([]row, len(pairs))
	for i, p := range pairs {
		rows[i] = row{cells: []string{p[0], p[1]}}
	}
	d.table(cols, rows)
}

// or returns s, or the translation of key when s is blank.
func (d *doc) or(s, key string) string {
	if strings.TrimSpace(s) == "" {
		return d.t(key)
	}
	return s
}

// list joins items one per line, or says none.
func (d *doc) list(items []string) string {
	var out []string
	for _, s := range items {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return d.t("pdf.none")
	}
	return strings.Join(out, "\n")
}
