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
	Outages []models.OnCallOutage
	Calls   []models.CallTask
	Failed  []models.FailedDelivery
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
	// A refused form: which delivery, which form ("call" or "wrong"), what
	// was entered and what is wrong.
	FormDelivery int64
	FormKind     string
	Answered     string
	Note, Reason string
	Errors       FormErrors
}

func (vm OnCallPageVM) failed(id int64, kind string) bool {
	return vm.FormDelivery == id && vm.FormKind == kind
}

// callTask says what to do: call whom, on which line, about what.
func callTask(ctx context.Context, t models.CallTask) string {
	name := t.Contact
	if name == "" {
		name = "#" + I64(t.Delivery.ContactID)
	}
	key := "oncall.call_task"
	if t.Delivery.Event == models.EventOutageClosed {
		key = "oncall.call_task_closed"
	}
	return T(ctx, key, name, ChannelNoun(ctx, t.Delivery.Channel), ShowAddress(t.Delivery.Channel, t.Delivery.Address), t.Device)
}

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
