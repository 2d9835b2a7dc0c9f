package models_test

import (
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// Issue 9 point 8: last_seen was written at most once a minute, and the idle
// limit counted from it, so a session used 59 seconds after its last
// recorded request ended 59 seconds before the limit.
func TestIdleTimeoutNeverFiresEarly(t *testing.T) {
	for _, idle := range []time.Duration{2 * time.Hour, 10 * time.Minute, 30 * time.Second} {
		p := models.DefaultSessionPolicy
		p.Idle = idle
		w := p.TouchEvery()
		t.Run("idle "+idle.String(), func(t *testing.T) {
			if w <= 0 || w > time.Minute || w > idle/60 {
				t.Fatalf("TouchEvery() = %v, want in (0, min(1m, %v)]", w, idle/60)
			}
			dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
				f := dbtest.Seed(t, s)
				ctx := t.Context()
				raw, err := s.CreateSession(ctx, f.CustA.ID, models.StageFull, p, "", "", "")
				if err != nil {
					t.Fatal(err)
				}
				lookup := func() error { _, _, err := s.LookupSession(ctx, raw, p); return err }
				// Requests at every gap just short of the write interval: each
				// is the user's last request for a while, and the session must
				// live a full idle period after each of them.
				for _, gap := range []time.Duration{w - time.Millisecond, w / 2, time.Millisecond, w - time.Millisecond} {
					clock.Advance(gap)
					if err := lookup(); err != nil {
						t.Fatalf("request after %v: %v", gap, err)
					}
					clock.Advance(idle - time.Millisecond)
					if err := lookup(); err != nil {
						t.Fatalf("a request %v after the last one (within the idle limit %v) found the session gone: %v", idle-time.Millisecond, idle, err)
					}
				}
				// It does end: at most the write interval after the limit.
				clock.Advance(idle + w)
				if err := lookup(); err == nil {
					t.Fatalf("session live %v after its last request, idle limit %v", idle+w, idle)
				}
			})
		})
	}
}
