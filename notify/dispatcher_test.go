package notify

import (
	"context"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

const hookSecret = "gateway-secret-0123456789"

func newDispatcher(t *testing.T, s *models.Store, clock *fakeClock, id string, smtpPort int, hookURL string) *Dispatcher {
	t.Helper()
	cfg := Config{InstanceID: id, BaseURL: "https://portal.example", Location: shanghai(t), Clock: clock,
		SMTP: SMTPConfig{Host: "127.0.0.1", Port: smtpPort, Mode: ModeNone, From: "Colo NOC <noc@idc.test>",
			HeloName: "portal.test", Timeout: 5 * time.Second}}
	if hookURL != "" {
		cfg.Webhook = WebhookConfig{URL: hookURL, Secret: hookSecret, Timeout: 5 * time.Second}
	}
	return New(cfg, s, testLogger())
}

func openStore(t *testing.T, db dbtest.DB, clock *fakeClock) *models.Store {
	t.Helper()
	return dbtest.Open(t, db, models.WithClock(clock.Now), models.WithZone(shanghai(t)))
}

// mailTo returns the one message sent to addr with the given delivery ID.
func mailTo(t *testing.T, k *smtpSink, addr string, deliveryID int64) parsedMail {
	t.Helper()
	var found []parsedMail
	for _, m := range k.all() {
		p := parseMail(t, m)
		if m.To == addr && p.Header.Get("X-Portal-Delivery") == strconv.FormatInt(deliveryID, 10) {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d messages to %s for delivery %d, want 1", len(found), addr, deliveryID)
	}
	return found[0]
}

func deliveryOf(t *testing.T, ds []models.Delivery, contactID int64, ch models.Channel, event string) models.Delivery {
	t.Helper()
	for _, d := range ds {
		if d.ContactID == contactID && d.Channel == ch && d.Event == event {
			return d
		}
	}
	t.Fatalf("no %s delivery by %s to contact %d in %+v", event, ch, contactID, ds)
	return models.Delivery{}
}

func hookCall(t *testing.T, h *hookSink, deliveryID int64) Payload {
	t.Helper()
	var found []Payload
	for _, p := range h.all() {
		if p.DeliveryID == deliveryID {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d webhook calls for delivery %d, want 1", len(found), deliveryID)
	}
	return found[0]
}

func mustContain(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s lacks %q:\n%s", what, p, s)
		}
	}
}

// An outage confirmed through the prober path reaches each authorized
// contact by email (in the contact's language) and by signed webhook, the
// first accepted notice stops the 15-minute clock as met, and the
// recovery goes out the same ways when the device answers again.
func TestNoticesReachTheContactsAndStopTheClock(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := openStore(t, db, clock)
			fx := dbtest.Seed(t, s)
			w := newWorld(t, s, fx, fx.OrgA, "web-01", "10.0.0.5")
			zh := w.contact(t, models.ContactInput{Name: "孙丽", Email: "Sun.Li@alpha.test", Mobile: "138 0013 8000",
				Channels: []models.Channel{models.ChannelEmail, models.ChannelMobile}, Locale: "zh-CN"})
			en := w.contact(t, models.ContactInput{Name: "John Smith", Email: "john@alpha.test", Mobile: "139 1000 0001",
				Channels: []models.Channel{models.ChannelEmail, models.ChannelMobile}, Priority: 1, Locale: "en"})
			w.confirmContacts(t, fx.CustA)
			sink := startSMTP(t, ModeNone, nil, "", "")
			hook := startHook(t, hookSecret)
			r := startDispatchers(t, clock, newDispatcher(t, s, clock, "portal-a", sink.port(t), hook.url))

			confirmed := clock.Now()
			o := w.fail(t, confirmed)
			r.until(time.Minute, "four notices of the outage accepted", w.allDone(t, o.ID, models.EventOutageOpened, 4))
			ds, att := w.deliveries(t, o.ID)
			for _, d := range ds {
				if d.Status != models.DeliveryAccepted || d.Attempts != 1 || len(att[d.ID]) != 1 || att[d.ID][0].Result != models.DeliveryAccepted {
					t.Errorf("delivery %+v with attempts %+v, want accepted at the first try", d, att[d.ID])
				}
			}
			url := "https://portal.example/outages/" + strconv.FormatInt(o.ID, 10)

			t.Run("the Chinese contact's email is in Chinese", func(t *testing.T) {
				d := deliveryOf(t, ds, zh.ID, models.ChannelEmail, models.EventOutageOpened)
				m := mailTo(t, sink, "sun.li@alpha.test", d.ID)
				if m.Subject != "[紧急] 设备 web-01 中断（Ping（ICMP））" {
					t.Errorf("subject = %q", m.Subject)
				}
				if !strings.Contains(m.Raw, "Subject:\r\n =?UTF-8?q?") {
					t.Errorf("the subject is not encoded as RFC 2047 words:\n%s", m.Raw)
				}
				if m.To.Name != "孙丽" || m.To.Address != "sun.li@alpha.test" {
					t.Errorf("To = %+v", m.To)
				}
				mustContain(t, "body", m.Body, "孙丽，您好：", "我们的监测已确认您的设备 web-01 发生中断：连续 2 次探测失败。",
					"客户单位：Alpha Trading 阿尔法", "设备：web-01 (10.0.0.5)", "监测项：Ping（ICMP） 10.0.0.5",
					"开始时间：2026-11-02 16:55:00 UTC+08:00", "确认时间：2026-11-02 17:00:00 UTC+08:00",
					"失败的探测：", "2026-11-02 16:55:00  超时", "2026-11-02 17:00:00  不可达",
					"中断详情及全部通知记录："+url, "15 分钟内")
				if ct := m.Header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
					t.Errorf("Content-Type = %q", ct)
				}
				if date, err := m.Header.Date(); err != nil || !date.Equal(confirmed.Add(2*time.Second)) {
					t.Errorf("Date = %v (%v), want the send time", date, err)
				}
				if id := m.Header.Get("Message-ID"); !strings.HasPrefix(id, "<portal.") || !strings.HasSuffix(id, "@idc.test>") {
					t.Errorf("Message-ID = %q", id)
				}
				if from, err := mail.ParseAddress(m.Header.Get("From")); err != nil || from.Address != "noc@idc.test" || from.Name != "Colo NOC" {
					t.Errorf("From = %q", m.Header.Get("From"))
				}
				if m.Header.Get("Content-Language") != "zh-CN" || m.Header.Get("Auto-Submitted") != "auto-generated" {
					t.Errorf("headers = %v", m.Header)
				}
			})

			t.Run("the English contact's email is in English", func(t *testing.T) {
				d := deliveryOf(t, ds, en.ID, models.ChannelEmail, models.EventOutageOpened)
				m := mailTo(t, sink, "john@alpha.test", d.ID)
				if m.Subject != "[Emergency] web-01 unreachable (Ping (ICMP))" {
					t.Errorf("subject = %q", m.Subject)
				}
				mustContain(t, "body", m.Body, "Dear John Smith,", "Organization: Alpha Trading 阿尔法",
					"Check: Ping (ICMP) 10.0.0.5", "Started: 2026-11-02 16:55:00 UTC+08:00",
					"Confirmed: 2026-11-02 17:00:00 UTC+08:00", "Failed probes:", "16:55:00  Timed out", "17:00:00  Unreachable",
					"Outage details and every notification about it: "+url)
				if strings.Contains(m.Body, "您好") {
					t.Error("the English email has Chinese greeting")
				}
			})

			t.Run("each mobile gets a signed webhook in its language", func(t *testing.T) {
				for _, c := range []struct {
					contact *models.Contact
					number  string
					lang    string
					text    string
				}{{zh, "+8613800138000", "zh-CN", "【紧急】设备 web-01 自 11-02 16:55 起中断"}, {en, "+8613910000001", "en", "[Emergency] web-01 unreachable since 11-02 16:55"}} {
					d := deliveryOf(t, ds, c.contact.ID, models.ChannelMobile, models.EventOutageOpened)
					if d.Transport != models.TransportWebhook {
						t.Fatalf("mobile went by %s, want webhook", d.Transport)
					}
					p := hookCall(t, hook, d.ID)
					if p.Event != models.EventOutageOpened || p.Language != c.lang || p.Contact.Channel != "mobile" ||
						p.Contact.Address != c.number || p.Contact.Name != c.contact.Name || p.Organization.ID != fx.OrgA.ID ||
						p.Outage.ID != o.ID || p.Outage.Device != "web-01" || p.Outage.Check.Kind != "icmp" ||
						!p.Outage.ConfirmedAt.Equal(confirmed) || !p.Outage.StartedAt.Equal(confirmed.Add(-5*time.Minute)) ||
						p.Outage.URL != url || p.Outage.EndedAt != nil {
						t.Errorf("payload = %+v", p)
					}
					if !strings.HasPrefix(p.Message, c.text) || utf8.RuneCountInString(p.Message) > MaxShort {
						t.Errorf("message = %q (%d characters)", p.Message, utf8.RuneCountInString(p.Message))
					}
				}
				if hook.badSigs != 0 {
					t.Errorf("%d webhook calls with a bad signature", hook.badSigs)
				}
			})

			t.Run("the clock is stopped as met with both times", func(t *testing.T) {
				c, err := s.OutageClock(ctx, models.AllOrgs(), fx.OrgA.ID, o.ID)
				if err != nil || c == nil {
					t.Fatalf("clock = %v, %v", c, err)
				}
				if c.Outcome != models.ClockMet || !c.StartedAt.Equal(confirmed) || c.StoppedAt == nil ||
					!c.StoppedAt.Equal(confirmed.Add(2*time.Second)) || !c.DeadlineAt.Equal(confirmed.Add(15*time.Minute)) {
					t.Fatalf("clock = %+v", c)
				}
				if c.StopRef == nil {
					t.Error("the clock does not name the delivery that stopped it")
				}
			})

			// Then, in order, the recovery and a second outage: steps of one
			// flow, not subtests, as each needs the one before (the second
			// outage can only open once the first has ended).

			// A recovery notice goes to the same contacts by the same channels.
			func() {
				r.step(10 * time.Minute)
				ended := clock.Now()
				w.recover(t, ended)
				r.until(time.Minute, "four recovery notices accepted", w.allDone(t, o.ID, models.EventOutageClosed, 4))
				ds, _ := w.deliveries(t, o.ID)
				m := mailTo(t, sink, "sun.li@alpha.test", deliveryOf(t, ds, zh.ID, models.ChannelEmail, models.EventOutageClosed).ID)
				if m.Subject != "[恢复] 设备 web-01 已恢复（Ping（ICMP））" {
					t.Errorf("subject = %q", m.Subject)
				}
				mustContain(t, "recovery body", m.Body, "您的设备 web-01 已恢复可达", "结束时间：2026-11-02 17:10:02 UTC+08:00", "持续时间：15 分钟")
				m = mailTo(t, sink, "john@alpha.test", deliveryOf(t, ds, en.ID, models.ChannelEmail, models.EventOutageClosed).ID)
				if m.Subject != "[Recovered] web-01 reachable again (Ping (ICMP))" {
					t.Errorf("subject = %q", m.Subject)
				}
				mustContain(t, "recovery body", m.Body, "Duration: 15 min")
				p := hookCall(t, hook, deliveryOf(t, ds, zh.ID, models.ChannelMobile, models.EventOutageClosed).ID)
				if p.Event != models.EventOutageClosed || p.Outage.EndedAt == nil || !p.Outage.EndedAt.Equal(ended) ||
					!strings.HasPrefix(p.Message, "【恢复】设备 web-01 已于 11-02 17:10 恢复") {
					t.Errorf("recovery payload = %+v", p)
				}
				c, _ := s.OutageClock(ctx, models.AllOrgs(), fx.OrgA.ID, o.ID)
				if c.Outcome != models.ClockMet || !c.StoppedAt.Equal(confirmed.Add(2*time.Second)) {
					t.Errorf("the recovery changed the clock: %+v", c)
				}
				if n := len(sink.all()); n != 4 {
					t.Errorf("%d emails in all, want 4", n)
				}
			}()

			// A refused address bounces at once and a busy gateway is retried.
			func() {
				bad := w.contact(t, models.ContactInput{Name: "Nobody", Email: "nobody@alpha.test",
					Channels: []models.Channel{models.ChannelEmail}, Priority: 2, Locale: "en"})
				hook.mu.Lock()
				hook.failNext = 2
				hook.mu.Unlock()
				r.step(time.Hour)
				o2 := w.fail(t, clock.Now())
				r.step(0)
				ds, att := w.deliveries(t, o2.ID)
				b := deliveryOf(t, ds, bad.ID, models.ChannelEmail, models.EventOutageOpened)
				if b.Status != models.DeliveryBounced || len(att[b.ID]) != 1 || !strings.Contains(b.LastError, "550") {
					t.Errorf("refused address: %+v, attempts %+v", b, att[b.ID])
				}
				first := clock.Now()
				r.until(2*time.Minute, "the mobiles reached on the second try", w.allDone(t, o2.ID, models.EventOutageOpened, 5))
				ds, att = w.deliveries(t, o2.ID)
				for _, c := range []*models.Contact{zh, en} {
					d := deliveryOf(t, ds, c.ID, models.ChannelMobile, models.EventOutageOpened)
					as := att[d.ID]
					if d.Status != models.DeliveryAccepted || len(as) != 2 || as[0].Result != models.DeliveryFailed ||
						!strings.Contains(as[0].Error, "503") || !as[0].At.Equal(first) || as[1].At.Before(first.Add(30*time.Second)) {
						t.Errorf("busy gateway: %+v, attempts %+v", d, as)
					}
				}
				if b2, _ := w.deliveries(t, o2.ID); deliveryOf(t, b2, bad.ID, models.ChannelEmail, models.EventOutageOpened).Attempts != 1 {
					t.Error("the bounced address was tried again")
				}
			}()
		})
	}
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// With the mail server down and no other channel, the clock runs out
// after 15 minutes and costs one day's fee, once a day; details that staff
// marked wrong waive it.
func TestUndeliveredNoticeMissesTheClock(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := openStore(t, db, clock)
			fx := dbtest.Seed(t, s)
			w := newWorld(t, s, fx, fx.OrgB, "db-01", "10.0.1.7")
			bob := w.contact(t, models.ContactInput{Name: "Bob Bravo", Email: "bob@bravo.test",
				Channels: []models.Channel{models.ChannelEmail}, Locale: "en"})
			w.confirmContacts(t, fx.CustB)
			r := startDispatchers(t, clock, newDispatcher(t, s, clock, "portal-a", closedPort(t), ""))
			org := fx.OrgB.ID
			lines := func(day string) (all []models.Deduction, days int) {
				t.Helper()
				all, err := s.ListDeductions(ctx, models.AllOrgs(), org, day, day+"~")
				if err != nil {
					t.Fatal(err)
				}
				for _, l := range all {
					days += l.Days
				}
				return all, days
			}
			day := clock.Now().In(shanghai(t)).Format("2006-01-02")

			t.Run("after 15 minutes the clock is missed and one day's fee deducted", func(t *testing.T) {
				confirmed := clock.Now()
				o := w.fail(t, confirmed)
				r.step(0)
				ds, att := w.deliveries(t, o.ID)
				if len(ds) != 1 || ds[0].Status != models.DeliveryPending || len(att[ds[0].ID]) != 1 ||
					!strings.Contains(att[ds[0].ID][0].Error, "connect") {
					t.Fatalf("after the first try: %+v, %+v", ds, att)
				}
				for clock.Now().Before(confirmed.Add(14 * time.Minute)) {
					r.step(time.Minute)
				}
				if c, _ := s.OutageClock(ctx, models.AllOrgs(), org, o.ID); c.Outcome != models.ClockRunning {
					t.Fatalf("clock %s after 14 minutes, want running", c.Outcome)
				}
				r.step(confirmed.Add(15*time.Minute + time.Second).Sub(clock.Now()))
				c, _ := s.OutageClock(ctx, models.AllOrgs(), org, o.ID)
				if c.Outcome != models.ClockMissed || !c.StartedAt.Equal(confirmed) || !c.DeadlineAt.Equal(confirmed.Add(15*time.Minute)) {
					t.Fatalf("clock = %+v, want missed", c)
				}
				all, days := lines(day)
				if len(all) != 1 || days != 1 || all[0].Waived || all[0].ClockID != c.ID || all[0].Day != day {
					t.Fatalf("deductions = %+v", all)
				}
				ds, att = w.deliveries(t, o.ID)
				if n := len(att[ds[0].ID]); n < 4 || ds[0].Status != models.DeliveryPending {
					t.Errorf("%d tries in 15 minutes, status %s; want retries with backoff, still pending", n, ds[0].Status)
				}
				for i := 2; i < len(att[ds[0].ID]); i++ {
					a := att[ds[0].ID]
					if gap, prev := a[i].At.Sub(a[i-1].At), a[i-1].At.Sub(a[i-2].At); gap < prev {
						t.Errorf("retry gaps shrink: %v after %v", gap, prev)
					}
				}
			})

			t.Run("a second outage the same day adds no second charged day", func(t *testing.T) {
				w.recover(t, clock.Now())
				r.step(time.Hour)
				w.fail(t, clock.Now())
				r.step(0)
				r.step(16 * time.Minute)
				// The second miss has its line, as already charged that day.
				all, days := lines(day)
				if len(all) != 2 || days != 1 || all[1].Outcome() != models.OutcomeNotFirst {
					t.Fatalf("deductions = %+v", all)
				}
			})

			t.Run("with the email marked wrong by staff the miss is waived with the reason", func(t *testing.T) {
				w.recover(t, clock.Now())
				r.step(24 * time.Hour)
				next := clock.Now().In(shanghai(t)).Format("2006-01-02")
				if err := s.MarkContactDetailWrong(ctx, models.UserActor(fx.Engineer, "10.0.0.1"), bob.ID, models.ChannelEmail, "mailbox does not exist"); err != nil {
					t.Fatal(err)
				}
				w.fail(t, clock.Now())
				r.step(0)
				r.step(16 * time.Minute)
				all, days := lines(next)
				if len(all) != 1 || days != 0 || !all[0].Waived || all[0].WaiverReason != models.WaiverWrongDetails {
					t.Fatalf("deductions on %s = %+v", next, all)
				}
			})
		})
	}
}

