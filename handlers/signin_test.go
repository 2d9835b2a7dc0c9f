package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"github.com/colo-portal/portal/views"
)

var alertRE = regexp.MustCompile(`(?s)<div class="alert bad" role="alert">(.*?)</div>`)

// alertOf is the error message a form shows, failing when there is none.
func alertOf(t *testing.T, r *response) string {
	t.Helper()
	m := alertRE.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no error message on the page (status %d):\n%s", r.StatusCode, clip(r.Body))
	}
	return m[1]
}

func TestSignIn(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		fx := e.fx

		// Step: A wrong password and an unknown email get the same answer.
		func() {
			wrong := newClient(t, e.app).login(fx.CustA.Email, "not the password")
			unknown := newClient(t, e.app).login("nobody@alpha.test", dbtest.Password)
			if wrong.StatusCode != unknown.StatusCode {
				t.Errorf("wrong password: %d, unknown email: %d", wrong.StatusCode, unknown.StatusCode)
			}
			wantStatus(t, wrong, http.StatusUnauthorized)
			if a, b := alertOf(t, wrong), alertOf(t, unknown); a != b {
				t.Errorf("wrong password says %q, unknown email says %q", a, b)
			}
			if got := alertOf(t, wrong); got != zh("login.bad_credentials") {
				t.Errorf("message %q, want %q", got, zh("login.bad_credentials"))
			}
			wantBody(t, wrong, `value="`+fx.CustA.Email+`"`) // the email stays in the form
		}()

		// Step: A disabled user gets the same answer as a wrong password.
		func() {
			if err := e.store.SetUserDisabled(context.Background(), models.SystemActor("test"), fx.Reception.ID, true); err != nil {
				t.Fatal(err)
			}
			r := newClient(t, e.app).login(fx.Reception.Email, dbtest.Password)
			wantStatus(t, r, http.StatusUnauthorized)
			if got := alertOf(t, r); got != zh("login.bad_credentials") {
				t.Errorf("message %q, want %q", got, zh("login.bad_credentials"))
			}
		}()

		// Step: After five failures the sixth attempt is refused even with the right password.
		func() {
			e.clock.Advance(time.Hour) // out of the window of the failures above
			email := fx.CustB.Email
			for i := 0; i < models.DefaultSignInLimits.PerAccount; i++ {
				wantStatus(t, newClient(t, e.app).login(email, "wrong guess "+strconv.Itoa(i)), http.StatusUnauthorized)
			}
			r := newClient(t, e.app).login(email, dbtest.Password)
			wantStatus(t, r, http.StatusTooManyRequests)
			ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
			if err != nil || ra <= 0 || ra > int(models.DefaultSignInLimits.Window/time.Second)+1 {
				t.Errorf("Retry-After %q: want seconds within the window", r.Header.Get("Retry-After"))
			}
			minutes := int(models.DefaultSignInLimits.Window / time.Minute)
			if got := alertOf(t, r); got != zh("login.rate_limited", minutes) {
				t.Errorf("message %q, want %q", got, zh("login.rate_limited", minutes))
			}
			// Another account from the same address is not affected.
			signIn(t, e.app, fx.CustA.Email, dbtest.Password)
			// When the window has passed, the right password works again.
			e.clock.Advance(models.DefaultSignInLimits.Window)
			signIn(t, e.app, email, dbtest.Password)
		}()

		// Step: Failed and refused sign-ins are on the audit page.
		func() {
			admin := e.as(t, fx.Admin)
			r := admin.get("/admin/audit?action=" + models.AuditSignInFailed)
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, zh("audit.action."+models.AuditSignInFailed), "nobody@alpha.test", fx.CustA.Email, fx.CustB.Email)
			wantNoBody(t, r, zh("audit.empty"))
			r = admin.get("/admin/audit?action=" + models.AuditSignInLimited)
			wantBody(t, r, zh("audit.action."+models.AuditSignInLimited), fx.CustB.Email)
			r = admin.get("/admin/audit")
			wantBody(t, r, zh("audit.action."+models.AuditSignIn), zh("audit.action."+models.AuditSignInFailed))
		}()
	})
}

// enableTOTP turns on a second factor for u through the store, the way the
// setup page does, and returns the secret.
func enableTOTP(t *testing.T, e *env, u *models.User) string {
	t.Helper()
	ctx := context.Background()
	en, err := e.store.BeginTOTP(ctx, u.ID, "Colo Portal")
	if err != nil {
		t.Fatalf("begin TOTP: %v", err)
	}
	code, err := totp.GenerateCode(en.Secret, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.ConfirmTOTP(ctx, models.UserActor(u, "127.0.0.1"), u.ID, code); err != nil {
		t.Fatalf("confirm TOTP: %v", err)
	}
	return en.Secret
}

// wrongCode is a six-digit code that is not valid for secret around now.
func wrongCode(t *testing.T, secret string, now time.Time) string {
	t.Helper()
	valid := map[string]bool{}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		c, err := totp.GenerateCode(secret, now.Add(d))
		if err != nil {
			t.Fatal(err)
		}
		valid[c] = true
	}
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		if !valid[c] {
			return c
		}
	}
	t.Fatal("no wrong code found")
	return ""
}

