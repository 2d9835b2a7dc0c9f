package handlers_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/blobstore"
)

// apiPages follows a list's cursors with limit items a page and returns
// every item's key (what key reads from one item), failing on a key seen
// twice or a page over the limit.
func apiPages[T any](t *testing.T, a *apiClient, path string, limit int, key func(T) string) []string {
	t.Helper()
	var keys []string
	seen := map[string]bool{}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	next := path + sep + "limit=" + ids(int64(limit))
	for pages := 0; ; pages++ {
		if pages > 50 {
			t.Fatalf("%s: no end of pages", path)
		}
		r := a.get(next)
		wantAPIStatus(t, r, http.StatusOK)
		var l handlers.List[T]
		r.JSON(t, &l)
		if len(l.Data) > limit {
			t.Fatalf("%s: %d items on a page of %d", next, len(l.Data), limit)
		}
		for _, x := range l.Data {
			k := key(x)
			if seen[k] {
				t.Fatalf("%s: %s twice", path, k)
			}
			seen[k] = true
			keys = append(keys, k)
		}
		if l.NextCursor == nil {
			if r.Header.Get("Link") != "" {
				t.Fatalf("%s: a Link on the last page", next)
			}
			return keys
		}
		if len(l.Data) != limit || !strings.Contains(r.Header.Get("Link"), `rel="next"`) {
			t.Fatalf("%s: a page of %d with a next cursor, Link %q", next, len(l.Data), r.Header.Get("Link"))
		}
		next = path + sep + "limit=" + ids(int64(limit)) + "&cursor=" + *l.NextCursor
	}
}

// apiList reads one page of a list.
func apiListOf[T any](t *testing.T, a *apiClient, path string) []T {
	t.Helper()
	r := a.get(path)
	wantAPIStatus(t, r, http.StatusOK)
	var l handlers.List[T]
	r.JSON(t, &l)
	return l.Data
}

// wantAPI404 fails unless path is a 404 problem for a.
func wantAPI404(t *testing.T, a *apiClient, path string) {
	t.Helper()
	r := a.get(path)
	wantAPIStatus(t, r, http.StatusNotFound)
	r.Problem(t)
}

