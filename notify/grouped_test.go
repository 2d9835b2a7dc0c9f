package notify

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// groupedStore is a store with the production gathering window.
func groupedStore(t *testing.T, db dbtest.DB, clock *fakeClock) *models.Store {
	t.Helper()
	return dbtest.Open(t, db, models.WithClock(clock.Now), models.WithZone(shanghai(t)), models.WithNoticeWindow(time.Minute))
}

// mailsOf returns the messages received for the deliveries ds, in the
// order received.
func mailsOf(t *testing.T, k *smtpSink, ds []models.Delivery) []parsedMail {
	t.Helper()
	ids := map[string]bool{}
	for _, d := range ds {
		ids[fmt.Sprint(d.ID)] = true
	}
	var out []parsedMail
	for _, m := range k.all() {
		if p := parseMail(t, m); ids[p.Header.Get("X-Portal-Delivery")] {
			out = append(out, p)
		}
	}
	return out
}

func ofEvent(ds []models.Delivery, event, transport string) []models.Delivery {
	var out []models.Delivery
	for _, d := range ds {
		if d.Event == event && d.Transport == transport {
			out = append(out, d)
		}
	}
	return out
}

// Outages confirmed within the window share one notice, which lists a
// device that recovered before it went out as recovered (and no separate
// recovery follows); recoveries after it went out share one recovery
// notice, which never goes out before the notice of the outages it
// tells the end of. (Before grouping: one email per outage, and a
// recovery email for each.)
func TestAGroupedNoticeListsRecoveriesAndRecoveriesFollowIt(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := groupedStore(t, db, clock)
			fx := dbtest.Seed(t, s)
			var ws []*world
			for i := range 4 {
				ws = append(ws, newWorld(t, s, fx, fx.OrgA, fmt.Sprintf("web-%02d", i+1), fmt.Sprintf("10.0.0.%d", i+1)))
			}
			ws[0].contact(t, models.ContactInput{Name: "John Smith", Email: "john@alpha.test", Mobile: "139 1000 0001",
				Channels: []models.Channel{models.ChannelEmail, models.ChannelMobile}, Locale: "en"})
			ws[0].confirmContacts(t, fx.CustA)
			sink := startSMTP(t, ModeNone, nil, "", "")
			hook := startHook(t, hookSecret)
			r := startDispatchers(t, clock, newDispatcher(t, s, clock, "portal-a", sink.port(t), hook.url))

			o1 := ws[0].fail(t, clock.Now())
			r.step(10 * time.Second)
			o2 := ws[1].fail(t, clock.Now())
			r.step(10 * time.Second)
			ws[0].recover(t, clock.Now())
			r.until(2*time.Minute, "the notice of both outages sent", ws[0].allDone(t, o2.ID, models.EventOutageOpened, 2))

			ds, _ := ws[0].deliveries(t, o1.ID)
			if len(ds) != 2 || ds[0].NoticeID == 0 {
				t.Fatalf("deliveries of the recovered outage: %+v, want the notice's email and webhook, no recovery", ds)
			}
			mails := mailsOf(t, sink, ds)
			if len(mails) != 1 || len(sink.all()) != 1 {
				t.Fatalf("%d mails of the notice, %d in all; want 1", len(mails), len(sink.all()))
			}
			m := mails[0]
			if m.Subject != "[Emergency] 2 devices down at Alpha Trading 阿尔法" {
				t.Errorf("subject = %q", m.Subject)
			}
			mustContain(t, "body", m.Body, "Our monitoring has confirmed outages of 2 of your devices.",
				"1 of them are reachable again already", "web-01 (10.0.0.1): Ping (ICMP) 10.0.0.1, down since 2026-11-02 16:55:00 UTC+08:00, recovered at 2026-11-02 17:00:20 UTC+08:00",
				"web-02 (10.0.0.2): Ping (ICMP) 10.0.0.2, down since 2026-11-02 16:55:10 UTC+08:00",
				"https://portal.example/uptime?state=down", "within 15 minutes")
			if strings.Contains(m.Body, "16:55:10 UTC+08:00, recovered") {
				t.Errorf("the device still down is listed as recovered:\n%s", m.Body)
			}
			p := hookCall(t, hook, ofEvent(ds, models.EventOutageOpened, models.TransportWebhook)[0].ID)
			if p.NoticeID != ds[0].NoticeID || p.Count != 2 || len(p.Outages) != 2 || p.Outages[0].EndedAt == nil || p.Outages[1].EndedAt != nil {
				t.Errorf("webhook payload = %+v", p)
			}
			if !strings.Contains(p.Message, "2 devices of Alpha Trading") {
				t.Errorf("short text = %q", p.Message)
			}

			// Sent: a new outage gets a notice of its own, which reads as a
			// notice of one outage always did.
			o3 := ws[2].fail(t, clock.Now())
			r.until(2*time.Minute, "the third outage's notice sent", ws[0].allDone(t, o3.ID, models.EventOutageOpened, 2))
			ds3, _ := ws[0].deliveries(t, o3.ID)
			if ds3[0].NoticeID == ds[0].NoticeID {
				t.Fatal("an outage confirmed after the notice went out joined it")
			}
			if m := mailsOf(t, sink, ds3); len(m) != 1 || m[0].Subject != "[Emergency] web-03 unreachable (Ping (ICMP))" {
				t.Fatalf("third notice: %+v", m)
			}

			// The mail server refuses for a while: the fourth outage's
			// notice waits, and so must the recovery of the second, third
			// and fourth.
			sink.down.Store(true)
			o4 := ws[3].fail(t, clock.Now())
			r.step(61 * time.Second)
			for _, w := range ws[1:] {
				w.recover(t, clock.Now())
			}
			r.step(3 * time.Minute)
			r.step(time.Minute)
			closed := func() []models.Delivery {
				ds, _ := ws[0].deliveries(t, o4.ID)
				return ofEvent(ds, models.EventOutageClosed, models.TransportEmail)
			}
			if c := closed(); len(c) != 1 || c[0].Attempts != 0 || c[0].Status != models.DeliveryPending {
				t.Fatalf("the recovery email while the outage's email is pending: %+v", c)
			}
			sink.down.Store(false)
			r.until(10*time.Minute, "the recovery sent", func() bool { c := closed(); return len(c) == 1 && c[0].Status == models.DeliveryAccepted })
			all := sink.all()
			last := parseMail(t, all[len(all)-1])
			before := parseMail(t, all[len(all)-2])
			if last.Subject != "[Recovered] 3 devices reachable again at Alpha Trading 阿尔法" || before.Subject != "[Emergency] web-04 unreachable (Ping (ICMP))" {
				t.Fatalf("last two mails: %q then %q", before.Subject, last.Subject)
			}
			var closedAll int
			for _, o := range []models.Outage{o1, o2, o3, o4} {
				ds, _ := ws[0].deliveries(t, o.ID)
				for _, d := range ds {
					if d.Event == models.EventOutageClosed && d.Transport == models.TransportEmail {
						closedAll++
					}
				}
			}
			if closedAll != 3 { // the same recovery email, listed under each of the three
				t.Fatalf("%d recovery emails listed under the outages, want the one shared by three", closedAll)
			}
			_ = ctx
		})
	}
}

