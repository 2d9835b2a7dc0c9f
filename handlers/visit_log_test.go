package handlers_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	ical "github.com/emersion/go-ical"
	"gorm.io/gorm"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
)

const (
	logResident = "110101199003071233"
	logPhone    = "13812345678"
	logPassport = "C01X00T47"
)

// visitLogSite is two organizations' approved visits tomorrow, one of
// OrgA still pending, and a visitor of OrgB's whose data are purged.
type visitLogSite struct {
	a, b, pending *models.Visit
	day           string // tomorrow in the portal's zone, YYYY-MM-DD
	raw           *gorm.DB
}

func seedVisitLog(t *testing.T, e *env, zone *time.Location) *visitLogSite {
	t.Helper()
	ctx := context.Background()
	sys := models.SystemActor("test")
	devA, err := e.store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: e.fx.OrgA.ID, Name: "web-a", Address: "127.0.0.2", Cabinet: "A03"})
	if err != nil {
		t.Fatal(err)
	}
	devB, err := e.store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: e.fx.OrgB.ID, Name: "db-b", Address: "127.0.0.3", Cabinet: "B07"})
	if err != nil {
		t.Fatal(err)
	}
	sites, err := e.store.ListSites(ctx)
	if err != nil || len(sites) == 0 {
		t.Fatalf("sites %v (%v)", sites, err)
	}
	day := e.clock.Now().Truncate(24*time.Hour).AddDate(0, 0, 1)
	in := func(dev *models.Device) models.VisitInput {
		return models.VisitInput{SiteID: sites[0].ID, Activity: "operation", Reason: "replace a disk",
			PlannedFrom: day.Add(10 * time.Hour), PlannedTo: day.Add(14 * time.Hour),
			Visitors: []models.VisitorInput{
				{Name: "张伟", Company: "阿尔法科技", IDType: models.IDResident, IDNumber: logResident, Phone: logPhone},
				{Name: "Anna Berg", Company: "Alpha GmbH", IDType: "passport", IDNumber: logPassport, Phone: "+49 30 1234567"},
			},
			DeviceIDs: []int64{dev.ID}, Locale: "en"}
	}
	s := &visitLogSite{day: day.Add(10 * time.Hour).In(zone).Format("2006-01-02")}
	if s.a, err = e.store.CreateVisit(ctx, models.UserActor(e.fx.CustA, ""), e.fx.OrgA.ID, in(devA)); err != nil {
		t.Fatal(err)
	}
	if s.b, err = e.store.CreateVisit(ctx, models.UserActor(e.fx.CustB, ""), e.fx.OrgB.ID, in(devB)); err != nil {
		t.Fatal(err)
	}
	if s.pending, err = e.store.CreateVisit(ctx, models.UserActor(e.fx.CustA, ""), e.fx.OrgA.ID, in(devA)); err != nil {
		t.Fatal(err)
	}
	gdb, _, err := models.Open(ctx, models.OpenOptions{URL: e.db.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if d, err := gdb.DB(); err == nil {
			d.Close()
		}
	})
	s.raw = gdb
	// Approval and check-in are other pages' work: set them directly.
	exec := func(q string, args ...any) {
		t.Helper()
		if err := gdb.Exec(q, args...).Error; err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []*models.Visit{s.a, s.b} {
		exec("UPDATE visits SET state = ?, escort_id = ?, decided_at = ? WHERE id = ?", models.VisitApproved, e.fx.Engineer.ID, e.clock.Now(), v.ID)
	}
	exec("UPDATE visit_visitors SET checked_in_at = ?, checked_out_at = ?, badge_number = ? WHERE visit_id = ? AND seq = 2",
		s.a.PlannedFrom, s.a.PlannedTo.Add(-time.Hour), "B-17", s.a.ID)
	exec("UPDATE visit_visitors SET id_sealed = '', id_masked = '', phone_sealed = '', phone_masked = '', purged_at = ? WHERE visit_id = ? AND seq = 1",
		e.clock.Now(), s.b.ID)
	return s
}

