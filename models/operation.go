package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Operation request states (PRODUCT.md clauses 6 and 7). Work starts only
// after an authorization has been accepted.
const (
	OpAwaiting   = "awaiting_authorization"
	OpAuthorized = "authorized"
	OpInProgress = "in_progress"
	OpCompleted  = "completed"
	OpAbandoned  = "abandoned"
)

// OpStates lists the states in the order a request goes through them.
var OpStates = []string{OpAwaiting, OpAuthorized, OpInProgress, OpCompleted, OpAbandoned}

// Urgencies of a request.
var Urgencies = []string{"normal", "urgent", "emergency"}

// Results of finished work.
var OpResults = []string{"success", "partial", "failed"}

// Channels a request can come in by.
var RequestChannels = []string{"portal", "phone", "email", "fax"}

// Authorization methods and states.
const (
	AuthWritten  = "written"
	AuthPhone    = "phone"
	AuthPending  = "pending"
	AuthAccepted = "accepted"
	AuthRejected = "rejected"
)

// Clock kinds of operations, and the phone lockout rule.
const (
	ClockOperationFeedback  = "operation_feedback"
	ClockPhoneFollowUp      = "phone_followup"
	FeedbackDeadline        = 30 * time.Minute
	DefaultFollowUpDeadline = 24 * time.Hour
	PhoneLockAfter          = 5
	PhoneLockWindow         = time.Hour
)

// Outbox events of operations.
const (
	EventOperationMessage = "operation.message"
	EventPhoneLocked      = "contact.phone_locked"
)

