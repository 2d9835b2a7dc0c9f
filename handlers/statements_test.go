package handlers_test

import (
	"context"
	"encoding/csv"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
)

// ledgerMonth is November 2026 of organization A, built through the
// prober, the dispatcher and the complaint desk: a contract of ¥30,000.00
// a month over cabinet A01 and one of organization B of ¥10,000.00; a
// device of A in A01 down 65 minutes from 2 November 09:00 (UTC, the test
// store's zone), its emergency notice missed (the call unanswered, the
// email bounced) and so charged one day's fee (¥1,000.00); a complaint
// answered in time (its first handling report).
type ledgerMonth struct {
	contractA, contractB *models.Contract
	device               *models.Device
	outage               models.Outage
	complaint            *models.Complaint
}

func seedLedgerMonth(t *testing.T, e *env) *ledgerMonth {
	t.Helper()
	ctx := context.Background()
	fx, sys := e.fx, models.SystemActor("test")
	m := &ledgerMonth{}
	m.contractA = &models.Contract{OrgID: fx.OrgA.ID, ServiceType: models.ServiceColocation, MonthlyFee: 3000000, InstallationFee: 500000,
		SignedOn: "2026-10-20", StartsOn: "2026-11-01", EndsOn: "2027-10-31"}
	m.contractB = &models.Contract{OrgID: fx.OrgB.ID, ServiceType: models.ServiceColocation, MonthlyFee: 1000000,
		SignedOn: "2026-10-20", StartsOn: "2026-11-01", EndsOn: "2027-10-31"}
	if err := e.store.SeedContract(ctx, m.contractA, []string{"A01"}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.SeedContract(ctx, m.contractB, []string{"B01"}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.ConfirmContacts(ctx, models.UserActor(fx.CustA, "127.0.0.1"), fx.OrgA.ID, fx.CustA.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.CreateContact(ctx, models.UserActor(fx.CustA, "127.0.0.1"), fx.OrgA.ID, models.ContactInput{
		Name: "Sun Li", Mobile: "138 0013 8000", Email: "sun.li@alpha.test", Channels: []models.Channel{models.ChannelMobile, models.ChannelEmail},
		MayAuthorize: true, Passphrase: passphrase, Locale: "zh-CN"}); err != nil {
		t.Fatal(err)
	}
	var err error
	if m.device, err = e.store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: fx.OrgA.ID, Name: "web-a", Address: "127.0.0.2", Cabinet: "A01"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: fx.OrgB.ID, Name: "web-b", Address: "127.0.0.3", Cabinet: "B01"}); err != nil {
		t.Fatal(err)
	}
	cs, err := e.store.ListChecks(ctx, models.AllOrgs(), fx.OrgA.ID, m.device.ID)
	if err != nil || len(cs) != 1 {
		t.Fatalf("checks = %+v, %v", cs, err)
	}
	t0 := e.clock.Now()
	m.outage = failDevice(t, e, fx.OrgA.ID, cs[0], t0)
	e.clock.Advance(5*time.Minute + 30*time.Second)
	expandAll(t, e)
	ds, err := e.store.ClaimDeliveries(ctx, "test", time.Minute, 10, []string{models.TransportEmail})
	if err != nil || len(ds) != 1 {
		t.Fatalf("email deliveries = %+v, %v", ds, err)
	}
	if err := e.store.RecordAttempt(ctx, "test", ds[0].ID, models.DeliveryBounced, "550 5.1.1 mailbox unavailable", nil); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(20 * time.Minute)
	if _, err := e.store.SweepClocks(ctx); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(t0.Add(66 * time.Minute).Sub(e.clock.Now()))
	if _, err := e.store.RecordResults(ctx, []models.ProbeResult{{CheckID: cs[0].ID, At: t0.Add(65 * time.Minute), OK: true, RTTus: 300}}); err != nil {
		t.Fatal(err)
	}
	if m.complaint, err = e.store.CreateComplaint(ctx, models.UserActor(fx.CustA, "127.0.0.1"), fx.OrgA.ID, models.ComplaintInput{
		Category: models.ComplaintNetwork, Subject: "网络中断 The network was down", OutageID: m.outage.ID,
		Description: "web-a 不可达一个多小时。web-a was unreachable for over an hour."}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	if _, err := e.store.WriteComplaintReport(ctx, models.UserActor(fx.Service, "10.0.0.2"), models.Viewer{Scope: models.AllOrgs(), UserID: fx.Service.ID},
		m.complaint.ID, models.ReportInput{Found: "上联端口故障。", Done: "已更换端口。", Next: "观察一周。"}); err != nil {
		t.Fatal(err)
	}
	return m
}

// mainOf is the <main> of a page: what the page shows, without the
// layout's per-request parts.
func mainOf(t *testing.T, r *response) string {
	t.Helper()
	i, j := strings.Index(r.Body, "<main"), strings.Index(r.Body, "</main>")
	if i < 0 || j < i {
		t.Fatalf("no <main> in %s", clip(r.Body))
	}
	return r.Body[i:j]
}

func TestStatementPages(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		fx := e.fx
		m := seedLedgerMonth(t, e)
		orgA, orgB := ids(fx.OrgA.ID), ids(fx.OrgB.ID)
		nov := "/statements/" + orgA + "/2026-11"
		novB := "/statements/" + orgB + "/2026-11"
		outage := "/outages/" + ids(m.outage.ID)

		t.Run("a customer reads its own statements, provisional while the month runs", func(t *testing.T) {
			cust := e.as(t, fx.CustA)
			wantBody(t, cust.get("/statements"), zh("statements.title"), `href="`+nov+`"`, zh("statements.state.running"), "¥30,000.00")
			r := cust.get(nov)
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, zh("statements.provisional"), m.contractA.Number(), "¥30,000.00", "¥1,000.00",
				`href="`+outage+`"`, `href="/complaints/`+m.complaint.Ref+`"`, `href="/contracts/`+m.contractA.Ref+`"`,
				zh("statements.line.network"), zh("statements.line.notice"), zh("clock.deducted", "2026-11-02"), zh("statements.cap"),
				zh("clock.kind.emergency_notice"), zh("clock.kind.complaint_response"), zh("clock.missed"), zh("clock.met"),
				zh("statements.minutes", "43.20"), zh("statements.minutes", "65.00"), zh("statements.card.title", m.contractA.Number()))
			wantNoBody(t, r, "/close")
			wantBody(t, cust.get(nov+"/statement.pdf"), "%PDF-")
		})

		t.Run("another organization's statement is not found", func(t *testing.T) {
			custB := e.as(t, fx.CustB)
			for _, p := range []string{nov, nov + "/statement.pdf", nov + "/statement.pdf?lang=en", "/statements/999999/2026-11"} {
				wantStatus(t, custB.get(p), http.StatusNotFound)
			}
			wantNoBody(t, custB.get("/statements"), nov, "¥30,000.00")
			wantBody(t, custB.get(novB), m.contractB.Number())
			// A month not begun, or not a month, is not found either.
			for _, p := range []string{"/statements/" + orgB + "/2027-01", "/statements/" + orgB + "/2026-13", "/statements/" + orgB + "/latest"} {
				wantStatus(t, custB.get(p), http.StatusNotFound)
			}
		})

		t.Run("the provider's view and its CSV are the staff's", func(t *testing.T) {
			cust := e.as(t, fx.CustA)
			wantStatus(t, cust.get("/statements.csv?month=2026-11"), http.StatusForbidden)
			eng := e.as(t, fx.Engineer)
			r := eng.get("/statements?month=2026-11")
			wantBody(t, r, zh("statements.ledger.title", "2026-11"), fx.OrgA.Name, fx.OrgB.Name, `href="`+nov+`"`, `href="`+novB+`"`,
				"¥30,000.00", zh("statements.ledger.running"), `href="/statements?month=2026-10"`)
			wantNoBody(t, r, "/close") // engineers do not close months
			// By default, the last month.
			wantBody(t, eng.get("/statements"), zh("statements.ledger.title", "2026-10"))
			wantBody(t, eng.get("/statements?org="+orgA), fx.OrgA.Name, `href="`+nov+`"`)
			wantBody(t, eng.get(nov), zh("statements.provisional"), m.contractA.Number())
		})

		t.Run("a month is closed by customer service once it has ended, and only once", func(t *testing.T) {
			svc := e.as(t, fx.Service)
			r := svc.submit(nov, nov+"/close", url.Values{})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh("error.month_not_ended"))
			e.clock.Advance(30 * 24 * time.Hour) // 2 December
			for _, u := range []*models.User{fx.Engineer, fx.Reception, fx.CustA} {
				c := e.as(t, u)
				wantStatus(t, c.submit("/statements/"+orgA+"/2026-12", nov+"/close", url.Values{}), http.StatusForbidden)
			}
			svc = e.as(t, fx.Service)
			r = svc.get("/statements?month=2026-11")
			wantBody(t, r, zh("statements.ledger.open", 2), `action="`+nov+`/close"`, `action="`+novB+`/close"`)
			wantRedirect(t, svc.submit(nov, nov+"/close", url.Values{}), nov)
			r = svc.get(nov)
			wantBody(t, r, zh("flash.month_closed"), zh("statements.state.closed"),
				fx.Service.Name, zh("statements.frozen"))
			wantNoBody(t, r, `action="`+nov+`/close"`, zh("statements.provisional"))
			// From the provider's view, back to it.
			wantRedirect(t, svc.submit("/statements?month=2026-11", novB+"/close", url.Values{"back": {"ledger"}}), "/statements?month=2026-11")
			wantBody(t, svc.get("/statements?month=2026-11"), zh("statements.ledger.open", 0))
			// Closing again is refused, on either route, with the reason.
			r = svc.submit(nov, nov+"/close", url.Values{})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh("error.month_closed"))
			r = svc.submit("/orgs/"+orgA, "/orgs/"+orgA+"/months/close", url.Values{"month": {"2026-11"}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh("error.month_closed"))
			// The organization's page links its closed month's statement.
			wantBody(t, svc.get("/orgs/"+orgA), `href="`+nov+`"`, `href="/statements?org=`+orgA+`"`)
		})

		t.Run("a closed statement does not change; the correction is the next month's adjusting line", func(t *testing.T) {
			cust, eng := e.as(t, fx.CustA), e.as(t, fx.Engineer)
			before := mainOf(t, cust.get(nov))
			wantRedirect(t, eng.submit(outage, outage+"/cause", url.Values{"cause": {string(models.CauseCustomerEquipment)}, "note": {"their switch"}, "confirmed": {"1"}}),
				"/devices/"+ids(m.device.ID)+"#outage-"+ids(m.outage.ID))
			if after := mainOf(t, cust.get(nov)); after != before {
				t.Fatalf("the closed statement changed after the cause did:\n%s\n---\n%s", before, after)
			}
			dec := cust.get("/statements/" + orgA + "/2026-12")
			wantBody(t, dec, zh("statements.adjustments_intro"), `href="`+nov+`"`, m.contractA.Number(), "-¥29,000.00",
				zh("statements.was_to_now", "¥30,000.00", "¥1,000.00"), zh("statements.change", zh("statements.line.network"), "¥30,000.00", "¥0.00"))
			wantBody(t, cust.get("/statements"), zh("statements.state.closed"), "-¥29,000.00")
		})

		t.Run("the PDF shows the page's figures in Chinese and in English", func(t *testing.T) {
			cust := e.as(t, fx.CustA)
			page := mainOf(t, cust.get(nov))
			for _, lang := range []string{"zh-CN", "en"} {
				r := cust.get(nov + "/statement.pdf?lang=" + lang)
				wantStatus(t, r, http.StatusOK)
				if r.Header.Get("Content-Type") != "application/pdf" || !strings.Contains(r.Header.Get("Content-Disposition"), "statement-"+orgA+"-2026-11-"+lang+".pdf") {
					t.Fatalf("%s headers %v", lang, r.Header)
				}
				text := squashSpace(pdfText(t, []byte(r.Body)))
				if text == "" {
					continue // pdftotext is missing, which pdfText allows outside CI
				}
				figures := []string{"¥30,000.00", "¥1,000.00", "-¥1,000.00", "99.849%", "43.20", "65.00"}
				for _, f := range figures {
					if !strings.Contains(page, f) {
						t.Errorf("the page lacks %q", f)
					}
				}
				want := append(figures, fx.OrgA.Name, m.contractA.Number(), "web-a", tr(lang, "statements.statement_title", "2026-11"),
					tr(lang, "clock.missed"), tr(lang, "clock.met"), tr(lang, "clock.kind.emergency_notice"), tr(lang, "clock.kind.complaint_response"),
					tr(lang, "statements.line.network"), tr(lang, "statements.line.notice"), tr(lang, "clock.deducted", "2026-11-02"),
					tr(lang, "statements.broken"), tr(lang, "statements.cap"), tr(lang, "statements.frozen"))
				for _, w := range want {
					if !strings.Contains(text, squashSpace(html.UnescapeString(w))) {
						t.Errorf("the %s PDF lacks %q", lang, w)
					}
				}
				if strings.Contains(text, squashSpace(tr(lang, "statements.pdf.provisional_mark"))) {
					t.Errorf("the closed statement's %s PDF says provisional", lang)
				}
			}
			// December's, still open, is marked provisional on every page.
			text := squashSpace(pdfText(t, []byte(cust.get("/statements/"+orgA+"/2026-12/statement.pdf?lang=en").Body)))
			if text != "" && (!strings.Contains(text, "PROVISIONAL") || !strings.Contains(text, "-¥29,000.00")) {
				t.Errorf("December's PDF lacks the provisional mark or the adjustment:\n%s", text)
			}
		})

		t.Run("the CSV has a row per organization with decimal amounts", func(t *testing.T) {
			r := e.as(t, fx.Admin).get("/statements.csv?month=2026-11")
			wantStatus(t, r, http.StatusOK)
			if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") || !strings.Contains(r.Header.Get("Content-Disposition"), "statements-2026-11.csv") {
				t.Fatalf("CSV headers %v", r.Header)
			}
			recs, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 3 || strings.Join(recs[0], ",") != "month,organization_id,organization,state,contracts,network_percent,power_percent,breaches,clocks_missed,currency,credit" {
				t.Fatalf("CSV %q", recs)
			}
			rows := map[string][]string{}
			for _, rec := range recs[1:] {
				rows[rec[1]] = rec
			}
			if a := rows[orgA]; a == nil || a[2] != fx.OrgA.Name || a[3] != "closed" || a[4] != "1" || a[5] != "99.849" || a[6] != "100.000" ||
				a[7] != "1" || a[8] != "1" || a[9] != "CNY" || a[10] != "30000.00" {
				t.Errorf("organization A's row %q", a)
			}
			if b := rows[orgB]; b == nil || b[3] != "closed" || b[9] != "CNY" || b[10] != "0.00" || b[7] != "0" {
				t.Errorf("organization B's row %q", b)
			}
		})
	})
}

