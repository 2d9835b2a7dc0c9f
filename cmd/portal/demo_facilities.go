package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/prober/snmpagent"
)

// The demo's cabinet power and environment (issue 19): Aurora's cabinet
// A03 has a metered PDU on both feeds (pdu-a03: power and current of
// feed A and feed B) and an environment sensor (env-a03: inlet
// temperature and humidity), served by in-process SNMP agents
// (prober/snmpagent's extra objects) that the prober polls live every
// 5 minutes, with 30 days of readings behind them and their rollups:
//
//   - 5 days ago in the afternoon the inlet temperature rose past its
//     27 °C threshold for 40 minutes (a cooling unit's fault): one past
//     threshold alert, emailed to Aurora's contact and its engineer;
//   - 2 days ago at night both feeds read zero for 15 minutes (in fact a
//     PDU's management card restarting): a power incident proposed by
//     the meters, waiting on /power for staff to confirm or dismiss.
//
// The devices and meters are made through the Store 31 days ago on the
// history's clock (a step of seedDemoHistory), so that the meters' mapping
// (MappedSince) covers the past; the thresholded stretches are polls
// stored through Store.RecordFacilityPoll at their time; the rest of the
// past is loaded in bulk at the last step (Store.ImportFacilityReadings),
// after which the janitor's builder makes the rollups.

// demoFacilityDays is how far back the readings go.
const demoFacilityDays = 30

// demoFacilityOID is the demo's made-up enterprise subtree.
const demoFacilityOID = "1.3.6.1.4.1.99999.19"

// demoFacility is a demo PDU or sensor.
type demoFacility struct {
	name, kind, sysDescr string
	meters               []demoFacilityMeter
}

// demoFacilityMeter is a meter of a demo device: what the Store keeps,
// and the agent's integer at a time.
type demoFacilityMeter struct {
	in        models.MeterInput
	high, low string
	value     func(t time.Time, zone *time.Location) int64
}

// demoCabinet is the cabinet the demo meters are mapped to (Aurora's).
const demoCabinet = "A03"

var demoFacilities = []demoFacility{
	{name: "pdu-a03", kind: models.SwitchPDU, sysDescr: "Metered rack PDU, 2 × 32 A inlets (demo)", meters: []demoFacilityMeter{
		{in: models.MeterInput{OID: demoFacilityOID + ".1.1", Quantity: models.QuantityPower, Divisor: 1, Feed: models.FeedA,
			Label: "Feed A power"}, high: "3500", value: func(t time.Time, z *time.Location) int64 { return demoWatts(t, z, 1150) }},
		{in: models.MeterInput{OID: demoFacilityOID + ".1.2", Quantity: models.QuantityCurrent, Divisor: 10, Feed: models.FeedA,
			Label: "Feed A current"}, high: "16", value: func(t time.Time, z *time.Location) int64 { return demoWatts(t, z, 1150) * 10 / 220 }},
		{in: models.MeterInput{OID: demoFacilityOID + ".2.1", Quantity: models.QuantityPower, Divisor: 1, Feed: models.FeedB,
			Label: "Feed B power"}, high: "3500", value: func(t time.Time, z *time.Location) int64 { return demoWatts(t, z, 1050) }},
		{in: models.MeterInput{OID: demoFacilityOID + ".2.2", Quantity: models.QuantityCurrent, Divisor: 10, Feed: models.FeedB,
			Label: "Feed B current"}, high: "16", value: func(t time.Time, z *time.Location) int64 { return demoWatts(t, z, 1050) * 10 / 220 }},
	}},
	{name: "env-a03", kind: models.SwitchSensor, sysDescr: "Rack environment sensor (demo)", meters: []demoFacilityMeter{
		{in: models.MeterInput{OID: demoFacilityOID + ".3.1", Quantity: models.QuantityTemperature, Divisor: 10, Label: "Inlet temperature"},
			high: "27", low: "18", value: func(t time.Time, z *time.Location) int64 {
				return 225 + int64(math.Round(15*demoShapeFlat.at(demoHour(t, z)))) + int64(demoJitter(t, 3))
			}},
		{in: models.MeterInput{OID: demoFacilityOID + ".3.2", Quantity: models.QuantityHumidity, Divisor: 1, Label: "Humidity"},
			high: "60", low: "30", value: func(t time.Time, z *time.Location) int64 {
				return 44 + int64(math.Round(4*math.Sin(float64(t.Unix())/86400/3))) + int64(demoJitter(t, 2))
			}},
	}},
}

