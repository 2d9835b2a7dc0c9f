package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/blobstore"
	"github.com/colo-portal/portal/models/dbtest"
)

// homeScene is what the home pages have to show, seeded for organization
// A: two open outages (web-a's notice clock missed with a day's fee
// deducted, db-b's clock running), a request waiting for a signed form, a
// request authorized by phone whose signed form is owed (its feedback
// clock running), one with a signed form to check, a call to make and a
// bounced email.
type homeScene struct {
	contact            *models.Contact
	sign, phoned, scan *models.OperationRequest
	call               models.Delivery
}

func seedHome(t *testing.T, s *models.Store, fx *dbtest.Fixture, now time.Time) *homeScene {
	t.Helper()
	ctx := context.Background()
	cust, eng := models.UserActor(fx.CustA, "127.0.0.1"), models.UserActor(fx.Engineer, "10.0.0.9")
	h := &homeScene{}
	var err error
	h.contact, err = s.CreateContact(ctx, cust, fx.OrgA.ID, models.ContactInput{Name: "Sun Li", Mobile: "138 0013 8000",
		Email: "sun.li@alpha.test", Channels: []models.Channel{models.ChannelMobile, models.ChannelEmail},
		MayAuthorize: true, Passphrase: passphrase, Locale: "zh-CN"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ConfirmContacts(ctx, cust, fx.OrgA.ID, fx.CustA.ID); err != nil {
		t.Fatal(err)
	}
	var deviceIDs []int64
	outage := func(name string, start time.Time) {
		d, err := s.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: fx.OrgA.ID, Name: name, Address: "127.0.0.2"})
		if err != nil {
			t.Fatal(err)
		}
		deviceIDs = append(deviceIDs, d.ID)
		cs, err := s.ListChecks(ctx, models.AllOrgs(), fx.OrgA.ID, d.ID)
		if err != nil || len(cs) != 1 {
			t.Fatalf("checks = %+v, %v", cs, err)
		}
		if _, err := s.RecordResults(ctx, []models.ProbeResult{
			{CheckID: cs[0].ID, At: start, Reason: models.ReasonTimeout},
			{CheckID: cs[0].ID, At: start.Add(5 * time.Minute), Reason: models.ReasonTimeout},
		}); err != nil {
			t.Fatal(err)
		}
	}
	// web-a: confirmed 35 minutes ago, nobody notified: the clock is missed.
	outage("web-a", now.Add(-40*time.Minute))
	if _, err := s.SweepClocks(ctx); err != nil {
		t.Fatal(err)
	}
	// db-b: confirmed a minute ago, 14 minutes left.
	outage("db-b", now.Add(-6*time.Minute))
	evs, err := s.ClaimEvents(ctx, "test", time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if _, err := s.ExpandEvent(ctx, ev, "test", phoneAndEmail); err != nil {
			t.Fatal(err)
		}
	}
	mail, err := s.ClaimDeliveries(ctx, "test", time.Minute, 10, []string{models.TransportEmail})
	if err != nil || len(mail) == 0 {
		t.Fatalf("email deliveries = %+v, %v", mail, err)
	}
	if err := s.RecordAttempt(ctx, "test", mail[0].ID, models.DeliveryBounced, "550 mailbox unavailable", nil); err != nil {
		t.Fatal(err)
	}
	calls, err := s.CallTasks(ctx, models.AllOrgs())
	if err != nil || len(calls) == 0 {
		t.Fatalf("call tasks = %+v, %v", calls, err)
	}
	h.call = calls[0].Delivery
	req := func(title string) *models.OperationRequest {
		r, err := s.CreateRequest(ctx, cust, fx.OrgA.ID, models.RequestInput{Title: title, Work: "Reboot and check", Urgency: "normal",
			DeviceIDs: deviceIDs[:1], RequestedBy: &fx.CustA.ID})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	h.sign, h.phoned, h.scan = req("Reboot web-a"), req("Replace a disk in db-b"), req("Move cabinet A03")
	if _, err := s.RecordPhoneAuthorization(ctx, eng, fx.OrgA.ID, h.phoned.ID, models.PhoneInput{ContactID: h.contact.ID,
		Passphrase: passphrase, FollowUp: 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	blobs, err := blobstore.New(filepath.Join(t.TempDir(), "documents"))
	if err != nil {
		t.Fatal(err)
	}
	up, err := models.CheckUpload("scan.png", pngOf(t, 40, 60), models.DefaultUploadLimits)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddWrittenAuthorization(ctx, eng, blobs, fx.OrgA.ID, h.scan.ID, h.contact.ID, up, pngOf(t, 40, 60)); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestEachRoleHomeShowsItsWork(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		h := seedHome(t, e.store, e.fx, e.clock.Now())
		fx := e.fx
		callTask := zh("oncall.group_call", fx.OrgA.Name, "Sun Li", "手机", "+86 138 0013 8000")
		callForm := `action="/orgs/` + ids(fx.OrgA.ID) + `/calls"`
		runScenarios(t, e, []scenario{
			{name: "the customer sees the open outages, the requests waiting on them, the missed clock with its deduction and each device's month",
				who: "custA", path: "/", status: http.StatusOK,
				contains: []string{zh("home.outages_title", 2), "web-a", "db-b", zh("clock.running"), zh("clock.missed"),
					zh("home.awaiting_title", 2), h.sign.Number(), zh("home.awaiting_sign"), h.phoned.Number(), zh("home.awaiting_confirm"),
					zh("home.missed_title", 1), zh("clock.deducted", e.clock.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)),
					zh("home.avail_title"), zh("home.avail_since", e.clock.Now().UTC().Format("2006-01-02 15:04")), "<meter"},
				lacks: []string{h.scan.Number(), zh("home.all_clear"), fx.OrgB.Name}},
			{name: "the uptime page says from when a device added today is measured",
				who: "custA", path: "/uptime", status: http.StatusOK,
				contains: []string{zh("uptime.monitored_since", e.clock.Now().UTC().Format("2006-01-02 15:04"))}},
			{name: "another organization's customer sees none of it",
				who: "custB", path: "/", status: http.StatusOK, contains: []string{zh("home.all_clear")},
				lacks: []string{"web-a", "db-b", h.sign.Number(), zh("home.missed_title", 1)}},
			{name: "the engineer sees outages, calls, forms to check and feedback clocks",
				who: "engineer", path: "/", status: http.StatusOK,
				contains: []string{"web-a", "db-b", callTask, callForm, zh("oncall.group_calls", "2"),
					zh("staff_home.to_check"), h.scan.Number(), zh("staff_home.feedback"), h.phoned.Number(), zh("staff_home.forms_overdue_none")},
				lacks: []string{zh("oncall.failed")}},
			{name: "reception sees the calls to make with the form to log them, and nothing about representatives",
				who: "reception", path: "/", status: http.StatusOK,
				contains: []string{callTask, callForm, zh("oncall.group_calls", "2"), `name="next" value="/"`},
				lacks:    []string{zh("staff_home.mine_empty"), zh("staff_home.mine"), zh("staff_home.to_check"), zh("oncall.failed")}},
			{name: "the service desk sees the calls and the bounced email",
				who: "service", path: "/", status: http.StatusOK,
				contains: []string{callTask, zh("oncall.failed"), "550 mailbox unavailable", zh("staff_home.mine")},
				lacks:    []string{zh("staff_home.to_check")}},
		})
	})
}

func TestReceptionLogsACallAndStopsTheClock(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		h := seedHome(t, e.store, e.fx, e.clock.Now())
		rec := e.as(t, e.fx.Reception)
		r := rec.submit("/", "/deliveries/"+ids(h.call.ID)+"/call", url.Values{"answered": {"yes"}, "note": {"told her"}, "next": {"/"}})
		wantRedirect(t, r, "/#home-calls")
		calls, err := e.store.CallTasks(ctx, models.AllOrgs())
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range calls {
			if c.Delivery.ID == h.call.ID {
				t.Fatalf("the call is still to make: %+v", c)
			}
		}
		evs, err := e.store.ListAudit(ctx, models.AllOrgs(), models.AuditFilter{Action: models.AuditCallLogged, Limit: 10})
		if err != nil || len(evs) != 1 || evs[0].ActorID == nil || *evs[0].ActorID != e.fx.Reception.ID {
			t.Fatalf("call audit = %+v, %v, want one by reception", evs, err)
		}
		wantBody(t, rec.get("/"), zh("flash.call_logged"))
	})
}

