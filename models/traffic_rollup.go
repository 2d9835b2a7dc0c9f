package models

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// What the janitor builds from the traffic samples: hourly and daily
// rollups (traffic_rollups) and each port's month (traffic_months), each
// once, whichever instance runs it; and how long the raw samples stay.
//
// traffic_marks holds one row per kind of work, the start of the first
// period not done yet: "h" and "d" (every rollup of that period length
// with a start before it is built), "m" (every month that started before
// it is built) and "p" (samples before it may have been purged: nothing
// there is ever counted again from the raw samples).
const (
	trafficMarkMonths = "m"
	trafficMarkPurged = "p"
)

// trafficMarks are the marks by name; a name without a row has nothing
// done yet.
type trafficMarks map[string]time.Time

// built reports whether the rollup of period starting at start is built.
func (m trafficMarks) built(period string, start time.Time) bool {
	mk, ok := m[period]
	return ok && start.Before(mk)
}

// intact reports whether the raw samples from t on are all still there.
func (m trafficMarks) intact(t time.Time) bool {
	p, ok := m[trafficMarkPurged]
	return !ok || !t.Before(p)
}

// readTrafficMarks reads the marks; share locks them on MySQL, so that a
// period is not built while the transaction adds samples to it (SQLite
// serializes writers).
func readTrafficMarks(db *gorm.DB, share bool) (trafficMarks, error) {
	return readMarks[trafficMark](db, "traffic", share)
}

// markRow is a row of traffic_marks or facility_marks: the same columns.
type markRow interface{ trafficMark | facilityMark }

// readMarks reads the marks of R's table, share-locked on MySQL when share
// is set; what names the table in an error.
func readMarks[R markRow](db *gorm.DB, what string, share bool) (trafficMarks, error) {
	q := db.Model(new(R))
	if share && dialectOf(db) == MySQL {
		q = q.Clauses(clause.Locking{Strength: "SHARE"})
	}
	var rows []R
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("%s marks: %w", what, err)
	}
	m := trafficMarks{}
	for _, r := range rows {
		mk := trafficMark(r)
		m[mk.Period] = mk.BuiltUntil.UTC()
	}
	return m, nil
}

// movePurgedMark moves R's purge mark up to before (never back), making
// it when there is none (another instance may make it first).
func movePurgedMark[R markRow](tx *gorm.DB, before time.Time) error {
	r := tx.Model(new(R)).Where("period = ? AND built_until < ?", trafficMarkPurged, before).Update("built_until", before)
	if r.Error != nil || r.RowsAffected > 0 {
		return r.Error
	}
	mk := R(trafficMark{Period: trafficMarkPurged, BuiltUntil: before})
	return tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&mk).Error
}

// startTrafficMark gives mark name its first value, start(the oldest
// sample's time), unless it has one (another instance may set it first),
// and returns the marks as they are then. No sample, no mark.
func startTrafficMark(db *gorm.DB, name string, start func(time.Time) time.Time) (trafficMarks, error) {
	// One index seek per port for its oldest sample.
	var first []TrafficSample
	if err := db.Raw(`SELECT t.port_id, t.at FROM switch_ports p JOIN traffic_samples t ON t.port_id = p.id
		AND t.at = (SELECT MIN(at) FROM traffic_samples WHERE port_id = p.id) ORDER BY t.at LIMIT 1`).Scan(&first).Error; err != nil {
		return nil, err
	}
	if len(first) > 0 {
		if err := db.Clauses(clause.OnConflict{DoNothing: true}).
			Create(&trafficMark{Period: name, BuiltUntil: start(first[0].At).UTC()}).Error; err != nil {
			return nil, err
		}
	}
	return readTrafficMarks(db, false)
}

