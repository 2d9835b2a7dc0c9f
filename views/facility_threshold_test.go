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

// Values read the same wherever the page shows them: power past a
// kilowatt in kW (the meters list said "1458 W" beside "1.46 kW"), current
// to the hundredth (a server's 0.25 A was "0.3 A").
func TestMilliText(t *testing.T) {
	for _, c := range []struct {
		milli int64
		unit  string
		want  string
	}{
		{1_458_000, "W", "1.46 kW"}, {950_000, "W", "950 W"}, {250, "A", "0.25 A"}, {6_600, "A", "6.6 A"},
		{23_700, "°C", "23.7 °C"}, {-18_000, "°C", "-18 °C"}, {48_000, "%", "48 %"},
	} {
		if got := MilliText(c.milli, c.unit); got != c.want {
			t.Errorf("MilliText(%d, %q) = %q, want %q", c.milli, c.unit, got, c.want)
		}
	}
}
