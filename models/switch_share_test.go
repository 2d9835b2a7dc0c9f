package models_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// addSwitches stores n enabled switches polled every 5 minutes, with the
// community "c0mmunity-secret".
func addSwitches(t *testing.T, s *models.Store, n int) []models.Switch {
	t.Helper()
	out := make([]models.Switch, n)
	for i := range out {
		out[i] = models.Switch{Name: fmt.Sprintf("sw%d", i), Address: fmt.Sprintf("127.0.2.%d", i+1), Version: models.SNMPv2c,
			IntervalSec: 300, TimeoutMs: 2000, MaxOIDs: 20, Enabled: true}
		if err := models.AddSwitchForTest(context.Background(), s, &out[i], "c0mmunity-secret"); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// leaseSpan is one instance's lease of a switch as rounds saw it: the
// slots it may poll.
type leaseSpan struct {
	owner    string
	from, to time.Time
}

// Instances share the switches evenly; a joining instance gets its share
// through offers, whose new leases start where the old ones were cut; a
// dead instance's switches are taken over from the end of its leases; a
// disabled switch is not claimed. At no time do two instances' leases of
// one switch overlap, and the credentials come opened.
func TestShareSwitchesSplitsAndHandsOverWithoutOverlap(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		sws := addSwitches(t, s, 7)
		off := sws[6]
		if err := models.SetSwitchEnabledForTest(ctx, s, off.ID, false); err != nil {
			t.Fatal(err)
		}
		lease := time.Minute
		spans := map[int64][]leaseSpan{}
		// cut[owner][id] is when owner must stop polling switch id: its
		// lease's end, or the end an offer cut it to.
		round := func(owner string) models.SwitchRound {
			t.Helper()
			if _, err := s.ShareChecks(ctx, owner, models.ShareOptions{Lease: lease, Max: 1000}); err != nil {
				t.Fatal(err)
			}
			r, err := s.ShareSwitches(ctx, owner, lease)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range r.OfferedIDs {
				sp := spans[id]
				if n := len(sp); n > 0 && sp[n-1].owner == owner && sp[n-1].to.After(r.OfferedUntil) {
					sp[n-1].to = r.OfferedUntil
				}
			}
			for _, pt := range r.Switches {
				sw := pt.Switch
				if sw.ID == off.ID {
					t.Errorf("%s holds the disabled switch", owner)
				}
				if pt.CredsErr != "" || pt.Creds.Community != "c0mmunity-secret" || pt.Creds.Address != sw.Address ||
					pt.Creds.Timeout != 2*time.Second || pt.Creds.MaxOIDs != 20 {
					t.Errorf("credentials of %s: %+v (%s)", sw.Name, pt.Creds, pt.CredsErr)
				}
				sp := spans[sw.ID]
				from := sw.CreatedAt
				if sw.LeaseFrom != nil {
					from = *sw.LeaseFrom
				}
				if n := len(sp); n > 0 && sp[n-1].owner == owner {
					sp[n-1].to = sw.LeaseUntil.UTC()
				} else {
					sp = append(sp, leaseSpan{owner: owner, from: from.UTC(), to: sw.LeaseUntil.UTC()})
				}
				spans[sw.ID] = sp
			}
			return r
		}
		count := func(rs ...models.SwitchRound) []int {
			var n []int
			for _, r := range rs {
				n = append(n, len(r.Switches))
			}
			return n
		}
		step := lease / 4

		a := round("a")
		if a.Claimed != 6 || len(a.Switches) != 6 {
			t.Fatalf("a alone claimed %d and holds %d, want the 6 enabled", a.Claimed, len(a.Switches))
		}
		for i := 0; i < 6; i++ {
			clock.Advance(step)
			a, b := round("a"), round("b")
			if i == 5 && fmt.Sprint(count(a, b)) != "[3 3]" {
				t.Errorf("after b joined: a holds %d and b %d, want 3 and 3", len(a.Switches), len(b.Switches))
			}
		}
		for i := 0; i < 6; i++ { // c joins
			clock.Advance(step)
			a, b, c := round("a"), round("b"), round("c")
			if i == 5 && fmt.Sprint(count(a, b, c)) != "[2 2 2]" {
				t.Errorf("after c joined: %v, want 2 each", count(a, b, c))
			}
		}
		for i := 0; i < 12; i++ { // c dies
			clock.Advance(step)
			a, b := round("a"), round("b")
			if i == 11 && fmt.Sprint(count(a, b)) != "[3 3]" {
				t.Errorf("after c died: a holds %d and b %d, want 3 and 3", len(a.Switches), len(b.Switches))
			}
		}

		for id, sp := range spans {
			for i := 1; i < len(sp); i++ {
				if sp[i].from.Before(sp[i-1].to) {
					t.Errorf("switch %d: %s's lease from %v overlaps %s's until %v", id, sp[i].owner, sp[i].from, sp[i-1].owner, sp[i-1].to)
				}
			}
			if len(sp) < 2 {
				continue
			}
			// Hand-overs between live instances lose no time.
			for i := 1; i < len(sp); i++ {
				if sp[i-1].owner != "c" && sp[i].from.After(sp[i-1].to) {
					t.Errorf("switch %d: %s's lease from %v leaves a gap after %s's until %v", id, sp[i].owner, sp[i].from, sp[i-1].owner, sp[i-1].to)
				}
			}
		}

		t.Run("a clean stop releases the leases", func(t *testing.T) {
			if err := s.ReleaseSwitches(ctx, "a"); err != nil {
				t.Fatal(err)
			}
			clock.Advance(step)
			if b := round("b"); len(b.Switches) != 6 {
				t.Errorf("b holds %d after a's release, want the 6", len(b.Switches))
			}
		})
	})
}

