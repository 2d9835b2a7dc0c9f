package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
)

// MetricsConfig is where Prometheus reads the portal's series
// (PORTAL_METRICS_*; docs/operations.md, "Metrics").
type MetricsConfig struct {
	// Listen is the address of a separate plain HTTP server answering
	// GET /metrics to anyone who reaches it; empty: none.
	Listen string
	// Token lets a scraper read GET /metrics on the main listener with
	// "Authorization: Bearer <Token>"; empty: that route answers 404.
	Token string
}

// minMetricsToken is the shortest bearer token accepted for /metrics.
const minMetricsToken = 16

// metricsSettings say where the metrics are served.
func metricsSettings() []setting {
	return []setting{
		{name: "PORTAL_METRICS_LISTEN", help: "address of a separate HTTP server answering GET /metrics without a token (bind it to a private address); empty: none",
			set: func(c *Config, v string) error {
				if v == "" {
					return nil
				}
				if _, _, err := net.SplitHostPort(v); err != nil {
					return errors.New("want host:port or :port, like 127.0.0.1:9464")
				}
				c.Metrics.Listen = v
				return nil
			}},
		{name: "PORTAL_METRICS_TOKEN", secret: true, help: "bearer token for GET /metrics on the main listener, at least " + strconv.Itoa(minMetricsToken) + " characters; empty: that route answers 404",
			set: func(c *Config, v string) error {
				if v != "" && len(v) < minMetricsToken {
					return fmt.Errorf("want at least %d characters", minMetricsToken)
				}
				c.Metrics.Token = v
				return nil
			}},
	}
}

// crossCheck reports a metrics listener on the main listener's address.
func (m *MetricsConfig) crossCheck(listen string) []error {
	if m.Listen != "" && m.Listen == listen {
		return []error{fmt.Errorf("PORTAL_METRICS_LISTEN is PORTAL_LISTEN (%s): give the metrics server an address of its own, or unset it and use PORTAL_METRICS_TOKEN", listen)}
	}
	return nil
}
