package models

import (
	"context"
	"sort"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ProberInstance is a prober that said it is alive: every lease round
// writes it again, with the time it counts as alive until.
type ProberInstance struct {
	ID        string
	SeenUntil time.Time
	MaxChecks int  // the most checks it takes; 0: no limit
	ICMP      bool `gorm:"column:icmp"` // it can send pings
}

func (ProberInstance) TableName() string { return "prober_instances" }

// ShareOptions are one instance's terms in ShareChecks.
type ShareOptions struct {
	Lease    time.Duration // how long a lease lasts; rounds come every Lease/4
	Max      int           // the most checks this instance takes
	SkipICMP bool          // leave ping checks to instances that can send them
}

// ShareRound is what one round of ShareChecks left this instance with.
type ShareRound struct {
	// Checks are the checks owner holds a lease on now, disabled ones
	// included (the prober drops those), each with LeaseFrom and
	// LeaseUntil: the owner probes the slots in [LeaseFrom, LeaseUntil).
	Checks    []Check
	Instances int // live instances
	Target    int // this instance's fair share
	Offered   int // checks offered to instances below their share
	Claimed   int // checks claimed in this round
	// OfferedIDs are the checks whose leases this round cut to end at
	// OfferedUntil. Another instance may take one before Checks is read,
	// so it is missing there: the owner must stop probing it at
	// OfferedUntil all the same, as the new owner starts then.
	OfferedIDs   []int64
	OfferedUntil time.Time
	// Unprobed are the enabled checks that no instance holds after this
	// round and held none for a lease and a round (Lease + Lease/4): an
	// alarm. A check this round claimed is not among them. It is set
	// even when the round fails: counted again after the claims (those
	// made before a failure count as held), or, when the round failed
	// before claiming or that count fails, the count taken at its start.
	Unprobed Unprobed
}

// ShareChecks is one lease round of owner, run every Lease/4. It says owner
// is alive, renews its leases, and moves it towards its fair share of the
// enabled checks: the live instances (alive beyond the hand-over window)
// split the checks evenly, within what each takes (Max). Port checks
// (KindPort) are never leased nor counted: the poller of their switch
// feeds them, under the switch's lease (ShareSwitches).
//
// A lease that ends within the hand-over window (half a lease from now)
// is changing hands: an instance below its share may claim it with LeaseFrom set to the old lease's end, so the old
// owner probes the slots before that time and the new one those from it:
// no slot is probed twice or left out. An instance above its share offers
// its excess by cutting those leases to the window; a killed instance's
// leases reach the window on their own, at the same time as its liveness
// ends, so the others take them over from the moment its leases end.
// The owner renews a lease only while more than a third of it is left: an
// offered one has less by its next round, a lease of a round late by up to
// 25 s (a loaded database) still has more. Checks nobody claimed for a
// round (new checks, released ones, ones no instance below its share may
// take) go to whoever comes first.
//
// Every statement that writes touches the rows it needs by primary key,
// found by a plain (non-locking) read through the (lease_owner,
// lease_until) index, and reads committed rows (leaseWrite), so that on
// InnoDB a renewal never locks or waits for another instance's rows.
//
// The unprobed count (ShareRound.Unprobed) is taken at the start of the
// round, and again at its end when the first count found any and the
// round got as far as claiming: so a single instance that starts after a
// pause longer than a lease reports none of the checks it claims in its
// first round, and a round that fails still reports the best count it has.
// While nothing is unprobed that is one COUNT over an empty index range.
func (s *Store) ShareChecks(ctx context.Context, owner string, o ShareOptions) (ShareRound, error) {
	var r ShareRound
	grace := o.Lease + o.Lease/4
	claiming, err := s.shareRound(ctx, owner, o, &r, grace)
	if r.Unprobed.Checks > 0 && claiming {
		// After the claims, those that went through included. If the
		// database does not answer now, the count from the start stands:
		// an alarm errs on the side of saying too much.
		if u, uerr := s.UnprobedChecks(ctx, grace); uerr == nil {
			r.Unprobed = u
		}
	}
	return r, err
}

// shareRound is ShareChecks but for the final unprobed count. It reports
// whether the round reached its claims, i.e. whether it may have taken
// some of the unprobed checks (or seen other instances take them).
func (s *Store) shareRound(ctx context.Context, owner string, o ShareOptions, r *ShareRound, grace time.Duration) (bool, error) {
	now := s.now()
	until := now.Add(o.Lease)
	window := now.Add(o.Lease / 2)
	db := s.db.WithContext(ctx)

	me := ProberInstance{ID: owner, SeenUntil: until, MaxChecks: o.Max, ICMP: !o.SkipICMP}
	if err := db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"seen_until", "max_checks", "icmp"})}).Create(&me).Error; err != nil {
		return false, wrap(err, "share checks: say alive")
	}
	if err := s.leaseWrite(ctx, func(tx *gorm.DB) error {
		return tx.Where("seen_until < ?", now.Add(-24*time.Hour)).Delete(&ProberInstance{}).Error
	}); err != nil {
		return false, wrap(err, "share checks: forget old instances")
	}
	var err error
	if r.Unprobed, err = s.UnprobedChecks(ctx, grace); err != nil {
		return false, err // wrapped: "unprobed checks"
	}
	// Renew by primary key, which locks the rows in key order as the result
	// writer does; an UPDATE … WHERE lease_owner = ? may scan the table (the
	// optimizer's choice on a small one) in any order.
	var own []int64
	if err := db.Model(&Check{}).Where("lease_owner = ? AND lease_until >= ?", owner, now.Add(o.Lease/3)).
		Pluck("id", &own).Error; err != nil {
		return false, wrap(err, "share checks: renew")
	}
	for chunk := range chunks(own) {
		if err := s.leaseWrite(ctx, func(tx *gorm.DB) error {
			return tx.Model(&Check{}).Where("id IN ? AND lease_owner = ?", chunk, owner).UpdateColumn("lease_until", until).Error
		}); err != nil {
			return false, wrap(err, "share checks: renew")
		}
	}

	var live []ProberInstance
	if err := db.Where("seen_until >= ?", window).Find(&live).Error; err != nil {
		return false, wrap(err, "share checks: live instances")
	}
	// One scan counts the enabled checks and, per owner, those whose lease
	// is still running.
	var rows []struct {
		LeaseOwner string
		N          int
		Total      int
	}
	if err := db.Model(&Check{}).Select("lease_owner, SUM(CASE WHEN lease_until >= ? THEN 1 ELSE 0 END) AS n, COUNT(*) AS total", window).
		Where("enabled = ? AND kind <> ?", true, KindPort).Group("lease_owner").Scan(&rows).Error; err != nil {
		return false, wrap(err, "share checks: count held")
	}
	total := 0
	held := map[string]int{}
	for _, row := range rows {
		total += row.Total
		held[row.LeaseOwner] = row.N
	}
	targets := shareTargets(total, live)
	r.Instances, r.Target = len(live), targets[owner]
	mine := held[owner]

	kinds := func(q *gorm.DB, icmp bool) *gorm.DB {
		if !icmp {
			q = q.Where("kind <> ?", KindICMP)
		}
		return q
	}
	switch {
	case mine > r.Target:
		// Offer the excess to the instances below their share, of kinds
		// they can take.
		short, icmp := 0, false
		for _, in := range live {
			if d := targets[in.ID] - held[in.ID]; in.ID != owner && d > 0 {
				short += d
				icmp = icmp || in.ICMP
			}
		}
		if n := min(mine-r.Target, short); n > 0 {
			var ids []int64
			if err := kinds(db.Model(&Check{}), icmp).Where("lease_owner = ? AND lease_until >= ? AND enabled = ?", owner, window, true).
				Order("id DESC").Limit(n).Pluck("id", &ids).Error; err != nil {
				return false, wrap(err, "share checks: pick offers")
			}
			r.OfferedIDs, r.OfferedUntil = ids, window
			for chunk := range chunks(ids) {
				if err := s.leaseWrite(ctx, func(tx *gorm.DB) error {
					res := tx.Model(&Check{}).Where("id IN ? AND lease_owner = ?", chunk, owner).UpdateColumn("lease_until", window)
					r.Offered += int(res.RowsAffected)
					return res.Error
				}); err != nil {
					return false, wrap(err, "share checks: offer")
				}
			}
		}
	case mine < r.Target && mine < o.Max:
		// Take leases that are ending or ended, the ones that end first.
		n, err := s.claimChecks(ctx, db, owner, o, now, min(r.Target, o.Max)-mine, func(q *gorm.DB) *gorm.DB {
			return kinds(q, !o.SkipICMP).Where("lease_until < ?", window).Order("lease_until, id")
		})
		if err != nil {
			return true, err
		}
		r.Claimed += n
		mine += n
	}
	if mine < o.Max {
		// Checks nobody took for a round: whoever comes first.
		n, err := s.claimChecks(ctx, db, owner, o, now, o.Max-mine, func(q *gorm.DB) *gorm.DB {
			return kinds(q, !o.SkipICMP).Where("lease_until < ?", now.Add(-o.Lease/4)).Order("id")
		})
		if err != nil {
			return true, err
		}
		r.Claimed += n
	}
	err = db.Where("lease_owner = ? AND lease_until >= ?", owner, now).Order("id").Find(&r.Checks).Error
	return true, wrap(err, "share checks: read held")
}

