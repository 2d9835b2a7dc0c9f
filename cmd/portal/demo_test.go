package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/blobstore"
	"github.com/colo-portal/portal/models/dbtest"
)

func TestLoadDemoTwice(t *testing.T) {
	ctx := context.Background()
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			store := dbtest.Open(t, db)
			var first, second bytes.Buffer
			if err := loadDemo(ctx, store, ":8080", demoBlobs(t), &first); err != nil {
				t.Fatalf("first loadDemo: %v", err)
			}
			users, err := store.CountUsers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := int64(len(demoStaff) + len(demoCustomers)); users != want {
				t.Errorf("after the first run: %d users, want %d", users, want)
			}
			orgs, err := store.ListOrgs(ctx, models.AllOrgs())
			if err != nil {
				t.Fatal(err)
			}
			visits := checkDemoVisits(t, store)
			complaints := checkDemoComplaints(t, store)

			if err := loadDemo(ctx, store, ":8080", demoBlobs(t), &second); err != nil {
				t.Fatalf("second loadDemo: %v", err)
			}
			if n, err := store.CountUsers(ctx); err != nil || n != users {
				t.Errorf("after the second run: %d users (%v), want unchanged %d", n, err, users)
			}
			if rs, err := store.ListRequests(ctx, models.AllOrgs(), models.RequestFilter{}); err != nil || len(rs) != 2 || rs[1].State != models.OpCompleted || rs[0].State != models.OpAwaiting {
				t.Errorf("demo operation requests after two runs: %+v (%v), want one completed and one awaiting", rs, err)
			}
			if again := checkDemoVisits(t, store); again != visits {
				t.Errorf("after the second run: %d visits, want unchanged %d", again, visits)
			}
			if again := checkDemoComplaints(t, store); again != complaints {
				t.Errorf("after the second run: %d complaints, want unchanged %d", again, complaints)
			}
			checkDemoLedger(t, store)
			if o, err := store.ListOrgs(ctx, models.AllOrgs()); err != nil || len(o) != len(orgs) {
				t.Errorf("after the second run: %d organizations (%v), want unchanged %d", len(o), err, len(orgs))
			}

			for _, out := range []string{first.String(), second.String()} {
				rows := map[string][]string{}
				for _, l := range strings.Split(out, "\n") {
					f := strings.Fields(l)
					if len(f) >= 3 {
						rows[f[1]] = f
					}
				}
				if r := rows["admin@idc.example"]; len(r) != 3 || r[0] != "admin" || r[2] != "demo-Chen-2026" {
					t.Errorf("admin row = %q in\n%s", r, out)
				}
				if r := rows["ops@aurora.example"]; len(r) != 4 || r[0] != "customer" || r[2] != "demo-Aurora-2026" || r[3] != "aurora" {
					t.Errorf("customer row = %q in\n%s", r, out)
				}
				if !strings.Contains(out, "ROLE") || !strings.Contains(out, "PASSWORD") {
					t.Errorf("no table header in\n%s", out)
				}
			}

			// The printed password works.
			signInAndSeeHome(t, store, []byte(strings.Repeat("x", 32)), "ops@aurora.example", "demo-Aurora-2026", "Aurora Cloud 极光云计算")
		})
	}
}