func TestStaffOrganizationPageShowsContactsAndAsksForThem(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		seedHome(t, e.store, e.fx, e.clock.Now())
		a, b := ids(e.fx.OrgA.ID), ids(e.fx.OrgB.ID)
		runScenarios(t, e, []scenario{
			{name: "staff see the customer's contacts with their numbers, read-only",
				who: "reception", path: "/orgs/" + a, status: http.StatusOK,
				contains: []string{zh("org.contacts_title"), "Sun Li", "+86 138 0013 8000", "sun.li@alpha.test", zh("contacts.may_authorize")},
				lacks:    []string{zh("home.commitments"), "/contacts/", passphrase}},
			{name: "an organization without contacts says the customer adds them and offers to email its users",
				who: "service", path: "/orgs/" + b, status: http.StatusOK,
				contains: []string{zh("org.contacts_none"), zh("org.contacts_customer_adds"), `action="/orgs/` + b + `/ask-contacts"`, zh("org.contacts_ask", 1)}},
		})
		svc := e.as(t, e.fx.Service)
		wantRedirect(t, svc.submit("/orgs/"+b, "/orgs/"+b+"/ask-contacts", nil), "/orgs/"+b+"#org-contacts")
		evs, err := e.store.ListAudit(ctx, models.AllOrgs(), models.AuditFilter{Action: models.AuditContactsRequested, Limit: 10})
		if err != nil || len(evs) != 1 || evs[0].OrgID == nil || *evs[0].OrgID != e.fx.OrgB.ID {
			t.Fatalf("ask audit = %+v, %v", evs, err)
		}
		out, err := e.store.ClaimEvents(ctx, "test", time.Minute, 100)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ev := range out {
			if ev.Kind == models.EventContactsRequested {
				got, err := e.store.ExpandEvent(ctx, ev, "test", phoneAndEmail)
				if err != nil {
					t.Fatal(err)
				}
				n += got
			}
		}
		if n != 1 {
			t.Fatalf("deliveries of the request = %d, want one email to Bob Bravo", n)
		}
		wantStatus(t, e.as(t, e.fx.CustB).submit("/", "/orgs/"+b+"/ask-contacts", nil), http.StatusForbidden)
		wantStatus(t, svc.submit("/orgs/"+b, "/orgs/999999/ask-contacts", nil), http.StatusNotFound)
	})
}

