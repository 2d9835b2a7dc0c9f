package prober

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"github.com/colo-portal/portal/models/metricstest"
)

// A probe round moves the prober's series on its registry: probes by kind
// and outcome, failures by reason, round-trip times, batch sizes and
// flush times, results written, checks held, lease rounds.
func TestMetricsMoveWithAProbeRound(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			clock := newManualClock()
			s := dbtest.Open(t, db, models.WithClock(clock.Now))
			f := newProberFixture(t, s, models.KindICMP, models.KindTCP, models.KindHTTP)
			failing := f.checks[1].ID // the TCP check times out from its 2nd probe on
			rec := newProbeRecorder(clock)
			rec.fail = func(c *models.Check, n int) bool { return c.ID == failing && n >= 1 }
			reg := prometheus.NewRegistry()
			r := start(t, Config{InstanceID: "solo", Clock: clock, SpoolPath: t.TempDir() + "/prober.spool", Metrics: reg},
				s, rec.probeFunc("solo"))
			eventually(t, "the prober holds the 3 checks", func() bool { return r.p.Stats().Checks == 3 })

			before := metricstest.Gather(t, reg)
			for _, name := range []string{"portal_probes_total", "portal_probe_failures_total", "portal_prober_results_total",
				"portal_prober_checks_held", "portal_prober_lease_rounds_total", "portal_prober_spool_depth", "portal_prober_spooling"} {
				if before[name] == nil {
					t.Errorf("no %s series before the first probe; have %v", name, before.Names("portal_"))
				}
			}
			if v, _ := before.Value("portal_prober_checks_held"); v != 3 {
				t.Errorf("portal_prober_checks_held = %v, want 3", v)
			}
			if v, ok := before.Value("portal_probes_total", "kind", "icmp", "outcome", "ok"); !ok || v != 0 {
				t.Errorf("portal_probes_total{kind=icmp,outcome=ok} before any probe = %v (%v), want a series at 0", v, ok)
			}

			clock.run(35 * time.Second)
			r.stop(t)
			after := metricstest.Gather(t, reg)
			val := func(name string, labels ...string) float64 {
				t.Helper()
				v, ok := after.Value(name, labels...)
				if !ok {
					t.Errorf("no series %s%v", name, labels)
				}
				return v
			}
			calls := func(id int64) float64 { return float64(len(rec.callsOf(id))) }
			icmp, tcp, http := f.checks[0].ID, failing, f.checks[2].ID
			if got, want := val("portal_probes_total", "kind", "icmp", "outcome", "ok"), calls(icmp); got != want || got < 3 {
				t.Errorf("icmp probes ok = %v, want %v (the probes run, at least 3)", got, want)
			}
			if got, want := val("portal_probes_total", "kind", "tcp", "outcome", "failed"), calls(tcp)-1; got != want || got < 2 {
				t.Errorf("tcp probes failed = %v, want %v", got, want)
			}
			if got := val("portal_probes_total", "kind", "tcp", "outcome", "ok"); got != 1 {
				t.Errorf("tcp probes ok = %v, want 1", got)
			}
			if got, want := val("portal_probe_failures_total", "reason", models.ReasonTimeout), calls(tcp)-1; got != want {
				t.Errorf("failures by timeout = %v, want %v", got, want)
			}
			// A histogram's value here is its count of observations: one
			// round-trip time per successful probe.
			if got, want := val("portal_probe_rtt_seconds", "kind", "http"), calls(http); got != want {
				t.Errorf("http round-trip times observed %v, want %v", got, want)
			}
			total := calls(icmp) + calls(tcp) + calls(http)
			if got := val("portal_prober_results_total", "path", "written"); got != total {
				t.Errorf("results written = %v, want %v (every probe)", got, total)
			}
			if got := val("portal_prober_batch_size", "writer", "results"); got < 2 {
				t.Errorf("batches observed %v, want at least 2 (the failure went out at once)", got)
			}
			if got, want := val("portal_prober_flush_seconds", "writer", "results"), val("portal_prober_batch_size", "writer", "results"); got != want {
				t.Errorf("flush times observed %v, batch sizes %v: want one of each per write", got, want)
			}
			var sum float64
			for _, m := range after["portal_prober_batch_size"].GetMetric() {
				sum += m.GetHistogram().GetSampleSum()
			}
			if sum != total {
				t.Errorf("batch sizes add up to %v, want %v", sum, total)
			}
			if got := val("portal_prober_lease_rounds_total", "outcome", "ok"); got < 2 {
				t.Errorf("lease rounds ok = %v, want at least 2 in 35 s (every 15 s)", got)
			}
			if got := val("portal_prober_spool_depth", "spool", "results"); got != 0 {
				t.Errorf("spool depth %v, want 0 (the database took everything)", got)
			}
			if got := val("portal_prober_checks_held"); got != 0 {
				t.Errorf("checks held after stop = %v, want 0", got)
			}
		})
	}
}

