package models

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// migration is one versioned step of the schema. Each step declares its own
// frozen table structs, so later changes to the live structs never change
// what an old step does, and creates only what does not exist yet, so a step
// interrupted half way can simply run again.
type migration struct {
	Version int
	Name    string
	Up      func(tx *gorm.DB) error
}

// schemaMigration records an applied step.
type schemaMigration struct {
	Version   int    `gorm:"primaryKey;autoIncrement:false"`
	Name      string `gorm:"size:120;not null"`
	AppliedAt time.Time
}

func (schemaMigration) TableName() string { return "schema_migrations" }

// migrations is the ordered list of every schema step. Append only. Step N
// lives in migrate_vN_<name>.go with its frozen structs and nothing else;
// its line here is the only place that names it.
var migrations = []migration{
	{1, "foundation: organizations, users, sessions, sign-in attempts, audit log", migrateFoundation},
	{2, "prober: devices, checks, probe results, rollups, outages, outbox", migrateProber},
	{3, "notifications: contacts, confirmations, deliveries, SLA clocks, deductions", migrateNotify},
	{4, "operations: requests, authorizations, documents, messages, phone attempts", migrateOperations},
	{5, "audit hash chain: sequence, previous hash and hash on every audit event", migrateAuditChain},
	{6, "outage cause spans: part of an outage with a cause of its own", migrateCauseSpans},
	{7, "notice outcomes: closed months, authorized contacts per clock, one line per missed clock", migrateNoticeOutcomes},
	{8, "record numbers per organization and year, one-time form tokens", migrateRecordNumbers},
	{9, "sign-in locks: one row per account and per address, locked while an attempt is reserved", migrateSignInLocks},
	{10, "notice day index: the clocks a missed-notice re-derivation locks, by organization, kind, outcome and deadline", migrateNoticeDayIndex},
	{11, "request references: an opaque key for operation request URLs instead of the global ID", migrateRequestRefs},
	{12, "document references: an opaque key for document download URLs instead of the global ID", migrateDocumentRefs},
	{13, "operation cause reset: outages whose whole cause is customer_operation get unknown back, with the reason in the note", migrateOperationCauseReset},
	{14, "prober sharing: live instances, where each lease starts, the lease owner index", migrateProberSharing},
	{15, "account security: second-factor recovery codes, password change at first sign-in, a session's own language", migrateAccountSecurity},
	{16, "organization administrators: one customer user per organization, and the invitations they send", migrateOrgAdmins},
	{17, "compact results: reason codes, smaller integers, rollups built by the janitor from marks", migrateCompactResults},
	{18, "fleet indexes: checks by state and by device with their state, devices and organizations by name", migrateFleetIndexes},
	{19, "grouped notices: a notice covers several outages of an organization; deliveries name their notice, storm summaries", migrateGroupedNotices},
	{20, "incidents: provider-wide incidents, their outages and updates, an organization's contracted service", migrateIncidents},
	{21, "device tags: short labels on devices, devices by cabinet", migrateDeviceTags},
	{22, "visits: sites, visit requests, visitors with sealed ID numbers, targets, needs, calendar tokens", migrateVisits},
	{23, "complaints: complaints with how and when received, their threads and files", migrateComplaints},
	{24, "SLA ledger: contracts, installation orders, working days, power incidents, maintenance windows, statements", migrateLedger},
	{25, "statement corrections: closed months whose records changed after closing", migrateCorrections},
	{26, "traffic: network devices polled over SNMP, their ports, samples, rollups, monthly percentiles", migrateTraffic},
	{27, "integrations: personal API tokens, customer webhook endpoints, deliveries and attempts, staff single sign-on", migrateIntegrations},
	{28, "shipments: inbound parcels held by reception, outbound hand-overs, collectors with sealed ID numbers", migrateShipments},
	{29, "standing access: people a customer lets in without a visit request, their cabinets, entries and exits", migrateStandingAccess},
	{30, "facilities: PDUs and sensors, their meters, readings, rollups, alerts, proposed power incidents, contracted power", migrateFacilities},
}

// Versions lists the versions of the migrations this binary knows, in the
// order they run.
func Versions() []int {
	v := make([]int, len(migrations))
	for i, m := range migrations {
		v[i] = m.Version
	}
	return v
}

// SchemaVersion is the newest migration this binary knows.
func SchemaVersion() int { return migrations[len(migrations)-1].Version }

// MigrationLockWait is how long Migrate waits for another instance's
// migrations (the migration lock) before it gives up.
const MigrationLockWait = 10 * time.Minute

