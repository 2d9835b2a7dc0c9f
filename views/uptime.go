package views

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/colo-portal/portal/models"
)

// Percent shows an availability with the three decimals the agreement's
// 99.9% needs to be read at a glance.
func Percent(p float64) string {
	// Rounded down, so 99.9996% is not shown as a perfect 100.000%.
	// strconv, not fmt: the uptime page shows this for 90 days of each
	// device, and it was a tenth of the page's time.
	return strconv.FormatFloat(math.Floor(p*1000+1e-6)/1000, 'f', 3, 64) + "%"
}

// Minutes shows a duration in minutes with one decimal.
func Minutes(d time.Duration) string {
	return strconv.FormatFloat(d.Minutes(), 'f', 1, 64)
}

// Duration shows a duration in the viewer's language (locales.Translator.Duration).
func Duration(ctx context.Context, d time.Duration) string { return Req(ctx).T.Duration(d) }

// RTT shows a round trip in milliseconds from microseconds.
func RTT(us int) string {
	return Millis(float64(us) / 1000)
}

// Millis shows milliseconds with the precision that matters at that size.
func Millis(ms float64) string {
	switch {
	case ms < 10:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 100:
		return fmt.Sprintf("%.1f ms", ms)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

// StateClass is the badge class of a device or check state.
func StateClass(state string) string {
	switch state {
	case models.StatusUp:
		return "ok"
	case models.StatusDown:
		return "bad"
	}
	return "warn"
}

// StateName translates a state.
func StateName(ctx context.Context, state string) string {
	if state == "" {
		state = models.StatusUnknown
	}
	return T(ctx, "state."+state)
}

// CheckState is a check's state, "paused" when disabled.
func CheckState(c models.Check) string {
	if !c.Enabled {
		return "paused"
	}
	if c.Status == "" {
		return models.StatusUnknown
	}
	return c.Status
}

// KindName translates a check kind.
func KindName(ctx context.Context, k models.CheckKind) string {
	return T(ctx, "kind."+string(k))
}

// CauseName translates an outage cause.
func CauseName(ctx context.Context, c models.Cause) string {
	if c == "" {
		c = models.CauseUnknown
	}
	return T(ctx, "cause."+string(c))
}

// CauseClass is the badge class of a cause: provider causes count against
// the agreement, the others are excluded.
func CauseClass(c models.Cause) string {
	switch {
	case c == models.CauseUnknown || c == "":
		return "warn"
	case c.CountsAgainstProvider():
		return "bad"
	}
	return ""
}

// ReasonName translates a probe failure reason; one the catalog does not
// know yet is shown as recorded.
func ReasonName(ctx context.Context, reason string) string {
	if reason == "" {
		return "—"
	}
	if Req(ctx).T.Has("reason." + reason) {
		return T(ctx, "reason."+reason)
	}
	return reason
}

// PeriodName names an uptime period.
func PeriodName(ctx context.Context, p models.PeriodAvailability) string {
	if p.Period == models.PeriodMonth {
		loc := Req(ctx).Location
		if loc == nil {
			loc = time.UTC
		}
		return T(ctx, "uptime.period.month", p.From.In(loc).Format("2006-01"))
	}
	return T(ctx, "uptime.period."+p.Period)
}

// AvailClass colours an availability against the agreement's 99.9%.
func AvailClass(a models.Availability) string {
	p := a.Percent()
	switch {
	case a.Down == 0:
		return "a-full"
	case p >= 99.9:
		return "a-good"
	case p >= 99:
		return "a-fair"
	case p >= 95:
		return "a-poor"
	}
	return "a-bad"
}

// dayClass colours one day of the bar.
func dayClass(d models.DayAvailability) string {
	if d.NoData {
		return "day a-none"
	}
	if d.Down > 0 && d.Counted == 0 {
		return "day a-excluded"
	}
	return "day " + AvailClass(d.Availability)
}

// dayTitle is the tooltip of one day of the bar.
func dayTitle(ctx context.Context, d models.DayAvailability) string {
	date := d.Day.Format("2006-01-02")
	if d.NoData {
		return T(ctx, "uptime.day_no_data", date)
	}
	return T(ctx, "uptime.day_tooltip", date, Percent(d.Percent()), Minutes(d.Down), Minutes(d.Counted))
}

// runTitle is the tooltip of a run of n > 1 days merged into one bar.
func runTitle(ctx context.Context, first, last models.DayAvailability, n int) string {
	from, to := first.Day.Format("2006-01-02"), last.Day.Format("2006-01-02")
	if first.NoData {
		return T(ctx, "uptime.days_no_data", from, to, n)
	}
	return T(ctx, "uptime.days_full", from, to, n, Percent(first.Percent()), Minutes(first.Down), Minutes(first.Counted))
}

// sameRun reports whether day b may join the run of day a in the bar:
// both not watched yet, or both without any downtime (so with the same
// class and the same figures: 100%, 0 minutes down, 0 counted). A day
// with downtime always keeps a bar and a tooltip of its own.
func sameRun(a, b models.DayAvailability) bool {
	if a.NoData || b.NoData {
		return a.NoData && b.NoData
	}
	return a.Down == 0 && b.Down == 0
}

// dayBar is the last 90 days, one bar per day coloured by availability,
// each with its figures as a tooltip; consecutive days that are alike
// (sameRun) share one bar whose tooltip names the range, so a month
// without downtime is one element, not thirty (the page shows a hundred
// devices). The stylesheet masks the bar into day columns, so a run still
// reads as its days. Written in Go rather than templ because it was most
// of the uptime page's time; every text in it is escaped.
func dayBar(days []models.DayAvailability) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		var b strings.Builder
		b.Grow(1024)
		b.WriteString(`<div class="daybar"><svg viewBox="0 0 900 34" preserveAspectRatio="none" role="img" aria-label="`)
		b.WriteString(templ.EscapeString(T(ctx, "uptime.bar_label", len(days))))
		b.WriteString(`">`)
		for i := 0; i < len(days); {
			j := i + 1
			for j < len(days) && sameRun(days[i], days[j]) {
				j++
			}
			title := dayTitle(ctx, days[i])
			if j-i > 1 {
				title = runTitle(ctx, days[i], days[j-1], j-i)
			}
			b.WriteString(`<rect x="`)
			b.WriteString(dayX(i))
			b.WriteString(`" y="0" width="`)
			b.WriteString(strconv.Itoa((j-i)*10 - 2))
			b.WriteString(`" height="34" rx="1.5" class="`)
			b.WriteString(templ.EscapeString(dayClass(days[i])))
			b.WriteString(`"><title>`)
			b.WriteString(templ.EscapeString(title))
			b.WriteString(`</title></rect>`)
			i = j
		}
		b.WriteString(`</svg><div class="daybar-axis"><span>`)
		b.WriteString(templ.EscapeString(T(ctx, "uptime.days_ago", len(days))))
		b.WriteString(`</span><span>`)
		b.WriteString(templ.EscapeString(T(ctx, "uptime.today")))
		b.WriteString(`</span></div></div>`)
		_, err := io.WriteString(w, b.String())
		return err
	})
}

