package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The monthly statement (docs/agreement.md, "The monthly statement"):
// per organization and calendar month of the provider's zone, built from
// the stored records alone: each contract's network and power
// availability against 99.9 %, every clock of the month, and the credits
// they give. While the month runs it is computed on every read
// (provisional); closing the month (CloseMonth) stores it, and from then
// on it is read back, never computed again.

// Kinds of statement lines.
const (
	LineNetwork      = "network"      // the month's fee: network availability below 99.9 %
	LinePower        = "power"        // the month's fee: power availability below 99.9 %
	LineNotice       = "notice"       // a missed emergency notice: one day's fee, or why not
	LineInstallation = "installation" // a late installation: its fee refunded
	LineAdjustment   = "adjustment"   // a closed month's credit corrected
)

// Why a contract's measure excludes time, besides the causes of outages.
const (
	ExcludedUPSHeld = "ups_held" // a power incident with mains or UPS still up
)

// Statement is an organization's monthly statement.
type Statement struct {
	OrgID   int64
	OrgName string
	Month   string    // 2006-01, the provider's calendar
	From    time.Time // the month's bounds, UTC
	To      time.Time
	Zone    string
	// Provisional: the month is not closed; the figures may still change.
	Provisional bool
	ComputedAt  time.Time
	// Closed: when and by whom (nil while provisional), and the stored
	// statement's reference.
	ClosedAt     *time.Time `json:",omitempty"`
	ClosedBy     *int64     `json:",omitempty"`
	ClosedByName string     `json:",omitempty"`
	Ref          string     `json:",omitempty"`
	Contracts    []ContractMonth
	Clocks       []StatementClock
	// Uncovered lists missed notices of days no contract ran: shown, with
	// nothing to credit.
	Uncovered []CreditLine `json:",omitempty"`
	// Adjustments correct the credits of earlier closed months.
	Adjustments []CreditLine
	Totals      []CurrencyTotal
	// Traffic lists the organization's switch ports with the month's
	// 95th-percentile rates: information only, no credit.
	Traffic []PortTraffic `json:",omitempty"`
}

// ContractMonth is one contract's part of a statement.
type ContractMonth struct {
	ContractID      int64
	Ref             string
	Number          string
	ServiceType     string
	Currency        string
	MonthlyFee      int64
	InstallationFee int64
	// The part of the month the contract runs, [From, To), Days of the
	// month's MonthDays; Fee is the month's fee for them (ProratedFee),
	// DayFee one day's fee (DayFee).
	From, To        time.Time
	Days, MonthDays int
	Fee, DayFee     int64
	Devices         []int64
	Cabinets        []string
	Network, Power  Measure
	Lines           []CreditLine
	// Cap is the most the contract can be credited for the month: its fee
	// plus a refunded installation fee; Capped is what the cap took off.
	Cap, Capped int64
	Credit      int64 // the lines' amounts less Capped
}

// Measure is a contract's availability of one kind over its part of the
// month: Elapsed of Period measured so far (all of it once the month is
// over); Allowance is 0.1 % of the whole Period, so a provisional
// statement already shows a breach that nothing later can undo.
type Measure struct {
	Period    time.Duration
	Elapsed   time.Duration
	Allowance time.Duration
	Down      time.Duration // any downtime, overlaps once
	Counted   time.Duration // downtime that counts against the provider
	Percent   float64       // over Elapsed
	Met       bool          // Counted ≤ Allowance
	// Excluded is downtime that does not count, by cause, each once.
	Excluded []Excluded
	// Evidence lists what the figures come from, in time order.
	Evidence []Evidence
}

// Excluded is downtime of one cause that does not count.
type Excluded struct {
	Cause    string
	Duration time.Duration
}

// Evidence is one record behind a measure: an outage (with its device)
// or a power incident, and the part of it inside the contract's period.
type Evidence struct {
	Kind     string // "outage" or "power"
	ID       int64
	Ref      string // a power incident's reference
	Label    string // the device's name or the incident's number
	Start    time.Time
	End      *time.Time
	Counted  time.Duration
	Excluded time.Duration
	Causes   []string // the causes of its parts inside the period
}

// CreditLine is one line of a statement.
type CreditLine struct {
	Kind       string
	ContractID int64  `json:",omitempty"`
	Contract   string `json:",omitempty"` // its number
	Currency   string
	Amount     int64
	Day        string `json:",omitempty"` // a notice's calendar day
	// Outcome of a notice line (charged, waived, already_charged) and
	// the waiver's reason.
	Outcome string `json:",omitempty"`
	Reason  string `json:",omitempty"`
	// What produced the line: "outage", "installation" (the contract's
	// order), "measure" (the contract's measure above).
	EvidenceKind string `json:",omitempty"`
	EvidenceID   int64  `json:",omitempty"`
	EvidenceRef  string `json:",omitempty"`
	// An adjustment: the closed month it corrects, what that month's
	// credit was and is now, and which lines changed.
	Origin  string       `json:",omitempty"`
	Was     int64        `json:",omitempty"`
	Now     int64        `json:",omitempty"`
	Changes []LineChange `json:",omitempty"`
}

// LineChange is one kind of line of a closed month whose amount changed.
type LineChange struct {
	Kind     string
	Was, Now int64
}

// StatementClock is a clock of the month with what it measured.
type StatementClock struct {
	Kind       string
	RefID      int64
	Ref        string // the page's reference: a request, complaint or contract ref; an outage ID
	Label      string // how people quote it: OP-…, CP-…, CT-…, a device's name
	StartedAt  time.Time
	DeadlineAt time.Time
	StoppedAt  *time.Time `json:",omitempty"`
	Outcome    string
}