func TestPhoneAuthorizationFormShowsTheContactsNumbers(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		h := seedHome(t, e.store, e.fx, e.clock.Now())
		runScenarios(t, e, []scenario{
			{name: "the engineer checks the caller against the numbers on file",
				who: "engineer", path: "/operations/" + h.sign.Ref, status: http.StatusOK,
				contains: []string{zh("operation.phone.contacts"), "Sun Li", `href="tel:+8613800138000"`}},
			{name: "the customer's own request page has no such table",
				who: "custA", path: "/operations/" + h.sign.Ref, status: http.StatusOK,
				lacks: []string{zh("operation.phone.contacts")}},
		})
	})
}

func TestOnCallLivePartIsAFragment(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		seedHome(t, e.store, e.fx, e.clock.Now())
		runScenarios(t, e, []scenario{
			{name: "staff get the live part alone, without the layout",
				who: "reception", path: "/oncall/live", status: http.StatusOK,
				contains: []string{"web-a", "db-b", zh("oncall.calls")}, lacks: []string{"<html", "<header"}},
			{name: "the on-call page names its live part and loads the refresh script",
				who: "engineer", path: "/oncall", status: http.StatusOK,
				contains: []string{`data-refresh="/oncall/live"`, `data-every="15"`, "/assets/refresh."}},
			{name: "customers get no live part", who: "custA", path: "/oncall/live", status: http.StatusForbidden},
		})
	})
}
