package models

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gorm.io/gorm"

	"github.com/colo-portal/portal/models/blobstore"
)

// Shipments (docs/architecture.md, "Shipments"): equipment a customer has
// shipped to the data center, which reception receives, stores and hands
// to a named collector or delivers to the cabinet; and equipment the
// customer asks to be shipped out or collected, which reception or an
// engineer hands over. Collectors' identity numbers and phones follow the
// visitors' rule: sealed, masked on every page but reception's, purged.

// Directions of a shipment.
const (
	ShipIn  = "in"
	ShipOut = "out"
)

// Shipment states. Inbound: announced → arrived → collected, or an
// announced one cancelled; an unannounced parcel starts arrived.
// Outbound: requested → handed_over, or cancelled.
const (
	ShipmentAnnounced  = "announced"
	ShipmentArrived    = "arrived"
	ShipmentCollected  = "collected"
	ShipmentRequested  = "requested"
	ShipmentHandedOver = "handed_over"
	ShipmentCancelled  = "cancelled"
)

// ShipmentStates lists every state, inbound then outbound.
var ShipmentStates = []string{ShipmentAnnounced, ShipmentArrived, ShipmentCollected, ShipmentRequested, ShipmentHandedOver, ShipmentCancelled}

// ShipmentConditions are how a parcel may arrive.
var ShipmentConditions = []string{"good", "damaged", "wet", "opened"}

// Outbound methods: a carrier takes it, or a named person collects it.
const (
	ShipByCarrier = "carrier"
	ShipCollect   = "collect"
)

// ShipmentMethods lists the outbound methods.
var ShipmentMethods = []string{ShipByCarrier, ShipCollect}

// Kinds of shipment numbers: SH-2026-0001 inbound, SO-2026-0001 outbound.
const (
	NumberShipment    = "shipment"
	NumberShipmentOut = "shipment_out"
)

// Outbox events of shipments: the organization's contacts with an email
// channel and the user who announced it are emailed.
const (
	EventShipmentArrived = "shipment.arrived"
	EventShipmentHeld    = "shipment.held"
)

// MaxCollectors bounds the people named on one shipment.
const MaxCollectors = 10

// DefaultShipmentHold is how long an arrived parcel may wait before it
// is flagged and the customer reminded (PORTAL_SHIPMENT_HOLD_DAYS).
const DefaultShipmentHold = 14 * 24 * time.Hour

// WithShipmentHold sets how long a parcel is held before it is flagged;
// zero keeps the default.
func WithShipmentHold(d time.Duration) StoreOption {
	return func(s *Store) {
		if d > 0 {
			s.shipmentHold = d
		}
	}
}

// ShipmentHold is how long a parcel is held before it is flagged.
func (s *Store) ShipmentHold() time.Duration {
	if s.shipmentHold <= 0 {
		return DefaultShipmentHold
	}
	return s.shipmentHold
}

