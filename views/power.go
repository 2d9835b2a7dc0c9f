package views

import (
	"context"
	"time"

	"github.com/colo-portal/portal/models"
)

// PowerListVM is the list of power incidents: staff see every one with a
// filter, a customer those touching its organization.
type PowerListVM struct {
	Rows      []models.PowerIncidentRow
	Staff     bool
	CanRecord bool
	Orgs      []models.OrgSummary // the filter's choices (staff)
	Filter    models.PowerFilter
	Limit     int
	Now       time.Time
	// Proposals are the power incidents the meters propose (staff).
	Proposals []models.PowerProposalRow
}

// PowerFormVM is the form that records or changes a power incident, as
// typed.
type PowerFormVM struct {
	Ref, Number          string // "" for a new incident
	StartedAt, EndedAt   string // 2006-01-02T15:04 in the portal's zone
	BothDown             string // "yes", "no" or "" (not said)
	ForceMajeure         bool
	Cause, Note, Targets string
	Choices              []models.PowerOrgChoice
	Errors               FormErrors
}

// Action is where the form posts.
func (vm PowerFormVM) Action() string {
	if vm.Ref == "" {
		return "/power"
	}
	return PowerURL(vm.Ref)
}

// PowerPageVM is one incident's page.
type PowerPageVM struct {
	D       *models.PowerDetail
	Staff   bool
	CanEdit bool
	Now     time.Time
}

// powerVerdictKeys say whether an incident counts against the provider,
// and why not (models.PowerIncident.Excluded).
var powerVerdictKeys = map[string]string{models.PowerCountsAgainst: "power.verdict.counts",
	models.PowerNotBothDown: "power.verdict.not_both_down", models.PowerForceMajeure: "power.verdict.force_majeure"}

// PowerVerdict says whether the incident counts against the provider and
// why not.
func PowerVerdict(ctx context.Context, p *models.PowerIncident) string {
	return T(ctx, powerVerdictKeys[p.Excluded()])
}

// powerShortKeys are the list's short form of the verdict.
var powerShortKeys = map[string]string{models.PowerCountsAgainst: "power.short.counts",
	models.PowerNotBothDown: "power.short.not_both_down", models.PowerForceMajeure: "power.short.force_majeure"}

// PowerShort is the verdict in a word or two, for the list.
func PowerShort(ctx context.Context, p *models.PowerIncident) string {
	return T(ctx, powerShortKeys[p.Excluded()])
}

// YesNo is "Yes" or "No".
func YesNo(ctx context.Context, b bool) string {
	if b {
		return T(ctx, "common.yes")
	}
	return T(ctx, "common.no")
}
