package models

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"gorm.io/gorm"
)

// The incident dossier of one outage (docs/agreement.md §1, "Evidence"):
// everything the portal holds about it, gathered from the stored records
// by the loaders the outage page reads, into one timeline.

// Kinds of the lines of a dossier's timeline (DossierEntry.Kind).
const (
	DossierStarted         = "started"          // the first failed probe
	DossierProbe           = "probe"            // a failed probe kept as evidence (Reason)
	DossierConfirmed       = "confirmed"        // the failure that reached the threshold
	DossierClockStarted    = "clock_started"    // the emergency-notice clock (End: its deadline)
	DossierClockStopped    = "clock_stopped"    // Status: met or missed
	DossierClockMissed     = "clock_missed"     // the deadline passed with the clock still running
	DossierNoticeOpened    = "notice_opened"    // the organization's notice this outage is told in (Status: its kind)
	DossierNoticeJoined    = "notice_joined"    // this outage joined that notice (Count: its outages)
	DossierNoticeSealed    = "notice_sealed"    // the notice went out: no outage joins it any more
	DossierDeliveryQueued  = "delivery_queued"  // a delivery to a contact (or a call task), Status not_sent when never tried
	DossierAttempt         = "attempt"          // one try of a delivery (Status: its result, Note: the error)
	DossierCallLogged      = "call_logged"      // staff logged a call (Who: staff, Contact: whom they called)
	DossierDeliveryRetried = "delivery_retried" // staff queued a delivery again
	DossierCauseSet        = "cause_set"        // the outage's own cause or a span set (Cause, Previous, Note, Start/End, Number)
	DossierSpansCut        = "spans_cut"        // an operation's spans cut at the end of its work (Number, End)
	DossierIncidentCause   = "incident_cause"   // the cause set for every outage of its incident
	DossierOutcome         = "outcome"          // the missed notice's line derived again (Status, Reason, Note: the trigger)
	DossierOutcomeFrozen   = "outcome_frozen"   // a change the closed month kept from happening
	DossierEnded           = "ended"            // the first success (RTT when the probe is still kept)
	DossierWorkFrom        = "work_from"        // an operation's authorized work begins (Number, Title)
	DossierWorkTo          = "work_to"          // and ends (Status: the request's state)
	DossierComplaint       = "complaint"        // a complaint naming the outage received (Number, Title, Status: category)
	DossierComplaintReply  = "complaint_reply"  // its first written handling report
	DossierComplaintDone   = "complaint_done"   // resolved (Status: its state now)
	DossierIncidentOpened  = "incident_opened"  // the provider-wide incident it belongs to detected
	DossierIncidentUpdate  = "incident_update"  // an update posted to the affected customers (Title: its text)
	DossierIncidentClosed  = "incident_resolved"
)

// DossierEntry is one line of an outage's timeline: when, what kind, who
// (a staff member's or a contact's name; System for the portal itself)
// and the facts its kind says, for the reader's language to word.
type DossierEntry struct {
	At     time.Time
	Kind   string
	Who    string
	System bool
	// The facts, by kind (see the Dossier* kinds).
	Cause      Cause
	Previous   []Cause
	Note       string
	Reason     string
	Status     string
	Contact    string // the contact a delivery or call was for
	Event      string // what a delivery told (event.*)
	Channel    Channel
	Transport  string
	Address    string
	Number     string
	Title      string
	Start, End *time.Time
	Count      int
	RTTus      int
}

// DossierOperation is an operation request whose authorized work overlaps
// the outage, or whose cause spans lie in it.
type DossierOperation struct {
	Request OperationRequest
	// From and To bound its authorized work (OperationWindow); HasWindow
	// is false for work never authorized and started.
	From, To  time.Time
	HasWindow bool
	// Exempt is the outage's time attributed to it by its cause spans.
	Exempt time.Duration
}

// DossierNotice is a notice that tells of the outage, and when the
// outage joined it.
type DossierNotice struct {
	Notice
	JoinedAt time.Time
	Outages  int // how many of the organization's outages it covers
}

// DossierIncident is the provider-wide incident the outage belongs to,
// with the updates posted to the affected customers.
type DossierIncident struct {
	Incident Incident
	Updates  []IncidentUpdate
}

// CauseTime is how long an outage had one cause.
type CauseTime struct {
	Cause Cause
	Time  time.Duration
}

