package models_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

func TestSubmissionTokensAreClaimedOnceAndExpire(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		const token = "0123456789abcdef0123456789abcdef"
		t.Run("of ten parallel claims one wins", func(t *testing.T) {
			var mu sync.Mutex
			won := 0
			var wg sync.WaitGroup
			for range 10 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, claimed, err := s.ClaimSubmission(ctx, token, fx.CustA.ID)
					if err != nil {
						t.Error(err)
					}
					if claimed {
						mu.Lock()
						won++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if won != 1 {
				t.Fatalf("%d claims won, want 1", won)
			}
		})
		t.Run("the others learn where the first led", func(t *testing.T) {
			if err := s.CompleteSubmission(ctx, token, fx.CustA.ID, "/operations/7"); err != nil {
				t.Fatal(err)
			}
			sub, claimed, err := s.ClaimSubmission(ctx, token, fx.CustA.ID)
			if err != nil || claimed || sub.Location != "/operations/7" {
				t.Fatalf("claim again = %+v, %v, %v", sub, claimed, err)
			}
		})
		t.Run("another user's token is a conflict", func(t *testing.T) {
			if _, _, err := s.ClaimSubmission(ctx, token, fx.CustB.ID); !errors.Is(err, models.ErrConflict) {
				t.Fatalf("err = %v, want ErrConflict", err)
			}
		})
		t.Run("a released claim can be claimed again", func(t *testing.T) {
			const other = "ffffffffffffffffffffffffffffffff"
			if _, claimed, err := s.ClaimSubmission(ctx, other, fx.CustA.ID); err != nil || !claimed {
				t.Fatal(claimed, err)
			}
			if err := s.ReleaseSubmission(ctx, other, fx.CustA.ID); err != nil {
				t.Fatal(err)
			}
			if _, claimed, err := s.ClaimSubmission(ctx, other, fx.CustA.ID); err != nil || !claimed {
				t.Fatal(claimed, err)
			}
		})
		t.Run("tokens are forgotten after a day", func(t *testing.T) {
			if n, err := s.PurgeSubmissions(ctx); err != nil || n != 0 {
				t.Fatalf("purge now = %d, %v; want 0", n, err)
			}
			clock.Advance(models.SubmissionTTL + time.Minute)
			if n, err := s.PurgeSubmissions(ctx); err != nil || n != 2 {
				t.Fatalf("purge a day later = %d, %v; want 2", n, err)
			}
		})
	})
}

func TestGetSubmissionReadsWithoutClaiming(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, _ *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		const token = "abcdefabcdefabcdefabcdefabcdef01"
		if _, err := s.GetSubmission(ctx, token, fx.CustA.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("an unused token = %v, want ErrNotFound", err)
		}
		// Reading it did not claim it.
		if _, claimed, err := s.ClaimSubmission(ctx, token, fx.CustA.ID); err != nil || !claimed {
			t.Fatalf("claim after a read = %v, %v; want claimed", claimed, err)
		}
		if sub, err := s.GetSubmission(ctx, token, fx.CustA.ID); err != nil || sub.Location != "" {
			t.Fatalf("pending = %+v, %v", sub, err)
		}
		if err := s.CompleteSubmission(ctx, token, fx.CustA.ID, "/contacts#contact-3"); err != nil {
			t.Fatal(err)
		}
		if sub, err := s.GetSubmission(ctx, token, fx.CustA.ID); err != nil || sub.Location != "/contacts#contact-3" {
			t.Fatalf("done = %+v, %v", sub, err)
		}
		if _, err := s.GetSubmission(ctx, token, fx.CustB.ID); !errors.Is(err, models.ErrConflict) {
			t.Fatalf("another user's token = %v, want ErrConflict", err)
		}
	})
}
