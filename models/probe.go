package models

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ProbeResult is one probe of one check. (check_id, at) is unique, so a
// result written twice (a replayed spool, two instances) is stored once.
type ProbeResult struct {
	CheckID int64     `gorm:"primaryKey;autoIncrement:false"`
	At      time.Time `gorm:"primaryKey"`
	OK      bool      `gorm:"column:ok"`
	RTTus   int       `gorm:"column:rtt_us"` // round trip in microseconds; 0 when failed
	Reason  string    // short failure reason: timeout, refused, bad_status, …
}

func (ProbeResult) TableName() string { return "probe_results" }

// Failure reasons a probe records.
const (
	ReasonTimeout     = "timeout"
	ReasonRefused     = "refused"
	ReasonUnreachable = "unreachable"
	ReasonDNS         = "dns"
	ReasonBadStatus   = "bad_status"
	ReasonKeyword     = "keyword_missing"
	ReasonBadBanner   = "bad_banner"
	ReasonTLS         = "tls_error"
	ReasonProtocol    = "protocol_error"
	ReasonError       = "error"
)

// Rollup aggregates the probes of a check over an hour ("h") or a day ("d").
type Rollup struct {
	CheckID  int64     `gorm:"primaryKey;autoIncrement:false"`
	Period   string    `gorm:"primaryKey"`
	Start    time.Time `gorm:"primaryKey"`
	Probes   int
	Failures int
	RTTCount int   `gorm:"column:rtt_count"`
	RTTSumUs int64 `gorm:"column:rtt_sum_us"`
	RTTMinUs int   `gorm:"column:rtt_min_us"`
	RTTMaxUs int   `gorm:"column:rtt_max_us"`
	// RTTMedUs is the median, filled in once the period is over.
	RTTMedUs int `gorm:"column:rtt_med_us"`
}

func (Rollup) TableName() string { return "rollups" }

// Loss is the share of failed probes, 0..1.
func (r *Rollup) Loss() float64 {
	if r.Probes == 0 {
		return 0
	}
	return float64(r.Failures) / float64(r.Probes)
}

// AvgUs is the mean round trip of the successful probes.
func (r *Rollup) AvgUs() int {
	if r.RTTCount == 0 {
		return 0
	}
	return int(r.RTTSumUs / int64(r.RTTCount))
}

// Cause is why an outage happened, set by an engineer. It decides whether
// the downtime counts against the provider (docs/agreement.md §1 and §10).
type Cause string

const (
	CauseUnknown             Cause = "unknown"
	CauseProviderNetwork     Cause = "provider_network"
	CauseProviderPower       Cause = "provider_power"
	CauseCustomerEquipment   Cause = "customer_equipment"
	CauseCustomerApplication Cause = "customer_application"
	CauseCustomerMaintenance Cause = "customer_maintenance"
	CauseCustomerOperation   Cause = "customer_operation"
	CauseFMNatural           Cause = "fm_natural_disaster"
	CauseFMPublic            Cause = "fm_war_strike_public_power"
	CauseFMGovernment        Cause = "fm_government_action"
	CauseFMAttack            Cause = "fm_third_party_attack"
)

// Causes lists every cause in display order.
var Causes = []Cause{CauseUnknown, CauseProviderNetwork, CauseProviderPower, CauseCustomerEquipment,
	CauseCustomerApplication, CauseCustomerMaintenance, CauseCustomerOperation, CauseFMNatural, CauseFMPublic,
	CauseFMGovernment, CauseFMAttack}

// CountsAgainstProvider reports whether downtime of this cause counts in
// the availability the agreement guarantees. An unclassified outage counts:
// exclusions must be shown, not assumed.
func (c Cause) CountsAgainstProvider() bool {
	return c == CauseUnknown || c == CauseProviderNetwork || c == CauseProviderPower || c == ""
}

// ForceMajeure reports a force-majeure cause (clause 10).
func (c Cause) ForceMajeure() bool { return strings.HasPrefix(string(c), "fm_") }

// WholeOutage reports a cause an engineer may give a whole outage; the
// customer's operation is given only to the authorized work's span, from
// the operation's page (docs/agreement.md §1).
func (c Cause) WholeOutage() bool { return c != CauseCustomerOperation }

