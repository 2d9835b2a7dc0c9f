package models_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

var policy = models.DefaultSessionPolicy

// newSession starts a full session for u and fails the test if it cannot.
func newSession(t *testing.T, s *models.Store, u *models.User) string {
	t.Helper()
	raw, err := s.CreateSession(context.Background(), u.ID, models.StageFull, policy, "192.0.2.1", "test agent", "")
	if err != nil {
		t.Fatalf("create session: %v", err)
	}
	return raw
}

// wantLive fails unless raw is a live session of u.
func wantLive(t *testing.T, s *models.Store, raw string, u *models.User) *models.Session {
	t.Helper()
	sess, su, err := s.LookupSession(context.Background(), raw, policy)
	if err != nil {
		t.Fatalf("lookup session of %s: %v", u.Email, err)
	}
	if sess.UserID != u.ID || su.ID != u.ID {
		t.Fatalf("session belongs to user %d/%d, want %d", sess.UserID, su.ID, u.ID)
	}
	return sess
}

// wantGone fails unless raw is not a live session.
func wantGone(t *testing.T, s *models.Store, raw string) {
	t.Helper()
	sess, u, err := s.LookupSession(context.Background(), raw, policy)
	if !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("lookup = %v, %v, %v; want ErrNotFound", sess, u, err)
	}
}

func wantCount(t *testing.T, s *models.Store, u *models.User, want int64) {
	t.Helper()
	n, err := s.CountSessions(context.Background(), u.ID, models.DefaultSessionPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("%s has %d sessions, want %d", u.Email, n, want)
	}
}

func TestSessionCreateAndLookup(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		f := dbtest.Seed(t, s)
		ctx := context.Background()

		t.Run("a new session ID is 32 lowercase hex characters", func(t *testing.T) {
			raw := newSession(t, s, f.CustA)
			if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(raw) {
				t.Fatalf("session ID %q is not 32 hex characters", raw)
			}
		})

		t.Run("two sessions never share an ID", func(t *testing.T) {
			seen := map[string]bool{}
			for range 20 {
				raw := newSession(t, s, f.CustB)
				if seen[raw] {
					t.Fatalf("session ID %s issued twice", raw)
				}
				seen[raw] = true
			}
		})

		t.Run("lookup finds the session with its user, stage, address and start", func(t *testing.T) {
			raw, err := s.CreateSession(ctx, f.Engineer.ID, models.StageFull, policy, "198.51.100.7", "Firefox", "")
			if err != nil {
				t.Fatal(err)
			}
			sess := wantLive(t, s, raw, f.Engineer)
			if sess.Stage != models.StageFull || sess.IP != "198.51.100.7" || sess.UserAgent != "Firefox" {
				t.Fatalf("session %+v", sess)
			}
			if !sess.CreatedAt.Equal(clock.Now()) || !sess.ExpiresAt.Equal(clock.Now().Add(policy.Absolute)) {
				t.Fatalf("created %v expires %v, want %v and +%v", sess.CreatedAt, sess.ExpiresAt, clock.Now(), policy.Absolute)
			}
		})

		t.Run("a very long user agent is cut to 300 bytes and still stored", func(t *testing.T) {
			raw, err := s.CreateSession(ctx, f.Admin.ID, models.StageFull, policy, "", strings.Repeat("u", 1000), "")
			if err != nil {
				t.Fatal(err)
			}
			if sess := wantLive(t, s, raw, f.Admin); len(sess.UserAgent) != 300 {
				t.Fatalf("user agent of %d bytes, want 300", len(sess.UserAgent))
			}
		})

		t.Run("lookup refuses unknown and malformed IDs", func(t *testing.T) {
			raw := newSession(t, s, f.CustA)
			for _, bad := range []string{"", "x", models.NewSessionID(), strings.ToUpper(raw), raw + "0", raw[:31], raw[1:] + "'"} {
				wantGone(t, s, bad)
			}
		})

		t.Run("replacing a session deletes the one it supersedes", func(t *testing.T) {
			mfa, err := s.CreateSession(ctx, f.CustA.ID, models.StageMFA, policy, "", "", "")
			if err != nil {
				t.Fatal(err)
			}
			if sess := wantLive(t, s, mfa, f.CustA); sess.Stage != models.StageMFA {
				t.Fatalf("stage %q, want mfa", sess.Stage)
			}
			full, err := s.CreateSession(ctx, f.CustA.ID, models.StageFull, policy, "", "", mfa)
			if err != nil {
				t.Fatal(err)
			}
			wantGone(t, s, mfa)
			wantLive(t, s, full, f.CustA)
		})

		t.Run("DeleteSession signs out that session only", func(t *testing.T) {
			a, b := newSession(t, s, f.Reception), newSession(t, s, f.Reception)
			wantCount(t, s, f.Reception, 2)
			if err := s.DeleteSession(ctx, a); err != nil {
				t.Fatal(err)
			}
			wantGone(t, s, a)
			wantLive(t, s, b, f.Reception)
			wantCount(t, s, f.Reception, 1)
			if err := s.DeleteSession(ctx, a); err != nil {
				t.Fatalf("deleting a deleted session: %v", err)
			}
		})
	})
}

