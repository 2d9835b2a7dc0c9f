package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/prober/snmpagent"
)

// The demo's traffic (issue 17): two network devices of the data center,
// served by in-process SNMP agents (prober/snmpagent) on 127.0.0.1 that
// the prober polls live every 5 minutes, with a past of 5-minute samples
// so that every chart, 95th percentile and statement has figures at once.
//
//   - sw-core-1 (hall A): its 10G uplink to the carrier (the busiest port,
//     unmapped: staff only) and the ports of Aurora's web-01 (a daily
//     curve under the 20 Mbps of its contract) and db-01 (quiet, but for
//     a nightly backup that the 95th percentile leaves out). db-01's port
//     went down for 47 minutes 9 days ago (its network card failed: the
//     customer's equipment), which opened an outage of its port check.
//   - sw-agg-2 (hall B): Bravo's game-01 (evening peaks near the 100 Mbps
//     of the B07 contract), registered when Bravo's service began on the
//     16th of last month, and an old 100 Mb/s management port with 32-bit
//     counters only (a nightly backup wraps them now and then).
//
// Each device has interfaces nobody monitors yet (a spare port, game-02's,
// a VLAN, a loopback), for the discovery page. The switches, their ports
// and mappings are made through the Store on the history's clock (steps
// of seedDemoHistory), the samples are written a day at a time as each
// day ends (Store.RecordTraffic), so that the statements closed on the
// 2nd carry them, and the janitor's builders make the rollups and
// the finished months at the end (finishDemoTraffic). The live agents
// continue each port's counters from its newest stored sample
// (startDemoSwitches), so the first live poll carries on smoothly.

// demoSNMPCommunity is the demo switches' SNMP v2c community.
const demoSNMPCommunity = "demo-ro-2026"

// demoTrafficDays is how far back the traffic past reaches at least; it
// starts earlier when last month began earlier, so that last month is
// whole on the statements.
const demoTrafficDays = 40

// demoShape is a port's daily curve: its share of the peak rate at each
// hour of the provider's day, interpolated in between.
type demoShape [24]float64

var (
	demoShapeWeb = demoShape{0.42, 0.33, 0.26, 0.21, 0.18, 0.18, 0.22, 0.34, 0.52, 0.68, 0.76, 0.80,
		0.78, 0.79, 0.82, 0.83, 0.81, 0.78, 0.80, 0.88, 0.96, 1.00, 0.88, 0.62}
	demoShapeGame = demoShape{0.70, 0.52, 0.36, 0.24, 0.16, 0.12, 0.11, 0.12, 0.16, 0.22, 0.30, 0.38,
		0.46, 0.48, 0.50, 0.54, 0.60, 0.68, 0.78, 0.90, 0.98, 1.00, 0.95, 0.84}
	demoShapeFlat = demoShape{0.62, 0.58, 0.55, 0.53, 0.52, 0.53, 0.56, 0.62, 0.72, 0.80, 0.85, 0.88,
		0.87, 0.88, 0.90, 0.90, 0.89, 0.87, 0.88, 0.92, 0.96, 1.00, 0.92, 0.75}
)

func (s *demoShape) at(hour float64) float64 {
	i := int(hour) % 24
	f := hour - math.Floor(hour)
	return s[i]*(1-f) + s[(i+1)%24]*f
}

// demoBurst is a nightly job at fixed rates from one hour to another.
type demoBurst struct{ from, to, inBps, outBps float64 }

// demoIface is an interface of a demo switch with its traffic model.
type demoIface struct {
	index              int
	name, descr, alias string
	typ                int
	speed              int64
	only32, adminDown  bool
	operDown           bool
	// monitor: a port of the demo's, with its mapping (org, device and
	// the service type of the contract; "" for none).
	monitor                  bool
	org, device, contractSvc string
	// The traffic: peak rates of the daily curve, the weekend's factor, a
	// nightly burst, input errors a day and whether it drops packets at
	// its peaks.
	inPeak, outPeak float64
	shape           *demoShape
	weekend         float64
	burst           *demoBurst
	errorsPerDay    float64
	discards        bool
}

