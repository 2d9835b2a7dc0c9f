package handlers

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
	"github.com/colo-portal/portal/views/pdf"
)

// downloadDossier sends the incident dossier of one outage (agreement §1,
// "Evidence"): its facts and figures, cause spans, notices, operations,
// complaints and whole timeline as a PDF on the provider's letterhead, in
// the reader's language or the one ?lang= asks for. Whoever sees the
// outage may have it (another organization's is not found); the download
// is audited as the other documents' are.
func (h *Handler) downloadDossier(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	d, err := h.store.OutageDossier(ctx, scope(c), id)
	if err != nil {
		return err
	}
	tr := documentLang(c)
	b, err := pdf.IncidentDossier(tr.T, h.letterhead(), h.dossierDoc(tr, d, currentUser(c)))
	if err != nil {
		return err
	}
	o := d.Outage
	if err := h.store.Audit(ctx, actor(c), models.AuditDossierDownloaded, "outage", &o.ID, &o.OrgID,
		map[string]any{"device": d.Device.Name, "lang": tr.Lang()}); err != nil {
		return err
	}
	attachment(c, "application/pdf", "outage-"+strconv.FormatInt(o.ID, 10)+"-dossier-"+tr.Lang()+".pdf")
	return c.Send(b)
}

// dossierText words a dossier in one language.
type dossierText struct {
	h  *Handler
	tr *locales.Translator
	d  *models.OutageDossier
	// zone is the offset from UTC the tables' times are in, said once in
	// their heads ("UTC+08:00"): that of the outage's start.
	zone string
}

// dossierDoc turns an outage's dossier into its document's text, in tr's
// language, for reader. It names no one the outage page does not: staff
// who acted and the contacts told, with the addresses the page shows.
func (h *Handler) dossierDoc(tr *locales.Translator, d *models.OutageDossier, reader *models.User) pdf.DossierDoc {
	o := d.Outage
	x := dossierText{h: h, tr: tr, d: d, zone: o.StartedAt.In(h.loc).Format(zoneLayout)}
	vm := pdf.DossierDoc{Lang: tr.Lang(), Ref: tr.T("dossier.ref", o.ID), Zone: x.zone,
		Generated: tr.T("dossier.generated", h.docTime(h.store.Now()), reader.Name)}
	device := d.Device.Name + " (" + d.Device.Address + ")"
	if d.Device.Cabinet != "" {
		device = d.Device.Name + " (" + d.Device.Address + ", " + d.Device.Cabinet + ")"
	}
	check := "—"
	if d.Check != nil {
		check = tr.T("kind."+string(d.Check.Kind)) + " " + d.Check.Target
	}
	ended := tr.T("outages.ongoing")
	if o.EndedAt != nil {
		ended = h.docTime(*o.EndedAt)
	}
	own := x.cause(o.Cause)
	if o.CauseNote != "" {
		own += "\n" + o.CauseNote
	}
	if n := x.name(o.CauseSetBy); n != "" {
		own += "\n" + tr.T("dossier.set_by", n)
	}
	vm.Outage = [][2]string{
		{tr.T("pdf.field.organization"), d.Org.Name},
		{tr.T("dossier.field.device"), device},
		{tr.T("dossier.field.check"), check},
		{tr.T("dossier.field.started"), h.docTime(o.StartedAt)},
		{tr.T("dossier.field.confirmed"), h.docTime(o.ConfirmedAt)},
		{tr.T("dossier.field.ended"), ended},
		{tr.T("dossier.field.own_cause"), own},
		{tr.T("dossier.field.evidence"), tr.T("dossier.evidence", max(o.Failures, len(d.Evidence)), len(d.Evidence))},
	}
	vm.Figures = [][2]string{
		{tr.T("dossier.figure.down"), x.minutes(d.Down)},
		{tr.T("dossier.figure.counted"), x.minutes(d.Counted)},
	}
	if len(d.Excluded) == 0 {
		vm.Figures = append(vm.Figures, [2]string{tr.T("dossier.figure.excluded"), x.minutes(0)})
	}
	for _, e := range d.Excluded {
		vm.Figures = append(vm.Figures, [2]string{tr.T("dossier.figure.excluded_as", x.cause(e.Cause)), x.minutes(e.Time)})
	}
	vm.Clock = x.clock()
	for _, g := range d.Segments {
		vm.Spans = append(vm.Spans, x.span(g))
	}
	for _, dl := range d.Deliveries {
		status := x.status(dl.Status)
		if dl.DoneAt != nil {
			status += "\n" + h.docTime(*dl.DoneAt)
		}
		vm.Deliveries = append(vm.Deliveries, pdf.DossierDeliveryLine{Event: x.or("event."+dl.Event, dl.Event),
			Contact: x.contact(dl.ContactID), Channel: x.channel(dl.Channel, dl.Address),
			Transport: x.or("transport."+dl.Transport, dl.Transport), Status: status})
	}
	for _, op := range d.Operations {
		r := op.Request
		when := tr.T("dossier.operation.no_window")
		if op.HasWindow {
			when = h.docTime(op.From) + " – " + h.docTime(op.To)
		}
		if op.Exempt > 0 {
			when += "\n" + tr.T("dossier.operation.exempt", x.minutes(op.Exempt))
		}
		vm.Operations = append(vm.Operations, pdf.DossierRecordLine{Number: r.Number(), Title: r.Title,
			State: tr.T("operation.state." + r.State), When: when})
	}
	for _, cp := range d.Complaints {
		vm.Complaints = append(vm.Complaints, pdf.DossierRecordLine{Number: cp.Number(),
			Title: tr.T("complaints.category."+cp.Category) + "\n" + cp.Subject,
			State: tr.T("complaints.state." + cp.State), When: h.docTime(cp.ReceivedAt)})
	}
	if inc := d.Incident; inc != nil {
		resolved := tr.T("dossier.incident.open")
		if inc.Incident.ResolvedAt != nil {
			resolved = h.docTime(*inc.Incident.ResolvedAt)
		}
		vm.Incident = [][2]string{
			{tr.T("dossier.incident.detected"), h.docTime(inc.Incident.DetectedAt)},
			{tr.T("dossier.incident.resolved"), resolved},
			{tr.T("dossier.incident.cause"), x.cause(inc.Incident.Cause)},
		}
		// Its title is the staff's name for it; customers see its updates.
		if reader.Role.IsStaff() && inc.Incident.Title != "" {
			vm.Incident = append([][2]string{{tr.T("dossier.incident.title"), inc.Incident.Title}}, vm.Incident...)
		}
	}
	for _, e := range d.Timeline {
		vm.Timeline = append(vm.Timeline, pdf.DossierLine{At: x.at(e.At, true), Kind: tr.T("dossier.kind." + e.Kind),
			Text: x.line(e), Who: x.who(e)})
	}
	return vm
}

