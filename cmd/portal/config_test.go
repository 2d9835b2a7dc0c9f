package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// env is a getenv backed by a map.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	c, err := loadConfig(env(nil))
	if err != nil {
		t.Fatalf("loadConfig with an empty environment: %v", err)
	}
	if c.Listen != ":8080" {
		t.Errorf("Listen = %q, want :8080", c.Listen)
	}
	if c.DataDir != "./data" {
		t.Errorf("DataDir = %q, want ./data", c.DataDir)
	}
	if c.LogFormat != "text" {
		t.Errorf("LogFormat = %q, want text", c.LogFormat)
	}
	if c.Secure {
		t.Error("Secure = true without PORTAL_BASE_URL, want false")
	}
	if c.DatabaseURL != "" {
		t.Errorf("DatabaseURL = %q, want empty (embedded SQLite)", c.DatabaseURL)
	}
	if c.Secret != nil {
		t.Errorf("Secret set without PORTAL_SECRET")
	}
	if c.TimeZone == nil {
		t.Error("TimeZone is nil")
	}
	if c.RequestTimeout.String() != "30s" {
		t.Errorf("RequestTimeout = %v, want 30s", c.RequestTimeout)
	}
}

func TestLoadConfigValid(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, c *Config)
	}{
		{"https base URL is secure", map[string]string{"PORTAL_BASE_URL": "https://portal.example"}, func(t *testing.T, c *Config) {
			if !c.Secure {
				t.Error("Secure = false, want true")
			}
			if c.BaseURL != "https://portal.example" {
				t.Errorf("BaseURL = %q", c.BaseURL)
			}
		}},
		{"trailing slash of base URL is dropped", map[string]string{"PORTAL_BASE_URL": "https://portal.example/"}, func(t *testing.T, c *Config) {
			if c.BaseURL != "https://portal.example" || !c.Secure {
				t.Errorf("BaseURL = %q, Secure = %v", c.BaseURL, c.Secure)
			}
		}},
		{"http base URL is not secure", map[string]string{"PORTAL_BASE_URL": "http://portal.example"}, func(t *testing.T, c *Config) {
			if c.Secure {
				t.Error("Secure = true, want false")
			}
		}},
		{"listen host:port", map[string]string{"PORTAL_LISTEN": "127.0.0.1:9000"}, func(t *testing.T, c *Config) {
			if c.Listen != "127.0.0.1:9000" {
				t.Errorf("Listen = %q", c.Listen)
			}
		}},
		{"sqlite URL", map[string]string{"PORTAL_DATABASE_URL": "sqlite:/tmp/x.db"}, func(t *testing.T, c *Config) {
			if c.DatabaseURL != "sqlite:/tmp/x.db" {
				t.Errorf("DatabaseURL = %q", c.DatabaseURL)
			}
		}},
		{"mysql URL", map[string]string{"PORTAL_DATABASE_URL": "mysql://u:p@db:3306/portal"}, func(t *testing.T, c *Config) {
			if c.DatabaseURL != "mysql://u:p@db:3306/portal" {
				t.Errorf("DatabaseURL = %q", c.DatabaseURL)
			}
		}},
		{"json logs at debug", map[string]string{"PORTAL_LOG_FORMAT": "json", "PORTAL_LOG_LEVEL": "debug"}, func(t *testing.T, c *Config) {
			if c.LogFormat != "json" || c.LogLevel.String() != "DEBUG" {
				t.Errorf("LogFormat = %q, LogLevel = %v", c.LogFormat, c.LogLevel)
			}
		}},
		{"session durations", map[string]string{"PORTAL_SESSION_IDLE": "30m", "PORTAL_SESSION_MAX": "8h"}, func(t *testing.T, c *Config) {
			if c.Sessions.Idle.String() != "30m0s" || c.Sessions.Absolute.String() != "8h0m0s" {
				t.Errorf("Sessions = %+v", c.Sessions)
			}
		}},
		{"trusted proxies", map[string]string{"PORTAL_TRUSTED_PROXIES": "10.0.0.1, 192.168.0.0/16"}, func(t *testing.T, c *Config) {
			if len(c.TrustedProxies) != 2 || c.TrustedProxies[0] != "10.0.0.1" || c.TrustedProxies[1] != "192.168.0.0/16" {
				t.Errorf("TrustedProxies = %q", c.TrustedProxies)
			}
		}},
		{"time zone", map[string]string{"PORTAL_TIMEZONE": "Europe/Berlin"}, func(t *testing.T, c *Config) {
			if c.TimeZone.String() != "Europe/Berlin" {
				t.Errorf("TimeZone = %v", c.TimeZone)
			}
		}},
		{"request timeout", map[string]string{"PORTAL_REQUEST_TIMEOUT": "2m"}, func(t *testing.T, c *Config) {
			if c.RequestTimeout.String() != "2m0s" {
				t.Errorf("RequestTimeout = %v", c.RequestTimeout)
			}
		}},
		{"secret", map[string]string{"PORTAL_SECRET": strings.Repeat("k", 32)}, func(t *testing.T, c *Config) {
			if string(c.Secret) != strings.Repeat("k", 32) {
				t.Errorf("Secret = %q", c.Secret)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadConfig(env(tt.env))
			if err != nil {
				t.Fatalf("loadConfig(%v): %v", tt.env, err)
			}
			tt.check(t, c)
		})
	}
}