// OutageDossier is the whole record of one outage.
type OutageDossier struct {
	Outage Outage
	Org    Organization
	Device Device
	Check  *Check
	// Evidence is the failed probes kept, oldest first (at most
	// maxEvidence; Outage.Failures counts them all); Recovery the probe
	// that ended the outage, while raw results are kept.
	Evidence []OutageProbe
	Recovery *ProbeResult
	// Spans are the cause spans as they stand; Segments the outage split
	// by them, as the outage page shows it.
	Spans    []OutageCauseSpan
	Segments []OutageSegment
	// Down, Counted and Excluded (by cause, in the order of Causes) add
	// up the segments, an open one to Now.
	Down, Counted time.Duration
	Excluded      []CauseTime
	Clock         *Clock
	Deduction     *Deduction
	MonthClosed   *ClosedMonth
	Notices       []DossierNotice
	Deliveries    []Delivery
	Attempts      map[int64][]DeliveryAttempt
	Contacts      map[int64]string
	Operations    []DossierOperation
	Complaints    []ComplaintRow
	Incident      *DossierIncident
	// Names are the staff named anywhere in it (who set causes, logged
	// calls, posted updates); customers' names are never among them.
	Names    map[int64]string
	Timeline []DossierEntry
	Now      time.Time
}

// dossierAudits are the audit actions about an outage itself that its
// timeline tells.
var dossierAudits = []string{AuditOutageCause, AuditNoticeOutcome, AuditNoticeFrozen}

// OutageDossier gathers the dossier of outage outageID: the outage, its
// evidence, cause history and spans, the emergency-notice clock and the
// missed notice's line, the notices with every delivery and attempt (call
// tasks and logged calls among them), the operations whose authorized
// work overlaps it, the complaints naming it that the reader may see
// (never one naming the reader: docs/agreement.md §8), and the
// provider-wide incident it belongs to. Another organization's outage is
// ErrNotFound.
func (s *Store) OutageDossier(ctx context.Context, sc Scope, outageID int64) (*OutageDossier, error) {
	d, err := s.outageDossier(ctx, sc, outageID)
	if err != nil {
		return nil, fmt.Errorf("models: dossier of outage %d: %w", outageID, err)
	}
	return d, nil
}

func (s *Store) outageDossier(ctx context.Context, sc Scope, outageID int64) (*OutageDossier, error) {
	o, err := s.GetOutage(ctx, sc, outageID)
	if err != nil {
		return nil, err
	}
	org := o.OrgID
	d := &OutageDossier{Outage: *o, Now: s.now(), Names: map[int64]string{}, Contacts: map[int64]string{}}
	// What the outage page reads, read by the same loaders.
	og, err := s.GetOrg(ctx, sc, org)
	if err != nil {
		return nil, err
	}
	d.Org = *og
	dev, err := s.GetDevice(ctx, sc, o.DeviceID)
	if err != nil {
		return nil, err
	}
	d.Device = *dev
	checks, err := s.ListChecks(ctx, sc, org, o.DeviceID)
	if err != nil {
		return nil, err
	}
	for i := range checks {
		if checks[i].ID == o.CheckID {
			d.Check = &checks[i]
		}
	}
	if d.Evidence, err = s.OutageEvidence(ctx, sc, org, o.ID); err != nil {
		return nil, err
	}
	if o.EndedAt != nil {
		rs, err := s.Results(ctx, sc, org, o.CheckID, *o.EndedAt, o.EndedAt.Add(time.Second))
		if err != nil {
			return nil, err
		}
		for i := range rs {
			if rs[i].OK && rs[i].At.Equal(*o.EndedAt) {
				d.Recovery = &rs[i]
				break
			}
		}
	}
	if d.Spans, err = s.OutageCauseSpans(ctx, sc, org, o.ID); err != nil {
		return nil, err
	}
	// The outage page's segments: cause spans and agreed maintenance.
	segs, err := s.OutageSegmentsOf(ctx, sc, org, []Outage{*o})
	if err != nil {
		return nil, err
	}
	d.Segments = segs[o.ID]
	d.Down, d.Counted, d.Excluded = dossierFigures(d.Segments, d.Now)
	if d.Clock, err = s.OutageClock(ctx, sc, org, o.ID); err != nil {
		return nil, err
	}
	if d.Clock != nil && d.Clock.Outcome == ClockMissed {
		if d.Deduction, err = s.ClockDeduction(ctx, sc, org, d.Clock.ID); err != nil {
			return nil, err
		}
		if d.Deduction != nil {
			if d.MonthClosed, err = s.MonthClosed(ctx, sc, org, d.Deduction.Day[:7]); err != nil {
				return nil, err
			}
		}
	}
	if d.Deliveries, d.Attempts, err = s.OutageDeliveries(ctx, sc, org, o.ID); err != nil {
		return nil, err
	}
	contacts, err := s.ListContacts(ctx, sc, org)
	if err != nil {
		return nil, err
	}
	for _, ct := range contacts {
		d.Contacts[ct.ID] = ct.Name
	}
	// What only the dossier reads.
	db := s.db.WithContext(ctx)
	if d.Notices, err = outageNotices(db, org, o.ID); err != nil {
		return nil, err
	}
	if d.Operations, err = s.dossierOperations(db, o, d.Spans, d.Now); err != nil {
		return nil, err
	}
	rows, err := s.ListComplaints(ctx, Viewer{Scope: sc, UserID: sc.reader}, ComplaintFilter{OrgID: org, OutageID: o.ID})
	if err != nil {
		return nil, err
	}
	d.Complaints = rows
	if d.Incident, err = outageIncident(db, o.ID); err != nil {
		return nil, err
	}
	audits, err := s.dossierAuditTrail(db, d)
	if err != nil {
		return nil, err
	}
	if d.Names, err = s.StaffNames(ctx, dossierStaff(d, audits)); err != nil {
		return nil, err
	}
	d.Timeline = d.timeline(audits)
	return d, nil
}

