package handlers_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// trafficSecret stands for a switch's sealed SNMP community: no page and
// no export may show it.
const trafficSecret = "c0mmunity-s3cret"

// trafficDB opens a plain connection to db, to store switches and ports
// directly (their Store methods belong to the network pages).
func trafficDB(t *testing.T, db dbtest.DB) *gorm.DB {
	t.Helper()
	g, _, err := models.Open(context.Background(), models.OpenOptions{URL: db.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s, err := g.DB(); err == nil {
			s.Close()
		}
	})
	return g
}

// seedTrafficSwitch stores a switch named name.
func seedTrafficSwitch(t *testing.T, g *gorm.DB, name string) *models.Switch {
	t.Helper()
	sw := &models.Switch{Name: name, Address: "127.0.0.9", Version: models.SNMPv2c, Community: trafficSecret,
		IntervalSec: 300, TimeoutMs: 3000, MaxOIDs: 30, Enabled: true, LeaseUntil: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := g.Create(sw).Error; err != nil {
		t.Fatal(err)
	}
	return sw
}

// seedTrafficPort stores port ifIndex of sw with alias, mapped to org
// when not nil, and 5-minute samples for the two hours before now at
// inMbps in and a tenth of it out.
func seedTrafficPort(t *testing.T, s *models.Store, g *gorm.DB, sw *models.Switch, ifIndex int, alias string, org *int64, inMbps int64) *models.SwitchPort {
	t.Helper()
	p := &models.SwitchPort{SwitchID: sw.ID, IfIndex: ifIndex, Ref: fmt.Sprintf("port%02d%010d", sw.ID, ifIndex),
		Name: fmt.Sprintf("Gi0/%d", ifIndex), Alias: alias, SpeedBps: 1e9, HC: true, OrgID: org}
	if err := g.Create(p).Error; err != nil {
		t.Fatal(err)
	}
	start := s.Now().Add(-2 * time.Hour)
	samples := make([]models.TrafficSample, 24)
	for i := range samples {
		at := start.Add(time.Duration(i) * 5 * time.Minute)
		samples[i] = models.TrafficSample{PortID: p.ID, At: at, OperUp: true, Valid: true, Ms: 300_000,
			InOctets: inMbps * 37_500_000, OutOctets: inMbps * 3_750_000, InErrors: 1, OutDiscards: 2}
		if i == 0 {
			samples[i] = models.TrafficSample{PortID: p.ID, At: at, OperUp: true, Note: models.SampleFirst}
		}
	}
	if _, err := s.RecordTraffic(context.Background(), samples); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTrafficPagesKeepOrganizationsApart: a customer lists and opens its
// own ports only (another organization's port, or an unmapped one, is 404
// on the page and the download), staff see every port, the busiest first,
// and admins and engineers a link to the network devices. No page shows a
// switch's secret.
func TestTrafficPagesKeepOrganizationsApart(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		g := trafficDB(t, e.db)
		sw := seedTrafficSwitch(t, g, "core-sw-01")
		a := seedTrafficPort(t, e.store, g, sw, 1, "alpha uplink", &e.fx.OrgA.ID, 80)
		b := seedTrafficPort(t, e.store, g, sw, 2, "bravo uplink", &e.fx.OrgB.ID, 800)
		free := seedTrafficPort(t, e.store, g, sw, 3, "spare port", nil, 10)
		custA, custB := e.as(t, e.fx.CustA), e.as(t, e.fx.CustB)

		r := custA.get("/traffic")
		wantStatus(t, r, http.StatusOK)
		// The 95th of a month of equal samples is their rate.
		wantBody(t, r, "/traffic/"+a.Ref, "alpha uplink", "core-sw-01", "80 Mb/s", "8 Mb/s", zh("traffic.p95_billed"), `href="/traffic"`)
		wantNoBody(t, r, b.Ref, free.Ref, "bravo uplink", "spare port", `href="/network"`, trafficSecret)

		r = custA.get("/traffic/" + a.Ref)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "alpha uplink", "80 Mb/s", zh("traffic.range.day"), zh("traffic.range.year"), zh("traffic.p95_title"),
			zh("traffic.this_month", "2026-11"), zh("traffic.last_month", "2026-10"), zh("state.up"), zh("traffic.in_out", 23, 0))
		if n := strings.Count(r.Body, "<svg viewBox=\"0 0 1000 268\""); n != 4 {
			t.Errorf("%d traffic charts on the port page, want 4", n)
		}
		wantNoBody(t, r, trafficSecret, "/network/")

		for _, c := range []struct {
			who  *client
			port *models.SwitchPort
		}{{custA, b}, {custA, free}, {custB, a}, {custB, free}} {
			for _, path := range []string{"/traffic/" + c.port.Ref, "/traffic/" + c.port.Ref + "/samples.csv",
				"/traffic/" + c.port.Ref + "/samples.csv?from=2026-11-01&to=2026-11-02"} {
				r := c.who.get(path)
				wantStatus(t, r, http.StatusNotFound)
				wantNoBody(t, r, c.port.Alias)
			}
		}
		wantStatus(t, custA.get("/traffic/no-such-port"), http.StatusNotFound)

		eng := e.as(t, e.fx.Engineer)
		r = eng.get("/traffic")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "/traffic/"+a.Ref, "/traffic/"+b.Ref, "/traffic/"+free.Ref, `href="/network"`, zh("traffic.unmapped"),
			zh("traffic.busiest"), e.fx.OrgB.Name)
		wantNoBody(t, r, trafficSecret)
		// Busiest first: bravo's 800 Mb/s before alpha's 80 and the spare's 10.
		if ib, ia, ifree := strings.Index(r.Body, "bravo uplink"), strings.Index(r.Body, "alpha uplink"), strings.Index(r.Body, "spare port"); !(ib < ia && ia < ifree) {
			t.Errorf("staff list not busiest first: bravo at %d, alpha at %d, spare at %d", ib, ia, ifree)
		}
		r = eng.get(fmt.Sprintf("/traffic?org=%d", e.fx.OrgA.ID))
		wantStatus(t, r, http.StatusOK)
		if strings.Count(r.Body, "/traffic/"+a.Ref) == 0 || strings.Count(r.Body, "/traffic/"+b.Ref) != 1 {
			// b stays in the busiest ports above, but not in the filtered list.
			t.Errorf("filtered by organization A: a %d times, b %d times", strings.Count(r.Body, "/traffic/"+a.Ref), strings.Count(r.Body, "/traffic/"+b.Ref))
		}
		r = eng.get("/traffic?org=none&busy=peak")
		wantStatus(t, r, http.StatusOK)
		if strings.Count(r.Body, "/traffic/"+free.Ref) != 2 || strings.Count(r.Body, "/traffic/"+a.Ref) != 1 {
			t.Errorf("unmapped ports: free %d times, a %d times", strings.Count(r.Body, "/traffic/"+free.Ref), strings.Count(r.Body, "/traffic/"+a.Ref))
		}
		r = eng.get("/traffic/" + b.Ref)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "bravo uplink", "800 Mb/s", fmt.Sprintf(`href="/network/%d"`, sw.ID))
		wantNoBody(t, r, trafficSecret)

		rec := e.as(t, e.fx.Reception)
		r = rec.get("/traffic")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, "/traffic/"+free.Ref)
		wantNoBody(t, r, `href="/network"`)
		wantStatus(t, rec.get("/traffic/"+free.Ref), http.StatusOK)
	})
}

