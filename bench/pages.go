package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
)

// PagesOptions are the figures of `portal bench pages`; see its flags.
type PagesOptions struct {
	// Devices of the measured organization, each with Days of history;
	// Fleet devices in all over Orgs organizations.
	Devices, Fleet, Orgs, Days int
	Iterations                 int    // requests timed per page
	DB                         string // as ProbeOptions.DB
}

// benchHasher keeps the benchmark's two sign-ins quick; sign-in is not
// what it measures.
var benchHasher = models.PasswordHasher{Memory: 1024, Time: 1, Threads: 1}

// Pages fills a throw-away database with a year of 5-minute history for
// the devices of one organization and a fleet around it, then times the
// real app rendering the pages that read that history, and prints the
// figures to stdout (progress goes to standard error).
func Pages(ctx context.Context, o PagesOptions, stdout io.Writer) error {
	if o.Devices < 1 || o.Days < 1 || o.Iterations < 1 || o.Orgs < 1 {
		return errors.New("bench pages: devices, organizations, days and iterations must be at least 1")
	}
	o.Fleet = max(o.Fleet, o.Devices)
	if o.Orgs == 1 {
		o.Fleet = o.Devices // no other organization to hold the rest
	}
	tdb, err := newThrowawayDB(ctx, o.DB)
	if err != nil {
		return err
	}
	defer tdb.drop()
	store, db, err := openBenchStore(ctx, tdb.url, nil, models.WithHasher(benchHasher))
	if err != nil {
		return err
	}
	defer store.Close()

	t0 := time.Now()
	fill, err := fillHistory(ctx, store, writer{db}, o)
	if err != nil {
		return err
	}
	fillTime := time.Since(t0)
	size, err := dbUsedBytes(ctx, db, store.Dialect())
	if err != nil {
		return err
	}
	progress("%s filled in %s: %d raw results, %d rollups, %d outages, %.1f MB",
		tdb.desc, fillTime.Round(time.Millisecond), fill.results, fill.rollups, fill.outages, float64(size)/1e6)

	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	app := handlers.New(handlers.Deps{Store: store, Logger: slog.New(slog.DiscardHandler), Secret: secret,
		Sessions: models.DefaultSessionPolicy, SignIn: models.DefaultSignInLimits})
	customer, err := benchSignIn(app, fill.customerEmail, fill.password)
	if err != nil {
		return err
	}
	engineer, err := benchSignIn(app, fill.engineerEmail, fill.password)
	if err != nil {
		return err
	}

	opID, err := fillOperation(ctx, store, fill, 40)
	if err != nil {
		return fmt.Errorf("bench pages: operation: %w", err)
	}
	opReq, err := store.GetRequest(ctx, models.AllOrgs(), opID)
	if err != nil {
		return fmt.Errorf("bench pages: operation: %w", err)
	}
	op := "/operations/" + opReq.Ref
	dev := fmt.Sprintf("/devices/%d", fill.deviceID)
	pages := []struct {
		name, label, path string
		c                 *benchClient
		targetMS          float64
		want              string // text the page must show
	}{
		{"uptime", fmt.Sprintf("GET /uptime (%d devices)", o.Devices), "/uptime", customer, 100, fill.deviceName},
		{"device_1y", "GET /devices/:id?range=1y", dev + "?range=1y", customer, 50, fill.deviceName},
		{"device_30d", "GET /devices/:id?range=30d", dev + "?range=30d", customer, 50, fill.deviceName},
		{"device_24h", "GET /devices/:id?range=24h", dev + "?range=24h", customer, 50, fill.deviceName},
		{"fleet", fmt.Sprintf("GET /fleet (%d devices, page 1)", o.Fleet), "/fleet", engineer, 150, "srv-"},
		{"fleet_last", "GET /fleet?page=(last)", fmt.Sprintf("/fleet?page=%d", (o.Fleet+models.FleetPageSize-1)/models.FleetPageSize), engineer, 150, "srv-"},
		{"fleet_search", "GET /fleet?q=(a device name)", "/fleet?q=" + url.QueryEscape(fill.fleetName), engineer, 150, fill.fleetName},
		{"fleet_down", "GET /fleet?state=down", "/fleet?state=down", engineer, 150, "srv-"},
		{"org_uptime", fmt.Sprintf("GET /orgs/:id/uptime (%d devices, page 1)", fleetOrgDevices(o)), fmt.Sprintf("/orgs/%d/uptime", fill.fleetOrgID), engineer, 150, fill.fleetName},
		{"oncall", "GET /oncall", "/oncall", engineer, 150, "</main>"},
		{"orgs", fmt.Sprintf("GET /orgs (%d organizations)", o.Orgs), "/orgs", engineer, 150, "Benchmark 01"},
		{"operation", "GET /operations/:id (40 messages)", op, engineer, 50, benchOperationTitle},
		{"operations", "GET /operations?all=1 (staff)", "/operations?all=1", engineer, 50, benchOperationTitle},
		{"report_pdf", "GET /operations/:id/report.pdf (40 messages)", op + "/report.pdf", customer, 200, "%PDF-"},
	}
	rep := pagesReport{DB: tdb.kind, Devices: o.Devices, Fleet: o.Fleet, Orgs: o.Orgs, Days: o.Days,
		Iterations: o.Iterations, FillS: fillTime.Seconds(), DBMB: float64(size) / 1e6,
		Results: fill.results, Rollups: fill.rollups, Outages: fill.outages, Pages: map[string]pageTiming{}}
	for _, pg := range pages {
		// One request untimed: warm caches, and check the page is right.
		status, body, _ := pg.c.get(pg.path)
		if status != http.StatusOK || !strings.Contains(body, pg.want) {
			return fmt.Errorf("bench pages: GET %s: status %d, want 200 with %q", pg.path, status, pg.want)
		}
		times := make([]time.Duration, 0, o.Iterations)
		for range o.Iterations {
			status, _, d := pg.c.get(pg.path)
			if status != http.StatusOK {
				return fmt.Errorf("bench pages: GET %s: status %d", pg.path, status)
			}
			times = append(times, d)
		}
		rep.Pages[pg.name] = newPageTiming(pg.label, times, pg.targetMS, len(body))
		rep.order = append(rep.order, pg.name)
	}
	rep.print(stdout)
	return nil
}

