package models

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Standing access lists (issue 19): a customer organization's
// administrator names people who may enter without a visit request each
// time: who they are (identity number and phone sealed, as visitors'),
// the organization's cabinets they may reach, from which day to which
// day, and whether staff must escort them. They still check in and out at
// reception with a personal pass (standing_checkin.go); every entry is
// logged.

// Audit actions of standing access.
const (
	AuditStandingAdded      = "access.added"
	AuditStandingUpdated    = "access.updated"
	AuditStandingRevoked    = "access.revoked"
	AuditStandingReissued   = "access.pass_reissued"
	AuditStandingPass       = "access.pass_downloaded"
	AuditStandingCheckedIn  = "access.checked_in"
	AuditStandingCheckedOut = "access.checked_out"
	AuditStandingExported   = "access.history_exported"
	AuditStandingPurged     = "access.purged"
	AuditStandingBadge      = "access.badge_returned"
)

// MaxStandingDays bounds an entry's validity: a year, both days included.
const MaxStandingDays = 366

// MaxStandingCabinets bounds the cabinets one entry may reach.
const MaxStandingCabinets = 100

// dayLayout is how a standing entry's days are written and stored.
const dayLayout = time.DateOnly

// StandingAccess is one person of an organization's standing access list.
// The identity number and phone are sealed; the masked copies are what
// every page but reception's shows; after the purge all are empty.
type StandingAccess struct {
	ID             int64
	OrgID          int64
	Ref            string
	Name           string
	Company        string
	IDType         string `gorm:"column:id_type"`
	IDSealed       string `gorm:"column:id_sealed" json:"-"`
	IDMasked       string `gorm:"column:id_masked"`
	PhoneSealed    string `json:"-"`
	PhoneMasked    string
	Locale         string // the language of the pass
	ValidFrom      string // first day (portal zone, YYYY-MM-DD)
	ValidTo        string // last day, included
	EscortRequired bool
	Note           string
	PassVersion    int64
	CreatedBy      *int64
	CreatedAt      time.Time
	UpdatedAt      time.Time
	RevokedAt      *time.Time
	RevokedBy      *int64
	RevokeReason   string
	PurgedAt       *time.Time
}

func (StandingAccess) TableName() string { return "standing_access" }

// Standing entry statuses, as lists show them on a day.
const (
	StandingActive   = "active"
	StandingUpcoming = "upcoming"
	StandingExpired  = "expired"
	StandingRevoked  = "revoked"
)

// StatusOn is the entry's status on day (YYYY-MM-DD).
func (a *StandingAccess) StatusOn(day string) string {
	switch {
	case a.RevokedAt != nil:
		return StandingRevoked
	case day < a.ValidFrom:
		return StandingUpcoming
	case day > a.ValidTo:
		return StandingExpired
	}
	return StandingActive
}

// standingCabinet is one cabinet an entry may reach.
type standingCabinet struct {
	AccessID int64 `gorm:"primaryKey;autoIncrement:false"`
	Cabinet  string
	OrgID    int64
}

func (standingCabinet) TableName() string { return "standing_access_cabinets" }

// StandingInput is what the list's form supplies. Form fields are named
// as the validation errors: name, company, id_type, id_number, phone,
// cabinets, valid_from, valid_to, escort_required, note, locale. On a
// change, an empty id_number keeps the number on file, and so does an
// empty phone (clear_phone removes it).
type StandingInput struct {
	Name           string
	Company        string
	IDType         string
	IDNumber       string
	Phone          string
	ClearPhone     bool
	Cabinets       []string
	ValidFrom      string
	ValidTo        string
	EscortRequired bool
	Note           string
	Locale         string
}

// today is the portal's calendar day at now.
func (s *Store) today(now time.Time) string { return now.In(s.zone).Format(dayLayout) }

