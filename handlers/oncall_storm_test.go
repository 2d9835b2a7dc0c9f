package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"github.com/colo-portal/portal/views"
)

// stormOrg imports n devices named prefix-i into org, fails each one's
// ping at start and start+5 min (an outage confirmed at the second), and
// expands every notice (phones are staff calls).
func stormOrg(t *testing.T, s *models.Store, org *models.Organization, prefix string, n int, start time.Time) {
	t.Helper()
	ctx := context.Background()
	rows := make([]models.DeviceImportRow, n)
	for i := range rows {
		rows[i] = models.DeviceImportRow{Line: i + 2, Org: org.Slug, Name: fmt.Sprintf("%s-%04d", prefix, i), Address: "127.0.1.1"}
	}
	if _, err := s.ImportDevices(ctx, models.SystemActor("test"), rows); err != nil {
		t.Fatal(err)
	}
	r, err := s.ShareChecks(ctx, "test", models.ShareOptions{Lease: time.Minute, Max: 1000000})
	if err != nil {
		t.Fatal(err)
	}
	var rs []models.ProbeResult
	for _, c := range r.Checks {
		if c.OrgID == org.ID {
			rs = append(rs, models.ProbeResult{CheckID: c.ID, At: start, Reason: models.ReasonTimeout},
				models.ProbeResult{CheckID: c.ID, At: start.Add(5 * time.Minute), Reason: models.ReasonTimeout})
		}
	}
	if _, err := s.RecordResults(ctx, rs); err != nil {
		t.Fatal(err)
	}
	for {
		evs, err := s.ClaimEvents(ctx, "test", time.Minute, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return
		}
		for _, ev := range evs {
			if _, err := s.ExpandEvent(ctx, ev, "test", phoneAndEmail); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// stormContact adds a contact with a mobile who may authorize.
func stormContact(t *testing.T, s *models.Store, orgID int64, name, mobile string) *models.Contact {
	t.Helper()
	c, err := s.CreateContact(context.Background(), models.SystemActor("test"), orgID, models.ContactInput{Name: name, Mobile: mobile,
		Channels: []models.Channel{models.ChannelMobile}, MayAuthorize: true, Passphrase: passphrase, Locale: "zh-CN"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// onCallBound is the most the on-call page and a staff home may weigh
// in a storm.
const onCallBound = 100 << 10

// With 2,000 devices of one organization down, the on-call page shows
// one line for the contact to call, one for the organization's outages,
// and stays small. (On the old page: 2,001 call lines and 899 KB.)
func TestOnCallPageInAStormIsOneLinePerContact(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		fx := e.fx
		zhao := stormContact(t, e.store, fx.OrgA.ID, "Zhao Min", "138 0013 8000")
		const n = 2000
		t0 := e.clock.Now()
		stormOrg(t, e.store, fx.OrgA, "a", n, t0)
		e.clock.Advance(6 * time.Minute)
		groups, err := e.store.CallGroups(ctx, models.AllOrgs(), 10)
		if err != nil || len(groups) != 1 {
			t.Fatalf("call groups = %+v, %v", groups, err)
		}
		g := groups[0]
		for _, who := range []*models.User{fx.Engineer, fx.Reception, fx.Service, fx.Admin} {
			for _, path := range []string{"/oncall", "/oncall/live", "/"} {
				r := e.as(t, who).get(path)
				wantStatus(t, r, http.StatusOK)
				t.Logf("%s as %s: %d bytes", path, who.Role, len(r.Body))
				if len(r.Body) > onCallBound {
					t.Errorf("%s as %s: %d bytes, want at most %d", path, who.Role, len(r.Body), onCallBound)
				}
				if got := strings.Count(r.Body, `class="callgroup`); got != 1 {
					t.Errorf("%s as %s: %d call lines, want one for Zhao Min", path, who.Role, got)
				}
				wantBody(t, r, "Zhao Min", zh("oncall.group_down", "2,000", t0.UTC().Format("15:04")),
					`action="/orgs/`+ids(fx.OrgA.ID)+`/calls"`, `href="/orgs/`+ids(fx.OrgA.ID)+`/uptime?state=down"`)
			}
		}
		r := e.as(t, fx.Engineer).get("/oncall")
		// The 2,000 outages share one notice: the line stands for one call.
		wantBody(t, r, zh("oncall.group_calls", "1"), zh("oncall.group_more", "1,950"), "a-0000")
		if got := strings.Count(r.Body, `class="outagegroup`); got != 1 {
			t.Errorf("outage groups = %d, want one for organization A", got)
		}

		t.Run("customers have no such form", func(t *testing.T) {
			for _, who := range []*models.User{fx.CustA, fx.CustB} {
				wantStatus(t, e.as(t, who).submit("/", "/orgs/"+ids(fx.OrgA.ID)+"/calls",
					url.Values{"contact": {ids(zhao.ID)}, "address": {g.Address}, "answered": {"yes"}}), http.StatusForbidden)
			}
		})
		t.Run("a call logged without an answer is refused with the note kept", func(t *testing.T) {
			r := e.as(t, fx.Reception).submit("/oncall", "/orgs/"+ids(fx.OrgA.ID)+"/calls",
				url.Values{"contact": {ids(zhao.ID)}, "address": {g.Address}, "note": {"line busy?"}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh("error.answer_required"), `value="line busy?"`)
		})
		t.Run("a line of another organization or nobody is not found", func(t *testing.T) {
			rec := e.as(t, fx.Reception)
			for _, path := range []string{"/orgs/" + ids(fx.OrgB.ID) + "/calls", "/orgs/999999/calls"} {
				wantStatus(t, rec.submit("/oncall", path, url.Values{"contact": {ids(zhao.ID)}, "address": {g.Address}, "answered": {"yes"},
					"as_of": {views.AsOf(e.clock.Now())}}),
					http.StatusNotFound)
			}
			wantStatus(t, rec.submit("/oncall", "/orgs/"+ids(fx.OrgA.ID)+"/calls", url.Values{"contact": {ids(zhao.ID)},
				"address": {"+8613900000000"}, "answered": {"yes"}, "as_of": {views.AsOf(e.clock.Now())}}), http.StatusNotFound)
		})
		t.Run("a call logged from a page that does not say when it was drawn is refused", func(t *testing.T) {
			for _, asOf := range []string{"", "soon", "-5"} {
				r := e.as(t, fx.Reception).submit("/oncall", "/orgs/"+ids(fx.OrgA.ID)+"/calls",
					url.Values{"contact": {ids(zhao.ID)}, "address": {g.Address}, "answered": {"yes"}, "note": {"told her"}, "as_of": {asOf}})
				wantStatus(t, r, http.StatusUnprocessableEntity)
				wantBody(t, r, zh("error.call_page_unknown"), `value="told her"`)
			}
		})
		t.Run("a call logged from a page drawn before the list changed is refused and stops nothing", func(t *testing.T) {
			// Drawn before the outages joined the notice and its call task
			// was queued: the page showed none of the 2,000 devices the call
			// covers.
			r := e.as(t, fx.Reception).submit("/oncall", "/orgs/"+ids(fx.OrgA.ID)+"/calls",
				url.Values{"contact": {ids(zhao.ID)}, "address": {g.Address}, "answered": {"yes"}, "note": {"told her"},
					"as_of": {views.AsOf(t0.Add(-time.Second))}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			// The page shown again lists the line as it is now, with a
			// form drawn now and the note kept.
			// The count is formatted as on the rest of the page, not "2000".
			wantBody(t, r, zh("error.call_list_changed", "2,000"), "又有 2,000 台设备宕机", `value="told her"`,
				`name="as_of" value="`+views.AsOf(e.clock.Now())+`"`)
			if og, err := e.store.OnCallOutageGroups(ctx, models.AllOrgs(), 0); err != nil || og[0].Running != n {
				t.Fatalf("outage groups after the refused call = %+v, %v", og, err)
			}
		})
		t.Run("one logged call ends the line and stops every clock", func(t *testing.T) {
			e.clock.Advance(time.Minute)
			rec := e.as(t, fx.Reception)
			r := rec.submit("/oncall", "/orgs/"+ids(fx.OrgA.ID)+"/calls",
				url.Values{"contact": {ids(zhao.ID)}, "address": {g.Address}, "answered": {"yes"}, "note": {"told her"},
					"as_of": {views.AsOf(e.clock.Now())}})
			wantRedirect(t, r, "/oncall#calls")
			og, err := e.store.OnCallOutageGroups(ctx, models.AllOrgs(), 0)
			if err != nil || len(og) != 1 || og[0].Met != n || og[0].Running != 0 {
				t.Fatalf("outage groups after the call = %+v, %v", og, err)
			}
			r = rec.get("/oncall")
			wantBody(t, r, zh("flash.calls_logged"), zh("oncall.no_calls"))
			wantStatus(t, e.as(t, fx.Reception).submit("/oncall", "/orgs/"+ids(fx.OrgA.ID)+"/calls",
				url.Values{"contact": {ids(zhao.ID)}, "address": {g.Address}, "answered": {"yes"}, "as_of": {views.AsOf(e.clock.Now())}}),
				http.StatusNotFound)
		})
	})
}

// With 10,000 devices of 100 organizations down, each with a contact to
// call, the on-call page and the staff homes stay small. SQLite only: the
// seeding takes minutes on MySQL.
func TestOnCallPageWithAHundredOrganizationsDown(t *testing.T) {
	db := dbtest.Databases(t)[0]
	clock := dbtest.NewClock()
	store := dbtest.Open(t, db, models.WithClock(clock.Now))
	fx := dbtest.Seed(t, store)
	e := &env{db: db, store: store, clock: clock, fx: fx, app: newApp(store)}
	ctx := context.Background()
	t0 := clock.Now()
	for i := range 100 {
		org, err := store.CreateOrg(ctx, models.SystemActor("test"), models.OrgInput{Slug: fmt.Sprintf("org-%03d", i), Name: fmt.Sprintf("Org %03d", i)})
		if err != nil {
			t.Fatal(err)
		}
		stormContact(t, store, org.ID, fmt.Sprintf("Contact %03d", i), fmt.Sprintf("138 0000 %04d", i))
		stormOrg(t, store, org, fmt.Sprintf("o%03d", i), 100, t0.Add(time.Duration(i)*time.Second))
	}
	clock.Advance(6 * time.Minute)
	for _, who := range []*models.User{fx.Engineer, fx.Reception, fx.Service, fx.Admin} {
		for _, path := range []string{"/oncall", "/oncall/live", "/"} {
			r := e.as(t, who).get(path)
			wantStatus(t, r, http.StatusOK)
			t.Logf("%s as %s: %d bytes", path, who.Role, len(r.Body))
			if d := os.Getenv("ONCALL_DUMP"); d != "" {
				_ = os.WriteFile(d+"/"+string(who.Role)+strings.ReplaceAll(path, "/", "_")+".html", []byte(r.Body), 0o644)
			}
			if len(r.Body) > onCallBound {
				t.Errorf("%s as %s: %d bytes, want at most %d", path, who.Role, len(r.Body), onCallBound)
			}
		}
	}
}
