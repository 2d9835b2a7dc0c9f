package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
)

// APIOutage is an outage of one check of a device.
type APIOutage struct {
	ID          int64   `json:"id"`
	OrgID       int64   `json:"org_id"`
	DeviceID    int64   `json:"device_id"`
	CheckID     int64   `json:"check_id"`
	State       string  `json:"state" enum:"open,closed"`
	StartedAt   string  `json:"started_at" format:"date-time" doc:"The first failed probe."`
	ConfirmedAt string  `json:"confirmed_at" format:"date-time" doc:"The failed probe that reached the check's threshold."`
	EndedAt     *string `json:"ended_at" format:"date-time" doc:"The first successful probe after; null while open."`
	// DurationSeconds runs to now while the outage is open.
	DurationSeconds int64  `json:"duration_seconds" doc:"From start to end, or to now while open."`
	Cause           string `json:"cause" enum:"unknown,provider_network,provider_power,customer_equipment,customer_application,customer_maintenance,customer_operation,fm_natural_disaster,fm_war_strike_public_power,fm_government_action,fm_third_party_attack" doc:"The outage's own cause; parts of it may have others (cause spans)."`
	CauseNote       string `json:"cause_note"`
	Failures        int    `json:"failures" doc:"Failed probes in it."`
}

func apiOutage(o models.Outage, now time.Time) APIOutage {
	out := APIOutage{ID: o.ID, OrgID: o.OrgID, DeviceID: o.DeviceID, CheckID: o.CheckID, State: models.OutageOpen,
		StartedAt: apiTime(o.StartedAt), ConfirmedAt: apiTime(o.ConfirmedAt), EndedAt: apiTimePtr(o.EndedAt),
		Cause: string(o.Cause), CauseNote: o.CauseNote, Failures: o.Failures}
	end := now
	if o.EndedAt != nil {
		out.State, end = models.OutageClosed, *o.EndedAt
	}
	out.DurationSeconds = max(0, int64(end.Sub(o.StartedAt).Seconds()))
	return out
}

// APICauseSpan is a part of an outage given its own cause by staff, or by
// an operation request's authorized work.
type APICauseSpan struct {
	Start     string  `json:"start" format:"date-time"`
	End       string  `json:"end" format:"date-time"`
	Cause     string  `json:"cause" enum:"unknown,provider_network,provider_power,customer_equipment,customer_application,customer_maintenance,customer_operation,fm_natural_disaster,fm_war_strike_public_power,fm_government_action,fm_third_party_attack"`
	Note      string  `json:"note"`
	Operation *string `json:"operation" doc:"The operation request it comes from (OP-2026-0007); null when set by hand."`
}

// APISegment is a stretch of an outage with the cause it has there, as
// the outage page splits it.
type APISegment struct {
	Start  string  `json:"start" format:"date-time"`
	End    *string `json:"end" format:"date-time" doc:"null while the outage is open."`
	Cause  string  `json:"cause" enum:"unknown,provider_network,provider_power,customer_equipment,customer_application,customer_maintenance,customer_operation,fm_natural_disaster,fm_war_strike_public_power,fm_government_action,fm_third_party_attack"`
	Source string  `json:"source" enum:"outage,cause_span,maintenance" doc:"The outage's own cause, a cause span's, or agreed maintenance."`
	// Counts against the provider's availability.
	Counts      bool    `json:"counts" doc:"Whether it counts against the provider's availability."`
	Maintenance *string `json:"maintenance" doc:"The agreed maintenance window (MW-2026-0001) for source maintenance."`
}

// APIDeduction is a missed notice's fee line, or why it was waived.
type APIDeduction struct {
	Day          string  `json:"day" format:"date" doc:"The day of the miss in the provider's time zone."`
	Days         int     `json:"days" doc:"Fee days deducted: 1, or 0 when waived or not the first miss that day."`
	Waived       bool    `json:"waived"`
	WaiverReason *string `json:"waiver_reason" enum:"force_majeure,contact_details_wrong,contacts_not_reconfirmed,no_contacts"`
}

// APIClock is an outage's emergency-notice clock and its outcome.
type APIClock struct {
	ID         int64   `json:"id"`
	OutageID   int64   `json:"outage_id"`
	StartedAt  string  `json:"started_at" format:"date-time"`
	DeadlineAt string  `json:"deadline_at" format:"date-time"`
	StoppedAt  *string `json:"stopped_at" format:"date-time" doc:"The delivery that reached an authorized contact; null while none did."`
	Outcome    string  `json:"outcome" enum:"running,met,missed"`
	// Deduction is set for a missed clock once its line is derived.
	Deduction *APIDeduction `json:"deduction" doc:"The fee line of a missed clock, or its waiver; null otherwise."`
}

