//go:build !unix

package bench

import "time"

// processCPU is unknown off Unix: the benchmark's CPU figures read 0.
func processCPU() time.Duration { return 0 }

// maxRSSBytes is unknown off Unix.
func maxRSSBytes() int64 { return 0 }