// Shipment is one inbound or outbound shipment of an organization.
type Shipment struct {
	ID               int64
	OrgID            int64
	Direction        string
	NumberYear       int
	NumberSeq        int
	Ref              string
	State            string
	Unannounced      bool
	Carrier          string
	Tracking         string // normalized: upper case, no spaces
	Parcels          int
	ExpectedOn       *time.Time // the expected (inbound) or wanted (outbound) day, midnight in the portal's zone
	Contents         string
	Cabinet          string
	Method           string // outbound: carrier or collect
	RequestedBy      *int64
	ArrivedAt        *time.Time
	ReceivedBy       *int64
	ParcelsReceived  int
	StoragePlace     string
	Condition        string
	ConditionNote    string
	PhotoKey         string `json:"-"`
	PhotoName        string
	PhotoType        string
	PhotoSize        int64
	PhotoSHA256      string `gorm:"column:photo_sha256"`
	HeldNoticeAt     *time.Time
	CollectedAt      *time.Time
	CollectorID      *int64 // the shipment's person who collected it
	DeliveredBy      *int64 // the staff member who took it to the cabinet
	HandedBy         *int64 // who recorded the collection or the hand-over
	HandedToName     string
	HandedToCompany  string
	HandedToIDType   string `gorm:"column:handed_to_id_type"`
	HandedToIDSealed string `gorm:"column:handed_to_id_sealed" json:"-"`
	HandedToIDMasked string `gorm:"column:handed_to_id_masked"`
	OutTracking      string
	CancelledAt      *time.Time
	EndedAt          *time.Time
	PurgedAt         *time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

func (Shipment) TableName() string { return "shipments" }

// Number is how people quote a shipment: SH-2026-0003 or SO-2026-0001.
func (sh *Shipment) Number() string {
	if sh.Direction == ShipOut {
		return FormatNumber(NumberShipmentOut, sh.NumberYear, sh.NumberSeq)
	}
	return FormatNumber(NumberShipment, sh.NumberYear, sh.NumberSeq)
}

// Inbound reports an inbound shipment.
func (sh *Shipment) Inbound() bool { return sh.Direction != ShipOut }

// Open reports a shipment still waiting for something to happen.
func (sh *Shipment) Open() bool {
	return sh.State == ShipmentAnnounced || sh.State == ShipmentArrived || sh.State == ShipmentRequested
}

// Changeable reports whether the customer may still change or cancel it.
func (sh *Shipment) Changeable() bool {
	return sh.State == ShipmentAnnounced || sh.State == ShipmentRequested
}

// HeldFor is how long an arrived parcel has waited in store at now.
func (sh *Shipment) HeldFor(now time.Time) time.Duration {
	if sh.State != ShipmentArrived || sh.ArrivedAt == nil {
		return 0
	}
	return now.Sub(*sh.ArrivedAt)
}

// HeldDays is HeldFor in whole days.
func (sh *Shipment) HeldDays(now time.Time) int { return int(sh.HeldFor(now) / (24 * time.Hour)) }

// HeldTooLong reports an arrived parcel waiting longer than hold.
func (sh *Shipment) HeldTooLong(now time.Time, hold time.Duration) bool {
	return sh.State == ShipmentArrived && sh.HeldFor(now) > hold
}

// ShipmentPerson is someone who may collect an inbound shipment, or
// collect an outbound one. The identity number and phone are sealed, the
// masked copies are what every page but reception's shows.
type ShipmentPerson struct {
	ID          int64
	ShipmentID  int64
	OrgID       int64
	Seq         int
	Name        string
	Company     string
	IDType      string `gorm:"column:id_type"`
	IDSealed    string `gorm:"column:id_sealed" json:"-"`
	IDMasked    string `gorm:"column:id_masked"`
	PhoneSealed string `json:"-"`
	PhoneMasked string
	PurgedAt    *time.Time
}

func (ShipmentPerson) TableName() string { return "shipment_people" }

// CollectorField names collector n's (from 0) form field.
func CollectorField(n int, field string) string { return fmt.Sprintf("collector%d_%s", n+1, field) }

// NormalizeTracking is a tracking number as stored and matched: trimmed,
// upper case, without inner spaces (a scanner or a person may add them),
// and full-width letters and digits as their ASCII selves (a scanner
// typing into a Chinese input method in full-width mode).
func NormalizeTracking(s string) string {
	s = strings.Map(func(r rune) rune {
		if r >= '\uFF01' && r <= '\uFF5E' { // full-width ASCII
			return r - 0xFEE0
		}
		if r == '\u3000' { // the ideographic space
			return ' '
		}
		return r
	}, s)
	return strings.ToUpper(strings.Join(strings.Fields(s), ""))
}

func checkTracking(field, t string, required bool) error {
	switch {
	case t == "" && required:
		return Invalid(field, "error.required")
	case len(t) > 64 || strings.IndexFunc(t, func(r rune) bool {
		return !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' || r == '.'))
	}) >= 0:
		return Invalid(field, "shipments.error.tracking")
	}
	return nil
}

// ShipmentInput is the customer's form: an inbound announcement, or an
// outbound request (Method set). Form fields are named as the errors:
// carrier, tracking, parcels, date, contents, cabinet, method, and per
// collector n from 1 collector<n>_name, _company, _id_type, _id_number,
// _phone.
type ShipmentInput struct {
	Method     string // "" announces an inbound shipment
	Carrier    string
	Tracking   string
	Parcels    string
	Date       string // YYYY-MM-DD: expected (inbound) or wanted (outbound)
	Contents   string
	Cabinet    string
	Collectors []VisitorInput
}

// shipmentPeriod bounds the expected or wanted day around today.
const (
	shipmentPast   = 30
	shipmentFuture = 366
)

// parseShipDay reads a YYYY-MM-DD day in zone, as midnight UTC of that day
// there.
func parseShipDay(field, s string, zone *time.Location) (*time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, Invalid(field, "error.required")
	}
	t, err := time.ParseInLocation(time.DateOnly, s, zone)
	if err != nil {
		return nil, Invalid(field, "error.date_invalid")
	}
	if err := CheckDate(field, t, zone); err != nil {
		return nil, err
	}
	t = t.UTC()
	return &t, nil
}

func parseCount(field, s string, most int) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, Invalid(field, "error.required")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > most {
		return 0, Invalid(field, "shipments.error.parcels", Number(most))
	}
	return n, nil
}

