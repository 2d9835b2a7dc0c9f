package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
)

// The incident dossier of an outage, read back with pdftotext, tells the
// same figures and events in Chinese and in English: the probes (a
// timeline long enough to run over pages, its header repeated), the
// cause set with the engineer's name, the notice's deliveries and the
// call, the operation and the complaint; the engineer a complaint names
// never sees that complaint in it; the outage page links it; another
// organization gets 404; every download is audited.
func TestIncidentDossierTellsTheWholeOutage(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		o := newOpEnv(t, e)
		org := e.fx.OrgA.ID
		sys := models.SystemActor("test")
		if _, err := e.store.CreateContact(ctx, sys, org, models.ContactInput{Name: "赵敏 Zhao Min", Mobile: "138 0013 8000",
			Channels: []models.Channel{models.ChannelMobile}, MayAuthorize: true, Passphrase: passphrase}); err != nil {
			t.Fatal(err)
		}
		checks, err := e.store.ListChecks(ctx, models.AllOrgs(), org, o.dev.ID)
		if err != nil || len(checks) == 0 {
			t.Fatalf("checks = %v, %v", checks, err)
		}
		chk := checks[0]
		cust, eng := e.as(t, e.fx.CustA), e.as(t, e.fx.Engineer)
		req := o.raise(t, cust)
		t0 := e.clock.Now()
		// 120 failed probes, 30 seconds apart: an hour of evidence.
		var rs []models.ProbeResult
		for i := 0; i < 120; i++ {
			rs = append(rs, models.ProbeResult{CheckID: chk.ID, At: t0.Add(time.Duration(i) * 30 * time.Second), Reason: models.ReasonTimeout})
		}
		if _, err := e.store.RecordResults(ctx, rs[:2]); err != nil {
			t.Fatal(err)
		}
		expandAll(t, e)
		e.clock.Advance(8 * time.Minute) // staff call Zhao Min
		outs, err := e.store.ListOutages(ctx, models.AllOrgs(), org, o.dev.ID, 1)
		if err != nil || len(outs) != 1 {
			t.Fatalf("outages = %+v, %v", outs, err)
		}
		out := outs[0]
		ds, _, err := e.store.OutageDeliveries(ctx, models.AllOrgs(), org, out.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.Transport == models.TransportCall {
				wantStatus(t, eng.submit("/oncall", "/deliveries/"+ids(d.ID)+"/call", url.Values{"answered": {"yes"}, "note": {"ZZCALLNOTE 已告知"}}),
					http.StatusSeeOther)
			}
		}
		e.clock.Advance(14 * time.Minute) // t0+22m: authorized by phone
		wantRedirect(t, eng.submit(req, req+"/phone", url.Values{"contact": {ids(o.signer.ID)}, "passphrase": {passphrase}}), req+"#auth-h")
		e.clock.Advance(3 * time.Minute) // t0+25m: work starts
		wantRedirect(t, eng.submit(req, req+"/state", url.Values{"state": {models.OpInProgress}}), req)
		e.clock.Advance(10 * time.Minute) // t0+35m: and ends
		wantRedirect(t, eng.submit(req, req+"/state", url.Values{"state": {models.OpCompleted}, "confirmed": {"1"},
			"work_done": {"Disk replaced 已更换"}, "result": {"success"}}), req)
		classify := req + "/outages/" + ids(out.ID) + "/classify"
		wantStatus(t, eng.submit(classify, classify, url.Values{"note": {"ZZSPANNOTE 换盘需断电"}}), http.StatusSeeOther)
		page := "/outages/" + ids(out.ID)
		wantStatus(t, eng.submit(page, page+"/cause", url.Values{"cause": {string(models.CauseProviderNetwork)}, "note": {"ZZCAUSENOTE 光缆中断"}, "confirmed": {"1"}}),
			http.StatusSeeOther)
		if _, err := e.store.RecordResults(ctx, rs[2:]); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(25 * time.Minute) // t0+60m: back up
		if _, err := e.store.RecordResults(ctx, []models.ProbeResult{{CheckID: chk.ID, At: e.clock.Now(), OK: true, RTTus: 1500}}); err != nil {
			t.Fatal(err)
		}
		custActor := models.UserActor(e.fx.CustA, "192.0.2.1")
		network, err := e.store.CreateComplaint(ctx, custActor, org, models.ComplaintInput{Category: models.ComplaintNetwork,
			Subject: "断网一小时 ZZNETWORK", Description: "An hour down.", OutageID: out.ID})
		if err != nil {
			t.Fatal(err)
		}
		aboutEng, err := e.store.CreateComplaint(ctx, custActor, org, models.ComplaintInput{Category: models.ComplaintEmployee,
			NamedUserID: e.fx.Engineer.ID, Subject: "工程师未及时回复 ZZABOUTENG", Description: "Slow.", OutageID: out.ID})
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)

		path := page + "/dossier.pdf"
		// The outage page offers it, in either language.
		for _, lang := range []string{"zh-CN", "en"} {
			c := e.as(t, e.fx.CustA)
			c.header.Set("Accept-Language", lang)
			wantBody(t, c.get(page), `href="`+path+`"`, tr(lang, "dossier.download"))
		}
		// The same figures and events in both languages: 60 minutes down,
		// 10 of them the operation's, 50 counted.
		read := func(c *client, query, lang string) string {
			t.Helper()
			r := c.get(path + query)
			wantStatus(t, r, http.StatusOK)
			if r.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") ||
				!strings.Contains(r.Header.Get("Content-Disposition"), "outage-"+ids(out.ID)+"-dossier-"+lang+".pdf") {
				t.Fatalf("%s dossier headers %v", lang, r.Header)
			}
			if !strings.HasPrefix(r.Body, "%PDF-") {
				t.Fatalf("%s dossier is not a PDF: %.20q", lang, r.Body)
			}
			return pdfText(t, []byte(r.Body))
		}
		for _, tc := range []struct{ lang, query string }{{"zh-CN", ""}, {"en", "?lang=en"}} {
			text := read(cust, tc.query, tc.lang)
			if text == "" {
				continue // pdftotext is missing, which pdfText allows outside CI
			}
			flat := squashSpace(text)
			l := locales.For(tc.lang)
			want := []string{e.fx.OrgA.Name, "web-01", "127.0.0.20", e.fx.Engineer.Name, "赵敏 Zhao Min", "ZZCALLNOTE 已告知",
				"ZZCAUSENOTE 光缆中断", "ZZSPANNOTE 换盘需断电", "OP-2026-0001", network.Number(), "断网一小时 ZZNETWORK",
				aboutEng.Number(), e.fx.CustA.Name,
				l.T("dossier.title"), l.T("dossier.minutes", "60"), l.T("dossier.minutes", "50"), l.T("dossier.minutes", "10"),
				l.T("dossier.figure.excluded_as", l.T("cause.customer_operation")), l.T("cause.provider_network"),
				l.T("dossier.text.probe", l.T("reason.timeout")), l.T("dossier.kind.call_logged"), l.T("delivery.status.answered"),
				l.T("clock.met"), l.T("dossier.text.ended_rtt", "1.5"), l.T("dossier.section.timeline")}
			for _, w := range want {
				if !strings.Contains(flat, squashSpace(w)) {
					t.Errorf("the %s dossier lacks %q", tc.lang, w)
				}
			}
			// The timeline of 120 probes runs over pages, its header on each.
			if pages := strings.Count(text, "\f"); pages < 3 || strings.Count(flat, squashSpace(l.T("dossier.timeline.text"))) < 2 {
				t.Errorf("the %s dossier: %d pages, timeline header %d times; want it repeated over pages", tc.lang, pages,
					strings.Count(flat, squashSpace(l.T("dossier.timeline.text"))))
			}
		}
		// The engineer the second complaint names finds no trace of it.
		if text := read(eng, "?lang=en", "en"); text != "" {
			flat := squashSpace(text)
			if !strings.Contains(flat, network.Number()) || strings.Contains(flat, aboutEng.Number()) || strings.Contains(flat, "ZZABOUTENG") {
				t.Errorf("the named engineer's dossier: has %s %v, has %s %v", network.Number(), strings.Contains(flat, network.Number()),
					aboutEng.Number(), strings.Contains(flat, aboutEng.Number()))
			}
		}
		// Another organization, and an outage that does not exist: 404.
		for _, p := range []string{path, "/outages/999999/dossier.pdf", "/outages/abc/dossier.pdf"} {
			wantStatus(t, e.as(t, e.fx.CustB).get(p), http.StatusNotFound)
		}
		evs := auditActions(t, e, models.AuditDossierDownloaded)
		if len(evs) != 3 || evs[0].TargetID == nil || *evs[0].TargetID != out.ID || evs[0].OrgID == nil || *evs[0].OrgID != org ||
			!strings.Contains(evs[0].Detail, `"lang":"en"`) {
			t.Fatalf("dossier downloads audited as %+v, want 3", evs)
		}
	})
}

