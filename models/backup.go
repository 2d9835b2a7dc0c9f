package models

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Snapshot names of the database inside a backup folder.
const (
	SQLiteSnapshotFile = "portal.db"  // a whole SQLite database, made by VACUUM INTO
	MySQLSnapshotFile  = "portal.sql" // CREATE TABLE and INSERT statements, one per line
)

// DatabaseSnapshot says what BackupDatabase wrote.
type DatabaseSnapshot struct {
	File    string // the file's name inside the backup folder
	Dialect Dialect
	// Rows counts each table's rows as of the snapshot.
	Rows map[string]int64
}

// BackupDatabase writes a consistent snapshot of the whole database into
// dir while the portal keeps running:
//
//   - SQLite: VACUUM INTO a new file, which reads the database in one read
//     transaction, so what is still in the write-ahead log is included and
//     nothing written meanwhile is half in it (copying portal.db alone
//     loses whatever the log has not yet moved into it);
//   - MySQL: every table read in one REPEATABLE READ transaction started
//     WITH CONSISTENT SNAPSHOT, written as CREATE TABLE and INSERT
//     statements, one per line (the mysql client can load the file too).
//     The portal writes the dump itself, so no mysqldump has to match the
//     server's version, and InnoDB serves the snapshot without a lock.
func (s *Store) BackupDatabase(ctx context.Context, dir string) (*DatabaseSnapshot, error) {
	if dialectOf(s.db) == SQLite {
		return s.backupSQLite(ctx, dir)
	}
	return s.backupMySQL(ctx, dir)
}

func (s *Store) backupSQLite(ctx context.Context, dir string) (*DatabaseSnapshot, error) {
	path := filepath.Join(dir, SQLiteSnapshotFile)
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("models: backup: %s exists", path)
	}
	if err := s.db.WithContext(ctx).Exec("VACUUM INTO ?", path).Error; err != nil {
		return nil, wrap(err, "backup: vacuum into")
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("models: backup: %w", err)
	}
	rows, err := sqliteRowCounts(ctx, path)
	if err != nil {
		return nil, err
	}
	return &DatabaseSnapshot{File: SQLiteSnapshotFile, Dialect: SQLite, Rows: rows}, nil
}

