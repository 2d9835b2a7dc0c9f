package views

import "testing"

func TestBitRate(t *testing.T) {
	for bps, want := range map[int64]string{
		-5: "0 b/s", 0: "0 b/s", 950: "950 b/s", 999: "999 b/s", 1000: "1 kb/s", 1500: "1.5 kb/s",
		26_666: "26.7 kb/s", 999_999: "1 Mb/s", 1_234_567: "1.23 Mb/s", 65_664_000: "65.7 Mb/s",
		123_456_789: "123 Mb/s", 999_500_000: "1 Gb/s", 10_000_000_000: "10 Gb/s",
		400_000_000_000: "400 Gb/s", 1_600_000_000_000: "1600 Gb/s",
	} {
		if got := BitRate(bps); got != want {
			t.Errorf("BitRate(%d) = %q, want %q", bps, got, want)
		}
	}
}
