package main

import (
	"strconv"
	"time"

	"github.com/colo-portal/portal/models"
)

// shipmentSettings say how long reception holds a parcel before it is
// flagged and the customer reminded (PORTAL_SHIPMENT_*); see
// docs/architecture.md, "Shipments".
func shipmentSettings() []setting {
	return []setting{
		{name: "PORTAL_SHIPMENT_HOLD_DAYS", def: strconv.Itoa(int(models.DefaultShipmentHold / (24 * time.Hour))),
			help: "days reception holds an arrived parcel before it is flagged and the customer reminded once",
			set:  intIn(1, 365, "a number of days", func(c *Config, n int) { c.ShipmentHold = time.Duration(n) * 24 * time.Hour })},
	}
}
