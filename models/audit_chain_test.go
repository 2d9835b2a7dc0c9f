package models_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"gorm.io/gorm"
)

// verifyAudit runs VerifyAudit and fails the test on an error.
func verifyAudit(t *testing.T, s *models.Store) *models.AuditVerification {
	t.Helper()
	v, err := s.VerifyAudit(context.Background())
	if err != nil {
		t.Fatalf("VerifyAudit: %v", err)
	}
	return v
}

// wantIntact fails unless the chain verifies with n entries.
func wantIntact(t *testing.T, s *models.Store, n int64) {
	t.Helper()
	v := verifyAudit(t, s)
	if !v.OK || v.FirstBad != nil {
		t.Fatalf("chain not intact: %+v", v.FirstBad)
	}
	if v.Checked != n || v.HeadSeq != n {
		t.Fatalf("chain has %d entries checked, head at %d; want %d", v.Checked, v.HeadSeq, n)
	}
	if len(v.HeadHash) != 64 && n > 0 {
		t.Fatalf("head hash %q is not 64 hex digits", v.HeadHash)
	}
}

// wantBreak fails unless the chain breaks first at seq and id for reason.
func wantBreak(t *testing.T, s *models.Store, seq, id int64, reason string) {
	t.Helper()
	v := verifyAudit(t, s)
	if v.OK || v.FirstBad == nil {
		t.Fatalf("chain verifies (%d entries), want %s at seq %d", v.Checked, reason, seq)
	}
	if b := v.FirstBad; b.Seq != seq || b.ID != id || b.Reason != reason || b.Detail == "" {
		t.Fatalf("first break = %+v, want seq %d id %d %s", *b, seq, id, reason)
	}
}

// chain lists every chained event in seq order.
func chain(t *testing.T, raw *gorm.DB) []models.AuditEvent {
	t.Helper()
	var evs []models.AuditEvent
	if err := raw.Where("seq IS NOT NULL").Order("seq").Find(&evs).Error; err != nil {
		t.Fatal(err)
	}
	return evs
}

