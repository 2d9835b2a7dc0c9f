package models

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Reception's side of visits (docs/agreement.md, clause 9): the queue of
// requests waiting for a decision, and the decision itself, approval with
// an escort from the staff or refusal with a reason, each emailed to the
// customer user who asked.

// Outbox events of reception's decisions; the requester is emailed
// (customerEmailDeliveries). Their payload is a VisitDecision, so that
// the email says what was decided even if the visit changes before it
// goes out.
const (
	EventVisitApproved = "visit.approved"
	EventVisitRefused  = "visit.refused"
)

// EscortRoles are the staff roles an escort may have.
var EscortRoles = []Role{RoleReception, RoleEngineer, RoleService, RoleAdmin}

// QueueItem is a visit waiting for reception, with what its line shows.
type QueueItem struct {
	Visit
	OrgName      string
	VisitorCount int
	Requester    string // the requester's name, "" when unknown
	Escort       string // the escort's name, "" before one is assigned
}

// ChangedAfterApproval reports a visit the customer changed after it was
// approved: it came back to reception with the escort kept as a
// suggestion and the decision cleared.
func (v *Visit) ChangedAfterApproval() bool {
	return v.State == VisitPending && v.EscortID != nil
}

// ReceptionQueue returns the pending visits sc sees, at most limit of
// them: emergencies first, then by entry time, soonest first; and how many
// are pending in all.
func (s *Store) ReceptionQueue(ctx context.Context, sc Scope, limit int) ([]QueueItem, int, error) {
	db := s.db.WithContext(ctx)
	var total int64
	if err := sc.apply(db.Model(&Visit{}), "org_id").Where("state = ?", VisitPending).Count(&total).Error; err != nil {
		return nil, 0, wrap(err, "reception queue")
	}
	var out []QueueItem
	err := queueItems(db, sc).Where("visits.state = ?", VisitPending).
		Order("visits.emergency DESC, visits.planned_from, visits.id").Limit(limit).Scan(&out).Error
	if err != nil {
		return nil, 0, wrap(err, "reception queue")
	}
	return out, int(total), nil
}

// queueItems selects visits sc sees as QueueItems.
func queueItems(db *gorm.DB, sc Scope) *gorm.DB {
	// organizations.id is the visit's organization, joined below.
	return sc.apply(db.Table("visits"), "organizations.id").
		Select("visits.*, organizations.name AS org_name, COALESCE(requesters.name, '') AS requester, " +
			"COALESCE(escorts.name, '') AS escort, " +
			"(SELECT COUNT(*) FROM visit_visitors WHERE visit_visitors.visit_id = visits.id) AS visitor_count").
		Joins("JOIN organizations ON organizations.id = visits.org_id").
		Joins("LEFT JOIN users requesters ON requesters.id = visits.requested_by").
		Joins("LEFT JOIN users escorts ON escorts.id = visits.escort_id")
}

// UpcomingVisits returns the approved visits sc sees that are not over at
// now, by entry, at most limit of them.
func (s *Store) UpcomingVisits(ctx context.Context, sc Scope, now time.Time, limit int) ([]QueueItem, error) {
	utc(&now)
	var out []QueueItem
	err := queueItems(s.db.WithContext(ctx), sc).Where("visits.state = ? AND visits.planned_to > ?", VisitApproved, now).
		Order("visits.planned_from, visits.id").Limit(limit).Scan(&out).Error
	return out, wrap(err, "upcoming visits")
}

// VisitorsExpected counts the visitors of approved visits sc sees whose
// planned time overlaps from..to (reception's "expected today").
func (s *Store) VisitorsExpected(ctx context.Context, sc Scope, from, to time.Time) (int, error) {
	utc(&from, &to)
	var n int64
	err := sc.apply(s.db.WithContext(ctx).Model(&Visitor{}), "visit_visitors.org_id").
		Joins("JOIN visits ON visits.id = visit_visitors.visit_id").
		Where("visits.state = ? AND visits.planned_from < ? AND visits.planned_to > ?", VisitApproved, to, from).
		Count(&n).Error
	return int(n), wrap(err, "visitors expected")
}

// Escort is a staff member who may escort visitors.
type Escort struct {
	ID   int64
	Name string
	Role Role
}

