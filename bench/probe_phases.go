package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"gorm.io/gorm"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/prober"
)

// The phases of `portal bench probe` after its measured window: the
// confirm-to-queued time of targets that go down (victims), and a database
// outage with the replay of the spool that follows; and fping over the same
// targets during the window (--compare-fping).

// victimInterval is the victims' check interval: the shortest allowed, so
// that the confirming probe comes within two intervals of the failure.
const victimInterval = models.MinInterval

// victims are TCP checks against a listener of their own, which the
// benchmark closes after the measured window: each check's next probes are
// refused, and the one that reaches its threshold confirms an outage. The
// probe function is wrapped to note when each confirming probe returned.
type victims struct {
	ln   net.Listener
	addr string
	ids  []int64

	down      atomic.Bool
	mu        sync.Mutex
	fails     map[int64]int       // consecutive failures since down
	confirmed map[int64]time.Time // when the probe reaching the threshold returned
	failures  int64               // every failed victim probe (not false failures)
	threshold int
}

func newVictims() (*victims, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: listen: %w", err)
	}
	v := &victims{ln: ln, addr: ln.Addr().String(), fails: map[int64]int{}, confirmed: map[int64]time.Time{}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					continue
				}
				return
			}
			_ = c.Close()
		}
	}()
	return v, nil
}

// check is one victim's check row.
func (v *victims) check() (models.Check, error) {
	return benchCheck(models.CheckInput{Kind: models.KindTCP, Target: v.addr, Interval: victimInterval, Enabled: true}, "127.0.0.1")
}

// load reads the victims' check IDs once they are stored.
func (v *victims) load(ctx context.Context, db *gorm.DB) error {
	return db.WithContext(ctx).Model(&models.Check{}).Where("kind = ? AND target = ?", models.KindTCP, v.addr).
		Order("id").Pluck("id", &v.ids).Error
}

// wrap notes the victims' outcomes around pf.
func (v *victims) wrap(pf prober.ProbeFunc) prober.ProbeFunc {
	return func(ctx context.Context, c *models.Check) prober.Outcome {
		out := pf(ctx, c)
		if c.Kind != models.KindTCP || c.Target != v.addr {
			return out
		}
		now := time.Now()
		v.mu.Lock()
		defer v.mu.Unlock()
		if out.OK {
			v.fails[c.ID] = 0
			return out
		}
		v.failures++
		v.fails[c.ID]++
		v.threshold = max(c.FailThreshold, 1)
		if _, seen := v.confirmed[c.ID]; !seen && v.down.Load() && v.fails[c.ID] == v.threshold {
			v.confirmed[c.ID] = now
		}
		return out
	}
}

func (v *victims) failed() int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.failures
}

// confirmResult is what the confirm phase measured.
type confirmResult struct {
	victims   int
	threshold int
	delays    []time.Duration // confirming probe → outage and outbox event read back, sorted
	missing   int             // victims not confirmed and stored in time
}

