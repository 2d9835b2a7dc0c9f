package prober

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// manualClock is a Clock the test moves. Timers fire when Advance passes
// their deadline.
type manualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers map[*manualTimer]struct{}
}

func newManualClock() *manualClock {
	// Not on a round minute, so that slot arithmetic is not trivially right.
	return &manualClock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).Add(3217 * time.Millisecond),
		timers: map[*manualTimer]struct{}{}}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) NewTimer(d time.Duration) Timer {
	t := &manualTimer{c: c, ch: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

// Advance moves the clock on by d and fires the timers now due.
func (c *manualClock) Advance(d time.Duration) {
	c.advance(d)
}

// advance is Advance, returning the timers it fired with their generation
// at the moment they fired.
func (c *manualClock) advance(d time.Duration) map[*manualTimer]uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	fired := map[*manualTimer]uint64{}
	for t := range c.timers {
		if !t.at.After(c.now) {
			delete(c.timers, t)
			select {
			case t.ch <- c.now:
			default:
			}
			fired[t] = t.gen
		}
	}
	return fired
}

// run moves the clock on by d in 100 ms steps. After each step it waits, in
// real time, until the owner of every timer that step fired has taken its
// tick and set the timer again (or stopped it): each loop of the prober
// (scheduler, lease, writer) resets its timer only once the work of the
// tick is done or under way, so fake time never runs ahead of a goroutine
// that is still catching up. Without this, a lease renewal that takes a
// few real milliseconds on a loaded database could see its lease expire in
// fake time meanwhile, and another instance take checks their holder is
// still probing. It also pauses a moment after each step so that the
// probes the scheduler sent get to run.
func (c *manualClock) run(d time.Duration) {
	for step := 100 * time.Millisecond; d > 0; d -= step {
		fired := c.advance(min(step, d))
		deadline := time.Now().Add(30 * time.Second)
		for !c.caughtUp(fired) {
			if time.Now().After(deadline) {
				panic(fmt.Sprintf("manualClock.run: at %v a timer's owner did not take its tick within 30 s", c.Now()))
			}
			time.Sleep(100 * time.Microsecond)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// caughtUp reports that every timer in fired has been reset or stopped
// since it fired.
func (c *manualClock) caughtUp(fired map[*manualTimer]uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for t, gen := range fired {
		if t.gen == gen {
			return false
		}
	}
	return true
}

type manualTimer struct {
	c  *manualClock
	ch chan time.Time
	at time.Time
	// gen counts the calls of Reset and Stop, under c.mu: run waits for it
	// to change on the timers it fired.
	gen uint64
}

func (t *manualTimer) C() <-chan time.Time { return t.ch }

func (t *manualTimer) Reset(d time.Duration) {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.gen++
	select { // no stale tick, as with time.Timer since Go 1.23
	case <-t.ch:
	default:
	}
	t.at = t.c.now.Add(d)
	if d <= 0 {
		delete(t.c.timers, t)
		t.ch <- t.c.now
		return
	}
	t.c.timers[t] = struct{}{}
}

func (t *manualTimer) Stop() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.gen++
	delete(t.c.timers, t)
	select {
	case <-t.ch:
	default:
	}
}

// probeCall is one call of a fake probe.
type probeCall struct {
	instance string
	at       time.Time // the clock when the probe ran
}

// probeRecorder is a fake ProbeFunc: no network, every call recorded.
type probeRecorder struct {
	clock *manualClock
	mu    sync.Mutex
	calls map[int64][]probeCall
	// fail says whether call n (from 0) of check c fails; nil: none fails.
	fail func(c *models.Check, n int) bool
	// cert is the certificate expiry every successful probe reports.
	cert *time.Time
}

func newProbeRecorder(clock *manualClock) *probeRecorder {
	return &probeRecorder{clock: clock, calls: map[int64][]probeCall{}}
}

func (r *probeRecorder) probeFunc(instance string) ProbeFunc {
	return func(ctx context.Context, c *models.Check) Outcome {
		r.mu.Lock()
		n := len(r.calls[c.ID])
		r.calls[c.ID] = append(r.calls[c.ID], probeCall{instance: instance, at: r.clock.Now()})
		fail := r.fail != nil && r.fail(c, n)
		r.mu.Unlock()
		if fail {
			return Outcome{Reason: models.ReasonTimeout}
		}
		return Outcome{OK: true, RTT: 1500 * time.Microsecond, CertExpiry: r.cert}
	}
}

func (r *probeRecorder) callsOf(id int64) []probeCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]probeCall(nil), r.calls[id]...)
}

