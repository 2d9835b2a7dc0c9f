package handlers_test

import (
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
)

// When many of a customer's devices are down, its home lists the most
// urgent outages and the devices that used most of their allowance, a
// bounded number of each, and says how many there are in all. (Before,
// it listed every open outage up to 500 and every device: 2,000 devices
// down made a page of megabytes.)
func TestCustomerHomeInAStormListsTheFirstFew(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		fx := e.fx
		const n = 60
		t0 := e.clock.Now()
		stormOrg(t, e.store, fx.OrgA, "a", n, t0)
		e.clock.Advance(6 * time.Minute)
		r := e.as(t, fx.CustA).get("/")
		wantStatus(t, r, http.StatusOK)
		// The fixture's own devices are up and not down: n + theirs in all.
		devices, err := e.store.ListDevices(t.Context(), models.OrgScope(fx.OrgA.ID), fx.OrgA.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantBody(t, r, zh("home.outages_title", n), zh("home.outages_more", n-20), `href="/uptime?state=down"`,
			zh("home.avail_more", 20, len(devices)))
		outages := regexp.MustCompile(`href="/outages/\d+"`).FindAllString(r.Body, -1)
		if len(outages) != 20 {
			t.Errorf("%d outage links on the home, want the 20 most urgent", len(outages))
		}
		avail := regexp.MustCompile(`(?s)id="home-availability".*?</section>`).FindString(r.Body)
		if got := len(regexp.MustCompile(`href="/devices/\d+"`).FindAllString(avail, -1)); got != 20 {
			t.Errorf("%d devices in the month's availability, want 20", got)
		}
		t.Logf("customer home with %d devices down: %d bytes", n, len(r.Body))
	})
}
