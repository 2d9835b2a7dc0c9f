package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
)

// fleetRowRE finds the device names of the fleet table, in order.
var fleetRowRE = regexp.MustCompile(`<a href="/devices/\d+">([^<]+)</a>`)

func fleetNames(body string) []string {
	var out []string
	for _, m := range fleetRowRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// The fleet shows 100 devices a page in its order (down, unknown, up;
// organization; name), with a search over name, address, check target
// and organization, filters by state and organization, and the counts by
// state of what the search matches. Staff only.
func TestFleetPagesSearchesAndFilters(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		fx, ctx, sys := e.fx, context.Background(), models.SystemActor("test")
		dev := func(org int64, name, addr string) *models.Device {
			d, err := e.store.CreateDevice(ctx, sys, models.DeviceInput{OrgID: org, Name: name, Address: addr})
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		ping := func(d *models.Device) models.Check { // every device starts with one
			cs, err := e.store.ListChecks(ctx, models.AllOrgs(), d.OrgID, d.ID)
			if err != nil || len(cs) != 1 {
				t.Fatal(cs, err)
			}
			return cs[0]
		}
		// A: one device down, one up. B: 104 devices never probed (unknown).
		down, up := dev(fx.OrgA.ID, "web-a", "127.0.0.2"), dev(fx.OrgA.ID, "web-b", "127.0.0.3")
		cDown, cUp := ping(down), ping(up)
		for i := range 104 {
			d := dev(fx.OrgB.ID, fmt.Sprintf("game-%03d", i), fmt.Sprintf("10.0.%d.%d", i/200, i%200+1))
			if i == 50 {
				if _, err := e.store.AddCheck(ctx, sys, d.OrgID, d.ID, models.CheckInput{Kind: models.KindTCP, Target: "203.0.113.77:443"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		t0 := e.clock.Now()
		var rs []models.ProbeResult
		for i := 1; i <= 3; i++ {
			at := t0.Add(time.Duration(i) * time.Minute)
			rs = append(rs, models.ProbeResult{CheckID: cDown.ID, At: at, Reason: models.ReasonTimeout},
				models.ProbeResult{CheckID: cUp.ID, At: at, OK: true, RTTus: 300})
		}
		if _, err := e.store.RecordResults(ctx, rs); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(5 * time.Minute)
		eng := e.as(t, fx.Engineer)

		t.Run("the first page holds 100 devices, problems first, and links the next", func(t *testing.T) {
			r := eng.get("/fleet")
			wantStatus(t, r, http.StatusOK)
			names := fleetNames(r.Body)
			if len(names) != 100 || names[0] != "web-a" || names[1] != "game-000" || names[99] != "game-098" {
				t.Fatalf("page 1: %d devices %v … %v", len(names), names[:min(2, len(names))], names[max(0, len(names)-1):])
			}
			wantBody(t, r, zh("uptime.devices_count", 106), zh("uptime.count_down", 1), zh("uptime.count_up", 1),
				zh("uptime.count_unknown", 104), zh("fleet.page_of", 1, 2), `href="/fleet?page=2"`, `class="tablewrap"`,
				`data-label="`+zh("fleet.org")+`"`)
			wantNoBody(t, r, `rel="prev"`)
		})

		t.Run("the second page holds the rest, up last", func(t *testing.T) {
			r := eng.get("/fleet?page=2")
			wantStatus(t, r, http.StatusOK)
			names := fleetNames(r.Body)
			want := []string{"game-099", "game-100", "game-101", "game-102", "game-103", "web-b"}
			if strings.Join(names, ",") != strings.Join(want, ",") {
				t.Fatalf("page 2 = %v, want %v", names, want)
			}
			wantBody(t, r, zh("fleet.page_of", 2, 2), `href="/fleet"`)
			// past the last page is the last page
			if got := fleetNames(eng.get("/fleet?page=99").Body); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("page 99 = %v", got)
			}
		})

		for _, tc := range []struct {
			name, query string
			want        []string
		}{
			{"a part of a name", "q=game-10", []string{"game-100", "game-101", "game-102", "game-103"}},
			{"an address", "q=10.0.0.17", []string{"game-016"}},
			{"a check's target", "q=203.0.113", []string{"game-050"}},
			{"an organization's name, whatever the case", "q=ALPHA", []string{"web-a", "web-b"}},
			{"a wildcard is a character", "q=" + url.QueryEscape("%"), nil},
			{"down only", "state=down", []string{"web-a"}},
			{"up only", "state=up", []string{"web-b"}},
			{"one organization", "org=" + ids(fx.OrgA.ID), []string{"web-a", "web-b"}},
			{"a search within an organization", "org=" + ids(fx.OrgA.ID) + "&q=web-b", []string{"web-b"}},
			{"a state within a search", "q=web&state=unknown", nil},
		} {
			t.Run("search: "+tc.name, func(t *testing.T) {
				r := eng.get("/fleet?" + tc.query)
				wantStatus(t, r, http.StatusOK)
				if got := fleetNames(r.Body); strings.Join(got, ",") != strings.Join(tc.want, ",") {
					t.Errorf("%s: %v, want %v", tc.query, got, tc.want)
				}
				if len(tc.want) == 0 {
					wantBody(t, r, zh("fleet.none_match"))
				}
			})
		}

		t.Run("the counts follow the search, not the state filter", func(t *testing.T) {
			r := eng.get("/fleet?q=web&state=down")
			wantBody(t, r, zh("uptime.devices_count", 2), zh("uptime.count_down", 1), zh("uptime.count_up", 1))
			wantNoBody(t, r, zh("uptime.count_unknown", 104))
		})

		t.Run("an organization's uptime page is paged too, counting every device", func(t *testing.T) {
			r := eng.get("/orgs/" + ids(fx.OrgB.ID) + "/uptime")
			wantStatus(t, r, http.StatusOK)
			if n := strings.Count(r.Body, `<tr class="state-`); n != 100 {
				t.Errorf("page 1: %d devices, want 100", n)
			}
			wantBody(t, r, zh("uptime.devices_count", 104), zh("uptime.count_unknown", 104), zh("fleet.page_of", 1, 2),
				`href="/orgs/`+ids(fx.OrgB.ID)+`/uptime?page=2"`)
			r = eng.get("/orgs/" + ids(fx.OrgB.ID) + "/uptime?page=2")
			if n := strings.Count(r.Body, `<tr class="state-`); n != 4 || !strings.Contains(r.Body, ">game-103<") {
				t.Errorf("page 2: %d devices, want 4 ending with game-103", n)
			}
			// the customer's own page is the same, at its own address
			r = e.as(t, fx.CustB).get("/uptime?page=2")
			wantBody(t, r, ">game-103<", zh("fleet.page_of", 2, 2), `href="/uptime"`)
			wantNoBody(t, r, "web-a")
		})

		t.Run("customers cannot open it", func(t *testing.T) {
			wantStatus(t, e.as(t, fx.CustA).get("/fleet?q=game"), http.StatusForbidden)
			wantStatus(t, e.as(t, fx.CustB).get("/fleet?org="+ids(fx.OrgA.ID)), http.StatusForbidden)
		})
	})
}