// Outage is a confirmed unavailability of one check, dated from its first
// failed probe.
type Outage struct {
	ID          int64
	CheckID     int64
	DeviceID    int64
	OrgID       int64
	StartedAt   time.Time // the first failed probe
	ConfirmedAt time.Time // the probe that reached the threshold
	EndedAt     *time.Time
	Cause       Cause
	CauseNote   string
	CauseSetBy  *int64
	Failures    int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (Outage) TableName() string { return "outages" }

// OutageProbe is a failed probe kept as evidence of an outage for as long
// as the outage is kept, after raw results are gone.
type OutageProbe struct {
	OutageID int64     `gorm:"primaryKey;autoIncrement:false"`
	At       time.Time `gorm:"primaryKey"`
	Reason   string
}

func (OutageProbe) TableName() string { return "outage_probes" }

// maxEvidence bounds the probes kept per outage; the count stays exact.
const maxEvidence = 500

// OutboxEvent is something that happened for the notifier to send, written
// in the same transaction as the change it reports.
type OutboxEvent struct {
	ID         int64
	Kind       string
	OrgID      int64
	RefID      int64
	Payload    string
	CreatedAt  time.Time
	LeaseOwner string
	LeaseUntil time.Time
	Attempts   int
	DoneAt     *time.Time
}

func (OutboxEvent) TableName() string { return "outbox" }

// Outbox event kinds.
const (
	EventOutageOpened = "outage.opened"
	EventOutageClosed = "outage.closed"
)

// ReleaseChecks gives up owner's leases and its place among the live
// instances, so that the others take the checks at once (a clean shutdown).
func (s *Store) ReleaseChecks(ctx context.Context, owner string) error {
	db := s.db.WithContext(ctx)
	// One statement, so that a stop under load gets it done in time; at
	// READ COMMITTED it passes over other instances' rows (see leaseWrite).
	if err := s.leaseWrite(ctx, func(tx *gorm.DB) error {
		return tx.Model(&Check{}).Where("lease_owner = ?", owner).
			UpdateColumns(map[string]any{"lease_owner": "", "lease_until": neverLeased}).Error
	}); err != nil {
		return wrap(err, "release checks")
	}
	return wrap(db.Where("id = ?", owner).Delete(&ProberInstance{}).Error, "release checks")
}

// RecordResults stores a batch of probe results in one transaction: new
// results, the rollups they add to, the state of their checks, and the
// outages (with their outbox events) they open or close. Results already
// stored are skipped, so replaying a batch changes nothing.
//
// The live path costs four statements whatever the batch size: read the
// checks, insert the results, upsert the rollups, update the checks. Only
// results no newer than their check's last one (replays, late arrivals)
// cost a fifth, to find which are stored already.
func (s *Store) RecordResults(ctx context.Context, results []ProbeResult) (int, error) {
	if len(results) == 0 {
		return 0, nil
	}
	for i := range results {
		results[i].At = results[i].At.UTC().Truncate(time.Microsecond)
	}
	var inserted int
	err := s.tx(ctx, func(tx *gorm.DB) error {
		inserted = 0
		ids := make([]int64, 0)
		seenID := map[int64]bool{}
		for _, r := range results {
			if !seenID[r.CheckID] {
				seenID[r.CheckID] = true
				ids = append(ids, r.CheckID)
			}
		}
		var checks []Check
		if err := tx.Where("id IN ?", ids).Find(&checks).Error; err != nil {
			return err
		}
		byID := make(map[int64]*Check, len(checks))
		for i := range checks {
			byID[checks[i].ID] = &checks[i]
		}
		fresh, err := s.newResults(tx, results, byID)
		if err != nil {
			return err
		}
		if len(fresh) == 0 {
			return nil
		}
		if err := tx.CreateInBatches(fresh, 1000).Error; err != nil {
			return fmt.Errorf("insert results: %w", err)
		}
		inserted = len(fresh)
		if err := s.addToRollups(tx, fresh); err != nil {
			return fmt.Errorf("rollups: %w", err)
		}
		return s.advanceChecks(tx, byID, fresh)
	})
	if err != nil {
		return 0, fmt.Errorf("models: record results: %w", err)
	}
	return inserted, nil
}

type resultKey struct {
	check int64
	at    int64
}

// newResults keeps the results of known checks that are not stored yet and
// not repeated within the batch. Only results no newer than their check's
// last result can be stored already, so only they are looked up.
func (s *Store) newResults(tx *gorm.DB, results []ProbeResult, checks map[int64]*Check) ([]ProbeResult, error) {
	seen := map[resultKey]bool{}
	var suspect []ProbeResult
	for _, r := range results {
		if c := checks[r.CheckID]; c != nil && c.LastAt != nil && !r.At.After(*c.LastAt) {
			suspect = append(suspect, r)
		}
	}
	if len(suspect) > 0 {
		ids := map[int64]bool{}
		var idList []int64
		minAt, maxAt := suspect[0].At, suspect[0].At
		for _, r := range suspect {
			if !ids[r.CheckID] {
				ids[r.CheckID] = true
				idList = append(idList, r.CheckID)
			}
			if r.At.Before(minAt) {
				minAt = r.At
			}
			if r.At.After(maxAt) {
				maxAt = r.At
			}
		}
		var existing []ProbeResult
		if err := tx.Select("check_id", "at").Where("check_id IN ? AND at >= ? AND at <= ?", idList, minAt, maxAt).
			Find(&existing).Error; err != nil {
			return nil, err
		}
		for _, e := range existing {
			seen[resultKey{e.CheckID, e.At.UnixMicro()}] = true
		}
	}
	fresh := make([]ProbeResult, 0, len(results))
	for _, r := range results {
		k := resultKey{r.CheckID, r.At.UnixMicro()}
		if checks[r.CheckID] == nil || seen[k] {
			continue // a deleted check's result, or one stored already
		}
		seen[k] = true
		fresh = append(fresh, r)
	}
	return fresh, nil
}

func (s *Store) addToRollups(tx *gorm.DB, results []ProbeResult) error {
	type rollKey struct {
		check  int64
		period string
		start  int64
	}
	agg := map[rollKey]*Rollup{}
	var keys []rollKey
	for _, r := range results {
		hour := r.At.Truncate(time.Hour)
		day := time.Date(r.At.Year(), r.At.Month(), r.At.Day(), 0, 0, 0, 0, time.UTC)
		for _, p := range []struct {
			period string
			start  time.Time
		}{{"h", hour}, {"d", day}} {
			k := rollKey{r.CheckID, p.period, p.start.Unix()}
			ru := agg[k]
			if ru == nil {
				ru = &Rollup{CheckID: r.CheckID, Period: p.period, Start: p.start}
				agg[k] = ru
				keys = append(keys, k)
			}
			ru.Probes++
			if !r.OK {
				ru.Failures++
				continue
			}
			if ru.RTTCount == 0 || r.RTTus < ru.RTTMinUs {
				ru.RTTMinUs = r.RTTus
			}
			ru.RTTMaxUs = max(ru.RTTMaxUs, r.RTTus)
			ru.RTTCount++
			ru.RTTSumUs += int64(r.RTTus)
		}
	}
	rows := make([]Rollup, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, *agg[k])
	}
	return s.upsertRollups(tx, rows, 1000)
}

