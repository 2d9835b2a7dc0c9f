// Package bench measures the portal on a throw-away database: Probe runs
// the real prober pool against loopback targets and local listeners, Pages
// times the uptime, device and fleet pages over a year of history. Both
// print a table and then, as the last line, one JSON object with the
// figures. `portal bench probe|pages` parses the flags and calls them.
//
// It fills its databases with its own bulk writer (data.go) on the gorm
// handle models.Open returns, skipping validation and the audit log, so
// that the production Store carries no writer only a benchmark may use.
package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/prober"
)

// Retention and rollup shape of a target probed every 5 minutes, which the
// database size per target and year is extrapolated to.
const (
	yearResults       = 365 * 24 * 12 // 105,120 probes a year
	keptRawResults    = 90 * 24 * 12  // raw results kept: 90 days
	yearRollupRows    = 365*24 + 365  // hourly and daily rollups of a year
	capacityBatchSize = 5000          // results per RecordResults in the capacity phase
)

// ProbeOptions are the figures of `portal bench probe`; see its flags.
type ProbeOptions struct {
	Targets, ServiceChecks     int
	Interval, ServiceInterval  time.Duration
	Duration, Warmup, Capacity time.Duration
	// DB is empty for a temporary SQLite file, sqlite:PATH for a new
	// SQLite file, or mysql://user:pass@host:port/any for a database
	// portal_bench_<random> on that server; it is deleted afterwards.
	DB string
	// BatchMax and BatchAge set the prober's batch writer (0: its
	// defaults).
	BatchMax int
	BatchAge time.Duration
	// Victims is how many TCP checks (every 10 s) go down after the
	// measured window, for the confirm-to-queued time; 0 skips it.
	Victims int
	// DBOutage takes the database away for this long after that, then
	// measures the spool's replay; 0 skips it.
	DBOutage time.Duration
	// CompareFping runs fping over the same ICMP targets during the
	// measured window, when it is installed.
	CompareFping bool
	// CPUProfile, when set, is a file the measured window's CPU profile
	// is written to (go tool pprof).
	CPUProfile string
}

