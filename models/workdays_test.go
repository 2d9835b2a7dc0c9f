package models_test

import (
	"context"
	"errors"
	"fmt"
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

// An admin adds, changes and removes one day; each change is audited
// with what the day was before.
func TestSetAndDeleteWorkDay(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, _ *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		adm := models.UserActor(fx.Admin, "10.0.0.9")
		if err := s.SetWorkDay(ctx, adm, models.WorkDay{Day: "2027-01-01", Kind: "holiday", Name: "元旦"}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetWorkDay(ctx, adm, models.WorkDay{Day: "2027-01-01", Kind: " Holiday ", Name: "元旦 New Year's Day"}); err != nil {
			t.Fatal(err)
		}
		days, err := s.WorkDays(ctx, 2027)
		if err != nil || len(days) != 1 || days[0].Name != "元旦 New Year's Day" || days[0].Kind != models.DayHoliday {
			t.Fatalf("2027: %+v, %v", days, err)
		}
		evs := auditOf(t, s, models.AuditWorkDaysChanged)
		if len(evs) != 2 || evs[0].TargetType != "calendar" {
			t.Fatalf("records %+v", evs)
		}
		if d := detailOf(t, evs[0]); d["day"] != "2027-01-01" || d["before"].(map[string]any)["name"] != "元旦" {
			t.Fatalf("detail %v", d)
		}
		if _, ok := detailOf(t, evs[1])["before"]; ok {
			t.Fatal("a new day has a before")
		}
		for _, c := range []struct {
			d          models.WorkDay
			field, key string
		}{
			{models.WorkDay{Day: "2027-02-30", Kind: "holiday"}, "day", "workdays.form_error.date"},
			{models.WorkDay{Day: "", Kind: "holiday"}, "day", "workdays.form_error.date"},
			{models.WorkDay{Day: "2100-01-01", Kind: "holiday"}, "day", "workdays.form_error.date"},
			{models.WorkDay{Day: "2027-01-04", Kind: "workday"}, "kind", "workdays.form_error.workday_on_weekday"},
			{models.WorkDay{Day: "2027-01-04", Kind: "festival"}, "kind", "workdays.form_error.kind"},
			{models.WorkDay{Day: "2027-01-04", Kind: "holiday", Name: strings.Repeat("节", 101)}, "name", "workdays.form_error.name"},
			{models.WorkDay{Day: "2027-01-04", Kind: "holiday", Name: "a\tb"}, "name", "workdays.form_error.name"},
		} {
			wantInvalid(t, s.SetWorkDay(ctx, adm, c.d), c.field, c.key)
		}
		if err := s.DeleteWorkDay(ctx, adm, "2027-01-01"); err != nil {
			t.Fatal(err)
		}
		if days, _ := s.WorkDays(ctx, 2027); len(days) != 0 {
			t.Fatalf("after delete: %+v", days)
		}
		if err := s.DeleteWorkDay(ctx, adm, "2027-01-01"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("deleting it again: %v", err)
		}
		if n := len(auditOf(t, s, models.AuditWorkDaysChanged)); n != 3 {
			t.Fatalf("%d records, want 3", n)
		}
	})
}

