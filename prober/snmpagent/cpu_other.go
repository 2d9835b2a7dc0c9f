//go:build !linux

package snmpagent

import "time"

// threadCPU is unknown off Linux: Agent.CPU reads 0.
func threadCPU() time.Duration { return 0 }
