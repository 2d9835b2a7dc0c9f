package notify

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// A recovery code used to sign in is emailed to its user, staff (of no
// organization) included; an invitation emails the invited colleague a
// link that sets their password.
func TestAccountEmails(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := openStore(t, db, clock)
			fx := dbtest.Seed(t, s)
			sys := models.SystemActor("test")

			useRecovery := func(u *models.User) {
				t.Helper()
				en, err := s.BeginTOTP(ctx, u.ID, "Portal")
				if err != nil {
					t.Fatal(err)
				}
				code, err := totp.GenerateCode(en.Secret, clock.Now())
				if err != nil {
					t.Fatal(err)
				}
				codes, err := s.ConfirmTOTP(ctx, sys, u.ID, code)
				if err != nil {
					t.Fatal(err)
				}
				res, err := s.VerifySecondFactor(ctx, u.ID, codes[3], "10.9.9.9", models.DefaultSignInLimits)
				if err != nil || !res.RecoveryCode || res.CodesLeft != models.RecoveryCodeCount-1 {
					t.Fatalf("recovery code: %+v, %v", res, err)
				}
			}
			useRecovery(fx.CustA)
			useRecovery(fx.Engineer)
			if err := s.SetOrgAdmin(ctx, sys, fx.CustA.ID, true); err != nil {
				t.Fatal(err)
			}
			dana, err := s.InviteUser(ctx, models.UserActor(fx.CustA, ""), models.OrgScope(fx.OrgA.ID), fx.OrgA.ID,
				models.InviteInput{Email: "dana@alpha.test", Name: "Dana Alpha", Locale: "en"})
			if err != nil {
				t.Fatal(err)
			}

			sink := startSMTP(t, ModeNone, nil, "", "")
			r := startDispatchers(t, clock, newDispatcher(t, s, clock, "portal-a", sink.port(t), ""))
			r.until(time.Minute, "the account emails sent", func() bool {
				return len(eventMails(t, sink, models.EventRecoveryCodeUsed)) == 2 && len(eventMails(t, sink, models.EventUserInvited)) == 1
			})

			for _, u := range []*models.User{fx.CustA, fx.Engineer} {
				ms := mailsTo(t, sink, models.EventRecoveryCodeUsed, u.Email)
				if len(ms) != 1 {
					t.Fatalf("%d recovery emails to %s, want 1", len(ms), u.Email)
				}
				if !strings.Contains(ms[0].Body, "10.9.9.9") || !strings.Contains(ms[0].Body, "9") {
					t.Errorf("recovery email to %s does not say from where and how many are left:\n%s", u.Email, ms[0].Body)
				}
			}
			inv := mailsTo(t, sink, models.EventUserInvited, dana.Email)
			if len(inv) != 1 {
				t.Fatalf("%d invitation emails to Dana, want 1", len(inv))
			}
			m := inv[0]
			if !strings.Contains(m.Subject, fx.OrgA.Name) || !strings.Contains(m.Body, fx.CustA.Name) {
				t.Errorf("invitation %q does not name the organization and the inviter:\n%s", m.Subject, m.Body)
			}
			i := strings.Index(m.Body, "https://portal.example/invite/")
			if i < 0 {
				t.Fatalf("no link in the invitation:\n%s", m.Body)
			}
			token := m.Body[i+len("https://portal.example/invite/"):][:32]
			if _, err := s.AcceptInvitation(ctx, token, "Quiet harbour 77 maple", "Quiet harbour 77 maple", ""); err != nil {
				t.Fatalf("the emailed link does not set the password: %v", err)
			}
			if _, err := s.AcceptInvitation(ctx, token, "Quiet harbour 77 maple", "Quiet harbour 77 maple", ""); err == nil {
				t.Fatal("the link worked twice")
			}
		})
	}
}