func execSQL(t *testing.T, raw *gorm.DB, sql string, args ...any) {
	t.Helper()
	if err := raw.Exec(sql, args...).Error; err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestAuditChainFindsEditedDeletedAndSlippedInEvents(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		raw := rawDB(t, db)
		wantIntact(t, s, 0)

		dbtest.Seed(t, s)
		for i := range 4 {
			// Times off the millisecond, to show they are cut before hashing.
			clock.Advance(1234567 * time.Nanosecond)
			if err := s.Audit(ctx, models.SystemActor("test"), models.AuditNotifySettings, "organization", ptr(int64(i)), nil,
				map[string]any{"n": i, "text": "中文 \" \\ \x00"}); err != nil {
				t.Fatal(err)
			}
		}
		evs := chain(t, raw)
		n := int64(len(evs))
		if n < 8 {
			t.Fatalf("only %d events after seeding", n)
		}
		for i, ev := range evs {
			if ev.Seq != int64(i+1) || len(ev.Hash) != 64 || (i == 0) != (ev.PrevHash == "") || (i > 0 && ev.PrevHash != evs[i-1].Hash) {
				t.Fatalf("event %d: seq %d prev %q hash %q", i, ev.Seq, ev.PrevHash, ev.Hash)
			}
		}
		wantIntact(t, s, n)
		mid, last := evs[n/2], evs[n-1]

		t.Run("an edited detail is a hash mismatch at its seq", func(t *testing.T) {
			execSQL(t, raw, "UPDATE audit_events SET detail = ? WHERE id = ?", `{"n":99}`, mid.ID)
			wantBreak(t, s, mid.Seq, mid.ID, models.AuditHashMismatch)
			execSQL(t, raw, "UPDATE audit_events SET detail = ? WHERE id = ?", mid.Detail, mid.ID)
			wantIntact(t, s, n)
		})

		t.Run("an edited time is a hash mismatch too", func(t *testing.T) {
			execSQL(t, raw, "UPDATE audit_events SET at = ? WHERE id = ?", last.At.Add(time.Second), last.ID)
			wantBreak(t, s, last.Seq, last.ID, models.AuditHashMismatch)
			execSQL(t, raw, "UPDATE audit_events SET at = ? WHERE id = ?", last.At, last.ID)
			wantIntact(t, s, n)
		})

		t.Run("a deleted middle event is a seq gap at the next", func(t *testing.T) {
			execSQL(t, raw, "DELETE FROM audit_events WHERE id = ?", mid.ID)
			next := evs[n/2+1]
			wantBreak(t, s, next.Seq, next.ID, models.AuditSeqGap)
			restore := mid
			if err := raw.Create(&restore).Error; err != nil {
				t.Fatal(err)
			}
			wantIntact(t, s, n)
		})

		t.Run("a deleted first event is a seq gap at the second", func(t *testing.T) {
			execSQL(t, raw, "DELETE FROM audit_events WHERE id = ?", evs[0].ID)
			wantBreak(t, s, 2, evs[1].ID, models.AuditSeqGap)
			restore := evs[0]
			if err := raw.Create(&restore).Error; err != nil {
				t.Fatal(err)
			}
			wantIntact(t, s, n)
		})

		t.Run("a deleted event with the gap closed is a prev mismatch", func(t *testing.T) {
			execSQL(t, raw, "DELETE FROM audit_events WHERE id = ?", mid.ID)
			// One by one, upwards: the unique index checks each row.
			for _, ev := range evs[n/2+1:] {
				execSQL(t, raw, "UPDATE audit_events SET seq = seq - 1 WHERE id = ?", ev.ID)
			}
			execSQL(t, raw, "UPDATE audit_chain_head SET seq = seq - 1")
			wantBreak(t, s, mid.Seq, evs[n/2+1].ID, models.AuditPrevMismatch)
			for i := n - 1; i > n/2; i-- {
				execSQL(t, raw, "UPDATE audit_events SET seq = seq + 1 WHERE id = ?", evs[i].ID)
			}
			execSQL(t, raw, "UPDATE audit_chain_head SET seq = seq + 1")
			restore := mid
			if err := raw.Create(&restore).Error; err != nil {
				t.Fatal(err)
			}
			wantIntact(t, s, n)
		})

		t.Run("a deleted last event is a head mismatch", func(t *testing.T) {
			execSQL(t, raw, "DELETE FROM audit_events WHERE id = ?", last.ID)
			wantBreak(t, s, last.Seq, 0, models.AuditHeadMismatch)
			restore := last
			if err := raw.Create(&restore).Error; err != nil {
				t.Fatal(err)
			}
			wantIntact(t, s, n)
		})

		t.Run("a last event replaced with a fresh hash is a head mismatch", func(t *testing.T) {
			execSQL(t, raw, "UPDATE audit_events SET hash = ? WHERE id = ?", evs[0].Hash, last.ID)
			wantBreak(t, s, last.Seq, last.ID, models.AuditHashMismatch)
			execSQL(t, raw, "UPDATE audit_events SET hash = ? WHERE id = ?", last.Hash, last.ID)
			execSQL(t, raw, "UPDATE audit_chain_head SET hash = ?", evs[0].Hash)
			wantBreak(t, s, last.Seq, last.ID, models.AuditHeadMismatch)
			execSQL(t, raw, "UPDATE audit_chain_head SET hash = ?", last.Hash)
			wantIntact(t, s, n)
		})

		t.Run("an event inserted without seq or hash is unsealed", func(t *testing.T) {
			execSQL(t, raw, "INSERT INTO audit_events (at, actor_email, action, target_type, ip, detail) VALUES (?, ?, ?, ?, ?, ?)",
				clock.Now(), "intruder@example.com", models.AuditSignIn, "user", "203.0.113.9", "")
			var id int64
			raw.Raw("SELECT MAX(id) FROM audit_events").Scan(&id)
			wantBreak(t, s, 0, id, models.AuditUnsealed)
			// The audit page still lists it.
			if evs, err := s.ListAudit(ctx, models.AllOrgs(), models.AuditFilter{Limit: 1}); err != nil || len(evs) != 1 || evs[0].ID != id {
				t.Fatalf("ListAudit = %+v, %v; want the unsealed event first", evs, err)
			}
			execSQL(t, raw, "DELETE FROM audit_events WHERE id = ?", id)
			wantIntact(t, s, n)
		})

		t.Run("an event inserted past the head without a hash is unsealed", func(t *testing.T) {
			execSQL(t, raw, "INSERT INTO audit_events (at, actor_email, action, target_type, ip, detail, seq) VALUES (?, ?, ?, ?, ?, ?, ?)",
				clock.Now(), "intruder@example.com", models.AuditSignIn, "user", "203.0.113.9", "", n+1)
			var id int64
			raw.Raw("SELECT MAX(id) FROM audit_events").Scan(&id)
			wantBreak(t, s, n+1, id, models.AuditUnsealed)
			execSQL(t, raw, "DELETE FROM audit_events WHERE id = ?", id)
			wantIntact(t, s, n)
		})

		t.Run("a missing head stops audited writes and fails verification", func(t *testing.T) {
			execSQL(t, raw, "DELETE FROM audit_chain_head")
			wantBreak(t, s, n+1, 0, models.AuditHeadMismatch)
			if err := s.Audit(ctx, models.SystemActor("test"), models.AuditSignOut, "", nil, nil, nil); err == nil {
				t.Fatal("an event was written without a head")
			}
			execSQL(t, raw, "INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, ?, ?)", last.Seq, last.Hash)
			wantIntact(t, s, n)
		})

		t.Run("the chain goes on after the checks", func(t *testing.T) {
			if err := s.Audit(ctx, models.SystemActor("test"), models.AuditSignOut, "", nil, nil, nil); err != nil {
				t.Fatal(err)
			}
			wantIntact(t, s, n+1)
		})
	})
}

