package models

import (
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// A closed month's statement never changes; a change of its records
// afterwards (a cause or a cause span, a missed notice's waiver, a power
// incident, an installation's completion) marks the month corrected, and
// only corrected months are computed again for the adjusting lines of the
// next open statement (adjustments). Every write of such a record calls
// markCorrected in its transaction.

// statementCorrection marks a closed month of an organization whose
// records changed after it was closed.
type statementCorrection struct {
	OrgID       int64  `gorm:"primaryKey;autoIncrement:false"`
	Month       string `gorm:"primaryKey"`
	CorrectedAt time.Time
}

func (statementCorrection) TableName() string { return "statement_corrections" }

// markCorrected marks the closed months of orgID from the month of from to
// the month of to (both included, the provider's calendar). A month not
// closed needs no mark: its statement is computed from the records anyway.
func (s *Store) markCorrected(tx *gorm.DB, orgID int64, from, to time.Time) error {
	first, last := from.In(s.zone).Format("2006-01"), to.In(s.zone).Format("2006-01")
	if last < first {
		first, last = last, first
	}
	var months []string
	if err := tx.Model(&ClosedMonth{}).Where("org_id = ? AND month >= ? AND month <= ?", orgID, first, last).
		Pluck("month", &months).Error; err != nil {
		return err
	}
	if len(months) == 0 {
		return nil
	}
	rows := make([]statementCorrection, len(months))
	for i, m := range months {
		rows[i] = statementCorrection{OrgID: orgID, Month: m, CorrectedAt: s.now()}
	}
	return tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error
}

// markOutageCorrected marks the closed months outage o overlaps, after a
// change of its cause or cause spans.
func (s *Store) markOutageCorrected(tx *gorm.DB, o *Outage) error {
	end := s.now()
	if o.EndedAt != nil {
		end = *o.EndedAt
	}
	return s.markCorrected(tx, o.OrgID, o.StartedAt, end)
}

// correctedMonths lists which of months (2006-01) of orgID are marked
// corrected.
func correctedMonths(db *gorm.DB, orgID int64, months []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(months) == 0 {
		return out, nil
	}
	var got []string
	if err := db.Model(&statementCorrection{}).Where("org_id = ? AND month IN ?", orgID, months).Pluck("month", &got).Error; err != nil {
		return nil, err
	}
	for _, m := range got {
		out[m] = true
	}
	return out, nil
}
