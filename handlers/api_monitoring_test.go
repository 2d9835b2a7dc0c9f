package handlers_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
)

// monitored is organization A's web-a (its outage ended, its emergency
// notice missed), db-a (an outage still open), and organization B's web-b
// with an outage of its own.
type monitored struct {
	*notices
	db          *models.Device
	dbOutage    models.Outage
	devB        *models.Device
	checkB      models.Check
	outageB     models.Outage
	noticeB     int64
	recoveredAt time.Time
}

func seedMonitored(t *testing.T, e *env) *monitored {
	t.Helper()
	ctx := context.Background()
	fx := e.fx
	m := &monitored{notices: seedNotices(t, e)}
	// Past the notice's deadline with no authorized delivery: missed.
	e.clock.Advance(15 * time.Minute)
	if _, err := e.store.SweepClocks(ctx); err != nil {
		t.Fatal(err)
	}
	m.recoveredAt = e.clock.Now()
	if _, err := e.store.RecordResults(ctx, []models.ProbeResult{{CheckID: m.check.ID, At: m.recoveredAt, OK: true, RTTus: 1500}}); err != nil {
		t.Fatal(err)
	}
	device := func(org int64, name, addr string) (*models.Device, models.Check) {
		d, err := e.store.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: org, Name: name, Address: addr})
		if err != nil {
			t.Fatal(err)
		}
		cs, err := e.store.ListChecks(ctx, models.AllOrgs(), org, d.ID)
		if err != nil || len(cs) != 1 {
			t.Fatalf("checks = %+v, %v", cs, err)
		}
		return d, cs[0]
	}
	var chk models.Check
	m.db, chk = device(fx.OrgA.ID, "db-a", "127.0.0.4")
	e.clock.Advance(time.Minute)
	m.dbOutage = failDevice(t, e, fx.OrgA.ID, chk, e.clock.Now())
	m.devB, m.checkB = device(fx.OrgB.ID, "web-b", "127.0.0.3")
	m.outageB = failDevice(t, e, fx.OrgB.ID, m.checkB, e.clock.Now())
	e.clock.Advance(6 * time.Minute)
	ns, _, err := e.store.NoticesPage(ctx, models.AllOrgs(), fx.OrgB.ID, 0, 10)
	if err != nil || len(ns) != 1 {
		t.Fatalf("B's notices = %+v, %v", ns, err)
	}
	m.noticeB = ns[0].ID
	return m
}

