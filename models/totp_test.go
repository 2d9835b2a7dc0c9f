package models_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"github.com/pquerna/otp/totp"
)

// issuer is short on purpose: with the portal's default issuer the sealed
// enrollment does not fit the totp_pending column on MySQL, which
// TestTOTPEnrollmentFitsRealIssuersAndEmails pins down on its own.
const issuer = "Colo Portal"

func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatalf("generate code: %v", err)
	}
	return c
}

// wrongCode returns a six-digit code that is not valid for secret anywhere
// near at.
func wrongCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	valid := map[string]bool{}
	for d := -3; d <= 3; d++ {
		valid[code(t, secret, at.Add(time.Duration(d)*30*time.Second))] = true
	}
	for _, c := range []string{"000000", "123456", "999999", "314159"} {
		if !valid[c] {
			return c
		}
	}
	t.Fatal("no wrong code found")
	return ""
}

// enroll turns TOTP on for u and returns the secret. The clock then moves
// to the next step, so the confirmation code's step is spent.
func enroll(t *testing.T, s *models.Store, clock *dbtest.Clock, u *models.User) string {
	t.Helper()
	ctx := context.Background()
	e, err := s.BeginTOTP(ctx, u.ID, issuer)
	if err != nil {
		t.Fatalf("begin TOTP: %v", err)
	}
	if _, err := s.ConfirmTOTP(ctx, models.UserActor(u, ""), u.ID, code(t, e.Secret, clock.Now())); err != nil {
		t.Fatalf("confirm TOTP: %v", err)
	}
	clock.Advance(30 * time.Second)
	return e.Secret
}

func TestTOTPEnrollment(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		f := dbtest.Seed(t, s)
		ctx := context.Background()
		u := f.CustA

		e, err := s.BeginTOTP(ctx, u.ID, issuer)
		if err != nil {
			t.Fatalf("begin TOTP: %v", err)
		}

		t.Run("the enrollment names the issuer, the account and the secret", func(t *testing.T) {
			if len(e.Secret) < 16 {
				t.Fatalf("secret %q is too short", e.Secret)
			}
			uri, err := url.Parse(e.URI)
			if err != nil {
				t.Fatal(err)
			}
			q := uri.Query()
			if uri.Scheme != "otpauth" || uri.Host != "totp" || q.Get("secret") != e.Secret || q.Get("issuer") != issuer || q.Get("period") != "30" {
				t.Fatalf("URI %s", e.URI)
			}
			if uri.Path != "/"+issuer+":"+u.Email {
				t.Fatalf("URI label %q, want %q", uri.Path, "/"+issuer+":"+u.Email)
			}
		})

		t.Run("the pending enrollment can be shown again", func(t *testing.T) {
			p, err := s.PendingTOTP(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if p.Secret != e.Secret || p.URI != e.URI {
				t.Fatalf("pending %+v, want %+v", p, e)
			}
		})

		t.Run("the secret is not stored in the clear", func(t *testing.T) {
			got, _ := s.GetUser(ctx, u.ID)
			if got.TOTPPending == "" || got.TOTPPending == e.Secret || got.TOTPPending == e.URI {
				t.Fatalf("pending column %q", got.TOTPPending)
			}
		})

		t.Run("a pending secret does not yet protect sign-in", func(t *testing.T) {
			got, _ := s.GetUser(ctx, u.ID)
			if got.TOTPEnabled {
				t.Fatal("enabled before confirmation")
			}
			if err := s.VerifyTOTP(ctx, u.ID, code(t, e.Secret, clock.Now()), "", models.DefaultSignInLimits); !errors.Is(err, models.ErrBadCode) {
				t.Fatalf("verify before confirmation = %v, want ErrBadCode", err)
			}
		})

		t.Run("a wrong confirmation code leaves TOTP off", func(t *testing.T) {
			for _, c := range []string{"", "12345", "1234567", "abcdef", wrongCode(t, e.Secret, clock.Now())} {
				if _, err := s.ConfirmTOTP(ctx, models.UserActor(u, ""), u.ID, c); !errors.Is(err, models.ErrBadCode) {
					t.Fatalf("confirm %q = %v, want ErrBadCode", c, err)
				}
			}
			got, _ := s.GetUser(ctx, u.ID)
			if got.TOTPEnabled || got.TOTPPending == "" {
				t.Fatalf("after wrong codes: enabled %v, pending %q", got.TOTPEnabled, got.TOTPPending)
			}
		})

		t.Run("the right confirmation code turns TOTP on and is audited", func(t *testing.T) {
			c := code(t, e.Secret, clock.Now())
			if _, err := s.ConfirmTOTP(ctx, models.UserActor(u, "10.1.1.1"), u.ID, c[:3]+" "+c[3:]); err != nil {
				t.Fatalf("confirm with a spaced code: %v", err)
			}
			got, _ := s.GetUser(ctx, u.ID)
			if !got.TOTPEnabled || got.TOTPPending != "" || got.TOTPSecret == "" || got.TOTPSecret == e.Secret {
				t.Fatalf("after confirm: enabled %v pending %q secret %q", got.TOTPEnabled, got.TOTPPending, got.TOTPSecret)
			}
			if _, err := s.PendingTOTP(ctx, u.ID); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("pending after confirm = %v, want ErrNotFound", err)
			}
			evs := auditOf(t, s, models.AuditTOTPEnabled)
			if len(evs) != 1 || evs[0].TargetID == nil || *evs[0].TargetID != u.ID || evs[0].ActorID == nil || *evs[0].ActorID != u.ID || evs[0].IP != "10.1.1.1" {
				t.Fatalf("enable events %+v", evs)
			}
		})

		t.Run("the confirmation code cannot be replayed to sign in", func(t *testing.T) {
			if err := s.VerifyTOTP(ctx, u.ID, code(t, e.Secret, clock.Now()), "", models.DefaultSignInLimits); !errors.Is(err, models.ErrBadCode) {
				t.Fatalf("replayed confirmation code = %v, want ErrBadCode", err)
			}
		})

		t.Run("a confirmation without a pending enrollment fails", func(t *testing.T) {
			if _, err := s.ConfirmTOTP(ctx, models.UserActor(f.CustB, ""), f.CustB.ID, "123456"); !errors.Is(err, models.ErrBadCode) {
				t.Fatalf("confirm without begin = %v, want ErrBadCode", err)
			}
		})

		t.Run("unknown users are not found", func(t *testing.T) {
			if _, err := s.BeginTOTP(ctx, 999999, issuer); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("begin = %v", err)
			}
			if err := s.VerifyTOTP(ctx, 999999, "123456", "", models.DefaultSignInLimits); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("verify = %v", err)
			}
			if err := s.DisableTOTP(ctx, models.SystemActor("test"), 999999); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("disable = %v", err)
			}
		})
	})
}

