package prober

import (
	"container/heap"
	"context"
	"log/slog"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/colo-portal/portal/models"
)

// Clock and Timer are the workers' injectable time source (models.TimeSource).
type (
	Clock = models.TimeSource
	Timer = models.Timer
)

// The batch writer's defaults, chosen from `portal bench probe` runs (see
// docs/benchmarks.md, "Issue 12: data-center scale").
const (
	DefaultBatchAge = 5 * time.Second
	DefaultBatchMax = 5000
)

// Config tunes a Prober. The zero value of each field means its default.
type Config struct {
	// InstanceID names this process in check leases; default
	// hostname-pid-random.
	InstanceID string
	// Lease is how long a claim on a check lasts; it is renewed every
	// Lease/4, and a dead instance's checks are taken over when its leases
	// end, within one lease. Default 60 s.
	Lease time.Duration
	// MaxChecks bounds the checks this instance holds. Default 100,000.
	MaxChecks int
	// Workers bounds the protocol checks (TCP, HTTP, SMTP, FTP) running at
	// once. Default 64.
	Workers int
	// ICMPWorkers bounds the pings in flight. A ping is a packet on a
	// shared socket and a wait, so this can be high. Default 2048.
	ICMPWorkers int
	// BatchAge is the longest a result waits in the batch before it is
	// written; a result that changes its check's state (a failure after a
	// success, the failure that reaches the threshold, a success after a
	// failure) is written at once with everything buffered. Default 5 s.
	BatchAge time.Duration
	// BatchMax writes a batch as soon as it has this many results, and
	// caps the results per RecordResults call of the live path (a spool
	// is replayed in chunks of at least 5,000). Default 5,000.
	BatchMax int
	// WriteTimeout bounds one RecordResults call. Default 15 s.
	WriteTimeout time.Duration
	// SpoolPath is the file results go to while the database is away.
	// Empty keeps them in memory instead (lost on restart).
	SpoolPath string
	// Clock is the time source; default the system clock.
	Clock Clock
	// Jitter is the most a probe is sent after its slot, at random, so
	// checks that share a slot are not sent in one burst; the result keeps
	// the slot as its time. Capped at a tenth of the check's interval.
	// Default 250 ms.
	Jitter time.Duration
	// SkipICMP leaves ICMP checks to other instances: for a process that
	// could open no ICMP socket.
	SkipICMP bool
	// SNMPPoll reads the counters of a switch's ports (SNMPPoll in
	// production, a fake in tests). nil: this instance polls no switches
	// and takes no lease on them.
	SNMPPoll PollFunc
	// SNMPMeters reads the meters of PDUs and environment sensors
	// (facility_poller.go); nil: SNMPReadMeters.
	SNMPMeters MeterReadFunc
	// SNMPWorkers bounds the switches polled at once. Default 16.
	SNMPWorkers int
	// Metrics is the registry the prober's series are added to
	// (metrics.go); nil keeps them unregistered.
	Metrics *prometheus.Registry

	// keepLeases skips ReleaseChecks at stop, as a crash would (tests).
	keepLeases bool
}

func (c *Config) defaults() {
	if c.InstanceID == "" {
		c.InstanceID = models.NewInstanceID()
	}
	if c.Lease <= 0 {
		c.Lease = time.Minute
	}
	if c.MaxChecks <= 0 {
		c.MaxChecks = 100_000
	}
	if c.Workers <= 0 {
		c.Workers = 64
	}
	if c.ICMPWorkers <= 0 {
		c.ICMPWorkers = 2048
	}
	if c.BatchAge <= 0 {
		c.BatchAge = DefaultBatchAge
	}
	if c.BatchMax <= 0 {
		c.BatchMax = DefaultBatchMax
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 15 * time.Second
	}
	if c.SNMPWorkers <= 0 {
		c.SNMPWorkers = 16
	}
	if c.Clock == nil {
		c.Clock = models.WallClock
	}
	if c.Jitter < 0 {
		c.Jitter = 0
	} else if c.Jitter == 0 {
		c.Jitter = 250 * time.Millisecond
	}
}