// validate checks the form, normalizing it; kept marks the collectors
// whose stored identity number and phone are kept (an edit that left the
// masked values as shown).
func (in *ShipmentInput) validate(now time.Time, zone *time.Location, kept map[int]bool) (parcels int, day *time.Time, err error) {
	var p problems
	if in.Method != "" && !slices.Contains(ShipmentMethods, in.Method) {
		p.add(Invalid("method", "shipments.error.method"))
	}
	in.Carrier = strings.TrimSpace(in.Carrier)
	if in.Carrier == "" && in.Method != ShipCollect {
		p.add(Invalid("carrier", "error.required"))
	}
	p.add(CheckLine("carrier", in.Carrier, 100))
	in.Tracking = NormalizeTracking(in.Tracking)
	p.add(checkTracking("tracking", in.Tracking, in.Method == ""))
	var e error
	parcels, e = parseCount("parcels", in.Parcels, 999)
	p.add(e)
	day, e = parseShipDay("date", in.Date, zone)
	p.add(e)
	if day != nil {
		today := shipDayStart(now, zone)
		switch {
		case day.Before(today.AddDate(0, 0, -shipmentPast)):
			p.add(Invalid("date", "shipments.error.date_past", Number(shipmentPast)))
		case day.After(today.AddDate(0, 0, shipmentFuture)):
			p.add(Invalid("date", "shipments.error.date_future"))
		case in.Method != "" && day.Before(today):
			p.add(Invalid("date", "shipments.error.wanted_past"))
		}
	}
	in.Contents = strings.TrimSpace(in.Contents)
	if in.Contents == "" {
		p.add(Invalid("contents", "error.required"))
	}
	p.add(CheckText("contents", in.Contents, 2000))
	in.Cabinet = strings.TrimSpace(in.Cabinet)
	p.add(CheckLine("cabinet", in.Cabinet, 40))
	if in.Method != "" && in.Cabinet == "" {
		p.add(Invalid("cabinet", "shipments.error.cabinet_required"))
	}
	switch {
	case len(in.Collectors) > MaxCollectors:
		p.add(Invalid("collectors", "shipments.error.too_many_collectors", Number(MaxCollectors)))
	case in.Method == ShipCollect && len(in.Collectors) == 0:
		p.add(Invalid("collectors", "shipments.error.no_collectors"))
	}
	for i := range in.Collectors {
		p.add(validateCollector(&in.Collectors[i], i, kept[i]))
	}
	return parcels, day, p.err()
}

// validateCollector checks collector n with the visitors' rules, its
// errors named after the collector's fields. A kept collector's identity
// number and phone are not checked again (they were when stored).
func validateCollector(v *VisitorInput, n int, kept bool) error {
	err := v.validate(n, defaultLocale)
	var p problems
	for _, ve := range Validations(err) {
		if kept && (ve.Field == VisitorField(n, "id_number") || ve.Field == VisitorField(n, "phone")) {
			continue
		}
		p.add(Invalid(strings.Replace(ve.Field, "visitor", "collector", 1), ve.Key, ve.Args...))
	}
	return p.err()
}

// shipDayStart is midnight of t's day in zone, in UTC.
func shipDayStart(t time.Time, zone *time.Location) time.Time { return startOfDay(t, zone).UTC() }

// checkCabinet requires one of the cabinets the organization uses
// (orgCabinets: its devices' and contracts') when it has any, matched
// whatever its case and returned as the organization spells it; one
// without cabinets names it in free text.
func checkCabinet(tx *gorm.DB, orgID int64, cabinet string) (string, error) {
	if cabinet == "" {
		return "", nil
	}
	cabs, err := orgCabinets(tx, orgID)
	if err != nil {
		return "", err
	}
	if len(cabs) == 0 {
		return cabinet, nil
	}
	for _, c := range cabs {
		if strings.EqualFold(c, cabinet) {
			return c, nil
		}
	}
	return "", Invalid("cabinet", "shipments.error.cabinet")
}

// sealPeople turns the form's collectors into rows, sealing identity
// numbers and phones; a kept row takes the stored person's sealed values.
func (s *Store) sealPeople(in []VisitorInput, kept map[int]*ShipmentPerson) ([]ShipmentPerson, error) {
	out := make([]ShipmentPerson, len(in))
	for i, v := range in {
		p := ShipmentPerson{Seq: i + 1, Name: v.Name, Company: v.Company, IDType: v.IDType}
		if old := kept[i]; old != nil {
			p.IDSealed, p.IDMasked, p.PhoneSealed, p.PhoneMasked = old.IDSealed, old.IDMasked, old.PhoneSealed, old.PhoneMasked
			out[i] = p
			continue
		}
		id, err := s.piiKey.Seal(v.IDNumber)
		if err != nil {
			return nil, err
		}
		phone, err := s.piiKey.Seal(v.Phone)
		if err != nil {
			return nil, err
		}
		p.IDSealed, p.IDMasked, p.PhoneSealed, p.PhoneMasked = id, MaskID(v.IDNumber), phone, MaskPhone(v.Phone)
		out[i] = p
	}
	return out, nil
}

func writePeople(tx *gorm.DB, sh *Shipment, people []ShipmentPerson) error {
	rows := make([]ShipmentPerson, len(people))
	for i, p := range people {
		p.ID, p.ShipmentID, p.OrgID = 0, sh.ID, sh.OrgID
		rows[i] = p
	}
	return createInChunks(tx, rows)
}