// demoSwitch is a demo network device.
type demoSwitch struct {
	name, site, sysName, sysDescr string
	ifaces                        []demoIface
	// bravo: registered when Bravo's service began, not with the history.
	bravo bool
}

var demoSwitches = []demoSwitch{
	{name: "sw-core-1", site: "A 厅 / Hall A", sysName: "sw-core-1.hall-a.idc.example",
		sysDescr: "Demo core switch, 48×1G + 4×10G (the portal demo's in-process SNMP agent)",
		ifaces: []demoIface{
			{index: 1, name: "Te1/1/1", descr: "TenGigabitEthernet1/1/1", alias: "上联 运营商 A / uplink to carrier A", speed: 10_000_000_000,
				monitor: true, inPeak: 1.1e9, outPeak: 2.6e9, shape: &demoShapeWeb, weekend: 0.9, discards: true, errorsPerDay: 3},
			{index: 12, name: "Gi1/0/12", descr: "GigabitEthernet1/0/12", alias: "Aurora web-01 eth0", speed: 1_000_000_000,
				monitor: true, org: "aurora", device: "web-01", contractSvc: models.ServiceColocation,
				inPeak: 16.5e6, outPeak: 3.2e6, shape: &demoShapeWeb, weekend: 0.8, errorsPerDay: 1},
			{index: 13, name: "Gi1/0/13", descr: "GigabitEthernet1/0/13", alias: "spare", speed: 1_000_000_000, operDown: true},
			{index: 14, name: "Gi1/0/14", descr: "GigabitEthernet1/0/14", alias: "Aurora db-01 eth0", speed: 1_000_000_000,
				monitor: true, org: "aurora", device: "db-01", contractSvc: models.ServiceColocation,
				inPeak: 1.4e6, outPeak: 0.9e6, shape: &demoShapeFlat, weekend: 0.95,
				burst: &demoBurst{from: 2, to: 2.5, inBps: 58e6, outBps: 1.5e6}, errorsPerDay: 2},
			{index: 20, name: "Gi1/0/20", descr: "GigabitEthernet1/0/20", speed: 1_000_000_000, adminDown: true, operDown: true},
			{index: 100, name: "Vl100", descr: "Vlan100", alias: "mgmt", typ: 136, speed: 1_000_000_000,
				inPeak: 0.2e6, outPeak: 0.1e6, shape: &demoShapeFlat, weekend: 1},
			{index: 200, name: "Lo0", descr: "Loopback0", typ: 24},
		}},
	{name: "sw-agg-2", site: "B 厅 / Hall B", sysName: "sw-agg-2.hall-b.idc.example", bravo: true,
		sysDescr: "Demo aggregation switch, 24×1G + 2×10G + 1×100M (the portal demo's in-process SNMP agent)",
		ifaces: []demoIface{
			{index: 1, name: "Gi0/1", descr: "GigabitEthernet0/1", alias: "Bravo game-01 bond0", speed: 1_000_000_000,
				monitor: true, org: "bravo", device: "game-01", contractSvc: models.ServiceFullCabinet,
				inPeak: 88e6, outPeak: 21e6, shape: &demoShapeGame, weekend: 1.2, discards: true, errorsPerDay: 1},
			{index: 2, name: "Gi0/2", descr: "GigabitEthernet0/2", alias: "Bravo game-02 bond0", speed: 1_000_000_000,
				inPeak: 1.8e6, outPeak: 0.4e6, shape: &demoShapeGame, weekend: 1},
			{index: 25, name: "Te0/25", descr: "TenGigabitEthernet0/25", alias: "上联 sw-core-1 / uplink to sw-core-1", speed: 10_000_000_000,
				inPeak: 35e6, outPeak: 120e6, shape: &demoShapeGame, weekend: 1.1},
			{index: 48, name: "Fa0/48", descr: "FastEthernet0/48", alias: "带外管理 / out-of-band management", speed: 100_000_000, only32: true,
				monitor: true, inPeak: 1.2e6, outPeak: 0.6e6, shape: &demoShapeFlat, weekend: 1,
				burst: &demoBurst{from: 1, to: 1.85, inBps: 0.8e6, outBps: 46e6}},
		}},
}