// TestTrafficSamplesCSV downloads a port's samples: a header row, one row
// per sample, the rates of valid ones, the period's dates in the
// provider's zone both included; bad dates show the page again with the
// errors translated and the input kept.
func TestTrafficSamplesCSV(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		g := trafficDB(t, e.db)
		sw := seedTrafficSwitch(t, g, "core-sw-01")
		a := seedTrafficPort(t, e.store, g, sw, 1, "alpha uplink", &e.fx.OrgA.ID, 80)
		cust := e.as(t, e.fx.CustA)

		for _, path := range []string{"/traffic/" + a.Ref + "/samples.csv", "/traffic/" + a.Ref + "/samples.csv?from=2026-11-02",
			"/traffic/" + a.Ref + "/samples.csv?from=2026-10-20&to=2026-11-02"} {
			r := cust.get(path)
			wantStatus(t, r, http.StatusOK)
			if ct := r.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
				t.Errorf("%s: content type %q", path, ct)
			}
			if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, `filename="port-`+a.Ref+`-traffic-`) {
				t.Errorf("%s: content disposition %q", path, cd)
			}
			rows, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if got := strings.Join(rows[0], ","); got != "at,in_bps,out_bps,in_octets,out_octets,errors,discards,oper_status,note" {
				t.Errorf("header %q", got)
			}
			if len(rows) != 25 {
				t.Fatalf("%s: %d rows, want the header and 24 samples", path, len(rows))
			}
			if got := strings.Join(rows[1], ","); got != "2026-11-02T07:00:00Z,,,,,,,up,first" {
				t.Errorf("first sample %q", got)
			}
			if got := strings.Join(rows[24], ","); got != "2026-11-02T08:55:00Z,80000000,8000000,3000000000,300000000,1,2,up," {
				t.Errorf("last sample %q", got)
			}
			wantNoBody(t, r, trafficSecret)
		}
		// A period before the samples: the header alone.
		r := cust.get("/traffic/" + a.Ref + "/samples.csv?from=2026-11-01&to=2026-11-01")
		wantStatus(t, r, http.StatusOK)
		if n := strings.Count(r.Body, "\n"); n != 1 {
			t.Errorf("%d lines for a day without samples, want the header alone", n)
		}
		if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, "-traffic-20261101-20261101.csv") {
			t.Errorf("content disposition %q", cd)
		}

		for _, c := range []struct {
			query, field, key string
			args              []any
		}{
			{"from=2026-13-01&to=2026-11-02", "from", "error.date_invalid", nil},
			{"from=2026-11-02&to=yesterday", "to", "error.date_invalid", nil},
			{"from=2026-11-02&to=2026-11-01", "to", "error.date_order", nil},
			{"from=2026-01-01&to=2026-11-01", "to", "error.period_too_long", []any{models.TrafficCSVDays}},
		} {
			r := cust.get("/traffic/" + a.Ref + "/samples.csv?" + c.query)
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh(c.key, c.args...), `id="e-`+c.field+`"`, zh("traffic.download"))
			for _, kv := range strings.Split(c.query, "&") {
				wantBody(t, r, `value="`+strings.SplitN(kv, "=", 2)[1]+`"`)
			}
		}
		// Both dates wrong: both errors shown at once, in English for an
		// English reader.
		cust.header.Set("Accept-Language", "en")
		r = cust.get("/traffic/" + a.Ref + "/samples.csv?from=x&to=y")
		wantStatus(t, r, http.StatusUnprocessableEntity)
		if n := strings.Count(r.Body, html.EscapeString(tr("en", "error.date_invalid"))); n != 2 {
			t.Errorf("%d errors %q, want one under each date; body:\n%s", n, tr("en", "error.date_invalid"), clip(r.Body))
		}
	})
}

