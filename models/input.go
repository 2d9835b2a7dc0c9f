package models

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// The range of every date and time people type in (request windows, start
// and end of work, download periods): from EarliestDate to LatestDate, both
// included, in the portal's time zone. Outside it a date is a typo (year
// 0001 is not representable on MySQL and SQLite stored it as year 0), and
// the portal keeps nothing older than its first deployment nor plans a
// century ahead.
const (
	EarliestDate = "2000-01-01"
	LatestDate   = "2099-12-31"
)

// CheckDate refuses a time outside the date range, seen in loc, as a
// validation error of field.
func CheckDate(field string, t time.Time, loc *time.Location) error {
	// Dates as YYYY-MM-DD compare as strings; a year outside 0000-9999
	// formats with a sign or a fifth digit and falls below EarliestDate.
	if d := t.In(loc).Format(time.DateOnly); d < EarliestDate || d > LatestDate {
		return Invalid(field, "error.date_range", EarliestDate, LatestDate)
	}
	return nil
}

// CheckLine is the check of every single-line field (a name, a title, a
// phone number, an email address, a password): valid UTF-8, at most max
// characters, and no control character at all, since C0 controls (NUL, CR,
// LF, TAB, ESC, BEL, …) and DEL have no business in one line and some of
// them split headers, logs or CSV rows. max 0 is no length limit.
func CheckLine(field, s string, max int) error { return checkInput(field, s, max, false) }

// CheckText is the check of multi-line text (work descriptions, notes,
// messages, addresses): as CheckLine, but line breaks and tabs (LF, CR,
// TAB) are kept. NUL is refused everywhere.
func CheckText(field, s string, max int) error { return checkInput(field, s, max, true) }

func checkInput(field, s string, max int, multiline bool) error {
	if !utf8.ValidString(s) {
		return Invalid(field, "error.invalid_text")
	}
	if max > 0 && utf8.RuneCountInString(s) > max {
		return Invalid(field, "error.too_long", max)
	}
	for _, r := range s {
		if r == 0x7f || (r < 0x20 && !(multiline && (r == '\n' || r == '\r' || r == '\t'))) {
			if multiline {
				return Invalid(field, "error.control_chars_text")
			}
			return Invalid(field, "error.control_chars")
		}
	}
	return nil
}

// CheckPrintable refuses characters beyond U+FFFF (CJK Extension B such
// as 𠮷, emoji) in a field that is printed on a document to be signed:
// the documents' font and encoding carry the Basic Multilingual Plane
// only, and a signed form must not show a replacement mark where a name
// should be. The message shows the character and its code point.
func CheckPrintable(field, s string) error {
	for _, r := range s {
		if r > 0xFFFF {
			return Invalid(field, "error.not_printable", string(r), fmt.Sprintf("U+%04X", r))
		}
	}
	return nil
}
