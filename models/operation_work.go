package models

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// PostMessage adds a message to a request's conversation. The first
// message from staff after the authorization is the first feedback: it
// stops the 30-minute clock, and staff messages are sent by email to the
// requesting user and the signing contact.
func (s *Store) PostMessage(ctx context.Context, actor Actor, orgID, reqID int64, staff bool, body string) (*OperationMessage, error) {
	body = strings.TrimSpace(body)
	if body == "" {
		return nil, Invalid("body", "error.required")
	}
	if err := CheckText("body", body, 10000); err != nil {
		return nil, wrap(err, "post message")
	}
	var m *OperationMessage
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var r OperationRequest
		if err := tx.Where("org_id = ? AND id = ?", orgID, reqID).First(&r).Error; err != nil {
			return notFound(err)
		}
		now := s.now()
		m = &OperationMessage{OrgID: orgID, RequestID: r.ID, AuthorID: actor.UserID, AuthorName: actorName(tx, actor),
			Staff: staff, Kind: MessageText, Body: body, CreatedAt: now}
		if err := tx.Create(m).Error; err != nil {
			return err
		}
		if staff {
			if err := s.stopClock(tx, ClockOperationFeedback, r.ID, now, m.ID); err != nil {
				return err
			}
			if err := s.outbox(tx, EventOperationMessage, orgID, m.ID, ""); err != nil {
				return err
			}
		}
		return s.audit(tx, actor, AuditOperationMessage, "operation", &r.ID, &orgID, map[string]any{
			"request": r.Number(), "message_id": m.ID, "staff": staff})
	})
	if err != nil {
		return nil, wrapOp("post message on request", reqID, err)
	}
	return m, nil
}

func actorName(tx *gorm.DB, a Actor) string {
	if a.UserID != nil {
		var u User
		if tx.Select("name").First(&u, *a.UserID).Error == nil && u.Name != "" {
			return u.Name
		}
	}
	return a.Email
}

// StateInput is an engineer's update of the work.
type StateInput struct {
	State      string
	StartedAt  *time.Time // default: now, when work starts
	EndedAt    *time.Time // default: now, when it ends
	Notes      string
	WorkDone   string
	Result     string
	ResultNote string
	FollowUp   string
}

var opTransitions = map[string][]string{
	OpAwaiting:   {OpAbandoned},
	OpAuthorized: {OpInProgress, OpAbandoned},
	OpInProgress: {OpCompleted, OpAbandoned},
}

// NextStates lists the states a request may move to from its state.
func NextStates(state string) []string { return opTransitions[state] }

// trim drops the spaces around the form's texts.
func (in *StateInput) trim() {
	for _, v := range []*string{&in.Notes, &in.WorkDone, &in.ResultNote, &in.FollowUp} {
		*v = strings.TrimSpace(*v)
	}
}

// validate checks what a state change's form holds without the request:
// the texts, the dates, and what completing needs. Every mistake is in the
// answer.
func (in StateInput) validate(zone *time.Location) error {
	var p problems
	for _, f := range []struct {
		field string
		v     string
	}{{"notes", in.Notes}, {"work_done", in.WorkDone}, {"result_note", in.ResultNote}, {"follow_up", in.FollowUp}} {
		p.add(CheckText(f.field, f.v, 10000))
	}
	for _, w := range []struct {
		field string
		t     *time.Time
	}{{"started_at", in.StartedAt}, {"ended_at", in.EndedAt}} {
		if w.t != nil {
			p.add(CheckDate(w.field, *w.t, zone))
		}
	}
	if in.State == OpCompleted && in.WorkDone == "" {
		p.add(Invalid("work_done", "error.required"))
	}
	if (in.State == OpCompleted || in.Result != "") && !slices.Contains(OpResults, in.Result) {
		p.add(Invalid("result", "operation.error.result"))
	}
	return p.err()
}

// CheckState validates a state change's form without the request, for a
// handler whose own parsing already failed, so the form shows every error.
func (s *Store) CheckState(in StateInput) error {
	in.trim()
	return in.validate(s.zone)
}

