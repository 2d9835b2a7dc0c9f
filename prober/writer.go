package prober

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/colo-portal/portal/models"
)

// Replays of the spool while the database stays away are tried after
// firstReplayBackoff, then after twice the last wait, at most
// maxReplayBackoff: a failed try costs one refused statement, and the spool
// starts draining at most that long after the database is back (a lease
// round that reaches it starts the replay even sooner).
const (
	firstReplayBackoff = time.Second
	maxReplayBackoff   = 5 * time.Second
)

// finalTimeout bounds the last write at shutdown, which must finish well
// inside the grace period a supervisor gives before SIGKILL.
const finalTimeout = 5 * time.Second

// replayChunk is the fewest results per RecordResults call when the spool
// is replayed: a spool drains in big batches back to back, at the
// database's write capacity, whatever the live batch size.
const replayChunk = 5000

// writer batches results into models.RecordResults. A batch goes out when
// it holds max results, when its oldest result is age old, and at once when
// a result changes its check's state (a failure after a success, the
// failure that reaches the check's threshold, a success after a failure):
// an outage is stored, and its notice queued, as soon as the probe that
// confirms it returns, whatever the batch size. The flush that a state
// change starts takes everything buffered, so a thousand checks failing in
// the same second make a few flushes, not a thousand.
//
// While the database refuses writes, batches go to the spool instead, and
// every new batch follows them there until the whole spool has been
// replayed, so results reach the database in the order they were taken.
// That order matters: RecordResults stores a result older than its check's
// last one but does not let it move the check's outage state.
type writer struct {
	store   *models.Store
	log     *slog.Logger
	clock   Clock
	age     time.Duration
	max     int
	timeout time.Duration
	spool   spool
	stats   *counters
	// m are the writer's series; nil in tests that build a writer alone.
	m *writerMetrics
	// record is store.RecordResults (a fake in tests).
	record func(context.Context, []models.ProbeResult) (int, error)

	mu     sync.Mutex
	buf    []models.ProbeResult
	oldest time.Time // when the first result of buf was added
	urgent bool      // buf holds a result that changes its check's state
	certs  map[int64]time.Time
	states map[int64]*checkState
	kick   chan struct{}
	// dbBack is set by the lease loop when the database answers again, so
	// a spool is replayed then rather than at the end of its backoff.
	dbBack atomic.Bool

	// Owned by run.
	spooling   bool
	spoolSince time.Time
	backoff    time.Duration
	nextReplay time.Time
	tornSeen   int64 // torn spool records already counted
}

// checkState is what the writer knows of a check from the results it has
// queued: whether the last one succeeded and how many failed in a row.
// sure is false while the count of failures is a guess: taken from the
// check's row as the lease round read it, which misses results another
// instance (or this one before a restart) had not written yet.
type checkState struct {
	ok    bool
	fails int
	sure  bool
}

func newWriter(cfg *Config, store *models.Store, sp spool, stats *counters, log *slog.Logger) *writer {
	w := &writer{store: store, log: log, clock: cfg.Clock, age: cfg.BatchAge, max: cfg.BatchMax,
		timeout: cfg.WriteTimeout, spool: sp, stats: stats, certs: map[int64]time.Time{},
		states: map[int64]*checkState{}, kick: make(chan struct{}, 1)}
	if store != nil {
		w.record = store.RecordResults
	}
	return w
}

// add queues one result of check c (and the certificate expiry its probe
// saw, when that differs from the stored one). It never blocks on the
// database.
func (w *writer) add(r models.ProbeResult, cert *time.Time, c *models.Check) {
	w.mu.Lock()
	if len(w.buf) == 0 {
		w.oldest = w.clock.Now()
	}
	w.buf = append(w.buf, r)
	if cert != nil {
		w.certs[r.CheckID] = *cert
	}
	change := w.changes(r, c)
	w.urgent = w.urgent || change
	wake := change || len(w.buf) >= w.max
	w.mu.Unlock()
	if wake {
		w.wake()
	}
}

