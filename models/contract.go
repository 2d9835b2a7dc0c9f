package models

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Service contracts (docs/agreement.md §3, §11): what an organization
// signed, for which devices and cabinets, at what fees; signing opens the
// installation order and its clock; the end date is watched and the
// organization's service representative reminded 60 and 30 days ahead.

// Bounds of a contract.
const (
	// MaxContractTargets bounds the devices and cabinets one contract names.
	MaxContractTargets = 200
	// MaxContractYears bounds a contract's term.
	MaxContractYears = 5
	// MaxFee bounds a fee in minor units (what ParseMoney reads).
	MaxFee = int64(1e13)
	// MaxContractPowerWatts bounds the contracted power (10 MW).
	MaxContractPowerWatts = int64(10_000_000)
)

// Expiry reminders: days before the end date on which the organization's
// service representative is emailed, once each. The pages show "ends in N
// days" from ExpiryFirst on.
const (
	ExpiryFirst  = 60
	ExpirySecond = 30
)

// EventContractExpiry is the outbox event of an expiry reminder: OrgID the
// contract's organization, RefID the contract, the payload an
// ExpiryReminder. It is emailed to the organization's service
// representative (contractExpiryDeliveries).
const EventContractExpiry = "contract.expiry"

// ExpiryReminder is what an expiry reminder says, fixed when it is queued.
type ExpiryReminder struct {
	Reminder int    `json:"reminder"` // ExpiryFirst or ExpirySecond
	DaysLeft int    `json:"days_left"`
	EndsOn   string `json:"ends_on"`
}

// Installation states as the pages show them.
const (
	InstallOpen    = "open"    // not done, due date ahead
	InstallOverdue = "overdue" // not done, due date passed
	InstallMet     = "met"     // done in time
	InstallMissed  = "missed"  // done late (or its clock swept as missed)
)

// Contract states on a day.
const (
	ContractUpcoming = "upcoming"
	ContractActive   = "active"
	ContractEnded    = "ended"
)

// StateOn is where the contract stands on calendar day today
// (2006-01-02): before its start, within its term, or after its end.
func (c *Contract) StateOn(today string) string {
	switch {
	case today < c.StartsOn:
		return ContractUpcoming
	case today > c.EndsOn:
		return ContractEnded
	}
	return ContractActive
}

// DaysLeft is how many calendar days from today to the contract's last
// day: 0 on its last day, negative once it has ended.
func (c *Contract) DaysLeft(today string) int { return daysBetween(today, c.EndsOn) }

// EndsSoon reports whether the pages show "ends in N days": from
// ExpiryFirst days before the last day to the last day.
func (c *Contract) EndsSoon(today string) bool {
	n := c.DaysLeft(today)
	return n >= 0 && n <= ExpiryFirst
}

// daysBetween counts the calendar days from a to b (both 2006-01-02); 0
// when either does not parse.
func daysBetween(a, b string) int {
	ta, err1 := time.Parse(time.DateOnly, a)
	tb, err2 := time.Parse(time.DateOnly, b)
	if err1 != nil || err2 != nil {
		return 0
	}
	return int(tb.Sub(ta).Hours() / 24)
}

// addDays is calendar day d (2006-01-02) moved n days.
func addDays(d string, n int) string {
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return d
	}
	return t.AddDate(0, 0, n).Format(time.DateOnly)
}

// Today is the calendar day of now in the provider's zone.
func (s *Store) Today() string { return s.now().In(s.zone).Format(time.DateOnly) }

// ContractInput is what the contract form supplies. Form fields are named
// as the validation errors are: org, service_type, monthly_fee,
// installation_fee, currency, signed_on, starts_on, ends_on, renewal,
// notes, targets. A change (UpdateContract) keeps the organization, the
// service, the currency and the signing date: signing opened the
// installation order and started its clock.
type ContractInput struct {
	OrgID           int64
	ServiceType     string
	MonthlyFee      int64 // minor units
	InstallationFee int64 // minor units
	Currency        string
	// PowerWatts is the contracted power in watts, 0 when the contract
	// states none (the cabinet pages draw the draw against it).
	PowerWatts int64
	SignedOn   string // 2006-01-02
	StartsOn   string
	EndsOn     string // "" is one year: StartsOn + 1 year − 1 day
	Renewal    string
	Notes      string
	Cabinets   []string // any short text: every device of the organization in it
	DeviceIDs  []int64  // the organization's own devices
	// InstalledAt, on a new contract only, records an installation done
	// before the contract was entered in the portal (a contract signed
	// months ago): the order is completed at that time with the contract,
	// met or missed against its due date like any other.
	InstalledAt *time.Time
}

