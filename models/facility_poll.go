package models

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Outbox events of the meters: a threshold crossing begins (to the
// organization's contacts with an email channel and its engineer), and a
// cabinet's power proposed as an incident (to the engineers). Written in
// two pieces so that the locale tests do not take them for catalog keys
// ("facility" and "power" are areas of the catalog); their names are
// event.facility.threshold and event.power.proposed.
const (
	EventFacilityThreshold = "facility" + ".threshold"
	EventPowerProposed     = "power" + ".proposed"
)

// MeterToPoll is what the poller reads of a meter: its OID and the
// divisor that turns the agent's integer into the meter's unit.
type MeterToPoll struct {
	ID      int64
	OID     string `gorm:"column:oid"`
	Divisor int
}

// MetersToPoll lists the meters of facility device switchID, by ID.
func (s *Store) MetersToPoll(ctx context.Context, switchID int64) ([]MeterToPoll, error) {
	var ms []MeterToPoll
	err := s.db.WithContext(ctx).Model(&FacilityMeter{}).Select("id", "oid", "divisor").
		Where("switch_id = ?", switchID).Order("id").Find(&ms).Error
	return ms, wrap(err, "meters to poll")
}

// MeterMilli turns an agent's integer into thousandths of the meter's
// unit: v × 1000 ÷ divisor, rounded towards zero (a divisor below 1 is 1).
func MeterMilli(v int64, divisor int) int64 {
	if divisor < 1 {
		divisor = 1
	}
	return v * 1000 / int64(divisor)
}

// FacilityValue is one meter's value in a poll, in thousandths of its unit.
type FacilityValue struct {
	MeterID int64
	Milli   int64
}

// FacilityPoll is one poll of a PDU or sensor: its slot (as traffic
// samples: a slot polled twice has one key per meter) and the value of
// each meter the agent answered for.
type FacilityPoll struct {
	SwitchID int64
	At       time.Time
	Values   []FacilityValue
}

// FacilityPollResult says what a poll changed.
type FacilityPollResult struct {
	Stored         int // readings new to the table
	AlertsStarted  int
	AlertsEnded    int
	Proposed       int // power proposals opened
	ProposalsEnded int // proposals whose power came back
}

// The threshold hysteresis: a crossing ends when the value is back
// inside by 2 % of the threshold, and by at least the quantity's margin.
var hysteresisMin = map[string]int64{
	QuantityPower:       10_000, // 10 W
	QuantityCurrent:     100,    // 0.1 A
	QuantityTemperature: 500,    // 0.5 °C
	QuantityHumidity:    1_000,  // 1 %RH
}

// Hysteresis is how far inside threshold (milli-units of quantity) a
// value must come back to end a crossing.
func Hysteresis(quantity string, threshold int64) int64 {
	h := max(threshold, -threshold) * 2 / 100
	return max(h, hysteresisMin[quantity])
}

// zeroRecent is how many poll intervals a meter's last reading counts as
// the cabinet's present for the dual-feed rule.
const zeroRecent = 2

// FacilityThreshold is the payload of a facility.threshold event.
type FacilityThreshold struct {
	MeterID        int64     `json:"meter_id"`
	Kind           string    `json:"kind"`
	ValueMilli     int64     `json:"value_milli"`
	ThresholdMilli int64     `json:"threshold_milli"`
	At             time.Time `json:"at"`
}

// RecordFacilityPoll stores one poll of a facility device in one
// transaction: its readings (a slot stored already is skipped), each
// meter's last value, the threshold state of each meter (a crossing
// starts a FacilityAlert and one facility.threshold event; a value back
// inside by the hysteresis ends it), and for each cabinet the poll
// touched, the dual-feed rule: a cabinet whose power meters (current
// meters when it has no power meters on both feeds) on feeds A and B all
// read zero in their last reading, none older than two of its device's
// poll intervals, gets a PowerProposal from the first slot all read zero
// (with a power.proposed event) unless one is going on; a feed reading
// power again ends the proposal going on.
//
// A reading older than the meter's last changes neither its last value
// nor its threshold state (a poll replayed late). The organizations of the
// meters are locked first, in ID order: the two feeds of a cabinet may be
// polled at once from two PDUs, and each poll sees the other's readings.
func (s *Store) RecordFacilityPoll(ctx context.Context, poll FacilityPoll) (FacilityPollResult, error) {
	var res FacilityPollResult
	if len(poll.Values) == 0 {
		return res, nil
	}
	at := poll.At.UTC()
	late := at.Before(s.now().Add(-lateResult))
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res = FacilityPollResult{}
		ids := make([]int64, 0, len(poll.Values))
		for _, v := range poll.Values {
			ids = append(ids, v.MeterID)
		}
		// The device first: two polls of one device (a lease running out
		// during a slow poll) take turns, so that one crossing starts one
		// alert. Polls of two devices lock different rows here.
		if err := forUpdate(tx).Select("id").Where("id = ?", poll.SwitchID).Find(&[]Switch{}).Error; err != nil {
			return err
		}
		var meters []FacilityMeter
		if err := tx.Where("switch_id = ? AND id IN ?", poll.SwitchID, ids).Order("id").Find(&meters).Error; err != nil {
			return err
		}
		if len(meters) == 0 {
			return nil // removed meanwhile
		}
		var orgs []int64
		for _, m := range meters {
			if m.OrgID != nil && !slices.Contains(orgs, *m.OrgID) {
				orgs = append(orgs, *m.OrgID)
			}
		}
		slices.Sort(orgs)
		for _, id := range orgs {
			if err := forUpdate(tx).Select("id").Where("id = ?", id).Find(&[]Organization{}).Error; err != nil {
				return err
			}
		}
		byID := make(map[int64]int, len(meters))
		for i := range meters {
			byID[meters[i].ID] = i
		}
		readings := make([]FacilityReading, 0, len(poll.Values))
		for _, v := range poll.Values {
			if _, ok := byID[v.MeterID]; ok {
				readings = append(readings, FacilityReading{MeterID: v.MeterID, At: at, Milli: v.Milli})
			}
		}
		r := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&readings)
		if r.Error != nil {
			return r.Error
		}
		res.Stored = int(r.RowsAffected)
		if late && res.Stored > 0 {
			if err := s.rederiveLateFacility(tx, readings); err != nil {
				return err
			}
		}
		type cabinet struct {
			org  int64
			name string
		}
		var touched []cabinet
		for _, rd := range readings {
			m := &meters[byID[rd.MeterID]]
			if m.LastAt != nil && !at.After(m.LastAt.UTC()) {
				continue // older than (or the same slot as) the last reading
			}
			if err := s.meterReading(tx, m, rd.Milli, at, &res); err != nil {
				return fmt.Errorf("meter %d: %w", m.ID, err)
			}
			if m.OrgID != nil && (m.Feed == FeedA || m.Feed == FeedB) &&
				(m.Quantity == QuantityPower || m.Quantity == QuantityCurrent) {
				c := cabinet{*m.OrgID, m.Cabinet}
				if !slices.Contains(touched, c) {
					touched = append(touched, c)
				}
			}
		}
		for _, c := range touched {
			if err := s.cabinetFeeds(tx, c.org, c.name, at, &res); err != nil {
				return fmt.Errorf("cabinet %q of organization %d: %w", c.name, c.org, err)
			}
		}
		return nil
	}, readCommitted)
	return res, wrap(err, "record facility poll")
}