// ListEscorts lists the enabled staff who may escort visitors, by name.
func (s *Store) ListEscorts(ctx context.Context) ([]Escort, error) {
	var out []Escort
	err := s.db.WithContext(ctx).Model(&User{}).Select("id", "name", "role").
		Where("role IN ? AND disabled_at IS NULL", EscortRoles).Order("name, id").Limit(1000).Find(&out).Error
	return out, wrap(err, "list escorts")
}

// EscortedVisit is an approved visit an escort is assigned to.
type EscortedVisit struct {
	ID          int64
	Ref         string
	Number      string
	OrgName     string
	PlannedFrom time.Time
	PlannedTo   time.Time
}

// EscortBusy is the warning that the chosen escort already escorts an
// approved visit at an overlapping time; approving anyway needs the
// confirmation (ApproveInput.Confirmed).
type EscortBusy struct {
	Escort string
	Visits []EscortedVisit
}

func (e *EscortBusy) Error() string {
	ns := make([]string, len(e.Visits))
	for i, v := range e.Visits {
		ns[i] = v.Number
	}
	return fmt.Sprintf("escort %s already escorts %s at that time", e.Escort, strings.Join(ns, ", "))
}

// EscortOverlaps lists the approved visits escort escortID is assigned to
// that overlap from..to, leaving out visit except (0 for none), by entry.
// Staff only: it reads across organizations.
func (s *Store) EscortOverlaps(ctx context.Context, escortID int64, from, to time.Time, except int64) ([]EscortedVisit, error) {
	utc(&from, &to)
	out, err := escortOverlaps(s.db.WithContext(ctx), escortID, from, to, except)
	return out, wrap(err, "escort overlaps")
}

func escortOverlaps(tx *gorm.DB, escortID int64, from, to time.Time, except int64) ([]EscortedVisit, error) {
	var rows []struct {
		Visit
		OrgName string
	}
	err := tx.Table("visits").Select("visits.*, organizations.name AS org_name").
		Joins("JOIN organizations ON organizations.id = visits.org_id").
		Where("visits.escort_id = ? AND visits.state = ? AND visits.planned_from < ? AND visits.planned_to > ? AND visits.id <> ?",
			escortID, VisitApproved, to.UTC(), from.UTC(), except).
		Order("visits.planned_from, visits.id").Limit(100).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]EscortedVisit, len(rows))
	for i, r := range rows {
		out[i] = EscortedVisit{ID: r.ID, Ref: r.Ref, Number: r.Number(), OrgName: r.OrgName, PlannedFrom: r.PlannedFrom, PlannedTo: r.PlannedTo}
	}
	return out, nil
}

// ApproveInput is reception's approval form: the escort, optionally
// adjusted times with the note that says why, and whether an escort
// overlap was seen and accepted.
type ApproveInput struct {
	EscortID  int64
	From, To  *time.Time // adjusted entry and exit; nil keeps the requested one
	Note      string
	Confirmed bool // approve even though the escort is busy at that time
	// AsOf is when the visit was last changed as the approving page showed
	// it (Visit.UpdatedAt); a visit changed since is not approved unseen.
	// Zero checks nothing.
	AsOf time.Time
}

// unchangedSince refuses a decision on v taken from a page drawn before v
// last changed (the customer may edit a pending visit at any time).
func unchangedSince(v *Visit, asOf time.Time) error {
	if !asOf.IsZero() && v.UpdatedAt.After(asOf) {
		return Invalid("decision", "reception.error.changed")
	}
	return nil
}

// VisitDecision is the payload of a decision's outbox event: what the
// requester is told.
type VisitDecision struct {
	From     time.Time `json:"from,omitzero"`
	To       time.Time `json:"to,omitzero"`
	Adjusted bool      `json:"adjusted,omitempty"`
	EscortID int64     `json:"escort_id,omitempty"`
	Note     string    `json:"note,omitempty"` // the adjustment's note or the refusal's reason
}

