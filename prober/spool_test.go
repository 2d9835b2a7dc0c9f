package prober

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

func spoolResults(n int) []models.ProbeResult {
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	rs := make([]models.ProbeResult, n)
	for i := range rs {
		rs[i] = models.ProbeResult{CheckID: int64(1 + i%3), At: t0.Add(time.Duration(i) * time.Second), OK: i%4 != 0, RTTus: 100 + i}
		if !rs[i].OK {
			rs[i].RTTus, rs[i].Reason = 0, models.ReasonRefused
		}
	}
	return rs
}

func TestFileSpool(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prober.spool")
	sp, err := openFileSpool(path)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	want := spoolResults(10)
	if err := sp.Append(want[:4]); err != nil {
		t.Fatal(err)
	}
	if err := sp.Append(want[4:]); err != nil {
		t.Fatal(err)
	}

	t.Run("a second process gets a sibling file, not the locked one", func(t *testing.T) {
		other, err := openFileSpool(path)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		if other.Name() != path+".1" || other.Len() != 0 {
			t.Errorf("second spool = %s with %d bytes, want %s.1, empty", other.Name(), other.Len(), path)
		}
	})

	t.Run("a failed replay keeps what was not taken, in order", func(t *testing.T) {
		var got []models.ProbeResult
		calls := 0
		n, err := sp.Replay(3, func(rs []models.ProbeResult) error {
			calls++
			if calls == 3 {
				return errors.New("database away")
			}
			got = append(got, rs...)
			return nil
		})
		if err == nil || n != 6 || len(got) != 6 {
			t.Fatalf("replay = %d, %v; want 6 results then the error", n, err)
		}
		n, err = sp.Replay(3, func(rs []models.ProbeResult) error { got = append(got, rs...); return nil })
		if err != nil || n != 4 {
			t.Fatalf("second replay = %d, %v; want the 4 left", n, err)
		}
		if len(got) != len(want) {
			t.Fatalf("replayed %d results, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i].CheckID != want[i].CheckID || !got[i].At.Equal(want[i].At) || got[i].OK != want[i].OK ||
				got[i].RTTus != want[i].RTTus || got[i].Reason != want[i].Reason {
				t.Errorf("result %d = %+v, want %+v", i, got[i], want[i])
			}
		}
		if st, _ := os.Stat(path); st.Size() != 0 || sp.Len() != 0 {
			t.Errorf("spool holds %d bytes after a full replay, want 0", st.Size())
		}
	})

	t.Run("a torn last line is skipped and does not swallow the next", func(t *testing.T) {
		// A spool of its own: the one above may hold anything by now.
		path := filepath.Join(t.TempDir(), "prober.spool")
		sp, err := openFileSpool(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := sp.Append(want[:2]); err != nil {
			t.Fatal(err)
		}
		sp.Close()
		f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		f.WriteString(`{"c":7,"t":17`) // a crash mid-append
		f.Close()
		if sp, err = openFileSpool(path); err != nil {
			t.Fatal(err)
		}
		defer sp.Close()
		if err := sp.Append(want[2:3]); err != nil {
			t.Fatal(err)
		}
		var got []models.ProbeResult
		if _, err := sp.Replay(100, func(rs []models.ProbeResult) error { got = append(got, rs...); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[2].CheckID != want[2].CheckID || !got[2].At.Equal(want[2].At) {
			t.Errorf("replayed %+v, want the 3 whole results", got)
		}
	})
}

// dbCut makes the prober's database refuse it and come back.
type dbCut interface {
	cut()
	restore()
}

// tcpProxy forwards to a database server until cut, then drops every
// connection and refuses new ones until restored: the network between
// prober and MySQL failing.
type tcpProxy struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	down     bool
	conns    map[net.Conn]struct{}
}

func newTCPProxy(t *testing.T, upstream string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, upstream: upstream, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
	})
	return p
}

func (p *tcpProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		u, err := net.Dial("tcp", p.upstream)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[u] = struct{}{}, struct{}{}
		p.mu.Unlock()
		go func() { io.Copy(u, c); u.Close(); c.Close() }()
		go func() { io.Copy(c, u); u.Close(); c.Close() }()
	}
}

func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *tcpProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// tableAway renames probe_results so every write of results fails at once,
// the nearest an embedded SQLite file comes to being unreachable (a lock
// would do, but SQLite's busy wait ignores the context for 10 s).
type tableAway struct {
	t  *testing.T
	db dbtest.DB
}

func (a tableAway) exec(q string) {
	gdb, _, err := models.Open(context.Background(), models.OpenOptions{URL: a.db.URL})
	if err != nil {
		a.t.Fatal(err)
	}
	defer func() {
		if s, err := gdb.DB(); err == nil {
			s.Close()
		}
	}()
	if err := gdb.Exec(q).Error; err != nil {
		a.t.Fatal(err)
	}
}

func (a tableAway) cut()     { a.exec("ALTER TABLE probe_results RENAME TO probe_results_away") }
func (a tableAway) restore() { a.exec("ALTER TABLE probe_results_away RENAME TO probe_results") }

