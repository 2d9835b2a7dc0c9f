package models

import (
	"context"
	"fmt"
)

// GetCheck returns check id if sc sees its organization; else ErrNotFound.
func (s *Store) GetCheck(ctx context.Context, sc Scope, id int64) (*Check, error) {
	var c Check
	if err := sc.apply(s.db.WithContext(ctx), "org_id").Where("id = ?", id).First(&c).Error; err != nil {
		return nil, fmt.Errorf("models: get check %d: %w", id, notFound(err))
	}
	return &c, nil
}
