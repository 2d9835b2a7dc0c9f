package models

import (
	"context"
	"fmt"
	"strings"

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

// FindOutageForStaff returns any outage, for staff.
func (s *Store) FindOutageForStaff(ctx context.Context, id int64) (*Outage, error) {
	var o Outage
	if err := s.db.WithContext(ctx).First(&o, id).Error; err != nil {
		return nil, notFound(err)
	}
	return &o, nil
}

// SetOutageCause classifies an outage, a staff action: the cause decides
// whether its downtime counts against the provider, so who set it, when
// and why is kept in the audit trail with the cause it replaced.
func (s *Store) SetOutageCause(ctx context.Context, actor Actor, outageID int64, cause Cause, note string) (*Outage, error) {
	if _, err := ParseCause(string(cause)); err != nil {
		return nil, err
	}
	note = strings.TrimSpace(note)
	if err := CheckText("note", note, 500); err != nil {
		return nil, err
	}
	var o Outage
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.First(&o, outageID).Error; err != nil {
			return notFound(err)
		}
		before := o.Cause
		o.Cause, o.CauseNote, o.CauseSetBy = cause, note, actor.UserID
		if err := tx.Model(&o).Select("cause", "cause_note", "cause_set_by").Updates(&o).Error; err != nil {
			return err
		}
		// The cause decides the force-majeure waiver of a missed notice.
		if err := s.reevaluateOutageNotice(tx, actor, o.ID, TriggerCause); err != nil {
			return err
		}
		return s.audit(tx, actor, AuditOutageCause, "outage", &o.ID, &o.OrgID, map[string]any{
			"device_id": o.DeviceID, "check_id": o.CheckID, "cause": cause, "previous": before, "note": note})
	})
	if err != nil {
		return nil, fmt.Errorf("models: set cause of outage %d: %w", outageID, err)
	}
	return &o, nil
}

// EvidenceForOutages returns the first perOutage failed probes behind each
// of the given outages of organization orgID, by outage, in one query;
// other organizations' outages yield nothing.
func (s *Store) EvidenceForOutages(ctx context.Context, orgID int64, outageIDs []int64, perOutage int) (map[int64][]OutageProbe, error) {
	out := map[int64][]OutageProbe{}
	if len(outageIDs) == 0 {
		return out, nil
	}
	if perOutage <= 0 || perOutage > maxEvidence {
		perOutage = maxEvidence
	}
	// ROW_NUMBER works the same on SQLite, MySQL 8, MariaDB and TiDB.
	numbered := s.db.Model(&OutageProbe{}).
		Select("outage_probes.outage_id, outage_probes.at, outage_probes.reason, "+
			"ROW_NUMBER() OVER (PARTITION BY outage_probes.outage_id ORDER BY outage_probes.at) AS n").
		Joins("JOIN outages ON outages.id = outage_probes.outage_id AND outages.org_id = ?", orgID).
		Where("outage_probes.outage_id IN ?", outageIDs)
	var ev []OutageProbe
	err := s.db.WithContext(ctx).Table("(?) AS ev", numbered).Select("outage_id, at, reason").
		Where("n <= ?", perOutage).Order("outage_id, at").Scan(&ev).Error
	if err != nil {
		return nil, fmt.Errorf("models: outage evidence: %w", err)
	}
	for _, p := range ev {
		out[p.OutageID] = append(out[p.OutageID], p)
	}
	return out, nil
}
