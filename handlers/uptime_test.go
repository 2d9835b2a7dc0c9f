package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
)

// probed is a small fleet with history: organization A's web-a is down (its
// TCP check has an ongoing outage, its ping had a closed one), organization
// B's game-b is up and game-c was never probed.
type probed struct {
	devA, devB, devC    *models.Device
	pingA, tcpA, pingB  models.Check
	closedID, ongoingID int64
	t0                  time.Time
}

func seedProbes(t *testing.T, e *env) *probed {
	t.Helper()
	ctx := context.Background()
	sys := models.SystemActor("test")
	fx := e.fx
	p := &probed{t0: e.clock.Now()}
	mk := func(org int64, name, addr string) *models.Device {
		d, err := e.store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: org, Name: name, Address: addr, Cabinet: "A03", Position: "U12"})
		if err != nil {
			t.Fatalf("create device %s: %v", name, err)
		}
		return d
	}
	p.devA = mk(fx.OrgA.ID, "web-a", "127.0.0.2")
	p.devB = mk(fx.OrgB.ID, "game-b", "127.0.0.3")
	p.devC = mk(fx.OrgB.ID, "game-c", "127.0.0.4")
	tcp, err := e.store.AddCheck(ctx, sys, fx.OrgA.ID, p.devA.ID, models.CheckInput{Kind: models.KindTCP, Target: "127.0.0.2:9", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	p.tcpA = *tcp
	checks := func(org, dev int64) []models.Check {
		cs, err := e.store.ListChecks(ctx, models.AllOrgs(), org, dev)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	p.pingA, p.pingB = checks(fx.OrgA.ID, p.devA.ID)[0], checks(fx.OrgB.ID, p.devB.ID)[0]

	at := func(i int) time.Time { return p.t0.Add(time.Duration(i) * 5 * time.Minute) }
	var rs []models.ProbeResult
	for i := 1; i <= 24; i++ {
		// A's ping fails at probes 5–7 (an outage that closes at 8).
		ok := i < 5 || i > 7
		r := models.ProbeResult{CheckID: p.pingA.ID, At: at(i), OK: ok, RTTus: 400 + 10*i}
		if !ok {
			r.RTTus, r.Reason = 0, models.ReasonTimeout
		}
		rs = append(rs, r)
		// A's TCP check fails from probe 20 on: an outage still open.
		tr := models.ProbeResult{CheckID: p.tcpA.ID, At: at(i).Add(time.Second), OK: i < 20, RTTus: 150}
		if !tr.OK {
			tr.RTTus, tr.Reason = 0, models.ReasonRefused
		}
		rs = append(rs, tr)
		rs = append(rs, models.ProbeResult{CheckID: p.pingB.ID, At: at(i), OK: true, RTTus: 900})
	}
	if _, err := e.store.RecordResults(ctx, rs); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2*time.Hour + 3*time.Minute)
	os, err := e.store.ListOutages(ctx, models.AllOrgs(), fx.OrgA.ID, p.devA.ID, 10)
	if err != nil || len(os) != 2 {
		t.Fatalf("outages of web-a = %+v, %v; want a closed and an ongoing one", os, err)
	}
	for _, o := range os {
		if o.EndedAt == nil {
			p.ongoingID = o.ID
		} else {
			p.closedID = o.ID
		}
	}
	return p
}

var percentRE = regexp.MustCompile(`class="pct a-[a-z]+">\d{2,3}\.\d{3}%<`)

func TestUptimeAndDevicePages(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		fx := e.fx
		p := seedProbes(t, e)
		a, b := ids(p.devA.ID), ids(p.devB.ID)
		runScenarios(t, e, []scenario{
			{name: "a customer's uptime page lists their own devices with state and figures; the bar of days is on the device page",
				who: "custA", path: "/uptime", status: http.StatusOK,
				contains: []string{"web-a", "127.0.0.2", zh("state.down"), zh("uptime.period.24h"), zh("uptime.period.90d"),
					`href="/devices/` + a + `"`, `href="/uptime" aria-current="page"`},
				lacks: []string{"game-b", "game-c", fx.OrgB.Name, `<svg viewBox="0 0 900 34"`}},
			{name: "another customer's uptime page shows only theirs",
				who: "custB", path: "/uptime", status: http.StatusOK,
				contains: []string{"game-b", "game-c", zh("state.up"), zh("state.unknown")}, lacks: []string{"web-a", "127.0.0.2"}},
			{name: "a customer opens their own device with checks, chart, outages and evidence",
				who: "custA", path: "/devices/" + a, status: http.StatusOK,
				contains: []string{"web-a", "127.0.0.2:9", zh("kind.icmp"), zh("kind.tcp"), zh("reason.refused"),
					`<svg viewBox="0 0 900 34"`, `class="day `, "<title>",
					`class="median"`, `class="band"`, zh("outages.ongoing"), zh("cause.unknown"), zh("reason.timeout"),
					zh("outages.probes", 3), `id="outage-` + ids(p.closedID) + `"`, `action="/devices/` + a + `/results.csv"`},
				lacks: []string{"/edit", `action="/outages/`}},
			{name: "a customer of B gets not found for A's device",
				who: "custB", path: "/devices/" + a, status: http.StatusNotFound, lacks: []string{"web-a", "127.0.0.2"}},
			{name: "a customer of B gets not found for A's results",
				who: "custB", path: "/devices/" + a + "/results.csv", status: http.StatusNotFound, lacks: []string{"127.0.0.2"}},
			{name: "a customer of B gets not found for A's chart of a year",
				who: "custB", path: "/devices/" + a + "?range=1y&check=" + ids(p.pingA.ID), status: http.StatusNotFound},
			{name: "a customer asking B's device for A's check sees no data of A",
				who: "custB", path: "/devices/" + b + "?check=" + ids(p.pingA.ID), status: http.StatusOK,
				contains: []string{"game-b"}, lacks: []string{"127.0.0.2"}},
			{name: "a customer gets not found for a device that does not exist",
				who: "custA", path: "/devices/999999", status: http.StatusNotFound},
			{name: "a customer cannot use the staff uptime page, even of their own organization",
				who: "custA", path: "/orgs/" + ids(fx.OrgA.ID) + "/uptime", status: http.StatusForbidden},
			{name: "a customer cannot open the fleet", who: "custA", path: "/fleet", status: http.StatusForbidden},
			{name: "a customer cannot edit their device", who: "custA", path: "/devices/" + a + "/edit", status: http.StatusForbidden},
			{name: "staff have no customer uptime page", who: "engineer", path: "/uptime", status: http.StatusForbidden},
			{name: "reception opens any organization's uptime page",
				who: "reception", path: "/orgs/" + ids(fx.OrgB.ID) + "/uptime", status: http.StatusOK,
				contains: []string{fx.OrgB.Name, "game-b", "game-c"}, lacks: []string{"web-a", `/devices/new`}},
			{name: "an engineer's uptime page of an organization offers to add a device",
				who: "engineer", path: "/orgs/" + ids(fx.OrgA.ID) + "/uptime", status: http.StatusOK,
				contains: []string{"web-a", `href="/orgs/` + ids(fx.OrgA.ID) + `/devices/new"`}},
			{name: "a service representative opens any device, read-only",
				who: "service", path: "/devices/" + b, status: http.StatusOK,
				contains: []string{"game-b", fx.OrgB.Name}, lacks: []string{`action="/outages/`, "/edit"}},
			{name: "an engineer opens any device with the cause forms and the edit link",
				who: "engineer", path: "/devices/" + a, status: http.StatusOK,
				contains: []string{"web-a", `action="/outages/` + ids(p.ongoingID) + `/cause"`, `href="/devices/` + a + `/edit"`}},
			{name: "staff get not found for a device that does not exist",
				who: "admin", path: "/devices/999999", status: http.StatusNotFound},
			{name: "a customer's navigation offers Uptime", who: "custA", path: "/", status: http.StatusOK,
				contains: []string{`href="/uptime"`}, lacks: []string{`href="/fleet"`}},
			{name: "staff navigation offers the fleet", who: "service", path: "/", status: http.StatusOK,
				contains: []string{`href="/fleet"`}},
		})

		t.Run("the uptime page shows percentages with three decimals and counted against raw minutes", func(t *testing.T) {
			r := e.as(t, fx.CustA).get("/uptime")
			if n := len(percentRE.FindAllString(r.Body, -1)); n != 4 {
				t.Errorf("found %d percentages like 99.999%%, want the 4 periods", n)
			}
			// The closed outage ran from probe 5 to probe 8 (15 min); the
			// ongoing one started at probe 20 (t0+100m+1s) and runs to now
			// (t0+123m): 38 minutes, all counted while unclassified.
			wantBody(t, r, `class="pct a-bad">69.119%<`)
			wantBody(t, e.as(t, fx.CustA).get("/devices/"+a), zh("uptime.minutes", "38.0", "38.0"), `class="pct a-bad">69.119%<`)
		})

		for _, rng := range []string{"24h", "30d", "1y"} {
			t.Run("the chart of "+rng+" is drawn from the stored probes", func(t *testing.T) {
				r := e.as(t, fx.CustA).get("/devices/" + a + "?range=" + rng + "&check=" + ids(p.pingA.ID))
				wantStatus(t, r, http.StatusOK)
				wantBody(t, r, `<figure class="chart"><svg viewBox="0 0 1000 282"`, `<polygon class="band" points="`,
					`<polyline class="median" points="`, `class="loss loss-`, zh("chart.range."+rng))
				wantNoBody(t, r, zh("chart.no_data"), ` style="`)
			})
		}

		t.Run("the CSV holds the device's raw results and nothing else", func(t *testing.T) {
			c := e.as(t, fx.CustA)
			r := c.get("/devices/" + a + "/results.csv")
			wantStatus(t, r, http.StatusOK)
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
				t.Errorf("Content-Type %q", ct)
			}
			if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="device-`+a+`-results-`) ||
				!strings.Contains(cd, `filename*=UTF-8''web-a-results-`) {
				t.Errorf("Content-Disposition %q", cd)
			}
			lines := strings.Split(strings.TrimSpace(r.Body), "\n")
			if lines[0] != "check_id,kind,target,time,ok,rtt_ms,reason" {
				t.Fatalf("header %q", lines[0])
			}
			if len(lines) != 1+48 {
				t.Errorf("%d result lines, want 48 (24 pings, 24 TCP probes)", len(lines)-1)
			}
			first := p.t0.Add(5 * time.Minute).UTC().Format(time.RFC3339)
			wantBody(t, r, ids(p.pingA.ID)+",icmp,127.0.0.2,"+first+",true,0.410,\n",
				",tcp,127.0.0.2:9,", ",false,,refused\n", ",false,,timeout\n")
			wantNoBody(t, r, "127.0.0.3", ",900")

			day := p.t0.Format("2006-01-02")
			r = c.get("/devices/" + a + "/results.csv?from=" + day + "&to=" + day)
			wantStatus(t, r, http.StatusOK)
			if n := strings.Count(r.Body, "\n"); n != 49 {
				t.Errorf("a day's download has %d lines, want 49", n)
			}
			r = c.get("/devices/" + a + "/results.csv?from=" + p.t0.AddDate(0, 0, -3).Format("2006-01-02") + "&to=" + p.t0.AddDate(0, 0, -1).Format("2006-01-02"))
			if n := strings.Count(r.Body, "\n"); n != 1 {
				t.Errorf("a download of days before the probes has %d lines, want only the header", n)
			}
		})

		t.Run("a bad download period is refused next to the field with the values kept", func(t *testing.T) {
			c := e.as(t, fx.CustA)
			r := c.get("/devices/" + a + "/results.csv?from=2026-13-01&to=2026-11-02")
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh("error.date_invalid"), `value="2026-13-01"`, `value="2026-11-02"`)
			r = c.get("/devices/" + a + "/results.csv?from=2026-01-01&to=2026-11-02")
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh("error.period_too_long", models.MaxResultsDays))
			r = c.get("/devices/" + a + "/results.csv?from=2026-11-02&to=2026-11-01")
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh("error.date_order"))
		})

		t.Run("staff download any device's results", func(t *testing.T) {
			r := e.as(t, fx.Reception).get("/devices/" + b + "/results.csv")
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, ",icmp,127.0.0.3,")
			wantNoBody(t, r, "127.0.0.2")
		})

		t.Run("the fleet lists every device, down first, then unknown, then up", func(t *testing.T) {
			r := e.as(t, fx.Service).get("/fleet")
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, fx.OrgA.Name, fx.OrgB.Name, zh("fleet.checks_down", 1, 2))
			iA, iC, iB := strings.Index(r.Body, ">web-a<"), strings.Index(r.Body, ">game-c<"), strings.Index(r.Body, ">game-b<")
			if iA < 0 || iB < 0 || iC < 0 || !(iA < iC && iC < iB) {
				t.Errorf("fleet order: web-a (down) at %d, game-c (unknown) at %d, game-b (up) at %d", iA, iC, iB)
			}
		})
	})
}