// parseDay reads a calendar day of field; ok false after adding the
// problem.
func parseDay(p *problems, field, s string) (time.Time, bool) {
	if s == "" {
		p.add(Invalid(field, "error.required"))
		return time.Time{}, false
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Format(time.DateOnly) != s {
		p.add(Invalid(field, "error.date_invalid"))
		return time.Time{}, false
	}
	if err := CheckDate(field, t, time.UTC); err != nil {
		p.add(err)
		return time.Time{}, false
	}
	return t, true
}

// validate checks the whole form, today being the provider's calendar
// day, and normalizes it (defaults, trimmed text, sorted targets).
func (in *ContractInput) validate(today string) error {
	var p problems
	if !slices.Contains(ServiceTypes, in.ServiceType) {
		p.add(Invalid("service_type", "contracts.error.service_type"))
	}
	switch {
	case in.MonthlyFee <= 0:
		p.add(Invalid("monthly_fee", "contracts.error.monthly_fee"))
	case in.MonthlyFee > MaxFee:
		p.add(Invalid("monthly_fee", "contracts.error.money"))
	}
	switch {
	case in.InstallationFee < 0:
		p.add(Invalid("installation_fee", "contracts.error.installation_fee"))
	case in.InstallationFee > MaxFee:
		p.add(Invalid("installation_fee", "contracts.error.money"))
	}
	if in.PowerWatts < 0 || in.PowerWatts > MaxContractPowerWatts {
		p.add(Invalid("power_watts", "contracts.error.power_watts", Number(MaxContractPowerWatts)))
	}
	if in.Currency == "" {
		in.Currency = DefaultCurrency
	}
	if !slices.Contains(Currencies, in.Currency) {
		p.add(Invalid("currency", "contracts.error.currency"))
	}
	if in.Renewal == "" {
		in.Renewal = RenewalAuto
	}
	if !slices.Contains(Renewals, in.Renewal) {
		p.add(Invalid("renewal", "contracts.error.renewal"))
	}
	in.SignedOn, in.StartsOn, in.EndsOn = strings.TrimSpace(in.SignedOn), strings.TrimSpace(in.StartsOn), strings.TrimSpace(in.EndsOn)
	signed, signedOK := parseDay(&p, "signed_on", in.SignedOn)
	starts, startsOK := parseDay(&p, "starts_on", in.StartsOn)
	if in.EndsOn == "" && startsOK {
		in.EndsOn = starts.AddDate(1, 0, -1).Format(time.DateOnly)
	}
	var ends time.Time
	endsOK := false
	if in.EndsOn != "" { // else the start's own problem says it all
		ends, endsOK = parseDay(&p, "ends_on", in.EndsOn)
	}
	if startsOK && endsOK {
		switch {
		case !ends.After(starts):
			p.add(Invalid("ends_on", "contracts.error.ends_before_start"))
		case ends.After(starts.AddDate(MaxContractYears, 0, -1)):
			p.add(Invalid("ends_on", "contracts.error.too_long", Number(MaxContractYears)))
		}
	}
	if signedOK {
		switch {
		case in.SignedOn > today:
			p.add(Invalid("signed_on", "contracts.error.signed_future"))
		case startsOK && signed.After(starts):
			p.add(Invalid("signed_on", "contracts.error.signed_after_start"))
		}
	}
	in.Notes = strings.TrimSpace(in.Notes)
	p.add(CheckText("notes", in.Notes, 5000))
	in.Cabinets = slices.Compact(slices.Sorted(slices.Values(trimAll(in.Cabinets))))
	for _, c := range in.Cabinets {
		if err := CheckLine("targets", c, 40); err != nil {
			p.add(Invalid("targets", "contracts.error.cabinet", c))
			break
		}
	}
	ids := in.DeviceIDs[:0:0]
	for _, id := range in.DeviceIDs {
		if id > 0 {
			ids = append(ids, id)
		}
	}
	in.DeviceIDs = slices.Compact(slices.Sorted(slices.Values(ids)))
	if n := len(in.Cabinets) + len(in.DeviceIDs); n > MaxContractTargets {
		p.add(Invalid("targets", "contracts.error.too_many_targets", Number(MaxContractTargets)))
	}
	return p.err()
}

// CheckContract validates a contract form without saving it, for a
// handler whose own parsing (an amount that does not read) already
// failed, so that the form shows every problem at once.
func (s *Store) CheckContract(in ContractInput) error { return in.validate(s.Today()) }

// contractTargets are the target rows of contract c from in.
func contractTargets(c *Contract, in *ContractInput) []ContractTarget {
	var out []ContractTarget
	for _, id := range in.DeviceIDs {
		out = append(out, ContractTarget{ContractID: c.ID, OrgID: c.OrgID, DeviceID: &id})
	}
	for _, cab := range in.Cabinets {
		out = append(out, ContractTarget{ContractID: c.ID, OrgID: c.OrgID, Cabinet: cab})
	}
	return out
}

// lockOrg locks organization orgID's row, first in a contract's
// transaction: the organization's service type is derived from all its
// contracts, so changes of its contracts take turns.
func lockOrg(tx *gorm.DB, orgID int64) (*Organization, error) {
	var o Organization
	if err := forUpdate(tx).First(&o, orgID).Error; err != nil {
		return nil, notFound(err)
	}
	return &o, nil
}

// deriveServiceType writes organization o's service type (which orders a
// provider-wide incident's phone list) from its contracts active on day
// today: the highest in ServiceTypes, none without an active contract.
// It returns the type before and after ("" for none).
func (s *Store) deriveServiceType(tx *gorm.DB, o *Organization, today string) (string, string, error) {
	var types []string
	err := tx.Model(&Contract{}).Where("org_id = ? AND starts_on <= ? AND ends_on >= ?", o.ID, today, today).
		Distinct().Pluck("service_type", &types).Error
	if err != nil {
		return "", "", err
	}
	best := ""
	for _, t := range types {
		if best == "" || serviceRank(&t) < serviceRank(&best) {
			best = t
		}
	}
	prev := ""
	if o.ServiceType != nil {
		prev = *o.ServiceType
	}
	if prev == best {
		return prev, best, nil
	}
	var v *string
	if best != "" {
		v = &best
	}
	// By table, not model: the field is read only on the model.
	if err := tx.Table("organizations").Where("id = ?", o.ID).Updates(map[string]any{"service_type": v, "updated_at": s.now()}).Error; err != nil {
		return "", "", err
	}
	o.ServiceType = v
	return prev, best, nil
}

// checkContractTargets checks that the devices named are the
// organization's own.
func checkContractTargets(tx *gorm.DB, orgID int64, in *ContractInput) error {
	own, err := ownDevices(tx, orgID, in.DeviceIDs)
	if err != nil {
		return err
	}
	if !own {
		return Invalid("targets", "contracts.error.device_unknown")
	}
	return nil
}

// CreateContract records a contract of organization in.OrgID as signed:
// numbered per organization (CT-2026-0001), with its devices and cabinets,
// the installation order due at the end of the third working day after the
// signing day (agreement §3) and its clock started at the start of that
// day; the organization's service type is derived again. All or nothing,
// audited as contract.created.
func (s *Store) CreateContract(ctx context.Context, actor Actor, in ContractInput) (*Contract, error) {
	now := s.now()
	err := in.validate(s.Today())
	if in.InstalledAt != nil {
		signed, _ := time.ParseInLocation(time.DateOnly, strings.TrimSpace(in.SignedOn), s.zone)
		var p problems
		p.add(err)
		switch {
		case in.InstalledAt.After(now):
			p.add(Invalid("installed_at", "contracts.error.completed_future"))
		case !signed.IsZero() && in.InstalledAt.Before(signed):
			p.add(Invalid("installed_at", "contracts.error.completed_before_signing", in.SignedOn))
		}
		err = p.err()
	}
	if err != nil {
		return nil, wrap(err, "create contract")
	}
	year, err := s.prepareNumber(ctx, NumberContract, in.OrgID, now)
	if err != nil {
		return nil, wrap(err, "create contract")
	}
	signedDay, _ := time.ParseInLocation(time.DateOnly, in.SignedOn, s.zone)
	signedAt := signedDay.UTC()
	var c *Contract
	err = s.rederiveTx(ctx, func(tx *gorm.DB) error {
		c = nil
		o, err := lockOrg(tx, in.OrgID)
		if err != nil {
			return err
		}
		if err := checkContractTargets(tx, o.ID, &in); err != nil {
			return err
		}
		seq, err := nextNumber(tx, NumberContract, o.ID, year)
		if err != nil {
			return err
		}
		c = &Contract{OrgID: o.ID, NumberYear: year, NumberSeq: seq, Ref: newRef(), ServiceType: in.ServiceType,
			MonthlyFee: in.MonthlyFee, InstallationFee: in.InstallationFee, Currency: in.Currency, PowerWatts: in.PowerWatts, SignedOn: in.SignedOn,
			StartsOn: in.StartsOn, EndsOn: in.EndsOn, Renewal: in.Renewal, Notes: in.Notes, CreatedBy: actor.UserID,
			CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(c).Error; err != nil {
			return err
		}
		if err := createInChunks(tx, contractTargets(c, &in)); err != nil {
			return err
		}
		cal, err := workCalendar(tx, signedAt, s.zone, 60)
		if err != nil {
			return err
		}
		order := InstallationOrder{OrgID: o.ID, ContractID: c.ID, SignedAt: signedAt,
			DueAt: cal.DueAfterWorkingDays(signedAt, s.zone, InstallationDays).UTC(), CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&order).Error; err != nil {
			return err
		}
		if err := s.startClock(tx, ClockInstallation, o.ID, order.ID, order.SignedAt, order.DueAt.Sub(order.SignedAt)); err != nil {
			return err
		}
		if at := in.InstalledAt; at != nil {
			if err := tx.Model(&InstallationOrder{}).Where("id = ?", order.ID).Updates(map[string]any{"completed_at": at.UTC(),
				"completed_by": actor.UserID, "note": "", "updated_at": now}).Error; err != nil {
				return err
			}
			if err := s.stopClock(tx, ClockInstallation, order.ID, at.UTC(), order.ID); err != nil {
				return err
			}
		}
		prev, st, err := s.deriveServiceType(tx, o, s.Today())
		if err != nil {
			return err
		}
		detail := map[string]any{"contract": c.Number(), "service_type": c.ServiceType,
			"monthly_fee": FormatMoney(c.MonthlyFee, c.Currency), "installation_fee": FormatMoney(c.InstallationFee, c.Currency),
			"signed_on": c.SignedOn, "starts_on": c.StartsOn, "ends_on": c.EndsOn, "renewal": c.Renewal, "power_watts": c.PowerWatts,
			"devices": len(in.DeviceIDs), "cabinets": in.Cabinets, "installation_due": order.DueAt}
		if prev != st {
			detail["org_service_type"], detail["org_service_type_was"] = st, prev
		}
		return s.audit(tx, actor, AuditContractCreated, "contract", &c.ID, &c.OrgID, detail)
	})
	if err != nil {
		return nil, wrap(err, "create contract")
	}
	return c, nil
}

// UpdateContract changes the fees, dates (but the signing date), renewal,
// notes and coverage of the contract of reference ref (which the caller
// found through a scoped read). Moving the end date later asks for the
// expiry reminders of the new date. The organization's service type is
// derived again; audited as contract.updated with what changed.
func (s *Store) UpdateContract(ctx context.Context, actor Actor, ref string, in ContractInput) (*Contract, error) {
	if !ValidRequestRef(ref) {
		return nil, wrap(ErrNotFound, "update contract")
	}
	var c *Contract
	err := s.rederiveTx(ctx, func(tx *gorm.DB) error {
		c = nil
		var found Contract
		if err := tx.Select("id", "org_id").Where("ref = ?", ref).First(&found).Error; err != nil {
			return notFound(err)
		}
		o, err := lockOrg(tx, found.OrgID)
		if err != nil {
			return err
		}
		c = &Contract{}
		if err := forUpdate(tx).First(c, found.ID).Error; err != nil {
			return notFound(err)
		}
		in.OrgID, in.ServiceType, in.Currency, in.SignedOn = c.OrgID, c.ServiceType, c.Currency, c.SignedOn
		if err := in.validate(s.Today()); err != nil {
			return err
		}
		if err := checkContractTargets(tx, c.OrgID, &in); err != nil {
			return err
		}
		var old []ContractTarget
		if err := tx.Where("contract_id = ?", c.ID).Order("id").Find(&old).Error; err != nil {
			return err
		}
		before, after := map[string]any{}, map[string]any{}
		change := func(field string, was, is any) {
			if was != is {
				before[field], after[field] = was, is
			}
		}
		change("monthly_fee", FormatMoney(c.MonthlyFee, c.Currency), FormatMoney(in.MonthlyFee, c.Currency))
		change("installation_fee", FormatMoney(c.InstallationFee, c.Currency), FormatMoney(in.InstallationFee, c.Currency))
		change("power_watts", c.PowerWatts, in.PowerWatts)
		change("starts_on", c.StartsOn, in.StartsOn)
		change("ends_on", c.EndsOn, in.EndsOn)
		change("renewal", c.Renewal, in.Renewal)
		change("notes", c.Notes, in.Notes)
		var oldDevs []int64
		var oldCabs []string
		for _, t := range old {
			if t.DeviceID != nil {
				oldDevs = append(oldDevs, *t.DeviceID)
			} else {
				oldCabs = append(oldCabs, t.Cabinet)
			}
		}
		slices.Sort(oldDevs)
		slices.Sort(oldCabs)
		if !slices.Equal(oldDevs, in.DeviceIDs) {
			before["devices"], after["devices"] = oldDevs, in.DeviceIDs
		}
		if !slices.Equal(oldCabs, in.Cabinets) {
			before["cabinets"], after["cabinets"] = oldCabs, in.Cabinets
		}
		updates := map[string]any{"monthly_fee": in.MonthlyFee, "installation_fee": in.InstallationFee, "power_watts": in.PowerWatts,
			"starts_on": in.StartsOn, "ends_on": in.EndsOn, "renewal": in.Renewal, "notes": in.Notes, "updated_at": s.now()}
		if in.EndsOn > c.EndsOn {
			// A later end is a new date to be reminded of.
			updates["expiry60_sent_at"], updates["expiry30_sent_at"] = nil, nil
			c.Expiry60SentAt, c.Expiry30SentAt = nil, nil
		}
		if err := tx.Model(&Contract{}).Where("id = ?", c.ID).Updates(updates).Error; err != nil {
			return err
		}
		c.MonthlyFee, c.InstallationFee, c.StartsOn, c.EndsOn = in.MonthlyFee, in.InstallationFee, in.StartsOn, in.EndsOn
		c.PowerWatts = in.PowerWatts
		c.Renewal, c.Notes, c.UpdatedAt = in.Renewal, in.Notes, s.now()
		if err := tx.Where("contract_id = ?", c.ID).Delete(&ContractTarget{}).Error; err != nil {
			return err
		}
		if err := createInChunks(tx, contractTargets(c, &in)); err != nil {
			return err
		}
		prev, st, err := s.deriveServiceType(tx, o, s.Today())
		if err != nil {
			return err
		}
		changed := make([]string, 0, len(after))
		for k := range after {
			changed = append(changed, k)
		}
		slices.Sort(changed)
		detail := map[string]any{"contract": c.Number(), "changed": changed, "before": before, "after": after}
		if prev != st {
			detail["org_service_type"], detail["org_service_type_was"] = st, prev
		}
		return s.audit(tx, actor, AuditContractUpdated, "contract", &c.ID, &c.OrgID, detail)
	})
	if err != nil {
		return nil, wrap(err, "update contract")
	}
	return c, nil
}

// ContractFilter narrows the list of contracts.
type ContractFilter struct {
	OrgID int64 // 0: every organization the scope allows
	// Ending: only those whose last day is within ExpiryFirst days from
	// today (not yet ended), soonest first.
	Ending bool
	Limit  int // 0: 500
}

// ContractRow is one line of a list of contracts.
type ContractRow struct {
	Contract
	OrgName        string
	InstallDue     time.Time
	InstalledAt    *time.Time
	InstallOutcome string // the installation clock's outcome
}

// InstallState is where the row's installation stands at now.
func (r *ContractRow) InstallState(now time.Time) string {
	return installState(r.InstalledAt, r.InstallDue, r.InstallOutcome, now)
}

// installState names an installation's state from its completion, due
// date and clock outcome: a clock stopped or swept as missed is missed,
// whatever the completion time says.
func installState(done *time.Time, due time.Time, outcome string, now time.Time) string {
	switch {
	case done == nil && now.After(due):
		return InstallOverdue
	case done == nil:
		return InstallOpen
	case outcome == ClockMissed || done.After(due):
		return InstallMissed
	}
	return InstallMet
}

// ListContracts lists the contracts sc sees: a customer its own
// organization's, staff every one (or f.OrgID's), newest end first, or
// soonest end first with f.Ending.
func (s *Store) ListContracts(ctx context.Context, sc Scope, f ContractFilter) ([]ContractRow, error) {
	if f.Limit <= 0 {
		f.Limit = 500
	}
	const t = "contracts" // qualified: the query joins other tables with org_id
	q := sc.apply(s.db.WithContext(ctx).Table(t), t+".org_id").
		Select("contracts.*, organizations.name AS org_name, installation_orders.due_at AS install_due, "+
			"installation_orders.completed_at AS installed_at, sla_clocks.outcome AS install_outcome").
		Joins("JOIN organizations ON organizations.id = contracts.org_id").
		Joins("LEFT JOIN installation_orders ON installation_orders.contract_id = contracts.id").
		Joins("LEFT JOIN sla_clocks ON sla_clocks.kind = ? AND sla_clocks.ref_id = installation_orders.id", ClockInstallation)
	if f.OrgID != 0 {
		q = q.Where("contracts.org_id = ?", f.OrgID)
	}
	if f.Ending {
		today := s.Today()
		q = q.Where("contracts.ends_on >= ? AND contracts.ends_on <= ?", today, addDays(today, ExpiryFirst)).
			Order("contracts.ends_on, contracts.id")
	} else {
		q = q.Order("contracts.ends_on DESC, contracts.id DESC")
	}
	var out []ContractRow
	err := q.Limit(f.Limit).Scan(&out).Error
	return out, wrap(err, "list contracts")
}

// ContractDetail is one contract with what its page shows.
type ContractDetail struct {
	Contract  Contract
	OrgName   string
	Targets   []ContractTarget // as named: devices, then cabinets
	Coverage  Coverage         // what it covers (contractCoverage)
	Devices   []Device         // the covered devices, by name
	CreatedBy string           // who recorded it
	Order     InstallationOrder
	Clock     *Clock // the installation clock
	// CompletedBy names who recorded the installation complete.
	CompletedBy string
}

// InstallState is where the installation stands at now.
func (d *ContractDetail) InstallState(now time.Time) string {
	outcome := ""
	if d.Clock != nil {
		outcome = d.Clock.Outcome
	}
	return installState(d.Order.CompletedAt, d.Order.DueAt, outcome, now)
}

// ContractOf returns the contract of reference ref with its coverage and
// its installation order and clock, if sc sees it; another
// organization's is ErrNotFound.
func (s *Store) ContractOf(ctx context.Context, sc Scope, ref string) (*ContractDetail, error) {
	if !ValidRequestRef(ref) {
		return nil, wrap(ErrNotFound, "contract")
	}
	db := s.db.WithContext(ctx)
	d := &ContractDetail{}
	if err := sc.apply(db, "org_id").Where("ref = ?", ref).First(&d.Contract).Error; err != nil {
		return nil, wrap(notFound(err), "contract")
	}
	c := &d.Contract
	var o Organization
	if err := db.Select("id", "name").First(&o, c.OrgID).Error; err != nil {
		return nil, wrap(notFound(err), "contract")
	}
	d.OrgName = o.Name
	if err := db.Where("contract_id = ? AND org_id = ?", c.ID, c.OrgID).Order("cabinet, device_id, id").Find(&d.Targets).Error; err != nil {
		return nil, wrap(err, "contract")
	}
	cov, err := contractCoverage(db, c.OrgID, []int64{c.ID})
	if err != nil {
		return nil, wrap(err, "contract")
	}
	d.Coverage = *cov[c.ID]
	if err := findIn(db, d.Coverage.Devices, &d.Devices, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Select("id", "org_id", "name", "address", "cabinet", "position").Where("org_id = ? AND id IN ?", c.OrgID, chunk)
	}); err != nil {
		return nil, wrap(err, "contract")
	}
	slices.SortFunc(d.Devices, func(a, b Device) int {
		if n := strings.Compare(a.Name, b.Name); n != 0 {
			return n
		}
		return int(a.ID - b.ID)
	})
	if err := db.Where("contract_id = ? AND org_id = ?", c.ID, c.OrgID).First(&d.Order).Error; err != nil {
		return nil, wrap(notFound(err), "contract")
	}
	var k Clock
	err = db.Where("kind = ? AND ref_id = ? AND org_id = ?", ClockInstallation, d.Order.ID, c.OrgID).First(&k).Error
	if err := optionalRow(err); err != nil {
		return nil, wrap(err, "contract")
	}
	if err == nil {
		d.Clock = &k
	}
	names, err := s.userNames(db, c.CreatedBy, d.Order.CompletedBy)
	if err != nil {
		return nil, wrap(err, "contract")
	}
	if c.CreatedBy != nil {
		d.CreatedBy = names[*c.CreatedBy]
	}
	if d.Order.CompletedBy != nil {
		d.CompletedBy = names[*d.Order.CompletedBy]
	}
	return d, nil
}

// CompleteInstallation records the installation of the contract of
// reference ref (which the caller found through a scoped read) as done at
// at, with a note: not in the future, not before the signing. It stops the
// installation clock, met when at is no later than the due date, else
// missed; a clock the sweep already marked missed stays missed and keeps
// at as its stop. Audited as installation.completed.
func (s *Store) CompleteInstallation(ctx context.Context, actor Actor, ref string, at time.Time, note string) (*InstallationOrder, error) {
	if !ValidRequestRef(ref) {
		return nil, wrap(ErrNotFound, "complete installation")
	}
	now := s.now()
	note = strings.TrimSpace(note)
	var p problems
	switch {
	case at.IsZero():
		p.add(Invalid("completed_at", "error.required"))
	case at.After(now):
		p.add(Invalid("completed_at", "contracts.error.completed_future"))
	}
	p.add(CheckText("note", note, 2000))
	if err := p.err(); err != nil {
		return nil, wrap(err, "complete installation")
	}
	at = at.UTC()
	var o *InstallationOrder
	// At READ COMMITTED, with the clock locked before it is read: a sweep
	// that marked it missed meanwhile is seen, and the stop time kept.
	err := s.rederiveTx(ctx, func(tx *gorm.DB) error {
		o = nil
		var c Contract
		if err := tx.Where("ref = ?", ref).First(&c).Error; err != nil {
			return notFound(err)
		}
		o = &InstallationOrder{}
		if err := forUpdate(tx).Where("contract_id = ? AND org_id = ?", c.ID, c.OrgID).First(o).Error; err != nil {
			return notFound(err)
		}
		if o.CompletedAt != nil {
			return Invalid("completed_at", "contracts.error.installation_done")
		}
		if at.Before(o.SignedAt) {
			return Invalid("completed_at", "contracts.error.completed_before_signing", c.SignedOn)
		}
		var k Clock
		if err := forUpdate(tx).Where("kind = ? AND ref_id = ?", ClockInstallation, o.ID).First(&k).Error; err != nil {
			return err
		}
		o.CompletedAt, o.CompletedBy, o.Note, o.UpdatedAt = &at, actor.UserID, note, now
		if err := tx.Model(&InstallationOrder{}).Where("id = ?", o.ID).
			Updates(map[string]any{"completed_at": at, "completed_by": actor.UserID, "note": note, "updated_at": now}).Error; err != nil {
			return err
		}
		if err := s.stopClock(tx, ClockInstallation, o.ID, at, o.ID); err != nil {
			return err
		}
		// Its month's statement reads the clock: a closed one is corrected.
		if err := s.markCorrected(tx, c.OrgID, o.DueAt.Add(-time.Nanosecond), o.DueAt.Add(-time.Nanosecond)); err != nil {
			return err
		}
		if err := tx.Where("id = ?", k.ID).First(&k).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditInstallationCompleted, "contract", &c.ID, &c.OrgID, map[string]any{
			"contract": c.Number(), "completed_at": at, "due": o.DueAt, "outcome": k.Outcome, "note": note})
	})
	if err != nil {
		return nil, wrap(err, "complete installation")
	}
	return o, nil
}

