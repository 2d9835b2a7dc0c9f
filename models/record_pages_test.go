package models_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// Keyset pages of the record lists the API reads (operation requests,
// visits, complaints, statements): following the last row of each page
// gives every row once, in the list's order, ties on the time included,
// and never another organization's.

// pageAll follows pages of n rows: read is one page after the key of the
// previous page's last row (nil first); key is a row's key, id its name.
func pageAll[R any, K any](t *testing.T, n int, read func(after *K) []R, key func(R) K, id func(R) string) []string {
	t.Helper()
	var out []string
	var after *K
	for range 100 {
		rows := read(after)
		if len(rows) > n {
			t.Fatalf("a page of %d rows, asked for %d", len(rows), n)
		}
		for _, r := range rows {
			out = append(out, id(r))
		}
		if len(rows) < n {
			return out
		}
		k := key(rows[len(rows)-1])
		after = &k
	}
	t.Fatal("no end of pages")
	return nil
}

func TestRecordListsPageByKeyset(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		f := newVisitFixture(t, s, clock)
		fx, ctx := f.fx, context.Background()
		custA, staff := models.ScopeOf(fx.CustA), models.ScopeOf(fx.Service)

		// Operation requests: by ID, the newest first.
		var reqA []string
		for i := range 5 {
			r, err := s.CreateRequest(ctx, f.customer, fx.OrgA.ID, models.RequestInput{Title: fmt.Sprint("work ", i), Work: "do it",
				Urgency: "normal", DeviceIDs: []int64{f.dev.ID}})
			if err != nil {
				t.Fatal(err)
			}
			reqA = append([]string{r.Ref}, reqA...)
		}
		rb, err := s.CreateRequest(ctx, models.UserActor(fx.CustB, "10.0.0.2"), fx.OrgB.ID, models.RequestInput{Title: "bravo",
			Work: "do it", Urgency: "normal", DeviceIDs: []int64{f.devB.ID}})
		if err != nil {
			t.Fatal(err)
		}
		requests := func(sc models.Scope, f models.RequestFilter) func(*int64) []models.OperationRequest {
			return func(after *int64) []models.OperationRequest {
				f.Limit = 2
				if after != nil {
					f.BeforeID = *after
				}
				rs, err := s.ListRequests(ctx, sc, f)
				if err != nil {
					t.Fatal(err)
				}
				return rs
			}
		}
		reqID := func(r models.OperationRequest) int64 { return r.ID }
		reqRef := func(r models.OperationRequest) string { return r.Ref }
		if got := pageAll(t, 2, requests(custA, models.RequestFilter{}), reqID, reqRef); !slices.Equal(got, reqA) {
			t.Fatalf("A's requests %v, want %v", got, reqA)
		}
		if got := pageAll(t, 2, requests(custA, models.RequestFilter{OrgID: fx.OrgB.ID}), reqID, reqRef); len(got) != 0 {
			t.Fatalf("A asking for B's requests: %v", got)
		}
		if got := pageAll(t, 2, requests(staff, models.RequestFilter{OrgID: fx.OrgB.ID}), reqID, reqRef); !slices.Equal(got, []string{rb.Ref}) {
			t.Fatalf("B's requests: %v", got)
		}
		if got := pageAll(t, 2, requests(staff, models.RequestFilter{State: models.OpCompleted}), reqID, reqRef); len(got) != 0 {
			t.Fatalf("completed requests: %v", got)
		}
		if got := pageAll(t, 2, requests(staff, models.RequestFilter{}), reqID, reqRef); len(got) != 6 || got[0] != rb.Ref {
			t.Fatalf("every request: %v", got)
		}

		// Visits: the latest planned entry first, two at the same time by
		// the higher ID first.
		in := f.input()
		var visits []*models.Visit
		for _, from := range []time.Duration{0, 2 * time.Hour, 2 * time.Hour, 26 * time.Hour, 2 * time.Hour} {
			in.PlannedFrom, in.PlannedTo = f.input().PlannedFrom.Add(from), f.input().PlannedFrom.Add(from+time.Hour)
			v, err := s.CreateVisit(ctx, f.customer, fx.OrgA.ID, in)
			if err != nil {
				t.Fatal(err)
			}
			visits = append(visits, v)
		}
		want := []string{visits[3].Ref, visits[4].Ref, visits[2].Ref, visits[1].Ref, visits[0].Ref}
		listVisits := func(sc models.Scope, f models.VisitFilter) func(*models.VisitKey) []models.VisitRow {
			return func(after *models.VisitKey) []models.VisitRow {
				f.Limit, f.After = 2, after
				rs, err := s.ListVisits(ctx, sc, f)
				if err != nil {
					t.Fatal(err)
				}
				return rs
			}
		}
		visitKey := func(r models.VisitRow) models.VisitKey { return models.VisitKey{PlannedFrom: r.PlannedFrom, ID: r.ID} }
		visitRef := func(r models.VisitRow) string { return r.Ref }
		if got := pageAll(t, 2, listVisits(custA, models.VisitFilter{}), visitKey, visitRef); !slices.Equal(got, want) {
			t.Fatalf("A's visits %v, want %v", got, want)
		}
		// A key of another zone is the same instant.
		zone := time.FixedZone("UTC+8", 8*3600)
		after := visitKey(models.VisitRow{Visit: *visits[4]})
		after.PlannedFrom = after.PlannedFrom.In(zone)
		if got := listVisits(custA, models.VisitFilter{})(&after); len(got) != 2 || got[0].Ref != want[2] {
			t.Fatalf("after %v: %v", after, got)
		}
		if got := pageAll(t, 2, listVisits(models.ScopeOf(fx.CustB), models.VisitFilter{}), visitKey, visitRef); len(got) != 0 {
			t.Fatalf("B's visits: %v", got)
		}

		// Complaints: the last received first, ties by the higher ID.
		now := clock.Now()
		var cs []*models.Complaint
		for _, ago := range []time.Duration{5, 3, 3, 1, 3} {
			cs = append(cs, recordComplaint(t, s, fx, fx.OrgA, fx.CustA, models.ComplaintNetwork, 0, fmt.Sprint("loss ", len(cs)), now.Add(-ago*time.Hour)))
		}
		named := recordComplaint(t, s, fx, fx.OrgA, fx.CustA, models.ComplaintEmployee, fx.Engineer.ID, "rude", now.Add(-2*time.Hour))
		recordComplaint(t, s, fx, fx.OrgB, fx.CustB, models.ComplaintNetwork, 0, "bravo", now.Add(-time.Hour))
		complaints := func(v models.Viewer) func(*models.ComplaintKey) []models.ComplaintRow {
			return func(after *models.ComplaintKey) []models.ComplaintRow {
				rs, err := s.ListComplaints(ctx, v, models.ComplaintFilter{Limit: 2, After: after, OrgID: fx.OrgA.ID})
				if err != nil {
					t.Fatal(err)
				}
				return rs
			}
		}
		cKey := func(r models.ComplaintRow) models.ComplaintKey {
			return models.ComplaintKey{ReceivedAt: r.ReceivedAt, ID: r.ID}
		}
		cRef := func(r models.ComplaintRow) string { return r.Ref }
		want = []string{cs[3].Ref, named.Ref, cs[4].Ref, cs[2].Ref, cs[1].Ref, cs[0].Ref}
		if got := pageAll(t, 2, complaints(models.Viewer{Scope: custA, UserID: fx.CustA.ID}), cKey, cRef); !slices.Equal(got, want) {
			t.Fatalf("A's complaints %v, want %v", got, want)
		}
		// The named engineer pages past it as if it did not exist.
		want = slices.DeleteFunc(want, func(r string) bool { return r == named.Ref })
		eng := models.Viewer{Scope: models.ScopeOf(fx.Engineer), UserID: fx.Engineer.ID}
		if got := pageAll(t, 2, complaints(eng), cKey, cRef); !slices.Equal(got, want) {
			t.Fatalf("the engineer's complaints %v, want %v", got, want)
		}

		// Statements: by organization, the newest month first, computed a
		// page at a time; A's November closed.
		clock.Advance(62 * 24 * time.Hour) // to January 2027
		if err := s.CloseMonth(ctx, models.UserActor(fx.Service, "10.0.0.2"), fx.OrgA.ID, "2026-11"); err != nil {
			t.Fatal(err)
		}
		statements := func(sc models.Scope, f models.StatementFilter) func(*models.StatementKey) []models.StatementMonth {
			return func(after *models.StatementKey) []models.StatementMonth {
				f.Limit, f.After = 2, after
				rs, err := s.ListStatements(ctx, sc, f)
				if err != nil {
					t.Fatal(err)
				}
				return rs
			}
		}
		stKey := func(m models.StatementMonth) models.StatementKey {
			return models.StatementKey{OrgID: m.OrgID, Month: m.Month}
		}
		stID := func(m models.StatementMonth) string { return fmt.Sprint(m.OrgID, "/", m.Month, "/", m.State) }
		a, b := fmt.Sprint(fx.OrgA.ID, "/"), fmt.Sprint(fx.OrgB.ID, "/")
		want = []string{a + "2027-01/running", a + "2026-12/open", a + "2026-11/closed", b + "2027-01/running", b + "2026-12/open", b + "2026-11/open"}
		if got := pageAll(t, 2, statements(staff, models.StatementFilter{}), stKey, stID); !slices.Equal(got, want) {
			t.Fatalf("every statement %v, want %v", got, want)
		}
		if got := pageAll(t, 2, statements(custA, models.StatementFilter{}), stKey, stID); !slices.Equal(got, want[:3]) {
			t.Fatalf("A's statements %v", got)
		}
		if got := pageAll(t, 2, statements(custA, models.StatementFilter{OrgID: fx.OrgB.ID}), stKey, stID); len(got) != 0 {
			t.Fatalf("A asking for B's statements: %v", got)
		}
		if got := pageAll(t, 2, statements(staff, models.StatementFilter{From: "2026-12", To: "2026-12"}), stKey, stID); !slices.Equal(got, []string{want[1], want[4]}) {
			t.Fatalf("December's statements %v", got)
		}
		_, err = s.ListStatements(ctx, staff, models.StatementFilter{From: "2026-13"})
		wantInvalid(t, err, "from", "error.month_invalid")
	})
}
