package models

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"
)

// The audit log is a hash chain: every event carries its position (seq),
// the hash of the event before it and its own hash over both and its
// content. Editing, deleting or slipping in a row breaks a link that
// VerifyAudit finds. The one-row audit_chain_head holds the last seq and
// hash; locking it serializes writers, so several instances on one
// database still build one unbroken chain, and it shows rows cut off the
// end. Anyone who can write to the database and knows this scheme can
// rebuild the chain after the fact: it catches edits, not a determined
// database administrator (see docs/audit.md).

// AuditTimePrecision is the precision of audit times: MySQL stores
// DATETIME(3), so times are cut to milliseconds before the event is hashed
// and written, and the stored row hashes the same when it is read back.
const AuditTimePrecision = time.Millisecond

// auditChainHeadID is the id of the head's only row.
const auditChainHeadID = 1

// auditChainHead is where the chain ends: the last seq and its hash.
type auditChainHead struct {
	ID   int64
	Seq  int64
	Hash string
}

func (auditChainHead) TableName() string { return "audit_chain_head" }

// lockAuditHead reads the head and, on MySQL, locks it until the
// transaction ends; SQLite transactions begin IMMEDIATE and so already
// hold the database's one write lock. The row lock on the primary key is
// a plain record lock (no gap lock), and TiDB's pessimistic transactions
// take it the same way.
func lockAuditHead(tx *gorm.DB) (auditChainHead, error) {
	var head auditChainHead
	if err := forUpdate(tx).Where("id = ?", auditChainHeadID).Take(&head).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			// Only a hand in the database removes it; writing on from
			// seq 1 again would hide that, so refuse.
			return head, errors.New("models: the audit chain head is missing (run `portal audit verify`)")
		}
		return head, fmt.Errorf("models: lock audit chain head: %w", err)
	}
	return head, nil
}

func saveAuditHead(tx *gorm.DB, head auditChainHead) error {
	return tx.Model(&auditChainHead{}).Where("id = ?", auditChainHeadID).
		Updates(map[string]any{"seq": head.Seq, "hash": head.Hash}).Error
}

// appendAudit links ev to the end of the chain and writes it, inside the
// caller's transaction. The head stays locked until that transaction ends,
// so an audit call is best the transaction's last statement: rows locked
// after it wait behind every other writer of the audit log.
func appendAudit(tx *gorm.DB, ev *AuditEvent) error {
	head, err := lockAuditHead(tx)
	if err != nil {
		return err
	}
	ev.Seq, ev.PrevHash = head.Seq+1, head.Hash
	ev.Hash = linkOf(ev).hash()
	if err := tx.Create(ev).Error; err != nil {
		return err
	}
	head.Seq, head.Hash = ev.Seq, ev.Hash
	return saveAuditHead(tx, head)
}

// auditLink is what an event's hash covers.
type auditLink struct {
	Seq        int64
	PrevHash   string
	At         time.Time
	ActorID    *int64
	ActorEmail string
	Action     string
	TargetType string
	TargetID   *int64
	OrgID      *int64
	IP         string
	Detail     string
}

func linkOf(ev *AuditEvent) auditLink {
	return auditLink{Seq: ev.Seq, PrevHash: ev.PrevHash, At: ev.At, ActorID: ev.ActorID, ActorEmail: ev.ActorEmail,
		Action: ev.Action, TargetType: ev.TargetType, TargetID: ev.TargetID, OrgID: ev.OrgID, IP: ev.IP, Detail: ev.Detail}
}

// auditHashDomain starts every hashed message, so a hash of this scheme
// is never mistaken for one of another, and a later scheme can be told
// apart.
const auditHashDomain = "colo-portal audit v1"