// OperationRequest is a customer's request for work on their equipment.
type OperationRequest struct {
	ID          int64
	OrgID       int64
	Title       string
	Work        string
	Urgency     string
	WindowFrom  *time.Time
	WindowTo    *time.Time
	Channel     string // how the request came in
	State       string
	RequestedBy *int64 // the customer user who asked, nil when raised by staff for a caller
	RaisedBy    int64  // who typed it in
	EngineerID  *int64 // who did the work
	StartedAt   *time.Time
	EndedAt     *time.Time
	Notes       string // the engineer's notes
	WorkDone    string
	Result      string
	ResultNote  string
	FollowUp    string // what the customer should do next
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (OperationRequest) TableName() string { return "operation_requests" }

// Number is how people quote a request.
func (r *OperationRequest) Number() string { return RequestNumber(r.ID) }

// RequestNumber formats a request ID as people quote it.
func RequestNumber(id int64) string { return fmt.Sprintf("OP-%06d", id) }

// Open reports whether work on the request may still change.
func (r *OperationRequest) Open() bool { return r.State != OpCompleted && r.State != OpAbandoned }

// OperationDevice links a request to a device it concerns.
type OperationDevice struct {
	RequestID int64 `gorm:"primaryKey;autoIncrement:false"`
	DeviceID  int64 `gorm:"primaryKey;autoIncrement:false"`
	OrgID     int64
}

func (OperationDevice) TableName() string { return "operation_devices" }

// Document is an uploaded file (a signed authorization scan), kept on disk
// under StorageKey and identified by its SHA-256.
type Document struct {
	ID          int64
	OrgID       int64
	RequestID   int64
	StorageKey  string `json:"-"`
	FileName    string
	ContentType string
	Size        int64
	SHA256      string `gorm:"column:sha256"`
	UploadedBy  *int64
	CreatedAt   time.Time
}

func (Document) TableName() string { return "documents" }

// Authorization is a contact's permission to work on a request: a signed
// form (written) or a call with the right passphrase (phone).
type Authorization struct {
	ID           int64
	OrgID        int64
	RequestID    int64
	Method       string
	ContactID    int64
	ContactName  string
	DocumentID   *int64
	Status       string
	Note         string
	RecordedBy   *int64
	RecordedAt   time.Time
	DecidedBy    *int64
	DecidedAt    *time.Time
	RejectReason string
	FollowedByID *int64 // for a phone authorization: the written one that followed
}

func (Authorization) TableName() string { return "authorizations" }

// OperationMessage is one line of a request's conversation, or a state
// change written into it.
type OperationMessage struct {
	ID         int64
	OrgID      int64
	RequestID  int64
	AuthorID   *int64
	AuthorName string
	Staff      bool
	Kind       string // "message" or "state"
	Body       string
	CreatedAt  time.Time
}

func (OperationMessage) TableName() string { return "operation_messages" }

// PhoneAttempt is one passphrase check on the phone, kept for the lockout
// and as evidence.
type PhoneAttempt struct {
	ID        int64
	OrgID     int64
	ContactID int64
	RequestID int64
	OK        bool `gorm:"column:ok"`
	At        time.Time
	ByUserID  *int64
}

func (PhoneAttempt) TableName() string { return "phone_auth_attempts" }

// Frozen structs of migration 4.
type (
	opRequestV4 struct {
		ID          int64  `gorm:"primaryKey"`
		OrgID       int64  `gorm:"not null;index:idx_oprequest_org_state,priority:1"`
		Title       string `gorm:"size:200;not null"`
		Work        string `gorm:"type:text"`
		Urgency     string `gorm:"size:20;not null"`
		WindowFrom  *time.Time
		WindowTo    *time.Time
		Channel     string `gorm:"size:20;not null"`
		State       string `gorm:"size:30;not null;index:idx_oprequest_org_state,priority:2;index"`
		RequestedBy *int64
		RaisedBy    int64 `gorm:"not null"`
		EngineerID  *int64
		StartedAt   *time.Time
		EndedAt     *time.Time
		Notes       string `gorm:"type:text"`
		WorkDone    string `gorm:"type:text"`
		Result      string `gorm:"size:20;not null;default:''"`
		ResultNote  string `gorm:"type:text"`
		FollowUp    string `gorm:"type:text"`
		CreatedAt   time.Time
		UpdatedAt   time.Time
	}
	opDeviceV4 struct {
		RequestID int64 `gorm:"primaryKey;autoIncrement:false"`
		DeviceID  int64 `gorm:"primaryKey;autoIncrement:false;index"`
		OrgID     int64 `gorm:"not null"`
	}
	documentV4 struct {
		ID          int64  `gorm:"primaryKey"`
		OrgID       int64  `gorm:"not null;index"`
		RequestID   int64  `gorm:"not null;index"`
		StorageKey  string `gorm:"size:64;not null;uniqueIndex"`
		FileName    string `gorm:"size:255;not null"`
		ContentType string `gorm:"size:60;not null"`
		Size        int64  `gorm:"not null"`
		SHA256      string `gorm:"column:sha256;size:64;not null"`
		UploadedBy  *int64
		CreatedAt   time.Time
	}
	authorizationV4 struct {
		ID           int64  `gorm:"primaryKey"`
		OrgID        int64  `gorm:"not null;index"`
		RequestID    int64  `gorm:"not null;index"`
		Method       string `gorm:"size:10;not null"`
		ContactID    int64  `gorm:"not null;index"`
		ContactName  string `gorm:"size:200;not null"`
		DocumentID   *int64
		Status       string `gorm:"size:20;not null"`
		Note         string `gorm:"type:text"`
		RecordedBy   *int64
		RecordedAt   time.Time
		DecidedBy    *int64
		DecidedAt    *time.Time
		RejectReason string `gorm:"size:500;not null;default:''"`
		FollowedByID *int64
	}
	opMessageV4 struct {
		ID         int64  `gorm:"primaryKey"`
		OrgID      int64  `gorm:"not null;index"`
		RequestID  int64  `gorm:"not null;index"`
		AuthorID   *int64 `gorm:"index"`
		AuthorName string `gorm:"size:200;not null"`
		Staff      bool   `gorm:"not null"`
		Kind       string `gorm:"size:20;not null"`
		Body       string `gorm:"type:text"`
		CreatedAt  time.Time
	}
	phoneAttemptV4 struct {
		ID        int64     `gorm:"primaryKey"`
		OrgID     int64     `gorm:"not null"`
		ContactID int64     `gorm:"not null;index:idx_phone_attempt_contact_at,priority:1"`
		RequestID int64     `gorm:"not null"`
		OK        bool      `gorm:"column:ok;not null"`
		At        time.Time `gorm:"not null;index:idx_phone_attempt_contact_at,priority:2"`
		ByUserID  *int64
	}
	contactV4 struct {
		PhoneLockedUntil *time.Time
	}
)

func (opRequestV4) TableName() string     { return "operation_requests" }
func (opDeviceV4) TableName() string      { return "operation_devices" }
func (documentV4) TableName() string      { return "documents" }
func (authorizationV4) TableName() string { return "authorizations" }
func (opMessageV4) TableName() string     { return "operation_messages" }
func (phoneAttemptV4) TableName() string  { return "phone_auth_attempts" }
func (contactV4) TableName() string       { return "contacts" }

func migrateOperations(tx *gorm.DB) error {
	if err := createTables(tx, &opRequestV4{}, &opDeviceV4{}, &documentV4{}, &authorizationV4{}, &opMessageV4{},
		&phoneAttemptV4{}); err != nil {
		return err
	}
	if !tx.Migrator().HasColumn(&contactV4{}, "PhoneLockedUntil") {
		return tx.Migrator().AddColumn(&contactV4{}, "PhoneLockedUntil")
	}
	return nil
}

// RequestInput is what the request form supplies.
type RequestInput struct {
	Title       string
	Work        string
	Urgency     string
	DeviceIDs   []int64
	WindowFrom  *time.Time
	WindowTo    *time.Time
	Channel     string
	RequestedBy *int64 // a customer user of the organization, or nil
}

func (in *RequestInput) validate() error {
	in.Title = strings.TrimSpace(in.Title)
	if in.Title == "" {
		return Invalid("title", "error.required")
	}
	if err := checkText("title", in.Title, 200); err != nil {
		return err
	}
	in.Work = strings.TrimSpace(in.Work)
	if in.Work == "" {
		return Invalid("work", "error.required")
	}
	if err := checkText("work", in.Work, 10000); err != nil {
		return err
	}
	if !slices.Contains(Urgencies, in.Urgency) {
		return Invalid("urgency", "operation.error.urgency")
	}
	if in.Channel == "" {
		in.Channel = "portal"
	}
	if !slices.Contains(RequestChannels, in.Channel) {
		return Invalid("channel", "operation.error.channel")
	}
	if len(in.DeviceIDs) == 0 {
		return Invalid("devices", "operation.error.no_devices")
	}
	if in.WindowFrom != nil && in.WindowTo != nil && !in.WindowTo.After(*in.WindowFrom) {
		return Invalid("window_to", "operation.error.window_order")
	}
	return nil
}

// CreateRequest records a request for work on devices of orgID.
func (s *Store) CreateRequest(ctx context.Context, actor Actor, orgID int64, in RequestInput) (*OperationRequest, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	var r *OperationRequest
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		ids := slices.Compact(slices.Sorted(slices.Values(in.DeviceIDs)))
		var n int64
		if err := tx.Model(&Device{}).Where("org_id = ? AND id IN ?", orgID, ids).Count(&n).Error; err != nil {
			return err
		}
		if int(n) != len(ids) {
			return Invalid("devices", "operation.error.device_unknown")
		}
		if in.RequestedBy != nil {
			var u User
			if err := tx.Where("id = ? AND org_id = ? AND role = ?", *in.RequestedBy, orgID, RoleCustomer).First(&u).Error; err != nil {
				return Invalid("requested_by", "operation.error.requester_unknown")
			}
		}
		now := s.now()
		raisedBy := int64(0)
		if actor.UserID != nil {
			raisedBy = *actor.UserID
		}
		r = &OperationRequest{OrgID: orgID, Title: in.Title, Work: in.Work, Urgency: in.Urgency, WindowFrom: utcPtr(in.WindowFrom),
			WindowTo: utcPtr(in.WindowTo), Channel: in.Channel, State: OpAwaiting, RequestedBy: in.RequestedBy,
			RaisedBy: raisedBy, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(r).Error; err != nil {
			return err
		}
		links := make([]OperationDevice, len(ids))
		for i, id := range ids {
			links[i] = OperationDevice{RequestID: r.ID, DeviceID: id, OrgID: orgID}
		}
		if err := tx.Create(&links).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditRequestCreated, "operation", &r.ID, &orgID, map[string]any{
			"title": r.Title, "urgency": r.Urgency, "devices": ids, "channel": r.Channel, "requested_by": r.RequestedBy})
	})
	if err != nil {
		if _, ok := AsValidation(err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("models: create request: %w", err)
	}
	return r, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// GetRequest returns request id of orgID; another organization's is not found.
func (s *Store) GetRequest(ctx context.Context, orgID, id int64) (*OperationRequest, error) {
	var r OperationRequest
	if err := s.db.WithContext(ctx).Where("org_id = ? AND id = ?", orgID, id).First(&r).Error; err != nil {
		return nil, notFound(err)
	}
	return &r, nil
}

// FindRequest returns any request, for staff.
func (s *Store) FindRequest(ctx context.Context, id int64) (*OperationRequest, error) {
	var r OperationRequest
	if err := s.db.WithContext(ctx).First(&r, id).Error; err != nil {
		return nil, notFound(err)
	}
	return &r, nil
}

// RequestFilter narrows the request lists.
type RequestFilter struct {
	OrgID int64 // 0: every organization (staff)
	Open  bool  // only requests not yet completed or abandoned
	Limit int
}

// ListRequests lists requests newest first.
func (s *Store) ListRequests(ctx context.Context, f RequestFilter) ([]OperationRequest, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 200
	}
	q := s.db.WithContext(ctx).Model(&OperationRequest{})
	if f.OrgID != 0 {
		q = q.Where("org_id = ?", f.OrgID)
	}
	if f.Open {
		q = q.Where("state NOT IN ?", []string{OpCompleted, OpAbandoned})
	}
	var out []OperationRequest
	err := q.Order("id DESC").Limit(f.Limit).Find(&out).Error
	return out, err
}