func TestTOTPEnrollmentFitsRealIssuersAndEmails(t *testing.T) {
	cases := []struct {
		name, issuer, email string
	}{
		{"the default issuer with a short email can enroll", "Colo Portal", "a@alpha.test"},
		{"a short issuer with a typical work email can enroll", "IDC", "wang.xiaoming@bravo-games.example.com"},
		{"a Chinese issuer can enroll", "阿尔法数据中心", "a@alpha.test"},
		{"the default issuer with a long email can enroll", "Colo Portal",
			"procurement.and.infrastructure.operations.team@subsidiary.alpha-trading-holdings.example.com"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
				ctx := context.Background()
				u, err := s.CreateUser(ctx, models.SystemActor("test"), models.UserInput{
					Email: c.email, Name: "Enrolling Staff", Role: models.RoleEngineer, Password: dbtest.Password})
				if err != nil {
					t.Fatal(err)
				}
				e, err := s.BeginTOTP(ctx, u.ID, c.issuer)
				if err != nil {
					t.Fatalf("begin TOTP for %s at %s: %v", c.email, c.issuer, err)
				}
				p, err := s.PendingTOTP(ctx, u.ID)
				if err != nil || p.URI != e.URI {
					t.Fatalf("pending = %+v, %v; want %s", p, err, e.URI)
				}
				if _, err := s.ConfirmTOTP(ctx, models.UserActor(u, ""), u.ID, code(t, e.Secret, clock.Now())); err != nil {
					t.Fatalf("confirm: %v", err)
				}
			})
		})
	}
}

