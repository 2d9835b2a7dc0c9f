package models_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// TestStoppingPortMonitoringEndsItsOpenOutage: a port whose check has an
// open outage may still be unmapped or removed, its switch disabled or
// deleted: the outage ends at that moment, as a port up again ends it,
// recorded in the action's audit record; the port goes as asked. (The
// reviewer's TestReviewOpenPortOutageHasNoWayOut.)
func TestStoppingPortMonitoringEndsItsOpenOutage(t *testing.T) {
	for _, how := range []string{"disable then delete switch", "unmap", "remove port", "delete switch"} {
		t.Run(how, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
				ctx := context.Background()
				fx := dbtest.Seed(t, s)
				sys := models.SystemActor("test")
				eng := models.UserActor(fx.Engineer, "10.0.0.1")
				d, err := s.CreateDevice(ctx, sys, models.DeviceInput{OrgID: fx.OrgA.ID, Name: "web", Address: "127.0.0.9"})
				if err != nil {
					t.Fatal(err)
				}
				sw, err := s.CreateSwitch(ctx, eng, v2Switch("core-1"))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.AddSwitchPorts(ctx, eng, sw.ID, []models.Interface{{IfIndex: 1, Name: "Gi0/1", SpeedBps: 1e9, HC: true}}); err != nil {
					t.Fatal(err)
				}
				ports, _ := s.ListSwitchPorts(ctx, models.AllOrgs(), sw.ID)
				p, err := s.MapSwitchPort(ctx, eng, ports[0].ID, models.PortMapping{OrgID: &fx.OrgA.ID, DeviceID: &d.ID})
				if err != nil {
					t.Fatal(err)
				}
				now := clock.Now()
				if _, err := s.RecordResults(ctx, []models.ProbeResult{
					{CheckID: *p.CheckID, At: now.Add(-10 * time.Minute), OK: false, Reason: models.ReasonPortDown},
					{CheckID: *p.CheckID, At: now.Add(-5 * time.Minute), OK: false, Reason: models.ReasonPortDown}}); err != nil {
					t.Fatal(err)
				}
				c := portCheck(t, s, p.CheckID)
				if c.OpenOutageID == nil {
					t.Fatalf("no outage after two down polls: %+v", c)
				}
				outage, checkID := *c.OpenOutageID, *p.CheckID
				clock.Advance(time.Minute)
				var action string
				switch how {
				case "disable then delete switch":
					in := v2Switch("core-1")
					in.Community, in.Enabled = "", false
					if _, err := s.UpdateSwitch(ctx, eng, sw.ID, in); err != nil {
						t.Fatal(err)
					}
					if c := portCheck(t, s, p.CheckID); c.Enabled || c.OpenOutageID != nil || c.Status != models.StatusUnknown {
						t.Errorf("the paused check of the disabled switch: %+v; want no outage, state unknown", c)
					}
					action = models.AuditSwitchChanged
				case "unmap":
					if p, err = s.MapSwitchPort(ctx, eng, p.ID, models.PortMapping{}); err != nil {
						t.Fatal(err)
					}
					if p.OrgID != nil || p.CheckID != nil {
						t.Errorf("the port after unmapping: %+v", p)
					}
					action = models.AuditPortMapped
				case "remove port":
					if err := s.RemoveSwitchPort(ctx, eng, p.ID); err != nil {
						t.Fatal(err)
					}
					action = models.AuditPortRemoved
				case "delete switch":
					if err := s.DeleteSwitch(ctx, eng, sw.ID); err != nil {
						t.Fatal(err)
					}
					action = models.AuditSwitchRemoved
				}
				outs, err := s.ListOutages(ctx, models.AllOrgs(), fx.OrgA.ID, d.ID, 10)
				if err != nil || len(outs) != 1 || outs[0].ID != outage || outs[0].EndedAt == nil || !outs[0].EndedAt.Equal(clock.Now()) {
					t.Fatalf("outages %+v (%v); want outage %d ended now", outs, err, outage)
				}
				if c := portCheck(t, s, &checkID); c.OpenOutageID != nil {
					t.Errorf("the check still refers to an open outage: %+v", c)
				}
				if d := detailOf(t, auditOf(t, s, action)[0]); fmt.Sprint(d["outages_ended"]) != fmt.Sprint([]any{float64(outage)}) {
					t.Errorf("%s record %v; want the outage ended", action, d)
				}
				if how == "disable then delete switch" {
					if err := s.DeleteSwitch(ctx, eng, sw.ID); err != nil {
						t.Fatalf("deleting the disabled switch: %v", err)
					}
				}
			})
		})
	}
}
