package views

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	ical "github.com/emersion/go-ical"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
)

// The feed is read back with go-ical, a parser written apart from the
// library that writes it, so a quirk shared by both cannot hide.

var (
	calStart   = time.Date(2026, 3, 10, 1, 30, 0, 0, time.UTC)
	calUpdated = time.Date(2026, 3, 2, 8, 15, 42, 0, time.UTC)
)

func twoCalendarVisits() []CalendarVisit {
	shanghai := time.FixedZone("CST", 8*3600)
	return []CalendarVisit{{
		UID:      "0123456789abcdef@portal.example.net",
		Number:   "VR-2026-0001",
		Org:      "Acme Hosting",
		Site:     "Building A",
		Activity: "Operation",
		// given in another zone: the feed must keep the instant
		Start:    calStart.In(shanghai),
		End:      calStart.Add(3 * time.Hour).In(shanghai),
		Escort:   "Zhou Wei",
		Visitors: []string{"Alice Example", "Bob Example"},
		Status:   models.VisitApproved,
		URL:      "https://portal.example.net/visits/0123456789abcdef",
		Updated:  calUpdated,
	}, {
		UID:      "fedcba9876543210@portal.example.net",
		Number:   "VR-2026-0002",
		Org:      "Acme Hosting",
		Site:     "Building A",
		Activity: "Tour",
		Start:    calStart.Add(48 * time.Hour),
		End:      calStart.Add(49 * time.Hour),
		Visitors: []string{"Carol Example"},
		Status:   models.VisitCancelled,
		URL:      "https://portal.example.net/visits/fedcba9876543210",
		Updated:  calUpdated.Add(time.Hour),
	}}
}

func parseFeed(t *testing.T, b []byte) *ical.Calendar {
	t.Helper()
	cal, err := ical.NewDecoder(bytes.NewReader(b)).Decode()
	if err != nil {
		t.Fatalf("the feed does not parse: %v\n%s", err, b)
	}
	return cal
}

func propText(t *testing.T, c *ical.Component, name string) string {
	t.Helper()
	p := c.Props.Get(name)
	if p == nil {
		t.Fatalf("%s has no %s", c.Name, name)
	}
	s, err := p.Text()
	if err != nil {
		t.Fatalf("%s of %s: %v", name, c.Name, err)
	}
	return s
}

func eventByUID(t *testing.T, cal *ical.Calendar, uid string) ical.Event {
	t.Helper()
	for _, e := range cal.Events() {
		if e.Props.Get(ical.PropUID) != nil && e.Props.Get(ical.PropUID).Value == uid {
			return e
		}
	}
	t.Fatalf("no event with UID %s", uid)
	return ical.Event{}
}