// RequestClocks returns the clocks of a request of orgID: its first-feedback
// clock and the written follow-up clocks of its phone authorizations.
func (s *Store) RequestClocks(ctx context.Context, orgID, requestID int64) ([]Clock, error) {
	return s.requestClocks(s.db.WithContext(ctx), orgID, requestID)
}

func (s *Store) requestClocks(tx *gorm.DB, orgID, requestID int64) ([]Clock, error) {
	var cs []Clock
	err := tx.Where("org_id = ? AND ((kind = ? AND ref_id = ?) OR (kind = ? AND ref_id IN (?)))", orgID,
		ClockOperationFeedback, requestID, ClockPhoneFollowUp,
		tx.Model(&Authorization{}).Select("id").Where("org_id = ? AND request_id = ? AND method = ?", orgID, requestID, AuthPhone)).
		Order("started_at, id").Find(&cs).Error
	return cs, err
}

// RequestDetail is everything a request's page and report show.
type RequestDetail struct {
	Request        *OperationRequest
	Org            *Organization
	Devices        []Device
	Authorizations []Authorization
	Documents      []Document
	Messages       []OperationMessage
	Clocks         []Clock
	Users          map[int64]*User // requester, raiser, engineer, deciders, authors
	Contacts       []Contact       // the organization's contacts who may authorize
}