func TestVisitLogExport(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	eachDB(t, func(t *testing.T, e *env) {
		var logs bytes.Buffer
		e.app = newApp(e.store, func(d *handlers.Deps) {
			d.Location = shanghai
			d.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		})
		s := seedVisitLog(t, e, shanghai)
		period := "?from=" + s.day + "&to=" + s.day
		rec := e.as(t, e.fx.Reception)

		page := rec.get("/reception/log" + period)
		wantStatus(t, page, http.StatusOK)
		wantBody(t, page, s.a.Number(), "110***********1233", "*****0T47", e.fx.OrgB.Name, zh("visitlog.purged", 180),
			`href="/reception/visits.csv?from=`+s.day+`&amp;to=`+s.day+`"`, zh("visitlog.download", 4))
		wantNoBody(t, page, logResident, logPhone, logPassport)

		r := rec.get("/reception/visits.csv" + period)
		wantStatus(t, r, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Fatalf("content type %q", ct)
		}
		rows, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
		if err != nil || len(rows) != 5 {
			t.Fatalf("CSV (%v): %d rows, want a header and the 4 visitors of the approved visits (not the pending one):\n%s", err, len(rows), r.Body)
		}
		col := map[string]int{}
		for i, h := range rows[0] {
			col[h] = i
		}
		first, second := rows[1], rows[2]
		if first[col["visit"]] != s.a.Number() || first[col["organization"]] != e.fx.OrgA.Name || first[col["id_number"]] != logResident ||
			first[col["phone"]] != logPhone || first[col["escort"]] != e.fx.Engineer.Name || first[col["visitor"]] != "张伟" ||
			first[col["planned_entry"]] != s.a.PlannedFrom.In(shanghai).Format(time.RFC3339) || !strings.HasSuffix(first[col["planned_entry"]], "+08:00") {
			t.Fatalf("first row %q", first)
		}
		if second[col["id_number"]] != logPassport || second[col["badge"]] != "B-17" || second[col["checked_in"]] == "" || second[col["checked_out"]] == "" {
			t.Fatalf("second row %q", second)
		}
		purged := locales.For(locales.Default).T("visitlog.purged", 180)
		if b := rows[3]; b[col["organization"]] != e.fx.OrgB.Name || b[col["id_number"]] != purged || b[col["phone"]] != purged {
			t.Fatalf("purged row %q", b)
		}
		evs, err := e.store.ListAudit(context.Background(), models.AllOrgs(), models.AuditFilter{Action: models.AuditVisitsExported, Limit: 10})
		if err != nil || len(evs) != 1 || *evs[0].ActorID != e.fx.Reception.ID || !strings.Contains(evs[0].Detail, `"rows":4`) {
			t.Fatalf("export records %+v (%v)", evs, err)
		}

		// Periods: none is the last 30 days; a bad one is shown on the page.
		wantStatus(t, rec.get("/reception/visits.csv"), http.StatusOK)
		long := rec.get("/reception/visits.csv?from=2026-01-01&to=2027-06-01")
		wantStatus(t, long, http.StatusUnprocessableEntity)
		wantBody(t, long, zh("visitlog.error.period_long", "366"))
		wantStatus(t, rec.get("/reception/visits.csv?from="+s.day+"&to=2026-01-01"), http.StatusUnprocessableEntity)
		wantStatus(t, rec.get("/reception/log?from=tomorrow"), http.StatusUnprocessableEntity)

		// Only reception opens the log; a customer's history is its own, masked.
		for _, u := range []*models.User{e.fx.CustA, e.fx.Engineer, e.fx.Service, e.fx.Admin} {
			c := e.as(t, u)
			wantStatus(t, c.get("/reception/visits.csv"+period), http.StatusForbidden)
			wantStatus(t, c.get("/reception/log"), http.StatusForbidden)
		}
		wantStatus(t, rec.get("/visits.csv"+period), http.StatusForbidden)
		cust := e.as(t, e.fx.CustA)
		h := cust.get("/visits.csv" + period)
		wantStatus(t, h, http.StatusOK)
		if !strings.Contains(h.Body, "110***********1233") || strings.Contains(h.Body, e.fx.OrgB.Name) || strings.Count(h.Body, "\n") != 3 {
			t.Fatalf("customer's history:\n%s", h.Body)
		}
		wantStatus(t, cust.get("/visits.csv?from=2026-01-01&to=2027-06-01"), http.StatusBadRequest)

		for _, secret := range []string{logResident, logPhone, logPassport} {
			if strings.Contains(logs.String(), secret) {
				t.Fatalf("the log holds %s:\n%s", secret, logs.String())
			}
		}
	})
}

