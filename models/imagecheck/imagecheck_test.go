package imagecheck_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"reflect"
	"runtime"
	"testing"

	"github.com/colo-portal/portal/models/imagecheck"
)

// defaults are the upload defaults: a signed form scanned at 600 dpi.
var defaults = imagecheck.Limits{MaxSide: 12000, MaxPixels: 36_000_000}

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

func pngChunk(out []byte, typ string, data []byte) []byte {
	c := append([]byte(typ), data...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	out = append(out, c...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(c))
}

// pngHeader is a PNG signature and a valid IHDR chunk claiming w×h 8-bit
// RGBA pixels, and nothing else: all image.DecodeConfig needs to read.
func pngHeader(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // bit depth, colour type RGBA
	return pngChunk([]byte("\x89PNG\r\n\x1a\n"), "IHDR", ihdr)
}

// png16Header is pngHeader for 16-bit RGBA, which decodes to 8 bytes a pixel.
func png16Header(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 16, 6
	return pngChunk([]byte("\x89PNG\r\n\x1a\n"), "IHDR", ihdr)
}

// progressiveJPEGClaiming is jpegClaiming with its frame marked progressive.
func progressiveJPEGClaiming(t testing.TB, w, h uint16) []byte {
	t.Helper()
	data := jpegClaiming(t, w, h)
	data[bytes.Index(data, []byte{0xff, 0xc0})+1] = 0xc2
	return data
}

// pngClaiming is pngHeader followed by a tiny IDAT and IEND: 72 bytes on
// which png.Decode allocates the whole claimed image before it finds the
// pixel data missing.
func pngClaiming(w, h uint32) []byte {
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, 100))
	zw.Close()
	return pngChunk(pngChunk(pngHeader(w, h), "IDAT", z.Bytes()), "IEND", nil)
}

// jpegClaiming is a real small JPEG whose frame header is rewritten to
// claim w×h pixels.
func jpegClaiming(t testing.TB, w, h uint16) []byte {
	t.Helper()
	data := encodeJPEG(t, 16, 16)
	i := bytes.Index(data, []byte{0xff, 0xc0}) // SOF0: length(2) precision(1) height(2) width(2)
	if i < 0 {
		t.Fatal("no SOF0 marker in the encoded JPEG")
	}
	binary.BigEndian.PutUint16(data[i+5:], h)
	binary.BigEndian.PutUint16(data[i+7:], w)
	return data
}

