package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/blobstore"
	"github.com/colo-portal/portal/prober"
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
	// Retention is how long raw probe results and traffic samples are kept
	// (PORTAL_RETENTION_DAYS).
	Retention     time.Duration
	ProberWorkers int // protocol checks at once
	// ProberBatch and ProberBatchAge are when the prober writes a batch of
	// results: at this many, or when the oldest is this old
	// (PORTAL_PROBER_BATCH, PORTAL_PROBER_BATCH_AGE); a result that
	// changes a check's state is written at once.
	ProberBatch    int
	ProberBatchAge time.Duration
	// Notify is how emergency notices go out (PORTAL_SMTP_*, PORTAL_WEBHOOK_*).
	Notify NotifyConfig
	// Incident decides when a provider-wide incident opens
	// (PORTAL_INCIDENT_*).
	Incident models.IncidentRules
	// Uploads bounds uploaded authorization scans (PORTAL_UPLOAD_MAX_MB);
	// they are kept under DataDir/documents, outside anything served.
	Uploads models.UploadLimits
	// FollowUp is how long the signed form may take after a phone
	// authorization (PORTAL_PHONE_FOLLOWUP).
	FollowUp time.Duration
	// APIRate is PORTAL_API_RATE, requests a minute per API token.
	APIRate int
	// RequestTimeout ends each request's context, and with it its
	// database work (PORTAL_REQUEST_TIMEOUT).
	RequestTimeout time.Duration
	// DBTimeout bounds each statement and transaction of a request, and
	// the database check of /healthz and /readyz (PORTAL_DB_TIMEOUT).
	DBTimeout time.Duration
	// DrainDelay is how long the server goes on serving, with /readyz
	// answering 503, after SIGTERM before it closes its listener
	// (PORTAL_DRAIN_DELAY).
	DrainDelay time.Duration
	// HashConcurrency is how many passwords may be hashed at once
	// (PORTAL_HASH_CONCURRENCY); 0 sizes it from memory.
	HashConcurrency int
	// Provider is the data center's identity on documents and in the
	// return instructions (PORTAL_PROVIDER_*).
	Provider models.Provider
	// Documents is "folder" (DocumentsDir) or "s3" (the bucket of S3)
	// (PORTAL_DOCUMENTS, PORTAL_S3_*).
	Documents string
	S3        blobstore.S3Config
	// Visits bound visit requests and the purge of visitors' personal
	// data (PORTAL_VISIT_*).
	Visits models.VisitRules
	// ShipmentHold is how long a parcel is held before it is flagged
	// (PORTAL_SHIPMENT_HOLD_DAYS).
	ShipmentHold time.Duration
	// FacilityReadings is how long the meters' raw readings are kept
	// (PORTAL_FACILITY_READING_DAYS).
	FacilityReadings time.Duration
	// Metrics is where Prometheus reads the series (PORTAL_METRICS_*).
	Metrics MetricsConfig
	// SSO is single sign-on for staff (PORTAL_OIDC_*).
	SSO SSOConfig
}

// DocumentsDir is where uploaded documents are kept with PORTAL_DOCUMENTS=folder.
func (c *Config) DocumentsDir() string { return filepath.Join(c.DataDir, "documents") }

// openDocuments opens the configured document store: the folder under the
// data directory, or the S3 bucket.
func (c *Config) openDocuments(ctx context.Context) (blobstore.Store, error) {
	if c.Documents == "s3" {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return blobstore.NewS3(ctx, c.S3)
	}
	return blobstore.New(c.DocumentsDir())
}

// setting is one PORTAL_* variable: its name, its default, what it is
// for, and how its value goes into the Config. Every variable is read
// through the table in settings(), so each is parsed and reported the same
// way.
type setting struct {
	name string
	def  string // the value when the variable is unset or blank
	help string
	// secret settings may come from a file named by name_FILE (Docker and
	// Kubernetes secrets), and their values never appear in errors.
	secret bool
	// quiet settings' values never appear in errors either.
	quiet bool
	// set parses v into c; its error says what is wanted, without the name.
	set func(c *Config, v string) error
}