// Migrate applies pending migrations in order and returns how many it
// applied. It holds the migration lock while it reads the schema version
// and applies the steps, so that instances started together on one
// database take turns: the first migrates, the others wait, then find
// nothing left to do. On MySQL the lock is GET_LOCK, named after the
// database and held by one connection until the end (released by the
// server if the process dies); on SQLite, whose DDL is transactional, the
// whole run is one transaction begun with the write lock, so a step that
// fails leaves nothing behind.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	ctx = withMigrationZone(ctx, s.zone)
	if dialectOf(s.db) == MySQL {
		release, err := s.lockMigrationsMySQL(ctx)
		if err != nil {
			return 0, err
		}
		defer release()
		return s.migrate(s.db.WithContext(ctx))
	}
	var n int
	err := s.writeLockedSQLite(ctx, func(tx *gorm.DB) error {
		var err error
		n, err = s.migrate(tx)
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// migrate applies the pending steps on db; the caller holds the lock.
func (s *Store) migrate(db *gorm.DB) (int, error) {
	if err := db.Migrator().AutoMigrate(&schemaMigration{}); err != nil {
		return 0, fmt.Errorf("models: create schema_migrations: %w", err)
	}
	var done []int
	if err := db.Model(&schemaMigration{}).Pluck("version", &done).Error; err != nil {
		return 0, fmt.Errorf("models: read schema version: %w", err)
	}
	applied := map[int]bool{}
	for _, v := range done {
		applied[v] = true
	}
	n := 0
	for _, m := range migrations {
		if applied[m.Version] {
			continue
		}
		// DDL commits implicitly on MySQL, so a step is not one transaction;
		// each step is written to be safe to run again instead.
		if err := m.Up(db); err != nil {
			return n, fmt.Errorf("models: migration %d (%s): %w", m.Version, m.Name, err)
		}
		rec := schemaMigration{Version: m.Version, Name: m.Name, AppliedAt: s.now()}
		if err := db.Create(&rec).Error; err != nil && !errors.Is(err, gorm.ErrDuplicatedKey) {
			return n, fmt.Errorf("models: record migration %d: %w", m.Version, err)
		}
		n++
	}
	return n, nil
}

// lockMigrationsMySQL takes the migration lock of the database on a
// connection of its own and returns its release. GET_LOCK names are
// server-wide, so the name carries the database's.
func (s *Store) lockMigrationsMySQL(ctx context.Context) (func(), error) {
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, fmt.Errorf("models: migration lock: %w", err)
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("models: migration lock: %w", err)
	}
	var dbName string
	if err := conn.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&dbName); err != nil {
		conn.Close()
		return nil, fmt.Errorf("models: migration lock: %w", err)
	}
	name := migrationLockName(dbName)
	var got sql.NullInt64
	err = conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", name, int(MigrationLockWait/time.Second)).Scan(&got)
	if err != nil || !got.Valid || got.Int64 != 1 {
		conn.Close()
		if err == nil {
			err = fmt.Errorf("another instance held it for %s", MigrationLockWait)
		}
		return nil, fmt.Errorf("models: migration lock %s: %w", name, err)
	}
	return func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "DO RELEASE_LOCK(?)", name)
		conn.Close()
	}, nil
}

// migrationLockName is the GET_LOCK name for database dbName (at most 64
// characters, MySQL's limit).
func migrationLockName(dbName string) string {
	name := "portal.migrate." + dbName
	if len(name) > 64 {
		sum := sha256.Sum256([]byte(dbName))
		name = "portal.migrate." + hex.EncodeToString(sum[:16])
	}
	return name
}

// writeLockedSQLite runs fn in one transaction begun with SQLite's write
// lock (_txlock=immediate). While another connection holds it, BEGIN
// fails busy after the busy timeout; it tries again until
// MigrationLockWait has passed.
func (s *Store) writeLockedSQLite(ctx context.Context, fn func(tx *gorm.DB) error) error {
	giveUp := time.Now().Add(MigrationLockWait)
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		err := s.db.WithContext(ctx).Transaction(fn)
		if err == nil || !retryableTx(err) || time.Now().After(giveUp) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (waiting for the migration lock: %w)", err, ctx.Err())
		case <-t.C:
		}
	}
}

// AppliedVersions lists the versions recorded in the schema table.
func (s *Store) AppliedVersions(ctx context.Context) ([]int, error) {
	var done []int
	err := s.db.WithContext(ctx).Model(&schemaMigration{}).Order("version").Pluck("version", &done).Error
	return done, wrap(err, "applied versions")
}

// createTables creates each table that does not exist yet, with its indexes.
func createTables(tx *gorm.DB, tables ...any) error {
	return createTablesWith(tx, "", tables...)
}

// addRefColumn gives model's table a ref column if it has none, fills each
// row whose ref is empty with newRef(), then adds the unique index named
// index, last, once every row has its own. what names a row in errors.
func addRefColumn(tx *gorm.DB, model interface{ TableName() string }, what, index string) error {
	m := tx.Migrator()
	if !m.HasColumn(model, "Ref") {
		if err := m.AddColumn(model, "Ref"); err != nil {
			return fmt.Errorf("add %s.ref: %w", model.TableName(), err)
		}
	}
	var ids []int64
	if err := tx.Model(model).Where("ref = ''").Pluck("id", &ids).Error; err != nil {
		return err
	}
	for _, id := range ids {
		if err := tx.Model(model).Where("id = ? AND ref = ''", id).Update("ref", newRef()).Error; err != nil {
			return fmt.Errorf("give %s %d a reference: %w", what, id, err)
		}
	}
	if !m.HasIndex(model, index) {
		return m.CreateIndex(model, index)
	}
	return nil
}

// createTablesWith is createTables with extra SQLite table options, such as
// WITHOUT ROWID for tables keyed by their primary key alone.
func createTablesWith(tx *gorm.DB, sqliteOptions string, tables ...any) error {
	if dialectOf(tx) == SQLite && sqliteOptions != "" {
		tx = tx.Set("gorm:table_options", sqliteOptions)
	}
	if dialectOf(tx) == MySQL {
		// Binary collation compares text the way SQLite does: the same
		// rules on both databases (case is folded by the code, not the
		// collation, and 'josé' is not 'jose').
		tx = tx.Set("gorm:table_options", "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin")
	}
	m := tx.Migrator()
	for _, t := range tables {
		if m.HasTable(t) {
			continue
		}
		if err := m.CreateTable(t); err != nil {
			return err
		}
	}
	return nil
}
