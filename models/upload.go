package models

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/colo-portal/portal/models/imagecheck"
)

// UploadLimits bound what an upload may be. A zero or negative field takes
// its value from DefaultUploadLimits, so a forgotten field never means
// "unlimited".
type UploadLimits struct {
	MaxBytes  int64 // default 10 MB (10 << 20)
	MaxSide   int   // largest width or height in pixels of an image, default 12000
	MaxPixels int64 // width*height, default 36_000_000 (an A4 page scanned at 600 dpi is 35 million)
}

// DefaultUploadLimits fit a signed form scanned at up to 600 dpi.
var DefaultUploadLimits = UploadLimits{MaxBytes: 10 << 20, MaxSide: 12000, MaxPixels: 36_000_000}

// CheckedUpload is what CheckUpload found out about an accepted file.
type CheckedUpload struct {
	Name          string // the original file name, cleaned (trimmed); safe to show and to put in a Content-Disposition filename*
	ContentType   string // "application/pdf", "image/jpeg" or "image/png", decided by content
	Ext           string // ".pdf", ".jpg", ".png"
	Size          int64
	SHA256        string // lowercase hex of the bytes
	Width, Height int    // images only
}

// maxUploadName is the longest file name kept, in bytes: enough for any
// real scan name, short enough for a header and a table cell.
const maxUploadName = 200

// pdfEOFWindow is how far from the end a PDF's %%EOF may be: writers add
// trailing whitespace or a few bytes of junk, readers look this far.
const pdfEOFWindow = 1024

// CheckUploadName validates the original file name alone (the handler calls
// it before reading the body) and returns it trimmed. The name is only ever
// shown and sent back in Content-Disposition; it never becomes a path, but
// characters that mean something to a file system, a shell, HTML or a header
// are refused all the same, so no later use has to think about them.
func CheckUploadName(name string) (string, error) {
	name = strings.TrimSpace(name)
	bad := func() (string, error) { return "", Invalid("file", "upload.error.name") }
	if name == "" || len(name) > maxUploadName || !utf8.ValidString(name) {
		return bad()
	}
	if name == "." || name == ".." || strings.HasPrefix(name, ".") {
		return bad()
	}
	for _, r := range name {
		if strings.ContainsRune(`/\"'<>:*?|`, r) || !nameRune(r) {
			return bad()
		}
	}
	return name, nil
}

// nameRune reports whether r may appear in a file name: not a control
// character (NUL included), not a line or paragraph separator, and not a
// bidirectional formatting character, which can make "gpj.exe" look like
// "exe.jpg".
func nameRune(r rune) bool {
	switch {
	case unicode.IsControl(r), unicode.In(r, unicode.Zl, unicode.Zp):
		return false
	case r == '\u061c', r == '\u200e', r == '\u200f',
		r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return false
	}
	return true
}

// TooLarge is the refusal of a file over the limit, for a caller that
// knows the size before reading the file.
func (l UploadLimits) TooLarge() error {
	return Invalid("file", "upload.error.too_large", humanBytes(l.withDefaults().MaxBytes))
}

// CheckUpload validates a whole upload: name, size, type by content, image
// dimensions. Every refusal is a *ValidationError on "file".
//
// The type is what the bytes are, never what the name says: a real PDF named
// scan.png is stored as a PDF, and HTML named scan.pdf is refused. A file
// that starts with %PDF- and has %%EOF near its end is accepted as a PDF
// whatever lies between (PDFs are mostly binary streams, and nothing short of
// a full PDF parser could tell more); it is only ever served back as
// application/pdf, so a browser never reads what is inside as HTML.
//
// Images are measured from their header before anything is decoded, so a
// small file claiming a huge picture costs nothing; only then are they
// decoded in full to prove they are intact.
func CheckUpload(name string, data []byte, lim UploadLimits) (*CheckedUpload, error) {
	lim = lim.withDefaults()
	// The size first: nothing else may read more than the limit allows.
	if int64(len(data)) > lim.MaxBytes {
		return nil, lim.TooLarge()
	}
	if len(data) == 0 {
		return nil, Invalid("file", "upload.error.empty")
	}
	name, err := CheckUploadName(name)
	if err != nil {
		return nil, err
	}
	up := &CheckedUpload{Name: name, Size: int64(len(data))}
	switch up.ContentType = http.DetectContentType(data); up.ContentType {
	case "application/pdf":
		up.Ext = ".pdf"
		if !bytes.HasPrefix(data, []byte("%PDF-")) || !bytes.Contains(data[max(0, len(data)-pdfEOFWindow):], []byte("%%EOF")) {
			return nil, Invalid("file", "upload.error.corrupt")
		}
	case "image/jpeg":
		up.Ext = ".jpg"
		if up.Width, up.Height, err = checkImage(imagecheck.JPEG, data, lim); err != nil {
			return nil, err
		}
	case "image/png":
		up.Ext = ".png"
		if up.Width, up.Height, err = checkImage(imagecheck.PNG, data, lim); err != nil {
			return nil, err
		}
	default:
		return nil, Invalid("file", "upload.error.type")
	}
	sum := sha256.Sum256(data)
	up.SHA256 = hex.EncodeToString(sum[:])
	return up, nil
}

// checkImage measures an image and decodes it within the limits (see
// imagecheck), and turns what it found into the upload's refusals.
func checkImage(check func([]byte, imagecheck.Limits) (int, int, error), data []byte, lim UploadLimits) (w, h int, err error) {
	w, h, err = check(data, imagecheck.Limits{MaxSide: lim.MaxSide, MaxPixels: lim.MaxPixels})
	var big *imagecheck.TooLargeError
	var heavy *imagecheck.TooHeavyError
	switch {
	case err == nil:
		return w, h, nil
	case errors.As(err, &big):
		return 0, 0, Invalid("file", "upload.error.dimensions", big.Width, big.Height, lim.MaxSide, megapixels(lim.MaxPixels))
	case errors.As(err, &heavy):
		return 0, 0, Invalid("file", "upload.error.heavy", heavy.Width, heavy.Height, heavy.BytesPerPixel)
	}
	return 0, 0, Invalid("file", "upload.error.corrupt")
}

func (l UploadLimits) withDefaults() UploadLimits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultUploadLimits.MaxBytes
	}
	if l.MaxSide <= 0 {
		l.MaxSide = DefaultUploadLimits.MaxSide
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultUploadLimits.MaxPixels
	}
	return l
}

// humanBytes formats a size limit for people: "10 MB", "1.5 MB", "500 KB".
// Units are binary (1 MB = 1 << 20 bytes), as the limits are written.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return trimmed(float64(n)/(1<<20)) + " MB"
	case n >= 1<<10:
		return trimmed(float64(n)/(1<<10)) + " KB"
	}
	return fmt.Sprintf("%d B", n)
}

// trimmed formats f with at most one decimal, without a trailing ".0".
// It rounds down, so a limit is never shown larger than it is.
func trimmed(f float64) string {
	return strings.TrimSuffix(strconv.FormatFloat(math.Floor(f*10)/10, 'f', 1, 64), ".0")
}

// megapixels formats a pixel count in millions, for the dimensions message:
// 60_000_000 is "60".
func megapixels(n int64) string {
	return strconv.FormatFloat(float64(n)/1e6, 'f', -1, 64)
}
