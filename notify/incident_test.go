package notify

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// The dispatcher's pass opens the incident when two organizations' devices
// fail together (threshold lowered to two), and an update goes to each
// organization's authorized contacts in their language (email, and the
// gateway for a mobile), naming only the recipient's own organization;
// the webhook carries the incident, not an outage; no update stops or
// holds a clock.
func TestIncidentUpdateReachesEachCustomerInTheirLanguage(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := openStore(t, db, clock)
			fx := dbtest.Seed(t, s)
			a := newWorld(t, s, fx, fx.OrgA, "web-01", "10.0.0.5")
			b := newWorld(t, s, fx, fx.OrgB, "db-01", "10.0.1.5")
			a.contact(t, models.ContactInput{Name: "孙丽", Email: "sun.li@alpha.test", Mobile: "13800138000",
				Channels: []models.Channel{models.ChannelEmail, models.ChannelMobile}, Locale: "zh-CN"})
			b.contact(t, models.ContactInput{Name: "Bob Chen", Email: "bob@bravo.test", Channels: []models.Channel{models.ChannelEmail}, Locale: "en"})
			a.fail(t, clock.Now())
			b.fail(t, clock.Now())

			sink := startSMTP(t, ModeNone, nil, "", "")
			hook := startHook(t, hookSecret)
			d := newDispatcher(t, s, clock, "portal-a", sink.port(t), hook.url)
			d.cfg.Incident = models.IncidentRules{Orgs: 2}
			r := startDispatchers(t, clock, d)
			list, err := s.ListIncidents(ctx, models.AllOrgs(), 5)
			if err != nil || len(list) != 1 || list[0].Orgs != 2 {
				t.Fatalf("after a pass: incidents %+v, %v", list, err)
			}
			text := "上游光缆被挖断，工程师已到现场。Upstream fibre cut."
			if _, err := s.PostIncidentUpdate(ctx, models.UserActor(fx.Engineer, "10.0.0.1"), list[0].ID, text, "zh-CN"); err != nil {
				t.Fatal(err)
			}
			r.until(time.Minute, "the update sent", func() bool {
				return len(eventMails(t, sink, models.EventIncidentUpdate)) == 2 && len(hookCalls(hook, models.EventIncidentUpdate)) == 1
			})
			r.step(time.Minute)

			zh := mailsTo(t, sink, models.EventIncidentUpdate, "sun.li@alpha.test")
			en := mailsTo(t, sink, models.EventIncidentUpdate, "bob@bravo.test")
			if len(zh) != 1 || len(en) != 1 {
				t.Fatalf("update emails: %d to Alpha, %d to Bravo", len(zh), len(en))
			}
			if want := "机房故障影响 " + fx.OrgA.Name; zh[0].Subject != want {
				t.Errorf("subject = %q, want %q", zh[0].Subject, want)
			}
			mustContain(t, "Chinese body", zh[0].Body, "孙丽，您好：", "影响了贵方 1 台设备", "    "+text, "https://portal.example/")
			if want := "Data center incident affecting " + fx.OrgB.Name; en[0].Subject != want {
				t.Errorf("subject = %q, want %q", en[0].Subject, want)
			}
			mustContain(t, "English body", en[0].Body, "Dear Bob Chen,", "affects 1 of your devices", "    "+text,
				"keeps its own notice and its own figures")
			if strings.Contains(zh[0].Raw, "Bravo") || strings.Contains(en[0].Raw, "Alpha") {
				t.Error("an update names another customer")
			}
			calls := hookCalls(hook, models.EventIncidentUpdate)
			var p IncidentPayload
			if err := json.Unmarshal(calls[0], &p); err != nil {
				t.Fatal(err)
			}
			if p.Organization.ID != fx.OrgA.ID || p.Contact.Address != "+8613800138000" || p.Incident.Update != text ||
				p.Incident.Devices != 1 || !strings.HasPrefix(p.Message, "机房故障：") || utf8.RuneCountInString(p.Message) > MaxShort ||
				strings.Contains(string(calls[0]), `"outage"`) {
				t.Errorf("webhook payload %s", calls[0])
			}
			for _, org := range []int64{fx.OrgA.ID, fx.OrgB.ID} {
				for _, del := range customerDeliveries(t, s, org) {
					if del.Event == models.EventIncidentUpdate && (del.OutageID != 0 || del.Status != models.DeliveryAccepted) {
						t.Errorf("update delivery %+v", del)
					}
				}
			}
		})
	}
}

// hookCalls are the raw bodies of the webhook calls about event.
func hookCalls(h *hookSink, event string) [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out [][]byte
	for i, p := range h.calls {
		if p.Event == event {
			out = append(out, h.raw[i])
		}
	}
	return out
}
