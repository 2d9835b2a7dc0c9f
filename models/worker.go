package models

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"
)

// TimeSource is the clock of the background workers (prober, notifier).
// Tests pass one they move by hand, so minutes of work take milliseconds.
type TimeSource interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is the part of time.Timer the workers use (with Go 1.23
// semantics: Reset and Stop leave no stale tick behind).
type Timer interface {
	C() <-chan time.Time
	Reset(d time.Duration)
	Stop()
}

// WallClock is the real time source.
var WallClock TimeSource = realClock{}

type realClock struct{}

func (realClock) Now() time.Time                 { return time.Now() }
func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time   { return r.t.C }
func (r realTimer) Reset(d time.Duration) { r.t.Reset(d) }
func (r realTimer) Stop()                 { r.t.Stop() }

// NewInstanceID names a worker for its leases: unique per process,
// readable in the lease_owner columns (64 characters at most).
func NewInstanceID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "portal"
	}
	if len(host) > 40 {
		host = host[:40]
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}
