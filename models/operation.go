package models

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Operation request states (docs/agreement.md §6 and §7). Work starts only
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
	ID         int64
	OrgID      int64
	NumberYear int // the request is quoted as Number(): its organization's
	NumberSeq  int // NumberSeq-th request of NumberYear
	// Ref names the request in URLs: random, so that a link says nothing
	// of how many requests other organizations have (the ID is internal).
	Ref         string
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

// Number is how people quote a request: OP-2026-0007 is its
// organization's seventh request of 2026. The ID is not shown.
func (r *OperationRequest) Number() string {
	return FormatNumber(NumberOperation, r.NumberYear, r.NumberSeq)
}

// newRef is 16 random hex digits: a key for a URL that says nothing of how
// many rows there are.
func newRef() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

// ValidRequestRef reports whether s can be a request reference, so that
// anything else is "not found" without a query.
func ValidRequestRef(s string) bool {
	if len(s) != 16 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

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
	ID        int64
	OrgID     int64
	RequestID int64
	// Ref names the document in its download URL, within its request:
	// random, like the request's, so the link says nothing of other
	// organizations' uploads. The ID stays internal.
	Ref         string
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

// Kinds of timeline lines: a message, a change of state (Body is the new
// state), a signed form rejected (Body is the reason).
const (
	MessageText     = "message"
	MessageState    = "state"
	MessageRejected = "rejected"
)

// OperationMessage is one line of a request's conversation, or a state
// change written into it.
type OperationMessage struct {
	ID         int64
	OrgID      int64
	RequestID  int64
	AuthorID   *int64
	AuthorName string
	Staff      bool
	Kind       string // MessageText, MessageState or MessageRejected
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
	var p problems
	in.Title = strings.TrimSpace(in.Title)
	if in.Title == "" {
		p.add(Invalid("title", "error.required"))
	}
	p.add(CheckLine("title", in.Title, 200))
	p.add(CheckPrintable("title", in.Title)) // printed on the form to be signed
	in.Work = strings.TrimSpace(in.Work)
	if in.Work == "" {
		p.add(Invalid("work", "error.required"))
	}
	p.add(CheckText("work", in.Work, 10000))
	p.add(CheckPrintable("work", in.Work))
	if !slices.Contains(Urgencies, in.Urgency) {
		p.add(Invalid("urgency", "operation.error.urgency"))
	}
	if in.Channel == "" {
		in.Channel = "portal"
	}
	if !slices.Contains(RequestChannels, in.Channel) {
		p.add(Invalid("channel", "operation.error.channel"))
	}
	if len(in.DeviceIDs) == 0 {
		p.add(Invalid("devices", "operation.error.no_devices"))
	}
	if in.WindowFrom != nil && in.WindowTo != nil && !in.WindowTo.After(*in.WindowFrom) {
		p.add(Invalid("window_to", "operation.error.window_order"))
	}
	return p.err()
}

// CreateRequest records a request for work on devices of orgID.
func (s *Store) CreateRequest(ctx context.Context, actor Actor, orgID int64, in RequestInput) (*OperationRequest, error) {
	if err := in.validate(); err != nil {
		return nil, wrap(err, "create request")
	}
	for _, w := range []struct {
		field string
		t     *time.Time
	}{{"window_from", in.WindowFrom}, {"window_to", in.WindowTo}} {
		if w.t != nil {
			if err := CheckDate(w.field, *w.t, s.zone); err != nil {
				return nil, wrap(err, "create request")
			}
		}
	}
	now := s.now()
	year, err := s.prepareNumber(ctx, NumberOperation, orgID, now)
	if err != nil {
		return nil, wrap(err, "create request")
	}
	var r *OperationRequest
	err = s.tx(ctx, func(tx *gorm.DB) error {
		ids := slices.Compact(slices.Sorted(slices.Values(in.DeviceIDs)))
		if own, err := ownDevices(tx, orgID, ids); err != nil {
			return err
		} else if !own {
			return Invalid("devices", "operation.error.device_unknown")
		}
		if in.RequestedBy != nil {
			var u User
			if err := tx.Where("id = ? AND org_id = ? AND role = ?", *in.RequestedBy, orgID, RoleCustomer).First(&u).Error; err != nil {
				return Invalid("requested_by", "operation.error.requester_unknown")
			}
			if u.Disabled() {
				return Invalid("requested_by", "operation.error.requester_disabled")
			}
		}
		seq, err := nextNumber(tx, NumberOperation, orgID, year)
		if err != nil {
			return err
		}
		raisedBy := int64(0)
		if actor.UserID != nil {
			raisedBy = *actor.UserID
		}
		r = &OperationRequest{OrgID: orgID, NumberYear: year, NumberSeq: seq, Ref: newRef(), Title: in.Title, Work: in.Work, Urgency: in.Urgency, WindowFrom: utcPtr(in.WindowFrom),
			WindowTo: utcPtr(in.WindowTo), Channel: in.Channel, State: OpAwaiting, RequestedBy: in.RequestedBy,
			RaisedBy: raisedBy, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(r).Error; err != nil {
			return err
		}
		links := make([]OperationDevice, len(ids))
		for i, id := range ids {
			links[i] = OperationDevice{RequestID: r.ID, DeviceID: id, OrgID: orgID}
		}
		if err := createInChunks(tx, links); err != nil {
			return err
		}
		return s.audit(tx, actor, AuditRequestCreated, "operation", &r.ID, &orgID, map[string]any{
			"request": r.Number(), "title": r.Title, "urgency": r.Urgency, "devices": ids, "channel": r.Channel, "requested_by": r.RequestedBy})
	})
	if err != nil {
		if _, ok := AsValidation(err); ok {
			return nil, wrap(err, "create request")
		}
		return nil, fmt.Errorf("models: create request: %w", err)
	}
	return r, nil
}

// GetRequestByRef returns the request of reference ref (from a URL) if sc
// sees its organization; else ErrNotFound.
func (s *Store) GetRequestByRef(ctx context.Context, sc Scope, ref string) (*OperationRequest, error) {
	return getByRef[OperationRequest](ctx, s.db, sc, ref, "get request")
}

// GetDocumentByRef returns the document of reference ref (from a URL) of
// request reqID of orgID if sc sees the organization; else ErrNotFound. A
// document is found only within its own request.
func (s *Store) GetDocumentByRef(ctx context.Context, sc Scope, orgID, reqID int64, ref string) (*Document, error) {
	if !sc.Allows(orgID) || !ValidRequestRef(ref) {
		return nil, wrap(ErrNotFound, "get document")
	}
	var doc Document
	if err := s.db.WithContext(ctx).Where("org_id = ? AND request_id = ? AND ref = ?", orgID, reqID, ref).First(&doc).Error; err != nil {
		return nil, wrap(notFound(err), "get document")
	}
	return &doc, nil
}

// GetRequest returns request id if sc sees its organization; else ErrNotFound.
func (s *Store) GetRequest(ctx context.Context, sc Scope, id int64) (*OperationRequest, error) {
	var r OperationRequest
	if err := sc.apply(s.db.WithContext(ctx), "org_id").Where("id = ?", id).First(&r).Error; err != nil {
		return nil, fmt.Errorf("models: get request %d: %w", id, notFound(err))
	}
	return &r, nil
}

// RequestFilter narrows the request lists.
type RequestFilter struct {
	Open  bool // only requests not yet completed or abandoned
	Limit int
	// OrgID keeps one organization's requests (0: every one the scope
	// sees); State one state ("" any).
	OrgID int64
	State string
	// BeforeID resumes a list after its last row (a keyset page: the
	// requests of lower ID); 0 starts at the newest.
	BeforeID int64
}

// ListRequests lists the requests sc sees, newest first.
func (s *Store) ListRequests(ctx context.Context, sc Scope, f RequestFilter) ([]OperationRequest, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 200
	}
	q := sc.apply(s.db.WithContext(ctx).Model(&OperationRequest{}), "org_id")
	if f.Open {
		q = q.Where("state NOT IN ?", []string{OpCompleted, OpAbandoned})
	}
	if f.OrgID != 0 {
		q = q.Where("org_id = ?", f.OrgID)
	}
	if f.State != "" {
		q = q.Where("state = ?", f.State)
	}
	if f.BeforeID > 0 {
		q = q.Where("id < ?", f.BeforeID)
	}
	var out []OperationRequest
	if err := q.Order("id DESC").Limit(f.Limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: list requests: %w", err)
	}
	return out, nil
}

// RequestClocks returns the clocks of a request of orgID: its first-feedback
// clock and the written follow-up clocks of its phone authorizations.
func (s *Store) RequestClocks(ctx context.Context, sc Scope, orgID, requestID int64) ([]Clock, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "request clocks")
	}
	cs, err := s.requestClocks(s.db.WithContext(ctx), orgID, requestID)
	return cs, wrap(err, "request clocks")
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