// meterReading moves meter m to its new value v at at: its last value
// and its threshold state.
func (s *Store) meterReading(tx *gorm.DB, m *FacilityMeter, v int64, at time.Time, res *FacilityPollResult) error {
	cols := map[string]any{"last_at": at, "last_milli": v}
	// The crossing going on, if any, ends when the value is back inside
	// by the hysteresis or its threshold is gone.
	if m.AlertState != "" {
		over := false
		switch m.AlertState {
		case AlertHigh:
			over = m.HighMilli == nil || v <= *m.HighMilli-Hysteresis(m.Quantity, *m.HighMilli)
		case AlertLow:
			over = m.LowMilli == nil || v >= *m.LowMilli+Hysteresis(m.Quantity, *m.LowMilli)
		}
		var a FacilityAlert
		err := tx.Where("meter_id = ? AND ended_at IS NULL", m.ID).Order("started_at DESC").Limit(1).Find(&a).Error
		if err != nil {
			return err
		}
		if a.ID != 0 {
			up := map[string]any{}
			if (a.Kind == AlertHigh && v > a.PeakMilli) || (a.Kind == AlertLow && v < a.PeakMilli) {
				up["peak_milli"] = v
			}
			if over {
				up["ended_at"] = at
			}
			if len(up) > 0 {
				if err := tx.Model(&FacilityAlert{}).Where("id = ?", a.ID).Updates(up).Error; err != nil {
					return err
				}
			}
		}
		if !over {
			return tx.Model(&FacilityMeter{}).Where("id = ?", m.ID).UpdateColumns(cols).Error
		}
		res.AlertsEnded++
		m.AlertState, m.AlertSince = "", nil
		cols["alert_state"], cols["alert_since"] = "", nil
	}
	kind, threshold := "", int64(0)
	switch {
	case m.HighMilli != nil && v > *m.HighMilli:
		kind, threshold = AlertHigh, *m.HighMilli
	case m.LowMilli != nil && v < *m.LowMilli:
		kind, threshold = AlertLow, *m.LowMilli
	}
	if kind != "" {
		a := FacilityAlert{MeterID: m.ID, OrgID: m.OrgID, Cabinet: m.Cabinet, Kind: kind, ValueMilli: v, PeakMilli: v,
			ThresholdMilli: threshold, StartedAt: at}
		if err := tx.Create(&a).Error; err != nil {
			return err
		}
		res.AlertsStarted++
		m.AlertState, m.AlertSince = kind, &at
		cols["alert_state"], cols["alert_since"] = kind, at
		if m.OrgID != nil {
			payload, err := json.Marshal(FacilityThreshold{MeterID: m.ID, Kind: kind, ValueMilli: v, ThresholdMilli: threshold, At: at})
			if err != nil {
				return err
			}
			if err := s.outbox(tx, EventFacilityThreshold, *m.OrgID, a.ID, string(payload)); err != nil {
				return err
			}
		}
	}
	m.LastAt, m.LastMilli = &at, &v
	return tx.Model(&FacilityMeter{}).Where("id = ?", m.ID).UpdateColumns(cols).Error
}

