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

// A complaint's thread and states (docs/agreement.md, clause 8): messages
// from both sides, the written handling report that stops the 24-hour
// clock, the resolution, the customer's confirmation or reopening, the
// assignment and the attached files. Every method finds the complaint
// through visibleComplaints, so a complaint of another organization, or
// one naming the actor, is ErrNotFound here as on every page.

// EventComplaintReply is the outbox event of a staff message, report or
// resolution on a complaint: its RefID is the thread line, emailed to the
// complaining customer user in their language.
const EventComplaintReply = "complaint.reply"

// ReportInput is the written handling report: what was found, what is
// done, what happens next.
type ReportInput struct {
	Found, Done, Next string
}

// complaintActor is who acts on a complaint: the user's row, for the
// author's name and whether they speak for the provider.
func complaintActor(tx *gorm.DB, actor Actor) (*User, error) {
	if actor.UserID == nil {
		return nil, ErrNotFound
	}
	var u User
	if err := tx.Select("id", "name", "role", "org_id").Where("id = ? AND disabled_at IS NULL", *actor.UserID).First(&u).Error; err != nil {
		return nil, notFound(err)
	}
	return &u, nil
}

// deskRole reports whether r answers complaints: the service desk and
// admins (engineers and reception only read them).
func deskRole(r Role) bool { return r == RoleService || r == RoleAdmin }

// lockComplaint loads complaint id under a row lock if v may see it.
func lockComplaint(tx *gorm.DB, v Viewer, id int64) (*Complaint, error) {
	var c Complaint
	if err := visibleComplaints(forUpdate(tx), v).Where("complaints.id = ?", id).First(&c).Error; err != nil {
		return nil, notFound(err)
	}
	return &c, nil
}

// complaintChange is the frame of every change to a complaint: the
// complaint locked and visible to v, the acting user, one transaction.
func (s *Store) complaintChange(ctx context.Context, actor Actor, v Viewer, id int64, op string,
	fn func(tx *gorm.DB, c *Complaint, u *User, now time.Time) error) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		c, err := lockComplaint(tx, v, id)
		if err != nil {
			return err
		}
		u, err := complaintActor(tx, actor)
		if err != nil {
			return err
		}
		if u.Role == RoleCustomer && (u.OrgID == nil || *u.OrgID != c.OrgID) {
			return ErrNotFound
		}
		return fn(tx, c, u, s.now())
	})
	return wrap(err, op)
}

// addLine appends a line to c's thread.
func addLine(tx *gorm.DB, c *Complaint, u *User, kind, body string, rep ReportInput, now time.Time) (*ComplaintLine, error) {
	l := &ComplaintLine{ComplaintID: c.ID, OrgID: c.OrgID, AuthorID: &u.ID, AuthorName: u.Name, Staff: u.Role.IsStaff(),
		Kind: kind, Body: body, Found: rep.Found, Done: rep.Done, Next: rep.Next, CreatedAt: now}
	return l, tx.Create(l).Error
}

// setComplaintState moves c to state, recording the change as a line of
// the thread.
func setComplaintState(tx *gorm.DB, c *Complaint, u *User, state string, fields map[string]any, now time.Time) error {
	from := c.State
	fields["state"], fields["updated_at"] = state, now
	r := tx.Model(&Complaint{}).Where("id = ? AND state = ?", c.ID, from).Updates(fields)
	if r.Error != nil {
		return r.Error
	}
	if r.RowsAffected != 1 {
		return Invalid("state", "complaints.error.state")
	}
	c.State = state
	_, err := addLine(tx, c, u, ComplaintStateLine, state, ReportInput{}, now)
	return err
}

func (s *Store) auditState(tx *gorm.DB, actor Actor, c *Complaint) error {
	return s.audit(tx, actor, AuditComplaintState, "complaint", &c.ID, &c.OrgID, map[string]any{"complaint": c.Number(), "state": c.State})
}