func TestAuditTimesAreCutToWhatTheDatabaseKeeps(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		clock.Advance(123456789 * time.Nanosecond)
		if err := s.Audit(context.Background(), models.SystemActor("test"), models.AuditSignOut, "", nil, nil, nil); err != nil {
			t.Fatal(err)
		}
		evs := auditOf(t, s, models.AuditSignOut)
		want := time.Date(2026, 11, 2, 9, 0, 0, 123000000, time.UTC)
		if len(evs) != 1 || !evs[0].At.Equal(want) {
			t.Fatalf("events = %+v, want one at %s", evs, want)
		}
		wantIntact(t, s, 1)
	})
}

func TestAuditChainStaysWholeUnderConcurrentWriters(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		// Two stores are two portal instances on one database.
		stores := []*models.Store{dbtest.Open(t, db, models.WithClock(clock.Now)), dbtest.Open(t, db, models.WithClock(clock.Now))}
		org, err := stores[0].CreateOrg(ctx, models.SystemActor("test"), models.OrgInput{Slug: "shared", Name: "Shared"})
		if err != nil {
			t.Fatal(err)
		}
		before := verifyAudit(t, stores[0]).Checked

		const writers, each = 8, 25
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					s := stores[(w+i)%2]
					var err error
					if i%2 == 0 {
						err = s.Audit(ctx, models.SystemActor(fmt.Sprintf("writer %d", w)), models.AuditSignOut, "", nil, nil,
							map[string]any{"writer": w, "i": i})
					} else {
						// Locks the organization, then the chain head, in one transaction.
						_, err = s.UpdateOrg(ctx, models.SystemActor("test"), org.ID,
							models.OrgInput{Slug: "shared", Name: fmt.Sprintf("Shared %d-%d", w, i)})
					}
					if err != nil {
						errs <- fmt.Errorf("writer %d event %d: %w", w, i, err)
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if t.Failed() {
			return
		}
		wantIntact(t, stores[1], before+writers*each)
		evs := chain(t, rawDB(t, db))
		if int64(len(evs)) != before+writers*each {
			t.Fatalf("%d events, want %d", len(evs), before+writers*each)
		}
		for i, ev := range evs {
			if ev.Seq != int64(i+1) {
				t.Fatalf("event %d has seq %d", i, ev.Seq)
			}
		}
	})
}

func TestAuditChainMigrationChainsExistingEvents(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		raw := rawDB(t, db)
		dbtest.Seed(t, s)

		// Take the database back to before migration 5, with events in it.
		m := raw.Migrator()
		if err := m.DropIndex(&models.AuditEvent{}, "idx_audit_events_seq"); err != nil {
			t.Fatal(err)
		}
		for _, col := range []string{"seq", "prev_hash", "hash"} {
			execSQL(t, raw, "ALTER TABLE audit_events DROP COLUMN "+col)
		}
		if err := m.DropTable("audit_chain_head"); err != nil {
			t.Fatal(err)
		}
		execSQL(t, raw, "DELETE FROM schema_migrations WHERE version = 5")
		// An event as an older binary wrote it, time uncut.
		execSQL(t, raw, "INSERT INTO audit_events (at, actor_email, action, target_type, ip, detail) VALUES (?, ?, ?, ?, ?, ?)",
			clock.Now().Add(987654321*time.Nanosecond), "old@example.com", models.AuditSignIn, "user", "192.0.2.1", `{"old":true}`)
		var ids []int64
		if err := raw.Table("audit_events").Order("id").Pluck("id", &ids).Error; err != nil {
			t.Fatal(err)
		}

		migrate := func() {
			t.Helper()
			if n, err := s.Migrate(ctx); err != nil || n != 1 {
				t.Fatalf("Migrate = %d, %v; want migration 5 applied", n, err)
			}
		}
		migrate()
		wantIntact(t, s, int64(len(ids)))
		for i, ev := range chain(t, raw) {
			if ev.ID != ids[i] {
				t.Fatalf("seq %d is event %d, want %d: the backfill goes in id order", ev.Seq, ev.ID, ids[i])
			}
		}

		// Events written without a seq, as an older instance would during
		// an upgrade, are unsealed until the step runs again.
		for range 3 {
			execSQL(t, raw, "INSERT INTO audit_events (at, actor_email, action, target_type, ip, detail) VALUES (?, ?, ?, ?, ?, ?)",
				clock.Now(), "old@example.com", models.AuditSignOut, "user", "192.0.2.1", "")
		}
		var first int64
		raw.Raw("SELECT MIN(id) FROM audit_events WHERE seq IS NULL").Scan(&first)
		wantBreak(t, s, 0, first, models.AuditUnsealed)
		execSQL(t, raw, "DELETE FROM schema_migrations WHERE version = 5")
		migrate()
		wantIntact(t, s, int64(len(ids))+3)

		// Once more, with nothing to do: the chain stays as it is.
		head := verifyAudit(t, s).HeadHash
		execSQL(t, raw, "DELETE FROM schema_migrations WHERE version = 5")
		migrate()
		if v := verifyAudit(t, s); !v.OK || v.HeadHash != head || v.Checked != int64(len(ids))+3 {
			t.Fatalf("after a third run: %+v", v)
		}
		if err := s.Audit(ctx, models.SystemActor("test"), models.AuditSignOut, "", nil, nil, nil); err != nil {
			t.Fatal(err)
		}
		wantIntact(t, s, int64(len(ids))+4)
	})
}
