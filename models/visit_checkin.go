package models

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/colo-portal/portal/models/passtoken"
)

// Visitor passes, check-in and check-out (docs/agreement.md, clause 9):
// each visitor of an approved visit gets a pass whose QR code holds a
// signed token (models/passtoken) naming that visitor on that visit;
// reception scans it (or picks the visitor by hand), hands out a badge
// and notes the escort present; at check-out the time and the badge's
// return are recorded.

// passWindow is when a pass of v may be used to check in: from an hour
// before the start of the planned entry day (a visitor may arrive early
// for an 08:00 entry) until the end of the planned exit day, both in the
// portal's time zone. A visit over several days is covered on each of
// them.
func (s *Store) passWindow(v *Visit) (from, to time.Time) {
	f := v.PlannedFrom.In(s.zone)
	t := v.PlannedTo.In(s.zone)
	from = time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, s.zone)
	to = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, s.zone)
	return from.UTC(), to.UTC()
}

// PassTokens returns the pass token of each visitor of v (by visitor ID),
// which the caller got through a scoped read. Only an approved visit has
// passes; any other is ErrNotFound.
func (s *Store) PassTokens(ctx context.Context, sc Scope, v *Visit) (map[int64]string, error) {
	if !sc.Allows(v.OrgID) || v.State != VisitApproved {
		return nil, wrap(ErrNotFound, "pass tokens")
	}
	var ids []int64
	if err := s.db.WithContext(ctx).Model(&Visitor{}).Where("visit_id = ?", v.ID).Order("seq").Pluck("id", &ids).Error; err != nil {
		return nil, wrap(err, "pass tokens")
	}
	from, to := s.passWindow(v)
	out := make(map[int64]string, len(ids))
	for _, id := range ids {
		out[id] = s.passKey.Sign(passtoken.Claims{VisitID: v.ID, VisitorID: id, NotBefore: from, Expires: to})
	}
	return out, nil
}

// CheckInResult names who was checked in, for reception's message.
type CheckInResult struct {
	VisitorID   int64
	Name        string
	VisitNumber string
	OrgName     string
	Badge       string
	Escort      string // the escort present, "" if none
}

// CheckInByToken checks in the visitor a scanned or pasted pass token
// names. The token must be genuine and current, name a visitor of the
// visit it names, and that visit must be approved with today among its
// days; the visitor must not be in yet. Every refusal is a validation
// error on the field "token" with its own key (checkin.error.*); those
// about a genuine token carry the visitor's name as their argument.
// escortPresent 0 is the visit's assigned escort.
func (s *Store) CheckInByToken(ctx context.Context, actor Actor, token, badge string, escortPresent int64) (*CheckInResult, error) {
	now := s.now()
	c, err := s.passKey.Verify(token, now)
	switch {
	case errors.Is(err, passtoken.ErrMalformed):
		return nil, Invalid("token", "checkin.error.malformed")
	case errors.Is(err, passtoken.ErrSignature):
		return nil, Invalid("token", "checkin.error.forged")
	case errors.Is(err, passtoken.ErrExpired):
		return nil, Invalid("token", "checkin.error.expired", s.visitorName(ctx, c))
	case errors.Is(err, passtoken.ErrNotYet):
		return nil, Invalid("token", "checkin.error.not_yet", s.visitorName(ctx, c))
	case err != nil:
		return nil, wrap(err, "check in")
	}
	return s.checkIn(ctx, actor, c.VisitorID, c.VisitID, AllOrgs(), badge, escortPresent, "token")
}

// visitorName is the name of the visitor a genuine token names, "?" if
// there is none (the visit was deleted).
func (s *Store) visitorName(ctx context.Context, c passtoken.Claims) string {
	var names []string
	s.db.WithContext(ctx).Model(&Visitor{}).Where("id = ? AND visit_id = ?", c.VisitorID, c.VisitID).Limit(1).Pluck("name", &names)
	if len(names) == 0 {
		return "?"
	}
	return names[0]
}

// CheckIn checks in visitor visitorID of organization orgID, picked by
// hand from the list of expected visitors; the rules are those of
// CheckInByToken but the token's.
func (s *Store) CheckIn(ctx context.Context, actor Actor, orgID, visitorID int64, badge string, escortPresent int64) (*CheckInResult, error) {
	return s.checkIn(ctx, actor, visitorID, 0, OrgScope(orgID), badge, escortPresent, "visitor")
}