// Prober runs the checks this instance holds a lease on: one scheduler
// goroutine with a heap of next-due times, two bounded pools (pings,
// protocol checks), and a writer that batches results into the database.
type Prober struct {
	cfg   Config
	store *models.Store
	probe ProbeFunc
	log   *slog.Logger
	stats counters
	m     *metrics

	w        *writer
	inflight sync.WaitGroup
	// sn polls the switches this instance holds (snmp_poller.go); nil
	// without Config.SNMPPoll.
	sn *snmpPoller
}

// New builds a prober; Run starts it.
func New(cfg Config, store *models.Store, probe ProbeFunc, log *slog.Logger) *Prober {
	cfg.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Prober{cfg: cfg, store: store, probe: probe, log: log.With("instance", cfg.InstanceID)}
	p.m = newMetrics(p)
	p.register(cfg.Metrics)
	return p
}

// Stats are a prober's running totals.
type Stats struct {
	Checks   int64 // checks held now
	Probes   int64 // probes run (a port check's result from a switch poll counts as one)
	Failures int64 // probes that failed (a port found down counts as one)
	Skipped  int64 // slots missed: the previous probe still running, a pool full, or the scheduler late
	Written  int64 // results the database took (replays not counted twice)
	Batches  int64 // RecordResults calls that succeeded (live flushes and replayed chunks)
	Spooled  int64 // results written to the spool
	Replayed int64 // results handed from the spool to the database
	Lost     int64 // results the spool could not keep (a failed append, a torn record skipped on replay)

	// The SNMP poller's (zero without Config.SNMPPoll).
	Switches        int64 // switches held now
	Polls           int64 // polls of switches that answered
	PollErrors      int64 // polls that failed (timeout, refused, bad credentials)
	Samples         int64 // traffic samples the database took
	SamplesSpooled  int64 // traffic samples written to their spool
	SamplesReplayed int64 // traffic samples handed from their spool to the database
	SamplesLost     int64 // traffic samples their spool could not keep
}

// Stats returns the totals so far.
func (p *Prober) Stats() Stats {
	s := &p.stats
	return Stats{Checks: s.checks.Load(), Probes: s.probes.Load(), Failures: s.failures.Load(), Skipped: s.skipped.Load(),
		Written: s.written.Load(), Batches: s.batches.Load(), Spooled: s.spooled.Load(), Replayed: s.replayed.Load(),
		Lost: s.lost.Load(), Switches: s.switches.Load(), Polls: s.polls.Load(), PollErrors: s.pollErrors.Load(),
		Samples: s.samples.Load(), SamplesSpooled: s.samplesSpooled.Load(), SamplesReplayed: s.samplesReplayed.Load(),
		SamplesLost: s.samplesLost.Load()}
}

