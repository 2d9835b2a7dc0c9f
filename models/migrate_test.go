package models_test

import (
	"context"
	"slices"
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
		// Versions are taken by changes written in parallel, so the list may
		// have holes until they all land; it only ever rises.
		want := models.Versions()
		if !slices.Equal(got, want) || !slices.IsSorted(want) || want[len(want)-1] != models.SchemaVersion() {
			t.Fatalf("applied versions %v, want %v ending at %d", got, want, models.SchemaVersion())
		}
		dbtest.Seed(t, s)
	})
}
