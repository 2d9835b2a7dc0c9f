package models

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Frozen structs of migration 23.
type (
	complaintV23 struct {
		ID              int64
		OrgID           int64     `gorm:"not null;uniqueIndex:idx_complaints_number,priority:1;index:idx_complaints_org_received,priority:1"`
		NumberYear      int       `gorm:"not null;uniqueIndex:idx_complaints_number,priority:2"`
		NumberSeq       int       `gorm:"not null;uniqueIndex:idx_complaints_number,priority:3"`
		Ref             string    `gorm:"size:16;not null;uniqueIndex:idx_complaints_ref"`
		Category        string    `gorm:"size:16;not null"`
		NamedUserID     *int64    `gorm:"index:idx_complaints_named"`
		Subject         string    `gorm:"size:200;not null"`
		Description     string    `gorm:"type:text;not null"`
		Channel         string    `gorm:"size:16;not null"`
		ReceivedAt      time.Time `gorm:"not null;index:idx_complaints_org_received,priority:2;index:idx_complaints_received"`
		FiledBy         *int64
		EnteredBy       int64  `gorm:"not null"`
		State           string `gorm:"size:16;not null;index:idx_complaints_state"`
		AssigneeID      *int64 `gorm:"index:idx_complaints_assignee"`
		OutageID        *int64
		OperationID     *int64
		VisitID         *int64
		FirstResponseAt *time.Time
		ResolvedAt      *time.Time
		Resolution      string `gorm:"type:text;not null"`
		ClosedAt        *time.Time
		CreatedAt       time.Time
		UpdatedAt       time.Time
		Org             *orgV1 `gorm:"foreignKey:OrgID;constraint:OnDelete:CASCADE"`
	}
	complaintMessageV23 struct {
		ID          int64
		ComplaintID int64 `gorm:"not null;index:idx_complaint_messages_complaint"`
		OrgID       int64 `gorm:"not null"`
		AuthorID    *int64
		AuthorName  string `gorm:"size:100;not null"`
		Staff       bool   `gorm:"not null"`
		Kind        string `gorm:"size:16;not null"`
		Body        string `gorm:"type:text;not null"`
		Found       string `gorm:"type:text;not null"`
		Done        string `gorm:"type:text;not null"`
		Next        string `gorm:"type:text;not null"`
		CreatedAt   time.Time
		Complaint   *complaintV23 `gorm:"foreignKey:ComplaintID;constraint:OnDelete:CASCADE"`
	}
	complaintFileV23 struct {
		ID          int64
		ComplaintID int64 `gorm:"not null;index:idx_complaint_files_complaint"`
		MessageID   *int64
		OrgID       int64  `gorm:"not null"`
		Ref         string `gorm:"size:16;not null"`
		StorageKey  string `gorm:"size:100;not null"`
		FileName    string `gorm:"size:200;not null"`
		ContentType string `gorm:"size:100;not null"`
		Size        int64  `gorm:"not null"`
		SHA256      string `gorm:"column:sha256;size:64;not null"`
		UploadedBy  *int64
		CreatedAt   time.Time
		Complaint   *complaintV23 `gorm:"foreignKey:ComplaintID;constraint:OnDelete:CASCADE"`
	}
)

func (complaintV23) TableName() string        { return "complaints" }
func (complaintMessageV23) TableName() string { return "complaint_messages" }
func (complaintFileV23) TableName() string    { return "complaint_files" }

// migrateComplaints adds written complaints (docs/agreement.md, clause
// 8): the complaint with how and when it was received, its thread of
// messages (the first staff report stops the 24-hour clock, kept in
// sla_clocks like the others) and its attached files.
func migrateComplaints(tx *gorm.DB) error {
	m := tx.Migrator()
	for _, t := range []any{&complaintV23{}, &complaintMessageV23{}, &complaintFileV23{}} {
		if !m.HasTable(t) {
			if err := m.CreateTable(t); err != nil {
				return fmt.Errorf("add %T: %w", t, err)
			}
		}
	}
	return nil
}
