package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/colo-portal/portal/bench"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/prober"
)

// `portal bench probe` measures the prober pool on a throw-away database,
// `portal bench pages` the uptime, device and fleet pages over a year of
// history, `portal bench outages` a provider-wide failure's notices and
// pages, `portal bench signin` a running portal's sign-in under a burst
// of guesses and of anonymous sign-ins, `portal bench snmp` the polling
// of switch ports over SNMP against in-process agents; package bench does
// the work, this file reads the flags.

const benchUsage = `usage:
  portal bench probe [--targets N] [--service-checks M] [--interval D] [--service-interval D]
                     [--duration D] [--warmup D] [--capacity D] [--db URL]
                     [--batch N] [--batch-age D] [--victims K] [--db-outage D] [--compare-fping]
                     [--cpuprofile FILE]
  portal bench pages [--devices K] [--fleet F] [--orgs O] [--days N] [--iterations I] [--db URL]
  portal bench http [--devices K] [--days N] [--connections C] [--duration D] [--db URL] [--cpuprofile FILE]
  portal bench outages [--devices N] [--orgs O] [--contacts K] [--window D] [--one-org-devices M]
                       [--iterations I] [--timeout D] [--db URL]
  portal bench signin --url URL [--email E --password P] [--guesses N] [--right-delay D]
                      [--anonymous M] [--spread] [--pid PID]
  portal bench snmp [--switches N] [--ports M] [--rounds R] [--max-oids K] [--only32-every J]
                    [--interval D] [--workers W] [--db URL]
--db is empty for a temporary SQLite file, sqlite:PATH for a new SQLite file
at PATH, or mysql://user:pass@host:port/any for a throw-away database
portal_bench_<random> on that server; the database is deleted afterwards.
signin attacks the portal at --url from outside (the password is read from
standard input when --password is -); --pid names the server's process,
whose memory is sampled from /proc during each burst. snmp starts N SNMP
agents on 127.0.0.1 with M interfaces each and polls them R times, the
agents' clock moving --interval between rounds.`

// runBench is `portal bench probe|pages|http|outages|signin|snmp …`.
func runBench(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("bench: which one, probe, pages, http, outages, signin or snmp?\n%s", benchUsage)
	}
	switch args[0] {
	case "probe":
		o, err := benchProbeFlags(args[1:])
		if err != nil {
			return err
		}
		return bench.Probe(ctx, o, stdout)
	case "pages":
		o, err := benchPagesFlags(args[1:])
		if err != nil {
			return err
		}
		return bench.Pages(ctx, o, stdout)
	case "http":
		o, err := benchHTTPFlags(args[1:])
		if err != nil {
			return err
		}
		return bench.HTTP(ctx, o, stdout)
	case "outages":
		o, err := benchOutagesFlags(args[1:])
		if err != nil {
			return err
		}
		return bench.Outages(ctx, o, stdout)
	case "signin":
		o, err := benchSignInFlags(args[1:], stdin)
		if err != nil {
			return err
		}
		return bench.SignIn(ctx, o, stdout)
	case "snmp":
		o, err := benchSNMPFlags(args[1:])
		if err != nil {
			return err
		}
		return bench.SNMP(ctx, o, stdout)
	}
	return fmt.Errorf("bench: unknown mode %q\n%s", args[0], benchUsage)
}

