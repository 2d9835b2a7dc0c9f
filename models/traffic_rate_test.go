package models

import (
	"testing"
	"time"
)

// sequence runs recorded readings through NewTrafficSample the way the
// poller does, each sample's reading becoming the next one's base.
func sequence(readings []CounterReading, maxGap time.Duration) []TrafficSample {
	var prev *CounterReading
	out := make([]TrafficSample, len(readings))
	for i, r := range readings {
		out[i] = NewTrafficSample(7, prev, r, maxGap)
		r := r
		prev = &r
	}
	return out
}

func TestTrafficSampleCounter32WrapIsOneStep(t *testing.T) {
	t0 := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	// A 100 Mb/s port at 40 Mb/s: 1.5 GB per 5 minutes, so the 32-bit
	// counter (4.29 GB) wraps between the third and fourth reading.
	step := uint64(1_500_000_000)
	var rs []CounterReading
	c := uint64(1_000_000_000)
	for i := 0; i < 5; i++ {
		rs = append(rs, CounterReading{At: t0.Add(time.Duration(i) * 5 * time.Minute), Uptime: uint32(100000 + i*30000),
			InOctets: c % wrap32, OutOctets: (c / 2) % wrap32, SpeedBps: 100_000_000, OperUp: true})
		c += step
	}
	got := sequence(rs, 15*time.Minute)
	if got[0].Valid || got[0].Note != SampleFirst {
		t.Fatalf("first reading: %+v", got[0])
	}
	for i := 1; i < 5; i++ {
		if !got[i].Valid || got[i].InOctets != int64(step) || got[i].OutOctets != int64(step/2) {
			t.Fatalf("sample %d: valid %v in %d out %d note %q; want %d/%d", i, got[i].Valid, got[i].InOctets, got[i].OutOctets, got[i].Note, step, step/2)
		}
		if got[i].InBps() != 40_000_000 {
			t.Fatalf("sample %d: %d b/s, want 40 Mb/s", i, got[i].InBps())
		}
	}
	if rs[3].InOctets > rs[2].InOctets {
		t.Fatalf("the recorded sequence should wrap between readings 2 and 3")
	}
}

func TestTrafficSampleCounter64ResetLeavesAGap(t *testing.T) {
	t0 := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	rs := []CounterReading{
		{At: t0, Uptime: 500000, HC: true, InOctets: 9_000_000_000, OutOctets: 8_000_000_000},
		{At: t0.Add(5 * time.Minute), Uptime: 530000, HC: true, InOctets: 9_300_000_000, OutOctets: 8_100_000_000},
		// "clear counters" on the switch: the agent kept running.
		{At: t0.Add(10 * time.Minute), Uptime: 560000, HC: true, InOctets: 12_000, OutOctets: 9_000},
		{At: t0.Add(15 * time.Minute), Uptime: 590000, HC: true, InOctets: 300_012_000, OutOctets: 100_009_000},
	}
	got := sequence(rs, 15*time.Minute)
	if !got[1].Valid || got[1].InOctets != 300_000_000 {
		t.Fatalf("before the reset: %+v", got[1])
	}
	if got[2].Valid || got[2].Note != SampleReset || got[2].InBps() != 0 {
		t.Fatalf("the reset made a sample: %+v", got[2])
	}
	if !got[3].Valid || got[3].InOctets != 300_000_000 || got[3].OutOctets != 100_000_000 {
		t.Fatalf("after the reset: %+v", got[3])
	}
}

