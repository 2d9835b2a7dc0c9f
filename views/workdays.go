package views

import (
	"context"
	"time"

	"github.com/colo-portal/portal/models"
)

// WorkDaysPageVM is the admin's page of the working-day calendar of one
// year: its configured days, the form to add one and the import.
type WorkDaysPageVM struct {
	Year     int
	Days     []models.WorkDay
	MaxBytes int64
	// What a refused form was given, and what is wrong with it.
	Day, Kind, Name string
	Errors          FormErrors
}

// Counts are the year's public holidays and make-up working days.
func (vm WorkDaysPageVM) Counts() (holidays, workdays int) {
	for _, d := range vm.Days {
		if d.Kind == models.DayWorkday {
			workdays++
		} else {
			holidays++
		}
	}
	return holidays, workdays
}

// LastSet is when a day of the year was last set (added, changed or
// imported).
func (vm WorkDaysPageVM) LastSet() time.Time {
	var t time.Time
	for _, d := range vm.Days {
		if d.UpdatedAt.After(t) {
			t = d.UpdatedAt
		}
	}
	return t
}

// WorkDaysURL is the calendar page of a year.
func WorkDaysURL(year int) string { return Path("/admin/workdays?year=", year) }

// weekdayKeys name the days of the week, Sunday first as time.Weekday.
var weekdayKeys = [7]string{"workdays.weekday.sunday", "workdays.weekday.monday", "workdays.weekday.tuesday",
	"workdays.weekday.wednesday", "workdays.weekday.thursday", "workdays.weekday.friday", "workdays.weekday.saturday"}

// WeekdayName names a day of the week.
func WeekdayName(ctx context.Context, wd time.Weekday) string { return T(ctx, weekdayKeys[wd]) }

// workDayKindKeys name the kinds of configured days.
var workDayKindKeys = map[string]string{models.DayHoliday: "workdays.kind.holiday", models.DayWorkday: "workdays.kind.workday"}

// WorkDayKindName names a kind of configured day.
func WorkDayKindName(ctx context.Context, kind string) string {
	if k, ok := workDayKindKeys[kind]; ok {
		return T(ctx, k)
	}
	return kind
}

// WorkDayKinds are the kinds in the form's order.
var WorkDayKinds = []string{models.DayHoliday, models.DayWorkday}