// DeviceName names a device of the request, or "".
func (d *RequestDetail) DeviceName(id int64) string {
	for _, dev := range d.Devices {
		if dev.ID == id {
			return dev.Name
		}
	}
	return ""
}

// UserName names a user for the page, or "".
func (d *RequestDetail) UserName(id *int64) string {
	if id == nil || d.Users[*id] == nil {
		return ""
	}
	return d.Users[*id].Name
}

// GetRequestDetail loads request id of orgID with everything around it.
func (s *Store) GetRequestDetail(ctx context.Context, sc Scope, orgID, id int64) (*RequestDetail, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "get request detail")
	}
	r, err := s.GetRequest(ctx, OrgScope(orgID), id)
	if err != nil {
		return nil, wrap(err, "get request detail")
	}
	return s.RequestDetailOf(ctx, sc, r)
}

// RequestDetailOf loads everything around request r, which the caller has
// already found within its organization; a request outside sc is
// ErrNotFound.
func (s *Store) RequestDetailOf(ctx context.Context, sc Scope, r *OperationRequest) (*RequestDetail, error) {
	if !sc.Allows(r.OrgID) {
		return nil, wrap(ErrNotFound, "request detail of")
	}
	orgID := r.OrgID
	db := s.db.WithContext(ctx)
	var err error
	d := &RequestDetail{Request: r, Users: map[int64]*User{}}
	if d.Org, err = s.GetOrg(ctx, OrgScope(orgID), orgID); err != nil {
		return nil, wrap(err, "request detail of")
	}
	if err := db.Where("org_id = ? AND id IN (?)", orgID,
		db.Model(&OperationDevice{}).Select("device_id").Where("request_id = ?", r.ID)).Order("name, id").Find(&d.Devices).Error; err != nil {
		return nil, wrap(err, "request detail of")
	}
	if err := db.Where("org_id = ? AND request_id = ?", orgID, r.ID).Order("recorded_at, id").Find(&d.Authorizations).Error; err != nil {
		return nil, wrap(err, "request detail of")
	}
	if err := db.Where("org_id = ? AND request_id = ?", orgID, r.ID).Order("id").Find(&d.Documents).Error; err != nil {
		return nil, wrap(err, "request detail of")
	}
	if err := db.Where("org_id = ? AND request_id = ?", orgID, r.ID).Order("created_at, id").Find(&d.Messages).Error; err != nil {
		return nil, wrap(err, "request detail of")
	}
	if d.Clocks, err = s.requestClocks(db, orgID, r.ID); err != nil {
		return nil, wrap(err, "request detail of")
	}
	if err := db.Where("org_id = ? AND may_authorize = ?", orgID, true).Order("priority, name, id").Find(&d.Contacts).Error; err != nil {
		return nil, wrap(err, "request detail of")
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
	if err := findIn(db, ids, &us, whereID); err != nil {
		return nil, wrap(err, "request detail of")
	}
	for i := range us {
		d.Users[us[i].ID] = &us[i]
	}
	return d, nil
}

// openRequest reads request id of orgID and refuses one whose work is
// over. Inside a transaction, call lockRequest instead.
func openRequest(tx *gorm.DB, orgID, id int64) (*OperationRequest, error) {
	return mustBeOpen(loadRequest(tx, orgID, id, false))
}

// lockRequest is openRequest that also locks the request's row until
// commit, so that two engineers acting on one request at once (two
// authorizations accepted together, say) take turns.
func lockRequest(tx *gorm.DB, orgID, id int64) (*OperationRequest, error) {
	return mustBeOpen(loadRequest(tx, orgID, id, true))
}

// loadRequest reads request id of orgID, locking its row when lock is set.
func loadRequest(tx *gorm.DB, orgID, id int64, lock bool) (*OperationRequest, error) {
	var r OperationRequest
	q := tx
	if lock {
		q = forUpdate(tx)
	}
	if err := q.Where("org_id = ? AND id = ?", orgID, id).First(&r).Error; err != nil {
		return nil, notFound(err)
	}
	return &r, nil
}

func mustBeOpen(r *OperationRequest, err error) (*OperationRequest, error) {
	if err == nil && !r.Open() {
		return nil, Invalid("state", "operation.error.closed")
	}
	return r, err
}

// writtenRequest is the request a written authorization may be filed
// against: an open one, or a finished one whose phone authorization still
// waits for its signed form (the form must be filed whenever it comes).
// It locks the request's row like lockRequest when lock is set.
func writtenRequest(tx *gorm.DB, orgID, id int64, lock bool) (*OperationRequest, error) {
	r, err := loadRequest(tx, orgID, id, lock)
	if err != nil || r.Open() {
		return r, err
	}
	var waiting int64
	if err := tx.Model(&Authorization{}).Where("org_id = ? AND request_id = ? AND method = ? AND status = ? AND followed_by_id IS NULL",
		orgID, id, AuthPhone, AuthAccepted).Count(&waiting).Error; err != nil {
		return nil, err
	}
	if waiting == 0 {
		return mustBeOpen(r, nil)
	}
	return r, nil
}

// AwaitsWrittenForm reports whether a phone authorization of the request
// still waits for its signed form.
func (d *RequestDetail) AwaitsWrittenForm() bool {
	for _, a := range d.Authorizations {
		if a.Method == AuthPhone && a.Status == AuthAccepted && a.FollowedByID == nil {
			return true
		}
	}
	return false
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
