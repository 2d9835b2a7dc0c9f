// Package dbtest gives tests real databases: a fresh SQLite file always,
// and a fresh MySQL database when PORTAL_TEST_MYSQL_DSN is set. With CI=true
// a missing MySQL is a failure, not a skip.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// FastHasher keeps tests quick; production parameters are tested on their own.
var FastHasher = models.PasswordHasher{Memory: 1024, Time: 1, Threads: 1}

// Clock is a movable time source for tests.
type Clock struct{ t time.Time }

// NewClock starts at a fixed instant.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return c.t }

// Advance moves the clock on.
func (c *Clock) Advance(d time.Duration) { c.t = c.t.Add(d) }

// DB is one database to run a test against.
type DB struct {
	Name string
	URL  string // for models.Open: "sqlite:PATH" or mysql://…
}

// Databases lists the databases available to tests: SQLite always, MySQL
// when configured. Under CI=true MySQL must be configured.
func Databases(t testing.TB) []DB {
	t.Helper()
	dbs := []DB{{Name: "sqlite", URL: "sqlite:" + filepath.Join(t.TempDir(), "portal.db")}}
	dsn := os.Getenv("PORTAL_TEST_MYSQL_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but PORTAL_TEST_MYSQL_DSN is not set: MySQL tests must run in CI")
		}
		return dbs
	}
	return append(dbs, DB{Name: "mysql", URL: freshMySQL(t, dsn)})
}

// freshMySQL creates a throw-away database on the server of dsn
// (mysql://user:pass@host:port/anything) and drops it when the test ends.
func freshMySQL(t testing.TB, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("PORTAL_TEST_MYSQL_DSN: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "portal_t_" + hex.EncodeToString(b)
	admin := *u
	admin.Path = "/mysql"
	adminDSN, err := models.MySQLDSN(admin.String())
	if err != nil {
		t.Fatal(err)
	}
	db, err := gorm.Open(mysql.Open(adminDSN), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatalf("MySQL at PORTAL_TEST_MYSQL_DSN does not answer: %v", err)
	}
	if err := db.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci").Error; err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		db.Exec("DROP DATABASE IF EXISTS " + name)
		if s, err := db.DB(); err == nil {
			s.Close()
		}
	})
	u.Path = "/" + name
	return u.String()
}

// Open opens and migrates a store on db.
func Open(t testing.TB, db DB, opts ...models.StoreOption) *models.Store {
	t.Helper()
	gdb, _, err := models.Open(context.Background(), models.OpenOptions{URL: db.URL})
	if err != nil {
		t.Fatalf("open %s: %v", db.Name, err)
	}
	// Notices go out as soon as they are expanded (no gathering window),
	// so tests of one outage's notice need not wait for it; the tests of
	// grouping pass models.WithNoticeWindow.
	opts = append([]models.StoreOption{models.WithHasher(FastHasher), models.WithSecretKey([]byte("test secret")),
		models.WithNoticeWindow(0)}, opts...)
	s := models.NewStore(gdb, opts...)
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate %s: %v", db.Name, err)
	}
	return s
}

// Each runs f once per available database, as a subtest named after it.
func Each(t *testing.T, f func(t *testing.T, s *models.Store, clock *Clock)) {
	t.Helper()
	for _, db := range Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			clock := NewClock()
			f(t, Open(t, db, models.WithClock(clock.Now)), clock)
		})
	}
}

// Fixture holds two organizations with a customer user each, and one user
// of each staff role. Password for all: Password.
type Fixture struct {
	OrgA, OrgB                          *models.Organization
	CustA, CustB                        *models.User
	Admin, Engineer, Service, Reception *models.User
}

// Password is every fixture user's password.
const Password = "correct horse battery"

// Seed creates the Fixture.
func Seed(t testing.TB, s *models.Store) *Fixture {
	t.Helper()
	ctx := context.Background()
	sys := models.SystemActor("test")
	f := &Fixture{}
	mk := func(email, name string, role models.Role, org *int64) *models.User {
		u, err := s.CreateUser(ctx, sys, models.UserInput{Email: email, Name: name, Role: role, OrgID: org,
			Password: Password, Phone: "+86 10 5555 " + strings.Repeat("1", 4)})
		if err != nil {
			t.Fatalf("seed user %s: %v", email, err)
		}
		return u
	}
	f.Admin = mk("admin@idc.test", "Ada Admin", models.RoleAdmin, nil)
	f.Engineer = mk("eng@idc.test", "Li Engineer", models.RoleEngineer, nil)
	f.Service = mk("desk@idc.test", "Wang Service", models.RoleService, nil)
	f.Reception = mk("front@idc.test", "Zhao Reception", models.RoleReception, nil)
	var err error
	f.OrgA, err = s.CreateOrg(ctx, sys, models.OrgInput{Slug: "alpha", Name: "Alpha Trading 阿尔法", ServiceRepUserID: &f.Service.ID, EngineerUserID: &f.Engineer.ID})
	if err != nil {
		t.Fatal(err)
	}
	f.OrgB, err = s.CreateOrg(ctx, sys, models.OrgInput{Slug: "bravo", Name: "Bravo Games"})
	if err != nil {
		t.Fatal(err)
	}
	f.CustA = mk("a@alpha.test", "Alice Alpha", models.RoleCustomer, &f.OrgA.ID)
	f.CustB = mk("b@bravo.test", "Bob Bravo", models.RoleCustomer, &f.OrgB.ID)
	return f
}