func apiClock(c *models.Clock, d *models.Deduction) *APIClock {
	if c == nil {
		return nil
	}
	out := &APIClock{ID: c.ID, OutageID: c.RefID, StartedAt: apiTime(c.StartedAt), DeadlineAt: apiTime(c.DeadlineAt),
		StoppedAt: apiTimePtr(c.StoppedAt), Outcome: c.Outcome}
	if d != nil {
		out.Deduction = &APIDeduction{Day: d.Day, Days: d.Days, Waived: d.Waived}
		if d.Waived && d.WaiverReason != "" {
			r := d.WaiverReason
			out.Deduction.WaiverReason = &r
		}
	}
	return out
}

// APIOutageNotice is a notice telling of an outage.
type APIOutageNotice struct {
	NoticeID int64   `json:"notice_id"`
	Kind     string  `json:"kind" enum:"opened,closed" doc:"opened: the emergency notice; closed: the recovery notice."`
	JoinedAt string  `json:"joined_at" format:"date-time"`
	SealedAt *string `json:"sealed_at" format:"date-time" doc:"When it went out; null while it still gathers outages."`
	Outages  int     `json:"outages" doc:"How many outages it covers."`
}

// APIOutageDetail is an outage with its cause spans, its split, its
// emergency-notice clock and the notices that told of it.
type APIOutageDetail struct {
	APIOutage
	DownSeconds    int64             `json:"down_seconds"`
	CountedSeconds int64             `json:"counted_seconds" doc:"The part that counts against the provider."`
	CauseSpans     []APICauseSpan    `json:"cause_spans"`
	Segments       []APISegment      `json:"segments"`
	Clock          *APIClock         `json:"clock" doc:"The emergency-notice clock; null when none started."`
	Notices        []APIOutageNotice `json:"notices"`
}

// apiOutageQuery reads the filters of the outage list.
// seen is false for an organization outside the request's scope.
func (h *Handler) apiOutageQuery(c *fiber.Ctx) (f models.OutageFilter, seen bool, err error) {
	if f.OrgID, seen, err = apiOrgQuery(c); err != nil {
		return f, seen, err
	}
	switch st := c.Query("state"); st {
	case "", models.OutageOpen, models.OutageClosed:
		f.State = st
	default:
		return f, seen, apiBadRequest("api.mon.state")
	}
	if f.From, err = h.apiQueryTime(c, "from"); err != nil {
		return f, seen, err
	}
	if f.To, err = h.apiQueryTime(c, "to"); err != nil {
		return f, seen, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return f, seen, apiBadRequest("api.mon.order")
	}
	return f, seen, nil
}

// apiListOutages: GET /api/v1/outages, newest first.
func (h *Handler) apiListOutages(c *fiber.Ctx) error {
	var after *models.OutageKey
	limit, err := apiPage(c, &after)
	if err != nil {
		return err
	}
	f, seen, err := h.apiOutageQuery(c)
	if err != nil {
		return err
	}
	if !seen {
		return apiList(c, []APIOutage{}, false, nil)
	}
	os, more, err := h.store.OutagesPage(c.UserContext(), scope(c), f, after, limit)
	if err != nil {
		return err
	}
	now := h.store.Now()
	out := make([]APIOutage, len(os))
	for i, o := range os {
		out[i] = apiOutage(o, now)
	}
	var next *models.OutageKey
	if len(os) > 0 {
		last := os[len(os)-1]
		next = &models.OutageKey{StartedAt: last.StartedAt, ID: last.ID}
	}
	return apiList(c, out, more, next)
}

