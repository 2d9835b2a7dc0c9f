package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// The customer's side of a visit after asking: changing it, cancelling
// it, and the lists of visits; and the sites admins keep.

// lockVisit reads visit id of orgID for update; another organization's
// is not found.
func lockVisit(tx *gorm.DB, orgID, id int64) (*Visit, error) {
	var v Visit
	if err := forUpdate(tx).Where("org_id = ? AND id = ?", orgID, id).First(&v).Error; err != nil {
		return nil, notFound(err)
	}
	return &v, nil
}

// checkChangeable refuses a change to a visit that is decided against,
// cancelled, or that somebody has already entered on.
func checkChangeable(tx *gorm.DB, v *Visit) error {
	if v.State != VisitPending && v.State != VisitApproved {
		return Invalid("state", "visits.error.closed")
	}
	var in int64
	if err := tx.Model(&Visitor{}).Where("visit_id = ? AND checked_in_at IS NOT NULL", v.ID).Count(&in).Error; err != nil {
		return err
	}
	if in > 0 {
		return Invalid("state", "visits.error.entered")
	}
	return nil
}

// VisitChangeable reports whether the customer may still change or cancel
// v: it is pending or approved and nobody has checked in on it.
func (s *Store) VisitChangeable(ctx context.Context, v *Visit) (bool, error) {
	err := checkChangeable(s.db.WithContext(ctx), v)
	if len(Validations(err)) > 0 {
		return false, nil
	}
	return err == nil, wrap(err, "visit changeable")
}

// UpdateVisit replaces what a customer asked for in visit id of orgID
// (pending or approved, nobody checked in yet) under the same rules as
// CreateVisit, the visit itself left out of the site's capacity. An
// approved visit goes back to reception: pending again, the decision
// cleared, the escort kept as a suggestion. The audit record says what
// changed, never an identity number or phone.
func (s *Store) UpdateVisit(ctx context.Context, actor Actor, orgID, id int64, in VisitInput) (*Visit, error) {
	now := s.now()
	if err := in.validate(s.visitRules, now, s.zone); err != nil {
		return nil, wrap(err, "update visit")
	}
	visitors, err := s.sealVisitors(in.Visitors)
	if err != nil {
		return nil, wrap(err, "update visit")
	}
	var v *Visit
	err = s.rederiveTx(ctx, func(tx *gorm.DB) error {
		var err error
		if v, err = lockVisit(tx, orgID, id); err != nil {
			return err
		}
		if err := checkChangeable(tx, v); err != nil {
			return err
		}
		site, opID, err := resolveVisit(tx, orgID, &in)
		if err != nil {
			return err
		}
		if err := s.checkSite(tx, site, in.PlannedFrom, in.PlannedTo, len(in.Visitors), v.ID); err != nil {
			return err
		}
		changed, err := s.visitChanges(tx, v, &in, opID)
		if err != nil {
			return err
		}
		before := *v
		v.SiteID, v.Emergency, v.Activity, v.Reason = site.ID, in.Emergency, in.Activity, in.Reason
		v.PlannedFrom, v.PlannedTo, v.OperationID, v.UpdatedAt = in.PlannedFrom, in.PlannedTo, opID, now
		reopened := v.State == VisitApproved
		if reopened {
			v.State, v.DecidedBy, v.DecidedAt, v.DecisionNote = VisitPending, nil, nil, ""
		}
		if err := tx.Model(&Visit{}).Where("id = ?", v.ID).Updates(map[string]any{
			"site_id": v.SiteID, "emergency": v.Emergency, "activity": v.Activity, "reason": v.Reason,
			"planned_from": v.PlannedFrom, "planned_to": v.PlannedTo, "operation_id": v.OperationID,
			"state": v.State, "decided_by": v.DecidedBy, "decided_at": v.DecidedAt, "decision_note": v.DecisionNote,
			"updated_at": now}).Error; err != nil {
			return err
		}
		for _, row := range []any{&Visitor{}, &VisitTarget{}, &VisitNeed{}} {
			if err := tx.Where("visit_id = ?", v.ID).Delete(row).Error; err != nil {
				return err
			}
		}
		if err := visitParts(tx, v, visitors, &in); err != nil {
			return err
		}
		detail := map[string]any{"visit": v.Number(), "changed": changed, "visitors": len(visitors)}
		if slices.Contains(changed, "planned") {
			detail["from"], detail["to"] = v.PlannedFrom, v.PlannedTo
			detail["was_from"], detail["was_to"] = before.PlannedFrom, before.PlannedTo
		}
		if reopened {
			detail["reopened"] = true
		}
		return s.audit(tx, actor, AuditVisitChanged, "visit", &v.ID, &orgID, detail)
	})
	if err != nil {
		return nil, wrap(err, "update visit")
	}
	return v, nil
}

