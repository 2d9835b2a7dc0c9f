package models

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Incident is a provider-wide failure: outages of many organizations that
// started within the notice window of one another (an upstream link, a
// core switch, the power). Staff name it, set one cause for all its
// outages, post updates to every affected customer and resolve it. At most
// one incident is open at a time (OpenKey's unique index).
type Incident struct {
	ID         int64
	Title      string
	State      string
	OpenKey    *string
	StartedAt  time.Time // the earliest start of its outages
	DetectedAt time.Time
	ResolvedAt *time.Time
	ResolvedBy *int64
	Cause      Cause
	CauseNote  string
	CauseSetBy *int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

func (Incident) TableName() string { return "incidents" }

// Incident states.
const (
	IncidentOpen     = "open"
	IncidentResolved = "resolved"
)

// incidentOpenKey is OpenKey of the one open incident.
const incidentOpenKey = "open"

// IncidentOutage puts an outage in an incident. An outage is in at most
// one (outage_id is the key); its own row is never changed to join, so
// the prober's writes and the incident's never touch the same row.
type IncidentOutage struct {
	OutageID   int64 `gorm:"primaryKey;autoIncrement:false"`
	IncidentID int64
	OrgID      int64
	DeviceID   int64
}

func (IncidentOutage) TableName() string { return "incident_outages" }

// IncidentUpdate is a message staff post about an incident: it goes to
// every affected organization's authorized contacts and shows on their
// home page.
type IncidentUpdate struct {
	ID         int64
	IncidentID int64
	Body       string
	Locale     string // the writer's language
	ByUserID   *int64
	ByName     string
	CreatedAt  time.Time
}

func (IncidentUpdate) TableName() string { return "incident_updates" }

// EventIncidentUpdate is an update of an incident for one organization:
// OrgID the organization, RefID the update.
const EventIncidentUpdate = "incident.update"

// Service types an organization may have contracted, in the order the
// incident's phone list calls them (organizations.service_type is derived
// from the organization's active contracts: deriveServiceType).
const (
	ServiceFullCabinet = "full_cabinet_rental"
	ServiceColocation  = "colocation"
	ServiceServer      = "whole_server_rental"
)

// ServiceTypes lists the service types in calling order.
var ServiceTypes = []string{ServiceFullCabinet, ServiceColocation, ServiceServer}

// serviceRank orders a service type for the phone list: unset last.
func serviceRank(st *string) int {
	if st != nil {
		if i := slices.Index(ServiceTypes, *st); i >= 0 {
			return i
		}
	}
	return len(ServiceTypes)
}

// IncidentRules decide when outages make an incident. The zero value of
// each field means its default.
type IncidentRules struct {
	// Window: outages whose starts lie within it of one another are one
	// burst. Default 60 s (PORTAL_NOTICE_WINDOW).
	Window time.Duration
	// DevicesPercent: a burst reaching this share of the monitored devices
	// (and at least IncidentMinDevices devices of two organizations) opens
	// an incident. Default 20.
	DevicesPercent int
	// Orgs: a burst reaching this many organizations opens one. Default 50.
	Orgs int
}

// Defaults of IncidentRules, and the least a burst must hold for the
// devices rule (so that two failures in a small fleet are no incident).
const (
	DefaultIncidentWindow  = 60 * time.Second
	DefaultIncidentPercent = 20
	DefaultIncidentOrgs    = 50
	IncidentMinDevices     = 10
	// IncidentLookback is how far back detection looks for a burst: after
	// the emergency notice's 15 minutes, an incident no longer helps.
	IncidentLookback = EmergencyDeadline
)

func (r IncidentRules) withDefaults() IncidentRules {
	if r.Window <= 0 {
		r.Window = DefaultIncidentWindow
	}
	if r.DevicesPercent <= 0 {
		r.DevicesPercent = DefaultIncidentPercent
	}
	if r.Orgs <= 0 {
		r.Orgs = DefaultIncidentOrgs
	}
	return r
}

// meets reports whether a burst of orgs organizations and devices
// devices out of monitored is an incident (monitored 0: not counted, as
// when the burst's devices are too few for the devices rule).
func (r IncidentRules) meets(orgs, devices int, monitored int64) bool {
	if orgs >= r.Orgs {
		return true
	}
	return orgs >= 2 && devices >= IncidentMinDevices && monitored > 0 && int64(devices)*100 >= int64(r.DevicesPercent)*monitored
}

type burstRow struct {
	ID        int64
	OrgID     int64
	DeviceID  int64
	StartedAt time.Time
}

// DetectIncident runs one round of incident detection (the dispatcher's
// pass calls it): while an incident is open, the outages in no incident
// that start within the window of its latest member's start join it
// (joinIncident); otherwise, when the
// outages that started in the last IncidentLookback and are in no
// incident hold a burst that meets the rules, an incident opens with
// them. It returns the open incident (nil when none) and whether this
// call opened it. Several instances may run it at once: the open
// incident is unique and an outage joins once.
func (s *Store) DetectIncident(ctx context.Context, rules IncidentRules) (*Incident, bool, error) {
	rules = rules.withDefaults()
	db := s.db.WithContext(ctx)
	inc, err := s.openIncident(db)
	if err != nil {
		return nil, false, wrap(err, "detect incident")
	}
	if inc != nil {
		open, err := s.joinIncident(ctx, inc, rules.Window)
		if err != nil || !open {
			return nil, false, wrap(err, "detect incident")
		}
		return inc, false, nil
	}
	now := s.now()
	since := now.Add(-IncidentLookback)
	unjoined := func(q *gorm.DB) *gorm.DB {
		return q.Where("outages.started_at >= ? AND NOT EXISTS (SELECT 1 FROM incident_outages x WHERE x.outage_id = outages.id)", since)
	}
	var agg struct{ Orgs, Devices int }
	if err := unjoined(db.Model(&Outage{})).Select("COUNT(DISTINCT org_id) AS orgs, COUNT(DISTINCT device_id) AS devices").
		Scan(&agg).Error; err != nil {
		return nil, false, wrap(err, "detect incident")
	}
	if agg.Orgs < 2 {
		return nil, false, nil
	}
	var monitored int64
	if agg.Orgs < rules.Orgs && agg.Devices >= IncidentMinDevices {
		if monitored, err = s.monitoredDevices(db); err != nil {
			return nil, false, wrap(err, "detect incident")
		}
	}
	if !rules.meets(agg.Orgs, agg.Devices, monitored) {
		return nil, false, nil
	}
	// The totals of the last minutes meet the rules: look for a window
	// that does, earliest first.
	var rows []burstRow
	if err := unjoined(db.Model(&Outage{})).Select("id, org_id, device_id, started_at").Order("started_at, id").
		Scan(&rows).Error; err != nil {
		return nil, false, wrap(err, "detect incident")
	}
	start, ok := findBurst(rows, rules, monitored)
	if !ok {
		return nil, false, nil
	}
	opened := false
	err = s.tx(ctx, func(tx *gorm.DB) error {
		opened = false
		key := incidentOpenKey
		inc = &Incident{State: IncidentOpen, OpenKey: &key, StartedAt: start, DetectedAt: now, Cause: CauseUnknown,
			CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(inc).Error; err != nil {
			if errors.Is(conflict(err), ErrConflict) {
				inc = nil // another instance opened one first: it joins them
				return nil
			}
			return err
		}
		opened = true
		return s.audit(tx, SystemActor("incident detection"), AuditIncidentOpened, "incident", &inc.ID, nil,
			map[string]any{"started_at": start, "organizations": agg.Orgs, "devices": agg.Devices})
	})
	if err != nil {
		return nil, false, wrap(err, "open incident")
	}
	if inc == nil {
		if inc, err = s.openIncident(db); err != nil || inc == nil {
			return nil, false, wrap(err, "detect incident")
		}
	}
	open, err := s.joinIncident(ctx, inc, rules.Window)
	if err != nil || !open {
		return nil, false, wrap(err, "detect incident")
	}
	return inc, opened, nil
}

// findBurst finds the earliest window of rules.Window (rows in start
// order) whose outages meet the rules, and returns its first start.
func findBurst(rows []burstRow, rules IncidentRules, monitored int64) (time.Time, bool) {
	orgs, devs := map[int64]int{}, map[int64]int{}
	j := 0
	for i := range rows {
		for j < len(rows) && !rows[j].StartedAt.After(rows[i].StartedAt.Add(rules.Window)) {
			orgs[rows[j].OrgID]++
			devs[rows[j].DeviceID]++
			j++
		}
		if rules.meets(len(orgs), len(devs), monitored) {
			return rows[i].StartedAt, true
		}
		drop := func(m map[int64]int, k int64) {
			if m[k]--; m[k] == 0 {
				delete(m, k)
			}
		}
		drop(orgs, rows[i].OrgID)
		drop(devs, rows[i].DeviceID)
	}
	return time.Time{}, false
}

// monitoredMemo keeps the count of monitored devices for detection.
type monitoredMemo struct {
	mu sync.Mutex
	at time.Time
	n  int64
}

// monitoredMemoFor is how long detection reuses the count of monitored
// devices: a minute of checks added or disabled moves a percentage little.
const monitoredMemoFor = time.Minute

// monitoredDevices is the number of devices with an enabled check, read
// at most once a minute (detection asks every pass while a burst lasts).
func (s *Store) monitoredDevices(db *gorm.DB) (int64, error) {
	m := s.monitored
	m.mu.Lock()
	defer m.mu.Unlock()
	now := s.now()
	if !m.at.IsZero() && now.Sub(m.at) < monitoredMemoFor && !now.Before(m.at) {
		return m.n, nil
	}
	var n int64
	if err := db.Model(&Check{}).Where("enabled = ?", true).Distinct("device_id").Count(&n).Error; err != nil {
		return 0, err
	}
	m.at, m.n = now, n
	return n, nil
}

func (s *Store) openIncident(db *gorm.DB) (*Incident, error) {
	var inc Incident
	err := db.Where("open_key = ?", incidentOpenKey).Take(&inc).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &inc, nil
}

// joinIncident puts into inc the outages in no incident that start
// within window of its latest member's start (from its own start while it
// has none), and again from the new latest until none is left: a rolling
// burst, so that an incident left open does not take in every later
// outage of any organization, and the scan stays bounded by the burst.
// The candidates are read without locks (the prober keeps writing
// outages), then inserted 200 a statement in a transaction that holds the
// incident's row and finds it still open (ResolveIncident locks it too);
// an outage another instance put in first is skipped. It reports whether
// inc was still open.
func (s *Store) joinIncident(ctx context.Context, inc *Incident, window time.Duration) (bool, error) {
	db := s.db.WithContext(ctx)
	var starts []time.Time
	if err := db.Table("incident_outages x").Joins("JOIN outages o ON o.id = x.outage_id").Where("x.incident_id = ?", inc.ID).
		Order("o.started_at DESC").Limit(1).Pluck("o.started_at", &starts).Error; err != nil {
		return false, err
	}
	latest := inc.StartedAt
	if len(starts) == 1 && starts[0].After(latest) {
		latest = starts[0]
	}
	for {
		from := latest.Add(-window)
		if from.Before(inc.StartedAt) {
			from = inc.StartedAt
		}
		var rows []burstRow
		if err := db.Model(&Outage{}).Select("id, org_id, device_id, started_at").
			Where("outages.started_at >= ? AND outages.started_at <= ? AND NOT EXISTS (SELECT 1 FROM incident_outages x WHERE x.outage_id = outages.id)",
				from, latest.Add(window)).Order("id").Scan(&rows).Error; err != nil {
			return false, err
		}
		if len(rows) == 0 {
			return true, nil
		}
		joins := make([]IncidentOutage, len(rows))
		next := latest
		for i, r := range rows {
			joins[i] = IncidentOutage{OutageID: r.ID, IncidentID: inc.ID, OrgID: r.OrgID, DeviceID: r.DeviceID}
			if r.StartedAt.After(next) {
				next = r.StartedAt
			}
		}
		open := false
		if err := s.tx(ctx, func(tx *gorm.DB) error {
			var cur Incident
			if err := forUpdate(tx).Select("id", "state").First(&cur, inc.ID).Error; err != nil {
				return notFound(err)
			}
			if open = cur.State == IncidentOpen; !open {
				return nil
			}
			for chunk := range chunksOf(joins, 200) {
				if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&chunk).Error; err != nil {
					return err
				}
			}
			return nil
		}); err != nil || !open {
			return false, err
		}
		if !next.After(latest) {
			return true, nil
		}
		latest = next
	}
}

// chunksOf yields xs n at a time.
func chunksOf[T any](xs []T, n int) func(func([]T) bool) {
	return func(yield func([]T) bool) {
		for len(xs) > 0 {
			k := min(n, len(xs))
			if !yield(xs[:k]) {
				return
			}
			xs = xs[k:]
		}
	}
}

// GetIncident returns an incident. Incidents span organizations: only
// the all-organizations scope (staff) reads them.
func (s *Store) GetIncident(ctx context.Context, sc Scope, id int64) (*Incident, error) {
	if !sc.All() {
		return nil, wrap(ErrNotFound, "get incident")
	}
	var inc Incident
	if err := s.db.WithContext(ctx).First(&inc, id).Error; err != nil {
		return nil, wrap(notFound(err), "get incident")
	}
	return &inc, nil
}

// IncidentSummary is an incident with its counts.
type IncidentSummary struct {
	Incident
	Orgs, Devices, Outages, Open int
}

// ListIncidents lists the newest incidents with their counts.
func (s *Store) ListIncidents(ctx context.Context, sc Scope, limit int) ([]IncidentSummary, error) {
	if !sc.All() {
		return nil, nil
	}
	var incs []Incident
	if err := s.db.WithContext(ctx).Order("id DESC").Limit(limit).Find(&incs).Error; err != nil {
		return nil, wrap(err, "list incidents")
	}
	out := make([]IncidentSummary, len(incs))
	ids := make([]int64, len(incs))
	for i, inc := range incs {
		out[i].Incident, ids[i] = inc, inc.ID
	}
	var counts []incidentCount
	if err := findIn(s.db.WithContext(ctx), ids, &counts, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return incidentCounts(q).Where("x.incident_id IN ?", chunk).Group("x.incident_id")
	}); err != nil {
		return nil, wrap(err, "list incidents")
	}
	for _, c := range counts {
		for i := range out {
			if out[i].ID == c.IncidentID {
				out[i].Orgs, out[i].Devices, out[i].Outages, out[i].Open = c.Orgs, c.Devices, c.Outages, c.Open
			}
		}
	}
	return out, nil
}