// Probe runs the prober on a throw-away database for o.Duration, measures
// after o.Warmup, then writes as fast as it can for o.Capacity, and prints
// the figures to stdout (progress goes to standard error).
func Probe(ctx context.Context, o ProbeOptions, stdout io.Writer) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	tdb, err := newThrowawayDB(ctx, o.DB)
	if err != nil {
		return err
	}
	defer tdb.drop()
	counter := &stmtCounter{}
	store, db, err := openBenchStore(ctx, tdb.url, counter)
	if err != nil {
		return err
	}
	defer store.Close()

	// Setup: one organization, the targets, the listeners, the service checks.
	t0 := time.Now()
	org, err := store.CreateOrg(ctx, models.SystemActor("bench"), models.OrgInput{Slug: "bench", Name: "Benchmark"})
	if err != nil {
		return shellError("bench probe", err)
	}
	srv, err := startBenchServers()
	if err != nil {
		return err
	}
	defer srv.close()
	devices, err := benchDevices(org.ID, o, srv)
	if err != nil {
		return err
	}
	var vict *victims
	if o.Victims > 0 {
		if vict, err = newVictims(); err != nil {
			return err
		}
		defer vict.ln.Close()
		c, err := vict.check()
		if err != nil {
			return err
		}
		for i := range o.Victims {
			d := &devices[i%len(devices)]
			d.Checks = append(d.Checks, c)
		}
	}
	if err := (writer{db}).createDevices(ctx, devices); err != nil {
		return err
	}
	devices = nil
	if vict != nil {
		if err := vict.load(ctx, db); err != nil {
			return err
		}
	}
	progress("%s: %d targets and %d service checks created in %s", tdb.desc, o.Targets, o.ServiceChecks,
		time.Since(t0).Round(time.Millisecond))

	pinger, err := prober.NewPinger(log)
	if err != nil {
		return fmt.Errorf("bench probe: no ICMP socket (run as root, or allow datagram ICMP with net.ipv4.ping_group_range): %w", err)
	}
	defer pinger.Close()

	// The run: the real prober, as `portal serve` starts it.
	sizeBefore, err := dbUsedBytes(ctx, db, store.Dialect())
	if err != nil {
		return err
	}
	runtime.GC()
	debug.FreeOSMemory()
	resetPeakRSS()
	spoolDir, err := os.MkdirTemp("", "portal-bench-spool-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(spoolDir)
	probe := prober.NewProbeFunc(pinger)
	if vict != nil {
		probe = vict.wrap(probe)
	}
	p := prober.New(prober.Config{BatchMax: o.BatchMax, BatchAge: o.BatchAge, MaxChecks: o.Targets + o.ServiceChecks + o.Victims,
		SpoolPath: filepath.Join(spoolDir, "prober.spool")}, store, probe, log)
	dbProc := findDBServer(tdb)
	snap := func() benchSnap {
		return benchSnap{at: time.Now(), stats: p.Stats(), cpu: processCPU(), stmts: counter.stmts.Load(),
			txs: counter.txs.Load(), dbCPU: dbProc.cpu()}
	}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	runDone := make(chan error, 1)
	start := snap()
	go func() { runDone <- p.Run(rctx) }()
	progress("prober running for %s, measuring after %s", o.Duration, o.Warmup)
	wait := func(until time.Time) error {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			d := time.Until(until)
			if d <= 0 {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
				return nil
			case <-t.C:
				st := p.Stats()
				progress("%3.0fs: checks held %d, probes %d, failures %d, skipped %d, written %d",
					time.Since(start.at).Seconds(), st.Checks, st.Probes, st.Failures, st.Skipped, st.Written)
			}
		}
	}
	if err := wait(start.at.Add(o.Warmup)); err != nil {
		return err
	}
	from := snap()
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var fp *fpingRun
	if o.CompareFping {
		if path := fpingPath(); path == "" {
			progress("--compare-fping: fping is not installed; skipped")
		} else if o.Targets > 0 {
			if fp, err = startFping(path, o.Targets, o.Interval); err != nil {
				return err
			}
			defer fp.kill()
		}
	}
	if err := wait(start.at.Add(o.Duration)); err != nil {
		return err
	}
	to := snap()
	if o.CPUProfile != "" {
		pprof.StopCPUProfile()
	}
	peakRSS := peakRSSMB()
	var fpRes *fpingResult
	if fp != nil {
		res, err := fp.stop()
		if err != nil {
			return err
		}
		fpRes = &res
	}
	var confirm *confirmResult
	if vict != nil {
		progress("confirm phase: %d TCP checks every %s go down; waiting for their outages and notices", len(vict.ids), victimInterval)
		res, err := vict.measure(ctx, db, 3*victimInterval+10*time.Second)
		if err != nil {
			return err
		}
		confirm = &res
	}
	var outage *outageResult
	if o.DBOutage > 0 {
		progress("database outage phase: every statement refused for %s, then the spool's replay", o.DBOutage)
		res, err := dbOutage(ctx, p, counter, o.DBOutage, 15*time.Minute)
		if err != nil {
			return err
		}
		outage = &res
	}
	stop()
	if err := <-runDone; err != nil {
		return err
	}
	final := p.Stats()
	var failedRows int64
	failed := db.WithContext(ctx).Model(&models.ProbeResult{}).Where("ok = ?", false)
	if vict != nil && len(vict.ids) > 0 {
		failed = failed.Where("check_id NOT IN ?", vict.ids)
	}
	if err := failed.Count(&failedRows).Error; err != nil {
		return err
	}
	sizeAfter, err := dbUsedBytes(ctx, db, store.Dialect())
	if err != nil {
		return err
	}

	// The write capacity: RecordResults as fast as it goes.
	progress("write-capacity phase: batches of %d results for %s", capacityBatchSize, o.Capacity)
	capRes, err := writeCapacity(ctx, store, db, counter, o.Capacity)
	if err != nil {
		return err
	}

	// The database per target and year. The janitor builds rollups once
	// their hour or day is over: build them all now (a clock three days
	// on), so that their rows are there to measure.
	if _, err := store.Clocked(func() time.Time { return time.Now().Add(72 * time.Hour) }).BuildRollups(ctx, math.MaxInt32); err != nil {
		return err
	}
	sizes, err := tableSizes(ctx, db, store.Dialect())
	if err != nil {
		return err
	}

	if vict != nil {
		final.Failures -= vict.failed()
	}
	r := probeBenchResult(o, tdb, start, from, to, final, failedRows, peakRSS, sizeAfter-sizeBefore, capRes, sizes)
	r.addPhases(o, fpRes, confirm, outage)
	r.print(stdout)
	return nil
}

// benchSnap is the counters at one instant of the run.
type benchSnap struct {
	at    time.Time
	stats prober.Stats
	cpu   time.Duration // user+system time of this process
	stmts int64
	txs   int64
	dbCPU time.Duration // of the local database server; 0 when unknown
}

// benchDevices lays out the targets on distinct loopback addresses, and
// the service checks spread over the local listeners' kinds.
func benchDevices(orgID int64, o ProbeOptions, srv *benchServers) ([]bulkDevice, error) {
	ds := make([]bulkDevice, o.Targets)
	for i := range ds {
		addr, err := loopbackAddr(i)
		if err != nil {
			return nil, err
		}
		c, err := benchCheck(models.CheckInput{Kind: models.KindICMP, Target: addr, Interval: o.Interval, Enabled: true}, addr)
		if err != nil {
			return nil, fmt.Errorf("bench probe: --interval: %w", err)
		}
		ds[i] = bulkDevice{Device: models.Device{OrgID: orgID, Name: fmt.Sprintf("bench-%05d", i+1), Address: addr},
			Checks: []models.Check{c}}
	}
	services := srv.checks()
	for i := range o.ServiceChecks {
		in := services[i%len(services)]
		in.Interval, in.Enabled = o.ServiceInterval, true
		d := &ds[i%len(ds)]
		c, err := benchCheck(in, d.Device.Address)
		if err != nil {
			return nil, fmt.Errorf("bench probe: --service-interval: %w", err)
		}
		d.Checks = append(d.Checks, c)
	}
	return ds, nil
}