// demoSwitchAddr is where demo switch i's agent listens: UDP on 127.0.0.1
// at the portal's port plus 2 + i (8082 and 8083 for :8080), after the
// demo service's 8081.
func demoSwitchAddr(listen string, i int) string {
	port := 8080
	if _, p, err := net.SplitHostPort(listen); err == nil {
		if n, err := strconv.Atoi(p); err == nil && n > 0 && n < 65534-len(demoSwitches) {
			port = n
		}
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port+2+i))
}

// demoMix is a hash of a port's seed and a step, for the noise.
func demoMix(seed, k uint64) uint64 {
	x := seed ^ (k+0x9e3779b97f4a7c15)*0xbf58476d1ce4e5b9
	x ^= x >> 31
	x *= 0x94d049bb133111eb
	x ^= x >> 29
	return x
}

// demoNoise is a number in [-1, 1) for a port's seed and a step.
func demoNoise(seed, k uint64) float64 {
	return float64(demoMix(seed, k)>>11)/float64(1<<53)*2 - 1
}

// demoRates are an interface's rates during the minute that starts at t
// (t on the minute): octets, errors and discards per second, in then out.
func (f *demoIface) rates(t time.Time, zone *time.Location, seed uint64) [6]float64 {
	var r [6]float64
	if f.shape == nil || f.operDown {
		return r
	}
	local := t.In(zone)
	hour := float64(local.Hour()) + float64(local.Minute())/60
	share := f.shape.at(hour)
	if wd := local.Weekday(); wd == time.Saturday || wd == time.Sunday {
		share *= f.weekend
	}
	minute, slot := uint64(t.Unix()/60), uint64(t.Unix()/300)
	in := f.inPeak * share * (1 + 0.16*demoNoise(seed, slot) + 0.07*demoNoise(seed+1, minute))
	out := f.outPeak * share * (1 + 0.16*demoNoise(seed+2, slot) + 0.07*demoNoise(seed+3, minute))
	if demoMix(seed+4, slot)%450 == 0 { // now and then a burst
		in, out = in*1.7, out*1.5
	}
	if b := f.burst; b != nil && hour >= b.from && hour < b.to {
		in += b.inBps * (1 + 0.05*demoNoise(seed+5, minute))
		out += b.outBps * (1 + 0.05*demoNoise(seed+6, minute))
	}
	limit := float64(f.speed) * 0.95
	r[0], r[1] = min(max(in, 0), limit)/8, min(max(out, 0), limit)/8
	if f.errorsPerDay > 0 && demoMix(seed+7, minute)%97 == 0 {
		r[2] = f.errorsPerDay * 97 / 86400 // the day's errors in a few bursts
	}
	if f.discards && share > 0.92 {
		r[4], r[5] = (share-0.92)*2, (share-0.92)*6
	}
	return r
}

// demoMeter runs an interface's counters forward in time, minute by
// minute, with the port down (no traffic) inside its down windows.
type demoMeter struct {
	ifc   *demoIface
	zone  *time.Location
	seed  uint64
	downs [][2]time.Time // [from, to)
	at    time.Time
	c     [6]uint64  // in, out octets; in, out errors; in, out discards
	frac  [6]float64 // what is owed below one unit
}

func (m *demoMeter) down(t time.Time) bool {
	for _, d := range m.downs {
		if !t.Before(d[0]) && t.Before(d[1]) {
			return true
		}
	}
	return false
}

// advance brings the counters to to (never back).
func (m *demoMeter) advance(to time.Time) {
	for m.at.Before(to) {
		next := m.at.Truncate(time.Minute).Add(time.Minute)
		for _, d := range m.downs {
			for _, b := range d {
				if b.After(m.at) && b.Before(next) {
					next = b
				}
			}
		}
		if next.After(to) {
			next = to
		}
		if !m.down(m.at) {
			r := m.ifc.rates(m.at.Truncate(time.Minute), m.zone, m.seed)
			secs := next.Sub(m.at).Seconds()
			for i := range r {
				v := r[i]*secs + m.frac[i]
				whole := math.Floor(v)
				m.c[i] += uint64(whole)
				m.frac[i] = v - whole
			}
		}
		m.at = next
	}
}

