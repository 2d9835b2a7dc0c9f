package main

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/notify"
)

// The demo shows customer webhooks working out of the box: a receiver in
// the demo process (on 127.0.0.1 at the portal's port + 4, 8084 for the
// default :8080, or a free port when that is taken) checks each request's
// signature with the secret of the endpoint it came for, and Aurora has an
// endpoint there subscribed to every event. The demo allows http:// and
// loopback endpoints for it, unless PORTAL_HOOKS_ALLOW_HTTP or
// PORTAL_HOOKS_ALLOW_PRIVATE is set.

// demoHookDescription names the demo's endpoint, so a later start finds it
// (and follows the receiver to another port).
const demoHookDescription = "demo receiver in the demo process"

// demoHookFailing is the event whose first try the receiver answers with
// 500, so that the delivery log shows a retry (30 s later, delivered).
const demoHookFailing = models.HookOutageOpened

// demoHookAddr is the receiver's preferred address for the portal's listen
// address: the port after the demo's SNMP agents.
func demoHookAddr(listen string) string {
	port := 8080
	if _, p, err := net.SplitHostPort(listen); err == nil {
		if n, err := strconv.Atoi(p); err == nil && n > 0 && n < 65535-4 {
			port = n
		}
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port+4))
}

// demoHookRules lets the demo's endpoint be registered and reached: http://
// and loopback addresses, each unless the user set the variable.
func demoHookRules(cfg *Config, getenv func(string) string) {
	if strings.TrimSpace(getenv("PORTAL_HOOKS_ALLOW_HTTP")) == "" {
		cfg.Notify.HookRules.AllowHTTP = true
	}
	if strings.TrimSpace(getenv("PORTAL_HOOKS_ALLOW_PRIVATE")) == "" {
		cfg.Notify.HookRules.AllowPrivate = true
		cfg.Notify.Hooks.AllowPrivate = true
	}
}

// demoReceiver is the demo's webhook receiver.
type demoReceiver struct {
	store *models.Store
	log   *slog.Logger
	url   string // what the endpoints point at
	mu    sync.Mutex
	tried map[string]bool // deliveries of demoHookFailing answered 500 once
}

// secrets are the signing secrets of every endpoint pointed at the
// receiver, in any organization.
func (rc *demoReceiver) secrets(ctx context.Context) ([]string, error) {
	orgs, err := rc.store.ListOrgs(ctx, models.AllOrgs())
	if err != nil {
		return nil, err
	}
	var out []string
	for _, o := range orgs {
		eps, err := rc.store.ListWebhooks(ctx, models.AllOrgs(), o.ID)
		if err != nil {
			return nil, err
		}
		for i := range eps {
			if eps[i].URL != rc.url {
				continue
			}
			if s, err := rc.store.OpenWebhookSecret(&eps[i]); err == nil {
				out = append(out, s)
			}
		}
	}
	return out, nil
}

// ServeHTTP checks a delivery as a customer's receiver would: a signature
// over the timestamp and the body with the endpoint's secret, and a
// timestamp within 5 minutes; 401 when either is wrong. It answers 500 to
// the first try of each demoHookFailing delivery, 200 otherwise; the
// answer's text is in the delivery log.
func (rc *demoReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	answer := func(code int, format string, args ...any) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		fmt.Fprintf(w, format+"\n", args...)
		rc.log.Info("demo webhook receiver", "event", r.Header.Get(notify.HeaderEvent),
			"delivery", r.Header.Get(notify.HeaderDelivery), "status", code)
	}
	if r.Method != http.MethodPost {
		answer(http.StatusMethodNotAllowed, "demo webhook receiver: POST only")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		answer(http.StatusBadRequest, "demo webhook receiver: %v", err)
		return
	}
	ts := r.Header.Get(notify.HeaderTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		answer(http.StatusUnauthorized, "demo webhook receiver: timestamp %q missing or more than 5 minutes off", ts)
		return
	}
	secrets, err := rc.secrets(r.Context())
	if err != nil {
		answer(http.StatusServiceUnavailable, "demo webhook receiver: cannot read the endpoints' secrets: %v", err)
		return
	}
	got := r.Header.Get(notify.HeaderSignature)
	verified := false
	for _, s := range secrets {
		if hmac.Equal([]byte(notify.Sign(s, ts, body)), []byte(got)) {
			verified = true
		}
	}
	if !verified {
		answer(http.StatusUnauthorized, "demo webhook receiver: the signature matches no endpoint's secret")
		return
	}
	event, delivery := r.Header.Get(notify.HeaderEvent), r.Header.Get(notify.HeaderDelivery)
	if event == demoHookFailing {
		rc.mu.Lock()
		first := !rc.tried[delivery]
		rc.tried[delivery] = true
		rc.mu.Unlock()
		if first {
			answer(http.StatusInternalServerError, "demo webhook receiver: signature verified; failing the first try of %s on purpose, to show a retry", event)
			return
		}
	}
	answer(http.StatusOK, "demo webhook receiver: signature verified, %s received", event)
}

