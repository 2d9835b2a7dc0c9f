package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// Enabled checks no instance holds past the grace are counted, with since
// when: a new check from its creation, one whose instance died from the
// end of its lease. Held and disabled checks are not, nor checks within
// the grace. A lease round reports the count after its claims: those it
// claimed are held, not unprobed.
func TestUnprobedChecksCountsChecksNobodyHolds(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		sys := models.SystemActor("test")
		created := clock.Now()
		var checks []models.Check
		for _, name := range []string{"a", "b", "c"} {
			d, err := s.CreateDevice(ctx, sys, models.DeviceInput{OrgID: fx.OrgA.ID, Name: name, Address: "127.0.0.1"})
			if err != nil {
				t.Fatal(err)
			}
			cs, err := s.ListChecks(ctx, models.AllOrgs(), fx.OrgA.ID, d.ID)
			if err != nil || len(cs) != 1 {
				t.Fatalf("checks of %s: %v %v", name, cs, err)
			}
			checks = append(checks, cs[0])
		}
		if err := s.SetCheckEnabled(ctx, sys, fx.OrgA.ID, checks[2].ID, false); err != nil {
			t.Fatal(err)
		}
		unprobed := func(when string, want int, since time.Time) {
			t.Helper()
			u, err := s.UnprobedChecks(ctx, models.UnprobedGrace)
			if err != nil {
				t.Fatal(err)
			}
			if u.Checks != want || !u.Since.Equal(since) {
				t.Errorf("%s: %d unprobed since %v, want %d since %v", when, u.Checks, u.Since, want, since)
			}
		}
		lease := time.Minute
		round := func(owner string, max int) models.ShareRound {
			t.Helper()
			r, err := s.ShareChecks(ctx, owner, models.ShareOptions{Lease: lease, Max: max})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}

		unprobed("new checks, within the grace", 0, time.Time{})
		clock.Advance(models.UnprobedGrace + time.Second)
		unprobed("two enabled checks nobody ever held", 2, created)
		if r := round("p1", 1); r.Unprobed.Checks != 1 || !r.Unprobed.Since.Equal(created) || len(r.Checks) != 1 {
			t.Fatalf("the round reports %d unprobed since %v and holds %d, want 1 since %v and 1 (the one p1 may not take)",
				r.Unprobed.Checks, r.Unprobed.Since, len(r.Checks), created)
		}
		unprobed("one held, one not", 1, created)
		round("p2", 1)
		unprobed("both held", 0, time.Time{})

		// p2 dies; p1 renews its own lease.
		clock.Advance(15 * time.Second)
		leaseEnd := clock.Now().Add(-15 * time.Second).Add(lease) // p2's lease, taken a round ago
		for !clock.Now().After(leaseEnd.Add(models.UnprobedGrace)) {
			if r := round("p1", 1); r.Unprobed.Checks != 0 {
				t.Fatalf("%v after p2's lease ended, within the grace: the round reports %d unprobed", clock.Now().Sub(leaseEnd), r.Unprobed.Checks)
			}
			clock.Advance(15 * time.Second)
		}
		if r := round("p1", 1); r.Unprobed.Checks != 1 || !r.Unprobed.Since.Equal(leaseEnd) {
			t.Errorf("after p2 died: the round reports %d since %v, want 1 since %v", r.Unprobed.Checks, r.Unprobed.Since, leaseEnd)
		}
		unprobed("p2 died", 1, leaseEnd)
	})
}

// A single instance that starts again after a pause longer than a lease
// and a round finds every check unprobed, and claims them all in its first
// round: that round reports none unprobed (it used to report all of them,
// counted before its claims: a false alarm in the first lines of the log).
// What it may not take stays an alarm (every instance at its limit), and a
// round whose claims fail reports the count from its start with its error.
func TestARoundDoesNotReportTheChecksItClaims(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		g, _, err := models.Open(ctx, models.OpenOptions{URL: db.URL})
		if err != nil {
			t.Fatal(err)
		}
		failClaims := false
		if err := g.Callback().Raw().Before("gorm:raw").Register("test:fail-claims", func(tx *gorm.DB) {
			if failClaims && strings.HasPrefix(tx.Statement.SQL.String(), "UPDATE checks SET lease_from") {
				_ = tx.AddError(errors.New("test: claims fail"))
			}
		}); err != nil {
			t.Fatal(err)
		}
		s := models.NewStore(g, models.WithHasher(dbtest.FastHasher), models.WithSecretKey([]byte("test secret")), models.WithClock(clock.Now))
		t.Cleanup(func() { s.Close() })
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		fx := dbtest.Seed(t, s)
		created := clock.Now()
		for _, name := range []string{"a", "b", "c"} {
			if _, err := s.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: fx.OrgA.ID, Name: name, Address: "127.0.0.1"}); err != nil {
				t.Fatal(err)
			}
		}
		lease := time.Minute
		opts := models.ShareOptions{Lease: lease, Max: 100}

		// The failing round first: it claims nothing, so the count from
		// its start (3) is the count after it.
		clock.Advance(time.Hour)
		failClaims = true
		r, err := s.ShareChecks(ctx, "p1", opts)
		failClaims = false
		if err == nil || r.Unprobed.Checks != 3 || !r.Unprobed.Since.Equal(created) {
			t.Errorf("claims fail: the round reports %d unprobed since %v (err %v), want 3 since %v and an error",
				r.Unprobed.Checks, r.Unprobed.Since, err, created)
		}

		// The instance starts again after a pause: its first round claims
		// the three checks and reports none unprobed.
		clock.Advance(time.Hour)
		r, err = s.ShareChecks(ctx, "p1", opts)
		if err != nil || r.Claimed != 3 || len(r.Checks) != 3 || r.Unprobed.Checks != 0 || !r.Unprobed.Since.IsZero() {
			t.Fatalf("after a pause: the round claims %d, holds %d and reports %d unprobed since %v (err %v), want 3, 3 and 0",
				r.Claimed, len(r.Checks), r.Unprobed.Checks, r.Unprobed.Since, err)
		}
		if u, err := s.UnprobedChecks(ctx, models.UnprobedGrace); err != nil || u.Checks != 0 {
			t.Errorf("after the round: %d unprobed (%v), want 0", u.Checks, err)
		}

		// Again after a pause, now with a limit of 2: the third check is
		// still an alarm, since it stopped being held.
		heldUntil := clock.Now().Add(lease)
		clock.Advance(time.Hour)
		r, err = s.ShareChecks(ctx, "p1", models.ShareOptions{Lease: lease, Max: 2})
		if err != nil || len(r.Checks) != 2 || r.Unprobed.Checks != 1 || !r.Unprobed.Since.Equal(heldUntil) {
			t.Errorf("at its limit: the round holds %d and reports %d unprobed since %v (err %v), want 2 and 1 since %v",
				len(r.Checks), r.Unprobed.Checks, r.Unprobed.Since, err, heldUntil)
		}
	})
}
