package models

import (
	"context"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Written complaints (docs/agreement.md, clause 8): a customer complains
// about network quality, customer service, technical support or a named
// employee, and gets the first written handling report within 24 hours.

// Complaint categories.
const (
	ComplaintNetwork  = "network"
	ComplaintService  = "service"
	ComplaintSupport  = "support"
	ComplaintEmployee = "employee"
)

// ComplaintCategories lists the categories in the agreement's order.
var ComplaintCategories = []string{ComplaintNetwork, ComplaintService, ComplaintSupport, ComplaintEmployee}

// Complaint states: open until the first written report, responded,
// resolved by staff with a summary, closed when the customer confirms
// (a resolved complaint may be reopened by the customer within
// ReopenWithin).
const (
	ComplaintOpen      = "open"
	ComplaintResponded = "responded"
	ComplaintResolved  = "resolved"
	ComplaintClosed    = "closed"
)

// ComplaintStates lists the states in order.
var ComplaintStates = []string{ComplaintOpen, ComplaintResponded, ComplaintResolved, ComplaintClosed}

// ComplaintChannels are how a complaint came in: through the portal, or
// recorded by the service desk from a call, an email or a letter.
var ComplaintChannels = []string{"portal", "phone", "email", "letter"}

// The complaint clock and its rules.
const (
	ClockComplaintResponse = "complaint_response"
	ComplaintDeadline      = 24 * time.Hour
	ReopenWithin           = 14 * 24 * time.Hour
)

// NumberComplaint is the kind of a complaint's record number
// (CP-2026-0001).
const NumberComplaint = "complaint"

// Kinds of thread lines: a message, the written handling report (found,
// done, next), a change of state (Body is the new state), the resolution
// summary.
const (
	ComplaintMessage    = "message"
	ComplaintReport     = "report"
	ComplaintStateLine  = "state"
	ComplaintResolution = "resolution"
)

// Complaint is a customer's written complaint.
type Complaint struct {
	ID          int64
	OrgID       int64
	NumberYear  int
	NumberSeq   int
	Ref         string // names the complaint in URLs
	Category    string
	NamedUserID *int64 // the staff member complained about (category employee)
	Subject     string
	Description string
	Channel     string
	// ReceivedAt is when the provider received it: the clock starts then,
	// which for a call or a letter is before it was entered.
	ReceivedAt      time.Time
	FiledBy         *int64 // the customer user who complains
	EnteredBy       int64  // who typed it in
	State           string
	AssigneeID      *int64
	OutageID        *int64
	OperationID     *int64
	VisitID         *int64
	FirstResponseAt *time.Time
	ResolvedAt      *time.Time
	Resolution      string
	ClosedAt        *time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

func (Complaint) TableName() string { return "complaints" }

// Number is how people quote a complaint: CP-2026-0004.
func (c *Complaint) Number() string { return FormatNumber(NumberComplaint, c.NumberYear, c.NumberSeq) }

// ComplaintLine is one line of a complaint's thread.
type ComplaintLine struct {
	ID          int64
	ComplaintID int64
	OrgID       int64
	AuthorID    *int64
	AuthorName  string
	Staff       bool
	Kind        string
	Body        string
	Found       string // a report's "what was found"
	Done        string // "what is done"
	Next        string // "what happens next"
	CreatedAt   time.Time
}

func (ComplaintLine) TableName() string { return "complaint_messages" }

// ComplaintFile is a file attached to a complaint or one of its messages,
// kept like signed forms (models/blobstore) under the same upload rules.
type ComplaintFile struct {
	ID          int64
	ComplaintID int64
	MessageID   *int64
	OrgID       int64
	Ref         string
	StorageKey  string `json:"-"`
	FileName    string
	ContentType string
	Size        int64
	SHA256      string `gorm:"column:sha256"`
	UploadedBy  *int64
	CreatedAt   time.Time
}

func (ComplaintFile) TableName() string { return "complaint_files" }

// Viewer is who reads complaints: the request's scope and the user. A
// complaint about a named employee does not exist for that employee: every
// complaint read goes through visibleComplaints.
type Viewer struct {
	Scope  Scope
	UserID int64
}

// visibleComplaints restricts q (on the complaints table) to what v may
// see: its scope, less the complaints naming v.
func visibleComplaints(q *gorm.DB, v Viewer) *gorm.DB {
	const t = "complaints" // qualified: callers may join other tables
	return v.Scope.apply(q, t+".org_id").Where("("+t+".named_user_id IS NULL OR "+t+".named_user_id <> ?)", v.UserID)
}

// ComplaintInput is what the complaint form supplies. Form fields are
// named as the validation errors are: category, named_user, subject,
// description, outage, operation, visit, channel, received_at.
type ComplaintInput struct {
	Category     string
	NamedUserID  int64 // for ComplaintEmployee
	Subject      string
	Description  string
	OutageID     int64  // 0 for none
	OperationRef string // "" for none
	VisitRef     string // "" for none
	// Recorded by the service desk for a customer: how it came in, when it
	// was received (zero: now), and the customer user who complains.
	Channel    string
	ReceivedAt time.Time
	FiledBy    int64
}

func (in *ComplaintInput) validate(now time.Time, zone *time.Location) error {
	var p problems
	if !slices.Contains(ComplaintCategories, in.Category) {
		p.add(Invalid("category", "complaints.error.category"))
	}
	if in.Category == ComplaintEmployee && in.NamedUserID <= 0 {
		p.add(Invalid("named_user", "complaints.error.named_user"))
	}
	if in.Category != ComplaintEmployee {
		in.NamedUserID = 0
	}
	in.Subject = strings.TrimSpace(in.Subject)
	if in.Subject == "" {
		p.add(Invalid("subject", "error.required"))
	}
	p.add(CheckLine("subject", in.Subject, 200))
	in.Description = strings.TrimSpace(in.Description)
	if in.Description == "" {
		p.add(Invalid("description", "error.required"))
	}
	p.add(CheckText("description", in.Description, 20000))
	if in.Channel == "" {
		in.Channel = "portal"
	}
	if !slices.Contains(ComplaintChannels, in.Channel) {
		p.add(Invalid("channel", "complaints.error.channel"))
	}
	if in.ReceivedAt.IsZero() || in.Channel == "portal" {
		in.ReceivedAt = now
	}
	in.ReceivedAt = in.ReceivedAt.UTC()
	switch {
	case in.ReceivedAt.After(now):
		p.add(Invalid("received_at", "complaints.error.received_future"))
	case now.Sub(in.ReceivedAt) > 30*24*time.Hour:
		p.add(Invalid("received_at", "complaints.error.received_old"))
	default:
		p.add(CheckDate("received_at", in.ReceivedAt, zone))
	}
	return p.err()
}

// resolveComplaint checks what the complaint names belongs where it
// should: the named employee is enabled staff (not the one entering it),
// the complainant an enabled customer user of the organization, the
// outage, operation and visit the organization's own. It fills c's
// references.
func resolveComplaint(tx *gorm.DB, orgID int64, in *ComplaintInput, c *Complaint) error {
	var p problems
	// ref finds the ID of the one row of model matching where, for field;
	// none is a validation error with key.
	ref := func(field, key string, model any, where string, args ...any) (*int64, error) {
		var ids []int64
		if err := tx.Model(model).Where(where, args...).Limit(1).Pluck("id", &ids).Error; err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			p.add(Invalid(field, key))
			return nil, nil
		}
		return &ids[0], nil
	}
	var err error
	switch {
	case in.NamedUserID > 0 && c.EnteredBy == in.NamedUserID:
		// The desk cannot record a complaint about itself: it would not
		// see what it recorded.
		p.add(Invalid("named_user", "complaints.error.named_self"))
	case in.NamedUserID > 0:
		if c.NamedUserID, err = ref("named_user", "complaints.error.named_user", &User{},
			"id = ? AND role IN ? AND disabled_at IS NULL", in.NamedUserID, EscortRoles); err != nil {
			return err
		}
	}
	if in.FiledBy > 0 {
		if c.FiledBy, err = ref("filed_by", "complaints.error.filed_by", &User{},
			"id = ? AND org_id = ? AND role = ? AND disabled_at IS NULL", in.FiledBy, orgID, RoleCustomer); err != nil {
			return err
		}
	}
	if in.OutageID > 0 {
		if c.OutageID, err = ref("outage", "complaints.error.outage", &Outage{}, "id = ? AND org_id = ?", in.OutageID, orgID); err != nil {
			return err
		}
	}
	for _, r := range []struct {
		ref, field, key string
		model           any
		to              **int64
	}{
		{in.OperationRef, "operation", "complaints.error.operation", &OperationRequest{}, &c.OperationID},
		{in.VisitRef, "visit", "complaints.error.visit", &Visit{}, &c.VisitID},
	} {
		if s := strings.TrimSpace(r.ref); s != "" {
			if !ValidRequestRef(s) {
				p.add(Invalid(r.field, r.key))
			} else if *r.to, err = ref(r.field, r.key, r.model, "org_id = ? AND ref = ?", orgID, s); err != nil {
				return err
			}
		}
	}
	return p.err()
}

// CheckComplaint validates a complaint without the database or saving it,
// for a handler that cannot call CreateComplaint yet (no organization was
// found for it), so that the answer still lists every mistake.
func (s *Store) CheckComplaint(in ComplaintInput) error { return in.validate(s.now(), s.zone) }

// CreateComplaint records a complaint of organization orgID: filed by a
// customer user through the portal (actor, channel "portal", received
// now), or recorded by the service desk on a customer's behalf with how
// and when it was received. The 24-hour clock starts at ReceivedAt. Files
// are attached afterwards (AttachComplaintFile).
func (s *Store) CreateComplaint(ctx context.Context, actor Actor, orgID int64, in ComplaintInput) (*Complaint, error) {
	now := s.now()
	if err := in.validate(now, s.zone); err != nil {
		return nil, wrap(err, "create complaint")
	}
	year, err := s.prepareNumber(ctx, NumberComplaint, orgID, now)
	if err != nil {
		return nil, wrap(err, "create complaint")
	}
	var c *Complaint
	err = s.tx(ctx, func(tx *gorm.DB) error {
		c = &Complaint{OrgID: orgID, Category: in.Category, Subject: in.Subject, Description: in.Description, Channel: in.Channel,
			ReceivedAt: in.ReceivedAt, State: ComplaintOpen, CreatedAt: now, UpdatedAt: now}
		if actor.UserID != nil {
			c.EnteredBy = *actor.UserID
		}
		if in.FiledBy == 0 && in.Channel == "portal" && actor.UserID != nil {
			in.FiledBy = *actor.UserID
		}
		if err := resolveComplaint(tx, orgID, &in, c); err != nil {
			return err
		}
		seq, err := nextNumber(tx, NumberComplaint, orgID, year)
		if err != nil {
			return err
		}
		c.NumberYear, c.NumberSeq, c.Ref = year, seq, newRef()
		if err := tx.Create(c).Error; err != nil {
			return err
		}
		if err := s.startClock(tx, ClockComplaintResponse, orgID, c.ID, c.ReceivedAt, ComplaintDeadline); err != nil {
			return err
		}
		// The detail names the category and the channel, never the text
		// (which may name people) nor the employee complained about.
		return s.audit(tx, actor, AuditComplaintFiled, "complaint", &c.ID, &orgID, map[string]any{
			"complaint": c.Number(), "category": c.Category, "channel": c.Channel, "received": c.ReceivedAt})
	})
	if err != nil {
		return nil, wrap(err, "create complaint")
	}
	return c, nil
}

// GetComplaintByRef returns the complaint of reference ref if v may see
// it; else ErrNotFound (another organization's, or one naming v).
func (s *Store) GetComplaintByRef(ctx context.Context, v Viewer, ref string) (*Complaint, error) {
	if !ValidRequestRef(ref) {
		return nil, wrap(ErrNotFound, "get complaint")
	}
	var c Complaint
	if err := visibleComplaints(s.db.WithContext(ctx), v).Where("ref = ?", ref).First(&c).Error; err != nil {
		return nil, wrap(notFound(err), "get complaint")
	}
	return &c, nil
}

// ComplaintClock returns the response clock of complaint c, which the
// caller got through a visible read.
func (s *Store) ComplaintClock(ctx context.Context, c *Complaint) (*Clock, error) {
	var k Clock
	err := s.db.WithContext(ctx).Where("kind = ? AND ref_id = ? AND org_id = ?", ClockComplaintResponse, c.ID, c.OrgID).First(&k).Error
	if err != nil {
		return nil, wrap(notFound(err), "complaint clock")
	}
	return &k, nil
}
