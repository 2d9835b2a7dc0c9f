package pdf

import (
	"bytes"
	"image"
	_ "image/jpeg" // the letterhead logo may be a JPEG
	_ "image/png"  // or a PNG
	"strings"

	"github.com/go-pdf/fpdf"
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

// logoWidth is the logo's width at logoHeight, 0 without a logo (or with
// one that does not decode: the letterhead then goes without).
func (l Letterhead) logoWidth() float64 {
	if len(l.Logo) == 0 {
		return 0
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(l.Logo))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return 0
	}
	return min(logoHeight*float64(cfg.Width)/float64(cfg.Height), contentW/3)
}

// drawn reports whether the letterhead shows anything: a name or a logo.
func (l Letterhead) drawn() bool { return strings.TrimSpace(l.Name) != "" || l.logoWidth() > 0 }

// letterhead draws the provider's identity at the top of the first page:
// the logo on the left, the name, address and numbers beside it, and a
// rule below.
func (d *doc) letterhead() {
	l := d.m.head
	lw := l.logoWidth()
	top := d.y
	x := marginX
	if lw > 0 {
		if d.f != nil {
			opt := fpdf.ImageOptions{ImageType: "PNG"}
			if l.LogoType == "image/jpeg" {
				opt.ImageType = "JPG"
			}
			d.f.RegisterImageOptionsReader("logo", opt, bytes.NewReader(l.Logo))
			d.f.ImageOptions("logo", x, top, 0, logoHeight, false, opt, 0, "")
		}
		x += lw + 5
	}
	w := pageW - marginX - x
	d.y = top
	if l.Name != "" {
		d.font(sizeHeading+1, colorAccent)
		d.bold(true, colorAccent)
		for _, ln := range wrap(clean(l.Name), w, d.width) {
			d.text(x, baseline(d.y, 6, d.size), ln.text)
			d.y += 6
		}
		d.bold(false, colorAccent)
	}
	d.font(sizeSmall+0.5, colorMuted)
	var lines []string
	if a := strings.TrimSpace(l.Address); a != "" {
		lines = append(lines, strings.ReplaceAll(a, "\n", ", "))
	}
	if c := l.contactLine(d.t); c != "" {
		lines = append(lines, c)
	}
	for _, s := range lines {
		for _, ln := range wrap(clean(s), w, d.width) {
			d.text(x, baseline(d.y, 3.8, d.size), ln.text)
			d.y += 3.8
		}
	}
	d.y = max(d.y, top+logoHeight) + 1.5
	d.rule(d.y, 0.3, colorRule)
	d.y += 2
}