// benchCheck validates a check as AddCheck does and returns the row.
func benchCheck(in models.CheckInput, addr string) (models.Check, error) {
	if err := models.ValidateCheck(&in, addr); err != nil {
		if v, ok := models.AsValidation(err); ok {
			return models.Check{}, fmt.Errorf("%s: %s", v.Field, english(v))
		}
		return models.Check{}, err
	}
	return models.Check{Kind: in.Kind, Target: in.Target, ExpectMin: in.ExpectMin, ExpectMax: in.ExpectMax,
		Keyword: in.Keyword, StartTLS: in.StartTLS, IntervalSec: int(in.Interval / time.Second),
		TimeoutMs: int(in.Timeout / time.Millisecond), FailThreshold: in.FailThreshold, Enabled: in.Enabled}, nil
}

// loopbackAddr is the i-th benchmark target: 127.1.0.1, 127.1.0.2, …,
// skipping host bytes 0 and 255.
func loopbackAddr(i int) (string, error) {
	z := i%254 + 1
	y := (i / 254) % 256
	x := 1 + i/(254*256)
	if i < 0 || x > 255 {
		return "", fmt.Errorf("bench probe: no loopback address left for target %d", i+1)
	}
	return fmt.Sprintf("127.%d.%d.%d", x, y, z), nil
}

// capacityResult is what the write-capacity phase measured.
type capacityResult struct {
	rows     int
	elapsed  time.Duration
	batches  int
	stmts    int64
	txs      int64
	checks   int
	perBatch int
}

// writeCapacity calls RecordResults with batches of results for distinct
// checks, slot after 5-minute slot as a prober at that interval would
// write them, for d, and reports the rows written.
func writeCapacity(ctx context.Context, store *models.Store, db *gorm.DB, counter *stmtCounter, d time.Duration) (capacityResult, error) {
	var ids []int64
	if err := db.WithContext(ctx).Model(&models.Check{}).Order("id").Pluck("id", &ids).Error; err != nil {
		return capacityResult{}, err
	}
	res := capacityResult{checks: len(ids), perBatch: min(len(ids), capacityBatchSize)}
	if len(ids) == 0 || d <= 0 {
		return res, nil
	}
	// After every result of the run, on a fresh hour: the live path.
	base := time.Now().UTC().Truncate(time.Hour).Add(2 * time.Hour)
	pos, slot := 0, 0
	batch := make([]models.ProbeResult, res.perBatch)
	s0, t0 := counter.stmts.Load(), counter.txs.Load()
	start := time.Now()
	for time.Since(start) < d {
		for i := range batch {
			batch[i] = models.ProbeResult{CheckID: ids[pos], At: base.Add(time.Duration(slot) * 5 * time.Minute),
				OK: true, RTTus: 30 + mrand.IntN(400)}
			if pos++; pos == len(ids) {
				pos, slot = 0, slot+1
			}
		}
		n, err := store.RecordResults(ctx, batch)
		if err != nil {
			return res, err
		}
		res.rows += n
		res.batches++
	}
	res.elapsed = time.Since(start)
	res.stmts, res.txs = counter.stmts.Load()-s0, counter.txs.Load()-t0
	return res, nil
}

// tableSize is the space one table takes, indexes included.
type tableSize struct {
	bytes, rows int64
}

// dbSizes is the database's size by table: raw results, rollups, and the
// rest (devices, checks, outages, users …) together.
type dbSizes struct {
	results, rollups tableSize
	rest             int64
}

