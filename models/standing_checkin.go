package models

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/colo-portal/portal/models/passtoken"
)

// Standing access at the desk: a person of a standing access list shows
// their personal pass (a token of passtoken's standing kind naming the
// entry and its pass version) at the scanner field, or reception picks
// them by hand; each entry and exit is a row of standing_entries.

// StandingEntry is one entry of a standing-list person, and its exit.
type StandingEntry struct {
	ID              int64
	AccessID        int64
	OrgID           int64
	InAt            time.Time
	InBy            *int64
	Method          string // "token" or "hand"
	BadgeNumber     string
	EscortPresentID *int64
	OutAt           *time.Time
	OutBy           *int64
	BadgeReturnedAt *time.Time
}

func (StandingEntry) TableName() string { return "standing_entries" }

// IsStandingToken reports whether a scanned token is a standing-access
// pass rather than a visitor pass.
func IsStandingToken(token string) bool { return passtoken.IsStanding(token) }

// standingWindow is when entry a's pass is good: from the start of its
// first day to the end of its last, in the portal's zone.
func (s *Store) standingWindow(a *StandingAccess) (time.Time, time.Time) {
	from, _ := time.ParseInLocation(dayLayout, a.ValidFrom, s.zone)
	to, _ := time.ParseInLocation(dayLayout, a.ValidTo, s.zone)
	return from.UTC(), to.AddDate(0, 0, 1).UTC()
}

// StandingPassToken returns the token of entry a's pass, which the caller
// got through a scoped read. A revoked, purged or ended entry has no
// pass (ErrNotFound).
func (s *Store) StandingPassToken(ctx context.Context, sc Scope, a *StandingAccess) (string, error) {
	if !sc.Allows(a.OrgID) || a.RevokedAt != nil || a.PurgedAt != nil || a.StatusOn(s.Today()) == StandingExpired {
		return "", wrap(ErrNotFound, "standing pass")
	}
	from, to := s.standingWindow(a)
	return s.passKey.SignStanding(passtoken.StandingClaims{EntryID: a.ID, Version: a.PassVersion, NotBefore: from, Expires: to}), nil
}

// StandingCheckInResult names who was checked in, for reception's message.
type StandingCheckInResult struct {
	AccessID int64
	Ref      string
	Name     string
	OrgName  string
	Badge    string
	Escort   string
}

// StandingCheckInByToken checks in the standing-list person a scanned pass
// names. Refusals are validation errors on "token" (standing.error.*),
// naming the person when the pass is genuine; an entry that needs an
// escort and got none is refused on "escort" (the page then asks for
// one).
func (s *Store) StandingCheckInByToken(ctx context.Context, actor Actor, token, badge string, escort int64) (*StandingCheckInResult, error) {
	c, err := s.passKey.VerifyStanding(token, s.now())
	switch {
	case errors.Is(err, passtoken.ErrMalformed):
		return nil, Invalid("token", "checkin.error.malformed")
	case errors.Is(err, passtoken.ErrSignature):
		return nil, Invalid("token", "checkin.error.forged")
	case errors.Is(err, passtoken.ErrExpired), errors.Is(err, passtoken.ErrNotYet):
		// Genuine but outside its printed days: say why from the entry
		// on file (ended, revoked, or days changed since printing).
		return nil, s.standingTokenOutside(ctx, c)
	case err != nil:
		return nil, wrap(err, "standing check in")
	}
	return s.standingCheckIn(ctx, actor, AllOrgs(), c.EntryID, c.Version, badge, escort, "token")
}

// standingTokenOutside explains a genuine pass used outside its window.
func (s *Store) standingTokenOutside(ctx context.Context, c passtoken.StandingClaims) error {
	var a StandingAccess
	if err := s.db.WithContext(ctx).Where("id = ?", c.EntryID).First(&a).Error; err != nil {
		return Invalid("token", "standing.error.unknown")
	}
	if err := s.mayEnterStanding(&a, s.Today(), "token"); err != nil {
		return err
	}
	// The entry is valid today, the pass was printed for other days.
	return Invalid("token", "standing.error.old_pass", a.Name)
}