func TestAPIOperationsReadAsTheirPages(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx, fx := context.Background(), e.fx
		sys := models.SystemActor("test")
		devA, err := e.store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: fx.OrgA.ID, Name: "db-01", Address: "127.0.0.5"})
		if err != nil {
			t.Fatal(err)
		}
		devB, err := e.store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: fx.OrgB.ID, Name: "game-01", Address: "127.0.0.6"})
		if err != nil {
			t.Fatal(err)
		}
		mk := func(u *models.User, org *models.Organization, dev int64, title string) *models.OperationRequest {
			t.Helper()
			r, err := e.store.CreateRequest(ctx, models.UserActor(u, "192.0.2.1"), org.ID, models.RequestInput{Title: title,
				Work: "Swap the disk", Urgency: "urgent", DeviceIDs: []int64{dev}, RequestedBy: &u.ID})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		a1 := mk(fx.CustA, fx.OrgA, devA.ID, "Replace disk")
		var more []*models.OperationRequest
		for i := range 4 {
			more = append(more, mk(fx.CustA, fx.OrgA, devA.ID, "Reboot "+ids(int64(i))))
		}
		b1 := mk(fx.CustB, fx.OrgB, devB.ID, "Bravo work")
		if _, err := e.store.PostMessage(ctx, models.UserActor(fx.CustA, "192.0.2.1"), fx.OrgA.ID, a1.ID, false, "Please call first"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.PostMessage(ctx, models.UserActor(fx.Engineer, "10.0.0.1"), fx.OrgA.ID, a1.ID, true, "We will"); err != nil {
			t.Fatal(err)
		}
		// A signed form (a document) from a contact who may authorize.
		signer, err := e.store.CreateContact(ctx, sys, fx.OrgA.ID, models.ContactInput{Name: "Sun Li", Email: "sun.li@alpha.test",
			Channels: []models.Channel{models.ChannelEmail}, MayAuthorize: true, Passphrase: passphrase})
		if err != nil {
			t.Fatal(err)
		}
		blobs, err := blobstore.New(filepath.Join(t.TempDir(), "documents"))
		if err != nil {
			t.Fatal(err)
		}
		scan := pngOf(t, 40, 60)
		up, err := models.CheckUpload("signed form.png", scan, models.DefaultUploadLimits)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.AddWrittenAuthorization(ctx, models.UserActor(fx.Engineer, "10.0.0.1"), blobs, fx.OrgA.ID, a1.ID, signer.ID,
			up, scan); err != nil {
			t.Fatal(err)
		}
		raw := apiRaw(t, e)
		if err := raw.Model(&models.OperationRequest{}).Where("id = ?", a1.ID).Update("notes", "ZZINTERNAL rack is loose").Error; err != nil {
			t.Fatal(err)
		}
		base := handlers.APIPrefix + "/operations"

		// The customer: its organization's requests, the timeline as the
		// page shows it, no internal notes; another's is 404.
		cust := newAPIClient(t, e.app, apiToken(t, e.store, fx.CustA, false))
		got := apiPages(t, cust, base, 2, func(o handlers.APIOperation) string { return o.Ref })
		if len(got) != 5 || got[0] != more[3].Ref || got[4] != a1.Ref {
			t.Fatalf("A's requests, newest first: %v", got)
		}
		r := cust.get(base + "/" + a1.Ref)
		wantAPIStatus(t, r, http.StatusOK)
		var d handlers.APIOperationDetail
		r.JSON(t, &d)
		if d.Number != a1.Number() || d.State != models.OpAwaiting || len(d.Devices) != 1 || d.Devices[0].Name != "db-01" ||
			d.RequestedBy == nil || *d.RequestedBy != fx.CustA.Name || d.Notes != nil {
			t.Fatalf("A's request: %+v", d)
		}
		if len(d.Messages) != 2 || d.Messages[0].Body != "Please call first" || d.Messages[0].Staff || !d.Messages[1].Staff {
			t.Fatalf("timeline %+v", d.Messages)
		}
		// The document by name and size, never its contents.
		if len(d.Documents) != 1 || d.Documents[0].FileName != "signed form.png" || d.Documents[0].Size != int64(len(scan)) ||
			len(d.Authorizations) != 1 || d.Authorizations[0].ContactName != "Sun Li" || d.Authorizations[0].Status != models.AuthPending ||
			d.Authorizations[0].DocumentRef == nil || *d.Authorizations[0].DocumentRef != d.Documents[0].Ref {
			t.Fatalf("documents %+v, authorizations %+v", d.Documents, d.Authorizations)
		}
		if strings.Contains(string(r.Body), base64.StdEncoding.EncodeToString(scan[:30])) || strings.Contains(string(r.Body), "PNG") {
			t.Fatalf("a document's contents in the answer: %s", r.Body)
		}
		if strings.Contains(string(r.Body), "ZZINTERNAL") || strings.Contains(string(r.Body), `"notes"`) {
			t.Fatalf("a customer reads the engineer's notes: %s", r.Body)
		}
		wantAPI404(t, cust, base+"/"+b1.Ref)
		wantAPI404(t, cust, base+"/0123456789abcdef")
		wantAPI404(t, cust, base+"/not-a-ref")
		if l := apiListOf[handlers.APIOperation](t, cust, base+"?org_id="+ids(fx.OrgB.ID)); len(l) != 0 {
			t.Fatalf("A filtering on B: %+v", l)
		}

		// Staff: every organization's, the notes too, and the filters.
		eng := newAPIClient(t, e.app, apiToken(t, e.store, fx.Engineer, false))
		if got := apiPages(t, eng, base, 4, func(o handlers.APIOperation) string { return o.Ref }); len(got) != 6 || got[0] != b1.Ref {
			t.Fatalf("every request: %v", got)
		}
		r = eng.get(base + "/" + a1.Ref)
		wantAPIStatus(t, r, http.StatusOK)
		d = handlers.APIOperationDetail{}
		r.JSON(t, &d)
		if d.Notes == nil || *d.Notes != "ZZINTERNAL rack is loose" {
			t.Fatalf("staff notes: %+v", d.Notes)
		}
		if l := apiListOf[handlers.APIOperation](t, eng, base+"?org_id="+ids(fx.OrgB.ID)); len(l) != 1 || l[0].Ref != b1.Ref {
			t.Fatalf("B's requests: %+v", l)
		}
		if l := apiListOf[handlers.APIOperation](t, eng, base+"?state=completed"); len(l) != 0 {
			t.Fatalf("completed: %+v", l)
		}
		for _, q := range []string{"?state=done", "?org_id=x", "?org_id=0", "?cursor=bm9wZQ"} {
			r := eng.get(base + q)
			wantAPIStatus(t, r, http.StatusBadRequest)
			r.Problem(t)
		}
	})
}

