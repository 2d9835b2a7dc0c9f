package models_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

var limits = models.DefaultSignInLimits

func signIn(s *models.Store, email, password, ip string) (*models.User, error) {
	return s.Authenticate(context.Background(), email, password, ip, limits)
}

// wantLimited fails unless err is a *RateLimitedError with a wait in (0, max].
func wantLimited(t *testing.T, err error, max time.Duration) time.Duration {
	t.Helper()
	var rl *models.RateLimitedError
	if !errors.As(err, &rl) {
		t.Fatalf("got %v, want *models.RateLimitedError", err)
	}
	if rl.RetryAfter <= 0 || rl.RetryAfter > max {
		t.Fatalf("RetryAfter = %v, want in (0, %v]", rl.RetryAfter, max)
	}
	return rl.RetryAfter
}

func TestAuthenticate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, _ *dbtest.Clock) {
		f := dbtest.Seed(t, s)
		ctx := context.Background()
		if err := s.SetUserDisabled(ctx, models.SystemActor("test"), f.CustB.ID, true); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name     string
			email    string
			password string
			want     *models.User // nil: ErrBadCredentials
		}{
			{"the right password signs in", f.CustA.Email, dbtest.Password, f.CustA},
			{"the email is matched regardless of case and surrounding space", "  A@Alpha.TEST ", dbtest.Password, f.CustA},
			{"staff sign in the same way", f.Admin.Email, dbtest.Password, f.Admin},
			{"a wrong password is refused", f.CustA.Email, "correct horse battery staple", nil},
			{"a password differing in case is refused", f.CustA.Email, strings.ToUpper(dbtest.Password), nil},
			{"an empty password is refused", f.CustA.Email, "", nil},
			{"a password longer than the maximum is refused", f.CustA.Email, dbtest.Password + strings.Repeat(" ", models.MaxPasswordLen), nil},
			{"an unknown email is refused the same way", "nobody@alpha.test", dbtest.Password, nil},
			{"an empty email is refused the same way", "", dbtest.Password, nil},
			{"a disabled user is refused even with the right password", f.CustB.Email, dbtest.Password, nil},
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				// One address per case keeps the per-address limit out of the way.
				u, err := signIn(s, c.email, c.password, fmt.Sprintf("203.0.113.%d", i+1))
				if c.want == nil {
					if !errors.Is(err, models.ErrBadCredentials) || u != nil {
						t.Fatalf("got %v, %v; want nil, ErrBadCredentials", u, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("sign-in failed: %v", err)
				}
				if u.ID != c.want.ID || u.Email != c.want.Email || u.Role != c.want.Role {
					t.Fatalf("signed in as %d %s %s, want %d %s %s", u.ID, u.Email, u.Role, c.want.ID, c.want.Email, c.want.Role)
				}
			})
		}

		t.Run("RecordSignIn stamps the user and audits the sign-in", func(t *testing.T) {
			if err := s.RecordSignIn(ctx, f.CustA, "203.0.113.99", true); err != nil {
				t.Fatal(err)
			}
			u, err := s.GetUser(ctx, f.CustA.ID)
			if err != nil {
				t.Fatal(err)
			}
			if u.LastSignInAt == nil || !u.LastSignInAt.Equal(s.Now()) {
				t.Fatalf("last sign-in %v, want %v", u.LastSignInAt, s.Now())
			}
			evs := auditOf(t, s, models.AuditSignIn)
			if len(evs) != 1 || evs[0].ActorID == nil || *evs[0].ActorID != f.CustA.ID || evs[0].IP != "203.0.113.99" {
				t.Fatalf("sign-in audit %+v", evs)
			}
			if d := detailOf(t, evs[0]); d["totp"] != true {
				t.Fatalf("detail %v, want totp true", d)
			}
		})
	})
}

