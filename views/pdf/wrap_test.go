package pdf

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// fakeWidth is additive like fpdf's: CJK is 2 units, the rest 1.
func fakeWidth(s string) float64 {
	w := 0.0
	for _, r := range s {
		if isCJK(r) {
			w += 2
		} else {
			w++
		}
	}
	return w
}

func texts(lines []line) []string {
	var out []string
	for _, l := range lines {
		out = append(out, l.text)
	}
	return out
}

// checkWrap asserts the two properties every wrap must have: nothing is
// lost or added, and every line fits (or is one character).
func checkWrap(t *testing.T, s string, max float64, width func(string) float64) []line {
	t.Helper()
	lines := wrap(s, max, width)
	var joined strings.Builder
	for i, l := range lines {
		joined.WriteString(l.text + l.sep)
		if w := width(l.text); w > max+1e-9 && utf8.RuneCountInString(l.text) > 1 {
			t.Errorf("wrap(%q, %v): line %d %q is %v wide", s, max, i, l.text, w)
		}
		if strings.TrimFunc(l.sep, func(r rune) bool { return r == '\n' || isSpace(r) }) != "" {
			t.Errorf("wrap(%q, %v): line %d took out %q, which is not white space", s, max, i, l.sep)
		}
		if strings.Contains(l.text, "\n") {
			t.Errorf("wrap(%q, %v): line %d %q holds a newline", s, max, i, l.text)
		}
	}
	if joined.String() != s {
		t.Errorf("wrap(%q, %v) lost or changed text:\n got %q\nwant %q", s, max, joined.String(), s)
	}
	return lines
}

func TestWrap(t *testing.T) {
	cases := []struct {
		name string
		in   string
		max  float64
		want []string
	}{
		{"breaks Latin text at spaces", "the quick brown fox", 10, []string{"the quick", "brown fox"}},
		{"hard-breaks a word longer than the line", "abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"breaks a long URL after a slash", "see https://example.com/abc/defgh", 12, []string{"see", "https://", "example.com/", "abc/defgh"}},
		{"breaks a long word after a hyphen", "well-known-identifier", 12, []string{"well-known-", "identifier"}},
		{"breaks between any two CJK characters", "操作授权书生成", 6, []string{"操作授", "权书生", "成"}},
		{"keeps a full-width comma off the start of a line", "重启服务，然后", 8, []string{"重启服", "务，然后"}},
		{"keeps an opening bracket off the end of a line", "请看（附件）", 6, []string{"请看", "（附", "件）"}},
		{"keeps explicit newlines and blank lines", "a\n\nb", 10, []string{"a", "", "b"}},
		{"breaks between CJK and Latin", "重启web-01服务器", 10, []string{"重启web-01", "服务器"}},
		{"keeps a paragraph's indent", "  ab cd", 5, []string{"  ab", "cd"}},
		{"treats a line of spaces as its break", "ab   ", 10, []string{"ab"}},
		{"returns nothing for nothing", "", 10, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := texts(checkWrap(t, c.in, c.max, fakeWidth))
			if strings.Join(got, "|") != strings.Join(c.want, "|") || len(got) != len(c.want) {
				t.Errorf("wrap(%q, %v) = %q, want %q", c.in, c.max, got, c.want)
			}
		})
	}
}

// TestWrapNeverLosesText wraps random mixes of the kinds of text the
// documents get, at random widths.
func TestWrapNeverLosesText(t *testing.T) {
	alphabet := []string{"a", "b", "Z", "0", "9", "-", "/", ".", ":", " ", " ", "  ", "\n", "\n\n", "\u3000",
		"操", "作", "授", "权", "服", "务", "器", "，", "。", "：", "；", "（", "）", "、", "“", "”", "…",
		"https://example.com/a/very/long/path?q=1", "supercalifragilistic", "203.0.113.10", "é", "\u00A0", "—", "·"}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 5000; i++ {
		var b strings.Builder
		for n := rng.IntN(60); n > 0; n-- {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		max := float64(1 + rng.IntN(40))
		checkWrap(t, b.String(), max, fakeWidth)
		if t.Failed() {
			return
		}
	}
}

func FuzzWrap(f *testing.F) {
	f.Add("重启服务器，然后检查 https://example.com/x 的状态。\nsecond line", 12.0)
	f.Fuzz(func(t *testing.T, s string, max float64) {
		if !utf8.ValidString(s) || max < 1 || max > 1000 {
			t.Skip()
		}
		checkWrap(t, clean(s), max, fakeWidth)
	})
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"a\r\nb\rc":   "a\nb\nc",
		"a\tb":        "a    b",
		"a\x00b\x7fc": "abc",
		"笑😀":          "笑\uFFFD",
		"操作 plain":    "操作 plain",
	} {
		if got := clean(in); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
}
