package models

import (
	"context"
	"fmt"
	"time"
)

// MaxResultsDays is the longest period of raw results one download may
// ask for: a calendar quarter.
const MaxResultsDays = 92

// ResultRow is one raw probe result with the check it belongs to, as the
// CSV download lists it.
type ResultRow struct {
	CheckID int64
	Kind    CheckKind
	Target  string
	At      time.Time
	OK      bool `gorm:"column:ok"`
	RTTus   int  `gorm:"column:rtt_us"`
	Reason  string
}

// EachDeviceResult calls fn for each raw result of a device of organization
// orgID in [from, to), by check then time, reading row by row so a long
// period does not have to fit in memory twice.
func (s *Store) EachDeviceResult(ctx context.Context, sc Scope, orgID, deviceID int64, from, to time.Time, fn func(ResultRow) error) error {
	if !sc.Allows(orgID) {
		return wrap(ErrNotFound, "each device result")
	}
	return s.eachResult(ctx, fn, "device "+fmt.Sprint(deviceID), from, to,
		"checks.org_id = ? AND checks.device_id = ?", orgID, deviceID)
}

// eachResult calls fn for each raw result in [from, to) of the checks that
// cond (on checks, with args) selects, by check then time.
func (s *Store) eachResult(ctx context.Context, fn func(ResultRow) error, what string, from, to time.Time, cond string, args ...any) error {
	utc(&from, &to)
	db := s.db.WithContext(ctx)
	rows, err := db.Table("probe_results").
		Select("probe_results.check_id, checks.kind, checks.target, probe_results.at, probe_results.ok, probe_results.rtt_us, COALESCE(probe_reasons.name, '')").
		Joins("JOIN checks ON checks.id = probe_results.check_id").
		Joins("LEFT JOIN probe_reasons ON probe_reasons.code = probe_results.reason").
		Where(cond, args...).Where("probe_results.at >= ? AND probe_results.at < ?", from, to).
		Order("probe_results.check_id, probe_results.at").Rows()
	if err != nil {
		return fmt.Errorf("models: results of %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r ResultRow
		if err := rows.Scan(&r.CheckID, &r.Kind, &r.Target, &r.At, &r.OK, &r.RTTus, &r.Reason); err != nil {
			return fmt.Errorf("models: results of %s: %w", what, err)
		}
		if err := fn(r); err != nil {
			return wrap(err, "each result")
		}
	}
	return wrap(rows.Err(), "each result")
}