// dossierFigures adds up an outage's segments: down, counted against the
// provider, and excluded by cause in the order of Causes.
func dossierFigures(segs []OutageSegment, now time.Time) (down, counted time.Duration, excluded []CauseTime) {
	counted, _ = SplitTotals(segs, now)
	by := map[Cause]time.Duration{}
	for _, g := range segs {
		down += g.Length(now)
		if !g.Counts() {
			by[g.Cause] += g.Length(now)
		}
	}
	for _, c := range Causes {
		if by[c] > 0 {
			excluded = append(excluded, CauseTime{Cause: c, Time: by[c]})
		}
	}
	return down, counted, excluded
}

// outageNotices lists the notices of orgID telling of the outage, oldest
// first, with when it joined each and how many outages each covers.
func outageNotices(db *gorm.DB, orgID, outageID int64) ([]DossierNotice, error) {
	var joins []NoticeOutage
	if err := db.Where("org_id = ? AND outage_id = ?", orgID, outageID).Order("joined_at, notice_id").Find(&joins).Error; err != nil {
		return nil, err
	}
	out := make([]DossierNotice, 0, len(joins))
	for _, j := range joins {
		var n Notice
		if err := db.Where("org_id = ? AND id = ?", orgID, j.NoticeID).First(&n).Error; err != nil {
			return nil, notFound(err)
		}
		var count int64
		if err := db.Model(&NoticeOutage{}).Where("notice_id = ?", n.ID).Count(&count).Error; err != nil {
			return nil, err
		}
		out = append(out, DossierNotice{Notice: n, JoinedAt: j.JoinedAt, Outages: int(count)})
	}
	return out, nil
}

