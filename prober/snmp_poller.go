package prober

import (
	"container/heap"
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/colo-portal/portal/models"
)

// The SNMP poller polls the switches this instance holds a lease on
// (Store.ShareSwitches, run in each lease round after ShareChecks): one
// scheduler goroutine with a heap of next slots, at most
// Config.SNMPWorkers polls at once. Each poll reads every monitored port
// of the switch (Config.SNMPPoll), turns each reading into a traffic
// sample against the port's previous reading (models.NewTrafficSample),
// hands the samples to their own batch writer (sampleWriter, with a spool
// of its own), and each port mapped to a customer's device into a result
// of its port check for the result writer, so that a port going down
// opens an outage as failed pings do.
//
// Slots lie on a grid fixed per switch (gridAfter), and an instance polls
// only the slots inside its lease, [LeaseFrom, LeaseUntil): a switch
// handed over is polled on in step, each slot once. The previous reading
// of each port is kept in memory between polls; an instance that takes a
// switch (or takes it back after another instance held it) starts from
// the newest stored samples (Store.LatestTrafficReadings).

// switchClaims is what the lease loop tells the poller: the switches held
// now, or that the database did not answer.
type switchClaims struct {
	set     []models.PollTarget
	failing bool
	cuts    []leaseCut
}

type snmpPoller struct {
	p    *Prober
	poll PollFunc
	in   chan switchClaims
	sem  chan struct{}
	tw   *sampleWriter
	twg  sync.WaitGroup
	stop func() // stops the sample writer after the polls end
	// inflight counts the poll goroutines.
	inflight sync.WaitGroup
	// failing is the lease loop's: its last round of switches failed.
	failing bool
}

// newSNMPPoller makes the poller and starts its sample writer, whose spool
// is a file next to the results' spool (named after it) or memory.
func newSNMPPoller(p *Prober, resultSpool string) *snmpPoller {
	sn := &snmpPoller{p: p, poll: p.cfg.SNMPPoll, in: make(chan switchClaims, 1), sem: make(chan struct{}, p.cfg.SNMPWorkers)}
	sn.tw = newSampleWriter(&p.cfg, p.store, p.openSampleSpool(resultSpool), &p.stats, p.log)
	sn.tw.m = p.m.traffic
	sn.tw.m.spooled(sn.tw.spool.Len(), false)
	done := make(chan struct{})
	sn.twg.Add(1)
	go func() {
		defer sn.twg.Done()
		sn.tw.run(done)
	}()
	var once sync.Once
	sn.stop = func() {
		once.Do(func() {
			sn.inflight.Wait()
			close(done)
			sn.twg.Wait()
		})
	}
	return sn
}

// close stops the sample writer if stop was not called (Run returned
// early) and closes its spool.
func (sn *snmpPoller) close() {
	sn.stop()
	sn.tw.spool.Close()
}

// openSampleSpool opens "<result spool>.traffic" when the results spool is
// a file, else keeps samples in memory.
func (p *Prober) openSampleSpool(resultSpool string) spoolOf[models.TrafficSample] {
	if p.cfg.SpoolPath != "" && resultSpool != "memory" {
		path := resultSpool + ".traffic"
		sp, err := openRecordFile(path, sampleCodec)
		if err == nil {
			return sp
		}
		p.log.Error("prober: cannot open the traffic spool file; samples the database refuses are kept in memory only",
			"spool", path, "err", err)
	}
	return &memRecords[models.TrafficSample]{max: 1_000_000}
}

// leaseRound runs the switches' part of a lease round (after ShareChecks;
// checksOK says whether that reached the database), within the round's
// deadline (rctx; ctx is the prober's), and hands the result to the
// scheduler. While rounds fail the scheduler keeps polling the switches
// it holds, past the ends of their leases, as it does checks.
func (sn *snmpPoller) leaseRound(ctx, rctx context.Context, checksOK bool) {
	p := sn.p
	if !checksOK {
		sn.failing = true
		sn.send(switchClaims{failing: true})
		return
	}
	r, err := p.store.ShareSwitches(rctx, p.cfg.InstanceID, p.cfg.Lease)
	var cuts []leaseCut
	if len(r.OfferedIDs) > 0 {
		cuts = []leaseCut{{ids: r.OfferedIDs, until: r.OfferedUntil}}
	}
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		if !sn.failing {
			p.log.Warn("prober: cannot renew or claim switches; polling those already held", "err", err)
		}
		sn.failing = true
		sn.send(switchClaims{failing: true, cuts: cuts})
		return
	}
	if sn.failing {
		sn.failing = false
		p.log.Info("prober: claiming switches again")
	}
	if r.Offered > 0 || r.Claimed > 0 {
		p.log.Info("prober: sharing switches", "instances", r.Instances, "share", r.Target, "offered", r.Offered, "claimed", r.Claimed)
	}
	sn.send(switchClaims{set: r.Switches, cuts: cuts})
}

