package models

import (
	"context"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Power incidents (docs/agreement.md §2): staff record each interruption
// of power with what it touched (organizations, or cabinets of
// organizations), whether mains and UPS were both down, its cause and
// whether it was force majeure. Only the records are kept here: the
// monthly statement reads them to compute power availability.

// Audit actions of power incidents (target "power_incident").
const (
	AuditPowerRecorded = "power.recorded"
	AuditPowerUpdated  = "power.updated"
)

// Limits of a power incident.
const (
	MaxPowerTargets  = 500
	maxPowerCause    = 500
	maxPowerNote     = 5000
	maxPowerCabinet  = 40
	powerListDefault = 200
)

// Why an incident does not count against the provider (PowerIncident.Excluded).
const (
	PowerNotBothDown   = "not_both_down"
	PowerForceMajeure  = "force_majeure"
	PowerCountsAgainst = ""
)

// CountsAgainstProvider reports whether the incident interrupts the power
// the provider promises: mains and UPS both down, and not force majeure.
func (p *PowerIncident) CountsAgainstProvider() bool { return p.BothDown && !p.ForceMajeure }

// Excluded says why the incident does not count against the provider:
// PowerNotBothDown (one supply kept the equipment powered), else
// PowerForceMajeure; PowerCountsAgainst ("") when it counts.
func (p *PowerIncident) Excluded() string {
	switch {
	case !p.BothDown:
		return PowerNotBothDown
	case p.ForceMajeure:
		return PowerForceMajeure
	}
	return PowerCountsAgainst
}

// Duration is how long the incident lasted, or has lasted by now while it
// goes on.
func (p *PowerIncident) Duration(now time.Time) time.Duration {
	end := now
	if p.EndedAt != nil {
		end = *p.EndedAt
	}
	if end.Before(p.StartedAt) {
		return 0
	}
	return end.Sub(p.StartedAt)
}

// PowerTargetInput is one thing an incident touched: an organization, or
// one of its cabinets (Cabinet "" is the whole organization).
type PowerTargetInput struct {
	OrgID   int64
	Cabinet string
}

// PowerInput is what the power-incident form supplies. Form fields are
// named as the validation errors are: started_at, ended_at, cause, note,
// targets.
type PowerInput struct {
	StartedAt    time.Time
	EndedAt      *time.Time // nil while it goes on
	BothDown     bool
	Cause        string
	ForceMajeure bool
	Note         string
	Targets      []PowerTargetInput
}

// validate checks the whole input at once and normalizes it: times in
// UTC, text trimmed, targets without repeats (a whole organization takes
// in its cabinets), sorted.
func (in *PowerInput) validate(now time.Time, zone *time.Location) error {
	var p problems
	in.StartedAt = in.StartedAt.UTC()
	switch {
	case in.StartedAt.IsZero():
		p.add(Invalid("started_at", "error.required"))
	case in.StartedAt.After(now):
		p.add(Invalid("started_at", "power.error.started_future"))
	default:
		p.add(CheckDate("started_at", in.StartedAt, zone))
	}
	if in.EndedAt != nil {
		end := in.EndedAt.UTC()
		in.EndedAt = &end
		switch {
		case end.After(now):
			p.add(Invalid("ended_at", "power.error.ended_future"))
		case !in.StartedAt.IsZero() && !end.After(in.StartedAt):
			p.add(Invalid("ended_at", "power.error.ended_before"))
		default:
			p.add(CheckDate("ended_at", end, zone))
		}
	}
	in.Cause = strings.TrimSpace(in.Cause)
	if in.Cause == "" {
		p.add(Invalid("cause", "error.required"))
	}
	p.add(CheckText("cause", in.Cause, maxPowerCause))
	in.Note = strings.TrimSpace(in.Note)
	p.add(CheckText("note", in.Note, maxPowerNote))
	in.Targets = normalTargets(in.Targets)
	switch {
	case len(in.Targets) == 0:
		p.add(Invalid("targets", "power.error.no_targets"))
	case len(in.Targets) > MaxPowerTargets:
		p.add(Invalid("targets", "power.error.too_many_targets", MaxPowerTargets))
	}
	for _, t := range in.Targets {
		if t.OrgID <= 0 {
			p.add(Invalid("targets", "power.error.org_unknown"))
		}
		p.add(CheckLine("targets", t.Cabinet, maxPowerCabinet))
	}
	return p.err()
}

// CheckPowerIncident checks an incident's input without storing it, for
// a form whose own reading already failed, so that it shows every error.
func (s *Store) CheckPowerIncident(ctx context.Context, in PowerInput) error {
	var p problems
	p.add(in.validate(s.now(), s.zone))
	if len(in.Targets) > 0 && len(in.Targets) <= MaxPowerTargets {
		_, err := checkPowerOrgs(s.db.WithContext(ctx), in.Targets)
		p.add(err)
	}
	return wrap(p.err(), "check power incident")
}

// normalTargets trims cabinets, drops repeats and the cabinets of an
// organization that is touched whole, and sorts by organization then
// cabinet.
func normalTargets(ts []PowerTargetInput) []PowerTargetInput {
	whole := map[int64]bool{}
	for _, t := range ts {
		if strings.TrimSpace(t.Cabinet) == "" {
			whole[t.OrgID] = true
		}
	}
	seen := map[PowerTargetInput]bool{}
	var out []PowerTargetInput
	for _, t := range ts {
		t.Cabinet = strings.TrimSpace(t.Cabinet)
		if (t.Cabinet != "" && whole[t.OrgID]) || seen[t] {
			continue
		}
		seen[t] = true
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b PowerTargetInput) int {
		if a.OrgID != b.OrgID {
			return int(a.OrgID - b.OrgID)
		}
		return strings.Compare(a.Cabinet, b.Cabinet)
	})
	return out
}