// Every monitoring read of the API, for a customer and for staff: their
// own records, paged with the cursor; another organization's are 404; a
// check's results also as the device page's CSV; bad queries are 400.
func TestAPIMonitoringReads(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		fx := e.fx
		m := seedMonitored(t, e)
		api := handlers.APIPrefix
		tokA, tokS := apiToken(t, e.store, fx.CustA, false), apiToken(t, e.store, fx.Engineer, false)
		// clients of a customer and of staff, failing the subtest t
		clients := func(t *testing.T) (a, s *apiClient) {
			return newAPIClient(t, e.app, tokA), newAPIClient(t, e.app, tokS)
		}

		t.Run("devices, a page at a time, and their checks", func(t *testing.T) {
			a, s := clients(t)
			var seen []handlers.APIDevice
			path := api + "/devices?limit=1"
			for range 3 {
				r := a.get(path)
				wantAPIStatus(t, r, http.StatusOK)
				var l handlers.List[handlers.APIDevice]
				r.JSON(t, &l)
				seen = append(seen, l.Data...)
				if l.NextCursor == nil {
					break
				}
				path = api + "/devices?limit=1&cursor=" + *l.NextCursor
			}
			if len(seen) != 2 || seen[0].ID != m.device.ID || seen[1].ID != m.db.ID || seen[0].OrgID != fx.OrgA.ID {
				t.Fatalf("A's devices: %+v", seen)
			}
			if seen[0].State != models.StatusUp || seen[1].State != models.StatusDown {
				t.Fatalf("states: %s, %s", seen[0].State, seen[1].State)
			}
			var l handlers.List[handlers.APIDevice]
			r := s.get(api + "/devices")
			wantAPIStatus(t, r, http.StatusOK)
			r.JSON(t, &l)
			if len(l.Data) != 3 {
				t.Fatalf("staff see %d devices, want 3", len(l.Data))
			}
			r = s.get(api + "/devices?org_id=" + ids(fx.OrgB.ID))
			wantAPIStatus(t, r, http.StatusOK)
			r.JSON(t, &l)
			if len(l.Data) != 1 || l.Data[0].ID != m.devB.ID {
				t.Fatalf("B's devices for staff: %+v", l.Data)
			}
			// A customer's filter on another organization finds nothing.
			r = a.get(api + "/devices?org_id=" + ids(fx.OrgB.ID))
			wantAPIStatus(t, r, http.StatusOK)
			r.JSON(t, &l)
			if len(l.Data) != 0 {
				t.Fatalf("A filtering on B: %+v", l.Data)
			}

			r = a.get(api + "/devices/" + ids(m.device.ID))
			wantAPIStatus(t, r, http.StatusOK)
			var d handlers.APIDevice
			r.JSON(t, &d)
			if d.Name != "web-a" || d.Address != "127.0.0.2" || d.State != models.StatusUp {
				t.Fatalf("device: %+v", d)
			}
			r = a.get(api + "/devices/" + ids(m.device.ID) + "/checks")
			wantAPIStatus(t, r, http.StatusOK)
			var cl handlers.List[handlers.APICheck]
			r.JSON(t, &cl)
			if len(cl.Data) != 1 || cl.Data[0].ID != m.check.ID || cl.Data[0].LastOK == nil || !*cl.Data[0].LastOK ||
				cl.Data[0].LastRTTMs == nil || *cl.Data[0].LastRTTMs != 1.5 {
				t.Fatalf("checks: %+v", cl.Data)
			}
			r = s.get(api + "/checks/" + ids(m.checkB.ID))
			wantAPIStatus(t, r, http.StatusOK)
			var ch handlers.APICheck
			r.JSON(t, &ch)
			if ch.DeviceID != m.devB.ID || ch.Status != models.StatusDown || ch.OpenOutageID == nil || *ch.OpenOutageID != m.outageB.ID {
				t.Fatalf("B's check for staff: %+v", ch)
			}
		})

		t.Run("another organization's objects are 404 like missing ones", func(t *testing.T) {
			a, s := clients(t)
			for _, p := range []string{
				"/devices/" + ids(m.devB.ID), "/devices/" + ids(m.devB.ID) + "/checks", "/devices/" + ids(m.devB.ID) + "/uptime",
				"/checks/" + ids(m.checkB.ID), "/checks/" + ids(m.checkB.ID) + "/results",
				"/checks/" + ids(m.checkB.ID) + "/results?format=csv",
				"/outages/" + ids(m.outageB.ID), "/notices/" + ids(m.noticeB),
				"/devices/999999", "/checks/999999", "/outages/999999", "/notices/999999",
			} {
				r := a.get(api + p)
				wantAPIStatus(t, r, http.StatusNotFound)
				r.Problem(t)
			}
			// Staff read them.
			for _, p := range []string{"/devices/" + ids(m.devB.ID), "/devices/" + ids(m.devB.ID) + "/uptime",
				"/checks/" + ids(m.checkB.ID) + "/results", "/outages/" + ids(m.outageB.ID), "/notices/" + ids(m.noticeB)} {
				wantAPIStatus(t, s.get(api+p), http.StatusOK)
			}
			// B's customer sees nothing of A's either.
			b := newAPIClient(t, e.app, apiToken(t, e.store, fx.CustB, false))
			wantAPIStatus(t, b.get(api+"/outages/"+ids(m.outage.ID)), http.StatusNotFound)
			r := b.get(api + "/outages")
			wantAPIStatus(t, r, http.StatusOK)
			var l handlers.List[handlers.APIOutage]
			r.JSON(t, &l)
			if len(l.Data) != 1 || l.Data[0].ID != m.outageB.ID {
				t.Fatalf("B's outages: %+v", l.Data)
			}
		})

		t.Run("uptime per month, the same figures as the Store's", func(t *testing.T) {
			a, s := clients(t)
			r := a.get(api + "/devices/" + ids(m.device.ID) + "/uptime")
			wantAPIStatus(t, r, http.StatusOK)
			var u handlers.APIUptime
			r.JSON(t, &u)
			if len(u.Months) != 12 || u.Months[11].Month != "2026-11" || u.Months[0].Month != "2025-12" || len(u.Periods) != 4 {
				t.Fatalf("uptime: %+v", u)
			}
			loc := time.UTC // the tests' app shows times in UTC
			from := time.Date(2026, 11, 1, 0, 0, 0, 0, loc)
			want, err := e.store.DeviceAvailability(ctx, models.AllOrgs(), fx.OrgA.ID, m.device.ID, from, from.AddDate(0, 1, 0))
			if err != nil {
				t.Fatal(err)
			}
			nov := u.Months[11]
			if want.Down == 0 || nov.DownSeconds != int64(want.Down.Seconds()) || nov.CountedSeconds != int64(want.Counted.Seconds()) ||
				nov.AvailabilityPercent == nil || *nov.AvailabilityPercent != want.Percent() {
				t.Fatalf("November %+v, want %+v (%.4f%%)", nov, want, want.Percent())
			}
			if u.Months[0].AvailabilityPercent != nil || u.Months[0].MeasuredSeconds != 0 {
				t.Fatalf("a month before the device was added: %+v", u.Months[0])
			}
			r = s.get(api + "/devices/" + ids(m.device.ID) + "/uptime?from=2026-10&to=2026-11")
			wantAPIStatus(t, r, http.StatusOK)
			u = handlers.APIUptime{}
			r.JSON(t, &u)
			if len(u.Months) != 2 || !reflect.DeepEqual(u.Months[1], nov) {
				t.Fatalf("staff's two months: %+v", u.Months)
			}
		})

		t.Run("results newest first, a page at a time", func(t *testing.T) {
			a, s := clients(t)
			base := api + "/checks/" + ids(m.check.ID) + "/results?from=2026-11-02&limit=2"
			r := a.get(base)
			wantAPIStatus(t, r, http.StatusOK)
			var l handlers.List[handlers.APIResult]
			r.JSON(t, &l)
			if len(l.Data) != 2 || l.NextCursor == nil || !l.Data[0].OK || l.Data[1].OK ||
				l.Data[1].Reason == nil || *l.Data[1].Reason != models.ReasonTimeout {
				t.Fatalf("first page: %+v", l)
			}
			if rs := s.get(base); rs.StatusCode != http.StatusOK || string(rs.Body) != string(r.Body) {
				t.Fatalf("staff's first page: %d %s", rs.StatusCode, rs.Body)
			}
			link := r.Header.Get("Link")
			if !strings.Contains(link, "from=2026-11-02") || !strings.Contains(link, "cursor=") {
				t.Fatalf("Link %q", link)
			}
			r = a.get(base + "&cursor=" + *l.NextCursor)
			wantAPIStatus(t, r, http.StatusOK)
			var l2 handlers.List[handlers.APIResult]
			r.JSON(t, &l2)
			if len(l2.Data) != 1 || l2.NextCursor != nil || l2.Data[0].At >= l.Data[1].At ||
				l2.Data[0].At != m.t0.UTC().Format("2006-01-02T15:04:05.000Z07:00") {
				t.Fatalf("second page: %+v after %+v", l2, l)
			}
		})

		t.Run("results as the device page's CSV", func(t *testing.T) {
			a, s := clients(t)
			page := e.as(t, fx.CustA).get("/devices/" + ids(m.device.ID) + "/results.csv?from=2026-11-02")
			wantStatus(t, page, http.StatusOK)
			r := a.get(api + "/checks/" + ids(m.check.ID) + "/results?format=csv&from=2026-11-02")
			wantAPIStatus(t, r, http.StatusOK)
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
				t.Fatalf("content type %q", ct)
			}
			if string(r.Body) != page.Body || strings.Count(string(r.Body), "\n") != 4 ||
				!strings.HasPrefix(string(r.Body), "check_id,kind,target,time,ok,rtt_ms,reason\n") {
				t.Fatalf("API CSV:\n%s\npage CSV:\n%s", r.Body, page.Body)
			}
			if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, "web-a-check-"+ids(m.check.ID)+"-results-") {
				t.Fatalf("Content-Disposition %q", cd)
			}
			if rs := s.get(api + "/checks/" + ids(m.check.ID) + "/results?format=csv&from=2026-11-02"); string(rs.Body) != page.Body {
				t.Fatalf("staff's CSV: %s", rs.Body)
			}
			a.header.Set("Accept", "text/csv")
			r = a.get(api + "/checks/" + ids(m.check.ID) + "/results?from=2026-11-02")
			a.header.Del("Accept")
			wantAPIStatus(t, r, http.StatusOK)
			if string(r.Body) != page.Body {
				t.Fatalf("Accept: text/csv gave %q", r.Body)
			}
		})

		t.Run("outages filtered and paged, one with its clock and spans", func(t *testing.T) {
			a, s := clients(t)
			var seen []handlers.APIOutage
			path := api + "/outages?limit=1"
			for range 3 {
				r := a.get(path)
				wantAPIStatus(t, r, http.StatusOK)
				var l handlers.List[handlers.APIOutage]
				r.JSON(t, &l)
				seen = append(seen, l.Data...)
				if l.NextCursor == nil {
					break
				}
				path = api + "/outages?limit=1&cursor=" + *l.NextCursor
			}
			if len(seen) != 2 || seen[0].ID != m.dbOutage.ID || seen[1].ID != m.outage.ID ||
				seen[0].State != "open" || seen[1].State != "closed" || seen[1].EndedAt == nil {
				t.Fatalf("A's outages newest first: %+v", seen)
			}
			for q, want := range map[string][]int64{
				"?state=open":   {m.dbOutage.ID},
				"?state=closed": {m.outage.ID},
				"?to=" + m.t0.Add(time.Minute).UTC().Format(time.RFC3339):            {m.outage.ID},
				"?from=" + m.recoveredAt.Add(time.Second).UTC().Format(time.RFC3339): {m.dbOutage.ID},
			} {
				r := a.get(api + "/outages" + strings.ReplaceAll(q, "+", "%2B"))
				wantAPIStatus(t, r, http.StatusOK)
				var l handlers.List[handlers.APIOutage]
				r.JSON(t, &l)
				if len(l.Data) != len(want) || l.Data[0].ID != want[0] {
					t.Fatalf("%s: %+v, want %v", q, l.Data, want)
				}
			}
			r := s.get(api + "/outages?state=open&org_id=" + ids(fx.OrgB.ID))
			wantAPIStatus(t, r, http.StatusOK)
			var l handlers.List[handlers.APIOutage]
			r.JSON(t, &l)
			if len(l.Data) != 1 || l.Data[0].ID != m.outageB.ID {
				t.Fatalf("B's open outages for staff: %+v", l.Data)
			}

			r = a.get(api + "/outages/" + ids(m.outage.ID))
			wantAPIStatus(t, r, http.StatusOK)
			var o handlers.APIOutageDetail
			r.JSON(t, &o)
			clock, err := e.store.OutageClock(ctx, models.AllOrgs(), fx.OrgA.ID, m.outage.ID)
			if err != nil || clock == nil || clock.Outcome != models.ClockMissed {
				t.Fatalf("the clock in the Store: %+v, %v", clock, err)
			}
			if o.Clock == nil || o.Clock.ID != clock.ID || o.Clock.Outcome != models.ClockMissed || o.Clock.Deduction == nil ||
				o.Clock.Deduction.Day != "2026-11-02" {
				t.Fatalf("clock: %+v", o.Clock)
			}
			if len(o.Segments) != 1 || o.Segments[0].Source != "outage" || !o.Segments[0].Counts || o.CountedSeconds != o.DurationSeconds ||
				o.DurationSeconds != int64(m.recoveredAt.Sub(m.t0).Seconds()) || len(o.CauseSpans) != 0 {
				t.Fatalf("segments: %+v", o)
			}
			if len(o.Notices) != 2 || o.Notices[0].Kind != models.NoticeOpened || o.Notices[1].Kind != models.NoticeClosed {
				t.Fatalf("notices: %+v", o.Notices)
			}
			// Staff read the same.
			wantAPIStatus(t, s.get(api+"/outages/"+ids(m.outage.ID)), http.StatusOK)
		})

		t.Run("notices newest first with their clocks", func(t *testing.T) {
			a, s := clients(t)
			var seen []handlers.APINotice
			path := api + "/notices?limit=2"
			for range 5 {
				r := a.get(path)
				wantAPIStatus(t, r, http.StatusOK)
				var l handlers.List[handlers.APINotice]
				r.JSON(t, &l)
				seen = append(seen, l.Data...)
				if l.NextCursor == nil {
					break
				}
				path = api + "/notices?limit=2&cursor=" + *l.NextCursor
			}
			// A: web-a's emergency notice and its recovery, db-a's notice.
			if len(seen) != 3 || seen[0].ID <= seen[1].ID || seen[1].ID <= seen[2].ID {
				t.Fatalf("A's notices: %+v", seen)
			}
			first := seen[2]
			if first.Kind != models.NoticeOpened || len(first.Outages) != 1 || first.Outages[0].OutageID != m.outage.ID ||
				first.Outages[0].Clock == nil || first.Outages[0].Clock.Outcome != models.ClockMissed || first.SealedAt == nil {
				t.Fatalf("web-a's emergency notice: %+v", first)
			}
			r := a.get(api + "/notices/" + ids(first.ID))
			wantAPIStatus(t, r, http.StatusOK)
			var n handlers.APINotice
			r.JSON(t, &n)
			if n.ID != first.ID || len(n.Outages) != 1 || !reflect.DeepEqual(n, first) {
				t.Fatalf("notice %+v, in the list %+v", n, first)
			}
			r = s.get(api + "/notices/" + ids(m.noticeB))
			wantAPIStatus(t, r, http.StatusOK)
			r.JSON(t, &n)
			if n.OrgID != fx.OrgB.ID || len(n.Outages) != 1 || n.Outages[0].OutageID != m.outageB.ID ||
				n.Outages[0].Clock == nil || n.Outages[0].Clock.Outcome != models.ClockRunning {
				t.Fatalf("B's notice for staff: %+v", n)
			}
			var l handlers.List[handlers.APINotice]
			r = s.get(api + "/notices")
			wantAPIStatus(t, r, http.StatusOK)
			r.JSON(t, &l)
			if len(l.Data) != 4 {
				t.Fatalf("staff see %d notices, want 4", len(l.Data))
			}
		})

		t.Run("bad queries are 400 problems", func(t *testing.T) {
			a, s := clients(t)
			dev, chk := api+"/devices/"+ids(m.device.ID), api+"/checks/"+ids(m.check.ID)
			for _, p := range []string{
				api + "/outages?state=bogus", api + "/outages?from=yesterday", api + "/outages?to=2026-13-01",
				api + "/outages?from=2026-11-02&to=2026-11-01", api + "/outages?org_id=x", api + "/devices?org_id=-1",
				api + "/notices?org_id=0", api + "/notices?cursor=xyz",
				chk + "/results?from=bad", chk + "/results?from=2026-11-02&to=2026-11-01", chk + "/results?from=2026-01-01&to=2026-11-02",
				chk + "/results?format=xml", chk + "/results?limit=500",
				dev + "/uptime?from=2026-13", dev + "/uptime?to=november", dev + "/uptime?from=2026-11&to=2026-10",
				dev + "/uptime?from=2020-01&to=2026-11",
			} {
				for _, c := range []*apiClient{a, s} {
					r := c.get(p)
					wantAPIStatus(t, r, http.StatusBadRequest)
					if pr := r.Problem(t); pr.Detail == "" {
						t.Fatalf("%s: problem without detail %+v", p, pr)
					}
				}
			}
		})
	})
}