// Who may reach the statements' routes: everyone reads (a customer its
// own organization only), staff the provider's view and its CSV. Who
// may close is TestStatementPages' (a form post needs its CSRF token).
func TestStatementRoutesWhoMay(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		fx := e.fx
		a, b := ids(fx.OrgA.ID), ids(fx.OrgB.ID)
		month := e.clock.Now().In(e.store.Zone()).Format("2006-01")
		runScenarios(t, e, []scenario{
			{name: "an anonymous visitor is sent to sign in", who: "anonymous", path: "/statements", status: http.StatusSeeOther},
			{name: "a customer's list is its own organization's, whatever it asks",
				who: "custA", path: "/statements?org=" + b, status: http.StatusOK,
				contains: []string{fx.OrgA.Name, "/statements/" + a + "/" + month}, lacks: []string{fx.OrgB.Name, "/statements/" + b + "/"}},
			{name: "a customer gets not found for another organization's statement",
				who: "custA", path: "/statements/" + b + "/" + month, status: http.StatusNotFound, lacks: []string{fx.OrgB.Name}},
			{name: "a customer may not download the provider's view",
				who: "custA", path: "/statements.csv", status: http.StatusForbidden},
			{name: "reception reads the provider's view", who: "reception", path: "/statements?month=" + month, status: http.StatusOK,
				contains: []string{fx.OrgA.Name, fx.OrgB.Name}, lacks: []string{"/close"}},
			{name: "reception downloads its CSV", who: "reception", path: "/statements.csv?month=" + month, status: http.StatusOK,
				contains: []string{"month,organization_id"}},
			{name: "staff read any organization's statement", who: "engineer", path: "/statements/" + b + "/" + month, status: http.StatusOK,
				contains: []string{fx.OrgB.Name, zh("statements.no_contracts")}},
			{name: "staff get not found for an organization that does not exist", who: "service", path: "/statements/999999/" + month,
				status: http.StatusNotFound},
			{name: "staff get not found for the list of an organization that does not exist", who: "service", path: "/statements?org=999999",
				status: http.StatusNotFound},
		})
	})
}