// CurrencyTotal is the credit of a statement in one currency.
type CurrencyTotal struct {
	Currency string
	Credit   int64
}

// monthBounds are the UTC bounds of month (2006-01) in the provider's
// zone, and its number of days.
func (s *Store) monthBounds(month string) (from, to time.Time, days int, err error) {
	first, err := time.ParseInLocation("2006-01", month, s.zone)
	if err != nil || first.Format("2006-01") != month {
		return time.Time{}, time.Time{}, 0, Invalid("month", "error.month_invalid")
	}
	next := first.AddDate(0, 1, 0)
	return first.UTC(), next.UTC(), next.AddDate(0, 0, -1).Day(), nil
}

// Statement returns orgID's statement of month (2006-01): the stored one
// once the month is closed, else computed now from the records
// (Provisional). What the reader may not see is left out as it is read:
// the response clock of a complaint naming the reader (agreement §8).
func (s *Store) Statement(ctx context.Context, sc Scope, orgID int64, month string) (*Statement, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "statement")
	}
	db := s.db.WithContext(ctx)
	st, err := s.statement(db, orgID, month)
	if err == nil {
		err = s.hideNamedClocks(db, sc, st)
	}
	if err != nil {
		return nil, wrapStatement(err, orgID, month)
	}
	return st, nil
}

func (s *Store) statement(db *gorm.DB, orgID int64, month string) (*Statement, error) {
	st, err := s.storedStatement(db, orgID, month)
	if err != nil || st != nil {
		return st, err
	}
	// A month closed before statements were kept (migration 24) has its
	// closing but no stored statement: the first read computes it from
	// the records (its notice lines frozen as they were closed) and
	// stores it, so from then on it never changes, like any closed month,
	// and corrections of it become adjusting lines.
	var closed ClosedMonth
	if err := db.Where("org_id = ? AND month = ?", orgID, month).Limit(1).Find(&closed).Error; err != nil {
		return nil, err
	}
	if closed.OrgID == 0 {
		return s.computeStatement(db, orgID, month)
	}
	if st, err = s.statementCore(db, orgID, month, nil); err != nil {
		return nil, err
	}
	st.Provisional, st.ClosedAt, st.ClosedBy, st.Ref = false, &closed.ClosedAt, closed.ClosedBy, newRef()
	body, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&StatementRecord{OrgID: orgID, Month: month, Ref: st.Ref,
		ClosedAt: closed.ClosedAt, ClosedBy: closed.ClosedBy, Body: string(body)}).Error; err != nil {
		return nil, err
	}
	return s.storedStatement(db, orgID, month) // the one stored, if another read stored it first
}

