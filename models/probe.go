package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
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
	// Reason is the short failure reason: timeout, refused, bad_status, …
	// It is stored as ReasonCode (probe_reasons names the codes);
	// RecordResults sets the code, Results the name.
	Reason     string `gorm:"-"`
	ReasonCode int16  `gorm:"column:reason"`
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
// results, the state of the checks they change, and the outages (with
// their outbox events) they open or close. Results already stored are
// skipped, so replaying a batch changes nothing. Rollups are not written
// here: the janitor builds those of finished hours and days from the raw
// results (BuildRollups), and Rollups counts the rest on read. Only a
// result that arrives after its hour or day was built (a spool replayed
// long after) is added to that rollup here.
//
// The live path costs two statements per batch of up to a thousand
// checks and resultsPerInsert results: read the checks' state (with each
// one's newest stored result), insert the results. A check is written
// only when its state changes (a failure, a recovery, an outage); only
// then are webhook events gathered, and written for the organizations
// whose endpoints want them (flushHooks: one more statement).
func (s *Store) RecordResults(ctx context.Context, results []ProbeResult) (int, error) {
	if len(results) == 0 {
		return 0, nil
	}
	for i := range results {
		results[i].At = results[i].At.UTC().Truncate(time.Microsecond)
		code, err := s.reasons.code(s.db.WithContext(ctx), results[i].Reason)
		if err != nil {
			return 0, fmt.Errorf("models: record results: %w", err)
		}
		results[i].ReasonCode = code
	}
	var inserted int
	var err error
	// careful is set after another writer stored some of the same new
	// results at the same moment (two instances, or a replay racing the
	// live write): the next run looks up which are stored, under lock.
	for careful := false; ; careful = true {
		err = s.tx(ctx, func(tx *gorm.DB) error {
			var err error
			inserted, err = s.recordResults(tx, results, careful)
			return err
		})
		if !errors.Is(err, errResultsRaced) || careful {
			break
		}
	}
	if err != nil {
		return 0, fmt.Errorf("models: record results: %w", err)
	}
	return inserted, nil
}

// errResultsRaced says that fewer new results went in than were new when
// the transaction looked: another writer stored some of them meanwhile.
var errResultsRaced = errors.New("results stored by another writer meanwhile")

// resultsPerInsert bounds the rows of one INSERT of results (one bound
// value each, see insertResults). Smaller statements cost less CPU per row
// on SQLite, whose pure-Go driver binds values in time that grows with the
// square of their number per statement, but more statements: 200 costs
// 9% more CPU per row than 50 and a quarter of the statements
// (BenchmarkRecordResults, docs/benchmarks.md). A variable for the
// benchmark.
var resultsPerInsert = 200

// lateResult is how old a result must be to perhaps fall in an hour or
// day the janitor built already (it waits rollupGrace past the period's
// end; the margin covers clocks of instances a little apart).
const lateResult = rollupGrace / 2