// validate checks the fields that need no database, normalizing them.
// keepID says an empty identity number keeps the one on file; oldFrom is
// the first day on file ("" for a new entry): a first day in the past is
// refused unless it is the one already there.
func (in *StandingInput) validate(today, oldFrom string, keepID bool, zone *time.Location) error {
	var p problems
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		p.add(Invalid("name", "error.required"))
	}
	p.add(CheckLine("name", in.Name, 100))
	p.add(CheckPrintable("name", in.Name))
	in.Company = strings.TrimSpace(in.Company)
	p.add(CheckLine("company", in.Company, 100))
	p.add(CheckPrintable("company", in.Company))
	if !slices.Contains(IDTypes, in.IDType) {
		p.add(Invalid("id_type", "visits.error.id_type"))
	}
	if !(keepID && strings.TrimSpace(in.IDNumber) == "") {
		p.add(checkIDNumber("id_number", in.IDType, &in.IDNumber))
	}
	p.add(checkPhone("phone", &in.Phone))
	in.Note = strings.TrimSpace(in.Note)
	p.add(CheckText("note", in.Note, 500))
	in.Cabinets = slices.Compact(slices.Sorted(slices.Values(trimAll(in.Cabinets))))
	if len(in.Cabinets) > MaxStandingCabinets {
		p.add(Invalid("cabinets", "visits.error.too_many_targets", Number(MaxStandingCabinets)))
	}
	if in.Locale != "en" && in.Locale != "zh-CN" {
		in.Locale = defaultLocale
	}
	day := func(field string, v *string) (time.Time, bool) {
		*v = strings.TrimSpace(*v)
		if *v == "" {
			p.add(Invalid(field, "error.required"))
			return time.Time{}, false
		}
		t, err := time.ParseInLocation(dayLayout, *v, zone)
		if err != nil {
			p.add(Invalid(field, "error.date_invalid"))
			return time.Time{}, false
		}
		if err := CheckDate(field, t, zone); err != nil {
			p.add(err)
			return time.Time{}, false
		}
		return t, true
	}
	from, okFrom := day("valid_from", &in.ValidFrom)
	to, okTo := day("valid_to", &in.ValidTo)
	if okFrom && in.ValidFrom < today && in.ValidFrom != oldFrom {
		p.add(Invalid("valid_from", "standing.error.from_past"))
	}
	if okTo && in.ValidTo < today {
		p.add(Invalid("valid_to", "standing.error.to_past"))
	}
	if okFrom && okTo {
		switch {
		case in.ValidTo < in.ValidFrom:
			p.add(Invalid("valid_to", "standing.error.to_before_from"))
		case to.After(from.AddDate(0, 0, MaxStandingDays-1)):
			p.add(Invalid("valid_to", "standing.error.too_long", Number(MaxStandingDays)))
		}
	}
	return p.err()
}

// standingCabinets refuses a cabinet that is not the organization's
// (OrgCabinets: of its devices and its contracts) and returns the
// cabinets as the organization names them, each once.
func standingCabinets(tx *gorm.DB, orgID int64, cabinets []string) ([]string, error) {
	if len(cabinets) == 0 {
		return cabinets, nil
	}
	known, err := orgCabinets(tx, orgID)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(cabinets))
	for _, c := range cabinets {
		j := slices.IndexFunc(known, func(k string) bool { return strings.EqualFold(k, c) })
		if j < 0 {
			return nil, Invalid("cabinets", "visits.error.cabinet_unknown")
		}
		out = append(out, known[j])
	}
	return slices.Compact(slices.Sorted(slices.Values(out))), nil
}

// writeStandingCabinets replaces the cabinets of entry a.
func writeStandingCabinets(tx *gorm.DB, a *StandingAccess, cabinets []string) error {
	if err := tx.Where("access_id = ?", a.ID).Delete(&standingCabinet{}).Error; err != nil {
		return err
	}
	rows := make([]standingCabinet, len(cabinets))
	for i, c := range cabinets {
		rows[i] = standingCabinet{AccessID: a.ID, Cabinet: c, OrgID: a.OrgID}
	}
	return createInChunks(tx, rows)
}

// sealOptional seals v, "" staying "".
func (s *Store) sealOptional(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	return s.piiKey.Seal(v)
}

// standingDetail is what an entry's audit records say of it: never an
// identity number or phone.
func standingDetail(a *StandingAccess, cabinets []string) map[string]any {
	return map[string]any{"person": a.Name, "company": a.Company, "from": a.ValidFrom, "to": a.ValidTo,
		"escort_required": a.EscortRequired, "cabinets": strings.Join(cabinets, ", ")}
}

