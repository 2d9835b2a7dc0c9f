package prober

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"github.com/colo-portal/portal/models/metricstest"
	"github.com/colo-portal/portal/models/seal"
	"github.com/colo-portal/portal/prober/snmpagent"
)

// The switches' fixture is written straight into the tables (the
// switches' own Store methods are another part's): a switch with its
// community sealed as the Store seals it under the tests' secret, its
// ports, and a port check on a customer's device for a mapped port.

const (
	pollEvery     = 10 * time.Second
	fakeCommunity = "s3cret-community"
)

// rawDB is a second handle on the test database, for the rows the test
// writes and reads as they are.
func rawDB(t *testing.T, db dbtest.DB) *gorm.DB {
	t.Helper()
	g, _, err := models.Open(context.Background(), models.OpenOptions{URL: db.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s, err := g.DB(); err == nil {
			s.Close()
		}
	})
	return g
}

// switchFixture is an organization with one device, and the switches the
// test adds.
type switchFixture struct {
	raw    *gorm.DB
	org    int64
	device *models.Device
}

func newSwitchFixture(t *testing.T, s *models.Store, db dbtest.DB) *switchFixture {
	t.Helper()
	ctx := context.Background()
	sys := models.SystemActor("test")
	fx := dbtest.Seed(t, s)
	d, err := s.CreateDevice(ctx, sys, models.DeviceInput{OrgID: fx.OrgA.ID, Name: "web1", Address: "127.0.1.1"})
	if err != nil {
		t.Fatal(err)
	}
	def, err := s.ListChecks(ctx, models.AllOrgs(), fx.OrgA.ID, d.ID)
	if err != nil || len(def) != 1 {
		t.Fatalf("default checks %v, %v", def, err)
	}
	if err := s.SetCheckEnabled(ctx, sys, fx.OrgA.ID, def[0].ID, false); err != nil {
		t.Fatal(err)
	}
	return &switchFixture{raw: rawDB(t, db), org: fx.OrgA.ID, device: d}
}

// addSwitch stores a switch polled every 10 s at address with the fake
// agent's community.
func (f *switchFixture) addSwitch(t *testing.T, name, address string) models.Switch {
	t.Helper()
	sealed, err := seal.NewKey([]byte("test secret"), "portal snmp secrets").Seal(fakeCommunity)
	if err != nil {
		t.Fatal(err)
	}
	sw := models.Switch{Name: name, Address: address, Version: models.SNMPv2c, Community: sealed,
		IntervalSec: int(pollEvery / time.Second), TimeoutMs: 1000, MaxOIDs: 30, Enabled: true, LeaseUntil: time.Unix(0, 0).UTC()}
	if err := f.raw.Create(&sw).Error; err != nil {
		t.Fatal(err)
	}
	return sw
}

// addPort stores a monitored port of sw (1 Gb/s); mapped ones get a port
// check on the fixture's device.
func (f *switchFixture) addPort(t *testing.T, sw models.Switch, ifIndex int, hc, mapped bool) models.SwitchPort {
	t.Helper()
	p := models.SwitchPort{SwitchID: sw.ID, IfIndex: ifIndex, Ref: fmt.Sprintf("r%d-%d", sw.ID, ifIndex),
		Name: fmt.Sprintf("Gi0/%d", ifIndex), SpeedBps: 1e9, HC: hc}
	if mapped {
		c := models.Check{DeviceID: f.device.ID, OrgID: f.org, Kind: models.KindPort, Target: sw.Name + " " + p.Name,
			IntervalSec: sw.IntervalSec, TimeoutMs: 1000, FailThreshold: 2, Enabled: true, Status: models.StatusUnknown,
			LeaseUntil: time.Unix(0, 0).UTC()}
		if err := f.raw.Create(&c).Error; err != nil {
			t.Fatal(err)
		}
		p.OrgID, p.DeviceID, p.CheckID = &f.org, &f.device.ID, &c.ID
	}
	if err := f.raw.Create(&p).Error; err != nil {
		t.Fatal(err)
	}
	return p
}

// samples are the stored samples of port id, oldest first.
func (f *switchFixture) samples(t *testing.T, id int64) []models.TrafficSample {
	t.Helper()
	var ss []models.TrafficSample
	if err := f.raw.Where("port_id = ?", id).Order("at").Find(&ss).Error; err != nil {
		t.Fatal(err)
	}
	for i := range ss {
		ss[i].At = ss[i].At.UTC()
	}
	return ss
}