// AddComplaintMessage writes a message on complaint id: the complaining
// organization's users, or the service desk (emailed to the complaining
// user). Nothing is written on a closed complaint.
func (s *Store) AddComplaintMessage(ctx context.Context, actor Actor, v Viewer, id int64, body string) (*ComplaintLine, error) {
	body = strings.TrimSpace(body)
	var p problems
	if body == "" {
		p.add(Invalid("body", "error.required"))
	}
	p.add(CheckText("body", body, 10000))
	if err := p.err(); err != nil {
		return nil, wrap(err, "complaint message")
	}
	var l *ComplaintLine
	err := s.complaintChange(ctx, actor, v, id, "complaint message", func(tx *gorm.DB, c *Complaint, u *User, now time.Time) error {
		if u.Role.IsStaff() && !deskRole(u.Role) {
			return Invalid("body", "complaints.error.not_desk")
		}
		if c.State == ComplaintClosed {
			return Invalid("body", "complaints.error.closed")
		}
		var err error
		if l, err = addLine(tx, c, u, ComplaintMessage, body, ReportInput{}, now); err != nil {
			return err
		}
		if err := s.touchComplaint(tx, c, now); err != nil {
			return err
		}
		if l.Staff {
			if err := s.outbox(tx, EventComplaintReply, c.OrgID, l.ID, ""); err != nil {
				return err
			}
		}
		return s.audit(tx, actor, AuditComplaintMessage, "complaint", &c.ID, &c.OrgID, map[string]any{"complaint": c.Number(), "line": l.ID})
	})
	return l, err
}

func (s *Store) touchComplaint(tx *gorm.DB, c *Complaint, now time.Time) error {
	return tx.Model(&Complaint{}).Where("id = ?", c.ID).Update("updated_at", now).Error
}

// WriteComplaintReport records the service desk's written handling report
// on complaint id. The first one stops the 24-hour clock (met at or
// before the deadline, else missed; both times kept) and moves an open
// complaint to responded. The complaining user is emailed.
func (s *Store) WriteComplaintReport(ctx context.Context, actor Actor, v Viewer, id int64, rep ReportInput) (*ComplaintLine, error) {
	rep.Found, rep.Done, rep.Next = strings.TrimSpace(rep.Found), strings.TrimSpace(rep.Done), strings.TrimSpace(rep.Next)
	var p problems
	for _, f := range []struct{ name, text string }{{"found", rep.Found}, {"done", rep.Done}, {"next", rep.Next}} {
		if f.text == "" {
			p.add(Invalid(f.name, "error.required"))
		}
		p.add(CheckText(f.name, f.text, 10000))
	}
	if err := p.err(); err != nil {
		return nil, wrap(err, "complaint report")
	}
	var l *ComplaintLine
	err := s.complaintChange(ctx, actor, v, id, "complaint report", func(tx *gorm.DB, c *Complaint, u *User, now time.Time) error {
		if !deskRole(u.Role) {
			return Invalid("found", "complaints.error.not_desk")
		}
		if c.State == ComplaintClosed {
			return Invalid("found", "complaints.error.closed")
		}
		var err error
		if l, err = addLine(tx, c, u, ComplaintReport, "", rep, now); err != nil {
			return err
		}
		first := c.FirstResponseAt == nil
		if first {
			if err := stopClockOf(s, tx, c, now, l.ID); err != nil {
				return err
			}
			fields := map[string]any{"first_response_at": now}
			c.FirstResponseAt = &now
			if c.State == ComplaintOpen {
				if err := setComplaintState(tx, c, u, ComplaintResponded, fields, now); err != nil {
					return err
				}
			} else if err := tx.Model(&Complaint{}).Where("id = ?", c.ID).Updates(fields).Error; err != nil {
				return err
			}
		} else if err := s.touchComplaint(tx, c, now); err != nil {
			return err
		}
		if err := s.outbox(tx, EventComplaintReply, c.OrgID, l.ID, ""); err != nil {
			return err
		}
		if err := s.audit(tx, actor, AuditComplaintReport, "complaint", &c.ID, &c.OrgID,
			map[string]any{"complaint": c.Number(), "line": l.ID, "first": first}); err != nil {
			return err
		}
		if first && c.State == ComplaintResponded {
			return s.auditState(tx, actor, c)
		}
		return nil
	})
	return l, err
}