// (100 Mb/s: on a 1 Gb/s port 32-bit counters 5 minutes apart may have
// wrapped several times, so they never give a sample.)
func TestTrafficSampleAgentRestartIsNoSpike(t *testing.T) {
	t0 := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	rs := []CounterReading{
		{At: t0, Uptime: 9_000_000, InOctets: 4_000_000_000, OutOctets: 100, SpeedBps: 100_000_000},
		// Rebooted 40 s before this reading: uptime 4,000 cs, and the
		// 32-bit counter below its old value would pass for a wrap.
		{At: t0.Add(5 * time.Minute), Uptime: 4000, InOctets: 50_000_000, OutOctets: 10, SpeedBps: 100_000_000},
		{At: t0.Add(10 * time.Minute), Uptime: 34000, InOctets: 80_000_000, OutOctets: 20, SpeedBps: 100_000_000},
		// Rebooted again, long enough ago that uptime is above the last
		// one: it advanced 60 s in 5 minutes.
		{At: t0.Add(15 * time.Minute), Uptime: 40000, InOctets: 1_000, OutOctets: 1, SpeedBps: 100_000_000},
	}
	got := sequence(rs, 15*time.Minute)
	if got[1].Valid || got[1].Note != SampleRestart {
		t.Fatalf("restart counted as a wrap: %+v", got[1])
	}
	if !got[2].Valid || got[2].InOctets != 30_000_000 {
		t.Fatalf("after the restart: %+v", got[2])
	}
	if got[3].Valid || got[3].Note != SampleRestart {
		t.Fatalf("second restart: %+v", got[3])
	}
}

func TestTrafficSampleUptimeWrapIsNotARestart(t *testing.T) {
	t0 := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	rs := []CounterReading{
		{At: t0, Uptime: uint32(wrap32 - 10000), HC: true, InOctets: 1000, OutOctets: 1000},
		{At: t0.Add(5 * time.Minute), Uptime: 20000, HC: true, InOctets: 301000, OutOctets: 1000},
	}
	got := sequence(rs, 15*time.Minute)
	if !got[1].Valid || got[1].InOctets != 300000 {
		t.Fatalf("after sysUpTime wrapped at 497 days: %+v", got[1])
	}
}

func TestTrafficSampleRefusesGapsAndImpossibleRates(t *testing.T) {
	t0 := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	// 32-bit counters read an hour apart may have wrapped any number of times.
	got := sequence([]CounterReading{
		{At: t0, Uptime: 100000, InOctets: 10},
		{At: t0.Add(time.Hour), Uptime: 460000, InOctets: 20},
	}, 15*time.Minute)
	if got[1].Valid || got[1].Note != SampleGap {
		t.Fatalf("gap: %+v", got[1])
	}
	// 64-bit counters over the same hour are fine.
	got = sequence([]CounterReading{
		{At: t0, Uptime: 100000, HC: true, InOctets: 10},
		{At: t0.Add(time.Hour), Uptime: 460000, HC: true, InOctets: 3600*1000 + 10},
	}, 15*time.Minute)
	if !got[1].Valid || got[1].InBps() != 8000 {
		t.Fatalf("an hour of 64-bit counters: %+v", got[1])
	}
	// A 32-bit reset that looks like a wrap implies 572 Mb/s for a minute
	// on a 100 Mb/s port.
	got = sequence([]CounterReading{
		{At: t0, Uptime: 100000, InOctets: 1_000_000, SpeedBps: 100_000_000},
		{At: t0.Add(time.Minute), Uptime: 106000, InOctets: 500_000, SpeedBps: 100_000_000},
	}, 15*time.Minute)
	if got[1].Valid || got[1].Note != SampleReset {
		t.Fatalf("implausible wrap: %+v", got[1])
	}
	// A reading no later than the last one.
	got = sequence([]CounterReading{{At: t0, Uptime: 1}, {At: t0, Uptime: 2}}, time.Hour)
	if got[1].Valid || got[1].Note != SampleClock {
		t.Fatalf("same time: %+v", got[1])
	}
}

func TestPercentile95OfAThirtyDayMonth(t *testing.T) {
	// 8,640 five-minute samples: 8,208 at 10 Mb/s and below, and 432
	// bursts of 900 Mb/s and more. The bursts are the top 5 %, discarded
	// whole: the 95th percentile is the highest of the rest.
	const n = 30 * 24 * 12
	rates := make([]int64, n)
	for i := range rates {
		rates[i] = int64(1_000_000 + (i*7919)%9_000_001) // ≤ 10 Mb/s, in no order
	}
	rates[4321] = 10_000_000 // the highest that stays
	for i := 0; i < 432; i++ {
		rates[(i*20+3)%n] = int64(900_000_000 + i) // spread through the month
	}
	if got := Percentile95(rates); got != 10_000_000 {
		t.Fatalf("95th percentile %d, want 10,000,000", got)
	}
	// One more burst replaces a 10 Mb/s-or-less sample: 433 bursts, so
	// one of them is now the 95th percentile, the lowest burst.
	rates[4321] = 800_000_000
	if got := Percentile95(rates); got != 800_000_000 {
		t.Fatalf("with 433 bursts: %d, want 800,000,000", got)
	}
	if Percentile95(nil) != 0 {
		t.Fatal("no samples")
	}
	// 19 samples: 19×5/100 rounds down to 0 discarded, the maximum.
	if got := Percentile95([]int64{5, 1, 9, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}); got != 9 {
		t.Fatalf("19 samples: %d", got)
	}
	// 20 samples: one discarded.
	if got := Percentile95([]int64{5, 1, 9, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}); got != 5 {
		t.Fatalf("20 samples: %d", got)
	}
}

