package bench

import (
	"io"
	"testing"
	"time"

	"github.com/colo-portal/portal/prober"
)

// The phases after the measured window: victims going down are confirmed
// and their outages stored and queued, a database outage spools results
// (longer than the batch age, so a flush fails) that are all replayed, and fping (when installed) is compared.
func TestBenchProbePhases(t *testing.T) {
	if p, err := prober.NewPinger(nil); err != nil {
		t.Skipf("no ICMP socket here: %v", err)
	} else {
		p.Close()
	}
	out, got := benchJSON(t, func(w io.Writer) error {
		return Probe(t.Context(), ProbeOptions{Targets: 20, Interval: 10 * time.Second, ServiceInterval: 10 * time.Second,
			Duration: 3 * time.Second, Capacity: 200 * time.Millisecond, Victims: 2, DBOutage: 8 * time.Second,
			CompareFping: true}, w)
	})
	if v := number(t, got, "confirm_victims"); v != 2 {
		t.Errorf("confirm_victims = %v, want 2\n%s", v, out)
	}
	if _, missing := got["confirm_missing"]; missing || number(t, got, "confirm_to_queued_max_ms") <= 0 {
		t.Errorf("confirm phase: missing %v, max %v; want every victim measured\n%s", got["confirm_missing"], got["confirm_to_queued_max_ms"], out)
	}
	if v := number(t, got, "false_failures"); v != 0 {
		t.Errorf("false_failures = %v: the victims' failures were counted\n%s", v, out)
	}
	spooled, replayed := number(t, got, "db_outage_spooled"), number(t, got, "db_outage_replayed")
	if spooled <= 0 || replayed != spooled || got["db_outage_timed_out"] != nil {
		t.Errorf("outage: %v spooled, %v replayed, timed out %v; want all replayed\n%s", spooled, replayed, got["db_outage_timed_out"], out)
	}
	if fpingPath() != "" {
		if v := number(t, got, "fping_probes"); v <= 0 {
			t.Errorf("fping_probes = %v with fping installed\n%s", v, out)
		}
	}
}