// Accepted returns the accepted authorizations.
func (d *RequestDetail) Accepted() []Authorization {
	var out []Authorization
	for _, a := range d.Authorizations {
		if a.Status == AuthAccepted {
			out = append(out, a)
		}
	}
	return out
}

// Document returns the document of id, or nil.
func (d *RequestDetail) Document(id *int64) *Document {
	if id == nil {
		return nil
	}
	for i := range d.Documents {
		if d.Documents[i].ID == *id {
			return &d.Documents[i]
		}
	}
	return nil
}

// UserName names a user for the page, or "".
func (d *RequestDetail) UserName(id *int64) string {
	if id == nil || d.Users[*id] == nil {
		return ""
	}
	return d.Users[*id].Name
}

// GetRequestDetail loads request id of orgID with everything around it.
func (s *Store) GetRequestDetail(ctx context.Context, orgID, id int64) (*RequestDetail, error) {
	r, err := s.GetRequest(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	db := s.db.WithContext(ctx)
	d := &RequestDetail{Request: r, Users: map[int64]*User{}}
	if d.Org, err = s.GetOrg(ctx, orgID); err != nil {
		return nil, err
	}
	if err := db.Where("org_id = ? AND id IN (?)", orgID,
		db.Model(&OperationDevice{}).Select("device_id").Where("request_id = ?", r.ID)).Order("name, id").Find(&d.Devices).Error; err != nil {
		return nil, err
	}
	if err := db.Where("org_id = ? AND request_id = ?", orgID, r.ID).Order("recorded_at, id").Find(&d.Authorizations).Error; err != nil {
		return nil, err
	}
	if err := db.Where("org_id = ? AND request_id = ?", orgID, r.ID).Order("id").Find(&d.Documents).Error; err != nil {
		return nil, err
	}
	if err := db.Where("org_id = ? AND request_id = ?", orgID, r.ID).Order("created_at, id").Find(&d.Messages).Error; err != nil {
		return nil, err
	}
	if d.Clocks, err = s.requestClocks(db, orgID, r.ID); err != nil {
		return nil, err
	}
	if err := db.Where("org_id = ? AND may_authorize = ?", orgID, true).Order("priority, name, id").Find(&d.Contacts).Error; err != nil {
		return nil, err
	}
	ids := []int64{r.RaisedBy}
	for _, p := range []*int64{r.RequestedBy, r.EngineerID} {
		if p != nil {
			ids = append(ids, *p)
		}
	}
	for _, a := range d.Authorizations {
		for _, p := range []*int64{a.RecordedBy, a.DecidedBy} {
			if p != nil {
				ids = append(ids, *p)
			}
		}
	}
	for _, m := range d.Messages {
		if m.AuthorID != nil {
			ids = append(ids, *m.AuthorID)
		}
	}
	var us []User
	if err := db.Where("id IN ?", ids).Find(&us).Error; err != nil {
		return nil, err
	}
	for i := range us {
		d.Users[us[i].ID] = &us[i]
	}
	return d, nil
}

// openRequest locks nothing but re-reads request id of orgID inside tx and
// refuses one whose work is over.
func openRequest(tx *gorm.DB, orgID, id int64) (*OperationRequest, error) {
	var r OperationRequest
	if err := tx.Where("org_id = ? AND id = ?", orgID, id).First(&r).Error; err != nil {
		return nil, notFound(err)
	}
	if !r.Open() {
		return nil, Invalid("state", "operation.error.closed")
	}
	return &r, nil
}

// authorizingContact returns contact id of orgID if it may authorize.
func authorizingContact(tx *gorm.DB, orgID, id int64) (*Contact, error) {
	var c Contact
	if err := tx.Where("org_id = ? AND id = ?", orgID, id).First(&c).Error; err != nil {
		return nil, Invalid("contact", "operation.error.contact_unknown")
	}
	if !c.MayAuthorize {
		return nil, Invalid("contact", "operation.error.contact_may_not_authorize", c.Name)
	}
	return &c, nil
}

// AddWrittenAuthorization stores a signed authorization scan for request
// reqID of orgID, signed by contact contactID, as a pending authorization
// for an engineer to accept. The file goes to blobs first; if the record
// cannot be written the file is removed again.
func (s *Store) AddWrittenAuthorization(ctx context.Context, actor Actor, blobs *Blobs, orgID, reqID, contactID int64,
	up *CheckedUpload, data []byte) (*Authorization, error) {
	if up == nil || int64(len(data)) != up.Size {
		return nil, Invalid("file", "upload.error.empty")
	}
	db := s.db.WithContext(ctx)
	// Check before writing the file, so a refused upload leaves nothing.
	if _, err := openRequest(db, orgID, reqID); err != nil {
		return nil, err
	}
	if _, err := authorizingContact(db, orgID, contactID); err != nil {
		return nil, err
	}
	key, err := blobs.Put(data)
	if err != nil {
		return nil, fmt.Errorf("models: store upload: %w", err)
	}
	var a *Authorization
	err = db.Transaction(func(tx *gorm.DB) error {
		if _, err := openRequest(tx, orgID, reqID); err != nil {
			return err
		}
		c, err := authorizingContact(tx, orgID, contactID)
		if err != nil {
			return err
		}
		now := s.now()
		doc := Document{OrgID: orgID, RequestID: reqID, StorageKey: key, FileName: up.Name, ContentType: up.ContentType,
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
			"request": RequestNumber(reqID), "contact": c.Name, "document_id": doc.ID, "file_name": doc.FileName,
			"content_type": doc.ContentType, "size": doc.Size, "sha256": doc.SHA256})
	})
	if err != nil {
		if rmErr := blobs.Remove(key); rmErr != nil {
			err = errors.Join(err, rmErr)
		}
		if _, ok := AsValidation(err); ok || errors.Is(err, ErrNotFound) {
			return nil, err
		}
		return nil, fmt.Errorf("models: add written authorization: %w", err)
	}
	return a, nil
}

