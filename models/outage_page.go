package models

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// GetOutage returns outage id if sc sees its organization; else ErrNotFound.
func (s *Store) GetOutage(ctx context.Context, sc Scope, id int64) (*Outage, error) {
	var o Outage
	if err := sc.apply(s.db.WithContext(ctx), "org_id").Where("id = ?", id).First(&o).Error; err != nil {
		return nil, fmt.Errorf("models: get outage %d: %w", id, notFound(err))
	}
	return &o, nil
}

// ClockDeduction returns the deduction line, or waiver, of a missed clock
// of orgID; nil while there is none.
func (s *Store) ClockDeduction(ctx context.Context, sc Scope, orgID, clockID int64) (*Deduction, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "clock deduction")
	}
	var d Deduction
	err := s.db.WithContext(ctx).Where("org_id = ? AND clock_id = ?", orgID, clockID).Order("id").First(&d).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap(err, "clock deduction")
	}
	return &d, nil
}

// StaffNames returns the names of the staff users among ids, such as those
// who logged a call; customers' names are never returned.
func (s *Store) StaffNames(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	if len(ids) == 0 {
		return out, nil
	}
	var us []User
	if err := findIn(s.db.WithContext(ctx), ids, &us, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return idAndName(q.Where("org_id IS NULL"), chunk)
	}); err != nil {
		return nil, wrap(err, "staff names")
	}
	for _, u := range us {
		out[u.ID] = u.Name
	}
	return out, nil
}