func TestAuthenticateAuditsFailures(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, _ *dbtest.Clock) {
		f := dbtest.Seed(t, s)

		t.Run("a wrong password is audited against the user and their organization", func(t *testing.T) {
			if _, err := signIn(s, f.CustA.Email, "not the password at all", "198.51.100.1"); !errors.Is(err, models.ErrBadCredentials) {
				t.Fatal(err)
			}
			evs := auditOf(t, s, models.AuditSignInFailed)
			if len(evs) != 1 {
				t.Fatalf("%d failure events, want 1", len(evs))
			}
			ev := evs[0]
			if ev.ActorEmail != f.CustA.Email || ev.IP != "198.51.100.1" || ev.TargetType != "user" ||
				ev.TargetID == nil || *ev.TargetID != f.CustA.ID || ev.OrgID == nil || *ev.OrgID != f.OrgA.ID || ev.ActorID != nil {
				t.Fatalf("failure event %+v", ev)
			}
			if !ev.At.Equal(s.Now()) {
				t.Fatalf("event at %v, want %v", ev.At, s.Now())
			}
		})

		t.Run("an unknown email is audited with no target", func(t *testing.T) {
			if _, err := signIn(s, "ghost@alpha.test", dbtest.Password, "198.51.100.2"); !errors.Is(err, models.ErrBadCredentials) {
				t.Fatal(err)
			}
			ev := auditOf(t, s, models.AuditSignInFailed)[0]
			if ev.ActorEmail != "ghost@alpha.test" || ev.TargetID != nil || ev.OrgID != nil || ev.IP != "198.51.100.2" {
				t.Fatalf("failure event %+v", ev)
			}
		})

		t.Run("a rate-limited attempt is audited as limited, not as failed", func(t *testing.T) {
			for range limits.PerAccount {
				signIn(s, f.CustB.Email, "not the password at all", "198.51.100.3")
			}
			failed := len(auditOf(t, s, models.AuditSignInFailed))
			_, err := signIn(s, f.CustB.Email, dbtest.Password, "198.51.100.3")
			wantLimited(t, err, limits.Window)
			if got := len(auditOf(t, s, models.AuditSignInFailed)); got != failed {
				t.Fatalf("failure events went from %d to %d", failed, got)
			}
			evs := auditOf(t, s, models.AuditSignInLimited)
			if len(evs) != 1 || evs[0].ActorEmail != f.CustB.Email || evs[0].IP != "198.51.100.3" {
				t.Fatalf("limited events %+v", evs)
			}
		})

		t.Run("a successful password check is not audited as a failure", func(t *testing.T) {
			before := len(auditOf(t, s, models.AuditSignInFailed))
			if _, err := signIn(s, f.Admin.Email, dbtest.Password, "198.51.100.4"); err != nil {
				t.Fatal(err)
			}
			if after := len(auditOf(t, s, models.AuditSignInFailed)); after != before {
				t.Fatalf("failure events went from %d to %d", before, after)
			}
		})
	})
}

func TestAuthenticatePerAccountLimit(t *testing.T) {
	cases := []struct {
		name  string
		gap   time.Duration // between failures
		retry time.Duration // expected RetryAfter at the sixth attempt
	}{
		{"five failures at once block the account for the whole window", 0, limits.Window},
		{"five failures a minute apart block it until the oldest leaves the window", time.Minute, limits.Window - 5*time.Minute},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
				f := dbtest.Seed(t, s)
				first := clock.Now()
				for i := range limits.PerAccount {
					// Different addresses and spellings all count for the account.
					email := f.CustA.Email
					if i%2 == 1 {
						email = strings.ToUpper(email)
					}
					if _, err := signIn(s, email, "not the password at all", fmt.Sprintf("10.0.0.%d", i)); !errors.Is(err, models.ErrBadCredentials) {
						t.Fatalf("failure %d: %v", i+1, err)
					}
					clock.Advance(c.gap)
				}
				if c.gap == 0 {
					clock.Advance(time.Second)
				}

				_, err := signIn(s, f.CustA.Email, dbtest.Password, "10.0.1.1")
				retry := wantLimited(t, err, limits.Window)
				want := first.Add(limits.Window).Sub(clock.Now())
				if retry != want {
					t.Fatalf("RetryAfter = %v, want %v", retry, want)
				}

				// Another account from the same address is not affected.
				if _, err := signIn(s, f.CustB.Email, dbtest.Password, "10.0.0.1"); err != nil {
					t.Fatalf("other account: %v", err)
				}

				clock.Advance(retry - time.Second)
				_, err = signIn(s, f.CustA.Email, dbtest.Password, "10.0.1.1")
				wantLimited(t, err, time.Second)

				clock.Advance(time.Second)
				if u, err := signIn(s, f.CustA.Email, dbtest.Password, "10.0.1.1"); err != nil || u.ID != f.CustA.ID {
					t.Fatalf("once the oldest failure left the window: %v, %v", u, err)
				}
			})
		})
	}

	t.Run("after sixteen minutes the account works again", func(t *testing.T) {
		dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
			f := dbtest.Seed(t, s)
			for range limits.PerAccount {
				signIn(s, f.CustA.Email, "not the password at all", "10.0.0.1")
			}
			_, err := signIn(s, f.CustA.Email, dbtest.Password, "10.0.0.1")
			wantLimited(t, err, 15*time.Minute)
			clock.Advance(16 * time.Minute)
			if _, err := signIn(s, f.CustA.Email, dbtest.Password, "10.0.0.1"); err != nil {
				t.Fatalf("after 16 minutes: %v", err)
			}
		})
	})

	t.Run("four failures leave the right password working", func(t *testing.T) {
		dbtest.Each(t, func(t *testing.T, s *models.Store, _ *dbtest.Clock) {
			f := dbtest.Seed(t, s)
			for range limits.PerAccount - 1 {
				signIn(s, f.CustA.Email, "not the password at all", "10.0.0.1")
			}
			if _, err := signIn(s, f.CustA.Email, dbtest.Password, "10.0.0.1"); err != nil {
				t.Fatalf("after %d failures: %v", limits.PerAccount-1, err)
			}
		})
	})

	t.Run("an unknown email is limited like a real one", func(t *testing.T) {
		dbtest.Each(t, func(t *testing.T, s *models.Store, _ *dbtest.Clock) {
			for range limits.PerAccount {
				signIn(s, "ghost@alpha.test", "whatever it is", "10.0.0.1")
			}
			_, err := signIn(s, "ghost@alpha.test", "whatever it is", "10.0.0.2")
			wantLimited(t, err, limits.Window)
		})
	})
}