func (f *switchFixture) switchRow(t *testing.T, id int64) models.Switch {
	t.Helper()
	var sw models.Switch
	if err := f.raw.First(&sw, id).Error; err != nil {
		t.Fatal(err)
	}
	return sw
}

// fakePort is an interface of a fake agent: counters that grow at a
// steady rate (octets per millisecond) from start at zero.
type fakePort struct {
	hc        bool
	in, out   uint64
	start     uint64
	zero      time.Time
	down      bool
	adminDown bool
	errs, dis uint32
}

// fakeSwitch is the agent of one switch.
type fakeSwitch struct {
	boot  time.Time
	ports map[int]*fakePort
}

// restart starts the agent again now, its counters from zero.
func (sw *fakeSwitch) restart(now time.Time) {
	sw.boot = now.Add(-2 * time.Second)
	for _, p := range sw.ports {
		p.start, p.zero = 0, sw.boot
	}
}

type pollCall struct {
	instance string
	at       time.Time
}

// fakeAgents is a PollFunc over fake switches, by address: no network, a
// recorded counter sequence computed from the manual clock at the poll's
// slot (every fake switch is polled every 10 s), every poll recorded.
type fakeAgents struct {
	clock    *manualClock
	mu       sync.Mutex
	switches map[string]*fakeSwitch
	polls    map[string][]pollCall
	// before is called before poll n (from 0) of the switch at addr
	// answers: it may change the agent or fail the poll.
	before func(addr string, n int, sw *fakeSwitch, now time.Time) error
}

func newFakeAgents(clock *manualClock) *fakeAgents {
	return &fakeAgents{clock: clock, switches: map[string]*fakeSwitch{}, polls: map[string][]pollCall{}}
}

// add makes the agent at addr, up for an hour, with ports.
func (a *fakeAgents) add(addr string, ports map[int]*fakePort) *fakeSwitch {
	now := a.clock.Now()
	sw := &fakeSwitch{boot: now.Add(-time.Hour), ports: ports}
	for _, p := range ports {
		p.zero = now.Add(-time.Hour)
	}
	a.switches[addr] = sw
	return sw
}

func (a *fakeAgents) pollFunc(instance string) PollFunc {
	return func(ctx context.Context, creds models.SNMPCredentials, ports []PollPort) (PollResult, error) {
		a.mu.Lock()
		defer a.mu.Unlock()
		// The agent answers as at the slot the poll is for, however long
		// the poller's reads took in real time meanwhile (the manual
		// clock runs on).
		now := gridAfter(creds.SwitchID, pollEvery, a.clock.Now().Add(-pollEvery))
		n := len(a.polls[creds.Address])
		a.polls[creds.Address] = append(a.polls[creds.Address], pollCall{instance: instance, at: now})
		sw := a.switches[creds.Address]
		if sw == nil || creds.Community != fakeCommunity {
			return PollResult{}, errors.New("no answer from " + creds.Address + " for community " + creds.Community)
		}
		if a.before != nil {
			if err := a.before(creds.Address, n, sw, now); err != nil {
				return PollResult{}, err
			}
		}
		up := uint32(now.Sub(sw.boot) / (10 * time.Millisecond))
		res := PollResult{Uptime: up, Readings: map[int]models.CounterReading{}, Requests: 1}
		for _, pp := range ports {
			p := sw.ports[pp.IfIndex]
			if p == nil {
				continue
			}
			ms := uint64(now.Sub(p.zero).Milliseconds())
			in, out := p.start+p.in*ms, p.start+p.out*ms
			if !p.hc {
				in, out = in%(1<<32), out%(1<<32)
			}
			res.Readings[pp.IfIndex] = models.CounterReading{At: now, Uptime: up, HC: p.hc, InOctets: in, OutOctets: out,
				InErrors: p.errs, InDiscards: p.dis, OperUp: !p.down, AdminUp: !p.adminDown, SpeedBps: 1e9}
		}
		return res, nil
	}
}

func (a *fakeAgents) pollsOf(addr string) []pollCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]pollCall(nil), a.polls[addr]...)
}

