package models

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// probeReasons are the failure reasons with fixed codes (probe_reasons
// holds them, and codes from 1000 up for any other name a probe gives).
var probeReasons = []string{"", ReasonTimeout, ReasonRefused, ReasonUnreachable, ReasonDNS, ReasonBadStatus,
	ReasonKeyword, ReasonBadBanner, ReasonTLS, ReasonProtocol, ReasonError}

// reasonCache maps failure reasons to their codes and back; a name or code
// it does not know yet is looked up in probe_reasons (a new name gets a
// code there).
type reasonCache struct {
	mu     sync.Mutex
	byName map[string]int16
	byCode map[int16]string
}

func newReasonCache() *reasonCache {
	c := &reasonCache{byName: map[string]int16{}, byCode: map[int16]string{}}
	for i, n := range probeReasons {
		c.byName[n], c.byCode[int16(i)] = int16(i), n
	}
	return c
}

func (c *reasonCache) load(db *gorm.DB) error {
	var rows []probeReasonV17
	if err := db.Table("probe_reasons").Find(&rows).Error; err != nil {
		return fmt.Errorf("probe reasons: %w", err)
	}
	for _, r := range rows {
		c.byName[r.Name], c.byCode[r.Code] = r.Code, r.Name
	}
	return nil
}

// code is name's code, given one in probe_reasons if it has none.
func (c *reasonCache) code(db *gorm.DB, name string) (int16, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for try := 0; try < 5; try++ {
		if v, ok := c.byName[name]; ok {
			return v, nil
		}
		if err := c.load(db); err != nil {
			return 0, err
		}
		if v, ok := c.byName[name]; ok {
			return v, nil
		}
		var top int16
		if err := db.Raw("SELECT COALESCE(MAX(code), 999) FROM probe_reasons").Scan(&top).Error; err != nil {
			return 0, fmt.Errorf("probe reasons: %w", err)
		}
		// Two instances may pick the same code: one wins, the other reads
		// the table again and tries the next.
		if err := db.Clauses(clause.OnConflict{DoNothing: true}).Table("probe_reasons").
			Create(&probeReasonV17{Code: max(top+1, 1000), Name: name}).Error; err != nil {
			return 0, fmt.Errorf("probe reasons: %w", err)
		}
	}
	return 0, fmt.Errorf("probe reasons: no code for %q", name)
}

// name is code's reason.
func (c *reasonCache) name(db *gorm.DB, code int16) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.byCode[code]; ok {
		return n, nil
	}
	if err := c.load(db); err != nil {
		return "", err
	}
	return c.byCode[code], nil
}

// rollupPeriod is an hour ("h") or a UTC day ("d").
type rollupPeriod struct {
	name   string
	length time.Duration
}

var rollupPeriods = []rollupPeriod{{"h", time.Hour}, {"d", 24 * time.Hour}}

func periodNamed(name string) rollupPeriod {
	if name == "d" {
		return rollupPeriods[1]
	}
	return rollupPeriods[0]
}

// start is the start of the period t is in (UTC: Truncate counts from
// midnight UTC of year 1).
func (p rollupPeriod) start(t time.Time) time.Time { return t.UTC().Truncate(p.length) }

// startAtOrAfter is the first period start not before t.
func (p rollupPeriod) startAtOrAfter(t time.Time) time.Time {
	s := p.start(t)
	if s.Before(t) {
		s = s.Add(p.length)
	}
	return s
}

// rollupGrace is how long the janitor waits after a period ends before it
// builds its rollups, for results still on their way (a flush, a short
// database outage spooled).
const rollupGrace = 10 * time.Minute

// rollupChecksPerStatement bounds the checks one rollup statement builds
// a period for (a variable for tests).
var rollupChecksPerStatement = 500

// rollupMark says how far the janitor has built one period's rollups:
// every period starting before DoneUntil, and the one starting at it for
// the checks with IDs below NextCheck.
type rollupMark struct {
	Period    string
	DoneUntil time.Time
	NextCheck int64
}

