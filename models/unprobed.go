package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// UnprobedGrace is how long an enabled check may go without a lease before
// it counts as unprobed on the pages and in /healthz: one lease of the
// prober's default (1 minute) and one lease round (15 s), the time other
// instances need to take over the checks of one that died.
const UnprobedGrace = 75 * time.Second

// Unprobed is the enabled checks that no instance has held for longer than
// a grace: nobody probes them, so an outage of theirs goes unseen.
type Unprobed struct {
	Checks int
	// Since is when the first of them stopped being held (its lease
	// ended), or was created if no instance ever held it; zero when
	// Checks is 0.
	Since time.Time
}

// UnprobedChecks counts the enabled checks whose lease ended, and which
// were created, more than grace ago; port checks are not leased (their
// switch is) and never counted. When every check is held that is one
// COUNT over an empty range of the lease_until index; otherwise a second
// statement finds since when.
func (s *Store) UnprobedChecks(ctx context.Context, grace time.Duration) (Unprobed, error) {
	cut := s.now().Add(-grace)
	q := func() *gorm.DB {
		return s.db.WithContext(ctx).Model(&Check{}).Where("lease_until < ? AND enabled = ? AND created_at < ? AND kind <> ?", cut, true, cut, KindPort)
	}
	var n int64
	if err := q().Count(&n).Error; err != nil {
		return Unprobed{}, wrap(err, "unprobed checks")
	}
	if n == 0 {
		return Unprobed{}, nil
	}
	var first Check
	if err := q().Select("lease_until", "created_at").
		Order("CASE WHEN lease_until > created_at THEN lease_until ELSE created_at END").Limit(1).Find(&first).Error; err != nil {
		return Unprobed{}, wrap(err, "unprobed checks")
	}
	u := Unprobed{Checks: int(n), Since: first.CreatedAt.UTC()}
	if first.LeaseUntil.After(first.CreatedAt) {
		u.Since = first.LeaseUntil.UTC()
	}
	return u, nil
}