// checkIn is both check-ins: visitID is the visit a token names (0 when
// picked by hand), field the form field refusals go to.
func (s *Store) checkIn(ctx context.Context, actor Actor, visitorID, visitID int64, sc Scope, badge string, escortPresent int64, field string) (*CheckInResult, error) {
	badge = strings.TrimSpace(badge)
	if err := CheckLine("badge", badge, 40); err != nil {
		return nil, err
	}
	now := s.now()
	var res *CheckInResult
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res = nil
		var x Visitor
		if err := sc.apply(forUpdate(tx), "org_id").Where("id = ?", visitorID).First(&x).Error; err != nil {
			if err = notFound(err); errors.Is(err, ErrNotFound) && field == "token" {
				return Invalid(field, "checkin.error.unknown")
			}
			return notFound(err)
		}
		if visitID != 0 && x.VisitID != visitID {
			return Invalid(field, "checkin.error.wrong_visit", x.Name)
		}
		var v Visit
		if err := tx.Where("id = ? AND org_id = ?", x.VisitID, x.OrgID).First(&v).Error; err != nil {
			return err
		}
		if err := s.mayEnter(&v, &x, now, field); err != nil {
			return err
		}
		escort, err := s.escortPresent(tx, &v, escortPresent)
		if err != nil {
			return err
		}
		upd := map[string]any{"checked_in_at": now, "checked_in_by": actor.UserID, "badge_number": badge, "escort_present_id": escort}
		if err := tx.Model(&Visitor{}).Where("id = ?", x.ID).Updates(upd).Error; err != nil {
			return err
		}
		var org Organization
		if err := tx.Select("name").First(&org, v.OrgID).Error; err != nil {
			return err
		}
		res = &CheckInResult{VisitorID: x.ID, Name: x.Name, VisitNumber: v.Number(), OrgName: org.Name, Badge: badge}
		if escort != nil {
			names, err := s.userNames(tx, escort)
			if err != nil {
				return err
			}
			res.Escort = names[*escort]
		}
		// The visitor's name and badge, never the identity number; a scan
		// hands out no badge, and its record names none.
		detail := map[string]any{"visit": v.Number(), "visitor": x.Name, "seq": x.Seq, "escort": escort, "by": field}
		if badge != "" {
			detail["badge"] = badge
		}
		return s.audit(tx, actor, AuditVisitCheckedIn, "visit", &v.ID, &v.OrgID, detail)
	})
	if err != nil {
		return nil, wrap(err, "check in")
	}
	return res, nil
}

// mayEnter refuses a check-in of visitor x of visit v at now: a visit not
// approved (pending again after a change, refused, cancelled), outside its
// days, or a visitor already in or already gone.
func (s *Store) mayEnter(v *Visit, x *Visitor, now time.Time, field string) error {
	from, to := s.passWindow(v)
	switch {
	case x.CheckedOutAt != nil:
		return Invalid(field, "checkin.error.already_out", x.Name)
	case x.CheckedInAt != nil:
		return Invalid(field, "checkin.error.already_in", x.Name)
	case v.State == VisitCancelled:
		return Invalid(field, "checkin.error.cancelled", x.Name)
	case v.State == VisitRefused:
		return Invalid(field, "checkin.error.refused", x.Name)
	case v.State != VisitApproved:
		return Invalid(field, "checkin.error.not_approved", x.Name)
	case now.Before(from):
		return Invalid(field, "checkin.error.not_yet", x.Name)
	case !now.Before(to):
		return Invalid(field, "checkin.error.expired", x.Name)
	}
	return nil
}

// escortPresent resolves the escort who is there: id, an enabled staff
// user, or when 0 the visit's assigned escort (nil if it has none).
func (s *Store) escortPresent(tx *gorm.DB, v *Visit, id int64) (*int64, error) {
	if id == 0 {
		return v.EscortID, nil
	}
	var u User
	err := tx.Select("id", "role").Where("id = ? AND disabled_at IS NULL", id).First(&u).Error
	if err = notFound(err); errors.Is(err, ErrNotFound) || (err == nil && !u.Role.IsStaff()) {
		return nil, Invalid("escort", "checkin.error.escort")
	}
	if err != nil {
		return nil, err
	}
	return &u.ID, nil
}

// CheckOut records that visitor visitorID of organization orgID left, and
// whether the badge came back (a visitor without a badge has none to
// return).
func (s *Store) CheckOut(ctx context.Context, actor Actor, orgID, visitorID int64, badgeReturned bool) error {
	now := s.now()
	err := s.tx(ctx, func(tx *gorm.DB) error {
		x, v, err := lockVisitor(tx, orgID, visitorID)
		if err != nil {
			return err
		}
		if x.CheckedInAt == nil || x.CheckedOutAt != nil {
			return Invalid("visitor", "checkin.error.not_inside", x.Name)
		}
		upd := map[string]any{"checked_out_at": now, "checked_out_by": actor.UserID}
		returned := badgeReturned && x.BadgeNumber != ""
		if returned {
			upd["badge_returned_at"] = now
		}
		if err := tx.Model(&Visitor{}).Where("id = ?", x.ID).Updates(upd).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditVisitCheckedOut, "visit", &v.ID, &v.OrgID, map[string]any{
			"visit": v.Number(), "visitor": x.Name, "seq": x.Seq, "badge": x.BadgeNumber, "badge_returned": returned})
	})
	return wrap(err, "check out")
}