// upsertRollups adds rows to the rollups, many rows per statement: a rollup
// already there takes their probes, failures and round trips in (a row's
// median is kept only where the rollup is new).
func (s *Store) upsertRollups(tx *gorm.DB, rows []Rollup, batch int) error {
	least, greatest, excluded := "MIN", "MAX", func(c string) string { return "excluded." + c }
	if dialectOf(s.db) == MySQL {
		least, greatest, excluded = "LEAST", "GREATEST", func(c string) string { return "VALUES(" + c + ")" }
	}
	// rtt_min of a side with no successful probe is 0: take the other side
	// then, not the smaller. It comes first because MySQL applies the
	// assignments in order and later ones see earlier results.
	minExpr := fmt.Sprintf("CASE WHEN rollups.rtt_count = 0 THEN %[2]s WHEN %[3]s = 0 THEN rollups.rtt_min_us ELSE %[1]s(rollups.rtt_min_us, %[2]s) END",
		least, excluded("rtt_min_us"), excluded("rtt_count"))
	return tx.Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "check_id"}, {Name: "period"}, {Name: "start"}},
		DoUpdates: clause.Set{
			{Column: clause.Column{Name: "rtt_min_us"}, Value: gorm.Expr(minExpr)},
			{Column: clause.Column{Name: "probes"}, Value: gorm.Expr("rollups.probes + " + excluded("probes"))},
			{Column: clause.Column{Name: "failures"}, Value: gorm.Expr("rollups.failures + " + excluded("failures"))},
			{Column: clause.Column{Name: "rtt_count"}, Value: gorm.Expr("rollups.rtt_count + " + excluded("rtt_count"))},
			{Column: clause.Column{Name: "rtt_sum_us"}, Value: gorm.Expr("rollups.rtt_sum_us + " + excluded("rtt_sum_us"))},
			{Column: clause.Column{Name: "rtt_max_us"}, Value: gorm.Expr(greatest + "(rollups.rtt_max_us, " + excluded("rtt_max_us") + ")")},
		},
	}).CreateInBatches(rows, batch).Error
}