func stopClockOf(s *Store, tx *gorm.DB, c *Complaint, at time.Time, lineID int64) error {
	return s.stopClock(tx, ClockComplaintResponse, c.ID, at, lineID)
}

// ResolveComplaint marks complaint id resolved with a summary, after at
// least one handling report; the complaining user is emailed and may
// confirm or reopen it.
func (s *Store) ResolveComplaint(ctx context.Context, actor Actor, v Viewer, id int64, summary string) error {
	summary = strings.TrimSpace(summary)
	var p problems
	if summary == "" {
		p.add(Invalid("summary", "error.required"))
	}
	p.add(CheckText("summary", summary, 10000))
	if err := p.err(); err != nil {
		return wrap(err, "resolve complaint")
	}
	return s.complaintChange(ctx, actor, v, id, "resolve complaint", func(tx *gorm.DB, c *Complaint, u *User, now time.Time) error {
		if !deskRole(u.Role) {
			return Invalid("summary", "complaints.error.not_desk")
		}
		if c.State != ComplaintResponded {
			if c.State == ComplaintOpen {
				return Invalid("summary", "complaints.error.report_first")
			}
			return Invalid("summary", "complaints.error.state")
		}
		l, err := addLine(tx, c, u, ComplaintResolution, summary, ReportInput{}, now)
		if err != nil {
			return err
		}
		if err := setComplaintState(tx, c, u, ComplaintResolved, map[string]any{"resolved_at": now, "resolution": summary}, now); err != nil {
			return err
		}
		if err := s.outbox(tx, EventComplaintReply, c.OrgID, l.ID, ""); err != nil {
			return err
		}
		return s.auditState(tx, actor, c)
	})
}

// ConfirmComplaint closes resolved complaint id: a user of the
// complaining organization accepts the resolution.
func (s *Store) ConfirmComplaint(ctx context.Context, actor Actor, v Viewer, id int64) error {
	return s.complaintChange(ctx, actor, v, id, "confirm complaint", func(tx *gorm.DB, c *Complaint, u *User, now time.Time) error {
		if u.Role != RoleCustomer {
			return Invalid("state", "complaints.error.customer_only")
		}
		if c.State != ComplaintResolved {
			return Invalid("state", "complaints.error.state")
		}
		if err := setComplaintState(tx, c, u, ComplaintClosed, map[string]any{"closed_at": now}, now); err != nil {
			return err
		}
		return s.auditState(tx, actor, c)
	})
}

// ReopenComplaint takes resolved complaint id back to responded, within
// ReopenWithin of its resolution, with the customer's reason as a
// message. The response clock is not restarted.
func (s *Store) ReopenComplaint(ctx context.Context, actor Actor, v Viewer, id int64, reason string) error {
	reason = strings.TrimSpace(reason)
	var p problems
	if reason == "" {
		p.add(Invalid("reason", "error.required"))
	}
	p.add(CheckText("reason", reason, 10000))
	if err := p.err(); err != nil {
		return wrap(err, "reopen complaint")
	}
	return s.complaintChange(ctx, actor, v, id, "reopen complaint", func(tx *gorm.DB, c *Complaint, u *User, now time.Time) error {
		if u.Role != RoleCustomer {
			return Invalid("reason", "complaints.error.customer_only")
		}
		if c.State != ComplaintResolved || c.ResolvedAt == nil {
			return Invalid("reason", "complaints.error.state")
		}
		if now.Sub(*c.ResolvedAt) > ReopenWithin {
			return Invalid("reason", "complaints.error.reopen_late")
		}
		if _, err := addLine(tx, c, u, ComplaintMessage, reason, ReportInput{}, now); err != nil {
			return err
		}
		if err := setComplaintState(tx, c, u, ComplaintResponded, map[string]any{"resolved_at": nil, "resolution": ""}, now); err != nil {
			return err
		}
		return s.auditState(tx, actor, c)
	})
}