func TestCalendarFeedOfTwoVisits(t *testing.T) {
	visits := twoCalendarVisits()
	b, err := CalendarFeed(locales.For("en"), "Acme Hosting: visits", visits)
	if err != nil {
		t.Fatal(err)
	}
	cal := parseFeed(t, b)
	if got := propText(t, cal.Component, "X-WR-CALNAME"); got != "Acme Hosting: visits" {
		t.Errorf("X-WR-CALNAME = %q", got)
	}
	for _, name := range []string{"REFRESH-INTERVAL", "X-PUBLISHED-TTL"} {
		p := cal.Props.Get(name)
		if p == nil {
			t.Fatalf("no %s", name)
		}
		if d, err := p.Duration(); err != nil || d != 15*time.Minute {
			t.Errorf("%s = %q (%v, %v), want 15 minutes", name, p.Value, d, err)
		}
	}
	if p := cal.Props.Get("REFRESH-INTERVAL"); p.Params.Get(ical.ParamValue) != "DURATION" {
		t.Errorf("REFRESH-INTERVAL without VALUE=DURATION: %v", p.Params)
	}
	if n := len(cal.Events()); n != 2 {
		t.Fatalf("%d events, want 2", n)
	}
	for _, v := range visits {
		e := eventByUID(t, cal, v.UID)
		start, err := e.DateTimeStart(nil)
		if err != nil || !start.Equal(v.Start) {
			t.Errorf("%s: DTSTART %v (%v), want %v", v.Number, start, err, v.Start)
		}
		end, err := e.DateTimeEnd(nil)
		if err != nil || !end.Equal(v.End) {
			t.Errorf("%s: DTEND %v (%v), want %v", v.Number, end, err, v.End)
		}
		if raw := e.Props.Get(ical.PropDateTimeStart).Value; !strings.HasSuffix(raw, "Z") {
			t.Errorf("%s: DTSTART %q is not in UTC", v.Number, raw)
		}
		summary := propText(t, e.Component, ical.PropSummary)
		for _, want := range []string{v.Number, v.Org, v.Activity} {
			if !strings.Contains(summary, want) {
				t.Errorf("%s: summary %q lacks %q", v.Number, summary, want)
			}
		}
		desc := propText(t, e.Component, ical.PropDescription)
		for _, want := range append([]string{v.Number, v.Site, v.URL}, v.Visitors...) {
			if !strings.Contains(desc, want) {
				t.Errorf("%s: description lacks %q:\n%s", v.Number, want, desc)
			}
		}
		if got := propText(t, e.Component, ical.PropLocation); got != v.Site {
			t.Errorf("%s: LOCATION %q", v.Number, got)
		}
		if got := e.Props.Get(ical.PropURL); got == nil || got.Value != v.URL {
			t.Errorf("%s: URL %v, want %s", v.Number, got, v.URL)
		}
		for _, name := range []string{ical.PropDateTimeStamp, ical.PropLastModified} {
			at, err := e.Props.DateTime(name, nil)
			if err != nil || !at.Equal(v.Updated) {
				t.Errorf("%s: %s %v (%v), want %v", v.Number, name, at, err, v.Updated)
			}
		}
		if p := e.Props.Get(ical.PropSequence); p == nil {
			t.Errorf("%s: no SEQUENCE", v.Number)
		} else if n, err := p.Int(); err != nil || n <= 0 {
			t.Errorf("%s: SEQUENCE %q (%v)", v.Number, p.Value, err)
		}
	}
	first := eventByUID(t, cal, visits[0].UID)
	if st, err := first.Status(); err != nil || st != ical.EventConfirmed {
		t.Errorf("approved visit: STATUS %q (%v), want CONFIRMED", st, err)
	}
	if desc := propText(t, first.Component, ical.PropDescription); !strings.Contains(desc, "Zhou Wei") {
		t.Errorf("the escort is not named:\n%s", desc)
	}
	cancelled := eventByUID(t, cal, visits[1].UID)
	if st, err := cancelled.Status(); err != nil || st != ical.EventCancelled {
		t.Errorf("cancelled visit: STATUS %q (%v), want CANCELLED", st, err)
	}
	if summary := propText(t, cancelled.Component, ical.PropSummary); !strings.HasPrefix(summary, "Cancelled") {
		t.Errorf("cancelled visit's summary %q does not say so", summary)
	}
	if desc := propText(t, cancelled.Component, ical.PropDescription); !strings.Contains(desc, "not assigned yet") {
		t.Errorf("a visit without an escort does not say so:\n%s", desc)
	}

	// go-ical's encoder refuses a calendar or event missing a required
	// property or holding one twice.
	if err := ical.NewEncoder(&bytes.Buffer{}).Encode(cal); err != nil {
		t.Errorf("the parsed feed is not a valid calendar: %v", err)
	}
	again, err := CalendarFeed(locales.For("en"), "Acme Hosting: visits", visits)
	if err != nil || !bytes.Equal(again, b) {
		t.Errorf("the same visits give different bytes (%v)", err)
	}
}

