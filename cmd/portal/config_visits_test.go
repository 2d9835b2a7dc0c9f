package main

import (
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
)

// The visit settings: their defaults are the Store's, days parse as 60d,
// 60 or a duration, and values outside their bounds are refused with the
// setting's name.
func TestVisitSettings(t *testing.T) {
	c, err := loadConfig(env(nil))
	if err != nil || c.Visits != models.DefaultVisitRules {
		t.Fatalf("defaults: %+v, %v; want %+v", c.Visits, err, models.DefaultVisitRules)
	}
	day := 24 * time.Hour
	c, err = loadConfig(env(map[string]string{"PORTAL_VISIT_MAX_VISITORS": "4", "PORTAL_VISIT_HORIZON": "30d",
		"PORTAL_VISIT_NOTICE": "90m", "PORTAL_VISIT_PURGE_DAYS": "365"}))
	want := models.VisitRules{MaxVisitors: 4, Horizon: 30 * day, MinNotice: 90 * time.Minute, PurgeAfter: 365 * day}
	if err != nil || c.Visits != want {
		t.Fatalf("set: %+v, %v; want %+v", c.Visits, err, want)
	}
	for v, d := range map[string]time.Duration{"45": 45 * day, "45d": 45 * day, "720h": 30 * day, "366d": 366 * day} {
		c, err := loadConfig(env(map[string]string{"PORTAL_VISIT_HORIZON": v}))
		if err != nil || c.Visits.Horizon != d {
			t.Errorf("PORTAL_VISIT_HORIZON=%s: %v, %v; want %v", v, c.Visits.Horizon, err, d)
		}
	}
	for name, v := range map[string]string{"PORTAL_VISIT_MAX_VISITORS": "0", "PORTAL_VISIT_HORIZON": "367d",
		"PORTAL_VISIT_NOTICE": "soon", "PORTAL_VISIT_PURGE_DAYS": "0"} {
		if _, err := loadConfig(env(map[string]string{name: v})); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: %v", name, v, err)
		}
	}
	if _, err := loadConfig(env(map[string]string{"PORTAL_VISIT_HORIZON": "12h"})); err == nil {
		t.Errorf("a horizon of 12h was accepted")
	}
}