// feedMeter is a meter of a cabinet's feeds with its device's interval.
type feedMeter struct {
	ID          int64
	Quantity    string
	Feed        string
	LastAt      *time.Time
	LastMilli   *int64
	IntervalSec int
}

// cabinetFeeds applies the dual-feed rule to cabinet name of orgID after
// a poll at at.
func (s *Store) cabinetFeeds(tx *gorm.DB, orgID int64, name string, at time.Time, res *FacilityPollResult) error {
	var all []feedMeter
	err := tx.Table("facility_meters m").Select("m.id, m.quantity, m.feed, m.last_at, m.last_milli, w.interval_sec").
		Joins("JOIN switches w ON w.id = m.switch_id").
		Where("m.org_id = ? AND m.cabinet = ? AND m.feed IN ? AND m.quantity IN ?", orgID, name,
			[]string{FeedA, FeedB}, []string{QuantityPower, QuantityCurrent}).
		Order("m.id").Scan(&all).Error
	if err != nil {
		return err
	}
	// Power meters when there are some on both feeds, else current meters.
	var fm []feedMeter
	for _, q := range []string{QuantityPower, QuantityCurrent} {
		fm = fm[:0]
		a, b := false, false
		for _, m := range all {
			if m.Quantity == q {
				fm = append(fm, m)
				a, b = a || m.Feed == FeedA, b || m.Feed == FeedB
			}
		}
		if a && b {
			break
		}
		fm = nil
	}
	if len(fm) == 0 {
		return nil
	}
	allZero, anyPower := true, false
	for _, m := range fm {
		iv := time.Duration(max(m.IntervalSec, int(MinInterval/time.Second))) * time.Second
		recent := m.LastAt != nil && !m.LastAt.UTC().Before(at.Add(-zeroRecent*iv))
		if !recent || m.LastMilli == nil {
			allZero = false
			continue
		}
		if *m.LastMilli != 0 {
			allZero = false
			anyPower = true
		}
	}
	// The outage going on is a proposal not ended, whether staff decided
	// it already or not: a confirmed or dismissed one while the feeds
	// still read zero is the same outage, not a new one to propose.
	var open []PowerProposal
	if err := tx.Where("org_id = ? AND cabinet = ? AND ended_at IS NULL", orgID, name).
		Order("id").Find(&open).Error; err != nil {
		return err
	}
	switch {
	case anyPower && len(open) > 0:
		ids := make([]int64, len(open))
		for i, p := range open {
			ids[i] = p.ID
		}
		if err := tx.Model(&PowerProposal{}).Where("id IN ?", ids).
			UpdateColumns(map[string]any{"ended_at": at, "updated_at": s.now()}).Error; err != nil {
			return err
		}
		res.ProposalsEnded += len(open)
	case allZero && len(open) == 0:
		started, err := firstZeroSlot(tx, fm, at)
		if err != nil {
			return err
		}
		now := s.now()
		p := PowerProposal{Ref: newRef(), OrgID: orgID, Cabinet: name, State: ProposalOpen, StartedAt: started,
			CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&p).Error; err != nil {
			return err
		}
		res.Proposed++
		return s.outbox(tx, EventPowerProposed, orgID, p.ID, "")
	}
	return nil
}