// send replaces what the scheduler has not taken yet, keeping its cuts.
func (sn *snmpPoller) send(c switchClaims) {
	select {
	case old := <-sn.in:
		c.cuts = append(old.cuts, c.cuts...)
	default:
	}
	sn.in <- c
}

// swEntry is one held switch in the scheduler's heap.
type swEntry struct {
	t       *models.PollTarget // replaced, never changed, when a round brings a new copy
	slot    time.Time          // the next poll
	until   time.Time          // the lease's end: slots from here on are another instance's
	offered bool               // this instance cut the lease to until
	index   int
	running atomic.Bool // a poll of the switch runs: a slot is skipped rather than polled twice at once
	st      *swState
}

// swState is what the poller keeps of a switch between its polls. The
// poll (one at a time per switch) owns ports, base and seeded; the
// scheduler only sets stale, and reads checks under mu.
type swState struct {
	ports   []models.PortToPoll
	base    map[int64]models.CounterReading // each port's previous reading, by port ID
	seeded  bool                            // base was read from the stored samples
	lastErr string
	// stale: another instance may have polled the switch since this one
	// did, so base and the writer's states of its port checks are old.
	stale atomic.Bool

	mu     sync.Mutex
	checks []int64 // the port checks of the last ports read

	fac facilityState // a PDU's or sensor's (facility_poller.go)
}

func (st *swState) checkIDs() []int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.checks
}

type swHeap []*swEntry

func (h swHeap) Len() int           { return len(h) }
func (h swHeap) Less(i, j int) bool { return h[i].slot.Before(h[j].slot) }
func (h swHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i]; h[i].index = i; h[j].index = j }
func (h *swHeap) Push(x any)        { e := x.(*swEntry); e.index = len(*h); *h = append(*h, e) }
func (h *swHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.index = -1
	return e
}

// pollInterval is the time between two polls of sw.
func pollInterval(sw *models.Switch) time.Duration {
	return max(sw.Interval(), models.MinInterval)
}

// schedule is the goroutine that decides when each held switch is polled.
func (sn *snmpPoller) schedule(ctx context.Context) {
	p := sn.p
	var h swHeap
	entries := map[int64]*swEntry{}
	holding := false // the lease rounds fail: poll what is held past its leases
	timer := p.cfg.Clock.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := p.cfg.Clock.Now()
		for len(h) > 0 && !h[0].slot.After(now) {
			e := h[0]
			if (!holding || e.offered) && !e.slot.Before(e.until) {
				// The lease ends before this slot: another instance polls
				// the switch from its end on, or nobody should.
				heap.Pop(&h)
				sn.drop(e, entries)
				continue
			}
			sn.start(ctx, e, e.slot)
			iv := pollInterval(&e.t.Switch)
			missed := now.Sub(e.slot) / iv
			if missed > 0 {
				p.stats.skipped.Add(int64(missed))
			}
			e.slot = e.slot.Add((missed + 1) * iv)
			heap.Fix(&h, 0)
		}
		wait := time.Hour
		if len(h) > 0 {
			wait = h[0].slot.Sub(now)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case c := <-sn.in:
			holding = c.failing
			for _, cut := range c.cuts {
				for _, id := range cut.ids {
					if e := entries[id]; e != nil && e.until.After(cut.until) {
						e.until, e.offered = cut.until, true
					}
				}
			}
			if !c.failing {
				sn.apply(c.set, p.cfg.Clock.Now(), &h, entries)
			}
		case <-timer.C():
		}
	}
}