// checkPowerOrgs refuses targets naming an organization that does not
// exist, and returns the slugs of those that do.
func checkPowerOrgs(tx *gorm.DB, ts []PowerTargetInput) (map[int64]string, error) {
	var want []int64
	for _, t := range ts {
		if len(want) == 0 || want[len(want)-1] != t.OrgID { // sorted by organization
			want = append(want, t.OrgID)
		}
	}
	var orgs []Organization
	if err := findIn(tx, want, &orgs, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Select("id", "slug").Where("id IN ?", chunk)
	}); err != nil {
		return nil, err
	}
	slugs := map[int64]string{}
	for _, o := range orgs {
		slugs[o.ID] = o.Slug
	}
	for _, id := range want {
		if _, ok := slugs[id]; !ok {
			return nil, Invalid("targets", "power.error.org_unknown")
		}
	}
	return slugs, nil
}

// targetsDetail lists targets for an audit record: "slug" or "slug cabinet".
func targetsDetail(ts []PowerTargetInput, slugs map[int64]string) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = strings.TrimSpace(slugs[t.OrgID] + " " + t.Cabinet)
	}
	return out
}

// orgList lists the organizations' slugs of targets, each once, sorted.
func orgList(ts []PowerTargetInput, slugs map[int64]string) []string {
	var out []string
	for _, t := range ts {
		if s := slugs[t.OrgID]; !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

func powerTargetRows(incidentID int64, ts []PowerTargetInput) []PowerTarget {
	rows := make([]PowerTarget, len(ts))
	for i, t := range ts {
		rows[i] = PowerTarget{IncidentID: incidentID, OrgID: t.OrgID, Cabinet: t.Cabinet}
	}
	return rows
}

// RecordPowerIncident records a power incident, numbered PI-2026-0001 in
// the provider's series (organization 0), with its targets, audited once
// as power.recorded naming the organizations touched.
func (s *Store) RecordPowerIncident(ctx context.Context, actor Actor, in PowerInput) (*PowerIncident, error) {
	return s.recordPower(ctx, actor, in, nil)
}

// recordPower records an incident as RecordPowerIncident says; then, in
// the same transaction, after its record, also (when not nil) writes
// what comes of it (a proposal confirmed) with its own record.
func (s *Store) recordPower(ctx context.Context, actor Actor, in PowerInput, also func(tx *gorm.DB, p *PowerIncident) error) (*PowerIncident, error) {
	now := s.now()
	if err := in.validate(now, s.zone); err != nil {
		return nil, wrap(err, "record power incident")
	}
	year, err := s.prepareNumber(ctx, NumberPowerIncident, 0, now)
	if err != nil {
		return nil, wrap(err, "record power incident")
	}
	var p *PowerIncident
	err = s.tx(ctx, func(tx *gorm.DB) error {
		slugs, err := checkPowerOrgs(tx, in.Targets)
		if err != nil {
			return err
		}
		seq, err := nextNumber(tx, NumberPowerIncident, 0, year)
		if err != nil {
			return err
		}
		p = &PowerIncident{NumberYear: year, NumberSeq: seq, Ref: newRef(), StartedAt: in.StartedAt, EndedAt: in.EndedAt,
			BothDown: in.BothDown, Cause: in.Cause, ForceMajeure: in.ForceMajeure, Note: in.Note, CreatedBy: actor.UserID,
			CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(p).Error; err != nil {
			return err
		}
		if err := createInChunks(tx, powerTargetRows(p.ID, in.Targets)); err != nil {
			return err
		}
		if err := s.markPowerCorrected(tx, p, orgIDs(in.Targets)); err != nil {
			return err
		}
		orgs := orgList(in.Targets, slugs)
		if err := s.audit(tx, actor, AuditPowerRecorded, "power_incident", &p.ID, nil, map[string]any{
			"incident": p.Number(), "started": p.StartedAt, "ended": p.EndedAt, "both_down": p.BothDown,
			"force_majeure": p.ForceMajeure, "organizations": orgs, "org_count": len(orgs),
			"targets": targetsDetail(in.Targets, slugs)}); err != nil {
			return err
		}
		if also != nil {
			return also(tx, p)
		}
		return nil
	})
	if err != nil {
		return nil, wrap(err, "record power incident")
	}
	return p, nil
}

// UpdatePowerIncident corrects incident id (found by the caller through
// PowerIncidentOf) or ends it: the same rules as recording it. The
// record says what changed, before and after; a form sent unchanged
// changes and records nothing.
func (s *Store) UpdatePowerIncident(ctx context.Context, actor Actor, id int64, in PowerInput) (*PowerIncident, error) {
	now := s.now()
	if err := in.validate(now, s.zone); err != nil {
		return nil, wrap(err, "update power incident")
	}
	var p PowerIncident
	err := s.tx(ctx, func(tx *gorm.DB) error {
		p = PowerIncident{}
		if err := forUpdate(tx).Where("id = ?", id).First(&p).Error; err != nil {
			return notFound(err)
		}
		slugs, err := checkPowerOrgs(tx, in.Targets)
		if err != nil {
			return err
		}
		var old []PowerTarget
		if err := tx.Where("incident_id = ?", id).Order("org_id, cabinet").Find(&old).Error; err != nil {
			return err
		}
		oldIn := make([]PowerTargetInput, len(old))
		for i, t := range old {
			oldIn[i] = PowerTargetInput{OrgID: t.OrgID, Cabinet: t.Cabinet}
		}
		var oldOrgs []Organization
		if err := findIn(tx, orgIDs(oldIn), &oldOrgs, func(q *gorm.DB, chunk []int64) *gorm.DB {
			return q.Select("id", "slug").Where("id IN ?", chunk)
		}); err != nil {
			return err
		}
		for _, o := range oldOrgs {
			slugs[o.ID] = o.Slug
		}
		before, after := map[string]any{}, map[string]any{}
		change := func(field string, was, now any, differ bool) {
			if differ {
				before[field], after[field] = was, now
			}
		}
		change("started", p.StartedAt, in.StartedAt, !p.StartedAt.Equal(in.StartedAt))
		change("ended", p.EndedAt, in.EndedAt, !sameTime(p.EndedAt, in.EndedAt))
		change("both_down", p.BothDown, in.BothDown, p.BothDown != in.BothDown)
		change("force_majeure", p.ForceMajeure, in.ForceMajeure, p.ForceMajeure != in.ForceMajeure)
		change("cause", p.Cause, in.Cause, p.Cause != in.Cause)
		change("note", p.Note, in.Note, p.Note != in.Note)
		added, removed := diffTargets(oldIn, in.Targets)
		if len(before) == 0 && len(added) == 0 && len(removed) == 0 {
			return nil
		}
		// The months of the incident as it was, for every organization it
		// touched, and as it is now.
		was := p
		if err := s.markPowerCorrected(tx, &was, append(orgIDs(oldIn), orgIDs(in.Targets)...)); err != nil {
			return err
		}
		p.StartedAt, p.EndedAt, p.BothDown, p.ForceMajeure = in.StartedAt, in.EndedAt, in.BothDown, in.ForceMajeure
		p.Cause, p.Note, p.UpdatedAt = in.Cause, in.Note, now
		if err := tx.Select("started_at", "ended_at", "both_down", "force_majeure", "cause", "note", "updated_at").
			Updates(&p).Error; err != nil {
			return err
		}
		if err := s.markPowerCorrected(tx, &p, append(orgIDs(oldIn), orgIDs(in.Targets)...)); err != nil {
			return err
		}
		if len(added) > 0 || len(removed) > 0 {
			if err := tx.Where("incident_id = ?", id).Delete(&PowerTarget{}).Error; err != nil {
				return err
			}
			if err := createInChunks(tx, powerTargetRows(id, in.Targets)); err != nil {
				return err
			}
		}
		changed := make([]string, 0, len(after)+1)
		for k := range after {
			changed = append(changed, k)
		}
		if len(added) > 0 || len(removed) > 0 {
			changed = append(changed, "targets")
		}
		slices.Sort(changed)
		detail := map[string]any{"incident": p.Number(), "changed": changed, "before": before, "after": after}
		if len(added) > 0 {
			detail["targets_added"] = targetsDetail(added, slugs)
		}
		if len(removed) > 0 {
			detail["targets_removed"] = targetsDetail(removed, slugs)
		}
		return s.audit(tx, actor, AuditPowerUpdated, "power_incident", &p.ID, nil, detail)
	})
	if err != nil {
		return nil, wrap(err, "update power incident")
	}
	return &p, nil
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// orgIDs lists the organizations of targets, each once.
func orgIDs(ts []PowerTargetInput) []int64 {
	var out []int64
	for _, t := range ts {
		if !slices.Contains(out, t.OrgID) {
			out = append(out, t.OrgID)
		}
	}
	return out
}

// diffTargets is what is in b and not in a, and in a and not in b.
func diffTargets(a, b []PowerTargetInput) (added, removed []PowerTargetInput) {
	in := func(xs []PowerTargetInput, x PowerTargetInput) bool { return slices.Contains(xs, x) }
	for _, t := range b {
		if !in(a, t) {
			added = append(added, t)
		}
	}
	for _, t := range a {
		if !in(b, t) {
			removed = append(removed, t)
		}
	}
	return added, removed
}

// PowerFilter narrows the list of power incidents.
type PowerFilter struct {
	OrgID   int64 // incidents touching this organization; 0 for all
	Ongoing bool  // only those not ended
	Limit   int   // newest first; 0 for 200
}

// PowerIncidentRow is one line of the list: the incident and how many
// organizations it touched that the reader may see (a customer: its own).
type PowerIncidentRow struct {
	PowerIncident
	Orgs int
}

// PowerIncidents lists the incidents sc may see, newest first: staff
// every one, a customer those with a target of its organization.
func (s *Store) PowerIncidents(ctx context.Context, sc Scope, f PowerFilter) ([]PowerIncidentRow, error) {
	if f.Limit <= 0 {
		f.Limit = powerListDefault
	}
	touching := sc.apply(s.db.Model(&PowerTarget{}).Select("incident_id"), "org_id")
	if f.OrgID > 0 {
		touching = touching.Where("org_id = ?", f.OrgID)
	}
	orgs := sc.apply(s.db.Model(&PowerTarget{}).Select("COUNT(DISTINCT org_id)").Where("incident_id = power_incidents.id"), "org_id")
	q := s.db.WithContext(ctx).Model(&PowerIncident{}).Select("power_incidents.*, (?) AS orgs", orgs)
	if !sc.All() || f.OrgID > 0 {
		q = q.Where("power_incidents.id IN (?)", touching)
	}
	if f.Ongoing {
		q = q.Where("ended_at IS NULL")
	}
	var out []PowerIncidentRow
	err := q.Order("started_at DESC, id DESC").Limit(f.Limit).Scan(&out).Error
	return out, wrap(err, "list power incidents")
}

// PowerTargetView is a target with its organization's slug and name.
type PowerTargetView struct {
	OrgID   int64
	Slug    string
	Name    string
	Cabinet string // "" for the whole organization
	// Metered is whether meters read the cabinet: it has a page of its
	// power and environment (CabinetKey).
	Metered bool
}

// PowerDetail is an incident as its page shows it. A customer's has only
// its own organization's targets, and no note (staff's own words, which
// may name other customers).
type PowerDetail struct {
	Incident  PowerIncident
	Targets   []PowerTargetView
	CreatedBy string // who recorded it (staff only)
}

// PowerIncidentOf returns the incident of reference ref as sc may see it:
// staff whole; a customer only its own organization's targets, and
// ErrNotFound when none of them is its organization's.
func (s *Store) PowerIncidentOf(ctx context.Context, sc Scope, ref string) (*PowerDetail, error) {
	if !ValidRequestRef(ref) {
		return nil, wrap(ErrNotFound, "get power incident")
	}
	db := s.db.WithContext(ctx)
	d := &PowerDetail{}
	if err := db.Where("ref = ?", ref).First(&d.Incident).Error; err != nil {
		return nil, wrap(notFound(err), "get power incident")
	}
	q := db.Table("power_targets").Select("power_targets.org_id, organizations.slug, organizations.name, power_targets.cabinet, "+
		"EXISTS (SELECT 1 FROM facility_meters fm WHERE fm.org_id = power_targets.org_id AND fm.cabinet = power_targets.cabinet "+
		"AND power_targets.cabinet <> '') AS metered").
		Joins("JOIN organizations ON organizations.id = power_targets.org_id").
		Where("power_targets.incident_id = ?", d.Incident.ID)
	if err := sc.apply(q, "power_targets.org_id").Order("organizations.name, organizations.id, power_targets.cabinet").
		Scan(&d.Targets).Error; err != nil {
		return nil, wrap(err, "get power incident")
	}
	if !sc.All() {
		if len(d.Targets) == 0 {
			return nil, wrap(ErrNotFound, "get power incident")
		}
		d.Incident.Note, d.Incident.CreatedBy = "", nil
		return d, nil
	}
	names, err := s.userNames(db, d.Incident.CreatedBy)
	if err != nil {
		return nil, wrap(err, "get power incident")
	}
	if d.Incident.CreatedBy != nil {
		d.CreatedBy = names[*d.Incident.CreatedBy]
	}
	return d, nil
}

// PowerTargetLines writes targets as the form's lines: "slug" for a
// whole organization, "slug cabinet" for one cabinet.
func PowerTargetLines(ts []PowerTargetView) string {
	var b strings.Builder
	for _, t := range ts {
		b.WriteString(t.Slug)
		if t.Cabinet != "" {
			b.WriteString(" " + t.Cabinet)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// PowerOrgChoice is an organization the form may name, with the cabinets
// it is known to use (of its devices and of its contracts).
type PowerOrgChoice struct {
	ID       int64
	Slug     string
	Name     string
	Cabinets []string
}

// PowerChoices lists the organizations sc sees with their cabinets, by
// slug, for the incident form and ParsePowerTargets.
func (s *Store) PowerChoices(ctx context.Context, sc Scope) ([]PowerOrgChoice, error) {
	db := s.db.WithContext(ctx)
	var orgs []Organization
	if err := sc.apply(db.Select("id", "slug", "name"), "id").Order("slug").Find(&orgs).Error; err != nil {
		return nil, wrap(err, "power choices")
	}
	var cabs []struct {
		OrgID   int64
		Cabinet string
	}
	err := db.Raw("SELECT org_id, cabinet FROM devices WHERE cabinet <> '' GROUP BY org_id, cabinet " +
		"UNION SELECT org_id, cabinet FROM contract_targets WHERE cabinet <> '' GROUP BY org_id, cabinet").Scan(&cabs).Error
	if err != nil {
		return nil, wrap(err, "power choices")
	}
	byOrg := map[int64][]string{}
	for _, c := range cabs {
		if !slices.ContainsFunc(byOrg[c.OrgID], func(x string) bool { return strings.EqualFold(x, c.Cabinet) }) {
			byOrg[c.OrgID] = append(byOrg[c.OrgID], c.Cabinet)
		}
	}
	out := make([]PowerOrgChoice, len(orgs))
	for i, o := range orgs {
		cs := byOrg[o.ID]
		slices.Sort(cs)
		out[i] = PowerOrgChoice{ID: o.ID, Slug: o.Slug, Name: o.Name, Cabinets: cs}
	}
	return out, nil
}

// WithTargetCabinets adds to choices the cabinets an incident already
// names, so that correcting an old incident does not fail on a cabinet
// its organization no longer uses.
func WithTargetCabinets(choices []PowerOrgChoice, ts []PowerTargetView) []PowerOrgChoice {
	for _, t := range ts {
		if t.Cabinet == "" {
			continue
		}
		for i := range choices {
			c := &choices[i]
			if c.ID == t.OrgID && !slices.ContainsFunc(c.Cabinets, func(x string) bool { return strings.EqualFold(x, t.Cabinet) }) {
				c.Cabinets = append(c.Cabinets, t.Cabinet)
				slices.Sort(c.Cabinets)
			}
		}
	}
	return choices
}

// ParsePowerTargets reads the form's list of what an incident touched,
// one target a line:
//
//	alpha          the whole organization alpha (its slug)
//	alpha A-07     cabinet A-07 of alpha
//	* A-07         cabinet A-07 of every organization using it
//
// A comma, semicolon or tab may stand for the space; blank lines and
// lines starting with # are skipped. A cabinet must be one the
// organization uses (choices), matched without regard to case and
// stored as the organization spells it. Every problem names its line.
func ParsePowerTargets(text string, choices []PowerOrgChoice) ([]PowerTargetInput, error) {
	bySlug := map[string]*PowerOrgChoice{}
	for i := range choices {
		bySlug[choices[i].Slug] = &choices[i]
	}
	cabinetOf := func(o *PowerOrgChoice, cab string) (string, bool) {
		for _, c := range o.Cabinets {
			if strings.EqualFold(c, cab) {
				return c, true
			}
		}
		return "", false
	}
	var p problems
	var out []PowerTargetInput
	for i, raw := range strings.Split(text, "\n") {
		line := i + 1
		s := strings.TrimSpace(raw)
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		head, rest := s, ""
		if j := strings.IndexAny(s, " \t,;"); j >= 0 {
			head, rest = s[:j], strings.TrimSpace(strings.TrimLeft(s[j:], " \t,;"))
		}
		head = strings.ToLower(head)
		if err := CheckLine("targets", rest, maxPowerCabinet); err != nil {
			p.add(Invalid("targets", "power.error.target_cabinet", line))
			continue
		}
		if head == "*" {
			if rest == "" {
				p.add(Invalid("targets", "power.error.target_star", line))
				continue
			}
			n := 0
			for j := range choices {
				if c, ok := cabinetOf(&choices[j], rest); ok {
					out = append(out, PowerTargetInput{OrgID: choices[j].ID, Cabinet: c})
					n++
				}
			}
			if n == 0 {
				p.add(Invalid("targets", "power.error.target_cabinet_nobody", line, rest))
			}
			continue
		}
		o, ok := bySlug[head]
		if !ok {
			p.add(Invalid("targets", "power.error.target_unknown", line, head))
			continue
		}
		if rest == "" {
			out = append(out, PowerTargetInput{OrgID: o.ID})
			continue
		}
		if several(rest, bySlug) {
			p.add(Invalid("targets", "power.error.target_several", line))
			continue
		}
		c, ok := cabinetOf(o, rest)
		if !ok {
			p.add(Invalid("targets", "power.error.target_cabinet_unknown", line, head, rest))
			continue
		}
		out = append(out, PowerTargetInput{OrgID: o.ID, Cabinet: c})
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	out = normalTargets(out)
	if len(out) > MaxPowerTargets {
		return nil, Invalid("targets", "power.error.too_many_targets", MaxPowerTargets)
	}
	return out, nil
}

// several reports whether the rest of a line is only organizations'
// slugs: several organizations typed on one line, not a cabinet.
func several(rest string, bySlug map[string]*PowerOrgChoice) bool {
	fields := strings.FieldsFunc(rest, func(r rune) bool { return strings.ContainsRune(" \t,;", r) })
	for _, f := range fields {
		if bySlug[strings.ToLower(f)] == nil {
			return false
		}
	}
	return len(fields) > 0
}

// markPowerCorrected marks the closed months incident p spans for each of
// orgs (statement_corrections): an incident recorded or changed after a
// month closed corrects it.
func (s *Store) markPowerCorrected(tx *gorm.DB, p *PowerIncident, orgs []int64) error {
	end := s.now()
	if p.EndedAt != nil {
		end = *p.EndedAt
	}
	seen := map[int64]bool{}
	for _, org := range orgs {
		if seen[org] {
			continue
		}
		seen[org] = true
		if err := s.markCorrected(tx, org, p.StartedAt, end); err != nil {
			return err
		}
	}
	return nil
}