// ApproveVisit approves pending visit id of orgID: the escort must be an
// enabled staff member; adjusted times need a note and keep to the site's
// visiting hours and capacity (not the minimum notice: reception decides);
// an escort already escorting an overlapping approved visit is an
// *EscortBusy unless in.Confirmed. The requester is emailed.
func (s *Store) ApproveVisit(ctx context.Context, actor Actor, orgID, id int64, in ApproveInput) (*Visit, error) {
	in.Note = strings.TrimSpace(in.Note)
	now := s.now()
	var p problems
	if in.EscortID <= 0 {
		p.add(Invalid("escort", "reception.error.escort_required"))
	}
	p.add(CheckText("note", in.Note, 2000))
	in.From, in.To = utcPtr(in.From), utcPtr(in.To)
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"planned_from", in.From}, {"planned_to", in.To}} {
		if f.t != nil {
			p.add(CheckDate(f.name, *f.t, s.zone))
		}
	}
	if err := p.err(); err != nil {
		return nil, wrap(err, "approve visit")
	}
	var v Visit
	err := s.rederiveTx(ctx, func(tx *gorm.DB) error {
		v = Visit{}
		if err := forUpdate(tx).Where("org_id = ? AND id = ?", orgID, id).First(&v).Error; err != nil {
			return notFound(err)
		}
		if v.State != VisitPending {
			return Invalid("decision", "reception.error.not_pending")
		}
		if err := unchangedSince(&v, in.AsOf); err != nil {
			return err
		}
		from, to := v.PlannedFrom, v.PlannedTo
		if in.From != nil {
			from = *in.From
		}
		if in.To != nil {
			to = *in.To
		}
		adjusted := !from.Equal(v.PlannedFrom) || !to.Equal(v.PlannedTo)
		var p problems
		var escort User
		if err := tx.Select("id", "name").Where("id = ? AND role IN ? AND disabled_at IS NULL", in.EscortID, EscortRoles).
			First(&escort).Error; err != nil {
			if err = notFound(err); err != ErrNotFound {
				return err
			}
			p.add(Invalid("escort", "reception.error.escort"))
		}
		if adjusted {
			if in.Note == "" {
				p.add(Invalid("note", "reception.error.note_required"))
			}
			switch {
			case !to.After(from):
				p.add(Invalid("planned_to", "visits.error.exit_before_entry"))
			case to.Sub(from) > 7*24*time.Hour:
				p.add(Invalid("planned_to", "visits.error.too_long", Number(7)))
			case !to.After(now):
			default:
				var site Site
				if err := tx.First(&site, v.SiteID).Error; err != nil {
					return err
				}
				var n int64
				if err := tx.Model(&Visitor{}).Where("visit_id = ?", v.ID).Count(&n).Error; err != nil {
					return err
				}
				p.add(s.checkSite(tx, &site, from, to, int(n), v.ID))
			}
		}
		if !to.After(now) {
			p.add(Invalid("planned_to", "reception.error.exit_past"))
		}
		if err := p.err(); err != nil {
			return err
		}
		busy, err := escortOverlaps(tx, escort.ID, from, to, v.ID)
		if err != nil {
			return err
		}
		if len(busy) > 0 && !in.Confirmed {
			return &EscortBusy{Escort: escort.Name, Visits: busy}
		}
		before := map[string]any{"from": v.PlannedFrom, "to": v.PlannedTo}
		r := tx.Model(&Visit{}).Where("id = ? AND state = ?", v.ID, VisitPending).Updates(map[string]any{
			"state": VisitApproved, "escort_id": escort.ID, "planned_from": from, "planned_to": to,
			"decided_by": actor.UserID, "decided_at": now, "decision_note": in.Note, "updated_at": now})
		if r.Error != nil {
			return r.Error
		}
		v.State, v.EscortID, v.PlannedFrom, v.PlannedTo = VisitApproved, &escort.ID, from, to
		v.DecidedBy, v.DecidedAt, v.DecisionNote, v.UpdatedAt = actor.UserID, &now, in.Note, now
		payload, err := json.Marshal(VisitDecision{From: from, To: to, Adjusted: adjusted, EscortID: escort.ID, Note: in.Note})
		if err != nil {
			return err
		}
		if err := s.outbox(tx, EventVisitApproved, orgID, v.ID, string(payload)); err != nil {
			return err
		}
		detail := map[string]any{"visit": v.Number(), "escort": escort.Name, "escort_id": escort.ID,
			"from": from, "to": to, "adjusted": adjusted}
		if adjusted {
			detail["requested"] = before
			detail["note"] = in.Note
		}
		if len(busy) > 0 {
			ns := make([]string, len(busy))
			for i, b := range busy {
				ns[i] = b.Number
			}
			detail["escort_overlaps"] = ns
		}
		return s.audit(tx, actor, AuditVisitApproved, "visit", &v.ID, &orgID, detail)
	})
	if err != nil {
		return nil, wrap(err, "approve visit")
	}
	return &v, nil
}