// BuildTrafficRollups builds the hourly and daily traffic rollups of
// finished periods (rollupGrace after their end) from the raw samples,
// trying at most maxSteps periods, and returns how many it built: run it
// until it returns fewer than maxSteps. A step is one period of every
// port, moved past in the transaction that writes its rollups
// (traffic_marks), so it is done once whatever stops midway and whichever
// instance runs it: a period another instance built meanwhile is tried
// but not counted.
func (s *Store) BuildTrafficRollups(ctx context.Context, maxSteps int) (int, error) {
	tried, built := 0, 0
	for _, p := range rollupPeriods {
		for tried < maxSteps {
			did, more, err := s.buildTrafficRollupStep(ctx, p)
			if err != nil {
				return built, fmt.Errorf("models: build traffic rollups: %w", err)
			}
			if !more {
				break
			}
			tried++
			if did {
				built++
			}
		}
	}
	return built, nil
}

// buildTrafficRollupStep builds the next period of p: did tells whether
// this call built it (not another instance), more is false when p is
// built up to the grace.
func (s *Store) buildTrafficRollupStep(ctx context.Context, p rollupPeriod) (did, more bool, err error) {
	db := s.db.WithContext(ctx)
	marks, err := readTrafficMarks(db, false)
	if err != nil {
		return false, false, err
	}
	mk, ok := marks[p.name]
	if !ok {
		if marks, err = startTrafficMark(db, p.name, p.start); err != nil {
			return false, false, err
		}
		if mk, ok = marks[p.name]; !ok {
			return false, false, nil // no sample yet
		}
	}
	end := mk.Add(p.length)
	if end.Add(rollupGrace).After(s.now()) {
		return false, false, nil
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		did = false
		// The mark moves first: its row lock keeps another instance from
		// building the same period, and the writers that re-derive
		// periods built already for late samples (RecordTraffic) wait for
		// this commit.
		r := tx.Model(&trafficMark{}).Where("period = ? AND built_until = ?", p.name, mk).Update("built_until", end)
		if r.Error != nil || r.RowsAffected == 0 {
			return r.Error // another instance built this period
		}
		var ids []int64
		if err := tx.Model(&SwitchPort{}).Order("id").Pluck("id", &ids).Error; err != nil {
			return err
		}
		for chunk := range chunks(ids) {
			if err := s.deriveTrafficRollups(tx, p, mk, chunk); err != nil {
				return err
			}
		}
		did = true
		return nil
	}, readCommitted)
	return did && err == nil, err == nil, err
}

// deriveTrafficRollups writes the rollups of period p starting at start
// of ports ids from their raw samples, in place of any there: one
// statement grouped by port, one index seek per port. A port without
// samples in the period gets no row.
func (s *Store) deriveTrafficRollups(tx *gorm.DB, p rollupPeriod, start time.Time, ids []int64) error {
	start = start.UTC()
	if err := tx.Where("period = ? AND start = ? AND port_id IN ?", p.name, start, ids).Delete(&TrafficRollup{}).Error; err != nil {
		return err
	}
	return tx.Exec(trafficRollupSQL(dialectOf(tx)), p.name, start, ids, start, start.Add(p.length)).Error
}

// trafficRollupSQL sums the valid samples of a period per port: counts,
// milliseconds, octets, errors and discards, the samples read with the
// port down (valid or not), and the highest sample rate in each direction
// (octets × 8000 ÷ ms, as TrafficSample.InBps, in integers).
func trafficRollupSQL(d Dialect) string {
	sum := func(col string) string { return "SUM(CASE WHEN valid THEN " + col + " ELSE 0 END)" }
	rate := func(col string) string {
		return "COALESCE(MAX(CASE WHEN valid AND ms > 0 THEN " + trafficRateSQL(d, col, "ms") + " END), 0)"
	}
	return `INSERT INTO traffic_rollups (port_id, period, start, samples, down_samples, ms, in_octets, out_octets,
	in_max_bps, out_max_bps, in_errors, out_errors, in_discards, out_discards)
SELECT port_id, ?, ?, ` + sum("1") + `, SUM(CASE WHEN oper_up THEN 0 ELSE 1 END), ` + sum("ms") + `, ` +
		sum("in_octets") + `, ` + sum("out_octets") + `, ` + rate("in_octets") + `, ` + rate("out_octets") + `, ` +
		sum("in_errors") + `, ` + sum("out_errors") + `, ` + sum("in_discards") + `, ` + sum("out_discards") + `
FROM traffic_samples WHERE port_id IN ? AND at >= ? AND at < ? GROUP BY port_id`
}

