package models

import (
	"sort"
	"time"
)

// Why a sample has no deltas (TrafficSample.Note).
const (
	SampleFirst   = "first"   // no earlier reading of the port
	SampleRestart = "restart" // sysUpTime went back: the agent restarted
	SampleReset   = "reset"   // a counter went back, or jumped beyond the port's speed
	SampleGap     = "gap"     // too long since the last reading for 32-bit counters
	SampleClock   = "clock"   // the reading is not later than the last one
)

// wrap32 is one turn of a Counter32 (and of sysUpTime).
const wrap32 = uint64(1) << 32

// NewTrafficSample is the sample of port made of reading cur, given the
// port's previous reading prev (nil when there is none). It keeps the raw
// counters and, when they allow it, the deltas since prev:
//
//   - sysUpTime must have advanced by about the time between the readings
//     (its own 497-day wrap allowed): if it went back, or advanced by less
//     than half that time, the agent restarted in between and its counters
//     started again from zero, so the sample has no deltas;
//   - a 64-bit counter that went back was reset; a 32-bit one wrapped
//     (once: with readings further apart than maxGap, or than the time
//     2³² octets take at 110 % of the port's speed, a 32-bit counter may
//     have wrapped more than once, so the sample has no deltas);
//   - a delta implying more than 110 % of the port's speed is a reset that
//     looked like a wrap, or a counter that jumped: no deltas either.
//
// So a restart, a reset or a wrap never shows as a spike: a sample without
// deltas only leaves a gap in the rates.
func NewTrafficSample(portID int64, prev *CounterReading, cur CounterReading, maxGap time.Duration) TrafficSample {
	s := TrafficSample{PortID: portID, At: cur.At.UTC(), Uptime: int64(cur.Uptime),
		InC: int64(cur.InOctets), OutC: int64(cur.OutOctets),
		InErrC: int64(cur.InErrors), OutErrC: int64(cur.OutErrors),
		InDiscC: int64(cur.InDiscards), OutDiscC: int64(cur.OutDiscards), OperUp: cur.OperUp}
	if prev == nil || prev.HC != cur.HC {
		s.Note = SampleFirst
		return s
	}
	elapsed := cur.At.Sub(prev.At)
	if elapsed <= 0 {
		s.Note = SampleClock
		return s
	}
	if agentRestarted(prev.Uptime, cur.Uptime, elapsed) {
		s.Note = SampleRestart
		return s
	}
	if !cur.HC && (elapsed > maxGap || mayWrapTwice(elapsed, cur.SpeedBps)) {
		s.Note = SampleGap
		return s
	}
	var in, out uint64
	var ok bool
	if cur.HC {
		in, ok = counterDelta64(prev.InOctets, cur.InOctets)
		if ok {
			out, ok = counterDelta64(prev.OutOctets, cur.OutOctets)
		}
	} else {
		in, out, ok = counterDelta32(prev.InOctets, cur.InOctets), counterDelta32(prev.OutOctets, cur.OutOctets), true
	}
	ms := elapsed.Milliseconds()
	if ok && cur.SpeedBps > 0 {
		// 110 % of the speed over the interval, in octets, plus a little
		// for the agent updating its counters at its own pace.
		limit := uint64(cur.SpeedBps)/8*uint64(ms)/1000*11/10 + 1<<20
		ok = in <= limit && out <= limit
	}
	if !ok {
		s.Note = SampleReset
		return s
	}
	s.Valid = true
	s.Ms = ms
	s.InOctets, s.OutOctets = int64(in), int64(out)
	s.InErrors = int64(counterDelta32(uint64(prev.InErrors), uint64(cur.InErrors)))
	s.OutErrors = int64(counterDelta32(uint64(prev.OutErrors), uint64(cur.OutErrors)))
	s.InDiscards = int64(counterDelta32(uint64(prev.InDiscards), uint64(cur.InDiscards)))
	s.OutDiscards = int64(counterDelta32(uint64(prev.OutDiscards), uint64(cur.OutDiscards)))
	return s
}

// agentRestarted tells whether sysUpTime (hundredths of a second, a
// 32-bit value that wraps after 497 days) says the agent restarted between
// two readings elapsed apart.
func agentRestarted(prev, cur uint32, elapsed time.Duration) bool {
	d := uint64(cur - prev) // modulo 2³²: a wrap of sysUpTime is not a restart
	cs := uint64(elapsed / (10 * time.Millisecond))
	// Went back (a huge forward step modulo 2³²), or advanced by less than
	// half the time that passed.
	return d > 2*cs+6000 || d < cs/2
}

// mayWrapTwice tells whether a Counter32 of a port of speedBps (0 when
// unknown: then only maxGap applies) may have wrapped more than once in
// elapsed: whether 2³² octets could pass at 110 % of the speed.
func mayWrapTwice(elapsed time.Duration, speedBps int64) bool {
	if speedBps <= 0 {
		return false
	}
	return elapsed.Seconds()*float64(speedBps)*1.1/8 >= float64(wrap32)
}

// maxDelta64 is the largest advance of a Counter64 taken as traffic: more
// is a reset or a misbehaving agent (and would not fit the int64 columns,
// nor sums of a few of them).
const maxDelta64 = uint64(1) << 62

func counterDelta64(prev, cur uint64) (uint64, bool) {
	if cur < prev || cur-prev > maxDelta64 {
		return 0, false
	}
	return cur - prev, true
}

// counterDelta32 is the advance of a Counter32 that may have wrapped once.
// Values read as 64-bit but past 2³² (a misbehaving agent) are taken modulo.
func counterDelta32(prev, cur uint64) uint64 {
	prev, cur = prev%wrap32, cur%wrap32
	if cur >= prev {
		return cur - prev
	}
	return cur + wrap32 - prev
}

// TrafficSlot is the length of the slots the 95th percentile is taken
// over: the 5-minute samples of burstable billing.
const TrafficSlot = 5 * time.Minute

// SlotRates gathers valid samples into 5-minute slots (by the time each
// sample was read, UTC) and gives each slot's mean rate in each direction,
// in slot order. With the default 5-minute polling a slot is one sample;
// faster polling is averaged to the same slots, so the percentile means
// the same whatever the interval.
func SlotRates(samples []TrafficSample) (in, out []int64) {
	type acc struct{ ms, in, out int64 }
	slots := map[int64]*acc{}
	var keys []int64
	for i := range samples {
		s := &samples[i]
		if !s.Valid || s.Ms <= 0 {
			continue
		}
		k := s.At.Unix() / int64(TrafficSlot/time.Second)
		a := slots[k]
		if a == nil {
			a = &acc{}
			slots[k] = a
			keys = append(keys, k)
		}
		a.ms += s.Ms
		a.in += s.InOctets
		a.out += s.OutOctets
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	in, out = make([]int64, len(keys)), make([]int64, len(keys))
	for i, k := range keys {
		a := slots[k]
		in[i], out[i] = bitsPerSecond(a.in, a.ms, true), bitsPerSecond(a.out, a.ms, true)
	}
	return in, out
}

// Percentile95 is the 95th percentile of rates as burstable billing takes
// it: sort the samples, discard the highest 5 % (rounded down: 432 of a
// 30-day month's 8,640), and the highest left is the rate. No samples is 0.
func Percentile95(rates []int64) int64 {
	n := len(rates)
	if n == 0 {
		return 0
	}
	sorted := append([]int64(nil), rates...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	return sorted[n-n*5/100-1]
}
