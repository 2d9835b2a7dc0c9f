package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/colo-portal/portal/models/blobstore"
)

// AddWrittenAuthorization stores a signed authorization scan for request
// reqID of orgID, signed by contact contactID, as a pending authorization
// for an engineer to accept. The file goes to blobs first; if the record
// cannot be written the file is removed again.
func (s *Store) AddWrittenAuthorization(ctx context.Context, actor Actor, blobs blobstore.Store, orgID, reqID, contactID int64,
	up *CheckedUpload, data []byte) (*Authorization, error) {
	if up == nil || int64(len(data)) != up.Size {
		return nil, Invalid("file", "upload.error.empty")
	}
	db := s.db.WithContext(ctx)
	// Check before writing the file, so a refused upload leaves nothing.
	if _, err := writtenRequest(db, orgID, reqID, false); err != nil {
		return nil, wrap(err, "add written authorization")
	}
	if _, err := authorizingContact(db, orgID, contactID); err != nil {
		return nil, wrap(err, "add written authorization")
	}
	key, err := blobs.Put(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("models: store upload: %w", err)
	}
	var a *Authorization
	err = s.tx(ctx, func(tx *gorm.DB) error {
		r, err := writtenRequest(tx, orgID, reqID, true)
		if err != nil {
			return err
		}
		c, err := authorizingContact(tx, orgID, contactID)
		if err != nil {
			return err
		}
		now := s.now()
		doc := Document{OrgID: orgID, RequestID: reqID, Ref: newRef(), StorageKey: key, FileName: up.Name, ContentType: up.ContentType,
			Size: up.Size, SHA256: up.SHA256, UploadedBy: actor.UserID, CreatedAt: now}
		if err := tx.Create(&doc).Error; err != nil {
			return err
		}
		a = &Authorization{OrgID: orgID, RequestID: reqID, Method: AuthWritten, ContactID: c.ID, ContactName: c.Name,
			DocumentID: &doc.ID, Status: AuthPending, RecordedBy: actor.UserID, RecordedAt: now}
		if err := tx.Create(a).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditAuthUploaded, "authorization", &a.ID, &orgID, map[string]any{
			"request": r.Number(), "contact": c.Name, "document_id": doc.ID, "document_ref": doc.Ref, "file_name": doc.FileName,
			"content_type": doc.ContentType, "size": doc.Size, "sha256": doc.SHA256})
	})
	if err != nil {
		if rmErr := blobs.Remove(context.WithoutCancel(ctx), key); rmErr != nil {
			err = errors.Join(err, rmErr)
		}
		return nil, wrapOp("add written authorization to request", reqID, err)
	}
	return a, nil
}

// authorize moves a request to authorized on its first accepted
// authorization and starts the 30-minute first-feedback clock. The caller
// holds the request's row lock. A finished request (a signed form filed
// after the work) stays as it is.
func (s *Store) authorize(tx *gorm.DB, r *OperationRequest, at time.Time) error {
	if !r.Open() {
		return nil
	}
	if r.State == OpAwaiting {
		res := tx.Model(&OperationRequest{}).Where("id = ? AND state = ?", r.ID, OpAwaiting).
			Updates(map[string]any{"state": OpAuthorized, "updated_at": at})
		if res.Error != nil {
			return res.Error
		}
		r.State = OpAuthorized
		if err := s.hookOutbox(tx, HookOperationState, EventOperationState, r.OrgID, r.ID,
			hookStateChange{From: OpAwaiting, To: OpAuthorized, At: at}); err != nil {
			return err
		}
	}
	var n int64
	if err := tx.Model(&Clock{}).Where("kind = ? AND ref_id = ?", ClockOperationFeedback, r.ID).Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	return s.startClock(tx, ClockOperationFeedback, r.OrgID, r.ID, at, FeedbackDeadline)
}