// CreateStanding adds a person to organization orgID's standing access
// list. Every problem of the form is reported at once and nothing is
// stored unless all hold. The caller checks that the actor administers
// the organization.
func (s *Store) CreateStanding(ctx context.Context, actor Actor, sc Scope, orgID int64, in StandingInput) (*StandingAccess, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "create standing access")
	}
	now := s.now()
	if err := in.validate(s.today(now), "", false, s.zone); err != nil {
		return nil, wrap(err, "create standing access")
	}
	id, err := s.piiKey.Seal(in.IDNumber)
	if err != nil {
		return nil, wrap(err, "create standing access")
	}
	phone, err := s.sealOptional(in.Phone)
	if err != nil {
		return nil, wrap(err, "create standing access")
	}
	var a *StandingAccess
	err = s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if in.Cabinets, err = standingCabinets(tx, orgID, in.Cabinets); err != nil {
			return err
		}
		a = &StandingAccess{OrgID: orgID, Ref: newRef(), Name: in.Name, Company: in.Company, IDType: in.IDType, IDSealed: id,
			IDMasked: MaskID(in.IDNumber), PhoneSealed: phone, Locale: in.Locale, ValidFrom: in.ValidFrom, ValidTo: in.ValidTo,
			EscortRequired: in.EscortRequired, Note: in.Note, PassVersion: 1, CreatedBy: actor.UserID, CreatedAt: now, UpdatedAt: now}
		if in.Phone != "" {
			a.PhoneMasked = MaskPhone(in.Phone)
		}
		if err := tx.Create(a).Error; err != nil {
			return err
		}
		if err := writeStandingCabinets(tx, a, in.Cabinets); err != nil {
			return err
		}
		return s.audit(tx, actor, AuditStandingAdded, "standing", &a.ID, &orgID, standingDetail(a, in.Cabinets))
	})
	if err != nil {
		return nil, wrap(err, "create standing access")
	}
	return a, nil
}

// UpdateStanding changes entry ref of the scope's organization. A revoked
// or purged entry cannot change. Changing the days keeps the pass: its
// token ends on the old last day, and check-in reads the days on file.
func (s *Store) UpdateStanding(ctx context.Context, actor Actor, sc Scope, ref string, in StandingInput) error {
	now := s.now()
	err := s.tx(ctx, func(tx *gorm.DB) error {
		a, err := lockStanding(tx, sc, ref)
		if err != nil {
			return err
		}
		if a.RevokedAt != nil || a.PurgedAt != nil {
			return Invalid("name", "standing.error.closed", a.Name)
		}
		if err := in.validate(s.today(now), a.ValidFrom, true, s.zone); err != nil {
			return err
		}
		if in.Cabinets, err = standingCabinets(tx, a.OrgID, in.Cabinets); err != nil {
			return err
		}
		upd := map[string]any{"name": in.Name, "company": in.Company, "id_type": in.IDType, "valid_from": in.ValidFrom,
			"valid_to": in.ValidTo, "escort_required": in.EscortRequired, "note": in.Note, "locale": in.Locale, "updated_at": now}
		if in.IDNumber != "" {
			sealedID, err := s.piiKey.Seal(in.IDNumber)
			if err != nil {
				return err
			}
			upd["id_sealed"], upd["id_masked"] = sealedID, MaskID(in.IDNumber)
		} else if in.IDType == IDResident && a.IDType != IDResident {
			// A resident number must pass its check digit: a new type
			// needs the number again.
			return Invalid("id_number", "error.required")
		}
		switch {
		case in.Phone != "":
			sealedPhone, err := s.piiKey.Seal(in.Phone)
			if err != nil {
				return err
			}
			upd["phone_sealed"], upd["phone_masked"] = sealedPhone, MaskPhone(in.Phone)
		case in.ClearPhone:
			upd["phone_sealed"], upd["phone_masked"] = "", ""
		}
		var before []string
		if err := tx.Model(&standingCabinet{}).Where("access_id = ?", a.ID).Order("cabinet").Pluck("cabinet", &before).Error; err != nil {
			return err
		}
		old := standingDetail(a, before)
		if err := tx.Model(&StandingAccess{}).Where("id = ?", a.ID).Updates(upd).Error; err != nil {
			return err
		}
		if err := writeStandingCabinets(tx, a, in.Cabinets); err != nil {
			return err
		}
		a.Name, a.Company, a.ValidFrom, a.ValidTo, a.EscortRequired = in.Name, in.Company, in.ValidFrom, in.ValidTo, in.EscortRequired
		detail := map[string]any{"before": old, "after": standingDetail(a, in.Cabinets), "person": a.Name,
			"id_changed": in.IDNumber != "", "phone_changed": in.Phone != "" || in.ClearPhone}
		return s.audit(tx, actor, AuditStandingUpdated, "standing", &a.ID, &a.OrgID, detail)
	})
	return wrap(err, "update standing access")
}

