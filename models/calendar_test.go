package models_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

func feedRefs(t *testing.T, s *models.Store, token string) []string {
	t.Helper()
	f, err := s.CalendarFeedOf(context.Background(), token)
	if err != nil {
		t.Fatalf("feed: %v", err)
	}
	var refs []string
	for _, e := range f.Entries {
		refs = append(refs, e.Visit.Ref)
	}
	return refs
}

func TestCalendarFeeds(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		ctx := context.Background()
		raw := rawDB(t, db)
		vs := visitStates{t, raw}
		custB := models.UserActor(f.fx.CustB, "10.0.0.2")
		a, _ := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, f.input())
		pending, _ := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, f.input())
		dropped, _ := s.CreateVisit(ctx, f.customer, f.fx.OrgA.ID, f.input())
		b, err := s.CreateVisit(ctx, custB, f.fx.OrgB.ID, f.inputB())
		if err != nil || a == nil || pending == nil || dropped == nil {
			t.Fatalf("visits: %v", err)
		}
		vs.approve(a, f.fx.Engineer)
		vs.approve(b, f.fx.Engineer)
		vs.approve(dropped, f.fx.Engineer)
		vs.set(dropped, models.VisitCancelled) // cancelled after approval

		tokA, err := s.NewCalendarToken(ctx, f.customer, f.fx.CustA.ID)
		if err != nil || !models.ValidCalendarToken(tokA) {
			t.Fatalf("token %q (%v)", tokA, err)
		}
		var stored []string
		if err := raw.Table("calendar_tokens").Pluck("token_hash", &stored).Error; err != nil || len(stored) != 1 || strings.Contains(stored[0], tokA) || len(stored[0]) != 64 {
			t.Fatalf("stored %v (%v): want only a SHA-256", stored, err)
		}
		tokB, err := s.NewCalendarToken(ctx, custB, f.fx.CustB.ID)
		if err != nil {
			t.Fatal(err)
		}
		tokR, err := s.NewCalendarToken(ctx, models.UserActor(f.fx.Reception, ""), f.fx.Reception.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.NewCalendarToken(ctx, models.UserActor(f.fx.Engineer, ""), f.fx.Engineer.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("an engineer's feed: %v, want not found", err)
		}

		if got, want := feedRefs(t, s, tokA), []string{a.Ref, dropped.Ref}; !slices.Equal(got, want) {
			t.Fatalf("customer A's feed %v, want %v (not the pending one, not B's)", got, want)
		}
		feed, _ := s.CalendarFeedOf(ctx, tokA)
		if e := feed.Entries[0]; e.OrgName != f.fx.OrgA.Name || e.SiteName != f.site.Name || e.Escort != f.fx.Engineer.Name ||
			!slices.Equal(e.Visitors, []string{"张伟", "Anna Berg"}) || feed.User.ID != f.fx.CustA.ID {
			t.Fatalf("entry %+v", e)
		}
		if feed.Entries[1].Visit.State != models.VisitCancelled {
			t.Fatalf("dropped visit state %s", feed.Entries[1].Visit.State)
		}
		if got := feedRefs(t, s, tokB); !slices.Equal(got, []string{b.Ref}) {
			t.Fatalf("customer B's feed %v", got)
		}
		if got := feedRefs(t, s, tokR); len(got) != 3 || !slices.Contains(got, a.Ref) || !slices.Contains(got, b.Ref) {
			t.Fatalf("reception's feed %v, want both organizations'", got)
		}

		// The last use is written at most once a minute.
		lastUsed := func() time.Time {
			t.Helper()
			tok, err := s.CalendarTokenOf(ctx, f.fx.CustA.ID)
			if err != nil || tok.LastUsedAt == nil {
				t.Fatalf("token %+v (%v)", tok, err)
			}
			return tok.LastUsedAt.UTC()
		}
		first := lastUsed()
		clock.Advance(30 * time.Second)
		feedRefs(t, s, tokA)
		if got := lastUsed(); !got.Equal(first) {
			t.Fatalf("last use moved after 30 s: %v → %v", first, got)
		}
		clock.Advance(31 * time.Second)
		feedRefs(t, s, tokA)
		if got := lastUsed(); !got.After(first) {
			t.Fatalf("last use did not move after 61 s: %v", got)
		}

		// A new token replaces the old; revoking ends it; unknown and
		// malformed tokens are not found.
		tokA2, err := s.NewCalendarToken(ctx, f.customer, f.fx.CustA.ID)
		if err != nil || tokA2 == tokA {
			t.Fatalf("new token %q (%v)", tokA2, err)
		}
		for _, bad := range []string{tokA, "", "nope", strings.Repeat("A", 43), tokA2 + "x"} {
			if _, err := s.CalendarFeedOf(ctx, bad); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("token %q: %v, want not found", bad, err)
			}
		}
		if err := s.RevokeCalendarToken(ctx, f.customer, f.fx.CustA.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CalendarFeedOf(ctx, tokA2); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("revoked token: %v", err)
		}
		if _, err := s.CalendarTokenOf(ctx, f.fx.CustA.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("revoked token still there: %v", err)
		}
		if err := s.RevokeCalendarToken(ctx, f.customer, f.fx.CustA.ID); err != nil {
			t.Fatalf("revoking nothing: %v", err)
		}
		made, revoked := auditOf(t, s, models.AuditCalendarTokenMade), auditOf(t, s, models.AuditCalendarTokenRevoked)
		if len(made) != 4 || len(revoked) != 1 || detailOf(t, made[0])["replaced"] != true {
			t.Fatalf("records: %d made, %d revoked", len(made), len(revoked))
		}
		for _, e := range made {
			if strings.Contains(e.Detail, tokA) || strings.Contains(e.Detail, tokA2) {
				t.Fatalf("a record holds the token: %s", e.Detail)
			}
		}

		// A disabled user's feed is gone.
		if err := raw.Exec("UPDATE users SET disabled_at = ? WHERE id = ?", clock.Now(), f.fx.CustB.ID).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := s.CalendarFeedOf(ctx, tokB); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("disabled user's feed: %v", err)
		}

		// Visits that ended more than 30 days ago leave the feed.
		clock.Advance(b.PlannedTo.Sub(clock.Now()) + models.CalendarPast + time.Minute)
		if got := feedRefs(t, s, tokR); len(got) != 0 {
			t.Fatalf("old visits in the feed: %v", got)
		}
	})
}