type incidentCount struct {
	IncidentID                   int64
	Orgs, Devices, Outages, Open int
}

func incidentCounts(db *gorm.DB) *gorm.DB {
	return db.Table("incident_outages x").Joins("JOIN outages o ON o.id = x.outage_id").
		Select("x.incident_id, COUNT(DISTINCT x.org_id) AS orgs, COUNT(DISTINCT x.device_id) AS devices, COUNT(*) AS outages, " +
			"COALESCE(SUM(CASE WHEN o.ended_at IS NULL THEN 1 ELSE 0 END), 0) AS open")
}

// IncidentOrg is one affected organization of an incident.
type IncidentOrg struct {
	OrgID       int64
	Name        string
	ServiceType *string
	Devices     int
	Outages     int
	Open        int
	// Deadline is the earliest deadline of its running emergency clocks
	// (nil when none runs).
	Deadline *time.Time
}

// IncidentDetail is what the incident page shows.
type IncidentDetail struct {
	Incident IncidentSummary
	Orgs     []IncidentOrg // in calling order: service, then the clock
	Updates  []IncidentUpdate
	Phones   []IncidentPhone
}

// IncidentPhone is one line of the engineer's phone list: an affected
// organization's contact who may authorize.
type IncidentPhone struct {
	Org     IncidentOrg
	Contact Contact
}

