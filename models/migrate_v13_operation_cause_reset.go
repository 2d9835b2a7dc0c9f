package models

import (
	"fmt"

	"gorm.io/gorm"
)

// Frozen struct of migration 13.
type outageV13 struct {
	ID        int64
	Cause     string `gorm:"size:40;not null;default:'unknown'"`
	CauseNote string `gorm:"size:500;not null;default:''"`
}

func (outageV13) TableName() string { return "outages" }

// operationCauseResetNote says in an outage's cause note why migration 13
// changed its cause; the note it had follows.
const operationCauseResetNote = "Cause reset from customer_operation to unknown (migration 13): an operation exempts only the time inside its authorized work, as a cause span set from the operation's page, never a whole outage."

// migrateOperationCauseReset gives the outages whose whole cause is
// customer_operation, set before an operation could only take the part of
// an outage inside its authorized work, their cause back as unknown: the
// whole outage stopped counting, time before and after the work included.
// An engineer classifies them again (the operation's page attributes the
// work's part). The note says why and keeps the old note after it; the
// spans are left as they are. Run again, it finds nothing to change.
func migrateOperationCauseReset(tx *gorm.DB) error {
	var todo []outageV13
	if err := tx.Where("cause = ?", "customer_operation").Order("id").Find(&todo).Error; err != nil {
		return fmt.Errorf("find outages caused by an operation as a whole: %w", err)
	}
	for _, o := range todo {
		note := operationCauseResetNote
		if o.CauseNote != "" {
			note += " Previous note: " + o.CauseNote
		}
		if r := []rune(note); len(r) > 500 {
			note = string(r[:500])
		}
		if err := tx.Model(&outageV13{}).Where("id = ? AND cause = ?", o.ID, "customer_operation").
			Updates(map[string]any{"cause": "unknown", "cause_note": note}).Error; err != nil {
			return fmt.Errorf("reset the cause of outage %d: %w", o.ID, err)
		}
	}
	return nil
}
