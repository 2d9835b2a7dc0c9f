package models_test

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// The SQLite driver benchmarks of docs/benchmarks.md ("The SQLite
// driver"). They run with whichever driver the build links (see
// models.SQLiteDriver): the default, or the one before it with
//
//	go test ./models -run '^$' -bench Driver -benchtime 5x -timeout 30m
//	go test ./models -run '^$' -bench Driver -benchtime 5x -timeout 30m -tags sqlite_glebarez
//
// (bench/sqlite_modernc.sh runs them on a current modernc.org/sqlite).
// Each reports its rate as a metric (rows/s, checks/s), which is the
// figure compared; ns/op covers a whole batch.

// driverBenchChecks is how many checks the write benchmarks spread their
// results over.
const driverBenchChecks = 1000

// driverBenchDB is a migrated SQLite store with driverBenchChecks checks,
// and a plain connection pool to the same file.
type driverBenchDB struct {
	store  *models.Store
	sql    *sql.DB
	checks []int64
	at     time.Time // the next probe time to write; moves on per batch
}

func newDriverBenchDB(b *testing.B) *driverBenchDB {
	b.Helper()
	ctx := context.Background()
	db := dbtest.DB{Name: "sqlite", URL: "sqlite:" + filepath.Join(b.TempDir(), "portal.db")}
	s := dbtest.Open(b, db)
	fx := dbtest.Seed(b, s)
	if _, err := s.CreateDevice(ctx, models.SystemActor("bench"), models.DeviceInput{OrgID: fx.OrgA.ID, Name: "bench-1", Address: "127.0.0.2"}); err != nil {
		b.Fatal(err)
	}
	g, _, err := models.Open(ctx, models.OpenOptions{URL: db.URL})
	if err != nil {
		b.Fatal(err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sqlDB.Close() })
	// Copy the device's check until there are driverBenchChecks, each
	// with its own target.
	var cols []string
	rows, err := sqlDB.Query("SELECT name FROM pragma_table_info('checks') WHERE name NOT IN ('id', 'target') ORDER BY cid")
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			b.Fatal(err)
		}
		cols = append(cols, c)
	}
	rows.Close()
	list := strings.Join(cols, ", ")
	if _, err := sqlDB.Exec("WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "+
		"INSERT INTO checks (target, "+list+") SELECT '127.0.0.' || i, "+list+" FROM checks, n WHERE checks.id = (SELECT MIN(id) FROM checks)",
		driverBenchChecks); err != nil {
		b.Fatal(err)
	}
	d := &driverBenchDB{store: s, sql: sqlDB, at: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rows, err = sqlDB.Query("SELECT id FROM checks ORDER BY id")
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			b.Fatal(err)
		}
		d.checks = append(d.checks, id)
	}
	if len(d.checks) != driverBenchChecks {
		b.Fatalf("%d checks, want %d", len(d.checks), driverBenchChecks)
	}
	return d
}

// results returns n results, one per check in turn, each round of the
// checks a second later than the one before, as a flush carries them.
func (d *driverBenchDB) results(n int) []models.ProbeResult {
	out := make([]models.ProbeResult, n)
	for i := range out {
		if i > 0 && i%len(d.checks) == 0 {
			d.at = d.at.Add(time.Second)
		}
		c := d.checks[i%len(d.checks)]
		out[i] = models.ProbeResult{CheckID: c, At: d.at, OK: i%50 != 0, RTTus: 200 + i%700}
		if !out[i].OK {
			out[i].RTTus, out[i].Reason = 0, models.ReasonTimeout
		}
	}
	d.at = d.at.Add(time.Second)
	return out
}

// driverBenchBatch is how many results one transaction of the insert
// benchmarks carries.
const driverBenchBatch = 10000