// apiGetOutage: GET /api/v1/outages/:id, what the outage page reads of it.
func (h *Handler) apiGetOutage(c *fiber.Ctx) error {
	o, err := h.outageParam(c)
	if err != nil {
		return err
	}
	ctx, sc := c.UserContext(), scope(c)
	now := h.store.Now()
	out := APIOutageDetail{APIOutage: apiOutage(*o, now), CauseSpans: []APICauseSpan{}, Segments: []APISegment{},
		Notices: []APIOutageNotice{}}
	spans, err := h.store.OutageCauseSpans(ctx, sc, o.OrgID, o.ID)
	if err != nil {
		return err
	}
	for _, p := range spans {
		s := APICauseSpan{Start: apiTime(p.StartAt), End: apiTime(p.EndAt), Cause: string(p.Cause), Note: p.Note}
		if p.RequestNo != "" {
			no := p.RequestNo
			s.Operation = &no
		}
		out.CauseSpans = append(out.CauseSpans, s)
	}
	segs, err := h.store.OutageSegmentsOf(ctx, sc, o.OrgID, []models.Outage{*o})
	if err != nil {
		return err
	}
	for _, g := range segs[o.ID] {
		s := APISegment{Start: apiTime(g.Start), End: apiTimePtr(g.End), Cause: string(g.Cause), Source: "outage", Counts: g.Counts()}
		switch {
		case g.Window != nil:
			s.Source = "maintenance"
			no := g.Window.Number
			s.Maintenance = &no
		case g.Part != nil:
			s.Source = "cause_span"
		}
		out.Segments = append(out.Segments, s)
		out.DownSeconds += int64(g.Length(now).Seconds())
		if g.Counts() {
			out.CountedSeconds += int64(g.Length(now).Seconds())
		}
	}
	clock, err := h.store.OutageClock(ctx, sc, o.OrgID, o.ID)
	if err != nil {
		return err
	}
	var line *models.Deduction
	if clock != nil && clock.Outcome == models.ClockMissed {
		if line, err = h.store.ClockDeduction(ctx, sc, o.OrgID, clock.ID); err != nil {
			return err
		}
	}
	out.Clock = apiClock(clock, line)
	notices, err := h.store.OutageNotices(ctx, sc, o.OrgID, o.ID)
	if err != nil {
		return err
	}
	for _, n := range notices {
		out.Notices = append(out.Notices, APIOutageNotice{NoticeID: n.ID, Kind: n.Kind, JoinedAt: apiTime(n.JoinedAt),
			SealedAt: apiTimePtr(n.SealedAt), Outages: n.Outages})
	}
	return apiJSON(c, fiber.StatusOK, out)
}

// APINoticeOutage is an outage a notice covers, with its clock.
type APINoticeOutage struct {
	OutageID int64     `json:"outage_id"`
	JoinedAt string    `json:"joined_at" format:"date-time"`
	Clock    *APIClock `json:"clock" doc:"The outage's emergency-notice clock and outcome (opened notices); null when none."`
}

// APINotice is a notice of an organization's outages: the emergency
// notice of outages confirmed close together (kind opened), whose
// delivery to an authorized contact stops each outage's clock, or the
// notice of their recovery (closed).
type APINotice struct {
	ID       int64             `json:"id"`
	OrgID    int64             `json:"org_id"`
	Kind     string            `json:"kind" enum:"opened,closed" doc:"opened: the emergency notice; closed: the recovery notice."`
	FirstAt  string            `json:"first_at" format:"date-time" doc:"When its first outage was confirmed (or ended)."`
	SendAt   string            `json:"send_at" format:"date-time" doc:"When its deliveries were first due."`
	SealedAt *string           `json:"sealed_at" format:"date-time" doc:"When it went out; null while it still gathers outages."`
	Outages  []APINoticeOutage `json:"outages"`
}

func apiNotice(n models.NoticeRecord) APINotice {
	out := APINotice{ID: n.ID, OrgID: n.OrgID, Kind: n.Kind, FirstAt: apiTime(n.FirstAt), SendAt: apiTime(n.SendAt),
		SealedAt: apiTimePtr(n.SealedAt), Outages: []APINoticeOutage{}}
	for _, o := range n.Outages {
		no := APINoticeOutage{OutageID: o.OutageID, JoinedAt: apiTime(o.JoinedAt)}
		if n.Kind == models.NoticeOpened {
			no.Clock = apiClock(o.Clock, o.Deduction)
		}
		out.Outages = append(out.Outages, no)
	}
	return out
}

// apiListNotices: GET /api/v1/notices, newest first.
func (h *Handler) apiListNotices(c *fiber.Ctx) error {
	var before int64
	limit, err := apiPage(c, &before)
	if err != nil {
		return err
	}
	orgID, seen, err := apiOrgQuery(c)
	if err != nil {
		return err
	}
	if !seen {
		return apiList(c, []APINotice{}, false, nil)
	}
	ns, more, err := h.store.NoticesPage(c.UserContext(), scope(c), orgID, before, limit)
	if err != nil {
		return err
	}
	out := make([]APINotice, len(ns))
	for i, n := range ns {
		out[i] = apiNotice(n)
	}
	var next int64
	if len(ns) > 0 {
		next = ns[len(ns)-1].ID
	}
	return apiList(c, out, more, next)
}

// apiGetNotice: GET /api/v1/notices/:id.
func (h *Handler) apiGetNotice(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	n, err := h.store.GetNotice(c.UserContext(), scope(c), id)
	if err != nil {
		return err
	}
	return apiJSON(c, fiber.StatusOK, apiNotice(*n))
}