// RevokeStanding ends entry ref at once (a lost pass, a person who left):
// its pass stops working, and it stays in the list and the history. A
// person inside may still be checked out.
func (s *Store) RevokeStanding(ctx context.Context, actor Actor, sc Scope, ref, reason string) error {
	reason = strings.TrimSpace(reason)
	if err := CheckLine("reason", reason, 500); err != nil {
		return wrap(err, "revoke standing access")
	}
	now := s.now()
	err := s.tx(ctx, func(tx *gorm.DB) error {
		a, err := lockStanding(tx, sc, ref)
		if err != nil {
			return err
		}
		if a.RevokedAt != nil {
			return Invalid("reason", "standing.error.revoked", a.Name)
		}
		if err := tx.Model(&StandingAccess{}).Where("id = ?", a.ID).Updates(map[string]any{
			"revoked_at": now, "revoked_by": actor.UserID, "revoke_reason": reason, "updated_at": now}).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditStandingRevoked, "standing", &a.ID, &a.OrgID, map[string]any{"person": a.Name, "reason": reason})
	})
	return wrap(err, "revoke standing access")
}

// ReissueStanding bumps entry ref's pass version: the pass printed before
// no longer opens the door, and the next download is the new one.
func (s *Store) ReissueStanding(ctx context.Context, actor Actor, sc Scope, ref string) error {
	now := s.now()
	err := s.tx(ctx, func(tx *gorm.DB) error {
		a, err := lockStanding(tx, sc, ref)
		if err != nil {
			return err
		}
		if a.RevokedAt != nil || a.PurgedAt != nil {
			return Invalid("pass", "standing.error.closed", a.Name)
		}
		if err := tx.Model(&StandingAccess{}).Where("id = ?", a.ID).Updates(map[string]any{
			"pass_version": a.PassVersion + 1, "updated_at": now}).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditStandingReissued, "standing", &a.ID, &a.OrgID, map[string]any{"person": a.Name, "version": a.PassVersion + 1})
	})
	return wrap(err, "reissue standing pass")
}

// lockStanding reads entry ref of the scope under lock.
func lockStanding(tx *gorm.DB, sc Scope, ref string) (*StandingAccess, error) {
	if !ValidRequestRef(ref) {
		return nil, ErrNotFound
	}
	var a StandingAccess
	if err := sc.apply(forUpdate(tx), "org_id").Where("ref = ?", ref).First(&a).Error; err != nil {
		return nil, notFound(err)
	}
	return &a, nil
}

// GetStanding returns entry ref (masked) if sc sees its organization;
// else ErrNotFound.
func (s *Store) GetStanding(ctx context.Context, sc Scope, ref string) (*StandingAccess, error) {
	a, err := getByRef[StandingAccess](ctx, s.db, sc, ref, "get standing access")
	if err != nil {
		return nil, err
	}
	a.IDSealed, a.PhoneSealed = "", ""
	return a, nil
}

// StandingView is an entry as a page shows it: ID and Phone opened for
// reception, masked for everyone else, empty once purged.
type StandingView struct {
	StandingAccess
	OrgName   string
	Cabinets  []string
	ID        string
	Phone     string
	Revealed  bool
	Status    string // on today
	Inside    *StandingEntry
	CreatedBy string
	RevokedBy string
}

// StandingViewOf loads what belongs to entry a, which the caller got
// through a scoped read. reveal opens the identity number and phone.
func (s *Store) StandingViewOf(ctx context.Context, sc Scope, a *StandingAccess, reveal bool) (*StandingView, error) {
	if !sc.Allows(a.OrgID) {
		return nil, wrap(ErrNotFound, "standing view")
	}
	db := s.db.WithContext(ctx)
	v := &StandingView{StandingAccess: *a, ID: a.IDMasked, Phone: a.PhoneMasked, Status: a.StatusOn(s.Today())}
	if reveal && a.PurgedAt == nil {
		var full StandingAccess
		if err := db.Select("id_sealed", "phone_sealed").First(&full, a.ID).Error; err != nil {
			return nil, wrap(err, "standing view")
		}
		var err error
		if v.ID, err = s.piiKey.Open(full.IDSealed); err != nil {
			return nil, wrap(fmt.Errorf("open standing %d: %w", a.ID, err), "standing view")
		}
		if full.PhoneSealed != "" {
			if v.Phone, err = s.piiKey.Open(full.PhoneSealed); err != nil {
				return nil, wrap(fmt.Errorf("open standing %d: %w", a.ID, err), "standing view")
			}
		}
		v.Revealed = true
	}
	v.IDSealed, v.PhoneSealed = "", ""
	if err := db.Model(&Organization{}).Where("id = ?", a.OrgID).Pluck("name", &v.OrgName).Error; err != nil {
		return nil, wrap(err, "standing view")
	}
	if err := db.Model(&standingCabinet{}).Where("access_id = ?", a.ID).Order("cabinet").Pluck("cabinet", &v.Cabinets).Error; err != nil {
		return nil, wrap(err, "standing view")
	}
	var in []StandingEntry
	if err := db.Where("access_id = ? AND out_at IS NULL", a.ID).Limit(1).Find(&in).Error; err != nil {
		return nil, wrap(err, "standing view")
	}
	if len(in) > 0 {
		in[0].InAt = in[0].InAt.UTC()
		v.Inside = &in[0]
	}
	names, err := s.userNames(db, a.CreatedBy, a.RevokedBy)
	if err != nil {
		return nil, wrap(err, "standing view")
	}
	if a.CreatedBy != nil {
		v.CreatedBy = names[*a.CreatedBy]
	}
	if a.RevokedBy != nil {
		v.RevokedBy = names[*a.RevokedBy]
	}
	return v, nil
}