// AcceptAuthorization accepts pending written authorization authID of
// request reqID of orgID. The first accepted authorization of a request
// starts its feedback clock; a written form that follows a phone
// authorization stops that one's follow-up clock.
func (s *Store) AcceptAuthorization(ctx context.Context, actor Actor, orgID, reqID, authID int64) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		r, err := writtenRequest(tx, orgID, reqID, true)
		if err != nil {
			return err
		}
		var a Authorization
		if err := tx.Where("org_id = ? AND request_id = ? AND id = ?", orgID, reqID, authID).First(&a).Error; err != nil {
			return notFound(err)
		}
		if a.Status != AuthPending {
			return Invalid("authorization", "operation.error.already_decided")
		}
		if _, err := authorizingContact(tx, orgID, a.ContactID); err != nil {
			return err
		}
		now := s.now()
		res := tx.Model(&Authorization{}).Where("id = ? AND status = ?", a.ID, AuthPending).
			Updates(map[string]any{"status": AuthAccepted, "decided_by": actor.UserID, "decided_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return Invalid("authorization", "operation.error.already_decided")
		}
		if err := s.authorize(tx, r, now); err != nil {
			return err
		}
		var phones []Authorization
		if err := tx.Where("org_id = ? AND request_id = ? AND method = ? AND status = ? AND followed_by_id IS NULL",
			orgID, r.ID, AuthPhone, AuthAccepted).Find(&phones).Error; err != nil {
			return err
		}
		for _, p := range phones {
			if err := tx.Model(&Authorization{}).Where("id = ?", p.ID).Update("followed_by_id", a.ID).Error; err != nil {
				return err
			}
			if err := s.stopClock(tx, ClockPhoneFollowUp, p.ID, now, a.ID); err != nil {
				return err
			}
		}
		return s.audit(tx, actor, AuditAuthAccepted, "authorization", &a.ID, &orgID, map[string]any{
			"request": r.Number(), "method": a.Method, "contact": a.ContactName, "follows_phone": len(phones)})
	})
	return wrapOp("accept authorization", authID, err)
}

// RejectAuthorization refuses a pending written authorization (unsigned,
// the wrong form, signed by someone else) with the reason.
func (s *Store) RejectAuthorization(ctx context.Context, actor Actor, orgID, reqID, authID int64, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return Invalid("reason", "error.required")
	}
	if err := CheckLine("reason", reason, 500); err != nil {
		return wrap(err, "reject authorization")
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var a Authorization
		if err := tx.Where("org_id = ? AND request_id = ? AND id = ?", orgID, reqID, authID).First(&a).Error; err != nil {
			return notFound(err)
		}
		r, err := loadRequest(tx, orgID, reqID, false)
		if err != nil {
			return err
		}
		res := tx.Model(&Authorization{}).Where("id = ? AND status = ?", a.ID, AuthPending).
			Updates(map[string]any{"status": AuthRejected, "decided_by": actor.UserID, "decided_at": s.now(), "reject_reason": reason})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return Invalid("authorization", "operation.error.already_decided")
		}
		// In the timeline too, so the customer learns why and sends another.
		if err := tx.Create(&OperationMessage{OrgID: orgID, RequestID: a.RequestID, AuthorID: actor.UserID, AuthorName: actorName(tx, actor),
			Staff: true, Kind: MessageRejected, Body: reason, CreatedAt: s.now()}).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditAuthRejected, "authorization", &a.ID, &orgID, map[string]any{
			"request": r.Number(), "contact": a.ContactName, "reason": reason})
	})
	return wrapOp("reject authorization", authID, err)
}

func wrapOp(what string, id int64, err error) error {
	if err == nil {
		return nil
	}
	return wrap(err, fmt.Sprintf("%s %d", what, id))
}

// PhoneLocked reports until when phone authorization is locked for a
// contact, or nil.
func (c *Contact) PhoneLocked(now time.Time) *time.Time {
	if c.PhoneLockedUntil != nil && c.PhoneLockedUntil.After(now) {
		return c.PhoneLockedUntil
	}
	return nil
}

// PhoneInput is what an engineer records of an authorizing call.
type PhoneInput struct {
	ContactID  int64
	Passphrase string
	Note       string
	FollowUp   time.Duration // how long the signed written form may take
}

