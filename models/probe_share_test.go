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
// with n devices (one ping check each); lockWait, when set, bounds every
// lock wait of the stores' connections in seconds. It skips without MySQL.
func shareOn(t *testing.T, n int, lockWait int) (a, b *models.Store, url string) {
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
	if lockWait > 0 {
		my.URL += fmt.Sprintf("?innodb_lock_wait_timeout=%d", lockWait)
	}
	clock := dbtest.NewClock()
	a = dbtest.Open(t, *my, models.WithClock(clock.Now))
	b = dbtest.Open(t, *my, models.WithClock(clock.Now))
	ctx := context.Background()
	fx := dbtest.Seed(t, a)
	for i := range n {
		if _, err := a.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: fx.OrgA.ID,
			Name: fmt.Sprintf("d%d", i), Address: "127.0.1.1"}); err != nil {
			t.Fatal(err)
		}
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

// A lease renewal locks only its own instance's rows: while the other
// instance's result writer holds the row of one of its checks (it updates
// check states by primary key inside its transaction), the renewal goes
// through instead of waiting for it. The old renewal (UPDATE … WHERE
// lease_owner = ?, no index on the owner, repeatable read) scanned and
// locked every row of checks: it waited here until the lock wait timeout,
// and with two instances the wait became a deadlock.
func TestLeaseRenewalLocksOnlyItsOwnRows(t *testing.T) {
	sa, sb, url := shareOn(t, 20, 2)
	ofA := share(t, sa, "a", 10)
	ofB := share(t, sb, "b", 100)
	if len(ofA) != 10 || len(ofB) == 0 {
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
	writer := raw.Begin()
	defer writer.Rollback()
	if err := writer.Exec("UPDATE checks SET last_reason = ?, consec_fails = consec_fails + 1 WHERE id = ?",
		models.ReasonTimeout, ofB[len(ofB)/2].ID).Error; err != nil {
		t.Fatal(err)
	}
	renewed, err := sa.ShareChecks(context.Background(), "a", models.ShareOptions{Lease: time.Minute, Max: 10})
	if err != nil {
		t.Fatalf("a's renewal waited for b's writer: %v", err)
	}
	if len(renewed.Checks) != 10 {
		t.Errorf("a renewed %d leases, want its 10", len(renewed.Checks))
	}
}

// Two instances, each renewing its leases and writing its results at the
// same time, over and over: no statement fails, none deadlocks. The writer
// updates the rows of its checks in the order their probes finished, 200
// at a time; the old renewal, scanning and locking the whole table, took
// some of those rows before it waited for others the writer held.
func TestRenewalsAndResultWritesOfTwoInstancesDoNotDeadlock(t *testing.T) {
	sa, sb, _ := shareOn(t, 520, 0)
	ofA := share(t, sa, "a", 60)
	ofB := share(t, sb, "b", 1000)
	if len(ofA) != 60 || len(ofB) < 450 {
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
	for round := range 20 {
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
