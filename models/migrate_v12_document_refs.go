package models

import (
	"fmt"

	"gorm.io/gorm"
)

// Frozen struct of migration 12: the opaque reference of each uploaded
// document, used in its download URL instead of the global ID.
type documentV12 struct {
	ID  int64
	Ref string `gorm:"size:32;not null;default:'';uniqueIndex:idx_documents_ref"`
}

func (documentV12) TableName() string { return "documents" }

// migrateDocumentRefs gives every document a random reference. The unique
// index comes last, once every row has its own.
func migrateDocumentRefs(tx *gorm.DB) error {
	m := tx.Migrator()
	if !m.HasColumn(&documentV12{}, "Ref") {
		if err := m.AddColumn(&documentV12{}, "Ref"); err != nil {
			return fmt.Errorf("add documents.ref: %w", err)
		}
	}
	var todo []documentV12
	if err := tx.Where("ref = ''").Find(&todo).Error; err != nil {
		return err
	}
	for _, d := range todo {
		if err := tx.Model(&documentV12{}).Where("id = ? AND ref = ''", d.ID).Update("ref", newDocumentRef()).Error; err != nil {
			return fmt.Errorf("give document %d a reference: %w", d.ID, err)
		}
	}
	if !m.HasIndex(&documentV12{}, "idx_documents_ref") {
		return m.CreateIndex(&documentV12{}, "idx_documents_ref")
	}
	return nil
}