// tableSizes measures the tables. SQLite has no per-table sizes built in
// (no dbstat here), so each table is deleted inside a transaction that is
// rolled back, and the pages that freed are its size. MySQL reports
// data_length + index_length once ANALYZE TABLE has refreshed them.
func tableSizes(ctx context.Context, db *gorm.DB, dialect models.Dialect) (dbSizes, error) {
	var out dbSizes
	db = db.WithContext(ctx)
	for _, t := range []struct {
		name string
		into *tableSize
	}{{"probe_results", &out.results}, {"rollups", &out.rollups}} {
		if err := db.Table(t.name).Count(&t.into.rows).Error; err != nil {
			return out, err
		}
		switch dialect {
		case models.SQLite:
			errRollback := errors.New("rollback")
			err := db.Transaction(func(tx *gorm.DB) error {
				before, err := sqliteUsed(tx)
				if err != nil {
					return err
				}
				if err := tx.Exec("DELETE FROM " + t.name).Error; err != nil {
					return err
				}
				after, err := sqliteUsed(tx)
				if err != nil {
					return err
				}
				t.into.bytes = before - after
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				return out, err
			}
		case models.MySQL:
			if err := db.Exec("ANALYZE TABLE " + t.name).Error; err != nil {
				return out, err
			}
			if err := db.Raw(`SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.TABLES
				WHERE table_schema = DATABASE() AND table_name = ?`, t.name).Scan(&t.into.bytes).Error; err != nil {
				return out, err
			}
		}
	}
	total, err := dbUsedBytes(ctx, db, dialect)
	if err != nil {
		return out, err
	}
	out.rest = total - out.results.bytes - out.rollups.bytes
	return out, nil
}

// dbUsedBytes is the space the database's tables take: SQLite's pages in
// use (page_count − freelist_count, times page_size, WAL included), or the
// sum of MySQL's data_length + index_length.
func dbUsedBytes(ctx context.Context, db *gorm.DB, dialect models.Dialect) (int64, error) {
	db = db.WithContext(ctx)
	if dialect == models.SQLite {
		return sqliteUsed(db)
	}
	var names []string
	if err := db.Raw("SELECT table_name FROM information_schema.TABLES WHERE table_schema = DATABASE()").
		Scan(&names).Error; err != nil {
		return 0, err
	}
	if len(names) > 0 {
		if err := db.Exec("ANALYZE TABLE " + strings.Join(names, ", ")).Error; err != nil {
			return 0, err
		}
	}
	var n int64
	err := db.Raw(`SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.TABLES
		WHERE table_schema = DATABASE()`).Scan(&n).Error
	return n, err
}

func sqliteUsed(db *gorm.DB) (int64, error) {
	var pages, free, size int64
	for _, q := range []struct {
		pragma string
		into   *int64
	}{{"page_count", &pages}, {"freelist_count", &free}, {"page_size", &size}} {
		if err := db.Raw("PRAGMA " + q.pragma).Scan(q.into).Error; err != nil {
			return 0, err
		}
	}
	return (pages - free) * size, nil
}

// probeReport is the figures of `portal bench probe`.
type probeReport struct {
	DB                 string  `json:"db"`
	Targets            int     `json:"targets"`
	ServiceChecks      int     `json:"service_checks"`
	IntervalS          float64 `json:"interval_s"`
	ServiceIntervalS   float64 `json:"service_interval_s"`
	DurationS          float64 `json:"duration_s"`
	MeasuredS          float64 `json:"measured_s"`
	ExpectedProbesPerS float64 `json:"expected_probes_per_s"`
	ProbesPerS         float64 `json:"probes_per_s"`
	CPUPer1000         float64 `json:"cpu_s_per_1000"`
	CPUCorePct         float64 `json:"cpu_core_pct"`
	PeakRSSMB          float64 `json:"peak_rss_mb"`
	RowsPerS           float64 `json:"rows_per_s"`
	StatementsPer1000  float64 `json:"statements_per_1000"`
	StmtsWithTxPer1000 float64 `json:"statements_incl_begin_commit_per_1000"`
	ResultsPerTx       float64 `json:"results_per_transaction"`
	CapStmtsPer1000    float64 `json:"capacity_statements_per_1000"`
	FalseFailures      int64   `json:"false_failures"`
	Skipped            int64   `json:"skipped_slots"`
	DBServerCPUPer1000 float64 `json:"db_server_cpu_s_per_1000,omitempty"`
	DBServerCorePct    float64 `json:"db_server_cpu_core_pct,omitempty"`
	BytesPerResult     float64 `json:"db_bytes_per_result_row"`
	BytesPerRollup     float64 `json:"db_bytes_per_rollup_row"`
	BytesOtherPerCheck float64 `json:"db_bytes_other_per_check"`
	LiveGrowthPerRes   float64 `json:"db_growth_bytes_per_result_live"`
	MBPerTargetYear    float64 `json:"db_mb_per_target_year"`
	BatchMax           int     `json:"batch_max"`
	BatchAgeS          float64 `json:"batch_age_s"`

	// --compare-fping: fping over the same ICMP targets in the window.
	FpingProcs        int     `json:"fping_processes,omitempty"`
	FpingProbes       int64   `json:"fping_probes,omitempty"`
	FpingCPUPer1000   float64 `json:"fping_cpu_s_per_1000,omitempty"`
	PortalVsFping     float64 `json:"portal_vs_fping,omitempty"`
	PortalDBVsFping   float64 `json:"portal_and_db_server_vs_fping,omitempty"`
	ConfirmVictims    int     `json:"confirm_victims,omitempty"`
	ConfirmThreshold  int     `json:"confirm_threshold,omitempty"`
	ConfirmP50Ms      float64 `json:"confirm_to_queued_p50_ms,omitempty"`
	ConfirmMaxMs      float64 `json:"confirm_to_queued_max_ms,omitempty"`
	ConfirmMissing    int     `json:"confirm_missing,omitempty"`
	OutageS           float64 `json:"db_outage_s,omitempty"`
	OutageSpooled     int64   `json:"db_outage_spooled,omitempty"`
	OutageReplayed    int64   `json:"db_outage_replayed,omitempty"`
	OutageFirstRowsS  float64 `json:"db_outage_first_replayed_s,omitempty"`
	OutageDrainS      float64 `json:"db_outage_drained_s,omitempty"`
	OutageReplayRowsS float64 `json:"db_outage_replay_rows_per_s,omitempty"`
	OutageTimedOut    bool    `json:"db_outage_timed_out,omitempty"`

	capacity capacityResult
	sizes    dbSizes
}

func probeBenchResult(o ProbeOptions, tdb *throwawayDB, start, from, to benchSnap, final prober.Stats,
	failedRows int64, peakRSS float64, growth int64, capRes capacityResult, sizes dbSizes) *probeReport {
	window := to.at.Sub(from.at).Seconds()
	results := float64(to.stats.Written - from.stats.Written)
	per1000 := func(x float64) float64 {
		if results == 0 {
			return 0
		}
		return x / results * 1000
	}
	r := &probeReport{DB: tdb.kind, Targets: o.Targets, ServiceChecks: o.ServiceChecks,
		IntervalS: o.Interval.Seconds(), ServiceIntervalS: o.ServiceInterval.Seconds(),
		DurationS: o.Duration.Seconds(), MeasuredS: window, PeakRSSMB: peakRSS, capacity: capRes, sizes: sizes}
	r.ExpectedProbesPerS = float64(o.Targets)/o.Interval.Seconds() + float64(o.ServiceChecks)/o.ServiceInterval.Seconds()
	r.ProbesPerS = results / window
	cpu := (to.cpu - from.cpu).Seconds()
	r.CPUPer1000 = per1000(cpu)
	r.CPUCorePct = cpu / window * 100
	stmts, txs := float64(to.stmts-from.stmts), float64(to.txs-from.txs)
	r.StatementsPer1000 = per1000(stmts)
	r.StmtsWithTxPer1000 = per1000(stmts + 2*txs)
	if txs > 0 {
		r.ResultsPerTx = results / txs
	}
	if capRes.elapsed > 0 {
		r.RowsPerS = float64(capRes.rows) / capRes.elapsed.Seconds()
	}
	if capRes.rows > 0 {
		r.CapStmtsPer1000 = float64(capRes.stmts) / float64(capRes.rows) * 1000
	}
	r.FalseFailures = max(final.Failures, failedRows)
	r.Skipped = final.Skipped
	if db := (to.dbCPU - from.dbCPU).Seconds(); db > 0 {
		r.DBServerCPUPer1000 = per1000(db)
		r.DBServerCorePct = db / window * 100
	}
	if sizes.results.rows > 0 {
		r.BytesPerResult = float64(sizes.results.bytes) / float64(sizes.results.rows)
	}
	if sizes.rollups.rows > 0 {
		r.BytesPerRollup = float64(sizes.rollups.bytes) / float64(sizes.rollups.rows)
	}
	if n := o.Targets + o.ServiceChecks; n > 0 {
		r.BytesOtherPerCheck = float64(sizes.rest) / float64(n)
	}
	if final.Written > 0 {
		r.LiveGrowthPerRes = float64(growth) / float64(final.Written)
	}
	r.MBPerTargetYear = (keptRawResults*r.BytesPerResult + yearRollupRows*r.BytesPerRollup + r.BytesOtherPerCheck) / 1e6
	for _, x := range []*float64{&r.MeasuredS, &r.ExpectedProbesPerS, &r.ProbesPerS, &r.CPUPer1000, &r.CPUCorePct, &r.PeakRSSMB,
		&r.RowsPerS, &r.StatementsPer1000, &r.StmtsWithTxPer1000, &r.ResultsPerTx, &r.CapStmtsPer1000, &r.DBServerCPUPer1000,
		&r.DBServerCorePct, &r.BytesPerResult, &r.BytesPerRollup, &r.BytesOtherPerCheck, &r.LiveGrowthPerRes, &r.MBPerTargetYear} {
		*x = roundSig(*x)
	}
	return r
}

// addPhases adds the figures of fping, the confirm phase and the
// database outage to r.
func (r *probeReport) addPhases(o ProbeOptions, fp *fpingResult, confirm *confirmResult, outage *outageResult) {
	r.BatchMax, r.BatchAgeS = o.BatchMax, o.BatchAge.Seconds()
	if r.BatchMax == 0 {
		r.BatchMax = prober.DefaultBatchMax
	}
	if r.BatchAgeS == 0 {
		r.BatchAgeS = prober.DefaultBatchAge.Seconds()
	}
	if fp != nil && fp.sent > 0 {
		r.FpingProcs, r.FpingProbes = fp.procs, fp.sent
		r.FpingCPUPer1000 = roundSig(fp.cpu.Seconds() / float64(fp.sent) * 1000)
		if r.FpingCPUPer1000 > 0 {
			r.PortalVsFping = roundSig(r.CPUPer1000 / r.FpingCPUPer1000)
			if r.DBServerCPUPer1000 > 0 {
				r.PortalDBVsFping = roundSig((r.CPUPer1000 + r.DBServerCPUPer1000) / r.FpingCPUPer1000)
			}
		}
	}
	if confirm != nil {
		r.ConfirmVictims, r.ConfirmThreshold, r.ConfirmMissing = confirm.victims, confirm.threshold, confirm.missing
		ms := func(d time.Duration) float64 { return roundSig(float64(d) / float64(time.Millisecond)) }
		if len(confirm.delays) > 0 {
			r.ConfirmP50Ms = ms(percentile(confirm.delays, 50))
			r.ConfirmMaxMs = ms(confirm.delays[len(confirm.delays)-1])
		}
	}
	if outage != nil {
		r.OutageS, r.OutageSpooled, r.OutageReplayed = outage.length.Seconds(), outage.spooled, outage.replayed
		r.OutageFirstRowsS = roundSig(outage.firstRows.Seconds())
		r.OutageDrainS = roundSig(outage.drained.Seconds())
		r.OutageReplayRowsS = roundSig(outage.rowsPerS)
		r.OutageTimedOut = outage.timedOut
	}
}

// roundSig rounds x to 4 significant digits, for a readable JSON line.
func roundSig(x float64) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	p := math.Pow(10, 3-math.Floor(math.Log10(math.Abs(x))))
	return math.Round(x*p) / p
}

