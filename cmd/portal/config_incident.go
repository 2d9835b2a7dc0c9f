package main

import (
	"strconv"

	"github.com/colo-portal/portal/models"
)

// incidentSettings decide when outages of many organizations open a
// provider-wide incident (PORTAL_INCIDENT_*); either threshold opens it.
// Its window is the notice window (PORTAL_NOTICE_WINDOW, incidentRules).
func incidentSettings() []setting {
	return []setting{
		{name: "PORTAL_INCIDENT_DEVICES_PERCENT", def: strconv.Itoa(models.DefaultIncidentPercent),
			help: "outages starting together on this share of the monitored devices (at least 10, of two organizations) open a provider-wide incident",
			set:  intIn(1, 100, "a percentage", func(c *Config, n int) { c.Incident.DevicesPercent = n })},
		{name: "PORTAL_INCIDENT_ORGS", def: strconv.Itoa(models.DefaultIncidentOrgs),
			help: "outages starting together in this many organizations open a provider-wide incident",
			set:  intIn(2, 100000, "a number of organizations", func(c *Config, n int) { c.Incident.Orgs = n })},
	}
}
