package bench

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
)

// HTTPOptions are the figures of `portal bench http`; see its flags.
type HTTPOptions struct {
	Devices, Days int           // of the signed-in customer's organization
	Connections   int           // kept-alive connections, each sending one request after another
	Duration      time.Duration // per route
	DB            string        // as ProbeOptions.DB
	// CPUProfile, if set, is a file for a CPU profile of the server
	// while the signed-in /uptime is loaded (the load generator's
	// goroutines are in it too).
	CPUProfile string
}

// HTTP fills a throw-away database with Days of history for Devices
// devices (the fill of `bench pages`), serves the real app on a loopback
// port, signs a customer in through the form, and then loads each route
// in turn with Connections connections for Duration, like wrk: the bare
// route /healthz without a session first, then the signed-in pages. It
// prints each route's requests per second and its share of the bare
// route's, all measured in the same run.
func HTTP(ctx context.Context, o HTTPOptions, stdout io.Writer) error {
	if o.Devices < 1 || o.Days < 1 || o.Connections < 1 || o.Duration <= 0 {
		return errors.New("bench http: devices, days and connections must be at least 1, the duration positive")
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
	fill, err := fillHistory(ctx, store, writer{db}, PagesOptions{Devices: o.Devices, Fleet: o.Devices, Orgs: 1, Days: o.Days})
	if err != nil {
		return err
	}

	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	app := handlers.New(handlers.Deps{Store: store, Logger: slog.New(slog.DiscardHandler), Secret: secret,
		Sessions: models.DefaultSessionPolicy, SignIn: models.DefaultSignInLimits})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = app.Listener(ln) }()
	defer app.Shutdown() //nolint:errcheck // the run is over
	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: o.Connections, MaxIdleConnsPerHost: o.Connections, MaxConnsPerHost: o.Connections}}
	cookie, err := httpSignIn(client, base, fill.customerEmail, fill.password)
	if err != nil {
		return err
	}
	progress("serving on %s, signed in as %s", base, fill.customerEmail)

	routes := []struct {
		name, path string
		cookie     bool
	}{
		{"/healthz, no session (bare)", "/healthz", false},
		{"/healthz, session cookie", "/healthz", true},
		{fmt.Sprintf("/uptime (%d devices)", o.Devices), "/uptime", true},
		{"/ (customer home)", "/", true},
		{"/devices/:id", fmt.Sprintf("/devices/%d", fill.deviceID), true},
	}
	rep := httpReport{DB: tdb.kind, Devices: o.Devices, Days: o.Days, Connections: o.Connections, Duration: o.Duration}
	for _, r := range routes {
		hdr := http.Header{}
		if r.cookie {
			hdr.Set("Cookie", cookie)
		}
		stop := func() {}
		if o.CPUProfile != "" && r.path == "/uptime" {
			if stop, err = startCPUProfile(o.CPUProfile); err != nil {
				return err
			}
		}
		res, err := loadRoute(ctx, client, base+r.path, hdr, o.Connections, o.Duration)
		stop()
		if err != nil {
			return fmt.Errorf("bench http: GET %s: %w", r.path, err)
		}
		res.label = r.name
		rep.Routes = append(rep.Routes, res)
		progress("%s: %.0f req/s", r.name, res.PerSecond)
	}
	rep.print(stdout)
	return nil
}

