package models_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"github.com/go-sql-driver/mysql"
	"gorm.io/gorm"
)

// mysqlOnly returns the MySQL test database, or skips when there is none
// (under CI=true dbtest.Databases fails instead).
func mysqlOnly(t *testing.T) dbtest.DB {
	t.Helper()
	for _, db := range dbtest.Databases(t) {
		if db.Name == "mysql" {
			return db
		}
	}
	t.Skip("no MySQL (PORTAL_TEST_MYSQL_DSN unset)")
	return dbtest.DB{}
}

// rawStore opens a store on db without migrating it, with its gorm handle.
func rawStore(t *testing.T, db dbtest.DB) (*models.Store, *gorm.DB) {
	t.Helper()
	gdb, _, err := models.Open(context.Background(), models.OpenOptions{URL: db.URL})
	if err != nil {
		t.Fatal(err)
	}
	s := models.NewStore(gdb, models.WithHasher(dbtest.FastHasher))
	t.Cleanup(func() { s.Close() })
	return s, gdb
}

// Two transactions that lock two rows in opposite orders deadlock; MySQL
// rolls one back (1213). The helper runs the victim again, and both
// changes land.
func TestTxRetriesADeadlockVictim(t *testing.T) {
	for _, rc := range []bool{false, true} {
		t.Run(fmt.Sprintf("read_committed=%v", rc), func(t *testing.T) {
			s, gdb := rawStore(t, mysqlOnly(t))
			if err := gdb.Exec("CREATE TABLE tx_pair (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB").Error; err != nil {
				t.Fatal(err)
			}
			if err := gdb.Exec("INSERT INTO tx_pair VALUES (1, 0), (2, 0)").Error; err != nil {
				t.Fatal(err)
			}
			var retried []error
			var mu sync.Mutex
			models.OnTxRetry(s, func(err error) {
				mu.Lock()
				retried = append(retried, err)
				mu.Unlock()
			})
			// Each transaction's first run takes its first row, then
			// waits until the other holds its own before taking the
			// second: a certain deadlock. Later runs do not wait.
			locked := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
			var runs [2]atomic.Int32
			run := func(i int) error {
				first, second := i+1, 2-i
				return models.RunTx(context.Background(), s, rc, func(tx *gorm.DB) error {
					n := runs[i].Add(1)
					if err := tx.Exec("UPDATE tx_pair SET v = v + 1 WHERE id = ?", first).Error; err != nil {
						return err
					}
					if n == 1 {
						close(locked[i])
						select {
						case <-locked[1-i]:
						case <-time.After(20 * time.Second):
							return errors.New("the other transaction never took its row")
						}
					}
					return tx.Exec("UPDATE tx_pair SET v = v + 10 WHERE id = ?", second).Error
				})
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i := range 2 {
				wg.Add(1)
				go func() { defer wg.Done(); errs[i] = run(i) }()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("transaction %d: %v", i+1, err)
				}
			}
			if len(retried) != 1 {
				t.Fatalf("retried after %v, want exactly one deadlock", retried)
			}
			var me *mysql.MySQLError
			if !errors.As(retried[0], &me) || me.Number != 1213 {
				t.Errorf("retried after %v, want MySQL error 1213", retried[0])
			}
			var vs []int
			if err := gdb.Raw("SELECT v FROM tx_pair ORDER BY id").Scan(&vs).Error; err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(vs) != "[11 11]" {
				t.Errorf("rows hold %v, want [11 11]: each transaction once", vs)
			}
		})
	}
}

// A lock held past innodb_lock_wait_timeout (1205) is retried too, but
// only as often as the bound says, and the last error is returned.
func TestTxGivesUpAfterItsAttempts(t *testing.T) {
	s, gdb := rawStore(t, mysqlOnly(t))
	if err := gdb.Exec("CREATE TABLE tx_one (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB").Error; err != nil {
		t.Fatal(err)
	}
	if err := gdb.Exec("INSERT INTO tx_one VALUES (1, 0)").Error; err != nil {
		t.Fatal(err)
	}
	// Another connection holds the row until the test ends.
	holder := gdb.Begin()
	if err := holder.Exec("UPDATE tx_one SET v = 5 WHERE id = 1").Error; err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback()
	models.SetTxAttempts(s, 3)
	var runs int
	err := models.RunTx(context.Background(), s, false, func(tx *gorm.DB) error {
		runs++
		if err := tx.Exec("SET SESSION innodb_lock_wait_timeout = 1").Error; err != nil {
			return err
		}
		return tx.Exec("UPDATE tx_one SET v = v + 1 WHERE id = 1").Error
	})
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1205 {
		t.Fatalf("got %v, want MySQL error 1205", err)
	}
	if runs != 3 {
		t.Errorf("ran %d times, want 3", runs)
	}
}

// A cancelled context stops the retries at once.
func TestTxStopsRetryingWithItsContext(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			s, _ := rawStore(t, db)
			ctx, cancel := context.WithCancel(context.Background())
			var runs int
			deadlock := &mysql.MySQLError{Number: 1213, Message: "Deadlock found (made up)"}
			err := models.RunTx(ctx, s, false, func(tx *gorm.DB) error {
				runs++
				cancel()
				return deadlock
			})
			if runs != 1 || !errors.Is(err, context.Canceled) || !errors.Is(err, deadlock) {
				t.Errorf("ran %d times, got %v; want one run, the deadlock and the cancellation", runs, err)
			}
		})
	}
}

type codedErr int

func (c codedErr) Error() string { return fmt.Sprintf("sqlite code %d", int(c)) }
func (c codedErr) Code() int     { return int(c) }

func TestTxRetriesOnlyLockFailures(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&mysql.MySQLError{Number: 1213}, true},
		{fmt.Errorf("models: x: %w", &mysql.MySQLError{Number: 1205}), true},
		{&mysql.MySQLError{Number: 1062}, false},
		{&mysql.MySQLError{Number: 1146}, false},
		{codedErr(5), true},   // SQLITE_BUSY
		{codedErr(517), true}, // SQLITE_BUSY_SNAPSHOT
		{codedErr(19), false}, // SQLITE_CONSTRAINT
		{gorm.ErrDuplicatedKey, false},
		{context.DeadlineExceeded, false},
	} {
		if got := models.RetryableTx(c.err); got != c.want {
			t.Errorf("RetryableTx(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