// rollupMarks are the marks by period; a period without one has nothing
// built from raw results yet.
type rollupMarks map[string]rollupMark

// built reports whether the janitor has built check's period at start.
func (m rollupMarks) built(period string, check int64, start time.Time) bool {
	mk, ok := m[period]
	if !ok {
		return false
	}
	return start.Before(mk.DoneUntil) || start.Equal(mk.DoneUntil) && check < mk.NextCheck
}

// covers reports whether r falls in a period built already.
func (m rollupMarks) covers(r ProbeResult) bool {
	for _, p := range rollupPeriods {
		if m.built(p.name, r.CheckID, p.start(r.At)) {
			return true
		}
	}
	return false
}

// readMarks reads the marks; share locks them on MySQL, so a period is not
// built while the transaction adds to it (SQLite serializes writers).
func (s *Store) readMarks(db *gorm.DB, share bool) (rollupMarks, error) {
	q := db.Table("rollup_marks")
	if share && dialectOf(db) == MySQL {
		q = q.Clauses(clause.Locking{Strength: "SHARE"})
	}
	var rows []rollupMark
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("rollup marks: %w", err)
	}
	m := rollupMarks{}
	for _, r := range rows {
		r.DoneUntil = r.DoneUntil.UTC()
		m[r.Period] = r
	}
	return m, nil
}

// BuildRollups builds the hourly and daily rollups of finished periods
// from the raw results, at most maxSteps statements (each one period of
// up to rollupChecksPerStatement checks), and returns how many it ran:
// run it until it returns fewer than maxSteps. Each step moves the mark in
// the transaction that writes its rollups, so a step is done once
// whatever stops midway and whichever instance runs it; the raw results
// of a period are kept until it is built (PurgeResults).
func (s *Store) BuildRollups(ctx context.Context, maxSteps int) (int, error) {
	steps := 0
	for _, p := range rollupPeriods {
		for steps < maxSteps {
			more, err := s.buildRollupStep(ctx, p)
			if err != nil {
				return steps, fmt.Errorf("models: build rollups: %w", err)
			}
			if !more {
				break
			}
			steps++
		}
	}
	return steps, nil
}

// buildRollupStep builds the next period of the next checks of p, and
// reports false when p is built up to the grace.
func (s *Store) buildRollupStep(ctx context.Context, p rollupPeriod) (bool, error) {
	db := s.db.WithContext(ctx)
	marks, err := s.readMarks(db, false)
	if err != nil {
		return false, err
	}
	mk, ok := marks[p.name]
	if !ok {
		// No mark yet: start at the period of the first result.
		var first []ProbeResult
		if err := db.Raw(`SELECT r.check_id, r.at FROM checks c JOIN probe_results r ON r.check_id = c.id
			AND r.at = (SELECT MIN(at) FROM probe_results WHERE check_id = c.id) ORDER BY r.at LIMIT 1`).Scan(&first).Error; err != nil {
			return false, err
		}
		if len(first) == 0 {
			return false, nil
		}
		err := db.Clauses(clause.OnConflict{DoNothing: true}).Table("rollup_marks").
			Create(&rollupMark{Period: p.name, DoneUntil: p.start(first[0].At)}).Error
		return err == nil, err
	}
	end := mk.DoneUntil.Add(p.length)
	if end.Add(rollupGrace).After(s.now()) {
		return false, nil
	}
	var ids []int64
	if err := db.Model(&Check{}).Where("id >= ?", mk.NextCheck).Order("id").Limit(rollupChecksPerStatement).
		Pluck("id", &ids).Error; err != nil {
		return false, err
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		move := tx.Table("rollup_marks").Where("period = ? AND done_until = ? AND next_check = ?", p.name, mk.DoneUntil, mk.NextCheck)
		if len(ids) == 0 {
			return move.Updates(map[string]any{"done_until": end, "next_check": 0}).Error
		}
		hi := ids[len(ids)-1] + 1
		// The mark moves first: its row lock keeps another instance
		// from building the same step, and the writers that add late
		// results to built periods (readMarks) wait for this commit.
		r := move.Update("next_check", hi)
		if r.Error != nil || r.RowsAffected == 0 {
			return r.Error // another instance built this step
		}
		return tx.Exec(s.buildRollupSQL(), p.name, mk.DoneUntil, ids, mk.DoneUntil, end, ids, mk.DoneUntil, end).Error
	}, readCommitted)
	return err == nil, err
}