// settings is every PORTAL_* variable the portal reads, in the order
// problems are reported. Checks between settings are in crossCheck.
func settings() []setting {
	return append([]setting{
		{name: "PORTAL_LISTEN", def: ":8080", help: "address to serve on", set: func(c *Config, v string) error {
			if _, _, err := net.SplitHostPort(v); err != nil {
				return errors.New("want host:port or :port")
			}
			c.Listen = v
			return nil
		}},
		{name: "PORTAL_DATABASE_URL", secret: true, help: "empty (SQLite under the data directory), sqlite:PATH or mysql://user:pass@host:port/db",
			set: func(c *Config, v string) error {
				switch {
				case v == "" || strings.HasPrefix(v, "sqlite:"):
				case strings.HasPrefix(v, "mysql://"):
					if _, err := models.MySQLDSN(v); err != nil {
						return err
					}
				default:
					return errors.New("want empty (embedded SQLite), sqlite:PATH or mysql://user:pass@host:port/db")
				}
				c.DatabaseURL = v
				return nil
			}},
		{name: "PORTAL_DATA_DIR", def: "./data", help: "SQLite file, uploaded documents and the generated key file",
			set: func(c *Config, v string) error { c.DataDir = v; return nil }},
		{name: "PORTAL_BASE_URL", help: "public URL; https:// turns on secure cookies and HSTS", set: func(c *Config, v string) error {
			v = strings.TrimRight(v, "/")
			if v == "" {
				return nil
			}
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return errors.New("want http://host or https://host")
			}
			c.BaseURL, c.Secure = v, u.Scheme == "https"
			return nil
		}},
		{name: "PORTAL_SECRET", secret: true, help: "at least 32 characters; default: DATA_DIR/secret.key, created on first run",
			set: func(c *Config, v string) error {
				if v == "" {
					return nil
				}
				c.Secret = []byte(v)
				if len(v) < 32 {
					return errors.New("want at least 32 characters")
				}
				return nil
			}},
		{name: "PORTAL_LOG_LEVEL", def: "info", help: "debug, info, warn or error", set: func(c *Config, v string) error {
			if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
				return errors.New("want debug, info, warn or error")
			}
			return nil
		}},
		{name: "PORTAL_LOG_FORMAT", def: "text", help: "text or json", set: oneOf(func(c *Config, v string) { c.LogFormat = v }, "text", "json")},
		{name: "PORTAL_TIMEZONE", def: "Asia/Shanghai", help: "time zone pages show times in", set: func(c *Config, v string) error {
			tz, err := time.LoadLocation(v)
			if err != nil {
				return err
			}
			c.TimeZone = tz
			return nil
		}},
		{name: "PORTAL_SESSION_IDLE", def: shortDuration(models.DefaultSessionPolicy.Idle), help: "sign-out after this long without a request",
			set: durationIn(time.Minute, 0, "2h", func(c *Config, d time.Duration) { c.Sessions.Idle = d })},
		{name: "PORTAL_SESSION_MAX", def: shortDuration(models.DefaultSessionPolicy.Absolute), help: "sign-out this long after sign-in",
			set: durationIn(time.Minute, 0, "12h", func(c *Config, d time.Duration) { c.Sessions.Absolute = d })},
		{name: "PORTAL_TRUSTED_PROXIES", help: "comma-separated IPs or CIDR ranges of reverse proxies", set: func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			var bad []string
			for _, p := range strings.Split(v, ",") {
				p = strings.TrimSpace(p)
				if net.ParseIP(p) == nil {
					if _, _, err := net.ParseCIDR(p); err != nil {
						bad = append(bad, strconv.Quote(p))
						continue
					}
				}
				c.TrustedProxies = append(c.TrustedProxies, p)
			}
			if bad != nil {
				return fmt.Errorf("%s: not an IP address or CIDR range", strings.Join(bad, ", "))
			}
			return nil
		}},
		{name: "PORTAL_PROBER", def: "on", help: "off serves pages only", set: oneOf(func(c *Config, v string) { c.Prober = v == "on" }, "on", "off")},
		{name: "PORTAL_PROBER_WORKERS", def: "64", help: "protocol checks run at once",
			set: intIn(1, 4096, "a number", func(c *Config, n int) { c.ProberWorkers = n })},
		{name: "PORTAL_PROBER_BATCH", def: strconv.Itoa(prober.DefaultBatchMax), help: "probe results written in one transaction at most; a batch this size is written at once",
			set: intIn(100, 50_000, "a number", func(c *Config, n int) { c.ProberBatch = n })},
		{name: "PORTAL_PROBER_BATCH_AGE", def: shortDuration(prober.DefaultBatchAge), help: "the longest a probe result waits before it is written; a result that changes a check's state (an outage opened or closed) is written at once",
			set: durationIn(100*time.Millisecond, 5*time.Second, "5s", func(c *Config, d time.Duration) { c.ProberBatchAge = d })},
		{name: "PORTAL_RETENTION_DAYS", def: "90", help: "days raw probe results and traffic samples are kept",
			set: intIn(7, 3650, "a number of days", func(c *Config, n int) { c.Retention = time.Duration(n) * 24 * time.Hour })},
		// The request body limit follows it for every route, so it stays modest.
		{name: "PORTAL_UPLOAD_MAX_MB", def: strconv.FormatInt(models.DefaultUploadLimits.MaxBytes>>20, 10), help: "largest upload in megabytes",
			set: intIn(1, 50, "a number of megabytes", func(c *Config, n int) { c.Uploads.MaxBytes = int64(n) << 20 })},
		{name: "PORTAL_PHONE_FOLLOWUP", def: shortDuration(models.DefaultFollowUpDeadline), help: "the signed form is due this long after a phone authorization",
			set: durationIn(time.Hour, 30*24*time.Hour, "24h", func(c *Config, d time.Duration) { c.FollowUp = d })},
		{name: "PORTAL_REQUEST_TIMEOUT", def: shortDuration(handlers.DefaultRequestTimeout), help: "how long one request may take; its database work is cancelled then",
			set: durationIn(time.Second, 10*time.Minute, "30s", func(c *Config, d time.Duration) { c.RequestTimeout = d })},
		{name: "PORTAL_API_RATE", def: "600", help: "requests a minute one API token may make on this instance (bursts of up to 60); more answer 429",
			set: intIn(1, 100_000, "a number", func(c *Config, n int) { c.APIRate = n })},
		{name: "PORTAL_DB_TIMEOUT", def: shortDuration(models.DefaultDBTimeout), help: "how long one database statement or transaction of a request may wait; then the page answers 503 and /healthz fails",
			set: durationIn(500*time.Millisecond, 5*time.Minute, "5s", func(c *Config, d time.Duration) { c.DBTimeout = d })},
		{name: "PORTAL_DRAIN_DELAY", def: "0s", help: "after SIGTERM, keep serving this long with /readyz answering 503 before closing the listener, so a load balancer stops sending first",
			set: durationIn(0, 5*time.Minute, "15s", func(c *Config, d time.Duration) { c.DrainDelay = d })},
		{name: "PORTAL_HASH_CONCURRENCY", help: "passwords hashed at once; default: sized from memory",
			set: func(c *Config, v string) error {
				if v == "" {
					return nil
				}
				return intIn(1, 256, "a number", func(c *Config, n int) { c.HashConcurrency = n })(c, v)
			}},
	}, append(append(append(append(append(append(documentSettings(), notifySettings()...), incidentSettings()...), providerSettings()...), visitSettings()...), metricsSettings()...), append(append(ssoSettings(), facilitySettings()...), shipmentSettings()...)...)...)
}

