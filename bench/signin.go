package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// SignInOptions are the figures of `portal bench signin`; see its flags.
// It attacks a running portal from outside, over HTTP, as issue 9 points 6
// and 7 describe: a burst of parallel guesses at one account from one
// address, and a burst of parallel anonymous sign-ins.
type SignInOptions struct {
	URL string // base URL of a running portal, e.g. http://127.0.0.1:8080
	// Email and Password are an existing account's; the guess burst sends
	// Guesses wrong passwords for it and then the right one.
	Email, Password string
	Guesses         int
	// RightDelay is how long after the wrong guesses are released the
	// right password is sent: they are all in flight by then.
	RightDelay time.Duration
	// Anonymous parallel sign-ins for unknown emails (0: none).
	Anonymous int
	// Spread gives every anonymous sign-in its own X-Forwarded-For address
	// (the portal believes it only with PORTAL_TRUSTED_PROXIES naming this
	// client), so the per-address limit turns none of them away.
	Spread bool
	// PID is the server's process, whose memory is sampled from
	// /proc/PID/status during each burst (0: not sampled).
	PID int
}

// signInOutcome is how the portal answered one POST /login.
type signInOutcome string

const (
	outSignedIn signInOutcome = "signed_in" // 303 with a session cookie
	outWrong    signInOutcome = "wrong"     // 401: the password was evaluated and was wrong
	outLimited  signInOutcome = "limited"   // 429 "too many failed attempts"
	outBusy     signInOutcome = "busy"      // 429 "many people are signing in"
	outOther    signInOutcome = "other"     // anything else (an error, a 403, a 500…)
)

var signInOutcomes = []signInOutcome{outSignedIn, outWrong, outLimited, outBusy, outOther}

// burstResult is one burst's answers and the server's memory meanwhile.
type burstResult struct {
	name     string
	Requests int                   `json:"requests"`
	Outcomes map[signInOutcome]int `json:"outcomes"`
	Statuses map[int]int           `json:"statuses"` // 0: no answer
	// Right is the outcome of the right password (guess burst only).
	Right     signInOutcome `json:"right,omitempty"`
	WallS     float64       `json:"wall_s"`
	P50MS     float64       `json:"p50_ms"`
	MaxMS     float64       `json:"max_ms"`
	RetryMinS int           `json:"retry_after_min_s,omitempty"`
	RetryMaxS int           `json:"retry_after_max_s,omitempty"`
	Errors    []string      `json:"errors,omitempty"` // the first few transport errors and odd answers
	Mem       *memSample    `json:"mem,omitempty"`
}

// memSample is the server's memory around a burst, in MiB.
type memSample struct {
	RSSBefore float64 `json:"rss_before_mib"`
	HWMBefore float64 `json:"hwm_before_mib"`
	PeakRSS   float64 `json:"peak_rss_mib"` // the largest VmRSS sampled every 2 ms
	HWMAfter  float64 `json:"hwm_after_mib"`
	Rise      float64 `json:"rise_mib"` // HWMAfter − RSSBefore
}