// buildRollupSQL adds the rollups of one period of a range of checks,
// computed from the raw results: counts, round-trip sum, minimum and
// maximum by GROUP BY, the median (the lower middle of the successful
// round trips, at least 1 µs) by numbering them in order. The checks come
// as a list (one index seek each), not a range of IDs, which would read
// every result of those checks. A rollup there
// already (history imported) adds them up and keeps its median, as
// upsertRollups does.
func (s *Store) buildRollupSQL() string {
	q := `INSERT INTO rollups (check_id, period, start, probes, failures, rtt_count, rtt_sum_us, rtt_min_us, rtt_max_us, rtt_med_us)
SELECT g.check_id, ?, ?, g.probes, g.failures, g.rtt_count, g.rtt_sum, g.rtt_min, g.rtt_max, COALESCE(m.med, 0)
FROM (SELECT check_id, COUNT(*) AS probes, SUM(CASE WHEN ok THEN 0 ELSE 1 END) AS failures,
		SUM(CASE WHEN ok THEN 1 ELSE 0 END) AS rtt_count, SUM(CASE WHEN ok THEN rtt_us ELSE 0 END) AS rtt_sum,
		COALESCE(MIN(CASE WHEN ok THEN rtt_us END), 0) AS rtt_min, COALESCE(MAX(CASE WHEN ok THEN rtt_us END), 0) AS rtt_max
	FROM probe_results WHERE check_id IN ? AND at >= ? AND at < ? GROUP BY check_id) AS g
LEFT JOIN (SELECT check_id, CASE WHEN rtt_us < 1 THEN 1 ELSE rtt_us END AS med
	FROM (SELECT check_id, rtt_us, ROW_NUMBER() OVER (PARTITION BY check_id ORDER BY rtt_us) AS rn,
			COUNT(*) OVER (PARTITION BY check_id) AS n
		FROM probe_results WHERE ok AND check_id IN ? AND at >= ? AND at < ?) AS w
	WHERE 2 * rn IN (n, n + 1)) AS m ON m.check_id = g.check_id
WHERE 1 = 1 `
	med := "CASE WHEN rollups.rtt_med_us = 0 THEN %s ELSE rollups.rtt_med_us END"
	if dialectOf(s.db) == MySQL {
		return q + "ON DUPLICATE KEY UPDATE " + rollupAddSet(MySQL) + ", rtt_med_us = " + fmt.Sprintf(med, "VALUES(rtt_med_us)")
	}
	return q + "ON CONFLICT (check_id, period, start) DO UPDATE SET " + rollupAddSet(SQLite) + ", rtt_med_us = " + fmt.Sprintf(med, "excluded.rtt_med_us")
}

// rollupAddSet is the SET list that adds an incoming rollup's counts to
// the one there (upsertRollups, buildRollupSQL).
func rollupAddSet(d Dialect) string {
	var b strings.Builder
	for i, a := range rollupAdds(d) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a[0] + " = " + a[1])
	}
	return b.String()
}