// visitAt has cust ask for a visit of org's cabinet at from for two hours
// with one visitor named name (a passport).
func (e *env) visitAt(t *testing.T, cust *models.User, org *models.Organization, cabinet string, from time.Time, name string) *models.Visit {
	t.Helper()
	ctx := context.Background()
	sites, err := e.store.ListSites(ctx)
	if err != nil || len(sites) == 0 {
		t.Fatalf("sites %v, %v", sites, err)
	}
	v, err := e.store.CreateVisit(ctx, models.UserActor(cust, "10.0.0.1"), org.ID, models.VisitInput{SiteID: sites[0].ID,
		Activity: "tour", Reason: "a look", PlannedFrom: from, PlannedTo: from.Add(2 * time.Hour),
		Visitors: []models.VisitorInput{{Name: name, IDType: "passport", IDNumber: "P" + strings.Repeat("7", 8), Phone: "13900001111", Locale: "en"}},
		Cabinets: []string{cabinet}, Locale: "en"})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAPIVisitsMaskVisitorsAsThePagesDo(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		fx := e.fx
		v, _ := approvedVisit(t, e) // A's device in A03
		if _, err := e.store.CreateDevice(context.Background(), models.SystemActor("test"), models.DeviceInput{OrgID: fx.OrgB.ID,
			Name: "game-01", Address: "127.0.0.6", Cabinet: "B01"}); err != nil {
			t.Fatal(err)
		}
		day := e.clock.Now().Truncate(24*time.Hour).AddDate(0, 0, 2)
		// Two at the same time: the cursor still tells them apart.
		same1 := e.visitAt(t, fx.CustA, fx.OrgA, "A03", day.Add(10*time.Hour), "Carl One")
		same2 := e.visitAt(t, fx.CustA, fx.OrgA, "A03", day.Add(10*time.Hour), "Dora Two")
		later := e.visitAt(t, fx.CustA, fx.OrgA, "A03", day.Add(35*time.Hour), "Eve Three")
		vb := e.visitAt(t, fx.CustB, fx.OrgB, "B01", day.Add(13*time.Hour), "Bob Visitor")
		base := handlers.APIPrefix + "/visits"

		cust := newAPIClient(t, e.app, apiToken(t, e.store, fx.CustA, false))
		got := apiPages(t, cust, base, 1, func(x handlers.APIVisitRow) string { return x.Ref })
		// The same planned entry: the higher ID first.
		want := []string{later.Ref, same2.Ref, same1.Ref, v.Ref}
		if same1.ID > same2.ID {
			want[1], want[2] = same1.Ref, same2.Ref
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("A's visits by planned entry, latest first: %v, want %v", got, want)
		}
		wantAPI404(t, cust, base+"/"+vb.Ref)

		// Identity numbers and phones: the page's masks for every role,
		// reception included; never the numbers themselves.
		for _, u := range []*models.User{fx.CustA, fx.Reception, fx.Admin} {
			a := newAPIClient(t, e.app, apiToken(t, e.store, u, false))
			r := a.get(base + "/" + v.Ref)
			wantAPIStatus(t, r, http.StatusOK)
			var d handlers.APIVisitDetail
			r.JSON(t, &d)
			if len(d.Visitors) != 2 || d.State != models.VisitApproved || d.Escort == nil {
				t.Fatalf("%s: visit %+v", u.Email, d)
			}
			zw := d.Visitors[0]
			if zw.Name != "张伟" || zw.IDNumber == nil || *zw.IDNumber != models.MaskID(visitorResident) ||
				zw.Phone == nil || *zw.Phone != models.MaskPhone("13812345678") || !strings.Contains(*zw.Phone, "*") {
				t.Fatalf("%s: visitor %+v", u.Email, zw)
			}
			for _, secret := range []string{visitorResident, "13812345678", "C01X00T47", "1234567"} {
				if strings.Contains(string(r.Body), secret) {
					t.Fatalf("%s reads %s: %s", u.Email, secret, r.Body)
				}
			}
		}

		// Staff see every organization's, filtered.
		rec := newAPIClient(t, e.app, apiToken(t, e.store, fx.Reception, false))
		if got := apiPages(t, rec, base, 3, func(x handlers.APIVisitRow) string { return x.Ref }); len(got) != 5 {
			t.Fatalf("every visit: %v", got)
		}
		if l := apiListOf[handlers.APIVisitRow](t, rec, base+"?org_id="+ids(fx.OrgB.ID)); len(l) != 1 || l[0].Ref != vb.Ref || l[0].VisitorCount != 1 {
			t.Fatalf("B's visits: %+v", l)
		}
		if l := apiListOf[handlers.APIVisitRow](t, rec, base+"?state=approved"); len(l) != 1 || l[0].Ref != v.Ref {
			t.Fatalf("approved visits: %+v", l)
		}
		from := day.Add(35 * time.Hour).Format(time.RFC3339)
		if l := apiListOf[handlers.APIVisitRow](t, rec, base+"?from="+from); len(l) != 1 || l[0].Ref != later.Ref {
			t.Fatalf("from %s: %+v", from, l)
		}
		if l := apiListOf[handlers.APIVisitRow](t, rec, base+"?to="+day.Format(time.DateOnly)); len(l) != 1 || l[0].Ref != v.Ref {
			t.Fatalf("to %s: %+v", day.Format(time.DateOnly), l)
		}
		for _, q := range []string{"?state=gone", "?from=yesterday", "?org_id=-1"} {
			r := rec.get(base + q)
			wantAPIStatus(t, r, http.StatusBadRequest)
			r.Problem(t)
		}
	})
}

