package prober

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/colo-portal/portal/models"
)

// sampleWriter batches traffic samples into Store.RecordTraffic, as the
// result writer batches results: a batch goes out when it holds BatchMax
// samples or its oldest is BatchAge old. While the database refuses
// writes, batches go to a spool of their own (framed like the results'
// spool, in "<spool>.traffic") and every new batch follows them there
// until the whole spool has been replayed. Samples have no state to move,
// so nothing is urgent; a sample stored twice is stored once.
type sampleWriter struct {
	log     *slog.Logger
	clock   Clock
	age     time.Duration
	max     int
	timeout time.Duration
	spool   spoolOf[models.TrafficSample]
	stats   *counters
	// m are the writer's series; nil in tests that build a writer alone.
	m *writerMetrics
	// record is store.RecordTraffic (a fake in tests).
	record func(context.Context, []models.TrafficSample) (int, error)

	mu     sync.Mutex
	buf    []models.TrafficSample
	oldest time.Time
	kick   chan struct{}
	dbBack atomic.Bool

	// Owned by run.
	spooling   bool
	spoolSince time.Time
	backoff    time.Duration
	nextReplay time.Time
	tornSeen   int64
}

func newSampleWriter(cfg *Config, store *models.Store, sp spoolOf[models.TrafficSample], stats *counters, log *slog.Logger) *sampleWriter {
	w := &sampleWriter{log: log, clock: cfg.Clock, age: cfg.BatchAge, max: cfg.BatchMax, timeout: cfg.WriteTimeout,
		spool: sp, stats: stats, kick: make(chan struct{}, 1)}
	if store != nil {
		w.record = store.RecordTraffic
	}
	return w
}

// add queues the samples of one poll. It never blocks on the database.
func (w *sampleWriter) add(ss []models.TrafficSample) {
	if len(ss) == 0 {
		return
	}
	w.mu.Lock()
	if len(w.buf) == 0 {
		w.oldest = w.clock.Now()
	}
	w.buf = append(w.buf, ss...)
	full := len(w.buf) >= w.max
	w.mu.Unlock()
	if full {
		w.wake()
	}
}

func (w *sampleWriter) wake() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// databaseBack: a lease round reached the database again; replay now.
func (w *sampleWriter) databaseBack() {
	w.dbBack.Store(true)
	w.wake()
}

func (w *sampleWriter) take() []models.TrafficSample {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.buf
	w.buf = nil
	return b
}