// SetOperationState moves a request on: work starts (only once
// authorized), then ends completed or abandoned with what was done and the
// result. The change is written into the request's timeline.
func (s *Store) SetOperationState(ctx context.Context, actor Actor, orgID, reqID int64, in StateInput) error {
	in.trim()
	form := in.validate(s.zone)
	// rederiveTx: ending the work may clip cause spans (clipRequestSpans),
	// which re-derives missed notices.
	err := s.rederiveTx(ctx, func(tx *gorm.DB) error {
		r, err := lockRequest(tx, orgID, reqID)
		if err != nil {
			return err
		}
		// Every mistake of the form in one answer: the state's first, then
		// the fields', then those that need the request.
		var p problems
		if !slices.Contains(opTransitions[r.State], in.State) {
			if in.State == OpInProgress && r.State == OpAwaiting {
				p.add(Invalid("state", "operation.error.not_authorized"))
			} else {
				p.add(Invalid("state", "operation.error.transition"))
			}
			p.add(form)
			return p.err()
		}
		p.add(form)
		now := s.now()
		upd := map[string]any{"state": in.State, "updated_at": now}
		if in.Notes != "" {
			upd["notes"] = in.Notes
		}
		switch in.State {
		case OpInProgress:
			start := now
			if in.StartedAt != nil {
				start = in.StartedAt.UTC()
			}
			if start.After(now) {
				p.add(Invalid("started_at", "operation.error.future"))
			}
			// Work cannot have started before anyone authorized it; a start
			// dated earlier would also pull older outages into the window.
			var first Authorization
			if err := tx.Where("request_id = ? AND status = ?", r.ID, AuthAccepted).Order("decided_at").First(&first).Error; err != nil {
				return notFound(err)
			}
			if first.DecidedAt != nil && start.Before(first.DecidedAt.Truncate(time.Minute)) {
				p.add(Invalid("started_at", "operation.error.before_authorization", *first.DecidedAt))
			}
			upd["started_at"], upd["engineer_id"] = start, actor.UserID
		case OpCompleted, OpAbandoned:
			end := now
			if in.EndedAt != nil {
				end = in.EndedAt.UTC()
			}
			if end.After(now) {
				p.add(Invalid("ended_at", "operation.error.future"))
			}
			if r.StartedAt != nil && end.Before(*r.StartedAt) {
				p.add(Invalid("ended_at", "operation.error.window_order"))
			}
			upd["ended_at"], upd["work_done"], upd["result"], upd["result_note"], upd["follow_up"] =
				end, in.WorkDone, in.Result, in.ResultNote, in.FollowUp
			if r.EngineerID == nil {
				upd["engineer_id"] = actor.UserID
			}
		}
		if err := p.err(); err != nil {
			return err
		}
		res := tx.Model(&OperationRequest{}).Where("id = ? AND state = ?", r.ID, r.State).Updates(upd)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return Invalid("state", "operation.error.transition")
		}
		if err := s.hookOutbox(tx, HookOperationState, EventOperationState, orgID, r.ID,
			hookStateChange{From: r.State, To: in.State, At: now}); err != nil {
			return err
		}
		var b auditBatch
		if end, ok := upd["ended_at"].(time.Time); ok {
			if err := s.clipRequestSpans(tx, actor, r, end, &b); err != nil {
				return err
			}
		}
		if err := tx.Create(&OperationMessage{OrgID: orgID, RequestID: r.ID, AuthorID: actor.UserID, AuthorName: actorName(tx, actor),
			Staff: true, Kind: MessageState, Body: in.State, CreatedAt: now}).Error; err != nil {
			return err
		}
		if err := s.writeAudits(tx, &b); err != nil {
			return err
		}
		return s.audit(tx, actor, AuditOperationState, "operation", &r.ID, &orgID, map[string]any{
			"request": r.Number(), "from": r.State, "to": in.State, "result": in.Result})
	})
	return wrapOp("set state of request", reqID, err)
}

