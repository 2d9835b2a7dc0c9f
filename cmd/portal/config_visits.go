package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/colo-portal/portal/models"
)

// visitSettings bound data-center visit requests and say how long their
// visitors' identity numbers and phones are kept (PORTAL_VISIT_*); see
// docs/agreement.md, "Visits".
func visitSettings() []setting {
	d := models.DefaultVisitRules
	return []setting{
		{name: "PORTAL_VISIT_MAX_VISITORS", def: strconv.Itoa(d.MaxVisitors), help: "visitors one visit request may name",
			set: intIn(1, 100, "a number of visitors", func(c *Config, n int) { c.Visits.MaxVisitors = n })},
		{name: "PORTAL_VISIT_HORIZON", def: strconv.Itoa(int(d.Horizon/(24*time.Hour))) + "d", help: "how far ahead a visit may be asked for: days (60d) or a duration",
			set: daysOrDurationIn(24*time.Hour, 366*24*time.Hour, "60d", func(c *Config, d time.Duration) { c.Visits.Horizon = d })},
		{name: "PORTAL_VISIT_NOTICE", def: shortDuration(d.MinNotice), help: "how long before entry a visit must be asked for, unless an emergency",
			set: daysOrDurationIn(time.Minute, 30*24*time.Hour, "2h", func(c *Config, d time.Duration) { c.Visits.MinNotice = d })},
		{name: "PORTAL_VISIT_PURGE_DAYS", def: strconv.Itoa(int(d.PurgeAfter / (24 * time.Hour))), help: "days after a visit ends that its visitors' ID numbers and phones are removed",
			set: intIn(1, 3650, "a number of days", func(c *Config, n int) { c.Visits.PurgeAfter = time.Duration(n) * 24 * time.Hour })},
	}
}

// daysOrDurationIn parses whole days ("60d", or "60" as the _DAYS
// settings take them) or a Go duration ("36h"), from lo to hi.
func daysOrDurationIn(lo, hi time.Duration, example string, set func(*Config, time.Duration)) func(*Config, string) error {
	return func(c *Config, v string) error {
		var d time.Duration
		var err error
		if n, e := strconv.Atoi(strings.TrimSuffix(v, "d")); e == nil {
			d = time.Duration(n) * 24 * time.Hour
		} else {
			d, err = time.ParseDuration(v)
		}
		if err != nil || d < lo || d > hi {
			return fmt.Errorf("want days (60d) or a duration (36h) from %s to %s, like %s", shortDuration(lo), shortDuration(hi), example)
		}
		set(c, d)
		return nil
	}
}