// documentSettings say where uploaded documents are kept.
func documentSettings() []setting {
	return []setting{
		{name: "PORTAL_DOCUMENTS", def: "folder", help: "folder (DATA_DIR/documents) or s3 (the PORTAL_S3_* bucket)",
			set: oneOf(func(c *Config, v string) { c.Documents = v }, "folder", "s3")},
		{name: "PORTAL_S3_ENDPOINT", help: "S3-compatible server: http://host:port or https://host[:port]", set: func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
				return errors.New("want http://host:port or https://host[:port], without a path")
			}
			c.S3.Endpoint = u.Scheme + "://" + u.Host
			return nil
		}},
		{name: "PORTAL_S3_BUCKET", help: "bucket holding the documents; it must exist", set: func(c *Config, v string) error {
			c.S3.Bucket = v
			return nil
		}},
		{name: "PORTAL_S3_PREFIX", def: "documents/", help: "put before every object name", set: func(c *Config, v string) error {
			if strings.HasPrefix(v, "/") || strings.Contains(v, "..") {
				return errors.New("want a relative prefix like documents/")
			}
			if v != "" && !strings.HasSuffix(v, "/") {
				v += "/"
			}
			c.S3.Prefix = v
			return nil
		}},
		{name: "PORTAL_S3_REGION", def: "us-east-1", help: "region the requests are signed for", set: func(c *Config, v string) error {
			c.S3.Region = v
			return nil
		}},
		{name: "PORTAL_S3_ACCESS_KEY", secret: true, help: "access key ID", set: func(c *Config, v string) error {
			c.S3.AccessKey = v
			return nil
		}},
		{name: "PORTAL_S3_SECRET_KEY", secret: true, help: "secret access key", set: func(c *Config, v string) error {
			c.S3.SecretKey = v
			return nil
		}},
	}
}