// StandingRefOfToken is the reference of the entry a genuine standing
// pass names, "" for any other token.
func (s *Store) StandingRefOfToken(ctx context.Context, token string) string {
	c, err := s.passKey.VerifyStanding(token, s.now())
	if err != nil && !errors.Is(err, passtoken.ErrExpired) && !errors.Is(err, passtoken.ErrNotYet) {
		return ""
	}
	var refs []string
	s.db.WithContext(ctx).Model(&StandingAccess{}).Where("id = ?", c.EntryID).Limit(1).Pluck("ref", &refs)
	if len(refs) == 0 {
		return ""
	}
	return refs[0]
}

// StandingCheckIn checks in the person of entry ref, picked by hand (the
// pass forgotten; reception checks the ID document).
func (s *Store) StandingCheckIn(ctx context.Context, actor Actor, sc Scope, ref, badge string, escort int64) (*StandingCheckInResult, error) {
	a, err := s.GetStanding(ctx, sc, ref)
	if err != nil {
		return nil, err
	}
	return s.standingCheckIn(ctx, actor, sc, a.ID, 0, badge, escort, "standing")
}

// mayEnterStanding refuses entry a on day today: revoked, purged, before
// its first or after its last day.
func (s *Store) mayEnterStanding(a *StandingAccess, today, field string) error {
	switch {
	case a.RevokedAt != nil:
		return Invalid(field, "standing.error.revoked", a.Name)
	case a.PurgedAt != nil || today > a.ValidTo:
		return Invalid(field, "standing.error.expired", a.Name, a.ValidTo)
	case today < a.ValidFrom:
		return Invalid(field, "standing.error.not_yet", a.Name, a.ValidFrom)
	}
	return nil
}

// standingCheckIn is both check-ins: version is the pass's (0 when picked
// by hand), field the form field refusals go to.
func (s *Store) standingCheckIn(ctx context.Context, actor Actor, sc Scope, id, version int64, badge string, escortID int64, field string) (*StandingCheckInResult, error) {
	badge = strings.TrimSpace(badge)
	if err := CheckLine("badge", badge, 40); err != nil {
		return nil, err
	}
	now := s.now()
	method := "hand"
	if version != 0 {
		method = "token"
	}
	var res *StandingCheckInResult
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res = nil
		var a StandingAccess
		if err := sc.apply(forUpdate(tx), "org_id").Where("id = ?", id).First(&a).Error; err != nil {
			if err = notFound(err); errors.Is(err, ErrNotFound) && field == "token" {
				return Invalid(field, "standing.error.unknown")
			}
			return notFound(err)
		}
		if err := s.mayEnterStanding(&a, s.today(now), field); err != nil {
			return err
		}
		if version != 0 && version != a.PassVersion {
			return Invalid(field, "standing.error.old_pass", a.Name)
		}
		var open []StandingEntry
		if err := tx.Where("access_id = ? AND out_at IS NULL", a.ID).Limit(1).Find(&open).Error; err != nil {
			return err
		}
		if len(open) > 0 {
			return Invalid(field, "standing.error.already_in", a.Name)
		}
		var escort *int64
		if escortID != 0 {
			var u User
			err := tx.Select("id", "role").Where("id = ? AND disabled_at IS NULL", escortID).First(&u).Error
			if err = notFound(err); errors.Is(err, ErrNotFound) || (err == nil && !u.Role.IsStaff()) {
				return Invalid("escort", "checkin.error.escort")
			}
			if err != nil {
				return err
			}
			escort = &u.ID
		} else if a.EscortRequired {
			return Invalid("escort", "standing.error.escort_needed", a.Name)
		}
		e := StandingEntry{AccessID: a.ID, OrgID: a.OrgID, InAt: now, InBy: actor.UserID, Method: method, BadgeNumber: badge, EscortPresentID: escort}
		if err := tx.Create(&e).Error; err != nil {
			return err
		}
		var org Organization
		if err := tx.Select("name").First(&org, a.OrgID).Error; err != nil {
			return err
		}
		res = &StandingCheckInResult{AccessID: a.ID, Ref: a.Ref, Name: a.Name, OrgName: org.Name, Badge: badge}
		if escort != nil {
			names, err := s.userNames(tx, escort)
			if err != nil {
				return err
			}
			res.Escort = names[*escort]
		}
		detail := map[string]any{"person": a.Name, "escort": escort, "by": method}
		if badge != "" {
			detail["badge"] = badge
		}
		return s.audit(tx, actor, AuditStandingCheckedIn, "standing", &a.ID, &a.OrgID, detail)
	})
	if err != nil {
		return nil, wrap(err, "standing check in")
	}
	return res, nil
}

