package models

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect names the database family a Store runs on.
type Dialect string

const (
	SQLite Dialect = "sqlite"
	MySQL  Dialect = "mysql"
)

// dialectOf is the one way the code asks which database it runs on: from
// the connection itself, so a transaction, a migration step and the Store
// all get the same answer. MariaDB and TiDB speak MySQL's dialect.
func dialectOf(db *gorm.DB) Dialect {
	if db.Dialector.Name() == "mysql" {
		return MySQL
	}
	return SQLite
}

// OpenOptions say where the database is.
type OpenOptions struct {
	// URL is empty for the embedded SQLite file, or mysql://user:pass@host:port/db.
	URL string
	// DataDir holds the SQLite file when URL is empty.
	DataDir string
	Logger  *slog.Logger
}

// Open connects to the database named by opts and checks that it answers.
func Open(ctx context.Context, opts OpenOptions) (*gorm.DB, Dialect, error) {
	cfg := &gorm.Config{
		Logger:         logger.Discard,
		NowFunc:        func() time.Time { return time.Now().UTC() },
		TranslateError: true,
	}
	var (
		db      *gorm.DB
		dialect Dialect
		err     error
	)
	switch {
	case opts.URL == "" || strings.HasPrefix(opts.URL, "sqlite:"):
		path := strings.TrimPrefix(opts.URL, "sqlite:")
		if path == "" {
			if err := os.MkdirAll(opts.DataDir, 0o750); err != nil {
				return nil, "", fmt.Errorf("models: create data dir: %w", err)
			}
			path = filepath.Join(opts.DataDir, "portal.db")
		}
		dialect = SQLite
		db, err = gorm.Open(sqliteDialector(SQLiteDSN(path)), cfg)
	case strings.HasPrefix(opts.URL, "mysql://"):
		dsn, derr := MySQLDSN(opts.URL)
		if derr != nil {
			return nil, "", derr
		}
		dialect = MySQL
		db, err = gorm.Open(mysql.Open(dsn), cfg)
	default:
		return nil, "", fmt.Errorf("models: database URL must be empty, sqlite:PATH or mysql://user:pass@host:port/db")
	}
	if err != nil {
		return nil, "", fmt.Errorf("models: open %s: %w", dialect, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, "", err
	}
	if dialect == SQLite {
		// One writer at a time is all SQLite allows; a small pool avoids
		// "database is locked" storms while WAL lets readers proceed.
		sqlDB.SetMaxOpenConns(4)
		sqlDB.SetMaxIdleConns(4)
	} else {
		sqlDB.SetMaxOpenConns(32)
		sqlDB.SetMaxIdleConns(8)
		sqlDB.SetConnMaxLifetime(5 * time.Minute)
		sqlDB.SetConnMaxIdleTime(time.Minute)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pctx); err != nil {
		_ = sqlDB.Close()
		return nil, "", fmt.Errorf("models: %s does not answer: %w", dialect, err)
	}
	return db, dialect, nil
}

// SQLiteDSN returns the connection string for an SQLite file with WAL, a busy
// timeout and foreign keys on, set on every pooled connection, and the
// driver's parameters (the stored time layout).
func SQLiteDSN(path string) string {
	return "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate" + sqliteDriverParams
}

// MySQLDSN turns mysql://user:pass@host:port/db?opts into a driver DSN that
// stores and reads times in UTC.
func MySQLDSN(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("models: bad MySQL URL: %w", err)
	}
	db := strings.TrimPrefix(u.Path, "/")
	if u.Host == "" || db == "" {
		return "", fmt.Errorf("models: MySQL URL needs a host and a database name: mysql://user:pass@host:port/db")
	}
	host := u.Host
	if u.Port() == "" {
		host += ":3306"
	}
	q := u.Query()
	q.Set("parseTime", "true")
	q.Set("loc", "UTC")
	if q.Get("charset") == "" {
		q.Set("charset", "utf8mb4")
	}
	if q.Get("collation") == "" {
		q.Set("collation", "utf8mb4_unicode_ci")
	}
	q.Set("time_zone", "'+00:00'")
	user := u.User.Username()
	pass, _ := u.User.Password()
	cred := user
	if pass != "" {
		cred += ":" + pass
	}
	return fmt.Sprintf("%s@tcp(%s)/%s?%s", cred, host, db, q.Encode()), nil
}
