package notify

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// eventMails returns the messages received so far about one event kind,
// decoded.
func eventMails(t *testing.T, k *smtpSink, event string) []parsedMail {
	t.Helper()
	var out []parsedMail
	for _, m := range k.all() {
		if p := parseMail(t, m); p.Header.Get("X-Portal-Event") == event {
			out = append(out, p)
		}
	}
	return out
}

// mailsTo returns the messages about event sent to addr.
func mailsTo(t *testing.T, k *smtpSink, event, addr string) []parsedMail {
	t.Helper()
	var out []parsedMail
	for _, m := range eventMails(t, k, event) {
		if m.To.Address == addr {
			out = append(out, m)
		}
	}
	return out
}

// customerDeliveries are the deliveries of an organization that belong to
// no outage: operation messages and phone locks.
func customerDeliveries(t *testing.T, s *models.Store, orgID int64) []models.Delivery {
	t.Helper()
	ds, _, err := s.OutageDeliveries(context.Background(), models.AllOrgs(), orgID, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// sentAll reports whether n emails about event went out and no delivery
// of orgID outside an outage is still pending.
func sentAll(t *testing.T, s *models.Store, k *smtpSink, orgID int64, event string, n int) func() bool {
	return func() bool {
		for _, d := range customerDeliveries(t, s, orgID) {
			if d.Status == models.DeliveryPending {
				return false
			}
		}
		return len(eventMails(t, k, event)) == n
	}
}

func checkEmailOnly(t *testing.T, ds []models.Delivery) {
	t.Helper()
	for _, d := range ds {
		if d.Transport != models.TransportEmail || d.Channel != models.ChannelEmail || d.OutageID != 0 || d.Authorized ||
			d.Status != models.DeliveryAccepted || d.Attempts != 1 {
			t.Errorf("delivery %+v, want an accepted email about no outage, not authorized", d)
		}
	}
}

// An engineer's message on an authorized request goes by email to the
// user who asked for the work and to each contact who signed, once per
// address, in each one's language; a customer's own message sends
// nothing; and no SLA clock moves.
func TestOperationMessageEmailsRequesterAndSigners(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := openStore(t, db, clock)
			fx := dbtest.Seed(t, s)
			org := fx.OrgA.ID
			w := newWorld(t, s, fx, fx.OrgA, "web-01", "10.0.0.5")
			if err := s.SetLocale(ctx, fx.CustA.ID, "en"); err != nil {
				t.Fatal(err)
			}
			// Outage notices go to office phones only, so the emergency
			// clock keeps running while the operation emails go out.
			office := []models.Channel{models.ChannelOffice}
			sun := w.contact(t, models.ContactInput{Name: "孙丽", Email: "Sun.Li@alpha.test", OfficePhone: "010 5555 0001",
				Channels: office, Locale: "zh-CN"})
			john := w.contact(t, models.ContactInput{Name: "John Smith", Email: "john@alpha.test", OfficePhone: "010 5555 0002",
				Channels: office, Priority: 1, Locale: "en"})
			alice := w.contact(t, models.ContactInput{Name: "Alice Alpha", Email: "A@alpha.test", OfficePhone: "010 5555 0003",
				Channels: office, Priority: 2, Locale: "zh-CN"}) // the requester's own address
			o := w.fail(t, clock.Now())

			eng := models.UserActor(fx.Engineer, "10.0.0.1")
			cust := models.UserActor(fx.CustA, "192.0.2.10")
			req, err := s.CreateRequest(ctx, cust, org, models.RequestInput{Title: "Replace failed disk",
				Work: "Swap the failed disk in bay 2 of web-01.", Urgency: "urgent", DeviceIDs: []int64{w.dev.ID}, RequestedBy: &fx.CustA.ID})
			if err != nil {
				t.Fatal(err)
			}
			// 孙丽 authorizes twice, Alice once; John gives a wrong
			// passphrase and authorizes nothing.
			for _, c := range []*models.Contact{sun, sun, alice} {
				if _, err := s.RecordPhoneAuthorization(ctx, eng, org, req.ID, models.PhoneInput{ContactID: c.ID, Passphrase: "blue harbour 42"}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.RecordPhoneAuthorization(ctx, eng, org, req.ID, models.PhoneInput{ContactID: john.ID, Passphrase: "red harbour 42"}); err == nil {
				t.Fatal("a wrong passphrase authorized")
			}
			clock.Advance(3 * time.Minute)
			msg, err := s.PostMessage(ctx, eng, org, req.ID, true, "磁盘已到货，18:00 开始更换。\r\nThe new disk has arrived; we start at 18:00.")
			if err != nil {
				t.Fatal(err)
			}
			clocksBefore := requestClocks(t, s, org, req.ID)
			sink := startSMTP(t, ModeNone, nil, "", "")
			r := startDispatchers(t, clock, newDispatcher(t, s, clock, "portal-a", sink.port(t), ""))
			r.until(time.Minute, "the message emailed", sentAll(t, s, sink, org, models.EventOperationMessage, 2))
			r.step(time.Minute) // room for anything extra to show up
			url := "https://portal.example/operations/" + req.Ref
			number := req.Number()

			t.Run("one email to the requester and one to the signing contact", func(t *testing.T) {
				got := map[string]int{}
				for _, m := range eventMails(t, sink, models.EventOperationMessage) {
					got[m.To.Address]++
				}
				if want := map[string]int{"a@alpha.test": 1, "sun.li@alpha.test": 1}; !reflect.DeepEqual(got, want) {
					t.Errorf("emails by address = %v, want %v", got, want)
				}
				ds := customerDeliveries(t, s, org)
				checkEmailOnly(t, ds)
				if len(ds) != 2 || ds[0].ContactID != 0 || ds[0].Address != "a@alpha.test" || ds[0].Locale != "en" ||
					ds[1].ContactID != sun.ID || ds[1].Locale != "zh-CN" {
					t.Errorf("deliveries = %+v, want the requester (no contact, en) then 孙丽 (zh-CN)", ds)
				}
			})

			t.Run("the requester's email is in English", func(t *testing.T) {
				m := mailsTo(t, sink, models.EventOperationMessage, "a@alpha.test")[0]
				if want := "[" + number + "] Message from the data center: Replace failed disk"; m.Subject != want {
					t.Errorf("subject = %q, want %q", m.Subject, want)
				}
				if m.To.Name != "Alice Alpha" || m.Header.Get("Content-Language") != "en" {
					t.Errorf("To = %+v, Content-Language %q", m.To, m.Header.Get("Content-Language"))
				}
				mustContain(t, "body", m.Body, "Dear Alice Alpha,",
					"Li Engineer of the data center has written about your operation request "+number+" (Replace failed disk):",
					// The mail has CRLF line ends; the message's own CRLF is one of them.
					"\r\n    磁盘已到货，18:00 开始更换。\r\n    The new disk has arrived; we start at 18:00.\r\n",
					"Request: "+number+" Replace failed disk", "Organization: Alpha Trading 阿尔法", "Status: Authorized",
					"Written: 2026-11-02 17:03:00 UTC+08:00", "The request, the whole conversation and your reply: "+url,
					"because you asked for this work for Alpha Trading 阿尔法")
				if strings.Contains(m.Body, "您好") {
					t.Errorf("the English email has a Chinese greeting:\n%s", m.Body)
				}
			})

			t.Run("the signing contact's email is in Chinese", func(t *testing.T) {
				m := mailsTo(t, sink, models.EventOperationMessage, "sun.li@alpha.test")[0]
				if want := "[" + number + "] 机房回复：Replace failed disk"; m.Subject != want {
					t.Errorf("subject = %q, want %q", m.Subject, want)
				}
				if m.To.Name != "孙丽" || m.Header.Get("Content-Language") != "zh-CN" {
					t.Errorf("To = %+v, Content-Language %q", m.To, m.Header.Get("Content-Language"))
				}
				mustContain(t, "body", m.Body, "孙丽，您好：", "机房工作人员 Li Engineer 就贵方的操作申请 "+number+"（Replace failed disk）留言：",
					"    磁盘已到货，18:00 开始更换。", "    The new disk has arrived; we start at 18:00.",
					"操作申请："+number+" Replace failed disk", "状态：已授权", "留言时间：2026-11-02 17:03:00 UTC+08:00",
					"申请详情、全部往来消息及回复："+url, "授权此项操作的授权联系人")
			})

			t.Run("no SLA clock moves", func(t *testing.T) {
				if after := requestClocks(t, s, org, req.ID); !reflect.DeepEqual(after, clocksBefore) {
					t.Errorf("request clocks changed:\nbefore %+v\nafter  %+v", clocksBefore, after)
				}
				var feedback *models.Clock
				for i, c := range clocksBefore {
					if c.Kind == models.ClockOperationFeedback {
						feedback = &clocksBefore[i]
					}
				}
				if feedback == nil || feedback.Outcome != models.ClockMet || feedback.StopRef == nil || *feedback.StopRef != msg.ID {
					t.Errorf("feedback clock = %+v, want met, stopped by the message", feedback)
				}
				c, err := s.OutageClock(ctx, models.AllOrgs(), org, o.ID)
				if err != nil || c == nil || c.Outcome != models.ClockRunning || c.StoppedAt != nil || c.StopRef != nil {
					t.Errorf("emergency clock = %+v (%v), want still running", c, err)
				}
			})

			t.Run("a customer's own message sends nothing", func(t *testing.T) {
				before := len(sink.all())
				if _, err := s.PostMessage(ctx, cust, org, req.ID, false, "Thanks, go ahead."); err != nil {
					t.Fatal(err)
				}
				r.step(time.Minute)
				r.step(0)
				if n := len(sink.all()); n != before {
					t.Errorf("%d emails after the customer's message, want %d", n, before)
				}
				if n := len(customerDeliveries(t, s, org)); n != 2 {
					t.Errorf("%d deliveries, want still 2", n)
				}
			})

			t.Run("a later engineer's message goes out the same way", func(t *testing.T) {
				if _, err := s.PostMessage(ctx, eng, org, req.ID, true, "Done, the array is rebuilding."); err != nil {
					t.Fatal(err)
				}
				r.until(time.Minute, "the second message emailed", sentAll(t, s, sink, org, models.EventOperationMessage, 4))
				for _, addr := range []string{"a@alpha.test", "sun.li@alpha.test"} {
					ms := mailsTo(t, sink, models.EventOperationMessage, addr)
					bodies := ""
					for _, m := range ms {
						bodies += m.Body
					}
					if len(ms) != 2 || !strings.Contains(bodies, "Done, the array is rebuilding.") {
						t.Errorf("%s got %d emails, want 2, one with the new message", addr, len(ms))
					}
				}
				if len(mailsTo(t, sink, models.EventOperationMessage, "john@alpha.test")) != 0 {
					t.Error("the contact who did not sign got an email")
				}
			})
		})
	}
}

// requestClocks returns the first-feedback and written-follow-up clocks of
// a request.
func requestClocks(t *testing.T, s *models.Store, orgID, reqID int64) []models.Clock {
	t.Helper()
	d, err := s.GetRequestDetail(context.Background(), models.AllOrgs(), orgID, reqID)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Clocks) == 0 {
		t.Fatal("the request has no clocks")
	}
	return d.Clocks
}