// advanceChecks runs each check's state machine over its new results in
// time order: N consecutive failures open an outage dated from the first,
// the first success closes it.
func (s *Store) advanceChecks(tx *gorm.DB, checks map[int64]*Check, results []ProbeResult) error {
	byCheck := map[int64][]ProbeResult{}
	var ids []int64
	for _, r := range results {
		if _, ok := byCheck[r.CheckID]; !ok {
			ids = append(ids, r.CheckID)
		}
		byCheck[r.CheckID] = append(byCheck[r.CheckID], r)
	}
	now := s.now()
	changed := make([]*Check, 0, len(ids))
	for _, id := range ids {
		c := checks[id]
		changed = append(changed, c)
		rs := byCheck[c.ID]
		sort.Slice(rs, func(a, b int) bool { return rs[a].At.Before(rs[b].At) })
		var evidence []OutageProbe
		for _, r := range rs {
			if c.LastAt != nil && !r.At.After(*c.LastAt) {
				continue // an old result replayed late: stored, but history has moved on
			}
			at := r.At
			c.LastAt, c.LastOK, c.LastRTTus, c.LastReason = &at, r.OK, r.RTTus, r.Reason
			if r.OK {
				if c.OpenOutageID != nil {
					if err := s.closeOutage(tx, c, at, len(evidence), evidence); err != nil {
						return err
					}
					evidence = nil
				}
				c.ConsecFails, c.FailSince, c.Status = 0, nil, StatusUp
				continue
			}
			c.ConsecFails++
			if c.FailSince == nil {
				c.FailSince = &at
			}
			if c.OpenOutageID != nil {
				evidence = append(evidence, OutageProbe{OutageID: *c.OpenOutageID, At: at, Reason: r.Reason})
				continue
			}
			threshold := max(c.FailThreshold, 1)
			if c.ConsecFails >= threshold {
				if err := s.openOutage(tx, c, at, now); err != nil {
					return err
				}
				c.Status = StatusDown
			}
		}
		if c.OpenOutageID != nil && len(evidence) > 0 {
			if err := s.addEvidence(tx, *c.OpenOutageID, evidence); err != nil {
				return err
			}
			if err := tx.Model(&Outage{}).Where("id = ?", *c.OpenOutageID).Update("failures", c.ConsecFails).Error; err != nil {
				return err
			}
		}
	}
	return s.writeCheckStates(tx, changed)
}