// dossierOperations lists the operation requests of the outage's
// organization whose authorized work on its device overlaps it, or whose
// cause spans lie in it, by the start of their work.
func (s *Store) dossierOperations(db *gorm.DB, o *Outage, spans []OutageCauseSpan, now time.Time) ([]DossierOperation, error) {
	end := now
	if o.EndedAt != nil {
		end = *o.EndedAt
	}
	onDevice := db.Session(&gorm.Session{NewDB: true}).Model(&OperationDevice{}).Select("request_id").
		Where("org_id = ? AND device_id = ?", o.OrgID, o.DeviceID)
	fromSpans := db.Session(&gorm.Session{NewDB: true}).Model(&OutageCauseSpan{}).Select("request_id").
		Where("org_id = ? AND outage_id = ? AND request_id IS NOT NULL", o.OrgID, o.ID)
	var reqs []OperationRequest
	if err := db.Where("org_id = ?", o.OrgID).
		Where("(id IN (?) AND started_at IS NOT NULL AND started_at < ? AND (ended_at IS NULL OR ended_at > ?)) OR id IN (?)",
			onDevice, end.UTC(), o.StartedAt.UTC(), fromSpans).
		Order("id").Find(&reqs).Error; err != nil {
		return nil, err
	}
	exempt := map[int64]time.Duration{}
	for _, p := range spans {
		if p.RequestID != nil {
			exempt[*p.RequestID] += p.EndAt.Sub(p.StartAt)
		}
	}
	var out []DossierOperation
	for i := range reqs {
		r := &reqs[i]
		var accepted []Authorization
		if err := db.Where("org_id = ? AND request_id = ? AND status = ?", o.OrgID, r.ID, AuthAccepted).Order("id").
			Find(&accepted).Error; err != nil {
			return nil, err
		}
		rd := RequestDetail{Request: r, Authorizations: accepted}
		from, to, ok := rd.OperationWindow(now)
		overlaps := ok && from.Before(end) && to.After(o.StartedAt)
		if !overlaps && exempt[r.ID] == 0 {
			continue
		}
		out = append(out, DossierOperation{Request: *r, From: from, To: to, HasWindow: ok, Exempt: exempt[r.ID]})
	}
	slices.SortStableFunc(out, func(a, b DossierOperation) int { return a.From.Compare(b.From) })
	return out, nil
}

// outageIncident returns the provider-wide incident holding the outage,
// with its updates, or nil.
func outageIncident(db *gorm.DB, outageID int64) (*DossierIncident, error) {
	var m []IncidentOutage
	if err := db.Where("outage_id = ?", outageID).Limit(1).Find(&m).Error; err != nil || len(m) == 0 {
		return nil, err
	}
	inc := &DossierIncident{}
	if err := db.First(&inc.Incident, m[0].IncidentID).Error; err != nil {
		return nil, notFound(err)
	}
	if err := db.Where("incident_id = ?", inc.Incident.ID).Order("created_at, id").Find(&inc.Updates).Error; err != nil {
		return nil, err
	}
	return inc, nil
}