// zoneLayout writes a time's offset from UTC, as docTime ends.
const zoneLayout = "UTC-07:00"

// at is a time in a table whose head names the zone: without the offset
// when it is the head's (with it when not, across a change of daylight
// saving time), to the second if sec (probes come seconds apart).
func (x dossierText) at(t time.Time, sec bool) string {
	layout := "2006-01-02 15:04"
	if sec {
		layout = "2006-01-02 15:04:05"
	}
	l := t.In(x.h.loc)
	if off := l.Format(zoneLayout); off != x.zone {
		return l.Format(layout) + " " + off
	}
	return l.Format(layout)
}

// or translates key, or gives s when there is no such key.
func (x dossierText) or(key, s string) string {
	if x.tr.Has(key) {
		return x.tr.T(key)
	}
	return s
}

func (x dossierText) cause(c models.Cause) string {
	if c == "" {
		c = models.CauseUnknown
	}
	return x.tr.T("cause." + string(c))
}

func (x dossierText) causes(cs []models.Cause) string {
	if len(cs) == 0 {
		return "—"
	}
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = x.cause(c)
	}
	return strings.Join(out, ", ")
}

func (x dossierText) status(s string) string { return x.or("delivery.status."+s, s) }

// minutes is a length in minutes, to a tenth where it is not whole: the
// unit the agreement's allowance is counted in.
func (x dossierText) minutes(d time.Duration) string {
	m := strconv.FormatFloat(d.Minutes(), 'f', 1, 64)
	return x.tr.T("dossier.minutes", strings.TrimSuffix(m, ".0"))
}

// name is a staff member's name, "" for nobody or someone else.
func (x dossierText) name(id *int64) string {
	if id == nil {
		return ""
	}
	return x.d.Names[*id]
}

func (x dossierText) contact(id int64) string {
	if n := x.d.Contacts[id]; n != "" {
		return n
	}
	return x.tr.T("delivery.contact_removed")
}

// channel is a channel and its address as the outage page shows them.
func (x dossierText) channel(ch models.Channel, addr string) string {
	return strings.TrimSpace(x.tr.T("channel."+string(ch)) + " " + views.ShowAddress(ch, addr))
}

