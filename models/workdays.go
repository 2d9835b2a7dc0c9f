package models

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"gorm.io/gorm"
)

// The working-day calendar (docs/agreement.md §3): weekends are days off,
// except configured make-up working days (调休上班); weekdays are working
// days, except configured public holidays. Admins keep the list; the
// State Council's calendar for 2026 ships with the portal and is loaded by
// migration 24.

// Kinds of calendar days.
const (
	DayHoliday = "holiday" // a weekday off
	DayWorkday = "workday" // a weekend day worked
)

// WorkDay is one configured day of the calendar: a public holiday or a
// make-up working day. Days not listed follow the week.
type WorkDay struct {
	Day       string `gorm:"primaryKey"` // 2006-01-02
	Kind      string
	Name      string
	UpdatedAt time.Time
	// Line is the line of the file the day was read from
	// (ParseWorkDaysCSV), for the messages of an import; not stored.
	Line int `gorm:"-"`
}

func (WorkDay) TableName() string { return "work_days" }

//go:embed workdays_2026.csv
var shippedWorkDays []byte

// ShippedWorkDays is the calendar that ships with the portal.
func ShippedWorkDays() ([]WorkDay, error) {
	days, err := ParseWorkDaysCSV(bytes.NewReader(shippedWorkDays))
	if err != nil {
		return nil, fmt.Errorf("models: shipped work days: %w", err)
	}
	return days, nil
}

// MaxWorkDayRows bounds an imported calendar: a year has 366 days.
const MaxWorkDayRows = 400

// ParseWorkDaysCSV reads a calendar in the shipped format: a header
// "date,kind,name", then one row per day (2006-01-02, holiday or workday,
// a name). A make-up day on a weekday says nothing the week does not and is
// refused (a mistake), as are repeated days. Every
// problem is reported with its line, as a validation error.
func ParseWorkDaysCSV(r io.Reader) ([]WorkDay, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	var p problems
	var out []WorkDay
	seen := map[string]bool{}
	for first := true; ; first = false {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line := 1
			if pe := (*csv.ParseError)(nil); errors.As(err, &pe) {
				line = pe.StartLine
			}
			return nil, Invalid("file", "workdays.error.csv", line)
		}
		// The line in the file (blank lines are skipped), for messages.
		line, _ := cr.FieldPos(0)
		if first && len(rec) > 0 {
			rec[0] = strings.TrimPrefix(rec[0], "\ufeff") // a spreadsheet's byte-order mark
			if strings.EqualFold(strings.TrimSpace(rec[0]), "date") {
				continue
			}
		}
		if len(out) >= MaxWorkDayRows {
			return nil, Invalid("file", "workdays.error.too_many", MaxWorkDayRows)
		}
		if len(rec) < 2 || len(rec) > 3 {
			p.add(Invalid("file", "workdays.error.columns", line))
			continue
		}
		d := WorkDay{Day: strings.TrimSpace(rec[0]), Kind: strings.ToLower(strings.TrimSpace(rec[1])), Line: line}
		if len(rec) == 3 {
			d.Name = strings.TrimSpace(rec[2])
		}
		if key := d.problem(); key != "" {
			p.add(Invalid("file", key, line))
			continue
		}
		if seen[d.Day] {
			p.add(Invalid("file", "workdays.error.repeated", line, d.Day))
			continue
		}
		seen[d.Day] = true
		out = append(out, d)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// problem checks one calendar day and returns the locale key of what is
// wrong with it (its message takes the line number), or "".
func (d *WorkDay) problem() string {
	t, err := time.Parse(time.DateOnly, d.Day)
	if err != nil || t.Format(time.DateOnly) != d.Day || d.Day < EarliestDate || d.Day > LatestDate {
		return "workdays.error.date"
	}
	weekend := t.Weekday() == time.Saturday || t.Weekday() == time.Sunday
	switch d.Kind {
	case DayHoliday:
		// A holiday period may take in a weekend (the State Council lists
		// the whole period); such a day is off either way.
	case DayWorkday:
		if !weekend {
			return "workdays.error.workday_on_weekday"
		}
	default:
		return "workdays.error.kind"
	}
	if CheckLine("name", d.Name, 100) != nil {
		return "workdays.error.name"
	}
	return ""
}

// WorkCalendar tells working days from days off.
type WorkCalendar map[string]string // day → DayHoliday or DayWorkday

// Working reports whether the calendar day of t (in t's location) is a
// working day.
func (c WorkCalendar) Working(t time.Time) bool {
	switch c[t.Format(time.DateOnly)] {
	case DayHoliday:
		return false
	case DayWorkday:
		return true
	}
	return t.Weekday() != time.Saturday && t.Weekday() != time.Sunday
}

// InstallationDays is how many working days after signing the
// installation is due (agreement §3).
const InstallationDays = 3

// DueAfterWorkingDays is the end of the nth working day after the
// calendar day of signed in zone: the midnight that follows it. The
// signing day itself never counts, whatever the hour.
func (c WorkCalendar) DueAfterWorkingDays(signed time.Time, zone *time.Location, n int) time.Time {
	y, m, d := signed.In(zone).Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, zone)
	for left := n; left > 0; {
		day = day.AddDate(0, 0, 1)
		if c.Working(day) {
			left--
		}
	}
	return day.AddDate(0, 0, 1)
}

// workCalendar loads the configured days from the calendar day of from
// for the days ahead, enough for any due date the portal computes.
func workCalendar(tx *gorm.DB, from time.Time, zone *time.Location, days int) (WorkCalendar, error) {
	first := from.In(zone).Format(time.DateOnly)
	last := from.In(zone).AddDate(0, 0, days).Format(time.DateOnly)
	var rows []WorkDay
	if err := tx.Where("day >= ? AND day <= ?", first, last).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("models: work calendar: %w", err)
	}
	c := WorkCalendar{}
	for _, r := range rows {
		c[r.Day] = r.Kind
	}
	return c, nil
}

// WorkDays lists the configured days of a calendar year, in order.
func (s *Store) WorkDays(ctx context.Context, year int) ([]WorkDay, error) {
	var out []WorkDay
	err := s.db.WithContext(ctx).Where("day >= ? AND day <= ?", fmt.Sprintf("%04d-01-01", year), fmt.Sprintf("%04d-12-31", year)).
		Order("day").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("models: work days of %d: %w", year, err)
	}
	return out, nil
}
