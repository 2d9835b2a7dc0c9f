package prober

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// fakeTraffic stands for Store.RecordTraffic: it keeps what it was given
// and fails while down is set.
type fakeTraffic struct {
	mu   sync.Mutex
	got  []models.TrafficSample
	down bool
}

func (f *fakeTraffic) record(_ context.Context, ss []models.TrafficSample) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return 0, errors.New("database away")
	}
	f.got = append(f.got, ss...)
	return len(ss), nil
}

func trafficSamples(from, n int) []models.TrafficSample {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	out := make([]models.TrafficSample, n)
	for i := range out {
		k := from + i
		out[i] = models.TrafficSample{PortID: int64(1 + k%2), At: t0.Add(time.Duration(k) * 5 * time.Minute).Add(123 * time.Millisecond),
			Uptime: int64(k * 30000), InC: -1 - int64(k), OutC: int64(k) << 40, InErrC: 3, OutErrC: 4, InDiscC: 5, OutDiscC: 6,
			OperUp: k%3 != 0, Valid: k > 1, Ms: 300_000, InOctets: int64(k) * 1000, OutOctets: 7, InErrors: 1, OutErrors: 2,
			InDiscards: 3, OutDiscards: 4}
		if !out[i].Valid {
			out[i].Note = models.SampleFirst
		}
	}
	return out
}

// While the database refuses samples they go to their spool file, new
// ones after them; when it answers again they are written in the order
// they were taken, every field kept; a writer stopped while it is away
// leaves them in the file for the next one, which replays them at start.
func TestSampleWriterSpoolsWhileTheDatabaseIsAway(t *testing.T) {
	clock := newManualClock()
	cfg := Config{Clock: clock, BatchMax: 4, BatchAge: time.Second, WriteTimeout: time.Second}
	cfg.defaults()
	path := filepath.Join(t.TempDir(), "prober.spool.traffic")
	open := func(db *fakeTraffic) (*sampleWriter, *counters) {
		sp, err := openRecordFile(path, sampleCodec)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sp.Close() })
		st := &counters{}
		w := newSampleWriter(&cfg, nil, sp, st, slog.New(slog.DiscardHandler))
		w.record = db.record
		return w, st
	}
	db := &fakeTraffic{}
	w, st := open(db)
	want := trafficSamples(0, 12)

	w.add(want[:3])
	clock.Advance(time.Second)
	w.step()
	if len(db.got) != 3 {
		t.Fatalf("%d written, want the first 3", len(db.got))
	}
	db.down = true
	w.add(want[3:6])
	clock.Advance(time.Second)
	w.step()
	w.add(want[6:8])
	clock.Advance(time.Second / 2)
	w.step() // not a second old yet: stays in memory
	clock.Advance(time.Second / 2)
	w.step() // to the spool, after the others; the replay fails
	if st.samplesSpooled.Load() != 5 || w.spool.Len() == 0 || len(db.got) != 3 {
		t.Fatalf("while away: %d spooled, %d bytes in the spool, %d written; want 5, some, 3",
			st.samplesSpooled.Load(), w.spool.Len(), len(db.got))
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("spool file: %v, %v", fi, err)
	}
	db.down = false
	w.add(want[8:10])
	w.databaseBack()
	clock.Advance(time.Second)
	w.step()
	if fmt.Sprint(db.got) != fmt.Sprint(want[:10]) || w.spool.Len() != 0 || st.samplesReplayed.Load() != 7 {
		t.Errorf("back: written %d (replayed %d, %d bytes left), want the 10 in order, every field kept",
			len(db.got), st.samplesReplayed.Load(), w.spool.Len())
	}

	// Away again, and stopped: the samples stay in the file.
	db.down = true
	w.add(want[10:])
	stop := make(chan struct{})
	close(stop)
	w.run(stop)
	w.spool.Close()
	db.down = false
	w2, st2 := open(db)
	stop2 := make(chan struct{})
	done := make(chan struct{})
	go func() {
		w2.run(stop2)
		close(done)
	}()
	eventually(t, "the next writer replays the spool at start", func() bool { return st2.samplesReplayed.Load() == 2 })
	close(stop2)
	<-done
	if fmt.Sprint(db.got) != fmt.Sprint(want) {
		t.Errorf("after a restart: %d written, want all 12 in order", len(db.got))
	}
}

// samplesAway renames traffic_samples so that every write of samples
// fails (and the reads of the newest ones), while results and leases go
// on.
func samplesAway(t *testing.T, db dbtest.DB, away bool) {
	t.Helper()
	q := "ALTER TABLE traffic_samples RENAME TO traffic_samples_away"
	if !away {
		q = "ALTER TABLE traffic_samples_away RENAME TO traffic_samples"
	}
	if err := rawDB(t, db).Exec(q).Error; err != nil {
		t.Fatal(err)
	}
}

// The table of samples goes away while the poller runs, and comes back
// only after the prober was stopped and started again: the samples taken
// meanwhile wait in "<spool>.traffic" and reach the database once each,
// with their deltas; the port check's results are not held up.
func TestTrafficSpoolCarriesSamplesOverDatabaseOutages(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			clock := newManualClock()
			s := dbtest.Open(t, db, models.WithClock(clock.Now))
			f := newSwitchFixture(t, s, db)
			sw := f.addSwitch(t, "core-1", "127.0.2.1")
			port := f.addPort(t, sw, 1, true, true)
			agents := newFakeAgents(clock)
			agents.add(sw.Address, map[int]*fakePort{1: {hc: true, in: 40, out: 4}})
			spool := filepath.Join(t.TempDir(), "prober.spool")
			cfg := Config{InstanceID: "p1", Clock: clock, Jitter: -1, BatchAge: time.Second, WriteTimeout: 2 * time.Second,
				SpoolPath: spool, SNMPPoll: agents.pollFunc("p1")}
			r := start(t, cfg, s, newProbeRecorder(clock).probeFunc("p1"))
			eventually(t, "the prober holds the switch", func() bool { return r.p.Stats().Switches == 1 })
			clock.run(25 * time.Second)
			samplesAway(t, db, true)
			clock.run(40 * time.Second)
			r.stop(t)
			st := r.p.Stats()
			if st.SamplesSpooled < 3 || st.SamplesLost != 0 {
				t.Fatalf("while away: %d samples spooled, %d lost; want 3 or more, none", st.SamplesSpooled, st.SamplesLost)
			}
			if fi, err := os.Stat(spool + ".traffic"); err != nil || fi.Size() == 0 {
				t.Fatalf("traffic spool after the stop: %v, %v; want a file with the samples", fi, err)
			}
			pf := &proberFixture{org: f.org}
			if rs := pf.results(t, s, *port.CheckID); len(rs) < 6 {
				t.Errorf("%d port check results, want them all (6 or more) while the samples were away", len(rs))
			}

			samplesAway(t, db, false)
			r2 := start(t, cfg, s, newProbeRecorder(clock).probeFunc("p1"))
			eventually(t, "the next prober replays the traffic spool", func() bool {
				return r2.p.Stats().SamplesReplayed == st.SamplesSpooled
			})
			clock.run(20 * time.Second)
			r2.stop(t)

			polls := agents.pollsOf(sw.Address)
			ss := f.samples(t, port.ID)
			if len(ss) != len(polls) {
				t.Errorf("%d samples stored for %d polls", len(ss), len(polls))
			}
			p := agents.switches[sw.Address].ports[1]
			if notes := checkDeltas(t, port.Name, ss, p.in, p.out); fmt.Sprint(notes) != "[first]" {
				t.Errorf("samples without deltas %v, want the first only", notes)
			}
		})
	}
}
