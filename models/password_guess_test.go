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