// reading is the port's reading at the meter's time, as an agent serves
// it (32-bit octet counters for an only32 interface), boot being when the
// switch started.
func (m *demoMeter) reading(boot time.Time) models.CounterReading {
	in, out := m.c[0], m.c[1]
	if m.ifc.only32 {
		in, out = in&math.MaxUint32, out&math.MaxUint32
	}
	return models.CounterReading{At: m.at, Uptime: demoUptime(boot, m.at), HC: !m.ifc.only32,
		InOctets: in, OutOctets: out, InErrors: uint32(m.c[2]), OutErrors: uint32(m.c[3]),
		InDiscards: uint32(m.c[4]), OutDiscards: uint32(m.c[5]), OperUp: !m.down(m.at) && !m.ifc.operDown,
		SpeedBps: m.ifc.speed}
}

// demoUptime is sysUpTime at t of a switch started at boot.
func demoUptime(boot, t time.Time) uint32 {
	return uint32(uint64(max(t.Sub(boot), 0)/(10*time.Millisecond)) % (1 << 32))
}

// demoSeed is an interface's noise seed.
func demoSeed(sw string, index int) uint64 {
	var h uint64 = 14695981039346656037
	for _, b := range []byte(sw + "/" + strconv.Itoa(index)) {
		h = (h ^ uint64(b)) * 1099511628211
	}
	return h
}

// newDemoMeter is an interface's meter at at, its counters where a switch
// running for a while would have them.
func newDemoMeter(sw string, f *demoIface, zone *time.Location, at time.Time) *demoMeter {
	seed := demoSeed(sw, f.index)
	m := &demoMeter{ifc: f, zone: zone, seed: seed, at: at}
	if f.shape != nil {
		m.c[0], m.c[1] = 1<<36+demoMix(seed, 1)%(1<<40), 1<<36+demoMix(seed, 2)%(1<<40)
		m.c[2], m.c[4], m.c[5] = demoMix(seed, 3)%40, demoMix(seed, 4)%900, demoMix(seed, 5)%3000
	}
	return m
}

// demoTrafficPlan is the traffic past as the demo writes it on a first
// start: the port's outage, and the meters of the monitored ports as the
// samples are written.
type demoTrafficPlan struct {
	listen  string
	zone    *time.Location
	boot    time.Time // both switches started
	outage  demoWindow
	meters  map[int64]*demoMeter // by port ID, once the port exists
	written map[int64]*models.CounterReading
	first   map[int64]time.Time // each port's first sample
	ports   map[string]int64    // port ID by "switch/ifIndex"
	ran     bool                // the steps ran: finishDemoTraffic has work
}

