package main

import (
	"context"
	"fmt"
	"maps"
	"math"
	mrand "math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/notify"
)

// The demo's devices come with 90 days of past so that every chart and
// figure has something to show on first start: probes every 5 minutes
// with a realistic round trip (a daily swing, noise, rare spikes), two
// past outages of web-01 with different causes, and the emergency notices
// of each, one met and one missed. The live prober carries on from now.
//
// The quiet past is written as hourly and daily rollups in bulk
// (Store.ImportHistory); the outages, their notices and the last few days
// of raw results go through the ordinary path (RecordResults, the
// notification outbox, cause changes) on a store whose clock is set to the
// time each thing happened (Store.Clocked), so outages, clocks,
// deductions and audit records are what the live system would have made.
const (
	// demoHistoryDays is a day more than the 90-day bar, so that the bar is
	// full in any time zone.
	demoHistoryDays = 91
	// demoStep is the spacing of the past probes.
	demoStep = 5 * time.Minute
	// demoRawDays is how many days of raw results the history keeps (the
	// 24-hour chart and the CSV download read them); before that, rollups.
	demoRawDays = 2
	// demoHourlyDays is how many days of hourly rollups the history writes:
	// the 30-day chart reads them; the 1-year chart reads the daily ones,
	// written for the whole history. Fewer rows keep the first start quick.
	demoHourlyDays = 31
	// demoOwner names the history's writer in leases.
	demoOwner = "demo-history"
)

// demoIncident is a past outage of some checks of devices of one
// organization, and the power incident behind it if there was one.
type demoIncident struct {
	devices []string
	kinds   []models.CheckKind // the checks that failed
	ago     time.Duration      // when it began, before now
	at      time.Time          // or when it began, if not zero
	length  time.Duration
	cause   models.Cause
	note    string
	met     bool // the notice reached the contact within 15 minutes
	power   *demoPower
}

// demoPower is the power incident an engineer recorded after an outage
// (Store.RecordPowerIncident): the power went off a few minutes before
// the first failed probe and came back a few minutes before the devices
// answered again. It touched cabinet of the outage's organization.
type demoPower struct {
	cabinet                string
	bothDown, forceMajeure bool
	cause, note            string
}

var demoIncidents = []demoIncident{
	{devices: []string{"web-01"}, kinds: []models.CheckKind{models.KindHTTP}, ago: 61*24*time.Hour + 9*time.Hour + 20*time.Minute,
		length: 38 * time.Minute, cause: models.CauseCustomerApplication, met: true,
		note: "配置变更后 nginx 停止，客户已重启 / nginx stopped after a configuration change; restarted by the customer"},
	{devices: []string{"web-01"}, kinds: []models.CheckKind{models.KindICMP, models.KindHTTP}, ago: 17*24*time.Hour + 3*time.Hour + 40*time.Minute,
		length: 72 * time.Minute, cause: models.CauseProviderPower, met: false,
		note: "A03 机柜 B 路 PDU 跳闸，值班人员已恢复供电 / PDU B of cabinet A03 tripped; the night shift restored the circuit",
		power: &demoPower{cabinet: "A03", bothDown: false,
			cause: "A03 机柜 B 路 PDU 过载跳闸；A 路市电与 UPS 正常，双电源设备未断电 / PDU B of cabinet A03 tripped on overload; feed A (mains and UPS) held, so equipment with two power supplies kept running",
			note:  "单电源服务器 web-01 接在 B 路。已建议客户加装第二路电源。/ web-01 has one power supply, on feed B; we advised the customer to add a second."}},
}

// start is when the incident began, now being the demo's time.
func (in demoIncident) start(now time.Time) time.Time {
	if !in.at.IsZero() {
		return in.at
	}
	return now.Add(-in.ago)
}

// demoLatency is a check's round trip model, in microseconds.
type demoLatency struct{ base, swing, noise int }

func demoLatencyOf(c models.Check, rng *mrand.Rand) demoLatency {
	switch c.Kind {
	case models.KindHTTP:
		b := 12_000 + rng.IntN(18_000)
		return demoLatency{b, b / 6, b / 4}
	case models.KindICMP:
		b := 250 + rng.IntN(650)
		return demoLatency{b, b / 5, b / 3}
	default:
		b := 400 + rng.IntN(800)
		return demoLatency{b, b / 5, b / 3}
	}
}

