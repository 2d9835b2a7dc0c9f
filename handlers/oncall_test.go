package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
)

// notices is an outage of organization A's web-a, confirmed at t0+5 min,
// with its notices expanded: a phone call to Sun Li's mobile (pending) and
// an email to her that bounced.
type notices struct {
	contact      *models.Contact
	device       *models.Device
	check        models.Check
	outage       models.Outage
	call, email  models.Delivery
	t0           time.Time
	emailBounced string
}

// phoneAndEmail carries mobiles as staff calls and emails by SMTP.
func phoneAndEmail(ch models.Channel) string {
	switch ch {
	case models.ChannelMobile, models.ChannelOffice:
		return models.TransportCall
	case models.ChannelEmail:
		return models.TransportEmail
	}
	return ""
}

// expandAll turns every outbox event into deliveries, as the dispatcher does.
func expandAll(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	evs, err := e.store.ClaimEvents(ctx, "test", time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if _, err := e.store.ExpandEvent(ctx, ev, "test", phoneAndEmail); err != nil {
			t.Fatal(err)
		}
	}
}

// failDevice drives a check into an outage: failures at start and
// start+5 min, confirmed at the second.
func failDevice(t *testing.T, e *env, orgID int64, chk models.Check, start time.Time) models.Outage {
	t.Helper()
	ctx := context.Background()
	if _, err := e.store.RecordResults(ctx, []models.ProbeResult{
		{CheckID: chk.ID, At: start, Reason: models.ReasonTimeout},
		{CheckID: chk.ID, At: start.Add(5 * time.Minute), Reason: models.ReasonTimeout},
	}); err != nil {
		t.Fatal(err)
	}
	os, err := e.store.ListOutages(ctx, models.AllOrgs(), orgID, chk.DeviceID, 1)
	if err != nil || len(os) != 1 {
		t.Fatalf("outages = %+v, %v", os, err)
	}
	return os[0]
}

func seedNotices(t *testing.T, e *env) *notices {
	t.Helper()
	ctx := context.Background()
	fx := e.fx
	n := &notices{t0: e.clock.Now(), emailBounced: "550 5.1.1 mailbox unavailable"}
	var err error
	n.contact, err = e.store.CreateContact(ctx, models.UserActor(fx.CustA, "127.0.0.1"), fx.OrgA.ID, models.ContactInput{
		Name: "Sun Li", Mobile: "138 0013 8000", Email: "sun.li@alpha.test", Channels: []models.Channel{models.ChannelMobile, models.ChannelEmail},
		MayAuthorize: true, Passphrase: passphrase, Locale: "zh-CN"})
	if err != nil {
		t.Fatal(err)
	}
	n.device, err = e.store.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: fx.OrgA.ID, Name: "web-a", Address: "127.0.0.2"})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := e.store.ListChecks(ctx, models.AllOrgs(), fx.OrgA.ID, n.device.ID)
	if err != nil || len(cs) != 1 {
		t.Fatalf("checks = %+v, %v", cs, err)
	}
	n.check = cs[0]
	n.outage = failDevice(t, e, fx.OrgA.ID, n.check, n.t0)
	e.clock.Advance(5*time.Minute + 30*time.Second)
	expandAll(t, e)
	ds, err := e.store.ClaimDeliveries(ctx, "test", time.Minute, 10, []string{models.TransportEmail})
	if err != nil || len(ds) != 1 {
		t.Fatalf("email deliveries = %+v, %v", ds, err)
	}
	if err := e.store.RecordAttempt(ctx, "test", ds[0].ID, models.DeliveryBounced, n.emailBounced, nil); err != nil {
		t.Fatal(err)
	}
	list, all, err := e.store.OutageDeliveries(ctx, models.AllOrgs(), fx.OrgA.ID, n.outage.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range list {
		switch d.Transport {
		case models.TransportCall:
			n.call = d
		case models.TransportEmail:
			n.email = d
		}
	}
	if n.call.ID == 0 || n.email.ID == 0 || len(all[n.email.ID]) != 1 {
		t.Fatalf("deliveries = %+v, attempts %+v", list, all)
	}
	return n
}