func (r *probeReport) print(w io.Writer) {
	fmt.Fprintf(w, "portal bench probe: %d ICMP targets every %gs + %d service checks every %gs on %s, %gs run (%.0fs measured after %.0fs warm-up)\n\n",
		r.Targets, r.IntervalS, r.ServiceChecks, r.ServiceIntervalS, r.DB, r.DurationS, r.MeasuredS, r.DurationS-r.MeasuredS)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tvalue\tnote")
	row := func(name, value, note string) { fmt.Fprintf(tw, "%s\t%s\t%s\n", name, value, note) }
	row("probes/s", fmt.Sprintf("%.1f", r.ProbesPerS), fmt.Sprintf("results stored / measured time; %.1f expected", r.ExpectedProbesPerS))
	row("CPU s per 1,000 probes", fmt.Sprintf("%.3f", r.CPUPer1000), fmt.Sprintf("getrusage user+sys of this process = %.1f%% of one core", r.CPUCorePct))
	if r.DBServerCPUPer1000 > 0 {
		row("  database server CPU", fmt.Sprintf("%.3f", r.DBServerCPUPer1000), fmt.Sprintf("s per 1,000 probes, outside this process = %.1f%% of one core", r.DBServerCorePct))
	}
	row("peak RSS", fmt.Sprintf("%.1f MB", r.PeakRSSMB), "VmHWM during the run (reset at its start)")
	row("SQL statements per 1,000 probes", fmt.Sprintf("%.1f", r.StatementsPer1000),
		fmt.Sprintf("%.1f with BEGIN/COMMIT; %.0f results per transaction", r.StmtsWithTxPer1000, r.ResultsPerTx))
	row("false failures", strconv.FormatInt(r.FalseFailures, 10), fmt.Sprintf("results with ok=false (every target is up); %d slots skipped", r.Skipped))
	row("result rows/s", fmt.Sprintf("%.0f", r.RowsPerS), fmt.Sprintf("capacity phase after the run: RecordResults, %d batches of %d results for distinct checks in %.1fs, %.1f statements per 1,000",
		r.capacity.batches, r.capacity.perBatch, r.capacity.elapsed.Seconds(), r.CapStmtsPer1000))
	row("database per target and year", fmt.Sprintf("%.2f MB", r.MBPerTargetYear), "at a 5-minute interval, 90 days raw + a year of rollups (formula below)")
	row("batch writer", fmt.Sprintf("%d / %gs", r.BatchMax, r.BatchAgeS), "a batch is written at this many results or when its oldest is this old; at once on a state change")
	if r.FpingProbes > 0 {
		note := fmt.Sprintf("%d pings by %d fping -l process(es) over the same targets in the measured window; portal ÷ fping = %.2f×",
			r.FpingProbes, r.FpingProcs, r.PortalVsFping)
		if r.PortalDBVsFping > 0 {
			note += fmt.Sprintf(" (%.2f× with the database server)", r.PortalDBVsFping)
		}
		row("  fping CPU s per 1,000", fmt.Sprintf("%.3f", r.FpingCPUPer1000), note)
	}
	if r.ConfirmVictims > 0 {
		row("confirm → queued", fmt.Sprintf("p50 %.0f ms, max %.0f ms", r.ConfirmP50Ms, r.ConfirmMaxMs),
			fmt.Sprintf("%d TCP checks going down after the window (threshold %d): the probe reaching the threshold → outage row and outbox event read back; %d not seen in time",
				r.ConfirmVictims, r.ConfirmThreshold, r.ConfirmMissing))
	}
	if r.OutageS > 0 {
		v := fmt.Sprintf("%.0f rows/s", r.OutageReplayRowsS)
		if r.OutageTimedOut {
			v = "not drained in 15 min"
		}
		row("spool replay", v, fmt.Sprintf("after %gs without the database: %d results spooled, %d replayed; first chunk stored %.1fs after it came back, spool empty after %.1fs",
			r.OutageS, r.OutageSpooled, r.OutageReplayed, r.OutageFirstRowsS, r.OutageDrainS))
	}
	tw.Flush()
	fmt.Fprintf(w, "\ndatabase size: %d result rows take %s (%.1f bytes/row), %d rollup rows %s (%.1f bytes/row), the other tables %s (%.0f bytes per check);\n",
		r.sizes.results.rows, mb(r.sizes.results.bytes), r.BytesPerResult, r.sizes.rollups.rows, mb(r.sizes.rollups.bytes), r.BytesPerRollup,
		mb(r.sizes.rest), r.BytesOtherPerCheck)
	fmt.Fprintf(w, "  a target probed every 5 minutes makes %d results a year; retention keeps %d of them (90 days) and %d hourly+daily rollups (365×24 + 365):\n",
		yearResults, keptRawResults, yearRollupRows)
	fmt.Fprintf(w, "  %d × %.1f B + %d × %.1f B + %.0f B = %.2f MB (10^6 bytes) per target and year, indexes included\n",
		keptRawResults, r.BytesPerResult, yearRollupRows, r.BytesPerRollup, r.BytesOtherPerCheck, r.MBPerTargetYear)
	fmt.Fprintf(w, "  (growth during the live run alone: %.0f bytes per stored result, rollups and check rows included)\n", r.LiveGrowthPerRes)
	b, _ := json.Marshal(r)
	fmt.Fprintln(w, string(b))
}