// firstZeroSlot is the first slot from which every meter of fm has read
// zero (each meter's first zero reading after its last non-zero one; the
// latest of these), at most at.
func firstZeroSlot(tx *gorm.DB, fm []feedMeter, at time.Time) (time.Time, error) {
	started := time.Time{}
	for _, m := range fm {
		var lastPower []time.Time
		if err := tx.Model(&FacilityReading{}).Where("meter_id = ? AND milli <> 0 AND at <= ?", m.ID, at).
			Order("at DESC").Limit(1).Pluck("at", &lastPower).Error; err != nil {
			return at, err
		}
		q := tx.Model(&FacilityReading{}).Where("meter_id = ? AND milli = 0 AND at <= ?", m.ID, at)
		if len(lastPower) > 0 {
			q = q.Where("at > ?", lastPower[0])
		}
		var first []time.Time
		if err := q.Order("at").Limit(1).Pluck("at", &first).Error; err != nil {
			return at, err
		}
		if len(first) > 0 && first[0].After(started) {
			started = first[0]
		}
	}
	if started.IsZero() || started.After(at) {
		started = at
	}
	return started.UTC(), nil
}

// ImportFacilityReadings stores readings as they are (a slot stored
// already is skipped), without the meters' last values, thresholds or
// proposals: a past loaded in bulk (the demo's history). It returns how
// many were new. The janitor's rollups take them in as any others.
func (s *Store) ImportFacilityReadings(ctx context.Context, readings []FacilityReading) (int, error) {
	added := 0
	err := s.tx(ctx, func(tx *gorm.DB) error {
		added = 0
		for chunk := range chunksOf(readings, rowChunk) {
			for i := range chunk {
				chunk[i].At = chunk[i].At.UTC()
			}
			r := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&chunk)
			if r.Error != nil {
				return r.Error
			}
			added += int(r.RowsAffected)
		}
		return nil
	})
	return added, wrap(err, "import facility readings")
}
