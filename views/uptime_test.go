package views

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
)

var barRect = regexp.MustCompile(`<rect x="(\d+)" y="0" width="(\d+)" height="34" rx="1.5" class="([^"]*)"><title>([^<]*)</title></rect>`)

// TestDayBarMergesAlikeDaysAndKeepsEveryDowntime renders the uptime list and
// the bar of days (of the device page) of a device watched for the last 60 of the bar's 90 days with one outage:
// the days not watched are one bar, the days without downtime before and
// after the outage one bar each with the range in its tooltip, and the day
// of the outage its own bar with its own figures.
func TestDayBarMergesAlikeDaysAndKeepsEveryDowntime(t *testing.T) {
	for _, lang := range []string{"en", "zh-CN"} {
		t.Run(lang, func(t *testing.T) {
			tr := locales.For(lang)
			ctx := WithRequest(context.Background(), &Request{Lang: lang, T: tr, Location: time.UTC,
				User: &models.User{Name: "Ops", Role: models.RoleCustomer}})
			now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
			first := time.Date(2026, 8, 23, 0, 0, 0, 0, time.UTC) // day 0 of the bar
			day := func(i int) time.Time { return first.AddDate(0, 0, i) }
			outStart := day(70).Add(10 * time.Hour)
			outEnd := outStart.Add(30 * time.Minute)
			dev := models.Device{ID: 7, OrgID: 1, Name: `<script>alert("x")</script>`, Address: "192.0.2.7",
				CreatedAt: day(30)}
			u := models.ComputeUptime(dev, nil, []models.Span{{Start: outStart, End: &outEnd, Cause: models.CauseProviderNetwork}}, now, time.UTC)
			if len(u.Days) != models.UptimeDays || !u.Days[0].Day.Equal(first) {
				t.Fatalf("bar starts %v with %d days; the test expects %v and %d", u.Days[0].Day, len(u.Days), first, models.UptimeDays)
			}
			vm := UptimePageVM{Org: &models.Organization{ID: 1, Name: "Org <b>"}, Devices: []models.DeviceUptime{u},
				Counts: models.FleetCounts{Up: 1}, Page: 1, Pages: 1}
			var b strings.Builder
			if err := UptimePage(vm).Render(ctx, &b); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(b.String(), "<rect") {
				t.Errorf("the uptime list draws a bar of days: it is on the device page")
			}
			// The device page's bar.
			if err := dayBar(u.Days).Render(ctx, &b); err != nil {
				t.Fatal(err)
			}
			html := b.String()

			if strings.Contains(html, `<script>alert`) || !strings.Contains(html, `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`) {
				t.Errorf("the device name is not escaped as text")
			}
			if strings.Contains(html, "Org <b>") {
				t.Errorf("the organization name is not escaped")
			}

			rects := barRect.FindAllStringSubmatch(html, -1)
			if n := strings.Count(html, "<rect"); n != len(rects) {
				t.Fatalf("%d rects, %d of the expected shape", n, len(rects))
			}
			date := func(i int) string { return day(i).Format("2006-01-02") }
			esc := templ.EscapeString[string]
			full := u.Days[70]
			want := []struct {
				x, days int
				class   string
				title   string
			}{
				{0, 30, "day a-none", esc(tr.T("uptime.days_no_data", date(0), date(29), 30))},
				{30, 40, "day a-full", esc(tr.T("uptime.days_full", date(30), date(69), 40, "100.000%", "0.0", "0.0"))},
				{70, 1, "day " + AvailClass(full.Availability), esc(tr.T("uptime.day_tooltip", date(70), Percent(full.Percent()), "30.0", "30.0"))},
				{71, 19, "day a-full", esc(tr.T("uptime.days_full", date(71), date(89), 19, "100.000%", "0.0", "0.0"))},
			}
			if len(rects) != len(want) {
				t.Fatalf("%d bars, want %d: %q", len(rects), len(want), rects)
			}
			for i, w := range want {
				r := rects[i]
				if r[1] != strconv.Itoa(w.x*10+1) || r[2] != strconv.Itoa(w.days*10-2) || r[3] != w.class || r[4] != w.title {
					t.Errorf("bar %d = x %s width %s class %q title %q;\nwant x %d width %d class %q title %q",
						i, r[1], r[2], r[3], r[4], w.x*10+1, w.days*10-2, w.class, w.title)
				}
			}
			if w := want[2].class; w == "day a-full" {
				t.Errorf("the day of the outage is coloured as a full day")
			}
			for _, s := range []string{`role="img"`, `aria-label="` + esc(tr.T("uptime.bar_label", models.UptimeDays)) + `"`,
				esc(tr.T("uptime.days_ago", models.UptimeDays)), esc(tr.T("uptime.today"))} {
				if !strings.Contains(html, s) {
					t.Errorf("the bar lacks %s", s)
				}
			}
		})
	}
}