// demoWatts is a feed's power at t: base watts following the web curve
// (servers busier by day), with a little noise.
func demoWatts(t time.Time, zone *time.Location, base int64) int64 {
	return base + int64(math.Round(float64(base)*0.35*demoShapeWeb.at(demoHour(t, zone)))) + int64(demoJitter(t, 15))
}

func demoHour(t time.Time, zone *time.Location) float64 {
	l := t.In(zone)
	return float64(l.Hour()) + float64(l.Minute())/60
}

// demoJitter is a small steady noise in [-n, n] of a 5-minute slot.
func demoJitter(t time.Time, n int) int {
	return int(demoMix(uint64(n), uint64(t.Unix()/300))%uint64(2*n+1)) - n
}

// demoFacilityAddr is the UDP address of demo facility device i: after
// the webhook receiver's port.
func demoFacilityAddr(listen string, i int) string {
	port := 8080
	if _, p, err := net.SplitHostPort(listen); err == nil {
		if n, err := strconv.Atoi(p); err == nil && n > 0 && n < 65530 {
			port = n
		}
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port+5+i))
}

// demoFacilitiesPast is the history's steps of the demo's power and
// environment: none when the devices exist already (a second load).
func demoFacilitiesPast(ctx context.Context, store *models.Store, listen string, aurora int64) ([]demoStepAt, error) {
	have, err := store.ListSwitches(ctx, models.AllOrgs())
	if err != nil {
		return nil, err
	}
	if slices.ContainsFunc(have, func(r models.SwitchRow) bool { return r.Name == demoFacilities[0].name }) {
		return nil, nil
	}
	zone := store.Zone()
	now := store.Now()
	last := now.Truncate(demoStep)
	if !last.Before(now) {
		last = last.Add(-demoStep)
	}
	start := last.AddDate(0, 0, -demoFacilityDays)
	ids := map[string]int64{} // meter IDs by OID
	devs := map[string]int64{}
	// The stretches polled as the live system would have: the heat 5
	// days ago, the feeds at zero 2 days ago.
	d5 := now.In(zone).AddDate(0, 0, -5)
	heat := time.Date(d5.Year(), d5.Month(), d5.Day(), 14, 0, 0, 0, zone).UTC()
	d2 := now.In(zone).AddDate(0, 0, -2)
	dark := time.Date(d2.Year(), d2.Month(), d2.Day(), 3, 10, 0, 0, zone).UTC()
	value := func(oid string, t time.Time) int64 {
		for _, d := range demoFacilities {
			for _, m := range d.meters {
				if m.in.OID != oid {
					continue
				}
				v := m.value(t, zone)
				if oid == demoFacilityOID+".3.1" && !t.Before(heat) && t.Before(heat.Add(40*time.Minute)) {
					v = 282 + int64(t.Sub(heat)/demoStep)*3 // up to 30.3 °C
				}
				if m.in.Quantity == models.QuantityPower || m.in.Quantity == models.QuantityCurrent {
					if !t.Before(dark) && t.Before(dark.Add(15*time.Minute)) {
						v = 0
					}
				}
				return models.MeterMilli(v, m.in.Divisor)
			}
		}
		return 0
	}
	poll := func(ctx context.Context, past *models.Store, dev string, at time.Time) error {
		p := models.FacilityPoll{SwitchID: devs[dev], At: at}
		for _, d := range demoFacilities {
			if d.name != dev {
				continue
			}
			for _, m := range d.meters {
				p.Values = append(p.Values, models.FacilityValue{MeterID: ids[m.in.OID], Milli: value(m.in.OID, at)})
			}
		}
		_, err := past.RecordFacilityPoll(ctx, p)
		return err
	}
	steps := []demoStepAt{{start.Add(-24 * time.Hour), func(ctx context.Context, past *models.Store, eng models.Actor) error {
		// The PDU's meters draw the power of Aurora's colocation contract
		// (4 kW for cabinet A03, demo_ledger.go).
		var contract *int64
		cs, err := past.ListContracts(ctx, models.AllOrgs(), models.ContractFilter{OrgID: aurora})
		if err != nil {
			return fmt.Errorf("demo facility contract: %w", err)
		}
		for _, c := range cs {
			if c.ServiceType == models.ServiceColocation {
				contract = &c.ID
			}
		}
		for i, d := range demoFacilities {
			sw, err := past.CreateSwitch(ctx, eng, models.SwitchInput{Kind: d.kind, Name: d.name, Address: demoFacilityAddr(listen, i),
				Site: "Hall A", Version: models.SNMPv2c, Community: demoSNMPCommunity, IntervalSec: int(demoStep / time.Second),
				Enabled: true})
			if err != nil {
				return fmt.Errorf("demo facility %s: %w", d.name, err)
			}
			devs[d.name] = sw.ID
			for _, m := range d.meters {
				fm, err := past.AddFacilityMeter(ctx, eng, sw.ID, m.in)
				if err != nil {
					return fmt.Errorf("demo meter %s: %w", m.in.Label, err)
				}
				org := aurora
				change := models.MeterChange{Label: m.in.Label, OrgID: &org, Cabinet: demoCabinet, High: m.high, Low: m.low}
				if m.in.Quantity == models.QuantityPower || m.in.Quantity == models.QuantityCurrent {
					change.ContractID = contract
				}
				if _, err := past.UpdateFacilityMeter(ctx, eng, fm.ID, change); err != nil {
					return fmt.Errorf("demo meter %s: %w", m.in.Label, err)
				}
				ids[fm.OID] = fm.ID
			}
		}
		return nil
	}}}
	for t := heat.Add(-demoStep); !t.After(heat.Add(50 * time.Minute)); t = t.Add(demoStep) {
		steps = append(steps, demoStepAt{t, func(ctx context.Context, past *models.Store, _ models.Actor) error {
			return poll(ctx, past, "env-a03", t)
		}})
	}
	for t := dark.Add(-demoStep); !t.After(dark.Add(20 * time.Minute)); t = t.Add(demoStep) {
		steps = append(steps, demoStepAt{t, func(ctx context.Context, past *models.Store, _ models.Actor) error {
			return poll(ctx, past, "pdu-a03", t)
		}})
	}
	// The rest of the past in bulk, the last poll of each device (the
	// meters' last values), and the rollups.
	steps = append(steps, demoStepAt{last, func(ctx context.Context, past *models.Store, _ models.Actor) error {
		var rs []models.FacilityReading
		for t := start; t.Before(last); t = t.Add(demoStep) {
			for oid, id := range ids {
				rs = append(rs, models.FacilityReading{MeterID: id, At: t, Milli: value(oid, t)})
			}
		}
		if _, err := past.ImportFacilityReadings(ctx, rs); err != nil {
			return fmt.Errorf("demo readings: %w", err)
		}
		for _, d := range demoFacilities {
			if err := poll(ctx, past, d.name, last); err != nil {
				return fmt.Errorf("demo readings: %w", err)
			}
		}
		for {
			n, err := past.BuildFacilityRollups(ctx, 1000)
			if err != nil {
				return fmt.Errorf("demo facility rollups: %w", err)
			}
			if n < 1000 {
				return nil
			}
		}
	}})
	return steps, nil
}