// GetIncidentDetail reads an incident's page: counts, organizations in
// calling order, updates newest first and the phone list.
func (s *Store) GetIncidentDetail(ctx context.Context, sc Scope, id int64) (*IncidentDetail, error) {
	inc, err := s.GetIncident(ctx, sc, id)
	if err != nil {
		return nil, err
	}
	db := s.db.WithContext(ctx)
	d := &IncidentDetail{Incident: IncidentSummary{Incident: *inc}}
	var c incidentCount
	if err := incidentCounts(db).Where("x.incident_id = ?", id).Group("x.incident_id").Scan(&c).Error; err != nil {
		return nil, wrap(err, "incident detail")
	}
	d.Incident.Orgs, d.Incident.Devices, d.Incident.Outages, d.Incident.Open = c.Orgs, c.Devices, c.Outages, c.Open
	if err := db.Table("incident_outages x").Joins("JOIN outages o ON o.id = x.outage_id").
		Joins("JOIN organizations g ON g.id = x.org_id").
		Select("x.org_id, g.name, g.service_type, COUNT(DISTINCT x.device_id) AS devices, COUNT(*) AS outages, "+
			"COALESCE(SUM(CASE WHEN o.ended_at IS NULL THEN 1 ELSE 0 END), 0) AS open").
		Where("x.incident_id = ?", id).Group("x.org_id, g.name, g.service_type").Scan(&d.Orgs).Error; err != nil {
		return nil, wrap(err, "incident detail")
	}
	// The running clocks' deadlines, one row per running clock (only the
	// first minutes of an incident have any).
	var running []struct {
		OrgID      int64
		DeadlineAt time.Time
	}
	if err := db.Table("incident_outages x").Joins("JOIN sla_clocks c ON c.kind = ? AND c.ref_id = x.outage_id", ClockEmergencyNotice).
		Select("x.org_id, c.deadline_at").Where("x.incident_id = ? AND c.outcome = ?", id, ClockRunning).Scan(&running).Error; err != nil {
		return nil, wrap(err, "incident detail")
	}
	earliest := map[int64]time.Time{}
	for _, r := range running {
		if e, ok := earliest[r.OrgID]; !ok || r.DeadlineAt.Before(e) {
			earliest[r.OrgID] = r.DeadlineAt.UTC()
		}
	}
	for i := range d.Orgs {
		if e, ok := earliest[d.Orgs[i].OrgID]; ok {
			d.Orgs[i].Deadline = &e
		}
	}
	sortCallOrder(d.Orgs)
	if err := db.Where("incident_id = ?", id).Order("id DESC").Find(&d.Updates).Error; err != nil {
		return nil, wrap(err, "incident detail")
	}
	var contacts []Contact
	if err := db.Where("may_authorize = ? AND org_id IN (SELECT org_id FROM incident_outages WHERE incident_id = ?)", true, id).
		Order("org_id, priority, id").Find(&contacts).Error; err != nil {
		return nil, wrap(err, "incident detail")
	}
	byOrg := map[int64][]Contact{}
	for _, c := range contacts {
		byOrg[c.OrgID] = append(byOrg[c.OrgID], c)
	}
	for _, o := range d.Orgs {
		for _, c := range byOrg[o.OrgID] {
			d.Phones = append(d.Phones, IncidentPhone{Org: o, Contact: c})
		}
		if len(byOrg[o.OrgID]) == 0 {
			d.Phones = append(d.Phones, IncidentPhone{Org: o}) // nobody to call: shown so
		}
	}
	return d, nil
}

