package handlers_test

import (
	"net/http"
	"testing"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/views"
)

// The contact form says how this data center delivers each channel: a
// site without mail server or gateway says those are not sent and staff
// call instead; one with both says they are sent.
func TestContactFormSaysWhichChannelsAreDelivered(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		r := e.as(t, e.fx.CustA).get("/contacts/new")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, `id="channel-how"`, zh("contacts.how.email_none"), zh("contacts.how.none_call"), zh("contacts.how.mobile_call"))
		wantNoBody(t, r, zh("contacts.how.gateway"))

		e.app = newApp(e.store, func(d *handlers.Deps) { d.Means = views.DeliveryMeans{Email: true, Gateway: true} })
		r = e.as(t, e.fx.CustA).get("/contacts/new")
		wantBody(t, r, zh("contacts.how.email"), zh("contacts.how.gateway"), zh("contacts.how.mobile_gateway"))
		wantNoBody(t, r, zh("contacts.how.none_call"))
	})
}