// due says whether the batch goes out now, and if not, how long until it
// does (or until the next replay of the spool is due).
func (w *sampleWriter) due(now time.Time) (bool, time.Duration) {
	w.mu.Lock()
	n, oldest := len(w.buf), w.oldest
	w.mu.Unlock()
	if n > 0 && (n >= w.max || !now.Before(oldest.Add(w.age))) {
		return true, 0
	}
	wait := w.age
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

// run writes until stop is closed, then writes what is left: to the spool
// first, then to the database if it answers.
func (w *sampleWriter) run(stop <-chan struct{}) {
	if w.spool.Len() > 0 {
		w.log.Info("prober: replaying spooled traffic samples", "spool", w.spool.Name(), "size", w.spool.Len())
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

// step flushes the batch if it is due and returns how long to wait for
// the next one.
func (w *sampleWriter) step() time.Duration {
	if ok, wait := w.due(w.clock.Now()); !ok {
		return wait
	}
	w.flush()
	_, wait := w.due(w.clock.Now())
	return wait
}

func (w *sampleWriter) flush() {
	batch := w.take()
	if !w.spooling {
		for len(batch) > 0 {
			n := min(len(batch), w.max)
			if err := w.writeOne(batch[:n], w.timeout); err != nil {
				w.startSpooling(err)
				break
			}
			batch = batch[n:]
		}
		w.toSpool(batch)
		return
	}
	w.toSpool(batch)
	if w.dbBack.Swap(false) || !w.clock.Now().Before(w.nextReplay) {
		w.replay(w.timeout)
	}
}

func (w *sampleWriter) final() {
	w.toSpool(w.take())
	if w.spool.Len() > 0 {
		if !w.spooling {
			w.startSpooling(nil)
		}
		w.replay(finalTimeout)
	}
	switch {
	case !w.spooling:
	case w.spool.Name() == "memory":
		w.log.Error("prober: stopped while the database was away; traffic samples in memory are lost", "samples", w.spool.Len())
	default:
		w.log.Warn("prober: stopped with traffic samples in the spool; they are replayed at the next start",
			"spool", w.spool.Name(), "size", w.spool.Len())
	}
}

func (w *sampleWriter) writeOne(ss []models.TrafficSample, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	began := time.Now()
	n, err := w.record(ctx, ss)
	w.m.wrote(len(ss), time.Since(began), err)
	if err != nil {
		return err
	}
	w.stats.samples.Add(int64(n))
	return nil
}

func (w *sampleWriter) startSpooling(err error) {
	w.spooling = true
	w.spoolSince = w.clock.Now()
	w.backoff = firstReplayBackoff
	w.dbBack.Store(false)
	w.nextReplay = w.spoolSince.Add(w.backoff)
	if err != nil {
		w.log.Warn("prober: database unreachable, spooling traffic samples", "spool", w.spool.Name(), "err", err)
	}
}

func (w *sampleWriter) toSpool(ss []models.TrafficSample) {
	if len(ss) == 0 {
		return
	}
	err := w.spool.Append(ss)
	w.m.spooled(w.spool.Len(), w.spooling)
	lost := spoolLost(err, len(ss))
	w.stats.samplesSpooled.Add(int64(len(ss) - lost))
	w.stats.samplesLost.Add(int64(lost))
	switch {
	case err == nil:
	case lost == 0:
		w.log.Warn("prober: traffic spool not synced to disk; samples kept unless the host crashes", "samples", len(ss),
			"spool", w.spool.Name(), "err", err)
	default:
		w.log.Error("prober: traffic spool append failed, samples lost", "samples", lost, "kept", len(ss)-lost,
			"spool", w.spool.Name(), "err", err)
	}
}

func (w *sampleWriter) replay(timeout time.Duration) {
	n, err := w.spool.Replay(max(w.max, replayChunk), func(ss []models.TrafficSample) error { return w.writeOne(ss, timeout) })
	w.stats.samplesReplayed.Add(int64(n))
	w.m.spooled(w.spool.Len(), err != nil)
	if d := w.spool.Torn() - w.tornSeen; d > 0 {
		w.tornSeen += d
		w.stats.samplesLost.Add(d)
		w.log.Error("prober: torn traffic spool records skipped, samples lost", "samples", d, "spool", w.spool.Name())
	}
	if err != nil {
		w.backoff = min(2*w.backoff, maxReplayBackoff)
		w.nextReplay = w.clock.Now().Add(w.backoff)
		w.log.Debug("prober: traffic spool replay failed", "replayed", n, "left", w.spool.Len(), "retry_in", w.backoff, "err", err)
		return
	}
	w.spooling = false
	w.log.Info("prober: spooled traffic samples replayed, writing to the database again", "samples", n,
		"spooled_for", w.clock.Now().Sub(w.spoolSince).Round(time.Second))
}

// sampleLine is one traffic sample in the spool: short keys, the time in
// Unix milliseconds (the poller takes readings to the millisecond).
type sampleLine struct {
	Port        int64  `json:"p"`
	At          int64  `json:"t"`
	Uptime      int64  `json:"u,omitempty"`
	InC         int64  `json:"ic,omitempty"`
	OutC        int64  `json:"oc,omitempty"`
	InErrC      int64  `json:"iec,omitempty"`
	OutErrC     int64  `json:"oec,omitempty"`
	InDiscC     int64  `json:"idc,omitempty"`
	OutDiscC    int64  `json:"odc,omitempty"`
	OperUp      bool   `json:"up,omitempty"`
	Valid       bool   `json:"v,omitempty"`
	Note        string `json:"n,omitempty"`
	Ms          int64  `json:"ms,omitempty"`
	InOctets    int64  `json:"io,omitempty"`
	OutOctets   int64  `json:"oo,omitempty"`
	InErrors    int64  `json:"ie,omitempty"`
	OutErrors   int64  `json:"oe,omitempty"`
	InDiscards  int64  `json:"id,omitempty"`
	OutDiscards int64  `json:"od,omitempty"`
}

// sampleCodec writes traffic samples as sampleLines.
var sampleCodec = recordCodec[models.TrafficSample]{
	encode: func(s models.TrafficSample) ([]byte, error) {
		return json.Marshal(sampleLine{Port: s.PortID, At: s.At.UnixMilli(), Uptime: s.Uptime, InC: s.InC, OutC: s.OutC,
			InErrC: s.InErrC, OutErrC: s.OutErrC, InDiscC: s.InDiscC, OutDiscC: s.OutDiscC, OperUp: s.OperUp, Valid: s.Valid,
			Note: s.Note, Ms: s.Ms, InOctets: s.InOctets, OutOctets: s.OutOctets, InErrors: s.InErrors, OutErrors: s.OutErrors,
			InDiscards: s.InDiscards, OutDiscards: s.OutDiscards})
	},
	decode: func(b []byte) (models.TrafficSample, bool) {
		var l sampleLine
		if err := json.Unmarshal(b, &l); err != nil || l.Port == 0 {
			return models.TrafficSample{}, false
		}
		return models.TrafficSample{PortID: l.Port, At: time.UnixMilli(l.At).UTC(), Uptime: l.Uptime, InC: l.InC, OutC: l.OutC,
			InErrC: l.InErrC, OutErrC: l.OutErrC, InDiscC: l.InDiscC, OutDiscC: l.OutDiscC, OperUp: l.OperUp, Valid: l.Valid,
			Note: l.Note, Ms: l.Ms, InOctets: l.InOctets, OutOctets: l.OutOctets, InErrors: l.InErrors, OutErrors: l.OutErrors,
			InDiscards: l.InDiscards, OutDiscards: l.OutDiscards}, true
	},
}