// CreateShipment records a customer's inbound announcement or outbound
// request (in.Method set) for organization orgID.
func (s *Store) CreateShipment(ctx context.Context, actor Actor, orgID int64, in ShipmentInput) (*Shipment, error) {
	now := s.now()
	parcels, day, err := in.validate(now, s.zone, nil)
	if err != nil {
		return nil, wrap(err, "create shipment")
	}
	people, err := s.sealPeople(in.Collectors, nil)
	if err != nil {
		return nil, wrap(err, "create shipment")
	}
	kind, dir, state, action := NumberShipment, ShipIn, ShipmentAnnounced, AuditShipmentAnnounced
	if in.Method != "" {
		kind, dir, state, action = NumberShipmentOut, ShipOut, ShipmentRequested, AuditShipmentOutbound
	}
	year, err := s.prepareNumber(ctx, kind, orgID, now)
	if err != nil {
		return nil, wrap(err, "create shipment")
	}
	var sh *Shipment
	err = s.tx(ctx, func(tx *gorm.DB) error {
		sh = nil
		cabinet, err := checkCabinet(tx, orgID, in.Cabinet)
		if err != nil {
			return err
		}
		seq, err := nextNumber(tx, kind, orgID, year)
		if err != nil {
			return err
		}
		sh = &Shipment{OrgID: orgID, Direction: dir, NumberYear: year, NumberSeq: seq, Ref: newRef(), State: state,
			Carrier: in.Carrier, Tracking: in.Tracking, Parcels: parcels, ExpectedOn: day, Contents: in.Contents,
			Cabinet: cabinet, Method: in.Method, RequestedBy: actor.UserID, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(sh).Error; err != nil {
			return err
		}
		if err := writePeople(tx, sh, people); err != nil {
			return err
		}
		return s.audit(tx, actor, action, "shipment", &sh.ID, &orgID, map[string]any{"shipment": sh.Number(),
			"carrier": sh.Carrier, "tracking": sh.Tracking, "parcels": parcels, "date": day, "cabinet": sh.Cabinet,
			"method": sh.Method, "collectors": len(people)})
	})
	if err != nil {
		return nil, wrap(err, "create shipment")
	}
	return sh, nil
}

// GetShipmentByRef returns the shipment of reference ref if sc sees its
// organization; else ErrNotFound.
func (s *Store) GetShipmentByRef(ctx context.Context, sc Scope, ref string) (*Shipment, error) {
	return getByRef[Shipment](ctx, s.db, sc, ref, "get shipment")
}

// keptPeople maps the rows of in whose identity number and phone still
// hold the masked values of a stored person of the same name and ID type
// (an edit form never carries the real ones) to that person.
func keptPeople(tx *gorm.DB, shipmentID int64, in []VisitorInput) (map[int]*ShipmentPerson, error) {
	var old []ShipmentPerson
	if err := tx.Where("shipment_id = ?", shipmentID).Order("seq").Find(&old).Error; err != nil {
		return nil, err
	}
	kept := map[int]*ShipmentPerson{}
	for i, v := range in {
		for j := range old {
			o := &old[j]
			if o.PurgedAt == nil && o.Name == strings.TrimSpace(v.Name) && o.IDType == strings.TrimSpace(v.IDType) &&
				o.IDMasked == strings.TrimSpace(v.IDNumber) &&
				o.PhoneMasked == strings.TrimSpace(v.Phone) && strings.Contains(o.IDMasked, "*") {
				kept[i] = o
				break
			}
		}
	}
	return kept, nil
}

// UpdateShipment changes a shipment the customer may still change
// (announced or requested): its fields and its people.
func (s *Store) UpdateShipment(ctx context.Context, actor Actor, orgID, id int64, in ShipmentInput) (*Shipment, error) {
	now := s.now()
	var sh Shipment
	if err := s.db.WithContext(ctx).Where("org_id = ? AND id = ?", orgID, id).First(&sh).Error; err != nil {
		return nil, wrap(notFound(err), "update shipment")
	}
	if !sh.Inbound() {
		in.Method = cmp.Or(in.Method, sh.Method)
	} else {
		in.Method = ""
	}
	kept, err := keptPeople(s.db.WithContext(ctx), sh.ID, in.Collectors)
	if err != nil {
		return nil, wrap(err, "update shipment")
	}
	keptIdx := map[int]bool{}
	for i := range kept {
		keptIdx[i] = true
	}
	parcels, day, err := in.validate(now, s.zone, keptIdx)
	if err != nil {
		return nil, wrap(err, "update shipment")
	}
	people, err := s.sealPeople(in.Collectors, kept)
	if err != nil {
		return nil, wrap(err, "update shipment")
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		sh = Shipment{}
		if err := forUpdate(tx).Where("org_id = ? AND id = ?", orgID, id).First(&sh).Error; err != nil {
			return notFound(err)
		}
		if !sh.Changeable() {
			return Invalid("state", "shipments.error.not_changeable")
		}
		cabinet, err := checkCabinet(tx, orgID, in.Cabinet)
		if err != nil {
			return err
		}
		in.Cabinet = cabinet
		changes := map[string]any{"carrier": in.Carrier, "tracking": in.Tracking, "parcels": parcels, "expected_on": day,
			"contents": in.Contents, "cabinet": in.Cabinet, "method": in.Method, "updated_at": now}
		if err := tx.Model(&Shipment{}).Where("id = ?", sh.ID).Updates(changes).Error; err != nil {
			return err
		}
		if err := tx.Where("shipment_id = ?", sh.ID).Delete(&ShipmentPerson{}).Error; err != nil {
			return err
		}
		if err := writePeople(tx, &sh, people); err != nil {
			return err
		}
		sh.Carrier, sh.Tracking, sh.Parcels, sh.ExpectedOn, sh.Contents, sh.Cabinet, sh.Method, sh.UpdatedAt =
			in.Carrier, in.Tracking, parcels, day, in.Contents, in.Cabinet, in.Method, now
		return s.audit(tx, actor, AuditShipmentUpdated, "shipment", &sh.ID, &orgID, map[string]any{"shipment": sh.Number(),
			"carrier": sh.Carrier, "tracking": sh.Tracking, "parcels": parcels, "date": day, "cabinet": sh.Cabinet,
			"collectors": len(people)})
	})
	if err != nil {
		return nil, wrap(err, "update shipment")
	}
	return &sh, nil
}