func TestSessionTimeouts(t *testing.T) {
	idle := []struct {
		name  string
		after time.Duration
		live  bool
	}{
		{"a session used a minute ago is live", time.Minute, true},
		{"a session idle a second short of the limit is live", policy.Idle - time.Second, true},
		// Its last request may have gone unrecorded for up to TouchEvery.
		{"a session idle exactly the limit is live", policy.Idle, true},
		{"a session idle a second short of the limit and the write interval is live", policy.Idle + policy.TouchEvery() - time.Second, true},
		{"a session idle the limit and the write interval is gone", policy.Idle + policy.TouchEvery(), false},
		{"a session idle past them is gone", policy.Idle + policy.TouchEvery() + time.Second, false},
	}
	for _, c := range idle {
		t.Run(c.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
				f := dbtest.Seed(t, s)
				raw := newSession(t, s, f.CustA)
				clock.Advance(c.after)
				if c.live {
					wantLive(t, s, raw, f.CustA)
				} else {
					wantGone(t, s, raw)
					// An expired session found by lookup is deleted.
					clock.Advance(-c.after)
					wantGone(t, s, raw)
				}
			})
		})
	}

	t.Run("use keeps a session alive past the idle limit", func(t *testing.T) {
		dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
			f := dbtest.Seed(t, s)
			raw := newSession(t, s, f.CustA)
			for range 3 {
				clock.Advance(policy.Idle - time.Minute)
				wantLive(t, s, raw, f.CustA)
			}
			clock.Advance(policy.Idle + policy.TouchEvery())
			wantGone(t, s, raw)
		})
	})

	t.Run("a session used within the idle limit still ends at the absolute limit", func(t *testing.T) {
		dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
			f := dbtest.Seed(t, s)
			start := clock.Now()
			raw := newSession(t, s, f.CustA)
			step := policy.Idle - 10*time.Minute
			for clock.Now().Add(step).Before(start.Add(policy.Absolute)) {
				clock.Advance(step)
				wantLive(t, s, raw, f.CustA)
			}
			clock.Advance(start.Add(policy.Absolute).Sub(clock.Now()) - time.Second)
			wantLive(t, s, raw, f.CustA)
			clock.Advance(time.Second)
			wantGone(t, s, raw)
			wantCount(t, s, f.CustA, 0)
		})
	})

	t.Run("a second-factor session ends after the MFA limit", func(t *testing.T) {
		dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
			f := dbtest.Seed(t, s)
			raw, err := s.CreateSession(context.Background(), f.CustA.ID, models.StageMFA, policy, "", "", "")
			if err != nil {
				t.Fatal(err)
			}
			clock.Advance(policy.MFA - time.Second)
			wantLive(t, s, raw, f.CustA)
			clock.Advance(time.Second)
			wantGone(t, s, raw)
		})
	})

	t.Run("PurgeExpired deletes idle and expired sessions and keeps live ones", func(t *testing.T) {
		dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
			f := dbtest.Seed(t, s)
			old := newSession(t, s, f.CustA)
			clock.Advance(policy.Idle + time.Minute)
			fresh := newSession(t, s, f.CustA)
			n, err := s.PurgeExpired(context.Background(), policy.Idle, 24*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Fatalf("purged %d rows, want 1", n)
			}
			wantCount(t, s, f.CustA, 1)
			wantLive(t, s, fresh, f.CustA)
			clock.Advance(-policy.Idle)
			wantGone(t, s, old)
		})
	})
}

