package models

import (
	"context"
	"errors"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// HashBusyError says that as many passwords as memory allows are being
// hashed already and none finished within the wait.
type HashBusyError struct{ RetryAfter time.Duration }

func (e *HashBusyError) Error() string { return "password hashing busy" }

// Bounds of the hashing gate: at least HashSlotsMin hashes may run at once
// whatever the memory, at most HashSlotsMax (the machines have few cores,
// so more in parallel buys no throughput, only memory).
const (
	HashSlotsMin = 2
	HashSlotsMax = 16
	// DefaultHashWait is how long a hash waits for a slot before the
	// request is turned away with 429.
	DefaultHashWait = 2 * time.Second
)

// HashGate bounds how many Argon2id hashes run at once, so that a burst of
// sign-ins costs at most slots × the hash's memory.
type HashGate struct {
	slots    chan struct{}
	wait     time.Duration
	inFlight atomic.Int64
	peak     atomic.Int64
}

// NewHashGate lets slots hashes run at once; the next waits up to wait.
func NewHashGate(slots int, wait time.Duration) *HashGate {
	slots = max(slots, 1)
	if wait <= 0 {
		wait = DefaultHashWait
	}
	return &HashGate{slots: make(chan struct{}, slots), wait: wait}
}

// Bound is how many hashes may run at once.
func (g *HashGate) Bound() int { return cap(g.slots) }

// Peak is the most hashes that ran at once so far.
func (g *HashGate) Peak() int64 { return g.peak.Load() }

// Acquire takes a slot, waiting up to the gate's wait; release gives it back.
func (g *HashGate) Acquire(ctx context.Context) (release func(), err error) {
	select {
	case g.slots <- struct{}{}:
	default:
		t := time.NewTimer(g.wait)
		defer t.Stop()
		select {
		case g.slots <- struct{}{}:
		case <-t.C:
			return nil, &HashBusyError{RetryAfter: time.Second}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	n := g.inFlight.Add(1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
	var once atomic.Bool
	return func() {
		if once.CompareAndSwap(false, true) {
			g.inFlight.Add(-1)
			<-g.slots
		}
	}, nil
}

// HashSlotsFor sizes the gate from memory: an eighth of mem divided by
// what one hash takes (perHash bytes), within [HashSlotsMin, HashSlotsMax].
// An unknown memory (0) gets the floor.
func HashSlotsFor(mem, perHash int64) int {
	if mem <= 0 || perHash <= 0 {
		return HashSlotsMin
	}
	return int(min(max(mem/8/perHash, HashSlotsMin), HashSlotsMax))
}

// MemoryLimit is the memory this process may use: the smallest of
// GOMEMLIMIT, the cgroup's limit (v2 memory.max or v1
// memory.limit_in_bytes) and the machine's MemTotal; 0 when none is known.
func MemoryLimit() int64 {
	var limit int64
	take := func(n int64) {
		if n > 0 && (limit == 0 || n < limit) {
			limit = n
		}
	}
	if n := debug.SetMemoryLimit(-1); n != math.MaxInt64 {
		take(n)
	}
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if b, err := os.ReadFile(f); err == nil {
			// "max" (v2) or a huge number (v1) means no limit.
			if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n < 1<<60 {
				take(n)
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				if n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64); err == nil {
					take(n * 1024)
				}
			}
		}
	}
	return limit
}

// processMemory is MemoryLimit, read once for the process.
var processMemory = sync.OnceValue(MemoryLimit)

// DefaultHashSlots sizes the gate for hasher h from this process's memory.
func DefaultHashSlots(h PasswordHasher) int {
	return HashSlotsFor(processMemory(), int64(h.Memory)*1024)
}

// WithHashGate sets the gate that bounds concurrent password hashing.
func WithHashGate(g *HashGate) StoreOption { return func(s *Store) { s.hashGate = g } }

// HashGate is the store's gate (tests read its peak).
func (s *Store) HashGate() *HashGate { return s.hashGate }

// verifyPassword checks password against encoded inside a hashing slot.
func (s *Store) verifyPassword(ctx context.Context, encoded, password string) (ok, rehash bool, err error) {
	release, err := s.hashGate.Acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer release()
	ok, rehash = s.hasher.Verify(encoded, password)
	return ok, rehash, nil
}

// hashPassword hashes password inside a hashing slot.
func (s *Store) hashPassword(ctx context.Context, password string) (string, error) {
	release, err := s.hashGate.Acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return s.hasher.Hash(password)
}

// IsHashBusy reports a *HashBusyError and its wait.
func IsHashBusy(err error) (time.Duration, bool) {
	var b *HashBusyError
	if errors.As(err, &b) {
		return b.RetryAfter, true
	}
	return 0, false
}
