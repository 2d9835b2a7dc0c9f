package models_test

import (
	"math"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
)

func tm(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func tp(s string) *time.Time { t := tm(s); return &t }

func span(start, end string, cause models.Cause) models.Span {
	s := models.Span{Start: tm(start), Cause: cause}
	if end != "" {
		s.End = tp(end)
	}
	return s
}

// Hand-worked cases: each want is computed on paper from the spans.
func TestComputeAvailability(t *testing.T) {
	net := models.CauseProviderNetwork
	later := tm("2027-06-01 00:00") // "now" long after every period
	cases := []struct {
		name                 string
		from, to, now        time.Time
		spans                []models.Span
		total, down, counted float64 // minutes
		percent              float64
	}{
		{
			name: "a 30-day month with 43 minutes of provider outage stays above 99.9%",
			from: tm("2026-11-01 00:00"), to: tm("2026-12-01 00:00"), now: later,
			spans: []models.Span{span("2026-11-10 08:00", "2026-11-10 08:43", net)},
			total: 43200, down: 43, counted: 43, percent: 100 * (43200 - 43) / 43200.0,
		},
		{
			name: "a 30-day month with 44 minutes falls below 99.9%",
			from: tm("2026-11-01 00:00"), to: tm("2026-12-01 00:00"), now: later,
			spans: []models.Span{span("2026-11-10 08:00", "2026-11-10 08:44", net)},
			total: 43200, down: 44, counted: 44, percent: 100 * (43200 - 44) / 43200.0,
		},
		{
			name: "a 31-day month allows 44.64 minutes, so 44 still passes",
			from: tm("2026-12-01 00:00"), to: tm("2027-01-01 00:00"), now: later,
			spans: []models.Span{span("2026-12-24 20:00", "2026-12-24 20:44", net)},
			total: 44640, down: 44, counted: 44, percent: 100 * (44640 - 44) / 44640.0,
		},
		{
			name: "an outage crossing midnight counts only its part inside the day",
			from: tm("2026-11-03 00:00"), to: tm("2026-11-04 00:00"), now: later,
			spans: []models.Span{span("2026-11-02 23:50", "2026-11-03 00:20", net)},
			total: 1440, down: 20, counted: 20, percent: 100 * (1440 - 20) / 1440.0,
		},
		{
			name: "an outage crossing a month end counts 30 minutes in October",
			from: tm("2026-10-01 00:00"), to: tm("2026-11-01 00:00"), now: later,
			spans: []models.Span{span("2026-10-31 23:30", "2026-11-01 00:30", net)},
			total: 31 * 1440, down: 30, counted: 30, percent: 100 * (31*1440 - 30) / (31 * 1440.0),
		},
		{
			name: "and the other 30 minutes in November",
			from: tm("2026-11-01 00:00"), to: tm("2026-12-01 00:00"), now: later,
			spans: []models.Span{span("2026-10-31 23:30", "2026-11-01 00:30", net)},
			total: 43200, down: 30, counted: 30, percent: 100 * (43200 - 30) / 43200.0,
		},
		{
			name: "overlapping outages on two checks of one device count once",
			from: tm("2026-11-05 00:00"), to: tm("2026-11-06 00:00"), now: later,
			spans: []models.Span{span("2026-11-05 10:00", "2026-11-05 10:30", net), span("2026-11-05 10:15", "2026-11-05 10:45", models.CauseUnknown)},
			total: 1440, down: 45, counted: 45, percent: 100 * (1440 - 45) / 1440.0,
		},
		{
			name: "of two overlapping outages only the provider's part counts",
			from: tm("2026-11-05 00:00"), to: tm("2026-11-06 00:00"), now: later,
			spans: []models.Span{span("2026-11-05 10:00", "2026-11-05 10:30", models.CauseCustomerApplication), span("2026-11-05 10:15", "2026-11-05 10:45", net)},
			total: 1440, down: 45, counted: 30, percent: 100 * (1440 - 30) / 1440.0,
		},
		{
			name: "customer causes, agreed maintenance, authorized operations and force majeure do not count",
			from: tm("2026-11-05 00:00"), to: tm("2026-11-06 00:00"), now: later,
			spans: []models.Span{
				span("2026-11-05 01:00", "2026-11-05 01:10", models.CauseCustomerEquipment),
				span("2026-11-05 02:00", "2026-11-05 02:10", models.CauseCustomerMaintenance),
				span("2026-11-05 03:00", "2026-11-05 03:10", models.CauseCustomerOperation),
				span("2026-11-05 04:00", "2026-11-05 04:10", models.CauseFMNatural),
				span("2026-11-05 05:00", "2026-11-05 05:10", models.CauseFMAttack),
				span("2026-11-05 06:00", "2026-11-05 06:10", models.CauseProviderPower),
			},
			total: 1440, down: 60, counted: 10, percent: 100 * (1440 - 10) / 1440.0,
		},
		{
			name: "an outage still open runs until now, and the period only until now",
			from: tm("2026-11-01 00:00"), to: tm("2026-12-01 00:00"), now: tm("2026-11-10 12:30"),
			spans: []models.Span{span("2026-11-10 12:00", "", net)},
			total: 9*1440 + 12*60 + 30, down: 30, counted: 30, percent: 100 * float64(9*1440+12*60) / float64(9*1440+12*60+30),
		},
		{
			name: "an outage outside the period changes nothing",
			from: tm("2026-11-05 00:00"), to: tm("2026-11-06 00:00"), now: later,
			spans: []models.Span{span("2026-11-04 10:00", "2026-11-04 23:59", net)},
			total: 1440, down: 0, counted: 0, percent: 100,
		},
		{
			name: "a period that has not begun is 100% with nothing elapsed",
			from: tm("2026-12-01 00:00"), to: tm("2027-01-01 00:00"), now: tm("2026-11-20 00:00"),
			total: 0, down: 0, counted: 0, percent: 100,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := models.ComputeAvailability(tc.from, tc.to, time.Time{}, tc.now, tc.spans)
			total, down, counted := a.Minutes()
			if total != tc.total || down != tc.down || counted != tc.counted {
				t.Fatalf("minutes total/down/counted = %v/%v/%v, want %v/%v/%v", total, down, counted, tc.total, tc.down, tc.counted)
			}
			if math.Abs(a.Percent()-tc.percent) > 1e-9 {
				t.Fatalf("percent = %.6f, want %.6f", a.Percent(), tc.percent)
			}
		})
	}
}