// startCPUProfile writes a CPU profile to path until the returned
// function is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// httpSignIn signs in through the real form and returns the Cookie header
// of the session.
func httpSignIn(client *http.Client, base, email, password string) (string, error) {
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(base + "/login")
	if err != nil {
		return "", fmt.Errorf("bench http: GET /login: %w", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := benchCSRF.FindStringSubmatch(string(body))
	if resp.StatusCode != http.StatusOK || m == nil {
		return "", fmt.Errorf("bench http: GET /login: status %d, no _csrf field", resp.StatusCode)
	}
	var jar []string
	for _, ck := range resp.Cookies() {
		jar = append(jar, ck.Name+"="+ck.Value)
	}
	form := url.Values{"email": {email}, "password": {password}, "_csrf": {html.UnescapeString(m[1])}}
	req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", strings.Join(jar, "; "))
	resp, err = c.Do(req)
	if err != nil {
		return "", fmt.Errorf("bench http: POST /login: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "portal_session" && ck.Value != "" {
			return ck.Name + "=" + ck.Value, nil
		}
	}
	return "", fmt.Errorf("bench http: sign in as %s: status %d and no session cookie", email, resp.StatusCode)
}

// routeLoad is what loading one route measured.
type routeLoad struct {
	label     string
	Requests  int     `json:"requests"`
	Errors    int     `json:"errors"` // transport errors and statuses other than 200
	PerSecond float64 `json:"req_per_s"`
	P50MS     float64 `json:"p50_ms"`
	P99MS     float64 `json:"p99_ms"`
}

// loadRoute sends GET url on conns connections, one request after another
// on each, for d, and counts what came back.
func loadRoute(ctx context.Context, client *http.Client, url string, hdr http.Header, conns int, d time.Duration) (routeLoad, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu    sync.Mutex
		times []time.Duration
		errs  int
		wg    sync.WaitGroup
	)
	start := time.Now()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			bad := 0
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				req.Header = hdr.Clone()
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						bad++
					}
					continue
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil && ctx.Err() != nil {
					break // cut off at the end of the run: not counted
				}
				if err != nil || resp.StatusCode != http.StatusOK {
					bad++
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			times = append(times, mine...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if len(times) == 0 {
		return routeLoad{}, fmt.Errorf("no request answered 200 (%d errors)", errs)
	}
	slices.Sort(times)
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }
	return routeLoad{Requests: len(times), Errors: errs, PerSecond: float64(len(times)) / took.Seconds(),
		P50MS: ms(percentile(times, 50)), P99MS: ms(percentile(times, 99))}, nil
}

type httpReport struct {
	DB          string        `json:"db"`
	Devices     int           `json:"devices"`
	Days        int           `json:"days"`
	Connections int           `json:"connections"`
	Duration    time.Duration `json:"-"`
	Routes      []routeLoad   `json:"routes"`
}

func (r *httpReport) print(w io.Writer) {
	fmt.Fprintf(w, "portal bench http: %d connections for %s per route, one signed-in customer with %d devices and %d days of 5-minute history, on %s; the load generator runs in the same process\n\n",
		r.Connections, r.Duration, r.Devices, r.Days, r.DB)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "route\treq/s\tshare of bare\tp50\tp99\terrors")
	bare := r.Routes[0].PerSecond
	flat := map[string]any{"db": r.DB, "devices": r.Devices, "days": r.Days, "connections": r.Connections}
	keys := []string{"bare", "healthz_session", "uptime", "home", "device"}
	for i, rt := range r.Routes {
		share := rt.PerSecond / bare * 100
		fmt.Fprintf(tw, "%s\t%.0f\t%.1f%%\t%.2f ms\t%.2f ms\t%d\n", rt.label, rt.PerSecond, share, rt.P50MS, rt.P99MS, rt.Errors)
		if i < len(keys) {
			flat[keys[i]+"_req_s"] = math.Round(rt.PerSecond)
			flat[keys[i]+"_share_pct"] = round2(share)
		}
	}
	tw.Flush()
	if len(r.Routes) > 2 {
		met := "met"
		if r.Routes[2].PerSecond/bare < 0.10 {
			met = "missed"
		}
		fmt.Fprintf(w, "\nsigned-in /uptime: %.1f%% of the bare route (target ≥ 10%%: %s)\n", r.Routes[2].PerSecond/bare*100, met)
	}
	b, _ := json.Marshal(flat)
	fmt.Fprintln(w, string(b))
}