// ReturnBadge records that visitor visitorID brought back, after leaving,
// the badge they were given.
func (s *Store) ReturnBadge(ctx context.Context, actor Actor, orgID, visitorID int64) error {
	now := s.now()
	err := s.tx(ctx, func(tx *gorm.DB) error {
		x, v, err := lockVisitor(tx, orgID, visitorID)
		if err != nil {
			return err
		}
		if x.BadgeNumber == "" || x.BadgeReturnedAt != nil || x.CheckedOutAt == nil {
			return Invalid("visitor", "checkin.error.no_badge_out", x.Name)
		}
		if err := tx.Model(&Visitor{}).Where("id = ?", x.ID).Update("badge_returned_at", now).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditBadgeReturned, "visit", &v.ID, &v.OrgID, map[string]any{
			"visit": v.Number(), "visitor": x.Name, "seq": x.Seq, "badge": x.BadgeNumber})
	})
	return wrap(err, "return badge")
}

// HandOutBadge records the badge number given to visitor visitorID, who
// is inside without one (checked in by a scan, which takes no number).
func (s *Store) HandOutBadge(ctx context.Context, actor Actor, orgID, visitorID int64, badge string) error {
	badge = strings.TrimSpace(badge)
	var p problems
	if badge == "" {
		p.add(Invalid("badge", "error.required"))
	}
	p.add(CheckLine("badge", badge, 40))
	if err := p.err(); err != nil {
		return err
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		x, v, err := lockVisitor(tx, orgID, visitorID)
		if err != nil {
			return err
		}
		if x.CheckedInAt == nil || x.CheckedOutAt != nil || x.BadgeNumber != "" {
			return Invalid("badge", "checkin.error.badge_not_now", x.Name)
		}
		if err := tx.Model(&Visitor{}).Where("id = ?", x.ID).Update("badge_number", badge).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditBadgeHandedOut, "visit", &v.ID, &v.OrgID, map[string]any{
			"visit": v.Number(), "visitor": x.Name, "seq": x.Seq, "badge": badge})
	})
	return wrap(err, "hand out badge")
}

// lockVisitor reads visitor id of organization orgID under lock, with its
// visit.
func lockVisitor(tx *gorm.DB, orgID, id int64) (*Visitor, *Visit, error) {
	var x Visitor
	if err := forUpdate(tx).Where("org_id = ? AND id = ?", orgID, id).First(&x).Error; err != nil {
		return nil, nil, notFound(err)
	}
	var v Visit
	if err := tx.Where("id = ? AND org_id = ?", x.VisitID, orgID).First(&v).Error; err != nil {
		return nil, nil, err
	}
	return &x, &v, nil
}

// GetVisitor returns visitor id (masked, as lists show it) if sc sees its
// organization; else ErrNotFound.
func (s *Store) GetVisitor(ctx context.Context, sc Scope, id int64) (*Visitor, error) {
	var x Visitor
	if err := sc.apply(s.db.WithContext(ctx), "org_id").Where("id = ?", id).First(&x).Error; err != nil {
		return nil, wrap(notFound(err), "get visitor")
	}
	x.IDSealed, x.PhoneSealed = "", ""
	return &x, nil
}

// BoardVisitor is a visitor as reception's today page lists them: masked,
// with their visit.
type BoardVisitor struct {
	VisitorID       int64
	OrgID           int64
	Name            string
	Company         string
	IDMasked        string
	BadgeNumber     string
	CheckedInAt     *time.Time
	CheckedOutAt    *time.Time
	BadgeReturnedAt *time.Time
	EscortPresentID *int64
	VisitID         int64
	VisitRef        string
	NumberYear      int
	NumberSeq       int
	Emergency       bool
	PlannedFrom     time.Time
	PlannedTo       time.Time
	EscortID        *int64
	OrgName         string
	EscortName      string // the assigned escort
	PresentName     string // the escort present at check-in
	// Overstay is how long past the planned exit a visitor still inside
	// is; 0 for one who is not overstaying.
	Overstay time.Duration
}

// VisitNumber is the visitor's visit's number.
func (b *BoardVisitor) VisitNumber() string {
	return FormatNumber(NumberVisit, b.NumberYear, b.NumberSeq)
}

