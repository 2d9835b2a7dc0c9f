package pdf

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"

	"github.com/colo-portal/portal/assets"
)

// TestSubsetKeepsGlyphs cuts subsets for sets of characters and checks,
// with an independent TrueType reader, that each character has the same
// outline and advance in the subset as in the whole font. Accented
// Latin letters are composite glyphs, so their parts must come along.
func TestSubsetKeepsGlyphs(t *testing.T) {
	fnt, err := loadFont()
	if err != nil {
		t.Fatal(err)
	}
	whole, err := sfnt.Parse(fnt.src)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	sets := map[string]string{
		"the test input":       longChinese + longLatin + mixed,
		"accented Latin":       "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćŒœŠšŸŽž",
		"nothing":              "",
		"characters it lacks":  "\u0600\u0E01\uFFFE",
		"a run of consecutive": "一丁丂七丄丅丆万丈三上下丌不与丏",
	}
	var random []rune
	for len(random) < 3000 {
		random = append(random, rune(rng.IntN(0xFFFF)))
	}
	sets["3000 random BMP characters"] = string(random)
	var bufW, bufS sfnt.Buffer
	ppem := fixed.I(2048)
	for name, chars := range sets {
		t.Run("subset of "+name, func(t *testing.T) {
			runes := map[rune]bool{}
			for _, r := range chars {
				runes[r] = true
			}
			b, err := fnt.subset(runes)
			if err != nil {
				t.Fatal(err)
			}
			sub, err := sfnt.Parse(b)
			if err != nil {
				t.Fatalf("the subset does not parse: %v", err)
			}
			if _, err := parseFont(b); err != nil {
				t.Fatalf("the subset does not parse as ours: %v", err)
			}
			for r := range runes {
				gw, _ := whole.GlyphIndex(&bufW, r)
				gs, err := sub.GlyphIndex(&bufS, r)
				if err != nil {
					t.Fatalf("%U: %v", r, err)
				}
				if (gw == 0) != (gs == 0) {
					t.Errorf("%U: glyph %d in the font, %d in the subset", r, gw, gs)
					continue
				}
				if gw == 0 {
					continue
				}
				aw, _ := whole.GlyphAdvance(&bufW, gw, ppem, 0)
				as, _ := sub.GlyphAdvance(&bufS, gs, ppem, 0)
				if aw != as {
					t.Errorf("%U: advance %v in the font, %v in the subset", r, aw, as)
				}
				sw, err := whole.LoadGlyph(&bufW, gw, ppem, nil)
				if err != nil {
					t.Fatalf("%U: %v", r, err)
				}
				sw = append(sfnt.Segments(nil), sw...)
				ss, err := sub.LoadGlyph(&bufS, gs, ppem, nil)
				if err != nil {
					t.Fatalf("%U in the subset: %v", r, err)
				}
				if len(sw) != len(ss) || (len(sw) > 0 && !reflect.DeepEqual(sw, ss)) {
					t.Errorf("%U: the outline differs in the subset", r)
				}
			}
		})
	}
}

func TestLayoutMeasuresLikeFpdf(t *testing.T) {
	// fpdf rounds advances to thousandths of an em; ours are exact.
	fnt, err := loadFont()
	if err != nil {
		t.Fatal(err)
	}
	s := longChinese + longLatin
	want := 0.0
	for _, r := range s {
		want += float64(int(float64(fnt.advance[r])*1000/fnt.unitsPerEm+0.5)) / 1000
	}
	if got := fnt.width(s); got < want-0.05 || got > want+0.05 {
		t.Errorf("width = %v em, fpdf would say %v", got, want)
	}
}

func BenchmarkSubset(b *testing.B) {
	fnt, err := loadFont()
	if err != nil {
		b.Fatal(err)
	}
	runes := map[rune]bool{}
	for _, r := range longChinese + longLatin + mixed {
		runes[r] = true
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fnt.subset(runes); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseFont is the once-per-process cost of loadFont.
func BenchmarkParseFont(b *testing.B) {
	src := assets.PDFFont()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseFont(src); err != nil {
			b.Fatal(err)
		}
	}
}