// demoTrafficPast plans the traffic past, now being the demo's time, as
// steps of the history: the switches registered, their ports mapped, the
// samples written a day at a time, and the outage of db-01's port, placed
// clear of the other incidents (avoid).
func demoTrafficPast(store *models.Store, listen string, avoid []demoIncident) (*demoTrafficPlan, demoPast) {
	zone := store.Zone()
	now := store.Now()
	local := now.In(zone)
	thisMonth := time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, zone)
	lastMonth := thisMonth.AddDate(0, -1, 0)
	start := now.AddDate(0, 0, -demoTrafficDays)
	if early := lastMonth.AddDate(0, 0, -2); early.Before(start) {
		start = early
	}
	sl := start.In(zone)
	start = time.Date(sl.Year(), sl.Month(), sl.Day(), 10, 20, 0, 0, zone).UTC()
	bravo := time.Date(lastMonth.Year(), lastMonth.Month(), 16, 9, 40, 0, 0, zone).UTC()
	if bravo.Before(start.Add(time.Hour)) {
		bravo = start.Add(time.Hour)
	}
	pl := &demoTrafficPlan{listen: listen, zone: zone, boot: start.AddDate(0, 0, -23).Add(-4 * time.Hour),
		meters: map[int64]*demoMeter{}, first: map[int64]time.Time{}, written: map[int64]*models.CounterReading{}, ports: map[string]int64{}}

	// db-01's port down for 47 minutes, 9 days ago in the afternoon, or
	// a day earlier while that comes near another incident.
	day := local.AddDate(0, 0, -9)
	at := time.Date(day.Year(), day.Month(), day.Day(), 14, 20, 0, 0, zone)
	for slices.ContainsFunc(append(slices.Clone(demoIncidents), avoid...), func(in demoIncident) bool {
		s := in.start(now)
		return at.Before(s.Add(in.length+3*time.Hour)) && s.Before(at.Add(50*time.Minute+3*time.Hour))
	}) {
		at = at.AddDate(0, 0, -1)
	}
	pl.outage = demoWindow{demoIncident: demoIncident{devices: []string{"db-01"}, kinds: []models.CheckKind{models.KindPort},
		at: at, length: 47 * time.Minute, cause: models.CauseCustomerEquipment, met: true,
		note: "db-01 的网卡 eth0 故障，客户更换网卡后端口恢复；此前数日端口已有 CRC 错误。\n" +
			"db-01's network card (eth0) failed; the port came back once Aurora replaced it. The port had shown CRC errors for some days before."}}
	pl.outage.start = at.UTC().Truncate(demoStep)
	pl.outage.recovery = pl.outage.start.Add(pl.outage.length).Truncate(demoStep).Add(demoStep)

	var p demoPast
	step := func(t time.Time, do func(ctx context.Context, past *models.Store, engineer models.Actor) error) {
		p.steps = append(p.steps, demoStepAt{t.UTC(), func(ctx context.Context, past *models.Store, engineer models.Actor) error {
			if err := do(ctx, past, engineer); err != nil {
				return fmt.Errorf("demo traffic: %w", err)
			}
			return nil
		}})
	}
	for i := range demoSwitches {
		ds := &demoSwitches[i]
		at := start
		if ds.bravo {
			at = bravo
		}
		step(at, func(ctx context.Context, past *models.Store, engineer models.Actor) error {
			pl.ran = true
			return pl.register(ctx, past, engineer, i)
		})
	}
	// The samples of each day, written as it ends, so that a month's
	// statement closed on the 2nd carries them.
	for d := time.Date(sl.Year(), sl.Month(), sl.Day()+1, 0, 0, 30, 0, zone); d.Before(now); d = d.AddDate(0, 0, 1) {
		until := d.Add(-30 * time.Second)
		step(d, func(ctx context.Context, past *models.Store, _ models.Actor) error {
			return pl.writeSamples(ctx, past, until)
		})
	}
	// The outage of db-01's port: its check is found when the step runs
	// (the port is mapped by then).
	w := &pl.outage
	w.resolve = func(ctx context.Context, past *models.Store) ([]models.Check, error) {
		id := pl.ports["sw-core-1/14"]
		ps, err := past.ListSwitchPorts(ctx, models.AllOrgs(), pl.switchOf(ctx, past, "sw-core-1"))
		if err != nil {
			return nil, err
		}
		for _, sp := range ps {
			if sp.ID == id && sp.CheckID != nil && sp.OrgID != nil {
				cs, err := past.ListChecks(ctx, models.AllOrgs(), *sp.OrgID, *sp.DeviceID)
				if err != nil {
					return nil, err
				}
				for _, c := range cs {
					if c.ID == *sp.CheckID {
						return []models.Check{c}, nil
					}
				}
			}
		}
		return nil, errors.New("db-01's port check not found")
	}
	p.steps = append(p.steps, demoIncidentSteps(w, nil, mrand.New(mrand.NewPCG(2026, 17)))...)
	return pl, p
}

// switchOf is the ID of the demo switch named name, 0 when there is none.
func (pl *demoTrafficPlan) switchOf(ctx context.Context, store *models.Store, name string) int64 {
	sws, err := store.ListSwitches(ctx, models.AllOrgs())
	if err != nil {
		return 0
	}
	for _, sw := range sws {
		if sw.Name == name {
			return sw.ID
		}
	}
	return 0
}

