package models

import (
	"fmt"

	"gorm.io/gorm"
)

// Frozen structs of migration 11: the opaque reference of each operation
// request, used in its URLs instead of the global ID, and copied to the
// cause spans that link to it.
type (
	opRequestV11 struct {
		ID  int64
		Ref string `gorm:"size:32;not null;default:'';uniqueIndex:idx_operation_requests_ref"`
	}
	causeSpanV11 struct {
		ID         int64
		RequestID  *int64
		RequestRef string `gorm:"size:32;not null;default:''"`
	}
)

func (opRequestV11) TableName() string { return "operation_requests" }
func (causeSpanV11) TableName() string { return "outage_cause_spans" }

// migrateRequestRefs gives every request a random reference (with its
// unique index, added once every row has its own) and copies it to the
// spans of its outages.
func migrateRequestRefs(tx *gorm.DB) error {
	m := tx.Migrator()
	if !m.HasColumn(&causeSpanV11{}, "RequestRef") {
		if err := m.AddColumn(&causeSpanV11{}, "RequestRef"); err != nil {
			return fmt.Errorf("add outage_cause_spans.request_ref: %w", err)
		}
	}
	if err := addRefColumn(tx, &opRequestV11{}, "request", "idx_operation_requests_ref"); err != nil {
		return err
	}
	// COALESCE: a span whose request is no longer there keeps '' rather
	// than NULL, which the NOT NULL column refuses.
	err := tx.Exec("UPDATE outage_cause_spans SET request_ref = COALESCE((SELECT ref FROM operation_requests WHERE operation_requests.id = outage_cause_spans.request_id), '') " +
		"WHERE request_id IS NOT NULL AND request_ref = ''").Error
	if err != nil {
		return fmt.Errorf("copy request references to cause spans: %w", err)
	}
	return nil
}