// Five wrong passphrases on the phone lock phone authorization for the
// contact, and every enabled customer user of the organization and the
// contact itself are told by email in their language; other
// organizations' users, disabled users and other contacts are not.
func TestPhoneLockEmailsTheOrganization(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := openStore(t, db, clock)
			fx := dbtest.Seed(t, s)
			org := fx.OrgA.ID
			w := newWorld(t, s, fx, fx.OrgA, "web-01", "10.0.0.5")
			sys := models.SystemActor("test")
			ops, err := s.CreateUser(ctx, sys, models.UserInput{Email: "ops@alpha.test", Name: "Oscar Ops", Role: models.RoleCustomer,
				OrgID: &org, Password: dbtest.Password, Locale: "en"})
			if err != nil {
				t.Fatal(err)
			}
			old, err := s.CreateUser(ctx, sys, models.UserInput{Email: "old@alpha.test", Name: "Olga Old", Role: models.RoleCustomer,
				OrgID: &org, Password: dbtest.Password, Locale: "en"})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.SetUserDisabled(ctx, sys, old.ID, true); err != nil {
				t.Fatal(err)
			}
			john := w.contact(t, models.ContactInput{Name: "John Smith", Email: "john@alpha.test", Locale: "en"})
			w.contact(t, models.ContactInput{Name: "孙丽", Email: "sun.li@alpha.test", Priority: 1, Locale: "zh-CN"})
			bravo := newWorld(t, s, fx, fx.OrgB, "db-01", "10.0.1.7")
			bravo.contact(t, models.ContactInput{Name: "Bob Bravo", Email: "bob@bravo.test", Locale: "en"})

			eng := models.UserActor(fx.Engineer, "10.0.0.1")
			req, err := s.CreateRequest(ctx, eng, org, models.RequestInput{Title: "Reboot web-01", Work: "Power-cycle web-01.",
				Urgency: "emergency", DeviceIDs: []int64{w.dev.ID}, Channel: "phone"})
			if err != nil {
				t.Fatal(err)
			}
			for i := range models.PhoneLockAfter {
				_, err := s.RecordPhoneAuthorization(ctx, eng, org, req.ID, models.PhoneInput{ContactID: john.ID, Passphrase: "wrong guess " + strconv.Itoa(i)})
				if err == nil {
					t.Fatalf("wrong passphrase %d accepted", i+1)
				}
			}
			c, err := s.GetContact(ctx, models.OrgScope(org), john.ID)
			if err != nil || c.PhoneLocked(clock.Now()) == nil {
				t.Fatalf("after five wrong passphrases the contact is not locked: %+v, %v", c, err)
			}

			sink := startSMTP(t, ModeNone, nil, "", "")
			r := startDispatchers(t, clock, newDispatcher(t, s, clock, "portal-a", sink.port(t), ""))
			r.until(time.Minute, "the lock emailed", sentAll(t, s, sink, org, models.EventPhoneLocked, 3))
			r.step(time.Minute)

			t.Run("the organization's enabled users and the contact get one email each", func(t *testing.T) {
				got := map[string]int{}
				for _, m := range eventMails(t, sink, models.EventPhoneLocked) {
					got[m.To.Address]++
				}
				if want := map[string]int{"a@alpha.test": 1, "ops@alpha.test": 1, "john@alpha.test": 1}; !reflect.DeepEqual(got, want) {
					t.Errorf("emails by address = %v, want %v", got, want)
				}
				if n := len(sink.all()); n != 3 {
					t.Errorf("%d emails in all, want 3", n)
				}
				ds := customerDeliveries(t, s, org)
				checkEmailOnly(t, ds)
				if len(ds) != 3 || ds[0].ContactID != 0 || ds[0].Locale != "zh-CN" || ds[1].ContactID != 0 || ds[1].Address != ops.Email ||
					ds[2].ContactID != john.ID {
					t.Errorf("deliveries = %+v", ds)
				}
				if ds := customerDeliveries(t, s, fx.OrgB.ID); len(ds) != 0 {
					t.Errorf("organization B has deliveries: %+v", ds)
				}
			})

			t.Run("a user who chose no language reads it in Chinese", func(t *testing.T) {
				m := mailsTo(t, sink, models.EventPhoneLocked, "a@alpha.test")[0]
				if m.Subject != "[安全] John Smith 的电话授权已锁定" {
					t.Errorf("subject = %q", m.Subject)
				}
				mustContain(t, "body", m.Body, "Alice Alpha，您好：",
					"John Smith（Alpha Trading 阿尔法 的授权联系人）的电话授权已锁定至 2026-11-02 18:00:00 UTC+08:00：一小时内电话中 5 次报错口令。",
					"签字的书面授权书仍然有效", "如非贵方人员所为，请立即致电机房。", "https://portal.example/contacts", "的门户用户收到此邮件")
			})

			t.Run("an English user reads it in English", func(t *testing.T) {
				m := mailsTo(t, sink, models.EventPhoneLocked, "ops@alpha.test")[0]
				if m.Subject != "[Security] Phone authorization locked for John Smith" || m.To.Name != "Oscar Ops" {
					t.Errorf("subject = %q, To = %+v", m.Subject, m.To)
				}
				mustContain(t, "body", m.Body, "Dear Oscar Ops,",
					"Phone authorization for John Smith, an authorized contact of Alpha Trading 阿尔法, is locked until 2026-11-02 18:00:00 UTC+08:00: 5 wrong passphrases were given on the phone within an hour.",
					"A signed written authorization is still accepted.", "If this was not you or a colleague, call the data center at once.",
					"Your authorized contacts: https://portal.example/contacts", "as a portal user of Alpha Trading 阿尔法")
			})

			t.Run("the locked contact is told as the one concerned", func(t *testing.T) {
				m := mailsTo(t, sink, models.EventPhoneLocked, "john@alpha.test")[0]
				mustContain(t, "body", m.Body, "Dear John Smith,", "locked until 2026-11-02 18:00:00 UTC+08:00",
					"as the authorized contact of Alpha Trading 阿尔法 whose phone authorization is locked")
			})
		})
	}
}