func TestAuthenticatePerAddressLimit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		f := dbtest.Seed(t, s)
		const attacker, neighbour = "192.0.2.66", "192.0.2.67"
		for i := range limits.PerAddress {
			email := fmt.Sprintf("guess%02d@alpha.test", i)
			if _, err := signIn(s, email, "not the password at all", attacker); !errors.Is(err, models.ErrBadCredentials) {
				t.Fatalf("failure %d: %v", i+1, err)
			}
		}

		t.Run("the next attempt from that address is limited even for a real account", func(t *testing.T) {
			_, err := signIn(s, f.CustA.Email, dbtest.Password, attacker)
			if d := wantLimited(t, err, limits.Window); d != limits.Window {
				t.Fatalf("RetryAfter = %v, want %v", d, limits.Window)
			}
		})

		t.Run("the same account from another address signs in", func(t *testing.T) {
			if u, err := signIn(s, f.CustA.Email, dbtest.Password, neighbour); err != nil || u.ID != f.CustA.ID {
				t.Fatalf("from %s: %v, %v", neighbour, u, err)
			}
		})

		t.Run("a wrong password from another address is only a bad credential", func(t *testing.T) {
			if _, err := signIn(s, f.CustB.Email, "not the password at all", neighbour); !errors.Is(err, models.ErrBadCredentials) {
				t.Fatalf("from %s: %v", neighbour, err)
			}
		})

		t.Run("the address works again once the window has passed", func(t *testing.T) {
			clock.Advance(limits.Window + time.Second)
			if _, err := signIn(s, f.CustA.Email, dbtest.Password, attacker); err != nil {
				t.Fatalf("after the window: %v", err)
			}
		})
	})
}

func TestAuthenticateUpgradesWeakHashes(t *testing.T) {
	weak := models.PasswordHasher{Memory: 512, Time: 1, Threads: 1}
	strong := models.PasswordHasher{Memory: 2048, Time: 2, Threads: 1}
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		old := dbtest.Open(t, db, models.WithClock(clock.Now), models.WithHasher(weak))
		f := dbtest.Seed(t, old)
		before, err := old.GetUser(ctx, f.CustA.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(before.PasswordHash, "$m=512,t=1,p=1$") {
			t.Fatalf("seeded hash %q was not made by the weak hasher", before.PasswordHash)
		}
		s := dbtest.Open(t, db, models.WithClock(clock.Now), models.WithHasher(strong))

		t.Run("a wrong password leaves the weak hash alone", func(t *testing.T) {
			if _, err := signIn(s, f.CustA.Email, "not the password at all", "10.0.0.1"); !errors.Is(err, models.ErrBadCredentials) {
				t.Fatal(err)
			}
			u, _ := s.GetUser(ctx, f.CustA.ID)
			if u.PasswordHash != before.PasswordHash {
				t.Fatalf("hash changed on a failed sign-in: %s", u.PasswordHash)
			}
		})

		var upgraded string
		// Step: The right password replaces the weak hash with a strong one.
		func() {
			u, err := signIn(s, f.CustA.Email, dbtest.Password, "10.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			stored, err := s.GetUser(ctx, f.CustA.ID)
			if err != nil {
				t.Fatal(err)
			}
			upgraded = stored.PasswordHash
			if upgraded == before.PasswordHash || !strings.Contains(upgraded, "$m=2048,t=2,p=1$") {
				t.Fatalf("stored hash %q was not upgraded", upgraded)
			}
			if u.PasswordHash != upgraded {
				t.Fatal("the returned user does not carry the new hash")
			}
			if ok, rehash := strong.Verify(upgraded, dbtest.Password); !ok || rehash {
				t.Fatalf("upgraded hash: Verify = %v, %v", ok, rehash)
			}
		}()

		// Step: The upgraded hash still works and is not rewritten again.
		func() {
			if _, err := signIn(s, f.CustA.Email, dbtest.Password, "10.0.0.1"); err != nil {
				t.Fatal(err)
			}
			stored, _ := s.GetUser(ctx, f.CustA.ID)
			if stored.PasswordHash != upgraded {
				t.Fatalf("hash rewritten: %s", stored.PasswordHash)
			}
		}()

		// Step: A store with weaker parameters accepts a strong hash without downgrading it.
		func() {
			if _, err := signIn(old, f.CustA.Email, dbtest.Password, "10.0.0.1"); err != nil {
				t.Fatal(err)
			}
			stored, _ := old.GetUser(ctx, f.CustA.ID)
			if stored.PasswordHash != upgraded {
				t.Fatalf("hash downgraded to %s", stored.PasswordHash)
			}
		}()
	})
}

