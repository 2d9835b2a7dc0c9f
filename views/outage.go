package views

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/colo-portal/portal/models"
)

// OutagePageVM is one outage: when it started, was confirmed and ended,
// the probes behind it, the emergency-notice clock and every notification
// sent about it with each attempt.
type OutagePageVM struct {
	Outage *models.Outage
	Org    *models.Organization
	Device *models.Device
	Check  *models.Check
	// Evidence is one page of the probes, newest first: page EvidencePage
	// of EvidencePages, EvidenceTotal probes in all.
	Evidence      []models.OutageProbe
	EvidenceTotal int64
	EvidencePage  int
	EvidencePages int
	// Segments split the outage by its cause spans (models.SplitTotals adds them up).
	Segments []models.OutageSegment
	Clock    *models.Clock
	// Deduction is the line a missed clock produced, or its waiver.
	Deduction *models.Deduction
	// MonthClosed is the closing of the deduction's month: then it is final.
	MonthClosed *models.ClosedMonth
	Deliveries  []models.Delivery
	Attempts    map[int64][]models.DeliveryAttempt
	// Contacts and StaffNames name the contacts and the staff who logged calls.
	Contacts   map[int64]string
	StaffNames map[int64]string
	Now        time.Time
	// Staff is set when a provider user looks at a customer's outage.
	Staff   bool
	CanEdit bool
	// CanRetry is set for the staff who may queue a failed, bounced or
	// unanswered delivery again (the on-call page's responders).
	CanRetry bool
}

// ClockDuration shows how long a clock ran, to the second: "2 min 13 s"
// (locales.Translator.ClockDuration).
func ClockDuration(ctx context.Context, d time.Duration) string { return Req(ctx).T.ClockDuration(d) }

