// Package models holds the portal's data: the gorm structs, the Store through
// which every query goes, the versioned migrations (migrate.go, one file a
// step), and the domain rules as plain functions. Concerns that need no
// database live in subpackages that import nothing of the portal's:
// passhash (Argon2id), seal (secrets at rest), imagecheck (uploaded images)
// and blobstore (uploaded files on disk).
package models

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/colo-portal/portal/models/passtoken"
	"github.com/colo-portal/portal/models/seal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Store is the only way into the database.
type Store struct {
	db      *gorm.DB
	now     func() time.Time
	hasher  PasswordHasher
	totpKey seal.Key
	// piiKey seals visitors' identity numbers and phones (visit.go).
	piiKey seal.Key
	// snmpKey seals the SNMP communities and v3 keys of network devices
	// (switch.go).
	snmpKey seal.Key
	// hookKey seals the signing secrets of customer webhook endpoints,
	// and hookRules say which endpoint URLs are accepted (webhook.go).
	hookKey   seal.Key
	hookRules HookRules
	// passKey signs and checks the tokens of visitor passes
	// (visit_checkin.go).
	passKey passtoken.Key
	// visitRules bound visit requests (visit.go).
	visitRules VisitRules
	// shipmentHold is how long a parcel is held before it is flagged
	// (shipment.go).
	shipmentHold time.Duration
	// codeKey keys the hashes of recovery codes (recovery.go).
	codeKey []byte
	// hashGate bounds how many password hashes run at once.
	hashGate *HashGate
	// dummyHash, made with hasher, is verified against for unknown
	// emails, so that an unknown address costs as much time and memory
	// as a wrong password.
	dummyHash string
	// zone decides calendar days (one deduction per day); confirmEvery is
	// how often customers must re-confirm their contacts.
	zone         *time.Location
	confirmEvery time.Duration
	// noticeWindow is how long a new notice gathers outages;
	// noticeMaxPerHour bounds a contact's outage notices per hour
	// (models/notice.go).
	noticeWindow     time.Duration
	noticeMaxPerHour int
	// txAttempts bounds the runs of one transaction (tx); 0 is
	// txAttempts. txRetried, if set, hears of each run given up to retry.
	txAttempts int
	txRetried  func(error)
	// reasons maps probe failure reasons to their stored codes.
	reasons *reasonCache
	// monitored is incident detection's count of monitored devices.
	monitored *monitoredMemo
}

// StoreOption adjusts a Store at construction.
type StoreOption func(*Store)

// WithClock injects the time source (tests move it instead of sleeping).
func WithClock(now func() time.Time) StoreOption {
	return func(s *Store) { s.now = func() time.Time { return now().UTC() } }
}

// WithHasher sets the password hashing parameters.
func WithHasher(h PasswordHasher) StoreOption { return func(s *Store) { s.hasher = h } }

// WithZone sets the time zone of the provider's calendar days.
func WithZone(loc *time.Location) StoreOption { return func(s *Store) { s.zone = loc } }

// Zone is the time zone of the provider's calendar days, in which the
// sites' visiting hours are read.
func (s *Store) Zone() *time.Location { return s.zone }

// WithConfirmEvery sets how often customers re-confirm their contacts.
func WithConfirmEvery(d time.Duration) StoreOption { return func(s *Store) { s.confirmEvery = d } }

// ConfirmEvery is how often customers re-confirm their contacts.
func (s *Store) ConfirmEvery() time.Duration { return s.confirmEvery }

// NewStore wraps an open database.
func NewStore(db *gorm.DB, opts ...StoreOption) *Store {
	s := &Store{db: db, now: func() time.Time { return time.Now().UTC() }, hasher: DefaultHasher,
		zone: time.UTC, confirmEvery: DefaultConfirmEvery, reasons: newReasonCache(), monitored: &monitoredMemo{},
		noticeWindow: DefaultNoticeWindow, noticeMaxPerHour: DefaultNoticeMaxPerHour, visitRules: DefaultVisitRules}
	for _, o := range opts {
		o(s)
	}
	if s.totpKey == (seal.Key{}) {
		WithSecretKey(nil)(s)
	}
	if s.hashGate == nil {
		s.hashGate = NewHashGate(DefaultHashSlots(s.hasher), DefaultHashWait)
	}
	s.dummyHash = dummyHashFor(s.hasher)
	registerDeadlines(db)
	s.db = db.Session(&gorm.Session{NowFunc: s.now})
	return s
}

// dummyHashes holds one dummy hash per hasher's parameters for the
// process, so that a new store does not run Argon2id again.
var dummyHashes sync.Map // PasswordHasher -> string

// dummyHashFor is the dummy hash made with h ("" if hashing failed, as
// before; a failure is not kept).
func dummyHashFor(h PasswordHasher) string {
	if v, ok := dummyHashes.Load(h); ok {
		return v.(string)
	}
	d, err := h.Hash("no user has this password 7f3c")
	if err != nil {
		return ""
	}
	v, _ := dummyHashes.LoadOrStore(h, d)
	return v.(string)
}

// forUpdate makes tx's next read lock the rows it reads until commit. On
// MySQL that is SELECT … FOR UPDATE (a row lock, which TiDB has too);
// SQLite takes its write lock when the transaction begins (_txlock=
// immediate), so writers are serialized already. A locking read always
// sees the newest committed rows, but on MySQL at REPEATABLE READ (the
// default) the transaction's plain reads keep seeing the snapshot of its
// first plain read, from before any lock wait: a transaction that decides
// from what it reads after a lock runs in rederiveTx instead.
func forUpdate(tx *gorm.DB) *gorm.DB {
	if dialectOf(tx) == MySQL {
		return tx.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	return tx
}

// Dialect says which database family the store runs on.
func (s *Store) Dialect() Dialect { return dialectOf(s.db) }

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.now() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return wrap(err, "ping")
	}
	return wrap(sqlDB.PingContext(ctx), "ping")
}

// Close releases the connection pool.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return wrap(err, "close")
	}
	return wrap(sqlDB.Close(), "close")
}

// notFound maps gorm's missing-row error to ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrNotFound
	}
	return err
}

// getByRef reads the row of type T with reference ref (from a URL) in an
// organization sc sees; else ErrNotFound. op names the read in errors.
func getByRef[T any](ctx context.Context, db *gorm.DB, sc Scope, ref, op string) (*T, error) {
	if !ValidRequestRef(ref) {
		return nil, wrap(ErrNotFound, op)
	}
	var row T
	if err := sc.apply(db.WithContext(ctx), "org_id").Where("ref = ?", ref).First(&row).Error; err != nil {
		return nil, wrap(notFound(err), op)
	}
	return &row, nil
}

// conflict maps a unique-key violation to ErrConflict.
func conflict(err error) error {
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return ErrConflict
	}
	return err
}

// CheckDatabase asks the database a real question within ctx: in one
// transaction it reads the newest applied schema version and runs an
// update that matches no row, which still needs the table's write lock (a
// global read lock, a held SQLite write lock or a stalled connection makes
// it wait). A ping alone answers through all of those. It returns the
// schema version.
func (s *Store) CheckDatabase(ctx context.Context) (int, error) {
	var v int
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&schemaMigration{}).Select("COALESCE(MAX(version), 0)").Scan(&v).Error; err != nil {
			return err
		}
		return tx.Model(&schemaMigration{}).Where("version < 0").Update("name", gorm.Expr("name")).Error
	})
	return v, wrap(err, "check database")
}