// rtt is a successful probe's round trip at t: busier in the Beijing
// evening, some noise, and now and then a spike; none for a check without
// a model (a port's state has no round trip).
func (l demoLatency) rtt(t time.Time, rng *mrand.Rand) int {
	if l == (demoLatency{}) {
		return 0
	}
	local := t.Add(8 * time.Hour)
	h := float64(local.Hour()) + float64(local.Minute())/60
	v := l.base + int(float64(l.swing)*math.Sin((h-14)/24*2*math.Pi)) + rng.IntN(l.noise+1)
	if rng.IntN(300) == 0 {
		v += l.base * (2 + rng.IntN(8))
	}
	return max(v, 50)
}

// demoWindow is an incident on the probe grid: the failed probes from
// start, the first success at recovery.
type demoWindow struct {
	demoIncident
	start, recovery time.Time
	checks          []models.Check
	// resolve, when set, finds the checks when the incident's first step
	// runs: checks made by earlier steps (a port's check).
	resolve func(ctx context.Context, past *models.Store) ([]models.Check, error)
}

func (w demoWindow) covers(c models.Check, t time.Time) bool {
	return slices.ContainsFunc(w.checks, func(x models.Check) bool { return x.ID == c.ID }) &&
		!t.Before(w.start) && !t.After(w.recovery)
}

// demoPast is what the history plays besides the devices' quiet probes:
// more incidents (demo_ledger.go's) and steps of their own, each at its
// time among the incidents' steps.
type demoPast struct {
	incidents []demoIncident
	steps     []demoStepAt
}