// The database goes away while the prober runs: results go to the spool,
// are replayed when it returns, and a prober stopped while it is away
// leaves a spool that the next one replays at start. Every probe is stored
// exactly once.
func TestSpoolCarriesResultsOverDatabaseOutages(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			clock := newManualClock()
			verify := dbtest.Open(t, db, models.WithClock(clock.Now))
			f := newProberFixture(t, verify, models.KindICMP, models.KindTCP, models.KindICMP, models.KindHTTP)

			// The prober's own store reaches the database through something
			// the test can cut.
			var (
				cutter dbCut
				via    = db
			)
			if strings.HasPrefix(db.URL, "mysql://") {
				u, err := url.Parse(db.URL)
				if err != nil {
					t.Fatal(err)
				}
				proxy := newTCPProxy(t, u.Host)
				u.Host = proxy.ln.Addr().String()
				via.URL = u.String()
				cutter = proxy
			} else {
				cutter = tableAway{t: t, db: db}
			}
			ps := dbtest.Open(t, via, models.WithClock(clock.Now))
			rec := newProbeRecorder(clock)
			// One check's target fails while the database is away: the
			// outage must still be found, from the spooled results.
			var targetDown atomic.Bool
			downCheck := f.checks[1]
			rec.fail = func(c *models.Check, n int) bool { return c.ID == downCheck.ID && targetDown.Load() }
			spoolPath := filepath.Join(t.TempDir(), "prober.spool")
			cfg := Config{InstanceID: "p1", Clock: clock, Lease: 30 * time.Second, WriteTimeout: 2 * time.Second, SpoolPath: spoolPath}
			spoolSize := func() int64 {
				st, err := os.Stat(spoolPath)
				if err != nil {
					t.Fatal(err)
				}
				return st.Size()
			}

			p1 := start(t, cfg, ps, rec.probeFunc("p1"))
			eventually(t, "p1 holds the checks", func() bool { return p1.p.Stats().Checks == 4 })
			clock.run(20 * time.Second)
			eventually(t, "results are written", func() bool { return p1.p.Stats().Written > 0 })

			cutter.cut()
			targetDown.Store(true)
			clock.run(30 * time.Second)
			targetDown.Store(false)
			eventually(t, "results go to the spool", func() bool { return p1.p.Stats().Spooled > 0 && spoolSize() > 0 })
			if w := p1.p.Stats().Written; w > 8+4 {
				t.Errorf("%d results written, though the database was cut after 20 s", w)
			}

			cutter.restore()
			// Replays back off to at most maxReplayBackoff while the database is away.
			clock.run(35 * time.Second)
			eventually(t, "the spool is replayed", func() bool { return p1.p.Stats().Replayed > 0 && spoolSize() == 0 })

			cutter.cut()
			clock.run(25 * time.Second)
			p1.stop(t)
			if spoolSize() == 0 {
				t.Fatal("p1 stopped while the database was cut, yet its spool is empty")
			}
			spooledByP1 := p1.p.Stats().Spooled

			cutter.restore()
			cfg.InstanceID = "p2"
			p2 := start(t, cfg, ps, rec.probeFunc("p2"))
			eventually(t, "p2 replays the spool at start", func() bool { return p2.p.Stats().Replayed > 0 && spoolSize() == 0 })
			// p1's leases run out (it could not release them), then p2 probes.
			clock.run(cfg.Lease + 25*time.Second)
			p2.stop(t)

			if spooledByP1 == 0 {
				t.Error("p1 spooled nothing")
			}
			total := 0
			for _, c := range f.checks {
				calls := rec.callsOf(c.ID)
				rs := f.results(t, verify, c.ID)
				total += len(rs)
				if len(rs) != len(calls) {
					t.Errorf("check %d: %d probes run, %d results stored", c.ID, len(calls), len(rs))
				}
				if n := f.rollupProbes(t, verify, c.ID); n != len(rs) {
					t.Errorf("check %d: rollups count %d probes for %d results: a replay was counted twice", c.ID, n, len(rs))
				}
				var byP2 int
				for _, call := range calls {
					if call.instance == "p2" {
						byP2++
					}
				}
				if byP2 == 0 {
					t.Errorf("check %d was not probed after the restart", c.ID)
				}
			}
			rs := f.results(t, verify, downCheck.ID)
			var firstFail, recovered *time.Time
			for i := range rs {
				if !rs[i].OK && firstFail == nil {
					firstFail = &rs[i].At
				}
				if rs[i].OK && firstFail != nil && recovered == nil {
					recovered = &rs[i].At
				}
			}
			outages, err := verify.ListOutages(context.Background(), models.AllOrgs(), f.org, downCheck.DeviceID, 10)
			if err != nil || firstFail == nil || recovered == nil || len(outages) != 1 {
				t.Fatalf("outages %+v (%v), first failure %v, recovery %v: want one outage from the spooled failures", outages, err, firstFail, recovered)
			}
			if o := outages[0]; !o.StartedAt.Equal(*firstFail) || o.EndedAt == nil || !o.EndedAt.Equal(*recovered) || o.Failures != 3 {
				t.Errorf("outage %+v: want %v to %v with 3 failures", o, *firstFail, *recovered)
			}

			// 4 checks at 10 s over 20+30+35+25+55 s.
			if total < 60 {
				t.Errorf("%d results in all, want about 66", total)
			}
		})
	}
}

func TestMemorySpoolWithoutAFile(t *testing.T) {
	m := &memSpool{max: 5}
	rs := spoolResults(7)
	if err := m.Append(rs[:4]); err != nil {
		t.Fatal(err)
	}
	if err := m.Append(rs[4:]); err == nil || m.Len() != 4 {
		t.Fatalf("append past the bound: %v, %d kept; want an error and the 4 first kept", err, m.Len())
	}
	var got []models.ProbeResult
	n, err := m.Replay(3, func(b []models.ProbeResult) error { got = append(got, b...); return nil })
	if err != nil || n != 4 || m.Len() != 0 || !got[3].At.Equal(rs[3].At) {
		t.Errorf("replay = %d, %v, %d left", n, err, m.Len())
	}
}