// hideNamedClocks leaves out of st the response clocks of complaints
// naming the reader of sc: for that employee the complaint does not exist.
func (s *Store) hideNamedClocks(db *gorm.DB, sc Scope, st *Statement) error {
	if sc.reader == 0 {
		return nil
	}
	var ids []int64
	for _, k := range st.Clocks {
		if k.Kind == ClockComplaintResponse {
			ids = append(ids, k.RefID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var named []Complaint
	if err := findIn(db, ids, &named, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Select("id").Where("org_id = ? AND named_user_id = ? AND id IN ?", st.OrgID, sc.reader, chunk)
	}); err != nil {
		return err
	}
	if len(named) == 0 {
		return nil
	}
	hide := map[int64]bool{}
	for _, c := range named {
		hide[c.ID] = true
	}
	st.Clocks = slices.DeleteFunc(st.Clocks, func(k StatementClock) bool { return k.Kind == ClockComplaintResponse && hide[k.RefID] })
	return nil
}

func wrapStatement(err error, orgID int64, month string) error {
	if err == nil {
		return nil
	}
	if _, ok := AsValidation(err); ok || errors.Is(err, ErrNotFound) {
		return wrap(err, "statement")
	}
	return fmt.Errorf("models: statement %s of organization %d: %w", month, orgID, err)
}

// storedStatement reads the closed statement of the month, nil if none.
func (s *Store) storedStatement(db *gorm.DB, orgID int64, month string) (*Statement, error) {
	var rec StatementRecord
	err := db.Where("org_id = ? AND month = ?", orgID, month).First(&rec).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st Statement
	if err := json.Unmarshal([]byte(rec.Body), &st); err != nil {
		return nil, fmt.Errorf("stored statement %d: %w", rec.ID, err)
	}
	return &st, nil
}

// computeStatement builds the statement of an open month: the month's
// own lines and the adjustments of the closed months it is the next open
// statement of.
func (s *Store) computeStatement(db *gorm.DB, orgID int64, month string) (*Statement, error) {
	st, err := s.statementCore(db, orgID, month, nil)
	if err != nil {
		return nil, err
	}
	if st.Adjustments, err = s.adjustments(db, orgID, month); err != nil {
		return nil, err
	}
	st.Totals = totals(st)
	return st, nil
}

// statementCore computes the month's own figures and lines from the
// records. With frozen (the month's closed statement), the month is
// computed again for its adjustments: under the terms it was closed with
// (its contracts, their periods, fees and coverage, as stored), from the
// records as they are now (causes, waivers, incidents, installations),
// its notice lines as their inputs make them now (the after-close
// values). A later change of a contract's terms never reaches a closed
// month.
func (s *Store) statementCore(db *gorm.DB, orgID int64, month string, frozen *Statement) (*Statement, error) {
	from, to, monthDays, err := s.monthBounds(month)
	if err != nil {
		return nil, err
	}
	var org Organization
	if err := db.First(&org, orgID).Error; err != nil {
		return nil, notFound(err)
	}
	now := s.now()
	st := &Statement{OrgID: orgID, OrgName: org.Name, Month: month, From: from, To: to, Zone: s.zone.String(),
		Provisional: true, ComputedAt: now}

	firstDay, lastDay := from.In(s.zone).Format(time.DateOnly), to.In(s.zone).AddDate(0, 0, -1).Format(time.DateOnly)
	// An installation is due in the month its due time ends a day of:
	// due at 00:00 on the 1st is the end of the month before.
	var orders []InstallationOrder
	if err := db.Where("org_id = ? AND due_at > ? AND due_at <= ?", orgID, from, to).Find(&orders).Error; err != nil {
		return nil, err
	}
	dueIn := map[int64]*InstallationOrder{}
	orderIDs := make([]int64, len(orders))
	for i := range orders {
		dueIn[orders[i].ContractID] = &orders[i]
		orderIDs[i] = orders[i].ID
	}
	// An installation is late as its clock says: a completion recorded
	// after the sweep marked the clock missed stays missed, on the
	// contract's page and here alike. An order without a clock (seeded
	// data) is judged by its times.
	var installClocks []Clock
	if err := findIn(db, orderIDs, &installClocks, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Select("ref_id", "outcome", "deadline_at").Where("org_id = ? AND kind = ? AND ref_id IN ?", orgID, ClockInstallation, chunk)
	}); err != nil {
		return nil, err
	}
	installClock := map[int64]Clock{}
	for _, k := range installClocks {
		installClock[k.RefID] = k
	}
	late := func(o *InstallationOrder) bool {
		k, ok := installClock[o.ID]
		switch {
		case !ok:
			return o.Late(now)
		case k.Outcome == ClockMissed:
			return true
		case k.Outcome == ClockRunning:
			return now.After(k.DeadlineAt)
		}
		return false
	}
	terms, err := s.contractTerms(db, orgID, from, to, monthDays, dueIn, frozen)
	if err != nil {
		return nil, err
	}
	var devices []int64
	for _, cm := range terms {
		devices = append(devices, cm.Devices...)
	}
	slices.Sort(devices)
	devices = slices.Compact(devices)
	spans, err := s.outageSpans(db, orgID, append(devices, 0), from, to) // never nil: no device is no outage
	if err != nil {
		return nil, err
	}
	names, err := s.deviceNames(db, orgID, devices)
	if err != nil {
		return nil, err
	}
	deviceOf := map[int64]int64{}
	for d, ss := range spans {
		for _, sp := range ss {
			deviceOf[sp.OutageID] = d
		}
	}
	power, err := s.powerIncidentsOf(db, orgID, from, to)
	if err != nil {
		return nil, err
	}
	for _, cm := range terms {
		var net []Span
		for _, d := range cm.Devices {
			net = append(net, spans[d]...)
		}
		cm.Network = measure(cm.From, cm.To, now, net, func(sp Span) (string, int64, string, string) {
			return "outage", sp.OutageID, "", names[deviceOf[sp.OutageID]]
		})
		cm.Power = measure(cm.From, cm.To, now, power.spansFor(cm.Cabinets), power.evidence)
		if heldEv := power.heldEvidence(cm.Cabinets, cm.From, cm.To, now); len(heldEv) > 0 {
			cm.Power.Excluded = append(cm.Power.Excluded, held(heldEv)...)
			cm.Power.Evidence = append(cm.Power.Evidence, heldEv...)
			sort.SliceStable(cm.Power.Evidence, func(i, j int) bool { return cm.Power.Evidence[i].Start.Before(cm.Power.Evidence[j].Start) })
		}
		if !cm.Network.Met {
			cm.Lines = append(cm.Lines, CreditLine{Kind: LineNetwork, Amount: cm.Fee, EvidenceKind: "measure"})
		}
		if !cm.Power.Met {
			cm.Lines = append(cm.Lines, CreditLine{Kind: LinePower, Amount: cm.Fee, EvidenceKind: "measure"})
		}
		cm.Cap = cm.Fee
		if o := dueIn[cm.ContractID]; o != nil && late(o) {
			cm.Lines = append(cm.Lines, CreditLine{Kind: LineInstallation, Amount: cm.InstallationFee,
				EvidenceKind: "installation", EvidenceID: o.ID, EvidenceRef: cm.Ref})
			cm.Cap += cm.InstallationFee
		}
		st.Contracts = append(st.Contracts, cm)
	}
	if err := s.noticeLines(db, st, firstDay, lastDay, frozen != nil); err != nil {
		return nil, err
	}
	for i := range st.Contracts {
		cm := &st.Contracts[i]
		var sum int64
		for j := range cm.Lines {
			cm.Lines[j].ContractID, cm.Lines[j].Contract, cm.Lines[j].Currency = cm.ContractID, cm.Number, cm.Currency
			sum += cm.Lines[j].Amount
		}
		cm.Capped = max(0, sum-cm.Cap)
		cm.Credit = sum - cm.Capped
	}
	if st.Clocks, err = s.statementClocks(db, orgID, from, to); err != nil {
		return nil, err
	}
	if frozen == nil { // information only: a closed month's adjustments need none
		if st.Traffic, err = s.statementTraffic(db, orgID, month, from, to); err != nil {
			return nil, err
		}
	}
	st.Totals = totals(st)
	return st, nil
}

// contractTerms are the contracts of the month [from, to) with what the
// statement settles them by: their period in the month, fees, coverage, in
// the order of their numbers (the first covering contract is the one a
// missed notice is charged to). They are the contracts running in the
// month and those with an installation due in it, as they stand now; or,
// for a closed month, those it was closed with, as they were then.
func (s *Store) contractTerms(db *gorm.DB, orgID int64, from, to time.Time, monthDays int, dueIn map[int64]*InstallationOrder, frozen *Statement) ([]ContractMonth, error) {
	var out []ContractMonth
	if frozen != nil {
		for _, f := range frozen.Contracts {
			out = append(out, ContractMonth{ContractID: f.ContractID, Ref: f.Ref, Number: f.Number, ServiceType: f.ServiceType,
				Currency: f.Currency, MonthlyFee: f.MonthlyFee, InstallationFee: f.InstallationFee, From: f.From, To: f.To,
				Days: f.Days, MonthDays: f.MonthDays, Fee: f.Fee, DayFee: f.DayFee, Devices: f.Devices, Cabinets: f.Cabinets})
		}
		slices.SortStableFunc(out, func(a, b ContractMonth) int { return compareNumbers(a.Number, b.Number) })
		return out, nil
	}
	firstDay, lastDay := from.In(s.zone).Format(time.DateOnly), to.In(s.zone).AddDate(0, 0, -1).Format(time.DateOnly)
	var contracts []Contract
	q := db.Where("org_id = ?", orgID).Where(db.Where("starts_on <= ? AND ends_on >= ?", lastDay, firstDay).
		Or("id IN ?", append(slices.Collect(maps.Keys(dueIn)), 0)))
	if err := q.Order("number_year, number_seq, id").Find(&contracts).Error; err != nil {
		return nil, err
	}
	ids := make([]int64, len(contracts))
	for i, c := range contracts {
		ids[i] = c.ID
	}
	cover, err := contractCoverage(db, orgID, ids)
	if err != nil {
		return nil, err
	}
	for _, c := range contracts {
		cm := ContractMonth{ContractID: c.ID, Ref: c.Ref, Number: c.Number(), ServiceType: c.ServiceType, Currency: c.Currency,
			MonthlyFee: c.MonthlyFee, InstallationFee: c.InstallationFee, MonthDays: monthDays,
			Devices: cover[c.ID].Devices, Cabinets: cover[c.ID].Cabinets}
		cm.From, cm.To, cm.Days = s.contractPeriod(c, from, to)
		cm.Fee = ProratedFee(c.MonthlyFee, cm.Days, monthDays)
		cm.DayFee = DayFee(c.MonthlyFee, monthDays)
		out = append(out, cm)
	}
	return out, nil
}

// compareNumbers orders record numbers (CT-2026-0001) by year and
// sequence: a longer number (a sequence past 9999) comes later.
func compareNumbers(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// contractPeriod is the part of the month [from, to) the contract runs
// (its days are whole calendar days of the zone) and how many days that
// is: the one place the mid-month rule is applied (docs/agreement.md,
// "A contract starting or ending mid-month": the allowance and the fee
// are both prorated over the contract's days).
func (s *Store) contractPeriod(c Contract, from, to time.Time) (time.Time, time.Time, int) {
	start, err1 := time.ParseInLocation(time.DateOnly, c.StartsOn, s.zone)
	end, err2 := time.ParseInLocation(time.DateOnly, c.EndsOn, s.zone)
	if err1 != nil || err2 != nil {
		return from, from, 0
	}
	end = end.AddDate(0, 0, 1)
	if start.Before(from) {
		start = from
	}
	if end.After(to) {
		end = to
	}
	if !end.After(start) {
		return from, from, 0
	}
	days := 0
	for d := start.In(s.zone); d.Before(end); d = d.AddDate(0, 0, 1) {
		days++
	}
	return start.UTC(), end.UTC(), days
}

// measure computes a contract's measure of [from, to) from spans;
// label names each span's record for the evidence.
func measure(from, to, now time.Time, spans []Span, label func(Span) (kind string, id int64, ref, name string)) Measure {
	a := ComputeAvailability(from, to, time.Time{}, now, spans)
	m := Measure{Period: to.Sub(from), Elapsed: a.Total, Down: a.Down, Counted: a.Counted, Percent: a.Percent()}
	whole := Availability{Total: m.Period, Counted: m.Counted} // the whole period's allowance
	m.Allowance, m.Met = whole.Allowance(), whole.Met()
	if m.Elapsed <= 0 {
		return m
	}
	end := from.Add(a.Total)
	var counted []interval
	byCause := map[Cause][]interval{}
	type key struct {
		kind string
		id   int64
	}
	ev := map[key]*Evidence{}
	var order []key
	for _, sp := range spans {
		iv, ok := clip(sp, from, end)
		if !ok {
			continue
		}
		kind, id, ref, name := label(sp)
		k := key{kind, id}
		e := ev[k]
		if e == nil {
			e = &Evidence{Kind: kind, ID: id, Ref: ref, Label: name, Start: iv.start}
			ev[k], order = e, append(order, k)
		}
		if iv.start.Before(e.Start) {
			e.Start = iv.start
		}
		stop := iv.end
		if sp.End == nil || stop.After(end) {
			e.End = nil
		} else if e.End == nil || stop.After(*e.End) {
			e.End = &stop
		}
		if sp.End == nil {
			e.End = nil
		}
		if !slices.Contains(e.Causes, string(sp.Cause)) {
			e.Causes = append(e.Causes, string(sp.Cause))
		}
		if sp.Cause.CountsAgainstProvider() {
			counted = append(counted, iv)
			e.Counted += iv.end.Sub(iv.start)
		} else {
			byCause[sp.Cause] = append(byCause[sp.Cause], iv)
			e.Excluded += iv.end.Sub(iv.start)
		}
	}
	for c, ivs := range byCause {
		if d := lengthOutside(ivs, counted); d > 0 {
			m.Excluded = append(m.Excluded, Excluded{Cause: string(c), Duration: d})
		}
	}
	sort.Slice(m.Excluded, func(i, j int) bool { return m.Excluded[i].Cause < m.Excluded[j].Cause })
	for _, k := range order {
		m.Evidence = append(m.Evidence, *ev[k])
	}
	sort.SliceStable(m.Evidence, func(i, j int) bool { return m.Evidence[i].Start.Before(m.Evidence[j].Start) })
	return m
}

// clip is the part of span inside [from, to), an open span running to.
func clip(sp Span, from, to time.Time) (interval, bool) {
	st, en := sp.Start, to
	if sp.End != nil && sp.End.Before(en) {
		en = *sp.End
	}
	if st.Before(from) {
		st = from
	}
	return interval{st, en}, en.After(st)
}

// lengthOutside is the length of the union of a outside the union of b.
func lengthOutside(a, b []interval) time.Duration {
	return unionLength(append(slices.Clone(a), b...)) - unionLength(slices.Clone(b))
}

// deviceNames maps the given devices of orgID to their names.
func (s *Store) deviceNames(db *gorm.DB, orgID int64, ids []int64) (map[int64]string, error) {
	var ds []Device
	if err := findIn(db, ids, &ds, inOrg(orgID, idAndName)); err != nil {
		return nil, err
	}
	out := make(map[int64]string, len(ds))
	for _, d := range ds {
		out[d.ID] = d.Name
	}
	return out, nil
}

// orgPower is an organization's power incidents of a month with what
// each touched of it.
type orgPower struct {
	incidents []PowerIncident
	targets   map[int64][]string // incident → its cabinets of the org; "" for the whole organization
}

func (s *Store) powerIncidentsOf(db *gorm.DB, orgID int64, from, to time.Time) (*orgPower, error) {
	var ts []PowerTarget
	if err := db.Where("org_id = ?", orgID).Where("incident_id IN (?)",
		db.Model(&PowerIncident{}).Select("id").Where("started_at < ? AND (ended_at IS NULL OR ended_at > ?)", to, from)).
		Find(&ts).Error; err != nil {
		return nil, err
	}
	p := &orgPower{targets: map[int64][]string{}}
	ids := []int64{}
	for _, t := range ts {
		if _, ok := p.targets[t.IncidentID]; !ok {
			ids = append(ids, t.IncidentID)
		}
		p.targets[t.IncidentID] = append(p.targets[t.IncidentID], t.Cabinet)
	}
	if err := findIn(db, ids, &p.incidents, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Where("id IN ?", chunk).Order("started_at, id")
	}); err != nil {
		return nil, err
	}
	return p, nil
}

// touches reports whether incident id touched a contract standing in
// cabinets: a target of the whole organization, or of one of them.
func (p *orgPower) touches(id int64, cabinets []string) bool {
	for _, c := range p.targets[id] {
		if c == "" || slices.Contains(cabinets, c) {
			return true
		}
	}
	return false
}

// spansFor is the downtime of power of a contract standing in cabinets:
// incidents with mains and UPS both down that touched it, a
// force-majeure one (a public power cut) with that cause.
func (p *orgPower) spansFor(cabinets []string) []Span {
	var out []Span
	for _, in := range p.incidents {
		if !in.BothDown || !p.touches(in.ID, cabinets) {
			continue
		}
		cause := CauseProviderPower
		if in.ForceMajeure {
			cause = CauseFMPublic
		}
		out = append(out, Span{Start: in.StartedAt, End: in.EndedAt, Cause: cause, OutageID: -in.ID})
	}
	return out
}

// evidence labels a power span (OutageID holds −incident ID).
func (p *orgPower) evidence(sp Span) (string, int64, string, string) {
	for _, in := range p.incidents {
		if in.ID == -sp.OutageID {
			return "power", in.ID, in.Ref, in.Number()
		}
	}
	return "power", -sp.OutageID, "", ""
}

// held is the time of the held incidents (heldEvidence) in the period,
// each moment once: listed as excluded, the customer's power never failed.
func held(evidence []Evidence) []Excluded {
	ivs := make([]interval, len(evidence))
	for i, e := range evidence {
		ivs[i] = interval{e.Start, e.Start.Add(e.Excluded)}
	}
	if d := unionLength(ivs); d > 0 {
		return []Excluded{{Cause: ExcludedUPSHeld, Duration: d}}
	}
	return nil
}

// heldEvidence lists the incidents that touched the contract with mains
// or UPS still up, each with its time in the period as excluded: the
// records behind the "mains or UPS held" exclusion.
func (p *orgPower) heldEvidence(cabinets []string, from, to, now time.Time) []Evidence {
	end := to
	if now.Before(end) {
		end = now
	}
	var out []Evidence
	for _, in := range p.incidents {
		if in.BothDown || !p.touches(in.ID, cabinets) {
			continue
		}
		if iv, ok := clip(Span{Start: in.StartedAt, End: in.EndedAt}, from, end); ok {
			e := Evidence{Kind: "power", ID: in.ID, Ref: in.Ref, Label: in.Number(), Start: iv.start,
				Excluded: iv.end.Sub(iv.start), Causes: []string{ExcludedUPSHeld}}
			if in.EndedAt != nil && !iv.end.Before(*in.EndedAt) {
				e.End = &iv.end
			}
			out = append(out, e)
		}
	}
	return out
}

// noticeLines adds the lines of the month's missed notices to the
// contracts of st: each miss is charged to the contract covering the
// outage's device (the first by number when several do), else to the
// organization's contract with the highest monthly fee that day; one
// day's fee of that contract per charged day (the lines' Days).
func (s *Store) noticeLines(db *gorm.DB, st *Statement, firstDay, lastDay string, asClosedNow bool) error {
	var lines []Deduction
	if err := db.Where("org_id = ? AND kind = ? AND day >= ? AND day <= ?", st.OrgID, ClockEmergencyNotice, firstDay, lastDay).
		Order("day, id").Find(&lines).Error; err != nil {
		return err
	}
	if len(lines) == 0 {
		return nil
	}
	clockIDs := make([]int64, len(lines))
	for i, l := range lines {
		clockIDs[i] = l.ClockID
	}
	var clocks []Clock
	if err := findIn(db, clockIDs, &clocks, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Select("id", "ref_id").Where("org_id = ? AND id IN ?", st.OrgID, chunk)
	}); err != nil {
		return err
	}
	outageOf := map[int64]int64{}
	for _, c := range clocks {
		outageOf[c.ID] = c.RefID
	}
	outageIDs := make([]int64, 0, len(clocks))
	for _, id := range outageOf {
		outageIDs = append(outageIDs, id)
	}
	var outages []Outage
	if err := findIn(db, outageIDs, &outages, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Select("id", "device_id").Where("org_id = ? AND id IN ?", st.OrgID, chunk)
	}); err != nil {
		return err
	}
	deviceOf := map[int64]int64{}
	for _, o := range outages {
		deviceOf[o.ID] = o.DeviceID
	}
	for _, l := range lines {
		d := l
		if asClosedNow {
			d = l.afterClose()
		}
		outage := outageOf[l.ClockID]
		cm := st.contractFor(deviceOf[outage], l.Day, s.zone)
		line := CreditLine{Kind: LineNotice, Day: l.Day, Outcome: d.Outcome(), Reason: d.WaiverReason, EvidenceKind: "outage", EvidenceID: outage}
		if cm == nil {
			// No contract ran that day: the miss is shown, with no fee
			// to take a day of.
			st.Uncovered = append(st.Uncovered, line)
			continue
		}
		line.Amount = int64(d.Days) * cm.DayFee
		cm.Lines = append(cm.Lines, line)
	}
	return nil
}

