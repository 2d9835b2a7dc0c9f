package pdf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/colo-portal/portal/assets"
)

// The embedded font has 49,000 glyphs. fpdf parses the font it is given
// for every document (it has no way to share a parsed font), and parses
// it again to subset it when writing: about 35 ms and 28 MB of garbage a
// document (BenchmarkOperationReport, whole font against subset). So the
// font is parsed here once per process, each document is laid out once
// to learn which characters it draws, and fpdf gets a TrueType subset of
// just those glyphs.

// font is the parsed embedded TrueType font: what layout needs to
// measure text, and what subsetting needs to cut glyphs out.
type font struct {
	src        []byte
	tables     map[string][]byte
	unitsPerEm float64
	numGlyphs  int
	numHMetric int
	longLoca   bool
	gid        []uint16 // glyph of each BMP rune, 0 when the font lacks it
	advance    []uint16 // advance width of each BMP rune, in font units
}

var (
	fontOnce   sync.Once
	fontParsed *font
	fontErr    error
)

// loadFont parses the embedded font, once per process.
func loadFont() (*font, error) {
	fontOnce.Do(func() {
		fontParsed, fontErr = parseFont(assets.PDFFont())
	})
	return fontParsed, fontErr
}

var errFont = errors.New("pdf: unusable font")

func parseFont(src []byte) (*font, error) {
	if len(src) < 12 || binary.BigEndian.Uint32(src) != 0x00010000 {
		return nil, fmt.Errorf("%w: not a TrueType (glyf) font", errFont)
	}
	f := &font{src: src, tables: map[string][]byte{}}
	n := int(binary.BigEndian.Uint16(src[4:]))
	for i := 0; i < n; i++ {
		rec := src[12+16*i:]
		if len(rec) < 16 {
			return nil, fmt.Errorf("%w: table directory cut short", errFont)
		}
		off, size := binary.BigEndian.Uint32(rec[8:]), binary.BigEndian.Uint32(rec[12:])
		if uint64(off)+uint64(size) > uint64(len(src)) {
			return nil, fmt.Errorf("%w: table %q out of bounds", errFont, rec[:4])
		}
		f.tables[string(rec[:4])] = src[off : off+size]
	}
	for _, tag := range []string{"head", "hhea", "maxp", "hmtx", "loca", "glyf", "cmap", "OS/2", "name", "post"} {
		if _, ok := f.tables[tag]; !ok {
			return nil, fmt.Errorf("%w: no %q table", errFont, tag)
		}
	}
	head, hhea, maxp := f.tables["head"], f.tables["hhea"], f.tables["maxp"]
	if len(head) < 54 || len(hhea) < 36 || len(maxp) < 6 {
		return nil, fmt.Errorf("%w: short head, hhea or maxp", errFont)
	}
	f.unitsPerEm = float64(binary.BigEndian.Uint16(head[18:]))
	f.longLoca = binary.BigEndian.Uint16(head[50:]) == 1
	f.numHMetric = int(binary.BigEndian.Uint16(hhea[34:]))
	f.numGlyphs = int(binary.BigEndian.Uint16(maxp[4:]))
	if f.unitsPerEm == 0 || f.numHMetric == 0 || f.numHMetric > f.numGlyphs ||
		len(f.tables["hmtx"]) < 4*f.numHMetric+2*(f.numGlyphs-f.numHMetric) {
		return nil, fmt.Errorf("%w: bad metrics", errFont)
	}
	locaLen := 2
	if f.longLoca {
		locaLen = 4
	}
	if len(f.tables["loca"]) < locaLen*(f.numGlyphs+1) {
		return nil, fmt.Errorf("%w: short loca", errFont)
	}
	if err := f.parseCmap(); err != nil {
		return nil, err
	}
	f.advance = make([]uint16, 0x10000)
	for r := range f.advance {
		f.advance[r] = f.advanceOf(int(f.gid[r]))
	}
	return f, nil
}

// parseCmap reads the Windows Unicode BMP (3, 1) format 4 subtable, the
// one fpdf reads too, into a table from rune to glyph.
func (f *font) parseCmap() error {
	cmap := f.tables["cmap"]
	bad := fmt.Errorf("%w: no usable format 4 cmap", errFont)
	if len(cmap) < 4 {
		return bad
	}
	var sub []byte
	for i := 0; i < int(binary.BigEndian.Uint16(cmap[2:])); i++ {
		rec := cmap[4+8*i:]
		if len(rec) < 8 {
			return bad
		}
		off := binary.BigEndian.Uint32(rec[4:])
		if binary.BigEndian.Uint16(rec) == 3 && binary.BigEndian.Uint16(rec[2:]) == 1 &&
			uint64(off)+14 <= uint64(len(cmap)) && binary.BigEndian.Uint16(cmap[off:]) == 4 {
			sub = cmap[off:]
			break
		}
	}
	if sub == nil {
		return bad
	}
	segs := int(binary.BigEndian.Uint16(sub[6:])) / 2
	if len(sub) < 16+8*segs {
		return bad
	}
	u16 := func(b []byte, i int) int { return int(binary.BigEndian.Uint16(b[2*i:])) }
	ends, starts := sub[14:], sub[16+2*segs:]
	deltas, ranges := sub[16+4*segs:], sub[16+6*segs:]
	f.gid = make([]uint16, 0x10000)
	for s := 0; s < segs; s++ {
		start, end, delta, ro := u16(starts, s), u16(ends, s), u16(deltas, s), u16(ranges, s)
		for r := start; r <= end && r <= 0xFFFF; r++ {
			g := 0
			if ro == 0 {
				g = (r + delta) & 0xFFFF
			} else {
				at := 16 + 6*segs + 2*s + ro + 2*(r-start)
				if at+2 > len(sub) {
					continue
				}
				if g = int(binary.BigEndian.Uint16(sub[at:])); g != 0 {
					g = (g + delta) & 0xFFFF
				}
			}
			if g < f.numGlyphs {
				f.gid[r] = uint16(g)
			}
		}
	}
	return nil
}