// visitChanges names what in differs from visit v as stored: "site",
// "activity", "reason", "emergency", "planned", "operation", "visitors",
// "targets", "needs". Visitors are compared opened, so a changed identity
// number counts without being written anywhere.
func (s *Store) visitChanges(tx *gorm.DB, v *Visit, in *VisitInput, opID *int64) ([]string, error) {
	var out []string
	add := func(name string, differs bool) {
		if differs {
			out = append(out, name)
		}
	}
	add("site", v.SiteID != in.SiteID)
	add("activity", v.Activity != in.Activity)
	add("reason", v.Reason != in.Reason)
	add("emergency", v.Emergency != in.Emergency)
	add("planned", !v.PlannedFrom.Equal(in.PlannedFrom) || !v.PlannedTo.Equal(in.PlannedTo))
	add("operation", (v.OperationID == nil) != (opID == nil) || (opID != nil && *v.OperationID != *opID))
	var old []Visitor
	if err := tx.Where("visit_id = ?", v.ID).Order("seq").Find(&old).Error; err != nil {
		return nil, err
	}
	same := len(old) == len(in.Visitors)
	for i := 0; same && i < len(old); i++ {
		o, n := old[i], in.Visitors[i]
		id, err := s.piiKey.Open(o.IDSealed)
		if err != nil {
			return nil, fmt.Errorf("open visitor %d: %w", o.ID, err)
		}
		phone, err := s.piiKey.Open(o.PhoneSealed)
		if err != nil {
			return nil, fmt.Errorf("open visitor %d: %w", o.ID, err)
		}
		same = o.Name == n.Name && o.Company == n.Company && o.IDType == n.IDType && id == n.IDNumber && phone == n.Phone && o.Locale == n.Locale
	}
	add("visitors", !same)
	var targets []VisitTarget
	if err := tx.Where("visit_id = ?", v.ID).Find(&targets).Error; err != nil {
		return nil, err
	}
	var devs []int64
	var cabs []string
	for _, t := range targets {
		if t.DeviceID != nil {
			devs = append(devs, *t.DeviceID)
		} else {
			cabs = append(cabs, t.Cabinet)
		}
	}
	slices.Sort(devs)
	slices.Sort(cabs)
	add("targets", !slices.Equal(devs, in.DeviceIDs) || !slices.Equal(cabs, in.Cabinets))
	var needs []VisitNeed
	if err := tx.Where("visit_id = ?", v.ID).Find(&needs).Error; err != nil {
		return nil, err
	}
	sameNeeds := len(needs) == len(in.Needs)
	for _, n := range needs {
		if note, ok := in.Needs[n.Need]; !ok || note != n.Note {
			sameNeeds = false
		}
	}
	add("needs", !sameNeeds)
	return out, nil
}

// CancelVisit lets the customer call off visit id of orgID while it is
// pending or approved and nobody has checked in; reason is optional.
func (s *Store) CancelVisit(ctx context.Context, actor Actor, orgID, id int64, reason string) error {
	reason = strings.TrimSpace(reason)
	if err := CheckLine("reason", reason, 2000); err != nil {
		return wrap(err, "cancel visit")
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		v, err := lockVisit(tx, orgID, id)
		if err != nil {
			return err
		}
		if err := checkChangeable(tx, v); err != nil {
			return err
		}
		now := s.now()
		if err := tx.Model(&Visit{}).Where("id = ?", v.ID).Updates(map[string]any{
			"state": VisitCancelled, "cancelled_at": now, "updated_at": now}).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditVisitCancelled, "visit", &v.ID, &orgID, map[string]any{
			"visit": v.Number(), "from": v.State, "reason": reason})
	})
	return wrapOp("cancel visit", id, err)
}