// checkDeltas fails unless every valid sample of ss holds the deltas since
// the sample before it at the port's rates (octets per ms), so that no
// slot's traffic is counted twice nor left out, and names the notes of the
// others.
func checkDeltas(t *testing.T, name string, ss []models.TrafficSample, in, out uint64) []string {
	t.Helper()
	var notes []string
	for i, s := range ss {
		if !s.Valid {
			notes = append(notes, s.Note)
			continue
		}
		if i == 0 {
			t.Errorf("%s: the first sample has deltas: %+v", name, s)
			continue
		}
		ms := s.At.Sub(ss[i-1].At).Milliseconds()
		if s.Ms != ms || s.InOctets != int64(in)*ms || s.OutOctets != int64(out)*ms {
			t.Errorf("%s sample %d at %v: %d ms, %d in, %d out; want %d ms since the sample before, %d in, %d out",
				name, i, s.At.Format("15:04:05.000"), s.Ms, s.InOctets, s.OutOctets, ms, int64(in)*ms, int64(out)*ms)
		}
		if s.InBps() != int64(in)*8000 {
			t.Errorf("%s sample %d: %d b/s in, want %d", name, i, s.InBps(), in*8000)
		}
	}
	return notes
}

// Each poll stores one sample per port with the deltas since the previous
// poll, a 32-bit counter's wrap included; the first poll of a port has
// none. The switch's last poll is recorded without an error, and the
// mapped port's check gets one result a poll.
func TestPollerStoresSamplesWithDeltas(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			clock := newManualClock()
			s := dbtest.Open(t, db, models.WithClock(clock.Now))
			f := newSwitchFixture(t, s, db)
			sw := f.addSwitch(t, "core-1", "127.0.2.1")
			hc := f.addPort(t, sw, 1, true, true)
			c32 := f.addPort(t, sw, 2, false, false)
			agents := newFakeAgents(clock)
			agents.add(sw.Address, map[int]*fakePort{
				1: {hc: true, in: 1000, out: 250, start: 1 << 40},
				// Wraps between the third and fourth polls or so.
				2: {in: 1000, out: 10, start: 1<<32 - 3_600_000_000 - 25_000_000},
			})
			rec := newProbeRecorder(clock)
			reg := prometheus.NewRegistry()
			r := start(t, Config{InstanceID: "solo", Clock: clock, Jitter: -1, BatchAge: time.Second,
				SpoolPath: t.TempDir() + "/prober.spool", SNMPPoll: agents.pollFunc("solo"), Metrics: reg}, s, rec.probeFunc("solo"))
			eventually(t, "the prober holds the switch", func() bool { return r.p.Stats().Switches == 1 })
			if v, _ := metricstest.Gather(t, reg).Value("portal_prober_switches_held"); v != 1 {
				t.Errorf("portal_prober_switches_held = %v, want 1", v)
			}
			clock.run(75 * time.Second)
			r.stop(t)

			polls := agents.pollsOf(sw.Address)
			if len(polls) < 7 || len(polls) > 8 {
				t.Fatalf("%d polls in 75 s, want 7 or 8 at 10 s", len(polls))
			}
			first := gridAfter(sw.ID, pollEvery, polls[0].at.Add(-pollEvery))
			for i, p := range polls {
				if want := first.Add(time.Duration(i) * pollEvery); !p.at.Equal(want) {
					t.Errorf("poll %d at %v, want its slot %v", i, p.at, want)
				}
			}
			for _, port := range []models.SwitchPort{hc, c32} {
				ss := f.samples(t, port.ID)
				if len(ss) != len(polls) {
					t.Errorf("port %d: %d samples for %d polls", port.IfIndex, len(ss), len(polls))
				}
				p := agents.switches[sw.Address].ports[port.IfIndex]
				if notes := checkDeltas(t, port.Name, ss, p.in, p.out); fmt.Sprint(notes) != "[first]" {
					t.Errorf("port %d: samples without deltas %v, want the first only", port.IfIndex, notes)
				}
			}
			ss := f.samples(t, c32.ID)
			wrapped := false
			for i := 1; i < len(ss); i++ {
				wrapped = wrapped || uint32(ss[i].InC) < uint32(ss[i-1].InC)
			}
			if !wrapped {
				t.Error("the 32-bit counter never wrapped: the test proves nothing about wraps")
			}
			if row := f.switchRow(t, sw.ID); row.LastPollAt == nil || row.LastError != "" || row.LeaseOwner != "" {
				t.Errorf("switch after the run: last poll %v, error %q, lease owner %q; want a poll, no error, released",
					row.LastPollAt, row.LastError, row.LeaseOwner)
			}
			results := (&proberFixture{org: f.org}).results(t, s, *hc.CheckID)
			if len(results) != len(polls) {
				t.Errorf("%d results of the port check for %d polls", len(results), len(polls))
			}
			for _, res := range results {
				if !res.OK || res.RTTus != 0 {
					t.Errorf("port check result %+v, want up", res)
				}
			}
			if st := r.p.Stats(); st.Polls != int64(len(polls)) || st.Samples != int64(2*len(polls)) || st.PollErrors != 0 {
				t.Errorf("stats %+v", st)
			}
			// The same figures as series, and the traffic writer's own.
			fams := metricstest.Gather(t, reg)
			for _, tc := range []struct {
				name   string
				labels []string
				want   float64
			}{
				{"portal_snmp_polls_total", []string{"outcome", "ok"}, float64(len(polls))},
				{"portal_snmp_poll_seconds", nil, float64(len(polls))},
				{"portal_traffic_samples_total", []string{"path", "written"}, float64(2 * len(polls))},
				{"portal_probes_total", []string{"kind", "port", "outcome", "ok"}, float64(len(results))},
			} {
				if got, _ := fams.Value(tc.name, tc.labels...); got != tc.want {
					t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
				}
			}
			if v, _ := fams.Value("portal_prober_batch_size", "writer", "traffic"); v < 1 {
				t.Errorf("traffic batches observed %v, want some", v)
			}
			if _, ok := fams.Value("portal_probe_rtt_seconds", "kind", "port"); ok {
				t.Error("a round-trip time series for port checks, which have none")
			}
		})
	}
}

