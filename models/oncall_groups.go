package models

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
)

// The on-call page in a storm: when an upstream link fails, one
// organization may have thousands of open outages, each with its own
// notice and call task. Staff see one line per organization and contact
// to call, and one line per organization of outages, each naming the
// first devices and counting the rest, so that the page stays small
// whatever the number of outages.

// GroupDevices is the most devices or outages a group lists.
const GroupDevices = 50

// CallGroup is every pending phone call to one contact of one
// organization at one number: one call tells them about all of it.
type CallGroup struct {
	OrgID     int64
	Org       string
	ContactID int64
	Contact   string // "" when the contact was removed since
	Channel   Channel
	Address   string
	// Authorized: the contact may authorize, so an answered call stops
	// the clocks of the outages it is about.
	Authorized bool
	// Calls counts the pending call deliveries the group stands for
	// (Recoveries of them are recovery notices); Running counts the
	// running emergency clocks of their outages.
	Calls, Recoveries, Running int
	// FirstID and Queued are the oldest pending call delivery.
	FirstID int64
	Queued  Delivery
	// Clock is the group's most urgent clock: the running one nearest its
	// deadline, else a stopped one; nil when none.
	Clock *Clock
	// The line's outages are those its pending calls cover (what the
	// call tells of), not every outage of its organization: an outage
	// whose call went unanswered is on the line again once staff put
	// that call back (RetryDelivery). Down counts their devices still
	// down, since the earliest start of those (nil when none is open).
	Down  int
	Since *Outage
	// Devices are the line's first outages (open ones first, by start),
	// at most GroupDevices and fewer when the page's budget is spent (see
	// CallGroups); More is how many are not listed.
	Devices []OnCallOutage
	More    int
}

// Key names the group in a form and in the page (stable across refreshes).
func (g *CallGroup) Key() string { return fmt.Sprintf("%d-%d-%s", g.OrgID, g.ContactID, g.Address) }

// pendingCalls narrows deliveries to the pending phone calls.
func pendingCalls(q *gorm.DB, prefix string) *gorm.DB {
	return q.Where(prefix+"transport = ? AND "+prefix+"status = ?", TransportCall, DeliveryPending)
}

