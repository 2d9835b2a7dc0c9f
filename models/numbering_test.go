package models_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// newRequest files a request for work on device dev of org.
func newRequest(t *testing.T, s *models.Store, org, dev int64) (*models.OperationRequest, error) {
	t.Helper()
	return s.CreateRequest(context.Background(), models.SystemActor("test"), org, models.RequestInput{
		Title: "Reboot", Work: "Reboot it", Urgency: "normal", DeviceIDs: []int64{dev}})
}

// device adds a device to org.
func device(t *testing.T, s *models.Store, org int64, name string) int64 {
	t.Helper()
	d, err := s.CreateDevice(context.Background(), models.SystemActor("test"), models.DeviceInput{OrgID: org, Name: name, Address: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	return d.ID
}

// Request numbers count each organization's requests of a year of the
// provider's calendar: OP-000044 for an organization with 27 requests told
// it how busy the others were.
func TestRequestNumbersCountPerOrganizationAndYear(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			clock := dbtest.NewClock()
			s := dbtest.Open(t, db, models.WithClock(clock.Now), models.WithZone(shanghai))
			fx := dbtest.Seed(t, s)
			devA, devB := device(t, s, fx.OrgA.ID, "a-1"), device(t, s, fx.OrgB.ID, "b-1")
			var got []string
			add := func(org, dev int64) {
				r, err := newRequest(t, s, org, dev)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, r.Number())
			}
			add(fx.OrgA.ID, devA)
			add(fx.OrgB.ID, devB)
			add(fx.OrgA.ID, devA)
			add(fx.OrgA.ID, devA)
			// 2026-12-31 16:30 UTC is already 2027 in Shanghai.
			clock.Advance(time.Date(2026, 12, 31, 16, 30, 0, 0, time.UTC).Sub(clock.Now()))
			add(fx.OrgA.ID, devA)
			add(fx.OrgB.ID, devB)
			want := []string{"OP-2026-0001", "OP-2026-0001", "OP-2026-0002", "OP-2026-0003", "OP-2027-0001", "OP-2027-0001"}
			if !slices.Equal(got, want) {
				t.Fatalf("numbers = %v, want %v", got, want)
			}
		})
	}
}

// Parallel creations each get a number of their own, and together every
// number from 1 on: none twice, none skipped.
func TestParallelRequestsGetDistinctNumbersWithoutGaps(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		fx := dbtest.Seed(t, s)
		dev := device(t, s, fx.OrgA.ID, "a-1")
		const n = 20
		numbers := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := newRequest(t, s, fx.OrgA.ID, dev)
				if err == nil {
					numbers[i] = r.Number()
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
		}
		slices.Sort(numbers)
		for i, got := range numbers {
			if want := fmt.Sprintf("OP-2026-%04d", i+1); got != want {
				t.Fatalf("sorted numbers = %v, want OP-2026-0001 to OP-2026-%04d", numbers, n)
			}
		}
	})
}

// Migration 8 numbers the requests that existed before it in the order
// they were created, per organization and year, and new requests continue
// after them.
func TestMigrationNumbersExistingRequests(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			gdb, _, err := models.Open(ctx, models.OpenOptions{URL: db.URL})
			if err != nil {
				t.Fatal(err)
			}
			clock := dbtest.NewClock()
			s := models.NewStore(gdb, models.WithHasher(dbtest.FastHasher), models.WithClock(clock.Now))
			t.Cleanup(func() { s.Close() })
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			fx := dbtest.Seed(t, s)
			devA, devB := device(t, s, fx.OrgA.ID, "a-1"), device(t, s, fx.OrgB.ID, "b-1")
			var ids []int64
			for _, step := range []struct {
				org, dev int64
				advance  time.Duration
			}{{fx.OrgA.ID, devA, 0}, {fx.OrgB.ID, devB, 0}, {fx.OrgA.ID, devA, 0}, {fx.OrgA.ID, devA, 70 * 24 * time.Hour}, {fx.OrgB.ID, devB, 0}} {
				clock.Advance(step.advance)
				r, err := newRequest(t, s, step.org, step.dev)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, r.ID)
			}
			// Back to how a database looked before migration 8 ran.
			drop := "DROP INDEX idx_operation_requests_number"
			if s.Dialect() == models.MySQL {
				drop += " ON operation_requests"
			}
			for _, q := range []string{drop, "UPDATE operation_requests SET number_year = 0, number_seq = 0",
				"DELETE FROM record_counters", "DELETE FROM schema_migrations WHERE version = 8"} {
				if err := gdb.Exec(q).Error; err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			if n, err := s.Migrate(ctx); err != nil || n != 1 {
				t.Fatalf("migrate again = %d, %v; want 1 step", n, err)
			}
			want := []string{"OP-2026-0001", "OP-2026-0001", "OP-2026-0002", "OP-2027-0001", "OP-2027-0001"}
			for i, id := range ids {
				r, err := s.FindRequest(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if r.Number() != want[i] {
					t.Errorf("request %d: number %s, want %s", id, r.Number(), want[i])
				}
			}
			r, err := newRequest(t, s, fx.OrgA.ID, devA)
			if err != nil || r.Number() != "OP-2027-0002" {
				t.Fatalf("next request = %v, %v; want OP-2027-0002", r, err)
			}
		})
	}
}