// contractFor is the contract of the statement a miss of device's on day
// is charged to.
func (st *Statement) contractFor(device int64, day string, zone *time.Location) *ContractMonth {
	t, err := time.ParseInLocation(time.DateOnly, day, zone)
	if err != nil {
		return nil
	}
	var best *ContractMonth
	for i := range st.Contracts {
		cm := &st.Contracts[i]
		if cm.Days == 0 || t.Before(cm.From) || !t.Before(cm.To) {
			continue
		}
		if slices.Contains(cm.Devices, device) {
			return cm
		}
		if best == nil || cm.MonthlyFee > best.MonthlyFee {
			best = cm
		}
	}
	return best
}

// statementClocks lists every clock of orgID whose deadline falls in
// [from, to), with what it measured, in deadline order.
func (s *Store) statementClocks(db *gorm.DB, orgID int64, from, to time.Time) ([]StatementClock, error) {
	var cs []Clock
	if err := db.Where("org_id = ? AND deadline_at >= ? AND deadline_at < ?", orgID, from, to).
		Order("deadline_at, id").Find(&cs).Error; err != nil {
		return nil, err
	}
	refs := map[string][]int64{}
	for _, c := range cs {
		refs[c.Kind] = append(refs[c.Kind], c.RefID)
	}
	type named struct{ ref, label string }
	name := map[string]map[int64]named{}
	for kind, ids := range refs {
		m := map[int64]named{}
		name[kind] = m
		switch kind {
		case ClockEmergencyNotice:
			var os []Outage
			if err := findIn(db, ids, &os, func(q *gorm.DB, chunk []int64) *gorm.DB {
				return q.Select("id", "device_id").Where("org_id = ? AND id IN ?", orgID, chunk)
			}); err != nil {
				return nil, err
			}
			devs := make([]int64, len(os))
			for i, o := range os {
				devs[i] = o.DeviceID
			}
			names, err := s.deviceNames(db, orgID, devs)
			if err != nil {
				return nil, err
			}
			for _, o := range os {
				m[o.ID] = named{fmt.Sprint(o.ID), names[o.DeviceID]}
			}
		case ClockOperationFeedback, ClockPhoneFollowUp:
			reqIDs := ids
			var auths []Authorization
			if kind == ClockPhoneFollowUp {
				if err := findIn(db, ids, &auths, func(q *gorm.DB, chunk []int64) *gorm.DB {
					return q.Select("id", "request_id").Where("org_id = ? AND id IN ?", orgID, chunk)
				}); err != nil {
					return nil, err
				}
				reqIDs = make([]int64, len(auths))
				for i, a := range auths {
					reqIDs[i] = a.RequestID
				}
			}
			var rs []OperationRequest
			if err := findIn(db, reqIDs, &rs, func(q *gorm.DB, chunk []int64) *gorm.DB {
				return q.Select("id", "ref", "number_year", "number_seq").Where("org_id = ? AND id IN ?", orgID, chunk)
			}); err != nil {
				return nil, err
			}
			byReq := map[int64]named{}
			for _, r := range rs {
				byReq[r.ID] = named{r.Ref, r.Number()}
			}
			if kind == ClockPhoneFollowUp {
				for _, a := range auths {
					m[a.ID] = byReq[a.RequestID]
				}
			} else {
				m = byReq
				name[kind] = m
			}
		case ClockComplaintResponse:
			var cps []Complaint
			if err := findIn(db, ids, &cps, func(q *gorm.DB, chunk []int64) *gorm.DB {
				return q.Select("id", "ref", "number_year", "number_seq").Where("org_id = ? AND id IN ?", orgID, chunk)
			}); err != nil {
				return nil, err
			}
			for _, c := range cps {
				m[c.ID] = named{c.Ref, c.Number()}
			}
		case ClockInstallation:
			var rows []struct {
				ID, NumberYear, NumberSeq int64
				Ref                       string
			}
			if err := findIn(db, ids, &rows, func(q *gorm.DB, chunk []int64) *gorm.DB {
				return q.Table("installation_orders o").Select("o.id, c.ref, c.number_year, c.number_seq").
					Joins("JOIN contracts c ON c.id = o.contract_id").Where("o.org_id = ? AND o.id IN ?", orgID, chunk)
			}); err != nil {
				return nil, err
			}
			for _, r := range rows {
				m[r.ID] = named{r.Ref, FormatNumber(NumberContract, int(r.NumberYear), int(r.NumberSeq))}
			}
		}
	}
	out := make([]StatementClock, len(cs))
	for i, c := range cs {
		n := name[c.Kind][c.RefID]
		out[i] = StatementClock{Kind: c.Kind, RefID: c.RefID, Ref: n.ref, Label: n.label, StartedAt: c.StartedAt,
			DeadlineAt: c.DeadlineAt, StoppedAt: c.StoppedAt, Outcome: c.Outcome}
	}
	return out, nil
}