// rollupAdds are the column and expression pairs of rollupAddSet.
func rollupAdds(d Dialect) [][2]string {
	least, greatest, excluded := "MIN", "MAX", func(c string) string { return "excluded." + c }
	if d == MySQL {
		least, greatest, excluded = "LEAST", "GREATEST", func(c string) string { return "VALUES(" + c + ")" }
	}
	// rtt_min of a side with no successful probe is 0: take the other side
	// then, not the smaller. It comes first because MySQL applies the
	// assignments in order and later ones see earlier results.
	return [][2]string{
		{"rtt_min_us", fmt.Sprintf("CASE WHEN rollups.rtt_count = 0 THEN %[2]s WHEN %[3]s = 0 THEN rollups.rtt_min_us ELSE %[1]s(rollups.rtt_min_us, %[2]s) END",
			least, excluded("rtt_min_us"), excluded("rtt_count"))},
		{"probes", "rollups.probes + " + excluded("probes")},
		{"failures", "rollups.failures + " + excluded("failures")},
		{"rtt_count", "rollups.rtt_count + " + excluded("rtt_count")},
		{"rtt_sum_us", "rollups.rtt_sum_us + " + excluded("rtt_sum_us")},
		{"rtt_max_us", greatest + "(rollups.rtt_max_us, " + excluded("rtt_max_us") + ")"},
	}
}

// Rollups returns the rollups of a check of orgID whose periods start in
// [from, to), oldest first: those the janitor built (or history
// imported), and for the periods not built yet (the current hour and day,
// and any finished one within the grace) the same figures counted from
// the raw results.
func (s *Store) Rollups(ctx context.Context, sc Scope, orgID, checkID int64, period string, from, to time.Time) ([]Rollup, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "rollups")
	}
	utc(&from, &to)
	db := s.db.WithContext(ctx)
	var rs []Rollup
	err := db.Joins("JOIN checks ON checks.id = rollups.check_id AND checks.org_id = ?", orgID).
		Where("rollups.check_id = ? AND rollups.period = ? AND rollups.start >= ? AND rollups.start < ?", checkID, period, from, to).
		Order("rollups.start").Find(&rs).Error
	if err != nil {
		return nil, wrap(err, "rollups")
	}
	// In UTC like the periods counted from raw results below: the SQLite
	// driver reads stored times in the process's zone or a made-up one of
	// the same offset, so the same instant would otherwise come back with
	// two Locations in one list.
	for i := range rs {
		rs[i].Start = rs[i].Start.UTC()
	}
	marks, err := s.readMarks(db, false)
	if err != nil {
		return nil, wrap(err, "rollups")
	}
	p := periodNamed(period)
	lo, hi := p.startAtOrAfter(from), p.startAtOrAfter(to)
	if mk, ok := marks[period]; ok {
		m := mk.DoneUntil
		if checkID < mk.NextCheck {
			m = m.Add(p.length)
		}
		if m.After(lo) {
			lo = m
		}
	}
	if !lo.Before(hi) {
		return rs, nil
	}
	var raw []ProbeResult
	if err := db.Select("probe_results.check_id", "probe_results.at", "probe_results.ok", "probe_results.rtt_us").
		Joins("JOIN checks ON checks.id = probe_results.check_id AND checks.org_id = ?", orgID).
		Where("probe_results.check_id = ? AND probe_results.at >= ? AND probe_results.at < ?", checkID, lo, hi).
		Order("probe_results.at").Find(&raw).Error; err != nil {
		return nil, wrap(err, "rollups")
	}
	return mergeRaw(rs, raw, p), nil
}