func mb(b int64) string { return fmt.Sprintf("%.2f MB", float64(b)/1e6) }

// stmtCounter counts the SQL sent to the database: statements (Exec and
// Query) and transactions (each also a BEGIN and a COMMIT or ROLLBACK).
type stmtCounter struct {
	stmts, txs atomic.Int64
	// down makes every statement and BEGIN outside a transaction fail,
	// as if the database were away (--db-outage).
	down atomic.Bool
}

// countingPool is gorm's connection pool with every statement counted: the
// database/sql level, below gorm, so nothing is missed.
type countingPool struct {
	db *sql.DB
	n  *stmtCounter
}

func (p *countingPool) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return p.db.PrepareContext(ctx, q)
}

func (p *countingPool) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if p.n.down.Load() {
		return nil, errBenchDBAway
	}
	p.n.stmts.Add(1)
	return p.db.ExecContext(ctx, q, args...)
}

func (p *countingPool) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if p.n.down.Load() {
		return nil, errBenchDBAway
	}
	p.n.stmts.Add(1)
	return p.db.QueryContext(ctx, q, args...)
}

func (p *countingPool) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if p.n.down.Load() {
		cctx, cancel := context.WithCancel(ctx)
		cancel() // a row that answers the cancelled context's error
		return p.db.QueryRowContext(cctx, q, args...)
	}
	p.n.stmts.Add(1)
	return p.db.QueryRowContext(ctx, q, args...)
}

