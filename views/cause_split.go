package views

import (
	"github.com/colo-portal/portal/models"
)

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
	return ClassifyURL(vm.D.Request.Ref, vm.Plan.Outage.ID)
}
