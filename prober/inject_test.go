package prober

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// Outages injected on loopback, probed by the real ProbeFunc: a server the
// test stops and restarts on the same port here, ICMP dropped for one
// address in a network namespace in netns_test.go. The prober runs on the
// manual clock, so results carry their scheduled (fake) times, while every
// probe is a real connection or ping made in real time. The driver below
// moves the clock only when every probe due has returned, so a slow probe
// (an ICMP timeout) never makes the scheduler skip a slot.

// probeTracker wraps a real ProbeFunc only to count, per check, the probes
// that have returned; it does not touch their outcome.
type probeTracker struct {
	probe ProbeFunc
	mu    sync.Mutex
	done  map[int64]int
}

func newProbeTracker(probe ProbeFunc) *probeTracker {
	return &probeTracker{probe: probe, done: map[int64]int{}}
}

func (pt *probeTracker) fn(ctx context.Context, c *models.Check) Outcome {
	out := pt.probe(ctx, c)
	pt.mu.Lock()
	pt.done[c.ID]++
	pt.mu.Unlock()
	return out
}

func (pt *probeTracker) doneOf(id int64) int {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	return pt.done[id]
}

func (pt *probeTracker) total() int64 {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	n := 0
	for _, k := range pt.done {
		n += k
	}
	return int64(n)
}

// watched is one check of an injection scenario.
type watched struct {
	name  string
	check models.Check
	// n is the check's FailThreshold.
	n int
	// reason is the failure every probe of the check gives while the
	// fault is injected; "" marks a control check, which must never fail.
	reason string

	sawBelow bool // the state after n-1 failures was observed
	closedAt time.Time
}

// injectRun drives one prober through warm-up, injection and recovery.
type injectRun struct {
	t      *testing.T
	s      *models.Store
	clock  *manualClock
	r      *running
	tr     *probeTracker
	t0     time.Time // the clock when the prober took its checks
	checks []*watched

	injectedAt, recoveredAt time.Time // zero until that phase starts
	observations            int
}

// startInjectRun starts a prober on clock with probe (wrapped to be
// tracked) and waits until it holds the watched checks.
func startInjectRun(t *testing.T, s *models.Store, clock *manualClock, probe ProbeFunc, checks ...*watched) *injectRun {
	t.Helper()
	x := &injectRun{t: t, s: s, clock: clock, tr: newProbeTracker(probe), checks: checks, t0: clock.Now()}
	// No jitter: a probe is sent at its slot, so the driver knows when.
	x.r = start(t, Config{InstanceID: "inject", Clock: clock, Jitter: -1, SpoolPath: t.TempDir() + "/prober.spool"}, s, x.tr.fn)
	eventually(t, "the prober holds the checks", func() bool { return x.r.p.Stats().Checks == int64(len(checks)) })
	if !clock.Now().Equal(x.t0) {
		t.Fatal("the clock moved while the prober started")
	}
	return x
}

// slotsBy is how many probes of c are due by now.
func (x *injectRun) slotsBy(c *models.Check, now time.Time) int {
	first := firstSlot(c, x.t0)
	if now.Before(first) {
		return 0
	}
	return int(now.Sub(first)/interval(c)) + 1
}

