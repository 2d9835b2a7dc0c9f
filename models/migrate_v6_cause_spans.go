package models

import (
	"time"

	"gorm.io/gorm"
)

// Frozen struct of migration 6: cause spans of outages.
type outageCauseSpanV6 struct {
	ID        int64     `gorm:"primaryKey"`
	OutageID  int64     `gorm:"not null;index:idx_cause_span_outage,priority:1"`
	OrgID     int64     `gorm:"not null;index:idx_cause_span_org_request,priority:1"`
	StartAt   time.Time `gorm:"not null;index:idx_cause_span_outage,priority:2"`
	EndAt     time.Time `gorm:"not null"`
	Cause     string    `gorm:"size:40;not null"`
	Note      string    `gorm:"size:500;not null;default:''"`
	SetBy     *int64
	RequestID *int64 `gorm:"index:idx_cause_span_org_request,priority:2"`
	RequestNo string `gorm:"size:20;not null;default:''"`
	CreatedAt time.Time
	Outage    *outageV2 `gorm:"foreignKey:OutageID;constraint:OnDelete:CASCADE"`
}

func (outageCauseSpanV6) TableName() string { return "outage_cause_spans" }

// migrateCauseSpans adds cause spans: part of an outage with a cause of
// its own (the time of an authorized operation inside a longer outage).
func migrateCauseSpans(tx *gorm.DB) error {
	return createTables(tx, &outageCauseSpanV6{})
}
