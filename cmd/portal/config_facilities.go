package main

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/colo-portal/portal/models"
)

// facilitySettings say how long the meters' raw readings are kept
// (PORTAL_FACILITY_READING_DAYS); their hourly and daily rollups stay.
func facilitySettings() []setting {
	return []setting{
		{name: "PORTAL_FACILITY_READING_DAYS", def: strconv.Itoa(models.FacilityReadingDays),
			help: "days the PDUs' and sensors' raw readings are kept; their hourly and daily rollups stay",
			set:  intIn(2, 3650, "a number of days", func(c *Config, n int) { c.FacilityReadings = time.Duration(n) * 24 * time.Hour })},
	}
}

// facilityJanitor is the janitor's part for the meters: the rollups of
// finished hours and days, then the purge of readings older than
// PORTAL_FACILITY_READING_DAYS.
func facilityJanitor(ctx context.Context, store *models.Store, cfg *Config, log *slog.Logger, warn func(string, error)) {
	for ctx.Err() == nil {
		const steps = 200
		done, err := store.BuildFacilityRollups(ctx, steps)
		warn("build facility rollups", err)
		if err != nil || done < steps {
			break
		}
	}
	keep := cfg.FacilityReadings
	if keep <= 0 {
		keep = models.FacilityReadingDays * 24 * time.Hour
	}
	purged, err := store.PurgeFacilityReadings(ctx, store.Now().Add(-keep))
	warn("purge old facility readings", err)
	if purged > 0 {
		log.Info("purged old facility readings", "rows", purged, "keep_days", int(keep.Hours()/24))
	}
}