// clipRequestSpans cuts the cause spans attributed to request r at end,
// the end of the work as entered when it completes or is abandoned: a span
// applied while the work ran reaches the moment it was applied, and time
// after the work ended is not the operation's, so it goes back to the
// outage's own cause. Each outage whose spans change is audited (the
// spans before and after, queued in b) and its missed notice re-derived.
//
// The caller holds r's row lock, so no span of r is added meanwhile
// (ChangeOutageCause locks the request first). The outages' rows are
// locked next, in id order, as ChangeOutageCause locks one, and only then
// are their spans read: a change committed before the lock, which
// recreates an outage's spans with new IDs, is seen, and one after it
// waits. Then the days of their missed notices, in ascending order.
func (s *Store) clipRequestSpans(tx *gorm.DB, actor Actor, r *OperationRequest, end time.Time, b *auditBatch) error {
	var ids []int64
	if err := tx.Model(&OutageCauseSpan{}).Distinct("outage_id").Where("org_id = ? AND request_id = ? AND end_at > ?", r.OrgID, r.ID, end).
		Order("outage_id").Pluck("outage_id", &ids).Error; err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	var locked []Outage // ascending IDs, chunk after chunk: the lock order
	if err := findIn(tx, ids, &locked, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return forUpdate(q).Where("id IN ?", chunk).Order("id")
	}); err != nil {
		return err
	}
	days := map[string]bool{}
	for _, o := range locked {
		var ps []OutageCauseSpan
		if err := tx.Where("outage_id = ? AND request_id = ? AND end_at > ?", o.ID, r.ID, end).Order("start_at, id").Find(&ps).Error; err != nil {
			return err
		}
		var clipped []map[string]any
		for _, p := range ps {
			q := tx.Where("id = ?", p.ID)
			var res *gorm.DB
			if p.StartAt.Before(end) {
				res = q.Model(&OutageCauseSpan{}).Update("end_at", end)
			} else {
				res = q.Delete(&OutageCauseSpan{})
			}
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected != 1 {
				return fmt.Errorf("models: cut cause span %d of outage %d: %d rows changed", p.ID, o.ID, res.RowsAffected)
			}
			clipped = append(clipped, map[string]any{"span_start": p.StartAt, "previous_end": p.EndAt})
		}
		if len(clipped) == 0 {
			continue
		}
		if err := s.markOutageCorrected(tx, &o); err != nil {
			return err
		}
		_, day, err := s.outageNoticeDay(tx, o.ID)
		if err != nil {
			return err
		}
		if day != "" {
			days[day] = true
		}
		b.add(actor, AuditOutageCause, "outage", &o.ID, &o.OrgID, map[string]any{"device_id": o.DeviceID,
			"check_id": o.CheckID, "request": r.Number(), "clipped_to": end, "spans": clipped})
	}
	for _, day := range slices.Sorted(maps.Keys(days)) {
		if err := s.reevaluateNoticeDay(tx, actor, r.OrgID, day, TriggerCause, b); err != nil {
			return err
		}
	}
	return nil
}

// WithdrawRequest lets the customer take back a request nobody has
// authorized yet: it ends abandoned, with their reason.
func (s *Store) WithdrawRequest(ctx context.Context, actor Actor, orgID, reqID int64, reason string) error {
	reason = strings.TrimSpace(reason)
	if err := CheckLine("reason", reason, 2000); err != nil {
		return wrap(err, "withdraw request")
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		r, err := lockRequest(tx, orgID, reqID)
		if err != nil {
			return err
		}
		if r.State != OpAwaiting {
			return Invalid("state", "operation.error.withdraw_authorized")
		}
		now := s.now()
		if err := tx.Model(&OperationRequest{}).Where("id = ?", r.ID).Updates(map[string]any{"state": OpAbandoned, "ended_at": now,
			"result_note": reason, "updated_at": now}).Error; err != nil {
			return err
		}
		if err := s.hookOutbox(tx, HookOperationState, EventOperationState, orgID, r.ID,
			hookStateChange{From: r.State, To: OpAbandoned, At: now}); err != nil {
			return err
		}
		if err := tx.Create(&OperationMessage{OrgID: orgID, RequestID: r.ID, AuthorID: actor.UserID, AuthorName: actorName(tx, actor),
			Kind: MessageState, Body: OpAbandoned, CreatedAt: now}).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditOperationState, "operation", &r.ID, &orgID, map[string]any{
			"request": r.Number(), "from": r.State, "to": OpAbandoned, "withdrawn": true, "reason": reason})
	})
	return wrapOp("withdraw request", reqID, err)
}