// printSettings lists the settings with their defaults, for portal help.
func printSettings(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range settings() {
		def := s.def
		if def == "" {
			def = "-"
		}
		name := s.name
		if s.secret {
			name += " (or " + s.name + "_FILE)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", name, def, s.help)
	}
	tw.Flush()
}

// loadConfig reads PORTAL_* variables through getenv, by the table of
// settings. It returns every problem at once so an operator fixes them in
// one go.
func loadConfig(getenv func(string) string) (*Config, error) {
	c := &Config{Sessions: models.DefaultSessionPolicy, Uploads: models.DefaultUploadLimits, Visits: models.DefaultVisitRules}
	var errs []error
	for _, s := range settings() {
		v, err := s.value(getenv)
		if err == nil {
			if err = s.set(c, v); err != nil {
				if s.secret || s.quiet || v == "" {
					// A parser's own error may quote the value (url.Parse does).
					msg := err.Error()
					if v != "" {
						msg = strings.ReplaceAll(msg, v, "(hidden)")
					}
					err = fmt.Errorf("%s: %s", s.name, msg)
				} else {
					err = fmt.Errorf("%s=%q: %w", s.name, v, err)
				}
			}
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, c.crossCheck()...)
	return c, errors.Join(errs...)
}

// value is the setting's value: the variable, trimmed; for a secret the
// content of the file its _FILE variable names, without the trailing line
// break; else the default. Setting both a secret and its _FILE is an error.
func (s setting) value(getenv func(string) string) (string, error) {
	v := strings.TrimSpace(getenv(s.name))
	if s.secret {
		if path := strings.TrimSpace(getenv(s.name + "_FILE")); path != "" {
			if v != "" {
				return "", fmt.Errorf("%s and %s_FILE are both set: set one of them", s.name, s.name)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return "", fmt.Errorf("%s_FILE: %w", s.name, err)
			}
			if v = strings.TrimRight(string(b), "\r\n"); v == "" {
				return "", fmt.Errorf("%s_FILE: %s is empty", s.name, path)
			}
			return v, nil
		}
	}
	if v == "" {
		v = s.def
	}
	return v, nil
}

// crossCheck reports what is wrong between settings that are each fine.
func (c *Config) crossCheck() []error {
	var errs []error
	if c.Sessions.Idle > c.Sessions.Absolute {
		errs = append(errs, fmt.Errorf("PORTAL_SESSION_IDLE (%s) is longer than PORTAL_SESSION_MAX (%s)", c.Sessions.Idle, c.Sessions.Absolute))
	}
	if c.Documents == "s3" {
		if c.S3.Endpoint == "" || c.S3.Bucket == "" {
			errs = append(errs, errors.New("PORTAL_DOCUMENTS=s3 needs PORTAL_S3_ENDPOINT and PORTAL_S3_BUCKET"))
		}
		if c.S3.AccessKey == "" || c.S3.SecretKey == "" {
			errs = append(errs, errors.New("PORTAL_DOCUMENTS=s3 needs PORTAL_S3_ACCESS_KEY and PORTAL_S3_SECRET_KEY (or their _FILE)"))
		}
	}
	errs = append(errs, c.Metrics.crossCheck(c.Listen)...)
	errs = append(errs, c.SSO.crossCheck(c.BaseURL)...)
	return append(errs, c.Notify.crossCheck()...)
}

// intIn parses a whole number from lo to hi; what names its unit in the
// error ("a number of days").
func intIn(lo, hi int, what string, set func(*Config, int)) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("want %s from %d to %d", what, lo, hi)
		}
		set(c, n)
		return nil
	}
}

// durationIn parses a Go duration of at least lo and, unless hi is 0, at
// most hi; example shows one in the error.
func durationIn(lo, hi time.Duration, example string, set func(*Config, time.Duration)) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < lo || (hi > 0 && d > hi) {
			if hi == 0 {
				return fmt.Errorf("want a duration of at least %s, like %s", shortDuration(lo), example)
			}
			return fmt.Errorf("want a duration from %s to %s, like %s", shortDuration(lo), shortDuration(hi), example)
		}
		set(c, d)
		return nil
	}
}

// oneOf accepts one of the words, in any case, and sets it in lower case.
func oneOf(set func(*Config, string), words ...string) func(*Config, string) error {
	return func(c *Config, v string) error {
		v = strings.ToLower(v)
		if !slices.Contains(words, v) {
			return fmt.Errorf("want %s", strings.Join(words, " or "))
		}
		set(c, v)
		return nil
	}
}

// shortDuration writes d as an operator would: 2h, 30m, 720h.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
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