// RefuseVisit refuses pending visit id of orgID with a reason, which the
// requester is emailed.
func (s *Store) RefuseVisit(ctx context.Context, actor Actor, orgID, id int64, reason string, asOf time.Time) (*Visit, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, wrap(Invalid("reason", "reception.error.reason_required"), "refuse visit")
	}
	if err := CheckText("reason", reason, 2000); err != nil {
		return nil, wrap(err, "refuse visit")
	}
	now := s.now()
	var v Visit
	err := s.tx(ctx, func(tx *gorm.DB) error {
		v = Visit{}
		if err := forUpdate(tx).Where("org_id = ? AND id = ?", orgID, id).First(&v).Error; err != nil {
			return notFound(err)
		}
		if v.State != VisitPending {
			return Invalid("decision", "reception.error.not_pending")
		}
		if err := unchangedSince(&v, asOf); err != nil {
			return err
		}
		r := tx.Model(&Visit{}).Where("id = ? AND state = ?", v.ID, VisitPending).Updates(map[string]any{
			"state": VisitRefused, "escort_id": nil, "decided_by": actor.UserID, "decided_at": now,
			"decision_note": reason, "updated_at": now})
		if r.Error != nil {
			return r.Error
		}
		v.State, v.EscortID, v.DecidedBy, v.DecidedAt, v.DecisionNote, v.UpdatedAt = VisitRefused, nil, actor.UserID, &now, reason, now
		payload, err := json.Marshal(VisitDecision{From: v.PlannedFrom, To: v.PlannedTo, Note: reason})
		if err != nil {
			return err
		}
		if err := s.outbox(tx, EventVisitRefused, orgID, v.ID, string(payload)); err != nil {
			return err
		}
		return s.audit(tx, actor, AuditVisitRefused, "visit", &v.ID, &orgID, map[string]any{"visit": v.Number(), "reason": reason})
	})
	if err != nil {
		return nil, wrap(err, "refuse visit")
	}
	return &v, nil
}

// VisitDecisionFacts is what an email about reception's decision says.
type VisitDecisionFacts struct {
	Org      Organization
	Visit    Visit
	Site     Site
	Decision VisitDecision
	Escort   string // the escort's name
}

// VisitDecisionFacts loads outbox event eventID of orgID (a visit's
// approval or refusal) with its visit. What no longer exists is
// ErrNotFound.
func (s *Store) VisitDecisionFacts(ctx context.Context, sc Scope, orgID, eventID int64) (*VisitDecisionFacts, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "visit decision facts")
	}
	db := s.db.WithContext(ctx)
	var ev OutboxEvent
	if err := db.Where("org_id = ? AND id = ? AND kind IN ?", orgID, eventID, []string{EventVisitApproved, EventVisitRefused}).
		First(&ev).Error; err != nil {
		return nil, wrap(notFound(err), "visit decision facts")
	}
	f := &VisitDecisionFacts{}
	if err := json.Unmarshal([]byte(ev.Payload), &f.Decision); err != nil {
		return nil, fmt.Errorf("models: visit decision facts of event %d: %w", eventID, err)
	}
	if err := db.Where("org_id = ? AND id = ?", orgID, ev.RefID).First(&f.Visit).Error; err != nil {
		return nil, wrap(notFound(err), "visit decision facts")
	}
	if err := optionalRow(db.First(&f.Site, f.Visit.SiteID).Error); err != nil {
		return nil, fmt.Errorf("models: visit decision facts of event %d: %w", eventID, err)
	}
	if err := optionalRow(db.First(&f.Org, orgID).Error); err != nil {
		return nil, fmt.Errorf("models: visit decision facts of event %d: %w", eventID, err)
	}
	if f.Decision.EscortID != 0 {
		var u User
		if err := optionalRow(db.Select("id", "name").First(&u, f.Decision.EscortID).Error); err != nil {
			return nil, fmt.Errorf("models: visit decision facts of event %d: %w", eventID, err)
		}
		f.Escort = u.Name
	}
	return f, nil
}

// visitRecipients is the customer user who asked for visit visitID of
// orgID, if still enabled.
func visitRecipients(tx *gorm.DB, orgID, visitID int64) ([]emailRecipient, error) {
	var v Visit
	if err := tx.Select("id", "requested_by").Where("org_id = ? AND id = ?", orgID, visitID).First(&v).Error; err != nil {
		return nil, optionalRow(err)
	}
	return customerUserRecipients(tx, orgID, v.RequestedBy)
}
