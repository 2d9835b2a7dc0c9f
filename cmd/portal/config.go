package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/colo-portal/portal/models"
)

// Config is read once from the environment and validated before anything starts.
type Config struct {
	Listen         string
	DatabaseURL    string
	DataDir        string
	BaseURL        string
	Secure         bool
	Secret         []byte
	LogLevel       slog.Level
	LogFormat      string
	TimeZone       *time.Location
	Sessions       models.SessionPolicy
	TrustedProxies []string
	// Prober runs the prober pool in serve (PORTAL_PROBER=off turns it off,
	// for an instance that only serves pages).
	Prober bool
	// Retention is how long raw probe results are kept (PORTAL_RETENTION_DAYS).
	Retention     time.Duration
	ProberWorkers int // protocol checks at once
	// Notify is how emergency notices go out (PORTAL_SMTP_*, PORTAL_WEBHOOK_*).
	Notify NotifyConfig
	// Uploads bounds uploaded authorization scans (PORTAL_UPLOAD_MAX_MB);
	// they are kept under DataDir/documents, outside anything served.
	Uploads models.UploadLimits
	// FollowUp is how long the signed form may take after a phone
	// authorization (PORTAL_PHONE_FOLLOWUP).
	FollowUp time.Duration
	// HashConcurrency is how many passwords may be hashed at once
	// (PORTAL_HASH_CONCURRENCY); 0 sizes it from memory.
	HashConcurrency int
}

// DocumentsDir is where uploaded documents are kept.
func (c *Config) DocumentsDir() string { return filepath.Join(c.DataDir, "documents") }

