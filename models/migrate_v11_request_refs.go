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

// migrateRequestRefs gives every request a random reference and copies it
// to the spans of its outages. The unique index comes last, once every row
// has its own.
func migrateRequestRefs(tx *gorm.DB) error {
	m := tx.Migrator()
	if !m.HasColumn(&opRequestV11{}, "Ref") {
		if err := m.AddColumn(&opRequestV11{}, "Ref"); err != nil {
			return fmt.Errorf("add operation_requests.ref: %w", err)
		}
	}
	if !m.HasColumn(&causeSpanV11{}, "RequestRef") {
		if err := m.AddColumn(&causeSpanV11{}, "RequestRef"); err != nil {
			return fmt.Errorf("add outage_cause_spans.request_ref: %w", err)
		}
	}
	var todo []opRequestV11
	if err := tx.Where("ref = ''").Find(&todo).Error; err != nil {
		return err
	}
	for _, r := range todo {
		if err := tx.Model(&opRequestV11{}).Where("id = ? AND ref = ''", r.ID).Update("ref", newRequestRef()).Error; err != nil {
			return fmt.Errorf("give request %d a reference: %w", r.ID, err)
		}
	}
	// COALESCE: a span whose request is no longer there keeps '' rather
	// than NULL, which the NOT NULL column refuses.
	err := tx.Exec("UPDATE outage_cause_spans SET request_ref = COALESCE((SELECT ref FROM operation_requests WHERE operation_requests.id = outage_cause_spans.request_id), '') " +
		"WHERE request_id IS NOT NULL AND request_ref = ''").Error
	if err != nil {
		return fmt.Errorf("copy request references to cause spans: %w", err)
	}
	if !m.HasIndex(&opRequestV11{}, "idx_operation_requests_ref") {
		return m.CreateIndex(&opRequestV11{}, "idx_operation_requests_ref")
	}
	return nil
}
