package models

import (
	"context"
	"fmt"
	"sort"
	"time"

	"gorm.io/gorm"
)

// OutageCauseSpan gives part of an outage, [StartAt, EndAt), a cause of its
// own; the rest of the outage keeps the outage's cause. Spans of one
// outage never overlap: a newer span takes its time from older ones.
type OutageCauseSpan struct {
	ID         int64
	OutageID   int64
	OrgID      int64
	StartAt    time.Time
	EndAt      time.Time
	Cause      Cause
	Note       string
	SetBy      *int64
	RequestID  *int64 // the operation request the span comes from, if any
	RequestNo  string // how that request is quoted (OP-2026-0007), kept with the span
	RequestRef string // and its reference, for the link to its page
	CreatedAt  time.Time
}

func (OutageCauseSpan) TableName() string { return "outage_cause_spans" }

// OutageSegment is one stretch of an outage with the cause it has there:
// a cause span's (Part set) or the outage's own (Part nil), or agreed
// maintenance (Window set: the window the organization agreed to, see
// agreedMaintenanceSegments).
type OutageSegment struct {
	Span
	Part   *OutageCauseSpan
	Window *MaintenanceRef
}

// Counts reports whether the segment counts against the provider.
func (g OutageSegment) Counts() bool { return g.Cause.CountsAgainstProvider() }

// Length is the segment's length, an open one measured to now.
func (g OutageSegment) Length(now time.Time) time.Duration {
	end := now
	if g.End != nil {
		end = *g.End
	}
	if end.Before(g.Start) {
		return 0
	}
	return end.Sub(g.Start)
}

// SplitTotals adds up an outage's segments: the time that counts against
// the provider and the time exempt, an open segment measured to now. The
// pages, the operation report and the requester's email all total here.
func SplitTotals(segs []OutageSegment, now time.Time) (counted, exempt time.Duration) {
	for _, g := range segs {
		if g.Counts() {
			counted += g.Length(now)
		} else {
			exempt += g.Length(now)
		}
	}
	return counted, exempt
}

// OutageSegments splits outage o by its cause spans, in time order: the
// time inside a span has the span's cause, the time outside any span the
// outage's own. An open outage's last segment is open.
func OutageSegments(o Outage, parts []OutageCauseSpan) []OutageSegment {
	parts = append([]OutageCauseSpan(nil), parts...)
	sort.Slice(parts, func(i, j int) bool { return parts[i].StartAt.Before(parts[j].StartAt) })
	var out []OutageSegment
	cur := o.StartedAt
	for i := range parts {
		p := &parts[i]
		st, en := p.StartAt, p.EndAt
		if st.Before(cur) {
			st = cur
		}
		if o.EndedAt != nil && en.After(*o.EndedAt) {
			en = *o.EndedAt
		}
		if !en.After(st) {
			continue
		}
		if st.After(cur) {
			e := st
			out = append(out, OutageSegment{Span: Span{Start: cur, End: &e, Cause: o.Cause, OutageID: o.ID}})
		}
		e := en
		out = append(out, OutageSegment{Span: Span{Start: st, End: &e, Cause: p.Cause, OutageID: o.ID}, Part: p})
		cur = en
	}
	if o.EndedAt == nil || o.EndedAt.After(cur) {
		out = append(out, OutageSegment{Span: Span{Start: cur, End: o.EndedAt, Cause: o.Cause, OutageID: o.ID}})
	}
	return out
}

// SplitOutage is the outage as spans for ComputeAvailability.
func SplitOutage(o Outage, parts []OutageCauseSpan) []Span {
	segs := OutageSegments(o, parts)
	out := make([]Span, len(segs))
	for i, g := range segs {
		out[i] = g.Span
	}
	return out
}

// causeSpansOf loads the cause spans of the given outages of orgID, by outage.
func causeSpansOf(db *gorm.DB, orgID int64, outageIDs []int64) (map[int64][]OutageCauseSpan, error) {
	out := map[int64][]OutageCauseSpan{}
	// An outage's spans are all in its own chunk, so each keeps its order.
	var ps []OutageCauseSpan
	if err := findIn(db, outageIDs, &ps, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Where("org_id = ? AND outage_id IN ?", orgID, chunk).Order("start_at, id")
	}); err != nil {
		return nil, err
	}
	for _, p := range ps {
		out[p.OutageID] = append(out[p.OutageID], p)
	}
	return out, nil
}

// CauseSpansOf lists the cause spans of the given outages of orgID, by
// outage, each in time order; other organizations' outages yield nothing.
func (s *Store) CauseSpansOf(ctx context.Context, sc Scope, orgID int64, outageIDs []int64) (map[int64][]OutageCauseSpan, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "cause spans of")
	}
	m, err := causeSpansOf(s.db.WithContext(ctx), orgID, outageIDs)
	if err != nil {
		return nil, fmt.Errorf("models: cause spans of org %d: %w", orgID, err)
	}
	return m, nil
}

// OutageCauseSpans lists the cause spans of outage outageID of orgID, in
// time order.
func (s *Store) OutageCauseSpans(ctx context.Context, sc Scope, orgID, outageID int64) ([]OutageCauseSpan, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "outage cause spans")
	}
	m, err := causeSpansOf(s.db.WithContext(ctx), orgID, []int64{outageID})
	if err != nil {
		return nil, fmt.Errorf("models: cause spans of outage %d: %w", outageID, err)
	}
	return m[outageID], nil
}

// overlay lays span p over an outage's spans: the time p covers is taken
// from the others (a span inside p goes, one reaching into it is trimmed,
// one around it is cut in two). The result is in time order.
func overlay(parts []OutageCauseSpan, p OutageCauseSpan) []OutageCauseSpan {
	var out []OutageCauseSpan
	for _, q := range parts {
		if !q.StartAt.Before(p.EndAt) || !q.EndAt.After(p.StartAt) {
			out = append(out, q)
			continue
		}
		if q.StartAt.Before(p.StartAt) {
			head := q
			head.EndAt = p.StartAt
			out = append(out, head)
		}
		if q.EndAt.After(p.EndAt) {
			tail := q
			tail.StartAt = p.EndAt
			out = append(out, tail)
		}
	}
	out = append(out, p)
	sort.Slice(out, func(i, j int) bool { return out[i].StartAt.Before(out[j].StartAt) })
	return out
}