// Importing a year replaces that year's days, and only that year's, in
// one go; a row of another year changes nothing and names its line.
func TestImportWorkDaysReplacesAYear(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, _ *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		adm := models.UserActor(fx.Admin, "10.0.0.9")
		for _, d := range []string{"2025-12-31", "2027-01-01"} {
			if err := s.SetWorkDay(ctx, adm, models.WorkDay{Day: d, Kind: "holiday", Name: "neighbour"}); err != nil {
				t.Fatal(err)
			}
		}
		file := "date,kind,name\n2026-01-01,holiday,元旦\n\n2026-01-04,workday,元旦调休\n2026-10-01,holiday,国庆节\n"
		days, err := models.ParseWorkDaysCSV(strings.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		if days[1].Line != 4 {
			t.Fatalf("line of the second day %d, want 4 (a blank line before it)", days[1].Line)
		}
		if err := s.ImportWorkDays(ctx, adm, 2026, days); err != nil {
			t.Fatal(err)
		}
		got, err := s.WorkDays(ctx, 2026)
		if err != nil || len(got) != 3 || got[1].Day != "2026-01-04" || got[1].Kind != models.DayWorkday {
			t.Fatalf("2026 after import: %+v, %v", got, err)
		}
		for _, y := range []int{2025, 2027} {
			if ds, _ := s.WorkDays(ctx, y); len(ds) != 1 {
				t.Fatalf("%d: %+v", y, ds)
			}
		}
		evs := auditOf(t, s, models.AuditWorkDaysImported)
		if len(evs) != 1 {
			t.Fatalf("%d import records", len(evs))
		}
		if d := detailOf(t, evs[0]); d["year"] != float64(2026) || d["holidays"] != float64(2) || d["workdays"] != float64(1) ||
			d["replaced"] != float64(39) {
			t.Fatalf("detail %v", d)
		}
		// A day of 2027 in the 2026 file: refused, naming its line, and
		// 2026 stays as it was.
		bad, err := models.ParseWorkDaysCSV(strings.NewReader("date,kind,name\n2026-05-01,holiday,劳动节\n2027-05-01,holiday,劳动节\n"))
		if err != nil {
			t.Fatal(err)
		}
		v := wantInvalid(t, s.ImportWorkDays(ctx, adm, 2026, bad), "file", "workdays.error.other_year")
		if fmt.Sprint(v.Args) != "[3 2027-05-01 2026]" {
			t.Fatalf("args %v", v.Args)
		}
		wantInvalid(t, s.ImportWorkDays(ctx, adm, 2026, nil), "file", "workdays.error.empty")
		wantInvalid(t, s.ImportWorkDays(ctx, adm, 1999, days), "year", "workdays.error.year_range")
		v = wantInvalid(t, s.ImportWorkDays(ctx, adm, 2026, []models.WorkDay{{Day: "2026-01-05", Kind: "workday"}}),
			"file", "workdays.error.workday_on_weekday")
		if fmt.Sprint(v.Args) != "[1]" {
			t.Fatalf("args %v", v.Args)
		}
		if got2, _ := s.WorkDays(ctx, 2026); len(got2) != 3 {
			t.Fatalf("2026 after refusals: %+v", got2)
		}
		if n := len(auditOf(t, s, models.AuditWorkDaysImported)); n != 1 {
			t.Fatalf("%d import records after refusals", n)
		}
	})
}

// A file's problems name the line in the file, blank lines counted, a
// byte-order mark forgiven.
func TestParseWorkDaysCSVNamesTheLine(t *testing.T) {
	_, err := models.ParseWorkDaysCSV(strings.NewReader("\ufeffdate,kind,name\n2027-01-01,holiday,元旦\n\n2027-01-02,weekend,x\n"))
	v := wantInvalid(t, err, "file", "workdays.error.kind")
	if fmt.Sprint(v.Args) != "[4]" {
		t.Fatalf("args %v, want line 4", v.Args)
	}
	days, err := models.ParseWorkDaysCSV(strings.NewReader("\ufeff2027-01-01,holiday\n"))
	if err != nil || len(days) != 1 || days[0].Day != "2027-01-01" || days[0].Name != "" {
		t.Fatalf("no header: %+v, %v", days, err)
	}
	_, err = models.ParseWorkDaysCSV(strings.NewReader("date,kind,name\n2027-01-01,holiday,\"unclosed\n"))
	v = wantInvalid(t, err, "file", "workdays.error.csv")
	if fmt.Sprint(v.Args) != "[2]" {
		t.Fatalf("args %v, want line 2", v.Args)
	}
	var b strings.Builder
	for d := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC); b.Len() < 1 || d.Year() == 2027 || d.Year() == 2028; d = d.AddDate(0, 0, 1) {
		fmt.Fprintf(&b, "%s,holiday,x\n", d.Format(time.DateOnly))
	}
	_, err = models.ParseWorkDaysCSV(strings.NewReader(b.String()))
	wantInvalid(t, err, "file", "workdays.error.too_many")
}