// BeginTx makes countingPool a gorm.ConnPoolBeginner.
func (p *countingPool) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	if p.n.down.Load() {
		return nil, errBenchDBAway
	}
	tx, err := p.db.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	p.n.txs.Add(1)
	return &countingTx{tx: tx, n: p.n}, nil
}

// GetDBConn lets gorm's DB() (Ping, Close) reach the *sql.DB.
func (p *countingPool) GetDBConn() (*sql.DB, error) { return p.db, nil }

type countingTx struct {
	tx *sql.Tx
	n  *stmtCounter
}

func (t *countingTx) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return t.tx.PrepareContext(ctx, q)
}

func (t *countingTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	t.n.stmts.Add(1)
	return t.tx.ExecContext(ctx, q, args...)
}

func (t *countingTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	t.n.stmts.Add(1)
	return t.tx.QueryContext(ctx, q, args...)
}

func (t *countingTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	t.n.stmts.Add(1)
	return t.tx.QueryRowContext(ctx, q, args...)
}

func (t *countingTx) StmtContext(ctx context.Context, s *sql.Stmt) *sql.Stmt {
	return t.tx.StmtContext(ctx, s)
}
func (t *countingTx) Commit() error   { return t.tx.Commit() }
func (t *countingTx) Rollback() error { return t.tx.Rollback() }

// openBenchStore opens url, counting statements with counter when it is
// not nil, and applies the migrations. It returns the gorm handle too, for
// the size measurements.
func openBenchStore(ctx context.Context, url string, counter *stmtCounter, opts ...models.StoreOption) (*models.Store, *gorm.DB, error) {
	db, _, err := models.Open(ctx, models.OpenOptions{URL: url})
	if err != nil {
		return nil, nil, err
	}
	if counter != nil {
		sqlDB, err := db.DB()
		if err != nil {
			return nil, nil, err
		}
		pool := &countingPool{db: sqlDB, n: counter}
		db.ConnPool = pool
		db.Statement.ConnPool = pool
	}
	store := models.NewStore(db, opts...)
	if _, err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, nil, err
	}
	return store, db, nil
}

// throwawayDB is the database a benchmark fills and deletes.
type throwawayDB struct {
	url  string // for models.Open
	kind string // "sqlite" or "mysql"
	desc string // for the log
	host string // MySQL's host, to find a local server's process
	drop func()
}

// newThrowawayDB makes the database named by raw: empty is a temporary
// SQLite file, sqlite:PATH a new SQLite file (which must not exist yet),
// mysql://… a database portal_bench_<random> created on that server.
func newThrowawayDB(ctx context.Context, raw string) (*throwawayDB, error) {
	switch {
	case raw == "":
		dir, err := os.MkdirTemp("", "portal-bench-")
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, "bench.db")
		return &throwawayDB{url: "sqlite:" + path, kind: "sqlite", desc: "SQLite " + path,
			drop: func() { _ = os.RemoveAll(dir) }}, nil
	case strings.HasPrefix(raw, "sqlite:"):
		path := strings.TrimPrefix(raw, "sqlite:")
		if _, err := os.Stat(path); err == nil {
			return nil, fmt.Errorf("bench: %s exists; the benchmark wants a new file, which it deletes afterwards", path)
		}
		return &throwawayDB{url: raw, kind: "sqlite", desc: "SQLite " + path, drop: func() {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				_ = os.Remove(path + suffix)
			}
		}}, nil
	case strings.HasPrefix(raw, "mysql://"):
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("bench: --db: %w", err)
		}
		admin := *u
		admin.Path = "/mysql"
		dsn, err := models.MySQLDSN(admin.String())
		if err != nil {
			return nil, err
		}
		db, err := gorm.Open(mysql.Open(dsn), &gorm.Config{Logger: logger.Discard})
		if err != nil {
			return nil, fmt.Errorf("bench: MySQL at %s: %w", u.Host, err)
		}
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		name := "portal_bench_" + hex.EncodeToString(b)
		if err := db.WithContext(ctx).Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci").Error; err != nil {
			closeGorm(db)
			return nil, fmt.Errorf("bench: create database %s: %w", name, err)
		}
		bench := *u
		bench.Path = "/" + name
		return &throwawayDB{url: bench.String(), kind: "mysql", desc: "MySQL database " + name + " on " + u.Host,
			host: u.Hostname(), drop: func() {
				if err := db.Exec("DROP DATABASE IF EXISTS " + name).Error; err != nil {
					fmt.Fprintf(os.Stderr, "bench: drop database %s: %v\n", name, err)
				}
				closeGorm(db)
			}}, nil
	}
	return nil, errors.New("bench: --db must be empty, sqlite:PATH or mysql://user:pass@host:port/db")
}