func (s *Store) recordResults(tx *gorm.DB, results []ProbeResult, careful bool) (int, error) {
	ids := make([]int64, 0)
	seenID := map[int64]bool{}
	failing := map[int64]bool{}
	for _, r := range results {
		if !seenID[r.CheckID] {
			seenID[r.CheckID] = true
			ids = append(ids, r.CheckID)
		}
		if !r.OK {
			failing[r.CheckID] = true
		}
	}
	byID, steady, err := s.checkStates(tx, ids, failing)
	if err != nil {
		return 0, err
	}
	// Results newer than their check's newest stored one are new, unless
	// another writer races this one (careful, and errResultsRaced below);
	// the others may be stored already.
	var fresh, old []ProbeResult
	seen := map[resultKey]bool{}
	late := false
	lateBefore := s.now().Add(-lateResult)
	for _, r := range results {
		c := byID[r.CheckID]
		k := resultKey{r.CheckID, r.At.UnixMicro()}
		if c == nil || seen[k] {
			continue // a deleted check's result, or one twice in the batch
		}
		seen[k] = true
		if !careful && !steady[r.CheckID] && (c.LastAt == nil || r.At.After(*c.LastAt)) {
			fresh = append(fresh, r)
		} else {
			old = append(old, r)
		}
		late = late || r.At.Before(lateBefore)
	}
	var built rollupMarks
	if late {
		if built, err = s.readMarks(tx, true); err != nil {
			return 0, err
		}
	}
	// Old results that may be stored already are looked up when it
	// matters which are new: a state to advance (careful) or a rollup
	// built already to add them to. The rest go in if not stored.
	var lookup, rest, known []ProbeResult
	for _, r := range old {
		if careful || built.covers(r) {
			lookup = append(lookup, r)
		} else {
			rest = append(rest, r)
		}
	}
	if len(lookup) > 0 {
		stored, err := s.storedResults(tx, lookup, careful)
		if err != nil {
			return 0, err
		}
		for _, r := range lookup {
			switch c := byID[r.CheckID]; {
			case stored[resultKey{r.CheckID, r.At.UnixMicro()}]:
			case c.LastAt == nil || r.At.After(*c.LastAt):
				fresh = append(fresh, r)
			default:
				known = append(known, r)
			}
		}
	}
	// Results known to be new must all go in; the rest, if not stored.
	inserted := 0
	for i, rs := range [][]ProbeResult{fresh, known, rest} {
		n, err := s.insertResults(tx, rs)
		if err != nil {
			return 0, fmt.Errorf("insert results: %w", err)
		}
		if i < 2 && n != len(rs) {
			return 0, errResultsRaced
		}
		inserted += n
	}
	// Results in periods built already: their rollups take them in.
	var toRollups []ProbeResult
	for _, rs := range [][]ProbeResult{fresh, known} {
		for _, r := range rs {
			if built.covers(r) {
				toRollups = append(toRollups, r)
			}
		}
	}
	if len(toRollups) > 0 {
		if err := s.addToRollups(tx, toRollups, built); err != nil {
			return 0, fmt.Errorf("rollups: %w", err)
		}
	}
	return inserted, s.advanceChecks(tx, byID, fresh)
}

// checkStates reads the state of checks ids, with the newest result each
// has stored: the check's last result is that one (or the one it kept,
// checks.last_at, if newer, or no result is left). A check that is up
// with no failure counted and none among its results in this batch
// (failing) is steady: its results change nothing in its state whatever
// their order, so its newest result is not looked up (its LastAt is what
// its row keeps).
func (s *Store) checkStates(tx *gorm.DB, ids []int64, failing map[int64]bool) (map[int64]*Check, map[int64]bool, error) {
	byID := make(map[int64]*Check, len(ids))
	steady := map[int64]bool{}
	for chunk := range chunks(ids) {
		var fails []int64
		for _, id := range chunk {
			if failing[id] {
				fails = append(fails, id)
			}
		}
		notFailing := ""
		if len(fails) > 0 {
			notFailing = " AND c.id NOT IN (" + intList(fails) + ")"
		}
		// The IDs are written into the statement (see insertResults), the
		// rows scanned by hand: gorm's reflection cost as much as the query.
		rows, err := tx.Statement.ConnPool.QueryContext(tx.Statement.Context, `SELECT c.id, c.device_id, c.org_id, c.fail_threshold, c.kind, c.enabled,
			c.status, c.consec_fails, c.fail_since, c.open_outage_id, c.last_at,
			CASE WHEN c.status = '`+StatusUp+`' AND c.consec_fails = 0 AND c.open_outage_id IS NULL`+notFailing+` THEN NULL
				ELSE (SELECT MAX(at) FROM probe_results WHERE check_id = c.id) END
			FROM checks c WHERE c.id IN (`+intList(chunk)+`)`)
		if err != nil {
			return nil, nil, err
		}
		for rows.Next() {
			c := &Check{}
			var failSince, lastAt sql.NullTime
			var latest any
			var outage sql.NullInt64
			if err := rows.Scan(&c.ID, &c.DeviceID, &c.OrgID, &c.FailThreshold, &c.Kind, &c.Enabled, &c.Status, &c.ConsecFails, &failSince,
				&outage, &lastAt, &latest); err != nil {
				rows.Close()
				return nil, nil, err
			}
			if failSince.Valid {
				c.FailSince = utcPtr(&failSince.Time)
			}
			if outage.Valid {
				c.OpenOutageID = &outage.Int64
			}
			if lastAt.Valid {
				c.LastAt = utcPtr(&lastAt.Time)
			}
			if latest == nil {
				steady[c.ID] = c.Status == StatusUp && c.ConsecFails == 0 && c.OpenOutageID == nil && !failing[c.ID]
			} else {
				at, err := storedTime(latest)
				if err != nil {
					rows.Close()
					return nil, nil, err
				}
				if c.LastAt == nil || at.After(*c.LastAt) {
					c.LastAt = &at
				}
			}
			byID[c.ID] = c
		}
		if err := rows.Close(); err != nil {
			return nil, nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, nil, err
		}
	}
	return byID, steady, nil
}