// Run probes until ctx is cancelled, then stops scheduling, lets running
// probes end, writes the last results (to the spool if the database does
// not take them) and releases its leases so another instance takes the
// checks at once. With Config.SNMPPoll it polls switches too
// (snmp_poller.go), under leases taken in the same rounds.
func (p *Prober) Run(ctx context.Context) error {
	sp := p.openSpool()
	defer sp.Close()
	p.w = newWriter(&p.cfg, p.store, sp, &p.stats, p.log)
	p.w.m = p.m.results
	p.w.m.spooled(sp.Len(), false)
	wstop, wdone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(wdone)
		p.w.run(wstop)
	}()
	p.log.Info("prober started", "lease", p.cfg.Lease, "workers", p.cfg.Workers, "icmp_workers", p.cfg.ICMPWorkers,
		"skip_icmp", p.cfg.SkipICMP, "spool", sp.Name(), "snmp", p.cfg.SNMPPoll != nil)

	claims := make(chan claims, 1)
	var bg sync.WaitGroup
	if p.cfg.SNMPPoll != nil {
		p.sn = newSNMPPoller(p, sp.Name())
		defer p.sn.close()
		bg.Add(1)
		go func() {
			defer bg.Done()
			p.sn.schedule(ctx)
		}()
	}
	bg.Add(1)
	go func() {
		defer bg.Done()
		p.lease(ctx, claims)
	}()
	qcap := min(p.cfg.MaxChecks, 1<<16)
	icmp := &pool{queue: make(chan job, qcap), sem: make(chan struct{}, p.cfg.ICMPWorkers)}
	proto := &pool{queue: make(chan job, qcap), sem: make(chan struct{}, p.cfg.Workers)}
	for _, pl := range []*pool{icmp, proto} {
		bg.Add(1)
		go func() {
			defer bg.Done()
			p.dispatch(ctx, pl)
		}()
	}

	p.schedule(ctx, claims, icmp, proto)

	close(icmp.queue)
	close(proto.queue)
	bg.Wait()
	p.inflight.Wait()
	if p.sn != nil {
		p.sn.stop() // its last port results reach the writer before it stops
	}
	close(wstop)
	<-wdone
	if !p.cfg.keepLeases {
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if p.sn != nil {
			if err := p.store.ReleaseSwitches(rctx, p.cfg.InstanceID); err != nil {
				p.log.Warn("prober: release switch leases (they expire on their own)", "err", err)
			}
		}
		if err := p.store.ReleaseChecks(rctx, p.cfg.InstanceID); err != nil {
			p.log.Warn("prober: release leases (they expire on their own)", "err", err)
		}
		p.stats.checks.Store(0) // given up (or ending on their own): held no more
		p.stats.switches.Store(0)
	}
	p.log.Info("prober stopped", "probes", p.stats.probes.Load())
	return nil
}

func (p *Prober) openSpool() spool {
	if p.cfg.SpoolPath != "" {
		sp, err := openFileSpool(p.cfg.SpoolPath)
		if err == nil {
			return sp
		}
		p.log.Error("prober: cannot open the spool file; results the database refuses are kept in memory only",
			"spool", p.cfg.SpoolPath, "err", err)
	}
	return &memSpool{max: 1_000_000}
}

// claims is what the lease loop tells the scheduler: the checks held now,
// or that the database did not answer.
type claims struct {
	set     []models.Check
	failing bool
	// cuts are checks offered to other instances, whose leases end at a
	// time of their own: held in set or not (another instance may have
	// taken one already).
	cuts []leaseCut
}

type leaseCut struct {
	ids   []int64
	until time.Time
}

