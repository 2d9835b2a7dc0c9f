package models_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// shareOn opens two stores on one MySQL database, as two instances have,
// with n devices (one ping check each). It skips without MySQL.
func shareOn(t *testing.T, n int) (a, b *models.Store, url string) {
	t.Helper()
	var my *dbtest.DB
	for _, db := range dbtest.Databases(t) {
		if db.Name == "mysql" {
			my = &db
		}
	}
	if my == nil {
		t.Skip("InnoDB locking: MySQL only (set PORTAL_TEST_MYSQL_DSN)")
	}
	clock := dbtest.NewClock()
	a = dbtest.Open(t, *my, models.WithClock(clock.Now))
	b = dbtest.Open(t, *my, models.WithClock(clock.Now))
	ctx := context.Background()
	fx := dbtest.Seed(t, a)
	rows := make([]models.DeviceImportRow, n)
	for i := range rows {
		rows[i] = models.DeviceImportRow{Line: i + 2, Org: fx.OrgA.Slug, Name: fmt.Sprintf("d%d", i), Address: "127.0.1.1"}
	}
	if _, err := a.ImportDevices(ctx, models.SystemActor("test"), rows); err != nil {
		t.Fatal(err)
	}
	return a, b, my.URL
}

func share(t *testing.T, s *models.Store, owner string, max int) []models.Check {
	t.Helper()
	r, err := s.ShareChecks(context.Background(), owner, models.ShareOptions{Lease: time.Minute, Max: max})
	if err != nil {
		t.Fatalf("%s: %v", owner, err)
	}
	return r.Checks
}

