package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
)

// Customer webhooks (docs/architecture.md, "Webhooks"): the deliveries
// ExpandEvent made for organizations' endpoints, sent by the dispatcher's
// own webhook loop (runHooks) under the same leases as the notices.

// HooksConfig tunes the sending of customer webhooks.
type HooksConfig struct {
	// AllowPrivate lets requests reach loopback, private, link-local and
	// other internal addresses (PORTAL_HOOKS_ALLOW_PRIVATE); without it
	// the dialer refuses them at connect time, whatever a name resolves
	// to then.
	AllowPrivate bool
	// Attempts is how many tries a delivery gets (PORTAL_HOOK_ATTEMPTS).
	// Default 8.
	Attempts int
	// DisableAfter is how many failed attempts in a row disable an
	// endpoint (PORTAL_HOOK_DISABLE_AFTER). Default 15.
	DisableAfter int
	// Timeout bounds one request. Default 10 s.
	Timeout time.Duration
	// RootCAs, when set (tests), are the only authorities trusted.
	RootCAs *x509.CertPool
}

// Defaults of HooksConfig.
const (
	DefaultHookAttempts     = 8
	DefaultHookDisableAfter = 15
	hookFirstRetry          = 30 * time.Second
	hookMaxRetryWait        = time.Hour
)

// Customer webhook headers (HeaderTimestamp and HeaderSignature are the
// gateway's too).
const (
	HeaderEvent    = "X-Portal-Event"
	HeaderDelivery = "X-Portal-Delivery"
)

func (c *HooksConfig) defaults() {
	if c.Attempts <= 0 {
		c.Attempts = DefaultHookAttempts
	}
	if c.DisableAfter <= 0 {
		c.DisableAfter = DefaultHookDisableAfter
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
}

// HookBackoff is the wait before the next try of a webhook delivery that
// has failed `failed` times: 30 s, doubling, at most an hour.
func HookBackoff(failed int) time.Duration {
	d := hookFirstRetry
	for i := 1; i < failed && d < hookMaxRetryWait; i++ {
		d *= 2
	}
	return min(d, hookMaxRetryWait)
}

// ErrAddressRefused is a connection refused by the dialer: the address is
// internal and PORTAL_HOOKS_ALLOW_PRIVATE is off.
var ErrAddressRefused = errors.New("address not allowed for webhooks")

type hookSender struct {
	cfg    HooksConfig
	client *http.Client
}

func newHookSender(cfg HooksConfig) *hookSender {
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	if !cfg.AllowPrivate {
		// Control runs with the address actually dialled, after name
		// resolution: a name that resolves to an internal address, now or
		// on a later lookup, is refused all the same.
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip := net.ParseIP(host)
			if ip == nil || !models.PublicIP(ip) {
				return fmt.Errorf("%w: %s", ErrAddressRefused, host)
			}
			return nil
		}
	}
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would make the dialer check the proxy, not the receiver
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: cfg.RootCAs},
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &hookSender{cfg: cfg, client: &http.Client{Transport: tr, Timeout: cfg.Timeout,
		// A redirect is an answer other than 2xx: never followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// send posts one attempt of job, signed at now, and says what came of it
// (Delivered, the status, the error, the start of the answer, the time).
func (h *hookSender) send(ctx context.Context, job models.HookJob, now time.Time) models.HookResult {
	start := time.Now()
	r := h.post(ctx, job, now)
	r.Duration = time.Since(start)
	return r
}

func (h *hookSender) post(ctx context.Context, job models.HookJob, now time.Time) models.HookResult {
	if job.Secret == "" {
		return models.HookResult{Problem: "the signing secret cannot be read (PORTAL_SECRET changed): rotate it"}
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	body := []byte(job.Delivery.Payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, job.URL, bytes.NewReader(body))
	if err != nil {
		return models.HookResult{Problem: "bad endpoint URL"}
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "colo-portal-webhooks")
	req.Header.Set(HeaderEvent, job.Delivery.Event)
	req.Header.Set(HeaderDelivery, strconv.FormatInt(job.Delivery.ID, 10))
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(job.Secret, ts, body))
	resp, err := h.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is on the page already
		}
		return models.HookResult{Problem: err.Error()}
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, models.HookResponseKept))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	r := models.HookResult{StatusCode: resp.StatusCode, Response: string(answer)}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		r.Delivered = true
	} else {
		r.Problem = "answered " + resp.Status
	}
	return r
}

// hookRounds bounds the claims of one round of the webhook loop, so that
// the loop pauses (and sees a shutdown) between rounds of work.
const hookRounds = 4

// runHooks is the loop of customer webhooks, apart from the passes of the
// notices (Run starts it): one customer's slow or silent receiver holds up
// only webhooks, never an outage notice or the clock sweep. It returns
// when ctx is cancelled, after the sends under way are finished and
// recorded.
func (d *Dispatcher) runHooks(ctx context.Context) {
	t := d.cfg.Clock.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		d.sendHooks(ctx)
		t.Reset(d.cfg.Poll)
		if d.afterHookPass != nil {
			d.afterHookPass()
		}
	}
}