func TestLoadConfigRejects(t *testing.T) {
	tests := []struct{ key, value string }{
		{"PORTAL_LISTEN", "nonsense"},
		{"PORTAL_DATABASE_URL", "postgres://x"},
		{"PORTAL_DATABASE_URL", "mysql://host-without-db"},
		{"PORTAL_BASE_URL", "ftp://x"},
		{"PORTAL_BASE_URL", "https://"},
		{"PORTAL_LOG_LEVEL", "loud"},
		{"PORTAL_LOG_FORMAT", "xml"},
		{"PORTAL_SECRET", "short"},
		{"PORTAL_SESSION_IDLE", "5s"},
		{"PORTAL_SESSION_IDLE", "soon"},
		{"PORTAL_SESSION_MAX", "30s"},
		{"PORTAL_TRUSTED_PROXIES", "notanip"},
		{"PORTAL_TIMEZONE", "Mars/Base"},
		{"PORTAL_REQUEST_TIMEOUT", "500ms"},
		{"PORTAL_REQUEST_TIMEOUT", "1h"},
		{"PORTAL_REQUEST_TIMEOUT", "soon"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			_, err := loadConfig(env(map[string]string{tt.key: tt.value}))
			if err == nil {
				t.Fatalf("%s=%q accepted", tt.key, tt.value)
			}
			if !strings.Contains(err.Error(), tt.key) {
				t.Errorf("error %q does not name %s", err, tt.key)
			}
		})
	}
}

func TestLoadConfigReportsAllProblems(t *testing.T) {
	bad := map[string]string{
		"PORTAL_LISTEN":          "nonsense",
		"PORTAL_DATABASE_URL":    "postgres://x",
		"PORTAL_BASE_URL":        "ftp://x",
		"PORTAL_LOG_LEVEL":       "loud",
		"PORTAL_LOG_FORMAT":      "xml",
		"PORTAL_SECRET":          "short",
		"PORTAL_SESSION_IDLE":    "5s",
		"PORTAL_TRUSTED_PROXIES": "notanip",
		"PORTAL_TIMEZONE":        "Mars/Base",
	}
	_, err := loadConfig(env(bad))
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	for k := range bad {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("error does not name %s:\n%v", k, err)
		}
	}
	if n := len(strings.Split(err.Error(), "\n")); n != len(bad) {
		t.Errorf("error has %d lines, want one per problem (%d):\n%v", n, len(bad), err)
	}
}

// run reports a bad configuration before touching the database.
func TestRunRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	err := run(t.Context(), []string{"migrate"}, strings.NewReader(""), &bytes.Buffer{},
		env(map[string]string{"PORTAL_DATA_DIR": dir, "PORTAL_LOG_FORMAT": "xml", "PORTAL_LISTEN": "nonsense"}))
	if err == nil {
		t.Fatal("run accepted a bad configuration")
	}
	for _, k := range []string{"configuration", "PORTAL_LOG_FORMAT", "PORTAL_LISTEN"} {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("error %q does not mention %s", err, k)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("data dir written despite the bad configuration: %v", entries)
	}
}

func TestLoadOrCreateSecret(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // does not exist yet
	c1, err := loadConfig(env(map[string]string{"PORTAL_DATA_DIR": dir}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c1.loadOrCreateSecret(); err != nil {
		t.Fatalf("first run: %v", err)
	}
	if len(c1.Secret) < 32 {
		t.Fatalf("secret has %d bytes, want at least 32", len(c1.Secret))
	}
	path := filepath.Join(dir, "secret.key")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("secret file: %v", err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("secret file mode = %o, want 600", mode)
	}

	c2, err := loadConfig(env(map[string]string{"PORTAL_DATA_DIR": dir}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.loadOrCreateSecret(); err != nil {
		t.Fatalf("second run: %v", err)
	}
	if !bytes.Equal(c1.Secret, c2.Secret) {
		t.Errorf("second run secret %q differs from first %q", c2.Secret, c1.Secret)
	}
}

func TestLoadOrCreateSecretPrefersEnvironment(t *testing.T) {
	dir := t.TempDir()
	secret := strings.Repeat("s", 40)
	c, err := loadConfig(env(map[string]string{"PORTAL_DATA_DIR": dir, "PORTAL_SECRET": secret}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.loadOrCreateSecret(); err != nil {
		t.Fatal(err)
	}
	if string(c.Secret) != secret {
		t.Errorf("Secret = %q, want PORTAL_SECRET", c.Secret)
	}
	if _, err := os.Stat(filepath.Join(dir, "secret.key")); !os.IsNotExist(err) {
		t.Errorf("secret.key written although PORTAL_SECRET is set (stat err %v)", err)
	}
}

func TestLoadOrCreateSecretRejectsShortFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret.key"), []byte("tooshort\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(env(map[string]string{"PORTAL_DATA_DIR": dir}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.loadOrCreateSecret(); err == nil || !strings.Contains(err.Error(), "too short") {
		t.Errorf("short key file: err = %v, want too short", err)
	}
}
