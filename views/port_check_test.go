package views

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
)

// A port check on a device's page is named as a switch port with its
// switch and port as its target, its last failure as the port being down,
// and no round trip (the poller has none to give).
func TestAPortCheckShowsItsSwitchPortAndNoRoundTrip(t *testing.T) {
	for _, lang := range []string{"en", "zh-CN"} {
		t.Run(lang, func(t *testing.T) {
			tr := locales.For(lang)
			ctx := WithRequest(context.Background(), &Request{Lang: lang, T: tr, Location: time.UTC,
				User: &models.User{Name: "Ops", Role: models.RoleEngineer}})
			at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
			down := models.Check{ID: 3, Kind: models.KindPort, Target: "core-1 Gi0/5", IntervalSec: 300, Enabled: true,
				Status: models.StatusDown, LastAt: &at, LastReason: models.ReasonPortDown}
			up := down
			up.ID, up.Status, up.LastOK, up.LastReason, up.Target = 4, models.StatusUp, true, "", "core-1 Gi0/6"
			var b strings.Builder
			if err := checksTable([]models.Check{down, up}, at, true).Render(ctx, &b); err != nil {
				t.Fatal(err)
			}
			html := b.String()
			for _, want := range []string{tr.T("kind.port"), "core-1 Gi0/5", "core-1 Gi0/6", tr.T("reason.port_down")} {
				if !strings.Contains(html, want) {
					t.Errorf("the checks table lacks %q", want)
				}
			}
			if strings.Contains(html, "kind.port") || strings.Contains(html, "port_down") || strings.Contains(html, RTT(0)) {
				t.Errorf("the checks table shows a key, a raw reason or a round trip of 0: %s", html)
			}
		})
	}
}
