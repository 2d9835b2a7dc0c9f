package prober

import (
	"container/heap"
	"context"
	"log/slog"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/colo-portal/portal/models"
)

// Clock and Timer are the workers' injectable time source (models.TimeSource).
type (
	Clock = models.TimeSource
	Timer = models.Timer
)

// Config tunes a Prober. The zero value of each field means its default.
type Config struct {
	// InstanceID names this process in check leases; default
	// hostname-pid-random.
	InstanceID string
	// Lease is how long a claim on a check lasts; it is renewed every
	// Lease/3, so a dead instance's checks are taken over within two
	// leases. Default 60 s.
	Lease time.Duration
	// MaxChecks bounds the checks this instance holds. Default 100,000.
	MaxChecks int
	// Workers bounds the protocol checks (TCP, HTTP, SMTP, FTP) running at
	// once. Default 64.
	Workers int
	// ICMPWorkers bounds the pings in flight. A ping is a packet on a
	// shared socket and a wait, so this can be high. Default 2048.
	ICMPWorkers int
	// FlushEvery is the longest a result waits before it is written.
	// Default 1 s.
	FlushEvery time.Duration
	// BatchMax writes a batch as soon as it has this many results, and
	// caps the results per RecordResults call. Default 5,000.
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
	if c.FlushEvery <= 0 {
		c.FlushEvery = time.Second
	}
	if c.BatchMax <= 0 {
		c.BatchMax = 5000
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 15 * time.Second
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

	w        *writer
	inflight sync.WaitGroup
}

// New builds a prober; Run starts it.
func New(cfg Config, store *models.Store, probe ProbeFunc, log *slog.Logger) *Prober {
	cfg.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Prober{cfg: cfg, store: store, probe: probe, log: log.With("instance", cfg.InstanceID)}
}

// Stats are a prober's running totals.
type Stats struct {
	Checks   int64 // checks held now
	Probes   int64 // probes run
	Failures int64 // probes that failed
	Skipped  int64 // slots missed: the previous probe still running, a pool full, or the scheduler late
	Written  int64 // results the database took (replays not counted twice)
	Spooled  int64 // results written to the spool
	Replayed int64 // results handed from the spool to the database
	Lost     int64 // results the spool could not keep (a failed append, a torn record skipped on replay)
}

// Stats returns the totals so far.
func (p *Prober) Stats() Stats {
	s := &p.stats
	return Stats{Checks: s.checks.Load(), Probes: s.probes.Load(), Failures: s.failures.Load(), Skipped: s.skipped.Load(),
		Written: s.written.Load(), Spooled: s.spooled.Load(), Replayed: s.replayed.Load(),
		Lost: s.lost.Load()}
}

// Run probes until ctx is cancelled, then stops scheduling, lets running
// probes end, writes the last results (to the spool if the database does
// not take them) and releases its leases so another instance takes the
// checks at once.
func (p *Prober) Run(ctx context.Context) error {
	sp := p.openSpool()
	defer sp.Close()
	p.w = newWriter(&p.cfg, p.store, sp, &p.stats, p.log)
	wstop, wdone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(wdone)
		p.w.run(wstop)
	}()
	p.log.Info("prober started", "lease", p.cfg.Lease, "workers", p.cfg.Workers, "icmp_workers", p.cfg.ICMPWorkers,
		"skip_icmp", p.cfg.SkipICMP, "spool", sp.Name())

	claims := make(chan []models.Check, 1)
	var bg sync.WaitGroup
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
	close(wstop)
	<-wdone
	if !p.cfg.keepLeases {
		rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := p.store.ReleaseChecks(rctx, p.cfg.InstanceID); err != nil {
			p.log.Warn("prober: release leases (they expire on their own)", "err", err)
		}
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

// lease claims checks every Lease/3 and hands the set held to the
// scheduler. While claims fail (the database is away) the scheduler keeps
// probing what it last held: with one database, no other instance can take
// those checks meanwhile, and the results go to the spool.
func (p *Prober) lease(ctx context.Context, out chan []models.Check) {
	every := p.cfg.Lease / 3
	kinds := []models.CheckKind(nil)
	if p.cfg.SkipICMP {
		for _, k := range models.CheckKinds {
			if k != models.KindICMP {
				kinds = append(kinds, k)
			}
		}
	}
	t := p.cfg.Clock.NewTimer(0)
	defer t.Stop()
	held, failing := 0, false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		cctx, cancel := context.WithTimeout(ctx, max(every, time.Second))
		set, err := p.store.ClaimChecksOfKinds(cctx, p.cfg.InstanceID, p.cfg.Lease, p.cfg.MaxChecks-held, kinds)
		cancel()
		t.Reset(every)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !failing {
				p.log.Warn("prober: cannot claim checks; probing those already held", "held", held, "err", err)
			}
			failing = true
			continue
		}
		if failing {
			p.log.Info("prober: claiming checks again")
			failing = false
		}
		if len(set) > p.cfg.MaxChecks {
			set = set[:p.cfg.MaxChecks]
		}
		held = len(set)
		select { // replace a set the scheduler has not taken yet
		case <-out:
		default:
		}
		out <- set
	}
}

// entry is one held check in the scheduler's heap.
type entry struct {
	check *models.Check // replaced, never changed, when a claim brings a new copy
	slot  time.Time     // when the next probe is due; its result's time
	fire  time.Time     // slot plus jitter: when it is sent
	index int
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
func (p *Prober) schedule(ctx context.Context, claims <-chan []models.Check, icmp, proto *pool) {
	var h schedHeap
	entries := map[int64]*entry{}
	timer := p.cfg.Clock.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := p.cfg.Clock.Now()
		for len(h) > 0 && !h[0].fire.After(now) {
			e := h[0]
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
		case set := <-claims:
			p.apply(set, now, &h, entries)
		case <-timer.C():
		}
	}
}

// apply makes the heap hold exactly the checks of set: new ones get their
// first slot, changed ones their new settings, lost ones (taken by another
// instance, disabled, deleted) go.
func (p *Prober) apply(set []models.Check, now time.Time, h *schedHeap, entries map[int64]*entry) {
	seen := make(map[int64]bool, len(set))
	added, dropped := 0, 0
	for i := range set {
		c := &set[i]
		seen[c.ID] = true
		e := entries[c.ID]
		if e == nil {
			e = &entry{check: c}
			e.slot = firstSlot(c, now)
			e.fire = e.slot.Add(p.jitter(interval(c)))
			heap.Push(h, e)
			entries[c.ID] = e
			added++
			continue
		}
		old := e.check
		e.check = c
		if old.IntervalSec != c.IntervalSec {
			e.slot = firstSlot(c, now)
			e.fire = e.slot.Add(p.jitter(interval(c)))
			heap.Fix(h, e.index)
		}
	}
	for id, e := range entries {
		if !seen[id] {
			heap.Remove(h, e.index)
			delete(entries, id)
			dropped++
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
	var cert *time.Time
	if out.CertExpiry != nil {
		seen := out.CertExpiry.UTC().Truncate(time.Second)
		if c.CertExpiresAt == nil || !c.CertExpiresAt.UTC().Truncate(time.Second).Equal(seen) {
			cert = &seen
		}
	}
	p.w.add(r, cert)
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
	iv := interval(c).Milliseconds()
	phase := int64(mix(uint64(c.ID)) % uint64(iv))
	k := floorDiv(now.UnixMilli()-phase, iv) + 1
	return time.UnixMilli(k*iv + phase).UTC()
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