// OperationWindow is the authorized work of a request: from the later of
// its first accepted authorization and the start of work, to the end of
// work, or now while the work runs. Work not started has no window. Only
// outage time inside it may take the operation's cause (clause 7).
func (d *RequestDetail) OperationWindow(now time.Time) (from, to time.Time, ok bool) {
	r := d.Request
	if r.StartedAt == nil {
		return from, to, false
	}
	for _, a := range d.Accepted() {
		if a.DecidedAt != nil && (from.IsZero() || a.DecidedAt.Before(from)) {
			from = *a.DecidedAt
		}
	}
	if from.IsZero() {
		return from, to, false
	}
	if r.StartedAt.After(from) {
		from = *r.StartedAt
	}
	to = now
	if r.EndedAt != nil && r.EndedAt.Before(now) {
		to = *r.EndedAt
	}
	if !to.After(from) {
		return from, to, false
	}
	return from.UTC(), to.UTC(), true
}

// OverlappingOutages lists the outages on the request's devices that
// overlap its authorized work (OperationWindow): candidates for an
// engineer to attribute in part to the customer-authorized operation.
func (s *Store) OverlappingOutages(ctx context.Context, d *RequestDetail) ([]Outage, error) {
	from, to, ok := d.OperationWindow(s.now())
	if !ok || len(d.Devices) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(d.Devices))
	for i, dev := range d.Devices {
		ids[i] = dev.ID
	}
	var out []Outage
	err := findIn(s.db.WithContext(ctx), ids, &out, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Where("org_id = ? AND device_id IN ? AND started_at < ? AND (ended_at IS NULL OR ended_at > ?)",
			d.Request.OrgID, chunk, to, from)
	})
	if err != nil {
		return nil, wrap(err, "overlapping outages")
	}
	// Chunked by device: one order across the chunks.
	slices.SortFunc(out, func(a, b Outage) int {
		if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// CausePlan is what attributing an outage to an operation does: the part
// [Start, End) of the outage inside the authorized work takes the cause
// customer_operation; Before and After are the outage's split without and
// with it. An open outage is measured to Now.
type CausePlan struct {
	Outage        Outage
	Start, End    time.Time
	Before, After []OutageSegment
	Now           time.Time
}

// PlanOperationCause works out, without changing anything, what
// attributing outage outageID to the request's operation would do. An
// outage not overlapping the request's authorized work is ErrNotFound.
func (s *Store) PlanOperationCause(ctx context.Context, d *RequestDetail, outageID int64) (*CausePlan, error) {
	now := s.now()
	outs, err := s.OverlappingOutages(ctx, d)
	if err != nil {
		return nil, err
	}
	from, to, _ := d.OperationWindow(now)
	for _, o := range outs {
		if o.ID != outageID {
			continue
		}
		parts, err := s.OutageCauseSpans(ctx, OrgScope(o.OrgID), o.OrgID, o.ID)
		if err != nil {
			return nil, err
		}
		end := now
		if o.EndedAt != nil && o.EndedAt.After(end) {
			end = *o.EndedAt
		}
		aw, err := agreedWindowsOf(s.db.WithContext(ctx), o.OrgID, o.StartedAt, end.Add(time.Second))
		if err != nil {
			return nil, fmt.Errorf("models: plan operation cause: %w", err)
		}
		p := &CausePlan{Outage: o, Start: from, End: to, Now: now,
			Before: agreedMaintenanceSegments(OutageSegments(o, parts), o.DeviceID, aw, now)}
		if o.StartedAt.After(p.Start) {
			p.Start = o.StartedAt
		}
		if o.EndedAt != nil && o.EndedAt.Before(p.End) {
			p.End = *o.EndedAt
		}
		p.After = agreedMaintenanceSegments(OutageSegments(o, overlay(parts, OutageCauseSpan{StartAt: p.Start, EndAt: p.End,
			Cause: CauseCustomerOperation, RequestID: &d.Request.ID})), o.DeviceID, aw, now)
		return p, nil
	}
	return nil, fmt.Errorf("models: outage %d during request %d: %w", outageID, d.Request.ID, ErrNotFound)
}

// ApplyOperationCause attributes to the request's operation the part of
// outage outageID inside the authorized work, as planned by
// PlanOperationCause at this moment, through ChangeOutageCause: audited,
// and the requester told.
func (s *Store) ApplyOperationCause(ctx context.Context, actor Actor, d *RequestDetail, outageID int64, note string) (*CausePlan, error) {
	p, err := s.PlanOperationCause(ctx, d, outageID)
	if err != nil {
		return nil, err
	}
	st, en := p.Start, p.End
	if _, err := s.ChangeOutageCause(ctx, actor, CauseChange{OutageID: outageID, Cause: CauseCustomerOperation, Note: note,
		Start: &st, End: &en, RequestID: &d.Request.ID}); err != nil {
		return nil, err
	}
	return p, nil
}

// RequestOutage is an outage part of which was attributed to an operation
// request: the outage, every cause span it has, and the request's own.
type RequestOutage struct {
	Outage Outage
	Parts  []OutageCauseSpan // all the outage's cause spans, in time order
	Spans  []OutageCauseSpan // those attributed to the request, in time order
}

// RequestOutages lists the outages of orgID (inside sc) part of which was attributed
// to request reqID, once each (a span of the request cut in two by a later
// one is still one outage) and in time order, with their cause spans: what
// the operation report says about availability, in two queries whatever
// the number of spans.
func (s *Store) RequestOutages(ctx context.Context, sc Scope, orgID, reqID int64) ([]RequestOutage, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "request outages")
	}
	db := s.db.WithContext(ctx)
	mine := db.Model(&OutageCauseSpan{}).Select("outage_id").Where("org_id = ? AND request_id = ?", orgID, reqID)
	var os []Outage
	if err := db.Where("org_id = ? AND id IN (?)", orgID, mine).Order("started_at, id").Find(&os).Error; err != nil {
		return nil, fmt.Errorf("models: outages of request %d: %w", reqID, err)
	}
	var ps []OutageCauseSpan
	if err := db.Where("org_id = ? AND outage_id IN (?)", orgID, mine).Order("start_at, id").Find(&ps).Error; err != nil {
		return nil, fmt.Errorf("models: outages of request %d: %w", reqID, err)
	}
	out := make([]RequestOutage, len(os))
	at := map[int64]*RequestOutage{}
	for i := range os {
		out[i].Outage = os[i]
		at[os[i].ID] = &out[i]
	}
	for _, p := range ps {
		ro := at[p.OutageID]
		ro.Parts = append(ro.Parts, p)
		if p.RequestID != nil && *p.RequestID == reqID {
			ro.Spans = append(ro.Spans, p)
		}
	}
	return out, nil
}