// CallGroups lists the pending phone calls that sc sees as one group per
// organization, contact and number, the most urgent clock first. Each
// group lists up to GroupDevices of the outages its calls cover, as long
// as budget (the rows of the whole list) lasts: the most urgent groups
// get theirs first; budget <= 0 lists none.
func (s *Store) CallGroups(ctx context.Context, sc Scope, budget int) ([]CallGroup, error) {
	db := s.db.WithContext(ctx)
	type agg struct {
		OrgID      int64
		ContactID  int64
		Address    string
		Calls      int
		Recoveries int
		Authorized int
		FirstID    int64
	}
	var rows []agg
	if err := pendingCalls(sc.apply(db.Model(&Delivery{}), "org_id"), "").
		Select("org_id, contact_id, address, COUNT(*) AS calls, SUM(CASE WHEN event = ? THEN 1 ELSE 0 END) AS recoveries, "+
			"MAX(CASE WHEN authorized THEN 1 ELSE 0 END) AS authorized, MIN(id) AS first_id", EventOutageClosed).
		Group("org_id, contact_id, address").Scan(&rows).Error; err != nil {
		return nil, wrap(err, "call groups")
	}
	if len(rows) == 0 {
		return nil, nil
	}
	out := make([]CallGroup, len(rows))
	idx := map[string]int{}
	var firstIDs, contactIDs, orgIDs []int64
	for i, r := range rows {
		out[i] = CallGroup{OrgID: r.OrgID, ContactID: r.ContactID, Address: r.Address, Calls: r.Calls,
			Recoveries: r.Recoveries, Authorized: r.Authorized == 1, FirstID: r.FirstID}
		idx[out[i].Key()] = i
		firstIDs, contactIDs, orgIDs = append(firstIDs, r.FirstID), append(contactIDs, r.ContactID), append(orgIDs, r.OrgID)
	}
	var first []Delivery
	if err := findIn(db, firstIDs, &first, whereID); err != nil {
		return nil, wrap(err, "call groups")
	}
	for _, d := range first {
		g := &out[idx[fmt.Sprintf("%d-%d-%s", d.OrgID, d.ContactID, d.Address)]]
		g.Queued, g.Channel = d, d.Channel
	}
	// Each group's most urgent clock, and how many of its clocks run.
	type clockRow struct {
		OrgID     int64
		ContactID int64
		Address   string
		ClockID   int64
		Running   int
	}
	// The outages a pending call is about: its own (a call from before
	// notices were grouped), or every outage of its notice.
	about := callOutages(db, sc, EventOutageOpened)
	part := "PARTITION BY d.org_id, d.contact_id, d.address"
	numbered := db.Table("(?) AS d", about).
		Select("d.org_id, d.contact_id, d.address, c.id AS clock_id, "+
			"SUM(CASE WHEN c.outcome = ? THEN 1 ELSE 0 END) OVER ("+part+") AS running, "+
			"ROW_NUMBER() OVER ("+part+" ORDER BY CASE WHEN c.outcome = ? THEN 0 ELSE 1 END, c.deadline_at, c.id) AS n",
			ClockRunning, ClockRunning).
		// CROSS JOIN keeps SQLite's join order: without statistics it
		// scanned every emergency clock for each call and probed the
		// notice's outages (0.6 s at 10,000 outages), instead of reading
		// each call's outages and then their clocks by key (9 ms). MySQL
		// reads it as the inner join it is.
		Joins("CROSS JOIN sla_clocks c").Where("c.kind = ? AND c.ref_id = d.oid", ClockEmergencyNotice)
	var crs []clockRow
	if err := db.Table("(?) AS x", numbered).Select("org_id, contact_id, address, clock_id, running").
		Where("n = 1").Scan(&crs).Error; err != nil {
		return nil, wrap(err, "call groups")
	}
	var clockIDs []int64
	for _, c := range crs {
		clockIDs = append(clockIDs, c.ClockID)
	}
	var clocks []Clock
	if err := findIn(db, clockIDs, &clocks, whereID); err != nil {
		return nil, wrap(err, "call groups")
	}
	byID := map[int64]*Clock{}
	for i := range clocks {
		byID[clocks[i].ID] = &clocks[i]
	}
	for _, c := range crs {
		if i, ok := idx[fmt.Sprintf("%d-%d-%s", c.OrgID, c.ContactID, c.Address)]; ok {
			out[i].Clock, out[i].Running = byID[c.ClockID], c.Running
		}
	}
	var cs []Contact
	if err := findIn(db, contactIDs, &cs, idAndName); err != nil {
		return nil, wrap(err, "call groups")
	}
	names := map[int64]string{}
	for _, c := range cs {
		names[c.ID] = c.Name
	}
	orgs, _, err := s.orgAndDeviceNames(ctx, orgIDs, nil)
	if err != nil {
		return nil, wrap(err, "call groups")
	}
	for i := range out {
		g := &out[i]
		g.Contact, g.Org = names[g.ContactID], orgs[g.OrgID]
	}
	slices.SortStableFunc(out, func(a, b CallGroup) int {
		if c := runningFirst(a.Clock, b.Clock); c != 0 {
			return c
		}
		return a.Queued.CreatedAt.Compare(b.Queued.CreatedAt)
	})
	// Each line's own outages (what its call tells of), the most urgent
	// lines first, within budget: charged once per organization, as its
	// contacts' lines mostly cover the same notices.
	want, perOrg := map[string]int{}, map[int64]int{}
	for _, g := range out {
		n, seen := perOrg[g.OrgID]
		if !seen {
			n = 0
			if budget > 0 {
				n = min(GroupDevices, budget)
				budget -= n
			}
			perOrg[g.OrgID] = n
		}
		want[g.Key()] = n
	}
	if err := s.callGroupOutages(ctx, sc, out, want); err != nil {
		return nil, wrap(err, "call groups")
	}
	return out, nil
}

