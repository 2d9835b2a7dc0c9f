package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// statements is what a statementStore counted since the last reset.
type statements struct {
	mu     sync.Mutex
	tables []string // the table of each statement, "" for raw SQL
}

func (s *statements) add(table string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tables = append(s.tables, table)
}

// take returns what was counted and starts again from nothing.
func (s *statements) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.tables
	s.tables = nil
	return out
}

// statementStore is a store whose database counts every statement it
// runs: queries, raw statements, inserts, updates, deletes.
func statementStore(t *testing.T, db dbtest.DB) (*models.Store, *statements) {
	t.Helper()
	gdb, _, err := models.Open(t.Context(), models.OpenOptions{URL: db.URL})
	if err != nil {
		t.Fatal(err)
	}
	st := &statements{}
	count := func(tx *gorm.DB) {
		if !tx.DryRun { // gorm builds a subquery with a dry run
			st.add(tx.Statement.Table)
		}
	}
	cb := gdb.Callback()
	for name, err := range map[string]error{
		"query":  cb.Query().After("gorm:query").Register("test:count", count),
		"row":    cb.Row().After("gorm:row").Register("test:count", count),
		"raw":    cb.Raw().After("gorm:raw").Register("test:count", count),
		"create": cb.Create().After("gorm:create").Register("test:count", count),
		"update": cb.Update().After("gorm:update").Register("test:count", count),
		"delete": cb.Delete().After("gorm:delete").Register("test:count", count),
	} {
		if err != nil {
			t.Fatal(name, err)
		}
	}
	s := models.NewStore(gdb, models.WithHasher(dbtest.FastHasher), models.WithSecretKey([]byte("test secret")))
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s, st
}

// Each signed-in page makes at most a fixed number of statements, whatever
// the number of devices (the session and its user in one, then the page's
// data), and a bare route makes none about the session: /healthz and
// /assets neither read nor touch it, even with a session cookie.
func TestPagesMakeFewStatements(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			store, st := statementStore(t, db)
			fx := dbtest.Seed(t, store)
			ctx := context.Background()
			var dev int64
			for i := range 12 {
				d, err := store.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: fx.OrgA.ID,
					Name: fmt.Sprintf("web-%02d", i), Address: fmt.Sprintf("127.0.0.%d", 20+i)})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := store.AddCheck(ctx, models.SystemActor("test"), fx.OrgA.ID, d.ID,
					models.CheckInput{Kind: models.KindICMP, Target: d.Address}); err != nil {
					t.Fatal(err)
				}
				dev = d.ID
			}
			app := newApp(store)
			cust := signIn(t, app, fx.CustA.Email, dbtest.Password)
			eng := signIn(t, app, fx.Engineer.Email, dbtest.Password)
			for _, tc := range []struct {
				c    *client
				path string
				max  int64
			}{
				{cust, "/healthz", 3},
				{cust, "/readyz", 2},
				// the page's data in four, its filters' cabinets and tags in one
				{cust, "/uptime", 7},
				{cust, "/", 17}, // 14, the maintenance windows waiting for an answer, the cabinets past a threshold, the parcels waiting at reception
				{cust, fmt.Sprintf("/devices/%d", dev), 7},
				{eng, "/fleet", 5},
				{eng, "/fleet?q=web&state=up", 5},
			} {
				tc.c.get(tc.path) // a first request may refresh the session
				st.take()
				if r := tc.c.get(tc.path); r.StatusCode != http.StatusOK {
					t.Fatalf("%s: %d", tc.path, r.StatusCode)
				}
				got := st.take()
				t.Logf("%s: %d statements: %v", tc.path, len(got), got)
				if int64(len(got)) > tc.max {
					t.Errorf("%s: %d statements, want at most %d: %v", tc.path, len(got), tc.max, got)
				}
				if tc.path == "/healthz" || tc.path == "/readyz" {
					for _, tb := range got {
						if tb == "sessions" || tb == "users" {
							t.Errorf("%s read %s", tc.path, tb)
						}
					}
				}
			}
		})
	}
}