func benchProbeFlags(args []string) (bench.ProbeOptions, error) {
	fs := newFlagSet("bench probe")
	var o bench.ProbeOptions
	fs.IntVar(&o.Targets, "targets", 1000, "ICMP targets (distinct 127.x.y.z addresses)")
	fs.IntVar(&o.ServiceChecks, "service-checks", 100, "HTTP, TCP, SMTP and FTP checks against local listeners")
	fs.DurationVar(&o.Interval, "interval", 60*time.Second, "ICMP check interval")
	fs.DurationVar(&o.ServiceInterval, "service-interval", 300*time.Second, "service check interval")
	fs.DurationVar(&o.Duration, "duration", 2*time.Minute, "how long the prober runs")
	fs.DurationVar(&o.Warmup, "warmup", -1, "start of the measured window (default: one ICMP interval and twice the batch age, at most half the duration)")
	fs.DurationVar(&o.Capacity, "capacity", 5*time.Second, "length of the write-capacity phase after the run")
	fs.StringVar(&o.DB, "db", "", "database URL (empty: a temporary SQLite file)")
	fs.IntVar(&o.BatchMax, "batch", 0, "the prober's batch size (0: PORTAL_PROBER_BATCH's default)")
	fs.DurationVar(&o.BatchAge, "batch-age", 0, "the prober's batch age (0: PORTAL_PROBER_BATCH_AGE's default)")
	fs.IntVar(&o.Victims, "victims", 10, "TCP checks every 10s that go down after the measured window, for the confirm-to-queued time (0: none)")
	fs.DurationVar(&o.DBOutage, "db-outage", 0, "after that, refuse every database statement this long, then time the spool's replay (0: no outage)")
	fs.BoolVar(&o.CompareFping, "compare-fping", false, "run fping over the same ICMP targets during the measured window and compare CPU")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write the measured window's CPU profile to this file (go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("bench probe: %w\n%s", err, benchUsage)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("bench probe: unexpected %q\n%s", fs.Arg(0), benchUsage)
	}
	switch {
	case o.Targets < 0 || o.ServiceChecks < 0 || o.Targets+o.ServiceChecks == 0:
		return o, errors.New("bench probe: --targets and --service-checks must not be negative, nor both 0")
	case o.ServiceChecks > 0 && o.Targets == 0:
		return o, errors.New("bench probe: service checks hang off the target devices: --targets must be at least 1")
	case o.Duration <= 0:
		return o, errors.New("bench probe: --duration must be positive")
	case o.BatchMax < 0 || o.BatchAge < 0 || o.BatchAge > 5*time.Second:
		return o, errors.New("bench probe: --batch must not be negative, --batch-age must be 0 to 5s")
	case o.Victims < 0 || o.DBOutage < 0:
		return o, errors.New("bench probe: --victims and --db-outage must not be negative")
	case o.Victims > 0 && o.Targets == 0:
		return o, errors.New("bench probe: victims hang off the target devices: --targets must be at least 1")
	}
	if o.Warmup < 0 {
		// The first interval's results go out at once (the prober knows no
		// check's state yet); steady batching starts an age later.
		age := o.BatchAge
		if age == 0 {
			age = prober.DefaultBatchAge
		}
		o.Warmup = min(o.Interval+2*age, o.Duration/2)
	}
	if o.Warmup >= o.Duration {
		return o, errors.New("bench probe: --warmup must be shorter than --duration")
	}
	return o, nil
}

func benchPagesFlags(args []string) (bench.PagesOptions, error) {
	fs := newFlagSet("bench pages")
	var o bench.PagesOptions
	fs.IntVar(&o.Devices, "devices", 100, "devices of the measured organization, each with a year of history")
	fs.IntVar(&o.Fleet, "fleet", 1000, "devices in all, spread over --orgs organizations (the fleet page)")
	fs.IntVar(&o.Orgs, "orgs", 10, "organizations")
	fs.IntVar(&o.Days, "days", 365, "days of history (raw results for the last 90 of them, rollups for all)")
	fs.IntVar(&o.Iterations, "iterations", 50, "requests timed per page")
	fs.StringVar(&o.DB, "db", "", "database URL (empty: a temporary SQLite file)")
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("bench pages: %w\n%s", err, benchUsage)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("bench pages: unexpected %q\n%s", fs.Arg(0), benchUsage)
	}
	if o.Devices < 1 || o.Days < 1 || o.Iterations < 1 || o.Orgs < 1 {
		return o, errors.New("bench pages: --devices, --orgs, --days and --iterations must be at least 1")
	}
	return o, nil
}

func benchHTTPFlags(args []string) (bench.HTTPOptions, error) {
	fs := newFlagSet("bench http")
	var o bench.HTTPOptions
	fs.IntVar(&o.Devices, "devices", 100, "devices of the signed-in customer, each with --days of history")
	fs.IntVar(&o.Days, "days", 365, "days of history (raw results for the last 90 of them, rollups for all)")
	fs.IntVar(&o.Connections, "connections", 50, "connections kept open, each sending one request after another")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "how long each route is loaded")
	fs.StringVar(&o.DB, "db", "", "database URL (empty: a temporary SQLite file)")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the run while /uptime is loaded to this file")
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("bench http: %w\n%s", err, benchUsage)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("bench http: unexpected %q\n%s", fs.Arg(0), benchUsage)
	}
	if o.Devices < 1 || o.Days < 1 || o.Connections < 1 || o.Duration <= 0 {
		return o, errors.New("bench http: --devices, --days and --connections must be at least 1, --duration positive")
	}
	return o, nil
}

