package views

import "testing"

// A meter's thresholds read as the range it keeps to, never "— – 16 A".
func TestThresholdRange(t *testing.T) {
	low, high := int64(18000), int64(16000)
	for _, c := range []struct {
		low, high *int64
		want      string
	}{
		{&low, &high, "18 A – 16 A"},
		{nil, &high, "≤ 16 A"},
		{&low, nil, "≥ 18 A"},
		{nil, nil, "—"},
	} {
		if got := thresholdRange(c.low, c.high, "A"); got != c.want {
			t.Errorf("thresholdRange = %q, want %q", got, c.want)
		}
	}
}
