package models

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Power incidents proposed by the meters (a cabinet whose power meters on
// both feeds read zero): staff confirm one as a power incident, recorded
// through the power incidents' own code with the proposal's cabinet as
// its target, or dismiss it with a reason. Only staff read them: a
// proposal counts for nothing until it is a recorded incident.

// Audit actions of proposals (target "power_proposal").
const (
	AuditProposalConfirmed = "facility.proposal_confirmed"
	AuditProposalDismissed = "facility.proposal_dismissed"
)

// maxProposalReason bounds a dismissal's reason.
const maxProposalReason = 500

// PowerProposalRow is a proposal with its organization's names.
type PowerProposalRow struct {
	PowerProposal
	OrgSlug string
	OrgName string
}

// CabinetKey is the URL key of the proposal's cabinet.
func (r *PowerProposalRow) CabinetKey() string { return CabinetKey(r.OrgSlug, r.Cabinet) }

// proposalRows is the query of proposals with their organizations.
func proposalRows(db *gorm.DB) *gorm.DB {
	return db.Table("power_proposals pp").Joins("JOIN organizations o ON o.id = pp.org_id").
		Select("pp.*, o.slug AS org_slug, o.name AS org_name")
}

func fixProposalTimes(p *PowerProposal) {
	p.StartedAt = p.StartedAt.UTC()
	p.EndedAt, p.DecidedAt = utcPtr(p.EndedAt), utcPtr(p.DecidedAt)
}

// OpenPowerProposals lists the proposals awaiting staff, oldest first:
// staff only (another scope sees none).
func (s *Store) OpenPowerProposals(ctx context.Context, sc Scope) ([]PowerProposalRow, error) {
	if !sc.All() {
		return nil, nil
	}
	var out []PowerProposalRow
	err := proposalRows(s.db.WithContext(ctx)).Where("pp.state = ?", ProposalOpen).
		Order("pp.started_at, pp.id").Scan(&out).Error
	for i := range out {
		fixProposalTimes(&out[i].PowerProposal)
	}
	return out, wrap(err, "open power proposals")
}

// GetPowerProposal is the proposal of reference ref: staff only.
func (s *Store) GetPowerProposal(ctx context.Context, sc Scope, ref string) (*PowerProposalRow, error) {
	if !sc.All() || !ValidRequestRef(ref) {
		return nil, wrap(ErrNotFound, "get power proposal")
	}
	var out []PowerProposalRow
	if err := proposalRows(s.db.WithContext(ctx)).Where("pp.ref = ?", ref).Limit(1).Scan(&out).Error; err != nil {
		return nil, wrap(err, "get power proposal")
	}
	if len(out) == 0 {
		return nil, wrap(ErrNotFound, "get power proposal")
	}
	fixProposalTimes(&out[0].PowerProposal)
	return &out[0], nil
}

// ProposalConfirm is what staff say confirming a proposal: the times
// (prefilled from the proposal), whether mains and UPS were both down,
// the cause, force majeure, a note.
type ProposalConfirm struct {
	StartedAt    time.Time
	EndedAt      *time.Time
	BothDown     bool
	Cause        string
	ForceMajeure bool
	Note         string
}

// lockOpenProposal locks proposal ref, still awaiting staff.
func lockOpenProposal(tx *gorm.DB, ref string) (*PowerProposal, error) {
	var p PowerProposal
	if err := forUpdate(tx).Where("ref = ?", ref).First(&p).Error; err != nil {
		return nil, notFound(err)
	}
	if p.State != ProposalOpen {
		return nil, Invalid("proposal", "facility.error.proposal_decided")
	}
	return &p, nil
}

// proposalInput is the power incident confirming proposal p says.
func proposalInput(p *PowerProposalRow, in ProposalConfirm) PowerInput {
	return PowerInput{StartedAt: in.StartedAt, EndedAt: in.EndedAt, BothDown: in.BothDown, Cause: in.Cause,
		ForceMajeure: in.ForceMajeure, Note: in.Note, Targets: []PowerTargetInput{{OrgID: p.OrgID, Cabinet: p.Cabinet}}}
}

// CheckProposalConfirm checks a confirmation without storing it, for a
// form whose own fields did not read.
func (s *Store) CheckProposalConfirm(ctx context.Context, p *PowerProposalRow, in ProposalConfirm) error {
	return s.CheckPowerIncident(ctx, proposalInput(p, in))
}

// ConfirmPowerProposal records proposal p (found by the caller through
// GetPowerProposal) as a power incident touching its cabinet, through
// the power incidents' rules (power.recorded), and marks it confirmed
// with the incident, in one transaction, audited as
// facility.proposal_confirmed. A proposal decided meanwhile is refused.
func (s *Store) ConfirmPowerProposal(ctx context.Context, actor Actor, p *PowerProposalRow, in ProposalConfirm) (*PowerIncident, error) {
	inc, err := s.recordPower(ctx, actor, proposalInput(p, in), func(tx *gorm.DB, inc *PowerIncident) error {
		row, err := lockOpenProposal(tx, p.Ref)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		if err := tx.Model(row).Updates(map[string]any{"state": ProposalConfirmed, "incident_id": inc.ID,
			"decided_by": actor.UserID, "decided_at": now, "updated_at": now}).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditProposalConfirmed, "power_proposal", &row.ID, &row.OrgID, map[string]any{
			"org": p.OrgSlug, "cabinet": row.Cabinet, "incident": inc.Number(), "started": inc.StartedAt,
			"both_down": inc.BothDown, "force_majeure": inc.ForceMajeure})
	})
	if err != nil {
		return nil, wrap(err, "confirm power proposal")
	}
	return inc, nil
}

// DismissPowerProposal dismisses proposal ref with a reason (required),
// audited as facility.proposal_dismissed.
func (s *Store) DismissPowerProposal(ctx context.Context, actor Actor, ref, reason string) error {
	reason = strings.TrimSpace(reason)
	var p problems
	if reason == "" {
		p.add(Invalid("reason", "error.required"))
	}
	p.add(CheckText("reason", reason, maxProposalReason))
	if err := p.err(); err != nil {
		return wrap(err, "dismiss power proposal")
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		row, err := lockOpenProposal(tx, ref)
		if err != nil {
			return err
		}
		var o Organization
		if err := tx.Select("id", "slug").First(&o, row.OrgID).Error; err != nil {
			return err
		}
		now := s.now().UTC()
		if err := tx.Model(row).Updates(map[string]any{"state": ProposalDismissed, "note": reason,
			"decided_by": actor.UserID, "decided_at": now, "updated_at": now}).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditProposalDismissed, "power_proposal", &row.ID, &row.OrgID, map[string]any{
			"org": o.Slug, "cabinet": row.Cabinet, "started": row.StartedAt, "reason": reason})
	})
	return wrap(err, "dismiss power proposal")
}