// writeCheckStates stores the state of many checks in a few statements: an
// UPDATE joined to a derived table of the new values, 200 checks at a time.
// Its cost grows with the number of checks, where one CASE per column
// would grow with its square.
func (s *Store) writeCheckStates(tx *gorm.DB, checks []*Check) error {
	cols := []string{"status", "consec_fails", "fail_since", "last_at", "last_ok", "last_rtt_us", "last_reason", "open_outage_id"}
	row := func(c *Check) []any {
		return []any{c.ID, c.Status, c.ConsecFails, c.FailSince, c.LastAt, c.LastOK, c.LastRTTus, c.LastReason, c.OpenOutageID}
	}
	now := s.now()
	// In key order, as every statement that changes checks rows takes
	// them (lease renewals by an IN list on the key): two transactions that
	// lock rows in one order wait for each other, never in a cycle.
	sort.Slice(checks, func(i, j int) bool { return checks[i].ID < checks[j].ID })
	for len(checks) > 0 {
		chunk := checks[:min(200, len(checks))]
		checks = checks[len(chunk):]
		var sb strings.Builder
		args := make([]any, 0, len(chunk)*(len(cols)+1)+1)
		if dialectOf(s.db) == MySQL {
			// MySQL and MariaDB: UPDATE … JOIN (SELECT … UNION ALL …).
			sb.WriteString("UPDATE checks JOIN (")
			for i, c := range chunk {
				if i == 0 {
					sb.WriteString("SELECT ? AS id")
					for _, col := range cols {
						sb.WriteString(", ? AS " + col)
					}
				} else {
					sb.WriteString(" UNION ALL SELECT ?" + strings.Repeat(", ?", len(cols)))
				}
				args = append(args, row(c)...)
			}
			sb.WriteString(") AS v ON checks.id = v.id SET ")
			for _, col := range cols {
				sb.WriteString("checks." + col + " = v." + col + ", ")
			}
			sb.WriteString("checks.updated_at = ?")
			args = append(args, now)
		} else {
			// SQLite: UPDATE … FROM (VALUES …), columns named column1….
			sb.WriteString("UPDATE checks SET ")
			for i, col := range cols {
				fmt.Fprintf(&sb, "%s = v.column%d, ", col, i+2)
			}
			sb.WriteString("updated_at = ? FROM (VALUES ")
			args = append(args, now)
			ph := "(?" + strings.Repeat(", ?", len(cols)) + ")"
			for i, c := range chunk {
				if i > 0 {
					sb.WriteString(", ")
				}
				sb.WriteString(ph)
				args = append(args, row(c)...)
			}
			sb.WriteString(") AS v WHERE checks.id = v.column1")
		}
		if err := tx.Exec(sb.String(), args...).Error; err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) openOutage(tx *gorm.DB, c *Check, confirmedAt, now time.Time) error {
	o := &Outage{CheckID: c.ID, DeviceID: c.DeviceID, OrgID: c.OrgID, StartedAt: *c.FailSince,
		ConfirmedAt: confirmedAt, Cause: CauseUnknown, Failures: c.ConsecFails}
	if err := tx.Create(o).Error; err != nil {
		return err
	}
	c.OpenOutageID = &o.ID
	// The failures that led to it are its first evidence.
	var failed []ProbeResult
	if err := tx.Where("check_id = ? AND at >= ? AND at <= ? AND ok = ?", c.ID, o.StartedAt, confirmedAt, false).
		Order("at").Limit(maxEvidence).Find(&failed).Error; err != nil {
		return err
	}
	ev := make([]OutageProbe, len(failed))
	for i, f := range failed {
		ev[i] = OutageProbe{OutageID: o.ID, At: f.At, Reason: f.Reason}
	}
	if err := s.addEvidence(tx, o.ID, ev); err != nil {
		return err
	}
	// The confirmation starts the 15-minute emergency-notice clock.
	if err := s.startClock(tx, ClockEmergencyNotice, o.OrgID, o.ID, confirmedAt, EmergencyDeadline); err != nil {
		return err
	}
	return s.enqueue(tx, EventOutageOpened, o)
}

func (s *Store) closeOutage(tx *gorm.DB, c *Check, at time.Time, more int, evidence []OutageProbe) error {
	id := *c.OpenOutageID
	if err := s.addEvidence(tx, id, evidence); err != nil {
		return err
	}
	var o Outage
	if err := tx.First(&o, id).Error; err != nil {
		return err
	}
	o.EndedAt = &at
	o.Failures = c.ConsecFails
	if err := tx.Model(&o).Select("ended_at", "failures").Updates(&o).Error; err != nil {
		return err
	}
	c.OpenOutageID = nil
	return s.enqueue(tx, EventOutageClosed, &o)
}

func (s *Store) addEvidence(tx *gorm.DB, outageID int64, ev []OutageProbe) error {
	if len(ev) == 0 {
		return nil
	}
	var n int64
	if err := tx.Model(&OutageProbe{}).Where("outage_id = ?", outageID).Count(&n).Error; err != nil {
		return err
	}
	room := maxEvidence - int(n)
	if room <= 0 {
		return nil
	}
	if len(ev) > room {
		ev = ev[:room]
	}
	return tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&ev).Error
}

func (s *Store) enqueue(tx *gorm.DB, kind string, o *Outage) error {
	payload := fmt.Sprintf(`{"outage_id":%d,"check_id":%d,"device_id":%d,"started_at":%q}`,
		o.ID, o.CheckID, o.DeviceID, o.StartedAt.Format(time.RFC3339))
	return s.outbox(tx, kind, o.OrgID, o.ID, payload)
}