// lease runs a round of ShareChecks every Lease/4 and hands the set held
// to the scheduler. While rounds fail (the database is away) the scheduler
// keeps probing what it last held, past the ends of those leases: with one
// database, no other instance can take those checks meanwhile, and the
// results go to the spool.
func (p *Prober) lease(ctx context.Context, out chan claims) {
	every := p.cfg.Lease / 4
	t := p.cfg.Clock.NewTimer(0)
	defer t.Stop()
	held, failing := 0, false
	send := func(c claims) {
		select { // replace what the scheduler has not taken yet, but keep its cuts
		case old := <-out:
			c.cuts = append(old.cuts, c.cuts...)
		default:
		}
		out <- c
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		// A round may take up to half a lease: renewed every quarter,
		// a lease still ends after a round that slow (100,000 checks
		// on a loaded database take more than a quarter).
		// The switches' part of the round (ShareSwitches) shares the
		// deadline, and the next round is timed from the end of both.
		cctx, cancel := context.WithTimeout(ctx, max(p.cfg.Lease/2, time.Second))
		round, err := p.store.ShareChecks(cctx, p.cfg.InstanceID,
			models.ShareOptions{Lease: p.cfg.Lease, Max: p.cfg.MaxChecks, SkipICMP: p.cfg.SkipICMP})
		if p.sn != nil {
			p.sn.leaseRound(ctx, cctx, err == nil)
		}
		cancel()
		t.Reset(every)
		p.m.lease[err == nil].Inc()
		if u := round.Unprobed; u.Checks > 0 { // after the round's claims; an alarm every round, failed or not
			p.log.Error("prober: enabled checks held by no instance go unprobed", "checks", u.Checks, "since", u.Since)
		}
		var cuts []leaseCut
		if len(round.OfferedIDs) > 0 { // also from a round that failed later
			cuts = []leaseCut{{ids: round.OfferedIDs, until: round.OfferedUntil}}
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !failing {
				p.log.Warn("prober: cannot renew or claim checks; probing those already held", "held", held, "err", err)
			}
			if !failing || len(cuts) > 0 {
				send(claims{failing: true, cuts: cuts})
			}
			failing = true
			continue
		}
		if failing {
			p.log.Info("prober: claiming checks again")
			failing = false
			p.w.databaseBack()
			if p.sn != nil {
				p.sn.tw.databaseBack()
			}
		}
		if round.Offered > 0 || round.Claimed > 0 {
			p.log.Info("prober: sharing checks", "instances", round.Instances, "share", round.Target,
				"offered", round.Offered, "claimed", round.Claimed)
		}
		held = len(round.Checks)
		send(claims{set: round.Checks, cuts: cuts})
	}
}

// entry is one held check in the scheduler's heap.
type entry struct {
	check *models.Check // replaced, never changed, when a claim brings a new copy
	slot  time.Time     // when the next probe is due; its result's time
	fire  time.Time     // slot plus jitter: when it is sent
	until time.Time     // the lease's end: slots from here on are another instance's
	// offered: this instance cut the lease to until for another to take,
	// so it ends then even while leases cannot be renewed.
	offered bool
	index   int
	// running is set from dispatch until the probe's result is queued: a
	// probe is skipped rather than run twice at once.
	running atomic.Bool
}

type schedHeap []*entry

func (h schedHeap) Len() int           { return len(h) }
func (h schedHeap) Less(i, j int) bool { return h[i].fire.Before(h[j].fire) }
func (h schedHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i]; h[i].index = i; h[j].index = j }
func (h *schedHeap) Push(x any)        { e := x.(*entry); e.index = len(*h); *h = append(*h, e) }
func (h *schedHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.index = -1
	return e
}

type job struct {
	e     *entry
	check *models.Check
	at    time.Time
}

type pool struct {
	queue chan job
	sem   chan struct{}
}

// schedule is the one goroutine that decides when each check is probed.
func (p *Prober) schedule(ctx context.Context, in <-chan claims, icmp, proto *pool) {
	var h schedHeap
	entries := map[int64]*entry{}
	// holding: the lease loop cannot reach the database, so leases are not
	// renewed and the checks held are probed on past their ends.
	holding := false
	timer := p.cfg.Clock.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := p.cfg.Clock.Now()
		for len(h) > 0 && !h[0].fire.After(now) {
			e := h[0]
			if (!holding || e.offered) && !e.slot.Before(e.until) {
				// The lease ends before this slot: another instance
				// probes the check from its end on, or nobody should.
				heap.Pop(&h)
				delete(entries, e.check.ID)
				p.w.forget(e.check.ID)
				p.stats.checks.Store(int64(len(entries)))
				p.log.Debug("prober: lease ended, check dropped", "check_id", e.check.ID)
				continue
			}
			pl := proto
			if e.check.Kind == models.KindICMP {
				pl = icmp
			}
			p.send(pl, e)
			iv := interval(e.check)
			missed := now.Sub(e.slot) / iv // whole intervals the scheduler fell behind
			if missed > 0 {
				p.stats.skipped.Add(int64(missed))
			}
			e.slot = e.slot.Add((missed + 1) * iv)
			e.fire = e.slot.Add(p.jitter(iv))
			heap.Fix(&h, 0)
		}
		wait := time.Hour
		if len(h) > 0 {
			wait = h[0].fire.Sub(now)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case c := <-in:
			holding = c.failing
			for _, cut := range c.cuts {
				p.cut(cut.ids, cut.until, entries)
			}
			if !c.failing {
				// The time the checks arrive, not the time this loop last
				// woke: a slot before it would be dated before its probe.
				p.apply(c.set, p.cfg.Clock.Now(), &h, entries)
			}
		case <-timer.C():
		}
	}
}