// register makes demo switch i as an engineer would: the device, its
// monitored interfaces, and each port's mapping to its customer.
func (pl *demoTrafficPlan) register(ctx context.Context, past *models.Store, engineer models.Actor, i int) error {
	ds := &demoSwitches[i]
	sw, err := past.CreateSwitch(ctx, engineer, models.SwitchInput{Name: ds.name, Address: demoSwitchAddr(pl.listen, i), Site: ds.site,
		Version: models.SNMPv2c, Community: demoSNMPCommunity, Enabled: true})
	if err != nil {
		return err
	}
	var picked []models.Interface
	for _, f := range ds.ifaces {
		if f.monitor {
			picked = append(picked, models.Interface{IfIndex: f.index, Name: f.name, Descr: f.descr, Alias: f.alias,
				SpeedBps: f.speed, HC: !f.only32, AdminUp: true, OperUp: true, TypeNumber: 6})
		}
	}
	later := demoLater(past, 4*time.Minute)
	if _, err := later.AddSwitchPorts(ctx, engineer, sw.ID, picked); err != nil {
		return err
	}
	ports, err := later.ListSwitchPorts(ctx, models.AllOrgs(), sw.ID)
	if err != nil {
		return err
	}
	mapping := demoLater(past, 9*time.Minute)
	for j := range ds.ifaces {
		f := &ds.ifaces[j]
		k := slices.IndexFunc(ports, func(p models.SwitchPortRow) bool { return p.IfIndex == f.index })
		if !f.monitor || k < 0 {
			continue
		}
		port := ports[k].SwitchPort
		pl.ports[ds.name+"/"+strconv.Itoa(f.index)] = port.ID
		// The first poll after the mapping below.
		m := newDemoMeter(ds.name, f, pl.zone, past.Now().Add(10*time.Minute).Truncate(demoStep).Add(demoStep))
		pl.first[port.ID] = m.at
		if f.device == "db-01" {
			m.downs = [][2]time.Time{{pl.outage.start.Add(-2 * time.Minute), pl.outage.recovery.Add(-3 * time.Minute)}}
		}
		pl.meters[port.ID] = m
		if f.org == "" {
			continue
		}
		org, err := past.GetOrgBySlug(ctx, f.org)
		if err != nil {
			return err
		}
		devices, err := past.ListDevices(ctx, models.AllOrgs(), org.ID)
		if err != nil {
			return err
		}
		pm := models.PortMapping{OrgID: &org.ID}
		if id := demoDeviceNamed(devices, f.device); id != 0 {
			pm.DeviceID = &id
		}
		contracts, err := past.ListContracts(ctx, models.AllOrgs(), models.ContractFilter{OrgID: org.ID})
		if err != nil {
			return err
		}
		for _, c := range contracts {
			if c.ServiceType == f.contractSvc {
				pm.ContractID = &c.ID
			}
		}
		if _, err := mapping.MapSwitchPort(ctx, engineer, port.ID, pm); err != nil {
			return err
		}
	}
	return nil
}

// demoLater is past with its clock d later.
func demoLater(past *models.Store, d time.Duration) *models.Store {
	return past.Clocked(func() time.Time { return past.Now().Add(d) })
}

// writeSamples writes the 5-minute samples of every registered port up to
// until, as the poller would have stored them.
func (pl *demoTrafficPlan) writeSamples(ctx context.Context, past *models.Store, until time.Time) error {
	var batch []models.TrafficSample
	ids := make([]int64, 0, len(pl.meters))
	for id := range pl.meters {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		m := pl.meters[id]
		t := m.at // the port's first poll
		if w := pl.written[id]; w != nil {
			t = w.At.Add(demoStep)
		}
		for ; !t.After(until); t = t.Add(demoStep) {
			m.advance(t)
			rd := m.reading(pl.boot)
			batch = append(batch, models.NewTrafficSample(id, pl.written[id], rd, 3*demoStep))
			pl.written[id] = &rd
		}
	}
	_, err := past.RecordTraffic(ctx, batch)
	return err
}