// Storm control: ten notices to one contact within an hour (outages more
// than the window apart, each notice sent on its own) → six go out, the
// rest are held until the hour has room and then go out as one summary,
// which stops every clock they cover. (Before: ten emails in 50 minutes.)
func TestStormControlSendsSixAnHourThenOneSummary(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := groupedStore(t, db, clock)
			fx := dbtest.Seed(t, s)
			var ws []*world
			for i := range 10 {
				ws = append(ws, newWorld(t, s, fx, fx.OrgA, fmt.Sprintf("web-%02d", i+1), fmt.Sprintf("10.0.0.%d", i+1)))
			}
			ws[0].contact(t, models.ContactInput{Name: "John Smith", Email: "john@alpha.test",
				Channels: []models.Channel{models.ChannelEmail}, Locale: "en"})
			ws[0].confirmContacts(t, fx.CustA)
			sink := startSMTP(t, ModeNone, nil, "", "")
			r := startDispatchers(t, clock, newDispatcher(t, s, clock, "portal-a", sink.port(t), ""))

			var outages []models.Outage
			start := clock.Now()
			for _, w := range ws {
				outages = append(outages, w.fail(t, clock.Now()))
				r.step(61 * time.Second)
				r.step(4 * time.Minute)
			}
			if n := len(sink.all()); n != 6 {
				t.Fatalf("%d emails in the first 51 minutes, want 6", n)
			}
			held := func(o models.Outage) models.Delivery {
				ds, _ := ws[0].deliveries(t, o.ID)
				return ds[0]
			}
			for _, o := range outages[6:] {
				if d := held(o); !d.Held || d.Status != models.DeliveryPending || d.Attempts != 0 {
					t.Fatalf("the notice of outage %d: %+v, want held", o.ID, d)
				}
			}
			// The first went out a minute after the start: an hour later
			// the hour has room for one more.
			r.step(start.Add(time.Hour + time.Minute + 2*time.Second).Sub(clock.Now()))
			r.until(time.Minute, "the summary sent", func() bool { return len(sink.all()) == 7 })
			r.step(10 * time.Minute)
			if n := len(sink.all()); n != 7 {
				t.Fatalf("%d emails, want 7 (6 and one summary)", n)
			}
			sum := parseMail(t, sink.all()[6])
			if sum.Subject != "[Emergency] 4 devices down at Alpha Trading 阿尔法" {
				t.Errorf("summary subject = %q", sum.Subject)
			}
			mustContain(t, "summary", sum.Body, "this one combines 4 notices", "web-07 (10.0.0.7)", "web-10 (10.0.0.10)")
			summaryID := sum.Header.Get("X-Portal-Delivery")
			for i, o := range outages {
				c, err := s.OutageClock(ctx, models.AllOrgs(), fx.OrgA.ID, o.ID)
				if err != nil || c == nil || c.StoppedAt == nil {
					t.Fatalf("clock of outage %d: %+v, %v", i, c, err)
				}
				want := models.ClockMet
				if i >= 6 {
					want = models.ClockMissed // held past its 15 minutes
					if fmt.Sprint(*c.StopRef) != summaryID {
						t.Errorf("clock of outage %d stopped by %d, want the summary %s", i, *c.StopRef, summaryID)
					}
					if d := held(o); (d.Status != models.DeliveryMerged || fmt.Sprint(d.MergedInto) != summaryID) && fmt.Sprint(d.ID) != summaryID {
						t.Errorf("the notice of outage %d: %+v, want merged into the summary", i, d)
					}
				}
				if c.Outcome != want {
					t.Errorf("clock of outage %d: %s, want %s", i, c.Outcome, want)
				}
			}
		})
	}
}