// cut ends the leases of the checks offered at until: the instance that
// takes one probes it from then on, even if it took it before this
// instance read back what it holds.
func (p *Prober) cut(ids []int64, until time.Time, entries map[int64]*entry) {
	for _, id := range ids {
		if e := entries[id]; e != nil && e.until.After(until) {
			e.until, e.offered = until, true
		}
	}
}

// apply brings the heap up to date with the leases of set: new checks get
// their first slot at or after both now and the start of their lease,
// renewed ones their new lease end and settings, disabled ones go. A check
// missing from set (taken over by another instance, deleted) stays until
// its lease ends, when the scheduler drops it: the new owner's lease starts
// there.
func (p *Prober) apply(set []models.Check, now time.Time, h *schedHeap, entries map[int64]*entry) {
	added, dropped := 0, 0
	for i := range set {
		c := &set[i]
		e := entries[c.ID]
		if !c.Enabled {
			if e != nil {
				heap.Remove(h, e.index)
				delete(entries, c.ID)
				p.w.forget(c.ID)
				dropped++
			}
			continue
		}
		start := now
		if c.LeaseFrom != nil && c.LeaseFrom.After(now) {
			start = *c.LeaseFrom
		}
		if e == nil {
			e = &entry{check: c, until: c.LeaseUntil}
			e.slot = slotFrom(c, start)
			e.fire = e.slot.Add(p.jitter(interval(c)))
			heap.Push(h, e)
			entries[c.ID] = e
			added++
			continue
		}
		old, prevUntil := e.check, e.until
		e.offered = e.offered && !c.LeaseUntil.After(prevUntil) // a lease again, if renewed or claimed back
		e.check, e.until = c, c.LeaseUntil
		gap := c.LeaseFrom != nil && prevUntil.Before(*c.LeaseFrom)
		if old.IntervalSec != c.IntervalSec || gap && e.slot.Before(start) {
			// A new grid, or a lease that does not follow the one held
			// (another instance held the check in between: what the
			// writer knew of its state is stale).
			if gap {
				p.w.forget(c.ID)
			}
			e.slot = slotFrom(c, start)
			e.fire = e.slot.Add(p.jitter(interval(c)))
			heap.Fix(h, e.index)
		}
	}
	p.stats.checks.Store(int64(len(entries)))
	if added > 0 || dropped > 0 {
		p.log.Info("prober: checks held", "checks", len(entries), "added", added, "dropped", dropped)
	}
}

// send queues e's probe without blocking the scheduler.
func (p *Prober) send(pl *pool, e *entry) {
	if !e.running.CompareAndSwap(false, true) {
		p.stats.skipped.Add(1)
		p.log.Debug("prober: previous probe still running, slot skipped", "check_id", e.check.ID)
		return
	}
	select {
	case pl.queue <- job{e: e, check: e.check, at: e.slot}:
	default:
		e.running.Store(false)
		p.stats.skipped.Add(1)
		p.log.Warn("prober: probe queue full, slot skipped", "check_id", e.check.ID)
	}
}

