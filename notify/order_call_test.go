package notify

import (
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// TestACallTaskDoesNotHoldBackTheGatewaysRecovery: with a gateway and no
// mail server, a contact's email channel is not sent and becomes a call
// task on the same mobile number as the gateway's message. That call is
// for a person to make; the gateway's "recovered" must not wait for it
// (before the fix it stayed pending until somebody logged the call).
func TestACallTaskDoesNotHoldBackTheGatewaysRecovery(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			clock := newFakeClock()
			s := openStore(t, db, clock)
			fx := dbtest.Seed(t, s)
			w := newWorld(t, s, fx, fx.OrgB, "db-01", "10.0.1.7")
			w.contact(t, models.ContactInput{Name: "Zhao Min", Email: "zhao@bravo.test", Mobile: "13800138000", Locale: "en",
				Channels: []models.Channel{models.ChannelEmail, models.ChannelMobile}})
			w.confirmContacts(t, fx.CustB)
			hook := startHook(t, hookSecret)
			d := New(Config{InstanceID: "portal-a", BaseURL: "https://portal.example", Location: shanghai(t), Clock: clock,
				Webhook: WebhookConfig{URL: hook.url, Secret: hookSecret, Timeout: 5 * time.Second}}, s, testLogger())
			r := startDispatchers(t, clock, d)
			o := w.fail(t, clock.Now())
			for i := 0; i < 5; i++ {
				r.step(time.Minute)
			}
			w.recover(t, clock.Now())
			for i := 0; i < 3; i++ {
				r.step(time.Minute)
			}
			var events []string
			for _, p := range hook.all() {
				events = append(events, p.Event)
			}
			if len(events) != 2 || events[0] != models.EventOutageOpened || events[1] != models.EventOutageClosed {
				t.Errorf("gateway got %v 3 minutes after the recovery; want [%s %s]", events, models.EventOutageOpened, models.EventOutageClosed)
			}
			ds, _ := w.deliveries(t, o.ID)
			calls := 0
			for _, d := range ds {
				if d.Transport == models.TransportCall {
					calls++
					if d.Status != models.DeliveryPending {
						t.Errorf("call task %+v: want it still waiting for staff", d)
					}
				}
			}
			if calls == 0 {
				t.Errorf("no call task for the email channel without a mail server: %+v", ds)
			}
		})
	}
}