// ContractSweep is what one run of SweepContracts did.
type ContractSweep struct {
	Reminders    int // expiry reminders queued
	ServiceTypes int // organizations whose service type changed
}

// SweepContracts does the contracts' periodic work (the janitor runs it):
// it queues the expiry reminders that are due, once each (ExpiryFirst
// days ahead, then ExpirySecond; a contract first seen within
// ExpirySecond days gets only the second; none for a contract marked
// renewed), and derives again the service type of every organization
// that has contracts, as contracts start and end with the days. An
// organization without any contract keeps the service type it had.
func (s *Store) SweepContracts(ctx context.Context) (ContractSweep, error) {
	var out ContractSweep
	today := s.Today()
	first, second := addDays(today, ExpiryFirst), addDays(today, ExpirySecond)
	var due []Contract
	err := s.db.WithContext(ctx).Select("id", "org_id", "ends_on").
		Where("renewal <> ? AND ends_on >= ? AND ends_on <= ?", RenewalRenewed, today, first).
		Where("(ends_on <= ? AND expiry30_sent_at IS NULL) OR (ends_on > ? AND expiry60_sent_at IS NULL)", second, second).
		Order("id").Limit(500).Find(&due).Error
	if err != nil {
		return out, wrap(err, "sweep contracts")
	}
	for _, c := range due {
		column, r := "expiry60_sent_at", ExpiryReminder{Reminder: ExpiryFirst, DaysLeft: c.DaysLeft(today), EndsOn: c.EndsOn}
		if c.EndsOn <= second {
			column, r.Reminder = "expiry30_sent_at", ExpirySecond
		}
		payload, err := json.Marshal(r)
		if err != nil {
			return out, wrap(err, "sweep contracts")
		}
		queued := false
		err = s.tx(ctx, func(tx *gorm.DB) error {
			queued = false
			// Claimed by the mark: another instance's janitor, or a change
			// of the contract meanwhile, leaves nothing to do.
			res := tx.Model(&Contract{}).Where("id = ? AND ends_on = ? AND renewal <> ? AND "+column+" IS NULL", c.ID, c.EndsOn, RenewalRenewed).
				Update(column, s.now())
			if res.Error != nil || res.RowsAffected == 0 {
				return res.Error
			}
			queued = true
			return s.outbox(tx, EventContractExpiry, c.OrgID, c.ID, string(payload))
		})
		if err != nil {
			return out, fmt.Errorf("models: sweep contracts: reminder of contract %d: %w", c.ID, err)
		}
		if queued {
			out.Reminders++
		}
	}
	n, err := s.rederiveServiceTypes(ctx, today)
	out.ServiceTypes = n
	return out, err
}

