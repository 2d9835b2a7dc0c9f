package models_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

func TestInstallationDueCountsWorkingDays(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	days, err := models.ShippedWorkDays()
	if err != nil {
		t.Fatal(err)
	}
	cal := models.WorkCalendar{}
	for _, d := range days {
		cal[d.Day] = d.Kind
	}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct{ name, signed, due string }{
		{"three weekdays in an ordinary week", "2026-03-10 16:30", "2026-03-14 00:00"},
		{"signed on a Friday: the weekend does not count", "2026-03-13 09:00", "2026-03-19 00:00"},
		{"signed on a Saturday: Monday is the first", "2026-03-14 11:00", "2026-03-19 00:00"},
		// Friday 13 Feb: Saturday 14 is a make-up working day (1), the
		// Spring Festival runs from Sunday 15 to Monday 23 (a weekend
		// inside it), then Tuesday 24 (2) and Wednesday 25 (3).
		{"a make-up Saturday, a public holiday and a weekend", "2026-02-13 18:00", "2026-02-26 00:00"},
		// Thursday 17 Sep: Friday 18 (1), Saturday 19 off, Sunday 20 a
		// make-up working day (2), Monday 21 (3).
		{"a make-up Sunday counts", "2026-09-17 10:00", "2026-09-22 00:00"},
		// National Day: 1 to 7 Oct off, then Thursday 8 (1), Friday 9 (2)
		// and the make-up Saturday 10 (3).
		{"the National Day week", "2026-09-30 23:59", "2026-10-11 00:00"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := cal.DueAfterWorkingDays(at(c.signed), shanghai, models.InstallationDays)
			if want := at(c.due); !got.Equal(want) {
				t.Fatalf("signed %s: due %s, want %s", c.signed, got.In(shanghai), want)
			}
		})
	}
	// Without the calendar the same Friday counts Monday to Wednesday.
	if got, want := (models.WorkCalendar{}).DueAfterWorkingDays(at("2026-02-13 18:00"), shanghai, 3), at("2026-02-19 00:00"); !got.Equal(want) {
		t.Fatalf("no calendar: due %s, want %s", got, want)
	}
}

func TestParseWorkDaysCSV(t *testing.T) {
	days, err := models.ParseWorkDaysCSV(strings.NewReader("\ufeffdate,kind,name\n2027-01-01,holiday,元旦\n2027-01-09,workday,调休\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 2 || days[0].Day != "2027-01-01" || days[0].Kind != models.DayHoliday || days[1].Name != "调休" {
		t.Fatalf("parsed %+v", days)
	}
	for _, c := range []struct{ name, csv, key string }{
		{"not a date", "2027-02-30,holiday,x\n", "workdays.error.date"},
		{"a make-up day on a weekday", "2027-01-04,workday,x\n", "workdays.error.workday_on_weekday"},
		{"an unknown kind", "2027-01-04,festival,x\n", "workdays.error.kind"},
		{"a day twice", "2027-01-01,holiday,a\n2027-01-01,holiday,b\n", "workdays.error.repeated"},
		{"one column", "2027-01-01\n", "workdays.error.columns"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := models.ParseWorkDaysCSV(strings.NewReader(c.csv))
			wantInvalid(t, err, "file", c.key)
		})
	}
}

func TestShippedCalendarIsLoaded(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, _ *dbtest.Clock) {
		days, err := s.WorkDays(context.Background(), 2026)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for _, d := range days {
			kinds[d.Kind]++
		}
		// 2026: 33 days of public holidays, 6 make-up working days.
		if kinds[models.DayHoliday] != 33 || kinds[models.DayWorkday] != 6 {
			t.Fatalf("2026 calendar: %v", kinds)
		}
	})
}
