package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// migrationZoneKey carries the provider's time zone to the migrations that
// need its calendar (the year of a record's number).
type migrationZoneKey struct{}

// migrationZone is the provider's time zone of a migration's tx, UTC when
// none was given.
func migrationZone(tx *gorm.DB) *time.Location {
	if tx.Statement != nil && tx.Statement.Context != nil {
		if loc, ok := tx.Statement.Context.Value(migrationZoneKey{}).(*time.Location); ok && loc != nil {
			return loc
		}
	}
	return time.UTC
}

// withMigrationZone returns ctx carrying loc for the migrations.
func withMigrationZone(ctx context.Context, loc *time.Location) context.Context {
	return context.WithValue(ctx, migrationZoneKey{}, loc)
}

// Frozen structs of migration 8.
type (
	recordCounterV8 struct {
		Kind       string `gorm:"size:20;primaryKey"`
		OrgID      int64  `gorm:"primaryKey;autoIncrement:false"`
		Year       int    `gorm:"primaryKey;autoIncrement:false"`
		LastNumber int    `gorm:"not null;default:0"`
	}
	opRequestV8 struct {
		ID         int64
		OrgID      int64     `gorm:"uniqueIndex:idx_operation_requests_number,priority:1"`
		NumberYear int       `gorm:"not null;default:0;uniqueIndex:idx_operation_requests_number,priority:2"`
		NumberSeq  int       `gorm:"not null;default:0;uniqueIndex:idx_operation_requests_number,priority:3"`
		CreatedAt  time.Time `gorm:"->"`
	}
	submissionV8 struct {
		Token     string    `gorm:"size:64;primaryKey"`
		UserID    int64     `gorm:"not null"`
		Location  string    `gorm:"size:500;not null;default:''"`
		CreatedAt time.Time `gorm:"index"`
	}
)

func (recordCounterV8) TableName() string { return "record_counters" }
func (opRequestV8) TableName() string     { return "operation_requests" }
func (submissionV8) TableName() string    { return "form_submissions" }

// migrateRecordNumbers creates the one-time tokens of create forms, and
// numbers operation requests per organization and year
// of the provider's calendar, in the order they were created, and starts
// the counters where the numbers end. Requests already numbered (a run
// interrupted half way) keep their numbers.
func migrateRecordNumbers(tx *gorm.DB) error {
	if err := createTablesWith(tx, "WITHOUT ROWID", &recordCounterV8{}, &submissionV8{}); err != nil {
		return err
	}
	m := tx.Migrator()
	for _, col := range []string{"NumberYear", "NumberSeq"} {
		if !m.HasColumn(&opRequestV8{}, col) {
			if err := m.AddColumn(&opRequestV8{}, col); err != nil {
				return fmt.Errorf("add operation_requests.%s: %w", col, err)
			}
		}
	}
	zone := migrationZone(tx)
	err := tx.Transaction(func(tx *gorm.DB) error {
		type key struct {
			org  int64
			year int
		}
		last := map[key]int{}
		var counters []recordCounterV8
		if err := tx.Where("kind = ?", NumberOperation).Find(&counters).Error; err != nil {
			return err
		}
		for _, c := range counters {
			last[key{c.OrgID, c.Year}] = c.LastNumber
		}
		var numbered []opRequestV8
		if err := tx.Select("org_id, number_year, MAX(number_seq) AS number_seq").Where("number_seq > 0").
			Group("org_id, number_year").Find(&numbered).Error; err != nil {
			return err
		}
		for _, r := range numbered {
			k := key{r.OrgID, r.NumberYear}
			last[k] = max(last[k], r.NumberSeq)
		}
		var todo []opRequestV8
		if err := tx.Select("id, org_id, created_at").Where("number_seq = 0").Order("id").Find(&todo).Error; err != nil {
			return err
		}
		for _, r := range todo {
			k := key{r.OrgID, r.CreatedAt.In(zone).Year()}
			last[k]++
			if err := tx.Model(&opRequestV8{}).Where("id = ?", r.ID).
				Updates(map[string]any{"number_year": k.year, "number_seq": last[k]}).Error; err != nil {
				return err
			}
		}
		for k, n := range last {
			c := recordCounterV8{Kind: NumberOperation, OrgID: k.org, Year: k.year, LastNumber: n}
			if err := tx.Clauses(clause.OnConflict{
				Columns:   []clause.Column{{Name: "kind"}, {Name: "org_id"}, {Name: "year"}},
				DoUpdates: clause.AssignmentColumns([]string{"last_number"}),
			}).Create(&c).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("number operation requests: %w", err)
	}
	if !m.HasIndex(&opRequestV8{}, "idx_operation_requests_number") {
		return m.CreateIndex(&opRequestV8{}, "idx_operation_requests_number")
	}
	return nil
}