func (f *font) advanceOf(g int) uint16 {
	hmtx := f.tables["hmtx"]
	if g >= f.numHMetric {
		g = f.numHMetric - 1
	}
	return binary.BigEndian.Uint16(hmtx[4*g:])
}

func (f *font) lsbOf(g int) uint16 {
	hmtx := f.tables["hmtx"]
	if g < f.numHMetric {
		return binary.BigEndian.Uint16(hmtx[4*g+2:])
	}
	return binary.BigEndian.Uint16(hmtx[4*f.numHMetric+2*(g-f.numHMetric):])
}

func (f *font) glyph(g int) []byte {
	loca := f.tables["loca"]
	var from, to int
	if f.longLoca {
		from, to = int(binary.BigEndian.Uint32(loca[4*g:])), int(binary.BigEndian.Uint32(loca[4*g+4:]))
	} else {
		from, to = 2*int(binary.BigEndian.Uint16(loca[2*g:])), 2*int(binary.BigEndian.Uint16(loca[2*g+2:]))
	}
	glyf := f.tables["glyf"]
	if from > to || to > len(glyf) {
		return nil
	}
	return glyf[from:to]
}

// width is the advance of s in ems. Runes the font lacks (and any
// outside the BMP, which clean() has replaced) measure as the glyph fpdf
// draws for them, the .notdef box.
func (f *font) width(s string) float64 {
	w := 0
	for _, r := range s {
		if r >= 0 && r <= 0xFFFF {
			w += int(f.advance[r])
		} else {
			w += int(f.advance[0xFFFD])
		}
	}
	return float64(w) / f.unitsPerEm
}

// Flags of a composite glyph's components.
const (
	argsAreWords   = 0x0001
	haveScale      = 0x0008
	moreComponents = 0x0020
	haveXYScale    = 0x0040
	haveTwoByTwo   = 0x0080
)

// components calls fn with the offset of each component's glyph index
// in a composite glyph; it does nothing for a simple glyph.
func components(data []byte, fn func(at int)) {
	if len(data) < 10 || int16(binary.BigEndian.Uint16(data)) >= 0 {
		return
	}
	at := 10
	for at+4 <= len(data) {
		flags := binary.BigEndian.Uint16(data[at:])
		fn(at + 2)
		at += 4
		if flags&argsAreWords != 0 {
			at += 4
		} else {
			at += 2
		}
		switch {
		case flags&haveScale != 0:
			at += 2
		case flags&haveXYScale != 0:
			at += 4
		case flags&haveTwoByTwo != 0:
			at += 8
		}
		if flags&moreComponents == 0 {
			return
		}
	}
}