// dossierAuditTrail reads the audit records of the outage's history: its
// causes and spans set, its missed notice's line derived, its deliveries
// queued again, and its incident's cause set for it. Records of the
// incident name many outages: only those naming this one are kept.
func (s *Store) dossierAuditTrail(db *gorm.DB, d *OutageDossier) ([]AuditEvent, error) {
	o := d.Outage
	var out []AuditEvent
	if err := db.Where("org_id = ? AND target_type = ? AND target_id = ? AND action IN ?", o.OrgID, "outage", o.ID, dossierAudits).
		Order("id").Find(&out).Error; err != nil {
		return nil, err
	}
	ids := make([]int64, len(d.Deliveries))
	for i, dl := range d.Deliveries {
		ids[i] = dl.ID
	}
	var retried []AuditEvent
	if err := findIn(db, ids, &retried, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Where("org_id = ? AND target_type = ? AND action = ? AND target_id IN ?", o.OrgID, "delivery", AuditDeliveryRetried, chunk)
	}); err != nil {
		return nil, err
	}
	out = append(out, retried...)
	if d.Incident != nil {
		var incs []AuditEvent
		if err := db.Where("target_type = ? AND target_id = ? AND action = ?", "incident", d.Incident.Incident.ID, AuditIncidentCause).
			Order("id").Find(&incs).Error; err != nil {
			return nil, err
		}
		key := strconv.FormatInt(o.ID, 10)
		for _, ev := range incs {
			var detail struct {
				Previous map[string]Cause `json:"previous"`
			}
			if json.Unmarshal([]byte(ev.Detail), &detail) == nil {
				if _, ok := detail.Previous[key]; ok {
					out = append(out, ev)
				}
			}
		}
	}
	slices.SortStableFunc(out, func(a, b AuditEvent) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// dossierStaff lists the users the dossier may name: who set causes and
// spans, logged calls, acted in the audit trail, did the operations' work
// and resolved the incident. StaffNames keeps the staff among them.
func dossierStaff(d *OutageDossier, audits []AuditEvent) []int64 {
	var ids []int64
	add := func(p *int64) {
		if p != nil && !slices.Contains(ids, *p) {
			ids = append(ids, *p)
		}
	}
	add(d.Outage.CauseSetBy)
	for _, p := range d.Spans {
		add(p.SetBy)
	}
	for _, as := range d.Attempts {
		for _, a := range as {
			add(a.ByUserID)
		}
	}
	for _, ev := range audits {
		add(ev.ActorID)
	}
	for _, op := range d.Operations {
		add(op.Request.EngineerID)
	}
	if d.Incident != nil {
		add(d.Incident.Incident.ResolvedBy)
	}
	return ids
}

// auditDetail is what the timeline reads of an audit record's detail.
type auditDetail struct {
	Cause         Cause           `json:"cause"`
	Note          string          `json:"note"`
	Previous      json.RawMessage `json:"previous"`
	PreviousCause Cause           `json:"previous_cause"`
	SpanStart     *time.Time      `json:"span_start"`
	SpanEnd       *time.Time      `json:"span_end"`
	Request       string          `json:"request"`
	ClippedTo     *time.Time      `json:"clipped_to"`
	Outcome       string          `json:"outcome"`
	Reason        string          `json:"reason"`
	Trigger       string          `json:"trigger"`
	Address       string          `json:"address"`
}

// previousOf reads the causes a record replaced: one cause (the outage's
// own), a list (the segments under a span), or a map by outage ID (an
// incident's record: this outage's).
func (a *auditDetail) previousOf(outageID int64) []Cause {
	var one Cause
	if json.Unmarshal(a.Previous, &one) == nil && one != "" {
		return []Cause{one}
	}
	var list []Cause
	if json.Unmarshal(a.Previous, &list) == nil {
		return list
	}
	var byID map[string]Cause
	if json.Unmarshal(a.Previous, &byID) == nil {
		if c, ok := byID[strconv.FormatInt(outageID, 10)]; ok {
			return []Cause{c}
		}
	}
	return nil
}

// who names the actor of a record, or marks the portal itself.
func (d *OutageDossier) who(id *int64) (string, bool) {
	if id == nil {
		return "", true
	}
	return d.Names[*id], false
}

// timeline puts every dated fact of the dossier in one list, by time;
// facts of one moment keep the order they happen in.
func (d *OutageDossier) timeline(audits []AuditEvent) []DossierEntry {
	o := d.Outage
	var out []DossierEntry
	add := func(e DossierEntry) { out = append(out, e) }
	add(DossierEntry{At: o.StartedAt, Kind: DossierStarted, System: true})
	for _, p := range d.Evidence {
		add(DossierEntry{At: p.At, Kind: DossierProbe, Reason: p.Reason, System: true})
	}
	add(DossierEntry{At: o.ConfirmedAt, Kind: DossierConfirmed, Count: o.Failures, System: true})
	if k := d.Clock; k != nil {
		deadline := k.DeadlineAt
		add(DossierEntry{At: k.StartedAt, Kind: DossierClockStarted, End: &deadline, System: true})
	}
	for _, n := range d.Notices {
		add(DossierEntry{At: n.CreatedAt, Kind: DossierNoticeOpened, Status: n.Kind, System: true})
		add(DossierEntry{At: n.JoinedAt, Kind: DossierNoticeJoined, Status: n.Kind, Count: n.Outages, System: true})
		if n.SealedAt != nil {
			add(DossierEntry{At: *n.SealedAt, Kind: DossierNoticeSealed, Status: n.Kind, System: true})
		}
	}
	for _, dl := range d.Deliveries {
		contact := d.Contacts[dl.ContactID]
		e := DossierEntry{At: dl.CreatedAt, Kind: DossierDeliveryQueued, Contact: contact, Event: dl.Event, Channel: dl.Channel,
			Transport: dl.Transport, Address: dl.Address, System: true}
		if dl.Status == DeliveryNotSent {
			e.Status, e.Reason = dl.Status, dl.LastError
		}
		add(e)
		for _, a := range d.Attempts[dl.ID] {
			if a.ByUserID != nil {
				name, _ := d.who(a.ByUserID)
				add(DossierEntry{At: a.At, Kind: DossierCallLogged, Who: name, Contact: contact, Event: dl.Event, Channel: dl.Channel,
					Address: dl.Address, Status: a.Result, Note: a.Error})
				continue
			}
			add(DossierEntry{At: a.At, Kind: DossierAttempt, Contact: contact, Event: dl.Event, Channel: dl.Channel,
				Transport: dl.Transport, Address: dl.Address, Status: a.Result, Note: a.Error, System: true})
		}
	}
	// What the deliveries did to the clock, after them.
	if k := d.Clock; k != nil {
		if k.Outcome == ClockMissed && (k.StoppedAt == nil || k.StoppedAt.After(k.DeadlineAt)) {
			add(DossierEntry{At: k.DeadlineAt, Kind: DossierClockMissed, System: true})
		}
		if k.StoppedAt != nil {
			add(DossierEntry{At: *k.StoppedAt, Kind: DossierClockStopped, Status: k.Outcome, System: true})
		}
	}
	for _, op := range d.Operations {
		r := op.Request
		if !op.HasWindow {
			continue
		}
		// The engineer who did the work, as the request's page names them.
		name, system := d.who(r.EngineerID)
		add(DossierEntry{At: op.From, Kind: DossierWorkFrom, Number: r.Number(), Title: r.Title, Who: name, System: system})
		if r.EndedAt != nil {
			add(DossierEntry{At: op.To, Kind: DossierWorkTo, Number: r.Number(), Status: r.State, Who: name, System: system})
		}
	}
	for _, ev := range audits {
		var a auditDetail
		_ = json.Unmarshal([]byte(ev.Detail), &a)
		name, system := d.who(ev.ActorID)
		e := DossierEntry{At: ev.At, Who: name, System: system}
		switch {
		case ev.Action == AuditOutageCause && a.ClippedTo != nil:
			e.Kind, e.Number, e.End = DossierSpansCut, a.Request, a.ClippedTo
		case ev.Action == AuditOutageCause:
			e.Kind, e.Cause, e.Note, e.Previous, e.Start, e.End, e.Number = DossierCauseSet, a.Cause, a.Note, a.previousOf(o.ID),
				a.SpanStart, a.SpanEnd, a.Request
		case ev.Action == AuditIncidentCause:
			e.Kind, e.Cause, e.Note, e.Previous = DossierIncidentCause, a.Cause, a.Note, a.previousOf(o.ID)
		case ev.Action == AuditNoticeOutcome:
			e.Kind, e.Status, e.Reason, e.Note = DossierOutcome, a.Outcome, a.Reason, a.Trigger
		case ev.Action == AuditNoticeFrozen:
			e.Kind, e.Status, e.Reason, e.Note = DossierOutcomeFrozen, a.Outcome, a.Reason, a.Trigger
		case ev.Action == AuditDeliveryRetried:
			e.Kind, e.Address = DossierDeliveryRetried, a.Address
			for _, dl := range d.Deliveries {
				if ev.TargetID != nil && dl.ID == *ev.TargetID {
					e.Contact, e.Event, e.Channel, e.Address = d.Contacts[dl.ContactID], dl.Event, dl.Channel, dl.Address
				}
			}
		default:
			continue
		}
		add(e)
	}
	if o.EndedAt != nil {
		e := DossierEntry{At: *o.EndedAt, Kind: DossierEnded, System: true}
		if d.Recovery != nil {
			e.RTTus = d.Recovery.RTTus
		}
		add(e)
	}
	for _, c := range d.Complaints {
		add(DossierEntry{At: c.ReceivedAt, Kind: DossierComplaint, Number: c.Number(), Title: c.Subject, Status: c.Category, System: true})
		if c.FirstResponseAt != nil {
			add(DossierEntry{At: *c.FirstResponseAt, Kind: DossierComplaintReply, Number: c.Number(), System: true})
		}
		if c.ResolvedAt != nil {
			add(DossierEntry{At: *c.ResolvedAt, Kind: DossierComplaintDone, Number: c.Number(), Status: c.State, System: true})
		}
	}
	if inc := d.Incident; inc != nil {
		add(DossierEntry{At: inc.Incident.DetectedAt, Kind: DossierIncidentOpened, System: true})
		for _, u := range inc.Updates {
			add(DossierEntry{At: u.CreatedAt, Kind: DossierIncidentUpdate, Title: u.Body, Who: u.ByName, System: u.ByUserID == nil})
		}
		if inc.Incident.ResolvedAt != nil {
			name, system := d.who(inc.Incident.ResolvedBy)
			add(DossierEntry{At: *inc.Incident.ResolvedAt, Kind: DossierIncidentClosed, Who: name, System: system})
		}
	}
	slices.SortStableFunc(out, func(a, b DossierEntry) int { return a.At.Compare(b.At) })
	return out
}
