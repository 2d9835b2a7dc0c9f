package views

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
)

// CalendarVisit is one visit as a calendar feed shows it: plain values the
// caller reads from the Store, already limited to what the feed's reader
// may see (visitors' names, never their ID numbers or phones).
type CalendarVisit struct {
	UID      string // stable across edits: the visit's ref + "@" + the portal's host
	Number   string // VR-2026-0001
	Org      string
	Site     string
	Activity string // the activity's label, already in the feed's language
	Start    time.Time
	End      time.Time
	Escort   string   // the escort's name; "" while none is assigned
	Visitors []string // names only
	Status   string   // the visit's State: models.VisitApproved, VisitCancelled (pending: TENTATIVE; refused: CANCELLED)
	URL      string   // the visit's page
	Updated  time.Time
}

// CalendarRefresh is how often the feed asks calendar clients to fetch it
// again (REFRESH-INTERVAL and X-PUBLISHED-TTL); clients may wait longer.
const CalendarRefresh = "PT15M"

// sequenceEpoch is the zero of the events' SEQUENCE: the seconds from it to
// a visit's last change. A change moves UpdatedAt forward, so the sequence
// grows with every change (cancelling included) without a column of its
// own, and stays within the 31 bits RFC 5545 allows until 2088.
var sequenceEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// CalendarFeed renders visits as an iCalendar (RFC 5545) feed named name,
// with summaries and descriptions in t's language. Times are UTC instants
// (the clients show them in their own zone); lines end in CRLF and are
// folded at 75 octets; text is escaped. Without a METHOD the events'
// DTSTAMP is their last change, so the same visits give the same bytes.
// A cancelled visit stays in the feed as STATUS:CANCELLED with a higher
// SEQUENCE, so subscribed clients update it instead of keeping it.
func CalendarFeed(t *locales.Translator, name string, visits []CalendarVisit) ([]byte, error) {
	cal := ics.NewCalendar()
	cal.SetProductId("-//colo-portal//visits//" + strings.ToUpper(t.Lang()))
	cal.SetCalscale("GREGORIAN")
	cal.SetName(calendarText(name))
	cal.SetRefreshInterval(CalendarRefresh)
	cal.SetXPublishedTTL(CalendarRefresh)
	for _, v := range visits {
		if v.UID == "" {
			return nil, errors.New("views: calendar feed: a visit without a UID")
		}
		if !v.End.After(v.Start) {
			return nil, fmt.Errorf("views: calendar feed: visit %s ends before it starts", v.Number)
		}
		e := cal.AddEvent(v.UID)
		updated := v.Updated.UTC().Truncate(time.Second)
		e.SetDtStampTime(updated)
		e.SetModifiedAt(updated)
		e.SetSequence(calendarSequence(updated))
		e.SetStartAt(v.Start)
		e.SetEndAt(v.End)
		e.SetSummary(calendarSummary(t, v))
		e.SetDescription(calendarDescription(t, v))
		if v.Site != "" {
			e.SetLocation(calendarText(v.Site))
		}
		if v.URL != "" {
			e.SetURL(v.URL)
		}
		e.SetStatus(calendarStatus(v.Status))
		e.SetClass(ics.ClassificationPrivate)
	}
	var b bytes.Buffer
	if err := cal.SerializeTo(&b, ics.WithNewLineWindows); err != nil {
		return nil, fmt.Errorf("views: calendar feed: %w", err)
	}
	return b.Bytes(), nil
}

func calendarSequence(updated time.Time) int {
	s := updated.Sub(sequenceEpoch) / time.Second
	if s < 0 {
		return 0
	}
	return int(s)
}

func calendarStatus(state string) ics.ObjectStatus {
	switch state {
	case models.VisitCancelled, models.VisitRefused:
		return ics.ObjectStatusCancelled
	case models.VisitPending:
		return ics.ObjectStatusTentative
	}
	return ics.ObjectStatusConfirmed
}

func calendarSummary(t *locales.Translator, v CalendarVisit) string {
	s := t.T("calendar.summary", v.Number, v.Org)
	if v.Activity != "" {
		s = t.T("calendar.summary_activity", s, v.Activity)
	}
	if calendarStatus(v.Status) == ics.ObjectStatusCancelled {
		s = t.T("calendar.summary_cancelled", s)
	}
	return calendarText(s)
}

func calendarDescription(t *locales.Translator, v CalendarVisit) string {
	var lines []string
	if calendarStatus(v.Status) == ics.ObjectStatusCancelled {
		lines = append(lines, t.T("calendar.cancelled"), "")
	}
	lines = append(lines,
		t.T("calendar.number", v.Number),
		t.T("calendar.org", v.Org),
		t.T("calendar.site", v.Site))
	if v.Activity != "" {
		lines = append(lines, t.T("calendar.activity", v.Activity))
	}
	escort := v.Escort
	if escort == "" {
		escort = t.T("calendar.no_escort")
	}
	lines = append(lines, t.T("calendar.escort", escort), t.T("calendar.visitors", len(v.Visitors)))
	for _, n := range v.Visitors {
		lines = append(lines, "- "+n)
	}
	if v.URL != "" {
		lines = append(lines, "", t.T("calendar.link", v.URL))
	}
	return calendarText(strings.Join(lines, "\n"))
}

// calendarText readies a TEXT value for the library, which escapes
// backslashes, commas, semicolons and line feeds but not carriage returns:
// a CR or CRLF becomes a line feed, and the other control characters RFC
// 5545 forbids in text go (a tab reads as a space).
func calendarText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\r':
			return '\n'
		case r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f:
			return -1
		}
		return r
	}, s)
}