// CanReopen reports whether resolved complaint c may still be reopened at
// now.
func CanReopen(c *Complaint, now time.Time) bool {
	return c.State == ComplaintResolved && c.ResolvedAt != nil && now.Sub(*c.ResolvedAt) <= ReopenWithin
}

// AssignComplaint gives complaint id to enabled staff member assigneeID
// (0 takes the assignment away): never to the employee it names.
func (s *Store) AssignComplaint(ctx context.Context, actor Actor, v Viewer, id, assigneeID int64) error {
	return s.complaintChange(ctx, actor, v, id, "assign complaint", func(tx *gorm.DB, c *Complaint, u *User, now time.Time) error {
		if !deskRole(u.Role) {
			return Invalid("assignee", "complaints.error.not_desk")
		}
		if c.State == ComplaintClosed {
			return Invalid("assignee", "complaints.error.closed")
		}
		name := ""
		var to any
		if assigneeID > 0 {
			if c.NamedUserID != nil && *c.NamedUserID == assigneeID {
				return Invalid("assignee", "complaints.error.assign_named")
			}
			var a User
			if err := tx.Select("id", "name").Where("id = ? AND role IN ? AND disabled_at IS NULL", assigneeID, EscortRoles).
				First(&a).Error; err != nil {
				if errors.Is(err, gorm.ErrRecordNotFound) {
					return Invalid("assignee", "complaints.error.assignee")
				}
				return err
			}
			name, to = a.Name, a.ID
			c.AssigneeID = &a.ID
		} else {
			c.AssigneeID = nil
		}
		if err := tx.Model(&Complaint{}).Where("id = ?", c.ID).Updates(map[string]any{"assignee_id": to, "updated_at": now}).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditComplaintAssigned, "complaint", &c.ID, &c.OrgID,
			map[string]any{"complaint": c.Number(), "assignee": name})
	})
}

// AttachComplaintFile stores a checked upload (CheckUpload, the signed
// forms' rules) on complaint id. The file goes to blobs first and is
// removed again if the record cannot be written.
func (s *Store) AttachComplaintFile(ctx context.Context, actor Actor, v Viewer, blobs blobstore.Store, id int64,
	up *CheckedUpload, data []byte) (*ComplaintFile, error) {
	if up == nil || int64(len(data)) != up.Size {
		return nil, wrap(Invalid("file", "upload.error.empty"), "attach complaint file")
	}
	// Check before writing the file, so a refused upload leaves nothing.
	var c Complaint
	if err := visibleComplaints(s.db.WithContext(ctx), v).Where("complaints.id = ?", id).First(&c).Error; err != nil {
		return nil, wrap(notFound(err), "attach complaint file")
	}
	if c.State == ComplaintClosed {
		return nil, wrap(Invalid("file", "complaints.error.closed"), "attach complaint file")
	}
	key, err := blobs.Put(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("models: store upload: %w", err)
	}
	var f *ComplaintFile
	err = s.complaintChange(ctx, actor, v, id, "attach complaint file", func(tx *gorm.DB, c *Complaint, u *User, now time.Time) error {
		if u.Role.IsStaff() && !deskRole(u.Role) {
			return Invalid("file", "complaints.error.not_desk")
		}
		if c.State == ComplaintClosed {
			return Invalid("file", "complaints.error.closed")
		}
		f = &ComplaintFile{ComplaintID: c.ID, OrgID: c.OrgID, Ref: newRef(), StorageKey: key, FileName: up.Name,
			ContentType: up.ContentType, Size: up.Size, SHA256: up.SHA256, UploadedBy: &u.ID, CreatedAt: now}
		if err := tx.Create(f).Error; err != nil {
			return err
		}
		if err := s.touchComplaint(tx, c, now); err != nil {
			return err
		}
		return s.audit(tx, actor, AuditComplaintFile, "complaint", &c.ID, &c.OrgID, map[string]any{"complaint": c.Number(),
			"file": f.FileName, "file_ref": f.Ref, "content_type": f.ContentType, "size": f.Size, "sha256": f.SHA256})
	})
	if err != nil {
		if rmErr := blobs.Remove(context.WithoutCancel(ctx), key); rmErr != nil {
			err = errors.Join(err, rmErr)
		}
		return nil, err
	}
	return f, nil
}

