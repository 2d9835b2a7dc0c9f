package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
)

// Issue 12: enabled checks that no prober instance holds are an alarm.
// Past the grace (a lease and a round) the staff's on-call page, its live
// part and every staff home show a banner with the count and since when,
// and /healthz says "degraded" (still 200); /readyz stays ready, and
// customers see nothing of it. Once an instance holds them, all of that
// goes.
func TestUnprobedChecksAreAnAlarm(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		t0 := e.clock.Now()
		if _, err := e.store.CreateDevice(ctx, models.SystemActor("test"),
			models.DeviceInput{OrgID: e.fx.OrgA.ID, Name: "web-a", Address: "127.0.0.1"}); err != nil {
			t.Fatal(err)
		}
		anon := newClient(t, e.app)
		eng, rec, cust := e.as(t, e.fx.Engineer), e.as(t, e.fx.Reception), e.as(t, e.fx.CustA)
		banner := `id="unprobed"`
		staffPages := func() map[string]*response {
			return map[string]*response{"engineer /oncall": eng.get("/oncall"), "engineer /oncall/live": eng.get("/oncall/live"),
				"engineer /": eng.get("/"), "reception /": rec.get("/")}
		}
		quiet := func(when string) {
			t.Helper()
			for name, r := range staffPages() {
				wantStatus(t, r, http.StatusOK)
				if strings.Contains(r.Body, banner) {
					t.Errorf("%s: %s shows the unprobed banner", when, name)
				}
			}
			if r := anon.get("/healthz"); r.StatusCode != http.StatusOK || r.Body != "ok\n" {
				t.Errorf("%s: /healthz answers %d %q, want 200 ok", when, r.StatusCode, r.Body)
			}
		}

		quiet("a new check, within the grace")

		e.clock.Advance(models.UnprobedGrace + time.Minute)
		text := zh("oncall.unprobed", t0.UTC().Format("2006-01-02 15:04"), 1)
		for name, r := range staffPages() {
			wantStatus(t, r, http.StatusOK)
			if !strings.Contains(r.Body, banner) || !strings.Contains(r.Body, text) || !strings.Contains(r.Body, zh("oncall.unprobed_title")) {
				t.Errorf("nobody holds the check: %s lacks the banner %q", name, text)
			}
		}
		want := fmt.Sprintf("degraded: 1 checks unprobed since %s\n", t0.UTC().Format(time.RFC3339))
		if r := anon.get("/healthz"); r.StatusCode != http.StatusOK || r.Body != want {
			t.Errorf("/healthz answers %d %q, want 200 %q", r.StatusCode, r.Body, want)
		}
		if r := anon.get("/readyz"); r.StatusCode != http.StatusOK {
			t.Errorf("/readyz answers %d with unprobed checks, want 200 (a load balancer must not drop the instance)", r.StatusCode)
		}
		if r := cust.get("/"); strings.Contains(r.Body, banner) {
			t.Error("the customer's home shows the staff's unprobed banner")
		}

		r, err := e.store.ShareChecks(ctx, "prober-1", models.ShareOptions{Lease: time.Minute, Max: 100})
		if err != nil || len(r.Checks) != 1 {
			t.Fatalf("an instance claims %d checks (%v), want 1", len(r.Checks), err)
		}
		quiet("an instance holds the check")
	})
}
