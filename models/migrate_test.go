package models_test

import (
	"context"
	"testing"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

func TestMigrationsAreRecordedAndSafeToRunTwice(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, _ *dbtest.Clock) {
		ctx := context.Background()
		n, err := s.Migrate(ctx)
		if err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		if n != 0 {
			t.Fatalf("second migrate applied %d steps, want 0", n)
		}
		got, err := s.AppliedVersions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != models.SchemaVersion() || got[len(got)-1] != models.SchemaVersion() {
			t.Fatalf("applied versions %v, want 1..%d", got, models.SchemaVersion())
		}
		dbtest.Seed(t, s)
	})
}