func TestCalendarFeedLinesAreCRLFAndFolded(t *testing.T) {
	visits := twoCalendarVisits()
	visits[0].Org = strings.Repeat("北京示例数据中心科技有限公司", 6)
	visits[0].Visitors = []string{strings.Repeat("欧阳", 40), strings.Repeat("Longname ", 20)}
	b, err := CalendarFeed(locales.For("zh-CN"), "来访", visits)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(b, []byte("END:VCALENDAR\r\n")) {
		t.Errorf("the feed does not end with END:VCALENDAR and CRLF")
	}
	lines := bytes.Split(bytes.TrimSuffix(b, []byte("\r\n")), []byte("\r\n"))
	folded := 0
	for i, l := range lines {
		if bytes.ContainsAny(l, "\r\n") {
			t.Errorf("line %d holds a bare CR or LF: %q", i+1, l)
		}
		if len(l) > 75 {
			t.Errorf("line %d is %d octets long: %q", i+1, len(l), l)
		}
		if !utf8.Valid(l) {
			t.Errorf("line %d splits a character: %q", i+1, l)
		}
		if bytes.HasPrefix(l, []byte(" ")) {
			folded++
		}
	}
	if folded == 0 {
		t.Fatal("nothing was folded")
	}
	e := eventByUID(t, parseFeed(t, b), visits[0].UID)
	if s := propText(t, e.Component, ical.PropSummary); !strings.Contains(s, visits[0].Org) {
		t.Errorf("a folded organization name does not come back whole: %q", s)
	}
	desc := propText(t, e.Component, ical.PropDescription)
	for _, n := range visits[0].Visitors {
		if !strings.Contains(desc, "- "+n+"\n") {
			t.Errorf("a folded visitor name does not come back whole: %q in\n%s", n, desc)
		}
	}
}

func TestCalendarFeedTextRoundTrips(t *testing.T) {
	awkward := "Acme, Inc.; \"Ops\" \\ Team\nNorth"
	for _, lang := range []string{"en", "zh-CN"} {
		visits := twoCalendarVisits()
		visits[0].Org = awkward
		visits[0].Site = "Hall 1; Row 2, Rack 3"
		visits[0].Escort = "周伟"
		visits[0].Visitors = []string{"王小明", "Smith, John; Jr.", "Line\r\nBreak", "Old\rMac", "Tab\tand\x07bell"}
		b, err := CalendarFeed(locales.For(lang), "Acme, Inc.; visits", visits)
		if err != nil {
			t.Fatal(err)
		}
		for _, escaped := range []string{`Acme\, Inc.\; "Ops" \\ Team\nNorth`, `Smith\, John\; Jr.`, `Line\nBreak`} {
			if !bytes.Contains(unfold(b), []byte(escaped)) {
				t.Errorf("%s: %q is not escaped as %q", lang, awkward, escaped)
			}
		}
		cal := parseFeed(t, b)
		if got := propText(t, cal.Component, "X-WR-CALNAME"); got != "Acme, Inc.; visits" {
			t.Errorf("%s: X-WR-CALNAME = %q", lang, got)
		}
		e := eventByUID(t, cal, visits[0].UID)
		if s := propText(t, e.Component, ical.PropSummary); !strings.Contains(s, awkward) {
			t.Errorf("%s: summary %q lacks %q", lang, s, awkward)
		}
		if s := propText(t, e.Component, ical.PropLocation); s != visits[0].Site {
			t.Errorf("%s: LOCATION %q, want %q", lang, s, visits[0].Site)
		}
		desc := propText(t, e.Component, ical.PropDescription)
		for _, want := range []string{awkward, "周伟", "- 王小明\n", "- Smith, John; Jr.\n", "- Line\nBreak\n", "- Old\nMac\n", "- Tab andbell\n"} {
			if !strings.Contains(desc, want) {
				t.Errorf("%s: description lacks %q:\n%s", lang, want, desc)
			}
		}
		if strings.ContainsAny(desc, "\r\t\x07") {
			t.Errorf("%s: description keeps a control character: %q", lang, desc)
		}
	}
}

// unfold joins folded lines back, so a test can look for a value whole.
func unfold(b []byte) []byte {
	return bytes.ReplaceAll(b, []byte("\r\n "), nil)
}