// seedDemoHistory writes the past of the named devices (just created) of
// the demo organizations, with more, the ledger's past. engineer sets the
// past outages' causes and records the power incidents.
func seedDemoHistory(ctx context.Context, store *models.Store, orgIDs map[string]int64, created map[string]bool, engineer models.Actor, more demoPast) error {
	if !slices.Contains(slices.Collect(maps.Values(created)), true) {
		return nil // a second start: the past is there
	}
	now := store.Now()
	since := now.Add(-demoHistoryDays * 24 * time.Hour).Truncate(demoStep)
	rawFrom := now.Add(-demoRawDays * 24 * time.Hour).Truncate(24 * time.Hour)
	hourlyFrom := now.Add(-demoHourlyDays * 24 * time.Hour).Truncate(24 * time.Hour)
	last := now.Truncate(demoStep)
	if !last.Before(now) {
		last = last.Add(-demoStep)
	}
	rng := mrand.New(mrand.NewPCG(2026, 11)) // the same past on every first start
	sys := models.SystemActor("demo")

	type seeded struct {
		orgID   int64
		device  models.Device
		checks  []models.Check
		latency map[int64]demoLatency
	}
	var devices []seeded
	byName := map[string]*seeded{}
	for _, dd := range demoDevices(":0") {
		if !created[dd.name] {
			continue
		}
		orgID := orgIDs[dd.org]
		ds, err := store.ListDevices(ctx, models.AllOrgs(), orgID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(ds, func(d models.Device) bool { return d.Name == dd.name })
		if i < 0 {
			continue
		}
		cs, err := store.ListChecks(ctx, models.AllOrgs(), orgID, ds[i].ID)
		if err != nil {
			return err
		}
		sd := seeded{orgID: orgID, device: ds[i], checks: cs, latency: map[int64]demoLatency{}}
		for _, c := range cs {
			sd.latency[c.ID] = demoLatencyOf(c, rng)
		}
		devices = append(devices, sd)
	}
	for i := range devices {
		byName[devices[i].device.Name] = &devices[i]
	}

	// The incidents on the grid, oldest first; one whose devices were
	// not all just created, or that would reach the raw days, is left out.
	var windows []demoWindow
incidents:
	for _, in := range append(slices.Clone(demoIncidents), more.incidents...) {
		w := demoWindow{demoIncident: in, start: in.start(now).Truncate(demoStep)}
		w.recovery = w.start.Add(in.length).Truncate(demoStep)
		if w.recovery.Before(w.start.Add(in.length)) {
			w.recovery = w.recovery.Add(demoStep)
		}
		if !w.recovery.Before(rawFrom) || w.start.Before(since) {
			continue
		}
		for _, name := range in.devices {
			d := byName[name]
			if d == nil {
				continue incidents
			}
			for _, c := range d.checks {
				if slices.Contains(in.kinds, c.Kind) {
					w.checks = append(w.checks, c)
				}
			}
		}
		if len(w.checks) > 0 {
			windows = append(windows, w)
		}
	}
	sort.Slice(windows, func(a, b int) bool { return windows[a].start.Before(windows[b].start) })
	inWindow := func(c models.Check, t time.Time) bool {
		for _, w := range windows {
			if w.covers(c, t) {
				return true
			}
		}
		return false
	}
	// 1. The quiet past before the raw days, as rollups.
	for _, d := range devices {
		var rollups []models.Rollup
		for _, c := range d.checks {
			rollups = append(rollups, demoRollups(c, d.latency[c.ID], since, rawFrom, hourlyFrom, inWindow, rng)...)
		}
		if err := store.ImportHistory(ctx, sys, d.orgID, d.device.ID, since, rollups); err != nil {
			return fmt.Errorf("demo history of %s: %w", d.device.Name, err)
		}
	}
	// 2. The incidents and the other steps, on a store whose clock is the
	// time of each step, in time order.
	var steps []demoStepAt
	for _, w := range windows {
		lat := map[int64]demoLatency{}
		for _, name := range w.devices {
			maps.Copy(lat, byName[name].latency)
		}
		steps = append(steps, demoIncidentSteps(&w, lat, rng)...)
	}
	for _, st := range more.steps {
		if st.at.Before(now) {
			steps = append(steps, st)
		}
	}
	sort.SliceStable(steps, func(a, b int) bool { return steps[a].at.Before(steps[b].at) })
	var cur time.Time
	past := store.Clocked(func() time.Time { return cur })
	for _, st := range steps {
		cur = st.at
		if err := st.do(ctx, past, engineer); err != nil {
			return fmt.Errorf("demo history at %v: %w", st.at, err)
		}
	}
	// 3. The last days as raw results, through the live path, up to now.
	var recent []models.ProbeResult
	for _, d := range devices {
		for _, c := range d.checks {
			for t := rawFrom; !t.After(last); t = t.Add(demoStep) {
				recent = append(recent, models.ProbeResult{CheckID: c.ID, At: t, OK: true, RTTus: d.latency[c.ID].rtt(t, rng)})
			}
		}
	}
	sort.SliceStable(recent, func(a, b int) bool { return recent[a].At.Before(recent[b].At) })
	for len(recent) > 0 {
		n := min(len(recent), 5000)
		if _, err := store.RecordResults(ctx, recent[:n]); err != nil {
			return fmt.Errorf("demo history: recent results: %w", err)
		}
		recent = recent[n:]
	}
	return nil
}

// demoRollups aggregates a check's probes every demoStep in [from, to),
// leaving out those of its incidents (they go through RecordResults), into
// daily rollups and, from hourlyFrom, hourly ones, with medians.
func demoRollups(c models.Check, lat demoLatency, from, to, hourlyFrom time.Time, skip func(models.Check, time.Time) bool, rng *mrand.Rand) []models.Rollup {
	type agg struct {
		r    models.Rollup
		rtts []int
	}
	var out []models.Rollup
	var hour, day *agg
	flush := func(a *agg) {
		if a == nil || a.r.Probes == 0 || (a.r.Period == "h" && a.r.Start.Before(hourlyFrom)) {
			return
		}
		if len(a.rtts) > 0 {
			slices.Sort(a.rtts)
			a.r.RTTMedUs = a.rtts[(len(a.rtts)-1)/2]
		}
		out = append(out, a.r)
	}
	for t := from; t.Before(to); t = t.Add(demoStep) {
		hs, ds := t.Truncate(time.Hour), t.Truncate(24*time.Hour)
		if hour == nil || !hour.r.Start.Equal(hs) {
			flush(hour)
			hour = &agg{r: models.Rollup{CheckID: c.ID, Period: "h", Start: hs}}
		}
		if day == nil || !day.r.Start.Equal(ds) {
			flush(day)
			day = &agg{r: models.Rollup{CheckID: c.ID, Period: "d", Start: ds}}
		}
		if skip(c, t) {
			continue
		}
		rtt := lat.rtt(t, rng)
		for _, a := range []*agg{hour, day} {
			if a == hour && t.Before(hourlyFrom) {
				continue
			}
			a.r.Probes++
			if a.r.RTTCount == 0 || rtt < a.r.RTTMinUs {
				a.r.RTTMinUs = rtt
			}
			a.r.RTTMaxUs = max(a.r.RTTMaxUs, rtt)
			a.r.RTTCount++
			a.r.RTTSumUs += int64(rtt)
			a.rtts = append(a.rtts, rtt)
		}
	}
	flush(hour)
	flush(day)
	return out
}

// demoStepAt is one thing that happens in the past, at its time.
type demoStepAt struct {
	at time.Time
	do func(ctx context.Context, past *models.Store, engineer models.Actor) error
}

// demoIncidentSteps plays an incident as the live system would have: the
// failed probes open an outage per check, the outbox turns it into an
// email to Aurora's contact, which is accepted within minutes (met) or,
// with the mail relay down, tried with backoff until after the deadline
// (missed, a day's fee deducted); the success closes the outages and the
// recovery email follows; two hours later the engineer sets the cause.
func demoIncidentSteps(w *demoWindow, lat map[int64]demoLatency, rng *mrand.Rand) []demoStepAt {
	var steps []demoStepAt
	for t := w.start; !t.After(w.recovery); t = t.Add(demoStep) {
		steps = append(steps, demoStepAt{t, func(ctx context.Context, past *models.Store, _ models.Actor) error {
			if w.resolve != nil && w.checks == nil {
				cs, err := w.resolve(ctx, past)
				if err != nil {
					return err
				}
				w.checks = cs
			}
			var rs []models.ProbeResult
			for _, c := range w.checks {
				r := models.ProbeResult{CheckID: c.ID, At: t}
				switch {
				case t.Equal(w.recovery):
					r.OK, r.RTTus = true, lat[c.ID].rtt(t, rng)
				case c.Kind == models.KindPort:
					r.Reason = models.ReasonPortDown
				case c.Kind == models.KindHTTP && len(w.checks) == 1:
					r.Reason = models.ReasonRefused
				default:
					r.Reason = models.ReasonTimeout
				}
				rs = append(rs, r)
			}
			if _, err := past.RecordResults(ctx, rs); err != nil {
				return err
			}
			return demoExpand(ctx, past)
		}})
	}
	confirmed := w.start.Add(demoStep)
	attempt := func(at time.Time, result, errText string) demoStepAt {
		return demoStepAt{at, func(ctx context.Context, past *models.Store, engineer models.Actor) error {
			return demoDeliver(ctx, past, engineer, *w, result, errText)
		}}
	}
	if w.met {
		steps = append(steps, attempt(confirmed.Add(2*time.Minute+10*time.Second), models.DeliveryAccepted, ""))
	} else {
		const relayDown = "smtp connect: dial tcp 10.20.0.25:587: connect: connection refused"
		at := confirmed.Add(20 * time.Second)
		for try := 1; at.Before(confirmed.Add(15 * time.Minute)); try++ {
			steps = append(steps, attempt(at, models.DeliveryFailed, relayDown))
			at = at.Add(notify.Backoff(try))
		}
		steps = append(steps, demoStepAt{confirmed.Add(15*time.Minute + 5*time.Second),
			func(ctx context.Context, past *models.Store, _ models.Actor) error {
				_, err := past.SweepClocks(ctx)
				return err
			}})
		steps = append(steps, attempt(at, models.DeliveryAccepted, ""))
	}
	// The recovery notice waits out the notice window (a minute) that
	// gathers the organization's other recoveries before it is due.
	steps = append(steps, attempt(w.recovery.Add(models.DefaultNoticeWindow+40*time.Second), models.DeliveryAccepted, ""))
	if p := w.power; p != nil {
		// The engineer records the power incident once the devices are
		// back: the power failed 3 minutes before the first failed probe
		// and returned 4 minutes before the devices answered.
		steps = append(steps, demoStepAt{w.recovery.Add(40 * time.Minute), func(ctx context.Context, past *models.Store, engineer models.Actor) error {
			end := w.recovery.Add(-4 * time.Minute)
			_, err := past.RecordPowerIncident(ctx, engineer, models.PowerInput{StartedAt: w.start.Add(-3 * time.Minute), EndedAt: &end,
				BothDown: p.bothDown, ForceMajeure: p.forceMajeure, Cause: p.cause, Note: p.note,
				Targets: []models.PowerTargetInput{{OrgID: w.checks[0].OrgID, Cabinet: p.cabinet}}})
			return err
		}})
	}
	steps = append(steps, demoStepAt{w.recovery.Add(2 * time.Hour), func(ctx context.Context, past *models.Store, engineer models.Actor) error {
		for _, o := range demoOutagesOf(ctx, past, *w) {
			if _, err := past.SetOutageCause(ctx, engineer, o.ID, w.cause, w.note); err != nil {
				return err
			}
		}
		return nil
	}})
	sort.SliceStable(steps, func(a, b int) bool { return steps[a].at.Before(steps[b].at) })
	return steps
}

// demoExpand turns new outbox events into deliveries, by email only.
func demoExpand(ctx context.Context, past *models.Store) error {
	evs, err := past.ClaimEvents(ctx, demoOwner, time.Minute, 100)
	if err != nil {
		return err
	}
	email := func(ch models.Channel) string {
		if ch == models.ChannelEmail {
			return models.TransportEmail
		}
		return ""
	}
	for _, ev := range evs {
		if _, err := past.ExpandEvent(ctx, ev, demoOwner, email); err != nil {
			return err
		}
	}
	return nil
}

// demoOutagesOf returns the outages the incident opened.
func demoOutagesOf(ctx context.Context, past *models.Store, w demoWindow) []models.Outage {
	var out []models.Outage
	for _, c := range w.checks {
		os, err := past.ListOutages(ctx, models.AllOrgs(), c.OrgID, c.DeviceID, 50)
		if err != nil {
			continue
		}
		for _, o := range os {
			if o.CheckID == c.ID && o.StartedAt.Equal(w.start) {
				out = append(out, o)
			}
		}
	}
	return out
}

// demoDeliver gives every due delivery of the incident's outages one try
// with the given result; a failure is tried again after the dispatcher's
// backoff. The demo has no SMS gateway, so a contact's mobile channel
// becomes a call task (docs/agreement.md): when the email gets through,
// the engineer is recorded as having made those calls too, so that no call
// of the past is left waiting on today's on-call page.
func demoDeliver(ctx context.Context, past *models.Store, engineer models.Actor, w demoWindow, result, errText string) error {
	ours := map[int64]bool{}
	for _, o := range demoOutagesOf(ctx, past, w) {
		ours[o.ID] = true
		if result != models.DeliveryAccepted {
			continue
		}
		ds, _, err := past.OutageDeliveries(ctx, models.AllOrgs(), o.OrgID, o.ID)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if d.Transport == models.TransportCall && d.Status == models.DeliveryPending {
				if err := past.LogCall(ctx, engineer, d.ID, true, "demo"); err != nil {
					return err
				}
			}
		}
	}
	ds, err := past.ClaimDeliveries(ctx, demoOwner, time.Minute, 100, []string{models.TransportEmail})
	if err != nil {
		return err
	}
	for _, d := range ds {
		if !ours[d.OutageID] {
			continue
		}
		var retry *time.Time
		if result == models.DeliveryFailed {
			at := past.Now().Add(notify.Backoff(d.Attempts + 1))
			retry = &at
		}
		if err := past.RecordAttempt(ctx, demoOwner, d.ID, result, errText, retry); err != nil {
			return err
		}
	}
	return nil
}
