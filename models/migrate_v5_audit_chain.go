package models

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Frozen structs of migration 5.
type (
	// auditEventV5 is the part of audit_events this step adds. Seq is
	// nullable: rows from before the step get theirs in the backfill, and
	// a row slipped in by hand without one shows as unsealed.
	auditEventV5 struct {
		ID       int64  `gorm:"primaryKey"`
		Seq      *int64 `gorm:"uniqueIndex:idx_audit_events_seq"`
		PrevHash string `gorm:"size:64;not null;default:''"`
		Hash     string `gorm:"size:64;not null;default:''"`
	}
	auditChainHeadV5 struct {
		ID   int64  `gorm:"primaryKey;autoIncrement:false"`
		Seq  int64  `gorm:"not null;default:0"`
		Hash string `gorm:"size:64;not null;default:''"`
	}
)

func (auditEventV5) TableName() string     { return "audit_events" }
func (auditChainHeadV5) TableName() string { return "audit_chain_head" }

// migrateAuditChain adds the chain columns and the head, then chains the
// rows that exist, in id order. Every part checks before it acts and the
// backfill picks up where it stopped, so the step can run again.
func migrateAuditChain(tx *gorm.DB) error {
	m := tx.Migrator()
	for _, col := range []string{"Seq", "PrevHash", "Hash"} {
		if m.HasColumn(&auditEventV5{}, col) {
			continue
		}
		if err := m.AddColumn(&auditEventV5{}, col); err != nil {
			return fmt.Errorf("add audit_events.%s: %w", col, err)
		}
	}
	if !m.HasIndex(&auditEventV5{}, "idx_audit_events_seq") {
		if err := m.CreateIndex(&auditEventV5{}, "idx_audit_events_seq"); err != nil {
			return err
		}
	}
	if err := createTables(tx, &auditChainHeadV5{}); err != nil {
		return err
	}
	// The head starts at the last chained row, which is none on a first
	// run and the backfill's last row on a run after an interruption.
	var last auditEventV5
	err := tx.Where("seq IS NOT NULL").Order("seq DESC").Limit(1).Take(&last).Error
	head := auditChainHeadV5{ID: auditChainHeadID}
	switch {
	case err == nil:
		head.Seq, head.Hash = *last.Seq, last.Hash
	case !errors.Is(err, gorm.ErrRecordNotFound):
		return err
	}
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&head).Error; err != nil {
		return fmt.Errorf("create audit chain head: %w", err)
	}
	for after := int64(0); ; {
		var err error
		if after, err = sealAuditBatch(tx, after, 1000); err != nil {
			return fmt.Errorf("chain existing audit events: %w", err)
		}
		if after == 0 {
			return nil
		}
	}
}

// auditRowV5 is an audit event as the backfill reads it.
type auditRowV5 struct {
	ID         int64
	At         time.Time
	ActorID    *int64
	ActorEmail string
	Action     string
	TargetType string
	TargetID   *int64
	OrgID      *int64
	IP         string `gorm:"column:ip"`
	Detail     string
}

func (auditRowV5) TableName() string { return "audit_events" }

// sealAuditBatch chains up to n events past id after that have no seq
// yet, oldest id first, in one transaction with the head locked, and
// returns the last id it chained, 0 when there were none. It links them
// exactly as audit() does, with the same head and hash: a backfill sealed
// any other way would not verify.
func sealAuditBatch(db *gorm.DB, after int64, n int) (int64, error) {
	var last int64
	err := db.Transaction(func(tx *gorm.DB) error {
		head, err := lockAuditHead(tx)
		if err != nil {
			return err
		}
		// Paging by id keeps every batch as cheap as the first: without it
		// each one scans past all the rows sealed before it.
		// A locking read sees the newest committed rows, not the snapshot:
		// another instance may have sealed them meanwhile.
		q := forUpdate(tx).Where("seq IS NULL AND id > ?", after).Order("id").Limit(n)
		var rows []auditRowV5
		if err := q.Find(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		// One UPDATE joined to a derived table of the new values, as
		// writeCheckStates does, rather than one statement a row.
		mysql := dialectOf(tx) == MySQL
		values := make([]string, len(rows))
		args := make([]any, 0, 4*len(rows))
		for i, r := range rows {
			l := auditLink{Seq: head.Seq + 1, PrevHash: head.Hash, At: r.At, ActorID: r.ActorID,
				ActorEmail: r.ActorEmail, Action: r.Action, TargetType: r.TargetType, TargetID: r.TargetID,
				OrgID: r.OrgID, IP: r.IP, Detail: r.Detail}
			h := l.hash()
			switch {
			case !mysql:
				values[i] = "(?, ?, ?, ?)"
			case i == 0:
				values[i] = "SELECT ? AS id, ? AS seq, ? AS prev_hash, ? AS hash"
			default:
				values[i] = "SELECT ?, ?, ?, ?"
			}
			args = append(args, r.ID, l.Seq, l.PrevHash, h)
			head.Seq, head.Hash = l.Seq, h
		}
		// SQLite: UPDATE … FROM (VALUES …), columns named column1…;
		// MySQL and MariaDB: UPDATE … JOIN (SELECT … UNION ALL …).
		stmt := "UPDATE audit_events SET seq = v.column2, prev_hash = v.column3, hash = v.column4 FROM (VALUES " +
			strings.Join(values, ", ") + ") AS v WHERE audit_events.id = v.column1"
		if mysql {
			stmt = "UPDATE audit_events JOIN (" + strings.Join(values, " UNION ALL ") + ") AS v ON audit_events.id = v.id " +
				"SET audit_events.seq = v.seq, audit_events.prev_hash = v.prev_hash, audit_events.hash = v.hash"
		}
		if err := tx.Exec(stmt, args...).Error; err != nil {
			return err
		}
		last = rows[len(rows)-1].ID
		return saveAuditHead(tx, head)
	})
	return last, err
}