func TestSlotRatesAverageFasterPollsIntoFiveMinutes(t *testing.T) {
	t0 := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	var ss []TrafficSample
	// Ten 1-minute samples: 8 Mb/s for the first five minutes, then
	// 16 Mb/s, and an invalid one that does not count.
	for i := 1; i <= 10; i++ {
		oct := int64(60_000_000)
		if i > 5 {
			oct = 120_000_000
		}
		ss = append(ss, TrafficSample{At: t0.Add(time.Duration(i)*time.Minute - time.Second), Valid: true, Ms: 60000, InOctets: oct, OutOctets: oct / 2})
	}
	ss = append(ss, TrafficSample{At: t0.Add(3 * time.Minute), Valid: false, Note: SampleReset})
	in, out := SlotRates(ss)
	if len(in) != 2 || in[0] != 8_000_000 || in[1] != 16_000_000 || out[1] != 8_000_000 {
		t.Fatalf("slots in %v out %v", in, out)
	}
}

// A 32-bit counter on a 100 Mb/s port read 600 s apart (one poll missed,
// inside maxGap): at 60 Mb/s 4.5 GB went through and the counter wrapped
// twice, so the sample must not pass as a single wrap of 205 MB. At 110 %
// of 100 Mb/s a 32-bit counter can wrap only within 312 s.
func TestTrafficSample32BitDoubleWrapIsAGap(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sent := uint64(60e6 / 8 * 600) // 4.5e9 octets
	got := sequence([]CounterReading{
		{At: t0, Uptime: 100000, SpeedBps: 100e6},
		{At: t0.Add(600 * time.Second), Uptime: 160000, InOctets: sent % wrap32, SpeedBps: 100e6},
	}, 15*time.Minute)
	if got[1].Valid || got[1].Note != SampleGap {
		t.Fatalf("a double wrap: valid %v note %q in %d", got[1].Valid, got[1].Note, got[1].InOctets)
	}
	// 300 s apart a 32-bit counter cannot wrap twice at 100 Mb/s.
	got = sequence([]CounterReading{
		{At: t0, Uptime: 100000, SpeedBps: 100e6},
		{At: t0.Add(300 * time.Second), Uptime: 130000, InOctets: 1000, SpeedBps: 100e6},
	}, 15*time.Minute)
	if !got[1].Valid || got[1].InOctets != 1000 {
		t.Fatalf("5 minutes at 100 Mb/s: %+v", got[1])
	}
}

// A 64-bit counter that jumps by more than 2⁶² on a port of unknown speed
// is a reset: the delta would not even fit the int64 columns.
func TestTrafficSampleHugeCounter64JumpIsAReset(t *testing.T) {
	t0 := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	got := sequence([]CounterReading{
		{At: t0, Uptime: 100000, HC: true, InOctets: 5, OutOctets: 5},
		{At: t0.Add(5 * time.Minute), Uptime: 130000, HC: true, InOctets: 1<<63 + 10, OutOctets: 10},
		{At: t0.Add(10 * time.Minute), Uptime: 160000, HC: true, InOctets: 1<<63 + 1<<62 + 10, OutOctets: 1<<62 + 10},
	}, 15*time.Minute)
	if got[1].Valid || got[1].Note != SampleReset || got[1].InOctets < 0 {
		t.Fatalf("a jump of 2⁶³: %+v", got[1])
	}
	if !got[2].Valid || got[2].InOctets != 1<<62 || got[2].OutOctets != 1<<62 {
		t.Fatalf("a jump of 2⁶²: %+v", got[2])
	}
}