// Downtime inside a window the customer agreed to is agreed maintenance in
// the dossier as on the outage page: the stretch names the window (its
// number and times), not the engineer who set the cause it replaces.
func TestIncidentDossierNamesTheAgreedWindow(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		org := e.fx.OrgA.ID
		sys := models.SystemActor("test")
		dev, err := e.store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: org, Name: "db-01", Address: "127.0.0.41", Cabinet: "A-07"})
		if err != nil {
			t.Fatal(err)
		}
		checks, err := e.store.ListChecks(ctx, models.AllOrgs(), org, dev.ID)
		if err != nil || len(checks) == 0 {
			t.Fatalf("checks = %v, %v", checks, err)
		}
		start := e.clock.Now().Add(time.Hour).Truncate(time.Hour)
		w, err := e.store.AnnounceMaintenance(ctx, models.UserActor(e.fx.Engineer, "10.0.0.1"), models.MaintenanceInput{
			Title: "电源线路整改 Rewiring", StartsAt: start, EndsAt: start.Add(2 * time.Hour), TargetLines: "alpha cabinet A-07"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.AnswerMaintenance(ctx, models.UserActor(e.fx.CustA, "192.0.2.1"), e.fx.CustA, w.Ref, models.MaintenanceAgreed, ""); err != nil {
			t.Fatal(err)
		}
		t0 := start.Add(30 * time.Minute)
		e.clock.Advance(t0.Sub(e.clock.Now()))
		if _, err := e.store.RecordResults(ctx, []models.ProbeResult{{CheckID: checks[0].ID, At: t0, Reason: models.ReasonTimeout},
			{CheckID: checks[0].ID, At: t0.Add(5 * time.Minute), Reason: models.ReasonTimeout}}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(25 * time.Minute)
		if _, err := e.store.RecordResults(ctx, []models.ProbeResult{{CheckID: checks[0].ID, At: e.clock.Now(), OK: true, RTTus: 200}}); err != nil {
			t.Fatal(err)
		}
		outs, err := e.store.ListOutages(ctx, models.AllOrgs(), org, dev.ID, 1)
		if err != nil || len(outs) != 1 {
			t.Fatalf("outages = %+v, %v", outs, err)
		}
		e.clock.Advance(time.Hour)
		if _, err := e.store.SetOutageCause(ctx, models.UserActor(e.fx.Engineer, "10.0.0.1"), outs[0].ID, models.CauseProviderPower, "ZZCAUSE power cords moved"); err != nil {
			t.Fatal(err)
		}
		r := e.as(t, e.fx.CustA).get("/outages/" + ids(outs[0].ID) + "/dossier.pdf?lang=en")
		wantStatus(t, r, http.StatusOK)
		text := pdfText(t, []byte(r.Body))
		if text == "" {
			return // pdftotext is missing, which pdfText allows outside CI
		}
		l := locales.For("en")
		flat := squashSpace(text)
		agreed := w.Number() + " " + l.T("maintenance.split.agreed", start.Format("2006-01-02 15:04"), start.Add(2*time.Hour).Format("2006-01-02 15:04"))
		for _, want := range []string{agreed, l.T("cause.customer_maintenance"), l.T("dossier.figure.excluded_as", l.T("cause.customer_maintenance"))} {
			if !strings.Contains(flat, squashSpace(want)) {
				t.Errorf("the dossier lacks %q:\n%s", want, text)
			}
		}
	})
}
