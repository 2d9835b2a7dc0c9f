package main

import (
	"strings"
	"testing"
	"time"
)

// The incident thresholds: their defaults, a value within bounds, and
// values outside refused with the setting's name.
func TestIncidentSettings(t *testing.T) {
	c, err := loadConfig(env(nil))
	if err != nil || c.Incident.DevicesPercent != 20 || c.Incident.Orgs != 50 {
		t.Fatalf("defaults: %+v, %v", c.Incident, err)
	}
	c, err = loadConfig(env(map[string]string{"PORTAL_INCIDENT_DEVICES_PERCENT": "35", "PORTAL_INCIDENT_ORGS": "12"}))
	if err != nil || c.Incident.DevicesPercent != 35 || c.Incident.Orgs != 12 {
		t.Fatalf("set: %+v, %v", c.Incident, err)
	}
	for name, v := range map[string]string{"PORTAL_INCIDENT_DEVICES_PERCENT": "0", "PORTAL_INCIDENT_ORGS": "1"} {
		if _, err := loadConfig(env(map[string]string{name: v})); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: %v", name, v, err)
		}
	}
	// The burst an incident is judged by is the notice window.
	c, err = loadConfig(env(map[string]string{"PORTAL_NOTICE_WINDOW": "90s"}))
	if err != nil || incidentRules(c).Window != 90*time.Second {
		t.Errorf("PORTAL_NOTICE_WINDOW=90s: incident window %v, %v; want 90s", incidentRules(c).Window, err)
	}
	c, err = loadConfig(env(map[string]string{"PORTAL_NOTICE_WINDOW": "0s"}))
	if err != nil || incidentRules(c).Window != 0 {
		t.Errorf("PORTAL_NOTICE_WINDOW=0s: incident window %v, %v; want its own default (0 here)", incidentRules(c).Window, err)
	}
}
