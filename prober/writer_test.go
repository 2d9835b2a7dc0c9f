package prober

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
)

// fakeRecord stands for Store.RecordResults: it keeps the batches, fails
// while down is set, and, when gate is set, blocks each call until the
// test sends on it (after telling entered).
type fakeRecord struct {
	mu      sync.Mutex
	batches [][]models.ProbeResult
	down    bool
	entered chan struct{}
	gate    chan struct{}
}

func (f *fakeRecord) record(_ context.Context, rs []models.ProbeResult) (int, error) {
	if f.gate != nil {
		f.entered <- struct{}{}
		<-f.gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return 0, errors.New("database away")
	}
	f.batches = append(f.batches, append([]models.ProbeResult(nil), rs...))
	return len(rs), nil
}

// sizes is the size of each batch written so far.
func (f *fakeRecord) sizes() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []int
	for _, b := range f.batches {
		out = append(out, len(b))
	}
	return out
}

func (f *fakeRecord) written() int {
	n := 0
	for _, s := range f.sizes() {
		n += s
	}
	return n
}

func (f *fakeRecord) setDown(down bool) {
	f.mu.Lock()
	f.down = down
	f.mu.Unlock()
}

type writerFixture struct {
	w      *writer
	clock  *manualClock
	rec    *fakeRecord
	checks map[int64]*models.Check
}

// newTestWriter is a writer with a fake database, a memory spool and n
// checks (IDs 1…n, threshold 3, up) whose state it already knows: each had
// a successful result, written once the batch was age old.
func newTestWriter(t *testing.T, max int, age time.Duration, n int) *writerFixture {
	t.Helper()
	clock := newManualClock()
	cfg := Config{Clock: clock, BatchMax: max, BatchAge: age, WriteTimeout: time.Second}
	cfg.defaults()
	f := &writerFixture{clock: clock, rec: &fakeRecord{}, checks: map[int64]*models.Check{}}
	f.w = newWriter(&cfg, nil, &memSpool{max: 1_000_000}, &counters{}, slog.New(slog.DiscardHandler))
	f.w.record = f.rec.record
	for id := int64(1); id <= int64(n); id++ {
		f.checks[id] = &models.Check{ID: id, FailThreshold: 3, Status: models.StatusUp}
		f.add(id, true)
	}
	if n > 0 {
		f.clock.Advance(age)
		f.w.step()
		if got := f.rec.written(); got != n {
			t.Fatalf("first results: %d written, want %d", got, n)
		}
		f.rec.batches = nil
		select {
		case <-f.w.kick: // a full batch's wake-up
		default:
		}
	}
	return f
}

// add queues a result of check id, a millisecond after the clock.
func (f *writerFixture) add(id int64, ok bool) {
	r := models.ProbeResult{CheckID: id, At: f.clock.Now(), OK: ok}
	if !ok {
		r.Reason = models.ReasonTimeout
	}
	f.w.add(r, nil, f.checks[id])
}

// A batch below its size and younger than its age stays in memory; it goes
// out when its oldest result reaches the age, or when it reaches the size.
func TestWriterFlushesBySizeOrAge(t *testing.T) {
	t.Run("age", func(t *testing.T) {
		f := newTestWriter(t, 100, 5*time.Second, 10)
		for id := int64(1); id <= 10; id++ {
			f.add(id, true)
		}
		if wait := f.w.step(); wait != 5*time.Second || f.rec.written() != 0 {
			t.Fatalf("a fresh batch of 10 (max 100): %d written, next look in %v; want none and 5s", f.rec.written(), wait)
		}
		f.clock.Advance(3 * time.Second)
		f.add(1, true)
		if wait := f.w.step(); wait != 2*time.Second || f.rec.written() != 0 {
			t.Fatalf("3 s later: %d written, next look in %v; want none and 2s (the oldest result's age counts)", f.rec.written(), wait)
		}
		f.clock.Advance(2 * time.Second)
		f.w.step()
		if got := f.rec.sizes(); len(got) != 1 || got[0] != 11 {
			t.Fatalf("at 5 s: batches %v, want one of 11", got)
		}
		// The next batch's age starts with its own first result.
		f.clock.Advance(4 * time.Second)
		f.add(2, true)
		if wait := f.w.step(); wait != 5*time.Second || len(f.rec.sizes()) != 1 {
			t.Fatalf("a new batch: batches %v, next look in %v", f.rec.sizes(), wait)
		}
	})
	t.Run("size", func(t *testing.T) {
		f := newTestWriter(t, 50, 5*time.Second, 50)
		for id := int64(1); id < 50; id++ {
			f.add(id, true)
		}
		select {
		case <-f.w.kick:
			t.Fatal("49 results of 50 woke the writer")
		default:
		}
		f.w.step()
		if f.rec.written() != 0 {
			t.Fatalf("49 results of 50: %v written", f.rec.sizes())
		}
		f.add(50, true)
		select {
		case <-f.w.kick:
		default:
			t.Fatal("the 50th result did not wake the writer")
		}
		f.w.step()
		if got := f.rec.sizes(); len(got) != 1 || got[0] != 50 {
			t.Fatalf("batches %v, want one of 50", got)
		}
	})
}

