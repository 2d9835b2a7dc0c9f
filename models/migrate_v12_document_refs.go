package models

import "gorm.io/gorm"

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
	return addRefColumn(tx, &documentV12{}, "document", "idx_documents_ref")
}