// totals adds up a statement's credits per currency, in currency order.
func totals(st *Statement) []CurrencyTotal {
	var parts []CurrencyTotal
	for _, cm := range st.Contracts {
		parts = append(parts, CurrencyTotal{Currency: cm.Currency, Credit: cm.Credit})
	}
	for _, a := range st.Adjustments {
		parts = append(parts, CurrencyTotal{Currency: a.Currency, Credit: a.Amount})
	}
	return SumTotals(parts)
}

// SumTotals adds up credits per currency, in currency order: a
// statement's, or the provider's month across organizations.
func SumTotals(groups ...[]CurrencyTotal) []CurrencyTotal {
	by := map[string]int64{}
	for _, g := range groups {
		for _, t := range g {
			by[t.Currency] += t.Credit
		}
	}
	var out []CurrencyTotal
	for _, c := range slices.Sorted(maps.Keys(by)) {
		out = append(out, CurrencyTotal{Currency: c, Credit: by[c]})
	}
	return out
}

// maxAdjustedMonths bounds how far back an open statement looks for
// closed months to correct.
const maxAdjustedMonths = 24

// adjustments are the corrections the open month is the next open
// statement of: for each closed month before it with only closed months
// in between, each contract's credit as the records give it now, less
// what the closed statement gave and what later closed statements
// already adjusted. A non-zero difference is a line, with the kinds of
// lines that changed.
func (s *Store) adjustments(db *gorm.DB, orgID int64, month string) ([]CreditLine, error) {
	first, err := time.ParseInLocation("2006-01", month, s.zone)
	if err != nil {
		return nil, Invalid("month", "error.month_invalid")
	}
	var closedMonths []string
	if err := db.Model(&StatementRecord{}).Where("org_id = ? AND month < ? AND month >= ?", orgID, month,
		first.AddDate(0, -maxAdjustedMonths, 0).Format("2006-01")).Order("month DESC").Pluck("month", &closedMonths).Error; err != nil {
		return nil, err
	}
	// The closed months in a row right before this one; an older closed
	// month with an open month after it is that month's to adjust.
	var months []string
	want := first.AddDate(0, -1, 0).Format("2006-01")
	for _, m := range closedMonths {
		if m != want {
			break
		}
		months = append(months, m)
		t, _ := time.ParseInLocation("2006-01", m, s.zone)
		want = t.AddDate(0, -1, 0).Format("2006-01")
	}
	// Only a month whose records changed after it closed can read
	// differently now: the others are not computed again, nor read.
	corrected, err := correctedMonths(db, orgID, months)
	if err != nil || len(corrected) == 0 {
		return nil, err
	}
	oldest := ""
	for m := range corrected {
		if oldest == "" || m < oldest {
			oldest = m
		}
	}
	var recs []StatementRecord
	if err := db.Where("org_id = ? AND month >= ? AND month IN ?", orgID, oldest, months).Order("month DESC").Find(&recs).Error; err != nil {
		return nil, err
	}
	run := make([]*Statement, len(recs)) // newest first, as months
	for i, r := range recs {
		var st Statement
		if err := json.Unmarshal([]byte(r.Body), &st); err != nil {
			return nil, fmt.Errorf("stored statement %d: %w", r.ID, err)
		}
		run[i] = &st
	}
	var out []CreditLine
	for i := len(run) - 1; i >= 0; i-- {
		closed := run[i]
		if !corrected[closed.Month] {
			continue
		}
		now, err := s.statementCore(db, orgID, closed.Month, closed)
		if err != nil {
			return nil, err
		}
		carried := map[int64]int64{}
		for _, later := range run[:i] {
			for _, a := range later.Adjustments {
				if a.Origin == closed.Month {
					carried[a.ContractID] += a.Amount
				}
			}
		}
		was := map[int64]*ContractMonth{}
		for j := range closed.Contracts {
			was[closed.Contracts[j].ContractID] = &closed.Contracts[j]
		}
		for _, cm := range now.Contracts {
			old := was[cm.ContractID]
			var before int64
			if old != nil {
				before = old.Credit
			}
			delta := cm.Credit - before - carried[cm.ContractID]
			if delta == 0 {
				continue
			}
			out = append(out, CreditLine{Kind: LineAdjustment, ContractID: cm.ContractID, Contract: cm.Number,
				Currency: cm.Currency, Amount: delta, Origin: closed.Month, Was: before + carried[cm.ContractID], Now: cm.Credit,
				Changes: lineChanges(old, &cm), EvidenceKind: "statement", EvidenceRef: closed.Month})
		}
	}
	return out, nil
}

