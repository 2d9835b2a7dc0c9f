package models_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"gorm.io/gorm"
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

// migratedDB opens a migrated store on db and the connection under it, for
// the rows only an old version or a hand in the database could leave.
func migratedDB(t *testing.T, db dbtest.DB, clock *dbtest.Clock) (*models.Store, *gorm.DB) {
	t.Helper()
	g, _, err := models.Open(context.Background(), models.OpenOptions{URL: db.URL})
	if err != nil {
		t.Fatal(err)
	}
	s := models.NewStore(g, models.WithHasher(dbtest.FastHasher), models.WithSecretKey([]byte("test secret")), models.WithClock(clock.Now))
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, g
}

// Every step's function runs once more on a migrated database with data in
// it, as an interrupted run does again: Migrate alone never reruns an
// applied step. Migration 11 copied a request's reference to its spans with
// a subquery that is NULL for a request no longer there, into a NOT NULL
// column.
func TestEveryMigrationStepRunsAgainOnAMigratedDatabase(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s, g := migratedDB(t, db, clock)
		f := newOpFixture(t, s)
		o := failOutage(t, s, f.fx.OrgA.ID, f.chk, clock.Now())
		if err := g.Exec("INSERT INTO outage_cause_spans (outage_id, org_id, start_at, end_at, cause, note, request_id, request_no, request_ref, created_at) "+
			"VALUES (?, ?, ?, ?, 'customer_operation', '', 999999, 'OP-0', '', ?)", o.ID, o.OrgID, o.StartedAt, o.StartedAt.Add(time.Minute), clock.Now()).Error; err != nil {
			t.Fatal(err)
		}
		for run := 1; run <= 2; run++ {
			if err := models.RerunMigrations(ctx, s); err != nil {
				t.Fatalf("run %d of every step again: %v", run, err)
			}
		}
		var refs []string
		if err := g.Raw("SELECT request_ref FROM outage_cause_spans WHERE request_id = 999999").Scan(&refs).Error; err != nil || len(refs) != 1 || refs[0] != "" {
			t.Fatalf("span of a request no longer there: refs %q, %v", refs, err)
		}
		if n, err := s.Migrate(ctx); err != nil || n != 0 {
			t.Fatalf("migrate after = %d, %v", n, err)
		}
	})
}

// Migration 13: an outage whose whole cause is customer_operation, set
// before an operation could take only its work's part, gets unknown back
// with the reason in its note (the old note kept after it); running the
// step again changes nothing more.
func TestMigration13ResetsAWholeOutageCausedByAnOperation(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s, g := migratedDB(t, db, clock)
		fx, _, chk := probeFixture(t, s)
		whole := failOutage(t, s, fx.OrgA.ID, chk, clock.Now())
		recoverCheck(t, s, chk, clock.Now().Add(10*time.Minute))
		clock.Advance(time.Hour)
		other := failOutage(t, s, fx.OrgA.ID, chk, clock.Now())
		if _, err := s.SetOutageCause(ctx, models.UserActor(fx.Engineer, "10.0.0.1"), other.ID, models.CauseCustomerMaintenance, "their window"); err != nil {
			t.Fatal(err)
		}
		if err := g.Exec("UPDATE outages SET cause = 'customer_operation', cause_note = 'reboot OP-7' WHERE id = ?", whole.ID).Error; err != nil {
			t.Fatal(err)
		}
		for run := 1; run <= 2; run++ {
			if err := models.RerunMigrations(ctx, s); err != nil {
				t.Fatalf("run %d: %v", run, err)
			}
			os, err := s.ListOutages(ctx, models.AllOrgs(), fx.OrgA.ID, chk.DeviceID, 10)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range os {
				switch o.ID {
				case whole.ID:
					if o.Cause != models.CauseUnknown || !strings.HasPrefix(o.CauseNote, "Cause reset from customer_operation to unknown (migration 13)") ||
						!strings.HasSuffix(o.CauseNote, " Previous note: reboot OP-7") {
						t.Errorf("run %d: whole outage cause %q, note %q", run, o.Cause, o.CauseNote)
					}
				case other.ID:
					if o.Cause != models.CauseCustomerMaintenance || o.CauseNote != "their window" {
						t.Errorf("run %d: other outage changed: %q, %q", run, o.Cause, o.CauseNote)
					}
				}
			}
		}
	})
}