// measure closes the listener and waits until every victim's confirming
// probe has returned and its outage row and the outage.opened outbox
// event of its notice are in the database. The database is looked at every 5 ms, and only while a
// confirmed victim is not yet found there; the delay is taken when the
// query that finds it returns, so it is an upper bound.
func (v *victims) measure(ctx context.Context, db *gorm.DB, timeout time.Duration) (confirmResult, error) {
	res := confirmResult{victims: len(v.ids)}
	v.down.Store(true)
	_ = v.ln.Close()
	stored := map[int64]bool{}
	deadline := time.Now().Add(timeout)
	for len(stored) < len(v.ids) && time.Now().Before(deadline) {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		v.mu.Lock()
		var pending []int64
		confirmedAt := map[int64]time.Time{}
		for _, id := range v.ids {
			if at, ok := v.confirmed[id]; ok && !stored[id] {
				pending = append(pending, id)
				confirmedAt[id] = at
			}
		}
		res.threshold = v.threshold
		v.mu.Unlock()
		if len(pending) > 0 {
			var found []int64
			// The outage is in a notice whose event is queued (grouped
			// notices: the event names the notice, models/notice.go).
			err := db.WithContext(ctx).Raw(`SELECT DISTINCT o.check_id FROM outages o
				JOIN notice_outages n ON n.outage_id = o.id
				JOIN outbox e ON e.ref_id = n.notice_id AND e.kind = ?
				WHERE o.check_id IN ?`, models.EventOutageOpened, pending).Scan(&found).Error
			if err != nil {
				return res, err
			}
			now := time.Now()
			for _, id := range found {
				stored[id] = true
				res.delays = append(res.delays, now.Sub(confirmedAt[id]))
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	res.missing = len(v.ids) - len(stored)
	slices.Sort(res.delays)
	return res, nil
}

// outageResult is what the database-outage phase measured.
type outageResult struct {
	length    time.Duration
	spooled   int64         // results spooled during the outage and the drain
	replayed  int64         // results replayed from the spool
	firstRows time.Duration // database back → first replayed chunk stored
	drained   time.Duration // database back → spool empty
	rowsPerS  float64       // replayed results per second after the first chunk
	timedOut  bool
}

// dbOutage makes the database refuse every statement for d (the counting
// pool answers errBenchDBAway), then waits until the prober's spool has been
// replayed, at most drainMax.
func dbOutage(ctx context.Context, p *prober.Prober, counter *stmtCounter, d, drainMax time.Duration) (outageResult, error) {
	res := outageResult{length: d}
	st0 := p.Stats()
	counter.down.Store(true)
	select {
	case <-ctx.Done():
		counter.down.Store(false)
		return res, ctx.Err()
	case <-time.After(d):
	}
	counter.down.Store(false)
	back := time.Now()
	atBack := p.Stats()
	if atBack.Spooled == st0.Spooled {
		return res, nil // no flush fell in the outage: nothing to replay
	}
	var firstAt time.Time
	var firstWritten int64
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		st := p.Stats()
		now := time.Now()
		if firstAt.IsZero() && st.Written > atBack.Written {
			firstAt, firstWritten = now, st.Written-atBack.Written
		}
		if st.Spooled > st0.Spooled && st.Replayed+st.Lost >= st.Spooled {
			res.spooled, res.replayed = st.Spooled-st0.Spooled, st.Replayed-st0.Replayed
			res.drained = now.Sub(back)
			if !firstAt.IsZero() {
				res.firstRows = firstAt.Sub(back)
				if rest := float64(res.replayed - firstWritten); rest > 0 && now.After(firstAt) {
					res.rowsPerS = rest / now.Sub(firstAt).Seconds()
				}
			}
			return res, nil
		}
		if now.Sub(back) > drainMax {
			res.spooled, res.replayed, res.timedOut = st.Spooled-st0.Spooled, st.Replayed-st0.Replayed, true
			return res, nil
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// errBenchDBAway is every statement's answer during a simulated outage.
var errBenchDBAway = errors.New("bench: database taken away (--db-outage)")

// fpingRun is fping looping over the ICMP targets during the measured
// window, split over as many processes as its 1 ms minimum gap between two
// pings of one process needs.
type fpingRun struct {
	cmds    []*exec.Cmd
	stderr  []*bytes.Buffer
	dir     string
	started time.Time
}

// fpingPath is fping when installed, else "".
func fpingPath() string {
	p, err := exec.LookPath("fping")
	if err != nil {
		return ""
	}
	return p
}

// startFping starts `fping -l -q -s -p interval -i 1 -f list` over the
// targets: each target pinged once per interval, as the prober does. One
// process sends at most one ping a millisecond, and must fit a round of
// its targets in the interval, so a process gets at most 80% of the
// interval in milliseconds of targets.
func startFping(path string, targets int, interval time.Duration) (*fpingRun, error) {
	dir, err := os.MkdirTemp("", "portal-bench-fping-")
	if err != nil {
		return nil, err
	}
	f := &fpingRun{dir: dir, started: time.Now()}
	perProc := max(int(interval.Milliseconds()*8/10), 1)
	procs := (targets + perProc - 1) / perProc
	for k := range procs {
		var list strings.Builder
		for i := k; i < targets; i += procs {
			addr, err := loopbackAddr(i)
			if err != nil {
				f.kill()
				return nil, err
			}
			list.WriteString(addr + "\n")
		}
		name := filepath.Join(dir, fmt.Sprintf("targets-%d", k))
		if err := os.WriteFile(name, []byte(list.String()), 0o600); err != nil {
			f.kill()
			return nil, err
		}
		cmd := exec.Command(path, "-l", "-q", "-s", "-p", strconv.FormatInt(interval.Milliseconds(), 10), "-i", "1",
			"-t", "1000", "-f", name)
		var stderr bytes.Buffer
		cmd.Stderr, cmd.Stdout = &stderr, &stderr
		if err := cmd.Start(); err != nil {
			f.kill()
			return nil, fmt.Errorf("bench: start fping: %w", err)
		}
		f.cmds, f.stderr = append(f.cmds, cmd), append(f.stderr, &stderr)
	}
	return f, nil
}

func (f *fpingRun) kill() {
	for _, c := range f.cmds {
		_ = c.Process.Kill()
		_ = c.Wait()
	}
	_ = os.RemoveAll(f.dir)
}

var fpingSent = regexp.MustCompile(`(\d+) ICMP Echos sent`)

// fpingResult is what the fping processes spent and sent.
type fpingResult struct {
	procs  int
	cpu    time.Duration
	sent   int64
	window time.Duration
}

// stop interrupts the fping processes (they print their statistics on
// SIGINT) and sums their CPU time (getrusage of each child) and pings.
func (f *fpingRun) stop() (fpingResult, error) {
	defer os.RemoveAll(f.dir)
	res := fpingResult{procs: len(f.cmds), window: time.Since(f.started)}
	for _, c := range f.cmds {
		_ = c.Process.Signal(syscall.SIGINT)
	}
	for i, c := range f.cmds {
		_ = c.Wait() // fping exits non-zero when a target did not answer
		if c.ProcessState == nil {
			return res, errors.New("bench: fping did not run")
		}
		res.cpu += c.ProcessState.UserTime() + c.ProcessState.SystemTime()
		m := fpingSent.FindStringSubmatch(f.stderr[i].String())
		if m == nil {
			return res, fmt.Errorf("bench: fping printed no statistics: %.300s", f.stderr[i].String())
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		res.sent += n
	}
	return res, nil
}
