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

func TestTheStoreNamesTheDatabaseItWasOpenedOn(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, _ *dbtest.Clock) {
		g, dialect, err := models.Open(context.Background(), models.OpenOptions{URL: db.URL})
		if err != nil {
			t.Fatal(err)
		}
		if raw, err := g.DB(); err == nil {
			raw.Close()
		}
		s := dbtest.Open(t, db)
		if want := models.Dialect(db.Name); dialect != want || s.Dialect() != want {
			t.Fatalf("Open says %q and the store %q on %s, want %q", dialect, s.Dialect(), db.Name, want)
		}
	})
}