// startDemoFacilities starts the demo PDU's and sensor's SNMP agents
// until ctx ends, serving the same curves as their past, at the
// addresses the devices have (moved, with their secret, when the listen
// port changed).
func startDemoFacilities(ctx context.Context, store *models.Store, listen string, log *slog.Logger) {
	stored, err := store.ListSwitches(ctx, models.AllOrgs())
	if err != nil {
		log.Warn("demo facilities not started", "err", err)
		return
	}
	zone := store.Zone()
	for i, d := range demoFacilities {
		k := slices.IndexFunc(stored, func(s models.SwitchRow) bool { return s.Name == d.name })
		if k < 0 {
			continue
		}
		sw := stored[k].Switch
		cfg := snmpagent.Config{Addr: demoFacilityAddr(listen, i), Community: demoSNMPCommunity, MaxOIDs: models.SwitchMaxOIDsDefault,
			SysName: d.name, SysDescr: d.sysDescr, SysContact: "noc@idc.example", SysLocation: "Hall A", Now: time.Now,
			Extra: map[string]func(time.Time) (int64, bool){}}
		for _, m := range d.meters {
			cfg.Extra[m.in.OID] = func(t time.Time) (int64, bool) { return m.value(t, zone), true }
		}
		a, err := snmpagent.Start(cfg)
		if err != nil {
			log.Warn("demo facility not started: its polls will fail", "device", d.name, "err", err)
			continue
		}
		go func() {
			<-ctx.Done()
			_ = a.Close()
		}()
		if a.Addr() != sw.Address {
			in := models.SwitchInput{Name: sw.Name, Address: a.Addr(), Site: sw.Site, Version: models.SNMPv2c,
				Community: demoSNMPCommunity, IntervalSec: sw.IntervalSec, TimeoutMs: sw.TimeoutMs, MaxOIDs: sw.MaxOIDs, Enabled: sw.Enabled}
			if _, err := store.UpdateSwitch(ctx, models.SystemActor("demo"), sw.ID, in); err != nil {
				log.Warn("demo facility: its new address not stored", "device", d.name, "addr", a.Addr(), "err", err)
			}
		}
	}
}