// fleetOrgDevices is how many devices the second organization holds.
func fleetOrgDevices(o PagesOptions) int {
	if o.Orgs == 1 {
		return o.Devices
	}
	rest := o.Fleet - o.Devices
	n := rest / (o.Orgs - 1)
	if rest%(o.Orgs-1) >= 1 {
		n++
	}
	return n
}

// pageTiming is the spread of one page's render times.
type pageTiming struct {
	label    string
	P50MS    float64 `json:"p50_ms"`
	P95MS    float64 `json:"p95_ms"`
	MaxMS    float64 `json:"max_ms"`
	TargetMS float64 `json:"target_p95_ms"`
	Bytes    int     `json:"bytes"`
}

func newPageTiming(label string, ds []time.Duration, target float64, bytes int) pageTiming {
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }
	return pageTiming{label: label, P50MS: ms(percentile(ds, 50)), P95MS: ms(percentile(ds, 95)), MaxMS: ms(ds[len(ds)-1]),
		TargetMS: target, Bytes: bytes}
}

// percentile is the nearest-rank percentile p of sorted ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	k := int(math.Ceil(p/100*float64(len(ds)))) - 1
	return ds[min(max(k, 0), len(ds)-1)]
}

type pagesReport struct {
	DB         string                `json:"db"`
	Devices    int                   `json:"devices"`
	Fleet      int                   `json:"fleet"`
	Orgs       int                   `json:"orgs"`
	Days       int                   `json:"days"`
	Iterations int                   `json:"iterations"`
	Results    int                   `json:"raw_results"`
	Rollups    int                   `json:"rollups"`
	Outages    int                   `json:"outages"`
	FillS      float64               `json:"fill_s"`
	DBMB       float64               `json:"db_mb"`
	Pages      map[string]pageTiming `json:"pages"`
	order      []string
}