var feedURLRE = regexp.MustCompile(`value="(http://[^"]+/calendar/([A-Za-z0-9_-]+)\.ics)"`)

// makeFeed makes c's feed on its calendar page and returns its token.
func makeFeed(t *testing.T, c *client) string {
	t.Helper()
	r := c.submit("/account/calendar", "/account/calendar", nil)
	wantStatus(t, r, http.StatusOK)
	m := feedURLRE.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no feed address on the page:\n%s", clip(r.Body))
	}
	return m[2]
}

// feedUIDs fetches a feed without a session and returns its events' UIDs.
func feedUIDs(t *testing.T, e *env, token string) []string {
	t.Helper()
	r := newClient(t, e.app).get("/calendar/" + token + ".ics")
	wantStatus(t, r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/calendar") {
		t.Fatalf("content type %q", ct)
	}
	cal, err := ical.NewDecoder(strings.NewReader(r.Body)).Decode()
	if err != nil {
		t.Fatalf("parse the feed: %v\n%s", err, r.Body)
	}
	var uids []string
	for _, ev := range cal.Events() {
		uid, err := ev.Props.Text(ical.PropUID)
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, uid)
	}
	return uids
}

func TestCalendarFeedPages(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		var logs bytes.Buffer
		e.app = newApp(e.store, func(d *handlers.Deps) {
			d.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		})
		s := seedVisitLog(t, e, time.UTC)
		uid := func(v *models.Visit) string { return v.Ref + "@example.com" }

		cust := e.as(t, e.fx.CustA)
		wantBody(t, cust.get("/account"), `href="/account/calendar"`)
		first := cust.get("/account/calendar")
		wantStatus(t, first, http.StatusOK)
		wantBody(t, first, zh("calendar.page_none"), zh("calendar.page_create"))
		wantStatus(t, cust.post("/account/calendar", nil), http.StatusForbidden) // no CSRF token
		tok := makeFeed(t, cust)
		again := cust.get("/account/calendar")
		wantBody(t, again, zh("calendar.page_active"), zh("calendar.page_revoke"))
		wantNoBody(t, again, tok)

		if got := feedUIDs(t, e, tok); !slices.Equal(got, []string{uid(s.a)}) {
			t.Fatalf("customer A's feed %v, want only %s (not B's, not the pending one)", got, uid(s.a))
		}
		custB := e.as(t, e.fx.CustB)
		if got := feedUIDs(t, e, makeFeed(t, custB)); !slices.Equal(got, []string{uid(s.b)}) {
			t.Fatalf("customer B's feed %v", got)
		}
		rec := e.as(t, e.fx.Reception)
		if got := feedUIDs(t, e, makeFeed(t, rec)); !slices.Contains(got, uid(s.a)) || !slices.Contains(got, uid(s.b)) || len(got) != 2 {
			t.Fatalf("reception's feed %v, want both organizations'", got)
		}
		for _, u := range []*models.User{e.fx.Engineer, e.fx.Service, e.fx.Admin} {
			wantStatus(t, e.as(t, u).get("/account/calendar"), http.StatusForbidden)
		}

		// A new address revokes the old; revoking ends the feed.
		tok2 := makeFeed(t, cust)
		anon := newClient(t, e.app)
		wantStatus(t, anon.get("/calendar/"+tok+".ics"), http.StatusNotFound)
		wantStatus(t, anon.get("/calendar/"+tok2+".ics"), http.StatusOK)
		wantStatus(t, anon.get("/calendar/"+tok2), http.StatusNotFound)
		wantStatus(t, anon.get("/calendar/"+strings.Repeat("x", 43)+".ics"), http.StatusNotFound)
		wantRedirect(t, cust.submit("/account/calendar", "/account/calendar/revoke", nil), "/account/calendar")
		wantStatus(t, anon.get("/calendar/"+tok2+".ics"), http.StatusNotFound)

		if strings.Contains(logs.String(), tok) || strings.Contains(logs.String(), tok2) {
			t.Fatalf("the request log holds a feed token:\n%s", logs.String())
		}
		if !strings.Contains(logs.String(), "/calendar/…") {
			t.Fatalf("the feed requests were not logged:\n%s", logs.String())
		}
	})
}
