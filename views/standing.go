package views

import (
	"context"
	"slices"
	"time"

	"github.com/colo-portal/portal/models"
)

// StandingURL is a standing access entry's page.
func StandingURL(ref string) string { return "/access/" + ref }

// StandingPassURL is where an entry's personal pass is downloaded.
func StandingPassURL(ref string) string { return "/access/" + ref + "/pass.pdf" }

// StandingListPageVM is the standing access list: a customer's own
// organization's, or every organization's for staff.
type StandingListPageVM struct {
	Rows  []models.StandingRow
	Admin bool // the viewer administers the organization: may add
	Staff bool // the viewer is staff: organizations shown
	Query string
}

// StandingFormPageVM is the form of a new entry or of a change.
type StandingFormPageVM struct {
	Ref      string // "" for a new entry
	Form     models.StandingInput
	Masked   string // the identity number on file (a change)
	Phone    string // the phone on file, masked
	Cabinets []string
	Errors   FormErrors
}

// cabinetChecked reports whether cabinet c is ticked on the form.
func (vm StandingFormPageVM) cabinetChecked(c string) bool {
	return slices.Contains(vm.Form.Cabinets, c)
}

// StandingPageVM is one entry with its recent entries and exits.
type StandingPageVM struct {
	V       *models.StandingView
	Admin   bool // the organization's administrator: change, revoke, reissue, pass
	Desk    bool // reception or an admin: revoke, reissue, pass
	History []models.StandingHistoryRow
	Errors  FormErrors
	// CabinetURLs maps the organization's metered cabinets to their pages.
	CabinetURLs map[string]string
}

// CanManage reports whether the viewer may revoke, reissue and download
// the pass.
func (vm StandingPageVM) CanManage() bool { return vm.Admin || vm.Desk }

// StandingHistoryPageVM is an organization's access history of a period.
type StandingHistoryPageVM struct {
	From, To string
	Rows     []models.StandingHistoryRow
	Total    int64
	Staff    bool
	Errors   FormErrors
}

// CSVURL is the history's download of the same period.
func (vm StandingHistoryPageVM) CSVURL() string {
	return "/access/history.csv?from=" + vm.From + "&to=" + vm.To
}

// standingStatusClass is the badge colour of a status.
func standingStatusClass(s string) string {
	switch s {
	case models.StandingActive:
		return "ok"
	case models.StandingUpcoming:
		return "warn"
	case models.StandingRevoked:
		return "bad"
	}
	return ""
}

// standingStatusName names a status.
func standingStatusName(ctx context.Context, s string) string { return T(ctx, "standing.status."+s) }

// stayed is how long an entry lasted, "" while inside.
func stayed(ctx context.Context, in time.Time, out *time.Time) string {
	if out == nil {
		return ""
	}
	return Duration(ctx, out.Sub(in))
}

// InsideGroup is one organization's people inside now: visitors and
// standing-list people.
type InsideGroup struct {
	OrgID    int64
	OrgName  string
	Visitors []models.BoardVisitor
	Standing []models.StandingInsideRow
}

// insideGroups groups who is inside by organization, by name; visitors
// keep the board's order (overstaying first) within their group.
func (vm TodayPageVM) insideGroups() []InsideGroup {
	var out []InsideGroup
	at := map[int64]int{}
	group := func(id int64, name string) *InsideGroup {
		i, ok := at[id]
		if !ok {
			i = len(out)
			at[id] = i
			out = append(out, InsideGroup{OrgID: id, OrgName: name})
		}
		return &out[i]
	}
	for _, b := range vm.Board.Inside {
		g := group(b.OrgID, b.OrgName)
		g.Visitors = append(g.Visitors, b)
	}
	for _, r := range vm.Standing {
		g := group(r.OrgID, r.OrgName)
		g.Standing = append(g.Standing, r)
	}
	slices.SortStableFunc(out, func(a, b InsideGroup) int {
		switch {
		case a.OrgName < b.OrgName:
			return -1
		case a.OrgName > b.OrgName:
			return 1
		}
		return 0
	})
	return out
}

// insideCount is everyone inside now.
func (vm TodayPageVM) insideCount() int { return len(vm.Board.Inside) + len(vm.Standing) }

// standingErrors are the errors of the last standing check-in if it
// was about entry ref.
func (vm TodayPageVM) standingErrors(ref string) FormErrors {
	if vm.StandingFor != ref {
		return nil
	}
	return vm.Errors
}

// StandingDone says what the last action at the desk did to a
// standing-list person: Action "in" or "out".
type StandingDone struct {
	Action  string
	Ref     string
	Name    string
	OrgName string
	Badge   string
	Escort  string
	// BadgeMissing is a badge not returned at check-out.
	BadgeMissing string
}

// standingFormTitle is the form's title key.
func standingFormTitle(vm StandingFormPageVM) string {
	if vm.Ref == "" {
		return "standing.new"
	}
	return "standing.edit"
}

// standingFormAction is where the form posts.
func standingFormAction(vm StandingFormPageVM) string {
	if vm.Ref == "" {
		return "/access"
	}
	return StandingURL(vm.Ref)
}

// orNone is s, or "none" when empty.
func orNone(ctx context.Context, s string) string {
	if s == "" {
		return T(ctx, "standing.none_value")
	}
	return s
}