// sendHooks sends the due webhook deliveries, Workers at a time, each
// claim sharing them among the endpoints (HookClaimPerEndpoint).
func (d *Dispatcher) sendHooks(ctx context.Context) {
	for range hookRounds {
		if ctx.Err() != nil {
			return
		}
		jobs, err := d.store.ClaimHookDeliveries(ctx, d.cfg.InstanceID, d.cfg.Lease, d.cfg.Workers)
		if err != nil {
			d.dbFailed("claim webhook deliveries", err)
			return
		}
		// The database's return is told by the notices' own work (expand,
		// sweep), not here: that is what an outage holds up.
		var wg sync.WaitGroup
		for _, job := range jobs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// A shutdown lets the send finish and be recorded.
				d.deliverHook(context.WithoutCancel(ctx), job)
			}()
		}
		wg.Wait()
		if len(jobs) < d.cfg.Workers {
			return
		}
	}
}

// deliverHook sends one attempt of a webhook delivery and records it. The
// record comes after the send, within the lease (the send budget is well
// inside it), so an attempt is made once.
func (d *Dispatcher) deliverHook(ctx context.Context, job models.HookJob) {
	del := job.Delivery
	log := d.log.With("webhook_delivery_id", del.ID, "endpoint_id", del.EndpointID, "org_id", del.OrgID, "event", del.Event)
	if left := del.LeaseUntil.Sub(d.store.Now()); left < d.cfg.sendBudget() {
		log.Warn("webhook lease too short to send, left for later", "lease_left", left)
		return
	}
	r := d.hooks.send(ctx, job, d.cfg.Clock.Now())
	failed := del.Attempts + 1
	if !r.Delivered && failed < d.cfg.Hooks.Attempts {
		retry := d.store.Now().Add(HookBackoff(failed))
		r.RetryAt = &retry
	}
	disabled, err := d.recordHook(ctx, del, r)
	if err == nil {
		d.m.hookDelivery(hookOutcome(r))
	}
	switch {
	case errors.Is(err, models.ErrLeaseLost):
		log.Warn("webhook lease lost while sending: another instance holds it now")
	case err != nil:
		log.Error("record webhook attempt", "err", err)
	case r.Delivered:
		log.Info("webhook delivered", "attempt", failed, "status", r.StatusCode)
	default:
		log.Warn("webhook attempt failed", "attempt", failed, "status", r.StatusCode, "err", r.Problem, "retry_at", r.RetryAt)
	}
	if disabled {
		log.Warn("webhook endpoint disabled after failed attempts in a row", "failures", d.cfg.Hooks.DisableAfter)
	}
}

// hookOutcome names an attempt for portal_webhook_deliveries_total:
// delivered, retry, failed (given up) or refused (an internal address).
func hookOutcome(r models.HookResult) string {
	switch {
	case r.Delivered:
		return "delivered"
	case strings.Contains(r.Problem, ErrAddressRefused.Error()):
		return "refused"
	case r.RetryAt != nil:
		return "retry"
	}
	return "failed"
}

func (d *Dispatcher) recordHook(ctx context.Context, del models.WebhookDelivery, r models.HookResult) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var disabled bool
	err := d.retry(ctx, func() (err error) {
		disabled, err = d.store.RecordHookAttempt(ctx, d.cfg.InstanceID, del.ID, r, d.cfg.Hooks.DisableAfter)
		return err
	})
	return disabled, err
}

// composeWebhookDisabled tells the organization's administrator that the
// portal disabled an endpoint after failures, with the last error and
// where to turn it on again.
func composeWebhookDisabled(del models.Delivery, f *models.WebhookDisabledFacts, baseURL string, loc *time.Location, after int) *notice {
	tr := locales.For(del.Locale)
	n := &notice{Lang: tr.Lang(), URL: pageURL(baseURL, "/webhooks/"+f.Endpoint.Ref)}
	n.Subject = tr.T("webhooks.email_subject", f.Org.Name)
	var b strings.Builder
	line := func(s string) { b.WriteString(s + "\n") }
	line(greet(tr, ""))
	line("")
	line(tr.T("webhooks.email_intro", f.Endpoint.URL, after))
	if f.Endpoint.DisabledAt != nil {
		line(tr.T("webhooks.email_when", f.Endpoint.DisabledAt.In(loc).Format(longTime)))
	}
	if f.LastError != "" {
		line(tr.T("webhooks.email_last_error", f.LastError))
	}
	line("")
	line(tr.T("webhooks.email_what_now"))
	if n.URL != "" {
		line("")
		line(tr.T("webhooks.email_link", n.URL))
	}
	line("")
	signOff(tr, line, tr.T("webhooks.email_why", f.Org.Name))
	n.Body = b.String()
	return n
}

// hookDisabledNotice renders the email about a disabled endpoint.
func (d *Dispatcher) hookDisabledNotice(ctx context.Context, del models.Delivery) (*notice, string, error) {
	f, err := d.store.WebhookDisabledFactsOf(ctx, models.AllOrgs(), del.OrgID, del.EventID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, "the webhook endpoint no longer exists", nil
	}
	if err != nil {
		return nil, "", err
	}
	return composeWebhookDisabled(del, f, d.cfg.BaseURL, d.cfg.Location, d.cfg.Hooks.DisableAfter), "", nil
}
