package handlers_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// syncBuffer is a log destination safe for the app's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Issue 9 point 12, sign-in part: a failed audit write of a failed
// sign-in was dropped with `_ =`. The answer stays the same; the failure
// is returned joined to it and logged.
func TestSignInAuditFailureIsLogged(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		var logs syncBuffer
		app := newApp(e.store, func(d *handlers.Deps) { d.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
		// The audit log's table goes away behind the store's back.
		raw, _, err := models.Open(t.Context(), models.OpenOptions{URL: e.db.URL})
		if err != nil {
			t.Fatal(err)
		}
		if err := raw.Exec("DROP TABLE audit_events").Error; err != nil {
			t.Fatal(err)
		}
		if sqlDB, err := raw.DB(); err == nil {
			sqlDB.Close()
		}

		_, err = e.store.Authenticate(t.Context(), e.fx.CustA.Email, "not the password at all", "192.0.2.9", models.DefaultSignInLimits)
		if !errors.Is(err, models.ErrBadCredentials) || !strings.Contains(err.Error(), "audit failed sign-in") {
			t.Fatalf("Authenticate = %v, want ErrBadCredentials joined with the audit failure", err)
		}

		r := newClient(t, app).login(e.fx.CustA.Email, "not the password at all")
		wantStatus(t, r, http.StatusUnauthorized)
		if !strings.Contains(logs.String(), "audit failed sign-in") {
			t.Fatalf("the failed audit write was not logged; log:\n%s", logs.String())
		}
	})
}

// Issue 9 point 12: the sign-in and sign-out handlers logged through the
// handler's logger, so their lines lacked the request's ID.
func TestSignInLogLinesCarryTheRequestID(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		var logs logLines
		app := newApp(e.store, func(d *handlers.Deps) { d.Logger = logs.logger() })
		signedIn := signIn(t, app, e.fx.CustB.Email, dbtest.Password)
		token := signedIn.csrf("/")
		// The audit log's table goes away behind the store's back.
		raw, _, err := models.Open(t.Context(), models.OpenOptions{URL: e.db.URL})
		if err != nil {
			t.Fatal(err)
		}
		if err := raw.Exec("DROP TABLE audit_events").Error; err != nil {
			t.Fatal(err)
		}
		if sqlDB, err := raw.DB(); err == nil {
			sqlDB.Close()
		}
		for _, c := range []struct {
			msg  string
			send func() *response
		}{
			{"sign-in: a write besides the answer failed", func() *response {
				r := newClient(t, app).login(e.fx.CustA.Email, "not the password at all")
				wantStatus(t, r, http.StatusUnauthorized)
				return r
			}},
			{"sign-out: audit write failed", func() *response {
				r := signedIn.post("/logout", url.Values{"_csrf": {token}})
				wantRedirect(t, r, "/login")
				return r
			}},
		} {
			id := c.send().Header.Get(handlers.HeaderRequestID)
			lines := withMsg(logs.lines(t), c.msg)
			if len(lines) != 1 {
				t.Fatalf("%d lines %q, want 1; log:\n%s", len(lines), c.msg, logs.buf.String())
			}
			if id == "" || lines[0]["request_id"] != id {
				t.Errorf("line %v does not carry the request's ID %q", lines[0], id)
			}
		}
	})
}
