package models

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Planned maintenance with the customers' consent (docs/agreement.md §1,
// "Agreed maintenance"): staff announce a window over devices, cabinets or
// whole organizations; each affected organization's contacts are emailed,
// and a customer user agrees or declines in the portal until the window
// starts. Downtime inside a window the organization agreed to does not
// count against the provider (agreedMaintenanceSegments); inside one it
// declined or left unanswered, it does.

// Limits of a maintenance window.
const (
	MaintenanceMaxLength  = 72 * time.Hour
	MaintenanceMaxTargets = 500
)

// Outbox events of maintenance windows: one per affected organization,
// RefID the window, emailed to the organization's contacts.
const (
	EventMaintenanceAnnounced = "maintenance.announced"
	EventMaintenanceCancelled = "maintenance.cancelled"
)

// States of a window as a reader sees it at a moment (MaintenanceWindow.State).
const (
	MaintenanceUpcoming   = "upcoming"
	MaintenanceInProgress = "in_progress"
	MaintenanceEnded      = "ended"
	MaintenanceCancelled  = "cancelled"
)

// State is the window's state at now.
func (w *MaintenanceWindow) State(now time.Time) string {
	switch {
	case w.CancelledAt != nil:
		return MaintenanceCancelled
	case now.Before(w.StartsAt):
		return MaintenanceUpcoming
	case now.Before(w.EndsAt):
		return MaintenanceInProgress
	}
	return MaintenanceEnded
}

// Answerable reports whether an affected organization may still answer
// (or change its answer) at now: until the window starts, unless it was
// cancelled. After the start the answers are final.
func (w *MaintenanceWindow) Answerable(now time.Time) bool {
	return w.CancelledAt == nil && now.Before(w.StartsAt)
}

// Cancellable reports whether staff may still cancel the window at now:
// until it starts. A window that has started stands as it was answered.
func (w *MaintenanceWindow) Cancellable(now time.Time) bool {
	return w.CancelledAt == nil && now.Before(w.StartsAt)
}

// MaintenanceTargetInput is one target of a window as given: an
// organization (by ID, or by slug in Org), and optionally one cabinet of
// it or one device of it (by ID, or in Device by name, address or "#ID").
// Line is the line of the form it was typed on, for the error messages.
type MaintenanceTargetInput struct {
	OrgID    int64
	Org      string
	Cabinet  string
	DeviceID int64
	Device   string
	Line     int
}

// MaintenanceInput is what the announcement form supplies. Form fields
// are named as the validation errors are: title, body, starts_at,
// ends_at, targets.
type MaintenanceInput struct {
	Title    string
	Body     string
	StartsAt time.Time
	EndsAt   time.Time
	Targets  []MaintenanceTargetInput
	// TargetLines is the form's text of targets, one a line
	// (ParseMaintenanceTargets); its targets are added to Targets.
	TargetLines string
}

// ParseMaintenanceTargets reads the form's targets, one a line:
//
//	alpha                    the whole organization alpha (its slug)
//	alpha cabinet A-07       cabinet A-07 of alpha
//	alpha device web-01      a device of alpha by name, address or #ID
//
// The words cabinet and device may also be written 机柜 and 设备. Blank
// lines are skipped. A line that does not read so is a validation error
// naming its number.
func ParseMaintenanceTargets(text string) ([]MaintenanceTargetInput, error) {
	var out []MaintenanceTargetInput
	var p problems
	for i, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		fs := strings.Fields(line)
		if len(fs) == 0 {
			continue
		}
		t := MaintenanceTargetInput{Org: fs[0], Line: i + 1}
		switch {
		case len(fs) == 1:
		case len(fs) >= 3 && (strings.EqualFold(fs[1], "cabinet") || fs[1] == "机柜"):
			t.Cabinet = strings.Join(fs[2:], " ")
		case len(fs) >= 3 && (strings.EqualFold(fs[1], "device") || fs[1] == "设备"):
			t.Device = strings.Join(fs[2:], " ")
		default:
			p.add(Invalid("targets", "maintenance.error.target_syntax", i+1))
			continue
		}
		out = append(out, t)
	}
	return out, p.err()
}