// OverdueFollowUps lists phone authorizations of orgID (0: all) whose signed
// written form has not arrived by its deadline.
func (s *Store) OverdueFollowUps(ctx context.Context, sc Scope, orgID int64) ([]Clock, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "overdue follow ups")
	}
	q := s.overdueFollowUps(s.db.WithContext(ctx).Model(&Clock{}), "sla_clocks.")
	if orgID != 0 {
		q = q.Where("org_id = ?", orgID)
	}
	var cs []Clock
	err := q.Order("deadline_at").Find(&cs).Error
	return cs, wrap(err, "overdue follow ups")
}

// overdueFollowUps narrows q to written follow-up clocks past their
// deadline and not stopped; prefix qualifies the columns in a join.
func (s *Store) overdueFollowUps(q *gorm.DB, prefix string) *gorm.DB {
	return q.Where(prefix+"kind = ? AND "+prefix+"stopped_at IS NULL AND "+prefix+"deadline_at < ?", ClockPhoneFollowUp, s.now())
}

// RequestListClocks returns, for the requests ids that sc sees, each one's
// first-feedback clock and its overdue written follow-ups.
func (s *Store) RequestListClocks(ctx context.Context, sc Scope, ids []int64) (map[int64]*Clock, map[int64][]Clock, error) {
	feedback, overdue := map[int64]*Clock{}, map[int64][]Clock{}
	if len(ids) == 0 {
		return feedback, overdue, nil
	}
	db := s.db.WithContext(ctx)
	var cs []Clock
	if err := findIn(db, ids, &cs, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return sc.apply(q.Where("kind = ? AND ref_id IN ?", ClockOperationFeedback, chunk), "org_id")
	}); err != nil {
		return nil, nil, fmt.Errorf("models: request list clocks: %w", err)
	}
	for i := range cs {
		feedback[cs[i].RefID] = &cs[i]
	}
	for chunk := range chunks(ids) {
		var rows []struct {
			Clock
			RequestID int64
		}
		q := s.overdueFollowUps(db.Table("sla_clocks"), "sla_clocks.").Select("sla_clocks.*, authorizations.request_id AS request_id").
			Joins("JOIN authorizations ON authorizations.id = sla_clocks.ref_id").Where("authorizations.request_id IN ?", chunk)
		if err := sc.apply(q, "sla_clocks.org_id").Scan(&rows).Error; err != nil {
			return nil, nil, fmt.Errorf("models: request list clocks: %w", err)
		}
		for _, r := range rows {
			overdue[r.RequestID] = append(overdue[r.RequestID], r.Clock)
		}
	}
	return feedback, overdue, nil
}

