package models

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"gorm.io/gorm"
)

// Data-center visits (docs/agreement.md, clause 9): a customer asks to
// enter with named visitors; reception approves with an escort or
// refuses; visitors check in with their pass and out again.

// Visit states. A visit is pending until reception decides; the customer
// may cancel a pending or approved visit before anyone has entered; a
// customer's change to an approved visit makes it pending again.
const (
	VisitPending   = "pending"
	VisitApproved  = "approved"
	VisitRefused   = "refused"
	VisitCancelled = "cancelled"
)

// VisitStates lists the states in the order a visit goes through them.
var VisitStates = []string{VisitPending, VisitApproved, VisitRefused, VisitCancelled}

// VisitActivities are what a visit is for (clause 9: operation, tour, …).
var VisitActivities = []string{"operation", "tour", "delivery", "removal", "other"}

// VisitNeeds are the coordination a visit may ask for, each with a note.
var VisitNeeds = []string{"tools", "software", "meals", "lodging", "parking", "other"}

// IDTypes are the identity documents a visitor may show. Only the
// mainland resident identity card has a checkable number.
var IDTypes = []string{IDResident, "passport", "hk_macao_permit", "taiwan_permit", "other"}

// IDResident is the mainland resident identity card.
const IDResident = "resident_id"

// MaxVisitTargets bounds the cabinets and devices one visit may name.
const MaxVisitTargets = 100

// NumberVisit is the kind of a visit's record number (VR-2026-0001).
const NumberVisit = "visit"

// VisitRules are the limits of visit requests the portal is configured
// with (PORTAL_VISIT_*); visiting hours and how many visitors a site holds
// at once are per site.
type VisitRules struct {
	MaxVisitors int           // visitors on one request
	Horizon     time.Duration // how far ahead a visit may be asked for
	MinNotice   time.Duration // how long before entry a request must come, unless an emergency
	PurgeAfter  time.Duration // how long after a visit its visitors' identity numbers and phones are kept
}

// DefaultVisitRules are the rules when nothing is configured.
var DefaultVisitRules = VisitRules{MaxVisitors: 10, Horizon: 60 * 24 * time.Hour, MinNotice: 2 * time.Hour, PurgeAfter: 180 * 24 * time.Hour}

// WithVisitRules sets the limits of visit requests; a zero field keeps its
// default.
func WithVisitRules(r VisitRules) StoreOption {
	return func(s *Store) {
		if r.MaxVisitors > 0 {
			s.visitRules.MaxVisitors = r.MaxVisitors
		}
		if r.Horizon > 0 {
			s.visitRules.Horizon = r.Horizon
		}
		if r.MinNotice > 0 {
			s.visitRules.MinNotice = r.MinNotice
		}
		if r.PurgeAfter > 0 {
			s.visitRules.PurgeAfter = r.PurgeAfter
		}
	}
}

// VisitRules returns the limits in force.
func (s *Store) VisitRules() VisitRules { return s.visitRules }