// rederiveServiceTypes derives again the service type of every
// organization with contracts whose stored type differs from what its
// contracts active today say; each change audited as the portal's.
func (s *Store) rederiveServiceTypes(ctx context.Context, today string) (int, error) {
	db := s.db.WithContext(ctx)
	var active []Contract
	if err := db.Select("org_id", "service_type").Where("starts_on <= ? AND ends_on >= ?", today, today).Find(&active).Error; err != nil {
		return 0, wrap(err, "sweep contracts")
	}
	want := map[int64]string{}
	for _, c := range active {
		if cur, ok := want[c.OrgID]; !ok || serviceRank(&c.ServiceType) < serviceRank(&cur) {
			want[c.OrgID] = c.ServiceType
		}
	}
	var orgs []Organization
	if err := db.Select("id", "service_type").Where("id IN (SELECT org_id FROM contracts)").Order("id").Find(&orgs).Error; err != nil {
		return 0, wrap(err, "sweep contracts")
	}
	n := 0
	for _, o := range orgs {
		have := ""
		if o.ServiceType != nil {
			have = *o.ServiceType
		}
		if have == want[o.ID] {
			continue
		}
		changed := false
		err := s.rederiveTx(ctx, func(tx *gorm.DB) error {
			changed = false
			org, err := lockOrg(tx, o.ID)
			if err != nil {
				return err
			}
			prev, st, err := s.deriveServiceType(tx, org, today)
			if err != nil || prev == st {
				return err
			}
			changed = true
			return s.audit(tx, SystemActor("contract sweep"), AuditOrgServiceSet, "organization", &org.ID, &org.ID,
				map[string]any{"name": org.Name, "service_type": st, "previous": prev, "from_contracts": true})
		})
		if err != nil {
			return n, fmt.Errorf("models: sweep contracts: service type of organization %d: %w", o.ID, err)
		}
		if changed {
			n++
		}
	}
	return n, nil
}

