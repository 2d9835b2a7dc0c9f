// Package pdf renders the documents of an operation as A4 PDFs: the
// authorization form a customer signs, and the report the engineer files
// when the work is done. Both embed a subset of one TrueType font that
// covers Latin and simplified Chinese, so either language, or a mix,
// renders and extracts as text.
package pdf

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/go-pdf/fpdf"

	"github.com/colo-portal/portal/assets"
)

// T translates a locale key with fmt-style args: pass (*locales.Translator).T
type T func(key string, args ...any) string

// Page geometry, in millimetres.
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
	colorHeadBg  = rgb{0xec, 0xf0, 0xf4}
	colorMet     = rgb{0x1a, 0x7f, 0x37}
	colorMissed  = rgb{0xb4, 0x23, 0x18}
	colorRuleDim = rgb{0xdd, 0xe1, 0xe6}
)

// pageAlias stands for the page count until fpdf knows it. It is in the
// private use area, which clean() removes from all text put in, so no
// input can collide with it.
const pageAlias = "\uE000\uE001"

const fontFamily = "wqy"

// doc is one document being laid out. It turns off fpdf's automatic page
// breaks and breaks pages itself, a whole line at a time, so no text is
// ever split or dropped at a page end.
type doc struct {
	f *fpdf.Fpdf
	t T
}

// newDoc starts an A4 document with the running header and footer.
// header is the document's short name for the top of each page; footer
// is the text before the page number.
func newDoc(t T, lang, title, header, footerLeft, requestNo string) *doc {
	f := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", Size: fpdf.SizeType{Wd: pageW, Ht: pageH}})
	f.SetMargins(marginX, marginTop, marginX)
	f.SetAutoPageBreak(false, 0)
	f.AliasNbPages(pageAlias)
	f.AddUTF8FontFromBytes(fontFamily, "", assets.PDFFont())
	f.SetTitle(title, true)
	f.SetLang(lang)
	d := &doc{f: f, t: t}
	f.SetHeaderFunc(func() {
		d.font(sizeSmall, colorMuted)
		f.Text(marginX, 12, header)
		w := f.GetStringWidth(requestNo)
		f.Text(pageW-marginX-w, 12, requestNo)
		d.rule(14, 0.2, colorRule)
		f.SetY(marginTop)
	})
	f.SetFooterFunc(func() {
		d.rule(pageH-15, 0.2, colorRule)
		d.font(sizeSmall, colorMuted)
		f.Text(marginX, pageH-10, footerLeft)
		// Right-align as if the page count had two digits: the alias is
		// replaced only at the end, after its width was measured.
		p := t("pdf.footer.page", requestNo, f.PageNo(), pageAlias)
		w := f.GetStringWidth(strings.ReplaceAll(p, pageAlias, "00"))
		f.Text(pageW-marginX-w, pageH-10, p)
	})
	f.AddPage()
	return d
}

func (d *doc) bytes() ([]byte, error) {
	var buf bytes.Buffer
	if err := d.f.Output(&buf); err != nil {
		return nil, fmt.Errorf("pdf: %w", err)
	}
	return buf.Bytes(), nil
}

func (d *doc) font(size float64, c rgb) {
	d.f.SetFont(fontFamily, "", size)
	d.f.SetTextColor(c.r, c.g, c.b)
}

// bold draws the following text thicker: the font has one weight, so the
// glyphs are stroked as well as filled.
func (d *doc) bold(on bool, c rgb) {
	if on {
		d.f.SetTextRenderingMode(2)
		d.f.SetDrawColor(c.r, c.g, c.b)
		d.f.SetLineWidth(0.18)
	} else {
		d.f.SetTextRenderingMode(0)
	}
}

func (d *doc) rule(y, width float64, c rgb) {
	d.f.SetDrawColor(c.r, c.g, c.b)
	d.f.SetLineWidth(width)
	d.f.Line(marginX, y, pageW-marginX, y)
}

func (d *doc) width(s string) float64 { return d.f.GetStringWidth(s) }

// room makes sure h millimetres are free below the cursor, starting a new
// page when they are not. It reports whether it did.
func (d *doc) room(h float64) bool {
	if d.f.GetY()+h <= bodyBottom {
		return false
	}
	d.f.AddPage()
	return true
}

// baseline is where text of size pt sits in a line of height lead whose
// top is at y.
func baseline(y, lead, pt float64) float64 {
	return y + lead/2 + pt*ptToMM*0.36
}

