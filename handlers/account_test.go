package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pquerna/otp/totp"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// enableTOTPWithCodes turns the second factor on for u through the
// store and returns its secret and recovery codes.
func enableTOTPWithCodes(t *testing.T, e *env, u *models.User) (string, []string) {
	t.Helper()
	ctx := context.Background()
	en, err := e.store.BeginTOTP(ctx, u.ID, "Portal")
	if err != nil {
		t.Fatal(err)
	}
	code, err := totp.GenerateCode(en.Secret, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	codes, err := e.store.ConfirmTOTP(ctx, models.UserActor(u, ""), u.ID, code)
	if err != nil {
		t.Fatal(err)
	}
	return en.Secret, codes
}

// passwordStage signs in with the password only: the session then waits
// for the second factor.
func passwordStage(t *testing.T, e *env, u *models.User) *client {
	t.Helper()
	c := newClient(t, e.app)
	wantRedirect(t, c.login(u.Email, dbtest.Password), "/login/totp")
	return c
}

func TestRecoveryCodes(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		fx := e.fx
		u := fx.CustA
		_, codes := enableTOTPWithCodes(t, e, u)
		if len(codes) != models.RecoveryCodeCount {
			t.Fatalf("%d recovery codes, want %d", len(codes), models.RecoveryCodeCount)
		}
		seen := map[string]bool{}
		for _, c := range codes {
			if seen[c] {
				t.Fatalf("recovery code %s twice", c)
			}
			seen[c] = true
		}

		// Step: A recovery code, typed in capitals and without its dash,
		// signs in once; the user lands on the account page, told so.
		c := passwordStage(t, e, u)
		typed := strings.ToUpper(strings.ReplaceAll(codes[0], "-", ""))
		r := c.submit("/login/totp", "/login/totp", url.Values{"code": {typed}})
		wantRedirect(t, r, "/account")
		r = c.get("/account")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, zh("flash.recovery_code_used"), zh("account.recovery_left", models.RecoveryCodeCount-1))

		// Step: The same code is refused the second time.
		again := passwordStage(t, e, u)
		r = again.submit("/login/totp", "/login/totp", url.Values{"code": {codes[0]}})
		wantStatus(t, r, http.StatusUnauthorized)
		wantBody(t, r, zh("totp.bad_code"))

		// Step: The use is audited and an email to the user is queued.
		admin := e.as(t, fx.Admin)
		wantAudit(t, admin, models.AuditRecoveryCodeUsed, u.Email, "")
		kinds, err := e.store.OutboxKinds(context.Background(), models.AllOrgs(), *u.OrgID)
		if err != nil {
			t.Fatal(err)
		}
		if !containsString(kinds, models.EventRecoveryCodeUsed) {
			t.Errorf("outbox kinds %v, want %s", kinds, models.EventRecoveryCodeUsed)
		}

		// Step: New codes replace the old ones: an unused old one no
		// longer works, a new one does.
		r = c.submit("/account", "/account/recovery-codes", nil)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, zh("recovery.old_gone"))
		fresh := recoveryCodeRE.FindAllStringSubmatch(r.Body, -1)
		if len(fresh) != models.RecoveryCodeCount {
			t.Fatalf("%d new codes on the page, want %d", len(fresh), models.RecoveryCodeCount)
		}
		old := passwordStage(t, e, u)
		wantStatus(t, old.submit("/login/totp", "/login/totp", url.Values{"code": {codes[1]}}), http.StatusUnauthorized)
		wantRedirect(t, passwordStage(t, e, u).submit("/login/totp", "/login/totp", url.Values{"code": {fresh[0][1]}}), "/account")
		wantAudit(t, admin, models.AuditRecoveryCodesMade, u.Email, "")

		// Step: Without a second factor there is nothing to regenerate.
		b := e.as(t, fx.CustB)
		r = b.submit("/account", "/account/recovery-codes", nil)
		wantStatus(t, r, http.StatusUnprocessableEntity)
		wantBody(t, r, zh("error.recovery_needs_totp"))

		// Step: Turning the factor off deletes the codes.
		if err := e.store.DisableTOTP(context.Background(), models.SystemActor("test"), u.ID); err != nil {
			t.Fatal(err)
		}
		if n, err := e.store.RecoveryCodesLeft(context.Background(), u.ID); err != nil || n != 0 {
			t.Errorf("%d codes left after turning the factor off (%v), want 0", n, err)
		}
	})
}

func containsString(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

func TestSignedInDevices(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		u := e.fx.CustA
		phone := newClient(t, e.app)
		phone.header.Set("User-Agent", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36")
		wantRedirect(t, phone.login(u.Email, dbtest.Password), "/")
		desk := newClient(t, e.app)
		desk.header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0")
		wantRedirect(t, desk.login(u.Email, dbtest.Password), "/")

		r := desk.get("/account")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, zh("account.sessions_count", 2), zh("account.device_on", "Chrome", "Android"),
			zh("account.device_on", "Firefox", "Windows"), zh("account.this_device"), zh("account.end_other_sessions"))

		wantRedirect(t, desk.submit("/account", "/account/sessions/end-others", nil), "/account")
		r = desk.get("/account")
		wantBody(t, r, zh("flash.other_sessions_ended"), zh("account.sessions_count", 1))
		wantNoBody(t, r, zh("account.device_on", "Chrome", "Android"))
		wantRedirect(t, phone.get("/"), "/login?next=%2F")
		wantAudit(t, e.as(t, e.fx.Admin), models.AuditSessionsEnded, u.Email, "")

		// Without the CSRF token nothing ends.
		wantStatus(t, desk.post("/account/sessions/end-others", nil), http.StatusForbidden)
	})
}