func TestOutagePageAndOnCall(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		fx := e.fx
		n := seedNotices(t, e)
		o, call, email := ids(n.outage.ID), ids(n.call.ID), ids(n.email.ID)
		callTask := zh("oncall.group_call", fx.OrgA.Name, "Sun Li", "手机", "+86 138 0013 8000")
		callForm := `action="/orgs/` + ids(fx.OrgA.ID) + `/calls"`

		runScenarios(t, e, []scenario{
			{name: "a customer sees their outage with its clock running and every notification",
				who: "custA", path: "/outages/" + o, status: http.StatusOK,
				contains: []string{"web-a", zh("outages.started_hint"), zh("outages.confirmed_hint"), zh("clock.running"),
					`data-left="870"`, zh("clock.left", "14:30"), "Sun Li", "+86 138 0013 8000", "sun.li@alpha.test",
					zh("transport.call"), zh("transport.email"), zh("delivery.status.pending"), zh("delivery.status.bounced"),
					n.emailBounced, zh("reason.timeout"), zh("event.outage.opened"),
					n.t0.Format("2006-01-02 15:04:05"), n.t0.Add(5 * time.Minute).Format("2006-01-02 15:04:05"),
					n.t0.Add(20 * time.Minute).Format("2006-01-02 15:04:05")},
				lacks: []string{passphrase, fx.OrgB.Name}},
			{name: "another organization gets not found for the outage",
				who: "custB", path: "/outages/" + o, status: http.StatusNotFound,
				lacks: []string{"web-a", "Sun Li", "+86 138 0013 8000", "+8613800138000"}},
			{name: "a customer gets not found for an outage that does not exist",
				who: "custA", path: "/outages/999999", status: http.StatusNotFound},
			{name: "staff open any organization's outage",
				who: "reception", path: "/outages/" + o, status: http.StatusOK, contains: []string{"web-a", fx.OrgA.Name, "Sun Li"}},
			{name: "the device page links each outage to its page",
				who: "custA", path: "/devices/" + ids(n.device.ID), status: http.StatusOK,
				contains: []string{`href="/outages/` + o + `"`}},
			{name: "an engineer's on-call page lists the open outage, the call to make and the bounced email",
				who: "engineer", path: "/oncall", status: http.StatusOK,
				contains: []string{"web-a", fx.OrgA.Name, zh("clock.running"), `href="/outages/` + o + `"`, callTask,
					callForm, "web-a", "sun.li@alpha.test", n.emailBounced,
					`action="/deliveries/` + email + `/retry"`, `action="/deliveries/` + email + `/mark-wrong"`,
					`href="/oncall" aria-current="page"`}},
			{name: "reception logs calls on the on-call page but handles no failed delivery",
				who: "reception", path: "/oncall", status: http.StatusOK,
				contains: []string{"web-a", callTask, callForm},
				lacks:    []string{`action="/deliveries/` + email + `/retry"`, `action="/deliveries/` + email + `/mark-wrong"`}},
			{name: "customer service can act on the on-call page",
				who: "service", path: "/oncall", status: http.StatusOK, contains: []string{callForm}},
			{name: "customers have no on-call page", who: "custA", path: "/oncall", status: http.StatusForbidden},
			{name: "staff navigation offers On call", who: "admin", path: "/", status: http.StatusOK,
				contains: []string{`href="/oncall"`, zh("nav.oncall")}},
		})

		t.Run("customers cannot act on deliveries and reception handles no failed one", func(t *testing.T) {
			for _, who := range []*models.User{fx.Reception, fx.CustA, fx.CustB} {
				c := e.as(t, who)
				acts := []string{"/retry", "/mark-wrong"}
				if who.Role == models.RoleCustomer {
					acts = append(acts, "/call")
				}
				for _, act := range acts {
					wantStatus(t, c.submit("/", "/deliveries/"+call+act, url.Values{"answered": {"yes"}, "reason": {"x"}}), http.StatusForbidden)
				}
			}
		})

		t.Run("a call logged without saying whether it was answered is refused with the note kept", func(t *testing.T) {
			r := e.as(t, fx.Engineer).submit("/oncall", "/deliveries/"+call+"/call", url.Values{"note": {"line busy?"}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, zh("error.answer_required"), `value="line busy?"`)
		})

		t.Run("an answered call logged through the form stops the clock as met", func(t *testing.T) {
			// Confirmed at t0+5 min; the call is logged at t0+7 min 13 s.
			e.clock.Advance(n.t0.Add(7*time.Minute + 13*time.Second).Sub(e.clock.Now()))
			eng := e.as(t, fx.Engineer)
			r := eng.submit("/oncall", "/deliveries/"+call+"/call", url.Values{"answered": {"yes"}, "note": {"told her the web server is down"}})
			wantRedirect(t, r, "/oncall#calls")
			c, err := e.store.OutageClock(ctx, models.AllOrgs(), fx.OrgA.ID, n.outage.ID)
			if err != nil || c == nil || c.Outcome != models.ClockMet || c.Took(e.clock.Now()) != 2*time.Minute+13*time.Second {
				t.Fatalf("clock = %+v, %v", c, err)
			}
			r = eng.get("/oncall")
			wantBody(t, r, zh("flash.call_logged"), zh("oncall.no_calls"))
			wantNoBody(t, r, callTask)
			r = e.as(t, fx.CustA).get("/outages/" + o)
			wantBody(t, r, zh("clock.met"), zh("clock.met_in", "2 分 13 秒"), zh("delivery.status.answered"),
				zh("delivery.logged_by", fx.Engineer.Name), "told her the web server is down",
				n.t0.Add(7*time.Minute+13*time.Second).Format("2006-01-02 15:04:05"))
			wantNoBody(t, r, zh("clock.running"))
			wantStatus(t, eng.submit("/oncall", "/deliveries/"+call+"/call", url.Values{"answered": {"no"}}), http.StatusNotFound)
		})

		t.Run("a failed delivery is queued again and the retry audited", func(t *testing.T) {
			wantRedirect(t, e.as(t, fx.Service).submit("/oncall", "/deliveries/"+email+"/retry", nil), "/oncall#failed")
			d, err := e.store.GetDelivery(ctx, models.AllOrgs(), n.email.ID)
			if err != nil || d.Status != models.DeliveryPending {
				t.Fatalf("delivery after retry = %+v, %v", d, err)
			}
			evs, _ := e.store.ListAudit(ctx, models.AllOrgs(), models.AuditFilter{Action: models.AuditDeliveryRetried})
			if len(evs) != 1 || evs[0].ActorEmail != fx.Service.Email || *evs[0].TargetID != n.email.ID {
				t.Fatalf("retry audit = %+v", evs)
			}
			wantStatus(t, e.as(t, fx.Service).submit("/oncall", "/deliveries/"+email+"/retry", nil), http.StatusNotFound)
			// It fails again, and shows on the page again.
			ds, err := e.store.ClaimDeliveries(ctx, "test", time.Minute, 10, []string{models.TransportEmail})
			if err != nil || len(ds) != 1 {
				t.Fatalf("claim after retry = %+v, %v", ds, err)
			}
			if err := e.store.RecordAttempt(ctx, "test", ds[0].ID, models.DeliveryBounced, n.emailBounced, nil); err != nil {
				t.Fatal(err)
			}
			wantBody(t, e.as(t, fx.Engineer).get("/oncall"), `action="/deliveries/`+email+`/retry"`, zh("oncall.attempts", 2))
		})

		t.Run("marking a detail wrong needs a reason", func(t *testing.T) {
			r := e.as(t, fx.Engineer).submit("/oncall", "/deliveries/"+email+"/mark-wrong", url.Values{"reason": {"  "}})
			wantStatus(t, r, http.StatusUnprocessableEntity)
			wantBody(t, r, `id="e-reason">`+zh("error.required")+`<`)
		})

		t.Run("marking the detail of a failed delivery wrong is audited and shown to the customer", func(t *testing.T) {
			eng := e.as(t, fx.Engineer)
			r := eng.submit("/oncall", "/deliveries/"+email+"/mark-wrong", url.Values{"reason": {"mailbox does not exist"}})
			wantRedirect(t, r, "/oncall#failed")
			wrong, err := e.store.WrongChannels(ctx, models.AllOrgs(), fx.OrgA.ID)
			if err != nil || !wrong[n.contact.ID][models.ChannelEmail] || wrong[n.contact.ID][models.ChannelMobile] {
				t.Fatalf("wrong channels = %+v, %v", wrong, err)
			}
			evs, _ := e.store.ListAudit(ctx, models.AllOrgs(), models.AuditFilter{Action: models.AuditContactMarkedWrong})
			if len(evs) != 1 || evs[0].ActorEmail != fx.Engineer.Email || !strings.Contains(evs[0].Detail, "mailbox does not exist") {
				t.Fatalf("mark-wrong audit = %+v", evs)
			}
			r = eng.get("/oncall")
			wantBody(t, r, zh("flash.detail_marked_wrong"), zh("contacts.marked_wrong"))
			wantNoBody(t, r, `action="/deliveries/`+email+`/mark-wrong"`)
			wantBody(t, e.as(t, fx.CustA).get("/contacts"), "mailbox does not exist", zh("contacts.marked_wrong"))
			wantBody(t, e.as(t, fx.CustA).get("/contacts/history"), zh("audit.action.contact.marked_wrong"), fx.Engineer.Email)
		})

		t.Run("a delivery that does not exist is not found", func(t *testing.T) {
			eng := e.as(t, fx.Engineer)
			for _, act := range []string{"/call", "/retry", "/mark-wrong"} {
				wantStatus(t, eng.submit("/oncall", "/deliveries/999999"+act, url.Values{"answered": {"yes"}, "reason": {"x"}}), http.StatusNotFound)
			}
		})

		t.Run("a notice nobody receives misses its clock and the outage page shows the deduction", func(t *testing.T) {
			// The next day: the first outage's clock may have missed today
			// (when the subtests above did not run), and a day costs once.
			e.clock.Advance(24 * time.Hour)
			// With the list confirmed, a miss is the provider's and costs a day.
			if err := e.store.ConfirmContacts(ctx, models.UserActor(fx.CustA, "127.0.0.1"), fx.OrgA.ID, fx.CustA.ID); err != nil {
				t.Fatal(err)
			}
			d2, err := e.store.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: fx.OrgA.ID, Name: "db-a", Address: "127.0.0.5"})
			if err != nil {
				t.Fatal(err)
			}
			cs, _ := e.store.ListChecks(ctx, models.AllOrgs(), fx.OrgA.ID, d2.ID)
			start := e.clock.Now()
			o2 := failDevice(t, e, fx.OrgA.ID, cs[0], start)
			expandAll(t, e)
			e.clock.Advance(12 * time.Minute)
			// Confirmed at start+5 min: 8 minutes left at start+12 min.
			wantBody(t, e.as(t, fx.Engineer).get("/oncall"), "db-a", `data-left="480"`, zh("clock.left", "8:00"))
			e.clock.Advance(10 * time.Minute)
			wantBody(t, e.as(t, fx.Engineer).get("/oncall"), "db-a", zh("clock.overdue"), zh("clock.overdue_by", zh("duration.min_sec", 2, 0)))
			if _, err := e.store.SweepClocks(ctx); err != nil {
				t.Fatal(err)
			}
			r := e.as(t, fx.CustA).get("/outages/" + ids(o2.ID))
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, "db-a", zh("clock.missed"), zh("clock.missed_none"), zh("clock.deducted", start.Format("2006-01-02")))
		})
	})
}