func TestAPIComplaintsHideTheNamedAsThePagesDo(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx, fx, now, h := context.Background(), e.fx, e.clock.Now(), time.Hour
		plain := e.complaintAt(t, fx.OrgA, fx.CustA, models.ComplaintNetwork, 0, "Alpha loss", now.Add(-2*h))
		named := e.complaintAt(t, fx.OrgA, fx.CustA, models.ComplaintEmployee, fx.Engineer.ID, "Rude engineer", now.Add(-3*h))
		// Two received at once: the cursor tells them apart.
		same1 := e.complaintAt(t, fx.OrgA, fx.CustA, models.ComplaintService, 0, "Same one", now.Add(-4*h))
		same2 := e.complaintAt(t, fx.OrgA, fx.CustA, models.ComplaintService, 0, "Same two", now.Add(-4*h))
		beta := e.complaintAt(t, fx.OrgB, fx.CustB, models.ComplaintSupport, 0, "Bravo support", now.Add(-1*h))
		if _, err := e.store.AddComplaintMessage(ctx, models.UserActor(fx.CustA, "192.0.2.1"), models.Viewer{Scope: models.ScopeOf(fx.CustA),
			UserID: fx.CustA.ID}, plain.ID, "Any news?"); err != nil {
			t.Fatal(err)
		}
		if err := apiRaw(t, e).Model(&models.Complaint{}).Where("id = ?", plain.ID).Update("assignee_id", fx.Service.ID).Error; err != nil {
			t.Fatal(err)
		}
		base := handlers.APIPrefix + "/complaints"
		ref := func(c handlers.APIComplaint) string { return c.Ref }
		later, earlier := same2, same1
		if same1.ID > same2.ID {
			later, earlier = same1, same2
		}

		// The customer: its organization's, the named one included, the
		// thread as its page shows it, no assignee.
		cust := newAPIClient(t, e.app, apiToken(t, e.store, fx.CustA, false))
		got := apiPages(t, cust, base, 1, ref)
		if want := []string{plain.Ref, named.Ref, later.Ref, earlier.Ref}; strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("A's complaints: %v, want %v", got, want)
		}
		r := cust.get(base + "/" + plain.Ref)
		wantAPIStatus(t, r, http.StatusOK)
		var d handlers.APIComplaintDetail
		r.JSON(t, &d)
		if d.Number != plain.Number() || d.ResponseClock == nil || d.FiledBy == nil || *d.FiledBy != fx.CustA.Name ||
			d.Assignee != nil || strings.Contains(string(r.Body), `"assignee"`) {
			t.Fatalf("A's complaint: %+v", d)
		}
		if n := len(d.Thread); n == 0 || d.Thread[n-1].Body != "Any news?" || d.Thread[n-1].Staff {
			t.Fatalf("thread %+v", d.Thread)
		}
		wantAPIStatus(t, cust.get(base+"/"+named.Ref), http.StatusOK)
		wantAPI404(t, cust, base+"/"+beta.Ref)

		// The named engineer: no such complaint, in no list.
		eng := newAPIClient(t, e.app, apiToken(t, e.store, fx.Engineer, false))
		wantAPI404(t, eng, base+"/"+named.Ref)
		for _, c := range apiPages(t, eng, base, 2, ref) {
			if c == named.Ref {
				t.Fatal("the named engineer lists the complaint about him")
			}
		}
		if l := apiListOf[handlers.APIComplaint](t, eng, base+"?category=employee"); len(l) != 0 {
			t.Fatalf("the named engineer filters on employee: %+v", l)
		}

		// The service desk: every organization's, the assignee too.
		desk := newAPIClient(t, e.app, apiToken(t, e.store, fx.Service, false))
		if got := apiPages(t, desk, base, 2, ref); len(got) != 5 || got[0] != beta.Ref {
			t.Fatalf("the desk's complaints: %v", got)
		}
		r = desk.get(base + "/" + plain.Ref)
		wantAPIStatus(t, r, http.StatusOK)
		d = handlers.APIComplaintDetail{}
		r.JSON(t, &d)
		if d.Assignee == nil || *d.Assignee != fx.Service.Name {
			t.Fatalf("assignee %v", d.Assignee)
		}
		r = desk.get(base + "/" + named.Ref)
		wantAPIStatus(t, r, http.StatusOK)
		d = handlers.APIComplaintDetail{}
		r.JSON(t, &d)
		if d.NamedUser == nil || *d.NamedUser != fx.Engineer.Name {
			t.Fatalf("named %v", d.NamedUser)
		}
		if l := apiListOf[handlers.APIComplaint](t, desk, base+"?org_id="+ids(fx.OrgB.ID)+"&state=open"); len(l) != 1 || l[0].Ref != beta.Ref {
			t.Fatalf("B's open complaints: %+v", l)
		}
		for _, q := range []string{"?state=nope", "?category=x", "?org_id=one"} {
			r := desk.get(base + q)
			wantAPIStatus(t, r, http.StatusBadRequest)
			r.Problem(t)
		}
	})
}