// sqliteRowCounts opens the SQLite file at path on its own and counts
// each table's rows.
func sqliteRowCounts(ctx context.Context, path string) (map[string]int64, error) {
	db, err := gorm.Open(sqliteDialector("file:"+path+"?_pragma=busy_timeout(10000)"+sqliteDriverParams), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return nil, fmt.Errorf("models: open %s: %w", path, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	defer sqlDB.Close()
	var tables []string
	if err := db.WithContext(ctx).Raw("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name").
		Scan(&tables).Error; err != nil {
		return nil, fmt.Errorf("models: list tables of %s: %w", path, err)
	}
	rows := make(map[string]int64, len(tables))
	for _, t := range tables {
		var n int64
		if err := db.WithContext(ctx).Raw("SELECT COUNT(*) FROM " + quoteIdent(SQLite, t)).Scan(&n).Error; err != nil {
			return nil, fmt.Errorf("models: count %s in %s: %w", t, path, err)
		}
		rows[t] = n
	}
	return rows, nil
}

// dumpStatementBytes is about how long one INSERT line of a MySQL dump
// grows before the next starts: well under the server's smallest
// max_allowed_packet (4 MiB on MariaDB and MySQL 8's 64 MiB default).
const dumpStatementBytes = 1 << 20

func (s *Store) backupMySQL(ctx context.Context, dir string) (_ *DatabaseSnapshot, err error) {
	path := filepath.Join(dir, MySQLSnapshotFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("models: backup: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("models: backup: %w", cerr)
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return nil, wrap(err, "backup: connect")
	}
	defer conn.Close()
	for _, q := range []string{"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", "START TRANSACTION WITH CONSISTENT SNAPSHOT"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return nil, wrap(err, "backup: start snapshot")
		}
	}
	// Read only: nothing to keep, and ROLLBACK ends the snapshot on every path.
	defer conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")

	tables, err := mysqlTables(ctx, conn)
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintf(w, "-- portal database backup (MySQL), %s, schema version %d; one statement per line\n",
		time.Now().UTC().Format(time.RFC3339), SchemaVersion())
	fmt.Fprintln(w, "SET NAMES utf8mb4;")
	fmt.Fprintln(w, "SET time_zone = '+00:00';")
	fmt.Fprintln(w, "SET FOREIGN_KEY_CHECKS = 0;")
	fmt.Fprintln(w, "SET UNIQUE_CHECKS = 0;")
	rows := make(map[string]int64, len(tables))
	for _, t := range tables {
		var name, create string
		if err := conn.QueryRowContext(ctx, "SHOW CREATE TABLE "+quoteIdent(MySQL, t)).Scan(&name, &create); err != nil {
			return nil, wrap(err, "backup: show create table "+t)
		}
		fmt.Fprintf(w, "%s;\n", strings.ReplaceAll(strings.ReplaceAll(create, "\r", ""), "\n", " "))
		n, err := dumpTable(ctx, conn, t, w)
		if err != nil {
			return nil, err
		}
		rows[t] = n
	}
	fmt.Fprintln(w, "SET UNIQUE_CHECKS = 1;")
	fmt.Fprintln(w, "SET FOREIGN_KEY_CHECKS = 1;")
	fmt.Fprintln(w, "-- end of backup")
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("models: backup: %w", err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("models: backup: %w", err)
	}
	return &DatabaseSnapshot{File: MySQLSnapshotFile, Dialect: MySQL, Rows: rows}, nil
}

// queryer is a *sql.Conn or *sql.DB.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func mysqlTables(ctx context.Context, q queryer) ([]string, error) {
	rs, err := q.QueryContext(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name")
	if err != nil {
		return nil, wrap(err, "list tables")
	}
	defer rs.Close()
	var tables []string
	for rs.Next() {
		var t string
		if err := rs.Scan(&t); err != nil {
			return nil, wrap(err, "list tables")
		}
		tables = append(tables, t)
	}
	return tables, wrap(rs.Err(), "list tables")
}

// dumpTable writes INSERT statements for every row of table t.
func dumpTable(ctx context.Context, conn *sql.Conn, t string, w io.Writer) (int64, error) {
	rs, err := conn.QueryContext(ctx, "SELECT * FROM "+quoteIdent(MySQL, t))
	if err != nil {
		return 0, wrap(err, "backup: read "+t)
	}
	defer rs.Close()
	cols, err := rs.ColumnTypes()
	if err != nil {
		return 0, wrap(err, "backup: read "+t)
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = quoteIdent(MySQL, c.Name())
	}
	head := "INSERT INTO " + quoteIdent(MySQL, t) + " (" + strings.Join(names, ",") + ") VALUES "
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var (
		stmt strings.Builder
		n    int64
	)
	flush := func() error {
		if stmt.Len() == 0 {
			return nil
		}
		stmt.WriteString(";\n")
		_, err := io.WriteString(w, stmt.String())
		stmt.Reset()
		return err
	}
	for rs.Next() {
		if err := rs.Scan(ptrs...); err != nil {
			return 0, wrap(err, "backup: read "+t)
		}
		if stmt.Len() == 0 {
			stmt.WriteString(head)
		} else {
			stmt.WriteByte(',')
		}
		stmt.WriteByte('(')
		for i, v := range vals {
			if i > 0 {
				stmt.WriteByte(',')
			}
			lit, err := sqlLiteral(v, cols[i].DatabaseTypeName())
			if err != nil {
				return 0, fmt.Errorf("models: backup: %s.%s: %w", t, cols[i].Name(), err)
			}
			stmt.WriteString(lit)
		}
		stmt.WriteByte(')')
		n++
		if stmt.Len() >= dumpStatementBytes {
			if err := flush(); err != nil {
				return 0, fmt.Errorf("models: backup: %w", err)
			}
		}
	}
	if err := rs.Err(); err != nil {
		return 0, wrap(err, "backup: read "+t)
	}
	if err := flush(); err != nil {
		return 0, fmt.Errorf("models: backup: %w", err)
	}
	return n, nil
}

// sqlLiteral writes one value as a MySQL literal on one line: numbers as
// they are, binary columns as X'…', text and times as _utf8mb4 X'…', so
// no quote, backslash or line break in a value needs escaping.
func sqlLiteral(v any, typ string) (string, error) {
	switch v := v.(type) {
	case nil:
		return "NULL", nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case uint64:
		return strconv.FormatUint(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	case float32:
		return strconv.FormatFloat(float64(v), 'g', -1, 32), nil
	case bool:
		if v {
			return "1", nil
		}
		return "0", nil
	case time.Time:
		return "'" + v.UTC().Format("2006-01-02 15:04:05.999999") + "'", nil
	case []byte:
		typ = strings.ToUpper(typ)
		switch {
		case strings.Contains(typ, "INT") || strings.Contains(typ, "DECIMAL") || strings.Contains(typ, "FLOAT") ||
			strings.Contains(typ, "DOUBLE") || typ == "YEAR":
			for _, c := range v {
				if !('0' <= c && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
					return "", fmt.Errorf("number column holds %q", v)
				}
			}
			if len(v) == 0 {
				return "", errors.New("empty number")
			}
			return string(v), nil
		case strings.Contains(typ, "BLOB") || strings.Contains(typ, "BINARY") || typ == "BIT" || typ == "GEOMETRY":
			return "X'" + hex.EncodeToString(v) + "'", nil
		default:
			if len(v) == 0 {
				return "''", nil
			}
			return "_utf8mb4 X'" + hex.EncodeToString(v) + "'", nil
		}
	case string:
		if v == "" {
			return "''", nil
		}
		return "_utf8mb4 X'" + hex.EncodeToString([]byte(v)) + "'", nil
	}
	return "", fmt.Errorf("unexpected value of type %T", v)
}

// quoteIdent quotes a table or column name.
func quoteIdent(d Dialect, name string) string {
	if d == MySQL {
		return "`" + strings.ReplaceAll(name, "`", "``") + "`"
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// ErrDatabaseNotEmpty is a restore into a database that already holds
// tables, without force.
var ErrDatabaseNotEmpty = errors.New("the database is not empty")

// RestoreDatabase loads the snapshot file (written by BackupDatabase, of
// dialect from) into the database opts names, and returns each table's
// rows after the restore. A database that already has tables is refused
// with ErrDatabaseNotEmpty unless force is set; with force its tables are
// dropped first (MySQL) or the file is replaced (SQLite). An SQLite
// database must not be open in a running portal while it is restored.
func RestoreDatabase(ctx context.Context, opts OpenOptions, file string, from Dialect, force bool) (map[string]int64, error) {
	to := SQLite
	if strings.HasPrefix(opts.URL, "mysql://") {
		to = MySQL
	}
	if from != to {
		return nil, fmt.Errorf("models: restore: the backup is of a %s database, but PORTAL_DATABASE_URL names %s", from, to)
	}
	if to == SQLite {
		return restoreSQLite(ctx, opts, file, force)
	}
	return restoreMySQL(ctx, opts, file, force)
}

// SQLitePath is where the SQLite database of opts lives.
func SQLitePath(opts OpenOptions) string {
	if p := strings.TrimPrefix(opts.URL, "sqlite:"); p != "" {
		return p
	}
	return filepath.Join(opts.DataDir, "portal.db")
}

func restoreSQLite(ctx context.Context, opts OpenOptions, file string, force bool) (map[string]int64, error) {
	path := SQLitePath(opts)
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		rows, err := sqliteRowCounts(ctx, path)
		if err != nil {
			return nil, err
		}
		if len(rows) > 0 && !force {
			return nil, fmt.Errorf("models: restore: %s holds %d tables: %w", path, len(rows), ErrDatabaseNotEmpty)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("models: restore: %w", err)
	}
	tmp := path + ".restoring"
	if err := copyFileSync(file, tmp); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("models: restore: %w", err)
	}
	// A log left by the old database would be replayed into the new one.
	for _, side := range []string{path + "-wal", path + "-shm"} {
		if err := os.Remove(side); err != nil && !errors.Is(err, os.ErrNotExist) {
			os.Remove(tmp)
			return nil, fmt.Errorf("models: restore: %w", err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("models: restore: %w", err)
	}
	return sqliteRowCounts(ctx, path)
}

// copyFileSync copies src to a new file dst (mode 0600) and syncs it.
func copyFileSync(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func restoreMySQL(ctx context.Context, opts OpenOptions, file string, force bool) (map[string]int64, error) {
	db, _, err := Open(ctx, opts)
	if err != nil {
		return nil, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	defer sqlDB.Close()
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return nil, wrap(err, "restore: connect")
	}
	defer conn.Close()
	existing, err := mysqlTables(ctx, conn)
	if err != nil {
		return nil, err
	}
	if len(existing) > 0 {
		if !force {
			return nil, fmt.Errorf("models: restore: the database holds %d tables: %w", len(existing), ErrDatabaseNotEmpty)
		}
		if _, err := conn.ExecContext(ctx, "SET FOREIGN_KEY_CHECKS = 0"); err != nil {
			return nil, wrap(err, "restore")
		}
		for _, t := range existing {
			if _, err := conn.ExecContext(ctx, "DROP TABLE "+quoteIdent(MySQL, t)); err != nil {
				return nil, wrap(err, "restore: drop "+t)
			}
		}
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("models: restore: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	complete := false
	for line := 1; ; line++ {
		stmt, err := r.ReadString('\n')
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("models: restore: read %s: %w", file, err)
		}
		if s := strings.TrimSpace(stmt); s == "-- end of backup" {
			complete = true
		} else if s != "" && !strings.HasPrefix(s, "--") {
			if _, xerr := conn.ExecContext(ctx, strings.TrimSuffix(s, ";")); xerr != nil {
				return nil, wrap(xerr, fmt.Sprintf("restore: %s line %d", filepath.Base(file), line))
			}
		}
		if err == io.EOF {
			break
		}
	}
	if !complete {
		return nil, fmt.Errorf("models: restore: %s ends before its last line: the backup is cut short", file)
	}
	tables, err := mysqlTables(ctx, conn)
	if err != nil {
		return nil, err
	}
	rows := make(map[string]int64, len(tables))
	for _, t := range tables {
		var n int64
		if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+quoteIdent(MySQL, t)).Scan(&n); err != nil {
			return nil, wrap(err, "restore: count "+t)
		}
		rows[t] = n
	}
	return rows, nil
}

// TableNames returns the names of a row count map in order, for reports.
func TableNames(rows map[string]int64) []string {
	names := make([]string, 0, len(rows))
	for t := range rows {
		names = append(names, t)
	}
	sort.Strings(names)
	return names
}