// contractExpiryDeliveries expands an expiry reminder into one email to
// the organization's service representative (a staff user), in their
// language; none without a representative with an address.
func (s *Store) contractExpiryDeliveries(tx *gorm.DB, ev OutboxEvent, now time.Time, channelFor func(Channel) string) ([]Delivery, error) {
	t := channelFor(ChannelEmail)
	if t == "" {
		return nil, nil
	}
	var o Organization
	if err := tx.Select("id", "service_rep_user_id").First(&o, ev.OrgID).Error; err != nil {
		return nil, optionalRow(err)
	}
	if o.ServiceRepUserID == nil {
		return nil, nil
	}
	var u User
	if err := tx.First(&u, *o.ServiceRepUserID).Error; err != nil {
		return nil, optionalRow(err)
	}
	if u.Disabled() || !u.Role.IsStaff() || strings.TrimSpace(u.Email) == "" {
		return nil, nil
	}
	locale := u.Locale
	if locale == "" {
		locale = defaultLocale
	}
	return []Delivery{{OrgID: ev.OrgID, EventID: ev.ID, Event: ev.Kind, ContactID: 0, Channel: ChannelEmail, Transport: t,
		Address: strings.TrimSpace(u.Email), Locale: locale, Status: DeliveryPending, NextAttemptAt: now, LeaseUntil: neverLeased,
		CreatedAt: now}}, nil
}