// loadConfig reads PORTAL_* variables through getenv. It returns every
// problem at once so an operator fixes them in one go.
func loadConfig(getenv func(string) string) (*Config, error) {
	var errs []error
	get := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	c := &Config{
		Listen:      get("PORTAL_LISTEN", ":8080"),
		DatabaseURL: get("PORTAL_DATABASE_URL", ""),
		DataDir:     get("PORTAL_DATA_DIR", "./data"),
		BaseURL:     strings.TrimRight(get("PORTAL_BASE_URL", ""), "/"),
		LogFormat:   get("PORTAL_LOG_FORMAT", "text"),
		Sessions:    models.DefaultSessionPolicy,
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("PORTAL_LISTEN=%q: want host:port or :port", c.Listen))
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "mysql://") && !strings.HasPrefix(c.DatabaseURL, "sqlite:") {
		errs = append(errs, fmt.Errorf("PORTAL_DATABASE_URL: want empty (embedded SQLite), sqlite:PATH or mysql://user:pass@host:port/db"))
	}
	if strings.HasPrefix(c.DatabaseURL, "mysql://") {
		if _, err := models.MySQLDSN(c.DatabaseURL); err != nil {
			errs = append(errs, fmt.Errorf("PORTAL_DATABASE_URL: %v", err))
		}
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("PORTAL_BASE_URL=%q: want http://host or https://host", c.BaseURL))
		} else {
			c.Secure = u.Scheme == "https"
		}
	}
	if err := c.LogLevel.UnmarshalText([]byte(get("PORTAL_LOG_LEVEL", "info"))); err != nil {
		errs = append(errs, fmt.Errorf("PORTAL_LOG_LEVEL: want debug, info, warn or error"))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("PORTAL_LOG_FORMAT=%q: want text or json", c.LogFormat))
	}
	tz, err := time.LoadLocation(get("PORTAL_TIMEZONE", "Asia/Shanghai"))
	if err != nil {
		errs = append(errs, fmt.Errorf("PORTAL_TIMEZONE: %v", err))
	}
	c.TimeZone = tz
	for _, d := range []struct {
		key string
		dst *time.Duration
	}{{"PORTAL_SESSION_IDLE", &c.Sessions.Idle}, {"PORTAL_SESSION_MAX", &c.Sessions.Absolute}} {
		if v := strings.TrimSpace(getenv(d.key)); v != "" {
			dur, err := time.ParseDuration(v)
			if err != nil || dur < time.Minute {
				errs = append(errs, fmt.Errorf("%s=%q: want a duration of at least 1m, like 2h", d.key, v))
				continue
			}
			*d.dst = dur
		}
	}
	if c.Sessions.Idle > c.Sessions.Absolute {
		errs = append(errs, fmt.Errorf("PORTAL_SESSION_IDLE (%s) is longer than PORTAL_SESSION_MAX (%s)", c.Sessions.Idle, c.Sessions.Absolute))
	}
	if v := get("PORTAL_TRUSTED_PROXIES", ""); v != "" {
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			if net.ParseIP(p) == nil {
				if _, _, err := net.ParseCIDR(p); err != nil {
					errs = append(errs, fmt.Errorf("PORTAL_TRUSTED_PROXIES: %q is not an IP address or CIDR range", p))
					continue
				}
			}
			c.TrustedProxies = append(c.TrustedProxies, p)
		}
	}
	switch v := strings.ToLower(get("PORTAL_PROBER", "on")); v {
	case "on":
		c.Prober = true
	case "off":
	default:
		errs = append(errs, fmt.Errorf("PORTAL_PROBER=%q: want on or off", v))
	}
	c.Retention = 90 * 24 * time.Hour
	if v := get("PORTAL_RETENTION_DAYS", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 7 || n > 3650 {
			errs = append(errs, fmt.Errorf("PORTAL_RETENTION_DAYS=%q: want a number of days from 7 to 3650", v))
		} else {
			c.Retention = time.Duration(n) * 24 * time.Hour
		}
	}
	c.ProberWorkers = 64
	if v := get("PORTAL_PROBER_WORKERS", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 4096 {
			errs = append(errs, fmt.Errorf("PORTAL_PROBER_WORKERS=%q: want a number from 1 to 4096", v))
		} else {
			c.ProberWorkers = n
		}
	}
	c.Uploads = models.DefaultUploadLimits
	if v := get("PORTAL_UPLOAD_MAX_MB", ""); v != "" {
		n, err := strconv.Atoi(v)
		// The request body limit follows it for every route, so it stays modest.
		if err != nil || n < 1 || n > 50 {
			errs = append(errs, fmt.Errorf("PORTAL_UPLOAD_MAX_MB=%q: want a number of megabytes from 1 to 50", v))
		} else {
			c.Uploads.MaxBytes = int64(n) << 20
		}
	}
	c.FollowUp = models.DefaultFollowUpDeadline
	if v := get("PORTAL_PHONE_FOLLOWUP", ""); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Hour || d > 30*24*time.Hour {
			errs = append(errs, fmt.Errorf("PORTAL_PHONE_FOLLOWUP=%q: want a duration from 1h to 720h, like 24h", v))
		} else {
			c.FollowUp = d
		}
	}
	if v := get("PORTAL_HASH_CONCURRENCY", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 256 {
			errs = append(errs, fmt.Errorf("PORTAL_HASH_CONCURRENCY=%q: want a number from 1 to 256", v))
		} else {
			c.HashConcurrency = n
		}
	}
	var notifyErrs []error
	c.Notify, notifyErrs = loadNotifyConfig(get)
	errs = append(errs, notifyErrs...)
	if s := strings.TrimSpace(getenv("PORTAL_SECRET")); s != "" {
		if len(s) < 32 {
			errs = append(errs, fmt.Errorf("PORTAL_SECRET: want at least 32 characters"))
		}
		c.Secret = []byte(s)
	}
	return c, errors.Join(errs...)
}

// loadOrCreateSecret reads the key file under the data directory, creating
// it with 256 random bits on first run.
func (c *Config) loadOrCreateSecret() error {
	if c.Secret != nil {
		return nil
	}
	path := filepath.Join(c.DataDir, "secret.key")
	if b, err := os.ReadFile(path); err == nil {
		s := strings.TrimSpace(string(b))
		if len(s) < 32 {
			return fmt.Errorf("%s: key too short; delete it to make a new one", path)
		}
		c.Secret = []byte(s)
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
		return err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	s := hex.EncodeToString(b)
	// Write a temporary file, then link it into place: the key appears whole
	// or not at all, and if another instance made one first we use theirs.
	tmp, err := os.CreateTemp(c.DataDir, ".secret-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.WriteString(s + "\n"); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, os.ErrExist) {
		return c.loadOrCreateSecret()
	} else if err != nil {
		return err
	}
	c.Secret = []byte(s)
	return nil
}

func (c *Config) logger() *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
