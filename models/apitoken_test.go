package models_test

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

func TestAPITokensLifeCycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		f := dbtest.Seed(t, s)
		ctx := context.Background()
		actA := models.UserActor(f.CustA, "192.0.2.1")

		tok, secret, err := s.CreateAPIToken(ctx, actA, models.APITokenInput{Name: "monitoring", Days: 30})
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^cpt_[A-Za-z0-9_-]{43}$`).MatchString(secret) {
			t.Fatalf("secret %q is not cpt_ and 43 base64url characters", secret)
		}
		if tok.Hash == secret || tok.Hash == "" || tok.CanWrite() || tok.Prefix != secret[:10] {
			t.Fatalf("token %+v for secret %s", tok, secret)
		}
		if ev := auditOf(t, s, models.AuditTokenCreated); len(ev) != 1 || ev[0].OrgID == nil || *ev[0].OrgID != f.OrgA.ID {
			t.Fatalf("audit of creation: %+v", ev)
		}

		// The secret authenticates as its user; a changed character does not.
		got, u, err := s.AuthenticateToken(ctx, secret, "192.0.2.9")
		if err != nil || u.ID != f.CustA.ID || got.ID != tok.ID || got.LastUsedIP != "192.0.2.9" || got.LastUsedAt == nil {
			t.Fatalf("authenticate: %+v %+v %v", got, u, err)
		}
		bad := secret[:len(secret)-1] + map[bool]string{true: "A", false: "B"}[secret[len(secret)-1] != 'A']
		if _, _, err := s.AuthenticateToken(ctx, bad, "192.0.2.9"); !errors.Is(err, models.ErrTokenInvalid) {
			t.Fatalf("a wrong token: %v", err)
		}
		for _, raw := range []string{"", "Bearer x", secret + "x", "cpt_"} {
			if _, _, err := s.AuthenticateToken(ctx, raw, "192.0.2.9"); !errors.Is(err, models.ErrTokenInvalid) {
				t.Fatalf("%q: %v", raw, err)
			}
		}

		// Expiry.
		clock.Advance(31 * 24 * time.Hour)
		if _, _, err := s.AuthenticateToken(ctx, secret, "192.0.2.9"); !errors.Is(err, models.ErrTokenInvalid) {
			t.Fatalf("an expired token: %v", err)
		}

		// Revocation by its user; another customer cannot see it; an admin may revoke any.
		w, wsecret, err := s.CreateAPIToken(ctx, actA, models.APITokenInput{Name: "ticketing", Days: 7, Write: true})
		if err != nil || !w.CanWrite() {
			t.Fatalf("write token: %+v %v", w, err)
		}
		if err := s.RevokeAPIToken(ctx, models.UserActor(f.CustB, ""), f.CustB, w.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("another customer revoking: %v", err)
		}
		if _, _, err := s.AuthenticateToken(ctx, wsecret, ""); err != nil {
			t.Fatalf("still live: %v", err)
		}
		if err := s.RevokeAPIToken(ctx, models.UserActor(f.Admin, ""), f.Admin, w.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.AuthenticateToken(ctx, wsecret, ""); !errors.Is(err, models.ErrTokenInvalid) {
			t.Fatalf("a revoked token: %v", err)
		}
		if ev := auditOf(t, s, models.AuditTokenRevoked); len(ev) != 1 || *ev[0].ActorID != f.Admin.ID {
			t.Fatalf("audit of revocation: %+v", ev)
		}

		// A disabled user's token stops working.
		b, bsecret, err := s.CreateAPIToken(ctx, models.UserActor(f.CustB, ""), models.APITokenInput{Name: "b", Days: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetUserDisabled(ctx, models.SystemActor("test"), f.CustB.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.AuthenticateToken(ctx, bsecret, ""); !errors.Is(err, models.ErrTokenInvalid) {
			t.Fatalf("a disabled user's token: %v", err)
		}
		live, err := s.ListLiveAPITokens(ctx, 0)
		if err != nil || len(live) != 1 || live[0].ID != b.ID || live[0].Email != f.CustB.Email {
			t.Fatalf("live tokens: %+v %v", live, err)
		}
		mine, err := s.ListAPITokens(ctx, f.CustA.ID)
		if err != nil || len(mine) != 2 {
			t.Fatalf("A's tokens (expired and revoked stay listed a while): %+v %v", mine, err)
		}
	})
}

func TestAPITokenInputIsChecked(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		f := dbtest.Seed(t, s)
		ctx := context.Background()
		a := models.UserActor(f.CustA, "")
		_, _, err := s.CreateAPIToken(ctx, a, models.APITokenInput{Name: " ", Days: 0})
		keys := fieldKeys(err)
		if keys["name"] != "error.required" || keys["days"] != "tokens.error.days" {
			t.Fatalf("errors %v", keys)
		}
		if _, _, err := s.CreateAPIToken(ctx, a, models.APITokenInput{Name: "x", Days: 367}); err == nil {
			t.Fatal("367 days accepted")
		}
		for i := range models.MaxTokensPerUser {
			if _, _, err := s.CreateAPIToken(ctx, a, models.APITokenInput{Name: "t", Days: 1 + i}); err != nil {
				t.Fatal(err)
			}
		}
		_, _, err = s.CreateAPIToken(ctx, a, models.APITokenInput{Name: "one more", Days: 1})
		wantInvalid(t, err, "name", "tokens.error.too_many")
	})
}
