package models_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// Three instances started together on an empty database all come up:
// one migrates while the others wait for the migration lock, then find
// nothing left to do. Each store has its own connection pool, as separate
// processes would.
func TestInstancesStartedTogetherAllMigrate(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			const instances = 3
			stores := make([]*models.Store, instances)
			for i := range stores {
				gdb, _, err := models.Open(context.Background(), models.OpenOptions{URL: db.URL})
				if err != nil {
					t.Fatal(err)
				}
				stores[i] = models.NewStore(gdb, models.WithHasher(dbtest.FastHasher))
				t.Cleanup(func() { stores[i].Close() })
			}
			start := make(chan struct{})
			errs := make([]error, instances)
			applied := make([]int, instances)
			var wg sync.WaitGroup
			for i, s := range stores {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					applied[i], errs[i] = s.Migrate(context.Background())
				}()
			}
			close(start)
			wg.Wait()
			total := 0
			for i, err := range errs {
				if err != nil {
					t.Errorf("instance %d: %v", i+1, err)
				}
				total += applied[i]
			}
			if total != len(models.Versions()) {
				t.Errorf("the instances applied %v steps, want %d in all (each step once)", applied, len(models.Versions()))
			}
			got, err := stores[0].AppliedVersions(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, models.Versions()) {
				t.Errorf("schema versions %v, want %v", got, models.Versions())
			}
			// And the schema is whole: a fixture seeds on it.
			dbtest.Seed(t, stores[1])
		})
	}
}
