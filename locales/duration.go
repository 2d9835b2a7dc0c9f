package locales

import "time"

// Duration says how long d is in t's language, to the minute: hours and
// minutes up to two days ("24 h", "36 h 30 min"), days and hours from
// then on ("2 d 2 h"), minutes under an hour; under a minute, seconds. A
// zero second part is left out ("1 h", never "1 h 0 min"). Pages, emails
// and documents all say durations this way.
func (t *Translator) Duration(d time.Duration) string {
	if d < time.Minute {
		return t.T("duration.seconds", int(d/time.Second))
	}
	m := int(d / time.Minute)
	hours, mins := m/60, m%60
	switch {
	case hours >= 48 && hours%24 == 0:
		return t.T("duration.days", hours/24)
	case hours >= 48:
		return t.T("duration.days_hours", hours/24, hours%24)
	case hours > 0 && mins == 0:
		return t.T("duration.hours", hours)
	case hours > 0:
		return t.T("duration.hours_minutes", hours, mins)
	}
	return t.T("duration.minutes", mins)
}

// ClockDuration says how long an agreement clock ran, to the second under
// an hour ("2 min 13 s"), as Duration from an hour on. A negative d is 0 s.
func (t *Translator) ClockDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int(d / time.Second)
	switch {
	case s < 60:
		return t.T("duration.seconds", s)
	case s < 3600:
		return t.T("duration.min_sec", s/60, s%60)
	}
	return t.Duration(d)
}