// GetComplaintFile returns file ref of complaint c, which the caller got
// through a visible read.
func (s *Store) GetComplaintFile(ctx context.Context, c *Complaint, ref string) (*ComplaintFile, error) {
	if !ValidRequestRef(ref) {
		return nil, wrap(ErrNotFound, "get complaint file")
	}
	var f ComplaintFile
	err := s.db.WithContext(ctx).Where("org_id = ? AND complaint_id = ? AND ref = ?", c.OrgID, c.ID, ref).First(&f).Error
	return &f, wrap(notFound(err), "get complaint file")
}

// ComplaintDetail is a complaint with everything its page and its record
// show.
type ComplaintDetail struct {
	Complaint *Complaint
	Org       Organization
	Lines     []ComplaintLine
	Files     []ComplaintFile
	Clock     *Clock // nil if none was kept
	Users     map[int64]*User
	Outage    *Outage
	Operation *OperationRequest
	Visit     *Visit
}

// UserName is the name of user id, or "".
func (d *ComplaintDetail) UserName(id *int64) string {
	if id == nil || d.Users[*id] == nil {
		return ""
	}
	return d.Users[*id].Name
}

// ComplaintDetailOf loads what belongs to complaint c for viewer v: the
// thread in order, the files, the clock, the people it names, what it
// concerns. c must be visible to v (ErrNotFound otherwise).
func (s *Store) ComplaintDetailOf(ctx context.Context, v Viewer, c *Complaint) (*ComplaintDetail, error) {
	db := s.db.WithContext(ctx)
	var n int64
	if err := visibleComplaints(db.Model(&Complaint{}), v).Where("complaints.id = ?", c.ID).Count(&n).Error; err != nil {
		return nil, wrap(err, "complaint detail")
	}
	if n == 0 {
		return nil, wrap(ErrNotFound, "complaint detail")
	}
	d := &ComplaintDetail{Complaint: c, Users: map[int64]*User{}}
	if err := db.First(&d.Org, c.OrgID).Error; err != nil {
		return nil, wrap(notFound(err), "complaint detail")
	}
	if err := db.Where("org_id = ? AND complaint_id = ?", c.OrgID, c.ID).Order("created_at, id").Limit(5000).Find(&d.Lines).Error; err != nil {
		return nil, wrap(err, "complaint detail")
	}
	if err := db.Where("org_id = ? AND complaint_id = ?", c.OrgID, c.ID).Order("created_at, id").Limit(1000).Find(&d.Files).Error; err != nil {
		return nil, wrap(err, "complaint detail")
	}
	k, err := s.ComplaintClock(ctx, c)
	switch {
	case err == nil:
		d.Clock = k
	case !errors.Is(err, ErrNotFound):
		return nil, wrap(err, "complaint detail")
	}
	ids := []int64{c.EnteredBy}
	for _, p := range []*int64{c.NamedUserID, c.FiledBy, c.AssigneeID} {
		if p != nil {
			ids = append(ids, *p)
		}
	}
	for _, f := range d.Files {
		if f.UploadedBy != nil {
			ids = append(ids, *f.UploadedBy)
		}
	}
	var us []User
	if err := findIn(db, ids, &us, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Select("id", "name", "email", "role", "org_id").Where("id IN ?", chunk)
	}); err != nil {
		return nil, wrap(err, "complaint detail")
	}
	for i := range us {
		d.Users[us[i].ID] = &us[i]
	}
	if c.OutageID != nil {
		var o Outage
		if err := db.Where("org_id = ? AND id = ?", c.OrgID, *c.OutageID).First(&o).Error; err == nil {
			d.Outage = &o
		}
	}
	if c.OperationID != nil {
		var r OperationRequest
		if err := db.Where("org_id = ? AND id = ?", c.OrgID, *c.OperationID).First(&r).Error; err == nil {
			d.Operation = &r
		}
	}
	if c.VisitID != nil {
		var vv Visit
		if err := db.Where("org_id = ? AND id = ?", c.OrgID, *c.VisitID).First(&vv).Error; err == nil {
			d.Visit = &vv
		}
	}
	return d, nil
}

