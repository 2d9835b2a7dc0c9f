// Package imagecheck proves that an uploaded JPEG or PNG is an intact image
// within size limits, at a bounded cost: the image is measured from its
// header first, and decoded only when its dimensions and the memory its
// decoding would take are within the limits.
package imagecheck

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
)

// Limits bound an image. Both must be positive.
type Limits struct {
	MaxSide   int   // largest width or height in pixels
	MaxPixels int64 // width*height; decoding may take this many pixels at 4 bytes each
}

// ErrCorrupt is an image that does not decode, or decodes to other
// dimensions than its header claims.
var ErrCorrupt = errors.New("imagecheck: not an intact image")

// TooLargeError is an image whose header claims more than MaxSide or
// MaxPixels allow.
type TooLargeError struct{ Width, Height int }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("imagecheck: %d×%d pixels is over the limits", e.Width, e.Height)
}

// TooHeavyError is an image within the pixel limits whose decoding would
// take more memory than MaxPixels at 4 bytes a pixel: a 16-bit image, or
// a progressive JPEG, which keeps every coefficient.
type TooHeavyError struct {
	Width, Height int
	BytesPerPixel int64
}

func (e *TooHeavyError) Error() string {
	return fmt.Sprintf("imagecheck: %d×%d pixels at %d bytes each is over the decoding budget", e.Width, e.Height, e.BytesPerPixel)
}

// JPEG checks data as a JPEG and returns its dimensions.
func JPEG(data []byte, lim Limits) (w, h int, err error) {
	return check(data, jpeg.DecodeConfig, jpeg.Decode, lim)
}

// PNG checks data as a PNG and returns its dimensions.
func PNG(data []byte, lim Limits) (w, h int, err error) {
	return check(data, png.DecodeConfig, png.Decode, lim)
}

// check measures an image from its header, refuses it when it is too big,
// and only then decodes it whole. The decoder is the one of the type the
// caller sniffed, so no other registered format can slip in.
func check(data []byte,
	decodeConfig func(r io.Reader) (image.Config, error),
	decode func(r io.Reader) (image.Image, error),
	lim Limits) (w, h int, err error) {
	cfg, err := decodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return 0, 0, ErrCorrupt
	}
	w, h = cfg.Width, cfg.Height
	if w > lim.MaxSide || h > lim.MaxSide || int64(w)*int64(h) > lim.MaxPixels {
		return 0, 0, &TooLargeError{Width: w, Height: h}
	}
	// Pixels alone do not say what decoding costs: a 16-bit image takes
	// twice an 8-bit one's memory, and a progressive JPEG keeps every
	// coefficient besides. The budget is what MaxPixels costs at 4 bytes.
	if bpp := decodeBytesPerPixel(cfg.ColorModel, data); int64(w)*int64(h)*bpp > lim.MaxPixels*4 {
		return 0, 0, &TooHeavyError{Width: w, Height: h, BytesPerPixel: bpp}
	}
	img, err := decode(bytes.NewReader(data))
	if err != nil {
		return 0, 0, ErrCorrupt
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		return 0, 0, ErrCorrupt
	}
	return w, h, nil
}

// decodeBytesPerPixel estimates the memory a decoder needs per pixel.
func decodeBytesPerPixel(m color.Model, data []byte) int64 {
	var n int64
	switch m {
	case color.GrayModel:
		n = 1
	case color.Gray16Model:
		n = 2
	case color.YCbCrModel:
		n = 3
	case color.RGBA64Model, color.NRGBA64Model:
		n = 8
	default: // RGBA, NRGBA, CMYK, palettes: at most 4
		n = 4
	}
	if progressiveJPEG(data) {
		n += 4 * n // a 32-bit coefficient per sample
	}
	return n
}

// progressiveJPEG reports a JPEG whose frame header is progressive (SOF2),
// reading segment headers only.
func progressiveJPEG(data []byte) bool {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return false
	}
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xFF {
			return false
		}
		marker := data[i+1]
		switch {
		case marker == 0xFF: // fill byte
			i++
			continue
		case marker == 0xC2:
			return true
		case marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC, marker == 0xDA:
			return false // another frame type, or the scan data begins
		}
		i += 2 + int(data[i+2])<<8 + int(data[i+3])
	}
	return false
}