// validate checks everything that needs no database, all at once.
func (in *MaintenanceInput) validate(now time.Time, zone *time.Location) error {
	var p problems
	in.Title = strings.TrimSpace(in.Title)
	if in.Title == "" {
		p.add(Invalid("title", "error.required"))
	}
	p.add(CheckLine("title", in.Title, 200))
	in.Body = strings.TrimSpace(in.Body)
	p.add(CheckText("body", in.Body, 5000))
	in.StartsAt, in.EndsAt = in.StartsAt.UTC(), in.EndsAt.UTC()
	switch {
	case in.StartsAt.IsZero():
		p.add(Invalid("starts_at", "error.required"))
	case CheckDate("starts_at", in.StartsAt, zone) != nil:
		p.add(CheckDate("starts_at", in.StartsAt, zone))
	case !in.StartsAt.After(now):
		p.add(Invalid("starts_at", "maintenance.error.starts_past"))
	}
	switch {
	case in.EndsAt.IsZero():
		p.add(Invalid("ends_at", "error.required"))
	case CheckDate("ends_at", in.EndsAt, zone) != nil:
		p.add(CheckDate("ends_at", in.EndsAt, zone))
	case in.StartsAt.IsZero():
	case !in.EndsAt.After(in.StartsAt):
		p.add(Invalid("ends_at", "maintenance.error.ends_before_start"))
	case in.EndsAt.Sub(in.StartsAt) > MaintenanceMaxLength:
		p.add(Invalid("ends_at", "maintenance.error.too_long", int(MaintenanceMaxLength/time.Hour)))
	}
	if strings.TrimSpace(in.TargetLines) != "" {
		ts, err := ParseMaintenanceTargets(in.TargetLines)
		p.add(err)
		in.Targets = append(in.Targets, ts...)
	}
	for i := range in.Targets {
		t := &in.Targets[i]
		if t.Line == 0 {
			t.Line = i + 1
		}
		t.Org, t.Cabinet, t.Device = strings.TrimSpace(t.Org), strings.TrimSpace(t.Cabinet), strings.TrimSpace(t.Device)
		if t.Cabinet != "" && (t.DeviceID != 0 || t.Device != "") {
			p.add(Invalid("targets", "maintenance.error.target_both", t.Line))
		}
		if err := CheckLine("targets", t.Cabinet, 40); err != nil {
			p.add(Invalid("targets", "maintenance.error.target_cabinet", t.Line, t.Cabinet))
		}
	}
	switch {
	case len(in.Targets) == 0:
		p.add(Invalid("targets", "maintenance.error.no_targets"))
	case len(in.Targets) > MaintenanceMaxTargets:
		p.add(Invalid("targets", "maintenance.error.too_many_targets", MaintenanceMaxTargets))
	}
	return p.err()
}