// trafficRateSQL is octets × 8000 ÷ ms in integers, rounded down, as
// bitsPerSecond: divided first, so that no octets × 8000 overflows.
func trafficRateSQL(d Dialect, octets, ms string) string {
	div := "/"
	if d == MySQL {
		div = "DIV" // "/" gives a decimal there
	}
	return "(" + octets + " " + div + " " + ms + " * 8000 + " + octets + " % " + ms + " * 8000 " + div + " " + ms + ")"
}

// BuildTrafficMonths stores each port's month (TrafficMonth: the 95th
// percentiles, maxima and octets) for every month of the provider's
// calendar that ended (rollupGrace ago), for every port with samples in
// it, and returns how many months it built. Each month is built once,
// moving mark "m" in the same transaction; a month is built only from
// samples the purge has not touched (PurgeTrafficSamples never deletes a
// month not built), and never built again but for a late sample
// (RecordTraffic).
func (s *Store) BuildTrafficMonths(ctx context.Context) (int, error) {
	n := 0
	for {
		if err := ctx.Err(); err != nil {
			return n, wrap(err, "build traffic months")
		}
		did, more, err := s.buildTrafficMonth(ctx)
		if err != nil {
			return n, fmt.Errorf("models: build traffic months: %w", err)
		}
		if !more {
			return n, nil
		}
		if did {
			n++
		}
	}
}

// monthStart is the start of the provider's month t is in.
func (s *Store) monthStart(t time.Time) time.Time {
	y, m, _ := t.In(s.zone).Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, s.zone).UTC()
}

// buildTrafficMonth builds the next month that ended: did tells whether
// this call built it, more is false when there is none to build.
func (s *Store) buildTrafficMonth(ctx context.Context) (did, more bool, err error) {
	db := s.db.WithContext(ctx)
	marks, err := readTrafficMarks(db, false)
	if err != nil {
		return false, false, err
	}
	mk, ok := marks[trafficMarkMonths]
	if !ok {
		if marks, err = startTrafficMark(db, trafficMarkMonths, s.monthStart); err != nil {
			return false, false, err
		}
		if mk, ok = marks[trafficMarkMonths]; !ok {
			return false, false, nil
		}
	}
	month := mk.In(s.zone).Format("2006-01")
	from, to, _, err := s.monthBounds(month)
	if err != nil {
		return false, false, err
	}
	if to.Add(rollupGrace).After(s.now()) {
		return false, false, nil
	}
	// The ports' months are counted a chunk of ports at a time outside
	// any transaction, each chunk then stored in a short one, and the mark
	// moves only once every port is stored: a month of 8,640 samples a
	// port takes tens of milliseconds to read, too long for 10,000 ports
	// under one writer lock. An instance that builds the same month at
	// the same time stores the same figures, and only one moves the mark;
	// the purge waits for the mark, so it never takes samples of a month
	// being built.
	var ids []int64
	if err := db.Model(&SwitchPort{}).Where("EXISTS (SELECT 1 FROM traffic_samples t WHERE t.port_id = switch_ports.id AND t.at >= ? AND t.at < ?)",
		from, to).Order("id").Pluck("id", &ids).Error; err != nil {
		return false, false, err
	}
	for chunk := range slices.Chunk(ids, trafficMonthPorts) {
		rows := make([]TrafficMonth, 0, len(chunk))
		for _, id := range chunk { // read outside any transaction
			m, err := countTrafficMonth(db, id, month, from, to)
			if err != nil {
				return false, false, err
			}
			m.BuiltAt = s.now()
			rows = append(rows, m)
		}
		if err := s.tx(ctx, func(tx *gorm.DB) error {
			if err := tx.Where("month = ? AND port_id IN ?", month, chunk).Delete(&TrafficMonth{}).Error; err != nil {
				return err
			}
			return createInChunks(tx, rows)
		}); err != nil {
			return false, false, err
		}
	}
	r := db.Model(&trafficMark{}).Where("period = ? AND built_until = ?", trafficMarkMonths, mk).Update("built_until", to)
	if r.Error != nil {
		return false, false, r.Error
	}
	return r.RowsAffected > 0, true, nil
}