// OnCallOperation is an open request that needs an engineer now: an
// authorization to check, a first-feedback clock running, or a signed form
// overdue after a phone authorization.
type OnCallOperation struct {
	Request  OperationRequest
	OrgName  string
	Feedback *Clock // running first-feedback clock, or nil
	Pending  int    // written authorizations waiting to be checked
	Overdue  int    // phone authorizations whose signed form is overdue
}

// OnCallOperations lists the open requests that sc sees needing
// attention, the most urgent first: running feedback clocks by deadline,
// then the rest.
func (s *Store) OnCallOperations(ctx context.Context, sc Scope) ([]OnCallOperation, error) {
	rs, err := s.ListRequests(ctx, sc, RequestFilter{Open: true, Limit: 500})
	if err != nil {
		return nil, wrap(err, "on call operations")
	}
	// Finished requests too, while a signed form after a phone
	// authorization is overdue: it must still be filed.
	var late []OperationRequest
	db := s.db.WithContext(ctx)
	if err := sc.apply(db, "org_id").Where("state IN ? AND id IN (?)", []string{OpCompleted, OpAbandoned},
		db.Model(&Authorization{}).Select("request_id").Where("id IN (?)",
			s.overdueFollowUps(db.Model(&Clock{}), "").Select("ref_id"))).
		Order("id DESC").Limit(500).Find(&late).Error; err != nil {
		return nil, wrap(err, "on call operations")
	}
	rs = append(rs, late...)
	if len(rs) == 0 {
		return nil, nil
	}
	ids, orgIDs := make([]int64, len(rs)), map[int64]bool{}
	for i, r := range rs {
		ids[i], orgIDs[r.OrgID] = r.ID, true
	}
	feedback, overdue, err := s.RequestListClocks(ctx, sc, ids)
	if err != nil {
		return nil, wrap(err, "on call operations")
	}
	pend := map[int64]int{}
	for chunk := range chunks(ids) {
		var pending []struct {
			RequestID int64
			N         int
		}
		if err := db.Model(&Authorization{}).Select("request_id, COUNT(*) AS n").Where("request_id IN ? AND status = ?", chunk, AuthPending).
			Group("request_id").Scan(&pending).Error; err != nil {
			return nil, wrap(err, "on call operations")
		}
		for _, p := range pending {
			pend[p.RequestID] = p.N
		}
	}
	names, _, err := s.orgAndDeviceNames(ctx, slices.Collect(maps.Keys(orgIDs)), nil)
	if err != nil {
		return nil, wrap(err, "on call operations")
	}
	var out []OnCallOperation
	for _, r := range rs {
		op := OnCallOperation{Request: r, OrgName: names[r.OrgID], Pending: pend[r.ID], Overdue: len(overdue[r.ID])}
		if c := feedback[r.ID]; c != nil && c.StoppedAt == nil {
			op.Feedback = c
		}
		if op.Feedback != nil || op.Pending > 0 || op.Overdue > 0 {
			out = append(out, op)
		}
	}
	slices.SortStableFunc(out, func(a, b OnCallOperation) int {
		switch {
		case a.Feedback != nil && b.Feedback != nil:
			return a.Feedback.DeadlineAt.Compare(b.Feedback.DeadlineAt)
		case a.Feedback != nil:
			return -1
		case b.Feedback != nil:
			return 1
		}
		return 0
	})
	return out, nil
}