func TestAuthenticateLimitsWaitForTheLongerBlock(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		f := dbtest.Seed(t, s)
		// The account is blocked first, from elsewhere; ten minutes later
		// the address is blocked too, so it stays blocked the longer.
		for range limits.PerAccount {
			signIn(s, f.CustA.Email, "not the password at all", "10.0.0.9")
		}
		clock.Advance(10 * time.Minute)
		for i := range limits.PerAddress {
			signIn(s, fmt.Sprintf("guess%02d@alpha.test", i), "not the password at all", "10.0.0.1")
		}

		_, err := signIn(s, f.CustA.Email, dbtest.Password, "10.0.0.1")
		wait := wantLimited(t, err, limits.Window)

		t.Run("the wait given covers the address block as well as the account block", func(t *testing.T) {
			if wait != limits.Window {
				t.Errorf("RetryAfter = %v, want %v (the address block); the account block alone ends after 5m", wait, limits.Window)
			}
		})

		t.Run("after waiting as told the sign-in is not limited again", func(t *testing.T) {
			clock.Advance(wait)
			if _, err := signIn(s, f.CustA.Email, dbtest.Password, "10.0.0.1"); err != nil {
				t.Fatalf("after waiting %v: %v", wait, err)
			}
		})
	})
}

func TestAuthenticateTakesAnyEmailInput(t *testing.T) {
	cases := []struct {
		name, email string
	}{
		{"an over-long ASCII email is only a bad credential", strings.Repeat("a", 300) + "@alpha.test"},
		{"an over-long email cut inside a character is only a bad credential", "a" + strings.Repeat("é", 200) + "@alpha.test"},
		{"an email of Chinese characters is only a bad credential", "客户@阿尔法.中国"},
		{"an email with a quote is only a bad credential", "a'@alpha.test' OR '1'='1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, s *models.Store, _ *dbtest.Clock) {
				u, err := signIn(s, c.email, dbtest.Password, "10.0.0.1")
				if !errors.Is(err, models.ErrBadCredentials) || u != nil {
					t.Fatalf("Authenticate(%.40q…) = %v, %v; want ErrBadCredentials", c.email, u, err)
				}
				if n := len(auditOf(t, s, models.AuditSignInFailed)); n != 1 {
					t.Fatalf("%d failure events, want 1", n)
				}
			})
		})
	}
}

func TestCheckSignInLimits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		f := dbtest.Seed(t, s)
		ctx := context.Background()
		check := func(email, ip string) error { return s.CheckSignInLimits(ctx, email, ip, limits) }

		t.Run("a fresh account and address are not limited", func(t *testing.T) {
			if err := check(f.CustA.Email, "10.0.0.1"); err != nil {
				t.Fatal(err)
			}
		})

		for range limits.PerAccount - 1 {
			signIn(s, f.CustA.Email, "not the password at all", "10.0.0.1")
		}
		t.Run("one failure short of the limit is not limited", func(t *testing.T) {
			if err := check(f.CustA.Email, "10.0.0.1"); err != nil {
				t.Fatal(err)
			}
		})

		t.Run("checking does not itself count as an attempt", func(t *testing.T) {
			for range 10 {
				check(f.CustA.Email, "10.0.0.1")
			}
			if err := check(f.CustA.Email, "10.0.0.1"); err != nil {
				t.Fatal(err)
			}
		})

		signIn(s, f.CustA.Email, "not the password at all", "10.0.0.1")
		t.Run("the account is limited from any address and in any spelling", func(t *testing.T) {
			for _, email := range []string{f.CustA.Email, " A@ALPHA.test "} {
				for _, ip := range []string{"10.0.0.1", "10.0.0.2"} {
					wantLimited(t, check(email, ip), limits.Window)
				}
			}
		})

		t.Run("another account is not limited", func(t *testing.T) {
			if err := check(f.CustB.Email, "10.0.0.2"); err != nil {
				t.Fatal(err)
			}
		})

		t.Run("the limit lifts when the window has passed", func(t *testing.T) {
			clock.Advance(limits.Window)
			if err := check(f.CustA.Email, "10.0.0.1"); err != nil {
				t.Fatal(err)
			}
		})
	})
}