// authorize moves a request to authorized on its first accepted
// authorization and starts the 30-minute first-feedback clock.
func (s *Store) authorize(tx *gorm.DB, r *OperationRequest, at time.Time) error {
	if r.State == OpAwaiting {
		res := tx.Model(&OperationRequest{}).Where("id = ? AND state = ?", r.ID, OpAwaiting).
			Updates(map[string]any{"state": OpAuthorized, "updated_at": at})
		if res.Error != nil {
			return res.Error
		}
		r.State = OpAuthorized
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

// AcceptAuthorization accepts a pending written authorization of orgID.
// The first accepted authorization of a request starts its feedback clock;
// a written form that follows a phone authorization stops that one's
// follow-up clock.
func (s *Store) AcceptAuthorization(ctx context.Context, actor Actor, orgID, authID int64) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var a Authorization
		if err := tx.Where("org_id = ? AND id = ?", orgID, authID).First(&a).Error; err != nil {
			return notFound(err)
		}
		if a.Status != AuthPending {
			return Invalid("authorization", "operation.error.already_decided")
		}
		r, err := openRequest(tx, orgID, a.RequestID)
		if err != nil {
			return err
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
			"request": RequestNumber(r.ID), "method": a.Method, "contact": a.ContactName, "follows_phone": len(phones)})
	})
	return wrapOp("accept authorization", authID, err)
}

// RejectAuthorization refuses a pending written authorization (unsigned,
// the wrong form, signed by someone else) with the reason.
func (s *Store) RejectAuthorization(ctx context.Context, actor Actor, orgID, authID int64, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return Invalid("reason", "error.required")
	}
	if err := checkText("reason", reason, 500); err != nil {
		return err
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var a Authorization
		if err := tx.Where("org_id = ? AND id = ?", orgID, authID).First(&a).Error; err != nil {
			return notFound(err)
		}
		res := tx.Model(&Authorization{}).Where("id = ? AND status = ?", a.ID, AuthPending).
			Updates(map[string]any{"status": AuthRejected, "decided_by": actor.UserID, "decided_at": s.now(), "reject_reason": reason})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return Invalid("authorization", "operation.error.already_decided")
		}
		return s.audit(tx, actor, AuditAuthRejected, "authorization", &a.ID, &orgID, map[string]any{
			"request": RequestNumber(a.RequestID), "contact": a.ContactName, "reason": reason})
	})
	return wrapOp("reject authorization", authID, err)
}