// The document's lists of causes, check kinds, clock outcomes and waiver
// reasons are the models' own, so that an answer never holds a value the
// document refuses (or lists one that cannot come).
func TestAPIMonitoringEnumsFollowTheModels(t *testing.T) {
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
	enum := func(schema, prop string) []string {
		var out []string
		for _, v := range doc.Components.Schemas[schema].Properties[prop].Enum {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	var causes, kinds []string
	for _, c := range models.Causes {
		causes = append(causes, string(c))
	}
	for _, k := range append(models.CheckKinds, models.KindPort) {
		kinds = append(kinds, string(k))
	}
	for _, c := range []struct {
		schema, prop string
		want         []string
	}{
		{"APIOutage", "cause", causes}, {"APICauseSpan", "cause", causes}, {"APISegment", "cause", causes},
		{"APICheck", "kind", kinds},
		{"APIClock", "outcome", []string{models.ClockRunning, models.ClockMet, models.ClockMissed}},
		{"APIDeduction", "waiver_reason", []string{models.WaiverForceMajeure, models.WaiverWrongDetails,
			models.WaiverNotReconfirmed, models.WaiverNoContacts}},
		{"APINotice", "kind", []string{models.NoticeOpened, models.NoticeClosed}},
		{"APIOutage", "state", []string{models.OutageOpen, models.OutageClosed}},
		{"APIPeriodAvailability", "period", []string{models.Period24h, models.Period30d, models.PeriodMonth, models.Period90d}},
	} {
		if got := enum(c.schema, c.prop); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s.%s: the document lists %q, the models %q", c.schema, c.prop, got, c.want)
		}
	}
}