// Which visits a VisitFilter's Period keeps.
const (
	// VisitsUpcoming: pending or approved and not yet over, soonest first.
	VisitsUpcoming = "upcoming"
	// VisitsPast: over, refused or cancelled, latest first.
	VisitsPast = "past"
)

// VisitFilter narrows ListVisits. From and To bound the planned entry
// (From inclusive, To exclusive); zero is unbounded.
type VisitFilter struct {
	OrgID       int64  // 0: every organization the scope sees
	State       string // "" any
	Period      string // VisitsUpcoming, VisitsPast or "" (all, latest first)
	OperationID int64  // only the visits linked to this operation request
	From, To    time.Time
	Limit       int // at most 500; 0 is 200
	Offset      int
	// After resumes the list of every period ("", latest first) after its
	// last row: a keyset page, the visits planned earlier than After's,
	// or at the same time with a lower ID.
	After *VisitKey
}

// VisitKey is where a keyset page of visits ends.
type VisitKey struct {
	PlannedFrom time.Time `json:"t"`
	ID          int64     `json:"id"`
}

// VisitRow is one line of a list of visits: the visit, how many visitors
// it names, and what actually happened at the door.
type VisitRow struct {
	Visit
	Visitors int
	// FirstIn is the first check-in; LastOut the last check-out once
	// everyone who came in has left (nil while someone is inside).
	FirstIn *time.Time
	LastOut *time.Time
	Inside  int // visitors checked in and not yet out
}

// ListVisits lists the visits sc sees, as f narrows them.
func (s *Store) ListVisits(ctx context.Context, sc Scope, f VisitFilter) ([]VisitRow, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 200
	}
	db := s.db.WithContext(ctx)
	q := sc.apply(db.Model(&Visit{}), "org_id")
	if f.OrgID != 0 {
		q = q.Where("org_id = ?", f.OrgID)
	}
	if f.State != "" {
		q = q.Where("state = ?", f.State)
	}
	if f.OperationID != 0 {
		q = q.Where("operation_id = ?", f.OperationID)
	}
	if !f.From.IsZero() {
		q = q.Where("planned_from >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		q = q.Where("planned_from < ?", f.To.UTC())
	}
	if k := f.After; k != nil && f.Period == "" {
		at := k.PlannedFrom.UTC()
		q = q.Where("(planned_from < ? OR (planned_from = ? AND id < ?))", at, at, k.ID)
	}
	now := s.now().UTC()
	live := []string{VisitPending, VisitApproved}
	switch f.Period {
	case VisitsUpcoming:
		q = q.Where("state IN ? AND planned_to > ?", live, now).Order("planned_from, id")
	case VisitsPast:
		q = q.Where("state NOT IN ? OR planned_to <= ?", live, now).Order("planned_from DESC, id DESC")
	default:
		q = q.Order("planned_from DESC, id DESC")
	}
	var vs []Visit
	if err := q.Limit(f.Limit).Offset(max(f.Offset, 0)).Find(&vs).Error; err != nil {
		return nil, wrap(err, "list visits")
	}
	ids := make([]int64, len(vs))
	for i, v := range vs {
		ids[i] = v.ID
	}
	var doors []Visitor
	if err := findIn(db, ids, &doors, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Select("visit_id", "checked_in_at", "checked_out_at").Where("visit_id IN ?", chunk)
	}); err != nil {
		return nil, wrap(err, "list visits")
	}
	byVisit := map[int64]*VisitRow{}
	out := make([]VisitRow, len(vs))
	for i, v := range vs {
		out[i].Visit = v
		byVisit[v.ID] = &out[i]
	}
	lastOut := map[int64]*time.Time{}
	for _, d := range doors {
		r := byVisit[d.VisitID]
		r.Visitors++
		if d.CheckedInAt != nil && (r.FirstIn == nil || d.CheckedInAt.Before(*r.FirstIn)) {
			r.FirstIn = d.CheckedInAt
		}
		if d.CheckedInAt != nil && d.CheckedOutAt == nil {
			r.Inside++
		}
		if d.CheckedOutAt != nil && (lastOut[d.VisitID] == nil || d.CheckedOutAt.After(*lastOut[d.VisitID])) {
			lastOut[d.VisitID] = d.CheckedOutAt
		}
	}
	for i := range out {
		if out[i].Inside == 0 {
			out[i].LastOut = lastOut[out[i].ID]
		}
	}
	return out, nil
}