// A port check is fed by its switch's poller: no lease round ever leases
// it, and it is never counted unprobed, while the device's ping is.
func TestPortChecksAreNeverLeasedNorUnprobed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		d, err := s.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: fx.OrgA.ID, Name: "web1", Address: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		sw := addSwitches(t, s, 1)[0]
		p := models.SwitchPort{IfIndex: 3, Name: "Gi0/3"}
		if err := models.AddPortForTest(ctx, s, &sw, &p, d); err != nil {
			t.Fatal(err)
		}
		clock.Advance(models.UnprobedGrace + time.Second)
		u, err := s.UnprobedChecks(ctx, models.UnprobedGrace)
		if err != nil || u.Checks != 1 {
			t.Errorf("unprobed = %+v, %v; want the ping only", u, err)
		}
		for i := 0; i < 3; i++ {
			r, err := s.ShareChecks(ctx, "p1", models.ShareOptions{Lease: time.Minute, Max: 1000})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range r.Checks {
				if c.Kind == models.KindPort {
					t.Errorf("round %d leased the port check %d", i, c.ID)
				}
			}
			if len(r.Checks) != 1 || r.Unprobed.Checks != 0 || r.Target != 1 {
				t.Errorf("round %d: holds %d, %d unprobed, share %d; want the ping alone", i, len(r.Checks), r.Unprobed.Checks, r.Target)
			}
			clock.Advance(2 * time.Minute)
		}
		cs, err := s.ListChecks(ctx, models.AllOrgs(), fx.OrgA.ID, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.Kind == models.KindPort && c.LeaseOwner != "" {
				t.Errorf("the port check is leased to %q", c.LeaseOwner)
			}
		}
	})
}

