package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// SeedContract stores contract c of organization c.OrgID covering
// cabinets (every device of the organization in them), as it stands: for
// demo data and tests only. No rule is checked, its installation order is
// stored as done at the start of the signing day (no clock), and nothing
// is audited; the service desk's path is the contracts
// area's CreateContract. c gets the next contract number of its
// organization in the current year, a reference, and the defaults of an
// empty currency (CNY) and renewal state (auto).
func (s *Store) SeedContract(ctx context.Context, c *Contract, cabinets []string) error {
	if c.Ref == "" {
		c.Ref = newRef()
	}
	if c.Currency == "" {
		c.Currency = DefaultCurrency
	}
	if c.Renewal == "" {
		c.Renewal = RenewalAuto
	}
	year, err := s.prepareNumber(ctx, NumberContract, c.OrgID, s.now())
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		seq, err := nextNumber(tx, NumberContract, c.OrgID, year)
		if err != nil {
			return err
		}
		c.ID, c.NumberYear, c.NumberSeq = 0, year, seq // a retried transaction inserts again
		if err := tx.Create(c).Error; err != nil {
			return err
		}
		for _, cab := range cabinets {
			if err := tx.Create(&ContractTarget{ContractID: c.ID, OrgID: c.OrgID, Cabinet: cab}).Error; err != nil {
				return err
			}
		}
		signed, err := time.ParseInLocation(time.DateOnly, c.SignedOn, s.zone)
		if err != nil {
			return fmt.Errorf("signed on %q: %w", c.SignedOn, err)
		}
		at, now := signed.UTC(), s.now()
		return tx.Create(&InstallationOrder{OrgID: c.OrgID, ContractID: c.ID, SignedAt: at, DueAt: at, CompletedAt: &at,
			CreatedAt: now, UpdatedAt: now}).Error
	})
	if err != nil {
		return fmt.Errorf("models: seed contract of organization %d: %w", c.OrgID, err)
	}
	return nil
}