// drop forgets a switch whose lease ended or that was disabled.
func (sn *snmpPoller) drop(e *swEntry, entries map[int64]*swEntry) {
	delete(entries, e.t.Switch.ID)
	for _, id := range e.st.checkIDs() {
		sn.p.w.forget(id)
	}
	sn.p.stats.switches.Store(int64(len(entries)))
	sn.p.log.Debug("prober: switch lease ended, switch dropped", "switch_id", e.t.Switch.ID)
}

// apply brings the heap up to date with the switches held, as the
// checks' apply does: new ones get their first slot at or after both now
// and the start of their lease, renewed ones their new lease end, disabled
// ones go; one missing from set stays until its lease ends.
func (sn *snmpPoller) apply(set []models.PollTarget, now time.Time, h *swHeap, entries map[int64]*swEntry) {
	added, dropped := 0, 0
	for i := range set {
		t := &set[i]
		sw := &t.Switch
		e := entries[sw.ID]
		if !sw.Enabled {
			if e != nil {
				heap.Remove(h, e.index)
				sn.drop(e, entries)
				dropped++
			}
			continue
		}
		start := now
		if sw.LeaseFrom != nil && sw.LeaseFrom.After(now) {
			start = *sw.LeaseFrom
		}
		iv := pollInterval(sw)
		if e == nil {
			e = &swEntry{t: t, until: sw.LeaseUntil, st: &swState{base: map[int64]models.CounterReading{}}}
			e.slot = gridFrom(sw.ID, iv, start)
			heap.Push(h, e)
			entries[sw.ID] = e
			added++
			continue
		}
		old, prevUntil := e.t, e.until
		e.offered = e.offered && !sw.LeaseUntil.After(prevUntil)
		e.t, e.until = t, sw.LeaseUntil
		gap := sw.LeaseFrom != nil && prevUntil.Before(*sw.LeaseFrom)
		if pollInterval(&old.Switch) != iv || gap && e.slot.Before(start) {
			if gap {
				e.st.stale.Store(true)
				for _, id := range e.st.checkIDs() {
					sn.p.w.forget(id)
				}
			}
			e.slot = gridFrom(sw.ID, iv, start)
			heap.Fix(h, e.index)
		}
	}
	sn.p.stats.switches.Store(int64(len(entries)))
	if added > 0 || dropped > 0 {
		sn.p.log.Info("prober: switches held", "switches", len(entries), "added", added, "dropped", dropped)
	}
}

// start polls e's switch for slot in a goroutine of its own, once a
// worker is free; a slot whose previous poll still runs is skipped.
func (sn *snmpPoller) start(ctx context.Context, e *swEntry, slot time.Time) {
	if !e.running.CompareAndSwap(false, true) {
		sn.p.stats.skipped.Add(1)
		sn.p.log.Debug("prober: previous poll still running, slot skipped", "switch_id", e.t.Switch.ID)
		return
	}
	t, st := e.t, e.st
	sn.inflight.Add(1)
	go func() {
		defer sn.inflight.Done()
		defer e.running.Store(false)
		select {
		case sn.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-sn.sem }()
		defer func() {
			if v := recover(); v != nil {
				sn.p.log.Error("prober: switch poll panicked", "switch_id", t.Switch.ID, "panic", v)
			}
		}()
		sn.pollOne(ctx, t, st, slot)
	}()
}

// storeTimeout bounds the poller's reads and small writes.
const storeTimeout = 5 * time.Second