func benchOutagesFlags(args []string) (bench.OutagesOptions, error) {
	fs := newFlagSet("bench outages")
	var o bench.OutagesOptions
	fs.IntVar(&o.Devices, "devices", 10000, "devices in all, one ICMP check each, all going down in the same round")
	fs.IntVar(&o.Orgs, "orgs", 100, "organizations the devices are spread over")
	fs.IntVar(&o.Contacts, "contacts", 2, "authorized contacts per organization, each with an email address and a mobile")
	fs.DurationVar(&o.Window, "window", time.Minute, "notice grouping window, as PORTAL_NOTICE_WINDOW (0: none; this build groups no notices and only reports it)")
	fs.IntVar(&o.OneOrgDevices, "one-org-devices", 2000, "then one organization with this many devices down, for its uptime page (0: none)")
	fs.IntVar(&o.Iterations, "iterations", 20, "requests timed per page")
	fs.DurationVar(&o.Timeout, "timeout", 0, "longest wait for the notices (0: 30 minutes and the window)")
	fs.StringVar(&o.DB, "db", "", "database URL (empty: a temporary SQLite file)")
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("bench outages: %w\n%s", err, benchUsage)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("bench outages: unexpected %q\n%s", fs.Arg(0), benchUsage)
	}
	switch {
	case o.Devices < 1 || o.Orgs < 1 || o.Contacts < 1 || o.Iterations < 1:
		return o, errors.New("bench outages: --devices, --orgs, --contacts and --iterations must be at least 1")
	case o.Orgs > o.Devices:
		return o, errors.New("bench outages: --orgs must not exceed --devices")
	case o.Window < 0 || o.OneOrgDevices < 0 || o.Timeout < 0:
		return o, errors.New("bench outages: --window, --one-org-devices and --timeout must not be negative")
	}
	return o, nil
}

func benchSignInFlags(args []string, stdin io.Reader) (bench.SignInOptions, error) {
	fs := newFlagSet("bench signin")
	var o bench.SignInOptions
	fs.StringVar(&o.URL, "url", "http://127.0.0.1:8080", "base URL of the running portal")
	fs.StringVar(&o.Email, "email", "", "an existing account's email, for the guess burst")
	fs.StringVar(&o.Password, "password", "", "that account's password (- reads it from standard input)")
	fs.IntVar(&o.Guesses, "guesses", 39, "wrong passwords sent at once for the account before the right one (0: no guess burst)")
	fs.DurationVar(&o.RightDelay, "right-delay", 20*time.Millisecond, "the right password goes this long after the wrong ones")
	fs.IntVar(&o.Anonymous, "anonymous", 0, "anonymous sign-ins for unknown emails sent at once (0: none)")
	fs.BoolVar(&o.Spread, "spread", false, "give each anonymous sign-in its own X-Forwarded-For address (needs PORTAL_TRUSTED_PROXIES)")
	fs.IntVar(&o.PID, "pid", 0, "the server's process ID, to sample its memory (0: not sampled)")
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("bench signin: %w\n%s", err, benchUsage)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("bench signin: unexpected %q\n%s", fs.Arg(0), benchUsage)
	}
	if o.Password == "-" {
		pw, err := readPassword(stdin)
		if err != nil {
			return o, fmt.Errorf("bench signin: %w", err)
		}
		o.Password = pw
	}
	switch {
	case o.Guesses < 0 || o.Anonymous < 0 || o.Guesses+o.Anonymous == 0:
		return o, errors.New("bench signin: --guesses and --anonymous must not be negative, nor both 0")
	case o.Guesses > 0 && (o.Email == "" || o.Password == ""):
		return o, errors.New("bench signin: the guess burst needs --email and --password (or --guesses 0)")
	case o.RightDelay < 0:
		return o, errors.New("bench signin: --right-delay must not be negative")
	}
	return o, nil
}

func benchSNMPFlags(args []string) (bench.SNMPOptions, error) {
	fs := newFlagSet("bench snmp")
	var o bench.SNMPOptions
	fs.IntVar(&o.Switches, "switches", 20, "switches, each an SNMP v2c agent on its own 127.0.0.1 port")
	fs.IntVar(&o.Ports, "ports", 50, "monitored interfaces per switch")
	fs.IntVar(&o.Rounds, "rounds", 5, "polls of every switch")
	fs.IntVar(&o.MaxOIDs, "max-oids", 30, "variables per GET, the switches' limit")
	fs.IntVar(&o.Only32Every, "only32-every", 10, "every Nth port serves 32-bit counters only (0: none)")
	fs.DurationVar(&o.Interval, "interval", 5*time.Minute, "time between rounds as the agents' counters and the samples see it (the rounds run back to back)")
	fs.IntVar(&o.Workers, "workers", 0, "switches polled at once (0: as many as switches, at most 32)")
	fs.StringVar(&o.DB, "db", "", "database URL (empty: a temporary SQLite file)")
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("bench snmp: %w\n%s", err, benchUsage)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("bench snmp: unexpected %q\n%s", fs.Arg(0), benchUsage)
	}
	switch {
	case o.Switches < 1 || o.Ports < 1 || o.Rounds < 1 || o.MaxOIDs < 1:
		return o, errors.New("bench snmp: --switches, --ports, --rounds and --max-oids must be at least 1")
	case o.Only32Every < 0 || o.Workers < 0:
		return o, errors.New("bench snmp: --only32-every and --workers must not be negative")
	case o.Interval < models.SwitchIntervalMin*time.Second:
		return o, errors.New("bench snmp: --interval must be at least 1m, as a switch's")
	}
	return o, nil
}

// readPassword is the first line of r, as `portal user add` reads it.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
