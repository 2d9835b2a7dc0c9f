package models_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// One endpoint's backlog does not take every sender of a claim: each
// claim takes at most HookClaimPerEndpoint of an endpoint, so Bravo's
// delivery, queued after Alpha's twelve, is in the first claim; the rest
// of Alpha's follow, oldest first.
func TestClaimHookDeliveriesSharesAmongEndpoints(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		f := dbtest.Seed(t, s)
		mk := func(u *models.User, url string) *models.WebhookEndpoint {
			t.Helper()
			e, _, err := s.CreateWebhook(ctx, models.UserActor(u, "192.0.2.1"), models.ScopeOf(u), *u.OrgID,
				models.WebhookInput{URL: url, Events: []string{models.HookVisitApproved}})
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
		ea, eb := mk(f.CustA, "https://hooks.example.com/a"), mk(f.CustB, "https://hooks.example.com/b")
		alpha, err := models.QueueHookPings(s, ea, 12)
		if err != nil {
			t.Fatal(err)
		}
		bravo, err := models.QueueHookPings(s, eb, 1)
		if err != nil {
			t.Fatal(err)
		}
		jobs, err := s.ClaimHookDeliveries(ctx, "portal-a", time.Minute, 3)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, j := range jobs {
			got = append(got, j.Delivery.ID)
		}
		want := []int64{alpha[0], alpha[1], bravo[0]}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) || models.HookClaimPerEndpoint != 2 {
			t.Fatalf("first claim %v, want Alpha's two oldest and Bravo's %v", got, want)
		}
		jobs, err = s.ClaimHookDeliveries(ctx, "portal-b", time.Minute, 3)
		if err != nil {
			t.Fatal(err)
		}
		got = got[:0]
		for _, j := range jobs {
			got = append(got, j.Delivery.ID)
		}
		if !slices.Equal(got, alpha[2:4]) {
			t.Fatalf("second claim %v, want Alpha's next two %v (an endpoint's share, the leased ones skipped)", got, alpha[2:4])
		}
	})
}

// The test button queues one ping at a time: a second press while the
// first is pending is refused (and audited nothing); once it is sent,
// another may be queued.
func TestSendWebhookTestOneAtATime(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		f := dbtest.Seed(t, s)
		a, sc := models.UserActor(f.CustA, "192.0.2.1"), models.ScopeOf(f.CustA)
		e, _, err := s.CreateWebhook(ctx, a, sc, f.OrgA.ID, models.WebhookInput{URL: "https://hooks.example.com/a",
			Events: []string{models.HookVisitApproved}})
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.SendWebhookTest(ctx, a, sc, e.Ref)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.SendWebhookTest(ctx, a, sc, e.Ref)
		if v, ok := models.AsValidation(err); !ok || v.Key != "webhooks.error.test_pending" {
			t.Fatalf("second test while the first is pending: %v, want webhooks.error.test_pending", err)
		}
		list, err := s.ListWebhookDeliveries(ctx, sc, e, 0, 10)
		if err != nil || len(list) != 1 {
			t.Fatalf("deliveries %d (%v), want the one ping", len(list), err)
		}
		jobs, err := s.ClaimHookDeliveries(ctx, "portal-a", time.Minute, 5)
		if err != nil || len(jobs) != 1 || jobs[0].Delivery.ID != d.ID {
			t.Fatalf("claim %v (%v)", jobs, err)
		}
		if _, err := s.RecordHookAttempt(ctx, "portal-a", d.ID, models.HookResult{Delivered: true, StatusCode: 200}, 15); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SendWebhookTest(ctx, a, sc, e.Ref); err != nil {
			t.Fatalf("a test after the first was sent: %v", err)
		}
	})
}

// The janitor's purge removes finished deliveries older than the log's
// days with their attempts; a recent one and a pending one, however old,
// stay.
func TestPurgeHookLogKeepsRecentAndPending(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		f := dbtest.Seed(t, s)
		a, sc := models.UserActor(f.CustA, "192.0.2.1"), models.ScopeOf(f.CustA)
		e, _, err := s.CreateWebhook(ctx, a, sc, f.OrgA.ID, models.WebhookInput{URL: "https://hooks.example.com/a",
			Events: []string{models.HookVisitApproved}})
		if err != nil {
			t.Fatal(err)
		}
		sent := func() int64 {
			t.Helper()
			ids, err := models.QueueHookPings(s, e, 1)
			if err != nil {
				t.Fatal(err)
			}
			// The claim may take the old pending one too: it stays pending.
			if _, err := s.ClaimHookDeliveries(ctx, "p", time.Minute, 5); err != nil {
				t.Fatal(err)
			}
			if _, err := s.RecordHookAttempt(ctx, "p", ids[0], models.HookResult{Delivered: true, StatusCode: 200}, 15); err != nil {
				t.Fatal(err)
			}
			return ids[0]
		}
		old := sent()
		clock.Advance(time.Hour)
		pending, err := models.QueueHookPings(s, e, 1)
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(40 * 24 * time.Hour)
		recent := sent()
		n, err := s.PurgeHookLog(ctx, clock.Now().Add(-30*24*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("purged %d (%v), want the old delivery only", n, err)
		}
		if _, _, err := s.GetWebhookDelivery(ctx, sc, e, old); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("the old delivery: %v, want gone", err)
		}
		for _, id := range []int64{recent, pending[0]} {
			d, as, err := s.GetWebhookDelivery(ctx, sc, e, id)
			if err != nil {
				t.Fatalf("delivery %d: %v, want kept", id, err)
			}
			if id == recent && len(as) != 1 {
				t.Errorf("the recent delivery kept %d attempts, want 1", len(as))
			}
			if id == pending[0] && d.Status != models.HookPending {
				t.Errorf("the old pending delivery is %s", d.Status)
			}
		}
		if n, err := s.PurgeHookLog(ctx, clock.Now().Add(-30*24*time.Hour)); err != nil || n != 0 {
			t.Errorf("a second purge removed %d (%v)", n, err)
		}
	})
}