// A counter reset (64-bit counters going back, the agent still up) and an
// agent restart (sysUpTime going back, every counter from zero) each leave
// one sample without deltas, never a spike, and the rates go on after.
func TestPollerCounterResetAndAgentRestartLeaveNoSpike(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			clock := newManualClock()
			s := dbtest.Open(t, db, models.WithClock(clock.Now))
			f := newSwitchFixture(t, s, db)
			sw := f.addSwitch(t, "core-1", "127.0.2.1")
			hc := f.addPort(t, sw, 1, true, false)
			c32 := f.addPort(t, sw, 2, false, false)
			agents := newFakeAgents(clock)
			agents.add(sw.Address, map[int]*fakePort{1: {hc: true, in: 2000, out: 500, start: 1 << 50}, 2: {in: 300, out: 30, start: 1 << 31}})
			agents.before = func(addr string, n int, a *fakeSwitch, now time.Time) error {
				switch n {
				case 3: // the 64-bit counter is cleared
					a.ports[1].start, a.ports[1].zero = 0, now.Add(-time.Second)
				case 6:
					a.restart(now)
				}
				return nil
			}
			r := start(t, Config{InstanceID: "solo", Clock: clock, Jitter: -1, BatchAge: time.Second,
				SNMPPoll: agents.pollFunc("solo")}, s, newProbeRecorder(clock).probeFunc("solo"))
			eventually(t, "the prober holds the switch", func() bool { return r.p.Stats().Switches == 1 })
			clock.run(95 * time.Second)
			r.stop(t)

			polls := agents.pollsOf(sw.Address)
			if len(polls) < 9 {
				t.Fatalf("%d polls, want 9 or more", len(polls))
			}
			for _, x := range []struct {
				port models.SwitchPort
				want string
			}{{hc, "[first reset restart]"}, {c32, "[first restart]"}} {
				ss := f.samples(t, x.port.ID)
				p := agents.switches[sw.Address].ports[x.port.IfIndex]
				if notes := checkDeltas(t, x.port.Name, ss, p.in, p.out); fmt.Sprint(notes) != x.want {
					t.Errorf("%s: samples without deltas %v, want %s", x.port.Name, notes, x.want)
				}
				if n := len(ss); n == 0 || !ss[n-1].Valid {
					t.Errorf("%s: no rate after the restart", x.port.Name)
				}
			}
		})
	}
}