// TestRemappedPortDownloadHidesThePreviousTenant: a port that served
// Alpha goes to Bravo; Bravo's download of its samples holds none of
// Alpha's, nor does its page show Alpha's rate; staff still download
// them all.
func TestRemappedPortDownloadHidesThePreviousTenant(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		g := trafficDB(t, e.db)
		sw := seedTrafficSwitch(t, g, "core-sw-01")
		a := seedTrafficPort(t, e.store, g, sw, 1, "alpha uplink", &e.fx.OrgA.ID, 80)
		if _, err := e.store.MapSwitchPort(context.Background(), models.UserActor(e.fx.Engineer, "10.0.0.1"), a.ID,
			models.PortMapping{OrgID: &e.fx.OrgB.ID}); err != nil {
			t.Fatal(err)
		}
		custB := e.as(t, e.fx.CustB)
		r := custB.get("/traffic/" + a.Ref + "/samples.csv")
		wantStatus(t, r, http.StatusOK)
		if n := strings.Count(r.Body, "\n"); n != 1 {
			t.Errorf("Bravo downloads %d lines of the port, want the header alone:\n%s", n, r.Body)
		}
		r = custB.get("/traffic/" + a.Ref)
		wantStatus(t, r, http.StatusOK)
		wantNoBody(t, r, "80 Mb/s")
		r = e.as(t, e.fx.Engineer).get("/traffic/" + a.Ref + "/samples.csv")
		wantStatus(t, r, http.StatusOK)
		if n := strings.Count(r.Body, "\n"); n != 25 {
			t.Errorf("staff download %d lines, want the header and 24 samples", n)
		}
	})
}