// finishDemoTraffic completes the traffic past once the history's steps
// ran: the samples up to now, the port checks' quiet past (hourly and
// daily rollups, then raw results for the last days, as the pings have
// theirs), the rollups and finished months the janitor builds, and each
// switch's last poll.
func finishDemoTraffic(ctx context.Context, store *models.Store, pl *demoTrafficPlan) error {
	if pl == nil || !pl.ran {
		return nil
	}
	now := store.Now()
	last := now.Truncate(demoStep)
	if !last.Before(now) {
		last = last.Add(-demoStep)
	}
	if err := pl.writeSamples(ctx, store, last); err != nil {
		return fmt.Errorf("demo traffic: %w", err)
	}
	rawFrom := now.Add(-demoRawDays * 24 * time.Hour).Truncate(24 * time.Hour)
	hourlyFrom := now.Add(-demoHourlyDays * 24 * time.Hour).Truncate(24 * time.Hour)
	rng := mrand.New(mrand.NewPCG(2026, 18))
	sys := models.SystemActor("demo")
	var recent []models.ProbeResult
	for i := range demoSwitches {
		swID := pl.switchOf(ctx, store, demoSwitches[i].name)
		ports, err := store.ListSwitchPorts(ctx, models.AllOrgs(), swID)
		if err != nil {
			return err
		}
		for _, p := range ports {
			m := pl.meters[p.ID]
			if p.CheckID == nil || p.OrgID == nil || p.DeviceID == nil || m == nil {
				continue
			}
			checks, err := store.ListChecks(ctx, models.AllOrgs(), *p.OrgID, *p.DeviceID)
			if err != nil {
				return err
			}
			k := slices.IndexFunc(checks, func(c models.Check) bool { return c.ID == *p.CheckID })
			if k < 0 {
				continue
			}
			c := checks[k]
			first := pl.first[p.ID]
			rollups := demoRollups(c, demoLatency{}, first, rawFrom, hourlyFrom, pl.outage.covers, rng)
			if err := store.ImportHistory(ctx, sys, *p.OrgID, *p.DeviceID, c.CreatedAt, rollups); err != nil {
				return fmt.Errorf("demo traffic: the past of %s's port: %w", demoSwitches[i].name, err)
			}
			from := first
			if from.Before(rawFrom) {
				from = rawFrom
			}
			for t := from; !t.After(last); t = t.Add(demoStep) {
				recent = append(recent, models.ProbeResult{CheckID: c.ID, At: t, OK: true})
			}
		}
		if err := store.SwitchPolled(ctx, swID, last, demoSwitches[i].sysName, ""); err != nil {
			return err
		}
	}
	slices.SortStableFunc(recent, func(a, b models.ProbeResult) int { return a.At.Compare(b.At) })
	for len(recent) > 0 {
		n := min(len(recent), 5000)
		if _, err := store.RecordResults(ctx, recent[:n]); err != nil {
			return fmt.Errorf("demo traffic: recent port results: %w", err)
		}
		recent = recent[n:]
	}
	// What the janitor does every 5 minutes, done now so that the first
	// page already reads rollups and last month's stored figures.
	for {
		const steps = 1000
		n, err := store.BuildTrafficRollups(ctx, steps)
		if err != nil {
			return err
		}
		if n < steps {
			break
		}
	}
	_, err := store.BuildTrafficMonths(ctx)
	return err
}