// sortCallOrder orders organizations for calling: by contracted service
// (full cabinet, colocation, whole server, unset), then by the time their
// earliest running clock has left (none last), then by name.
func sortCallOrder(orgs []IncidentOrg) {
	sort.SliceStable(orgs, func(i, j int) bool {
		a, b := orgs[i], orgs[j]
		if ra, rb := serviceRank(a.ServiceType), serviceRank(b.ServiceType); ra != rb {
			return ra < rb
		}
		switch {
		case a.Deadline != nil && b.Deadline != nil && !a.Deadline.Equal(*b.Deadline):
			return a.Deadline.Before(*b.Deadline)
		case (a.Deadline == nil) != (b.Deadline == nil):
			return a.Deadline != nil
		}
		return a.Name < b.Name
	})
}

// RenameIncident names an incident, a staff action.
func (s *Store) RenameIncident(ctx context.Context, actor Actor, id int64, title string) error {
	title = strings.TrimSpace(title)
	if err := CheckLine("title", title, 200); err != nil {
		return err
	}
	return wrap(s.tx(ctx, func(tx *gorm.DB) error {
		var inc Incident
		if err := forUpdate(tx).First(&inc, id).Error; err != nil {
			return notFound(err)
		}
		if err := tx.Model(&inc).Updates(map[string]any{"title": title, "updated_at": s.now()}).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditIncidentRenamed, "incident", &inc.ID, nil, map[string]any{"title": title, "previous": inc.Title})
	}), "rename incident")
}