// callOutages is a subquery of the outages the pending phone calls that
// sc sees are about, by organization, contact and number (org_id,
// contact_id, address, oid): a call's own outage (a call from before
// notices were grouped), or every outage of its notice. events narrows
// the calls to those events (none: every call).
func callOutages(db *gorm.DB, sc Scope, events ...string) *gorm.DB {
	calls := func() *gorm.DB {
		q := pendingCalls(sc.apply(db.Table("deliveries d"), "d.org_id"), "d.")
		if len(events) > 0 {
			q = q.Where("d.event IN ?", events)
		}
		return q
	}
	return db.Raw("? UNION ALL ?",
		calls().Select("d.org_id, d.contact_id, d.address, d.outage_id AS oid").Where("d.notice_id = 0 AND d.outage_id <> 0"),
		calls().Joins("JOIN notice_outages n ON n.notice_id = d.notice_id").
			Select("d.org_id, d.contact_id, d.address, n.outage_id AS oid").Where("d.notice_id <> 0"))
}

// callGroupOutages fills each line's devices from the outages its pending
// calls cover, not from its organization's: Down counts their devices
// still down and Since is the earliest of those outages; Devices lists the
// first want[line] of them (open ones first, by start) and More counts the
// rest. A line says what its call tells of, so that an answered call
// stops the clocks the line listed and no other.
func (s *Store) callGroupOutages(ctx context.Context, sc Scope, out []CallGroup, want map[string]int) error {
	db := s.db.WithContext(ctx)
	covered := db.Table("(?) AS a", callOutages(db, sc)).Distinct("a.org_id, a.contact_id, a.address, a.oid")
	type aggRow struct {
		OrgID     int64
		ContactID int64
		Address   string
		Outages   int
		Down      int
	}
	var aggs []aggRow
	if err := db.Table("(?) AS k", covered).Joins("JOIN outages o ON o.id = k.oid").
		Select("k.org_id, k.contact_id, k.address, COUNT(*) AS outages, " +
			"COUNT(DISTINCT CASE WHEN o.ended_at IS NULL THEN o.device_id END) AS down").
		Group("k.org_id, k.contact_id, k.address").Scan(&aggs).Error; err != nil {
		return err
	}
	idx := map[string]int{}
	for i := range out {
		idx[out[i].Key()] = i
	}
	total := map[string]int{}
	for _, a := range aggs {
		key := fmt.Sprintf("%d-%d-%s", a.OrgID, a.ContactID, a.Address)
		if i, ok := idx[key]; ok {
			out[i].Down, total[key] = a.Down, a.Outages
		}
	}
	part := "PARTITION BY k.org_id, k.contact_id, k.address"
	numbered := db.Table("(?) AS k", covered).Joins("JOIN outages o ON o.id = k.oid").
		Select("k.org_id, k.contact_id, k.address, o.id AS outage_id, " +
			"ROW_NUMBER() OVER (" + part + " ORDER BY CASE WHEN o.ended_at IS NULL THEN 0 ELSE 1 END, o.started_at, o.id) AS n")
	type numRow struct {
		OrgID     int64
		ContactID int64
		Address   string
		OutageID  int64
		N         int
	}
	var rs []numRow
	if err := db.Table("(?) AS x", numbered).Select("org_id, contact_id, address, outage_id, n").
		Where("n <= ?", GroupDevices).Order("n").Scan(&rs).Error; err != nil {
		return err
	}
	// The first outage of every line (its Since when open), and the
	// listed ones of the lines within budget.
	var ids []int64
	seen := map[int64]bool{}
	for _, r := range rs {
		key := fmt.Sprintf("%d-%d-%s", r.OrgID, r.ContactID, r.Address)
		if (r.N == 1 || r.N <= want[key]) && !seen[r.OutageID] {
			seen[r.OutageID] = true
			ids = append(ids, r.OutageID)
		}
	}
	var os []Outage
	if err := findIn(db, ids, &os, whereID); err != nil {
		return err
	}
	byID := map[int64]*Outage{}
	for i := range os {
		byID[os[i].ID] = &os[i]
	}
	details, err := s.onCallDetails(ctx, os)
	if err != nil {
		return err
	}
	detail := map[int64]OnCallOutage{}
	for _, d := range details {
		detail[d.Outage.ID] = d
	}
	for _, r := range rs {
		i, ok := idx[fmt.Sprintf("%d-%d-%s", r.OrgID, r.ContactID, r.Address)]
		if !ok {
			continue
		}
		g := &out[i]
		if o := byID[r.OutageID]; r.N == 1 && o != nil && o.EndedAt == nil {
			g.Since = o
		}
		if d, ok := detail[r.OutageID]; ok && r.N <= want[g.Key()] {
			g.Devices = append(g.Devices, d)
		}
	}
	for i := range out {
		g := &out[i]
		g.More = max(0, total[g.Key()]-len(g.Devices))
	}
	return nil
}