// startDemoSwitches starts the demo switches' SNMP agents until ctx ends,
// each at its usual address (demoSwitchAddr) or, when that is taken, at a
// free port, which the stored switch then takes. Every port's counters
// and the switch's uptime carry on from its newest stored sample, so the
// first live poll follows the stored past without a jump. A switch the
// demo did not make (an older demo database) is left alone.
func startDemoSwitches(ctx context.Context, store *models.Store, listen string, log *slog.Logger) {
	stored, err := store.ListSwitches(ctx, models.AllOrgs())
	if err != nil {
		log.Warn("demo switches not started", "err", err)
		return
	}
	sys := models.SystemActor("demo")
	for i := range demoSwitches {
		ds := &demoSwitches[i]
		k := slices.IndexFunc(stored, func(s models.SwitchRow) bool { return s.Name == ds.name })
		if k < 0 {
			continue
		}
		sw := stored[k].Switch
		a, err := startDemoAgent(ctx, store, &sw, ds, demoSwitchAddr(listen, i))
		if err != nil {
			log.Warn("demo switch not started: its polls will fail", "switch", ds.name, "err", err)
			continue
		}
		go func() {
			<-ctx.Done()
			_ = a.Close()
		}()
		if a.Addr() != sw.Address {
			// A switch pointed elsewhere takes its secret again.
			in := models.SwitchInput{Name: sw.Name, Address: a.Addr(), Site: sw.Site, Version: models.SNMPv2c,
				Community: demoSNMPCommunity, IntervalSec: sw.IntervalSec, TimeoutMs: sw.TimeoutMs, MaxOIDs: sw.MaxOIDs, Enabled: sw.Enabled}
			if _, err := store.UpdateSwitch(ctx, sys, sw.ID, in); err != nil {
				log.Warn("demo switch: its new address not stored", "switch", ds.name, "addr", a.Addr(), "err", err)
			}
		}
		log.Info("demo switch: SNMP agent", "switch", ds.name, "addr", a.Addr())
	}
}

// startDemoAgent starts demo switch ds's agent at addr, or at a free port
// of 127.0.0.1 when addr is taken.
func startDemoAgent(ctx context.Context, store *models.Store, sw *models.Switch, ds *demoSwitch, addr string) (*snmpagent.Agent, error) {
	ports, err := store.ListSwitchPorts(ctx, models.AllOrgs(), sw.ID)
	if err != nil {
		return nil, err
	}
	latest, err := store.LatestTrafficReadings(ctx, sw.ID)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	boot := now.AddDate(0, 0, -23)
	byIndex := map[int]models.TrafficSample{}
	for _, p := range ports {
		if s, ok := latest[p.ID]; ok {
			byIndex[p.IfIndex] = s
			boot = s.At.Add(-time.Duration(s.Uptime) * 10 * time.Millisecond)
		}
	}
	cfg := snmpagent.Config{Addr: addr, Community: demoSNMPCommunity, MaxOIDs: models.SwitchMaxOIDsDefault + 10,
		SysName: ds.sysName, SysDescr: ds.sysDescr, SysContact: "noc@idc.example", SysLocation: ds.site,
		Uptime0: demoUptime(boot, now), Now: time.Now}
	for j := range ds.ifaces {
		f := &ds.ifaces[j]
		m := newDemoMeter(ds.name, f, store.Zone(), now)
		if s, ok := byIndex[f.index]; ok {
			m.at = s.At
			m.c = [6]uint64{uint64(s.InC), uint64(s.OutC), uint64(s.InErrC), uint64(s.OutErrC), uint64(s.InDiscC), uint64(s.OutDiscC)}
		}
		var mu sync.Mutex
		cfg.Interfaces = append(cfg.Interfaces, snmpagent.Interface{Index: f.index, Name: f.name, Descr: f.descr, Alias: f.alias,
			Type: f.typ, SpeedBps: f.speed, Only32: f.only32, AdminDown: f.adminDown, OperDown: f.operDown,
			Counters: func(elapsed time.Duration) snmpagent.Counters {
				mu.Lock()
				defer mu.Unlock()
				m.advance(now.Add(elapsed))
				return snmpagent.Counters{InOctets: m.c[0], OutOctets: m.c[1], InErrors: uint32(m.c[2]), OutErrors: uint32(m.c[3]),
					InDiscards: uint32(m.c[4]), OutDiscards: uint32(m.c[5])}
			}})
	}
	a, err := snmpagent.Start(cfg)
	if err != nil {
		cfg.Addr = "127.0.0.1:0"
		a, err = snmpagent.Start(cfg)
	}
	return a, err
}