// SiteInput is the sites form: Open and Close are "HH:MM" in the portal's
// time zone, ignored when AllDay; MaxInside is a whole number, 0 or empty
// for no limit.
type SiteInput struct {
	Name      string
	Address   string
	Open      string
	Close     string
	AllDay    bool
	MaxInside string
}

// parseClock reads "HH:MM" as minutes after midnight.
func parseClock(s string) (int, bool) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}

// validate checks the form and returns the site's fields.
func (in *SiteInput) validate() (open, closing, maxInside int, err error) {
	var p problems
	in.Name, in.Address = strings.TrimSpace(in.Name), strings.TrimSpace(in.Address)
	if in.Name == "" {
		p.add(Invalid("name", "error.required"))
	}
	p.add(CheckLine("name", in.Name, 100))
	p.add(CheckLine("address", in.Address, 200))
	if !in.AllDay {
		var ok1, ok2 bool
		if open, ok1 = parseClock(in.Open); !ok1 {
			p.add(Invalid("open", "sites.error.clock"))
		}
		if closing, ok2 = parseClock(in.Close); !ok2 {
			p.add(Invalid("close", "sites.error.clock"))
		}
		if ok1 && ok2 && closing <= open {
			p.add(Invalid("close", "sites.error.close_before_open"))
		}
	}
	if m := strings.TrimSpace(in.MaxInside); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 0 || n > 100000 {
			p.add(Invalid("max_inside", "sites.error.capacity"))
		}
		maxInside = n
	}
	return open, closing, maxInside, p.err()
}

// GetSite returns site id.
func (s *Store) GetSite(ctx context.Context, id int64) (*Site, error) {
	var site Site
	if err := s.db.WithContext(ctx).First(&site, id).Error; err != nil {
		return nil, wrap(notFound(err), "get site")
	}
	return &site, nil
}

// SaveSite adds a site (id 0) or changes site id; names are unique.
func (s *Store) SaveSite(ctx context.Context, actor Actor, id int64, in SiteInput) (*Site, error) {
	open, closing, maxInside, err := in.validate()
	if err != nil {
		return nil, wrap(err, "save site")
	}
	var site Site
	err = s.tx(ctx, func(tx *gorm.DB) error {
		site = Site{}
		now := s.now()
		var before *Site
		if id != 0 {
			if err := forUpdate(tx).First(&site, id).Error; err != nil {
				return notFound(err)
			}
			b := site
			before = &b
		} else {
			site.CreatedAt = now
		}
		site.Name, site.Address, site.OpenMinute, site.CloseMinute, site.MaxInside, site.UpdatedAt =
			in.Name, in.Address, open, closing, maxInside, now
		if err := tx.Save(&site).Error; err != nil {
			return conflict(err)
		}
		detail := siteDetail(site)
		if before != nil {
			detail["before"] = siteDetail(*before)
		}
		return s.audit(tx, actor, AuditSiteSaved, "site", &site.ID, nil, detail)
	})
	if errors.Is(err, ErrConflict) {
		return nil, wrap(Invalid("name", "sites.error.name_taken"), "save site")
	}
	if err != nil {
		return nil, wrap(err, "save site")
	}
	return &site, nil
}

func siteDetail(s Site) map[string]any {
	return map[string]any{"name": s.Name, "address": s.Address, "open": clockMinute(s.OpenMinute), "close": clockMinute(s.CloseMinute),
		"max_inside": s.MaxInside}
}
