package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// Enabled checks no instance holds past the grace are counted, with since
// when: a new check from its creation, one whose instance died from the
// end of its lease. Held and disabled checks are not, nor checks within
// the grace. A lease round reports the count at its start.
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
		if r := round("p1", 1); r.Unprobed.Checks != 2 || len(r.Checks) != 1 {
			t.Fatalf("the round reports %d unprobed and holds %d, want 2 and 1", r.Unprobed.Checks, len(r.Checks))
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