func sortedIDs(ids []int64) []int64 {
	c := slices.Clone(ids)
	slices.Sort(c)
	return c
}

// onCallSet narrows outages to those on the on-call page: open, or with
// their emergency clock still running.
func onCallSet(db *gorm.DB, prefix string) *gorm.DB {
	running := db.Session(&gorm.Session{NewDB: true}).Model(&Clock{}).Select("ref_id").
		Where("kind = ? AND outcome = ?", ClockEmergencyNotice, ClockRunning)
	return db.Where("("+prefix+"ended_at IS NULL OR "+prefix+"id IN (?))", running)
}

// orgOutagesFirst lists, for each organization of want, its first want[org]
// outages on the on-call page with what the page shows of them: by start
// (open ones first), or with urgent the running clocks nearest their
// deadline first, then missed ones, then by confirmation.
func (s *Store) orgOutagesFirst(ctx context.Context, want map[int64]int, urgent bool) (map[int64][]OnCallOutage, error) {
	out := map[int64][]OnCallOutage{}
	var orgIDs []int64
	for id, n := range want {
		if n > 0 {
			orgIDs = append(orgIDs, id)
		}
	}
	if len(orgIDs) == 0 {
		return out, nil
	}
	db := s.db.WithContext(ctx)
	order := "CASE WHEN o.ended_at IS NULL THEN 0 ELSE 1 END, o.started_at, o.id"
	if urgent {
		order = fmt.Sprintf("CASE c.outcome WHEN '%s' THEN 0 WHEN '%s' THEN 1 ELSE 2 END, c.deadline_at, o.confirmed_at, o.id",
			ClockRunning, ClockMissed)
	}
	var os []Outage
	for chunk := range chunks(sortedIDs(orgIDs)) {
		numbered := onCallSet(db.Table("outages o"), "o.").
			Select("o.id, o.org_id, ROW_NUMBER() OVER (PARTITION BY o.org_id ORDER BY "+order+") AS n").
			Joins("LEFT JOIN sla_clocks c ON c.kind = ? AND c.ref_id = o.id", ClockEmergencyNotice).
			Where("o.org_id IN ?", chunk)
		type row struct {
			ID    int64
			OrgID int64
			N     int
		}
		var rs []row
		if err := db.Table("(?) AS x", numbered).Select("id, org_id, n").Where("n <= ?", GroupDevices).Scan(&rs).Error; err != nil {
			return nil, err
		}
		var ids []int64
		for _, r := range rs {
			if r.N <= want[r.OrgID] {
				ids = append(ids, r.ID)
			}
		}
		if err := findIn(db, ids, &os, whereID); err != nil {
			return nil, err
		}
	}
	details, err := s.onCallDetails(ctx, os)
	if err != nil {
		return nil, err
	}
	for _, d := range details {
		out[d.Outage.OrgID] = append(out[d.Outage.OrgID], d)
	}
	for id, list := range out {
		if urgent {
			slices.SortStableFunc(list, func(a, b OnCallOutage) int {
				if c := worstFirst(a.Clock, b.Clock); c != 0 {
					return c
				}
				return a.Outage.ConfirmedAt.Compare(b.Outage.ConfirmedAt)
			})
		} else {
			slices.SortStableFunc(list, func(a, b OnCallOutage) int {
				if ao, bo := a.Outage.EndedAt == nil, b.Outage.EndedAt == nil; ao != bo {
					if ao {
						return -1
					}
					return 1
				}
				if c := a.Outage.StartedAt.Compare(b.Outage.StartedAt); c != 0 {
					return c
				}
				return int(a.Outage.ID - b.Outage.ID)
			})
		}
		out[id] = list
	}
	return out, nil
}