func TestCheck(t *testing.T) {
	jpg, pngData := encodeJPEG(t, 40, 30), encodePNG(t, 40, 30)
	corrupt := imagecheck.ErrCorrupt
	for _, c := range []struct {
		what   string
		check  func([]byte, imagecheck.Limits) (int, int, error)
		data   []byte
		lim    imagecheck.Limits
		wantW  int
		wantH  int
		wantEr error
	}{
		{"a JPEG is accepted with its dimensions", imagecheck.JPEG, jpg, defaults, 40, 30, nil},
		{"a PNG is accepted with its dimensions", imagecheck.PNG, pngData, defaults, 40, 30, nil},

		{"a PNG header claiming 30000×30000 pixels is too large", imagecheck.PNG, pngHeader(30000, 30000), defaults, 0, 0,
			&imagecheck.TooLargeError{Width: 30000, Height: 30000}},
		{"a JPEG header claiming 30000×30000 pixels is too large", imagecheck.JPEG, jpegClaiming(t, 30000, 30000), defaults, 0, 0,
			&imagecheck.TooLargeError{Width: 30000, Height: 30000}},
		{"a 16-bit PNG of 6000×6000, within the pixel limit, is too heavy to decode", imagecheck.PNG, png16Header(6000, 6000), defaults, 0, 0,
			&imagecheck.TooHeavyError{Width: 6000, Height: 6000, BytesPerPixel: 8}},
		{"a progressive grey JPEG of 6000×6000 is too heavy for its coefficients", imagecheck.JPEG, progressiveJPEGClaiming(t, 6000, 6000), defaults, 0, 0,
			&imagecheck.TooHeavyError{Width: 6000, Height: 6000, BytesPerPixel: 5}},
		{"a PNG of 13000×10 is too large for its longest side", imagecheck.PNG, encodePNG(t, 13000, 10), defaults, 0, 0,
			&imagecheck.TooLargeError{Width: 13000, Height: 10}},
		{"a PNG within the side limit but over the pixel limit is too large", imagecheck.PNG, pngData, imagecheck.Limits{MaxSide: 12000, MaxPixels: 1000}, 0, 0,
			&imagecheck.TooLargeError{Width: 40, Height: 30}},

		{"a PNG cut short is corrupt", imagecheck.PNG, pngData[:len(pngData)-30], defaults, 0, 0, corrupt},
		{"a PNG header without pixel data is corrupt", imagecheck.PNG, pngHeader(40, 30), defaults, 0, 0, corrupt},
		{"a PNG with too little pixel data is corrupt", imagecheck.PNG, pngClaiming(40, 30), defaults, 0, 0, corrupt},
		{"a PNG with a zero width is corrupt", imagecheck.PNG, pngHeader(0, 30), defaults, 0, 0, corrupt},
		{"a PNG signature followed by junk is corrupt", imagecheck.PNG, []byte("\x89PNG\r\n\x1a\nnot a chunk at all"), defaults, 0, 0, corrupt},
		{"a JPEG cut short is corrupt", imagecheck.JPEG, jpg[:len(jpg)/2], defaults, 0, 0, corrupt},
		{"a JPEG that claims a size it does not have is corrupt", imagecheck.JPEG, jpegClaiming(t, 4000, 3000), defaults, 0, 0, corrupt},
		{"a PNG checked as a JPEG is corrupt", imagecheck.JPEG, pngData, defaults, 0, 0, corrupt},
	} {
		t.Run(c.what, func(t *testing.T) {
			w, h, err := c.check(c.data, c.lim)
			if !reflect.DeepEqual(err, c.wantEr) {
				t.Fatalf("error %v, want %v", err, c.wantEr)
			}
			if w != c.wantW || h != c.wantH {
				t.Fatalf("%d×%d, want %d×%d", w, h, c.wantW, c.wantH)
			}
		})
	}
}

// A header claiming a giant picture must be refused from the header alone.
// A full decode would allocate the claimed picture first: 3.6 GB for the
// PNG of 30000×30000, and 36 MB or 9 MB for the 3000×3000 ones, which are
// here so that a decode-first mistake fails this test instead of the
// machine.
func TestAClaimedGiantImageIsNotAllocated(t *testing.T) {
	megapixel := imagecheck.Limits{MaxSide: 12000, MaxPixels: 1_000_000}
	for _, c := range []struct {
		what  string
		check func([]byte, imagecheck.Limits) (int, int, error)
		data  []byte
		lim   imagecheck.Limits
	}{
		{"a PNG header claiming 30000×30000", imagecheck.PNG, pngHeader(30000, 30000), defaults},
		{"a 72-byte PNG claiming 3000×3000 over a 1-megapixel limit", imagecheck.PNG, pngClaiming(3000, 3000), megapixel},
		{"a JPEG claiming 3000×3000 over a 1-megapixel limit", imagecheck.JPEG, jpegClaiming(t, 3000, 3000), megapixel},
	} {
		t.Run(c.what+" is refused at next to no cost", func(t *testing.T) {
			check := func() {
				_, _, err := c.check(c.data, c.lim)
				var big *imagecheck.TooLargeError
				if !errors.As(err, &big) {
					t.Fatalf("got %v, want a TooLargeError", err)
				}
			}
			if n := testing.AllocsPerRun(20, check); n > 100 {
				t.Errorf("%.0f allocations per check, want a handful", n)
			}
			const runs = 20
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for range runs {
				check()
			}
			runtime.ReadMemStats(&after)
			if perRun := (after.TotalAlloc - before.TotalAlloc) / runs; perRun > 1<<20 {
				t.Errorf("%d bytes allocated per check, want far less than 1 MB", perRun)
			}
		})
	}
}
