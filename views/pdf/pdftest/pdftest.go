// Package pdftest helps tests read what the portal's PDFs show to a
// machine: the QR codes of a visitor pass. Only tests import it.
package pdftest

import (
	"bytes"
	"errors"
	"image"
	_ "image/png" // pdftoppm's pages
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// Poppler skips the test when the poppler tool is not installed, and
// fails it when the CI says it should be.
func Poppler(t testing.TB, tool string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (poppler-utils) is missing: %v", tool, err)
		}
		t.Skipf("%s (poppler-utils) is not installed", tool)
	}
}

// QRTokens renders every page of pdf at 300 dpi with pdftoppm, as a
// printer would, and returns the text of the QR code on each page, in
// page order; a page without a readable QR code adds nothing, so compare
// the count with what you expect.
func QRTokens(t testing.TB, pdf []byte) []string {
	t.Helper()
	Poppler(t, "pdftoppm")
	dir := t.TempDir()
	in := filepath.Join(dir, "doc.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command("pdftoppm", "-r", "300", "-gray", "-png", in, filepath.Join(dir, "page"))
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, stderr.String())
	}
	pages, err := filepath.Glob(filepath.Join(dir, "page-*.png"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("pdftoppm made no pages (%v)", err)
	}
	// page-1.png … page-10.png, or page-01.png: order by the number.
	num := func(p string) int {
		n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "page-"), ".png"))
		return n
	}
	sort.Slice(pages, func(i, j int) bool { return num(pages[i]) < num(pages[j]) })

	var out []string
	for _, p := range pages {
		s, ok := scan(t, p)
		if ok {
			out = append(out, s)
		}
	}
	return out
}

// scan decodes the QR code in the picture at path.
func scan(t testing.TB, path string) (string, bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", filepath.Base(path), err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		var nf gozxing.NotFoundException
		if errors.As(err, &nf) {
			return "", false
		}
		t.Fatalf("the QR code on %s does not read: %v", filepath.Base(path), err)
	}
	return res.GetText(), true
}