func wrapOp(what string, id int64, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := AsValidation(err); ok || errors.Is(err, ErrNotFound) {
		return err
	}
	return fmt.Errorf("models: %s %d: %w", what, id, err)
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
	if err := checkText("note", in.Note, 2000); err != nil {
		return nil, err
	}
	if in.FollowUp <= 0 {
		in.FollowUp = DefaultFollowUpDeadline
	}
	db := s.db.WithContext(ctx)
	if _, err := openRequest(db, orgID, reqID); err != nil {
		return nil, err
	}
	c, err := authorizingContact(db, orgID, in.ContactID)
	if err != nil {
		return nil, err
	}
	if until := c.PhoneLocked(s.now()); until != nil {
		return nil, Invalid("passphrase", "operation.phone.locked", c.Name, *until)
	}
	if !c.HasPassphrase() {
		return nil, Invalid("contact", "operation.phone.no_passphrase", c.Name)
	}
	if strings.TrimSpace(in.Passphrase) == "" {
		return nil, Invalid("passphrase", "error.required")
	}
	ok := s.VerifyPassphrase(c, in.Passphrase) // slow on purpose: outside the transaction
	var a *Authorization
	var refusal error
	err = db.Transaction(func(tx *gorm.DB) error {
		r, err := openRequest(tx, orgID, reqID)
		if err != nil {
			return err
		}
		var cur Contact
		if err := tx.Where("org_id = ? AND id = ?", orgID, c.ID).First(&cur).Error; err != nil {
			return notFound(err)
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
			"request": RequestNumber(r.ID), "contact": c.Name, "note": in.Note, "follow_up_due": now.Add(in.FollowUp)})
	})
	if err != nil {
		return nil, wrapOp("phone authorization for request", reqID, err)
	}
	if refusal != nil {
		return nil, refusal
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
	if err := s.audit(tx, actor, AuditPhoneRefused, "contact", &c.ID, &c.OrgID, map[string]any{
		"request": RequestNumber(r.ID), "contact": c.Name, "wrong_in_window": wrong}); err != nil {
		return err
	}
	if wrong < PhoneLockAfter {
		*refusal = Invalid("passphrase", "operation.phone.wrong", PhoneLockAfter-wrong)
		return nil
	}
	until := now.Add(PhoneLockWindow)
	if err := tx.Model(&Contact{}).Where("id = ?", c.ID).Update("phone_locked_until", until).Error; err != nil {
		return err
	}
	if err := tx.Create(&OutboxEvent{Kind: EventPhoneLocked, OrgID: c.OrgID, RefID: c.ID, CreatedAt: now, LeaseUntil: neverLeased}).Error; err != nil {
		return err
	}
	*refusal = Invalid("passphrase", "operation.phone.locked", c.Name, until)
	return s.audit(tx, actor, AuditPhoneLocked, "contact", &c.ID, &c.OrgID, map[string]any{
		"request": RequestNumber(r.ID), "contact": c.Name, "until": until})
}

// PostMessage adds a message to a request's conversation. The first
// message from staff after the authorization is the first feedback: it
// stops the 30-minute clock, and staff messages are sent by email to the
// requesting user and the signing contact.
func (s *Store) PostMessage(ctx context.Context, actor Actor, orgID, reqID int64, staff bool, body string) (*OperationMessage, error) {
	body = strings.TrimSpace(body)
	if body == "" {
		return nil, Invalid("body", "error.required")
	}
	if err := checkText("body", body, 10000); err != nil {
		return nil, err
	}
	var m *OperationMessage
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var r OperationRequest
		if err := tx.Where("org_id = ? AND id = ?", orgID, reqID).First(&r).Error; err != nil {
			return notFound(err)
		}
		now := s.now()
		m = &OperationMessage{OrgID: orgID, RequestID: r.ID, AuthorID: actor.UserID, AuthorName: actorName(tx, actor),
			Staff: staff, Kind: "message", Body: body, CreatedAt: now}
		if err := tx.Create(m).Error; err != nil {
			return err
		}
		if staff {
			if err := s.stopClock(tx, ClockOperationFeedback, r.ID, now, m.ID); err != nil {
				return err
			}
			if err := tx.Create(&OutboxEvent{Kind: EventOperationMessage, OrgID: orgID, RefID: m.ID, CreatedAt: now,
				LeaseUntil: neverLeased}).Error; err != nil {
				return err
			}
		}
		return s.audit(tx, actor, AuditOperationMessage, "operation", &r.ID, &orgID, map[string]any{
			"request": RequestNumber(r.ID), "message_id": m.ID, "staff": staff})
	})
	if err != nil {
		return nil, wrapOp("post message on request", reqID, err)
	}
	return m, nil
}

func actorName(tx *gorm.DB, a Actor) string {
	if a.UserID != nil {
		var u User
		if tx.Select("name").First(&u, *a.UserID).Error == nil && u.Name != "" {
			return u.Name
		}
	}
	return a.Email
}

// StateInput is an engineer's update of the work.
type StateInput struct {
	State      string
	StartedAt  *time.Time // default: now, when work starts
	EndedAt    *time.Time // default: now, when it ends
	Notes      string
	WorkDone   string
	Result     string
	ResultNote string
	FollowUp   string
}

var opTransitions = map[string][]string{
	OpAwaiting:   {OpAbandoned},
	OpAuthorized: {OpInProgress, OpAbandoned},
	OpInProgress: {OpCompleted, OpAbandoned},
}

// NextStates lists the states a request may move to from its state.
func NextStates(state string) []string { return opTransitions[state] }

