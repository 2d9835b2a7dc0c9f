package views

import (
	"time"

	"github.com/colo-portal/portal/models"
)

// SplitTotals adds up an outage's segments: the minutes that count against
// the provider and the minutes exempt, an open segment measured to now.
func SplitTotals(segs []models.OutageSegment, now time.Time) (counted, exempt time.Duration) {
	for _, g := range segs {
		if g.Counts() {
			counted += g.Length(now)
		} else {
			exempt += g.Length(now)
		}
	}
	return counted, exempt
}

// OperationCausePageVM asks an engineer to confirm attributing part of
// an outage to a request's operation, showing the split before and after.
type OperationCausePageVM struct {
	D      *models.RequestDetail
	Plan   *models.CausePlan
	Device string
	Names  map[int64]string // who set earlier cause spans
	Errors FormErrors
	Note   string
}

// Action is where the confirmation posts.
func (vm OperationCausePageVM) Action() string {
	return OperationURL(vm.D.Request.Ref) + Path("/outages/", vm.Plan.Outage.ID) + "/classify"
}
