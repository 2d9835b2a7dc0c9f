package pdf

import (
	"bytes"
	"image"
	_ "image/jpeg" // the letterhead logo may be a JPEG
	_ "image/png"  // or a PNG
	"strings"
)

// Letterhead is who issues a document: the data center. Every field may
// be empty; phone numbers come already formatted.
type Letterhead struct {
	Name    string
	Address string // lines separated by "\n"
	Phone   string
	Fax     string
	Email   string
	// Logo is a PNG or JPEG (already checked), LogoType its MIME type.
	Logo     []byte
	LogoType string
}

// logoHeight is the height of the logo on the letterhead, in millimetres.
const logoHeight = 12.0

// contactLine is the letterhead's line of phone, fax and email.
func (l Letterhead) contactLine(t T) string {
	var parts []string
	if l.Phone != "" {
		parts = append(parts, t("pdf.letterhead.phone", l.Phone))
	}
	if l.Fax != "" {
		parts = append(parts, t("pdf.letterhead.fax", l.Fax))
	}
	if l.Email != "" {
		parts = append(parts, t("pdf.letterhead.email", l.Email))
	}
	return strings.Join(parts, "  ·  ")
}

// logoWidth is the logo's width at height h, at most a third of maxW; 0
// without a logo (or with one that does not decode: the letterhead then
// goes without).
func (l Letterhead) logoWidth(h, maxW float64) float64 {
	if len(l.Logo) == 0 {
		return 0
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(l.Logo))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return 0
	}
	return min(h*float64(cfg.Width)/float64(cfg.Height), maxW/3)
}

// drawn reports whether the letterhead shows anything: a name or a logo.
func (l Letterhead) drawn() bool {
	return strings.TrimSpace(l.Name) != "" || l.logoWidth(logoHeight, contentW) > 0
}

// letterhead draws the provider's identity at the cursor, across width
// from left: the logo on the left, the name, address and numbers beside
// it, and a rule below; scale shrinks it for smaller paper (1 on A4).
// maxLines, unless 0, bounds each of the name, the address and the
// contact line to that many lines, the last ending in an ellipsis.
func (d *doc) letterhead(left, width, scale float64, maxLines int) {
	l := d.m.head
	lh := logoHeight * scale
	lw := l.logoWidth(lh, width)
	top := d.y
	x := left
	if lw > 0 {
		typ := "PNG"
		if l.LogoType == "image/jpeg" {
			typ = "JPG"
		}
		d.image("logo", typ, l.Logo, x, top, 0, lh)
		x += lw + 5*scale
	}
	w := left + width - x
	d.y = top
	if l.Name != "" {
		d.font((sizeHeading+1)*scale, colorAccent)
		d.bold(true, colorAccent)
		for _, ln := range d.upTo(wrap(clean(l.Name), w, d.width), maxLines, w) {
			d.text(x, baseline(d.y, 6*scale, d.size), ln)
			d.y += 6 * scale
		}
		d.bold(false, colorAccent)
	}
	d.font((sizeSmall+0.5)*scale, colorMuted)
	var lines []string
	if a := strings.TrimSpace(l.Address); a != "" {
		lines = append(lines, strings.ReplaceAll(a, "\n", ", "))
	}
	if c := l.contactLine(d.t); c != "" {
		lines = append(lines, c)
	}
	for _, s := range lines {
		for _, ln := range d.upTo(wrap(clean(s), w, d.width), maxLines, w) {
			d.text(x, baseline(d.y, 3.8*scale, d.size), ln)
			d.y += 3.8 * scale
		}
	}
	d.y = max(d.y, top+lh) + 1.5*scale
	d.line(left, d.y, left+width, d.y, 0.3, colorRule)
	d.y += 2 * scale
}

// upTo is the text of the lines, all of them when n is 0, else clipLines.
func (d *doc) upTo(ls []line, n int, w float64) []string {
	if n == 0 {
		out := make([]string, len(ls))
		for i, l := range ls {
			out[i] = l.text
		}
		return out
	}
	return clipLines(ls, n, w, d.width)
}
