package models

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Frozen structs of migration 17.
type (
	probeReasonV17 struct {
		Code int16  `gorm:"primaryKey;autoIncrement:false"`
		Name string `gorm:"size:40;not null;uniqueIndex:idx_probe_reasons_name"`
	}
	rollupMarkV17 struct {
		Period    string    `gorm:"primaryKey;size:1"`
		DoneUntil time.Time `gorm:"not null"`
		NextCheck int64     `gorm:"not null;default:0"`
	}
)

func (probeReasonV17) TableName() string { return "probe_reasons" }
func (rollupMarkV17) TableName() string  { return "rollup_marks" }

// reasonsV17 are the reason codes migration 17 starts the table with;
// names found in the results besides these get codes from 1000 up.
var reasonsV17 = []string{"", "timeout", "refused", "unreachable", "dns", "bad_status", "keyword_missing",
	"bad_banner", "tls_error", "protocol_error", "error"}

// migrateCompactResults makes raw results and rollups smaller: a result's
// failure reason becomes a small code (probe_reasons names them), latency
// and counters the smallest integers that hold them, and on MariaDB both
// tables are stored compressed (8 KB pages: 67 → 34 bytes a result row
// measured, as InnoDB leaves pages part empty when every check's rows grow
// at once; docs/benchmarks.md); and it starts the
// marks of what the janitor has rolled up (rollup_marks): until now every
// result was added to its rollups as it was written, so everything up to
// the newest result is rolled up already, except the newest hour and day,
// which go and are counted from the raw results on read until the janitor
// builds them.
func migrateCompactResults(tx *gorm.DB) error {
	if err := createTables(tx, &probeReasonV17{}, &rollupMarkV17{}); err != nil {
		return err
	}
	for i, name := range reasonsV17 {
		if err := insertReasonV17(tx, int16(i), name); err != nil {
			return err
		}
	}
	m := tx.Migrator()
	if !m.HasTable("probe_results") && m.HasTable("probe_results_v17") {
		// Stopped between dropping the old table and renaming the new.
		if err := tx.Exec("ALTER TABLE probe_results_v17 RENAME TO probe_results").Error; err != nil {
			return err
		}
	}
	converted, err := reasonIsCodeV17(tx)
	if err != nil {
		return err
	}
	if !converted {
		if err := compactResultsV17(tx); err != nil {
			return err
		}
	}
	if dialectOf(tx) == MySQL {
		if err := tx.Exec(`ALTER TABLE rollups MODIFY period CHAR(1) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
			MODIFY probes INT NOT NULL, MODIFY failures INT NOT NULL, MODIFY rtt_count INT NOT NULL,
			MODIFY rtt_min_us INT NOT NULL, MODIFY rtt_max_us INT NOT NULL, MODIFY rtt_med_us INT NOT NULL DEFAULT 0,
			ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8`).Error; err != nil {
			return fmt.Errorf("compact rollups: %w", err)
		}
	}
	return startRollupMarksV17(tx)
}

func insertReasonV17(tx *gorm.DB, code int16, name string) error {
	q := "INSERT INTO probe_reasons (code, name) VALUES (?, ?) ON CONFLICT DO NOTHING"
	if dialectOf(tx) == MySQL {
		q = "INSERT IGNORE INTO probe_reasons (code, name) VALUES (?, ?)"
	}
	return tx.Exec(q, code, name).Error
}

// reasonIsCodeV17 reports whether probe_results.reason is a number yet.
func reasonIsCodeV17(tx *gorm.DB) (bool, error) {
	cols, err := tx.Migrator().ColumnTypes("probe_results")
	if err != nil {
		return false, err
	}
	for _, c := range cols {
		if c.Name() == "reason" {
			t := strings.ToLower(c.DatabaseTypeName())
			return strings.Contains(t, "int"), nil
		}
	}
	return false, fmt.Errorf("probe_results has no reason column")
}