// lineChanges lists the kinds of lines whose amounts differ between a
// closed contract month and the same month now.
func lineChanges(was, now *ContractMonth) []LineChange {
	sum := func(cm *ContractMonth) map[string]int64 {
		m := map[string]int64{}
		if cm != nil {
			for _, l := range cm.Lines {
				m[l.Kind] += l.Amount
			}
		}
		return m
	}
	a, b := sum(was), sum(now)
	var out []LineChange
	for _, k := range []string{LineNetwork, LinePower, LineNotice, LineInstallation} {
		if a[k] != b[k] {
			out = append(out, LineChange{Kind: k, Was: a[k], Now: b[k]})
		}
	}
	return out
}

// freezeStatement computes the statement of the month being closed in
// tx (its notice lines just derived for the last time) and stores it.
func (s *Store) freezeStatement(tx *gorm.DB, actor Actor, orgID int64, month string) error {
	st, err := s.computeStatement(tx, orgID, month)
	if err != nil {
		return err
	}
	at := s.now()
	ref := newRef()
	st.Provisional, st.ClosedAt, st.ClosedBy, st.Ref = false, &at, actor.UserID, ref
	names, err := s.userNames(tx, actor.UserID)
	if err != nil {
		return err
	}
	if actor.UserID != nil {
		st.ClosedByName = names[*actor.UserID]
	}
	body, err := json.Marshal(st)
	if err != nil {
		return err
	}
	rec := StatementRecord{OrgID: orgID, Month: month, Ref: ref, ClosedAt: at, ClosedBy: actor.UserID, Body: string(body)}
	if err := tx.Create(&rec).Error; err != nil {
		return err
	}
	return s.hookOutbox(tx, HookStatementClosed, EventStatementClosed, orgID, rec.ID, nil)
}