// SetOperationState moves a request on: work starts (only once
// authorized), then ends completed or abandoned with what was done and the
// result. The change is written into the request's timeline.
func (s *Store) SetOperationState(ctx context.Context, actor Actor, orgID, reqID int64, in StateInput) error {
	for _, f := range []struct {
		field string
		v     *string
		max   int
	}{{"notes", &in.Notes, 10000}, {"work_done", &in.WorkDone, 10000}, {"result_note", &in.ResultNote, 10000}, {"follow_up", &in.FollowUp, 10000}} {
		*f.v = strings.TrimSpace(*f.v)
		if err := checkText(f.field, *f.v, f.max); err != nil {
			return err
		}
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		r, err := openRequest(tx, orgID, reqID)
		if err != nil {
			return err
		}
		if !slices.Contains(opTransitions[r.State], in.State) {
			if in.State == OpInProgress && r.State == OpAwaiting {
				return Invalid("state", "operation.error.not_authorized")
			}
			return Invalid("state", "operation.error.transition")
		}
		now := s.now()
		upd := map[string]any{"state": in.State, "updated_at": now}
		if in.Notes != "" {
			upd["notes"] = in.Notes
		}
		switch in.State {
		case OpInProgress:
			start := now
			if in.StartedAt != nil {
				start = in.StartedAt.UTC()
			}
			if start.After(now) {
				return Invalid("started_at", "operation.error.future")
			}
			upd["started_at"], upd["engineer_id"] = start, actor.UserID
		case OpCompleted, OpAbandoned:
			end := now
			if in.EndedAt != nil {
				end = in.EndedAt.UTC()
			}
			if end.After(now) {
				return Invalid("ended_at", "operation.error.future")
			}
			if r.StartedAt != nil && end.Before(*r.StartedAt) {
				return Invalid("ended_at", "operation.error.window_order")
			}
			if in.State == OpCompleted {
				if in.WorkDone == "" {
					return Invalid("work_done", "error.required")
				}
				if !slices.Contains(OpResults, in.Result) {
					return Invalid("result", "operation.error.result")
				}
			}
			if in.Result != "" && !slices.Contains(OpResults, in.Result) {
				return Invalid("result", "operation.error.result")
			}
			upd["ended_at"], upd["work_done"], upd["result"], upd["result_note"], upd["follow_up"] =
				end, in.WorkDone, in.Result, in.ResultNote, in.FollowUp
			if r.EngineerID == nil {
				upd["engineer_id"] = actor.UserID
			}
		}
		res := tx.Model(&OperationRequest{}).Where("id = ? AND state = ?", r.ID, r.State).Updates(upd)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return Invalid("state", "operation.error.transition")
		}
		if err := tx.Create(&OperationMessage{OrgID: orgID, RequestID: r.ID, AuthorID: actor.UserID, AuthorName: actorName(tx, actor),
			Staff: true, Kind: "state", Body: in.State, CreatedAt: now}).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditOperationState, "operation", &r.ID, &orgID, map[string]any{
			"request": RequestNumber(r.ID), "from": r.State, "to": in.State, "result": in.Result})
	})
	return wrapOp("set state of request", reqID, err)
}

// OperationWindow is when work under a request's authorization ran: from
// the first accepted authorization (or the start of work, if earlier) to
// the end of work, or now.
func (d *RequestDetail) OperationWindow(now time.Time) (from, to time.Time, ok bool) {
	for _, a := range d.Accepted() {
		if a.DecidedAt != nil && (from.IsZero() || a.DecidedAt.Before(from)) {
			from = *a.DecidedAt
		}
	}
	if r := d.Request; r.StartedAt != nil && (from.IsZero() || r.StartedAt.Before(from)) {
		from = *r.StartedAt
	}
	if from.IsZero() {
		return from, to, false
	}
	to = now
	if d.Request.EndedAt != nil {
		to = *d.Request.EndedAt
	}
	return from, to, true
}

// OverlappingOutages lists the outages on the request's devices that
// overlap its authorized operation window: candidates for an engineer to
// classify as a customer-authorized operation (excluded from the SLA).
func (s *Store) OverlappingOutages(ctx context.Context, d *RequestDetail) ([]Outage, error) {
	from, to, ok := d.OperationWindow(s.now())
	if !ok || len(d.Devices) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(d.Devices))
	for i, dev := range d.Devices {
		ids[i] = dev.ID
	}
	var out []Outage
	err := s.db.WithContext(ctx).Where("org_id = ? AND device_id IN ? AND started_at < ? AND (ended_at IS NULL OR ended_at > ?)",
		d.Request.OrgID, ids, to, from).Order("started_at, id").Find(&out).Error
	return out, err
}

// GetDocument returns document id of request reqID of orgID.
func (s *Store) GetDocument(ctx context.Context, orgID, reqID, id int64) (*Document, error) {
	var doc Document
	if err := s.db.WithContext(ctx).Where("org_id = ? AND request_id = ? AND id = ?", orgID, reqID, id).First(&doc).Error; err != nil {
		return nil, notFound(err)
	}
	return &doc, nil
}