// ContractExpiryFacts is what an expiry reminder says.
type ContractExpiryFacts struct {
	Org      Organization
	Contract Contract
	Reminder ExpiryReminder
	To       string // the representative's name
}

// ContractExpiryFacts loads outbox event eventID of orgID (an expiry
// reminder) with its contract and the name of the staff user at address.
// A contract that no longer exists is ErrNotFound.
func (s *Store) ContractExpiryFacts(ctx context.Context, sc Scope, orgID, eventID int64, address string) (*ContractExpiryFacts, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "contract expiry facts")
	}
	db := s.db.WithContext(ctx)
	var ev OutboxEvent
	if err := db.Where("org_id = ? AND id = ? AND kind = ?", orgID, eventID, EventContractExpiry).First(&ev).Error; err != nil {
		return nil, wrap(notFound(err), "contract expiry facts")
	}
	f := &ContractExpiryFacts{}
	if err := json.Unmarshal([]byte(ev.Payload), &f.Reminder); err != nil {
		return nil, fmt.Errorf("models: contract expiry facts of event %d: %w", eventID, err)
	}
	if err := db.Where("org_id = ? AND id = ?", orgID, ev.RefID).First(&f.Contract).Error; err != nil {
		return nil, wrap(notFound(err), "contract expiry facts")
	}
	if err := optionalRow(db.First(&f.Org, orgID).Error); err != nil {
		return nil, fmt.Errorf("models: contract expiry facts of event %d: %w", eventID, err)
	}
	var u User
	if err := optionalRow(db.Select("id", "name").Where("email = ? AND role IN ?", address, EscortRoles).First(&u).Error); err != nil {
		return nil, fmt.Errorf("models: contract expiry facts of event %d: %w", eventID, err)
	}
	f.To = u.Name
	return f, nil
}