// shellError words a validation error for a shell user, in English.
func shellError(what string, err error) error {
	if v, ok := models.AsValidation(err); ok {
		return fmt.Errorf("%s: %s: %s", what, v.Field, english(v))
	}
	return fmt.Errorf("%s: %w", what, err)
}

func english(v *models.ValidationError) string {
	return locales.For("en").T(v.Key, v.Args...)
}

func closeGorm(db *gorm.DB) {
	if s, err := db.DB(); err == nil {
		_ = s.Close()
	}
}

// benchServers are the local listeners the service checks probe.
type benchServers struct {
	http, tcp, smtp, ftp net.Listener
	hs                   *http.Server
	wg                   sync.WaitGroup
}

// startBenchServers starts an HTTP server, a bare TCP listener, and fake
// SMTP (220, 250 to EHLO, 221 to QUIT) and FTP (220, 221 to QUIT) servers
// on random ports of 127.0.0.1.
func startBenchServers() (*benchServers, error) {
	s := &benchServers{}
	for _, l := range []*net.Listener{&s.http, &s.tcp, &s.smtp, &s.ftp} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.close()
			return nil, fmt.Errorf("bench: listen: %w", err)
		}
		*l = ln
	}
	s.hs = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok\n")
	})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.hs.Serve(s.http)
	}()
	s.serve(s.tcp, func(c net.Conn) {})
	s.serve(s.smtp, func(c net.Conn) {
		lineServer(c, "220 bench.localhost ESMTP ready", func(cmd string) (string, bool) {
			switch cmd {
			case "EHLO", "HELO":
				return "250 bench.localhost", false
			case "QUIT":
				return "221 bye", true
			}
			return "502 not implemented", false
		})
	})
	s.serve(s.ftp, func(c net.Conn) {
		lineServer(c, "220 bench FTP ready", func(cmd string) (string, bool) {
			if cmd == "QUIT" {
				return "221 bye", true
			}
			return "502 not implemented", false
		})
	})
	return s, nil
}

// serve accepts on ln and handles each connection in its own goroutine,
// closing it afterwards.
func (s *benchServers) serve(ln net.Listener, handle func(net.Conn)) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					continue
				}
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				handle(c)
			}()
		}
	}()
}

// lineServer greets c, then answers each command line until answer says
// the session is over or the client goes.
func lineServer(c net.Conn, greeting string, answer func(cmd string) (reply string, done bool)) {
	w := bufio.NewWriter(c)
	_, _ = w.WriteString(greeting + "\r\n")
	if w.Flush() != nil {
		return
	}
	r := bufio.NewReader(io.LimitReader(c, 64<<10))
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		reply, done := answer(strings.ToUpper(cmd))
		_, _ = w.WriteString(reply + "\r\n")
		if w.Flush() != nil || done {
			return
		}
	}
}

// checks are one check of each kind the listeners serve.
func (s *benchServers) checks() []models.CheckInput {
	return []models.CheckInput{
		{Kind: models.KindHTTP, Target: "http://" + s.http.Addr().String() + "/"},
		{Kind: models.KindTCP, Target: s.tcp.Addr().String()},
		{Kind: models.KindSMTP, Target: s.smtp.Addr().String()},
		{Kind: models.KindFTP, Target: s.ftp.Addr().String()},
	}
}

func (s *benchServers) close() {
	if s.hs != nil {
		_ = s.hs.Close()
	}
	for _, ln := range []net.Listener{s.http, s.tcp, s.smtp, s.ftp} {
		if ln != nil {
			_ = ln.Close()
		}
	}
	s.wg.Wait()
}

// dbServer is a database server process on this machine whose CPU time the
// benchmark reads from /proc, as it is not in this process's rusage.
type dbServer struct{ pid int }

// findDBServer finds a local mariadbd or mysqld for a MySQL database on
// this machine; nil otherwise.
func findDBServer(tdb *throwawayDB) *dbServer {
	if tdb.kind != "mysql" {
		return nil
	}
	if ip := net.ParseIP(tdb.host); tdb.host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err != nil {
			continue
		}
		if c := strings.TrimSpace(string(comm)); c == "mariadbd" || c == "mysqld" {
			return &dbServer{pid: pid}
		}
	}
	return nil
}

// cpu is the server's user+system time so far (0 when unknown).
func (d *dbServer) cpu() time.Duration {
	if d == nil {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", d.pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses: state is
	// field 3, utime 14 and stime 15, in clock ticks (USER_HZ, 100 on Linux).
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// resetPeakRSS starts the resident-set high-water mark afresh (Linux:
// writing 5 to clear_refs), so the peak measured is the run's, not the
// setup's.
func resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSSMB is the resident-set high-water mark in MB (10^6 bytes): VmHWM
// from /proc, else getrusage's maxrss.
func peakRSSMB() float64 {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
				kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				if err == nil {
					return float64(kb) * 1024 / 1e6
				}
			}
		}
	}
	return float64(maxRSSBytes()) / 1e6
}