// trafficMonthPorts is how many ports' months buildTrafficMonth counts
// and then stores in one short transaction.
const trafficMonthPorts = 50

// deriveTrafficMonth stores port portID's month counted from its raw
// samples, in place of the one there.
func (s *Store) deriveTrafficMonth(tx *gorm.DB, portID int64, month string, from, to time.Time) error {
	m, err := countTrafficMonth(tx, portID, month, from, to)
	if err != nil {
		return err
	}
	m.BuiltAt = s.now()
	if err := tx.Where("port_id = ? AND month = ?", portID, month).Delete(&TrafficMonth{}).Error; err != nil {
		return err
	}
	return tx.Create(&m).Error
}

// trafficPurgePorts is how many ports' samples one purge statement
// deletes.
const trafficPurgePorts = 50

// PurgeTrafficSamples deletes the raw traffic samples older than before
// (the retention of PORTAL_RETENTION_DAYS, as for probe results), a few
// ports per statement so that no statement holds locks for long, and
// returns how many it deleted. It never deletes the samples of an hour or
// a day whose rollups are not built, nor of a month not built: before
// stops at the earliest of the marks, and nothing is purged before the
// janitor has built anything. Rollups and months stay, but for ports
// that no longer exist, whose whole history goes (purgeOrphanTraffic).
func (s *Store) PurgeTrafficSamples(ctx context.Context, before time.Time) (int64, error) {
	utc(&before)
	db := s.db.WithContext(ctx)
	total, err := purgeOrphanTraffic(ctx, db)
	if err != nil {
		return total, wrap(err, "purge traffic samples")
	}
	marks, err := readTrafficMarks(db, false)
	if err != nil {
		return total, wrap(err, "purge traffic samples")
	}
	for _, name := range []string{"h", "d", trafficMarkMonths} {
		mk, ok := marks[name]
		if !ok {
			return total, nil // nothing built yet
		}
		if mk.Before(before) {
			before = mk
		}
	}
	if !marks.intact(before) {
		before = marks[trafficMarkPurged] // purged already
	}
	// Say first how far samples go: from then on a late sample never
	// counts a period again from what the purge leaves of it. A writer
	// holding the marks (RecordTraffic) finishes first.
	err = s.tx(ctx, func(tx *gorm.DB) error { return movePurgedMark[trafficMark](tx, before) })
	if err != nil {
		return total, wrap(err, "purge traffic samples")
	}
	var ids []int64
	if err := db.Model(&SwitchPort{}).Order("id").Pluck("id", &ids).Error; err != nil {
		return total, wrap(err, "purge traffic samples")
	}
	for len(ids) > 0 {
		n := min(trafficPurgePorts, len(ids))
		r := db.Where("port_id IN ? AND at < ?", ids[:n], before).Delete(&TrafficSample{})
		if r.Error != nil {
			return total, fmt.Errorf("models: purge traffic samples: %w", r.Error)
		}
		total += r.RowsAffected
		ids = ids[n:]
		if err := ctx.Err(); err != nil {
			return total, wrap(err, "purge traffic samples")
		}
	}
	return total, nil
}

// trafficOrphanPorts bounds how many vanished ports one purge clears.
const trafficOrphanPorts = 1000

