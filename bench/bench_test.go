package bench

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/prober"
)

// benchJSON runs a benchmark and decodes its last line.
func benchJSON(t *testing.T, run func(io.Writer) error) (string, map[string]any) {
	t.Helper()
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatalf("benchmark: %v\n%s", err, out.String())
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
		t.Fatalf("last line is not one JSON object: %v\n%s", err, out.String())
	}
	return out.String(), got
}

func number(t *testing.T, m map[string]any, key string) float64 {
	t.Helper()
	v, ok := m[key].(float64)
	if !ok {
		t.Fatalf("key %q: %v (%T), want a number in %v", key, m[key], m[key], m)
	}
	return v
}

func TestBenchProbeTiny(t *testing.T) {
	if p, err := prober.NewPinger(nil); err != nil {
		t.Skipf("no ICMP socket here: %v", err)
	} else {
		p.Close()
	}
	out, got := benchJSON(t, func(w io.Writer) error {
		return Probe(t.Context(), ProbeOptions{Targets: 40, ServiceChecks: 8, Interval: 10 * time.Second,
			ServiceInterval: 10 * time.Second, Duration: 3 * time.Second, Capacity: 500 * time.Millisecond,
			BatchAge: 500 * time.Millisecond}, w) // batches younger than the default 5 s, which is longer than the run
	})
	for _, k := range []string{"probes_per_s", "cpu_s_per_1000", "peak_rss_mb", "rows_per_s", "statements_per_1000",
		"false_failures", "db_mb_per_target_year"} {
		number(t, got, k)
	}
	if v := number(t, got, "probes_per_s"); v <= 0 {
		t.Errorf("probes_per_s = %v, want > 0\n%s", v, out)
	}
	if v := number(t, got, "false_failures"); v != 0 {
		t.Errorf("false_failures = %v, want 0 (every target is up)\n%s", v, out)
	}
	if v := number(t, got, "rows_per_s"); v <= 0 {
		t.Errorf("rows_per_s = %v, want > 0\n%s", v, out)
	}
	if v := number(t, got, "peak_rss_mb"); v <= 1 || v > 4000 {
		t.Errorf("peak_rss_mb = %v, want a plausible size\n%s", v, out)
	}
	// Each flush is one RecordResults of at least 4 statements.
	if v := number(t, got, "statements_per_1000"); v < 4 {
		t.Errorf("statements_per_1000 = %v, want at least 4 per 1,000\n%s", v, out)
	}
	if v := number(t, got, "db_mb_per_target_year"); v <= 0 || v > 100 {
		t.Errorf("db_mb_per_target_year = %v, want a plausible size\n%s", v, out)
	}
	if got["db"] != "sqlite" {
		t.Errorf("db = %v, want sqlite", got["db"])
	}
}

func TestBenchPagesTiny(t *testing.T) {
	out, got := benchJSON(t, func(w io.Writer) error {
		return Pages(t.Context(), PagesOptions{Devices: 3, Fleet: 12, Orgs: 3, Days: 10, Iterations: 3}, w)
	})
	for _, page := range []string{"uptime", "device_1y", "device_30d", "device_24h", "fleet"} {
		for _, q := range []string{"_p50_ms", "_p95_ms"} {
			if v := number(t, got, page+q); v <= 0 || v > 10_000 {
				t.Errorf("%s%s = %v ms, want a plausible time\n%s", page, q, v, out)
			}
		}
	}
	// 10 days every 5 minutes, all kept raw, for 3 devices.
	if v := number(t, got, "raw_results"); v < 3*10*288 || v > 3*11*288 {
		t.Errorf("raw_results = %v, want about %d", v, 3*10*288)
	}
	if v := number(t, got, "outages"); v < 1 {
		t.Errorf("outages = %v, want a few", v)
	}
}

func TestLoopbackAddr(t *testing.T) {
	seen := map[string]bool{}
	for i := range 254 * 256 * 2 {
		a, err := loopbackAddr(i)
		if err != nil {
			t.Fatal(err)
		}
		if seen[a] || strings.HasSuffix(a, ".0") || strings.HasSuffix(a, ".255") || !models.ValidHost(a) {
			t.Fatalf("target %d: %s repeated or not a host address", i, a)
		}
		seen[a] = true
	}
	if a, _ := loopbackAddr(0); a != "127.1.0.1" {
		t.Errorf("first target %s, want 127.1.0.1", a)
	}
	if a, _ := loopbackAddr(254); a != "127.1.1.1" {
		t.Errorf("target 255 is %s, want 127.1.1.1", a)
	}
}

func TestPercentile(t *testing.T) {
	ds := make([]time.Duration, 100)
	for i := range ds {
		ds[i] = time.Duration(i+1) * time.Millisecond
	}
	if p := percentile(ds, 50); p != 50*time.Millisecond {
		t.Errorf("p50 = %s", p)
	}
	if p := percentile(ds, 95); p != 95*time.Millisecond {
		t.Errorf("p95 = %s", p)
	}
}