// ResolveIncident ends an incident: no outage joins it any more, and a
// new burst may open another. Its updates stay on the customers' home
// pages for IncidentBannerAfter.
func (s *Store) ResolveIncident(ctx context.Context, actor Actor, id int64) error {
	return wrap(s.tx(ctx, func(tx *gorm.DB) error {
		var inc Incident
		if err := forUpdate(tx).First(&inc, id).Error; err != nil {
			return notFound(err)
		}
		if inc.State != IncidentOpen {
			return Invalid("state", "incidents.error.resolved")
		}
		now := s.now()
		if err := tx.Model(&inc).Updates(map[string]any{"state": IncidentResolved, "open_key": nil, "resolved_at": now,
			"resolved_by": actor.UserID, "updated_at": now}).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditIncidentResolved, "incident", &inc.ID, nil, map[string]any{"title": inc.Title})
	}), "resolve incident")
}

// incidentCauseChunk is how many outages one transaction of
// SetIncidentCause changes: their rows stay locked until it commits. A
// variable so that a test can lower it (SetIncidentCauseChunk).
var incidentCauseChunk = 500

// SetIncidentCause sets one cause for every outage of an incident, each
// exactly as SetOutageCause would (the outage's own cause; its cause
// spans stay; its missed notice re-derived, a force-majeure cause waiving
// it). The outages go 500 to a transaction, locked in ascending ID as a
// single change locks one; each transaction writes its own
// incident.cause_set record naming its outages and their previous
// causes, and the last one also the incident's own cause. Run again, it
// sets the same cause again, so an interrupted run is finished by
// repeating it, and every outage it changed is named by a record.
func (s *Store) SetIncidentCause(ctx context.Context, actor Actor, id int64, cause Cause, note string) (int, error) {
	note, err := checkWholeCause(cause, note)
	if err != nil {
		return 0, wrap(err, "set incident cause")
	}
	var ids []int64
	if err := s.db.WithContext(ctx).Model(&IncidentOutage{}).Where("incident_id = ?", id).Order("outage_id").
		Pluck("outage_id", &ids).Error; err != nil {
		return 0, wrap(err, "set incident cause")
	}
	parts := [][]int64{}
	for c := range chunksOf(ids, incidentCauseChunk) {
		parts = append(parts, c)
	}
	if len(parts) == 0 {
		parts = append(parts, nil)
	}
	for i, part := range parts {
		last := i == len(parts)-1
		err := s.rederiveTx(ctx, func(tx *gorm.DB) error {
			var inc Incident
			q := tx
			if last {
				q = forUpdate(tx)
			}
			if err := q.First(&inc, id).Error; err != nil {
				return notFound(err)
			}
			prev := map[string]Cause{}
			var b auditBatch
			if err := s.setCauseOfOutages(tx, actor, part, cause, note, prev, &b); err != nil {
				return err
			}
			if err := s.writeAudits(tx, &b); err != nil {
				return err
			}
			detail := map[string]any{"cause": cause, "note": note, "outages": len(part), "previous": prev,
				"part": i + 1, "parts": len(parts)}
			if last {
				if err := tx.Model(&inc).Updates(map[string]any{"cause": cause, "cause_note": note, "cause_set_by": actor.UserID,
					"updated_at": s.now()}).Error; err != nil {
					return err
				}
				detail["previous_cause"], detail["total"] = inc.Cause, len(ids)
			}
			return s.audit(tx, actor, AuditIncidentCause, "incident", &inc.ID, nil, detail)
		})
		if err != nil {
			return 0, fmt.Errorf("models: set cause of incident %d: %w", id, err)
		}
	}
	return len(ids), nil
}