func (r *pagesReport) print(w io.Writer) {
	fmt.Fprintf(w, "portal bench pages: %d devices with %d days of 5-minute history (raw results for the last %d days, hourly and daily rollups for all), %d devices in %d organizations, on %s; %d requests per page\n\n",
		r.Devices, r.Days, min(r.Days, 90), r.Fleet, r.Orgs, r.DB, r.Iterations)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "page\tp50\tp95\tmax\ttarget p95\tmet\tsize")
	flat := map[string]any{"db": r.DB, "devices": r.Devices, "fleet": r.Fleet, "days": r.Days, "iterations": r.Iterations,
		"raw_results": r.Results, "rollups": r.Rollups, "outages": r.Outages, "fill_s": round2(r.FillS), "db_mb": round2(r.DBMB)}
	for _, name := range r.order {
		t := r.Pages[name]
		met := "yes"
		if t.P95MS > t.TargetMS {
			met = fmt.Sprintf("no (%.1f×)", t.P95MS/t.TargetMS)
		}
		fmt.Fprintf(tw, "%s\t%.2f ms\t%.2f ms\t%.2f ms\t%.0f ms\t%s\t%d KB\n", t.label, t.P50MS, t.P95MS, t.MaxMS, t.TargetMS, met, t.Bytes/1024)
		flat[name+"_p50_ms"] = t.P50MS
		flat[name+"_p95_ms"] = t.P95MS
	}
	tw.Flush()
	perDevice := r.DBMB / float64(r.Devices)
	flat["db_mb_per_device"] = round2(perDevice)
	fmt.Fprintf(w, "\n%d raw results, %d rollups and %d outages written in %.1fs; the database takes %.1f MB (10^6 bytes),\n",
		r.Results, r.Rollups, r.Outages, r.FillS, r.DBMB)
	fmt.Fprintf(w, "%.2f MB per device with history (written in key order, so densely packed; the fleet's devices and checks included)\n", perDevice)
	b, _ := json.Marshal(flat)
	fmt.Fprintln(w, string(b))
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// filled is what fillHistory made.
type filled struct {
	customerEmail, engineerEmail, password string
	deviceID                               int64 // a device of the measured organization, with outages
	deviceName                             string
	// fleetOrgID is the second organization, one of the fleet's (the
	// measured one when there is only one); fleetName a device of it.
	fleetOrgID                int64
	fleetName                 string
	results, rollups, outages int
}

// progress tells the person running a benchmark what it is doing, on
// standard error (the figures go to stdout).
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// fillHistory creates the organizations, users and devices, and a year of
// history for the measured organization's devices.
func fillHistory(ctx context.Context, store *models.Store, w writer, o PagesOptions) (*filled, error) {
	sys := models.SystemActor("bench")
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	f := &filled{customerEmail: "customer@bench.example", engineerEmail: "engineer@bench.example",
		password: "bench-" + hex.EncodeToString(b)}
	if _, err := store.CreateUser(ctx, sys, models.UserInput{Email: f.engineerEmail, Name: "Bench Engineer",
		Role: models.RoleEngineer, Password: f.password}); err != nil {
		return nil, shellError("bench pages", err)
	}
	now := time.Now().UTC()
	created := now.AddDate(0, 0, -o.Days).Add(-time.Hour)
	rng := mrand.New(mrand.NewPCG(1, 2)) // the same history every run
	var measured []bulkDevice
	for org := range o.Orgs {
		og, err := store.CreateOrg(ctx, sys, models.OrgInput{Slug: fmt.Sprintf("bench-%02d", org+1), Name: fmt.Sprintf("Benchmark %02d", org+1)})
		if err != nil {
			return nil, shellError("bench pages", err)
		}
		n := o.Devices
		if org > 0 {
			// The rest of the fleet, spread over the other organizations.
			rest := o.Fleet - o.Devices
			n = rest / (o.Orgs - 1)
			if org <= rest%(o.Orgs-1) {
				n++
			}
		} else {
			if _, err := store.CreateUser(ctx, sys, models.UserInput{Email: f.customerEmail, Name: "Bench Customer",
				Role: models.RoleCustomer, OrgID: &og.ID, Password: f.password}); err != nil {
				return nil, shellError("bench pages", err)
			}
		}
		ds := make([]bulkDevice, n)
		for i := range ds {
			addr, err := loopbackAddr(i)
			if err != nil {
				return nil, err
			}
			last := now.Add(-time.Duration(rng.IntN(300)) * time.Second)
			ds[i] = bulkDevice{
				Device: models.Device{OrgID: og.ID, Name: fmt.Sprintf("srv-%02d-%04d", org+1, i+1), Address: addr,
					Cabinet: fmt.Sprintf("A%02d", i/40+1), Position: fmt.Sprintf("U%d", i%40+1), CreatedAt: created},
				Checks: []models.Check{{Kind: models.KindICMP, Target: addr, IntervalSec: 300, TimeoutMs: 5000,
					FailThreshold: models.DefaultFailThreshold, Enabled: true, Status: models.StatusUp,
					LastAt: &last, LastOK: true, LastRTTus: 200 + rng.IntN(600)}},
			}
		}
		if err := w.createDevices(ctx, ds); err != nil {
			return nil, err
		}
		if org <= 1 && len(ds) > 0 {
			f.fleetOrgID, f.fleetName = og.ID, ds[0].Device.Name
		}
		if org == 0 {
			measured = ds
			continue
		}
		// A few devices of the fleet are down: problems sort first.
		for i := 0; i < len(ds); i += 97 {
			c := ds[i].Checks[0]
			start := now.Add(-time.Duration(10+rng.IntN(120)) * time.Minute)
			if err := w.insertOutage(ctx, &models.Outage{CheckID: c.ID, DeviceID: c.DeviceID, OrgID: c.OrgID,
				StartedAt: start, ConfirmedAt: start.Add(5 * time.Minute), Failures: 2}, nil); err != nil {
				return nil, err
			}
			f.outages++
		}
	}
	f.deviceID, f.deviceName = measured[0].Device.ID, measured[0].Device.Name
	for i, d := range measured {
		h := deviceHistory(d, i, now, o.Days, rng)
		if err := w.insertResults(ctx, h.results); err != nil {
			return nil, err
		}
		if err := w.insertRollups(ctx, h.rollups); err != nil {
			return nil, err
		}
		for j := range h.outages {
			if err := w.insertOutage(ctx, &h.outages[j], h.evidence[j]); err != nil {
				return nil, err
			}
		}
		f.results += len(h.results)
		f.rollups += len(h.rollups)
		f.outages += len(h.outages)
		if (i+1)%25 == 0 || i+1 == len(measured) {
			progress("history: %d/%d devices", i+1, len(measured))
		}
	}
	// The rollups written cover every result: no period is left for the
	// janitor to build or for the charts to count from raw results.
	if err := store.MarkRollupsBuilt(ctx, now); err != nil {
		return nil, err
	}
	return f, nil
}

