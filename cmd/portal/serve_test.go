package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
)

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestServe starts the real server, waits for /readyz (migrated, ready), then stops it by
// cancelling the context run was given.
func TestServe(t *testing.T) {
	for _, cmd := range []string{"serve", "demo"} {
		t.Run(cmd, func(t *testing.T) {
			addr := freePort(t)
			dir := t.TempDir()
			e := map[string]string{
				"PORTAL_LISTEN":       addr,
				"PORTAL_DATABASE_URL": "sqlite:" + filepath.Join(dir, "portal.db"),
				"PORTAL_DATA_DIR":     dir,
				"PORTAL_LOG_LEVEL":    "warn",
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			var out strings.Builder
			go func() { done <- run(ctx, []string{cmd}, strings.NewReader(""), &out, env(e)) }()

			client := &http.Client{Timeout: time.Second}
			// Generous: the demo loads 91 days of history first, and CI
			// runs other packages' tests beside this one.
			deadline := time.Now().Add(60 * time.Second)
			for {
				resp, err := client.Get("http://" + addr + "/readyz")
				if err == nil {
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						break
					}
					t.Logf("readyz: %d %s", resp.StatusCode, body)
				}
				select {
				case err := <-done:
					t.Fatalf("run returned before serving: %v", err)
				default:
				}
				if time.Now().After(deadline) {
					t.Fatalf("no 200 from /readyz within 60s (last error %v)", err)
				}
				time.Sleep(50 * time.Millisecond)
			}

			// The login page is served too, with the security headers.
			resp, err := client.Get("http://" + addr + "/login")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Security-Policy") == "" {
				t.Errorf("GET /login: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
			}

			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("run returned %v after cancel, want nil", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("run did not return within 10s of cancel")
			}
			if _, err := client.Get("http://" + addr + "/healthz"); err == nil {
				t.Error("server still answers after run returned")
			}
			if cmd == "demo" && !strings.Contains(out.String(), "admin@idc.example") {
				t.Errorf("demo printed no sign-in table:\n%s", out.String())
			}
			if demo, _ := demoProvider(models.Provider{}); cmd == "demo" && !strings.Contains(out.String(), "headed "+demo.Name) {
				t.Errorf("demo without PORTAL_PROVIDER_* did not take its fictional provider:\n%s", out.String())
			}
		})
	}
}

// A port already in use is an error from run, not a hang.
func TestServeListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	e := map[string]string{
		"PORTAL_LISTEN":       ln.Addr().String(),
		"PORTAL_DATABASE_URL": "sqlite:" + filepath.Join(dir, "portal.db"),
		"PORTAL_DATA_DIR":     dir,
		"PORTAL_LOG_LEVEL":    "error",
	}
	done := make(chan error, 1)
	go func() { done <- run(t.Context(), []string{"serve"}, strings.NewReader(""), io.Discard, env(e)) }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("run returned nil although the port is taken")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return within 10s although the port is taken")
	}
}