// mergeRaw adds the rollups counted from raw results to rs, by period
// start: a period in rs adds them up (its median kept if it has one).
func mergeRaw(rs []Rollup, raw []ProbeResult, p rollupPeriod) []Rollup {
	if len(raw) == 0 {
		return rs
	}
	idx := map[int64]int{}
	for i, r := range rs {
		idx[r.Start.Unix()] = i
	}
	type agg struct {
		r    Rollup
		rtts []int
	}
	var order []int64
	aggs := map[int64]*agg{}
	for _, x := range raw {
		start := p.start(x.At)
		a := aggs[start.Unix()]
		if a == nil {
			a = &agg{r: Rollup{CheckID: x.CheckID, Period: p.name, Start: start}}
			aggs[start.Unix()] = a
			order = append(order, start.Unix())
		}
		a.r.add(x)
		if x.OK {
			a.rtts = append(a.rtts, x.RTTus)
		}
	}
	for _, k := range order {
		a := aggs[k]
		a.r.RTTMedUs = median(a.rtts)
		i, ok := idx[k]
		if !ok {
			rs = append(rs, a.r)
			continue
		}
		t := &rs[i]
		switch {
		case t.RTTCount == 0:
			t.RTTMinUs = a.r.RTTMinUs
		case a.r.RTTCount > 0:
			t.RTTMinUs = min(t.RTTMinUs, a.r.RTTMinUs)
		}
		t.Probes += a.r.Probes
		t.Failures += a.r.Failures
		t.RTTCount += a.r.RTTCount
		t.RTTSumUs += a.r.RTTSumUs
		t.RTTMaxUs = max(t.RTTMaxUs, a.r.RTTMaxUs)
		if t.RTTMedUs == 0 {
			t.RTTMedUs = a.r.RTTMedUs
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].Start.Before(rs[j].Start) })
	return rs
}

// latestJoin joins each check (checks) to its newest stored result (r):
// one index seek per check.
const latestJoin = "LEFT JOIN probe_results r ON r.check_id = checks.id AND r.at = (SELECT MAX(at) FROM probe_results WHERE check_id = checks.id)"

// checkWithLatest is a check with its newest stored result.
type checkWithLatest struct {
	Check
	RAt     *time.Time `gorm:"column:r_at"`
	ROK     *bool      `gorm:"column:r_ok"`
	RRTTus  *int       `gorm:"column:r_rtt_us"`
	RReason *int16     `gorm:"column:r_reason"`
}

// onChecks names a column of the checks table for a query that joins it
// (a literal "checks.…" would read as a locale key to the locales test).
func onChecks(col string) string { return "checks." + col }

// findChecksWithLatest runs q, a query of checks selecting cols, in one
// statement with each check's newest result, and gives each check that
// result as its last one (LastAt, LastOK, LastRTTus, LastReason) where it
// is newer than what the check's row keeps: the row is written only when
// the check's state changes.
func (s *Store) findChecksWithLatest(q *gorm.DB, cols string) ([]Check, error) {
	var rows []checkWithLatest
	if err := q.Table("checks").Select(cols + ", r.at AS r_at, r.ok AS r_ok, r.rtt_us AS r_rtt_us, r.reason AS r_reason").
		Joins(latestJoin).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]Check, len(rows))
	for i, r := range rows {
		c := r.Check
		if r.RAt != nil && (c.LastAt == nil || r.RAt.After(*c.LastAt)) {
			name, err := s.reasons.name(q, *r.RReason)
			if err != nil {
				return nil, err
			}
			c.LastAt, c.LastOK, c.LastRTTus, c.LastReason = utcPtr(r.RAt), *r.ROK, *r.RRTTus, name
		}
		out[i] = c
	}
	return out, nil
}

// MarkRollupsBuilt records that the rollups of every period starting
// before until are stored, for a writer that stores raw results and their
// rollups itself (the page benchmark's year of history): Rollups then
// reads those periods from the rollups alone, and the janitor builds from
// the next one. A mark further on already stays.
func (s *Store) MarkRollupsBuilt(ctx context.Context, until time.Time) error {
	return wrap(s.tx(ctx, func(tx *gorm.DB) error {
		marks, err := s.readMarks(tx, false)
		if err != nil {
			return err
		}
		for _, p := range rollupPeriods {
			at := p.startAtOrAfter(until.UTC())
			mk, ok := marks[p.name]
			switch {
			case !ok:
				err = tx.Table("rollup_marks").Create(&rollupMark{Period: p.name, DoneUntil: at}).Error
			case mk.DoneUntil.Before(at):
				err = tx.Table("rollup_marks").Where("period = ?", p.name).
					Updates(map[string]any{"done_until": at, "next_check": 0}).Error
			}
			if err != nil {
				return err
			}
		}
		return nil
	}), "mark rollups built")
}
