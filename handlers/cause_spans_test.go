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

// The case of issue 9: an outage began 22 minutes before the authorization
// and outlasted the work by 25 minutes. "Caused by this operation" used to
// exempt all of it (100% while the device was down). Only the part inside
// the authorized work, from the later of the authorization and the start
// of work to the end of work, may take the operation's cause.
func TestAnOperationExemptsOnlyTheOutageMinutesInsideItsWork(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		o := newOpEnv(t, e)
		org := e.fx.OrgA.ID
		cust := e.as(t, e.fx.CustA)
		checks, err := e.store.ListChecks(ctx, models.AllOrgs(), org, o.dev.ID)
		if err != nil || len(checks) == 0 {
			t.Fatalf("checks = %v, %v", checks, err)
		}
		c := checks[0]
		req := o.raise(t, cust)
		t0 := e.clock.Now()
		// The device goes down at t0 and stays down.
		if _, err := e.store.RecordResults(ctx, []models.ProbeResult{{CheckID: c.ID, At: t0, Reason: models.ReasonTimeout},
			{CheckID: c.ID, At: t0.Add(5 * time.Minute), Reason: models.ReasonTimeout}}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(22 * time.Minute) // authorized 22 minutes into the outage
		eng := e.as(t, e.fx.Engineer)
		wantRedirect(t, eng.submit(req, req+"/phone", url.Values{"contact": {ids(o.signer.ID)}, "passphrase": {passphrase}}), req+"#auth-h")
		e.clock.Advance(3 * time.Minute) // work starts at t0+25m
		wantRedirect(t, eng.submit(req, req+"/state", url.Values{"state": {models.OpInProgress}}), req)
		e.clock.Advance(30 * time.Minute) // and ends at t0+55m
		wantRedirect(t, eng.submit(req, req+"/state", url.Values{"state": {models.OpCompleted}, "confirmed": {"1"}, "work_done": {"Disk replaced 已更换"},
			"result": {"success"}}), req)
		e.clock.Advance(25 * time.Minute) // the device answers again at t0+80m
		if _, err := e.store.RecordResults(ctx, []models.ProbeResult{{CheckID: c.ID, At: e.clock.Now(), OK: true, RTTus: 200}}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(10 * time.Minute)
		outs, err := e.store.ListOutages(ctx, models.AllOrgs(), org, o.dev.ID, 5)
		if err != nil || len(outs) != 1 {
			t.Fatalf("outages = %+v, %v", outs, err)
		}
		out := outs[0]
		eng = e.as(t, e.fx.Engineer)
		cust = e.as(t, e.fx.CustA)
		page := req + "/outages/" + ids(out.ID) + "/classify"
		zhT := locales.For(locales.Default).Duration
		mins := func(n int) string { return zhT(time.Duration(n) * time.Minute) }

		// Step: The confirmation shows the split and changes nothing.
		func() {
			r := eng.get(page)
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, zh("operation.cause.before"), zh("operation.cause.after"),
				zh("outages.split.counted", mins(80)), zh("outages.split.counted", mins(50)), zh("outages.split.exempt", mins(30)))
			wantStatus(t, cust.get(page), http.StatusForbidden)
			a, err := e.store.DeviceAvailability(ctx, models.AllOrgs(), org, o.dev.ID, t0, e.clock.Now())
			if err != nil || a.Counted != 80*time.Minute {
				t.Fatalf("before confirming: %+v, %v; want 80 min counted", a, err)
			}
		}()
		// Step: Confirming exempts the 30 minutes of work and nothing else.
		func() {
			r := eng.submit(page, page, url.Values{"note": {"Disk swap needed the power off 换盘需断电"}})
			wantStatus(t, r, http.StatusSeeOther)
			a, err := e.store.DeviceAvailability(ctx, models.AllOrgs(), org, o.dev.ID, t0, e.clock.Now())
			if err != nil || a.Down != 80*time.Minute || a.Counted != 50*time.Minute {
				t.Fatalf("after confirming: %+v (%.3f%%), %v; want 80 min down, 50 min counted (22+3 before the work, 25 after)",
					a, a.Percent(), err)
			}
			got, err := e.store.GetOutage(ctx, models.OrgScope(org), out.ID)
			if err != nil || got.Cause != models.CauseUnknown {
				t.Errorf("the outage's own cause = %q, %v; want it kept", got.Cause, err)
			}
			spans, err := e.store.OutageCauseSpans(ctx, models.AllOrgs(), org, out.ID)
			if err != nil || len(spans) != 1 || !spans[0].StartAt.Equal(t0.Add(25*time.Minute)) || !spans[0].EndAt.Equal(t0.Add(55*time.Minute)) ||
				spans[0].Cause != models.CauseCustomerOperation || spans[0].RequestID == nil || spans[0].SetBy == nil ||
				*spans[0].SetBy != e.fx.Engineer.ID || !strings.Contains(spans[0].Note, "换盘") {
				t.Fatalf("cause spans = %+v, %v", spans, err)
			}
		}()
		// Step: Confirming twice changes nothing more.
		func() {
			wantStatus(t, eng.submit(page, page, url.Values{"note": {"Disk swap needed the power off 换盘需断电"}}), http.StatusSeeOther)
			spans, _ := e.store.OutageCauseSpans(ctx, models.AllOrgs(), org, out.ID)
			a, _ := e.store.DeviceAvailability(ctx, models.AllOrgs(), org, o.dev.ID, t0, e.clock.Now())
			if len(spans) != 1 || a.Counted != 50*time.Minute {
				t.Fatalf("after a second confirmation: %d spans, %v counted", len(spans), a.Counted)
			}
		}()
		// Step: The customer's outage page shows which minutes count and why.
		func() {
			r := cust.get("/outages/" + ids(out.ID))
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, zh("outages.split.title"), zh("outages.split.counted", mins(50)), zh("outages.split.exempt", mins(30)),
				zh("outages.split.own_cause"), "换盘需断电", mustSpan(t, e, org, out.ID).RequestNo)
			r = cust.get("/devices/" + ids(o.dev.ID))
			wantBody(t, r, zh("outages.split.exempt", mins(30)), "/outages/"+ids(out.ID)+"#split-h")
		}()
		// Step: The change is audited with the span and the request.
		func() {
			evs, err := e.store.ListAudit(ctx, models.AllOrgs(), models.AuditFilter{Action: models.AuditOutageCause})
			if err != nil || len(evs) != 2 || !strings.Contains(evs[0].Detail, "span_start") || !strings.Contains(evs[0].Detail, "OP-") {
				t.Fatalf("audit = %+v, %v", evs, err)
			}
		}()
		// Step: The requester is told.
		func() {
			kinds, err := e.store.OutboxKinds(ctx, models.AllOrgs(), org)
			n := 0
			for _, k := range kinds {
				if k == models.EventOutageCauseSpan {
					n++
				}
			}
			if err != nil || n != 2 {
				t.Fatalf("outbox kinds %v, %v; want one cause-span event per confirmation", kinds, err)
			}
		}()
		// Step: The operation report lists the split.
		func() {
			r := cust.get(req + "/report.pdf")
			wantStatus(t, r, http.StatusOK)
			text := pdfText(t, []byte(r.Body))
			if text == "" {
				return // pdftotext is missing, which pdfText allows outside CI
			}
			flat := strings.Join(strings.Fields(text), " ")
			for _, w := range []string{zh("pdf.section.outages"), "web-01", "(" + mins(30) + ")", mins(50)} {
				if !strings.Contains(flat, strings.Join(strings.Fields(w), " ")) {
					t.Errorf("report does not say %q:\n%s", w, text)
				}
			}
		}()
		// Step: A span laid later over the middle of the work cuts the
		// operation's span in two; the report still has one row for the
		// outage, with both exempt parts.
		func() {
			st, en := t0.Add(35*time.Minute), t0.Add(40*time.Minute)
			if _, err := e.store.ChangeOutageCause(ctx, models.UserActor(e.fx.Engineer, "10.0.0.9"), models.CauseChange{OutageID: out.ID,
				Cause: models.CauseFMPublic, Note: "public power cut", Start: &st, End: &en}); err != nil {
				t.Fatal(err)
			}
			r := cust.get(req + "/report.pdf")
			wantStatus(t, r, http.StatusOK)
			text := pdfText(t, []byte(r.Body))
			if text == "" {
				return
			}
			flat := strings.Join(strings.Fields(text), " ")
			for _, w := range []string{"(" + mins(10) + ")", "(" + mins(15) + ")"} {
				if !strings.Contains(flat, strings.Join(strings.Fields(w), " ")) {
					t.Errorf("report does not say %q:\n%s", w, text)
				}
			}
			if n := strings.Count(flat, strings.Join(strings.Fields(mins(50)), " ")); n != 1 {
				t.Errorf("the outage's counted minutes (%s) appear %d times, want one row for the outage:\n%s", mins(50), n, text)
			}
		}()
	})
}

func mustSpan(t *testing.T, e *env, org, outageID int64) models.OutageCauseSpan {
	t.Helper()
	spans, err := e.store.OutageCauseSpans(context.Background(), models.AllOrgs(), org, outageID)
	if err != nil || len(spans) == 0 {
		t.Fatalf("cause spans = %+v, %v", spans, err)
	}
	return spans[0]
}
