package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// seedDown gives organization org n devices (down-0000 …, in cabinets
// C00–C09, tagged even or odd, imported with their tags) whose pings
// fail twice: n open outages.
func seedDown(t testing.TB, e *env, org *models.Organization, n int) {
	t.Helper()
	ctx := context.Background()
	rows := make([]models.DeviceImportRow, n)
	for i := range rows {
		rows[i] = models.DeviceImportRow{Line: i + 2, Org: org.Slug, Name: fmt.Sprintf("down-%04d", i),
			Address: fmt.Sprintf("10.%d.%d.%d", org.ID%250, i/250, i%250+1), Cabinet: fmt.Sprintf("C%02d", i%10), Position: "U1",
			Tags: []string{"even", "odd"}[i%2]}
	}
	if _, err := e.store.ImportDevices(ctx, models.SystemActor("test"), rows); err != nil {
		t.Fatal(err)
	}
	checks, err := e.store.ListOrgChecks(ctx, models.AllOrgs(), org.ID)
	if err != nil {
		t.Fatal(err)
	}
	for k := range 2 {
		at := e.clock.Now().Add(time.Duration(k) * time.Minute)
		rs := make([]models.ProbeResult, len(checks))
		for i, c := range checks {
			rs[i] = models.ProbeResult{CheckID: c.ID, At: at, OK: false, Reason: models.ReasonTimeout}
		}
		if _, err := e.store.RecordResults(ctx, rs); err != nil {
			t.Fatal(err)
		}
	}
}

// rowRE finds the rows of a device list: state and name.
var rowRE = regexp.MustCompile(`<tr class="state-([a-z]+)">.*?<a href="/devices/\d+">([^<]+)</a>`)

type row struct{ state, name string }

func listRows(body string) []row {
	var out []row
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		out = append(out, row{m[1], m[2]})
	}
	return out
}

func rowNames(body string) []string {
	var out []string
	for _, r := range listRows(body) {
		out = append(out, r.name)
	}
	return out
}

// The customer's uptime page stays small when every one of 2,000 devices
// of the organization is down: the counts by state on top, then the first
// hundred down devices, and paging keeps the filters. Before the list
// lost the bar of days it was 195 KB here (1.9 KB a device, more with a
// history of outages: each day with downtime is a bar with a tooltip);
// now about 62 KB.
func TestUptimePageOf2000DownDevicesIsSmall(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		seedDown(t, e, e.fx.OrgA, 2000)
		e.clock.Advance(5 * time.Minute)
		cust := e.as(t, e.fx.CustA)
		r := cust.get("/uptime")
		wantStatus(t, r, http.StatusOK)
		t.Logf("/uptime: %d bytes", len(r.Body))
		if len(r.Body) > 300_000 {
			t.Errorf("/uptime is %d bytes, want at most 300 KB", len(r.Body))
		}
		wantBody(t, r, zh("uptime.devices_count", 2000), zh("uptime.count_down", 2000), zh("fleet.page_of", 1, 20),
			`href="/uptime?state=down"`, `href="/uptime?page=2"`)
		rows := listRows(r.Body)
		if len(rows) != 100 || rows[0].name != "down-0000" || rows[99].name != "down-0099" {
			t.Fatalf("rows %d, first %v, want down-0000 … down-0099", len(rows), rows[:min(1, len(rows))])
		}
		for _, rw := range rows {
			if rw.state != models.StatusDown {
				t.Fatalf("row %v is not down", rw)
			}
		}
		if home := cust.get("/"); strings.Count(home.Body, `href="/devices/`) > 20+100 {
			t.Errorf("the home page links %d devices", strings.Count(home.Body, `href="/devices/`))
		} else {
			wantBody(t, home, zh("home.avail_more", 20, 2000))
			t.Logf("/: %d bytes", len(home.Body))
		}

		t.Run("paging keeps the filters", func(t *testing.T) {
			r := cust.get("/uptime?tag=even&state=down&cabinet=C02")
			wantBody(t, r, zh("uptime.devices_count", 200), zh("fleet.page_of", 1, 2),
				`href="/uptime?cabinet=C02&amp;page=2&amp;state=down&amp;tag=even"`,
				`href="/uptime?cabinet=C02&amp;state=up&amp;tag=even"`)
			r = cust.get("/uptime?cabinet=C02&page=2&state=down&tag=even")
			names := rowNames(r.Body)
			if len(names) != 100 || names[0] != "down-1002" || names[99] != "down-1992" {
				t.Errorf("page 2: %d rows %v…, want down-1002 … down-1992", len(names), names[:min(3, len(names))])
			}
			wantBody(t, r, zh("fleet.page_of", 2, 2), `href="/uptime?cabinet=C02&amp;state=down&amp;tag=even"`)
		})
	})
}

