package prober

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/colo-portal/portal/models"
)

// maxReplayBackoff bounds the wait between two attempts to replay the spool
// while the database stays away.
const maxReplayBackoff = 30 * time.Second

// finalTimeout bounds the last write at shutdown, which must finish well
// inside the grace period a supervisor gives before SIGKILL.
const finalTimeout = 5 * time.Second

// writer batches results into models.RecordResults: a batch goes out when
// it reaches max results and at least every `every`. While the database
// refuses writes, batches go to the spool instead, and every new batch
// follows them there until the whole spool has been replayed, so results
// reach the database in the order they were taken. That order matters:
// RecordResults stores a result older than its check's last one but does
// not let it move the check's outage state.
type writer struct {
	store   *models.Store
	log     *slog.Logger
	clock   Clock
	every   time.Duration
	max     int
	timeout time.Duration
	spool   spool
	stats   *counters

	mu    sync.Mutex
	buf   []models.ProbeResult
	certs map[int64]time.Time
	kick  chan struct{}

	// Owned by run.
	spooling   bool
	spoolSince time.Time
	backoff    time.Duration
	nextReplay time.Time
	tornSeen   int64 // torn spool records already counted
}

func newWriter(cfg *Config, store *models.Store, sp spool, stats *counters, log *slog.Logger) *writer {
	return &writer{store: store, log: log, clock: cfg.Clock, every: cfg.FlushEvery, max: cfg.BatchMax,
		timeout: cfg.WriteTimeout, spool: sp, stats: stats, certs: map[int64]time.Time{}, kick: make(chan struct{}, 1)}
}

// add queues one result (and the certificate expiry its probe saw, when
// that differs from the stored one). It never blocks on the database.
func (w *writer) add(r models.ProbeResult, cert *time.Time) {
	w.mu.Lock()
	w.buf = append(w.buf, r)
	if cert != nil {
		w.certs[r.CheckID] = *cert
	}
	full := len(w.buf) >= w.max
	w.mu.Unlock()
	if full {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

func (w *writer) take() ([]models.ProbeResult, map[int64]time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.buf
	w.buf = make([]models.ProbeResult, 0, min(len(b), w.max))
	var c map[int64]time.Time
	if len(w.certs) > 0 {
		c, w.certs = w.certs, map[int64]time.Time{}
	}
	return b, c
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
	t := w.clock.NewTimer(w.every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			w.final()
			return
		case <-w.kick:
		case <-t.C():
			t.Reset(w.every)
		}
		w.flush()
	}
}

func (w *writer) flush() {
	batch, certs := w.take()
	if !w.spooling {
		rest, err := w.record(batch, w.timeout)
		if err == nil {
			w.writeCerts(certs)
			return
		}
		w.startSpooling(err)
		w.toSpool(rest)
		return
	}
	w.toSpool(batch)
	if !w.clock.Now().Before(w.nextReplay) {
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

// record writes batch in chunks; on failure it returns the results not
// written.
func (w *writer) record(batch []models.ProbeResult, timeout time.Duration) ([]models.ProbeResult, error) {
	for len(batch) > 0 {
		n := min(len(batch), w.max)
		if err := w.write(batch[:n], timeout); err != nil {
			return batch, err
		}
		batch = batch[n:]
	}
	return nil, nil
}

func (w *writer) write(rs []models.ProbeResult, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	n, err := w.store.RecordResults(ctx, rs)
	if err != nil {
		return err
	}
	w.stats.written.Add(int64(n))
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
	w.backoff = w.every
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
	n, err := w.spool.Replay(w.max, func(rs []models.ProbeResult) error { return w.write(rs, timeout) })
	w.stats.replayed.Add(int64(n))
	w.noteTorn()
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
	checks, probes, failures, skipped, written, spooled, replayed, lost atomic.Int64
}
