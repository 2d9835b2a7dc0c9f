package models

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// ParseCause returns the cause named s, or a validation error.
func ParseCause(s string) (Cause, error) {
	for _, c := range Causes {
		if string(c) == s {
			return c, nil
		}
	}
	return "", Invalid("cause", "error.cause_invalid")
}

// SetOutageCause classifies a whole outage, a staff action: the outage's
// own cause, which its time outside any cause span keeps.
func (s *Store) SetOutageCause(ctx context.Context, actor Actor, outageID int64, cause Cause, note string) (*Outage, error) {
	return s.ChangeOutageCause(ctx, actor, CauseChange{OutageID: outageID, Cause: cause, Note: note})
}

// CauseChange is a change of what caused an outage. Without a span it sets
// the outage's own cause; with one (Start and End) it gives only that part
// of the outage the cause, as a cause span laid over the others.
type CauseChange struct {
	OutageID   int64
	Cause      Cause
	Note       string
	Start, End *time.Time
	RequestID  *int64 // the operation request the span comes from
}

// EventOutageCauseSpan tells the requester of an operation that part of
// an outage was attributed to it. Its payload is CauseSpanNotice.
const EventOutageCauseSpan = "outage.cause_span"

// CauseSpanNotice is the payload of an EventOutageCauseSpan: the span as
// set, so the email says what was decided even if it changes later.
type CauseSpanNotice struct {
	RequestID int64     `json:"request_id"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Cause     Cause     `json:"cause"`
}

// ChangeOutageCause is the one way an outage's cause or cause spans
// change: the cause decides whether its downtime counts against the
// provider, so who set it, when, why and what it replaced go into the
// audit trail in the same transaction, and whatever depends on an
// outage's cause is re-evaluated from here. A span from an operation
// request tells the request's requester (EventOutageCauseSpan).
func (s *Store) ChangeOutageCause(ctx context.Context, actor Actor, ch CauseChange) (*Outage, error) {
	if _, err := ParseCause(string(ch.Cause)); err != nil {
		return nil, wrap(err, "set outage cause")
	}
	ch.Note = strings.TrimSpace(ch.Note)
	if err := CheckText("note", ch.Note, 500); err != nil {
		return nil, err
	}
	if (ch.Start == nil) != (ch.End == nil) || (ch.Start != nil && !ch.End.After(*ch.Start)) {
		return nil, Invalid("cause", "outages.error.span_empty")
	}
	ch.Start, ch.End = utcPtr(ch.Start), utcPtr(ch.End)
	// customer_operation comes only from an operation's page, as a span
	// of its authorized work window (ApplyOperationCause), never for a
	// whole outage: the time outside the work keeps its own cause.
	if ch.Cause == CauseCustomerOperation && (ch.Start == nil || ch.RequestID == nil) {
		return nil, wrap(Invalid("cause", "outages.error.operation_cause_whole"), "set outage cause")
	}
	var o Outage
	err := s.rederiveTx(ctx, func(tx *gorm.DB) error {
		o = Outage{}
		// A span from a request: the request's row lock comes first, as in
		// SetOperationState (request, then outages), so the work cannot end
		// while the span is written, and the span must lie inside the
		// authorized work as it is now, not as a page read earlier saw it.
		var req *OperationRequest
		if ch.RequestID != nil {
			var r OperationRequest
			if err := forUpdate(tx).First(&r, *ch.RequestID).Error; err != nil {
				return notFound(err)
			}
			req = &r
		}
		// The outage's row lock comes next: two changes of one outage's
		// cause or spans wait for each other, and the later one overlays
		// its span on the spans the earlier one wrote.
		if err := forUpdate(tx).First(&o, ch.OutageID).Error; err != nil {
			return notFound(err)
		}
		if req != nil && req.OrgID != o.OrgID {
			return ErrNotFound // the request must be the outage's organization's
		}
		detail := map[string]any{"device_id": o.DeviceID, "check_id": o.CheckID, "cause": ch.Cause, "note": ch.Note}
		if ch.Start == nil {
			detail["previous"] = o.Cause
			if err := setOwnCause(tx, actor, &o, ch.Cause, ch.Note); err != nil {
				return err
			}
		} else {
			if ch.Start.Before(o.StartedAt) || (o.EndedAt != nil && ch.End.After(*o.EndedAt)) || ch.End.After(s.now()) {
				return Invalid("cause", "outages.error.span_outside")
			}
			spans, err := causeSpansOf(tx, o.OrgID, []int64{o.ID})
			if err != nil {
				return err
			}
			parts := spans[o.ID]
			p := OutageCauseSpan{OutageID: o.ID, OrgID: o.OrgID, StartAt: *ch.Start, EndAt: *ch.End, Cause: ch.Cause,
				Note: ch.Note, SetBy: actor.UserID, RequestID: ch.RequestID, CreatedAt: s.now()}
			if req != nil {
				var accepted []Authorization
				if err := tx.Where("request_id = ? AND status = ?", req.ID, AuthAccepted).Find(&accepted).Error; err != nil {
					return err
				}
				d := RequestDetail{Request: req, Authorizations: accepted}
				from, to, ok := d.OperationWindow(s.now())
				if !ok || ch.Start.Before(from) || ch.End.After(to) {
					return Invalid("cause", "outages.error.span_outside_work")
				}
				p.RequestNo, p.RequestRef = req.Number(), req.Ref
			}
			next := overlay(parts, p)
			if err := tx.Where("outage_id = ?", o.ID).Delete(&OutageCauseSpan{}).Error; err != nil {
				return err
			}
			for i := range next {
				next[i].ID = 0
			}
			if err := tx.Create(&next).Error; err != nil {
				return err
			}
			detail["span_start"], detail["span_end"] = p.StartAt, p.EndAt
			detail["previous"] = segmentCauses(OutageSegments(o, parts), p.StartAt, p.EndAt)
			if ch.RequestID != nil {
				detail["request"] = p.RequestNo
				payload, err := json.Marshal(CauseSpanNotice{RequestID: *ch.RequestID, Start: p.StartAt, End: p.EndAt, Cause: p.Cause})
				if err != nil {
					return err
				}
				if err := s.outbox(tx, EventOutageCauseSpan, o.OrgID, o.ID, string(payload)); err != nil {
					return err
				}
			}
		}
		// The cause decides the force-majeure waiver of a missed notice:
		// every change of cause or cause span re-evaluates it.
		if err := s.markOutageCorrected(tx, &o); err != nil {
			return err
		}
		var b auditBatch
		if err := s.reevaluateOutageNotice(tx, actor, o.ID, TriggerCause, &b); err != nil {
			return err
		}
		if err := s.writeAudits(tx, &b); err != nil {
			return err
		}
		return s.audit(tx, actor, AuditOutageCause, "outage", &o.ID, &o.OrgID, detail)
	})
	if err != nil {
		return nil, fmt.Errorf("models: set cause of outage %d: %w", ch.OutageID, err)
	}
	return &o, nil
}

// checkWholeCause checks a cause and note given to whole outages (one, or
// every outage of an incident) and returns the note trimmed.
// customer_operation is never a whole outage's cause.
func checkWholeCause(cause Cause, note string) (string, error) {
	if _, err := ParseCause(string(cause)); err != nil {
		return "", err
	}
	note = strings.TrimSpace(note)
	if err := CheckText("note", note, 500); err != nil {
		return "", err
	}
	if !cause.WholeOutage() {
		return "", Invalid("cause", "outages.error.operation_cause_whole")
	}
	return note, nil
}

// setOwnCause gives outage o (its row locked by the caller) its own cause:
// the time outside its cause spans has it. The caller re-derives the
// missed notice and audits.
func setOwnCause(tx *gorm.DB, actor Actor, o *Outage, cause Cause, note string) error {
	o.Cause, o.CauseNote, o.CauseSetBy = cause, note, actor.UserID
	return tx.Model(o).Select("cause", "cause_note", "cause_set_by").Updates(o).Error
}

// segmentCauses lists the causes the segments had inside [st, en), for
// the audit trail.
func segmentCauses(segs []OutageSegment, st, en time.Time) []Cause {
	var out []Cause
	for _, g := range segs {
		if g.Start.Before(en) && (g.End == nil || g.End.After(st)) && !slices.Contains(out, g.Cause) {
			out = append(out, g.Cause)
		}
	}
	return out
}

// EvidenceForOutages returns the first perOutage failed probes behind each
// of the given outages of organization orgID, by outage, in one query per
// chunk of outages;
// other organizations' outages yield nothing.
func (s *Store) EvidenceForOutages(ctx context.Context, sc Scope, orgID int64, outageIDs []int64, perOutage int) (map[int64][]OutageProbe, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "evidence for outages")
	}
	out := map[int64][]OutageProbe{}
	if len(outageIDs) == 0 {
		return out, nil
	}
	if perOutage <= 0 || perOutage > maxEvidence {
		perOutage = maxEvidence
	}
	// ROW_NUMBER works the same on SQLite, MySQL 8, MariaDB and TiDB.
	// One query per chunk of outages; an outage's probes are all in its own.
	for chunk := range chunks(outageIDs) {
		numbered := s.db.Model(&OutageProbe{}).
			Select("outage_probes.outage_id, outage_probes.at, outage_probes.reason, "+
				"ROW_NUMBER() OVER (PARTITION BY outage_probes.outage_id ORDER BY outage_probes.at) AS n").
			Joins("JOIN outages ON outages.id = outage_probes.outage_id AND outages.org_id = ?", orgID).
			Where("outage_probes.outage_id IN ?", chunk)
		var ev []OutageProbe
		err := s.db.WithContext(ctx).Table("(?) AS ev", numbered).Select("outage_id, at, reason").
			Where("n <= ?", perOutage).Order("outage_id, at").Scan(&ev).Error
		if err != nil {
			return nil, fmt.Errorf("models: outage evidence: %w", err)
		}
		for _, p := range ev {
			out[p.OutageID] = append(out[p.OutageID], p)
		}
	}
	return out, nil
}