// 100 organizations of 100 devices fail at once: each customer's uptime
// page is one page of its own 100 down devices.
func TestUptimePagesOf100OrgsDown(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 devices")
	}
	for _, db := range dbtest.Databases(t)[:1] { // the size does not depend on the database
		t.Run(db.Name, func(t *testing.T) {
			clock := dbtest.NewClock()
			store := dbtest.Open(t, db, models.WithClock(clock.Now))
			fx := dbtest.Seed(t, store)
			e := &env{db: db, store: store, clock: clock, fx: fx, app: newApp(store)}
			orgs := []*models.Organization{fx.OrgA}
			for i := range 99 {
				o, err := store.CreateOrg(context.Background(), models.SystemActor("test"),
					models.OrgInput{Slug: fmt.Sprintf("org-%02d", i), Name: fmt.Sprintf("Org %02d", i)})
				if err != nil {
					t.Fatal(err)
				}
				orgs = append(orgs, o)
			}
			for _, o := range orgs {
				seedDown(t, e, o, 100)
			}
			e.clock.Advance(5 * time.Minute)
			r := e.as(t, fx.CustA).get("/uptime")
			wantStatus(t, r, http.StatusOK)
			t.Logf("/uptime of one of 100 organizations: %d bytes", len(r.Body))
			if len(r.Body) > 300_000 {
				t.Errorf("/uptime is %d bytes, want at most 300 KB", len(r.Body))
			}
			wantBody(t, r, zh("uptime.count_down", 100))
			if n := len(listRows(r.Body)); n != 100 {
				t.Errorf("%d rows, want 100", n)
			}
			f := e.as(t, fx.Engineer).get("/fleet?tag=odd")
			wantBody(t, f, zh("uptime.count_down", 5000))
			t.Logf("/fleet?tag=odd: %d bytes", len(f.Body))
		})
	}
}