// title writes the document title, centred, with a double rule below.
func (d *doc) title(s string) {
	d.font(sizeTitle, colorText)
	d.bold(true, colorText)
	lead := sizeTitle * ptToMM * 1.5
	for _, l := range wrap(clean(s), contentW, d.width) {
		y := d.f.GetY()
		d.f.Text(marginX+(contentW-d.width(l.text))/2, baseline(y, lead, sizeTitle), l.text)
		d.f.SetY(y + lead)
	}
	d.bold(false, colorText)
	y := d.f.GetY() + 1
	d.rule(y, 0.6, colorAccent)
	d.rule(y+0.9, 0.2, colorAccent)
	d.f.SetY(y + 5)
}

// heading starts a section; it moves to a new page rather than stand
// alone at the bottom of one.
func (d *doc) heading(s string) {
	lead := 7.0
	if !d.room(lead + 3*leadTable + 6) {
		d.f.SetY(d.f.GetY() + 3)
	}
	d.font(sizeHeading, colorAccent)
	d.bold(true, colorAccent)
	for _, l := range wrap(clean(s), contentW, d.width) {
		y := d.f.GetY()
		d.f.Text(marginX, baseline(y, lead, sizeHeading), l.text)
		d.f.SetY(y + lead)
	}
	d.bold(false, colorAccent)
	d.rule(d.f.GetY(), 0.35, colorAccent)
	d.f.SetY(d.f.GetY() + 2)
}

// subheading is a smaller title inside a section.
func (d *doc) subheading(s string) {
	lead := 6.0
	d.room(lead + 2*leadTable + 4)
	d.font(sizeBody, colorText)
	d.bold(true, colorText)
	for _, l := range wrap(clean(s), contentW, d.width) {
		y := d.f.GetY()
		d.f.Text(marginX, baseline(y, lead, sizeBody), l.text)
		d.f.SetY(y + lead)
	}
	d.bold(false, colorText)
}

// paragraph writes wrapped body text, breaking pages between lines.
func (d *doc) paragraph(s string, c rgb) {
	d.font(sizeBody, c)
	for _, l := range wrap(clean(s), contentW, d.width) {
		d.room(leadBody)
		y := d.f.GetY()
		d.f.Text(marginX, baseline(y, leadBody, sizeBody), l.text)
		d.f.SetY(y + leadBody)
	}
	d.f.SetY(d.f.GetY() + 1.5)
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
		if !hasHead {
			d.rule(d.f.GetY(), 0.35, colorMuted)
			return
		}
		y := d.f.GetY()
		d.f.SetFillColor(colorHeadBg.r, colorHeadBg.g, colorHeadBg.b)
		d.f.Rect(marginX, y, contentW, headH, "F")
		d.rule(y, 0.35, colorMuted)
		d.drawCells(cols, head, 0, headN, y, colorMuted, nil, true)
		d.rule(y+headH, 0.25, colorMuted)
		d.f.SetY(y + headH)
	}
	d.room(headH + leadTable + 2*cellPadY)
	drawHead()
	for ri, r := range rows {
		cells, n := wrapCells(r.cells)
		for from := 0; from < n; {
			avail := int((bodyBottom - d.f.GetY() - 2*cellPadY) / leadTable)
			fresh := int((bodyBottom - marginTop - headH - 2*cellPadY) / leadTable)
			if avail < n-from && (n-from <= fresh || avail < 1) {
				d.f.AddPage()
				drawHead()
				continue
			}
			to := min(n, from+avail)
			y := d.f.GetY()
			h := float64(to-from)*leadTable + 2*cellPadY
			d.drawCells(cols, cells, from, to, y, colorText, r.color, false)
			last := ri == len(rows)-1 && to == n
			if last {
				d.rule(y+h, 0.35, colorMuted)
			} else {
				d.rule(y+h, 0.1, colorRuleDim)
			}
			d.f.SetY(y + h)
			from = to
			if from < n {
				d.f.AddPage()
				drawHead()
			}
		}
	}
	d.f.SetY(d.f.GetY() + 3)
}

// drawCells writes lines [from, to) of each cell of a row whose top is y.
func (d *doc) drawCells(cols []column, cells [][]line, from, to int, y float64, c rgb, last *rgb, head bool) {
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
			ly := y + cellPadY + float64(k-from)*leadTable
			d.f.Text(x+cellPadX, baseline(ly, leadTable, sizeTable), cells[i][k].text)
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
