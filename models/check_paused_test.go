package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// A down result that was in flight when staff unmapped the port (its
// check now paused, referred to by no port) is stored but opens no
// outage: nothing would ever close it.
func TestADownResultAfterUnmappingOpensNoOutage(t *testing.T) {
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
		check := *p.CheckID
		now := clock.Now()
		if _, err := s.RecordResults(ctx, []models.ProbeResult{{CheckID: check, At: now.Add(-5 * time.Minute), OK: false, Reason: models.ReasonPortDown}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.MapSwitchPort(ctx, eng, p.ID, models.PortMapping{OrgID: &fx.OrgA.ID}); err != nil {
			t.Fatal(err) // allowed: no outage yet
		}
		// The poll that read PortsToPoll before the unmapping lands now.
		n, err := s.RecordResults(ctx, []models.ProbeResult{{CheckID: check, At: now, OK: false, Reason: models.ReasonPortDown}})
		if err != nil || n != 1 {
			t.Fatalf("recorded %d, %v; want the result stored", n, err)
		}
		c, err := s.GetCheck(ctx, models.AllOrgs(), check)
		if err != nil {
			t.Fatal(err)
		}
		if c.Enabled || c.OpenOutageID != nil || c.ConsecFails != 1 {
			t.Errorf("check %d enabled=%v failures %d open outage %v; want paused, the late failure not counted, no outage",
				check, c.Enabled, c.ConsecFails, c.OpenOutageID)
		}
	})
}

// A switch port's check cannot be paused or resumed by hand: it follows
// its switch and the port's mapping.
func TestSetCheckEnabledRefusesPortChecks(t *testing.T) {
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
		err = s.SetCheckEnabled(ctx, eng, fx.OrgA.ID, *p.CheckID, false)
		if v, ok := models.AsValidation(err); !ok || v.Key != "error.check_port_managed" {
			t.Fatalf("pausing a port check: %v, want refused", err)
		}
		if c, err := s.GetCheck(ctx, models.AllOrgs(), *p.CheckID); err != nil || !c.Enabled {
			t.Fatalf("the port check after the refusal: %+v, %v; want still enabled", c, err)
		}
		// An ordinary check still pauses.
		cs, err := s.ListChecks(ctx, models.AllOrgs(), fx.OrgA.ID, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.Kind != models.KindPort {
				if err := s.SetCheckEnabled(ctx, eng, fx.OrgA.ID, c.ID, false); err != nil {
					t.Fatalf("pausing the ping: %v", err)
				}
			}
		}
	})
}
