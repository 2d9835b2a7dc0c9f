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

// burstResult counts the answers of a burst of parallel sign-ins.
type burstResult struct {
	evaluated int // the password was checked: signed in or ErrBadCredentials
	signedIn  int
	limited   int
	other     []error
}

// burst runs n sign-ins at once; try(i) gives the email, password and
// address of the i-th.
func burst(s *models.Store, n int, try func(i int) (email, password, ip string)) burstResult {
	var (
		mu    sync.Mutex
		r     burstResult
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			email, password, ip := try(i)
			<-start
			u, err := s.Authenticate(context.Background(), email, password, ip, limits)
			var rl *models.RateLimitedError
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && u != nil:
				r.evaluated++
				r.signedIn++
			case errors.Is(err, models.ErrBadCredentials):
				r.evaluated++
			case errors.As(err, &rl):
				r.limited++
			default:
				r.other = append(r.other, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	return r
}

// Issue 9 point 6: the limit was checked before hashing and the attempt
// written after, so a burst of parallel guesses all passed the check.
func TestParallelGuessesStayWithinTheLimits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, _ *dbtest.Clock) {
		f := dbtest.Seed(t, s)

		t.Run("forty parallel guesses at one account from one address: at most five are evaluated and the right password after them is refused", func(t *testing.T) {
			r := burst(s, 40, func(i int) (string, string, string) {
				pw := fmt.Sprintf("wrong guess number %d", i)
				if i == 39 {
					pw = dbtest.Password
				}
				return f.CustA.Email, pw, "198.51.100.7"
			})
			if len(r.other) > 0 {
				t.Fatalf("unexpected errors: %v", r.other)
			}
			// A right password evaluated in time is no failure: at most five
			// wrong ones are evaluated, and the right one at most once.
			if r.evaluated-r.signedIn > limits.PerAccount || r.signedIn > 1 || r.evaluated+r.limited != 40 {
				t.Fatalf("%d passwords evaluated (%d signed in), %d refused by the limit; want at most %d wrong ones evaluated",
					r.evaluated, r.signedIn, r.limited, limits.PerAccount)
			}
			// Had the right one taken a slot, the limit still has room:
			// guesses one by one fill it, and then even the right password
			// is refused.
			wrong := r.evaluated - r.signedIn
			for ; wrong < limits.PerAccount; wrong++ {
				if _, err := signIn(s, f.CustA.Email, "one more wrong guess", "198.51.100.7"); !errors.Is(err, models.ErrBadCredentials) {
					t.Fatalf("wrong guess %d after the burst: %v, want ErrBadCredentials", wrong+1, err)
				}
			}
			_, err := signIn(s, f.CustA.Email, dbtest.Password, "198.51.100.7")
			wantLimited(t, err, limits.Window)
		})

		t.Run("forty parallel guesses at forty accounts from one address: at most twenty are evaluated", func(t *testing.T) {
			r := burst(s, 40, func(i int) (string, string, string) {
				return fmt.Sprintf("ghost%d@alpha.test", i), "whatever it may be", "198.51.100.8"
			})
			if len(r.other) > 0 {
				t.Fatalf("unexpected errors: %v", r.other)
			}
			if r.evaluated > limits.PerAddress || r.evaluated+r.limited != 40 {
				t.Fatalf("%d passwords evaluated, %d refused by the limit; want at most %d evaluated",
					r.evaluated, r.limited, limits.PerAddress)
			}
			_, err := signIn(s, f.CustB.Email, dbtest.Password, "198.51.100.8")
			wantLimited(t, err, limits.Window)
		})
	})
}

func TestPurgeExpiredDeletesOldSignInLocks(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		raw := rawDB(t, db)
		count := func() (n int64) {
			if err := raw.Table("sign_in_locks").Count(&n).Error; err != nil {
				t.Fatal(err)
			}
			return n
		}
		signIn(s, "someone@alpha.test", "whatever it may be", "192.0.2.77")
		if n := count(); n != 2 {
			t.Fatalf("%d lock rows after one sign-in, want 2 (account and address)", n)
		}
		clock.Advance(25 * time.Hour)
		if _, err := s.PurgeExpired(context.Background(), time.Hour, 24*time.Hour); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 0 {
			t.Fatalf("%d lock rows left after a day unused, want 0", n)
		}
		// The next sign-in makes them again and is limited as before.
		if _, err := signIn(s, "someone@alpha.test", "whatever it may be", "192.0.2.77"); !errors.Is(err, models.ErrBadCredentials) {
			t.Fatalf("sign-in after the purge: %v", err)
		}
	})
}