func (w *writer) wake() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// changes advances the state of r's check and reports whether r changes
// it: a success after a failure, a failure after a success, or the failure
// that reaches the threshold. For a check the writer knows nothing of yet
// (just claimed, taken over, or the process restarted) the check's row
// decides: a first success changes it only if the row says it is down (it
// closes the outage); a first failure goes out at once, and its failures
// too as long as the count is a guess below the threshold. A first success
// of a check that is up or new waits for the batch: after a start every
// check has one, and each would otherwise be a flush of its own for a
// whole interval (docs/benchmarks.md, "Targets, measured on the merged
// main"). w.mu is held.
func (w *writer) changes(r models.ProbeResult, c *models.Check) bool {
	st := w.states[r.CheckID]
	if st == nil {
		st = &checkState{ok: r.OK, sure: r.OK}
		w.states[r.CheckID] = st
		if r.OK {
			return c == nil || c.Status == models.StatusDown || c.OpenOutageID != nil
		}
		st.fails = 1
		if c != nil && c.LastAt != nil && !c.LastOK {
			st.fails += c.ConsecFails
		}
		return true
	}
	if r.OK {
		change := !st.ok
		st.ok, st.fails, st.sure = true, 0, true
		return change
	}
	threshold := 1
	if c != nil {
		threshold = max(c.FailThreshold, 1)
	}
	st.fails++
	change := st.ok || st.fails == threshold || !st.sure && st.fails <= threshold
	st.ok = false
	return change
}

// forget drops what the writer knows of check id: its lease ended, or the
// lease held now does not follow the one before (another instance probed
// it in between).
func (w *writer) forget(id int64) {
	w.mu.Lock()
	delete(w.states, id)
	w.mu.Unlock()
}

// databaseBack tells the writer the database answers again (a lease round
// succeeded after failing): a spool is replayed now.
func (w *writer) databaseBack() {
	w.dbBack.Store(true)
	w.wake()
}

func (w *writer) take() ([]models.ProbeResult, map[int64]time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.buf
	w.buf = make([]models.ProbeResult, 0, min(len(b), w.max))
	w.urgent = false
	var c map[int64]time.Time
	if len(w.certs) > 0 {
		c, w.certs = w.certs, map[int64]time.Time{}
	}
	return b, c
}

// due says whether the batch goes out now, and if not, how long until it
// does (or until the next replay of the spool is due).
func (w *writer) due(now time.Time) (bool, time.Duration) {
	w.mu.Lock()
	n, urgent, oldest := len(w.buf), w.urgent, w.oldest
	w.mu.Unlock()
	if n > 0 && (urgent || n >= w.max || !now.Before(oldest.Add(w.age))) {
		return true, 0
	}
	wait := w.age // an empty batch: the first result waits at most age
	if n > 0 {
		wait = oldest.Add(w.age).Sub(now)
	}
	if w.spooling {
		if w.dbBack.Load() || !now.Before(w.nextReplay) {
			return true, 0
		}
		wait = min(wait, w.nextReplay.Sub(now))
	}
	return false, wait
}

// step flushes the batch if it is due and returns how long to wait for
// the next one.
func (w *writer) step() time.Duration {
	if ok, wait := w.due(w.clock.Now()); !ok {
		return wait
	}
	w.flush()
	_, wait := w.due(w.clock.Now())
	return wait
}

// run flushes until stop is closed, then writes what is left: first to the
// spool, so it survives a kill during the last attempt, then to the
// database if it answers.
func (w *writer) run(stop <-chan struct{}) {
	if w.spool.Len() > 0 {
		w.log.Info("prober: replaying spooled results", "spool", w.spool.Name(), "size", w.spool.Len())
		w.startSpooling(nil)
		w.replay(w.timeout)
	}
	t := w.clock.NewTimer(w.age)
	defer t.Stop()
	for {
		t.Reset(w.step())
		select {
		case <-stop:
			w.final()
			return
		case <-w.kick:
		case <-t.C():
		}
	}
}

func (w *writer) flush() {
	batch, certs := w.take()
	if !w.spooling {
		rest, err := w.write(batch, w.max, w.timeout)
		if err == nil {
			w.writeCerts(certs)
			return
		}
		w.startSpooling(err)
		w.toSpool(rest)
		return
	}
	w.toSpool(batch)
	if w.dbBack.Swap(false) || !w.clock.Now().Before(w.nextReplay) {
		w.replay(w.timeout)
	}
}

