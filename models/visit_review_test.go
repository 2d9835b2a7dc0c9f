package models_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// Requests racing for a site's last places: its capacity holds. Before the
// site's row was locked, MariaDB took 6 of 8 requests of two visitors into
// a site for two.
func TestParallelRequestsCannotOverfillASite(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		if err := rawDB(t, db).Table("sites").Where("id = ?", f.site.ID).Update("max_inside", 2).Error; err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		made, full := 0, 0
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.CreateVisit(context.Background(), f.customer, f.fx.OrgA.ID, f.input())
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					made++
				case hasInvalid(err, "visitors", "visits.error.site_full"):
					full++
				default:
					t.Errorf("create: %v", err)
				}
			}()
		}
		wg.Wait()
		if made != 1 || full != 7 || countVisits(t, s, db) != 1 {
			t.Fatalf("%d made, %d refused as full, %d stored; want 1, 7, 1", made, full, countVisits(t, s, db))
		}
	})
}

// Reception decides on what it saw: a visit the customer changed after the
// decision page was drawn is neither approved nor refused unseen.
func TestADecisionOnAChangedVisitIsRefused(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		desk := models.UserActor(f.fx.Reception, "10.0.0.3")
		v, err := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, f.input())
		if err != nil {
			t.Fatal(err)
		}
		seen := v.UpdatedAt // reception opens the page
		clock.Advance(time.Minute)
		in := f.input()
		in.Activity, in.Visitors = "removal", in.Visitors[1:]
		if _, err := s.UpdateVisit(ctx, f.customer, f.fx.OrgA.ID, v.ID, in); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
		_, err = s.ApproveVisit(ctx, desk, f.fx.OrgA.ID, v.ID, models.ApproveInput{EscortID: f.fx.Engineer.ID, AsOf: seen})
		wantInvalid(t, err, "decision", "reception.error.changed")
		_, err = s.RefuseVisit(ctx, desk, f.fx.OrgA.ID, v.ID, "no", seen)
		wantInvalid(t, err, "decision", "reception.error.changed")
		again, err := s.GetVisitByRef(ctx, models.AllOrgs(), v.Ref)
		if err != nil || again.State != models.VisitPending {
			t.Fatalf("after refused decisions: %+v (%v)", again, err)
		}
		if _, err := s.ApproveVisit(ctx, desk, f.fx.OrgA.ID, v.ID, models.ApproveInput{EscortID: f.fx.Engineer.ID, AsOf: again.UpdatedAt}); err != nil {
			t.Fatalf("approve what was seen: %v", err)
		}
	})
}

// A visit whose exit has passed while it waited is not approved.
func TestAVisitAlreadyOverIsNotApproved(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		v, err := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, f.input())
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(v.PlannedTo.Sub(clock.Now()) + time.Minute)
		_, err = s.ApproveVisit(ctx, models.UserActor(f.fx.Reception, ""), f.fx.OrgA.ID, v.ID, models.ApproveInput{EscortID: f.fx.Engineer.ID})
		wantInvalid(t, err, "planned_to", "reception.error.exit_past")
	})
}