// worstFirst orders running clocks first, nearest deadline first, then
// missed ones, then the rest.
func worstFirst(a, b *Clock) int {
	rank := func(c *Clock) int {
		switch {
		case c != nil && c.Outcome == ClockRunning:
			return 0
		case c != nil && c.Outcome == ClockMissed:
			return 1
		}
		return 2
	}
	if ra, rb := rank(a), rank(b); ra != rb {
		return ra - rb
	} else if ra == 0 {
		return a.DeadlineAt.Compare(b.DeadlineAt)
	}
	return 0
}

// OutageGroup is one organization's outages on the on-call page.
type OutageGroup struct {
	OrgID int64
	Org   string
	// Outages counts them: Open still open (the rest recovered with
	// their clock still running); by clock: Running, Missed, Met, and
	// NoClock for outages from before clocks were kept.
	Outages, Open, Running, Missed, Met, NoClock int
	// Clock is the worst: the running one nearest its deadline, else a
	// missed one, else any; Since the earliest start.
	Clock *Clock
	Since *Outage
	// First are the first outages, worst clock first: at most
	// GroupDevices and fewer when the page's budget is spent; More is
	// how many are not listed.
	First []OnCallOutage
	More  int
}

// OnCallOutageGroups lists the outages of OnCallOutages as one group per
// organization, the worst clock first. budget bounds the outages listed
// across all groups, the worst groups getting theirs first.
func (s *Store) OnCallOutageGroups(ctx context.Context, sc Scope, budget int) ([]OutageGroup, error) {
	db := s.db.WithContext(ctx)
	type agg struct {
		OrgID                                             int64
		Outages, StillOpen, Running, Missed, Met, NoClock int
	}
	var rows []agg
	if err := onCallSet(sc.apply(db.Table("outages o"), "o.org_id"), "o.").
		Select("o.org_id, COUNT(*) AS outages, SUM(CASE WHEN o.ended_at IS NULL THEN 1 ELSE 0 END) AS still_open, "+
			"SUM(CASE WHEN c.outcome = ? THEN 1 ELSE 0 END) AS running, SUM(CASE WHEN c.outcome = ? THEN 1 ELSE 0 END) AS missed, "+
			"SUM(CASE WHEN c.outcome = ? THEN 1 ELSE 0 END) AS met, SUM(CASE WHEN c.id IS NULL THEN 1 ELSE 0 END) AS no_clock",
			ClockRunning, ClockMissed, ClockMet).
		Joins("LEFT JOIN sla_clocks c ON c.kind = ? AND c.ref_id = o.id", ClockEmergencyNotice).
		Group("o.org_id").Scan(&rows).Error; err != nil {
		return nil, wrap(err, "on call outage groups")
	}
	if len(rows) == 0 {
		return nil, nil
	}
	out := make([]OutageGroup, len(rows))
	idx := map[int64]int{}
	var orgIDs []int64
	for i, r := range rows {
		out[i] = OutageGroup{OrgID: r.OrgID, Outages: r.Outages, Open: r.StillOpen, Running: r.Running, Missed: r.Missed,
			Met: r.Met, NoClock: r.NoClock}
		idx[r.OrgID] = i
		orgIDs = append(orgIDs, r.OrgID)
	}
	// Each organization's worst clock and earliest start.
	for chunk := range chunks(sortedIDs(orgIDs)) {
		numbered := onCallSet(db.Table("outages o"), "o.").
			Select("c.id AS clock_id, o.id AS outage_id, "+
				fmt.Sprintf("ROW_NUMBER() OVER (PARTITION BY o.org_id ORDER BY CASE c.outcome WHEN '%s' THEN 0 WHEN '%s' THEN 1 ELSE 2 END, c.deadline_at, o.id) AS w, ",
					ClockRunning, ClockMissed)+
				"ROW_NUMBER() OVER (PARTITION BY o.org_id ORDER BY o.started_at, o.id) AS f").
			Joins("LEFT JOIN sla_clocks c ON c.kind = ? AND c.ref_id = o.id", ClockEmergencyNotice).
			Where("o.org_id IN ?", chunk)
		type row struct {
			ClockID  *int64
			OutageID int64
			W, F     int
		}
		var rs []row
		if err := db.Table("(?) AS x", numbered).Select("clock_id, outage_id, w, f").Where("w = 1 OR f = 1").Scan(&rs).Error; err != nil {
			return nil, wrap(err, "on call outage groups")
		}
		var clockIDs, outageIDs []int64
		for _, r := range rs {
			if r.W == 1 && r.ClockID != nil {
				clockIDs = append(clockIDs, *r.ClockID)
			}
			if r.F == 1 {
				outageIDs = append(outageIDs, r.OutageID)
			}
		}
		var clocks []Clock
		if err := findIn(db, clockIDs, &clocks, whereID); err != nil {
			return nil, wrap(err, "on call outage groups")
		}
		for i := range clocks {
			out[idx[clocks[i].OrgID]].Clock = &clocks[i]
		}
		var firsts []Outage
		if err := findIn(db, outageIDs, &firsts, whereID); err != nil {
			return nil, wrap(err, "on call outage groups")
		}
		for i := range firsts {
			out[idx[firsts[i].OrgID]].Since = &firsts[i]
		}
	}
	orgs, _, err := s.orgAndDeviceNames(ctx, orgIDs, nil)
	if err != nil {
		return nil, wrap(err, "on call outage groups")
	}
	for i := range out {
		out[i].Org = orgs[out[i].OrgID]
	}
	slices.SortStableFunc(out, func(a, b OutageGroup) int {
		if c := worstFirst(a.Clock, b.Clock); c != 0 {
			return c
		}
		if a.Since != nil && b.Since != nil {
			return a.Since.StartedAt.Compare(b.Since.StartedAt)
		}
		return 0
	})
	want := map[int64]int{}
	for _, g := range out {
		if budget <= 0 {
			break
		}
		n := min(GroupDevices, budget, g.Outages)
		want[g.OrgID], budget = n, budget-n
	}
	listed, err := s.orgOutagesFirst(ctx, want, true)
	if err != nil {
		return nil, wrap(err, "on call outage groups")
	}
	for i := range out {
		g := &out[i]
		g.First = listed[g.OrgID]
		g.More = max(0, g.Outages-len(g.First))
	}
	return out, nil
}