// RecordPhoneAuthorization checks the passphrase a caller gave against the
// contact's, in constant time. Right: the authorization is accepted, the
// request's feedback clock starts and a clock for the signed form to follow
// starts. Wrong: the attempt is refused and recorded, and the fifth wrong
// passphrase within an hour locks phone authorization for the contact for
// an hour and tells the customer. The returned error says which.
func (s *Store) RecordPhoneAuthorization(ctx context.Context, actor Actor, orgID, reqID int64, in PhoneInput) (*Authorization, error) {
	in.Note = strings.TrimSpace(in.Note)
	if in.FollowUp <= 0 {
		in.FollowUp = DefaultFollowUpDeadline
	}
	db := s.db.WithContext(ctx)
	if _, err := openRequest(db, orgID, reqID); err != nil {
		return nil, wrap(err, "record phone authorization")
	}
	// Every mistake of the form at once: the note, the contact, the passphrase.
	var p problems
	p.add(CheckText("note", in.Note, 2000))
	c, err := authorizingContact(db, orgID, in.ContactID)
	p.add(err)
	if c != nil {
		if until := c.PhoneLocked(s.now()); until != nil {
			p.add(Invalid("passphrase", "operation.phone.locked", c.Name, *until))
		}
		if !c.HasPassphrase() {
			p.add(Invalid("contact", "operation.phone.no_passphrase", c.Name))
		}
	}
	if strings.TrimSpace(in.Passphrase) == "" {
		p.add(Invalid("passphrase", "error.required"))
	}
	if err := p.err(); err != nil {
		return nil, wrap(err, "record phone authorization")
	}
	// Slow on purpose: outside the transaction. Busy hashing records no
	// attempt: nothing was compared.
	ok, err := s.VerifyPassphrase(ctx, c, in.Passphrase)
	if err != nil {
		return nil, wrap(err, "record phone authorization")
	}
	var a *Authorization
	var refusal error
	err = s.tx(ctx, func(tx *gorm.DB) error {
		a, refusal = nil, nil
		// The contact's row first: attempts on one contact take turns, so
		// each counts the wrong passphrases of the others (the lockout).
		var cur Contact
		if err := forUpdate(tx).Where("org_id = ? AND id = ?", orgID, c.ID).First(&cur).Error; err != nil {
			return notFound(err)
		}
		r, err := lockRequest(tx, orgID, reqID)
		if err != nil {
			return err
		}
		now := s.now()
		if until := cur.PhoneLocked(now); until != nil {
			refusal = Invalid("passphrase", "operation.phone.locked", cur.Name, *until)
			return nil
		}
		if cur.PassphraseHash != c.PassphraseHash {
			return Invalid("passphrase", "operation.phone.changed")
		}
		if err := tx.Create(&PhoneAttempt{OrgID: orgID, ContactID: c.ID, RequestID: r.ID, OK: ok, At: now, ByUserID: actor.UserID}).Error; err != nil {
			return err
		}
		if !ok {
			return s.refusePhone(tx, actor, r, &cur, now, &refusal)
		}
		a = &Authorization{OrgID: orgID, RequestID: r.ID, Method: AuthPhone, ContactID: c.ID, ContactName: c.Name,
			Status: AuthAccepted, Note: in.Note, RecordedBy: actor.UserID, RecordedAt: now, DecidedBy: actor.UserID, DecidedAt: &now}
		if err := tx.Create(a).Error; err != nil {
			return err
		}
		if err := s.authorize(tx, r, now); err != nil {
			return err
		}
		if err := s.startClock(tx, ClockPhoneFollowUp, orgID, a.ID, now, in.FollowUp); err != nil {
			return err
		}
		return s.audit(tx, actor, AuditPhoneAccepted, "authorization", &a.ID, &orgID, map[string]any{
			"request": r.Number(), "contact": c.Name, "note": in.Note, "follow_up_due": now.Add(in.FollowUp)})
	})
	if err != nil {
		return nil, wrapOp("phone authorization for request", reqID, err)
	}
	if refusal != nil {
		return nil, wrap(refusal, "record phone authorization")
	}
	return a, nil
}

// refusePhone records a wrong passphrase and locks the contact on the
// fifth within the window. It sets *refusal to the error the caller sees;
// the transaction itself commits.
func (s *Store) refusePhone(tx *gorm.DB, actor Actor, r *OperationRequest, c *Contact, now time.Time, refusal *error) error {
	var wrong int64
	if err := tx.Model(&PhoneAttempt{}).Where("contact_id = ? AND ok = ? AND at > ?", c.ID, false, now.Add(-PhoneLockWindow)).
		Count(&wrong).Error; err != nil {
		return err
	}
	refused := map[string]any{"request": r.Number(), "contact": c.Name, "wrong_in_window": wrong}
	if wrong < PhoneLockAfter {
		*refusal = Invalid("passphrase", "operation.phone.wrong", PhoneLockAfter-wrong)
		return s.audit(tx, actor, AuditPhoneRefused, "contact", &c.ID, &c.OrgID, refused)
	}
	// The lock and its notice first, the audit records last: audit() holds
	// the chain's head until commit.
	until := now.Add(PhoneLockWindow)
	if err := tx.Model(&Contact{}).Where("id = ?", c.ID).Update("phone_locked_until", until).Error; err != nil {
		return err
	}
	if err := s.outbox(tx, EventPhoneLocked, c.OrgID, c.ID, ""); err != nil {
		return err
	}
	*refusal = Invalid("passphrase", "operation.phone.locked", c.Name, until)
	if err := s.audit(tx, actor, AuditPhoneRefused, "contact", &c.ID, &c.OrgID, refused); err != nil {
		return err
	}
	return s.audit(tx, actor, AuditPhoneLocked, "contact", &c.ID, &c.OrgID, map[string]any{
		"request": r.Number(), "contact": c.Name, "until": until})
}
