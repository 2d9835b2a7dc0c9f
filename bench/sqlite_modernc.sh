#!/usr/bin/env bash
# Runs the SQLite driver benchmarks (models/driver_bench_test.go) or builds
# the portal on a current modernc.org/sqlite, with the gorm dialect
# libtnb/sqlite, in a scratch copy of the tree. That driver needs newer
# modernc modules than glebarez/go-sqlite (kept behind -tags
# sqlite_glebarez), so the two cannot share go.mod; see docs/benchmarks.md,
# "The SQLite driver".
#
#   bench/sqlite_modernc.sh test ./models -run '^$' -bench 'Driver(Insert|UpdateJoin|RecordResults)' -benchtime 5x
#   bench/sqlite_modernc.sh build -o /tmp/portal-modernc ./cmd/portal    (an absolute -o path)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && git ls-files -z | xargs -0 tar -cf -) | tar -xf - -C "$tmp"
cat >"$tmp/models/sqlite_driver.go" <<'GO'
//go:build !sqlite_glebarez

package models

import (
	"github.com/libtnb/sqlite"
	"gorm.io/gorm"
)

const SQLiteDriver = "modernc.org/sqlite"

const sqliteTimeLayout = "2006-01-02 15:04:05.999999999-07:00"

// Its default layout is time.Time.String; "sqlite" is sqliteTimeLayout.
const sqliteDriverParams = "&_time_format=sqlite"

func sqliteDialector(dsn string) gorm.Dialector { return sqlite.Open(dsn) }

func sqliteIsBusy(err error) bool { return codedBusy(err) }
GO
cd "$tmp"
go get github.com/libtnb/sqlite@v1.3.0 >/dev/null 2>&1
go "$@"