// resolveMaintenanceTargets finds the organizations, devices and cabinets
// the targets name: an organization must exist, a device must belong to
// the organization named with it, a cabinet must hold at least one of
// that organization's devices. It reports every target it cannot resolve
// into p (the first as the field's error) and returns the targets,
// without repeats, for window windowID.
func resolveMaintenanceTargets(tx *gorm.DB, in []MaintenanceTargetInput, p *problems) ([]MaintenanceTarget, error) {
	// Organizations, by ID and by slug.
	var orgIDs []int64
	var slugs []string
	for _, t := range in {
		if t.OrgID > 0 {
			orgIDs = append(orgIDs, t.OrgID)
		} else if t.Org != "" {
			slugs = append(slugs, strings.ToLower(t.Org))
		}
	}
	var orgs []Organization
	if err := findIn(tx, orgIDs, &orgs, func(q *gorm.DB, c []int64) *gorm.DB { return q.Select("id", "slug").Where("id IN ?", c) }); err != nil {
		return nil, err
	}
	if err := findIn(tx, slugs, &orgs, func(q *gorm.DB, c []string) *gorm.DB { return q.Select("id", "slug").Where("slug IN ?", c) }); err != nil {
		return nil, err
	}
	byID, bySlug := map[int64]bool{}, map[string]int64{}
	for _, o := range orgs {
		byID[o.ID], bySlug[strings.ToLower(o.Slug)] = true, o.ID
	}
	orgOf := func(t MaintenanceTargetInput) int64 {
		if t.OrgID > 0 {
			if byID[t.OrgID] {
				return t.OrgID
			}
			return 0
		}
		return bySlug[strings.ToLower(t.Org)]
	}
	// What each organization's targets name: device IDs, device names or
	// addresses, cabinets.
	type wants struct {
		ids      []int64
		names    []string
		cabinets []string
	}
	per := map[int64]*wants{}
	for _, t := range in {
		org := orgOf(t)
		if org == 0 {
			continue
		}
		w := per[org]
		if w == nil {
			w = &wants{}
			per[org] = w
		}
		switch {
		case t.DeviceID > 0:
			w.ids = append(w.ids, t.DeviceID)
		case strings.HasPrefix(t.Device, "#"):
			if id, err := strconv.ParseInt(t.Device[1:], 10, 64); err == nil && id > 0 {
				w.ids = append(w.ids, id)
			}
		case t.Device != "":
			w.names = append(w.names, t.Device)
		case t.Cabinet != "":
			w.cabinets = append(w.cabinets, t.Cabinet)
		}
	}
	type found struct {
		ids      map[int64]bool
		names    map[string][]int64 // name or address → devices
		cabinets map[string]bool
	}
	got := map[int64]*found{}
	orgList := make([]int64, 0, len(per))
	for org := range per {
		orgList = append(orgList, org)
	}
	slices.Sort(orgList)
	for _, org := range orgList {
		w, f := per[org], &found{ids: map[int64]bool{}, names: map[string][]int64{}, cabinets: map[string]bool{}}
		got[org] = f
		var ds []Device
		if err := findIn(tx, w.ids, &ds, func(q *gorm.DB, c []int64) *gorm.DB {
			return q.Select("id").Where("org_id = ? AND id IN ?", org, c)
		}); err != nil {
			return nil, err
		}
		for _, d := range ds {
			f.ids[d.ID] = true
		}
		ds = nil
		if err := findIn(tx, w.names, &ds, func(q *gorm.DB, c []string) *gorm.DB {
			return q.Select("id", "name", "address").Where("org_id = ? AND (name IN ? OR address IN ?)", org, c, c)
		}); err != nil {
			return nil, err
		}
		for _, d := range ds {
			f.names[d.Name] = append(f.names[d.Name], d.ID)
			if d.Address != d.Name {
				f.names[d.Address] = append(f.names[d.Address], d.ID)
			}
		}
		var cabs []string
		for c := range chunks(w.cabinets) {
			var part []string
			if err := tx.Model(&Device{}).Where("org_id = ? AND cabinet IN ?", org, c).Distinct().Pluck("cabinet", &part).Error; err != nil {
				return nil, err
			}
			cabs = append(cabs, part...)
		}
		for _, c := range cabs {
			f.cabinets[c] = true
		}
	}
	seen := map[string]bool{}
	var out []MaintenanceTarget
	for _, t := range in {
		org := orgOf(t)
		if org == 0 {
			name := t.Org
			if t.OrgID > 0 {
				name = "#" + strconv.FormatInt(t.OrgID, 10)
			}
			p.add(Invalid("targets", "maintenance.error.target_org", t.Line, name))
			continue
		}
		f := got[org]
		mt := MaintenanceTarget{OrgID: org}
		switch {
		case t.DeviceID > 0 || strings.HasPrefix(t.Device, "#"):
			id := t.DeviceID
			if id == 0 {
				id, _ = strconv.ParseInt(t.Device[1:], 10, 64)
			}
			if !f.ids[id] {
				label := t.Device
				if label == "" {
					label = "#" + strconv.FormatInt(id, 10)
				}
				p.add(Invalid("targets", "maintenance.error.target_device", t.Line, label))
				continue
			}
			mt.DeviceID = &id
		case t.Device != "":
			ids := f.names[t.Device]
			slices.Sort(ids)
			ids = slices.Compact(ids)
			if len(ids) != 1 {
				key := "maintenance.error.target_device"
				if len(ids) > 1 {
					key = "maintenance.error.target_device_ambiguous"
				}
				p.add(Invalid("targets", key, t.Line, t.Device))
				continue
			}
			mt.DeviceID = &ids[0]
		case t.Cabinet != "":
			if !f.cabinets[t.Cabinet] {
				p.add(Invalid("targets", "maintenance.error.target_cabinet", t.Line, t.Cabinet))
				continue
			}
			mt.Cabinet = t.Cabinet
		}
		key := fmt.Sprintf("%d|%s|", org, mt.Cabinet)
		if mt.DeviceID != nil {
			key += strconv.FormatInt(*mt.DeviceID, 10)
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, mt)
		}
	}
	return out, nil
}