func TestChangePassword(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, _ *dbtest.Clock) {
		f := dbtest.Seed(t, s)
		ctx := context.Background()
		const next = "a brand new passphrase"
		keep, other := newSession(t, s, f.CustA), newSession(t, s, f.CustA)

		refused := []struct {
			name, current, password string
			field, key              string
		}{
			{"a wrong current password is refused", "not the password at all", next, "current", "error.current_password_wrong"},
			{"an empty current password is refused", "", next, "current", "error.current_password_wrong"},
			{"a weak new password is refused", dbtest.Password, "qwertyuiop123", "password", "error.password_common"},
			{"a short new password is refused", dbtest.Password, "short", "password", "error.password_too_short"},
		}
		for _, c := range refused {
			t.Run(c.name+" and changes nothing", func(t *testing.T) {
				renewed, err := s.ChangePassword(ctx, f.CustA.ID, c.current, c.password, "10.5.5.5", keep, models.DefaultSignInLimits)
				wantInvalid(t, err, c.field, c.key)
				if renewed != "" {
					t.Fatalf("a refused change renewed the session as %q", renewed)
				}
				wantLive(t, s, keep, f.CustA)
				if _, err := signIn(s, f.CustA.Email, dbtest.Password, "10.5.5.6"); err != nil {
					t.Fatalf("old password stopped working: %v", err)
				}
				wantLive(t, s, other, f.CustA)
				if n := len(auditOf(t, s, models.AuditPasswordChanged)); n != 0 {
					t.Fatalf("%d change events", n)
				}
			})
		}

		t.Run("the right current password changes it, ends the other sessions and gives the current one a new ID", func(t *testing.T) {
			before := wantLive(t, s, keep, f.CustA)
			renewed, err := s.ChangePassword(ctx, f.CustA.ID, dbtest.Password, next, "10.5.5.5", keep, models.DefaultSignInLimits)
			if err != nil {
				t.Fatal(err)
			}
			if renewed == "" || renewed == keep {
				t.Fatalf("session ID after the change = %q, want a new one (was %q)", renewed, keep)
			}
			wantGone(t, s, keep)
			after := wantLive(t, s, renewed, f.CustA)
			if after.Stage != before.Stage || !after.CreatedAt.Equal(before.CreatedAt) || !after.ExpiresAt.Equal(before.ExpiresAt) {
				t.Fatalf("renewed session %+v does not go on from %+v", after, before)
			}
			wantGone(t, s, other)
			wantCount(t, s, f.CustA, 1)
			if _, err := signIn(s, f.CustA.Email, next, "10.5.5.6"); err != nil {
				t.Fatalf("new password: %v", err)
			}
			if _, err := signIn(s, f.CustA.Email, dbtest.Password, "10.5.5.6"); !errors.Is(err, models.ErrBadCredentials) {
				t.Fatalf("old password = %v, want ErrBadCredentials", err)
			}
			evs := auditOf(t, s, models.AuditPasswordChanged)
			if len(evs) != 1 || evs[0].ActorID == nil || *evs[0].ActorID != f.CustA.ID || evs[0].IP != "10.5.5.5" || *evs[0].TargetID != f.CustA.ID {
				t.Fatalf("change events %+v", evs)
			}
			if n := len(auditOf(t, s, models.AuditPasswordReset)); n != 0 {
				t.Fatalf("a change by oneself was audited as %d resets", n)
			}
		})

		t.Run("an unknown user is not found", func(t *testing.T) {
			if _, err := s.ChangePassword(ctx, 999999, dbtest.Password, next, "", "", models.DefaultSignInLimits); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("ChangePassword = %v, want ErrNotFound", err)
			}
		})
	})
}
