package models

import "context"

// FindCheckForStaff returns any check, for staff.
func (s *Store) FindCheckForStaff(ctx context.Context, id int64) (*Check, error) {
	var c Check
	if err := s.db.WithContext(ctx).First(&c, id).Error; err != nil {
		return nil, notFound(err)
	}
	return &c, nil
}