// CancelShipment calls off a shipment the customer may still change.
func (s *Store) CancelShipment(ctx context.Context, actor Actor, orgID, id int64) error {
	now := s.now()
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var sh Shipment
		if err := forUpdate(tx).Where("org_id = ? AND id = ?", orgID, id).First(&sh).Error; err != nil {
			return notFound(err)
		}
		if !sh.Changeable() {
			return Invalid("state", "shipments.error.not_changeable")
		}
		if err := tx.Model(&Shipment{}).Where("id = ?", sh.ID).Updates(map[string]any{"state": ShipmentCancelled,
			"cancelled_at": now, "ended_at": now, "updated_at": now}).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditShipmentCancelled, "shipment", &sh.ID, &orgID, map[string]any{"shipment": sh.Number()})
	})
	return wrap(err, "cancel shipment")
}

// ArrivalInput is reception's record of a parcel's arrival. For an
// unannounced parcel OrgID, Carrier, Tracking and Contents say what it is.
type ArrivalInput struct {
	OrgID         int64
	Carrier       string
	Tracking      string
	Contents      string
	Parcels       string // parcels received
	StoragePlace  string
	Condition     string
	ConditionNote string
	Photo         *CheckedUpload
	PhotoData     []byte
}

func (in *ArrivalInput) validate(unannounced bool) (int, error) {
	var p problems
	if unannounced {
		if in.OrgID <= 0 {
			p.add(Invalid("org", "shipments.error.org"))
		}
		in.Carrier = strings.TrimSpace(in.Carrier)
		if in.Carrier == "" {
			p.add(Invalid("carrier", "error.required"))
		}
		p.add(CheckLine("carrier", in.Carrier, 100))
		in.Tracking = NormalizeTracking(in.Tracking)
		p.add(checkTracking("tracking", in.Tracking, false))
		in.Contents = strings.TrimSpace(in.Contents)
		p.add(CheckText("contents", in.Contents, 2000))
	}
	n, err := parseCount("parcels", in.Parcels, 999)
	p.add(err)
	in.StoragePlace = strings.TrimSpace(in.StoragePlace)
	if in.StoragePlace == "" {
		p.add(Invalid("storage_place", "error.required"))
	}
	p.add(CheckLine("storage_place", in.StoragePlace, 100))
	if !slices.Contains(ShipmentConditions, in.Condition) {
		p.add(Invalid("condition", "shipments.error.condition"))
	}
	in.ConditionNote = strings.TrimSpace(in.ConditionNote)
	if in.Condition != "good" && in.Condition != "" && in.ConditionNote == "" {
		p.add(Invalid("condition_note", "shipments.error.condition_note"))
	}
	p.add(CheckText("condition_note", in.ConditionNote, 2000))
	if in.Photo != nil {
		if !strings.HasPrefix(in.Photo.ContentType, "image/") || int64(len(in.PhotoData)) != in.Photo.Size {
			p.add(Invalid("photo", "shipments.error.photo"))
		} else if len(p.errs) > 0 {
			// A refused form cannot give the file back: say so.
			p.add(Invalid("photo", "shipments.error.photo_again"))
		}
	}
	return n, p.err()
}

