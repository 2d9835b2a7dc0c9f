package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/bench"
)

// The benchmarks themselves are tested in package bench; here, that the
// command reads its flags into the options and refuses bad ones.

func TestBenchFlags(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"nope"},
		{"probe", "--targets", "0", "--service-checks", "0"},
		{"probe", "--interval", "1s"},
		{"probe", "--duration", "1s", "--warmup", "2s"},
		{"probe", "--db", "postgres://x"},
		{"probe", "--batch-age", "10s"},
		{"probe", "--victims", "-1"},
		{"probe", "--db-outage", "-1s"},
		{"pages", "--devices", "0"},
		{"pages", "extra"},
		{"outages", "--devices", "0"},
		{"outages", "--orgs", "20", "--devices", "10"},
		{"outages", "--contacts", "0"},
		{"outages", "--window", "-1s"},
		{"outages", "extra"},
		{"signin", "--guesses", "0"},
		{"signin", "--email", "a@b.example"},
		{"signin", "--anonymous", "-1", "--guesses", "0"},
		{"snmp", "--switches", "0"},
		{"snmp", "--max-oids", "0"},
		{"snmp", "--only32-every", "-1"},
		{"snmp", "--interval", "10s"},
		{"snmp", "extra"},
	} {
		var out bytes.Buffer
		err := run(t.Context(), append([]string{"bench"}, args...), nil, &out, env(map[string]string{}))
		if err == nil {
			t.Errorf("portal bench %q: no error", args)
		}
	}
}

func TestBenchFlagsToOptions(t *testing.T) {
	p, err := benchProbeFlags([]string{"--targets", "40", "--service-checks", "8", "--interval", "10s",
		"--service-interval", "20s", "--duration", "3s", "--capacity", "500ms", "--db", "sqlite:/tmp/x.db"})
	if err != nil {
		t.Fatal(err)
	}
	want := bench.ProbeOptions{Targets: 40, ServiceChecks: 8, Interval: 10 * time.Second, ServiceInterval: 20 * time.Second,
		Duration: 3 * time.Second, Warmup: 1500 * time.Millisecond, Capacity: 500 * time.Millisecond, DB: "sqlite:/tmp/x.db",
		Victims: 10}
	if p != want {
		t.Errorf("probe options = %+v, want %+v (the warm-up defaults to at most half the duration)", p, want)
	}
	p, err = benchProbeFlags([]string{"--batch", "20000", "--batch-age", "2s", "--victims", "0", "--db-outage", "2m", "--compare-fping"})
	if err != nil || p.BatchMax != 20000 || p.BatchAge != 2*time.Second || p.Victims != 0 || p.DBOutage != 2*time.Minute || !p.CompareFping {
		t.Errorf("probe options = %+v, %v; want batch 20000, age 2s, no victims, a 2-minute outage, fping", p, err)
	}
	g, err := benchPagesFlags([]string{"--devices", "3", "--fleet", "12", "--orgs", "3", "--days", "10", "--iterations", "4"})
	if err != nil {
		t.Fatal(err)
	}
	if w := (bench.PagesOptions{Devices: 3, Fleet: 12, Orgs: 3, Days: 10, Iterations: 4}); g != w {
		t.Errorf("pages options = %+v, want %+v", g, w)
	}
	u, err := benchOutagesFlags(nil)
	if w := (bench.OutagesOptions{Devices: 10000, Orgs: 100, Contacts: 2, Window: time.Minute, OneOrgDevices: 2000, Iterations: 20}); err != nil || u != w {
		t.Errorf("outages defaults = %+v, %v; want %+v (the issue's storm)", u, err, w)
	}
	u, err = benchOutagesFlags([]string{"--devices", "500", "--orgs", "5", "--contacts", "3", "--window", "1m",
		"--one-org-devices", "0", "--iterations", "4", "--timeout", "5m", "--db", "sqlite:/tmp/x.db"})
	if w := (bench.OutagesOptions{Devices: 500, Orgs: 5, Contacts: 3, Window: time.Minute, Iterations: 4,
		Timeout: 5 * time.Minute, DB: "sqlite:/tmp/x.db"}); err != nil || u != w {
		t.Errorf("outages options = %+v, %v; want %+v", u, err, w)
	}
	n, err := benchSNMPFlags(nil)
	if w := (bench.SNMPOptions{Switches: 20, Ports: 50, Rounds: 5, MaxOIDs: 30, Only32Every: 10, Interval: 5 * time.Minute}); err != nil || n != w {
		t.Errorf("snmp defaults = %+v, %v; want %+v", n, err, w)
	}
	n, err = benchSNMPFlags([]string{"--switches", "200", "--ports", "48", "--rounds", "3", "--max-oids", "60", "--only32-every", "0",
		"--interval", "1m", "--workers", "8", "--db", "sqlite:/tmp/x.db"})
	if w := (bench.SNMPOptions{Switches: 200, Ports: 48, Rounds: 3, MaxOIDs: 60, Interval: time.Minute, Workers: 8,
		DB: "sqlite:/tmp/x.db"}); err != nil || n != w {
		t.Errorf("snmp options = %+v, %v; want %+v", n, err, w)
	}
}

func TestBenchSignInFlags(t *testing.T) {
	o, err := benchSignInFlags([]string{"--url", "http://127.0.0.1:9", "--email", "v@acme.example", "--password", "-",
		"--guesses", "9", "--anonymous", "12", "--spread", "--pid", "42"}, strings.NewReader("a long pass phrase\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := bench.SignInOptions{URL: "http://127.0.0.1:9", Email: "v@acme.example", Password: "a long pass phrase",
		Guesses: 9, RightDelay: 20 * time.Millisecond, Anonymous: 12, Spread: true, PID: 42}
	if o != want {
		t.Errorf("signin options = %+v, want %+v (the password read from standard input)", o, want)
	}
	if o, err := benchSignInFlags([]string{"--guesses", "0", "--anonymous", "200"}, nil); err != nil || o.Password != "" {
		t.Errorf("anonymous burst alone: %+v, %v; want no account needed", o, err)
	}
}