// Two and three instances on one database share the switches: each slot
// of each switch is polled once, whoever polls it, through joins, a kill
// and a clean stop; an instance that takes a switch over starts from the
// samples stored, so only the very first poll of a port lacks deltas and
// each sample's deltas run exactly from the one before it.
func TestInstancesPollEachSwitchSlotOnce(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			clock := newManualClock()
			open := func() *models.Store { return dbtest.Open(t, db, models.WithClock(clock.Now)) }
			s := open()
			f := newSwitchFixture(t, s, db)
			agents := newFakeAgents(clock)
			var sws []models.Switch
			ports := map[int64]models.SwitchPort{}
			for i := range 12 {
				sw := f.addSwitch(t, fmt.Sprintf("sw%d", i), fmt.Sprintf("127.0.2.%d", i+1))
				sws = append(sws, sw)
				ports[sw.ID] = f.addPort(t, sw, 7, true, false)
				agents.add(sw.Address, map[int]*fakePort{7: {hc: true, in: uint64(100 * (i + 1)), out: 5, start: 1 << 33}})
			}
			rec := newProbeRecorder(clock)
			lease := 6 * time.Second
			settle := 3 * lease
			cfg := func(id string) Config {
				return Config{InstanceID: id, Clock: clock, Lease: lease, Jitter: -1, BatchAge: time.Second, SNMPPoll: agents.pollFunc(id)}
			}
			held := func() map[string]int {
				n := map[string]int{}
				for _, sw := range sws {
					n[f.switchRow(t, sw.ID).LeaseOwner]++
				}
				return n
			}
			want := func(when string, shares map[string]int) {
				t.Helper()
				if got := held(); fmt.Sprint(got) != fmt.Sprint(shares) {
					t.Errorf("%s: switches per instance %v, want %v", when, got, shares)
				}
			}

			a := start(t, cfg("a"), open(), rec.probeFunc("a"))
			clock.run(settle)
			want("a alone", map[string]int{"a": 12})
			b := start(t, cfg("b"), open(), rec.probeFunc("b"))
			clock.run(settle)
			want("b joined", map[string]int{"a": 6, "b": 6})
			c := cfg("c")
			c.keepLeases = true
			cr := start(t, c, open(), rec.probeFunc("c"))
			clock.run(settle)
			want("c joined", map[string]int{"a": 4, "b": 4, "c": 4})
			ofC := map[int64]bool{}
			for _, sw := range sws {
				ofC[sw.ID] = f.switchRow(t, sw.ID).LeaseOwner == "c"
			}
			cr.stop(t) // killed: its leases stay until they end
			killed := clock.Now()
			clock.run(2 * lease)
			want("two leases after c was killed", map[string]int{"a": 6, "b": 6})
			clock.run(settle)
			b.stop(t) // a clean stop: b releases its switches
			stopped := clock.Now()
			clock.run(settle)
			want("b stopped", map[string]int{"a": 12})
			clock.run(settle)
			a.stop(t)

			handedOver := 0
			for _, sw := range sws {
				polls := agents.pollsOf(sw.Address)
				seen := map[string]bool{}
				for i, p := range polls {
					seen[p.instance] = true
					if i == 0 {
						continue
					}
					gap := p.at.Sub(polls[i-1].at)
					switch {
					case gap < pollEvery:
						t.Errorf("%s polled twice in one interval: by %s at %v and by %s at %v", sw.Name,
							polls[i-1].instance, polls[i-1].at, p.instance, p.at)
					case gap == pollEvery:
					case ofC[sw.ID] && polls[i-1].at.Before(killed) && p.at.Before(killed.Add(2*lease+pollEvery)):
					case polls[i-1].instance == "b" && polls[i-1].at.Before(stopped) && p.at.Before(stopped.Add(lease/4+pollEvery)):
					default:
						t.Errorf("%s: no poll between %v (%s) and %v (%s)", sw.Name, polls[i-1].at.Format("15:04:05.000"),
							polls[i-1].instance, p.at.Format("15:04:05.000"), p.instance)
					}
				}
				if len(seen) > 1 {
					handedOver++
				}
				ss := f.samples(t, ports[sw.ID].ID)
				if len(ss) != len(polls) {
					t.Errorf("%s: %d samples for %d polls", sw.Name, len(ss), len(polls))
				}
				p := agents.switches[sw.Address].ports[7]
				if notes := checkDeltas(t, sw.Name, ss, p.in, p.out); fmt.Sprint(notes) != "[first]" {
					t.Errorf("%s: samples without deltas %v, want the very first only", sw.Name, notes)
				}
			}
			if handedOver < 8 {
				t.Errorf("%d of the 12 switches changed hands, want 8 or more: hand-overs not tested", handedOver)
			}
		})
	}
}