// claimChecks leases to owner up to n enabled checks that pick selects and
// whose lease ends within the hand-over window. Each new lease starts when
// the old one ends, or now if it ended already. Two instances may pick the
// same rows; the WHERE on lease_until makes only one win each.
func (s *Store) claimChecks(ctx context.Context, db *gorm.DB, owner string, o ShareOptions, now time.Time, n int,
	pick func(*gorm.DB) *gorm.DB) (int, error) {
	if n <= 0 {
		return 0, nil
	}
	var ids []int64
	if err := pick(db.Model(&Check{}).Where("enabled = ? AND kind <> ?", true, KindPort)).Limit(n).Pluck("id", &ids).Error; err != nil {
		return 0, wrap(err, "share checks: pick free")
	}
	claimed := 0
	for chunk := range chunks(ids) {
		// lease_from is set first: MySQL evaluates the assignments in order.
		if err := s.leaseWrite(ctx, func(tx *gorm.DB) error {
			res := tx.Exec("UPDATE checks SET lease_from = CASE WHEN lease_until > ? THEN lease_until ELSE ? END, "+
				"lease_owner = ?, lease_until = ? WHERE id IN ? AND lease_until < ?",
				now, now, owner, now.Add(o.Lease), chunk, now.Add(o.Lease/2))
			claimed += int(res.RowsAffected)
			return res.Error
		}); err != nil {
			return claimed, wrap(err, "share checks: claim")
		}
	}
	return claimed, nil
}