// SignIn runs the bursts against a running portal and prints what came
// back; the last line is the figures as one JSON object.
func SignIn(ctx context.Context, o SignInOptions, stdout io.Writer) error {
	switch {
	case o.URL == "":
		return errors.New("bench signin: the portal's URL is required")
	case o.Guesses < 0 || o.Anonymous < 0 || o.Guesses+o.Anonymous == 0:
		return errors.New("bench signin: guesses and anonymous must not be negative, nor both 0")
	case o.Guesses > 0 && (o.Email == "" || o.Password == ""):
		return errors.New("bench signin: the guess burst needs the account's email and password")
	}
	base, err := url.Parse(strings.TrimRight(o.URL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return fmt.Errorf("bench signin: %q is not an http(s) URL", o.URL)
	}
	n := max(o.Guesses+1, o.Anonymous)
	client := &http.Client{
		// Every request on its own connection, all open at once.
		Transport: &http.Transport{MaxIdleConnsPerHost: n, DisableKeepAlives: true,
			DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       2 * time.Minute,
	}
	form, err := fetchLoginForm(ctx, client, base.String())
	if err != nil {
		return err
	}
	var bursts []*burstResult
	if o.Guesses > 0 {
		reqs := make([]signInRequest, 0, o.Guesses+1)
		for i := range o.Guesses {
			reqs = append(reqs, signInRequest{email: o.Email, password: fmt.Sprintf("wrong guess number %d of this burst", i)})
		}
		reqs = append(reqs, signInRequest{email: o.Email, password: o.Password, delay: o.RightDelay, right: true})
		r := runBurst(ctx, client, base.String(), form, reqs, o.PID)
		r.name = fmt.Sprintf("%d wrong passwords and then the right one, for one account from one address", o.Guesses)
		bursts = append(bursts, r)
	}
	if o.Anonymous > 0 {
		reqs := make([]signInRequest, o.Anonymous)
		for i := range reqs {
			reqs[i] = signInRequest{email: fmt.Sprintf("nobody-%d@bench.invalid", i), password: "not anybody's password at all"}
			if o.Spread {
				reqs[i].forwardedFor = fmt.Sprintf("10.77.%d.%d", i/250, i%250+1)
			}
		}
		r := runBurst(ctx, client, base.String(), form, reqs, o.PID)
		from := "one address"
		if o.Spread {
			from = "an address each (X-Forwarded-For)"
		}
		r.name = fmt.Sprintf("%d anonymous sign-ins for unknown emails, from %s", o.Anonymous, from)
		bursts = append(bursts, r)
	}
	printSignIn(stdout, o, bursts)
	return nil
}

// loginForm is what a browser holds after GET /login: its cookies and the
// CSRF token of the form.
type loginForm struct {
	cookie, token string
}

func fetchLoginForm(ctx context.Context, client *http.Client, base string) (loginForm, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/login", nil)
	if err != nil {
		return loginForm{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return loginForm{}, fmt.Errorf("bench signin: GET /login: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return loginForm{}, fmt.Errorf("bench signin: GET /login: %w", err)
	}
	m := benchCSRF.FindSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		return loginForm{}, fmt.Errorf("bench signin: GET /login: status %d, no _csrf field", resp.StatusCode)
	}
	var parts []string
	for _, ck := range resp.Cookies() {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	return loginForm{cookie: strings.Join(parts, "; "), token: html.UnescapeString(string(m[1]))}, nil
}

// signInRequest is one POST /login of a burst.
type signInRequest struct {
	email, password, forwardedFor string
	delay                         time.Duration // after the burst is released
	right                         bool          // the account's right password
}

type signInAnswer struct {
	status     int
	outcome    signInOutcome
	took       time.Duration
	retryAfter int
	note       string
}

// runBurst releases all requests at once (each after its delay) and
// samples the server's memory until the last answer is in.
func runBurst(ctx context.Context, client *http.Client, base string, form loginForm, reqs []signInRequest, pid int) *burstResult {
	var mem *memSample
	stopSampling := func() {}
	if pid > 0 {
		if rss, hwm, err := procMemory(pid); err == nil {
			mem = &memSample{RSSBefore: rss, HWMBefore: hwm, PeakRSS: rss}
			done, stopped := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(stopped)
				t := time.NewTicker(2 * time.Millisecond)
				defer t.Stop()
				for {
					select {
					case <-done:
						return
					case <-t.C:
						if rss, _, err := procMemory(pid); err == nil {
							mem.PeakRSS = max(mem.PeakRSS, rss)
						}
					}
				}
			}()
			stopSampling = func() {
				close(done)
				<-stopped
				if _, hwm, err := procMemory(pid); err == nil {
					mem.HWMAfter = hwm
					mem.Rise = round2(hwm - mem.RSSBefore)
				}
			}
		}
	}
	answers := make([]signInAnswer, len(reqs))
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-release
			if r.delay > 0 {
				time.Sleep(r.delay)
			}
			answers[i] = postLogin(ctx, client, base, form, r)
		}()
	}
	start := time.Now()
	close(release)
	wg.Wait()
	wall := time.Since(start)
	stopSampling()

	res := &burstResult{Requests: len(reqs), Outcomes: map[signInOutcome]int{}, Statuses: map[int]int{},
		WallS: round2(wall.Seconds()), Mem: mem}
	took := make([]time.Duration, 0, len(answers))
	for i, a := range answers {
		res.Outcomes[a.outcome]++
		res.Statuses[a.status]++
		took = append(took, a.took)
		if reqs[i].right {
			res.Right = a.outcome
		}
		if a.retryAfter > 0 {
			if res.RetryMinS == 0 || a.retryAfter < res.RetryMinS {
				res.RetryMinS = a.retryAfter
			}
			res.RetryMaxS = max(res.RetryMaxS, a.retryAfter)
		}
		if a.note != "" && len(res.Errors) < 5 {
			res.Errors = append(res.Errors, a.note)
		}
	}
	slices.Sort(took)
	res.P50MS = round2(float64(percentile(took, 50).Microseconds()) / 1000)
	res.MaxMS = round2(float64(percentile(took, 100).Microseconds()) / 1000)
	return res
}

// postLogin sends one sign-in as the login form does, in English, and
// sorts the answer by its status and message.
func postLogin(ctx context.Context, client *http.Client, base string, form loginForm, r signInRequest) signInAnswer {
	body := url.Values{"_csrf": {form.token}, "email": {r.email}, "password": {r.password}}.Encode()
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/login", strings.NewReader(body))
	if err != nil {
		return signInAnswer{outcome: outOther, note: err.Error()}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", "en")
	req.Header.Set("Cookie", form.cookie)
	if r.forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", r.forwardedFor)
	}
	resp, err := client.Do(req)
	if err != nil {
		return signInAnswer{outcome: outOther, took: time.Since(start), note: err.Error()}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	a := signInAnswer{status: resp.StatusCode, took: time.Since(start)}
	if err != nil {
		a.outcome, a.note = outOther, err.Error()
		return a
	}
	a.retryAfter, _ = strconv.Atoi(resp.Header.Get("Retry-After"))
	page := string(b)
	switch {
	case resp.StatusCode == http.StatusSeeOther && hasSessionCookie(resp):
		a.outcome = outSignedIn
	case resp.StatusCode == http.StatusUnauthorized:
		a.outcome = outWrong
	case resp.StatusCode == http.StatusTooManyRequests && strings.Contains(page, "Too many failed attempts"):
		a.outcome = outLimited
	case resp.StatusCode == http.StatusTooManyRequests && strings.Contains(page, "Many people are signing in"):
		a.outcome = outBusy
	default:
		a.outcome = outOther
		a.note = fmt.Sprintf("status %d: %.120q", resp.StatusCode, page)
	}
	return a
}

func hasSessionCookie(resp *http.Response) bool {
	for _, ck := range resp.Cookies() {
		if strings.HasSuffix(ck.Name, "portal_session") && ck.Value != "" {
			return true
		}
	}
	return false
}

// procMemory is VmRSS and VmHWM of process pid, in MiB.
func procMemory(pid int) (rss, hwm float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	found := 0
	for _, line := range strings.Split(string(b), "\n") {
		for key, dst := range map[string]*float64{"VmRSS:": &rss, "VmHWM:": &hwm} {
			if rest, ok := strings.CutPrefix(line, key); ok {
				kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
				if err != nil {
					return 0, 0, fmt.Errorf("bench signin: /proc/%d/status: %s", pid, line)
				}
				*dst = round2(kb / 1024)
				found++
			}
		}
	}
	if found != 2 {
		return 0, 0, fmt.Errorf("bench signin: /proc/%d/status has no VmRSS and VmHWM", pid)
	}
	return rss, hwm, nil
}

func printSignIn(w io.Writer, o SignInOptions, bursts []*burstResult) {
	fmt.Fprintf(w, "portal bench signin against %s\n", o.URL)
	flat := map[string]any{}
	for _, b := range bursts {
		key := "guess"
		if b.Right == "" {
			key = "anonymous"
		}
		fmt.Fprintf(w, "\n%s: %d requests answered in %.2fs (p50 %.0f ms, max %.0f ms)\n", b.name, b.Requests, b.WallS, b.P50MS, b.MaxMS)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, out := range signInOutcomes {
			fmt.Fprintf(tw, "  %s\t%d\n", out, b.Outcomes[out])
			flat[key+"_"+string(out)] = b.Outcomes[out]
		}
		tw.Flush()
		var codes []string
		for _, s := range slices.Sorted(maps.Keys(b.Statuses)) {
			codes = append(codes, fmt.Sprintf("%d×%d", b.Statuses[s], s))
		}
		fmt.Fprintf(w, "  statuses: %s\n", strings.Join(codes, ", "))
		if b.RetryMaxS > 0 {
			fmt.Fprintf(w, "  Retry-After: %d to %d s\n", b.RetryMinS, b.RetryMaxS)
		}
		if b.Right != "" {
			fmt.Fprintf(w, "  the right password, sent %s after the wrong ones: %s\n", o.RightDelay, b.Right)
			flat[key+"_right"] = string(b.Right)
		}
		for _, e := range b.Errors {
			fmt.Fprintf(w, "  odd answer: %s\n", e)
		}
		if m := b.Mem; m != nil {
			fmt.Fprintf(w, "  server memory: VmRSS %.0f MiB before, peak sampled VmRSS %.0f MiB, VmHWM %.0f MiB before and %.0f MiB after: a rise of %.0f MiB\n",
				m.RSSBefore, m.PeakRSS, m.HWMBefore, m.HWMAfter, m.Rise)
			flat[key+"_rss_before_mib"], flat[key+"_peak_rss_mib"] = m.RSSBefore, m.PeakRSS
			flat[key+"_hwm_after_mib"], flat[key+"_rise_mib"] = m.HWMAfter, m.Rise
		}
		flat[key+"_requests"], flat[key+"_wall_s"], flat[key+"_max_ms"] = b.Requests, b.WallS, b.MaxMS
	}
	out, _ := json.Marshal(flat)
	fmt.Fprintln(w, string(out))
}