// hash is the lowercase hex SHA-256 of the domain and each field as an
// 8-byte big-endian length followed by its bytes: numbers in decimal (an
// absent one is empty), the time in UTC as 2006-01-02T15:04:05.000000000Z
// (as stored; the writer cuts it to AuditTimePrecision first), text as is.
// The length prefixes make the encoding unambiguous whatever the text holds.
func (l auditLink) hash() string {
	h := sha256.New()
	put := func(s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	id := func(p *int64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatInt(*p, 10)
	}
	put(auditHashDomain)
	put(strconv.FormatInt(l.Seq, 10))
	put(l.PrevHash)
	put(l.At.UTC().Format("2006-01-02T15:04:05.000000000Z"))
	put(id(l.ActorID))
	put(l.ActorEmail)
	put(l.Action)
	put(l.TargetType)
	put(id(l.TargetID))
	put(id(l.OrgID))
	put(l.IP)
	put(l.Detail)
	return hex.EncodeToString(h.Sum(nil))
}

// Reasons a chain breaks, as VerifyAudit reports them.
const (
	// AuditHashMismatch: the event's content or hash was changed.
	AuditHashMismatch = "hash_mismatch"
	// AuditSeqGap: the entry before this one is missing.
	AuditSeqGap = "seq_gap"
	// AuditPrevMismatch: the event does not link to the one before it
	// (that one was replaced).
	AuditPrevMismatch = "prev_mismatch"
	// AuditHeadMismatch: the chain does not end where the head says:
	// entries were cut off the end, added past it, or the head is gone.
	AuditHeadMismatch = "head_mismatch"
	// AuditUnsealed: an event was written without a seq or hash, not
	// through the portal.
	AuditUnsealed = "unsealed"
)

// AuditVerification is the result of checking the audit chain.
type AuditVerification struct {
	OK       bool
	Checked  int64       // entries whose links were checked before the first break (all, when OK)
	HeadSeq  int64       // where the head says the chain ends
	HeadHash string      // the hash the chain ends with, to note down and compare later
	FirstBad *AuditBreak // nil when OK
}

// AuditBreak is the first broken link of the chain.
type AuditBreak struct {
	Seq    int64  // position of the entry where the chain breaks; 0 for an event with no seq
	ID     int64  // its row id; 0 when that entry is missing
	Reason string // AuditHashMismatch, AuditSeqGap, …
	Detail string // what is wrong in a few plain English words, for the operator
}

// auditVerifyBatch is how many events VerifyAudit reads at a time.
const auditVerifyBatch = 1000

// VerifyAudit walks the chain in seq order, a batch at a time, recomputes
// every hash and reports the first broken link. Events written while it
// runs are past the head it read first and are left for the next run.
func (s *Store) VerifyAudit(ctx context.Context) (*AuditVerification, error) {
	db := s.db.WithContext(ctx)
	// The highest seq before the head: an event and the head move in one
	// transaction, so a seq read first can only be at or behind the head
	// read after it, unless someone wrote past the head by hand.
	var maxSeq sql.NullInt64
	if err := db.Model(&AuditEvent{}).Select("MAX(seq)").Row().Scan(&maxSeq); err != nil {
		return nil, fmt.Errorf("models: verify audit: %w", err)
	}
	var head auditChainHead
	err := db.Where("id = ?", auditChainHeadID).Take(&head).Error
	headMissing := errors.Is(err, gorm.ErrRecordNotFound)
	if err != nil && !headMissing {
		return nil, fmt.Errorf("models: verify audit: read head: %w", err)
	}
	res := &AuditVerification{HeadSeq: head.Seq, HeadHash: head.Hash}
	fail := func(b AuditBreak) (*AuditVerification, error) {
		res.FirstBad = &b
		return res, nil
	}

	var prev AuditEvent // Seq 0 and PrevHash "" before the first entry
	upTo := head.Seq
	if headMissing {
		upTo = maxSeq.Int64
	}
	for prev.Seq < upTo {
		var batch []AuditEvent
		if err := db.Where("seq > ? AND seq <= ?", prev.Seq, upTo).Order("seq").Limit(auditVerifyBatch).
			Find(&batch).Error; err != nil {
			return nil, fmt.Errorf("models: verify audit: %w", err)
		}
		if len(batch) == 0 {
			break
		}
		for i := range batch {
			ev := &batch[i]
			if b := checkAuditLink(prev.Seq, prev.Hash, ev); b != nil {
				return fail(*b)
			}
			res.Checked++
			prev = *ev
		}
	}

	switch {
	case headMissing:
		return fail(AuditBreak{Seq: prev.Seq + 1, Reason: AuditHeadMismatch,
			Detail: "the chain head is missing"})
	case prev.Seq != head.Seq:
		return fail(AuditBreak{Seq: prev.Seq + 1, Reason: AuditHeadMismatch,
			Detail: missing(prev.Seq+1, head.Seq) + " at the end"})
	case prev.Hash != head.Hash:
		return fail(AuditBreak{Seq: prev.Seq, ID: prev.ID, Reason: AuditHeadMismatch,
			Detail: "the last entry is not the one the chain ended with"})
	}
	if maxSeq.Valid && maxSeq.Int64 > head.Seq {
		var past AuditEvent
		if err := db.Where("seq > ?", head.Seq).Order("seq").Take(&past).Error; err != nil {
			return nil, fmt.Errorf("models: verify audit: %w", err)
		}
		if past.Hash == "" {
			return fail(AuditBreak{Seq: past.Seq, ID: past.ID, Reason: AuditUnsealed,
				Detail: "written without a hash"})
		}
		return fail(AuditBreak{Seq: past.Seq, ID: past.ID, Reason: AuditHeadMismatch,
			Detail: fmt.Sprintf("written past the end of the chain (the head is at seq %d)", head.Seq)})
	}
	// MIN reads the first NULL of the seq index; ORDER BY id LIMIT 1 may
	// walk the whole table by its primary key looking for one.
	var loose sql.NullInt64
	if err := db.Model(&AuditEvent{}).Select("MIN(id)").Where("seq IS NULL").Row().Scan(&loose); err != nil {
		return nil, fmt.Errorf("models: verify audit: %w", err)
	}
	if loose.Valid {
		return fail(AuditBreak{ID: loose.Int64, Reason: AuditUnsealed, Detail: "written without a seq or hash"})
	}
	res.OK = true
	return res, nil
}

// checkAuditLink checks ev against the entry before it.
func checkAuditLink(prevSeq int64, prevHash string, ev *AuditEvent) *AuditBreak {
	switch {
	case ev.Hash == "":
		return &AuditBreak{Seq: ev.Seq, ID: ev.ID, Reason: AuditUnsealed, Detail: "written without a hash"}
	case ev.Seq != prevSeq+1:
		return &AuditBreak{Seq: ev.Seq, ID: ev.ID, Reason: AuditSeqGap, Detail: missing(prevSeq+1, ev.Seq-1)}
	case ev.PrevHash != prevHash:
		return &AuditBreak{Seq: ev.Seq, ID: ev.ID, Reason: AuditPrevMismatch,
			Detail: "does not link to the entry before it"}
	case linkOf(ev).hash() != ev.Hash:
		return &AuditBreak{Seq: ev.Seq, ID: ev.ID, Reason: AuditHashMismatch,
			Detail: "content edited"}
	}
	return nil
}

// missing says that the entries from..to are missing.
func missing(from, to int64) string {
	if from >= to {
		return fmt.Sprintf("entry %d is missing", from)
	}
	return fmt.Sprintf("entries %d to %d are missing", from, to)
}