// callAuditIDs is the most delivery IDs one call_logged record names.
const callAuditIDs = 1000

// LogCalls records one phone call to a contact of orgID at address, made
// by staff, as the result of every pending call delivery to them there
// (about any outage or notice): each is finished as LogCall finishes one
// (finishAttempt), so that every clock a delivered notice stops stops,
// all in one transaction. The call is audited once, as notify.call_logged
// naming the delivery IDs (one record per 1,000 of them). It returns how
// many deliveries it ended; a group with none pending is ErrNotFound.
//
// asOf is when the page staff called from was drawn: what they told the
// contact is what it listed. A call covers no outage staff did not see:
// when an outage joined one of the line's notices after asOf, or one of
// its pending calls was queued (or put back) after asOf, nothing is
// logged and the result is a validation error on "as_of" naming how many
// devices the page did not show (CallListChanged).
func (s *Store) LogCalls(ctx context.Context, actor Actor, orgID, contactID int64, address string, answered bool, note string, asOf time.Time) (int, error) {
	result := DeliveryNoAnswer
	if answered {
		result = DeliveryAnswered
	}
	n := 0
	err := s.rederiveTx(ctx, func(tx *gorm.DB) error {
		n = 0
		var ids []int64
		if err := pendingCalls(tx.Model(&Delivery{}), "").Where("org_id = ? AND contact_id = ? AND address = ?", orgID, contactID, address).
			Order("id").Pluck("id", &ids).Error; err != nil {
			return err
		}
		// Locked by their keys, in ascending order: a call logged twice at
		// once ends each delivery once (the second sees them no longer
		// pending).
		var ds []Delivery
		for chunk := range chunks(ids) {
			var part []Delivery
			if err := forUpdate(pendingCalls(tx.Model(&Delivery{}), "")).Where("id IN ?", chunk).Order("id").Find(&part).Error; err != nil {
				return err
			}
			ds = append(ds, part...)
		}
		if len(ds) == 0 {
			return ErrNotFound
		}
		// The line's notices are locked first (by key, ascending), so no
		// outage joins one between this check and its seal, and the check
		// reads their members with a locking read (the latest committed).
		for chunk := range chunks(ids) {
			if err := forUpdate(tx.Model(&Notice{})).Select("id").Where("id IN (?)", tx.Session(&gorm.Session{NewDB: true}).
				Model(&Delivery{}).Select("notice_id").Where("(id IN ? OR merged_into IN ?) AND notice_id <> 0", chunk, chunk)).
				Order("id").Find(&[]Notice{}).Error; err != nil {
				return err
			}
		}
		if later, err := coveredSince(tx, ds, asOf); err != nil {
			return err
		} else if later > 0 {
			return CallListChanged(later)
		}
		// Outages in ascending order, the order every re-derivation takes.
		slices.SortStableFunc(ds, func(a, b Delivery) int {
			if a.OutageID != b.OutageID {
				return int(a.OutageID - b.OutageID)
			}
			return int(a.ID - b.ID)
		})
		done := make([]int64, 0, len(ds))
		for i := range ds {
			if err := s.finishAttempt(tx, actor, &ds[i], result, note, nil); err != nil {
				return err
			}
			done = append(done, ds[i].ID)
		}
		n = len(done)
		slices.Sort(done)
		for chunk := range slices.Chunk(done, callAuditIDs) {
			first := chunk[0]
			if err := s.audit(tx, actor, AuditCallLogged, "delivery", &first, &orgID, map[string]any{
				"contact_id": contactID, "address": address, "result": result, "note": note,
				"deliveries": len(done), "delivery_ids": chunk}); err != nil {
				return err
			}
		}
		return nil
	})
	return n, wrap(err, "log calls")
}