func TestAPIStatementsListAndShowMonths(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx, fx := context.Background(), e.fx
		// November 2026 with A's contract broken and a notice missed; it
		// ends and is closed for A; December runs.
		m := seedLedgerMonth(t, e)
		e.clock.Advance(32 * 24 * time.Hour)
		if err := e.store.CloseMonth(ctx, models.UserActor(fx.Service, "10.0.0.2"), fx.OrgA.ID, "2026-11"); err != nil {
			t.Fatal(err)
		}
		base := handlers.APIPrefix + "/statements"
		key := func(s handlers.APIStatementMonth) string { return ids(s.OrgID) + "/" + s.Month }

		cust := newAPIClient(t, e.app, apiToken(t, e.store, fx.CustA, false))
		l := apiListOf[handlers.APIStatementMonth](t, cust, base)
		if len(l) != 2 || l[0].Month != "2026-12" || l[0].State != models.StatementRunning || l[0].Frozen ||
			l[1].Month != "2026-11" || l[1].State != models.StatementClosed || !l[1].Frozen || l[1].Ref == nil || l[1].OrgID != fx.OrgA.ID {
			t.Fatalf("A's statements: %+v", l)
		}
		if l := apiListOf[handlers.APIStatementMonth](t, cust, base+"?from=2026-12"); len(l) != 1 || l[0].Month != "2026-12" {
			t.Fatalf("from December: %+v", l)
		}
		if l := apiListOf[handlers.APIStatementMonth](t, cust, base+"?org_id="+ids(fx.OrgB.ID)); len(l) != 0 {
			t.Fatalf("A asking for B's: %+v", l)
		}
		r := cust.get(base + "/" + ids(fx.OrgA.ID) + "/2026-11")
		wantAPIStatus(t, r, http.StatusOK)
		var st handlers.APIStatement
		r.JSON(t, &st)
		if st.State != models.StatementClosed || !st.Frozen || st.ClosedBy == nil || *st.ClosedBy != fx.Service.Name ||
			st.ClosedAt == nil || st.Ref == nil || *st.Ref != *l[1].Ref || st.Month != "2026-11" || st.Totals == nil {
			t.Fatalf("A's November: %+v", st)
		}
		// Money in minor units with its currency, the Store's figures.
		stored, err := e.store.Statement(ctx, models.AllOrgs(), fx.OrgA.ID, "2026-11")
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Totals) != 1 || len(stored.Totals) != 1 || st.Totals[0].Amount != stored.Totals[0].Credit || st.Totals[0].Currency != "CNY" ||
			st.Totals[0].Amount <= 0 {
			t.Fatalf("totals %+v, want %+v", st.Totals, stored.Totals)
		}
		if len(st.Contracts) != 1 || st.Contracts[0].MonthlyFee != m.contractA.MonthlyFee || st.Contracts[0].Network.Met ||
			st.Contracts[0].Network.CountedSeconds != 65*60 {
			t.Fatalf("contract %+v", st.Contracts)
		}
		notice := false
		for _, l := range st.Contracts[0].Lines {
			notice = notice || (l.Kind == models.LineNotice && l.Amount == 100000 && l.Currency == "CNY" && l.Day != nil && *l.Day == "2026-11-02")
		}
		if !notice {
			t.Fatalf("no notice line of ¥1,000.00 in %+v", st.Contracts[0].Lines)
		}
		if l[1].Credits[0] != st.Totals[0] {
			t.Fatalf("the list's credits %+v, the statement's %+v", l[1].Credits, st.Totals)
		}
		r = cust.get(base + "/" + ids(fx.OrgA.ID) + "/2026-12")
		wantAPIStatus(t, r, http.StatusOK)
		st = handlers.APIStatement{}
		r.JSON(t, &st)
		if st.State != models.StatementRunning || st.Frozen || st.ClosedAt != nil {
			t.Fatalf("A's December: %+v", st)
		}
		for _, p := range []string{ids(fx.OrgB.ID) + "/2026-11", ids(fx.OrgA.ID) + "/2027-01", ids(fx.OrgA.ID) + "/2026-13", "0/2026-11"} {
			wantAPI404(t, cust, base+"/"+p)
		}

		// Staff: every organization's, a page at a time.
		staff := newAPIClient(t, e.app, apiToken(t, e.store, fx.Reception, false))
		got := apiPages(t, staff, base, 1, key)
		want := []string{ids(fx.OrgA.ID) + "/2026-12", ids(fx.OrgA.ID) + "/2026-11", ids(fx.OrgB.ID) + "/2026-12", ids(fx.OrgB.ID) + "/2026-11"}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("every statement: %v, want %v", got, want)
		}
		if got := apiPages(t, staff, base+"?org_id="+ids(fx.OrgB.ID)+"&to=2026-11", 5, key); len(got) != 1 || got[0] != want[3] {
			t.Fatalf("B's to November: %v", got)
		}
		wantAPIStatus(t, staff.get(base+"/"+ids(fx.OrgB.ID)+"/2026-11"), http.StatusOK)
		for _, q := range []string{"?from=2026-1", "?to=November", "?org_id=x", "?cursor=" + cursorOf(t, map[string]any{"org": 1, "month": "x"})} {
			r := staff.get(base + q)
			wantAPIStatus(t, r, http.StatusBadRequest)
			r.Problem(t)
		}
	})
}