// PortsToPoll gives a switch's ports by ifIndex with the port check of the
// mapped one; LatestTrafficReadings the newest sample of each of its ports
// and of no other switch's.
func TestPortsToPollAndTheirLatestReadings(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		d, err := s.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: fx.OrgA.ID, Name: "web1", Address: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		sws := addSwitches(t, s, 2)
		p9 := models.SwitchPort{IfIndex: 9, Name: "Gi0/9", HC: true}
		p2 := models.SwitchPort{IfIndex: 2, Name: "Gi0/2"}
		other := models.SwitchPort{IfIndex: 2, Name: "Gi0/2"}
		for _, x := range []struct {
			sw  *models.Switch
			p   *models.SwitchPort
			dev *models.Device
		}{{&sws[0], &p9, d}, {&sws[0], &p2, nil}, {&sws[1], &other, nil}} {
			if err := models.AddPortForTest(ctx, s, x.sw, x.p, x.dev); err != nil {
				t.Fatal(err)
			}
		}
		ports, err := s.PortsToPoll(ctx, sws[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ports) != 2 || ports[0].ID != p2.ID || ports[1].ID != p9.ID || ports[0].Check != nil ||
			ports[1].Check == nil || ports[1].Check.Kind != models.KindPort || ports[1].Check.FailThreshold != 2 {
			t.Fatalf("ports to poll = %+v", ports)
		}

		t0 := clock.Now()
		var samples []models.TrafficSample
		for i, at := range []time.Time{t0, t0.Add(5 * time.Minute), t0.Add(10 * time.Minute)} {
			samples = append(samples, models.TrafficSample{PortID: p9.ID, At: at, Uptime: int64(100 * i), InC: int64(1000 * i), OutC: -5})
			if i < 2 {
				samples = append(samples, models.TrafficSample{PortID: p2.ID, At: at, InC: int64(7 * i)},
					models.TrafficSample{PortID: other.ID, At: at.Add(time.Hour), InC: 1})
			}
		}
		if _, err := s.RecordTraffic(ctx, samples); err != nil {
			t.Fatal(err)
		}
		latest, err := s.LatestTrafficReadings(ctx, sws[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(latest) != 2 {
			t.Fatalf("latest readings of %d ports, want 2: %+v", len(latest), latest)
		}
		if x := latest[p9.ID]; !x.At.Equal(t0.Add(10*time.Minute)) || x.InC != 2000 || x.OutC != -5 || x.Uptime != 200 {
			t.Errorf("latest of port 9 = %+v", x)
		}
		if r := latest[p9.ID]; r.Reading(true).OutOctets != 1<<64-5 {
			t.Errorf("a 64-bit counter past 2⁶³ reads back as %d", r.Reading(true).OutOctets)
		}
		if x := latest[p2.ID]; !x.At.Equal(t0.Add(5*time.Minute)) || x.InC != 7 {
			t.Errorf("latest of port 2 = %+v", x)
		}
	})
}

// SwitchPolled keeps the last poll's time and error as one short line, and
// the agent's name when it gave one; Scrub takes the secrets out of an
// error before it is stored; secrets that cannot be opened are the
// switch's error, not a failed round.
func TestSwitchPolledAndItsErrorText(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		sws := addSwitches(t, s, 1)
		r, err := s.ShareSwitches(ctx, "p1", time.Minute)
		if err != nil || len(r.Switches) != 1 {
			t.Fatalf("round: %+v, %v", r, err)
		}
		creds := r.Switches[0].Creds
		raw := "request to 127.0.2.1 with community c0mmunity-secret timed out\nretrying " + strings.Repeat("é", 200)
		scrubbed := creds.Scrub(raw)
		if strings.Contains(scrubbed, "c0mmunity-secret") || !strings.Contains(scrubbed, "community *** timed") {
			t.Errorf("scrubbed = %q", scrubbed)
		}
		at := clock.Now()
		if err := s.SwitchPolled(ctx, sws[0].ID, at, "core-1", scrubbed); err != nil {
			t.Fatal(err)
		}
		clock.Advance(5 * time.Minute)
		if err := s.SwitchPolled(ctx, sws[0].ID, clock.Now(), "", ""); err != nil {
			t.Fatal(err)
		}
		got := switchRow(t, s, sws[0].ID)
		if got.LastPollAt == nil || !got.LastPollAt.Equal(clock.Now()) || got.LastError != "" || got.SysName != "core-1" {
			t.Errorf("after a good poll: %+v", got)
		}
		if err := s.SwitchPolled(ctx, sws[0].ID, clock.Now(), "", scrubbed); err != nil {
			t.Fatal(err)
		}
		got = switchRow(t, s, sws[0].ID)
		if len(got.LastError) > 255 || strings.ContainsAny(got.LastError, "\n\r") || !strings.HasPrefix(got.LastError, "request to 127.0.2.1") ||
			strings.Contains(got.LastError, "secret") || !strings.HasSuffix(got.LastError, "é") {
			t.Errorf("last error = %q (%d bytes)", got.LastError, len(got.LastError))
		}

		if err := models.SetSwitchSecretForTest(ctx, s, sws[0].ID, "not sealed"); err != nil {
			t.Fatal(err)
		}
		r, err = s.ShareSwitches(ctx, "p1", time.Minute)
		if err != nil || len(r.Switches) != 1 || r.Switches[0].CredsErr == "" || r.Switches[0].Creds.Community != "" {
			t.Errorf("with a broken secret: %+v, %v; want the switch with an error and no community", r.Switches, err)
		}
	})
}

func switchRow(t *testing.T, s *models.Store, id int64) models.Switch {
	t.Helper()
	sw, err := models.SwitchRowForTest(context.Background(), s, id)
	if err != nil {
		t.Fatal(err)
	}
	return sw
}