// While the database refuses writes the spool's depth and the spooling
// flag say so, and go back to 0 when it is replayed.
func TestMetricsShowTheSpool(t *testing.T) {
	f := newTestWriter(t, 100, time.Second, 10)
	p := New(Config{InstanceID: "x"}, nil, nil, nil)
	f.w.m = p.m.results
	reg := prometheus.NewRegistry()
	p.register(reg)
	depth := func() (float64, float64) {
		fams := metricstest.Gather(t, reg)
		d, _ := fams.Value("portal_prober_spool_depth", "spool", "results")
		s, _ := fams.Value("portal_prober_spooling", "spool", "results")
		return d, s
	}
	f.rec.setDown(true)
	for range 3 {
		for id := int64(1); id <= 10; id++ {
			f.add(id, true)
		}
		f.clock.Advance(time.Second)
		f.w.step()
	}
	if d, s := depth(); d != 30 || s != 1 {
		t.Errorf("database away: spool depth %v, spooling %v; want 30 results (a memory spool) and 1", d, s)
	}
	if v, _ := metricstest.Gather(t, reg).Value("portal_prober_flush_errors_total", "writer", "results"); v < 1 {
		t.Errorf("flush errors %v, want at least 1", v)
	}
	f.rec.setDown(false)
	f.w.databaseBack()
	f.w.step()
	if d, s := depth(); d != 0 || s != 0 {
		t.Errorf("replayed: spool depth %v, spooling %v; want 0 and 0", d, s)
	}
}

// A prober without a registry counts all the same, and a second prober on
// a registry that has the first's series is refused them, not a panic.
func TestMetricsWithoutOrWithASharedRegistry(t *testing.T) {
	p := New(Config{InstanceID: "a"}, nil, nil, nil)
	p.m.probed(models.KindTCP, false, 0, "something new")
	p.m.probed(models.KindICMP, true, time.Millisecond, "")
	reg := prometheus.NewRegistry()
	p.register(reg)
	New(Config{InstanceID: "b", Metrics: reg}, nil, nil, nil)
	fams := metricstest.Gather(t, reg)
	if v, _ := fams.Value("portal_probe_failures_total", "reason", models.ReasonError); v != 1 {
		t.Errorf("an unknown reason counted as %v errors, want 1", v)
	}
	if v, _ := fams.Value("portal_probe_rtt_seconds", "kind", "icmp"); v != 1 {
		t.Errorf("icmp round trips %v, want 1", v)
	}
	if got := fams.LabelValues("portal_probe_failures_total", "reason"); len(got) != len(probeReasons) {
		t.Errorf("failure reasons %v, want exactly the known ones %v", got, probeReasons)
	}
}

// The probe path's cost of the series: counting one probe with its
// round-trip time, and one failure with its reason (docs/benchmarks.md).
func BenchmarkProbeMetrics(b *testing.B) {
	p := New(Config{InstanceID: "bench", Metrics: prometheus.NewRegistry()}, nil, nil, nil)
	b.Run("ok", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			p.m.probed(models.KindICMP, true, 1500*time.Microsecond, "")
		}
	})
	b.Run("failed", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			p.m.probed(models.KindHTTPS, false, 0, models.ReasonTimeout)
		}
	})
}