// TestTrafficPagesMakeFewStatements: the traffic list and a port's page
// make as many statements with twenty ports as with two.
func TestTrafficPagesMakeFewStatements(t *testing.T) {
	db := dbtest.Databases(t)[0]
	store, st := statementStore(t, db)
	fx := dbtest.Seed(t, store)
	g := trafficDB(t, db)
	sw := seedTrafficSwitch(t, g, "core-sw-01")
	app := newApp(store)
	cust := signIn(t, app, fx.CustA.Email, dbtest.Password)
	eng := signIn(t, app, fx.Engineer.Email, dbtest.Password)
	count := func(c *client, path string) int {
		t.Helper()
		c.get(path) // a first request may refresh the session
		st.take()
		if r := c.get(path); r.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", path, r.StatusCode)
		}
		got := st.take()
		t.Logf("%s: %v", path, got)
		return len(got)
	}
	var port *models.SwitchPort
	add := func(n int) {
		for range n {
			var ports int64
			if err := g.Model(&models.SwitchPort{}).Count(&ports).Error; err != nil {
				t.Fatal(err)
			}
			port = seedTrafficPort(t, store, g, sw, int(ports)+1, "uplink", &fx.OrgA.ID, ports+1)
		}
	}
	add(2)
	before := map[int]int{}
	paths := []struct {
		c    *client
		path string
	}{{cust, "/traffic"}, {eng, "/traffic"}, {eng, "/traffic?busy=day"}, {cust, "/traffic/" + port.Ref}}
	for i, p := range paths {
		before[i] = count(p.c, p.path)
	}
	add(18)
	for i, p := range paths {
		if n := count(p.c, p.path); n != before[i] {
			t.Errorf("%s: %d statements with 20 ports, %d with 2", p.path, n, before[i])
		}
	}
}

// walkedTrafficPort is the page walk's port: organization A's, connecting
// its device deviceID, with two hours of samples.
func walkedTrafficPort(t *testing.T, s *models.Store, db dbtest.DB, fx *dbtest.Fixture, deviceID int64) string {
	t.Helper()
	g := trafficDB(t, db)
	p := seedTrafficPort(t, s, g, seedTrafficSwitch(t, g, "核心交换机 core-sw-01"), 49, "阿尔法 上联 alpha uplink 10G", &fx.OrgA.ID, 420)
	if err := g.Model(p).Update("device_id", deviceID).Error; err != nil {
		t.Fatal(err)
	}
	return p.Ref
}

// TestDevicePageLeavesPortChecksOutOfTheLatencyChart: a device's port
// check (the state of the switch port it hangs on) is listed with its
// checks, but the latency chart neither offers it nor draws it when asked
// for: it has no round trip; the ping is drawn instead.
func TestDevicePageLeavesPortChecksOutOfTheLatencyChart(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		eng := models.UserActor(e.fx.Engineer, "10.0.0.1")
		dev, err := e.store.CreateDevice(ctx, eng, models.DeviceInput{OrgID: e.fx.OrgA.ID, Name: "web-01", Address: "127.0.0.31"})
		if err != nil {
			t.Fatal(err)
		}
		sw, err := e.store.CreateSwitch(ctx, eng, models.SwitchInput{Name: "edge-9", Address: "127.0.0.1:1161",
			Version: models.SNMPv2c, Community: trafficSecret, Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.AddSwitchPorts(ctx, eng, sw.ID, []models.Interface{{IfIndex: 7, Name: "Gi0/7", SpeedBps: 1e9, HC: true}}); err != nil {
			t.Fatal(err)
		}
		ports, err := e.store.ListSwitchPorts(ctx, models.AllOrgs(), sw.ID)
		if err != nil || len(ports) != 1 {
			t.Fatalf("ports %+v, %v", ports, err)
		}
		p, err := e.store.MapSwitchPort(ctx, eng, ports[0].ID, models.PortMapping{OrgID: &e.fx.OrgA.ID, DeviceID: &dev.ID})
		if err != nil || p.CheckID == nil {
			t.Fatalf("mapped %+v, %v", p, err)
		}
		cust := e.as(t, e.fx.CustA)
		for _, path := range []string{"/devices/" + ids(dev.ID), "/devices/" + ids(dev.ID) + "?check=" + ids(*p.CheckID)} {
			r := cust.get(path)
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, zh("kind.port"), "edge-9 Gi0/7", `<title id="chart-svg-t">`+html.EscapeString(zh("chart.svg_title", zh("kind.icmp"), "127.0.0.31", zh("chart.range.24h"))))
			wantNoBody(t, r, `class="tabs checktabs"`, "check="+ids(*p.CheckID)+"&amp;", trafficSecret)
		}
	})
}