// pollOne polls one switch for slot: its samples go to the sample writer,
// its port checks' results to the result writer. A poll that fails gives
// neither: an unreachable switch says nothing of its ports (the switch
// shows the error instead).
func (sn *snmpPoller) pollOne(ctx context.Context, t *models.PollTarget, st *swState, slot time.Time) {
	p := sn.p
	sw := &t.Switch
	slot = slot.UTC().Truncate(time.Millisecond)
	if t.CredsErr != "" {
		sn.failed(ctx, t, st, slot, t.CredsErr)
		return
	}
	if sw.IsFacility() {
		sn.pollMeters(ctx, t, st, slot)
		return
	}
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	ports, err := p.store.PortsToPoll(sctx, sw.ID)
	cancel()
	if err == nil {
		st.ports = ports
		var ids []int64
		for _, pt := range ports {
			if pt.Check != nil {
				ids = append(ids, pt.Check.ID)
			}
		}
		st.mu.Lock()
		st.checks = ids
		st.mu.Unlock()
	} else if ctx.Err() == nil {
		p.log.Debug("prober: ports of a switch not read; polling those last read", "switch_id", sw.ID, "err", err)
	}
	if len(st.ports) == 0 {
		return
	}
	if st.stale.Swap(false) {
		st.base, st.seeded = map[int64]models.CounterReading{}, false
	}
	if !st.seeded {
		sctx, cancel := context.WithTimeout(ctx, storeTimeout)
		latest, err := p.store.LatestTrafficReadings(sctx, sw.ID)
		cancel()
		if err == nil {
			for _, pt := range st.ports {
				if s, ok := latest[pt.ID]; ok {
					if _, have := st.base[pt.ID]; !have {
						st.base[pt.ID] = s.Reading(pt.HC)
					}
				}
			}
			st.seeded = true
		}
	}

	req := make([]PollPort, len(st.ports))
	for i, pt := range st.ports {
		req[i] = PollPort{IfIndex: pt.IfIndex, HC: pt.HC}
	}
	pctx, cancel := context.WithTimeout(ctx, pollInterval(sw))
	began := time.Now()
	res, err := sn.poll(pctx, t.Creds, req)
	cancel()
	p.m.pollTime.Observe(time.Since(began).Seconds())
	if err != nil {
		if ctx.Err() == nil { // else cut short by shutdown: not the switch's failure
			sn.failed(ctx, t, st, slot, t.Creds.Scrub(err.Error()))
		}
		return
	}
	p.stats.polls.Add(1)
	maxGap := 3 * pollInterval(sw)
	samples := make([]models.TrafficSample, 0, len(st.ports))
	for _, pt := range st.ports {
		rd, ok := res.Readings[pt.IfIndex]
		if !ok {
			continue
		}
		// The slot, not the time the agent answered: a slot polled twice
		// (two instances around a hand-over, a replay) has one key
		// (port_id, at), and the deltas are over whole slots.
		rd.At = slot
		if rd.Uptime == 0 {
			rd.Uptime = res.Uptime
		}
		if rd.SpeedBps == 0 {
			rd.SpeedBps = pt.SpeedBps
		}
		var prev *models.CounterReading
		if b, ok := st.base[pt.ID]; ok {
			prev = &b
		}
		samples = append(samples, models.NewTrafficSample(pt.ID, prev, rd, maxGap))
		st.base[pt.ID] = rd
		// An administratively down port (shut, or not cabled yet) gives
		// no result: it is not the customer's port failing.
		if c := pt.Check; c != nil && c.Enabled && rd.AdminUp {
			r := models.ProbeResult{CheckID: c.ID, At: slot, OK: rd.OperUp}
			if !rd.OperUp {
				r.Reason = models.ReasonPortDown
			}
			p.stats.probes.Add(1)
			if !r.OK {
				p.stats.failures.Add(1)
			}
			p.m.probed(models.KindPort, r.OK, 0, r.Reason)
			p.w.add(r, nil, c)
		}
	}
	sn.tw.add(samples)
	if st.lastErr != "" {
		p.log.Info("prober: switch answers again", "switch_id", sw.ID, "switch", sw.Name)
		st.lastErr = ""
	}
	sn.polled(ctx, sw.ID, slot, "")
}

// failed records a failed poll of t's switch: its error on the switch,
// and a log line when the error is new.
func (sn *snmpPoller) failed(ctx context.Context, t *models.PollTarget, st *swState, slot time.Time, text string) {
	sn.p.stats.pollErrors.Add(1)
	if text != st.lastErr {
		sn.p.log.Warn("prober: switch poll failed", "switch_id", t.Switch.ID, "switch", t.Switch.Name, "err", text)
		st.lastErr = text
	}
	sn.polled(ctx, t.Switch.ID, slot, text)
}

// polled stores the poll's time and error on the switch; while the
// database is away that is left out (the next poll says it again).
func (sn *snmpPoller) polled(ctx context.Context, id int64, at time.Time, errText string) {
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if err := sn.p.store.SwitchPolled(sctx, id, at, "", errText); err != nil && ctx.Err() == nil {
		sn.p.log.Debug("prober: switch's last poll not recorded", "switch_id", id, "err", err)
	}
}