func TestSecondFactor(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		fx := e.fx
		secret := enableTOTP(t, e, fx.CustA)

		// The code used to confirm is spent; the next one is 30 s later.
		e.clock.Advance(30 * time.Second)
		code, err := totp.GenerateCode(secret, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}

		c := newClient(t, e.app)
		var pending string
		// Step: The right password leads to the second-factor step.
		func() {
			r := c.submit("/login?next=%2Fteam", "/login",
				url.Values{"email": {fx.CustA.Email}, "password": {dbtest.Password}, "next": {"/team"}})
			wantRedirect(t, r, "/login/totp")
			pending = c.session()
			if pending == "" {
				t.Fatal("no session cookie for the pending stage")
			}
			wantStatus(t, c.get("/login/totp"), http.StatusOK)
		}()

		// Step: Protected pages send a pending session back to the second factor.
		func() {
			for _, p := range []string{"/", "/team", "/account", "/account/totp"} {
				wantRedirect(t, c.get(p), "/login/totp")
			}
			r := c.submit("/login/totp", "/account/password", url.Values{"current": {dbtest.Password},
				"password": {"x pending stage pw 1"}, "confirm": {"x pending stage pw 1"}})
			wantRedirect(t, r, "/login/totp")
		}()

		// Step: A wrong code is refused.
		func() {
			r := c.submit("/login/totp", "/login/totp", url.Values{"code": {wrongCode(t, secret, e.clock.Now())}})
			wantStatus(t, r, http.StatusUnauthorized)
			if got := alertOf(t, r); got != zh("totp.bad_code") {
				t.Errorf("message %q, want %q", got, zh("totp.bad_code"))
			}
		}()

		// Step: The right code completes sign-in with a new session ID.
		func() {
			r := c.submit("/login/totp", "/login/totp", url.Values{"code": {code}})
			wantRedirect(t, r, "/team")
			if c.session() == "" || c.session() == pending {
				t.Fatalf("session %q after the second factor, %q before: want a new one", c.session(), pending)
			}
			wantStatus(t, c.get("/team"), http.StatusOK)
			wantStatus(t, c.get("/login/totp"), http.StatusSeeOther) // no longer pending
			wantRedirect(t, sessionFrom(t, e, pending).get("/"), "/login?next=%2F")
		}()

		// Step: The same code does not work twice.
		func() {
			c2 := newClient(t, e.app)
			wantRedirect(t, c2.login(fx.CustA.Email, dbtest.Password), "/login/totp")
			r := c2.submit("/login/totp", "/login/totp", url.Values{"code": {code}})
			wantStatus(t, r, http.StatusUnauthorized)
			wantRedirect(t, c2.get("/"), "/login/totp")
		}()

		// Step: Five wrong codes end the pending session.
		func() {
			e.clock.Advance(models.DefaultSignInLimits.Window + time.Minute) // forget the failures above
			c := newClient(t, e.app)
			wantRedirect(t, c.login(fx.CustA.Email, dbtest.Password), "/login/totp")
			pending := c.session()
			wrong := wrongCode(t, secret, e.clock.Now())
			for i := 1; i < models.DefaultSignInLimits.PerAccount; i++ {
				wantStatus(t, c.submit("/login/totp", "/login/totp", url.Values{"code": {wrong}}), http.StatusUnauthorized)
			}
			r := c.submit("/login/totp", "/login/totp", url.Values{"code": {wrong}})
			wantRedirect(t, r, "/login")
			wantBody(t, c.get("/login"), zh("flash.totp_too_many"))
			wantRedirect(t, sessionFrom(t, e, pending).get("/login/totp"), "/login")
			// The password alone now waits out the window too.
			wantStatus(t, newClient(t, e.app).login(fx.CustA.Email, dbtest.Password), http.StatusTooManyRequests)
		}()

		// Step: A user required to use a second factor must set it up first.
		func() {
			if err := e.store.SetTOTPRequired(context.Background(), models.SystemActor("test"), fx.CustB.ID, true); err != nil {
				t.Fatal(err)
			}
			c := e.as(t, fx.CustB)
			for _, p := range []string{"/", "/team", "/account"} {
				wantRedirect(t, c.get(p), "/account/totp")
			}
			r := c.get("/account/totp")
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, zh("totp_setup.forced"))
			wantNoBody(t, r, `href="/team"`) // the navigation is hidden until enrolled
			// Everything else, such as turning the factor off, waits for enrollment.
			wantRedirect(t, c.submit("/account/totp", "/account/totp/disable", nil), "/account/totp")
		}()

		// Step: A required user who enrolls through the pages gets in.
		func() {
			c := e.as(t, fx.CustB) // the default issuer, as in production
			wantRedirect(t, c.submit("/account/totp", "/account/totp/begin", nil), "/account/totp")
			en, err := e.store.PendingTOTP(context.Background(), fx.CustB.ID)
			if err != nil {
				t.Fatalf("pending TOTP: %v", err)
			}
			r := c.get("/account/totp")
			wantBody(t, r, views.GroupSecret(en.Secret), `src="data:image/png;base64,`)
			wantNoBody(t, r, "TemplFailedSanitizationURL")
			code, err := totp.GenerateCode(en.Secret, e.clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			// Turning it on answers with the recovery codes, shown once.
			r = c.submit("/account/totp", "/account/totp/confirm", url.Values{"code": {code}})
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, zh("recovery.once"))
			if n := len(recoveryCodeRE.FindAllString(r.Body, -1)); n != models.RecoveryCodeCount {
				t.Fatalf("%d recovery codes on the page, want %d", n, models.RecoveryCodeCount)
			}
			wantStatus(t, c.get("/"), http.StatusOK)
			wantNoBody(t, c.get("/account"), recoveryCodeRE.FindString(r.Body))
			// A required factor cannot be turned off by its user.
			wantStatus(t, c.submit("/account", "/account/totp/disable", nil), http.StatusForbidden)
			if !e.user(t, fx.CustB.ID).TOTPEnabled {
				t.Fatal("the required second factor was turned off")
			}
		}()
	})
}

// recoveryCodeRE finds a recovery code on a page.
var recoveryCodeRE = regexp.MustCompile(`<code>([a-z2-9]{5}-[a-z2-9]{5})</code>`)