// Each filter of the uptime page and the fleet narrows the list: state,
// cabinet, tag (any case) and a search of name or address; down devices
// come first; another organization's cabinets and tags are never offered
// and never match.
func TestDeviceListFilters(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		fx, ctx, sys := e.fx, context.Background(), models.SystemActor("test")
		mk := func(org int64, name, addr, cabinet, tags string) *models.Device {
			d, err := e.store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: org, Name: name, Address: addr, Cabinet: cabinet, Tags: &tags})
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		pingOf := func(d *models.Device) int64 {
			cs, err := e.store.ListChecks(ctx, models.AllOrgs(), d.OrgID, d.ID)
			if err != nil {
				t.Fatal(err)
			}
			return cs[0].ID
		}
		web2 := mk(fx.OrgA.ID, "web-2", "10.9.0.2", "A02", "web")
		mk(fx.OrgA.ID, "db-1", "10.9.0.3", "A01", "db")
		web1 := mk(fx.OrgA.ID, "web-1", "10.9.0.1", "A01", "Web prod")
		game := mk(fx.OrgB.ID, "game-1", "10.9.1.1", "B-SECRET", "secret-tag web")
		var rs []models.ProbeResult
		for k := range 2 {
			at := e.clock.Now().Add(time.Duration(k) * time.Minute)
			rs = append(rs, models.ProbeResult{CheckID: pingOf(web1), At: at, OK: false, Reason: models.ReasonTimeout},
				models.ProbeResult{CheckID: pingOf(web2), At: at, OK: true, RTTus: 100},
				models.ProbeResult{CheckID: pingOf(game), At: at, OK: false, Reason: models.ReasonTimeout})
		}
		if _, err := e.store.RecordResults(ctx, rs); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(5 * time.Minute)
		cust, eng := e.as(t, fx.CustA), e.as(t, fx.Engineer)
		orgA := "/orgs/" + ids(fx.OrgA.ID) + "/uptime"
		for _, tc := range []struct {
			name string
			c    *client
			path string
			want []string
		}{
			{"every device, down first, then unknown, then up", cust, "/uptime", []string{"web-1", "db-1", "web-2"}},
			{"by state", cust, "/uptime?state=up", []string{"web-2"}},
			{"by cabinet", cust, "/uptime?cabinet=A01", []string{"web-1", "db-1"}},
			{"by tag", cust, "/uptime?tag=web", []string{"web-1", "web-2"}},
			{"by tag in any case", cust, "/uptime?tag=PROD", []string{"web-1"}},
			{"by name", cust, "/uptime?q=DB", []string{"db-1"}},
			{"by address", cust, "/uptime?q=10.9.0.2", []string{"web-2"}},
			{"all together", cust, "/uptime?q=web&tag=web&cabinet=A02&state=up", []string{"web-2"}},
			{"the organization's name matches nothing in particular", cust, "/uptime?q=Alpha", nil},
			{"another organization's tag matches nothing", cust, "/uptime?tag=secret-tag", nil},
			{"another organization's cabinet matches nothing", cust, "/uptime?cabinet=B-SECRET", nil},
			{"staff: an organization's page filters the same", eng, orgA + "?tag=web", []string{"web-1", "web-2"}},
			{"staff: the organization's page never shows another's", eng, orgA + "?cabinet=B-SECRET", nil},
			{"fleet by tag, across organizations by name", eng, "/fleet?tag=web", []string{"web-1", "game-1", "web-2"}},
			{"fleet by another tag", eng, "/fleet?tag=secret-tag", []string{"game-1"}},
			{"fleet by cabinet", eng, "/fleet?cabinet=A01", []string{"web-1", "db-1"}},
			{"fleet by tag and organization", eng, "/fleet?tag=web&org=" + ids(fx.OrgB.ID), []string{"game-1"}},
			{"fleet by state and tag", eng, "/fleet?tag=web&state=up", []string{"web-2"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := tc.c.get(tc.path)
				wantStatus(t, r, http.StatusOK)
				if got := rowNames(r.Body); !slices.Equal(got, tc.want) {
					t.Errorf("%s: %v, want %v", tc.path, got, tc.want)
				}
				if strings.HasPrefix(tc.path, "/uptime") || strings.HasPrefix(tc.path, "/orgs/") {
					// The filters offer the organization's own values
					// only (a value asked for in the address is kept in
					// the links, as typed).
					wantNoBody(t, r, `<option value="B-SECRET"`, `<option value="secret-tag"`, "game-1", "10.9.1.1")
					wantBody(t, r, `<option value="A01"`, `<option value="web"`)
				}
			})
		}
		t.Run("the organization's staff page counts its devices and links them, without listing them", func(t *testing.T) {
			r := eng.get("/orgs/" + ids(fx.OrgA.ID))
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, zh("uptime.devices_count", 3), zh("uptime.count_down", 1), zh("uptime.count_unknown", 1),
				`href="`+orgA+`?state=down"`, `href="`+orgA+`"`)
			wantNoBody(t, r, "web-1", "db-1")
		})
		t.Run("the summary counts worst first, each a link that filters, and tags show on the rows", func(t *testing.T) {
			r := cust.get("/uptime?tag=web")
			body := r.Body
			down, unknown, up := strings.Index(body, zh("uptime.count_down", 1)), strings.Index(body, zh("uptime.count_unknown", 0)),
				strings.Index(body, zh("uptime.count_up", 1))
			if down < 0 || unknown < down || up < unknown {
				t.Errorf("summary order: down at %d, unknown at %d, up at %d", down, unknown, up)
			}
			wantBody(t, r, `href="/uptime?state=down&amp;tag=web"`, `<span class="tag">prod</span>`,
				`<option value="A01">A01</option>`, `<option value="prod">prod</option>`, `<option value="web" selected>web</option>`)
		})
	})
}