// history is one device's generated past.
type history struct {
	results  []models.ProbeResult
	rollups  []models.Rollup
	outages  []models.Outage
	evidence [][]models.OutageProbe
}

// deviceHistory makes a 5-minute ping history of days days up to now for
// the device's ICMP check: raw results for the last 90 days (retention
// removed the older ones), hourly and daily rollups with medians for the
// whole time, and a few outages on some devices, one still open.
func deviceHistory(d bulkDevice, i int, now time.Time, days int, rng *mrand.Rand) history {
	c := d.Checks[0]
	step := 5 * time.Minute
	first := now.AddDate(0, 0, -days).Truncate(step)
	last := now.Truncate(step)
	rawFrom := now.AddDate(0, 0, -90)

	type span struct {
		from, to time.Time
		cause    models.Cause
		open     bool
	}
	ago := func(days float64) time.Time {
		return last.Add(-time.Duration(days * 24 * float64(time.Hour))).Truncate(step)
	}
	var spans []span
	switch {
	case i%10 == 0:
		spans = append(spans, span{from: ago(20.3), to: ago(20.3).Add(45 * time.Minute), cause: models.CauseProviderNetwork},
			span{from: ago(200.5), to: ago(200.5).Add(3 * time.Hour), cause: models.CauseCustomerEquipment})
	case i%10 == 5:
		spans = append(spans, span{from: ago(2.1), to: ago(2.1).Add(15 * time.Minute), cause: models.CauseUnknown})
	case i == 7:
		spans = append(spans, span{from: last.Add(-20 * time.Minute), to: last.Add(step), cause: models.CauseUnknown, open: true})
	}
	var h history
	failedIn := func(t time.Time) int {
		for k, s := range spans {
			if !t.Before(s.from) && t.Before(s.to) {
				return k
			}
		}
		return -1
	}
	evidence := make([][]models.OutageProbe, len(spans))
	base := 150 + rng.IntN(700) // µs: each device its own distance
	type agg struct {
		r    models.Rollup
		rtts []int
	}
	var hour, day *agg
	flush := func(a *agg) {
		if a == nil {
			return
		}
		if len(a.rtts) > 0 {
			slices.Sort(a.rtts)
			a.r.RTTMedUs = a.rtts[(len(a.rtts)-1)/2]
		}
		h.rollups = append(h.rollups, a.r)
	}
	for t := first; !t.After(last); t = t.Add(step) {
		r := models.ProbeResult{CheckID: c.ID, At: t, OK: true}
		if k := failedIn(t); k >= 0 {
			r.OK, r.Reason = false, models.ReasonTimeout
			if len(evidence[k]) < 500 {
				evidence[k] = append(evidence[k], models.OutageProbe{At: t, Reason: r.Reason})
			}
		} else {
			// A daily swing and some noise, with a rare spike.
			hourOfDay := float64(t.Hour()) + float64(t.Minute())/60
			r.RTTus = base + int(80*math.Sin(hourOfDay/24*2*math.Pi)) + rng.IntN(120)
			if rng.IntN(200) == 0 {
				r.RTTus += 2000 + rng.IntN(8000)
			}
		}
		if !t.Before(rawFrom) {
			h.results = append(h.results, r)
		}
		hs := t.Truncate(time.Hour)
		ds := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		if hour == nil || !hour.r.Start.Equal(hs) {
			flush(hour)
			hour = &agg{r: models.Rollup{CheckID: c.ID, Period: "h", Start: hs}}
		}
		if day == nil || !day.r.Start.Equal(ds) {
			flush(day)
			day = &agg{r: models.Rollup{CheckID: c.ID, Period: "d", Start: ds}}
		}
		for _, a := range []*agg{hour, day} {
			a.r.Probes++
			if !r.OK {
				a.r.Failures++
				continue
			}
			if a.r.RTTCount == 0 || r.RTTus < a.r.RTTMinUs {
				a.r.RTTMinUs = r.RTTus
			}
			a.r.RTTMaxUs = max(a.r.RTTMaxUs, r.RTTus)
			a.r.RTTCount++
			a.r.RTTSumUs += int64(r.RTTus)
			a.rtts = append(a.rtts, r.RTTus)
		}
	}
	flush(hour)
	flush(day)
	sort.Slice(h.rollups, func(a, b int) bool {
		x, y := h.rollups[a], h.rollups[b]
		if x.Period != y.Period {
			return x.Period < y.Period
		}
		return x.Start.Before(y.Start)
	})
	for k, s := range spans {
		o := models.Outage{CheckID: c.ID, DeviceID: c.DeviceID, OrgID: c.OrgID, StartedAt: s.from,
			ConfirmedAt: s.from.Add(step), Cause: s.cause, Failures: int(s.to.Sub(s.from) / step)}
		if !s.open {
			end := s.to
			o.EndedAt = &end
		}
		h.outages = append(h.outages, o)
		h.evidence = append(h.evidence, evidence[k])
	}
	return h
}