// compactResultsV17 copies the results into a table of the new shape and
// puts it in the old one's place: on SQLite the only way to change a
// column's type, on MariaDB one copy instead of an ALTER and an UPDATE of
// every row.
func compactResultsV17(tx *gorm.DB) error {
	var names []string
	if err := tx.Raw("SELECT DISTINCT reason FROM probe_results").Scan(&names).Error; err != nil {
		return err
	}
	known := map[string]bool{}
	for _, n := range reasonsV17 {
		known[n] = true
	}
	next := int16(1000)
	for _, n := range names {
		if known[n] {
			continue
		}
		var have int64
		if err := tx.Raw("SELECT COUNT(*) FROM probe_reasons WHERE name = ?", n).Scan(&have).Error; err != nil {
			return err
		}
		if have == 0 {
			var top int16
			if err := tx.Raw("SELECT COALESCE(MAX(code), 999) FROM probe_reasons").Scan(&top).Error; err != nil {
				return err
			}
			next = max(next, top+1)
			if err := insertReasonV17(tx, next, n); err != nil {
				return err
			}
		}
	}
	var create string
	if dialectOf(tx) == MySQL {
		create = `CREATE TABLE probe_results_v17 (check_id BIGINT NOT NULL, at DATETIME(3) NOT NULL, ok TINYINT(1) NOT NULL,
			rtt_us INT NOT NULL, reason SMALLINT NOT NULL DEFAULT 0, PRIMARY KEY (check_id, at))
			ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8`
	} else {
		create = `CREATE TABLE probe_results_v17 (check_id integer NOT NULL, at datetime NOT NULL, ok numeric NOT NULL,
			rtt_us integer NOT NULL, reason integer NOT NULL DEFAULT 0, PRIMARY KEY (check_id, at)) WITHOUT ROWID`
	}
	for _, q := range []string{
		"DROP TABLE IF EXISTS probe_results_v17",
		create,
		`INSERT INTO probe_results_v17 (check_id, at, ok, rtt_us, reason)
			SELECT p.check_id, p.at, p.ok, p.rtt_us, COALESCE(r.code, 0)
			FROM probe_results p LEFT JOIN probe_reasons r ON r.name = p.reason`,
		"DROP TABLE probe_results",
		"ALTER TABLE probe_results_v17 RENAME TO probe_results",
	} {
		if err := tx.Exec(q).Error; err != nil {
			return fmt.Errorf("compact probe_results: %w", err)
		}
	}
	return nil
}

// startRollupMarksV17 marks the hours and days up to the newest result's
// as rolled up, once. The rollups of that hour and day were added to as
// results came: they go, and are counted from raw results until the
// janitor builds them. So do the hours and days of the two days before
// whose medians the janitor of the time had not filled in yet.
func startRollupMarksV17(tx *gorm.DB) error {
	var marked []string
	if err := tx.Raw("SELECT period FROM rollup_marks").Scan(&marked).Error; err != nil || len(marked) == 2 {
		return err
	}
	var latest []ProbeResult
	if err := tx.Raw(`SELECT r.check_id, r.at FROM checks c JOIN probe_results r ON r.check_id = c.id
		AND r.at = (SELECT MAX(at) FROM probe_results WHERE check_id = c.id)`).Scan(&latest).Error; err != nil {
		return err
	}
	if len(latest) == 0 {
		return nil // no results yet: the janitor starts the marks at the first
	}
	newest := latest[0].At
	for _, r := range latest {
		if r.At.After(newest) {
			newest = r.At
		}
	}
	newest = newest.UTC()
	for _, p := range []struct {
		period string
		mark   time.Time
		length time.Duration
	}{
		{"h", newest.Truncate(time.Hour), time.Hour},
		{"d", time.Date(newest.Year(), newest.Month(), newest.Day(), 0, 0, 0, 0, time.UTC), 24 * time.Hour},
	} {
		if slices.Contains(marked, p.period) {
			continue
		}
		mark := p.mark
		var unfinished []time.Time
		if err := tx.Raw("SELECT start FROM rollups WHERE period = ? AND rtt_med_us = 0 AND rtt_count > 0 AND start >= ? AND start < ? ORDER BY start LIMIT 1",
			p.period, mark.Add(-48*time.Hour), mark).Scan(&unfinished).Error; err != nil {
			return err
		}
		if len(unfinished) > 0 && unfinished[0].Before(mark) {
			mark = unfinished[0].UTC()
		}
		if err := tx.Exec("DELETE FROM rollups WHERE period = ? AND start >= ?", p.period, mark).Error; err != nil {
			return err
		}
		if err := tx.Exec("INSERT INTO rollup_marks (period, done_until, next_check) VALUES (?, ?, 0)", p.period, mark).Error; err != nil {
			return err
		}
	}
	return nil
}
