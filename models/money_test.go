package models_test

import (
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
)

func TestMoney(t *testing.T) {
	for _, c := range []struct {
		in   int64
		cur  string
		want string
	}{{0, "CNY", "¥0.00"}, {5, "CNY", "¥0.05"}, {123456789, "CNY", "¥1,234,567.89"}, {-100000, "USD", "-US$1,000.00"}, {99, "JPY", "JPY 0.99"}} {
		if got := models.FormatMoney(c.in, c.cur); got != c.want {
			t.Errorf("FormatMoney(%d, %s) = %q, want %q", c.in, c.cur, got, c.want)
		}
	}
	for in, want := range map[string]int64{"12345.6": 1234560, "12,345.67": 1234567, "¥800": 80000, " 0.05 ": 5} {
		if got, ok := models.ParseMoney(in); !ok || got != want {
			t.Errorf("ParseMoney(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "1.234", "-5", "1e3", "12.", "abc", "123456789012"} {
		if _, ok := models.ParseMoney(in); ok {
			t.Errorf("ParseMoney(%q) accepted", in)
		}
	}
	// A day's fee of ¥10,000.00: 31 days → 32,258.06… fen rounds down,
	// 30 days → 33,333.33… down, 28 days → 35,714.2857 down; ¥1.00 over
	// 8 days is 12.5 fen, half up to 13.
	for _, c := range []struct {
		fee  int64
		days int
		want int64
	}{{1000000, 31, 32258}, {1000000, 30, 33333}, {1000000, 28, 35714}, {100, 8, 13}, {3000000, 30, 100000}} {
		if got := models.DayFee(c.fee, c.days); got != c.want {
			t.Errorf("DayFee(%d, %d) = %d, want %d", c.fee, c.days, got, c.want)
		}
	}
	if got := models.ProratedFee(3100000, 16, 31); got != 1600000 {
		t.Errorf("16 of 31 days of ¥31,000 = %d, want 1600000", got)
	}
	if got := models.ProratedFee(1000000, 31, 31); got != 1000000 {
		t.Errorf("a whole month is the monthly fee, got %d", got)
	}
}

func TestAllowanceOfAMonth(t *testing.T) {
	for _, c := range []struct {
		days int
		want time.Duration
	}{{30, 43*time.Minute + 12*time.Second}, {31, 44*time.Minute + 38*time.Second + 400*time.Millisecond}, {28, 40*time.Minute + 19*time.Second + 200*time.Millisecond}} {
		a := models.Availability{Total: time.Duration(c.days) * 24 * time.Hour}
		if got := a.Allowance(); got != c.want {
			t.Errorf("%d days: allowance %s, want %s", c.days, got, c.want)
		}
		a.Counted = c.want
		if !a.Met() {
			t.Errorf("%d days: exactly the allowance must keep the promise", c.days)
		}
		a.Counted += time.Minute
		if a.Met() {
			t.Errorf("%d days: a minute over must break it", c.days)
		}
	}
}