// ComplaintReplyFacts is what an email about a staff line on a complaint
// says.
type ComplaintReplyFacts struct {
	Org       Organization
	Complaint Complaint
	Line      ComplaintLine
}

// ComplaintReplyFacts loads outbox event eventID of orgID (a staff line
// on a complaint) with its line and complaint. What no longer exists is
// ErrNotFound.
func (s *Store) ComplaintReplyFacts(ctx context.Context, sc Scope, orgID, eventID int64) (*ComplaintReplyFacts, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "complaint reply facts")
	}
	db := s.db.WithContext(ctx)
	var ev OutboxEvent
	if err := db.Where("org_id = ? AND id = ? AND kind = ?", orgID, eventID, EventComplaintReply).First(&ev).Error; err != nil {
		return nil, wrap(notFound(err), "complaint reply facts")
	}
	f := &ComplaintReplyFacts{}
	if err := db.Where("org_id = ? AND id = ?", orgID, ev.RefID).First(&f.Line).Error; err != nil {
		return nil, wrap(notFound(err), "complaint reply facts")
	}
	if err := db.Where("org_id = ? AND id = ?", orgID, f.Line.ComplaintID).First(&f.Complaint).Error; err != nil {
		return nil, wrap(notFound(err), "complaint reply facts")
	}
	if err := db.First(&f.Org, orgID).Error; err != nil {
		return nil, wrap(notFound(err), "complaint reply facts")
	}
	return f, nil
}

// complaintRecipients is the customer user who complains about the
// complaint of staff line lineID, if still enabled.
func complaintRecipients(tx *gorm.DB, orgID, lineID int64) ([]emailRecipient, error) {
	var l ComplaintLine
	if err := tx.Where("org_id = ? AND id = ?", orgID, lineID).First(&l).Error; err != nil {
		return nil, optionalRow(err)
	}
	if !l.Staff {
		return nil, nil
	}
	var c Complaint
	if err := tx.Select("id", "filed_by").Where("org_id = ? AND id = ?", orgID, l.ComplaintID).First(&c).Error; err != nil {
		return nil, optionalRow(err)
	}
	return customerUserRecipients(tx, orgID, c.FiledBy)
}

// ComplaintOutage is an outage a complaint may concern, named by its
// device.
type ComplaintOutage struct {
	ID        int64
	Device    string
	StartedAt time.Time
}

// ComplaintChoices are what a complaint of organization orgID may
// concern: its newest outages, operation requests and visits.
type ComplaintChoices struct {
	Outages    []ComplaintOutage
	Operations []OperationRequest
	Visits     []Visit
}

// ComplaintChoicesOf lists the newest 50 outages, operation requests and
// visits of organization orgID for the complaint form.
func (s *Store) ComplaintChoicesOf(ctx context.Context, sc Scope, orgID int64) (*ComplaintChoices, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "complaint choices")
	}
	db := s.db.WithContext(ctx)
	ch := &ComplaintChoices{}
	if err := db.Table("outages").Select("outages.id, devices.name AS device, outages.started_at").
		Joins("JOIN devices ON devices.id = outages.device_id").Where("outages.org_id = ?", orgID).
		Order("outages.started_at DESC, outages.id DESC").Limit(50).Scan(&ch.Outages).Error; err != nil {
		return nil, wrap(err, "complaint choices")
	}
	if err := db.Select("id", "ref", "number_year", "number_seq", "title").Where("org_id = ?", orgID).
		Order("created_at DESC, id DESC").Limit(50).Find(&ch.Operations).Error; err != nil {
		return nil, wrap(err, "complaint choices")
	}
	if err := db.Select("id", "ref", "number_year", "number_seq", "planned_from").Where("org_id = ?", orgID).
		Order("planned_from DESC, id DESC").Limit(50).Find(&ch.Visits).Error; err != nil {
		return nil, wrap(err, "complaint choices")
	}
	return ch, nil
}