// CallListChanged is the refusal of a call logged from a page drawn before
// n more devices joined what the call covers.
func CallListChanged(n int) error { return Invalid("as_of", "error.call_list_changed", Number(n)) }

// coveredSince counts the outages the call deliveries ds cover that staff
// could not have seen on a page drawn at asOf: those that joined one of
// their notices (or a storm summary's merged notices) after asOf, and
// every outage of a delivery queued after asOf or put back after it (a
// retried call: it has attempts, and next_attempt_at is when it was put
// back). A delivery of one outage (from before notices were grouped)
// covers its own outage.
func coveredSince(tx *gorm.DB, ds []Delivery, asOf time.Time) (int, error) {
	later := map[int64]bool{}
	var fresh, old []int64
	for _, d := range ds {
		isNew := d.CreatedAt.After(asOf) || (d.Attempts > 0 && d.NextAttemptAt.After(asOf))
		switch {
		case d.NoticeID == 0 && d.OutageID != 0:
			if isNew {
				later[d.OutageID] = true
			}
		case isNew:
			fresh = append(fresh, d.ID)
		default:
			old = append(old, d.ID)
		}
	}
	notices := func(ids []int64) *gorm.DB {
		return tx.Session(&gorm.Session{NewDB: true}).Model(&Delivery{}).Select("notice_id").
			Where("(id IN ? OR merged_into IN ?) AND notice_id <> 0", ids, ids)
	}
	add := func(ids []int64, joinedAfter bool) error {
		for chunk := range chunks(ids) {
			q := forUpdate(tx.Session(&gorm.Session{NewDB: true}).Model(&NoticeOutage{})).
				Where("notice_id IN (?)", notices(chunk))
			if joinedAfter {
				q = q.Where("joined_at > ?", asOf)
			}
			var oids []int64
			if err := q.Pluck("outage_id", &oids).Error; err != nil {
				return err
			}
			for _, id := range oids {
				later[id] = true
			}
		}
		return nil
	}
	if err := add(fresh, false); err != nil {
		return 0, err
	}
	if err := add(old, true); err != nil {
		return 0, err
	}
	return len(later), nil
}