// AnnounceMaintenance records a maintenance window (numbered MW-2026-0001
// among the provider's windows, a random reference in URLs) with its
// targets, and queues an email to each affected organization's contacts.
// Every rule is checked at once: a title, a start in the future, an end
// after it at most 72 hours later, 1 to 500 targets, each naming an
// organization and, optionally, a cabinet or a device of that very
// organization.
func (s *Store) AnnounceMaintenance(ctx context.Context, actor Actor, in MaintenanceInput) (*MaintenanceWindow, error) {
	now := s.now()
	invalid := in.validate(now, s.zone)
	year, err := s.prepareNumber(ctx, NumberMaintenance, 0, now)
	if err != nil {
		return nil, wrap(err, "announce maintenance")
	}
	var w *MaintenanceWindow
	err = s.tx(ctx, func(tx *gorm.DB) error {
		w = nil
		var pp problems // every run starts again from the input's problems
		pp.add(invalid)
		targets, err := resolveMaintenanceTargets(tx, in.Targets, &pp)
		if err != nil {
			return err
		}
		if err := pp.err(); err != nil {
			return err
		}
		seq, err := nextNumber(tx, NumberMaintenance, 0, year)
		if err != nil {
			return err
		}
		w = &MaintenanceWindow{NumberYear: year, NumberSeq: seq, Ref: newRef(), Title: in.Title, Body: in.Body,
			StartsAt: in.StartsAt, EndsAt: in.EndsAt, CreatedBy: actor.UserID, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(w).Error; err != nil {
			return err
		}
		for i := range targets {
			targets[i].WindowID = w.ID
		}
		if err := createInChunks(tx, targets); err != nil {
			return err
		}
		orgs := targetOrgs(targets)
		for _, org := range orgs {
			if err := s.outbox(tx, EventMaintenanceAnnounced, org, w.ID, ""); err != nil {
				return err
			}
		}
		return s.audit(tx, actor, AuditMaintenanceAnnounced, "maintenance_window", &w.ID, nil, map[string]any{
			"window": w.Number(), "title": w.Title, "starts": w.StartsAt, "ends": w.EndsAt,
			"organizations": len(orgs), "targets": len(targets)})
	})
	if err != nil {
		return nil, wrap(err, "announce maintenance")
	}
	return w, nil
}

// ValidateMaintenance checks in as AnnounceMaintenance does, every rule
// at once, and stores nothing: for a form that cannot be announced as it
// is (its times could not be read) but whose other mistakes are shown.
func (s *Store) ValidateMaintenance(ctx context.Context, in MaintenanceInput) error {
	var p problems
	p.add(in.validate(s.now(), s.zone))
	if _, err := resolveMaintenanceTargets(s.db.WithContext(ctx), in.Targets, &p); err != nil {
		return wrap(err, "validate maintenance")
	}
	return p.err()
}

// targetOrgs lists the organizations the targets touch, ascending.
func targetOrgs(ts []MaintenanceTarget) []int64 {
	var out []int64
	for _, t := range ts {
		out = append(out, t.OrgID)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// visibleWindows restricts q (on maintenance_windows) to the windows the
// scope may see: every one for staff, those with a target of its
// organization for a customer.
func visibleWindows(q *gorm.DB, sc Scope) *gorm.DB {
	if sc.All() {
		return q
	}
	org, ok := sc.Org()
	if !ok {
		return q.Where("1 = 0")
	}
	return q.Where("maintenance_windows.id IN (SELECT window_id FROM maintenance_targets WHERE org_id = ?)", org)
}

// GetMaintenance returns the window of reference ref if the scope may see
// it (staff: any; a customer: one touching its organization); else
// ErrNotFound.
func (s *Store) GetMaintenance(ctx context.Context, sc Scope, ref string) (*MaintenanceWindow, error) {
	if !ValidRequestRef(ref) {
		return nil, wrap(ErrNotFound, "get maintenance")
	}
	var w MaintenanceWindow
	if err := visibleWindows(s.db.WithContext(ctx), sc).Where("ref = ?", ref).First(&w).Error; err != nil {
		return nil, wrap(notFound(err), "get maintenance")
	}
	return &w, nil
}

// MaintenanceOrg is what a window touches of one organization, with the
// organization's answer.
type MaintenanceOrg struct {
	Org Organization
	// Whole is set when a target names the whole organization.
	Whole    bool
	Cabinets []string
	Devices  []Device // ID, name, address and cabinet
	Answer   *MaintenanceAnswer
	// AnsweredBy is the name of the user who answered.
	AnsweredBy string
}

// Answered reports the organization's answer ("" for none).
func (o *MaintenanceOrg) Answered() string {
	if o.Answer == nil {
		return ""
	}
	return o.Answer.Answer
}

// MaintenanceDetail is a window's page: the window and what it touches of
// each organization the reader may see (a customer: its own only).
type MaintenanceDetail struct {
	Window MaintenanceWindow
	Orgs   []MaintenanceOrg
}

// Own is the reader's organization's part, for a customer (nil when the
// window does not touch it).
func (d *MaintenanceDetail) Own(orgID int64) *MaintenanceOrg {
	for i := range d.Orgs {
		if d.Orgs[i].Org.ID == orgID {
			return &d.Orgs[i]
		}
	}
	return nil
}

// MaintenanceDetailOf loads what window w (read through GetMaintenance)
// touches of each organization the scope may see, with their answers.
func (s *Store) MaintenanceDetailOf(ctx context.Context, sc Scope, w *MaintenanceWindow) (*MaintenanceDetail, error) {
	orgs, err := maintenanceOrgs(s.db.WithContext(ctx), sc, w.ID)
	if err != nil {
		return nil, wrap(err, "maintenance detail")
	}
	return &MaintenanceDetail{Window: *w, Orgs: orgs}, nil
}

// maintenanceOrgs reads window windowID's targets and answers within sc,
// by organization name.
func maintenanceOrgs(db *gorm.DB, sc Scope, windowID int64) ([]MaintenanceOrg, error) {
	var ts []MaintenanceTarget
	if err := sc.apply(db.Where("window_id = ?", windowID), "org_id").Order("org_id, id").Find(&ts).Error; err != nil {
		return nil, err
	}
	var answers []MaintenanceAnswer
	if err := sc.apply(db.Where("window_id = ?", windowID), "org_id").Find(&answers).Error; err != nil {
		return nil, err
	}
	orgIDs := targetOrgs(ts)
	var orgs []Organization
	if err := findIn(db, orgIDs, &orgs, func(q *gorm.DB, c []int64) *gorm.DB {
		return q.Select("id", "slug", "name").Where("id IN ?", c)
	}); err != nil {
		return nil, err
	}
	var devIDs, userIDs []int64
	for _, t := range ts {
		if t.DeviceID != nil {
			devIDs = append(devIDs, *t.DeviceID)
		}
	}
	for _, a := range answers {
		if a.UserID != nil {
			userIDs = append(userIDs, *a.UserID)
		}
	}
	var devs []Device
	if err := findIn(db, devIDs, &devs, func(q *gorm.DB, c []int64) *gorm.DB {
		return q.Select("id", "org_id", "name", "address", "cabinet").Where("id IN ?", c)
	}); err != nil {
		return nil, err
	}
	var users []User
	if err := findIn(db, userIDs, &users, idAndName); err != nil {
		return nil, err
	}
	devByID, nameOf := map[int64]Device{}, map[int64]string{}
	for _, d := range devs {
		devByID[d.ID] = d
	}
	for _, u := range users {
		nameOf[u.ID] = u.Name
	}
	byOrg := map[int64]*MaintenanceOrg{}
	var out []*MaintenanceOrg
	for _, o := range orgs {
		mo := &MaintenanceOrg{Org: o}
		byOrg[o.ID] = mo
		out = append(out, mo)
	}
	for _, t := range ts {
		mo := byOrg[t.OrgID]
		if mo == nil {
			continue
		}
		switch {
		case t.DeviceID != nil:
			if d, ok := devByID[*t.DeviceID]; ok && d.OrgID == t.OrgID {
				mo.Devices = append(mo.Devices, d)
			}
		case t.Cabinet != "":
			mo.Cabinets = append(mo.Cabinets, t.Cabinet)
		default:
			mo.Whole = true
		}
	}
	for i := range answers {
		if mo := byOrg[answers[i].OrgID]; mo != nil {
			mo.Answer = &answers[i]
			if a := answers[i].UserID; a != nil {
				mo.AnsweredBy = nameOf[*a]
			}
		}
	}
	res := make([]MaintenanceOrg, len(out))
	for i, mo := range out {
		sort.Strings(mo.Cabinets)
		sort.Slice(mo.Devices, func(a, b int) bool { return mo.Devices[a].Name < mo.Devices[b].Name })
		res[i] = *mo
	}
	sort.SliceStable(res, func(a, b int) bool { return res[a].Org.Name < res[b].Org.Name })
	return res, nil
}

// AnswerMaintenance records the answer (MaintenanceAgreed or
// MaintenanceDeclined) of user's organization to the window of reference
// ref, with an optional note. user must be a customer user of an
// organization the window touches (else ErrNotFound). An organization may
// change its answer until the window starts; after that the answers are
// final. A cancelled window takes no answer.
func (s *Store) AnswerMaintenance(ctx context.Context, actor Actor, user *User, ref, answer, note string) (*MaintenanceAnswer, error) {
	if user == nil || user.Role != RoleCustomer || user.OrgID == nil || !ValidRequestRef(ref) {
		return nil, wrap(ErrNotFound, "answer maintenance")
	}
	orgID := *user.OrgID
	var p problems // of the input alone
	if answer != MaintenanceAgreed && answer != MaintenanceDeclined {
		p.add(Invalid("answer", "maintenance.error.answer"))
	}
	note = strings.TrimSpace(note)
	p.add(CheckText("note", note, 500))
	invalid := p.err()
	now := s.now()
	var a *MaintenanceAnswer
	err := s.tx(ctx, func(tx *gorm.DB) error {
		a = nil
		var w MaintenanceWindow
		if err := forUpdate(visibleWindows(tx, OrgScope(orgID))).Where("ref = ?", ref).First(&w).Error; err != nil {
			return notFound(err)
		}
		var pp problems
		pp.add(invalid)
		switch {
		case w.CancelledAt != nil:
			pp.add(Invalid("answer", "maintenance.error.cancelled"))
		case !w.Answerable(now):
			pp.add(Invalid("answer", "maintenance.error.started"))
		}
		if err := pp.err(); err != nil {
			return err
		}
		var old MaintenanceAnswer
		err := tx.Where("window_id = ? AND org_id = ?", w.ID, orgID).Take(&old).Error
		if optionalRow(err) != nil {
			return err
		}
		a = &MaintenanceAnswer{WindowID: w.ID, OrgID: orgID, Answer: answer, UserID: &user.ID, Note: note, AnsweredAt: now}
		detail := map[string]any{"window": w.Number(), "answer": answer, "note": note}
		if err == nil {
			detail["previous"] = old.Answer
			if err := tx.Model(&MaintenanceAnswer{}).Where("window_id = ? AND org_id = ?", w.ID, orgID).
				Updates(map[string]any{"answer": answer, "user_id": user.ID, "note": note, "answered_at": now}).Error; err != nil {
				return err
			}
		} else if err := tx.Create(a).Error; err != nil {
			return err
		}
		return s.audit(tx, actor, AuditMaintenanceAnswered, "maintenance_window", &w.ID, &orgID, detail)
	})
	if err != nil {
		return nil, wrap(err, "answer maintenance")
	}
	return a, nil
}

// CancelMaintenance cancels the window of reference ref before it starts,
// with the reason, which each affected organization's contacts are
// emailed. A window that has started stands.
func (s *Store) CancelMaintenance(ctx context.Context, actor Actor, ref, reason string) (*MaintenanceWindow, error) {
	if !ValidRequestRef(ref) {
		return nil, wrap(ErrNotFound, "cancel maintenance")
	}
	var p problems
	reason = strings.TrimSpace(reason)
	if reason == "" {
		p.add(Invalid("reason", "error.required"))
	}
	p.add(CheckText("reason", reason, 500))
	invalid := p.err()
	now := s.now()
	var w MaintenanceWindow
	err := s.tx(ctx, func(tx *gorm.DB) error {
		w = MaintenanceWindow{}
		if err := forUpdate(tx).Where("ref = ?", ref).First(&w).Error; err != nil {
			return notFound(err)
		}
		var pp problems
		pp.add(invalid)
		switch {
		case w.CancelledAt != nil:
			pp.add(Invalid("reason", "maintenance.error.cancelled"))
		case !w.Cancellable(now):
			pp.add(Invalid("reason", "maintenance.error.cancel_started"))
		}
		if err := pp.err(); err != nil {
			return err
		}
		if err := tx.Model(&MaintenanceWindow{}).Where("id = ? AND cancelled_at IS NULL", w.ID).
			Updates(map[string]any{"cancelled_at": now, "cancel_reason": reason, "updated_at": now}).Error; err != nil {
			return err
		}
		w.CancelledAt, w.CancelReason, w.UpdatedAt = &now, reason, now
		var orgs []int64
		if err := tx.Model(&MaintenanceTarget{}).Where("window_id = ?", w.ID).Distinct().Order("org_id").Pluck("org_id", &orgs).Error; err != nil {
			return err
		}
		for _, org := range orgs {
			if err := s.outbox(tx, EventMaintenanceCancelled, org, w.ID, ""); err != nil {
				return err
			}
		}
		return s.audit(tx, actor, AuditMaintenanceCancelled, "maintenance_window", &w.ID, nil, map[string]any{
			"window": w.Number(), "reason": reason, "organizations": len(orgs)})
	})
	if err != nil {
		return nil, wrap(err, "cancel maintenance")
	}
	return &w, nil
}

// MaintenanceRow is one window of a list: for staff, how many
// organizations it touches and how many agreed and declined; for a
// customer, its organization's answer.
type MaintenanceRow struct {
	Window   MaintenanceWindow
	Orgs     int
	Agreed   int
	Declined int
	// Answer is the customer's organization's answer ("" for none).
	Answer     string
	AnsweredAt *time.Time
}

// ListMaintenance lists the windows the scope may see (a customer: those
// touching its organization, with its answer): the upcoming and running
// ones, earliest first, or with past the ended ones, latest first; at
// most limit.
func (s *Store) ListMaintenance(ctx context.Context, sc Scope, past bool, limit int) ([]MaintenanceRow, error) {
	now := s.now().UTC()
	type row struct {
		MaintenanceWindow `gorm:"embedded"`
		Orgs              int
		Agreed            int
		Declined          int
		Answer            *string
		AnsweredAt        *time.Time
	}
	q := visibleWindows(s.db.WithContext(ctx).Table("maintenance_windows"), sc)
	if org, ok := sc.Org(); ok && !sc.All() {
		q = q.Select("maintenance_windows.*, a.answer, a.answered_at").
			Joins("LEFT JOIN maintenance_answers a ON a.window_id = maintenance_windows.id AND a.org_id = ?", org)
	} else {
		q = q.Select("maintenance_windows.*, " +
			"(SELECT COUNT(DISTINCT t.org_id) FROM maintenance_targets t WHERE t.window_id = maintenance_windows.id) AS orgs, " +
			"(SELECT COUNT(*) FROM maintenance_answers a WHERE a.window_id = maintenance_windows.id AND a.answer = 'agreed') AS agreed, " +
			"(SELECT COUNT(*) FROM maintenance_answers a WHERE a.window_id = maintenance_windows.id AND a.answer = 'declined') AS declined")
	}
	if past {
		q = q.Where("maintenance_windows.ends_at <= ?", now).Order("maintenance_windows.starts_at DESC, maintenance_windows.id DESC")
	} else {
		q = q.Where("maintenance_windows.ends_at > ?", now).Order("maintenance_windows.starts_at, maintenance_windows.id")
	}
	var rows []row
	if err := q.Limit(limit).Scan(&rows).Error; err != nil {
		return nil, wrap(err, "list maintenance")
	}
	out := make([]MaintenanceRow, len(rows))
	for i, r := range rows {
		out[i] = MaintenanceRow{Window: r.MaintenanceWindow, Orgs: r.Orgs, Agreed: r.Agreed, Declined: r.Declined, AnsweredAt: r.AnsweredAt}
		if r.Answer != nil {
			out[i].Answer = *r.Answer
		}
	}
	return out, nil
}

// MaintenanceToAnswer lists the windows touching organization orgID that
// it may still answer and has not (not cancelled, not started), earliest
// first, at most limit: the customer's home shows them.
func (s *Store) MaintenanceToAnswer(ctx context.Context, sc Scope, orgID int64, limit int) ([]MaintenanceWindow, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "maintenance to answer")
	}
	var ws []MaintenanceWindow
	err := s.db.WithContext(ctx).Where("cancelled_at IS NULL AND starts_at > ?", s.now().UTC()).
		Where("id IN (SELECT window_id FROM maintenance_targets WHERE org_id = ?)", orgID).
		Where("id NOT IN (SELECT window_id FROM maintenance_answers WHERE org_id = ?)", orgID).
		Order("starts_at, id").Limit(limit).Find(&ws).Error
	return ws, wrap(err, "maintenance to answer")
}

// maintenanceRecipients are whom a window's announcement or cancellation
// goes to: the organization's contacts who chose the email channel, in
// their order.
func maintenanceRecipients(tx *gorm.DB, orgID int64) ([]emailRecipient, error) {
	var cs []Contact
	if err := tx.Select("id", "email", "locale", "channels").Where("org_id = ? AND email <> ''", orgID).
		Order("priority, id").Find(&cs).Error; err != nil {
		return nil, err
	}
	var out []emailRecipient
	for _, c := range cs {
		if slices.Contains(c.ChannelList(), ChannelEmail) {
			out = append(out, emailRecipient{ContactID: c.ID, Address: c.Email, Locale: c.Locale})
		}
	}
	return out, nil
}

// MaintenanceFacts is what an email about a window says to one
// organization: the window, and what it touches of that organization only.
type MaintenanceFacts struct {
	Event     string // EventMaintenanceAnnounced or EventMaintenanceCancelled
	Window    MaintenanceWindow
	Affected  MaintenanceOrg
	Org       Organization
	Cancelled bool
}

// MaintenanceFactsOf loads outbox event eventID of orgID (a window's
// announcement or cancellation) with what the window touches of orgID.
// What no longer exists is ErrNotFound.
func (s *Store) MaintenanceFactsOf(ctx context.Context, sc Scope, orgID, eventID int64) (*MaintenanceFacts, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "maintenance facts")
	}
	db := s.db.WithContext(ctx)
	var ev OutboxEvent
	if err := db.Where("org_id = ? AND id = ? AND kind IN ?", orgID, eventID,
		[]string{EventMaintenanceAnnounced, EventMaintenanceCancelled}).First(&ev).Error; err != nil {
		return nil, wrap(notFound(err), "maintenance facts")
	}
	f := &MaintenanceFacts{Event: ev.Kind, Cancelled: ev.Kind == EventMaintenanceCancelled}
	if err := db.First(&f.Window, ev.RefID).Error; err != nil {
		return nil, wrap(notFound(err), "maintenance facts")
	}
	orgs, err := maintenanceOrgs(db, OrgScope(orgID), f.Window.ID)
	if err != nil {
		return nil, wrap(err, "maintenance facts")
	}
	if len(orgs) != 1 {
		return nil, wrap(ErrNotFound, "maintenance facts")
	}
	f.Affected, f.Org = orgs[0], orgs[0].Org
	return f, nil
}