func TestTOTPVerify(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		f := dbtest.Seed(t, s)
		ctx := context.Background()
		u := f.CustA
		secret := enroll(t, s, clock, u)

		// Step: The current code works once.
		func() {
			c := code(t, secret, clock.Now())
			if err := s.VerifyTOTP(ctx, u.ID, c, "10.2.2.2", models.DefaultSignInLimits); err != nil {
				t.Fatalf("first use: %v", err)
			}
			if err := s.VerifyTOTP(ctx, u.ID, c, "10.2.2.2", models.DefaultSignInLimits); !errors.Is(err, models.ErrBadCode) {
				t.Fatalf("second use = %v, want ErrBadCode", err)
			}
		}()

		// Step: A code of an earlier step fails once a later one was used.
		func() {
			clock.Advance(30 * time.Second)
			if err := s.VerifyTOTP(ctx, u.ID, code(t, secret, clock.Now().Add(-30*time.Second)), "", models.DefaultSignInLimits); !errors.Is(err, models.ErrBadCode) {
				t.Fatalf("earlier step's code = %v, want ErrBadCode", err)
			}
		}()

		// Step: A wrong code fails and is audited.
		func() {
			clock.Advance(30 * time.Second)
			before := len(auditOf(t, s, models.AuditTOTPFailed))
			if err := s.VerifyTOTP(ctx, u.ID, wrongCode(t, secret, clock.Now()), "10.3.3.3", models.DefaultSignInLimits); !errors.Is(err, models.ErrBadCode) {
				t.Fatalf("wrong code = %v, want ErrBadCode", err)
			}
			evs := auditOf(t, s, models.AuditTOTPFailed)
			if len(evs) != before+1 {
				t.Fatalf("%d failure events, want %d", len(evs), before+1)
			}
			ev := evs[0]
			if ev.ActorID == nil || *ev.ActorID != u.ID || ev.ActorEmail != u.Email || ev.IP != "10.3.3.3" ||
				ev.TargetID == nil || *ev.TargetID != u.ID || ev.OrgID == nil || *ev.OrgID != f.OrgA.ID {
				t.Fatalf("failure event %+v", ev)
			}
			// The wrong code did not spend the step.
			if err := s.VerifyTOTP(ctx, u.ID, code(t, secret, clock.Now()), "", models.DefaultSignInLimits); err != nil {
				t.Fatalf("right code after a wrong one: %v", err)
			}
		}()

		// Step: A replayed code is audited as a failure.
		func() {
			before := len(auditOf(t, s, models.AuditTOTPFailed))
			s.VerifyTOTP(ctx, u.ID, code(t, secret, clock.Now()), "", models.DefaultSignInLimits)
			if got := len(auditOf(t, s, models.AuditTOTPFailed)); got != before+1 {
				t.Fatalf("%d failure events, want %d", got, before+1)
			}
		}()

		t.Run("TOTP of one user does not accept another user's code", func(t *testing.T) {
			other := enroll(t, s, clock, f.CustB)
			if other == secret {
				t.Fatal("two users got the same secret")
			}
			aCode := code(t, secret, clock.Now())
			if aCode == code(t, other, clock.Now()) {
				t.Skip("the two secrets happen to give the same code now")
			}
			if err := s.VerifyTOTP(ctx, f.CustB.ID, aCode, "", models.DefaultSignInLimits); !errors.Is(err, models.ErrBadCode) {
				t.Fatalf("A's code for B = %v, want ErrBadCode", err)
			}
		})
	})
}

func TestTOTPWrongCodesCountTowardTheSignInLimit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		f := dbtest.Seed(t, s)
		ctx := context.Background()
		lim := models.DefaultSignInLimits
		secret := enroll(t, s, clock, f.CustA)
		bad := wrongCode(t, secret, clock.Now())
		for i := range lim.PerAccount - 1 {
			if err := s.VerifyTOTP(ctx, f.CustA.ID, bad, "10.6.6.6", models.DefaultSignInLimits); !errors.Is(err, models.ErrBadCode) {
				t.Fatalf("wrong code %d = %v", i+1, err)
			}
		}
		t.Run("one wrong code short of the limit leaves the account open", func(t *testing.T) {
			if err := s.CheckSignInLimits(ctx, f.CustA.Email, "10.7.7.7", lim); err != nil {
				t.Fatal(err)
			}
		})
		s.VerifyTOTP(ctx, f.CustA.ID, bad, "10.6.6.6", models.DefaultSignInLimits)
		t.Run("the fifth wrong code limits the account", func(t *testing.T) {
			var rl *models.RateLimitedError
			if err := s.CheckSignInLimits(ctx, f.CustA.Email, "10.7.7.7", lim); !errors.As(err, &rl) {
				t.Fatalf("CheckSignInLimits = %v, want *RateLimitedError", err)
			}
			if _, err := s.Authenticate(ctx, f.CustA.Email, dbtest.Password, "10.7.7.7", lim); !errors.As(err, &rl) {
				t.Fatalf("Authenticate = %v, want *RateLimitedError", err)
			}
		})
		t.Run("a right code is not counted as a failure", func(t *testing.T) {
			clock.Advance(lim.Window + time.Second)
			if err := s.VerifyTOTP(ctx, f.CustA.ID, code(t, secret, clock.Now()), "10.6.6.6", models.DefaultSignInLimits); err != nil {
				t.Fatal(err)
			}
			for range lim.PerAccount - 1 {
				s.VerifyTOTP(ctx, f.CustA.ID, wrongCode(t, secret, clock.Now()), "10.6.6.6", models.DefaultSignInLimits)
			}
			if err := s.CheckSignInLimits(ctx, f.CustA.Email, "10.6.6.6", lim); err != nil {
				t.Fatalf("after one right and %d wrong codes: %v", lim.PerAccount-1, err)
			}
		})
	})
}