// BenchmarkDriverInsert inserts probe results in one transaction per
// driverBenchBatch: multi-row INSERTs of 100, 500 and 1,000 rows, and a
// prepared one-row INSERT run once per result.
func BenchmarkDriverInsert(b *testing.B) {
	for _, rowsPer := range []int{100, 500, 1000, 1} {
		name := fmt.Sprintf("multi_%d", rowsPer)
		if rowsPer == 1 {
			name = "prepared_1"
		}
		b.Run(name, func(b *testing.B) {
			d := newDriverBenchDB(b)
			ctx := context.Background()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				rs := d.results(driverBenchBatch)
				b.StartTimer()
				tx, err := d.sql.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				if rowsPer == 1 {
					st, err := tx.Prepare("INSERT INTO probe_results (check_id, at, ok, rtt_us, reason) VALUES (?, ?, ?, ?, ?)")
					if err != nil {
						b.Fatal(err)
					}
					for _, r := range rs {
						if _, err := st.Exec(r.CheckID, r.At, r.OK, r.RTTus, r.Reason); err != nil {
							b.Fatal(err)
						}
					}
					st.Close()
				} else {
					for len(rs) > 0 {
						chunk := rs[:min(rowsPer, len(rs))]
						rs = rs[len(chunk):]
						args := make([]any, 0, 5*len(chunk))
						for _, r := range chunk {
							args = append(args, r.CheckID, r.At, r.OK, r.RTTus, r.Reason)
						}
						q := "INSERT INTO probe_results (check_id, at, ok, rtt_us, reason) VALUES (?, ?, ?, ?, ?)" +
							strings.Repeat(", (?, ?, ?, ?, ?)", len(chunk)-1)
						if _, err := tx.Exec(q, args...); err != nil {
							b.Fatal(err)
						}
					}
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(driverBenchBatch*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkDriverUpdateJoin writes the state of 400 checks in one
// transaction, 200 a statement, with the joined UPDATE that RecordResults
// uses on SQLite (UPDATE … FROM (VALUES …)).
func BenchmarkDriverUpdateJoin(b *testing.B) {
	const n, per = 400, 200
	d := newDriverBenchDB(b)
	ctx := context.Background()
	cols := []string{"status", "consec_fails", "fail_since", "last_at", "last_ok", "last_rtt_us", "last_reason", "open_outage_id"}
	var sb strings.Builder
	sb.WriteString("UPDATE checks SET ")
	for i, col := range cols {
		fmt.Fprintf(&sb, "%s = v.column%d, ", col, i+2)
	}
	sb.WriteString("updated_at = ? FROM (VALUES ")
	for i := range per {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("(?" + strings.Repeat(", ?", len(cols)) + ")")
	}
	sb.WriteString(") AS v WHERE checks.id = v.column1")
	q := sb.String()
	b.ResetTimer()
	for i := range b.N {
		now := d.at.Add(time.Duration(i) * time.Second)
		tx, err := d.sql.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		for k := 0; k < n; k += per {
			args := []any{now}
			for _, id := range d.checks[k : k+per] {
				var failSince any
				status, fails := models.StatusUp, 0
				if (int(id)+i)%7 == 0 {
					status, fails, failSince = models.StatusDown, 3, now.Add(-time.Minute)
				}
				args = append(args, id, status, fails, failSince, now, fails == 0, 250+i%100, "", nil)
			}
			if _, err := tx.Exec(q, args...); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "checks/s")
}

// BenchmarkDriverRecordResults runs the write path as the prober does:
// Store.RecordResults with 1,000 results (one per check) per call.
func BenchmarkDriverRecordResults(b *testing.B) {
	d := newDriverBenchDB(b)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		rs := d.results(driverBenchChecks)
		b.StartTimer()
		if _, err := d.store.RecordResults(ctx, rs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(driverBenchChecks*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkDriverStartup opens and migrates a fresh database: what every
// start of the portal on a new file costs, and its floor on an existing
// one (open, ping, read the applied migrations).
func BenchmarkDriverStartup(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	b.Run("fresh", func(b *testing.B) {
		for i := range b.N {
			g, _, err := models.Open(ctx, models.OpenOptions{URL: "sqlite:" + filepath.Join(dir, fmt.Sprintf("fresh%d.db", i))})
			if err != nil {
				b.Fatal(err)
			}
			s := models.NewStore(g)
			if _, err := s.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			s.Close()
		}
	})
	b.Run("existing", func(b *testing.B) {
		path := "sqlite:" + filepath.Join(dir, "existing.db")
		for range b.N {
			g, _, err := models.Open(ctx, models.OpenOptions{URL: path})
			if err != nil {
				b.Fatal(err)
			}
			s := models.NewStore(g)
			if _, err := s.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			s.Close()
		}
	})
}

// TestSQLiteTimeText: times reach the file in the one layout every SQLite
// file of the portal holds ("2026-01-02 15:04:05.123456+00:00"), whatever
// driver the build links. Queries compare the stored text, so a driver
// that wrote another layout (RFC 3339 with a "T", time.Time.String) would
// misorder new rows against old ones in an existing file.
func TestSQLiteTimeText(t *testing.T) {
	db := dbtest.DB{Name: "sqlite", URL: "sqlite:" + filepath.Join(t.TempDir(), "portal.db")}
	s := dbtest.Open(t, db)
	fx := dbtest.Seed(t, s)
	ctx := context.Background()
	if _, err := s.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: fx.OrgA.ID, Name: "t-1", Address: "127.0.0.2"}); err != nil {
		t.Fatal(err)
	}
	g := rawDB(t, db)
	var checkID int64
	if err := g.Raw("SELECT MIN(id) FROM checks").Scan(&checkID).Error; err != nil {
		t.Fatal(err)
	}
	ats := []time.Time{
		time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC),
		time.Date(2026, 3, 4, 5, 6, 8, 0, time.UTC),
	}
	for _, at := range ats {
		if _, err := s.RecordResults(ctx, []models.ProbeResult{{CheckID: checkID, At: at, OK: true, RTTus: 300}}); err != nil {
			t.Fatal(err)
		}
	}
	// In hex, so that no driver turns the text back into a time.
	var hexes []string
	if err := g.Raw("SELECT hex(at) FROM probe_results WHERE check_id = ? ORDER BY at", checkID).Scan(&hexes).Error; err != nil {
		t.Fatal(err)
	}
	texts := make([]string, len(hexes))
	for i, h := range hexes {
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		texts[i] = string(b)
	}
	if len(texts) != len(ats) {
		t.Fatalf("%d results stored, want %d", len(texts), len(ats))
	}
	for i, at := range ats {
		if want := at.Format("2006-01-02 15:04:05.999999999-07:00"); texts[i] != want {
			t.Errorf("result %d stored as %q, want %q (driver %s)", i, texts[i], want, models.SQLiteDriver)
		}
	}
	// And they read back as the same instants.
	var got []models.ProbeResult
	if err := g.Where("check_id = ?", checkID).Order("at").Find(&got).Error; err != nil {
		t.Fatal(err)
	}
	for i, r := range got {
		if !r.At.Equal(ats[i]) {
			t.Errorf("result %d read as %v, want %v", i, r.At, ats[i])
		}
	}
}

// TestSQLiteFileDump writes every row of the SQLite file named by
// PORTAL_DRIVER_DUMP_DB, as the linked driver reads it, to the JSON file
// PORTAL_DRIVER_DUMP_OUT. Two builds with different drivers read the same
// file the same way when their dumps are equal (docs/benchmarks.md, "The
// SQLite driver"). It is skipped unless both are set.
func TestSQLiteFileDump(t *testing.T) {
	path, out := os.Getenv("PORTAL_DRIVER_DUMP_DB"), os.Getenv("PORTAL_DRIVER_DUMP_OUT")
	if path == "" || out == "" {
		t.Skip("PORTAL_DRIVER_DUMP_DB and PORTAL_DRIVER_DUMP_OUT not set")
	}
	g, _, err := models.Open(context.Background(), models.OpenOptions{URL: "sqlite:" + path})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	var tables []string
	if err := g.Raw("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY name").Scan(&tables).Error; err != nil {
		t.Fatal(err)
	}
	dump := map[string][]map[string]string{}
	n := 0
	for _, table := range tables {
		rows, err := g.Table(table).Order("rowid").Rows()
		if err != nil {
			// WITHOUT ROWID tables: their key orders them.
			rows, err = g.Table(table).Rows()
		}
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("%s: %v", table, err)
			}
			row := map[string]string{}
			for i, c := range cols {
				switch v := vals[i].(type) {
				case time.Time:
					row[c] = "time " + v.UTC().Format(time.RFC3339Nano)
				case []byte:
					row[c] = "bytes " + string(v)
				case nil:
					row[c] = "null"
				case bool: // a driver that reads BOOLEAN columns as bool
					row[c] = "int64 0"
					if v {
						row[c] = "int64 1"
					}
				default:
					row[c] = fmt.Sprintf("%T %v", v, v)
				}
			}
			dump[table] = append(dump[table], row)
			n++
		}
		rows.Close()
	}
	for _, rows := range dump {
		sort.Slice(rows, func(i, j int) bool { return fmt.Sprint(rows[i]) < fmt.Sprint(rows[j]) })
	}
	data, err := json.MarshalIndent(dump, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, data, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d tables, %d rows read by %s", path, len(tables), n, models.SQLiteDriver)
}

// TestSQLiteBusyIsRetryable: the error the linked driver gives when
// another connection holds the write lock past the busy timeout is one
// that Store.tx tries again (SQLITE_BUSY). The code is read through each
// driver's own error type, so a driver whose type differs would turn
// every lock wait into a failed request.
func TestSQLiteBusyIsRetryable(t *testing.T) {
	db := dbtest.DB{Name: "sqlite", URL: "sqlite:" + filepath.Join(t.TempDir(), "portal.db")}
	dbtest.Open(t, db)
	ctx := context.Background()
	holder, waiter := rawDB(t, db), rawDB(t, db)
	hold, err := holder.DB()
	if err != nil {
		t.Fatal(err)
	}
	tx, err := hold.BeginTx(ctx, nil) // _txlock=immediate: takes the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec("DELETE FROM schema_migrations WHERE version < 0"); err != nil {
		t.Fatal(err)
	}
	wait, err := waiter.DB()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := wait.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = 20"); err != nil {
		t.Fatal(err)
	}
	_, err = conn.ExecContext(ctx, "DELETE FROM schema_migrations WHERE version < 0")
	if err == nil {
		t.Fatal("a second writer went through while the first held the write lock")
	}
	if !models.RetryableTx(err) {
		t.Errorf("%s: lock error %q (%T) is not retryable", models.SQLiteDriver, err, err)
	}
}

// TestSQLitePragmas: the DSN's pragmas reach every pooled connection with
// the linked driver (each driver parses its own DSN).
func TestSQLitePragmas(t *testing.T) {
	db := dbtest.DB{Name: "sqlite", URL: "sqlite:" + filepath.Join(t.TempDir(), "portal.db")}
	dbtest.Open(t, db)
	g := rawDB(t, db)
	sqlDB, err := g.DB()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Two connections held at once, so the second is not the first again.
	var conns []*sql.Conn
	for range 2 {
		c, err := sqlDB.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	for i, c := range conns {
		for pragma, want := range map[string]string{"journal_mode": "wal", "busy_timeout": "10000", "foreign_keys": "1", "synchronous": "1"} {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("connection %d: %s = %s, want %s (driver %s)", i, pragma, got, want, models.SQLiteDriver)
			}
		}
	}
	var version string
	if err := conns[0].QueryRowContext(ctx, "SELECT sqlite_version()").Scan(&version); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s, SQLite %s", models.SQLiteDriver, version)
}
