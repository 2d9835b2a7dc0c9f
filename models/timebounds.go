package models

import "time"

// utc normalizes times handed to a Store method to UTC in place, first
// thing, so every comparison in SQL is between UTC values. Stored times are
// UTC; SQLite compares times as text, so a bound with another offset
// ("2026-12-01 00:00:00+08:00") would be compared by its digits and find
// the wrong rows, while MySQL converts it: the same call would answer
// differently on the two databases. Nil pointers are left alone.
func utc(ts ...*time.Time) {
	for _, t := range ts {
		if t != nil {
			*t = t.UTC()
		}
	}
}

// utcPtr is a UTC copy of *t, nil for nil: for times kept from an input.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