// ProviderRow is one organization's month in the provider's view.
type ProviderRow struct {
	OrgID        int64
	OrgName      string
	Closed       bool
	Contracts    int
	Network      float64 // the lowest network availability of its contracts, %
	Power        float64 // the lowest power availability, %
	Breaches     int     // contracts whose network or power promise broke
	ClocksMissed int
	Credits      []CurrencyTotal // with adjustments
}

// providerMonthWorkers bounds the statements ProviderMonth computes at once.
const providerMonthWorkers = 4

// providerRow is one organization's row of the provider's month.
func (s *Store) providerRow(ctx context.Context, sc Scope, o Organization, month string) (ProviderRow, error) {
	st, err := s.Statement(ctx, sc, o.ID, month)
	if err != nil {
		return ProviderRow{}, err
	}
	r := ProviderRow{OrgID: o.ID, OrgName: o.Name, Closed: !st.Provisional, Network: 100, Power: 100, Credits: st.Totals}
	for _, cm := range st.Contracts {
		if cm.Days == 0 {
			continue
		}
		r.Contracts++
		r.Network, r.Power = min(r.Network, cm.Network.Percent), min(r.Power, cm.Power.Percent)
		if !cm.Network.Met || !cm.Power.Met {
			r.Breaches++
		}
	}
	for _, c := range st.Clocks {
		if c.Outcome == ClockMissed {
			r.ClocksMissed++
		}
	}
	return r, nil
}

// ProviderMonth is month (2006-01) across every organization, by name:
// each one's statement (closed or provisional) in one row.
func (s *Store) ProviderMonth(ctx context.Context, sc Scope, month string) ([]ProviderRow, error) {
	if !sc.All() {
		return nil, wrap(ErrNotFound, "provider month")
	}
	if _, _, _, err := s.monthBounds(month); err != nil {
		return nil, err
	}
	var orgs []Organization
	if err := s.db.WithContext(ctx).Select("id", "name").Order("name, id").Find(&orgs).Error; err != nil {
		return nil, fmt.Errorf("models: provider month: %w", err)
	}
	// Each organization's statement is a dozen small queries: a few run
	// at once, the database's round trips overlapping.
	out := make([]ProviderRow, len(orgs))
	errs := make([]error, len(orgs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range providerMonthWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i], errs[i] = s.providerRow(ctx, sc, orgs[i], month)
			}
		}()
	}
	for i := range orgs {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}