// RecordArrival records that announced shipment id of orgID arrived, or,
// with id 0, logs an unannounced parcel for in.OrgID. The organization's
// contacts and the announcing user are emailed.
func (s *Store) RecordArrival(ctx context.Context, actor Actor, blobs blobstore.Store, orgID, id int64, in ArrivalInput) (*Shipment, error) {
	unannounced := id == 0
	if unannounced {
		orgID = in.OrgID
	}
	n, err := in.validate(unannounced)
	if err != nil {
		return nil, wrap(err, "record arrival")
	}
	now := s.now()
	var year int
	if unannounced {
		var org Organization
		if err := s.db.WithContext(ctx).Select("id").First(&org, orgID).Error; err != nil {
			if err = notFound(err); err == ErrNotFound {
				return nil, wrap(Invalid("org", "shipments.error.org"), "record arrival")
			}
			return nil, wrap(err, "record arrival")
		}
		if year, err = s.prepareNumber(ctx, NumberShipment, orgID, now); err != nil {
			return nil, wrap(err, "record arrival")
		}
	} else {
		var sh Shipment
		if err := s.db.WithContext(ctx).Where("org_id = ? AND id = ?", orgID, id).First(&sh).Error; err != nil {
			return nil, wrap(notFound(err), "record arrival")
		}
		if sh.State != ShipmentAnnounced {
			return nil, wrap(Invalid("state", "shipments.error.not_announced"), "record arrival")
		}
	}
	var key string
	if in.Photo != nil && blobs != nil {
		if key, err = blobs.Put(ctx, in.PhotoData); err != nil {
			return nil, fmt.Errorf("models: store shipment photo: %w", err)
		}
	}
	var sh Shipment
	err = s.tx(ctx, func(tx *gorm.DB) error {
		sh = Shipment{}
		arrival := map[string]any{"state": ShipmentArrived, "arrived_at": now, "received_by": actor.UserID,
			"parcels_received": n, "storage_place": in.StoragePlace, "condition": in.Condition, "condition_note": in.ConditionNote,
			"updated_at": now}
		if key != "" {
			arrival["photo_key"], arrival["photo_name"], arrival["photo_type"] = key, in.Photo.Name, in.Photo.ContentType
			arrival["photo_size"], arrival["photo_sha256"] = in.Photo.Size, in.Photo.SHA256
		}
		if unannounced {
			// A parcel announced under this tracking number (by any
			// organization) is recorded as that shipment's arrival, not
			// logged a second time beside it.
			if in.Tracking != "" {
				var dup Shipment
				err := tx.Select("id", "direction", "number_year", "number_seq").Where("direction = ? AND tracking = ? AND state = ?",
					ShipIn, in.Tracking, ShipmentAnnounced).Order("id").Take(&dup).Error
				if err == nil {
					return Invalid("tracking", "shipments.error.tracking_announced", dup.Number())
				}
				if err = optionalRow(err); err != nil {
					return err
				}
			}
			seq, err := nextNumber(tx, NumberShipment, orgID, year)
			if err != nil {
				return err
			}
			sh = Shipment{OrgID: orgID, Direction: ShipIn, NumberYear: year, NumberSeq: seq, Ref: newRef(), State: ShipmentAnnounced,
				Unannounced: true, Carrier: in.Carrier, Tracking: in.Tracking, Parcels: n, Contents: in.Contents,
				CreatedAt: now, UpdatedAt: now}
			if err := tx.Create(&sh).Error; err != nil {
				return err
			}
		} else if err := forUpdate(tx).Where("org_id = ? AND id = ?", orgID, id).First(&sh).Error; err != nil {
			return notFound(err)
		}
		if sh.State != ShipmentAnnounced {
			return Invalid("state", "shipments.error.not_announced")
		}
		if err := tx.Model(&Shipment{}).Where("id = ?", sh.ID).Updates(arrival).Error; err != nil {
			return err
		}
		if err := tx.Where("id = ?", sh.ID).First(&sh).Error; err != nil {
			return err
		}
		if err := s.outbox(tx, EventShipmentArrived, orgID, sh.ID, ""); err != nil {
			return err
		}
		return s.audit(tx, actor, AuditShipmentArrived, "shipment", &sh.ID, &orgID, map[string]any{"shipment": sh.Number(),
			"unannounced": sh.Unannounced, "tracking": sh.Tracking, "parcels": n, "expected": sh.Parcels,
			"storage_place": in.StoragePlace, "condition": in.Condition, "photo": sh.PhotoName != ""})
	})
	if err != nil {
		if key != "" {
			if rmErr := blobs.Remove(context.WithoutCancel(ctx), key); rmErr != nil {
				err = errors.Join(err, rmErr)
			}
		}
		return nil, wrap(err, "record arrival")
	}
	return &sh, nil
}

// CollectInput is reception's record of who took an arrived parcel:
// one of the shipment's named collectors, identity document checked, or
// a staff member who delivered it to the customer's cabinet.
type CollectInput struct {
	CollectorID int64 // a person of the shipment
	IDChecked   bool
	StaffID     int64 // delivered to the cabinet by this staff member
}