// Tags are edited on the device form: translated errors for a bad, a too
// long tag and too many, the input kept and nothing stored; good ones
// stored in lower case, audited as the device's update.
func TestDeviceTagsOnTheForm(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		d, err := e.store.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: e.fx.OrgA.ID, Name: "web-1", Address: "10.9.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		eng := e.as(t, e.fx.Engineer)
		edit := "/devices/" + ids(d.ID) + "/edit"
		form := func(tags string) url.Values {
			return url.Values{"name": {"web-1"}, "address": {"10.9.0.1"}, "tags": {tags}}
		}
		long := strings.Repeat("x", 33)
		for _, tc := range []struct{ name, tags, msg string }{
			{"a bad character", "web db/2", zh("error.tag_invalid", "db/2")},
			{"too long", "web " + long, zh("error.tag_invalid", long)},
			{"too many", "a b c d e f g h i j k", zh("error.tags_too_many", 10)},
			{"not Latin", "网站", zh("error.tag_invalid", "网站")},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := eng.submit(edit, edit, form(tc.tags))
				wantStatus(t, r, http.StatusUnprocessableEntity)
				wantBody(t, r, tc.msg, `value="`+tc.tags+`"`)
				if tags, err := e.store.DeviceTags(ctx, models.AllOrgs(), d.OrgID, d.ID); err != nil || len(tags) != 0 {
					t.Errorf("stored %v, %v", tags, err)
				}
			})
		}
		r := eng.submit(edit, edit, form("Web, DB rack-A web"))
		wantStatus(t, r, http.StatusSeeOther)
		tags, err := e.store.DeviceTags(ctx, models.AllOrgs(), d.OrgID, d.ID)
		if err != nil || !slices.Equal(tags, []string{"db", "rack-a", "web"}) {
			t.Errorf("stored %v, %v; want db rack-a web", tags, err)
		}
		wantBody(t, eng.get(edit), `value="db rack-a web"`)
		evs, err := e.store.ListAudit(ctx, models.AllOrgs(), models.AuditFilter{Action: models.AuditDeviceUpdated})
		if err != nil || len(evs) == 0 || !strings.Contains(evs[0].Detail, "db,rack-a,web") {
			t.Errorf("audit %+v, %v; want the tags in the device's update", evs, err)
		}
		// The uptime list shows them.
		wantBody(t, e.as(t, e.fx.CustA).get("/uptime"), `<span class="tag">rack-a</span>`)
		// Emptying the field removes them.
		wantStatus(t, eng.submit(edit, edit, form("")), http.StatusSeeOther)
		if tags, _ := e.store.DeviceTags(ctx, models.AllOrgs(), d.OrgID, d.ID); len(tags) != 0 {
			t.Errorf("after emptying: %v", tags)
		}
	})
}

// A hundred devices with an outage every day for 90 days: the uptime
// page does not grow with their history. With a bar of 90 days on each
// row it was 1.7 MB (a bar and a tooltip for each day with downtime).
func TestUptimePageOfDevicesWithAHistoryIsSmall(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		rows := make([]models.DeviceImportRow, 100)
		for i := range rows {
			rows[i] = models.DeviceImportRow{Line: i + 2, Org: e.fx.OrgA.Slug, Name: fmt.Sprintf("dev-%03d", i), Address: fmt.Sprintf("10.8.0.%d", i+1)}
		}
		if _, err := e.store.ImportDevices(ctx, models.SystemActor("test"), rows); err != nil {
			t.Fatal(err)
		}
		checks, err := e.store.ListOrgChecks(ctx, models.AllOrgs(), e.fx.OrgA.ID)
		if err != nil {
			t.Fatal(err)
		}
		t0 := e.clock.Now()
		for day := range 90 {
			var rs []models.ProbeResult
			for _, c := range checks {
				at := t0.Add(time.Duration(day)*24*time.Hour + time.Hour)
				rs = append(rs, models.ProbeResult{CheckID: c.ID, At: at, OK: false, Reason: models.ReasonTimeout},
					models.ProbeResult{CheckID: c.ID, At: at.Add(time.Minute), OK: false, Reason: models.ReasonTimeout},
					models.ProbeResult{CheckID: c.ID, At: at.Add(time.Duration(2+day%7) * time.Minute), OK: true, RTTus: 100})
			}
			e.clock.Advance(24 * time.Hour)
			if _, err := e.store.RecordResults(ctx, rs); err != nil {
				t.Fatal(err)
			}
		}
		r := e.as(t, e.fx.CustA).get("/uptime")
		wantStatus(t, r, http.StatusOK)
		t.Logf("/uptime, 100 devices with 90 days of outages: %d bytes", len(r.Body))
		if len(r.Body) > 150_000 {
			t.Errorf("/uptime is %d bytes, want well under 300 KB", len(r.Body))
		}
		if n := len(listRows(r.Body)); n != 100 {
			t.Errorf("%d rows, want 100", n)
		}
	})
}