// StandingRow is an entry as the list shows it, masked.
type StandingRow struct {
	StandingAccess
	OrgName  string
	Cabinets string // comma-separated
	Status   string
	Inside   bool
}

// StandingListLimit bounds the list page.
const StandingListLimit = 1000

// ListStanding lists the standing access entries sc sees (of orgID if
// not 0), masked: current and upcoming ones first, by name, then expired
// and revoked ones, newest first.
func (s *Store) ListStanding(ctx context.Context, sc Scope, orgID int64, q string) ([]StandingRow, error) {
	db := s.db.WithContext(ctx)
	qry := sc.apply(db.Model(&StandingAccess{}), "standing_access.org_id")
	if orgID != 0 {
		qry = qry.Where("standing_access.org_id = ?", orgID)
	}
	if q = strings.TrimSpace(q); q != "" {
		qry = qry.Where("LOWER(standing_access.name) LIKE ? ESCAPE '!'", "%"+likeEscape(strings.ToLower(q))+"%")
	}
	// Entries still to use (neither revoked nor ended) come first in the
	// query too, so that the bound never cuts one of them for an old one.
	today := s.Today()
	var as []StandingAccess
	if err := qry.Order(clause.OrderBy{Expression: clause.Expr{SQL: "CASE WHEN standing_access.revoked_at IS NULL AND standing_access.valid_to >= ? THEN 0 ELSE 1 END, standing_access.name, standing_access.id",
		Vars: []any{today}}}).Limit(StandingListLimit).Find(&as).Error; err != nil {
		return nil, wrap(err, "list standing access")
	}
	out := make([]StandingRow, 0, len(as))
	ids := make([]int64, 0, len(as))
	orgs := map[int64]string{}
	for _, a := range as {
		a.IDSealed, a.PhoneSealed = "", ""
		if err := s.lookupName(db, &Organization{}, a.OrgID, orgs); err != nil {
			return nil, wrap(err, "list standing access")
		}
		out = append(out, StandingRow{StandingAccess: a, OrgName: orgs[a.OrgID], Status: a.StatusOn(today)})
		ids = append(ids, a.ID)
	}
	cabs := map[int64][]string{}
	inside := map[int64]bool{}
	for chunk := range chunks(ids) {
		var cs []standingCabinet
		if err := db.Where("access_id IN ?", chunk).Order("cabinet").Find(&cs).Error; err != nil {
			return nil, wrap(err, "list standing access")
		}
		for _, c := range cs {
			cabs[c.AccessID] = append(cabs[c.AccessID], c.Cabinet)
		}
		var in []int64
		if err := db.Model(&StandingEntry{}).Where("access_id IN ? AND out_at IS NULL", chunk).Pluck("access_id", &in).Error; err != nil {
			return nil, wrap(err, "list standing access")
		}
		for _, id := range in {
			inside[id] = true
		}
	}
	rank := map[string]int{StandingActive: 0, StandingUpcoming: 1, StandingExpired: 2, StandingRevoked: 3}
	for i := range out {
		out[i].Cabinets = strings.Join(cabs[out[i].ID], ", ")
		out[i].Inside = inside[out[i].ID]
	}
	slices.SortStableFunc(out, func(a, b StandingRow) int { return rank[a.Status] - rank[b.Status] })
	return out, nil
}
