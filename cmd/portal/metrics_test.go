package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models/metricstest"
)

// portal serve exposes one registry two ways: GET /metrics on the main
// listener with the bearer token (401 without it), and the separate
// PORTAL_METRICS_LISTEN server without one. Both carry the Go runtime's,
// the web side's, the prober's and the dispatcher's series.
func TestServeMetricsBothWays(t *testing.T) {
	addr, metricsAddr := freePort(t), freePort(t)
	dir := t.TempDir()
	const token = "scrape-token-for-the-test"
	e := map[string]string{
		"PORTAL_LISTEN":         addr,
		"PORTAL_DATABASE_URL":   "sqlite:" + filepath.Join(dir, "portal.db"),
		"PORTAL_DATA_DIR":       dir,
		"PORTAL_LOG_LEVEL":      "warn",
		"PORTAL_METRICS_LISTEN": metricsAddr,
		"PORTAL_METRICS_TOKEN":  token,
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, strings.NewReader(""), io.Discard, env(e)) }()

	client := &http.Client{Timeout: 5 * time.Second}
	get := func(url, auth string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if code, _ := get("http://"+addr+"/readyz", ""); code == http.StatusOK {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("run returned before serving: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no 200 from /readyz within 15s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	names := []string{"go_goroutines", "process_cpu_seconds_total", "portal_http_request_duration_seconds",
		"portal_signins_total", "portal_notify_passes_total", "portal_notify_outbox_pending", "portal_sla_clocks_running",
		"portal_prober_checks_held", "portal_prober_results_total", "portal_prober_spool_depth", "portal_probes_total"}
	// The prober and the dispatcher start in their own goroutines once the
	// listener serves, and register their series as they start: wait until
	// the dispatcher has passed once and every series is there (a scrape
	// before that is not wrong, only early).
	var main, separate metricstest.Families
	for range 150 {
		code, body := get("http://"+addr+"/metrics", "Bearer "+token)
		if code != http.StatusOK {
			t.Fatalf("GET /metrics with the token: %d %s", code, body)
		}
		main = metricstest.Parse(t, strings.NewReader(body))
		all := true
		for _, name := range names {
			all = all && main[name] != nil
		}
		if v, _ := main.Value("portal_notify_passes_total"); v > 0 && all {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, body := get("http://"+addr+"/metrics", ""); code != http.StatusUnauthorized || strings.Contains(body, "portal_") {
		t.Errorf("GET /metrics without the token: %d, want 401 without series", code)
	}
	if code, _ := get("http://"+addr+"/metrics", "Bearer wrong-token-wrong-token"); code != http.StatusUnauthorized {
		t.Errorf("GET /metrics with a wrong token: %d, want 401", code)
	}
	code, body := get("http://"+metricsAddr+"/metrics", "")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics on PORTAL_METRICS_LISTEN: %d %s", code, body)
	}
	separate = metricstest.Parse(t, strings.NewReader(body))
	if code, _ := get("http://"+metricsAddr+"/", ""); code != http.StatusNotFound {
		t.Errorf("GET / on the metrics listener: %d, want 404", code)
	}
	for _, name := range names {
		for way, f := range map[string]metricstest.Families{"main listener": main, "metrics listener": separate} {
			if f[name] == nil {
				t.Errorf("%s: no %s", way, name)
			}
		}
	}
	// The readiness polls were counted by their route, on the one registry
	// both serve.
	if v, _ := separate.Value("portal_http_request_duration_seconds", "route", "/readyz", "code", "2xx"); v < 1 {
		t.Errorf("/readyz requests counted %v, want at least 1", v)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run returned %v after cancel", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return within 15s of cancel")
	}
	if code, _ := get("http://"+metricsAddr+"/metrics", ""); code != 0 {
		t.Errorf("the metrics listener still answers (%d) after run returned", code)
	}
}

// The metrics settings: a short token is refused without being shown, the
// metrics listener may not be the main one, and neither is required.
func TestMetricsSettings(t *testing.T) {
	c, err := loadConfig(env(nil))
	if err != nil || c.Metrics.Listen != "" || c.Metrics.Token != "" {
		t.Fatalf("defaults: %+v, %v; want no metrics listener and no token", c.Metrics, err)
	}
	_, err = loadConfig(env(map[string]string{"PORTAL_METRICS_TOKEN": "short-secret"}))
	if err == nil || !strings.Contains(err.Error(), "PORTAL_METRICS_TOKEN") || strings.Contains(err.Error(), "short-secret") {
		t.Errorf("a short token: %v; want an error naming the setting, not the value", err)
	}
	_, err = loadConfig(env(map[string]string{"PORTAL_LISTEN": "127.0.0.1:18106", "PORTAL_METRICS_LISTEN": "127.0.0.1:18106"}))
	if err == nil || !strings.Contains(err.Error(), "PORTAL_METRICS_LISTEN") {
		t.Errorf("the metrics listener on the main address: %v, want an error", err)
	}
	_, err = loadConfig(env(map[string]string{"PORTAL_METRICS_LISTEN": "9464"}))
	if err == nil || !strings.Contains(err.Error(), "PORTAL_METRICS_LISTEN") {
		t.Errorf("a port without a colon: %v, want an error", err)
	}
	c, err = loadConfig(env(map[string]string{"PORTAL_METRICS_LISTEN": "127.0.0.1:9464", "PORTAL_METRICS_TOKEN": "a-long-enough-token"}))
	if err != nil || c.Metrics.Listen != "127.0.0.1:9464" || c.Metrics.Token != "a-long-enough-token" {
		t.Errorf("valid settings: %+v, %v", c.Metrics, err)
	}
}