// setCauseOfOutages gives the outages ids (ascending) their own cause
// as ChangeOutageCause does for one: rows locked in ID order, then the
// missed notices' days re-derived in ascending order (by day, then
// organization). prev records each outage's replaced cause by its ID.
func (s *Store) setCauseOfOutages(tx *gorm.DB, actor Actor, ids []int64, cause Cause, note string, prev map[string]Cause, b *auditBatch) error {
	if len(ids) == 0 {
		return nil
	}
	var locked []Outage
	if err := findIn(tx, ids, &locked, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return forUpdate(q).Where("id IN ?", chunk).Order("id")
	}); err != nil {
		return err
	}
	type orgDay struct {
		day string
		org int64
	}
	days := map[orgDay]bool{}
	touched := map[int64][2]time.Time{}
	for i := range locked {
		o := &locked[i]
		prev[strconv.FormatInt(o.ID, 10)] = o.Cause
		if err := setOwnCause(tx, actor, o, cause, note); err != nil {
			return err
		}
		// The closed months each organization's outages touch are marked
		// once, after the loop, over the span of all of them.
		end := s.now()
		if o.EndedAt != nil {
			end = *o.EndedAt
		}
		r, ok := touched[o.OrgID]
		if !ok || o.StartedAt.Before(r[0]) {
			r[0] = o.StartedAt
		}
		if !ok || end.After(r[1]) {
			r[1] = end
		}
		touched[o.OrgID] = r
		org, day, err := s.outageNoticeDay(tx, o.ID)
		if err != nil {
			return err
		}
		if day != "" {
			days[orgDay{day, org}] = true
		}
	}
	for _, org := range slices.Sorted(maps.Keys(touched)) {
		if err := s.markCorrected(tx, org, touched[org][0], touched[org][1]); err != nil {
			return err
		}
	}
	keys := slices.SortedFunc(maps.Keys(days), func(a, b orgDay) int {
		if c := strings.Compare(a.day, b.day); c != 0 {
			return c
		}
		return int(a.org - b.org)
	})
	for _, k := range keys {
		if err := s.reevaluateNoticeDay(tx, actor, k.org, k.day, TriggerCause, b); err != nil {
			return err
		}
	}
	return nil
}

