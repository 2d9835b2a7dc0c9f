package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// failAudits makes the database refuse every audit record of action, as
// a full disk would, with a trigger on the test database; the returned
// func lifts it.
func failAudits(t *testing.T, db dbtest.DB, action string) func() {
	t.Helper()
	gdb, dialect, err := models.Open(context.Background(), models.OpenOptions{URL: db.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s, err := gdb.DB(); err == nil {
			s.Close()
		}
	})
	create := "CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events FOR EACH ROW WHEN NEW.action = '" + action +
		"' BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END"
	if dialect == models.MySQL {
		create = "CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events FOR EACH ROW BEGIN IF NEW.action = '" + action +
			"' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'disk full (test)'; END IF; END"
	}
	if err := gdb.Exec(create).Error; err != nil {
		t.Fatalf("create trigger: %v", err)
	}
	return func() {
		if err := gdb.Exec("DROP TRIGGER fail_audit").Error; err != nil {
			t.Fatalf("drop trigger: %v", err)
		}
	}
}

// noSessionCookie fails if r set a session cookie.
func noSessionCookie(t *testing.T, r *response) {
	t.Helper()
	for _, ck := range r.Cookies() {
		if ck.Name == sessionCookie && ck.Value != "" && ck.MaxAge >= 0 {
			t.Errorf("the failed answer set a session cookie")
		}
	}
}

// A sign-in whose audit record cannot be written signs nobody in: the
// answer is an error page, no full session exists and no cookie is set;
// the same for completing the second factor. Once audits work again, the
// sign-in works and is audited.
func TestASignInThatCannotBeAuditedSignsNobodyIn(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		lift := failAudits(t, e.db, models.AuditSignIn)
		c := newClient(t, e.app)
		r := c.login(e.fx.CustA.Email, dbtest.Password)
		wantStatus(t, r, http.StatusInternalServerError)
		wantBody(t, r, zh("error.internal"))
		noSessionCookie(t, r)
		if n, err := e.store.CountSessions(ctx, e.fx.CustA.ID, models.DefaultSessionPolicy); err != nil || n != 0 {
			t.Errorf("sessions of the user after the failed sign-in: %d (%v), want 0", n, err)
		}
		if got := c.get("/"); got.StatusCode != http.StatusSeeOther {
			t.Errorf("GET / after the failed sign-in: %d, want 303 to the sign-in page", got.StatusCode)
		}

		// The second factor: the password step makes a pending session,
		// the code's step must not make a full one without its record.
		secret := enableTOTP(t, e, e.fx.CustB)
		e.clock.Advance(30 * time.Second) // the confirming code is spent
		c = newClient(t, e.app)
		wantStatus(t, c.login(e.fx.CustB.Email, dbtest.Password), http.StatusSeeOther)
		pending := c.session()
		code, err := totp.GenerateCode(secret, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		r = c.submit("/login/totp", "/login/totp", url.Values{"code": {code}})
		wantStatus(t, r, http.StatusInternalServerError)
		noSessionCookie(t, r)
		if n, err := e.store.CountSessions(ctx, e.fx.CustB.ID, models.DefaultSessionPolicy); err != nil || n != 0 {
			t.Errorf("full sessions after the failed second factor: %d (%v), want 0", n, err)
		}
		if c.session() != pending {
			t.Errorf("the browser's session changed although the second factor failed")
		}
		if evs := auditEvents(t, e, models.AuditSignIn); len(evs) != 0 {
			t.Errorf("%d sign-in records written, want none", len(evs))
		}

		lift()
		c = newClient(t, e.app)
		wantStatus(t, c.login(e.fx.CustA.Email, dbtest.Password), http.StatusSeeOther)
		wantStatus(t, c.get("/"), http.StatusOK)
		if evs := auditEvents(t, e, models.AuditSignIn); len(evs) != 1 {
			t.Errorf("%d sign-in records after the sign-in that worked, want 1", len(evs))
		}
	})
}

// A password change renews the session with its audit record, in one
// transaction: when the record cannot be written, the password, the
// sessions and the cookie stay as they were.
func TestAPasswordChangeThatCannotBeAuditedChangesNothing(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		c := e.as(t, e.fx.CustA)
		before := c.session()
		lift := failAudits(t, e.db, models.AuditPasswordChanged)
		r := c.submit("/account", "/account/password", url.Values{"current": {dbtest.Password},
			"password": {"a much newer passphrase 42"}, "confirm": {"a much newer passphrase 42"}})
		wantStatus(t, r, http.StatusInternalServerError)
		noSessionCookie(t, r)
		if c.session() != before {
			t.Errorf("the session cookie changed although the change failed")
		}
		wantStatus(t, c.get("/account"), http.StatusOK) // the old session still works
		if _, err := e.store.Authenticate(ctx, e.fx.CustA.Email, dbtest.Password, "192.0.2.9", models.DefaultSignInLimits); err != nil {
			t.Errorf("the old password no longer works: %v", err)
		}
		lift()
	})
}

// auditEvents lists the audit records of one action.
func auditEvents(t *testing.T, e *env, action string) []models.AuditEvent {
	t.Helper()
	evs, err := e.store.ListAudit(context.Background(), models.AllOrgs(), models.AuditFilter{Action: action, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}