// proberFixture is an organization with checks every 10 s.
type proberFixture struct {
	org    int64
	checks []models.Check
}

const testInterval = 10 * time.Second

// newProberFixture seeds s with one device per check kind given, each with
// one check of that kind at a 10 s interval; the devices' default 5-minute
// pings are disabled so that only these run.
func newProberFixture(t *testing.T, s *models.Store, kinds ...models.CheckKind) *proberFixture {
	t.Helper()
	ctx := context.Background()
	sys := models.SystemActor("test")
	fx := dbtest.Seed(t, s)
	f := &proberFixture{org: fx.OrgA.ID}
	for i, kind := range kinds {
		addr := fmt.Sprintf("127.0.1.%d", i+1)
		d, err := s.CreateDevice(ctx, sys, models.DeviceInput{OrgID: f.org, Name: fmt.Sprintf("dev-%d", i), Address: addr})
		if err != nil {
			t.Fatal(err)
		}
		def, err := s.ListChecks(ctx, models.AllOrgs(), f.org, d.ID)
		if err != nil || len(def) != 1 {
			t.Fatalf("default checks %v, %v", def, err)
		}
		if err := s.SetCheckEnabled(ctx, sys, f.org, def[0].ID, false); err != nil {
			t.Fatal(err)
		}
		target := addr
		switch kind {
		case models.KindICMP:
		case models.KindHTTP, models.KindHTTPS:
			target = string(kind) + "://" + addr + "/"
		default:
			target = addr + ":7"
		}
		c, err := s.AddCheck(ctx, sys, f.org, d.ID, models.CheckInput{Kind: kind, Target: target, Interval: testInterval,
			Timeout: time.Second, FailThreshold: 2, Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		f.checks = append(f.checks, *c)
	}
	return f
}

// results returns the stored results of check id, oldest first.
func (f *proberFixture) results(t *testing.T, s *models.Store, id int64) []models.ProbeResult {
	t.Helper()
	rs, err := s.Results(context.Background(), models.AllOrgs(), f.org, id, time.Unix(0, 0), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].At.Before(rs[j].At) })
	return rs
}

// rollupProbes sums the hourly rollups of check id: each result counted once
// whatever was replayed.
func (f *proberFixture) rollupProbes(t *testing.T, s *models.Store, id int64) int {
	t.Helper()
	rs, err := s.Rollups(context.Background(), models.AllOrgs(), f.org, id, "h", time.Unix(0, 0), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range rs {
		n += r.Probes
	}
	return n
}

// running is a Prober started in the background.
type running struct {
	p      *Prober
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, cfg Config, s *models.Store, probe ProbeFunc) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{p: New(cfg, s, probe, testLogger(t)), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- r.p.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels the prober and waits for Run to return.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return within 15 s of cancel")
	}
}

// eventually waits up to 10 s of real time for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("PROBER_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

// owners maps each check ID to its lease owner, as the database has it.
func owners(t *testing.T, s *models.Store, f *proberFixture) map[int64]string {
	t.Helper()
	out := map[int64]string{}
	cs, err := s.ListOrgChecks(context.Background(), models.AllOrgs(), f.org)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		out[c.ID] = c.LeaseOwner
	}
	return out
}