func (w *writer) final() {
	batch, _ := w.take()
	w.toSpool(batch)
	if w.spool.Len() > 0 {
		if !w.spooling {
			w.startSpooling(nil)
		}
		w.replay(finalTimeout)
	}
	switch {
	case !w.spooling:
	case w.spool.Name() == "memory":
		w.log.Error("prober: stopped while the database was away; results in memory are lost", "results", w.spool.Len())
	default:
		w.log.Warn("prober: stopped with results in the spool; they are replayed at the next start",
			"spool", w.spool.Name(), "size", w.spool.Len())
	}
}

// write stores batch in chunks of at most chunk results; on failure it
// returns the results not written.
func (w *writer) write(batch []models.ProbeResult, chunk int, timeout time.Duration) ([]models.ProbeResult, error) {
	for len(batch) > 0 {
		n := min(len(batch), chunk)
		if err := w.writeOne(batch[:n], timeout); err != nil {
			return batch, err
		}
		batch = batch[n:]
	}
	return nil, nil
}

func (w *writer) writeOne(rs []models.ProbeResult, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	began := time.Now()
	n, err := w.record(ctx, rs)
	w.m.wrote(len(rs), time.Since(began), err)
	if err != nil {
		return err
	}
	w.stats.written.Add(int64(n))
	w.stats.batches.Add(1)
	return nil
}

func (w *writer) writeCerts(certs map[int64]time.Time) {
	if len(certs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.timeout)
	defer cancel()
	// A failure is not retried here: the check's stored value still
	// differs, so its next probe reports the expiry again.
	if err := w.store.SetCertExpiries(ctx, certs); err != nil {
		w.log.Warn("prober: record certificate expiry", "err", err)
	}
}

func (w *writer) startSpooling(err error) {
	w.spooling = true
	w.spoolSince = w.clock.Now()
	w.backoff = firstReplayBackoff
	w.dbBack.Store(false)
	w.nextReplay = w.spoolSince.Add(w.backoff)
	if err != nil {
		w.log.Warn("prober: database unreachable, spooling probe results", "spool", w.spool.Name(), "err", err)
	}
}

func (w *writer) toSpool(rs []models.ProbeResult) {
	if len(rs) == 0 {
		return
	}
	err := w.spool.Append(rs)
	w.m.spooled(w.spool.Len(), w.spooling)
	if err == nil {
		w.stats.spooled.Add(int64(len(rs)))
		return
	}
	lost := spoolLost(err, len(rs))
	w.stats.spooled.Add(int64(len(rs) - lost))
	w.stats.lost.Add(int64(lost))
	if lost == 0 {
		w.log.Warn("prober: spool not synced to disk; results kept unless the host crashes", "results", len(rs),
			"spool", w.spool.Name(), "err", err)
		return
	}
	// Nowhere left to keep them: say so loudly, with the exact count.
	w.log.Error("prober: spool append failed, results lost", "results", lost, "kept", len(rs)-lost,
		"spool", w.spool.Name(), "err", err)
}

// noteTorn counts and reports the torn records the last replay skipped.
func (w *writer) noteTorn() {
	if n := w.spool.Torn() - w.tornSeen; n > 0 {
		w.tornSeen += n
		w.stats.lost.Add(n)
		w.log.Error("prober: torn spool records skipped, results lost", "results", n, "spool", w.spool.Name())
	}
}

func (w *writer) replay(timeout time.Duration) {
	n, err := w.spool.Replay(max(w.max, replayChunk), func(rs []models.ProbeResult) error { return w.writeOne(rs, timeout) })
	w.stats.replayed.Add(int64(n))
	w.noteTorn()
	w.m.spooled(w.spool.Len(), err != nil)
	if err != nil {
		w.backoff = min(2*w.backoff, maxReplayBackoff)
		w.nextReplay = w.clock.Now().Add(w.backoff)
		w.log.Debug("prober: spool replay failed", "replayed", n, "left", w.spool.Len(), "retry_in", w.backoff, "err", err)
		return
	}
	w.spooling = false
	w.log.Info("prober: spooled results replayed, writing to the database again", "results", n,
		"spooled_for", w.clock.Now().Sub(w.spoolSince).Round(time.Second))
}

// counters are the prober's running totals, read by Stats.
type counters struct {
	checks, probes, failures, skipped, written, batches, spooled, replayed, lost atomic.Int64
	// The SNMP poller's.
	switches, polls, pollErrors, samples, samplesSpooled, samplesReplayed, samplesLost atomic.Int64
}
