package notify

import (
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// A contact may choose channels this data center cannot carry (no mail
// server, no gateway). Those notices do not vanish: each is logged as not
// sent with the reason, and the notice becomes a call by staff to the
// contact's phone.
func TestUndeliverableChannelsAreLoggedAndBecomeCalls(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			clock := newFakeClock()
			s := openStore(t, db, clock)
			fx := dbtest.Seed(t, s)
			w := newWorld(t, s, fx, fx.OrgB, "db-01", "10.0.1.7")
			// Email, pager and fax chosen; a mobile number on file.
			zhao := w.contact(t, models.ContactInput{Name: "Zhao Min", Email: "zhao@bravo.test", Mobile: "13800138000",
				Pager: "13900139000", Fax: "01088880002", Locale: "en",
				Channels: []models.Channel{models.ChannelEmail, models.ChannelPager, models.ChannelFax}})
			// A pager only, and no phone to call.
			qian := w.contact(t, models.ContactInput{Name: "Qian Li", Pager: "13900139001", Locale: "en",
				Channels: []models.Channel{models.ChannelPager}})
			w.confirmContacts(t, fx.CustB)
			// Neither a mail server nor a gateway.
			d := New(Config{InstanceID: "portal-a", BaseURL: "https://portal.example", Location: shanghai(t), Clock: clock}, s, testLogger())
			r := startDispatchers(t, clock, d)
			o := w.fail(t, clock.Now())
			r.step(time.Second)
			ds, _ := w.deliveries(t, o.ID)

			for _, c := range []struct {
				contact int64
				ch      models.Channel
				reason  string
			}{
				{zhao.ID, models.ChannelEmail, models.NotSentNoMailServer},
				{zhao.ID, models.ChannelPager, models.NotSentNoGateway},
				{zhao.ID, models.ChannelFax, models.NotSentNoGateway},
				{qian.ID, models.ChannelPager, models.NotSentNoGateway},
			} {
				got := deliveryOf(t, ds, c.contact, c.ch, models.EventOutageOpened)
				if got.Status != models.DeliveryNotSent || got.LastError != c.reason || got.Transport != models.TransportNone || got.DoneAt == nil {
					t.Errorf("%s to contact %d: %+v, want not sent (%s)", c.ch, c.contact, got, c.reason)
				}
			}
			call := deliveryOf(t, ds, zhao.ID, models.ChannelMobile, models.EventOutageOpened)
			if call.Transport != models.TransportCall || call.Status != models.DeliveryPending || call.Address != "+8613800138000" {
				t.Errorf("the call task instead: %+v", call)
			}
			calls := 0
			for _, d := range ds {
				if d.Transport == models.TransportCall {
					calls++
				}
			}
			if calls != 1 {
				t.Errorf("%d call tasks, want 1 (Qian Li has no phone)", calls)
			}
		})
	}
}