func TestSessionsEndWithAccountChanges(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, _ *dbtest.Clock) {
		f := dbtest.Seed(t, s)
		ctx := context.Background()

		t.Run("changing one's password keeps the current session and ends the others", func(t *testing.T) {
			keep, other1, other2 := newSession(t, s, f.CustA), newSession(t, s, f.CustA), newSession(t, s, f.CustA)
			bystander := newSession(t, s, f.CustB)
			if err := s.SetPassword(ctx, models.UserActor(f.CustA, ""), f.CustA.ID, "a new and longer secret", keep); err != nil {
				t.Fatal(err)
			}
			wantLive(t, s, keep, f.CustA)
			wantGone(t, s, other1)
			wantGone(t, s, other2)
			wantLive(t, s, bystander, f.CustB)
			wantCount(t, s, f.CustA, 1)
		})

		t.Run("a password reset without a session to keep ends them all", func(t *testing.T) {
			a, b := newSession(t, s, f.CustA), newSession(t, s, f.CustA)
			if err := s.SetPassword(ctx, models.UserActor(f.Admin, ""), f.CustA.ID, "reset by the admin 77", ""); err != nil {
				t.Fatal(err)
			}
			wantGone(t, s, a)
			wantGone(t, s, b)
			wantCount(t, s, f.CustA, 0)
		})

		t.Run("a password refused by the policy ends no session", func(t *testing.T) {
			a := newSession(t, s, f.CustA)
			err := s.SetPassword(ctx, models.UserActor(f.CustA, ""), f.CustA.ID, "password1234", "")
			wantInvalid(t, err, "password", "error.password_common")
			wantLive(t, s, a, f.CustA)
		})

		t.Run("disabling a user ends every session and re-enabling brings none back", func(t *testing.T) {
			a, b := newSession(t, s, f.CustB), newSession(t, s, f.CustB)
			if err := s.SetUserDisabled(ctx, models.UserActor(f.Admin, ""), f.CustB.ID, true); err != nil {
				t.Fatal(err)
			}
			wantGone(t, s, a)
			wantGone(t, s, b)
			wantCount(t, s, f.CustB, 0)
			if err := s.SetUserDisabled(ctx, models.UserActor(f.Admin, ""), f.CustB.ID, false); err != nil {
				t.Fatal(err)
			}
			wantGone(t, s, a)
			wantLive(t, s, newSession(t, s, f.CustB), f.CustB)
		})

		t.Run("a session created for a disabled user is not live", func(t *testing.T) {
			if err := s.SetUserDisabled(ctx, models.UserActor(f.Admin, ""), f.Reception.ID, true); err != nil {
				t.Fatal(err)
			}
			raw := newSession(t, s, f.Reception)
			wantGone(t, s, raw)
		})

		role := func(u *models.User, r models.Role, org *int64) models.UserInput {
			return models.UserInput{Email: u.Email, Name: u.Name, Phone: u.Phone, Role: r, OrgID: org}
		}
		updates := []struct {
			name string
			user func() *models.User
			in   func(u *models.User) models.UserInput
			ends bool
		}{
			{"a role change ends the user's sessions", func() *models.User { return f.Engineer },
				func(u *models.User) models.UserInput { return role(u, models.RoleAdmin, nil) }, true},
			{"moving a customer to another organization ends their sessions", func() *models.User { return f.CustA },
				func(u *models.User) models.UserInput { return role(u, models.RoleCustomer, &f.OrgB.ID) }, true},
			{"a name change keeps the user's sessions", func() *models.User { return f.Service },
				func(u *models.User) models.UserInput {
					in := role(u, u.Role, u.OrgID)
					in.Name = "Wang Renamed"
					return in
				}, false},
		}
		for _, c := range updates {
			t.Run(c.name, func(t *testing.T) {
				u, err := s.GetUser(ctx, c.user().ID)
				if err != nil {
					t.Fatal(err)
				}
				raw := newSession(t, s, u)
				other := newSession(t, s, f.Admin)
				got, err := s.UpdateUser(ctx, models.UserActor(f.Admin, ""), u.ID, c.in(u))
				if err != nil {
					t.Fatal(err)
				}
				if c.ends {
					wantGone(t, s, raw)
				} else {
					wantLive(t, s, raw, got)
				}
				wantLive(t, s, other, f.Admin)
			})
		}
	})
}

func TestSessionStoresOnlyTheHashOfItsID(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := dbtest.Seed(t, s)
		raw := newSession(t, s, f.CustA)
		wantLive(t, s, raw, f.CustA)
		wantCount(t, s, f.CustA, 1)

		var keys []string
		if err := rawDB(t, db).Table("sessions").Where("user_id = ?", f.CustA.ID).Pluck("id_hash", &keys).Error; err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(raw))
		t.Run("the stored key is the SHA-256 of the ID, not the ID", func(t *testing.T) {
			if len(keys) != 1 {
				t.Fatalf("stored keys %v, want one", keys)
			}
			if keys[0] == raw || strings.Contains(keys[0], raw) {
				t.Fatalf("stored key %q holds the raw ID", keys[0])
			}
			if keys[0] != hex.EncodeToString(sum[:]) {
				t.Fatalf("stored key %q is not sha256(raw)", keys[0])
			}
		})
		t.Run("the stored key does not work as a cookie", func(t *testing.T) {
			wantGone(t, s, keys[0])
			wantGone(t, s, keys[0][:32])
		})
	})
}