// A lease renewal neither waits for nor deadlocks with the other
// instance's result writer. The writer updates the rows of its checks by
// primary key, a batch at a time, inside one transaction. The old renewal
// (UPDATE … WHERE lease_owner = ?, no index on the owner, repeatable read)
// scanned checks in key order and locked every row it passed: it stopped
// at a row the writer held while holding rows the writer's next batch
// needed, and InnoDB killed one of them as a deadlock (the writer then
// logged "database unreachable").
func TestLeaseRenewalDoesNotDeadlockWithResultWriter(t *testing.T) {
	sa, sb, url := shareOn(t, 20)
	ofA := share(t, sa, "a", 10)
	ofB := share(t, sb, "b", 100)
	if len(ofA) != 10 || len(ofB) < 4 {
		t.Fatalf("a holds %d, b %d; want 10 and the rest", len(ofA), len(ofB))
	}
	raw, _, err := models.Open(context.Background(), models.OpenOptions{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if d, err := raw.DB(); err == nil {
			d.Close()
		}
	}()
	waiting := func() bool { // a statement of this test's database waits for a row lock
		var n int64
		if err := raw.Raw("SELECT COUNT(*) FROM information_schema.innodb_trx t JOIN information_schema.processlist p " +
			"ON p.id = t.trx_mysql_thread_id WHERE t.trx_state = 'LOCK WAIT' AND p.db = DATABASE()").Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	writer := raw.Begin()
	defer writer.Rollback()
	state := func(c models.Check) error {
		return writer.Exec("UPDATE checks SET last_reason = ?, consec_fails = consec_fails + 1 WHERE id = ?",
			models.ReasonTimeout, c.ID).Error
	}
	// The writer's first batch: one of b's last checks.
	if err := state(ofB[len(ofB)-1]); err != nil {
		t.Fatal(err)
	}
	renewed := make(chan error, 1)
	go func() {
		_, err := sa.ShareChecks(context.Background(), "a", models.ShareOptions{Lease: time.Minute, Max: 10})
		renewed <- err
	}()
	var renewErr error
	done, waited := false, false
	for deadline := time.Now().Add(20 * time.Second); !done && !waited; {
		select {
		case renewErr = <-renewed:
			done = true
		case <-time.After(20 * time.Millisecond):
			waited = waiting()
			if time.Now().After(deadline) {
				t.Fatal("the renewal neither finished nor waited for a lock")
			}
		}
	}
	if waited {
		t.Error("a's renewal waits for a row of b's check that b's result writer holds")
	}
	// The writer's next batch: one of b's first checks.
	if err := state(ofB[0]); err != nil {
		t.Errorf("b's result writer: %v", err)
	}
	if err := writer.Commit().Error; err != nil {
		t.Errorf("b's result writer commits: %v", err)
	}
	if !done {
		renewErr = <-renewed
	}
	if renewErr != nil {
		t.Errorf("a's renewal: %v", renewErr)
	}
}

// Two instances, each renewing its leases and writing its results at the
// same time, over and over: no statement fails, none deadlocks. The writer
// updates the rows of its checks in the order their probes finished, 200
// at a time; the old renewal, scanning and locking the whole table, took
// some of those rows before it waited for others the writer held.
func TestRenewalsAndResultWritesOfTwoInstancesDoNotDeadlock(t *testing.T) {
	sa, sb, _ := shareOn(t, 300)
	ofA := share(t, sa, "a", 60)
	ofB := share(t, sb, "b", 1000)
	if len(ofA) != 60 || len(ofB) < 240 {
		t.Fatalf("a holds %d, b %d", len(ofA), len(ofB))
	}
	ctx := context.Background()
	base := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	results := func(cs []models.Check, round int) []models.ProbeResult {
		// In the order probes finish: the writer updates the checks' rows
		// 200 at a time in this order.
		out := make([]models.ProbeResult, len(cs))
		for i, j := range rand.New(rand.NewPCG(uint64(round), 7)).Perm(len(cs)) {
			c := cs[j]
			// Every fifth check fails, so outages open and close too.
			out[i] = models.ProbeResult{CheckID: c.ID, At: base.Add(time.Duration(round) * 10 * time.Second),
				OK: (int(c.ID)+round/2)%5 != 0, RTTus: 900, Reason: ""}
			if !out[i].OK {
				out[i].Reason = models.ReasonTimeout
			}
		}
		return out
	}
	var mu sync.Mutex
	var errs []error
	note := func(who string, err error) {
		if err != nil {
			mu.Lock()
			errs = append(errs, fmt.Errorf("%s: %w", who, err))
			mu.Unlock()
		}
	}
	for round := range 12 {
		var wg sync.WaitGroup
		for _, inst := range []struct {
			name string
			s    *models.Store
			max  int
			mine []models.Check
		}{{"a", sa, 60, ofA}, {"b", sb, 1000, ofB}} {
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, err := inst.s.ShareChecks(ctx, inst.name, models.ShareOptions{Lease: time.Minute, Max: inst.max})
				note(inst.name+" renews", err)
			}()
			go func() {
				defer wg.Done()
				_, err := inst.s.RecordResults(ctx, results(inst.mine, round))
				note(inst.name+" writes", err)
			}()
		}
		wg.Wait()
	}
	for _, err := range errs {
		t.Error(err)
	}
	if len(errs) > 0 && errors.Is(errs[0], context.DeadlineExceeded) {
		t.Log("a statement ran out of time")
	}
}

func TestShareTargetsSplitEvenlyWithinEachInstancesLimit(t *testing.T) {
	in := func(id string, max int) models.ProberInstance { return models.ProberInstance{ID: id, MaxChecks: max} }
	for _, tc := range []struct {
		name  string
		total int
		live  []models.ProberInstance
		want  string
	}{
		{"one instance takes all", 10000, []models.ProberInstance{in("a", 100000)}, "map[a:10000]"},
		{"two split evenly", 10000, []models.ProberInstance{in("b", 100000), in("a", 100000)}, "map[a:5000 b:5000]"},
		{"the remainder goes to the first by ID", 10000, []models.ProberInstance{in("c", 0), in("b", 0), in("a", 0)},
			"map[a:3334 b:3333 c:3333]"},
		{"a small instance is full, the others share the rest", 10,
			[]models.ProberInstance{in("a", 2), in("b", 100), in("c", 100)}, "map[a:2 b:4 c:4]"},
		{"more checks than all take: each takes its most", 100, []models.ProberInstance{in("a", 10), in("b", 20)}, "map[a:10 b:20]"},
		{"no checks", 0, []models.ProberInstance{in("a", 10), in("b", 0)}, "map[a:0 b:0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := models.ShareTargets(tc.total, tc.live)
			if fmt.Sprint(got) != tc.want {
				t.Errorf("split of %d: %v, want %s", tc.total, got, tc.want)
			}
			sum := 0
			for _, n := range got {
				sum += n
			}
			if sum > tc.total {
				t.Errorf("the shares add up to %d, more than the %d checks", sum, tc.total)
			}
		})
	}
}
