package models_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// M5: ChangePassword compared the current password with no attempt
// counted and nothing audited, so a session could guess it without limit.
func TestChangePasswordCountsTheCurrentPasswordAgainstTheLimit(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		gate := models.NewHashGate(1, 10*time.Millisecond)
		s := dbtest.Open(t, db, models.WithClock(clock.Now), models.WithHashGate(gate))
		f := dbtest.Seed(t, s)
		ctx := context.Background()
		const next = "a brand new passphrase"

		t.Run("wrong ones are audited and the sixth is refused without hashing", func(t *testing.T) {
			for i := range limits.PerAccount {
				_, err := s.ChangePassword(ctx, f.CustA.ID, fmt.Sprintf("wrong current %d", i), next, "10.8.8.8", "", limits)
				wantInvalid(t, err, "current", "error.current_password_wrong")
			}
			evs := auditOf(t, s, models.AuditPasswordChangeFailed)
			if len(evs) != limits.PerAccount || evs[0].ActorID == nil || *evs[0].ActorID != f.CustA.ID || evs[0].IP != "10.8.8.8" {
				t.Fatalf("failed change events %+v, want %d by the user", evs, limits.PerAccount)
			}
			// The only hashing slot is taken: a password that were hashed
			// would be turned away as busy, not as limited.
			release, err := gate.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.ChangePassword(ctx, f.CustA.ID, dbtest.Password, next, "10.8.8.8", "", limits)
			release()
			wantLimited(t, err, limits.Window)
			// The same count limits signing in.
			_, err = signIn(s, f.CustA.Email, dbtest.Password, "10.8.8.9")
			wantLimited(t, err, limits.Window)
		})

		t.Run("hashing busy is not counted", func(t *testing.T) {
			release, err := gate.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for range limits.PerAccount + 1 {
				_, err = s.ChangePassword(ctx, f.CustB.ID, "wrong current", next, "10.8.8.10", "", limits)
				if _, busy := models.IsHashBusy(err); !busy {
					t.Fatalf("with hashing busy: %v, want *HashBusyError", err)
				}
			}
			release()
			if _, err := s.ChangePassword(ctx, f.CustB.ID, dbtest.Password, next, "10.8.8.10", "", limits); err != nil {
				t.Fatalf("the right password after busy answers: %v", err)
			}
		})

		t.Run("forty parallel wrong ones: at most the limit are compared", func(t *testing.T) {
			var (
				mu                     sync.Mutex
				wg                     sync.WaitGroup
				evaluated, limitedN, n int
				start                  = make(chan struct{})
			)
			for i := range 40 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, err := s.ChangePassword(ctx, f.Engineer.ID, fmt.Sprintf("parallel wrong %d", i), next, "10.8.8.11", "", limits)
					var rl *models.RateLimitedError
					mu.Lock()
					defer mu.Unlock()
					n++
					switch _, busy := models.IsHashBusy(err); {
					case errors.As(err, &rl):
						limitedN++
					case busy:
					default:
						if _, ok := models.AsValidation(err); !ok {
							t.Errorf("change %d: %v", i, err)
						}
						evaluated++
					}
				}()
			}
			close(start)
			wg.Wait()
			if evaluated > limits.PerAccount {
				t.Fatalf("%d of %d compared (%d limited), want at most %d", evaluated, n, limitedN, limits.PerAccount)
			}
		})
	})
}

// M6: contact passphrases were hashed and checked past the hashing gate.
// Twenty parallel contacts with passphrases, and as many phone checks,
// now hash at most the gate's bound at once.
func TestPassphraseHashesAreBoundedByTheGate(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		gate := models.NewHashGate(2, time.Minute)
		s := dbtest.Open(t, db, models.WithClock(clock.Now), models.WithHashGate(gate))
		f := dbtest.Seed(t, s)
		ctx := context.Background()
		sys := models.SystemActor("test")
		var wg sync.WaitGroup
		cs := make([]*models.Contact, 20)
		errs := make([]error, 20)
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cs[i], errs[i] = s.CreateContact(ctx, sys, f.OrgA.ID, models.ContactInput{Name: fmt.Sprintf("Contact %d", i),
					Email: fmt.Sprintf("c%d@alpha.test", i), Channels: []models.Channel{models.ChannelEmail},
					MayAuthorize: true, Passphrase: fmt.Sprintf("passphrase number %d", i)})
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.VerifyPassphrase(ctx, cs[i], fmt.Sprintf("passphrase number %d", i))
				if err != nil || !ok {
					errs[i] = fmt.Errorf("verify %d: %v, %v", i, ok, err)
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if p := gate.Peak(); p < 1 || p > int64(gate.Bound()) {
			t.Fatalf("peak of hashes at once through the gate = %d, want 1..%d", p, gate.Bound())
		}
	})
}

// H4: VerifyTOTP compared the code and only then wrote the failure, so
// parallel codes were all compared. Forty wrong codes and the right one at
// once: at most the limit of wrong ones are compared, and once the limit
// is used up even the right code is refused.
func TestParallelTOTPCodesStayWithinTheLimit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		f := dbtest.Seed(t, s)
		ctx := context.Background()
		secret := enroll(t, s, clock, f.CustA)
		valid := map[string]bool{}
		for d := -2; d <= 2; d++ {
			valid[code(t, secret, clock.Now().Add(time.Duration(d)*30*time.Second))] = true
		}
		var codes []string
		for i := 0; len(codes) < 40; i++ {
			if c := fmt.Sprintf("%06d", 100000+i*7919); !valid[c] {
				codes = append(codes, c)
			}
		}
		codes = append(codes, code(t, secret, clock.Now()))
		var (
			mu                         sync.Mutex
			wg                         sync.WaitGroup
			wrong, right, limitedCount int
			start                      = make(chan struct{})
		)
		for i, c := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				err := s.VerifyTOTP(ctx, f.CustA.ID, c, "10.9.9.9", limits)
				var rl *models.RateLimitedError
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					right++
				case errors.Is(err, models.ErrBadCode):
					wrong++
				case errors.As(err, &rl):
					limitedCount++
				default:
					t.Errorf("code %d: %v", i, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if wrong > limits.PerAccount || right > 1 || wrong+right+limitedCount != len(codes) {
			t.Fatalf("%d wrong codes compared, %d right, %d limited; want at most %d wrong", wrong, right, limitedCount, limits.PerAccount)
		}
		for ; wrong < limits.PerAccount; wrong++ {
			if err := s.VerifyTOTP(ctx, f.CustA.ID, codes[0], "10.9.9.9", limits); !errors.Is(err, models.ErrBadCode) {
				t.Fatalf("wrong code %d after the burst: %v", wrong+1, err)
			}
		}
		clock.Advance(30 * time.Second)
		err := s.VerifyTOTP(ctx, f.CustA.ID, code(t, secret, clock.Now()), "10.9.9.9", limits)
		wantLimited(t, err, limits.Window)
	})
}