// storedTime reads a time an expression returned: MySQL gives a
// time.Time, SQLite the text its driver stored (it knows a column's type,
// not an expression's).
func storedTime(v any) (time.Time, error) {
	switch t := v.(type) {
	case time.Time:
		return t.UTC(), nil
	case []byte:
		return storedTime(string(t))
	case string:
		for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05.999999999"} {
			if at, err := time.Parse(layout, t); err == nil {
				return at.UTC(), nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("a time stored as %T %v", v, v)
}

// storedResults says which of rs are stored, by (check, time); under a
// shared lock on MySQL when lock is set, so no other writer stores one of
// them until this transaction ends.
func (s *Store) storedResults(tx *gorm.DB, rs []ProbeResult, lock bool) (map[resultKey]bool, error) {
	byCheck := map[int64][]ProbeResult{}
	var ids []int64
	for _, r := range rs {
		if _, ok := byCheck[r.CheckID]; !ok {
			ids = append(ids, r.CheckID)
		}
		byCheck[r.CheckID] = append(byCheck[r.CheckID], r)
	}
	stored := map[resultKey]bool{}
	for chunk := range chunks(ids) {
		minAt, maxAt := byCheck[chunk[0]][0].At, byCheck[chunk[0]][0].At
		for _, id := range chunk {
			for _, r := range byCheck[id] {
				if r.At.Before(minAt) {
					minAt = r.At
				}
				if r.At.After(maxAt) {
					maxAt = r.At
				}
			}
		}
		q := tx.Model(&ProbeResult{}).Select("check_id", "at").Where("check_id IN ? AND at >= ? AND at <= ?", chunk, minAt, maxAt)
		if lock && dialectOf(tx) == MySQL {
			q = q.Clauses(clause.Locking{Strength: "SHARE"})
		}
		var existing []ProbeResult
		if err := q.Find(&existing).Error; err != nil {
			return nil, err
		}
		for _, e := range existing {
			stored[resultKey{e.CheckID, e.At.UnixMicro()}] = true
		}
	}
	return stored, nil
}

// insertResults inserts rs, resultsPerInsert rows a statement, skipping
// any stored already; it returns how many went in.
func (s *Store) insertResults(tx *gorm.DB, rs []ProbeResult) (int, error) {
	if len(rs) == 0 {
		return 0, nil
	}
	head, tail := "INSERT INTO probe_results (check_id, at, ok, rtt_us, reason) VALUES ", " ON CONFLICT DO NOTHING"
	if dialectOf(tx) == MySQL {
		head, tail = "INSERT IGNORE INTO probe_results (check_id, at, ok, rtt_us, reason) VALUES ", ""
	}
	// The integers are written into the statement and only the times are
	// bound: the SQLite driver's binding grows with the square of the
	// values bound per statement, and a number needs no quoting. The
	// statement goes to the transaction's connection as it is (gorm would
	// parse it for its placeholders first).
	var n int64
	var q strings.Builder
	args := make([]any, 0, min(len(rs), resultsPerInsert))
	for len(rs) > 0 {
		chunk := rs[:min(len(rs), resultsPerInsert)]
		rs = rs[len(chunk):]
		args = args[:0]
		q.Reset()
		q.WriteString(head)
		for i, r := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			ok := 0
			if r.OK {
				ok = 1
			}
			fmt.Fprintf(&q, "(%d, ?, %d, %d, %d)", r.CheckID, ok, r.RTTus, r.ReasonCode)
			args = append(args, r.At)
		}
		q.WriteString(tail)
		res, err := tx.Statement.ConnPool.ExecContext(tx.Statement.Context, q.String(), args...)
		if err != nil {
			return int(n), err
		}
		k, err := res.RowsAffected()
		if err != nil {
			return int(n), err
		}
		n += k
	}
	return int(n), nil
}

// intList writes ids as a comma-separated list of numbers.
func intList(ids []int64) string {
	b := make([]byte, 0, 8*len(ids))
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(b)
}

type resultKey struct {
	check int64
	at    int64
}

// addToRollups adds results to the rollups of the periods built already
// that they fall in (the others are built from the raw results later).
func (s *Store) addToRollups(tx *gorm.DB, results []ProbeResult, built rollupMarks) error {
	type rollKey struct {
		check  int64
		period string
		start  int64
	}
	agg := map[rollKey]*Rollup{}
	var keys []rollKey
	for _, r := range results {
		for _, p := range rollupPeriods {
			start := p.start(r.At)
			if !built.built(p.name, r.CheckID, start) {
				continue
			}
			k := rollKey{r.CheckID, p.name, start.Unix()}
			ru := agg[k]
			if ru == nil {
				ru = &Rollup{CheckID: r.CheckID, Period: p.name, Start: start}
				agg[k] = ru
				keys = append(keys, k)
			}
			ru.add(r)
		}
	}
	rows := make([]Rollup, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, *agg[k])
	}
	return s.upsertRollups(tx, rows, 1000)
}