// CollectShipment records that arrived shipment id of orgID left the
// store.
func (s *Store) CollectShipment(ctx context.Context, actor Actor, orgID, id int64, in CollectInput) (*Shipment, error) {
	var p problems
	switch {
	case in.CollectorID == 0 && in.StaffID == 0:
		p.add(Invalid("collector", "shipments.error.collector"))
	case in.CollectorID != 0 && in.StaffID != 0:
		p.add(Invalid("collector", "shipments.error.collector_or_staff"))
	case in.CollectorID != 0 && !in.IDChecked:
		p.add(Invalid("id_checked", "shipments.error.id_checked"))
	}
	if err := p.err(); err != nil {
		return nil, wrap(err, "collect shipment")
	}
	now := s.now()
	var sh Shipment
	err := s.tx(ctx, func(tx *gorm.DB) error {
		sh = Shipment{}
		if err := forUpdate(tx).Where("org_id = ? AND id = ?", orgID, id).First(&sh).Error; err != nil {
			return notFound(err)
		}
		if sh.State != ShipmentArrived {
			return Invalid("state", "shipments.error.not_arrived")
		}
		changes := map[string]any{"state": ShipmentCollected, "collected_at": now, "ended_at": now, "handed_by": actor.UserID, "updated_at": now}
		detail := map[string]any{"shipment": sh.Number()}
		if in.CollectorID != 0 {
			var person ShipmentPerson
			if err := tx.Where("shipment_id = ? AND id = ?", sh.ID, in.CollectorID).First(&person).Error; err != nil {
				if err = notFound(err); err == ErrNotFound {
					return Invalid("collector", "shipments.error.collector")
				}
				return err
			}
			changes["collector_id"], changes["handed_to_name"], changes["handed_to_company"] = person.ID, person.Name, person.Company
			detail["collector"], detail["id_checked"] = person.Name, true
		} else {
			var staff User
			if err := tx.Select("id", "name").Where("id = ? AND role IN ? AND disabled_at IS NULL", in.StaffID, EscortRoles).
				First(&staff).Error; err != nil {
				if err = notFound(err); err == ErrNotFound {
					return Invalid("staff", "shipments.error.staff")
				}
				return err
			}
			changes["delivered_by"], changes["handed_to_name"] = staff.ID, staff.Name
			detail["delivered_by"], detail["cabinet"] = staff.Name, sh.Cabinet
		}
		if err := tx.Model(&Shipment{}).Where("id = ?", sh.ID).Updates(changes).Error; err != nil {
			return err
		}
		if err := tx.Where("id = ?", sh.ID).First(&sh).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditShipmentCollected, "shipment", &sh.ID, &orgID, detail)
	})
	if err != nil {
		return nil, wrap(err, "collect shipment")
	}
	return &sh, nil
}

// HandOverInput is the record of an outbound shipment handed over: to
// whom (a carrier's driver or a collecting person), their identity
// document checked, and the carrier's tracking number if shipped.
type HandOverInput struct {
	Name      string
	Company   string
	IDType    string
	IDNumber  string
	IDChecked bool
	Tracking  string
}

// HandOverShipment records that requested outbound shipment id of orgID
// was handed over.
func (s *Store) HandOverShipment(ctx context.Context, actor Actor, orgID, id int64, in HandOverInput) (*Shipment, error) {
	var p problems
	in.Name, in.Company = strings.TrimSpace(in.Name), strings.TrimSpace(in.Company)
	if in.Name == "" {
		p.add(Invalid("name", "error.required"))
	}
	p.add(CheckLine("name", in.Name, 100))
	p.add(CheckLine("company", in.Company, 100))
	v := VisitorInput{Name: cmp.Or(in.Name, "x"), IDType: in.IDType, IDNumber: in.IDNumber, Phone: "00000"}
	for _, ve := range Validations(v.validate(0, defaultLocale)) {
		switch ve.Field {
		case VisitorField(0, "id_type"):
			p.add(Invalid("id_type", ve.Key, ve.Args...))
		case VisitorField(0, "id_number"):
			p.add(Invalid("id_number", ve.Key, ve.Args...))
		}
	}
	if !in.IDChecked {
		p.add(Invalid("id_checked", "shipments.error.id_checked"))
	}
	in.Tracking = NormalizeTracking(in.Tracking)
	p.add(checkTracking("tracking", in.Tracking, false))
	if err := p.err(); err != nil {
		return nil, wrap(err, "hand over shipment")
	}
	sealed, err := s.piiKey.Seal(v.IDNumber)
	if err != nil {
		return nil, wrap(err, "hand over shipment")
	}
	now := s.now()
	var sh Shipment
	err = s.tx(ctx, func(tx *gorm.DB) error {
		sh = Shipment{}
		if err := forUpdate(tx).Where("org_id = ? AND id = ?", orgID, id).First(&sh).Error; err != nil {
			return notFound(err)
		}
		if sh.State != ShipmentRequested {
			return Invalid("state", "shipments.error.not_requested")
		}
		if sh.Method == ShipByCarrier && in.Tracking == "" {
			return Invalid("tracking", "shipments.error.tracking_required")
		}
		if err := tx.Model(&Shipment{}).Where("id = ?", sh.ID).Updates(map[string]any{"state": ShipmentHandedOver,
			"collected_at": now, "ended_at": now, "handed_by": actor.UserID, "handed_to_name": in.Name, "handed_to_company": in.Company,
			"handed_to_id_type": v.IDType, "handed_to_id_sealed": sealed, "handed_to_id_masked": MaskID(v.IDNumber),
			"out_tracking": in.Tracking, "updated_at": now}).Error; err != nil {
			return err
		}
		if err := tx.Where("id = ?", sh.ID).First(&sh).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditShipmentHandedOver, "shipment", &sh.ID, &orgID, map[string]any{"shipment": sh.Number(),
			"to": in.Name, "company": in.Company, "id_type": v.IDType, "tracking": in.Tracking})
	})
	if err != nil {
		return nil, wrap(err, "hand over shipment")
	}
	return &sh, nil
}