// checkDemoVisits checks that the demo's visits give each role's pages
// something to show, and returns how many visits there are: for Aurora an
// emergency request in reception's queue, a visit today with one visitor
// inside holding a badge and one expected, one next week linked to the
// open operation request, one over with its visitor gone and the badge
// back; for Bravo a request waiting.
func checkDemoVisits(t *testing.T, store *models.Store) int {
	t.Helper()
	ctx := context.Background()
	all, err := store.ListVisits(ctx, models.AllOrgs(), models.VisitFilter{})
	if err != nil {
		t.Fatal(err)
	}
	aurora, err := store.GetOrgBySlug(ctx, "aurora")
	if err != nil {
		t.Fatal(err)
	}
	ops, err := store.ListRequests(ctx, models.OrgScope(aurora.ID), models.RequestFilter{Open: true})
	if err != nil || len(ops) != 1 {
		t.Fatalf("open operation requests of Aurora: %v, %v", ops, err)
	}
	var pendingA, pendingB, linked, over int
	for _, v := range all {
		switch {
		case v.OrgID != aurora.ID:
			if v.State == models.VisitPending && !v.Emergency {
				pendingB++
			}
		case v.State == models.VisitPending && v.Emergency:
			pendingA++
		case v.State == models.VisitApproved && v.OperationID != nil && *v.OperationID == ops[0].ID && v.PlannedFrom.After(store.Now().Add(6*24*time.Hour)):
			linked++
		case v.State == models.VisitApproved && v.LastOut != nil && v.Inside == 0:
			over++
		}
	}
	if len(all) != 5 || pendingA != 1 || pendingB != 1 || linked != 1 || over != 1 {
		t.Errorf("demo visits: %d (want 5): Aurora's emergency requests %d, Bravo's requests %d, next week's for the operation %d, over %d; want 1 each",
			len(all), pendingA, pendingB, linked, over)
	}
	q, n, err := store.ReceptionQueue(ctx, models.AllOrgs(), 10)
	if err != nil || n != 2 || len(q) != 2 || !q[0].Emergency {
		t.Errorf("reception's queue: %+v (%d), %v; want the emergency first of two", q, n, err)
	}
	b, err := store.TodayBoard(ctx, models.AllOrgs(), store.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Inside) != 1 || b.Inside[0].BadgeNumber == "" || len(b.Expected) != 1 || b.Inside[0].VisitID != b.Expected[0].VisitID || len(b.Badges) != 0 {
		t.Errorf("today's board: inside %+v, expected %+v, badges out %+v; want one visitor in with a badge and one expected of the same visit", b.Inside, b.Expected, b.Badges)
	}
	return len(all)
}

