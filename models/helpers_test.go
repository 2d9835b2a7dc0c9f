package models_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"gorm.io/gorm"
)

// wantInvalid fails unless err is a *models.ValidationError for field with key.
func wantInvalid(t *testing.T, err error, field, key string) *models.ValidationError {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s on %s", key, field)
	}
	v, ok := models.AsValidation(err)
	if !ok {
		t.Fatalf("got %T %v, want *models.ValidationError %s", err, err, key)
	}
	if v.Key != key || v.Field != field {
		t.Fatalf("got %s on %q, want %s on %q", v.Key, v.Field, key, field)
	}
	return v
}

// auditOf lists the audit events of one action, newest first.
func auditOf(t *testing.T, s *models.Store, action string) []models.AuditEvent {
	t.Helper()
	evs, err := s.ListAudit(context.Background(), models.AllOrgs(), models.AuditFilter{Action: action, Limit: 500})
	if err != nil {
		t.Fatalf("list audit %s: %v", action, err)
	}
	return evs
}

// detailOf decodes an audit event's JSON detail.
func detailOf(t *testing.T, ev models.AuditEvent) map[string]any {
	t.Helper()
	if ev.Detail == "" {
		t.Fatalf("audit event %s has no detail", ev.Action)
	}
	var d map[string]any
	if err := json.Unmarshal([]byte(ev.Detail), &d); err != nil {
		t.Fatalf("audit detail %q: %v", ev.Detail, err)
	}
	return d
}

// eachDB runs f once per available database with its address, for tests
// that need a second store or a raw connection to the same database.
func eachDB(t *testing.T, f func(t *testing.T, db dbtest.DB, clock *dbtest.Clock)) {
	t.Helper()
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { f(t, db, dbtest.NewClock()) })
	}
}

// rawDB opens a plain connection to db, to look at rows the Store hides.
func rawDB(t testing.TB, db dbtest.DB) *gorm.DB {
	t.Helper()
	g, _, err := models.Open(context.Background(), models.OpenOptions{URL: db.URL})
	if err != nil {
		t.Fatalf("open %s: %v", db.Name, err)
	}
	t.Cleanup(func() {
		if s, err := g.DB(); err == nil {
			s.Close()
		}
	})
	return g
}

func ptr[T any](v T) *T { return &v }

// passphraseOK reports whether passphrase is c's, failing the test on an
// error (hashing busy, say).
func passphraseOK(t *testing.T, s *models.Store, c *models.Contact, passphrase string) bool {
	t.Helper()
	ok, err := s.VerifyPassphrase(context.Background(), c, passphrase)
	if err != nil {
		t.Fatalf("verify passphrase: %v", err)
	}
	return ok
}

// fieldKeys maps each field of a validation error to its key (the first
// per field).
func fieldKeys(err error) map[string]string {
	out := map[string]string{}
	for _, v := range models.Validations(err) {
		if _, ok := out[v.Field]; !ok {
			out[v.Field] = v.Key
		}
	}
	return out
}