// add counts one result in r (its median aside).
func (r *Rollup) add(p ProbeResult) {
	r.Probes++
	if !p.OK {
		r.Failures++
		return
	}
	if r.RTTCount == 0 || p.RTTus < r.RTTMinUs {
		r.RTTMinUs = p.RTTus
	}
	r.RTTMaxUs = max(r.RTTMaxUs, p.RTTus)
	r.RTTCount++
	r.RTTSumUs += int64(p.RTTus)
}

// upsertRollups adds rows to the rollups, many rows per statement: a rollup
// already there takes their probes, failures and round trips in (a row's
// median is kept only where the rollup is new).
func (s *Store) upsertRollups(tx *gorm.DB, rows []Rollup, batch int) error {
	var set clause.Set
	for _, a := range rollupAdds(dialectOf(s.db)) {
		set = append(set, clause.Assignment{Column: clause.Column{Name: a[0]}, Value: gorm.Expr(a[1])})
	}
	return tx.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "check_id"}, {Name: "period"}, {Name: "start"}},
		DoUpdates: set,
	}).CreateInBatches(rows, batch).Error
}

// advanceChecks runs each check's state machine over its new results in
// time order: N consecutive failures open an outage dated from the first,
// the first success closes it. A paused port check's failures count for
// nothing (no poll of it would close what they opened).
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
	nj := newNoticeJoiner()
	changed := make([]*Check, 0)
	for _, id := range ids {
		c := checks[id]
		was := checkState{c.Status, c.ConsecFails, c.FailSince, c.OpenOutageID}
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
					if err := s.closeOutage(tx, nj, c, at, OutageEndRecovered, evidence); err != nil {
						return err
					}
					evidence = nil
				} else if c.FailSince != nil {
					// Failing, and well again before an outage opened.
					nj.hooks.add(HookOutageClosed, EventCheckCleared, c.OrgID, c.ID,
						hookFailure{At: *c.FailSince, ClearedAt: &at})
				}
				c.ConsecFails, c.FailSince, c.Status = 0, nil, StatusUp
				continue
			}
			if !c.Enabled && c.Kind == KindPort {
				// A failure of a paused port check (a poll in flight when
				// its port was unmapped, its switch disabled) is stored but
				// counts for nothing: no poll would close the outage it
				// opened. A success still closes one left open. (Other
				// paused checks count theirs: results recorded for them
				// by hand or by import open outages as ever.)
				continue
			}
			c.ConsecFails++
			if c.FailSince == nil {
				c.FailSince = &at
				if c.OpenOutageID == nil {
					// The first failure of a down period (outage.opened).
					nj.hooks.add(HookOutageOpened, EventCheckFailing, c.OrgID, c.ID, hookFailure{At: at, Reason: r.Reason})
				}
			}
			if c.OpenOutageID != nil {
				evidence = append(evidence, OutageProbe{OutageID: *c.OpenOutageID, At: at, Reason: r.Reason})
				continue
			}
			threshold := max(c.FailThreshold, 1)
			if c.ConsecFails >= threshold {
				if err := s.openOutage(tx, nj, c, at, now); err != nil {
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
		if !was.same(c) {
			changed = append(changed, c)
		}
	}
	// The organizations' rows, then their notices, then the checks' rows:
	// each in ascending ID (docs/architecture.md, "Locks are taken in one
	// order").
	if err := s.joinNotices(tx, nj); err != nil {
		return err
	}
	return s.writeCheckStates(tx, changed)
}