func TestCalendarFeedSpeaksTheReadersLanguage(t *testing.T) {
	for lang, want := range map[string][]string{
		"en":    {"Visit VR-2026-0001: Acme Hosting (Operation)", "Escort: Zhou Wei", "Visitors (2):"},
		"zh-CN": {"来访 VR-2026-0001：Acme Hosting（Operation）", "陪同人员：Zhou Wei", "来访人员（2 人）："},
	} {
		b, err := CalendarFeed(locales.For(lang), "x", twoCalendarVisits()[:1])
		if err != nil {
			t.Fatal(err)
		}
		e := parseFeed(t, b).Events()[0]
		got := propText(t, e.Component, ical.PropSummary) + "\n" + propText(t, e.Component, ical.PropDescription)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", lang, got, w)
			}
		}
	}
}

// A client keeps the event with the highest SEQUENCE of a UID: each change
// of a visit, cancelling it included, must raise it.
func TestCalendarFeedSequenceGrowsWithEachChange(t *testing.T) {
	seqOf := func(v CalendarVisit) int {
		t.Helper()
		b, err := CalendarFeed(locales.For("en"), "x", []CalendarVisit{v})
		if err != nil {
			t.Fatal(err)
		}
		n, err := parseFeed(t, b).Events()[0].Props.Get(ical.PropSequence).Int()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	v := twoCalendarVisits()[0]
	first := seqOf(v)
	v.Start = v.Start.Add(time.Hour)
	v.Updated = v.Updated.Add(time.Second)
	moved := seqOf(v)
	v.Status = models.VisitCancelled
	v.Updated = v.Updated.Add(24 * time.Hour)
	cancelled := seqOf(v)
	if !(first < moved && moved < cancelled) {
		t.Errorf("SEQUENCE %d, then %d after a move, then %d after cancelling: want it rising", first, moved, cancelled)
	}
	if cancelled > 1<<31-1 {
		t.Errorf("SEQUENCE %d is beyond a 32-bit integer", cancelled)
	}
}

func TestAnEmptyCalendarFeedIsACalendar(t *testing.T) {
	b, err := CalendarFeed(locales.For("zh-CN"), "机房来访", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("BEGIN:VCALENDAR\r\n")) || !bytes.HasSuffix(b, []byte("END:VCALENDAR\r\n")) {
		t.Errorf("not a calendar:\n%s", b)
	}
	cal := parseFeed(t, b)
	if got := propText(t, cal.Component, ical.PropVersion); got != "2.0" {
		t.Errorf("VERSION %q", got)
	}
	if got := propText(t, cal.Component, ical.PropProductID); got == "" {
		t.Error("no PRODID")
	}
	if got := propText(t, cal.Component, "X-WR-CALNAME"); got != "机房来访" {
		t.Errorf("X-WR-CALNAME %q", got)
	}
	if n := len(cal.Events()); n != 0 {
		t.Errorf("%d events in an empty feed", n)
	}
}

func TestCalendarFeedRefusesABrokenVisit(t *testing.T) {
	noUID := twoCalendarVisits()
	noUID[1].UID = ""
	backwards := twoCalendarVisits()
	backwards[0].End = backwards[0].Start
	for name, vs := range map[string][]CalendarVisit{"no UID": noUID, "ends at its start": backwards} {
		if _, err := CalendarFeed(locales.For("en"), "x", vs); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// A visit that leaves the approved state stays in a client's calendar until
// the feed says what became of it.
func TestCalendarFeedStatusOfEachState(t *testing.T) {
	for state, want := range map[string]ical.EventStatus{
		models.VisitApproved: ical.EventConfirmed, models.VisitPending: ical.EventTentative,
		models.VisitRefused: ical.EventCancelled, models.VisitCancelled: ical.EventCancelled,
	} {
		v := twoCalendarVisits()[0]
		v.Status = state
		b, err := CalendarFeed(locales.For("en"), "x", []CalendarVisit{v})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := parseFeed(t, b).Events()[0].Status(); err != nil || got != want {
			t.Errorf("%s: STATUS %q (%v), want %q", state, got, err, want)
		}
	}
}