// StandingCheckOut records that the person of entry ref left, and whether
// the badge came back. A revoked or ended entry may still leave.
func (s *Store) StandingCheckOut(ctx context.Context, actor Actor, sc Scope, ref string, badgeReturned bool) (*StandingAccess, error) {
	now := s.now()
	var out *StandingAccess
	err := s.tx(ctx, func(tx *gorm.DB) error {
		a, err := lockStanding(tx, sc, ref)
		if err != nil {
			return err
		}
		var open []StandingEntry
		if err := tx.Where("access_id = ? AND out_at IS NULL", a.ID).Limit(1).Find(&open).Error; err != nil {
			return err
		}
		if len(open) == 0 {
			return Invalid("standing", "standing.error.not_inside", a.Name)
		}
		e := open[0]
		upd := map[string]any{"out_at": now, "out_by": actor.UserID}
		returned := badgeReturned && e.BadgeNumber != ""
		if returned {
			upd["badge_returned_at"] = now
		}
		if err := tx.Model(&StandingEntry{}).Where("id = ?", e.ID).Updates(upd).Error; err != nil {
			return err
		}
		out = a
		return s.audit(tx, actor, AuditStandingCheckedOut, "standing", &a.ID, &a.OrgID, map[string]any{
			"person": a.Name, "badge": e.BadgeNumber, "badge_returned": returned})
	})
	if err != nil {
		return nil, wrap(err, "standing check out")
	}
	return out, nil
}

// StandingInsideRow is a standing-list person inside now, for reception's
// "inside now".
type StandingInsideRow struct {
	Ref            string
	OrgID          int64
	OrgName        string
	Name           string
	Company        string
	IDMasked       string
	EscortRequired bool
	ValidTo        string
	Revoked        bool
	InAt           time.Time
	BadgeNumber    string
	EscortName     string
}

// InsideNow counts the people inside now that sc sees: visitors checked
// in and not out, and standing-list people in, for the figure on
// reception's queue (the names are on the Today board).
func (s *Store) InsideNow(ctx context.Context, sc Scope) (int, error) {
	db := s.db.WithContext(ctx)
	visitors := sc.apply(db.Model(&Visitor{}), "org_id").Select("COUNT(*)").Where("checked_in_at IS NOT NULL AND checked_out_at IS NULL")
	standing := sc.apply(db.Model(&StandingEntry{}), "org_id").Select("COUNT(*)").Where("out_at IS NULL")
	var n int
	err := db.Raw("SELECT (?) + (?)", visitors, standing).Scan(&n).Error
	return n, wrap(err, "inside now")
}

// StandingInside lists the standing-list people sc sees who are in and
// not out, by organization and entry time.
func (s *Store) StandingInside(ctx context.Context, sc Scope) ([]StandingInsideRow, error) {
	var rows []StandingInsideRow
	err := sc.apply(s.db.WithContext(ctx).Table("standing_entries e"), "e.org_id").
		Select("a.ref, e.org_id, g.name AS org_name, a.name, a.company, a.id_masked, a.escort_required, a.valid_to, " +
			"a.revoked_at IS NOT NULL AS revoked, e.in_at, e.badge_number, COALESCE(p.name, '') AS escort_name").
		Joins("JOIN standing_access a ON a.id = e.access_id").
		Joins("JOIN organizations g ON g.id = e.org_id").
		Joins("LEFT JOIN users p ON p.id = e.escort_present_id").
		Where("e.out_at IS NULL").Order("g.name, e.in_at, e.id").Limit(BoardLimit).Scan(&rows).Error
	for i := range rows {
		rows[i].InAt = rows[i].InAt.UTC()
	}
	return rows, wrap(err, "standing inside")
}

// StandingHistoryRow is one entry and exit, as the access history lists
// it.
type StandingHistoryRow struct {
	Ref         string
	OrgName     string
	Name        string
	Company     string
	IDMasked    string
	InAt        time.Time
	OutAt       *time.Time
	Method      string
	BadgeNumber string
	// BadgeReturned: the badge came back at check-out.
	BadgeReturned bool
	EscortName    string
	InByName      string
	OutByName     string
}

