package models

import (
	"context"
	"errors"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// The meters of a PDU or environment sensor as staff keep them: each
// one OID read by the poller, its quantity, the divisor that turns the
// agent's integer into the unit and, for a PDU's power and current, the
// feed (A or B). Mapped to an organization's cabinet (one the
// organization uses: its devices' and its contracts' cabinets, as power
// incidents name them) and optionally to the contract whose power the
// cabinet draws, with thresholds in the unit. Reads take a scope; the
// route table keeps the writes to engineers and admins.

// Audit actions of meters (target "facility_meter").
const (
	AuditMeterAdded   = "facility.meter_added"
	AuditMeterChanged = "facility.meter_changed"
	AuditMeterRemoved = "facility.meter_removed"
)

// MeterDivisors are the divisors a meter may have: the agent's integer is
// in units, tenths, hundredths or thousandths.
var MeterDivisors = []int{1, 10, 100, 1000}

// Limits of a meter.
const (
	maxMeterOID     = 255
	maxMeterLabel   = 100
	maxMeterCabinet = maxPowerCabinet
	// MaxThreshold bounds a threshold's magnitude in its unit.
	MaxThreshold = 1_000_000
)

// oidRE is a numeric OID of at least two arcs, without a leading dot.
var oidRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)+$`)

// IsFeedQuantity says whether quantity q is a PDU's, read per feed.
func IsFeedQuantity(q string) bool { return q == QuantityPower || q == QuantityCurrent }

// MeterInput is what the form adding a meter supplies.
type MeterInput struct {
	OID      string
	Quantity string
	Divisor  int
	Feed     string
	Label    string
}

// validate checks and normalizes in for a meter of device sw.
func (in *MeterInput) validate(sw *Switch) error {
	var p problems
	in.OID = strings.TrimPrefix(strings.TrimSpace(in.OID), ".")
	in.Label = strings.TrimSpace(in.Label)
	in.Feed = strings.ToUpper(strings.TrimSpace(in.Feed))
	switch {
	case in.OID == "":
		p.add(Invalid("oid", "error.required"))
	case len(in.OID) > maxMeterOID || !oidRE.MatchString(in.OID):
		p.add(Invalid("oid", "facility.error.oid"))
	}
	switch {
	case !slices.Contains(Quantities, in.Quantity):
		p.add(Invalid("quantity", "facility.error.quantity"))
	case IsFeedQuantity(in.Quantity) && sw.Kind != SwitchPDU:
		p.add(Invalid("quantity", "facility.error.quantity_pdu"))
	}
	if !slices.Contains(MeterDivisors, in.Divisor) {
		p.add(Invalid("divisor", "facility.error.divisor"))
	}
	if IsFeedQuantity(in.Quantity) {
		if in.Feed != FeedA && in.Feed != FeedB {
			p.add(Invalid("feed", "facility.error.feed"))
		}
	} else {
		in.Feed = ""
	}
	p.add(CheckLine("label", in.Label, maxMeterLabel))
	return p.err()
}

// CheckMeter checks a meter's form without saving it, for a form whose
// own fields did not read.
func CheckMeter(in MeterInput, sw *Switch) error { return in.validate(sw) }

// MeterChange is what the form changing a meter supplies: its label, its
// mapping (every part optional, but a cabinet and a contract need the
// organization) and its thresholds as typed, decimals in the unit ("" for
// none).
type MeterChange struct {
	Label      string
	OrgID      *int64
	Cabinet    string
	ContractID *int64
	High, Low  string
}

// ParseMilli reads a decimal in a unit ("12.5", "-3", at most three
// decimals) as thousandths; ok is false for anything else.
func ParseMilli(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" && !dot || dot && frac == "" || len(frac) > 3 || strings.Trim(whole+frac, "0123456789") != "" || len(whole) > 9 {
		return 0, false
	}
	w := int64(0)
	if whole != "" {
		var err error
		if w, err = strconv.ParseInt(whole, 10, 64); err != nil {
			return 0, false
		}
	}
	f := int64(0)
	if frac != "" {
		n, _ := strconv.ParseInt(frac, 10, 64)
		f = n * int64(math.Pow10(3-len(frac)))
	}
	v := w*1000 + f
	if neg {
		v = -v
	}
	return v, true
}

// FormatMilli writes thousandths as the decimal they stand for, without
// trailing zeros: 12500 → "12.5".
func FormatMilli(v int64) string {
	neg := v < 0
	if neg {
		v = -v
	}
	s := strconv.FormatInt(v/1000, 10)
	if f := v % 1000; f != 0 {
		s += "." + strings.TrimRight(strconv.FormatInt(f+1000, 10)[1:], "0")
	}
	if neg {
		s = "-" + s
	}
	return s
}

// milliPtrText is a threshold for an audit record: "" for none.
func milliPtrText(v *int64, unit string) string {
	if v == nil {
		return ""
	}
	return FormatMilli(*v) + " " + unit
}

// readThreshold reads one threshold of the form into dst.
func readThreshold(p *problems, field, s string, dst **int64) {
	*dst = nil
	if strings.TrimSpace(s) == "" {
		return
	}
	v, ok := ParseMilli(s)
	if !ok || v > MaxThreshold*1000 || v < -MaxThreshold*1000 {
		p.add(Invalid(field, "facility.error.threshold"))
		return
	}
	*dst = &v
}

// meterDetail is what an audit record says of a meter.
func meterDetail(sw *Switch, m *FacilityMeter) map[string]any {
	return map[string]any{"switch": sw.Name, "meter": m.Name(), "oid": m.OID, "quantity": m.Quantity,
		"divisor": m.Divisor, "feed": m.Feed}
}

// Name is how pages and records name the meter: its label, else its
// quantity and feed ("power A").
func (m *FacilityMeter) Name() string {
	if m.Label != "" {
		return m.Label
	}
	return strings.TrimSpace(m.Quantity + " " + m.Feed)
}

// facilitySwitch locks device id for a change of its meters; a network
// device has none (ErrNotFound).
func facilitySwitch(tx *gorm.DB, id int64) (*Switch, error) {
	var sw Switch
	if err := forUpdate(tx).First(&sw, id).Error; err != nil {
		return nil, notFound(err)
	}
	if !sw.IsFacility() {
		return nil, ErrNotFound
	}
	return &sw, nil
}

// AddFacilityMeter adds a meter to PDU or sensor switchID, mapped to
// nobody; audited as facility.meter_added. The same OID twice on one
// device is refused.
func (s *Store) AddFacilityMeter(ctx context.Context, actor Actor, switchID int64, in MeterInput) (*FacilityMeter, error) {
	var m FacilityMeter
	err := s.tx(ctx, func(tx *gorm.DB) error {
		m = FacilityMeter{}
		sw, err := facilitySwitch(tx, switchID)
		if err != nil {
			return err
		}
		in := in
		if err := in.validate(sw); err != nil {
			return err
		}
		m = FacilityMeter{SwitchID: sw.ID, Ref: newRef(), OID: in.OID, Quantity: in.Quantity, Divisor: in.Divisor,
			Feed: in.Feed, Label: in.Label}
		if err := tx.Create(&m).Error; err != nil {
			return conflict(err)
		}
		return s.audit(tx, actor, AuditMeterAdded, "facility_meter", &m.ID, nil, meterDetail(sw, &m))
	})
	if errors.Is(err, ErrConflict) {
		return nil, Invalid("oid", "facility.error.oid_taken")
	}
	if err != nil {
		return nil, wrap(err, "add facility meter")
	}
	return &m, nil
}

// OrgCabinets lists the cabinets organization orgID uses (of its devices
// and its contracts), sorted, each once whatever its case.
func (s *Store) OrgCabinets(ctx context.Context, sc Scope, orgID int64) ([]string, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "org cabinets")
	}
	out, err := orgCabinets(s.db.WithContext(ctx), orgID)
	return out, wrap(err, "org cabinets")
}

func orgCabinets(tx *gorm.DB, orgID int64) ([]string, error) {
	var cabs []string
	err := tx.Raw("SELECT cabinet FROM devices WHERE org_id = ? AND cabinet <> '' GROUP BY cabinet "+
		"UNION SELECT cabinet FROM contract_targets WHERE org_id = ? AND cabinet <> '' GROUP BY cabinet", orgID, orgID).
		Scan(&cabs).Error
	if err != nil {
		return nil, err
	}
	// Sorted before the spellings of one cabinet are merged, so the same
	// one ("A07" before "a07") is kept whatever order the union came in.
	slices.Sort(cabs)
	var out []string
	for _, c := range cabs {
		if !slices.ContainsFunc(out, func(x string) bool { return strings.EqualFold(x, c) }) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out, nil
}

// UpdateFacilityMeter changes meter id's label, mapping and thresholds.
// The cabinet must be one the organization uses (stored as it spells
// it), the contract the organization's; a threshold is a decimal in the
// unit, the high one above the low one. A new organization starts
// MappedSince (its customer reads nothing older); a new mapping or a new
// threshold ends the crossing in progress (AlertState cleared, its open
// alert ended now), so that the next crossing is notified afresh.
// Audited as facility.meter_changed with before and after; a form sent
// unchanged records nothing.
func (s *Store) UpdateFacilityMeter(ctx context.Context, actor Actor, id int64, ch MeterChange) (*FacilityMeter, error) {
	for _, p := range []**int64{&ch.OrgID, &ch.ContractID} {
		if *p != nil && **p <= 0 {
			*p = nil
		}
	}
	ch.Label, ch.Cabinet = strings.TrimSpace(ch.Label), strings.TrimSpace(ch.Cabinet)
	var m FacilityMeter
	err := s.tx(ctx, func(tx *gorm.DB) error {
		m = FacilityMeter{}
		if err := forUpdate(tx).First(&m, id).Error; err != nil {
			return notFound(err)
		}
		var sw Switch
		if err := tx.First(&sw, m.SwitchID).Error; err != nil {
			return notFound(err)
		}
		var p problems
		p.add(CheckLine("label", ch.Label, maxMeterLabel))
		var org Organization
		var ct Contract
		cabinet := ch.Cabinet
		if ch.OrgID == nil {
			if ch.Cabinet != "" || ch.ContractID != nil {
				p.add(Invalid("org", "facility.error.org_required"))
			}
		} else if err := tx.First(&org, *ch.OrgID).Error; err != nil {
			if !errors.Is(err, gorm.ErrRecordNotFound) {
				return err
			}
			p.add(Invalid("org", "error.org_unknown"))
		} else {
			cabs, err := orgCabinets(tx, org.ID)
			if err != nil {
				return err
			}
			switch i := slices.IndexFunc(cabs, func(c string) bool { return strings.EqualFold(c, ch.Cabinet) }); {
			case ch.Cabinet == "":
				p.add(Invalid("cabinet", "facility.error.cabinet_required"))
			case len([]rune(ch.Cabinet)) > maxMeterCabinet || i < 0:
				p.add(Invalid("cabinet", "facility.error.cabinet_unknown", org.Name))
			default:
				cabinet = cabs[i]
			}
			if ch.ContractID != nil {
				if err := tx.Where("id = ? AND org_id = ?", *ch.ContractID, org.ID).First(&ct).Error; err != nil {
					if !errors.Is(err, gorm.ErrRecordNotFound) {
						return err
					}
					p.add(Invalid("contract", "facility.error.contract_other_org"))
				}
			}
		}
		var high, low *int64
		readThreshold(&p, "high", ch.High, &high)
		readThreshold(&p, "low", ch.Low, &low)
		if high != nil && low != nil && *high <= *low {
			p.add(Invalid("high", "facility.error.high_below_low"))
		}
		if err := p.err(); err != nil {
			return err
		}
		before := meterMapping(tx, &m)
		moved := !sameID(m.OrgID, ch.OrgID) || m.Cabinet != cabinet || !sameID(m.ContractID, ch.ContractID)
		limits := !sameID(m.HighMilli, high) || !sameID(m.LowMilli, low)
		if !moved && !limits && m.Label == ch.Label {
			return nil
		}
		now := s.now().UTC()
		if !sameID(m.OrgID, ch.OrgID) {
			// Another tenant: its customer reads nothing from before.
			m.MappedSince = nil
			if ch.OrgID != nil {
				m.MappedSince = &now
			}
		}
		m.Label, m.OrgID, m.Cabinet, m.ContractID, m.HighMilli, m.LowMilli = ch.Label, ch.OrgID, cabinet, ch.ContractID, high, low
		cols := []string{"label", "org_id", "cabinet", "contract_id", "high_milli", "low_milli", "mapped_since", "updated_at"}
		alertEnded := false
		if moved || limits {
			if m.AlertState != "" {
				alertEnded = true
			}
			m.AlertState, m.AlertSince = "", nil
			cols = append(cols, "alert_state", "alert_since")
			if err := tx.Model(&FacilityAlert{}).Where("meter_id = ? AND ended_at IS NULL", m.ID).
				Update("ended_at", now).Error; err != nil {
				return err
			}
		}
		m.UpdatedAt = now
		if err := tx.Model(&m).Select(cols).Updates(&m).Error; err != nil {
			return err
		}
		after := meterMapping(tx, &m)
		b, a := map[string]any{}, map[string]any{}
		for k, v := range after {
			if before[k] != v {
				b[k], a[k] = before[k], v
			}
		}
		detail := meterDetail(&sw, &m)
		detail["before"], detail["after"] = b, a
		changed := make([]string, 0, len(a))
		for k := range a {
			changed = append(changed, k)
		}
		slices.Sort(changed)
		detail["changed"] = changed
		if alertEnded {
			detail["alert_ended"] = true
		}
		return s.audit(tx, actor, AuditMeterChanged, "facility_meter", &m.ID, m.OrgID, detail)
	})
	if err != nil {
		return nil, wrap(err, "update facility meter")
	}
	return &m, nil
}

// meterMapping is a meter's mapping and thresholds in words, for the
// audit record's before and after.
func meterMapping(tx *gorm.DB, m *FacilityMeter) map[string]any {
	out := map[string]any{"label": m.Label, "org": "", "cabinet": m.Cabinet, "contract": "",
		"high": milliPtrText(m.HighMilli, m.Unit()), "low": milliPtrText(m.LowMilli, m.Unit())}
	if m.OrgID != nil {
		var o Organization
		if tx.Select("id", "name").First(&o, *m.OrgID).Error == nil {
			out["org"] = o.Name
		}
	}
	if m.ContractID != nil {
		var c Contract
		if tx.Select("id", "number_year", "number_seq").First(&c, *m.ContractID).Error == nil {
			out["contract"] = c.Number()
		}
	}
	return out
}

// RemoveFacilityMeter removes meter id with its readings, rollups and
// alerts; audited as facility.meter_removed.
func (s *Store) RemoveFacilityMeter(ctx context.Context, actor Actor, id int64) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var m FacilityMeter
		if err := forUpdate(tx).First(&m, id).Error; err != nil {
			return notFound(err)
		}
		var sw Switch
		if err := tx.First(&sw, m.SwitchID).Error; err != nil {
			return notFound(err)
		}
		if err := dropFacilityData(tx, "meter_id = ?", m.ID); err != nil {
			return err
		}
		if err := tx.Delete(&FacilityMeter{}, m.ID).Error; err != nil {
			return err
		}
		detail := meterDetail(&sw, &m)
		detail["cabinet"] = m.Cabinet
		return s.audit(tx, actor, AuditMeterRemoved, "facility_meter", &m.ID, m.OrgID, detail)
	})
	return wrap(err, "remove facility meter")
}

// dropFacilityData deletes the readings, rollups and alerts of the meters
// cond (on meter_id) selects.
func dropFacilityData(tx *gorm.DB, cond string, args ...any) error {
	for _, m := range []any{&FacilityReading{}, &FacilityRollup{}, &FacilityAlert{}} {
		if err := tx.Where(cond, args...).Delete(m).Error; err != nil {
			return err
		}
	}
	return nil
}

// FacilityMeterRow is a meter with the names of its mapping, for the
// device's page.
type FacilityMeterRow struct {
	FacilityMeter
	OrgName      string
	ContractRef  string
	ContractYear int
	ContractSeq  int
}

// ContractNumber is the mapped contract's number, "" when none.
func (r *FacilityMeterRow) ContractNumber() string {
	if r.ContractRef == "" {
		return ""
	}
	return FormatNumber(NumberContract, r.ContractYear, r.ContractSeq)
}

// ListFacilityMeters lists device switchID's meters by feed, quantity and
// label with their mapping: staff only.
func (s *Store) ListFacilityMeters(ctx context.Context, sc Scope, switchID int64) ([]FacilityMeterRow, error) {
	if !sc.All() {
		return nil, wrap(ErrNotFound, "list facility meters")
	}
	var out []FacilityMeterRow
	err := s.db.WithContext(ctx).Table("facility_meters m").
		Select("m.*, COALESCE(o.name, '') AS org_name, COALESCE(c.ref, '') AS contract_ref, "+
			"COALESCE(c.number_year, 0) AS contract_year, COALESCE(c.number_seq, 0) AS contract_seq").
		Joins("LEFT JOIN organizations o ON o.id = m.org_id").
		Joins("LEFT JOIN contracts c ON c.id = m.contract_id").
		Where("m.switch_id = ?", switchID).Order("m.feed, m.quantity, m.label, m.id").Scan(&out).Error
	for i := range out {
		fixMeterTimes(&out[i].FacilityMeter)
	}
	return out, wrap(err, "list facility meters")
}

// fixMeterTimes reads a meter's times in UTC.
func fixMeterTimes(m *FacilityMeter) {
	m.MappedSince, m.LastAt, m.AlertSince = utcPtr(m.MappedSince), utcPtr(m.LastAt), utcPtr(m.AlertSince)
}

// GetFacilityMeter is the meter of reference ref as sc may see it: staff
// any; a customer its organization's, mapped to it (another's, or one
// mapped to nobody, is ErrNotFound).
func (s *Store) GetFacilityMeter(ctx context.Context, sc Scope, ref string) (*FacilityMeter, error) {
	if !ValidRequestRef(ref) {
		return nil, wrap(ErrNotFound, "get facility meter")
	}
	var m FacilityMeter
	q := s.db.WithContext(ctx).Where("ref = ?", ref)
	if !sc.All() {
		q = sc.apply(q.Where("org_id IS NOT NULL"), "org_id")
	}
	if err := q.First(&m).Error; err != nil {
		return nil, wrap(notFound(err), "get facility meter")
	}
	fixMeterTimes(&m)
	return &m, nil
}