func (x dossierText) who(e models.DossierEntry) string {
	switch {
	case e.Who != "":
		return e.Who
	case e.System:
		return x.tr.T("dossier.who.portal")
	}
	return "—"
}

// clock is the emergency-notice clock and the missed notice's line.
func (x dossierText) clock() [][2]string {
	tr, d, h := x.tr, x.d, x.h
	k := d.Clock
	if k == nil {
		return [][2]string{{tr.T("clock.emergency_title"), tr.T("clock.none")}}
	}
	stopped := "—"
	if k.StoppedAt != nil {
		stopped = h.docTime(*k.StoppedAt)
	}
	outcome := tr.T("clock." + k.Outcome)
	switch {
	case k.Outcome == models.ClockMet:
		outcome = tr.T("dossier.clock.outcome_detail", outcome, tr.T("clock.met_in", tr.ClockDuration(k.Took(d.Now))))
	case k.Outcome == models.ClockMissed && k.StoppedAt != nil:
		outcome = tr.T("dossier.clock.outcome_detail", outcome, tr.T("clock.missed_took", tr.ClockDuration(k.Took(d.Now))))
	case k.Outcome == models.ClockMissed:
		outcome = tr.T("dossier.clock.outcome_detail", outcome, tr.T("clock.missed_none"))
	case d.Now.After(k.DeadlineAt):
		outcome = tr.T("clock.overdue")
	}
	out := [][2]string{
		{tr.T("dossier.clock.started"), h.docTime(k.StartedAt)},
		{tr.T("dossier.clock.deadline"), h.docTime(k.DeadlineAt)},
		{tr.T("dossier.clock.stopped"), stopped},
		{tr.T("dossier.clock.outcome"), outcome},
	}
	if k.Outcome != models.ClockMissed {
		return out
	}
	line := tr.T("dossier.clock.no_line")
	if ln := d.Deduction; ln != nil {
		switch {
		case ln.Waived:
			line = tr.T("clock.waived", x.or("waiver."+ln.WaiverReason, ln.WaiverReason))
		case ln.Days > 0:
			line = tr.T("clock.deducted", ln.Day)
		default:
			line = tr.T("clock.not_first", ln.Day)
		}
		if d.MonthClosed != nil {
			line += "\n" + tr.T("clock.outcome_final", d.MonthClosed.Month)
			// What its inputs make it now, for the next statement's
			// adjusting line.
			if ln.AfterCloseDays != nil {
				now := tr.T("dossier.outcome." + models.OutcomeNotFirst)
				switch {
				case ln.AfterCloseWaived != nil && *ln.AfterCloseWaived:
					now = tr.T("dossier.outcome." + models.OutcomeWaived)
					if ln.AfterCloseReason != nil {
						now += ": " + x.or("waiver."+*ln.AfterCloseReason, *ln.AfterCloseReason)
					}
				case *ln.AfterCloseDays > 0:
					now = tr.T("dossier.outcome." + models.OutcomeCharged)
				}
				line += "\n" + tr.T("dossier.clock.after_close", now)
			}
		} else {
			line += "\n" + tr.T("clock.outcome_open", ln.Day[:7])
		}
	}
	return append(out, [2]string{tr.T("dossier.clock.line"), line})
}

// span is one stretch of the outage: its period, cause, length, whether
// it counts, and who gave it its cause, why, from which request.
func (x dossierText) span(g models.OutageSegment) pdf.DossierSpanLine {
	tr, now := x.tr, x.d.Now
	period := x.at(g.Start, false) + " – " + tr.T("outages.ongoing")
	if g.End != nil {
		end := x.at(*g.End, false)
		if day := x.at(g.Start, false)[:11]; strings.HasPrefix(end, day) {
			end = end[len(day):] // the same day: its time only
		}
		period = x.at(g.Start, false) + " – " + end
	}
	var note []string
	if w := g.Window; w != nil {
		// Agreed maintenance: the window the customer agreed to, as the
		// outage page says, not whoever set the cause it replaces.
		note = append(note, w.Number+" "+tr.T("maintenance.split.agreed", x.at(w.StartsAt, false), x.at(w.EndsAt, false)))
	} else if p := g.Part; p != nil {
		if n := x.name(p.SetBy); n != "" {
			note = append(note, tr.T("dossier.set_by", n))
		}
		if p.RequestNo != "" {
			note = append(note, tr.T("dossier.from_request", p.RequestNo))
		}
		if p.Note != "" {
			note = append(note, p.Note)
		}
	} else {
		note = append(note, tr.T("outages.split.own_cause"))
		if n := x.name(x.d.Outage.CauseSetBy); n != "" {
			note = append(note, tr.T("dossier.set_by", n))
		}
		if o := x.d.Outage; o.CauseNote != "" {
			note = append(note, o.CauseNote)
		}
	}
	return pdf.DossierSpanLine{Period: period, Cause: x.cause(g.Cause), Length: x.minutes(g.Length(now)),
		Counts: g.Counts(), Note: strings.Join(note, "\n")}
}

