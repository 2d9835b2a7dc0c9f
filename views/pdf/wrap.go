package pdf

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// line is one wrapped line: its text, and the separator the wrapper took
// out after it (the spaces at a break, "\n" at the end of a paragraph, or
// "" inside a word or between two CJK characters). Concatenating
// text+sep of every line gives back the wrapped text exactly, which is
// how the tests prove that wrapping never drops a character.
type line struct {
	text, sep string
}

// wrap breaks s into lines no wider than maxW, measuring with width
// (which must be additive, width(a+b) == width(a)+width(b), as it is for
// a font without kerning). It breaks at spaces, between CJK characters,
// between CJK and other text, and inside a word only when the word alone
// is wider than a line (after a hyphen or slash if it can). It keeps
// explicit newlines and keeps closing CJK punctuation off the start of a
// line (and opening punctuation off its end) where a break elsewhere
// exists. A line is wider than maxW only when it is one character wider
// than maxW.
func wrap(s string, maxW float64, width func(string) float64) []line {
	if s == "" {
		return nil
	}
	var out []line
	paras := strings.Split(s, "\n")
	for i, p := range paras {
		lines := wrapParagraph(p, maxW, width)
		if i < len(paras)-1 {
			lines[len(lines)-1].sep += "\n"
		}
		out = append(out, lines...)
	}
	return out
}

// piece is an unbreakable unit with the spaces before it.
type piece struct {
	space, unit string
}

// pieces cuts a paragraph (no "\n") into units at break opportunities.
// Spaces at the end of the paragraph come back as a piece with no unit.
func pieces(p string) []piece {
	var out []piece
	var space, unit strings.Builder
	flush := func() {
		out = append(out, piece{space.String(), unit.String()})
		space.Reset()
		unit.Reset()
	}
	prev := rune(-1) // the last non-space rune of the current unit
	for _, r := range p {
		if isSpace(r) {
			if unit.Len() > 0 {
				flush()
				prev = -1
			}
			space.WriteRune(r)
			continue
		}
		if unit.Len() > 0 && canBreak(prev, r) {
			flush()
		}
		unit.WriteRune(r)
		prev = r
	}
	if space.Len() > 0 || unit.Len() > 0 {
		flush()
	}
	return out
}

func wrapParagraph(p string, maxW float64, width func(string) float64) []line {
	var out []line
	var cur strings.Builder
	curW := 0.0
	emit := func(sep string) {
		out = append(out, line{cur.String(), sep})
		cur.Reset()
		curW = 0
	}
	const eps = 1e-9
	for i, pc := range pieces(p) {
		if pc.unit == "" { // trailing spaces: they go with the line end
			if cur.Len() == 0 && len(out) > 0 {
				out[len(out)-1].sep += pc.space
			} else {
				out = append(out, line{cur.String(), pc.space})
				cur.Reset()
				curW = 0
			}
			return out
		}
		space := pc.space
		if i == 0 {
			// Leading spaces indent the paragraph: they are text, not a
			// break, so they stay at the start of the first line.
			pc.unit, space = space+pc.unit, ""
		}
		sw, uw := width(space), width(pc.unit)
		switch {
		case curW+sw+uw <= maxW+eps:
			cur.WriteString(space)
			cur.WriteString(pc.unit)
			curW += sw + uw
			continue
		case cur.Len() > 0:
			emit(space)
		case len(out) > 0:
			// Spaces at the start of a continuation line are the break.
			out[len(out)-1].sep += space
		}
		if uw <= maxW+eps {
			cur.WriteString(pc.unit)
			curW = uw
			continue
		}
		// A unit wider than a line (cur is empty here): break it, after a
		// hyphen or slash in the second half of the line if there is one,
		// else wherever the line is full, at least one rune a line.
		rs := []rune(pc.unit)
		for len(rs) > 0 {
			n, w := 0, 0.0
			for n < len(rs) {
				rw := width(string(rs[n]))
				if n > 0 && w+rw > maxW+eps {
					break
				}
				w += rw
				n++
			}
			if n == len(rs) { // the rest fits: later pieces may join it
				cur.WriteString(string(rs))
				curW = w
				break
			}
			for k := n; k > n/2; k-- {
				if softBreakAfter(rs[k-1], rs[k]) {
					n = k
					break
				}
			}
			out = append(out, line{string(rs[:n]), ""})
			rs = rs[n:]
		}
	}
	if cur.Len() > 0 || len(out) == 0 {
		out = append(out, line{cur.String(), ""})
	}
	return out
}

// softBreakAfter reports whether a word too long for a line reads well
// broken between a and b: after a hyphen, or after the slashes and
// separators of a URL or path.
func softBreakAfter(a, b rune) bool {
	switch a {
	case '-', '_', '?', '&', '=', '.', ',':
		return true
	case '/':
		return b != '/'
	}
	return false
}

// isSpace is a break space; no-break spaces are not. "\n" never reaches
// here.
func isSpace(r rune) bool {
	switch r {
	case '\u00A0', '\u2007', '\u202F', '\uFEFF':
		return false
	}
	return unicode.IsSpace(r)
}

// canBreak reports whether a line may break between a and b (no space
// between them): around CJK characters, unless that puts closing
// punctuation at the start of a line or opening punctuation at its end.
func canBreak(a, b rune) bool {
	if !isCJK(a) && !isCJK(b) {
		return false
	}
	return !noBreakBefore(b) && !noBreakAfter(a)
}

// isCJK covers the characters that a line may break before or after.
func isCJK(r rune) bool {
	switch {
	case r >= 0x2E80 && r <= 0x2FDF, // radicals
		r >= 0x3000 && r <= 0x303F, // CJK symbols and punctuation
		r >= 0x3040 && r <= 0x31FF, // kana, bopomofo, Hangul compatibility jamo
		r >= 0x3200 && r <= 0x4DBF, // enclosed, compatibility, extension A
		r >= 0x4E00 && r <= 0x9FFF, // unified ideographs
		r >= 0xAC00 && r <= 0xD7AF, // Hangul syllables
		r >= 0xF900 && r <= 0xFAFF, // compatibility ideographs
		r >= 0xFE30 && r <= 0xFE4F, // CJK compatibility forms
		r >= 0xFF00 && r <= 0xFFEF: // full-width and half-width forms
		return true
	}
	return unicode.Is(unicode.Han, r)
}

// Closing punctuation never starts a line, opening never ends one.
const (
	closing = "，。、：；！？）］｝》〉」』】〕〗〙〛”’…‥·～%％,.:;!?)]}"
	opening = "（［｛《〈「『【〔〖〘〚“‘"
)

func noBreakBefore(r rune) bool { return strings.ContainsRune(closing, r) }
func noBreakAfter(r rune) bool  { return strings.ContainsRune(opening, r) }

// clean makes user text safe for fpdf and the font: newlines normalised,
// tabs as spaces, control characters dropped, and characters outside the
// Basic Multilingual Plane replaced by U+FFFD: fpdf v0.9.0 reads only the
// font's BMP cmap and mis-encodes 4-byte UTF-8, garbling the text after.
func clean(s string) string {
	ok := true
	for _, r := range s {
		if r == '\r' || r == '\t' || r > 0xFFFF || (r < 0x20 && r != '\n') || (r >= 0x7F && r < 0xA0) || r == utf8.RuneError {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\r':
			b.WriteByte('\n')
		case r == '\t':
			b.WriteString("    ")
		case r == '\n':
			b.WriteByte('\n')
		case r < 0x20, r >= 0x7F && r < 0xA0:
			// control characters print nothing
		case r > 0xFFFF:
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