// A result that changes its check's state is written at once, with
// everything buffered, however large the batch size and age.
func TestWriterWritesStateChangesAtOnce(t *testing.T) {
	f := newTestWriter(t, 1_000_000, time.Hour, 3)
	step := func(what string, id int64, ok, atOnce bool) {
		t.Helper()
		f.rec.batches = nil
		f.add(3, true) // an unchanged result, buffered before it
		f.add(id, ok)
		f.w.step()
		switch got := f.rec.sizes(); {
		case atOnce && (len(got) != 1 || got[0] != 2):
			t.Fatalf("%s: batches %v, want one of 2 at once", what, got)
		case !atOnce && len(got) != 0:
			t.Fatalf("%s: batches %v, want none", what, got)
		}
		if !atOnce {
			f.clock.Advance(time.Hour)
			f.w.step()
		}
	}
	step("a success after a success", 1, true, false)
	step("the first failure", 1, false, true)
	step("the second failure (threshold 3)", 1, false, false)
	step("the third failure reaches the threshold", 1, false, true)
	step("a fourth failure", 1, false, false)
	step("a success after failures", 1, true, true)
	step("another success", 1, true, false)

	// A success the writer knows nothing of (a check just taken over, a
	// new one, every check after a restart) waits for the batch unless the
	// check's row says it is down: thousands of first results must not
	// each be a flush (the first interval after every start).
	f.w.forget(2)
	step("the first success after the lease was handed over, the check up", 2, true, false)
	f.checks[9] = &models.Check{ID: 9, FailThreshold: 3, Status: models.StatusUnknown}
	step("a new check's first success", 9, true, false)
	outage := int64(7)
	f.checks[11] = &models.Check{ID: 11, FailThreshold: 3, Status: models.StatusDown, OpenOutageID: &outage}
	step("the first success of a check taken over while down closes its outage", 11, true, true)
	step("its next success", 11, true, false)
	f.checks[12] = &models.Check{ID: 12, FailThreshold: 3, Status: models.StatusUp}
	step("a check's first result a failure", 12, false, true)

	// A check claimed while failing: the failures already counted come
	// from its row, a guess (results another instance had not written yet
	// are missing), so every failure up to the threshold goes out at once.
	f.checks[10] = &models.Check{ID: 10, FailThreshold: 3, LastAt: &f.clock.now, ConsecFails: 1}
	step("a failing check's first result", 10, false, true)
	step("its failure that may reach the threshold", 10, false, true)
	step("its failure past the threshold", 10, false, false)
}

// A thousand checks failing in the same second make two flushes: the one
// the first failure started, and one that takes the 999 that came while it
// was being written.
func TestWriterMassFailureIsNotAThousandFlushes(t *testing.T) {
	f := newTestWriter(t, 1_000_000, time.Hour, 1000)
	f.rec.entered, f.rec.gate = make(chan struct{}), make(chan struct{})
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		f.w.run(stop)
	}()
	f.add(1, false)
	<-f.rec.entered // the first flush is being written
	for id := int64(2); id <= 1000; id++ {
		f.add(id, false)
	}
	f.rec.gate <- struct{}{}
	<-f.rec.entered
	f.rec.gate <- struct{}{}
	eventually(t, "1,000 failures are written", func() bool { return f.rec.written() == 1000 })
	close(stop)
	<-done
	if got := f.rec.sizes(); len(got) != 2 || got[0] != 1 || got[1] != 999 {
		t.Errorf("batches %v, want 1 then 999", got)
	}
}

// After a database outage the spool is replayed as soon as the lease loop
// sees the database again (not at the end of its backoff), in chunks of at
// least replayChunk whatever the live batch size, and before new results.
func TestWriterReplaysTheSpoolInBigChunksWhenTheDatabaseIsBack(t *testing.T) {
	f := newTestWriter(t, 100, time.Second, 10)
	f.rec.setDown(true)
	for range 1200 { // 12,000 results, batches of 100
		for id := int64(1); id <= 10; id++ {
			f.add(id, true)
		}
		f.clock.Advance(100 * time.Millisecond)
		f.w.step()
	}
	if !f.w.spooling || f.w.spool.Len() != 12_000 || f.w.backoff != maxReplayBackoff {
		t.Fatalf("spooling %v, %d results spooled, backoff %v", f.w.spooling, f.w.spool.Len(), f.w.backoff)
	}
	f.rec.setDown(false)
	f.add(1, true)
	if ok, _ := f.w.due(f.clock.Now()); ok {
		t.Fatal("a replay is due before the backoff ended or the database was seen")
	}
	f.w.databaseBack()
	f.w.step()
	if f.w.spooling || f.w.spool.Len() != 0 {
		t.Fatalf("after the database came back: spooling %v, %d results left", f.w.spooling, f.w.spool.Len())
	}
	if got := f.rec.sizes(); len(got) != 3 || got[0] != replayChunk || got[1] != replayChunk || got[2] != 2001 {
		t.Errorf("replayed in batches %v, want %d, %d, 2001", got, replayChunk, replayChunk)
	}
	f.rec.mu.Lock()
	last := f.rec.batches[2]
	f.rec.mu.Unlock()
	if r := last[len(last)-1]; r.CheckID != 1 || !r.At.Equal(f.clock.Now()) {
		t.Errorf("the last result replayed is %+v, want the newest (check 1 at %v)", r, f.clock.Now())
	}
}
