//go:build !sqlite_glebarez

package models

import (
	"errors"
	"net/url"

	"github.com/ncruces/go-sqlite3"
	"github.com/ncruces/go-sqlite3/gormlite"
	"gorm.io/gorm"
)

// SQLiteDriver names the SQLite driver this build links: ncruces/go-sqlite3
// (SQLite compiled to WebAssembly and translated to Go, so still no cgo)
// with its gorm dialect. The build tag sqlite_glebarez links the driver the
// portal used before, glebarez/go-sqlite, for the comparison in
// docs/benchmarks.md ("The SQLite driver").
const SQLiteDriver = "ncruces/go-sqlite3"

// sqliteTimeLayout is how times are stored in SQLite files: the text the
// portal's first driver wrote (SQLite's date format 7 with the zone,
// "2026-01-02 15:04:05.123456+00:00"). Queries compare these strings, so
// every driver must write this one layout (TestSQLiteTimeText).
const sqliteTimeLayout = "2006-01-02 15:04:05.999999999-07:00"

// sqliteDriverParams makes the driver write and read times in the one
// layout the files hold (sqliteTimeLayout); its own default, RFC 3339 with
// a "T", would sort apart from the times already stored.
var sqliteDriverParams = "&_timefmt=" + url.QueryEscape(sqliteTimeLayout)

func sqliteDialector(dsn string) gorm.Dialector { return gormlite.Open(dsn) }

// sqliteIsBusy says whether err is SQLITE_BUSY in any extended form. This
// driver's codes are typed (sqlite3.ErrorCode), not the int codedBusy reads.
func sqliteIsBusy(err error) bool { return errors.Is(err, sqlite3.BUSY) || codedBusy(err) }