// leaseWrite runs one statement that changes leases. On MySQL it reads
// committed rows: InnoDB then locks only the rows the statement changes,
// and passes over a row another transaction holds if the row's last
// committed version does not match (another instance's check, being
// written by its result writer) instead of waiting for it, whatever plan
// the optimizer picks (a small table is scanned whole).
func (s *Store) leaseWrite(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.rederiveTx(ctx, fn) // READ COMMITTED on MySQL
}

// shareTargets splits total checks over the live instances: evenly, except
// that an instance takes no more than its MaxChecks and the others share
// the rest. Every instance computes the same split from the same rows.
func shareTargets(total int, live []ProberInstance) map[string]int {
	capOf := func(in ProberInstance) int {
		if in.MaxChecks <= 0 {
			return total
		}
		return min(in.MaxChecks, total)
	}
	sorted := append([]ProberInstance(nil), live...)
	sort.Slice(sorted, func(i, j int) bool {
		if ci, cj := capOf(sorted[i]), capOf(sorted[j]); ci != cj {
			return ci < cj
		}
		return sorted[i].ID < sorted[j].ID
	})
	out := make(map[string]int, len(sorted))
	left := total
	for i, in := range sorted {
		share := (left + len(sorted) - i - 1) / (len(sorted) - i)
		out[in.ID] = min(share, capOf(in))
		left -= out[in.ID]
	}
	return out
}