// standingHistory selects the entries of sc (of entry accessID if not 0)
// that began in [from, to), newest first.
func standingHistory(db *gorm.DB, sc Scope, accessID int64, from, to time.Time) *gorm.DB {
	q := sc.apply(db.Table("standing_entries e"), "e.org_id").
		Select("a.ref, g.name AS org_name, a.name, a.company, a.id_masked, e.in_at, e.out_at, e.method, e.badge_number, "+
			"e.badge_returned_at IS NOT NULL AS badge_returned, "+
			"COALESCE(p.name, '') AS escort_name, COALESCE(ui.name, '') AS in_by_name, COALESCE(uo.name, '') AS out_by_name").
		Joins("JOIN standing_access a ON a.id = e.access_id").
		Joins("JOIN organizations g ON g.id = e.org_id").
		Joins("LEFT JOIN users p ON p.id = e.escort_present_id").
		Joins("LEFT JOIN users ui ON ui.id = e.in_by").
		Joins("LEFT JOIN users uo ON uo.id = e.out_by").
		Where("e.in_at >= ? AND e.in_at < ?", from.UTC(), to.UTC())
	if accessID != 0 {
		q = q.Where("e.access_id = ?", accessID)
	}
	return q.Order("e.in_at DESC, e.id DESC")
}

func utcHistory(rows []StandingHistoryRow) {
	for i := range rows {
		rows[i].InAt = rows[i].InAt.UTC()
		if rows[i].OutAt != nil {
			u := rows[i].OutAt.UTC()
			rows[i].OutAt = &u
		}
	}
}

// StandingHistory returns the first limit entries of sc over [from, to)
// (of entry accessID if not 0), newest first, and how many there are.
func (s *Store) StandingHistory(ctx context.Context, sc Scope, accessID int64, from, to time.Time, limit int) ([]StandingHistoryRow, int64, error) {
	if err := checkVisitLogPeriod(from, to); err != nil {
		return nil, 0, wrap(err, "standing history")
	}
	db := s.db.WithContext(ctx)
	var n int64
	if err := sc.apply(db.Model(&StandingEntry{}), "org_id").Where("in_at >= ? AND in_at < ?", from.UTC(), to.UTC()).
		Scopes(func(q *gorm.DB) *gorm.DB {
			if accessID != 0 {
				return q.Where("access_id = ?", accessID)
			}
			return q
		}).Count(&n).Error; err != nil {
		return nil, 0, wrap(err, "standing history")
	}
	var rows []StandingHistoryRow
	if err := standingHistory(db, sc, accessID, from, to).Limit(limit).Scan(&rows).Error; err != nil {
		return nil, 0, wrap(err, "standing history")
	}
	utcHistory(rows)
	return rows, n, nil
}

// standingExportChunk is how many entries an export reads at a time.
const standingExportChunk = 500

// ExportStandingHistory calls fn for each entry of sc over [from, to),
// newest first, a chunk at a time, then records the export. Identity
// numbers are masked: this is the customer's history.
func (s *Store) ExportStandingHistory(ctx context.Context, sc Scope, actor Actor, from, to time.Time, fn func(*StandingHistoryRow) error) (int, error) {
	if err := checkVisitLogPeriod(from, to); err != nil {
		return 0, wrap(err, "export standing history")
	}
	db := s.db.WithContext(ctx)
	n := 0
	for offset := 0; ; offset += standingExportChunk {
		var rows []StandingHistoryRow
		if err := standingHistory(db, sc, 0, from, to).Offset(offset).Limit(standingExportChunk).Scan(&rows).Error; err != nil {
			return 0, wrap(err, "export standing history")
		}
		utcHistory(rows)
		for i := range rows {
			n++
			if err := fn(&rows[i]); err != nil {
				return 0, wrap(err, "export standing history")
			}
		}
		if len(rows) < standingExportChunk {
			break
		}
	}
	var orgID *int64
	if id, ok := sc.Org(); ok {
		orgID = &id
	}
	err := s.Audit(ctx, actor, AuditStandingExported, "standing", nil, orgID, map[string]any{"from": from.UTC(), "to": to.UTC(), "rows": n})
	return n, wrap(err, "export standing history")
}