// subset returns a TrueType font with the glyphs of runes (and .notdef,
// and the parts of composite glyphs), renumbered from 0, with a cmap for
// just those runes. The hinting tables are kept whole: glyph programs
// call into them.
func (f *font) subset(runes map[rune]bool) ([]byte, error) {
	sorted := make([]int, 0, len(runes))
	for r := range runes {
		if r >= 0 && r <= 0xFFFF && f.gid[r] != 0 {
			sorted = append(sorted, int(r))
		}
	}
	sort.Ints(sorted)
	newID := map[int]int{0: 0}
	old := []int{0}
	add := func(g int) {
		if _, ok := newID[g]; !ok && g < f.numGlyphs {
			newID[g] = len(old)
			old = append(old, g)
		}
	}
	for _, r := range sorted {
		add(int(f.gid[r]))
	}
	for i := 0; i < len(old); i++ { // old grows as components are found
		data := f.glyph(old[i])
		components(data, func(at int) { add(int(binary.BigEndian.Uint16(data[at:]))) })
	}
	if len(old) > 0xFFFF {
		return nil, fmt.Errorf("%w: too many glyphs to subset", errFont)
	}

	var glyf []byte
	loca := make([]byte, 4*(len(old)+1))
	hmtx := make([]byte, 4*len(old))
	for i, g := range old {
		binary.BigEndian.PutUint32(loca[4*i:], uint32(len(glyf)))
		start := len(glyf)
		data := f.glyph(g)
		glyf = append(glyf, data...)
		components(data, func(at int) {
			c := int(binary.BigEndian.Uint16(data[at:]))
			binary.BigEndian.PutUint16(glyf[start+at:], uint16(newID[c]))
		})
		for len(glyf)%4 != 0 {
			glyf = append(glyf, 0)
		}
		binary.BigEndian.PutUint16(hmtx[4*i:], f.advanceOf(g))
		binary.BigEndian.PutUint16(hmtx[4*i+2:], f.lsbOf(g))
	}
	binary.BigEndian.PutUint32(loca[4*len(old):], uint32(len(glyf)))

	cmap, err := cmap4(sorted, func(r int) int { return newID[int(f.gid[r])] })
	if err != nil {
		return nil, err
	}
	head := append([]byte(nil), f.tables["head"]...)
	binary.BigEndian.PutUint32(head[8:], 0) // checkSumAdjustment: nobody checks it
	binary.BigEndian.PutUint16(head[50:], 1)
	hhea := append([]byte(nil), f.tables["hhea"]...)
	binary.BigEndian.PutUint16(hhea[34:], uint16(len(old)))
	maxp := append([]byte(nil), f.tables["maxp"]...)
	binary.BigEndian.PutUint16(maxp[4:], uint16(len(old)))
	post := make([]byte, 32) // format 3: no glyph names
	copy(post, f.tables["post"])
	binary.BigEndian.PutUint32(post, 0x00030000)

	tables := map[string][]byte{
		"cmap": cmap, "glyf": glyf, "head": head, "hhea": hhea, "hmtx": hmtx,
		"loca": loca, "maxp": maxp, "post": post,
	}
	for _, tag := range []string{"OS/2", "name", "cvt ", "fpgm", "prep", "gasp"} {
		if b, ok := f.tables[tag]; ok {
			tables[tag] = b
		}
	}
	return writeFont(tables), nil
}

// cmap4 builds a cmap with one format 4 subtable for Windows Unicode BMP,
// one segment per run of consecutive runes with consecutive glyphs.
func cmap4(runes []int, gid func(int) int) ([]byte, error) {
	type seg struct{ start, end, delta int }
	var segs []seg
	for _, r := range runes {
		g := gid(r)
		if n := len(segs); n > 0 && segs[n-1].end == r-1 && (r+segs[n-1].delta)&0xFFFF == g {
			segs[n-1].end = r
			continue
		}
		segs = append(segs, seg{r, r, (g - r) & 0xFFFF})
	}
	if n := len(segs); n == 0 || segs[n-1].end != 0xFFFF {
		segs = append(segs, seg{0xFFFF, 0xFFFF, 1})
	}
	n := len(segs)
	length := 16 + 8*n
	if length > 0xFFFF {
		return nil, fmt.Errorf("%w: too many characters for one cmap", errFont)
	}
	b := make([]byte, 12+length)
	put := func(at, v int) { binary.BigEndian.PutUint16(b[at:], uint16(v)) }
	put(2, 1)                             // one subtable
	put(4, 3)                             // Windows
	put(6, 1)                             // Unicode BMP
	binary.BigEndian.PutUint32(b[8:], 12) // at offset 12
	put(12, 4)                            // format
	put(14, length)                       // length
	put(18, 2*n)                          // segCountX2
	sr, sel := 1, 0
	for sr*2 <= n {
		sr *= 2
		sel++
	}
	put(20, 2*sr)
	put(22, sel)
	put(24, 2*n-2*sr)
	for i, s := range segs {
		put(26+2*i, s.end)
		put(28+2*n+2*i, s.start)
		put(28+4*n+2*i, s.delta)
		// idRangeOffset stays 0: glyph = rune + delta.
	}
	return b, nil
}

// writeFont writes tables as a TrueType font file.
func writeFont(tables map[string][]byte) []byte {
	tags := make([]string, 0, len(tables))
	for t := range tables {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	n := len(tags)
	out := make([]byte, 12+16*n)
	binary.BigEndian.PutUint32(out, 0x00010000)
	binary.BigEndian.PutUint16(out[4:], uint16(n))
	sr, sel := 1, 0
	for sr*2 <= n {
		sr *= 2
		sel++
	}
	binary.BigEndian.PutUint16(out[6:], uint16(16*sr))
	binary.BigEndian.PutUint16(out[8:], uint16(sel))
	binary.BigEndian.PutUint16(out[10:], uint16(16*n-16*sr))
	for i, tag := range tags {
		data := tables[tag]
		rec := out[12+16*i:]
		copy(rec, tag)
		binary.BigEndian.PutUint32(rec[4:], checksum(data))
		binary.BigEndian.PutUint32(rec[8:], uint32(len(out)))
		binary.BigEndian.PutUint32(rec[12:], uint32(len(data)))
		out = append(out, data...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	return out
}

func checksum(b []byte) uint32 {
	var sum uint32
	for i := 0; i < len(b); i += 4 {
		var word [4]byte
		copy(word[:], b[i:])
		sum += binary.BigEndian.Uint32(word[:])
	}
	return sum
}
