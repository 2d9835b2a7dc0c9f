package views

import (
	"math"
	"strconv"
	"strings"
)

// bitRateUnits are the units of BitRate, each 1,000 times the one before.
var bitRateUnits = []string{"b/s", "kb/s", "Mb/s", "Gb/s"}

// BitRate shows a rate in bits per second with decimal units (1 kb/s is
// 1,000 b/s) and three significant digits, trailing zeros dropped:
// "950 b/s", "1.5 kb/s", "65.7 Mb/s", "10 Gb/s"; past 999 Gb/s it stays
// in Gb/s. The statement and the traffic pages write rates with it.
func BitRate(bps int64) string {
	if bps < 1000 {
		return strconv.FormatInt(max(bps, 0), 10) + " b/s"
	}
	// Round to three significant digits first, so that 999,999 b/s is
	// "1 Mb/s", not "1000 kb/s".
	v := float64(bps)
	scale := math.Pow(10, math.Floor(math.Log10(v))-2)
	v = math.Round(v/scale) * scale
	u := 0
	for u < len(bitRateUnits)-1 && v >= 1000 {
		v /= 1000
		u++
	}
	digits := 0
	switch {
	case v < 10:
		digits = 2
	case v < 100:
		digits = 1
	}
	s := strconv.FormatFloat(v, 'f', digits, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s + " " + bitRateUnits[u]
}