// ShipmentPersonView is a person as a page shows them: ID and Phone are
// opened for reception, masked for everyone else, empty once purged.
type ShipmentPersonView struct {
	ShipmentPerson
	ID    string
	Phone string
}

// ShipmentDetail is a shipment with what its pages show.
type ShipmentDetail struct {
	Shipment    Shipment
	OrgName     string
	Requester   string
	ReceivedBy  string
	HandedBy    string
	DeliveredBy string
	People      []ShipmentPersonView
	Collector   *ShipmentPersonView
	HandedToID  string // opened for reception, masked otherwise
	Revealed    bool
}

// ShipmentDetailOf loads what belongs to sh, which the caller got through
// a scoped read. reveal opens the sealed identity numbers and phones:
// only reception's pages pass true.
func (s *Store) ShipmentDetailOf(ctx context.Context, sc Scope, sh *Shipment, reveal bool) (*ShipmentDetail, error) {
	if !sc.Allows(sh.OrgID) {
		return nil, wrap(ErrNotFound, "shipment detail")
	}
	db := s.db.WithContext(ctx)
	d := &ShipmentDetail{Shipment: *sh, Revealed: reveal, HandedToID: sh.HandedToIDMasked}
	var org Organization
	if err := db.Select("name").First(&org, sh.OrgID).Error; err != nil {
		return nil, wrap(err, "shipment detail")
	}
	d.OrgName = org.Name
	names, err := s.userNames(db, sh.RequestedBy, sh.ReceivedBy, sh.HandedBy, sh.DeliveredBy)
	if err != nil {
		return nil, wrap(err, "shipment detail")
	}
	name := func(id *int64) string {
		if id == nil {
			return ""
		}
		return names[*id]
	}
	d.Requester, d.ReceivedBy, d.HandedBy, d.DeliveredBy = name(sh.RequestedBy), name(sh.ReceivedBy), name(sh.HandedBy), name(sh.DeliveredBy)
	var people []ShipmentPerson
	if err := db.Where("shipment_id = ?", sh.ID).Order("seq").Find(&people).Error; err != nil {
		return nil, wrap(err, "shipment detail")
	}
	for _, p := range people {
		pv := ShipmentPersonView{ShipmentPerson: p, ID: p.IDMasked, Phone: p.PhoneMasked}
		if p.PurgedAt != nil {
			pv.ID, pv.Phone = "", ""
		} else if reveal {
			if pv.ID, err = s.piiKey.Open(p.IDSealed); err != nil {
				return nil, wrap(fmt.Errorf("open shipment person %d: %w", p.ID, err), "shipment detail")
			}
			if pv.Phone, err = s.piiKey.Open(p.PhoneSealed); err != nil {
				return nil, wrap(fmt.Errorf("open shipment person %d: %w", p.ID, err), "shipment detail")
			}
		}
		d.People = append(d.People, pv)
	}
	for i := range d.People {
		if sh.CollectorID != nil && d.People[i].ShipmentPerson.ID == *sh.CollectorID {
			d.Collector = &d.People[i]
		}
	}
	switch {
	case sh.PurgedAt != nil:
		d.HandedToID = ""
	case reveal && sh.HandedToIDSealed != "":
		if d.HandedToID, err = s.piiKey.Open(sh.HandedToIDSealed); err != nil {
			return nil, wrap(fmt.Errorf("open shipment %d hand-over: %w", sh.ID, err), "shipment detail")
		}
	}
	return d, nil
}

// Audit actions of shipments.
const (
	AuditShipmentAnnounced  = "shipment.announced"
	AuditShipmentUpdated    = "shipment.updated"
	AuditShipmentCancelled  = "shipment.cancelled"
	AuditShipmentArrived    = "shipment.arrived"
	AuditShipmentCollected  = "shipment.collected"
	AuditShipmentOutbound   = "shipment.outbound_requested"
	AuditShipmentHandedOver = "shipment.handed_over"
	AuditShipmentHeld       = "shipment.held_too_long"
	AuditShipmentsExported  = "shipment.exported"
	AuditShipmentsPurged    = "shipment.people_purged"
)