// startDemoReceiver serves the receiver until ctx ends and returns the URL
// endpoints point at.
func startDemoReceiver(ctx context.Context, store *models.Store, listen string, log *slog.Logger) (string, error) {
	ln, err := net.Listen("tcp", demoHookAddr(listen))
	if err != nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return "", fmt.Errorf("demo webhook receiver: %w", err)
		}
	}
	rc := &demoReceiver{store: store, log: log, url: "http://" + ln.Addr().String() + "/hooks", tried: map[string]bool{}}
	mux := http.NewServeMux()
	mux.Handle("/hooks", rc)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("demo webhook receiver stopped", "err", err)
		}
	}()
	log.Info("demo webhook receiver", "url", rc.url)
	return rc.url, nil
}

// demoWebhook makes ops@aurora.example Aurora's administrator if it has
// none, and gives Aurora an endpoint at hookURL subscribed to every event,
// with a test event queued, when it has no endpoint yet; the demo's own
// endpoint follows the receiver when its port changed. A rule that refuses
// the URL (PORTAL_HOOKS_ALLOW_HTTP or _PRIVATE set to off) is said, not an
// error.
func demoWebhook(ctx context.Context, store *models.Store, hookURL string, out io.Writer) error {
	o, err := store.GetOrgBySlug(ctx, "aurora")
	if err != nil {
		return fmt.Errorf("demo webhook: %w", err)
	}
	u, err := store.GetUserByEmail(ctx, "ops@aurora.example")
	if err != nil {
		return fmt.Errorf("demo webhook: %w", err)
	}
	if o.AdminUserID == nil {
		if err := store.SetOrgAdmin(ctx, models.SystemActor("demo"), u.ID, true); err != nil {
			return fmt.Errorf("demo webhook: %w", err)
		}
	}
	a, sc := models.UserActor(u, ""), models.OrgScope(o.ID)
	eps, err := store.ListWebhooks(ctx, sc, o.ID)
	if err != nil {
		return err
	}
	switch {
	case len(eps) == 0:
		e, _, err := store.CreateWebhook(ctx, a, sc, o.ID, models.WebhookInput{URL: hookURL, Description: demoHookDescription, Events: models.HookEvents})
		if _, ok := models.AsValidation(err); ok {
			fmt.Fprintf(out, "Webhooks: no demo endpoint, as PORTAL_HOOKS_ALLOW_HTTP or PORTAL_HOOKS_ALLOW_PRIVATE is off (%v)\n", err)
			return nil
		}
		if err != nil {
			return fmt.Errorf("demo webhook: %w", err)
		}
		if _, err := store.SendWebhookTest(ctx, a, sc, e.Ref); err != nil {
			return fmt.Errorf("demo webhook: %w", err)
		}
	default:
		for _, e := range eps {
			if e.Description == demoHookDescription && e.URL != hookURL && strings.HasPrefix(e.URL, "http://127.0.0.1:") {
				err := store.UpdateWebhook(ctx, a, sc, e.Ref, models.WebhookInput{URL: hookURL, Description: e.Description, Events: e.EventList()})
				if _, ok := models.AsValidation(err); !ok && err != nil {
					return fmt.Errorf("demo webhook: %w", err)
				}
			}
		}
	}
	fmt.Fprintf(out, "Webhooks: Aurora's endpoint sends every event to a receiver in the demo process (%s) that checks each signature; see the deliveries at /webhooks as ops@aurora.example.\n", hookURL)
	return nil
}