// dayX places day i of the bar.
func dayX(i int) string { return strconv.Itoa(i*10 + 1) }

// FormatDate shows the date of t in the viewer's time zone.
func FormatDate(ctx context.Context, t time.Time) string {
	loc := Req(ctx).Location
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02")
}

// ExpiresSoon reports a certificate that expires within two weeks of now.
func ExpiresSoon(t *time.Time, now time.Time) bool {
	return t != nil && t.Sub(now) < 14*24*time.Hour
}

// deviceWhere is a device's place in the data center, "A03 / U12".
func deviceWhere(d models.Device) string {
	var parts []string
	for _, p := range []string{d.Cabinet, d.Position} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " / ")
}

// FormatTimeSec shows t to the second in the viewer's time zone.
func FormatTimeSec(ctx context.Context, t time.Time) string {
	loc := Req(ctx).Location
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04:05")
}

// ariaCurrent marks the current tab.
func ariaCurrent(current bool) string {
	if current {
		return "page"
	}
	return "false"
}

// partlyWatched returns when a device began to be watched if that is
// inside its longest period, so the page can say that its figures cover
// only the time since (a device added this morning is not "90 days").
func partlyWatched(d models.DeviceUptime) *time.Time {
	since := models.MonitoredSince(d.Device)
	for _, p := range d.Periods {
		if since.After(p.From) {
			return &since
		}
	}
	return nil
}

// deref is *s, or "" for nil.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