func TestDeviceManagement(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		fx := e.fx
		eng := e.as(t, fx.Engineer)
		admin := e.as(t, fx.Admin)
		orgA := ids(fx.OrgA.ID)
		newPage, create := "/orgs/"+orgA+"/devices/new", "/orgs/"+orgA+"/devices"

		devicePathRE := regexp.MustCompile(`^/devices/(\d+)$`)
		var id string
		t.Run("an engineer adds a device, which gets its ping", func(t *testing.T) {
			r := eng.submit(newPage, create, url.Values{"name": {"mail-1 邮件"}, "address": {"mail.alpha.example"},
				"cabinet": {"C01"}, "position": {"U3"}, "notes": {"Front rack"}})
			id = idFrom(t, r, devicePathRE)
			r = eng.get("/devices/" + id)
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, "mail-1 邮件", "mail.alpha.example", "C01 / U3", zh("kind.icmp"), zh("flash.device_created"))
			wantBody(t, e.as(t, fx.CustA).get("/uptime"), "mail-1 邮件")
			wantAudit(t, admin, models.AuditDeviceCreated, fx.Engineer.Email, id)
		})

		invalid := []struct {
			name   string
			form   url.Values
			errKey string
			keep   []string
		}{
			{"a device with a malformed address is refused with the values kept",
				url.Values{"name": {"bad-addr"}, "address": {"not an address!"}, "cabinet": {"Z9"}},
				"error.host_invalid", []string{`value="bad-addr"`, `value="not an address!"`, `value="Z9"`}},
			{"a device without a name is refused",
				url.Values{"name": {"  "}, "address": {"10.0.0.1"}}, "error.required", []string{`value="10.0.0.1"`}},
			{"a device with a mistyped IPv4 address is refused",
				url.Values{"name": {"typo"}, "address": {"10.0.0.256"}}, "error.host_invalid", []string{`value="typo"`}},
		}
		for _, tc := range invalid {
			t.Run(tc.name, func(t *testing.T) {
				r := eng.submit(newPage, create, tc.form)
				wantStatus(t, r, http.StatusUnprocessableEntity)
				wantBody(t, r, zh(tc.errKey), `aria-invalid="true"`)
				wantBody(t, r, tc.keep...)
			})
		}
		t.Run("no refused device was created", func(t *testing.T) {
			wantNoBody(t, eng.get("/fleet"), "bad-addr", ">typo<")
		})

		t.Run("who may add devices", func(t *testing.T) {
			wantStatus(t, e.as(t, fx.Reception).get(newPage), http.StatusForbidden)
			wantStatus(t, e.as(t, fx.Service).get(newPage), http.StatusForbidden)
			wantStatus(t, e.as(t, fx.CustA).get(newPage), http.StatusForbidden)
			wantStatus(t, admin.get(newPage), http.StatusOK)
			wantStatus(t, eng.get("/orgs/999999/devices/new"), http.StatusNotFound)
		})

		t.Run("a check with a bad URL is refused next to the field, values kept", func(t *testing.T) {
			if id == "" {
				t.Skip("no device")
			}
			edit := "/devices/" + id + "/edit"
			r := eng.submit(edit, "/devices/"+id+"/checks", url.Values{"kind": {"http"}, "target": {"ftp://wrong"},
				"keyword": {"Welcome"}, "interval": {"60"}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh("error.url_invalid", "http"), `value="ftp://wrong"`, `value="Welcome"`, `value="60"`)
			r = eng.submit(edit, "/devices/"+id+"/checks", url.Values{"kind": {"https"}, "target": {"https://alpha.example/health"},
				"interval": {"soon"}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh("error.number_invalid"), `value="soon"`)
			r = eng.submit(edit, "/devices/"+id+"/checks", url.Values{"kind": {"smtp"}, "target": {"mail.alpha.example"},
				"interval": {"5"}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh("error.interval_range", int(models.MinInterval/time.Second)))
		})

		var checkID string
		t.Run("an engineer adds checks and pauses and resumes one", func(t *testing.T) {
			if id == "" {
				t.Skip("no device")
			}
			edit := "/devices/" + id + "/edit"
			r := eng.submit(edit, "/devices/"+id+"/checks", url.Values{"kind": {"https"}, "target": {"https://alpha.example/health"},
				"expect_min": {"200"}, "expect_max": {"204"}, "keyword": {"ok"}, "interval": {"60"}, "timeout": {"3000"}, "fail_threshold": {"3"}})
			wantRedirect(t, r, edit)
			r = eng.submit(edit, "/devices/"+id+"/checks", url.Values{"kind": {"smtp"}, "target": {"mail.alpha.example"}, "starttls": {"1"}})
			wantRedirect(t, r, edit)
			r = eng.get(edit)
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, "https://alpha.example/health", "mail.alpha.example:25", "STARTTLS", zh("flash.check_added"))
			m := regexp.MustCompile(`action="/checks/(\d+)/disable"`).FindAllStringSubmatch(r.Body, -1)
			if len(m) != 3 {
				t.Fatalf("%d pause buttons, want one per check (3)", len(m))
			}
			checkID = m[1][1]
			wantRedirect(t, eng.submit(edit, "/checks/"+checkID+"/disable", nil), edit)
			r = eng.get(edit)
			wantBody(t, r, `action="/checks/`+checkID+`/enable"`, zh("state.paused"))
			wantRedirect(t, eng.submit(edit, "/checks/"+checkID+"/enable", nil), edit)
			wantBody(t, eng.get(edit), `action="/checks/`+checkID+`/disable"`)
			wantAudit(t, admin, models.AuditCheckCreated, fx.Engineer.Email, "")
			wantAudit(t, admin, models.AuditCheckUpdated, fx.Engineer.Email, checkID)
		})

		t.Run("a customer cannot change checks", func(t *testing.T) {
			if checkID == "" {
				t.Skip("no check")
			}
			c := e.as(t, fx.CustA)
			r := c.submit("/uptime", "/checks/"+checkID+"/disable", nil)
			wantStatus(t, r, http.StatusForbidden)
			r = c.submit("/uptime", "/devices/"+id+"/checks", url.Values{"kind": {"tcp"}, "target": {"1.2.3.4:80"}})
			wantStatus(t, r, http.StatusForbidden)
			wantStatus(t, eng.submit("/fleet", "/checks/999999/disable", nil), http.StatusNotFound)
		})

		t.Run("an engineer edits the device", func(t *testing.T) {
			if id == "" {
				t.Skip("no device")
			}
			edit := "/devices/" + id + "/edit"
			r := eng.submit(edit, edit, url.Values{"name": {""}, "address": {"::1"}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantNoBody(t, r, zh("error.host_invalid"))
			wantBody(t, r, zh("error.required"))
			r = eng.submit(edit, edit, url.Values{"name": {"mail-1 renamed"}, "address": {"::1"}, "cabinet": {"C02"}})
			wantRedirect(t, r, "/devices/"+id)
			wantBody(t, eng.get("/devices/"+id), "mail-1 renamed", "::1", "C02")
			wantAudit(t, admin, models.AuditDeviceUpdated, fx.Engineer.Email, id)
		})
	})
}

func TestOutageCause(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		fx := e.fx
		p := seedProbes(t, e)
		dev := "/devices/" + ids(p.devA.ID)
		eng := e.as(t, fx.Engineer)
		cause := "/outages/" + ids(p.ongoingID) + "/cause"

		t.Run("an unknown cause is refused next to the field with the note kept", func(t *testing.T) {
			r := eng.submit(dev, cause, url.Values{"cause": {"gremlins"}, "note": {"It was gremlins"}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh("error.cause_invalid"), "It was gremlins", `<details class="causeform" open`)
		})

		t.Run("an engineer sets the cause, which changes the counted minutes and is audited", func(t *testing.T) {
			// The minutes, counted and in all, are on the device page.
			before := e.as(t, fx.CustA).get(dev)
			wantBody(t, before, zh("uptime.minutes", "38.0", "38.0"))
			// The first post asks, saying what the cause changes, and
			// changes nothing; the step's form posts it again, confirmed.
			r := eng.submit(dev, cause, url.Values{"cause": {"customer_equipment"}, "note": {"Customer's switch rebooted <b>"}})
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, zh("confirm.cause.title", zh("cause.customer_equipment")), zh("confirm.cause.excluded"), "web-a",
				`name="note" value="Customer&#39;s switch rebooted &lt;b&gt;"`, `name="confirmed" value="1"`)
			wantBody(t, e.as(t, fx.CustA).get(dev), zh("uptime.minutes", "38.0", "38.0"))
			r = eng.submit(dev, cause, url.Values{"cause": {"customer_equipment"}, "note": {"Customer's switch rebooted <b>"}, "confirmed": {"1"}})
			wantRedirect(t, r, dev+"#outage-"+ids(p.ongoingID))
			r = e.as(t, fx.CustA).get(dev)
			wantBody(t, r, zh("cause.customer_equipment"), "Customer&#39;s switch rebooted &lt;b&gt;", zh("outages.excluded"))
			after := e.as(t, fx.CustA).get(dev)
			wantBody(t, after, zh("uptime.minutes", "15.0", "38.0"))
			admin := e.as(t, fx.Admin)
			wantAudit(t, admin, models.AuditOutageCause, fx.Engineer.Email, ids(p.ongoingID))
			// The log says it in a sentence, the cause translated.
			wantBody(t, admin.get("/admin/audit?action="+models.AuditOutageCause), strings.Replace(zh("audit.say.outage.cause_set"), "{cause}", zh("cause.customer_equipment"), 1))
		})

		t.Run("the customer's operation is not offered for a whole outage, and is refused when posted", func(t *testing.T) {
			wantNoBody(t, eng.get(dev), `value="customer_operation"`)
			r := eng.submit(dev, cause, url.Values{"cause": {string(models.CauseCustomerOperation)}, "note": {"the customer's work"}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh("outages.error.operation_cause_whole"))
			o, err := e.store.GetOutage(context.Background(), models.AllOrgs(), p.ongoingID)
			if err != nil || o.Cause == models.CauseCustomerOperation {
				t.Fatalf("outage cause = %q, %v", o.Cause, err)
			}
		})

		t.Run("only engineers and admins classify outages", func(t *testing.T) {
			for _, u := range []*models.User{fx.CustA, fx.Service, fx.Reception} {
				r := e.as(t, u).submit("/", cause, url.Values{"cause": {"provider_network"}})
				wantStatus(t, r, http.StatusForbidden)
			}
			wantRedirect(t, e.as(t, fx.Admin).submit(dev, cause, url.Values{"cause": {"provider_network"}, "confirmed": {"1"}}),
				dev+"#outage-"+ids(p.ongoingID))
			wantStatus(t, eng.submit(dev, "/outages/999999/cause", url.Values{"cause": {"unknown"}}), http.StatusNotFound)
		})
	})
}