// benchClient is a browser in miniature for the benchmark: it keeps the
// cookies the app sets and sends them back.
type benchClient struct {
	app     *fiber.App
	cookies map[string]string
}

var benchCSRF = regexp.MustCompile(`name="_csrf" value="([^"]*)"`)

// benchSignIn signs in through the login form, as a browser does.
func benchSignIn(app *fiber.App, email, password string) (*benchClient, error) {
	c := &benchClient{app: app, cookies: map[string]string{}}
	status, body, _ := c.do(http.MethodGet, "/login", nil)
	m := benchCSRF.FindStringSubmatch(body)
	if status != http.StatusOK || m == nil {
		return nil, fmt.Errorf("bench pages: GET /login: status %d, no _csrf field", status)
	}
	form := url.Values{"email": {email}, "password": {password}, "_csrf": {html.UnescapeString(m[1])}}
	if status, _, _ := c.do(http.MethodPost, "/login", form); status != http.StatusSeeOther {
		return nil, fmt.Errorf("bench pages: sign in as %s: status %d, want 303", email, status)
	}
	return c, nil
}

func (c *benchClient) get(path string) (int, string, time.Duration) {
	return c.do(http.MethodGet, path, nil)
}

// do sends one request through the app and returns its status, its body,
// and the time from sending the request to having read the whole body.
func (c *benchClient) do(method, path string, form url.Values) (int, string, time.Duration) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if len(c.cookies) > 0 {
		parts := make([]string, 0, len(c.cookies))
		for k, v := range c.cookies {
			parts = append(parts, k+"="+v)
		}
		req.Header.Set("Cookie", strings.Join(parts, "; "))
	}
	start := time.Now()
	resp, err := c.app.Test(req, -1)
	if err != nil {
		return 0, err.Error(), time.Since(start)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil {
		return 0, err.Error(), took
	}
	for _, ck := range resp.Cookies() {
		if ck.Value == "" || ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck.Value
		}
	}
	return resp.StatusCode, string(b), took
}
