package bench

import (
	"io"
	"math"
	"os"
	"testing"
)

// benchDB is the database the tiny benchmarks run on: SQLite, or a
// throw-away MySQL database on the server PORTAL_TEST_MYSQL_DSN names.
func benchDB() string { return os.Getenv("PORTAL_TEST_MYSQL_DSN") }

func TestBenchSNMPTiny(t *testing.T) {
	const switches, ports, rounds, maxOIDs = 3, 12, 3, 10
	out, got := benchJSON(t, func(w io.Writer) error {
		return SNMP(t.Context(), SNMPOptions{Switches: switches, Ports: ports, Rounds: rounds, MaxOIDs: maxOIDs,
			Only32Every: 4, Workers: 2, DB: benchDB()}, w)
	})
	// Every poll answered, none refused.
	for _, k := range []string{"too_big", "dropped", "failed_polls"} {
		if v := number(t, got, k); v != 0 {
			t.Errorf("%s = %v, want 0\n%s", k, v, out)
		}
	}
	// Each switch's round is its variables in full GETs of maxOIDs: the
	// requests the agents answered are ceil(variables/maxOIDs) per switch
	// and round, and the polls counted the same.
	vars := number(t, got, "variables")
	perSwitchRound := vars / (switches * rounds)
	if perSwitchRound != math.Trunc(perSwitchRound) || perSwitchRound < 3*ports {
		t.Fatalf("variables = %v: want the same whole number per switch and round, at least 3 a port (in, out, state)\n%s", vars, out)
	}
	want := switches * rounds * math.Ceil(perSwitchRound/maxOIDs)
	for _, k := range []string{"requests", "agent_requests", "poll_requests"} {
		if v := number(t, got, k); v != want {
			t.Errorf("%s = %v, want %v (%v variables a switch and round, %d a GET)\n%s", k, v, want, perSwitchRound, maxOIDs, out)
		}
	}
	// One row a port and round, written and read back; every round but
	// the first has deltas, with the rate the agent serves.
	for _, k := range []string{"rows", "stored_rows"} {
		if v := number(t, got, k); v != switches*ports*rounds {
			t.Errorf("%s = %v, want %d\n%s", k, v, switches*ports*rounds, out)
		}
	}
	if v := number(t, got, "valid_samples"); v != switches*ports*(rounds-1) {
		t.Errorf("valid_samples = %v, want %d (all but the first round's)\n%s", v, switches*ports*(rounds-1), out)
	}
	if v := number(t, got, "rate_mismatches"); v != 0 {
		t.Errorf("rate_mismatches = %v, want 0\n%s", v, out)
	}
	if s, r := number(t, got, "bytes_sent"), number(t, got, "bytes_received"); s <= 0 || r <= s {
		t.Errorf("bytes sent %v, received %v: want answers (values) bigger than the questions (names)\n%s", s, r, out)
	}
	if v := number(t, got, "requests_per_1000"); math.Abs(v-want/rounds/(switches*ports)*1000) > 0.1 {
		t.Errorf("requests_per_1000 = %v, want %v\n%s", v, want/rounds/(switches*ports)*1000, out)
	}
	if v := number(t, got, "statements"); v < rounds {
		t.Errorf("statements = %v, want at least one INSERT a round\n%s", v, out)
	}
	number(t, got, "cpu_s_per_1000")
	number(t, got, "agent_cpu_s_per_1000")
	if d, ok := got["round_details"].([]any); !ok || len(d) != rounds {
		t.Errorf("round_details = %v, want %d rounds", got["round_details"], rounds)
	}
}
