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

// TestStoreErrorsNameTheirOperation calls Store methods with a cancelled
// context: each error says which operation failed, and the cause stays
// matchable.
func TestStoreErrorsNameTheirOperation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, _ *dbtest.Clock) {
		fx := dbtest.Seed(t, s)
		org := fx.OrgA.ID
		cancelled, cancel := context.WithCancel(context.Background())
		cancel()
		calls := []struct {
			op   string
			call func(ctx context.Context) error
		}{
			{"models: get org", func(ctx context.Context) error { _, err := s.GetOrg(ctx, models.AllOrgs(), org); return err }},
			{"models: list orgs", func(ctx context.Context) error { _, err := s.ListOrgs(ctx, models.AllOrgs()); return err }},
			{"models: get user", func(ctx context.Context) error { _, err := s.GetUser(ctx, fx.CustA.ID); return err }},
			{"models: list org users", func(ctx context.Context) error { _, err := s.ListOrgUsers(ctx, models.AllOrgs(), org); return err }},
			{"models: count users", func(ctx context.Context) error { _, err := s.CountUsers(ctx); return err }},
			{"models: list devices", func(ctx context.Context) error { _, err := s.ListDevices(ctx, models.AllOrgs(), org); return err }},
			{"models: list contacts", func(ctx context.Context) error { _, err := s.ListContacts(ctx, models.AllOrgs(), org); return err }},
			{"models: list outages", func(ctx context.Context) error {
				_, err := s.ListOutages(ctx, models.AllOrgs(), org, 1, 10)
				return err
			}},
			{"models: list audit", func(ctx context.Context) error {
				_, err := s.ListAudit(ctx, models.AllOrgs(), models.AuditFilter{})
				return err
			}},
			{fmt.Sprintf("models: uptime of org %d", org), func(ctx context.Context) error {
				_, err := s.OrgUptime(ctx, models.AllOrgs(), org, time.UTC)
				return err
			}},
			{"models: overdue follow ups", func(ctx context.Context) error { _, err := s.OverdueFollowUps(ctx, models.AllOrgs(), org); return err }},
			{"models: count sessions", func(ctx context.Context) error {
				_, err := s.CountSessions(ctx, fx.CustA.ID, models.DefaultSessionPolicy)
				return err
			}},
		}
		for _, c := range calls {
			t.Run(c.op, func(t *testing.T) {
				err := c.call(cancelled)
				if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), c.op+": ") {
					t.Fatalf("error = %v; want %q: … wrapping context.Canceled", err, c.op)
				}
			})
		}
		t.Run("a missing row is ErrNotFound, named", func(t *testing.T) {
			_, err := s.GetOrg(context.Background(), models.AllOrgs(), 999999)
			if !errors.Is(err, models.ErrNotFound) || err.Error() != "models: get org: not found" {
				t.Fatalf("error = %v; want models: get org: not found", err)
			}
		})
	})
}

// TestFailedAuditWritesAreReturned makes the audit table unwritable: a
// wrong password and a wrong second-factor code then fail with the audit
// error, instead of answering as if their refusal had been recorded.
func TestFailedAuditWritesAreReturned(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		fx := dbtest.Seed(t, s)
		ctx := context.Background()
		secret := enroll(t, s, clock, fx.CustA)
		if err := rawDB(t, db).Exec("ALTER TABLE audit_events RENAME TO audit_events_gone").Error; err != nil {
			t.Fatal(err)
		}
		t.Run("a wrong second-factor code", func(t *testing.T) {
			err := s.VerifyTOTP(ctx, fx.CustA.ID, wrongCode(t, secret, clock.Now()), "10.0.0.1")
			if err == nil || errors.Is(err, models.ErrBadCode) || !strings.HasPrefix(err.Error(), "models: verify totp: ") {
				t.Fatalf("VerifyTOTP = %v; want the failed audit write", err)
			}
		})
		// Sign-in keeps its answer (bad credentials) and carries the failed
		// audit write joined to it, for the handler to log.
		t.Run("a wrong password", func(t *testing.T) {
			_, err := s.Authenticate(ctx, fx.CustB.Email, "wrong password!", "10.0.0.2", models.DefaultSignInLimits)
			if err == nil || !errors.Is(err, models.ErrBadCredentials) || !strings.Contains(err.Error(), "models: audit failed sign-in: ") {
				t.Fatalf("Authenticate = %v; want bad credentials joined with the failed audit write", err)
			}
		})
	})
}