// step moves the clock on by 100 ms and waits, in real time, until every
// probe due by then has returned. A check probed more often than its slots
// fails the test.
func (x *injectRun) step() {
	x.t.Helper()
	// Advance, as manualClock.Advance does, noting the timers it fires.
	c := x.clock
	c.mu.Lock()
	c.now = c.now.Add(100 * time.Millisecond)
	now := c.now
	var fired []*manualTimer
	for tm := range c.timers {
		if !tm.at.After(now) {
			delete(c.timers, tm)
			select {
			case tm.ch <- now:
			default:
			}
			fired = append(fired, tm)
		}
	}
	c.mu.Unlock()
	// A bound on waiting, not on speed: on a loaded machine (load average
	// 12, CI and other builds sharing two cores) a probe once needed more
	// than 10 s of real time to come back.
	deadline := time.Now().Add(30 * time.Second)
	for {
		// Every loop of the prober (scheduler, lease, writer) takes its
		// tick and sets its timer again before doing the work; wait for
		// that, or a tick still unread would let the fake time run ahead
		// of the goroutine it was meant for.
		pending := ""
		c.mu.Lock()
		for _, tm := range fired {
			if _, armed := c.timers[tm]; !armed {
				pending = "a timer's owner to take its tick"
			}
		}
		c.mu.Unlock()
		for _, w := range x.checks {
			due, done := x.slotsBy(&w.check, now), x.tr.doneOf(w.check.ID)
			if done > due {
				x.t.Fatalf("%s: probed %d times by %v, but only %d slots were due", w.name, done, now, due)
			}
			if done < due {
				pending = fmt.Sprintf("%s: %d of %d probes due by %v returned", w.name, done, due, now)
			}
		}
		if pending == "" && !x.writing() {
			return
		}
		if time.Now().After(deadline) {
			if pending == "" {
				pending = "a write to the database"
			}
			x.t.Fatalf("timed out waiting for %s", pending)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// writing reports results between a returned probe and the database that
// are not waiting in the writer's buffer for its next flush: being queued,
// or in a flush under way. The clock does not move on until they land, so
// the database never lags behind the fake time by more than one flush
// interval.
func (x *injectRun) writing() bool {
	w := x.r.p.w
	w.mu.Lock()
	buffered := len(w.buf)
	w.mu.Unlock()
	return int64(buffered)+x.r.p.Stats().Written != x.tr.total()
}

// settled reports that every probe that has returned is in the database.
// The clock is not moving, so no flush is under way either.
func (x *injectRun) settled() bool {
	st := x.r.p.Stats()
	return st.Written == x.tr.total() && st.Probes == st.Written
}

// runUntil steps the clock until done holds at a settled moment, checking
// the invariants at every settled moment after a write; at most limit of
// (fake) time.
func (x *injectRun) runUntil(what string, limit time.Duration, done func() bool) {
	x.t.Helper()
	end := x.clock.Now().Add(limit)
	lastWritten := int64(-1)
	for {
		if x.settled() {
			if w := x.r.p.Stats().Written; w != lastWritten {
				lastWritten = w
				x.observe()
				if x.t.Failed() {
					x.t.FailNow()
				}
			}
			if done() {
				return
			}
		}
		if !x.clock.Now().Before(end) {
			var counts []string
			for _, w := range x.checks {
				sp := x.results(w)
				counts = append(counts, fmt.Sprintf("%s: %d probes, %d/%d/%d results stored", w.name, x.tr.doneOf(w.check.ID),
					len(sp.before), len(sp.during), len(sp.after)))
			}
			x.t.Fatalf("not %s within %v: stats %+v; %v", what, limit, x.r.p.Stats(), counts)
		}
		x.step()
	}
}

// split is the stored results of w by phase: before the injection, while
// injected, after the recovery.
type split struct{ all, before, during, after []models.ProbeResult }

func (x *injectRun) results(w *watched) split {
	x.t.Helper()
	rs, err := x.s.Results(context.Background(), models.AllOrgs(), w.check.OrgID, w.check.ID, time.Unix(0, 0), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		x.t.Fatal(err)
	}
	sp := split{all: rs}
	for _, r := range rs {
		switch {
		case x.injectedAt.IsZero() || !r.At.After(x.injectedAt):
			sp.before = append(sp.before, r)
		case x.recoveredAt.IsZero() || !r.At.After(x.recoveredAt):
			sp.during = append(sp.during, r)
		default:
			sp.after = append(sp.after, r)
		}
	}
	return sp
}

func (x *injectRun) checkRow(w *watched) models.Check {
	x.t.Helper()
	cs, err := x.s.ListOrgChecks(context.Background(), models.AllOrgs(), w.check.OrgID)
	if err != nil {
		x.t.Fatal(err)
	}
	for _, c := range cs {
		if c.ID == w.check.ID {
			return c
		}
	}
	x.t.Fatalf("%s: check %d not found", w.name, w.check.ID)
	return models.Check{}
}

// observe checks, at a settled moment, that the database says what the
// stored results imply: no outage before n failures, one dated from the
// first failure and confirmed by the nth from then on, closed by the first
// success, with its evidence and outbox events.
func (x *injectRun) observe() {
	t := x.t
	ctx := context.Background()
	x.observations++
	for _, w := range x.checks {
		sp := x.results(w)
		// Results lie on the check's slot grid, one per slot, none missed:
		// their times are the scheduled times, not when the probe ran.
		first := firstSlot(&w.check, x.t0)
		for i, r := range sp.all {
			if want := first.Add(time.Duration(i) * interval(&w.check)); !r.At.Equal(want) {
				t.Fatalf("%s: result %d at %v, want slot %v", w.name, i, r.At, want)
			}
		}
		for _, r := range append(append([]models.ProbeResult(nil), sp.before...), sp.after...) {
			if !r.OK || r.RTTus <= 0 || r.Reason != "" {
				t.Errorf("%s: result at %v = %+v outside the injected fault, want ok with an RTT", w.name, r.At, r)
			}
		}
		outages, err := x.s.ListOutages(ctx, models.AllOrgs(), w.check.OrgID, w.check.DeviceID, 10)
		if err != nil {
			t.Fatal(err)
		}
		c := x.checkRow(w)
		kinds, err := x.s.OutboxKinds(ctx, models.AllOrgs(), w.check.OrgID)
		if err != nil {
			t.Fatal(err)
		}
		if w.reason == "" { // a control check
			for _, r := range sp.during {
				if !r.OK {
					t.Errorf("%s (control): result at %v = %+v while another target was cut off", w.name, r.At, r)
				}
			}
			if len(outages) != 0 || c.Status == models.StatusDown || len(kinds) != 0 {
				t.Errorf("%s (control): outages %+v, status %s, outbox %v; want none, up, empty", w.name, outages, c.Status, kinds)
			}
			continue
		}
		for _, r := range sp.during {
			if r.OK || r.Reason != w.reason || r.RTTus != 0 {
				t.Errorf("%s: result at %v = %+v while injected, want failed with %q", w.name, r.At, r, w.reason)
			}
		}
		k := len(sp.during)
		if k < w.n {
			if k == w.n-1 {
				w.sawBelow = true
			}
			if len(outages) != 0 {
				t.Errorf("%s: %d failures (threshold %d) already opened %+v", w.name, k, w.n, outages)
			}
			if c.ConsecFails != k || c.OpenOutageID != nil || c.Status == models.StatusDown || len(kinds) != 0 {
				t.Errorf("%s after %d of %d failures: consec_fails %d, open outage %v, status %s, outbox %v; want %d, none, not down, empty",
					w.name, k, w.n, c.ConsecFails, c.OpenOutageID, c.Status, kinds, k)
			}
			continue
		}
		if len(outages) != 1 {
			t.Errorf("%s: %d failures (threshold %d): outages %+v, want exactly one", w.name, k, w.n, outages)
			continue
		}
		o := outages[0]
		if o.CheckID != w.check.ID || !o.StartedAt.Equal(sp.during[0].At) || !o.ConfirmedAt.Equal(sp.during[w.n-1].At) {
			t.Errorf("%s: outage %+v, want check %d, started %v (first failure), confirmed %v (failure %d)",
				w.name, o, w.check.ID, sp.during[0].At, sp.during[w.n-1].At, w.n)
		}
		ev, err := x.s.OutageEvidence(ctx, models.AllOrgs(), w.check.OrgID, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ev) != k {
			t.Errorf("%s: evidence %+v, want the %d failed probes", w.name, ev, k)
		} else {
			for i, e := range ev {
				if !e.At.Equal(sp.during[i].At) || e.Reason != w.reason {
					t.Errorf("%s: evidence %d = %+v, want %v %q", w.name, i, e, sp.during[i].At, w.reason)
				}
			}
		}
		if len(sp.after) == 0 { // still down
			if o.EndedAt != nil || c.Status != models.StatusDown || c.OpenOutageID == nil || *c.OpenOutageID != o.ID || c.ConsecFails != k {
				t.Errorf("%s while down: outage ended %v, check status %s, open outage %v, consec_fails %d; want open, down, %d, %d",
					w.name, o.EndedAt, c.Status, c.OpenOutageID, c.ConsecFails, o.ID, k)
			}
			if len(kinds) != 1 || kinds[0] != models.EventOutageOpened {
				t.Errorf("%s while down: outbox %v, want [%s]", w.name, kinds, models.EventOutageOpened)
			}
			continue
		}
		if o.EndedAt == nil || !o.EndedAt.Equal(sp.after[0].At) || o.Failures != k {
			t.Errorf("%s after recovery: outage %+v, want ended %v (first success), %d failures", w.name, o, sp.after[0].At, k)
		} else {
			w.closedAt = *o.EndedAt
		}
		if c.Status != models.StatusUp || c.OpenOutageID != nil || c.ConsecFails != 0 {
			t.Errorf("%s after recovery: status %s, open outage %v, consec_fails %d; want up, none, 0", w.name, c.Status, c.OpenOutageID, c.ConsecFails)
		}
		// No dispatcher runs: the notice has not gone out, and tells of the
		// recovery itself (models/notice.go).
		if len(kinds) != 1 || kinds[0] != models.EventOutageOpened {
			t.Errorf("%s after recovery: outbox %v, want [%s]", w.name, kinds, models.EventOutageOpened)
		}
	}
}

// scenario runs the three phases: every check answers twice; inject() cuts
// the faulty checks off until each has failed n+1 times (the state after
// n-1 failures is checked on the way); recover() lets them answer again
// until each has succeeded once.
func (x *injectRun) scenario(inject, recover func()) {
	t := x.t
	t.Helper()
	x.runUntil("answered twice each", 30*time.Second, func() bool {
		for _, w := range x.checks {
			if len(x.results(w).before) < 2 {
				return false
			}
		}
		return true
	})
	// Every probe due has returned and been stored: none is in flight
	// across the injection, so the first failure is the first slot after it.
	x.injectedAt = x.clock.Now()
	inject()
	longest := 0
	for _, w := range x.checks {
		longest = max(longest, w.n)
	}
	x.runUntil("failed threshold+1 times each", time.Duration(longest+2)*interval(&x.checks[0].check), func() bool {
		for _, w := range x.checks {
			if w.reason != "" && len(x.results(w).during) < w.n+1 {
				return false
			}
		}
		return true
	})
	for _, w := range x.checks {
		if w.reason == "" {
			continue
		}
		during := x.results(w).during
		if want := x.nextSlot(w, x.injectedAt); !during[0].At.Equal(want) {
			t.Errorf("%s: first failure at %v, want the first slot after the injection, %v", w.name, during[0].At, want)
		}
		if !w.sawBelow {
			t.Errorf("%s: the state after %d failures (one short of the threshold) was never observed", w.name, w.n-1)
		}
	}
	x.recoveredAt = x.clock.Now()
	recover()
	x.runUntil("answered again", 2*interval(&x.checks[0].check), func() bool {
		for _, w := range x.checks {
			if len(x.results(w).after) < 1 {
				return false
			}
		}
		return true
	})
	for _, w := range x.checks {
		if w.reason == "" {
			continue
		}
		if want := x.nextSlot(w, x.recoveredAt); !w.closedAt.Equal(want) {
			t.Errorf("%s: outage closed at %v, want the first slot after the recovery, %v", w.name, w.closedAt, want)
		}
	}
	x.r.stop(t)
	if st := x.r.p.Stats(); st.Skipped != 0 || st.Spooled != 0 {
		t.Errorf("stats %+v: want no slot skipped and nothing spooled", st)
	}
	t.Logf("%d probes, %d settled observations, %v of prober time", x.tr.total(), x.observations, x.clock.Now().Sub(x.t0))
}

// nextSlot is w's first slot after at.
func (x *injectRun) nextSlot(w *watched, at time.Time) time.Time {
	first, iv := firstSlot(&w.check, x.t0), interval(&w.check)
	if at.Before(first) {
		return first
	}
	return first.Add((at.Sub(first)/iv + 1) * iv)
}

// addWatchedCheck creates a device at addr in org with one check in (its
// default 5-minute ping disabled, so that only in runs).
func addWatchedCheck(t *testing.T, s *models.Store, org int64, name, addr string, in models.CheckInput) models.Check {
	t.Helper()
	ctx := context.Background()
	sys := models.SystemActor("test")
	d, err := s.CreateDevice(ctx, sys, models.DeviceInput{OrgID: org, Name: name, Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	def, err := s.ListChecks(ctx, models.AllOrgs(), org, d.ID)
	if err != nil || len(def) != 1 {
		t.Fatalf("default checks %+v, %v", def, err)
	}
	if err := s.SetCheckEnabled(ctx, sys, org, def[0].ID, false); err != nil {
		t.Fatal(err)
	}
	in.Enabled = true
	c, err := s.AddCheck(ctx, sys, org, d.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	return *c
}

// stoppableServer is an HTTP server on a fixed loopback port that the test
// stops and starts again on the same port.
type stoppableServer struct {
	t    *testing.T
	addr string
	mu   sync.Mutex
	srv  *http.Server
	done chan struct{}
}

func newStoppableServer(t *testing.T) *stoppableServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ss := &stoppableServer{t: t, addr: ln.Addr().String()}
	ss.serve(ln)
	t.Cleanup(ss.stop)
	return ss
}

func (ss *stoppableServer) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			ss.t.Errorf("test server: %v", err)
		}
	}()
	ss.mu.Lock()
	ss.srv, ss.done = srv, done
	ss.mu.Unlock()
}

// stop closes the listener and every connection: the port refuses.
func (ss *stoppableServer) stop() {
	ss.mu.Lock()
	srv, done := ss.srv, ss.done
	ss.srv = nil
	ss.mu.Unlock()
	if srv == nil {
		return
	}
	_ = srv.Close()
	<-done
}

// restart listens on the same port again.
func (ss *stoppableServer) restart() {
	ss.t.Helper()
	ln, err := net.Listen("tcp", ss.addr)
	if err != nil {
		ss.t.Fatalf("listen on %s again: %v", ss.addr, err)
	}
	ss.serve(ln)
}

// A local server stopped under real TCP and HTTP checks: each opens an
// outage after exactly its threshold of failures (3 for the TCP check, the
// default 2 for the HTTP one), dated from the first failed probe, with
// "refused" as the evidence; the server started again on the same port
// closes it at the first success, and the outbox says opened then closed.
func TestInjectStoppedServerOpensOutageAfterNFailures(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			began := time.Now()
			clock := newManualClock()
			s := dbtest.Open(t, db, models.WithClock(clock.Now))
			fx := dbtest.Seed(t, s)
			srv := newStoppableServer(t)

			// One check per organization, so that each outbox holds the
			// events of one outage.
			tcp := &watched{name: "tcp check (threshold 3)", n: 3, reason: models.ReasonRefused,
				check: addWatchedCheck(t, s, fx.OrgA.ID, "web-a", "127.0.0.1", models.CheckInput{Kind: models.KindTCP,
					Target: srv.addr, Interval: models.MinInterval, Timeout: time.Second, FailThreshold: 3})}
			web := &watched{name: "http check (default threshold)", n: models.DefaultFailThreshold, reason: models.ReasonRefused,
				check: addWatchedCheck(t, s, fx.OrgB.ID, "web-b", "127.0.0.1", models.CheckInput{Kind: models.KindHTTP,
					Target: "http://" + srv.addr + "/", Interval: models.MinInterval, Timeout: time.Second})}
			if tcp.check.FailThreshold != 3 || web.check.FailThreshold != models.DefaultFailThreshold ||
				tcp.check.Interval() != 10*time.Second || web.check.Interval() != 10*time.Second {
				t.Fatalf("checks stored as %+v and %+v", tcp.check, web.check)
			}

			x := startInjectRun(t, s, clock, NewProbeFunc(nil), tcp, web)
			x.scenario(srv.stop, srv.restart)
			t.Logf("%s: %v of real time", db.Name, time.Since(began).Round(time.Millisecond))
		})
	}
}