// TodayBoard is what reception's today page shows.
type TodayBoard struct {
	Day      time.Time      // local midnight of today
	Expected []BoardVisitor // of approved visits of today, not in yet, by planned entry
	Inside   []BoardVisitor // in and not out, any day; overstaying first, longest first
	Badges   []BoardVisitor // gone with their badge, by when they left
	// Overstaying counts the visitors of Inside past their planned exit.
	Overstaying int
}

// BoardLimit bounds each list of the today board.
const BoardLimit = 500

// boardQuery selects visitors with what the board shows of their visit.
func boardQuery(db *gorm.DB, sc Scope) *gorm.DB {
	return sc.apply(db.Table("visit_visitors x"), "x.org_id").
		Select("x.id AS visitor_id, x.org_id, x.name, x.company, x.id_masked, x.badge_number, x.checked_in_at, x.checked_out_at, " +
			"x.badge_returned_at, x.escort_present_id, v.id AS visit_id, v.ref AS visit_ref, v.number_year, v.number_seq, v.emergency, " +
			"v.planned_from, v.planned_to, v.escort_id, g.name AS org_name, COALESCE(e.name, '') AS escort_name, COALESCE(p.name, '') AS present_name").
		Joins("JOIN visits v ON v.id = x.visit_id").
		Joins("JOIN organizations g ON g.id = x.org_id").
		Joins("LEFT JOIN users e ON e.id = v.escort_id").
		Joins("LEFT JOIN users p ON p.id = x.escort_present_id")
}

// TodayBoard gathers reception's day at now: visitors expected today
// (approved visits overlapping the local day, not in yet), visitors
// inside (flagged when past their planned exit), and badges not returned
// whatever the day. Each list holds at most BoardLimit visitors.
func (s *Store) TodayBoard(ctx context.Context, sc Scope, now time.Time) (*TodayBoard, error) {
	local := now.In(s.zone)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, s.zone)
	end := day.AddDate(0, 0, 1)
	db := s.db.WithContext(ctx)
	b := &TodayBoard{Day: day}
	if err := boardQuery(db, sc).Where("v.state = ? AND v.planned_from < ? AND v.planned_to > ? AND x.checked_in_at IS NULL AND x.purged_at IS NULL",
		VisitApproved, end.UTC(), day.UTC()).Order("v.planned_from, v.id, x.seq").Limit(BoardLimit).Scan(&b.Expected).Error; err != nil {
		return nil, wrap(err, "today board")
	}
	if err := boardQuery(db, sc).Where("x.checked_in_at IS NOT NULL AND x.checked_out_at IS NULL").
		Order("v.planned_to, v.id, x.seq").Limit(BoardLimit).Scan(&b.Inside).Error; err != nil {
		return nil, wrap(err, "today board")
	}
	if err := boardQuery(db, sc).Where("x.checked_out_at IS NOT NULL AND x.badge_number <> '' AND x.badge_returned_at IS NULL").
		Order("x.checked_out_at, x.id").Limit(BoardLimit).Scan(&b.Badges).Error; err != nil {
		return nil, wrap(err, "today board")
	}
	// Ordered by planned exit: the overstaying ones come first, longest
	// overstay first.
	for i := range b.Inside {
		if d := now.Sub(b.Inside[i].PlannedTo); d > 0 {
			b.Inside[i].Overstay = d
			b.Overstaying++
		}
	}
	for _, l := range [][]BoardVisitor{b.Expected, b.Inside, b.Badges} {
		for i := range l {
			utcBoard(&l[i])
		}
	}
	return b, nil
}

// utcBoard puts a board row's times in UTC, however the driver read them.
func utcBoard(b *BoardVisitor) {
	b.PlannedFrom, b.PlannedTo = b.PlannedFrom.UTC(), b.PlannedTo.UTC()
	for _, t := range []**time.Time{&b.CheckedInAt, &b.CheckedOutAt, &b.BadgeReturnedAt} {
		if *t != nil {
			u := (**t).UTC()
			*t = &u
		}
	}
}

// BoardVisitorOf returns visitor id as the today board lists them, for
// reception's message after a check-in or check-out.
func (s *Store) BoardVisitorOf(ctx context.Context, sc Scope, id int64) (*BoardVisitor, error) {
	var rows []BoardVisitor
	if err := boardQuery(s.db.WithContext(ctx), sc).Where("x.id = ?", id).Limit(1).Scan(&rows).Error; err != nil {
		return nil, wrap(err, "board visitor")
	}
	if len(rows) == 0 {
		return nil, wrap(ErrNotFound, "board visitor")
	}
	utcBoard(&rows[0])
	return &rows[0], nil
}