// PostIncidentUpdate stores an update and queues it for every affected
// organization (one outbox event each); it shows on their home pages.
func (s *Store) PostIncidentUpdate(ctx context.Context, actor Actor, id int64, body, locale string) (*IncidentUpdate, error) {
	body = strings.TrimSpace(body)
	if body == "" {
		return nil, Invalid("body", "incidents.error.body_empty")
	}
	if err := CheckText("body", body, 2000); err != nil {
		return nil, err
	}
	var u IncidentUpdate
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var inc Incident
		if err := tx.First(&inc, id).Error; err != nil {
			return notFound(err)
		}
		now := s.now()
		u = IncidentUpdate{IncidentID: id, Body: body, Locale: locale, ByUserID: actor.UserID, ByName: actorName(tx, actor), CreatedAt: now}
		if err := tx.Create(&u).Error; err != nil {
			return err
		}
		var orgs []int64
		if err := tx.Model(&IncidentOutage{}).Distinct("org_id").Where("incident_id = ?", id).Order("org_id").
			Pluck("org_id", &orgs).Error; err != nil {
			return err
		}
		evs := make([]OutboxEvent, len(orgs))
		for i, org := range orgs {
			evs[i] = OutboxEvent{Kind: EventIncidentUpdate, OrgID: org, RefID: u.ID, Payload: fmt.Sprintf(`{"incident_id":%d}`, id),
				CreatedAt: now, LeaseUntil: neverLeased}
		}
		if err := createInChunks(tx, evs); err != nil {
			return err
		}
		return s.audit(tx, actor, AuditIncidentUpdate, "incident", &inc.ID, nil,
			map[string]any{"update_id": u.ID, "organizations": len(orgs), "body": body})
	})
	if err != nil {
		return nil, wrap(err, "post incident update")
	}
	return &u, nil
}