// dispatch starts the queued probes of one pool, at most cap(sem) at once.
func (p *Prober) dispatch(ctx context.Context, pl *pool) {
	for j := range pl.queue {
		if ctx.Err() != nil {
			j.e.running.Store(false)
			continue
		}
		select {
		case pl.sem <- struct{}{}:
		case <-ctx.Done():
			j.e.running.Store(false)
			continue
		}
		p.inflight.Add(1)
		go func() {
			defer func() {
				<-pl.sem
				p.inflight.Done()
			}()
			p.probeOne(ctx, j)
		}()
	}
}

// probeOne probes one check and queues its result.
func (p *Prober) probeOne(ctx context.Context, j job) {
	defer j.e.running.Store(false)
	defer func() {
		if v := recover(); v != nil {
			// A broken probe must not stop the others; no result is better
			// than a false failure.
			p.stats.skipped.Add(1)
			p.log.Error("prober: probe panicked", "check_id", j.check.ID, "kind", j.check.Kind, "panic", v)
		}
	}()
	c := j.check
	timeout := c.Timeout()
	if timeout <= 0 {
		timeout = models.DefaultTimeout
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	out := p.probe(pctx, c)
	cancel()
	if !out.OK && ctx.Err() != nil {
		return // cut short by shutdown: not the target's failure
	}
	r := models.ProbeResult{CheckID: c.ID, At: j.at.UTC().Truncate(time.Millisecond), OK: out.OK}
	p.stats.probes.Add(1)
	if out.OK {
		r.RTTus = int(out.RTT / time.Microsecond)
	} else {
		p.stats.failures.Add(1)
		r.Reason = out.Reason
		if r.Reason == "" {
			r.Reason = models.ReasonError
		}
		if len(r.Reason) > 40 { // the column's size
			r.Reason = r.Reason[:40]
		}
	}
	p.m.probed(c.Kind, out.OK, out.RTT, r.Reason)
	var cert *time.Time
	if out.CertExpiry != nil {
		seen := out.CertExpiry.UTC().Truncate(time.Second)
		if c.CertExpiresAt == nil || !c.CertExpiresAt.UTC().Truncate(time.Second).Equal(seen) {
			cert = &seen
		}
	}
	p.w.add(r, cert, c)
}

func interval(c *models.Check) time.Duration {
	return max(c.Interval(), models.MinInterval)
}

// firstSlot is the first probe time of c after now. Slots lie on a grid
// fixed for each check, interval apart at an offset that a hash of the
// check's ID spreads over the interval: the probes of many checks are
// spread, not sent in bursts, and every instance computes the same grid, so
// a check taken over is probed on in step, and two instances that ever run
// the same slot write the same (check, time), which is stored once.
func firstSlot(c *models.Check, now time.Time) time.Time {
	return gridAfter(c.ID, interval(c), now)
}

// gridAfter is the first slot after now of the grid of interval iv whose
// offset a hash of id sets (checks and switches alike).
func gridAfter(id int64, iv time.Duration, now time.Time) time.Time {
	ms := iv.Milliseconds()
	phase := int64(mix(uint64(id)) % uint64(ms))
	k := floorDiv(now.UnixMilli()-phase, ms) + 1
	return time.UnixMilli(k*ms + phase).UTC()
}

// slotFrom is the first slot of c at or after t: the first an instance
// whose lease starts at t may probe.
func slotFrom(c *models.Check, t time.Time) time.Time {
	return gridFrom(c.ID, interval(c), t)
}

// gridFrom is the first slot at or after t of gridAfter's grid.
func gridFrom(id int64, iv time.Duration, t time.Time) time.Time {
	s := gridAfter(id, iv, t.Add(-time.Millisecond))
	for s.Before(t) { // t has a fraction of a millisecond
		s = s.Add(iv)
	}
	return s
}

func (p *Prober) jitter(iv time.Duration) time.Duration {
	j := min(p.cfg.Jitter, iv/10)
	if j <= 0 {
		return 0
	}
	return mrand.N(j)
}

// mix is splitmix64's finalizer: consecutive IDs land far apart.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
