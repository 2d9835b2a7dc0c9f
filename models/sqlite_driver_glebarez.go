//go:build sqlite_glebarez

package models

import (
	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
)

// SQLiteDriver names the SQLite driver this build links: glebarez/go-sqlite
// (a fork of an older modernc.org/sqlite), which the portal used until the
// measurements in docs/benchmarks.md ("The SQLite driver"); kept behind the
// build tag sqlite_glebarez to repeat them.
const SQLiteDriver = "glebarez/go-sqlite"

// sqliteDriverParams: none, this driver's default time layout is the one
// the files hold (sqliteTimeLayout in sqlite_driver.go).
const sqliteDriverParams = ""

func sqliteDialector(dsn string) gorm.Dialector { return sqlite.Open(dsn) }

// sqliteIsBusy says whether err is SQLITE_BUSY in any extended form.
func sqliteIsBusy(err error) bool { return codedBusy(err) }