// cursorOf encodes v as the API's cursors are.
func cursorOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// apiRaw opens e's database straight, for what the tests set up without a
// Store method.
func apiRaw(t *testing.T, e *env) *gorm.DB {
	t.Helper()
	db, _, err := models.Open(t.Context(), models.OpenOptions{URL: e.db.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s, err := db.DB(); err == nil {
			s.Close()
		}
	})
	return db
}

// The values the document lists for the records' fields are the models'
// own, in their order.
func TestAPIRecordEnumsFollowTheModels(t *testing.T) {
	b, err := handlers.OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Enum []any `json:"enum"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	(&apiResponse{Body: b}).JSON(t, &doc)
	for _, c := range []struct {
		schema, prop string
		want         []string
	}{
		{"APIOperation", "urgency", models.Urgencies},
		{"APIOperation", "channel", models.RequestChannels},
		{"APIOperation", "state", models.OpStates},
		{"APIOperation", "result", models.OpResults},
		{"APIAuthorization", "method", []string{models.AuthWritten, models.AuthPhone}},
		{"APIAuthorization", "status", []string{models.AuthPending, models.AuthAccepted, models.AuthRejected}},
		{"APIOperationMessage", "kind", []string{models.MessageText, models.MessageState, models.MessageRejected}},
		{"APIOperationVisitBrief", "state", models.VisitStates},
		{"APIRecordClock", "outcome", []string{models.ClockRunning, models.ClockMet, models.ClockMissed}},
		{"APIVisitRow", "state", models.VisitStates},
		{"APIVisitRow", "activity", models.VisitActivities},
		{"APIVisitor", "id_type", models.IDTypes},
		{"APIVisitNeed", "need", models.VisitNeeds},
		{"APIComplaint", "category", models.ComplaintCategories},
		{"APIComplaint", "channel", models.ComplaintChannels},
		{"APIComplaint", "state", models.ComplaintStates},
		{"APIComplaintLine", "kind", []string{models.ComplaintMessage, models.ComplaintReport, models.ComplaintStateLine,
			models.ComplaintResolution}},
		{"APIMoney", "currency", models.Currencies},
		{"APIStatementContract", "currency", models.Currencies},
		{"APIStatementLine", "currency", models.Currencies},
		{"APIStatementMonth", "state", []string{models.StatementRunning, models.StatementOpen, models.StatementClosed}},
		{"APIStatement", "state", []string{models.StatementRunning, models.StatementOpen, models.StatementClosed}},
		{"APIStatementLine", "kind", []string{models.LineNetwork, models.LinePower, models.LineNotice, models.LineInstallation,
			models.LineAdjustment}},
	} {
		var got []string
		for _, v := range doc.Components.Schemas[c.schema].Properties[c.prop].Enum {
			if s, ok := v.(string); ok {
				got = append(got, s)
			}
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s.%s: the document lists %q, the models %q", c.schema, c.prop, got, c.want)
		}
	}
}