// checkDemoComplaints checks the demo's complaints and returns how many
// there are: Aurora's about network quality answered within 24 hours and
// resolved, waiting for the customer (who may still reopen it); Aurora's
// about the engineer, open with its clock running, which the engineer
// neither finds nor counts; Bravo's recorded by the desk from a call an
// hour before, open, its clock counting from the call.
func checkDemoComplaints(t *testing.T, store *models.Store) int {
	t.Helper()
	ctx := context.Background()
	now := store.Now()
	all, err := store.ListComplaints(ctx, models.Viewer{Scope: models.AllOrgs()}, models.ComplaintFilter{})
	if err != nil {
		t.Fatal(err)
	}
	user := func(email string) *models.User {
		u, err := store.GetUserByEmail(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	eng, svc, bravoUser := user("engineer@idc.example"), user("service@idc.example"), user("it@bravo.example")
	var answered, named, called int
	for _, r := range all {
		c, k := r.Complaint, r.Clock
		if k == nil {
			t.Errorf("demo complaint %s has no clock", c.Number())
			continue
		}
		switch c.Category {
		case models.ComplaintNetwork:
			d, err := store.ComplaintDetailOf(ctx, models.Viewer{Scope: models.AllOrgs()}, &c)
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			for _, l := range d.Lines {
				kinds[l.Kind]++
			}
			if c.State == models.ComplaintResolved && k.Outcome == models.ClockMet && k.StoppedAt != nil && k.StoppedAt.Sub(k.StartedAt) < models.ComplaintDeadline &&
				c.FirstResponseAt != nil && models.CanReopen(&c, now) && kinds[models.ComplaintReport] == 1 && kinds[models.ComplaintResolution] == 1 &&
				kinds[models.ComplaintMessage] == 2 && c.AssigneeID != nil && *c.AssigneeID == svc.ID {
				answered++
			} else {
				t.Errorf("the network complaint: %+v, clock %+v, thread %v", c, k, kinds)
			}
		case models.ComplaintEmployee:
			if c.State == models.ComplaintOpen && k.Outcome == models.ClockRunning && k.DeadlineAt.After(now) && c.NamedUserID != nil && *c.NamedUserID == eng.ID &&
				c.AssigneeID != nil && *c.AssigneeID != eng.ID {
				named++
			} else {
				t.Errorf("the complaint about the engineer: %+v, clock %+v", c, k)
			}
			if _, err := store.GetComplaintByRef(ctx, models.Viewer{Scope: models.AllOrgs(), UserID: eng.ID}, c.Ref); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("the engineer finds the complaint about him: %v", err)
			}
		case models.ComplaintSupport:
			entered := c.CreatedAt.Sub(c.ReceivedAt) // the call came an hour before it was entered
			if c.Channel == "phone" && c.State == models.ComplaintOpen && k.Outcome == models.ClockRunning && entered >= time.Hour && entered < time.Hour+2*time.Minute &&
				k.StartedAt.Equal(c.ReceivedAt) && c.EnteredBy == svc.ID && c.FiledBy != nil && *c.FiledBy == bravoUser.ID && c.OrgID == *bravoUser.OrgID {
				called++
			} else {
				t.Errorf("the complaint recorded from Bravo's call: %+v, clock %+v", c, k)
			}
		}
	}
	if len(all) != 3 || answered != 1 || named != 1 || called != 1 {
		t.Errorf("demo complaints: %d (want 3): answered %d, about the engineer %d, from a call %d; want 1 each", len(all), answered, named, called)
	}
	// The engineer counts only the two he is not named in.
	n, err := store.CountComplaints(ctx, models.Viewer{Scope: models.AllOrgs(), UserID: eng.ID}, models.ComplaintFilter{})
	if err != nil || n.Active() != 2 || n.Open != 1 {
		t.Errorf("the engineer counts %+v (%v); want 2 not closed, 1 open", n, err)
	}
	return len(all)
}

// demoBlobs is a documents folder for a test's demo data.
func demoBlobs(t *testing.T) blobstore.Store {
	t.Helper()
	b, err := blobstore.New(filepath.Join(t.TempDir(), "documents"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The demo's HTTP checks watch something other than the portal: a check of
// the portal's own /healthz turns a database outage into customer outages
// and notices.
func TestDemoChecksDoNotWatchThePortal(t *testing.T) {
	ctx := context.Background()
	store := dbtest.Open(t, dbtest.Databases(t)[0])
	const listen = "127.0.0.1:18390"
	if err := loadDemo(ctx, store, listen, demoBlobs(t), io.Discard); err != nil {
		t.Fatal(err)
	}
	https := 0
	for _, slug := range []string{"aurora", "bravo"} {
		o, err := store.GetOrgBySlug(ctx, slug)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := store.ListOrgChecks(ctx, models.AllOrgs(), o.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.Kind != models.KindHTTP {
				continue
			}
			https++
			u, err := url.Parse(c.Target)
			if err != nil || u.Host == listen || u.Hostname() != "127.0.0.1" {
				t.Errorf("%s check %s: want a loopback address other than the portal's %s", c.Kind, c.Target, listen)
			}
		}
	}
	if https != 2 {
		t.Errorf("%d HTTP checks in the demo, want 2", https)
	}
}

// The demo service answers the demo devices' HTTP checks with their
// keyword, and nothing else.
func TestDemoServiceAnswersTheChecks(t *testing.T) {
	srv := httptest.NewServer(demoServiceHandler())
	defer srv.Close()
	for path, want := range map[string]int{"/web-01": 200, "/game-01": 200, "/healthz": 404, "/": 404} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || (want == 200 && !strings.Contains(string(body), "ok")) {
			t.Errorf("GET %s = %d %q, want %d", path, resp.StatusCode, body, want)
		}
	}
}

// A demo database from before the demo service keeps its history, but its
// checks of the portal's own /healthz are switched off and the demo
// service's added.
func TestDemoSwitchesOffChecksOfThePortal(t *testing.T) {
	ctx := context.Background()
	store := dbtest.Open(t, dbtest.Databases(t)[0])
	const listen = "127.0.0.1:18391"
	if err := loadDemo(ctx, store, listen, demoBlobs(t), io.Discard); err != nil {
		t.Fatal(err)
	}
	o, err := store.GetOrgBySlug(ctx, "bravo")
	if err != nil {
		t.Fatal(err)
	}
	ds, err := store.ListDevices(ctx, models.AllOrgs(), o.ID)
	if err != nil || len(ds) == 0 {
		t.Fatal(ds, err)
	}
	old, err := store.AddCheck(ctx, models.SystemActor("old demo"), o.ID, ds[0].ID, models.CheckInput{Kind: models.KindHTTP,
		Target: "http://127.0.0.1:18391/healthz", Keyword: "ok", Interval: time.Minute, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := loadDemo(ctx, store, listen, demoBlobs(t), io.Discard); err != nil {
		t.Fatal(err)
	}
	c, err := store.GetCheck(ctx, models.AllOrgs(), old.ID)
	if err != nil || c.Enabled {
		t.Errorf("the old check of the portal's /healthz after the demo ran again: %+v, %v; want switched off", c, err)
	}
}

// The demo names a fictional provider when none is configured, one that the
// settings would accept as typed; a configured identity, even only a name,
// stays as it is.
func TestDemoProvider(t *testing.T) {
	p, ok := demoProvider(models.Provider{})
	if !ok || p.Name == "" || p.Address == "" || p.Phone == "" || p.Email == "" || !p.Returnable() {
		t.Fatalf("demo provider = %+v, %v; want a name, address, phone and email", p, ok)
	}
	c, err := loadConfig(env(map[string]string{"PORTAL_DATA_DIR": t.TempDir(), "PORTAL_PROVIDER_NAME": p.Name,
		"PORTAL_PROVIDER_ADDRESS": p.Address, "PORTAL_PROVIDER_PHONE": p.Phone, "PORTAL_PROVIDER_FAX": p.Fax, "PORTAL_PROVIDER_EMAIL": p.Email}))
	if err != nil {
		t.Fatalf("the settings refuse the demo provider: %v", err)
	}
	if c.Provider.Name != p.Name || c.Provider.Address != p.Address || c.Provider.Phone != p.Phone || c.Provider.Email != p.Email {
		t.Errorf("the settings read the demo provider as %+v, want %+v", c.Provider, p)
	}
	own := models.Provider{Email: "noc@own.example"}
	if got, ok := demoProvider(own); ok || got.Name != "" || got.Email != own.Email {
		t.Errorf("with a configured email the demo provider is %+v, %v; want the configured one", got, ok)
	}
}

// The demo runs at any hour: today's visit keeps to the site's visiting
// hours with its visitor already in (early at night, overstaying late in
// the evening), and the emergency request waits for the site to open.
func TestDemoVisitsAtAnyHour(t *testing.T) {
	ctx := context.Background()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	for _, hm := range [][2]int{{0, 0}, {0, 20}, {7, 30}, {12, 0}, {19, 30}, {21, 40}, {22, 30}, {23, 55}} {
		at := time.Date(2026, 3, 9, hm[0], hm[1], 0, 0, shanghai)
		t.Run(at.Format("15:04"), func(t *testing.T) {
			store := dbtest.Open(t, dbtest.Databases(t)[0], models.WithZone(shanghai), models.WithClock(func() time.Time { return at }))
			if err := loadDemo(ctx, store, ":8080", demoBlobs(t), io.Discard); err != nil {
				t.Fatalf("loadDemo at %v: %v", at, err)
			}
			checkDemoVisits(t, store)
			checkDemoComplaints(t, store)
			b, err := store.TodayBoard(ctx, models.AllOrgs(), store.Now())
			if err != nil || len(b.Inside) != 1 {
				t.Fatalf("inside: %+v, %v", b, err)
			}
			if late := at.Hour() >= 22; (b.Overstaying == 1) != late {
				t.Errorf("today's visit at %v: %d overstaying, want one only after 22:00", at, b.Overstaying)
			}
		})
	}
}