// purgeOrphanTraffic deletes the samples, rollups and months of ports
// that no longer exist: a batch of samples in flight when its port was
// removed is stored after the removal deleted the port's history. Each
// table's port IDs are walked one index seek a port (its key starts with
// port_id); at most trafficOrphanPorts vanished ports a table and run,
// trafficPurgePorts a statement, each statement checking again that the
// port does not exist (one added meanwhile keeps its samples). It returns
// how many samples it deleted.
func purgeOrphanTraffic(ctx context.Context, db *gorm.DB) (int64, error) {
	var have []int64
	if err := db.Model(&SwitchPort{}).Pluck("id", &have).Error; err != nil {
		return 0, err
	}
	exists := make(map[int64]bool, len(have))
	for _, id := range have {
		exists[id] = true
	}
	var total int64
	for _, t := range []struct {
		model any
		table string
	}{{&TrafficSample{}, "traffic_samples"}, {&TrafficRollup{}, "traffic_rollups"}, {&TrafficMonth{}, "traffic_months"}} {
		var gone []int64
		for after := int64(0); len(gone) < trafficOrphanPorts; {
			var next sql.NullInt64
			if err := db.Model(t.model).Select("MIN(port_id)").Where("port_id > ?", after).Row().Scan(&next); err != nil {
				return total, err
			}
			if !next.Valid {
				break
			}
			after = next.Int64
			if !exists[after] {
				gone = append(gone, after)
			}
		}
		for chunk := range chunksOf(gone, trafficPurgePorts) {
			r := db.Where("port_id IN ? AND NOT EXISTS (SELECT 1 FROM switch_ports p WHERE p.id = "+t.table+".port_id)", chunk).
				Delete(t.model)
			if r.Error != nil {
				return total, r.Error
			}
			if t.table == "traffic_samples" {
				total += r.RowsAffected
			}
			if err := ctx.Err(); err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

// rederiveLateTraffic counts again, from the raw samples, the built
// rollups and months that samples fall in (samples that arrived after
// their hour, day or month was built: a spool replayed late), for their
// ports: each rollup and month is written anew as a whole, so a replay
// changes nothing. A period whose samples may be partly purged is left as
// it was built.
func (s *Store) rederiveLateTraffic(tx *gorm.DB, samples []TrafficSample, marks trafficMarks) error {
	type rollupKey struct {
		period string
		start  int64
		port   int64
	}
	type monthKey struct {
		month string
		port  int64
	}
	rollups, months := map[rollupKey]bool{}, map[monthKey]bool{}
	var rks []rollupKey
	var mks []monthKey
	mm, monthsBuilt := marks[trafficMarkMonths]
	for i := range samples {
		x := &samples[i]
		for _, p := range rollupPeriods {
			start := p.start(x.At)
			k := rollupKey{p.name, start.Unix(), x.PortID}
			if marks.built(p.name, start) && marks.intact(start) && !rollups[k] {
				rollups[k] = true
				rks = append(rks, k)
			}
		}
		if from := s.monthStart(x.At); monthsBuilt && from.Before(mm) && marks.intact(from) {
			k := monthKey{x.At.In(s.zone).Format("2006-01"), x.PortID}
			if !months[k] {
				months[k] = true
				mks = append(mks, k)
			}
		}
	}
	// In key order, so that two writers lock rows in one order.
	slices.SortFunc(rks, func(a, b rollupKey) int {
		switch {
		case a.period != b.period:
			return cmp.Compare(b.period, a.period) // hours, then days
		case a.start != b.start:
			return cmp.Compare(a.start, b.start)
		}
		return cmp.Compare(a.port, b.port)
	})
	for _, k := range rks {
		if err := s.deriveTrafficRollups(tx, periodNamed(k.period), time.Unix(k.start, 0).UTC(), []int64{k.port}); err != nil {
			return fmt.Errorf("rollup %s %d of port %d: %w", k.period, k.start, k.port, err)
		}
	}
	slices.SortFunc(mks, func(a, b monthKey) int {
		if a.month != b.month {
			return cmp.Compare(a.month, b.month)
		}
		return cmp.Compare(a.port, b.port)
	})
	for _, k := range mks {
		from, to, _, err := s.monthBounds(k.month)
		if err != nil {
			return err
		}
		if err := s.deriveTrafficMonth(tx, k.port, k.month, from, to); err != nil {
			return fmt.Errorf("month %s of port %d: %w", k.month, k.port, err)
		}
	}
	return nil
}
