package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// SetCertExpiries records the certificate expiry that probes last saw, per
// check ID. Certificates change rarely, so the prober calls this only for
// checks whose stored value differs: a handful of rows a day.
func (s *Store) SetCertExpiries(ctx context.Context, expiries map[int64]time.Time) error {
	if len(expiries) == 0 {
		return nil
	}
	return wrap(s.tx(ctx, func(tx *gorm.DB) error {
		for id, at := range expiries {
			if err := tx.Model(&Check{}).Where("id = ?", id).UpdateColumn("cert_expires_at", at.UTC()).Error; err != nil {
				return fmt.Errorf("models: set certificate expiry of check %d: %w", id, err)
			}
		}
		return nil
	}), "set cert expiries")
}