// Countdown shows the time left as m:ss.
func Countdown(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int(d / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// clockRunning reports a clock still running and before its deadline.
func clockRunning(c *models.Clock, now time.Time) bool {
	return c.Outcome == models.ClockRunning && now.Before(c.DeadlineAt)
}

// secondsLeft is the time left to the deadline in whole seconds, for the
// countdown script.
func secondsLeft(c *models.Clock, now time.Time) string {
	return fmt.Sprint(int(c.DeadlineAt.Sub(now) / time.Second))
}

// DeliveryStatusName translates a delivery's status or an attempt's result.
func DeliveryStatusName(ctx context.Context, s string) string {
	if Req(ctx).T.Has("delivery.status." + s) {
		return T(ctx, "delivery.status."+s)
	}
	return s
}

// DeliveryStatusClass is the badge class of a delivery status.
func DeliveryStatusClass(s string) string {
	switch {
	case models.Delivered(s):
		return "ok"
	case s == models.DeliveryPending, s == models.DeliveryMerged:
		// A merged notice went out in a storm summary, listed beside it.
		return "warn"
	}
	return "bad"
}

// TransportName translates how a delivery is carried.
func TransportName(ctx context.Context, t string) string {
	if Req(ctx).T.Has("transport." + t) {
		return T(ctx, "transport."+t)
	}
	return t
}

// WaiverName translates why a missed clock costs nothing.
func WaiverName(ctx context.Context, reason string) string {
	if Req(ctx).T.Has("waiver." + reason) {
		return T(ctx, "waiver."+reason)
	}
	return reason
}

func (vm OutagePageVM) contact(id int64) string {
	if n, ok := vm.Contacts[id]; ok {
		return n
	}
	return ""
}

func (vm OutagePageVM) backURL() string {
	return Path("/devices/", vm.Device.ID, "#outage-", vm.Outage.ID)
}

// OnCallPageVM is the staff's on-call page.
type OnCallPageVM struct {
	// OutageGroups are the open outages, one line per organization, the
	// worst first; OutageLines counts the lines and OutagesOpen the
	// outages of all of them when only the first lines are shown (All
	// shows every line of both lists).
	OutageGroups []models.OutageGroup
	OutageLines  int
	OutagesOpen  int
	// CallGroups are the calls to make, one line per organization,
	// contact and number, the most urgent first; CallLines counts them
	// all when only the first are shown.
	CallGroups []models.CallGroup
	CallLines  int
	All        bool
	// Failed are the newest failed deliveries, FailedCount all of them.
	Failed      []models.FailedDelivery
	FailedCount int64
	// Operations need an engineer: a feedback clock, a form to check.
	Operations []models.OnCallOperation
	// Unprobed are enabled checks no prober holds (an alarm banner).
	Unprobed models.Unprobed
	// FailedFor is how far back failed deliveries are listed.
	FailedFor time.Duration
	// CanAct lets engineers, service and admins handle failed deliveries;
	// CanCall lets every staff role, reception included, log calls.
	CanAct  bool
	CanCall bool
	// Refresh is how often the page asks for its live part again, in
	// seconds (0: never); Back is where a logged call returns to.
	Refresh int
	Back    string
	Now     time.Time
	// A refused form: which delivery or call line (FormGroup, a
	// CallGroup's Key), which form ("call", "calls" or "wrong"), what was
	// entered and what is wrong.
	FormDelivery int64
	FormGroup    string
	FormKind     string
	Answered     string
	Note, Reason string
	Errors       FormErrors
}

func (vm OnCallPageVM) failed(id int64, kind string) bool {
	return vm.FormDelivery == id && vm.FormKind == kind
}

func (vm OnCallPageVM) groupFailed(g models.CallGroup) bool {
	return vm.FormKind == "calls" && vm.FormGroup == g.Key()
}

// MoreOutageLines is how many organizations' outage lines are not shown.
func (vm OnCallPageVM) MoreOutageLines() int { return max(0, vm.OutageLines-len(vm.OutageGroups)) }

// liveURL is where the page's script fetches its live part.
func (vm OnCallPageVM) liveURL() string {
	if vm.All {
		return "/oncall/live?all=1"
	}
	return "/oncall/live"
}

// MoreCalls is how many call lines are not shown.
func (vm OnCallPageVM) MoreCalls() int { return max(0, vm.CallLines-len(vm.CallGroups)) }

// callGroupTask says whom to call, at which number, for which customer.
func callGroupTask(ctx context.Context, g models.CallGroup) string {
	name := g.Contact
	if name == "" {
		name = "#" + I64(g.ContactID)
	}
	return T(ctx, "oncall.group_call", g.Org, name, ChannelNoun(ctx, g.Channel), ShowAddress(g.Channel, g.Address))
}

// AsOf is the as_of of a call form: when its page was drawn, in Unix
// milliseconds; a call logged from it covers only what the page showed.
func AsOf(now time.Time) string { return strconv.FormatInt(now.UnixMilli(), 10) }

// callGroupDown says how many of the organization's devices are down and
// since when, or that none is down any more.
func callGroupDown(ctx context.Context, g models.CallGroup, now time.Time) string {
	if g.Down == 0 || g.Since == nil {
		return T(ctx, "oncall.group_none_down")
	}
	return T(ctx, "oncall.group_down", Count(g.Down), FormatSince(ctx, g.Since.StartedAt, now))
}

// FormatSince is a time of today (in the viewer's zone) as 15:04, of
// another day with its date.
func FormatSince(ctx context.Context, t, now time.Time) string {
	loc := Req(ctx).Location
	if loc == nil {
		loc = time.UTC
	}
	if t.In(loc).Format(time.DateOnly) == now.In(loc).Format(time.DateOnly) {
		return t.In(loc).Format("15:04")
	}
	return FormatTime(ctx, t)
}

// Count writes a count with thousands separators: 2,001.
func Count(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + Count(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// DownURL is the organization's uptime page filtered to its down devices.
func DownURL(orgID int64) string { return Path("/orgs/", orgID, "/uptime") + "?state=down" }

// EvidencePerPage is how many probes one page of an outage's evidence lists.
const EvidencePerPage = 50

// evidencePageURL links page n of the outage's evidence, at its section.
func (vm OutagePageVM) evidencePageURL(n int) string {
	return Path("/outages/", vm.Outage.ID) + "?page=" + strconv.Itoa(n) + "#evidence-h"
}

// evidenceStart numbers the page's first probe after those of the pages before.
func (vm OutagePageVM) evidenceStart() string {
	return strconv.Itoa((vm.EvidencePage-1)*EvidencePerPage + 1)
}

// splitShown reports whether an outage's segments say more than its own
// cause: a cause span or agreed maintenance covers part or all of it.
func splitShown(segs []models.OutageSegment) bool {
	for _, g := range segs {
		if g.Part != nil || g.Window != nil {
			return true
		}
	}
	return false
}
