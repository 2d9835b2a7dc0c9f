package models_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// documentRef is the reference of document id of request reqID of orgID.
func documentRef(t *testing.T, s *models.Store, orgID, reqID, id int64) string {
	t.Helper()
	d, err := s.GetRequestDetail(context.Background(), models.AllOrgs(), orgID, reqID)
	if err != nil {
		t.Fatal(err)
	}
	if doc := d.Document(&id); doc != nil {
		return doc.Ref
	}
	t.Fatalf("no document %d in request %d", id, reqID)
	return ""
}

// An uploaded document gets a random reference of its own, found only
// within its request and organization; its global ID is no reference.
// Migration 12 gives one to a document that has none.
func TestDocumentsAreFoundByTheirOwnReference(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newOpFixture(t, s)
		org := f.fx.OrgA.ID
		var refs []string
		for range 2 {
			a, err := f.upload(t, s, f.signer.ID)
			if err != nil {
				t.Fatal(err)
			}
			refs = append(refs, documentRef(t, s, org, f.req.ID, *a.DocumentID))
		}
		if !models.ValidRequestRef(refs[0]) || !models.ValidRequestRef(refs[1]) || refs[0] == refs[1] {
			t.Fatalf("document references %q, want two different 16-hex ones", refs)
		}
		doc, err := s.GetDocumentByRef(ctx, models.ScopeOf(f.fx.CustA), org, f.req.ID, refs[0])
		if err != nil || doc.Ref != refs[0] {
			t.Fatalf("by reference: %+v, %v", doc, err)
		}
		other, err := s.CreateRequest(ctx, f.customer, org, models.RequestInput{Title: "other", Work: "w", Urgency: "normal", DeviceIDs: []int64{f.dev.ID}})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name string
			sc   models.Scope
			org  int64
			req  int64
			ref  string
		}{
			{"the global ID", models.AllOrgs(), org, f.req.ID, strconv.FormatInt(doc.ID, 10)},
			{"another request", models.AllOrgs(), org, other.ID, refs[0]},
			{"another organization's scope", models.ScopeOf(f.fx.CustB), org, f.req.ID, refs[0]},
			{"another organization", models.AllOrgs(), f.fx.OrgB.ID, f.req.ID, refs[0]},
		} {
			if _, err := s.GetDocumentByRef(ctx, c.sc, c.org, c.req, c.ref); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("%s: %v, want not found", c.name, err)
			}
		}

		// A document from before migration 12 gets its reference when the
		// step runs.
		raw := rawDB(t, db)
		execSQL(t, raw, "UPDATE documents SET ref = '' WHERE id = ?", doc.ID)
		execSQL(t, raw, "DELETE FROM schema_migrations WHERE version = 12")
		if n, err := s.Migrate(ctx); err != nil || n != 1 {
			t.Fatalf("migrate again: %d, %v", n, err)
		}
		ref := documentRef(t, s, org, f.req.ID, doc.ID)
		if !models.ValidRequestRef(ref) || ref == refs[1] {
			t.Fatalf("backfilled reference %q", ref)
		}
	})
}