// A port that is down at two polls in a row opens an outage dated from the
// first, with its notice in the outbox and the 15-minute clock, and the
// poll that finds it up again closes it, through the result writer and
// RecordResults as for pings. A switch that does not answer says nothing
// of its ports: no result, no outage, only its error (without its
// secret) on the switch.
func TestPortDownOpensAnOutageAndAnUnreachableSwitchNone(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := newManualClock()
			s := dbtest.Open(t, db, models.WithClock(clock.Now))
			f := newSwitchFixture(t, s, db)
			sw := f.addSwitch(t, "access-1", "127.0.2.1")
			port := f.addPort(t, sw, 5, true, true)
			dark := f.addSwitch(t, "access-2", "127.0.2.2")
			darkPort := f.addPort(t, dark, 6, true, true)
			agents := newFakeAgents(clock)
			agents.add(sw.Address, map[int]*fakePort{5: {hc: true, in: 10, out: 10}})
			agents.add(dark.Address, map[int]*fakePort{6: {hc: true, in: 10, out: 10}})
			agents.before = func(addr string, n int, a *fakeSwitch, now time.Time) error {
				if addr == dark.Address {
					if n >= 1 && n <= 4 {
						return errors.New("request timeout (community " + fakeCommunity + ")")
					}
					return nil
				}
				a.ports[5].down = n == 2 || n == 3
				return nil
			}
			r := start(t, Config{InstanceID: "solo", Clock: clock, Jitter: -1, BatchAge: time.Hour,
				SpoolPath: t.TempDir() + "/prober.spool", SNMPPoll: agents.pollFunc("solo")}, s, newProbeRecorder(clock).probeFunc("solo"))
			eventually(t, "the prober holds the switches", func() bool { return r.p.Stats().Switches == 2 })
			clock.run(45 * time.Second)
			if row := f.switchRow(t, dark.ID); !strings.Contains(row.LastError, "request timeout") || strings.Contains(row.LastError, fakeCommunity) {
				t.Errorf("the dark switch's last error = %q, want the timeout without the community", row.LastError)
			}
			clock.run(30 * time.Second)
			r.stop(t)

			pf := &proberFixture{org: f.org}
			rs := pf.results(t, s, *port.CheckID)
			if len(rs) < 6 {
				t.Fatalf("%d results of the port check, want 6 or more", len(rs))
			}
			for i, res := range rs {
				if down := i == 2 || i == 3; res.OK == down || (down && res.Reason != models.ReasonPortDown) {
					t.Errorf("port check result %d = %+v", i, res)
				}
			}
			outages, err := s.ListOutages(ctx, models.AllOrgs(), f.org, f.device.ID, 10)
			if err != nil || len(outages) != 1 {
				t.Fatalf("outages = %+v, %v; want one", outages, err)
			}
			o := outages[0]
			if o.CheckID != *port.CheckID || !o.StartedAt.Equal(rs[2].At) || !o.ConfirmedAt.Equal(rs[3].At) ||
				o.EndedAt == nil || !o.EndedAt.Equal(rs[4].At) || o.Failures != 2 {
				t.Errorf("outage %+v: want the port check's, started %v (first down poll), confirmed %v, ended %v, 2 failures",
					o, rs[2].At, rs[3].At, rs[4].At)
			}
			kinds, _ := s.OutboxKinds(ctx, models.AllOrgs(), f.org)
			if len(kinds) != 1 || kinds[0] != models.EventOutageOpened {
				t.Errorf("outbox = %v, want the notice of the outage", kinds)
			}
			clk, err := s.OutageClock(ctx, models.AllOrgs(), f.org, o.ID)
			if err != nil || clk == nil || !clk.StartedAt.Equal(o.ConfirmedAt) || !clk.DeadlineAt.Equal(o.ConfirmedAt.Add(models.EmergencyDeadline)) {
				t.Errorf("clock %+v, %v; want the 15-minute clock from the confirmation", clk, err)
			}
			ev, err := s.OutageEvidence(ctx, models.AllOrgs(), f.org, o.ID)
			if err != nil || len(ev) != 2 || ev[0].Reason != models.ReasonPortDown {
				t.Errorf("evidence %+v, %v; want the two port_down polls", ev, err)
			}

			darkPolls := agents.pollsOf(dark.Address)
			darkResults := pf.results(t, s, *darkPort.CheckID)
			if len(darkResults) != len(darkPolls)-4 {
				t.Errorf("the dark switch's port check has %d results for %d polls, 4 of them failed; want one per answered poll",
					len(darkResults), len(darkPolls))
			}
			for _, res := range darkResults {
				if !res.OK {
					t.Errorf("the dark switch's port check failed: %+v", res)
				}
			}
			if ss := f.samples(t, darkPort.ID); len(ss) != len(darkPolls)-4 {
				t.Errorf("the dark switch's port has %d samples for %d polls, 4 of them failed", len(ss), len(darkPolls))
			}
			if row := f.switchRow(t, dark.ID); row.LastError != "" {
				t.Errorf("the dark switch's error %q stayed after it answered again", row.LastError)
			}
			if st := r.p.Stats(); st.PollErrors != 4 {
				t.Errorf("poll errors %d, want 4", st.PollErrors)
			}
		})
	}
}