// checkState is what a check's row keeps of its probes: written when it
// changes. Its last result is read from the results (checkStates,
// findChecksWithLatest), so a probe that changes nothing writes nothing to it.
type checkState struct {
	status       string
	consecFails  int
	failSince    *time.Time
	openOutageID *int64
}

func (w checkState) same(c *Check) bool {
	eqTime := w.failSince == nil && c.FailSince == nil || w.failSince != nil && c.FailSince != nil && w.failSince.Equal(*c.FailSince)
	eqID := w.openOutageID == nil && c.OpenOutageID == nil || w.openOutageID != nil && c.OpenOutageID != nil && *w.openOutageID == *c.OpenOutageID
	return w.status == c.Status && w.consecFails == c.ConsecFails && eqTime && eqID
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

func (s *Store) openOutage(tx *gorm.DB, nj *noticeJoiner, c *Check, confirmedAt, now time.Time) error {
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
		name, err := s.reasons.name(tx, f.ReasonCode)
		if err != nil {
			return err
		}
		ev[i] = OutageProbe{OutageID: o.ID, At: f.At, Reason: name}
	}
	if err := s.addEvidence(tx, o.ID, ev); err != nil {
		return err
	}
	// The confirmation starts the 15-minute emergency-notice clock.
	if err := s.startClock(tx, ClockEmergencyNotice, o.OrgID, o.ID, confirmedAt, EmergencyDeadline); err != nil {
		return err
	}
	// Told in the organization's notice that is still gathering, or in
	// a new one, at the end of the transaction (models/notice.go).
	nj.open(o, confirmedAt)
	nj.hooks.add(HookOutageConfirmed, EventOutageConfirmed, o.OrgID, o.ID, nil)
	return nil
}

// closeOutage ends c's open outage at at, how being OutageEndRecovered
// or OutageEndStopped, with its last evidence.
func (s *Store) closeOutage(tx *gorm.DB, nj *noticeJoiner, c *Check, at time.Time, how string, evidence []OutageProbe) error {
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
	nj.recovered(&o, at)
	nj.hooks.add(HookOutageClosed, EventOutageEnded, o.OrgID, o.ID, hookEnd{End: how})
	return nil
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

// Results returns the raw results of a check of orgID in [from, to), oldest first.
func (s *Store) Results(ctx context.Context, sc Scope, orgID, checkID int64, from, to time.Time) ([]ProbeResult, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "results")
	}
	utc(&from, &to)
	var rs []ProbeResult
	db := s.db.WithContext(ctx)
	err := db.Joins("JOIN checks ON checks.id = probe_results.check_id AND checks.org_id = ?", orgID).
		Where("probe_results.check_id = ? AND probe_results.at >= ? AND probe_results.at < ?", checkID, from, to).
		Order("probe_results.at").Find(&rs).Error
	for i := range rs {
		if err != nil {
			break
		}
		rs[i].Reason, err = s.reasons.name(db, rs[i].ReasonCode)
	}
	return rs, wrap(err, "results")
}
