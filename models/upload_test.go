package models_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/colo-portal/portal/models"
)

// tinyPDF is a real one-page PDF with a correct cross-reference table.
func tinyPDF() []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
	}
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// scanImage is a w×h grey picture with some texture, like a scanned page.
func scanImage(w, h int) image.Image {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(200 + i*7%56)
	}
	return img
}

func encodePNG(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, scanImage(w, h)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, scanImage(w, h), &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeGIF(t testing.TB) []byte {
	t.Helper()
	img := image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.White, color.Black})
	var b bytes.Buffer
	if err := gif.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// encodePNG16 is a w×h 16-bit RGB PNG, which decodes to 8 bytes a pixel.
func encodePNG16(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA64(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func sha(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// uploadCase is one upload and what CheckUpload must make of it: either
// the refusal key (and its args when they matter) or the accepted type.
type uploadCase struct {
	what     string
	name     string
	data     []byte
	lim      models.UploadLimits
	wantKey  string
	wantArgs []any
	wantType string
	wantW    int
	wantH    int
	wantName string
}

func uploadCases(t testing.TB) []uploadCase {
	// Clipped, so that appending to them never writes into a shared array.
	pdf, jpg, pngData := slices.Clip(tinyPDF()), slices.Clip(encodeJPEG(t, 40, 30)), slices.Clip(encodePNG(t, 40, 30))
	html := []byte("<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>")
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>`)
	svgProlog := append([]byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"), svg...)
	zip := []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00scan.pdf")
	pdfWithHTML := append([]byte("%PDF-1.4\n<html><script>alert(1)</script></html>\n"), []byte("trailer\n<<>>\n%%EOF\n")...)
	noEOF := bytes.TrimSuffix(pdf, []byte("%%EOF\n"))
	eofTooEarly := append(append([]byte{}, pdf...), bytes.Repeat([]byte(" "), 1100)...)
	eofWithinWindow := append(append([]byte{}, pdf...), bytes.Repeat([]byte("\n"), 1000)...)
	small := models.UploadLimits{MaxBytes: int64(len(pdf))}
	return []uploadCase{
		{what: "a small PDF is accepted as a PDF", name: "scan.pdf", data: pdf, wantType: "application/pdf"},
		{what: "a JPEG is accepted with its dimensions", name: "scan.jpg", data: jpg, wantType: "image/jpeg", wantW: 40, wantH: 30},
		{what: "a PNG is accepted with its dimensions", name: "scan.png", data: pngData, wantType: "image/png", wantW: 40, wantH: 30},
		{what: "a real PDF named scan.png is accepted as the PDF it is", name: "scan.png", data: pdf, wantType: "application/pdf"},
		{what: "a PNG named scan.pdf is accepted as the PNG it is", name: "scan.pdf", data: pngData, wantType: "image/png", wantW: 40, wantH: 30},
		{what: "a JPEG without extension is accepted as a JPEG", name: "scan", data: jpg, wantType: "image/jpeg", wantW: 40, wantH: 30},
		// Between %PDF- and %%EOF a PDF is opaque streams; it is only ever
		// served back as application/pdf, so HTML inside is never run.
		{what: "a PDF with HTML between its header and %%EOF is accepted as a PDF", name: "scan.pdf", data: pdfWithHTML, wantType: "application/pdf"},
		{what: "a PDF with trailing newlines after %%EOF is accepted", name: "scan.pdf", data: eofWithinWindow, wantType: "application/pdf"},
		{what: "a Chinese name with spaces around is trimmed and kept", name: "  签字 授权书 (1).pdf \t", data: pdf, wantType: "application/pdf", wantName: "签字 授权书 (1).pdf"},
		{what: "a name of exactly 200 bytes is accepted", name: strings.Repeat("a", 196) + ".pdf", data: pdf, wantType: "application/pdf"},
		{what: "a file exactly at the size limit is accepted", name: "scan.pdf", data: pdf, lim: small, wantType: "application/pdf"},

		{what: "a file one byte over the default limit is refused as too large", name: "scan.pdf", data: append(pdf, make([]byte, 10<<20+1-len(pdf))...), wantKey: "upload.error.too_large", wantArgs: []any{"10 MB"}},
		{what: "a file one byte over a small limit is refused as too large", name: "scan.pdf", data: append(pdf, ' '), lim: small, wantKey: "upload.error.too_large"},
		{what: "size is checked before the name", name: "../x", data: append(pdf, ' '), lim: small, wantKey: "upload.error.too_large"},
		{what: "no bytes at all are refused as empty", name: "scan.pdf", data: nil, wantKey: "upload.error.empty"},
		{what: "a zero-length file is refused as empty", name: "scan.pdf", data: []byte{}, wantKey: "upload.error.empty"},

		{what: "HTML named scan.pdf is refused by type", name: "scan.pdf", data: html, wantKey: "upload.error.type"},
		{what: "HTML named scan.png is refused by type", name: "scan.png", data: html, wantKey: "upload.error.type"},
		{what: "an SVG is refused by type", name: "scan.png", data: svg, wantKey: "upload.error.type"},
		{what: "an SVG with an XML prolog is refused by type", name: "scan.svg", data: svgProlog, wantKey: "upload.error.type"},
		{what: "a GIF is refused by type", name: "scan.gif", data: encodeGIF(t), wantKey: "upload.error.type"},
		{what: "a ZIP named scan.pdf is refused by type", name: "scan.pdf", data: zip, wantKey: "upload.error.type"},
		{what: "a text file is refused by type", name: "scan.pdf", data: []byte("I authorize John to enter.\n"), wantKey: "upload.error.type"},
		{what: "a PDF with a space before %PDF- is refused by type", name: "scan.pdf", data: append([]byte(" "), pdf...), wantKey: "upload.error.type"},

		// What imagecheck finds becomes the upload's refusal; its own tests
		// have the image cases.
		{what: "a PNG within the side limit but over the pixel limit is refused by dimensions", name: "scan.png", data: pngData,
			lim: models.UploadLimits{MaxPixels: 1000}, wantKey: "upload.error.dimensions", wantArgs: []any{40, 30, 12000, "0.001"}},
		{what: "a 16-bit PNG within the pixel limit is refused for the memory decoding would take", name: "scan.png", data: encodePNG16(t, 40, 30),
			lim: models.UploadLimits{MaxPixels: 1200}, wantKey: "upload.error.heavy", wantArgs: []any{40, 30, int64(8)}},
		{what: "a PNG cut short is refused as corrupt", name: "scan.png", data: pngData[:len(pngData)-30], wantKey: "upload.error.corrupt"},
		{what: "a JPEG cut short is refused as corrupt", name: "scan.jpg", data: jpg[:len(jpg)/2], wantKey: "upload.error.corrupt"},
		{what: "a PDF without %%EOF is refused as corrupt", name: "scan.pdf", data: noEOF, wantKey: "upload.error.corrupt"},
		{what: "a PDF whose %%EOF is more than 1024 bytes from the end is refused as corrupt", name: "scan.pdf", data: eofTooEarly, wantKey: "upload.error.corrupt"},
		{what: "a bare %PDF- header is refused as corrupt", name: "scan.pdf", data: []byte("%PDF-"), wantKey: "upload.error.corrupt"},

		{what: "a name with a slash is refused", name: "../etc/passwd.pdf", data: pdf, wantKey: "upload.error.name"},
		{what: "a name with a backslash is refused", name: `..\scan.pdf`, data: pdf, wantKey: "upload.error.name"},
		{what: "the name .. is refused", name: "..", data: pdf, wantKey: "upload.error.name"},
		{what: "the name . is refused", name: ".", data: pdf, wantKey: "upload.error.name"},
		{what: "a name starting with a dot is refused", name: ".scan.pdf", data: pdf, wantKey: "upload.error.name"},
		{what: "a name with a double quote is refused", name: `scan".pdf`, data: pdf, wantKey: "upload.error.name"},
		{what: "a name with a single quote is refused", name: `it's.pdf`, data: pdf, wantKey: "upload.error.name"},
		{what: "a name with angle brackets is refused", name: "<img src=x onerror=alert(1)>.pdf", data: pdf, wantKey: "upload.error.name"},
		{what: "a name with a colon is refused", name: "C:scan.pdf", data: pdf, wantKey: "upload.error.name"},
		{what: "a name with a star, question mark or bar is refused", name: "scan*?|.pdf", data: pdf, wantKey: "upload.error.name"},
		{what: "a name with NUL is refused", name: "scan.pdf\x00.html", data: pdf, wantKey: "upload.error.name"},
		{what: "a name with a newline is refused", name: "scan\r\nSet-Cookie: x=y.pdf", data: pdf, wantKey: "upload.error.name"},
		{what: "a name with DEL is refused", name: "scan\x7f.pdf", data: pdf, wantKey: "upload.error.name"},
		{what: "a name with a C1 control character is refused", name: "scan\u0085.pdf", data: pdf, wantKey: "upload.error.name"},
		{what: "a name with a right-to-left override is refused", name: "scan\u202egpj.exe", data: pdf, wantKey: "upload.error.name"},
		{what: "a name that is not UTF-8 is refused", name: "scan\xff.pdf", data: pdf, wantKey: "upload.error.name"},
		{what: "a 300-byte name is refused", name: strings.Repeat("a", 296) + ".pdf", data: pdf, wantKey: "upload.error.name"},
		{what: "a name of 201 bytes is refused", name: strings.Repeat("a", 197) + ".pdf", data: pdf, wantKey: "upload.error.name"},
		{what: "an empty name is refused", name: "", data: pdf, wantKey: "upload.error.name"},
		{what: "a name of only spaces is refused", name: "   ", data: pdf, wantKey: "upload.error.name"},
	}
}

func TestCheckUpload(t *testing.T) {
	exts := map[string]string{"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
	for _, c := range uploadCases(t) {
		t.Run(c.what, func(t *testing.T) {
			up, err := models.CheckUpload(c.name, c.data, c.lim)
			if c.wantKey != "" {
				v, ok := models.AsValidation(err)
				if !ok {
					t.Fatalf("got %v, %v; want %s", up, err, c.wantKey)
				}
				if v.Field != "file" || v.Key != c.wantKey {
					t.Fatalf("got %s on %q, want %s on file", v.Key, v.Field, c.wantKey)
				}
				if c.wantArgs != nil && !reflect.DeepEqual(v.Args, c.wantArgs) {
					t.Errorf("args = %#v, want %#v", v.Args, c.wantArgs)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			wantName := c.wantName
			if wantName == "" {
				wantName = c.name
			}
			want := models.CheckedUpload{Name: wantName, ContentType: c.wantType, Ext: exts[c.wantType],
				Size: int64(len(c.data)), SHA256: sha(c.data), Width: c.wantW, Height: c.wantH}
			if *up != want {
				t.Errorf("got %+v\nwant %+v", *up, want)
			}
		})
	}
}

func TestCheckUploadName(t *testing.T) {
	for name, want := range map[string]string{
		"scan.pdf":             "scan.pdf",
		" 签字.jpg ":             "签字.jpg",
		"Form (signed) #2.png": "Form (signed) #2.png",
		"scan..pdf":            "scan..pdf",
		"façade – 表格.pdf":      "façade – 表格.pdf",
	} {
		t.Run(fmt.Sprintf("%q is accepted as %q", name, want), func(t *testing.T) {
			got, err := models.CheckUploadName(name)
			if err != nil || got != want {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
	for _, name := range []string{"", "a/b", `a\b`, "a:b", ".", "..", ".env", "a\tb", "a\u2028b", "a\u2066b"} {
		t.Run(fmt.Sprintf("%q is refused", name), func(t *testing.T) {
			_, err := models.CheckUploadName(name)
			if v, ok := models.AsValidation(err); !ok || v.Field != "file" || v.Key != "upload.error.name" {
				t.Fatalf("got %v, want upload.error.name", err)
			}
		})
	}
}

func TestCheckUploadTooLargeArgsReadForPeople(t *testing.T) {
	for limit, want := range map[int64]string{10 << 20: "10 MB", 1 << 20: "1 MB", 3 << 19: "1.5 MB", 500 << 10: "500 KB", 100: "100 B"} {
		t.Run(fmt.Sprintf("a limit of %d bytes reads %q", limit, want), func(t *testing.T) {
			_, err := models.CheckUpload("scan.pdf", make([]byte, limit+1), models.UploadLimits{MaxBytes: limit})
			v, ok := models.AsValidation(err)
			if !ok || v.Key != "upload.error.too_large" || !reflect.DeepEqual(v.Args, []any{want}) {
				t.Fatalf("got %v", err)
			}
		})
	}
}

// fuzzLimits are smaller than the defaults so that a mutated header
// cannot make each run decode a 60-megapixel image.
var fuzzLimits = models.UploadLimits{MaxBytes: 256 << 10, MaxSide: 2000, MaxPixels: 1_000_000}

func FuzzCheckUpload(f *testing.F) {
	for _, c := range uploadCases(f) {
		if len(c.data) <= 64<<10 {
			f.Add(c.name, c.data)
		}
	}
	keys := map[string]bool{"upload.error.empty": true, "upload.error.too_large": true, "upload.error.name": true,
		"upload.error.type": true, "upload.error.dimensions": true, "upload.error.heavy": true, "upload.error.corrupt": true}
	exts := map[string]string{"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		up, err := models.CheckUpload(name, data, fuzzLimits)
		if err != nil {
			v, ok := models.AsValidation(err)
			if !ok || v.Field != "file" || !keys[v.Key] || up != nil {
				t.Fatalf("refusal is %T %v with %v, want a ValidationError on file with an upload.error key", err, err, up)
			}
			return
		}
		if exts[up.ContentType] == "" || up.Ext != exts[up.ContentType] {
			t.Fatalf("accepted as %q %q", up.ContentType, up.Ext)
		}
		if up.SHA256 != sha(data) {
			t.Fatalf("SHA-256 %s does not match the data", up.SHA256)
		}
		if up.Size != int64(len(data)) || up.Size == 0 || up.Size > fuzzLimits.MaxBytes {
			t.Fatalf("size %d for %d bytes, limit %d", up.Size, len(data), fuzzLimits.MaxBytes)
		}
		if again, err := models.CheckUploadName(up.Name); err != nil || again != up.Name || up.Name != strings.TrimSpace(name) {
			t.Fatalf("name %q from %q does not check again: %v", up.Name, name, err)
		}
		isImage := up.ContentType != "application/pdf"
		if isImage != (up.Width > 0 && up.Height > 0) || up.Width > fuzzLimits.MaxSide || up.Height > fuzzLimits.MaxSide ||
			int64(up.Width)*int64(up.Height) > fuzzLimits.MaxPixels {
			t.Fatalf("%s accepted at %d×%d", up.ContentType, up.Width, up.Height)
		}
	})
}
