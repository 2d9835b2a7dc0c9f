// Package prober pings customer devices and checks their services, writes
// the results in batches (spooling them to disk while the database is
// away), and leaves outage detection and rollups to models.RecordResults.
// It talks to the database only through models and never imports fiber.
package prober

import (
	"context"
	"time"

	"github.com/colo-portal/portal/models"
)

// Outcome is what one probe found.
type Outcome struct {
	OK     bool
	RTT    time.Duration
	Reason string // a models.Reason* code when !OK
	// CertExpiry is the TLS certificate's expiry, for https and STARTTLS.
	CertExpiry *time.Time
}

// ProbeFunc runs one probe of a check. It must return by ctx's deadline.
type ProbeFunc func(ctx context.Context, c *models.Check) Outcome
