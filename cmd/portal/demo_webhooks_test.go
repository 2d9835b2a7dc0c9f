package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"github.com/colo-portal/portal/notify"
)

// The demo gives Aurora an endpoint at the receiver in the demo process,
// subscribed to every event, with ops@aurora.example its administrator; a
// second start adds nothing. The dispatcher's deliveries reach the
// receiver, which verifies their signatures with the endpoint's secret
// (a forged one is 401) and fails the first try of outage.opened once.
func TestDemoWebhookDelivers(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			store := dbtest.Open(t, db, models.WithSecretKey(bytes.Repeat([]byte("k"), 32)),
				models.WithHookRules(models.HookRules{AllowHTTP: true, AllowPrivate: true}))
			if err := loadDemo(ctx, store, "127.0.0.1:18130", demoBlobs(t), io.Discard); err != nil {
				t.Fatal(err)
			}
			log := slog.New(slog.DiscardHandler)
			hookURL, err := startDemoReceiver(ctx, store, "127.0.0.1:18130", log)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := demoWebhook(ctx, store, hookURL, &out); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), hookURL) || !strings.Contains(out.String(), "/webhooks") {
				t.Errorf("the start says %q, want the receiver and /webhooks", out.String())
			}
			aurora, err := store.GetOrgBySlug(ctx, "aurora")
			if err != nil {
				t.Fatal(err)
			}
			ops, err := store.GetUserByEmail(ctx, "ops@aurora.example")
			if err != nil {
				t.Fatal(err)
			}
			if admin, err := store.IsOrgAdmin(ctx, ops); err != nil || !admin {
				t.Errorf("ops@aurora.example administers Aurora: %v %v", admin, err)
			}
			sc := models.OrgScope(aurora.ID)
			eps, err := store.ListWebhooks(ctx, sc, aurora.ID)
			if err != nil || len(eps) != 1 || eps[0].URL != hookURL || len(eps[0].EventList()) != len(models.HookEvents) || !eps[0].Enabled {
				t.Fatalf("Aurora's endpoints: %+v %v; want one at %s with every event", eps, err, hookURL)
			}
			ep := eps[0]
			// A second start adds nothing.
			if err := demoWebhook(ctx, store, hookURL, io.Discard); err != nil {
				t.Fatal(err)
			}
			if again, err := store.ListWebhooks(ctx, sc, aurora.ID); err != nil || len(again) != 1 {
				t.Errorf("after a second start: %d endpoints (%v), want 1", len(again), err)
			}
			ds, err := store.ListWebhookDeliveries(ctx, sc, &ep, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			var ping *models.WebhookDelivery
			for i := range ds {
				if ds[i].Event == models.HookPing {
					if ping != nil {
						t.Fatalf("two pings queued: %+v", ds)
					}
					ping = &ds[i]
				}
			}
			if ping == nil {
				t.Fatalf("no test event queued: %+v", ds)
			}

			d := notify.New(notify.Config{Poll: 50 * time.Millisecond, Hooks: notify.HooksConfig{AllowPrivate: true}}, store, log)
			go func() { _ = d.Run(ctx) }()
			var attempts []models.WebhookAttempt
			for deadline := time.Now().Add(60 * time.Second); ; {
				var del *models.WebhookDelivery
				del, attempts, err = store.GetWebhookDelivery(ctx, sc, &ep, ping.ID)
				if err != nil {
					t.Fatal(err)
				}
				if del.Status != models.HookPending {
					if del.Status != models.HookDelivered || del.LastStatus != http.StatusOK {
						t.Fatalf("the test event: %+v", del)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the test event is still pending: %+v", del)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if len(attempts) != 1 || attempts[0].StatusCode != http.StatusOK || !strings.Contains(attempts[0].Response, "signature verified") {
				t.Errorf("attempts of the test event: %+v; want one, 200, signature verified", attempts)
			}

			// The receiver refuses a forged signature, and fails the
			// first try of outage.opened only.
			secret, err := store.OpenWebhookSecret(&ep)
			if err != nil {
				t.Fatal(err)
			}
			post := func(event, delivery, sig string) (int, string) {
				t.Helper()
				body := []byte(`{"id":"evt_test","type":"` + event + `"}`)
				ts := strconv.FormatInt(time.Now().Unix(), 10)
				if sig == "" {
					sig = notify.Sign(secret, ts, body)
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, hookURL, bytes.NewReader(body))
				req.Header.Set(notify.HeaderEvent, event)
				req.Header.Set(notify.HeaderDelivery, delivery)
				req.Header.Set(notify.HeaderTimestamp, ts)
				req.Header.Set(notify.HeaderSignature, sig)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			if code, body := post(models.HookPing, "990001", notify.Sign("whsec_not-the-secret", "1", nil)); code != http.StatusUnauthorized {
				t.Errorf("a forged signature: %d %s, want 401", code, body)
			}
			if code, _ := post(models.HookOutageOpened, "990002", ""); code != http.StatusInternalServerError {
				t.Errorf("outage.opened's first try: %d, want 500", code)
			}
			if code, _ := post(models.HookOutageOpened, "990002", ""); code != http.StatusOK {
				t.Errorf("outage.opened's second try: %d, want 200", code)
			}
			if code, _ := post(models.HookOutageClosed, "990003", ""); code != http.StatusOK {
				t.Errorf("outage.closed's first try: %d, want 200", code)
			}
		})
	}
}

// The demo allows http:// and loopback endpoints unless the user set the
// variables.
func TestDemoHookRules(t *testing.T) {
	env := func(kv map[string]string) func(string) string {
		return func(k string) string { return kv[k] }
	}
	cfg, err := loadConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	demoHookRules(cfg, env(nil))
	if !cfg.Notify.HookRules.AllowHTTP || !cfg.Notify.HookRules.AllowPrivate || !cfg.Notify.Hooks.AllowPrivate {
		t.Errorf("demo without settings: %+v %+v, want http and private allowed", cfg.Notify.HookRules, cfg.Notify.Hooks)
	}
	set := env(map[string]string{"PORTAL_HOOKS_ALLOW_HTTP": "off", "PORTAL_HOOKS_ALLOW_PRIVATE": "off"})
	if cfg, err = loadConfig(set); err != nil {
		t.Fatal(err)
	}
	demoHookRules(cfg, set)
	if cfg.Notify.HookRules.AllowHTTP || cfg.Notify.HookRules.AllowPrivate || cfg.Notify.Hooks.AllowPrivate {
		t.Errorf("demo with the settings off: %+v %+v, want them kept", cfg.Notify.HookRules, cfg.Notify.Hooks)
	}
}