// Site is a data-center building that visitors enter.
type Site struct {
	ID      int64
	Name    string
	Address string
	// OpenMinute and CloseMinute bound the visiting hours, in minutes
	// after midnight of the portal's time zone; equal means all day.
	OpenMinute  int
	CloseMinute int
	// MaxInside is how many visitors the site takes at once; 0 is no
	// limit.
	MaxInside int
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (Site) TableName() string { return "sites" }

// AllDay reports whether the site takes visitors at any hour.
func (s *Site) AllDay() bool { return s.OpenMinute == s.CloseMinute }

// Visit is a request to enter the data center.
type Visit struct {
	ID           int64
	OrgID        int64
	NumberYear   int
	NumberSeq    int
	Ref          string // names the visit in URLs (like an operation request's)
	SiteID       int64
	State        string
	Emergency    bool
	Activity     string
	Reason       string
	PlannedFrom  time.Time
	PlannedTo    time.Time
	RequestedBy  *int64 // the customer user who asked
	OperationID  *int64 // an operation request of the same organization
	EscortID     *int64 // the staff member reception assigned
	DecidedBy    *int64
	DecidedAt    *time.Time
	DecisionNote string // why the times were adjusted, or why it was refused
	CancelledAt  *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

func (Visit) TableName() string { return "visits" }

// Number is how people quote a visit: VR-2026-0003.
func (v *Visit) Number() string { return FormatNumber(NumberVisit, v.NumberYear, v.NumberSeq) }

// Visitor is one person of a visit. The identity number and phone are
// sealed (personal information); the masked copies are what every page
// but reception's shows. After the purge both sealed values are empty.
type Visitor struct {
	ID              int64
	VisitID         int64
	OrgID           int64
	Seq             int
	Name            string
	Company         string
	IDType          string `gorm:"column:id_type"`
	IDSealed        string `gorm:"column:id_sealed" json:"-"`
	IDMasked        string `gorm:"column:id_masked"`
	PhoneSealed     string `json:"-"`
	PhoneMasked     string
	Locale          string // the language of the visitor's pass
	CheckedInAt     *time.Time
	CheckedInBy     *int64
	EscortPresentID *int64
	BadgeNumber     string
	CheckedOutAt    *time.Time
	CheckedOutBy    *int64
	BadgeReturnedAt *time.Time
	PurgedAt        *time.Time
}

func (Visitor) TableName() string { return "visit_visitors" }

// VisitTarget is a device or a cabinet of the organization that a visit
// may reach: DeviceID for a device, else Cabinet.
type VisitTarget struct {
	ID       int64
	VisitID  int64
	OrgID    int64
	DeviceID *int64
	Cabinet  string
}

func (VisitTarget) TableName() string { return "visit_targets" }

// VisitNeed is one kind of coordination a visit asks for.
type VisitNeed struct {
	VisitID int64 `gorm:"primaryKey;autoIncrement:false"`
	Need    string
	OrgID   int64
	Note    string
}

func (VisitNeed) TableName() string { return "visit_needs" }

// VisitorInput is one visitor on the request form.
type VisitorInput struct {
	Name     string
	Company  string
	IDType   string
	IDNumber string
	Phone    string
	Locale   string // "" is the requester's
}

// VisitInput is what the visit request form supplies. Form fields are
// named as the validation errors are: site, activity, reason, planned_from,
// planned_to, targets, need_<need>, operation and, per visitor n from 1,
// visitor<n>_name, visitor<n>_company, visitor<n>_id_type,
// visitor<n>_id_number, visitor<n>_phone, visitor<n>_locale.
type VisitInput struct {
	SiteID       int64
	Activity     string
	Reason       string
	Emergency    bool
	PlannedFrom  time.Time
	PlannedTo    time.Time
	Visitors     []VisitorInput
	DeviceIDs    []int64
	Cabinets     []string
	Needs        map[string]string // need → note
	OperationRef string            // an operation request of the organization, or ""
	Locale       string            // the requester's language, the visitors' default
}

// VisitorField names visitor n's (from 0) form field.
func VisitorField(n int, field string) string { return fmt.Sprintf("visitor%d_%s", n+1, field) }

// validate checks the fields that need no database, normalizing them.
func (in *VisitInput) validate(r VisitRules, now time.Time, zone *time.Location) error {
	var p problems
	if !slices.Contains(VisitActivities, in.Activity) {
		p.add(Invalid("activity", "visits.error.activity"))
	}
	in.Reason = strings.TrimSpace(in.Reason)
	if in.Reason == "" {
		p.add(Invalid("reason", "error.required"))
	}
	p.add(CheckText("reason", in.Reason, 2000))
	if in.PlannedFrom.IsZero() {
		p.add(Invalid("planned_from", "error.required"))
	}
	if in.PlannedTo.IsZero() {
		p.add(Invalid("planned_to", "error.required"))
	}
	if !in.PlannedFrom.IsZero() && !in.PlannedTo.IsZero() {
		in.PlannedFrom, in.PlannedTo = in.PlannedFrom.UTC(), in.PlannedTo.UTC()
		p.add(CheckDate("planned_from", in.PlannedFrom, zone))
		p.add(CheckDate("planned_to", in.PlannedTo, zone))
		switch {
		case !in.PlannedTo.After(in.PlannedFrom):
			p.add(Invalid("planned_to", "visits.error.exit_before_entry"))
		case in.PlannedTo.Sub(in.PlannedFrom) > 7*24*time.Hour:
			p.add(Invalid("planned_to", "visits.error.too_long", Number(7)))
		}
		switch {
		case !in.PlannedFrom.After(now):
			p.add(Invalid("planned_from", "visits.error.entry_past"))
		case in.PlannedFrom.Sub(now) > r.Horizon:
			p.add(Invalid("planned_from", "visits.error.entry_horizon", Number(r.Horizon/(24*time.Hour))))
		case !in.Emergency && in.PlannedFrom.Sub(now) < r.MinNotice:
			p.add(Invalid("planned_from", "visits.error.notice", r.MinNotice))
		}
	}
	switch {
	case len(in.Visitors) == 0:
		p.add(Invalid("visitors", "visits.error.no_visitors"))
	case len(in.Visitors) > r.MaxVisitors:
		p.add(Invalid("visitors", "visits.error.too_many_visitors", Number(r.MaxVisitors)))
	}
	for i := range in.Visitors {
		p.add(in.Visitors[i].validate(i, in.Locale))
	}
	in.Cabinets = slices.Compact(slices.Sorted(slices.Values(trimAll(in.Cabinets))))
	in.DeviceIDs = slices.Compact(slices.Sorted(slices.Values(in.DeviceIDs)))
	switch n := len(in.Cabinets) + len(in.DeviceIDs); {
	case n == 0 && in.Activity != "tour":
		p.add(Invalid("targets", "visits.error.no_targets"))
	case n > MaxVisitTargets:
		p.add(Invalid("targets", "visits.error.too_many_targets", Number(MaxVisitTargets)))
	}
	for need, note := range in.Needs {
		if !slices.Contains(VisitNeeds, need) {
			p.add(Invalid("needs", "visits.error.need"))
			continue
		}
		note = strings.TrimSpace(note)
		in.Needs[need] = note
		p.add(CheckText("need_"+need, note, 500))
		if need == "other" && note == "" {
			p.add(Invalid("need_other", "visits.error.need_other"))
		}
	}
	return p.err()
}

func trimAll(ss []string) []string {
	out := ss[:0:0]
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// checkIDNumber normalizes (upper case, no spaces) and checks an identity
// number of type idType: a visitor's, a collector's, a standing-list
// person's.
func checkIDNumber(field, idType string, n *string) error {
	*n = strings.ToUpper(strings.Join(strings.Fields(*n), ""))
	v := *n
	switch {
	case v == "":
		return Invalid(field, "error.required")
	case idType == IDResident && len(v) != 18:
		return Invalid(field, "visits.error.resident_length")
	case idType == IDResident && !CheckResidentID(v):
		return Invalid(field, "visits.error.resident_check")
	case len(v) > 30 || strings.IndexFunc(v, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' }) >= 0:
		return Invalid(field, "visits.error.id_number")
	}
	return nil
}

// checkPhone normalizes and checks a phone number; "" passes (the caller
// decides whether one is required).
func checkPhone(field string, p *string) error {
	*p = strings.TrimSpace(*p)
	if *p == "" {
		return nil
	}
	digits := 0
	for _, r := range *p {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' || r == '-' || r == ' ' || r == '(' || r == ')':
		default:
			return Invalid(field, "visits.error.phone")
		}
	}
	if digits < 5 || digits > 20 || len(*p) > 30 {
		return Invalid(field, "visits.error.phone")
	}
	return nil
}

// validate checks visitor n (from 0), normalizing the identity number
// (upper case, no spaces) and the phone.
func (v *VisitorInput) validate(n int, locale string) error {
	var p problems
	f := func(name string) string { return VisitorField(n, name) }
	v.Name = strings.TrimSpace(v.Name)
	if v.Name == "" {
		p.add(Invalid(f("name"), "error.required"))
	}
	p.add(CheckLine(f("name"), v.Name, 100))
	p.add(CheckPrintable(f("name"), v.Name)) // printed on the pass
	v.Company = strings.TrimSpace(v.Company)
	p.add(CheckLine(f("company"), v.Company, 100))
	p.add(CheckPrintable(f("company"), v.Company))
	if !slices.Contains(IDTypes, v.IDType) {
		p.add(Invalid(f("id_type"), "visits.error.id_type"))
	}
	p.add(checkIDNumber(f("id_number"), v.IDType, &v.IDNumber))
	p.add(checkPhone(f("phone"), &v.Phone))
	if v.Phone == "" {
		p.add(Invalid(f("phone"), "error.required"))
	}
	if v.Locale == "" {
		v.Locale = locale
	}
	if v.Locale != "en" && v.Locale != "zh-CN" {
		v.Locale = defaultLocale
	}
	return p.err()
}

// checkSite applies the site's visiting hours and capacity to a visit
// from..to with n visitors, leaving out visit except (0 for none). An
// emergency is spared the minimum notice, not the hours (a site that takes
// visitors at night is configured all day). The site's row is locked
// before the count, so that two requests for the same site cannot both
// take its last places; the callers run in rederiveTx, so that the count
// after the lock sees what the request before committed (MySQL's
// repeatable read would count from the transaction's first snapshot).
func (s *Store) checkSite(tx *gorm.DB, site *Site, from, to time.Time, n int, except int64) error {
	if err := forUpdate(tx).First(site, site.ID).Error; err != nil {
		return err
	}
	var p problems
	if !site.AllDay() {
		lf, lt := from.In(s.zone), to.In(s.zone)
		minute := func(t time.Time) int { return t.Hour()*60 + t.Minute() }
		inHours := func(m int) bool { return m >= site.OpenMinute && m <= site.CloseMinute }
		if lf.YearDay() != lt.YearDay() || lf.Year() != lt.Year() || !inHours(minute(lf)) || !inHours(minute(lt)) {
			p.add(Invalid("planned_from", "visits.error.hours", clockMinute(site.OpenMinute), clockMinute(site.CloseMinute)))
		}
	}
	if site.MaxInside > 0 {
		var inside int64
		err := tx.Model(&Visitor{}).Joins("JOIN visits ON visits.id = visit_visitors.visit_id").
			Where("visits.site_id = ? AND visits.state IN ? AND visits.planned_from < ? AND visits.planned_to > ? AND visits.id <> ?",
				site.ID, []string{VisitPending, VisitApproved}, to.UTC(), from.UTC(), except).
			Where("visit_visitors.checked_out_at IS NULL").Count(&inside).Error
		if err != nil {
			return err
		}
		if int(inside)+n > site.MaxInside {
			p.add(Invalid("visitors", "visits.error.site_full", Number(max(site.MaxInside-int(inside), 0))))
		}
	}
	return p.err()
}

// clockMinute formats minutes after midnight as 08:00.
func clockMinute(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// ownDevices reports whether every one of ids (distinct) is a device of
// organization orgID, counting them a chunk at a time.
func ownDevices(tx *gorm.DB, orgID int64, ids []int64) (bool, error) {
	var n int64
	for chunk := range chunks(ids) {
		var c int64
		if err := tx.Model(&Device{}).Where("org_id = ? AND id IN ?", orgID, chunk).Count(&c).Error; err != nil {
			return false, err
		}
		n += c
	}
	return int(n) == len(ids), nil
}

// resolveVisit checks what belongs to the organization (site, devices,
// cabinets, the operation request) and returns the operation's ID.
func resolveVisit(tx *gorm.DB, orgID int64, in *VisitInput) (*Site, *int64, error) {
	var p problems
	var site Site
	if err := tx.First(&site, in.SiteID).Error; err != nil {
		if err = notFound(err); err != ErrNotFound {
			return nil, nil, err
		}
		p.add(Invalid("site", "visits.error.site"))
	}
	if own, err := ownDevices(tx, orgID, in.DeviceIDs); err != nil {
		return nil, nil, err
	} else if !own {
		p.add(Invalid("targets", "visits.error.device_unknown"))
	}
	if len(in.Cabinets) > 0 {
		var known []string
		if err := tx.Model(&Device{}).Where("org_id = ? AND cabinet IN ?", orgID, in.Cabinets).Distinct().Pluck("cabinet", &known).Error; err != nil {
			return nil, nil, err
		}
		if len(known) != len(in.Cabinets) {
			p.add(Invalid("targets", "visits.error.cabinet_unknown"))
		}
	}
	var opID *int64
	if ref := strings.TrimSpace(in.OperationRef); ref != "" {
		var op OperationRequest
		if !ValidRequestRef(ref) || tx.Where("org_id = ? AND ref = ?", orgID, ref).First(&op).Error != nil {
			p.add(Invalid("operation", "visits.error.operation"))
		} else {
			opID = &op.ID
		}
	}
	if err := p.err(); err != nil {
		return nil, nil, err
	}
	return &site, opID, nil
}

// sealVisitors turns the visitors on the form into rows, sealing the
// identity numbers and phones. Done before the transaction: sealing is
// pure, and the transaction may run again.
func (s *Store) sealVisitors(in []VisitorInput) ([]Visitor, error) {
	vs := make([]Visitor, len(in))
	for i, v := range in {
		id, err := s.piiKey.Seal(v.IDNumber)
		if err != nil {
			return nil, err
		}
		phone, err := s.piiKey.Seal(v.Phone)
		if err != nil {
			return nil, err
		}
		vs[i] = Visitor{Seq: i + 1, Name: v.Name, Company: v.Company, IDType: v.IDType, IDSealed: id, IDMasked: MaskID(v.IDNumber),
			PhoneSealed: phone, PhoneMasked: MaskPhone(v.Phone), Locale: v.Locale}
	}
	return vs, nil
}

// visitParts writes a visit's visitors, targets and needs.
func visitParts(tx *gorm.DB, v *Visit, visitors []Visitor, in *VisitInput) error {
	rows := make([]Visitor, len(visitors))
	for i, x := range visitors {
		x.ID, x.VisitID, x.OrgID = 0, v.ID, v.OrgID
		rows[i] = x
	}
	if err := createInChunks(tx, rows); err != nil {
		return err
	}
	var targets []VisitTarget
	for _, id := range in.DeviceIDs {
		targets = append(targets, VisitTarget{VisitID: v.ID, OrgID: v.OrgID, DeviceID: &id})
	}
	for _, c := range in.Cabinets {
		targets = append(targets, VisitTarget{VisitID: v.ID, OrgID: v.OrgID, Cabinet: c})
	}
	if err := createInChunks(tx, targets); err != nil {
		return err
	}
	var needs []VisitNeed
	for _, n := range VisitNeeds {
		if note, ok := in.Needs[n]; ok {
			needs = append(needs, VisitNeed{VisitID: v.ID, Need: n, OrgID: v.OrgID, Note: note})
		}
	}
	return createInChunks(tx, needs)
}

// CreateVisit records a customer user's request to visit: every rule of
// docs/agreement.md clause 9 is checked, every problem reported at once,
// and nothing is stored unless all hold.
func (s *Store) CreateVisit(ctx context.Context, actor Actor, orgID int64, in VisitInput) (*Visit, error) {
	now := s.now()
	if err := in.validate(s.visitRules, now, s.zone); err != nil {
		return nil, wrap(err, "create visit")
	}
	visitors, err := s.sealVisitors(in.Visitors)
	if err != nil {
		return nil, wrap(err, "create visit")
	}
	year, err := s.prepareNumber(ctx, NumberVisit, orgID, now)
	if err != nil {
		return nil, wrap(err, "create visit")
	}
	var v *Visit
	err = s.rederiveTx(ctx, func(tx *gorm.DB) error {
		v = nil
		site, opID, err := resolveVisit(tx, orgID, &in)
		if err != nil {
			return err
		}
		if err := s.checkSite(tx, site, in.PlannedFrom, in.PlannedTo, len(in.Visitors), 0); err != nil {
			return err
		}
		seq, err := nextNumber(tx, NumberVisit, orgID, year)
		if err != nil {
			return err
		}
		v = &Visit{OrgID: orgID, NumberYear: year, NumberSeq: seq, Ref: newRef(), SiteID: site.ID, State: VisitPending,
			Emergency: in.Emergency, Activity: in.Activity, Reason: in.Reason, PlannedFrom: in.PlannedFrom, PlannedTo: in.PlannedTo,
			RequestedBy: actor.UserID, OperationID: opID, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(v).Error; err != nil {
			return err
		}
		if err := visitParts(tx, v, visitors, &in); err != nil {
			return err
		}
		return s.audit(tx, actor, AuditVisitRequested, "visit", &v.ID, &orgID, map[string]any{
			"visit": v.Number(), "site": site.Name, "activity": v.Activity, "emergency": v.Emergency,
			"from": v.PlannedFrom, "to": v.PlannedTo, "visitors": len(visitors), "operation": v.OperationID})
	})
	if err != nil {
		return nil, wrap(err, "create visit")
	}
	return v, nil
}

// GetVisitByRef returns the visit of reference ref (from a URL) if sc sees
// its organization; else ErrNotFound.
func (s *Store) GetVisitByRef(ctx context.Context, sc Scope, ref string) (*Visit, error) {
	return getByRef[Visit](ctx, s.db, sc, ref, "get visit")
}

// VisitorView is a visitor as a page shows them: ID and Phone are the
// opened values for reception, the masked ones for everyone else, and
// empty once purged.
type VisitorView struct {
	Visitor
	ID    string
	Phone string
}

// VisitTargetView is a target with its device's name.
type VisitTargetView struct {
	VisitTarget
	DeviceName string
}

// VisitDetail is a visit with everything its pages show.
type VisitDetail struct {
	Visit     Visit
	Site      Site
	OrgName   string
	Requester string // the requester's name
	Escort    string // the escort's name, "" before one is assigned
	Operation *OperationRequest
	Visitors  []VisitorView
	Targets   []VisitTargetView
	Needs     []VisitNeed
	Revealed  bool // Visitors carry opened identity numbers and phones
}

// Areas lists what the visit may reach, cabinets first, for the pass.
func (d *VisitDetail) Areas() []string {
	var out []string
	for _, t := range d.Targets {
		if t.DeviceID == nil {
			out = append(out, t.Cabinet)
		}
	}
	for _, t := range d.Targets {
		if t.DeviceID != nil {
			out = append(out, t.DeviceName)
		}
	}
	return out
}

// VisitDetailOf loads what belongs to v, which the caller got through a
// scoped read. reveal opens the sealed identity numbers and phones: only
// reception's pages and exports pass true.
func (s *Store) VisitDetailOf(ctx context.Context, sc Scope, v *Visit, reveal bool) (*VisitDetail, error) {
	if !sc.Allows(v.OrgID) {
		return nil, wrap(ErrNotFound, "visit detail")
	}
	db := s.db.WithContext(ctx)
	d := &VisitDetail{Visit: *v, Revealed: reveal}
	if err := db.First(&d.Site, v.SiteID).Error; err != nil {
		return nil, wrap(err, "visit detail")
	}
	var org Organization
	if err := db.Select("name").First(&org, v.OrgID).Error; err != nil {
		return nil, wrap(err, "visit detail")
	}
	d.OrgName = org.Name
	names, err := s.userNames(db, v.RequestedBy, v.EscortID)
	if err != nil {
		return nil, wrap(err, "visit detail")
	}
	if v.RequestedBy != nil {
		d.Requester = names[*v.RequestedBy]
	}
	if v.EscortID != nil {
		d.Escort = names[*v.EscortID]
	}
	if v.OperationID != nil {
		var op OperationRequest
		if err := db.Where("org_id = ? AND id = ?", v.OrgID, *v.OperationID).First(&op).Error; err == nil {
			d.Operation = &op
		}
	}
	var visitors []Visitor
	if err := db.Where("visit_id = ?", v.ID).Order("seq").Find(&visitors).Error; err != nil {
		return nil, wrap(err, "visit detail")
	}
	for _, x := range visitors {
		vv := VisitorView{Visitor: x, ID: x.IDMasked, Phone: x.PhoneMasked}
		if x.PurgedAt != nil {
			vv.ID, vv.Phone = "", ""
		} else if reveal {
			if vv.ID, err = s.piiKey.Open(x.IDSealed); err != nil {
				return nil, wrap(fmt.Errorf("open visitor %d: %w", x.ID, err), "visit detail")
			}
			if vv.Phone, err = s.piiKey.Open(x.PhoneSealed); err != nil {
				return nil, wrap(fmt.Errorf("open visitor %d: %w", x.ID, err), "visit detail")
			}
		}
		d.Visitors = append(d.Visitors, vv)
	}
	var targets []VisitTarget
	if err := db.Where("visit_id = ?", v.ID).Order("id").Find(&targets).Error; err != nil {
		return nil, wrap(err, "visit detail")
	}
	var devs []Device // a visit names at most MaxVisitTargets
	if err := db.Select("id", "name").Where("org_id = ? AND id IN (SELECT device_id FROM visit_targets WHERE visit_id = ?)", v.OrgID, v.ID).
		Find(&devs).Error; err != nil {
		return nil, wrap(err, "visit detail")
	}
	for _, t := range targets {
		tv := VisitTargetView{VisitTarget: t}
		for _, dev := range devs {
			if t.DeviceID != nil && dev.ID == *t.DeviceID {
				tv.DeviceName = dev.Name
			}
		}
		d.Targets = append(d.Targets, tv)
	}
	if err := db.Where("visit_id = ?", v.ID).Find(&d.Needs).Error; err != nil {
		return nil, wrap(err, "visit detail")
	}
	slices.SortFunc(d.Needs, func(a, b VisitNeed) int { return slices.Index(VisitNeeds, a.Need) - slices.Index(VisitNeeds, b.Need) })
	return d, nil
}

// userNames maps the given user IDs (nil ones skipped) to their names,
// staff and customers alike (StaffNames is for staff only).
func (s *Store) userNames(db *gorm.DB, ids ...*int64) (map[int64]string, error) {
	var want []int64
	for _, id := range ids {
		if id != nil {
			want = append(want, *id)
		}
	}
	out := map[int64]string{}
	var us []User
	if err := findIn(db, want, &us, idAndName); err != nil {
		return nil, err
	}
	for _, u := range us {
		out[u.ID] = u.Name
	}
	return out, nil
}

// ListSites returns every site by name.
func (s *Store) ListSites(ctx context.Context) ([]Site, error) {
	var out []Site
	err := s.db.WithContext(ctx).Order("name").Find(&out).Error
	return out, wrap(err, "list sites")
}