// outbox writes an event for the notifier in the caller's transaction.
func (s *Store) outbox(tx *gorm.DB, kind string, orgID, refID int64, payload string) error {
	return tx.Create(&OutboxEvent{Kind: kind, OrgID: orgID, RefID: refID, Payload: payload, CreatedAt: s.now(),
		LeaseUntil: neverLeased}).Error
}

// ListOutages lists the newest outages of a device of organization orgID.
func (s *Store) ListOutages(ctx context.Context, sc Scope, orgID, deviceID int64, limit int) ([]Outage, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "list outages")
	}
	var os []Outage
	err := s.db.WithContext(ctx).Where("org_id = ? AND device_id = ?", orgID, deviceID).
		Order("started_at DESC").Limit(limit).Find(&os).Error
	return os, wrap(err, "list outages")
}

// OutageEvidence returns the failed probes behind an outage of orgID.
func (s *Store) OutageEvidence(ctx context.Context, sc Scope, orgID, outageID int64) ([]OutageProbe, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "outage evidence")
	}
	var o Outage
	if err := s.db.WithContext(ctx).Where("org_id = ? AND id = ?", orgID, outageID).First(&o).Error; err != nil {
		return nil, wrap(notFound(err), "outage evidence")
	}
	var ev []OutageProbe
	err := s.db.WithContext(ctx).Where("outage_id = ?", o.ID).Order("at").Find(&ev).Error
	return ev, wrap(err, "outage evidence")
}

// OutageEvidencePage is one page of an outage's evidence, newest first:
// at most limit probes after skipping offset, with the count of them all.
func (s *Store) OutageEvidencePage(ctx context.Context, sc Scope, orgID, outageID int64, offset, limit int) ([]OutageProbe, int64, error) {
	if !sc.Allows(orgID) {
		return nil, 0, wrap(ErrNotFound, "outage evidence page")
	}
	var o Outage
	if err := s.db.WithContext(ctx).Where("org_id = ? AND id = ?", orgID, outageID).First(&o).Error; err != nil {
		return nil, 0, wrap(notFound(err), "outage evidence page")
	}
	var total int64
	if err := s.db.WithContext(ctx).Model(&OutageProbe{}).Where("outage_id = ?", o.ID).Count(&total).Error; err != nil {
		return nil, 0, wrap(err, "outage evidence page")
	}
	var ev []OutageProbe
	err := s.db.WithContext(ctx).Where("outage_id = ?", o.ID).Order("at DESC").Offset(offset).Limit(limit).Find(&ev).Error
	return ev, total, wrap(err, "outage evidence page")
}

// OutboxKinds lists the kinds of an organization's outbox events, oldest
// first (the notifier of a later release reads the rows themselves).
func (s *Store) OutboxKinds(ctx context.Context, sc Scope, orgID int64) ([]string, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "outbox kinds")
	}
	var ks []string
	err := s.db.WithContext(ctx).Model(&OutboxEvent{}).Where("org_id = ?", orgID).Order("id").Pluck("kind", &ks).Error
	return ks, wrap(err, "outbox kinds")
}

// Rollups returns the rollups of a check of orgID in [from, to), oldest first.
func (s *Store) Rollups(ctx context.Context, sc Scope, orgID, checkID int64, period string, from, to time.Time) ([]Rollup, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "rollups")
	}
	utc(&from, &to)
	var rs []Rollup
	err := s.db.WithContext(ctx).Joins("JOIN checks ON checks.id = rollups.check_id AND checks.org_id = ?", orgID).
		Where("rollups.check_id = ? AND rollups.period = ? AND rollups.start >= ? AND rollups.start < ?", checkID, period, from, to).
		Order("rollups.start").Find(&rs).Error
	return rs, wrap(err, "rollups")
}

// Results returns the raw results of a check of orgID in [from, to), oldest first.
func (s *Store) Results(ctx context.Context, sc Scope, orgID, checkID int64, from, to time.Time) ([]ProbeResult, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "results")
	}
	utc(&from, &to)
	var rs []ProbeResult
	err := s.db.WithContext(ctx).Joins("JOIN checks ON checks.id = probe_results.check_id AND checks.org_id = ?", orgID).
		Where("probe_results.check_id = ? AND probe_results.at >= ? AND probe_results.at < ?", checkID, from, to).
		Order("probe_results.at").Find(&rs).Error
	return rs, wrap(err, "results")
}