// The poller through the portal's own SNMP client (SNMPPoll) against the
// in-process agent, in real time: the rate of a port is what the agent
// serves, and a port the agent says is down opens an outage at its second
// poll. SQLite only: what depends on the database is tested above on
// both, with a fake agent and the manual clock; this one takes two real
// polls (up to 20 s). An administratively down port (ifAdminStatus) gives
// samples but no result: no outage.
func TestPollerThroughSNMPPollAgainstAnAgent(t *testing.T) {
	db := dbtest.Databases(t)[0]
	ctx := context.Background()
	s := dbtest.Open(t, db)
	f := newSwitchFixture(t, s, db)
	agent, err := snmpagent.Start(snmpagent.Config{Addr: "127.0.0.1:0", Community: fakeCommunity, SysName: "edge-1",
		Interfaces: []snmpagent.Interface{
			{Index: 1, Name: "Gi0/1", SpeedBps: 1e9, InBps: 80e6, OutBps: 8e6, InStart: 1 << 40},
			{Index: 2, Name: "Gi0/2", SpeedBps: 1e9, OperDown: true},
			// Mapped before it is cabled: administratively down.
			{Index: 3, Name: "Gi0/3", SpeedBps: 1e9, AdminDown: true},
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer agent.Close()
	sw := f.addSwitch(t, "edge-1", agent.Addr())
	busy := f.addPort(t, sw, 1, true, false)
	down := f.addPort(t, sw, 2, true, true)
	shut := f.addPort(t, sw, 3, true, true)
	r := start(t, Config{InstanceID: "real", BatchAge: 200 * time.Millisecond, SNMPPoll: SNMPPoll}, s, nil)

	var outages []models.Outage
	deadline := time.Now().Add(45 * time.Second)
	for {
		outages, err = s.ListOutages(ctx, models.AllOrgs(), f.org, f.device.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(outages) > 0 && len(f.samples(t, busy.ID)) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 45 s: %d outages, %d samples, stats %+v; want an outage and 2 samples", len(outages),
				len(f.samples(t, busy.ID)), r.p.Stats())
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.stop(t)

	ss := f.samples(t, busy.ID)
	if ss[0].Valid || !ss[1].Valid || ss[1].Ms < 9000 || ss[1].Ms > 11000 {
		t.Fatalf("samples %+v: want a first one without deltas, then one with 10 s of deltas", ss[:2])
	}
	if in, out := ss[1].InBps(), ss[1].OutBps(); in < 78e6 || in > 82e6 || out < 7.8e6 || out > 8.2e6 {
		t.Errorf("rates %d in, %d out; want 80 Mb/s and 8 Mb/s within 2.5 %%", in, out)
	}
	if o := outages[0]; len(outages) != 1 || o.CheckID != *down.CheckID || o.EndedAt != nil {
		t.Errorf("outages %+v: want the down port's only, open (none for the administratively down port)", outages)
	}
	if res := (&proberFixture{org: f.org}).results(t, s, *shut.CheckID); len(res) != 0 {
		t.Errorf("the administratively down port's check has results %+v, want none", res)
	}
	if ss := f.samples(t, shut.ID); len(ss) < 2 || ss[0].OperUp {
		t.Errorf("the administratively down port's samples %+v: want them stored, down", ss)
	}
	if row := f.switchRow(t, sw.ID); row.LastPollAt == nil || row.LastError != "" {
		t.Errorf("switch: last poll %v, error %q", row.LastPollAt, row.LastError)
	}
}
