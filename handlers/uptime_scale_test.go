package handlers_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// seedDown gives organization org n devices (down-0000 …, in cabinets
// C00–C09, tagged by parity) whose pings fail twice: n open outages.
func seedDown(t *testing.T, e *env, org *models.Organization, n int) {
	t.Helper()
	ctx := context.Background()
	rows := make([]models.DeviceImportRow, n)
	for i := range rows {
		rows[i] = models.DeviceImportRow{Line: i + 2, Org: org.Slug, Name: fmt.Sprintf("down-%04d", i),
			Address: fmt.Sprintf("10.%d.%d.%d", org.ID, i/250, i%250+1), Cabinet: fmt.Sprintf("C%02d", i%10), Position: "U1"}
	}
	if _, err := e.store.ImportDevices(ctx, models.SystemActor("test"), rows); err != nil {
		t.Fatal(err)
	}
	checks, err := e.store.ListOrgChecks(ctx, models.AllOrgs(), org.ID)
	if err != nil {
		t.Fatal(err)
	}
	for k := range 2 {
		at := e.clock.Now().Add(time.Duration(k) * time.Minute)
		rs := make([]models.ProbeResult, len(checks))
		for i, c := range checks {
			rs[i] = models.ProbeResult{CheckID: c.ID, At: at, OK: false, Reason: models.ReasonTimeout}
		}
		if _, err := e.store.RecordResults(ctx, rs); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(5 * time.Minute)
}

// The customer's uptime page stays small when every one of 2,000 devices
// of the organization is down.
func TestUptimePageOf2000DownDevicesIsSmall(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		seedDown(t, e, e.fx.OrgA, 2000)
		cust := signIn(t, e.app, e.fx.CustA.Email, dbtest.Password)
		r := cust.get("/uptime")
		if r.StatusCode != 200 {
			t.Fatalf("/uptime: %d", r.StatusCode)
		}
		t.Logf("/uptime: %d bytes", len(r.Body))
		_ = os.WriteFile("/tmp/pages_uptime.html", []byte(r.Body), 0o644)
		home := cust.get("/")
		t.Logf("/: %d bytes", len(home.Body))
		_ = os.WriteFile("/tmp/pages_home.html", []byte(home.Body), 0o644)
		if len(r.Body) > 300_000 {
			t.Errorf("/uptime is %d bytes, want at most 300 KB", len(r.Body))
		}
	})
}