func TestTOTPTimeWindow(t *testing.T) {
	cases := []struct {
		name  string
		shift time.Duration // of the code's time against the clock
		ok    bool
	}{
		{"a code of the current step works", 0, true},
		{"a code of the step before works, for slow typists", -30 * time.Second, true},
		{"a code of the step after works, for fast clocks", 30 * time.Second, true},
		{"a code from two steps ago fails", -60 * time.Second, false},
		{"a code from three steps ago fails", -90 * time.Second, false},
		{"a code from two steps ahead fails", 60 * time.Second, false},
		{"a code from yesterday fails", -24 * time.Hour, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
				f := dbtest.Seed(t, s)
				secret := enroll(t, s, clock, f.Engineer)
				clock.Advance(5 * time.Minute)
				cd := code(t, secret, clock.Now().Add(c.shift))
				if c.shift != 0 && cd == code(t, secret, clock.Now()) {
					t.Skip("the shifted code happens to equal the current one")
				}
				err := s.VerifyTOTP(context.Background(), f.Engineer.ID, cd, "", models.DefaultSignInLimits)
				if c.ok && err != nil {
					t.Fatalf("verify = %v, want success", err)
				}
				if !c.ok && !errors.Is(err, models.ErrBadCode) {
					t.Fatalf("verify = %v, want ErrBadCode", err)
				}
			})
		})
	}
}

func TestTOTPDisable(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		f := dbtest.Seed(t, s)
		ctx := context.Background()
		secret := enroll(t, s, clock, f.CustA)

		// Step: Disabling clears the secret and is audited with the actor.
		func() {
			if err := s.DisableTOTP(ctx, models.UserActor(f.Admin, "10.4.4.4"), f.CustA.ID); err != nil {
				t.Fatal(err)
			}
			got, _ := s.GetUser(ctx, f.CustA.ID)
			if got.TOTPEnabled || got.TOTPSecret != "" || got.TOTPPending != "" || got.TOTPLastStep != 0 {
				t.Fatalf("after disable: %+v", got)
			}
			evs := auditOf(t, s, models.AuditTOTPDisabled)
			if len(evs) != 1 || evs[0].ActorID == nil || *evs[0].ActorID != f.Admin.ID || *evs[0].TargetID != f.CustA.ID || evs[0].IP != "10.4.4.4" {
				t.Fatalf("disable events %+v", evs)
			}
		}()

		// Step: The old secret's codes no longer verify.
		func() {
			if err := s.VerifyTOTP(ctx, f.CustA.ID, code(t, secret, clock.Now()), "", models.DefaultSignInLimits); !errors.Is(err, models.ErrBadCode) {
				t.Fatalf("verify after disable = %v, want ErrBadCode", err)
			}
		}()

		// Step: Enrolling again gives a new secret that works.
		func() {
			again := enroll(t, s, clock, f.CustA)
			if again == secret {
				t.Fatal("re-enrollment reused the old secret")
			}
			if err := s.VerifyTOTP(ctx, f.CustA.ID, code(t, again, clock.Now()), "", models.DefaultSignInLimits); err != nil {
				t.Fatalf("verify after re-enrollment: %v", err)
			}
		}()

		t.Run("requiring TOTP is recorded and audited", func(t *testing.T) {
			if err := s.SetTOTPRequired(ctx, models.UserActor(f.Admin, ""), f.CustB.ID, true); err != nil {
				t.Fatal(err)
			}
			got, _ := s.GetUser(ctx, f.CustB.ID)
			if !got.TOTPRequired {
				t.Fatal("TOTPRequired not set")
			}
			evs := auditOf(t, s, models.AuditTOTPRequired)
			if len(evs) != 1 || detailOf(t, evs[0])["required"] != true {
				t.Fatalf("required events %+v", evs)
			}
		})
	})
}
