package locales_test

import (
	"testing"
	"time"

	"github.com/colo-portal/portal/locales"
)

func TestDurationsReadForPeople(t *testing.T) {
	en, zh := locales.For("en"), locales.For("zh-CN")
	for _, c := range []struct {
		d      time.Duration
		en, zh string
	}{
		{0, "0 s", "0 秒"},
		{59*time.Second + 999*time.Millisecond, "59 s", "59 秒"},
		{time.Minute, "1 min", "1 分钟"},
		{59*time.Minute + 59*time.Second, "59 min", "59 分钟"},
		{time.Hour, "1 h", "1 小时"},
		{23*time.Hour + 59*time.Minute + 59*time.Second, "23 h 59 min", "23 小时 59 分钟"},
		{24 * time.Hour, "24 h", "24 小时"},
		{36*time.Hour + 30*time.Minute, "36 h 30 min", "36 小时 30 分钟"},
		{48 * time.Hour, "2 d", "2 天"},
		{50*time.Hour + 30*time.Minute, "2 d 2 h", "2 天 2 小时"},
	} {
		t.Run(c.d.String()+" reads "+c.en, func(t *testing.T) {
			if got := en.Duration(c.d); got != c.en {
				t.Errorf("en: %q, want %q", got, c.en)
			}
			if got := zh.Duration(c.d); got != c.zh {
				t.Errorf("zh-CN: %q, want %q", got, c.zh)
			}
		})
	}
}

func TestClockDurationsReadToTheSecond(t *testing.T) {
	en, zh := locales.For("en"), locales.For("zh-CN")
	for _, c := range []struct {
		d      time.Duration
		en, zh string
	}{
		{-5 * time.Second, "0 s", "0 秒"},
		{42 * time.Second, "42 s", "42 秒"},
		{2*time.Minute + 13*time.Second, "2 min 13 s", "2 分 13 秒"},
		{59*time.Minute + 59*time.Second, "59 min 59 s", "59 分 59 秒"},
		{time.Hour + 30*time.Second, "1 h", "1 小时"},
		{26 * time.Hour, "26 h", "26 小时"},
	} {
		t.Run(c.d.String()+" reads "+c.en, func(t *testing.T) {
			if got := en.ClockDuration(c.d); got != c.en {
				t.Errorf("en: %q, want %q", got, c.en)
			}
			if got := zh.ClockDuration(c.d); got != c.zh {
				t.Errorf("zh-CN: %q, want %q", got, c.zh)
			}
		})
	}
}