// line says what one line of the timeline records.
func (x dossierText) line(e models.DossierEntry) string {
	tr, h := x.tr, x.h
	notice := func() string { return tr.T("dossier.notice." + e.Status) }
	withNote := func(s string) string {
		if e.Note != "" {
			return s + "\n" + e.Note
		}
		return s
	}
	switch e.Kind {
	case models.DossierProbe:
		return tr.T("dossier.text.probe", x.or("reason."+e.Reason, e.Reason))
	case models.DossierClockStarted:
		return tr.T("dossier.text.clock_started", h.docTime(*e.End))
	case models.DossierClockStopped:
		return tr.T("dossier.text.clock_stopped", tr.T("clock."+e.Status))
	case models.DossierNoticeOpened:
		return tr.T("dossier.text.notice_opened", notice())
	case models.DossierNoticeJoined:
		return tr.T("dossier.text.notice_joined", notice(), e.Count)
	case models.DossierNoticeSealed:
		return tr.T("dossier.text.notice_sealed", notice())
	case models.DossierDeliveryQueued:
		s := tr.T("dossier.text.delivery_queued", x.or("event."+e.Event, e.Event), x.contactName(e), x.channel(e.Channel, e.Address),
			x.or("transport."+e.Transport, e.Transport))
		if e.Status == models.DeliveryNotSent {
			s += "\n" + tr.T("delivery.not_sent."+e.Reason, strings.ToLower(tr.T("channel."+string(e.Channel))))
		}
		return s
	case models.DossierAttempt:
		return withNote(tr.T("dossier.text.attempt", x.contactName(e), x.channel(e.Channel, e.Address), x.status(e.Status)))
	case models.DossierCallLogged:
		return withNote(tr.T("dossier.text.call_logged", x.contactName(e), x.channel(e.Channel, e.Address), x.status(e.Status)))
	case models.DossierDeliveryRetried:
		return tr.T("dossier.text.delivery_retried", x.contactName(e), x.channel(e.Channel, e.Address))
	case models.DossierCauseSet:
		s := tr.T("dossier.text.cause_set", x.cause(e.Cause), x.causes(e.Previous))
		if e.Start != nil && e.End != nil {
			s = tr.T("dossier.text.span_set", h.docTime(*e.Start), h.docTime(*e.End), x.cause(e.Cause), x.causes(e.Previous))
		}
		if e.Number != "" {
			s += "\n" + tr.T("dossier.from_request", e.Number)
		}
		return withNote(s)
	case models.DossierSpansCut:
		return tr.T("dossier.text.spans_cut", e.Number, h.docTime(*e.End))
	case models.DossierIncidentCause:
		return withNote(tr.T("dossier.text.incident_cause", x.cause(e.Cause), x.causes(e.Previous)))
	case models.DossierOutcome, models.DossierOutcomeFrozen:
		outcome := tr.T("dossier.outcome." + e.Status)
		if e.Status == models.OutcomeWaived {
			outcome += ": " + x.or("waiver."+e.Reason, e.Reason)
		}
		return tr.T("dossier.text."+e.Kind, outcome, x.or("dossier.trigger."+e.Note, e.Note))
	case models.DossierEnded:
		if e.RTTus > 0 {
			return tr.T("dossier.text.ended_rtt", strconv.FormatFloat(float64(e.RTTus)/1000, 'f', 1, 64))
		}
	case models.DossierWorkFrom:
		return tr.T("dossier.text.work_from", e.Number, e.Title)
	case models.DossierWorkTo:
		return tr.T("dossier.text.work_to", e.Number, tr.T("operation.state."+e.Status))
	case models.DossierComplaint:
		return tr.T("dossier.text.complaint", e.Number, tr.T("complaints.category."+e.Status), e.Title)
	case models.DossierComplaintReply, models.DossierComplaintDone:
		return tr.T("dossier.text."+e.Kind, e.Number)
	case models.DossierIncidentUpdate:
		return tr.T("dossier.text.incident_update", e.Title)
	}
	return tr.T("dossier.text." + e.Kind)
}

func (x dossierText) contactName(e models.DossierEntry) string {
	if e.Contact != "" {
		return e.Contact
	}
	return x.tr.T("delivery.contact_removed")
}