// OverdueFollowUps lists phone authorizations of orgID (0: all) whose signed
// written form has not arrived by its deadline.
func (s *Store) OverdueFollowUps(ctx context.Context, orgID int64) ([]Clock, error) {
	q := s.db.WithContext(ctx).Where("kind = ? AND stopped_at IS NULL AND deadline_at < ?", ClockPhoneFollowUp, s.now())
	if orgID != 0 {
		q = q.Where("org_id = ?", orgID)
	}
	var cs []Clock
	err := q.Order("deadline_at").Find(&cs).Error
	return cs, err
}

// RequestListClocks returns, for requests ids of orgID (0: any), each one's
// first-feedback clock and its overdue written follow-ups.
func (s *Store) RequestListClocks(ctx context.Context, orgID int64, ids []int64) (map[int64]*Clock, map[int64][]Clock, error) {
	feedback, overdue := map[int64]*Clock{}, map[int64][]Clock{}
	if len(ids) == 0 {
		return feedback, overdue, nil
	}
	db := s.db.WithContext(ctx)
	q := db.Where("kind = ? AND ref_id IN ?", ClockOperationFeedback, ids)
	if orgID != 0 {
		q = q.Where("org_id = ?", orgID)
	}
	var cs []Clock
	if err := q.Find(&cs).Error; err != nil {
		return nil, nil, err
	}
	for i := range cs {
		feedback[cs[i].RefID] = &cs[i]
	}
	var rows []struct {
		Clock
		RequestID int64
	}
	q = db.Table("sla_clocks").Select("sla_clocks.*, authorizations.request_id AS request_id").
		Joins("JOIN authorizations ON authorizations.id = sla_clocks.ref_id").
		Where("sla_clocks.kind = ? AND sla_clocks.stopped_at IS NULL AND sla_clocks.deadline_at < ? AND authorizations.request_id IN ?",
			ClockPhoneFollowUp, s.now(), ids)
	if orgID != 0 {
		q = q.Where("sla_clocks.org_id = ?", orgID)
	}
	if err := q.Scan(&rows).Error; err != nil {
		return nil, nil, err
	}
	for _, r := range rows {
		overdue[r.RequestID] = append(overdue[r.RequestID], r.Clock)
	}
	return feedback, overdue, nil
}

// OnCallOperation is an open request that needs an engineer now: an
// authorization to check, a first-feedback clock running, or a signed form
// overdue after a phone authorization.
type OnCallOperation struct {
	Request  OperationRequest
	OrgName  string
	Feedback *Clock // running first-feedback clock, or nil
	Pending  int    // written authorizations waiting to be checked
	Overdue  int    // phone authorizations whose signed form is overdue
}

// OnCallOperationsForStaff lists the open requests needing attention,
// the most urgent first: running feedback clocks by deadline, then the rest.
func (s *Store) OnCallOperationsForStaff(ctx context.Context) ([]OnCallOperation, error) {
	rs, err := s.ListRequests(ctx, RequestFilter{Open: true, Limit: 500})
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	ids, orgIDs := make([]int64, len(rs)), map[int64]bool{}
	for i, r := range rs {
		ids[i], orgIDs[r.OrgID] = r.ID, true
	}
	feedback, overdue, err := s.RequestListClocks(ctx, 0, ids)
	if err != nil {
		return nil, err
	}
	var pending []struct {
		RequestID int64
		N         int
	}
	db := s.db.WithContext(ctx)
	if err := db.Model(&Authorization{}).Select("request_id, COUNT(*) AS n").Where("request_id IN ? AND status = ?", ids, AuthPending).
		Group("request_id").Scan(&pending).Error; err != nil {
		return nil, err
	}
	pend := map[int64]int{}
	for _, p := range pending {
		pend[p.RequestID] = p.N
	}
	var orgs []Organization
	if err := db.Select("id", "name").Where("id IN ?", keys(orgIDs)).Find(&orgs).Error; err != nil {
		return nil, err
	}
	names := map[int64]string{}
	for _, o := range orgs {
		names[o.ID] = o.Name
	}
	var out []OnCallOperation
	for _, r := range rs {
		op := OnCallOperation{Request: r, OrgName: names[r.OrgID], Pending: pend[r.ID], Overdue: len(overdue[r.ID])}
		if c := feedback[r.ID]; c != nil && c.StoppedAt == nil {
			op.Feedback = c
		}
		if op.Feedback != nil || op.Pending > 0 || op.Overdue > 0 {
			out = append(out, op)
		}
	}
	slices.SortStableFunc(out, func(a, b OnCallOperation) int {
		switch {
		case a.Feedback != nil && b.Feedback != nil:
			return a.Feedback.DeadlineAt.Compare(b.Feedback.DeadlineAt)
		case a.Feedback != nil:
			return -1
		case b.Feedback != nil:
			return 1
		}
		return 0
	})
	return out, nil
}

func keys(m map[int64]bool) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