// expandIncidentUpdate makes an incident update's deliveries for one
// organization: one per authorized contact and channel that goes by
// email or webhook (an update is no emergency notice: no call task, and
// it stops no clock).
func (s *Store) expandIncidentUpdate(tx *gorm.DB, ev OutboxEvent, now time.Time, channelFor func(Channel) string, n *int) error {
	var contacts []Contact
	if err := tx.Where("org_id = ? AND may_authorize = ?", ev.OrgID, true).Order("priority, id").Find(&contacts).Error; err != nil {
		return err
	}
	var ds []Delivery
	for _, c := range contacts {
		for _, ch := range c.ChannelList() {
			t, addr := channelFor(ch), c.Address(ch)
			if addr == "" || (t != TransportEmail && t != TransportWebhook) {
				continue
			}
			ds = append(ds, contactDelivery(ev, &c, ch, t, addr, now, now))
		}
	}
	*n = len(ds)
	return createInChunks(tx, ds)
}

// IncidentUpdateFacts is what an update's notice says to one
// organization: the update, the incident's start and state, and how many
// of the organization's own devices it holds (never other customers').
type IncidentUpdateFacts struct {
	Org         Organization
	Update      IncidentUpdate
	Incident    Incident
	Devices     int
	ContactName string
}

// GetIncidentUpdateFacts reads the facts of update updateID for orgID
// (the dispatcher, with AllOrgs).
func (s *Store) GetIncidentUpdateFacts(ctx context.Context, sc Scope, orgID, updateID, contactID int64) (*IncidentUpdateFacts, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "incident update facts")
	}
	db := s.db.WithContext(ctx)
	f := &IncidentUpdateFacts{}
	if err := db.First(&f.Update, updateID).Error; err != nil {
		return nil, wrap(notFound(err), "incident update facts")
	}
	if err := db.First(&f.Incident, f.Update.IncidentID).Error; err != nil {
		return nil, wrap(notFound(err), "incident update facts")
	}
	if err := db.First(&f.Org, orgID).Error; err != nil {
		return nil, wrap(notFound(err), "incident update facts")
	}
	var n int64
	if err := db.Model(&IncidentOutage{}).Where("incident_id = ? AND org_id = ?", f.Incident.ID, orgID).
		Distinct("device_id").Count(&n).Error; err != nil {
		return nil, wrap(err, "incident update facts")
	}
	if n == 0 {
		return nil, wrap(ErrNotFound, "incident update facts")
	}
	f.Devices = int(n)
	if contactID != 0 {
		var c Contact
		if err := db.Select("id", "name").Where("org_id = ? AND id = ?", orgID, contactID).First(&c).Error; err != nil {
			return nil, wrap(optionalRow(err), "incident update facts")
		}
		f.ContactName = c.Name
	}
	return f, nil
}

// IncidentBannerAfter is how long after its incident is resolved an
// update stays on the customers' home pages.
const IncidentBannerAfter = 24 * time.Hour

// IncidentNotice is the banner on an affected customer's home page: the
// latest update's text and time, and whether the incident is resolved.
// Nothing about other customers.
type IncidentNotice struct {
	Body      string
	At        time.Time
	StartedAt time.Time
	Resolved  bool
}

// CustomerIncidentNotice returns the latest update of an incident
// holding outages of orgID that is open or resolved less than
// IncidentBannerAfter ago, or nil: one statement.
func (s *Store) CustomerIncidentNotice(ctx context.Context, sc Scope, orgID int64) (*IncidentNotice, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "incident notice")
	}
	var row struct {
		Body       string
		CreatedAt  time.Time
		StartedAt  time.Time
		ResolvedAt *time.Time
	}
	err := s.db.WithContext(ctx).Table("incident_updates u").Joins("JOIN incidents i ON i.id = u.incident_id").
		Select("u.body, u.created_at, i.started_at, i.resolved_at").
		Where("(i.resolved_at IS NULL OR i.resolved_at > ?) AND EXISTS (SELECT 1 FROM incident_outages x WHERE x.org_id = ? AND x.incident_id = i.id)",
			s.now().Add(-IncidentBannerAfter), orgID).
		Order("u.id DESC").Limit(1).Scan(&row).Error
	if err != nil {
		return nil, wrap(err, "incident notice")
	}
	if row.Body == "" {
		return nil, nil
	}
	return &IncidentNotice{Body: row.Body, At: row.CreatedAt, StartedAt: row.StartedAt, Resolved: row.ResolvedAt != nil}, nil
}