// PurgeStanding clears the identity numbers and phones of standing
// entries that ended (last day, or revocation) more than PurgeAfter
// before now, as PurgeVisitors does for visitors: names and entries stay.
// A person still inside is left until they leave. One run clears at most
// visitPurgeBatch entries, with one audit record of the count.
func (s *Store) PurgeStanding(ctx context.Context, now time.Time) (int, error) {
	cutoff := now.UTC().Add(-s.visitRules.PurgeAfter)
	cutoffDay := cutoff.In(s.zone).Format(dayLayout)
	n := 0
	err := s.tx(ctx, func(tx *gorm.DB) error {
		n = 0
		var ids []int64
		err := tx.Model(&StandingAccess{}).Where("purged_at IS NULL AND (valid_to < ? OR revoked_at < ?)", cutoffDay, cutoff).
			Where("NOT EXISTS (SELECT 1 FROM standing_entries e WHERE e.access_id = standing_access.id AND e.out_at IS NULL)").
			Order("id").Limit(visitPurgeBatch).Pluck("id", &ids).Error
		if err != nil || len(ids) == 0 {
			return err
		}
		for chunk := range chunks(ids) {
			res := tx.Model(&StandingAccess{}).Where("id IN ? AND purged_at IS NULL", chunk).Updates(map[string]any{
				"id_sealed": "", "id_masked": "", "phone_sealed": "", "phone_masked": "", "purged_at": now.UTC()})
			if res.Error != nil {
				return res.Error
			}
			n += int(res.RowsAffected)
		}
		return s.audit(tx, SystemActor("standing purge"), AuditStandingPurged, "standing", nil, nil, map[string]any{
			"people": n, "ended_before": cutoff, "purge_days": int(s.visitRules.PurgeAfter / (24 * time.Hour))})
	})
	if err != nil {
		return 0, wrap(err, "purge standing access")
	}
	return n, nil
}

// StandingBadgeRow is a badge a standing-list person left with.
type StandingBadgeRow struct {
	Ref         string
	OrgName     string
	Name        string
	Company     string
	BadgeNumber string
	OutAt       time.Time
}

// StandingBadges lists the badges standing-list people of sc left with
// and have not brought back, by when they left.
func (s *Store) StandingBadges(ctx context.Context, sc Scope) ([]StandingBadgeRow, error) {
	var rows []StandingBadgeRow
	err := sc.apply(s.db.WithContext(ctx).Table("standing_entries e"), "e.org_id").
		Select("a.ref, g.name AS org_name, a.name, a.company, e.badge_number, e.out_at").
		Joins("JOIN standing_access a ON a.id = e.access_id").
		Joins("JOIN organizations g ON g.id = e.org_id").
		Where("e.out_at IS NOT NULL AND e.badge_number <> '' AND e.badge_returned_at IS NULL").
		Order("e.out_at, e.id").Limit(BoardLimit).Scan(&rows).Error
	for i := range rows {
		rows[i].OutAt = rows[i].OutAt.UTC()
	}
	return rows, wrap(err, "standing badges")
}

// ReturnStandingBadge records that the person of entry ref brought back
// the badge they left with.
func (s *Store) ReturnStandingBadge(ctx context.Context, actor Actor, sc Scope, ref string) error {
	now := s.now()
	err := s.tx(ctx, func(tx *gorm.DB) error {
		a, err := lockStanding(tx, sc, ref)
		if err != nil {
			return err
		}
		var out []StandingEntry
		if err := tx.Where("access_id = ? AND out_at IS NOT NULL AND badge_number <> '' AND badge_returned_at IS NULL", a.ID).
			Order("out_at DESC").Limit(1).Find(&out).Error; err != nil {
			return err
		}
		if len(out) == 0 {
			return Invalid("standing", "checkin.error.no_badge_out", a.Name)
		}
		if err := tx.Model(&StandingEntry{}).Where("id = ?", out[0].ID).Update("badge_returned_at", now).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditStandingBadge, "standing", &a.ID, &a.OrgID, map[string]any{"person": a.Name, "badge": out[0].BadgeNumber})
	})
	return wrap(err, "return standing badge")
}