// Two dispatchers on one database, each with its own connection pool,
// racing for the same work, send every notice exactly once. The four
// outages, confirmed before any notice went out, share one notice.
func TestTwoDispatchersSendEachNoticeOnce(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			clock := newFakeClock()
			s1, s2 := openStore(t, db, clock), openStore(t, db, clock)
			fx := dbtest.Seed(t, s1)
			var worlds []*world
			for i := range 4 {
				worlds = append(worlds, newWorld(t, s1, fx, fx.OrgA, "web-0"+strconv.Itoa(i+1), "10.0.0."+strconv.Itoa(i+1)))
			}
			w := worlds[0]
			w.contact(t, models.ContactInput{Name: "孙丽", Email: "sun.li@alpha.test", Mobile: "138 0013 8000",
				Channels: []models.Channel{models.ChannelEmail, models.ChannelMobile}, Locale: "zh-CN"})
			w.contact(t, models.ContactInput{Name: "John Smith", Email: "john@alpha.test", Mobile: "139 1000 0001",
				Channels: []models.Channel{models.ChannelEmail, models.ChannelMobile}, Priority: 1, Locale: "en"})
			sink := startSMTP(t, ModeNone, nil, "", "")
			hook := startHook(t, hookSecret)
			var ds []*Dispatcher
			for i, s := range []*models.Store{s1, s2} {
				d := newDispatcher(t, s, clock, "portal-"+strconv.Itoa(i+1), sink.port(t), hook.url)
				d.cfg.Batch, d.cfg.Workers = 2, 2 // small claims, so the two interleave
				ds = append(ds, d)
			}
			r := startDispatchers(t, clock, ds...)

			var outages []models.Outage
			for _, w := range worlds {
				outages = append(outages, w.fail(t, clock.Now()))
			}
			done := func(event string) func() bool {
				return func() bool {
					for _, o := range outages {
						if !w.allDone(t, o.ID, event, 4)() {
							return false
						}
					}
					return true
				}
			}
			r.until(5*time.Minute, "every outage notice sent", done(models.EventOutageOpened))
			for _, w := range worlds {
				w.recover(t, clock.Now())
			}
			r.until(5*time.Minute, "every recovery notice sent", done(models.EventOutageClosed))

			mails, calls := map[string]int{}, map[int64]int{}
			for _, m := range sink.all() {
				mails[parseMail(t, m).Header.Get("X-Portal-Delivery")]++
			}
			for _, p := range hook.all() {
				calls[p.DeliveryID]++
			}
			// The four outages share one notice, and their recoveries one
			// recovery notice: each delivery is listed under every outage.
			var emails, hooks int
			seen := map[int64]bool{}
			for _, o := range outages {
				dels, att := w.deliveries(t, o.ID)
				for _, d := range dels {
					if seen[d.ID] {
						continue
					}
					seen[d.ID] = true
					if d.Status != models.DeliveryAccepted || len(att[d.ID]) != 1 {
						t.Errorf("delivery %d: %s with %d attempts, want accepted once", d.ID, d.Status, len(att[d.ID]))
					}
					switch d.Transport {
					case models.TransportEmail:
						emails++
						if n := mails[strconv.FormatInt(d.ID, 10)]; n != 1 {
							t.Errorf("delivery %d: %d emails, want 1", d.ID, n)
						}
					case models.TransportWebhook:
						hooks++
						if n := calls[d.ID]; n != 1 {
							t.Errorf("delivery %d: %d webhook calls, want 1", d.ID, n)
						}
					}
				}
			}
			if emails != 4 || hooks != 4 || len(sink.all()) != 4 || len(hook.all()) != 4 {
				t.Errorf("%d email and %d webhook deliveries, %d emails and %d calls received; want 4 of each",
					emails, hooks, len(sink.all()), len(hook.all()))
			}
		})
	}
}
