package handlers_test

import (
	"net/http"
	"regexp"
	"strings"
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
		stormContact(t, e.store, fx.OrgA.ID, "Zhao Min", "138 0013 8000")
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

		// Nobody called: every clock is missed. The home lists the first
		// 20 misses and counts them all; the contacts page the newest 50.
		e.clock.Advance(15 * time.Minute)
		if swept, err := e.store.SweepClocks(t.Context()); err != nil || swept != n {
			t.Fatalf("swept %d clocks, %v; want %d", swept, err, n)
		}
		r = e.as(t, fx.CustA).get("/")
		wantBody(t, r, zh("home.missed_title", n), zh("home.missed_more", n-20), `href="/contacts#outcomes-h"`)
		missed := regexp.MustCompile(`(?s)id="home-missed".*?</section>`).FindString(r.Body)
		if got := strings.Count(missed, "<tr"); got != 20+1 {
			t.Errorf("%d rows in the missed clocks (with the head), want 20 and the head", got)
		}
		r = e.as(t, fx.CustA).get("/contacts")
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, zh("contacts.outcomes_more", n-50))
		if got := len(regexp.MustCompile(`<li id="outcome-\d+"`).FindAllString(r.Body, -1)); got != 50 {
			t.Errorf("%d missed notices on the contacts page, want the newest 50", got)
		}
	})
}
