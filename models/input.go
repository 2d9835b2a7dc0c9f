package models

import (
	"time"
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
	if y := t.In(loc).Year(); y < 2000 || y > 2099 {
		return Invalid(field, "error.date_range", EarliestDate, LatestDate)
	}
	return nil
}
