package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Keeping the working-day calendar (docs/agreement.md §3): an admin sets
// or removes one day, or replaces a whole year with an imported file.
// Due dates already computed (installation orders) are fixed when the
// contract is signed: a later change of the calendar does not move them.

// Audit actions of the calendar (target "calendar").
const (
	AuditWorkDaysChanged  = "workdays.changed"
	AuditWorkDaysImported = "workdays.imported"
)

// workDayFormErrors says where a day's problem (WorkDay.problem, whose
// messages name a line of a file) goes on the one-day form, and with
// which message.
var workDayFormErrors = map[string][2]string{
	"workdays.error.date":               {"day", "workdays.form_error.date"},
	"workdays.error.workday_on_weekday": {"kind", "workdays.form_error.workday_on_weekday"},
	"workdays.error.kind":               {"kind", "workdays.form_error.kind"},
	"workdays.error.name":               {"name", "workdays.form_error.name"},
}

// SetWorkDay adds a public holiday or a make-up working day to the
// calendar, or changes the day's kind or name if it is there already.
func (s *Store) SetWorkDay(ctx context.Context, actor Actor, d WorkDay) error {
	d.Day, d.Kind, d.Name = strings.TrimSpace(d.Day), strings.ToLower(strings.TrimSpace(d.Kind)), strings.TrimSpace(d.Name)
	if key := d.problem(); key != "" {
		fe := workDayFormErrors[key]
		return Invalid(fe[0], fe[1])
	}
	now := s.now().UTC()
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var before []WorkDay
		if err := forUpdate(tx).Where("day = ?", d.Day).Find(&before).Error; err != nil {
			return err
		}
		row := WorkDay{Day: d.Day, Kind: d.Kind, Name: d.Name, UpdatedAt: now}
		if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "day"}},
			DoUpdates: clause.AssignmentColumns([]string{"kind", "name", "updated_at"})}).Create(&row).Error; err != nil {
			return err
		}
		detail := map[string]any{"day": d.Day, "after": map[string]any{"kind": d.Kind, "name": d.Name}}
		if len(before) == 1 {
			detail["before"] = map[string]any{"kind": before[0].Kind, "name": before[0].Name}
		}
		return s.audit(tx, actor, AuditWorkDaysChanged, "calendar", nil, nil, detail)
	})
	return wrap(err, "set work day")
}

// DeleteWorkDay removes a configured day: it follows the week again. A
// day that is not configured is ErrNotFound.
func (s *Store) DeleteWorkDay(ctx context.Context, actor Actor, day string) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var d WorkDay
		if err := forUpdate(tx).Where("day = ?", day).First(&d).Error; err != nil {
			return notFound(err)
		}
		if err := tx.Where("day = ?", day).Delete(&WorkDay{}).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditWorkDaysChanged, "calendar", nil, nil, map[string]any{"day": day,
			"before": map[string]any{"kind": d.Kind, "name": d.Name}, "after": nil})
	})
	return wrap(err, "delete work day")
}

// ImportWorkDays replaces the configured days of year with days (read by
// ParseWorkDaysCSV), in one transaction: every day must lie in that year,
// or nothing changes and the error names the line. An empty list is
// refused: emptying a year is a mistake more often than a wish (delete
// the days one by one instead).
func (s *Store) ImportWorkDays(ctx context.Context, actor Actor, year int, days []WorkDay) error {
	if year < 2000 || year > 2099 {
		return Invalid("year", "workdays.error.year_range")
	}
	if len(days) == 0 {
		return Invalid("file", "workdays.error.empty")
	}
	if len(days) > MaxWorkDayRows {
		return Invalid("file", "workdays.error.too_many", MaxWorkDayRows)
	}
	prefix := fmt.Sprintf("%04d-", year)
	var p problems
	seen := map[string]bool{}
	counts := map[string]int{}
	now := s.now().UTC()
	rows := make([]WorkDay, 0, len(days))
	for i, d := range days {
		line := d.Line
		if line == 0 {
			line = i + 1
		}
		switch {
		case d.problem() != "":
			p.add(Invalid("file", d.problem(), line))
		case !strings.HasPrefix(d.Day, prefix):
			p.add(Invalid("file", "workdays.error.other_year", line, d.Day, year))
		case seen[d.Day]:
			p.add(Invalid("file", "workdays.error.repeated", line, d.Day))
		default:
			seen[d.Day] = true
			counts[d.Kind]++
			rows = append(rows, WorkDay{Day: d.Day, Kind: d.Kind, Name: d.Name, UpdatedAt: now})
		}
	}
	if err := p.err(); err != nil {
		return err
	}
	first, last := fmt.Sprintf("%04d-01-01", year), fmt.Sprintf("%04d-12-31", year)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		del := tx.Where("day >= ? AND day <= ?", first, last).Delete(&WorkDay{})
		if del.Error != nil {
			return del.Error
		}
		batch := make([]WorkDay, len(rows)) // a retried run inserts afresh
		copy(batch, rows)
		if err := createInChunks(tx, batch); err != nil {
			return err
		}
		return s.audit(tx, actor, AuditWorkDaysImported, "calendar", nil, nil, map[string]any{"year": year,
			"holidays": counts[DayHoliday], "workdays": counts[DayWorkday], "replaced": del.RowsAffected})
	})
	return wrap(err, "import work days")
}

// Weekday is the day of the week of a calendar day (2006-01-02).
func (d WorkDay) Weekday() time.Weekday {
	t, err := time.Parse(time.DateOnly, d.Day)
	if err != nil {
		return time.Sunday
	}
	return t.Weekday()
}
