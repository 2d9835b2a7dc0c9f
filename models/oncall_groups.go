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
	// Each group's most urgent clock, and how many of its clocks run: the
	// outages a pending call is about are its own (a call from before
	// notices were grouped) or every outage of its notice, so both are
	// read per notice (a handful of rows) and summed per line here,
	// instead of numbering every outage of every call.
	calls, err := pendingCallSources(db, sc)
	if err != nil {
		return nil, wrap(err, "call groups")
	}
	var noticeIDs, ownIDs []int64
	for _, c := range calls {
		if c.Event != EventOutageOpened {
			continue
		}
		if c.NoticeID != 0 {
			noticeIDs = append(noticeIDs, c.NoticeID)
		} else if c.OutageID != 0 {
			ownIDs = append(ownIDs, c.OutageID)
		}
	}
	noticeRunning, noticeClock, err := noticeClocks(db, noticeIDs)
	if err != nil {
		return nil, wrap(err, "call groups")
	}
	var clockIDs []int64
	for _, id := range noticeClock {
		clockIDs = append(clockIDs, id)
	}
	var clocks []Clock
	if err := findIn(db, clockIDs, &clocks, whereID); err != nil {
		return nil, wrap(err, "call groups")
	}
	byID := map[int64]*Clock{}
	for i := range clocks {
		byID[clocks[i].ID] = &clocks[i]
	}
	ownClock, ownRunning := map[int64]*Clock{}, map[int64]int{}
	for chunk := range chunks(sortedIDs(slices.Compact(sortedIDs(ownIDs)))) {
		var cs []Clock
		if err := db.Where("kind = ? AND ref_id IN ?", ClockEmergencyNotice, chunk).Find(&cs).Error; err != nil {
			return nil, wrap(err, "call groups")
		}
		for i := range cs {
			if cs[i].Outcome == ClockRunning {
				ownRunning[cs[i].RefID]++
			}
			if c := ownClock[cs[i].RefID]; c == nil || urgentFirst(&cs[i], c) < 0 {
				ownClock[cs[i].RefID] = &cs[i]
			}
		}
	}
	for _, c := range calls {
		i, ok := idx[fmt.Sprintf("%d-%d-%s", c.OrgID, c.ContactID, c.Address)]
		if !ok || c.Event != EventOutageOpened {
			continue
		}
		g := &out[i]
		var best *Clock
		if c.NoticeID != 0 {
			g.Running += noticeRunning[c.NoticeID]
			best = byID[noticeClock[c.NoticeID]]
		} else if c.OutageID != 0 {
			g.Running += ownRunning[c.OutageID]
			best = ownClock[c.OutageID]
		}
		if best != nil && (g.Clock == nil || urgentFirst(best, g.Clock) < 0) {
			g.Clock = best
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
	if err := s.callGroupOutages(ctx, sc, out, want, calls); err != nil {
		return nil, wrap(err, "call groups")
	}
	return out, nil
}

// callSource is a pending phone call: its line and what it is about (its
// notice, or its own outage when NoticeID is 0).
type callSource struct {
	OrgID     int64
	ContactID int64
	Address   string
	Event     string
	NoticeID  int64
	OutageID  int64
}

// pendingCallSources lists the pending phone calls sc sees.
func pendingCallSources(db *gorm.DB, sc Scope) ([]callSource, error) {
	var rs []callSource
	err := pendingCalls(sc.apply(db.Model(&Delivery{}), "org_id"), "").
		Select("org_id, contact_id, address, event, notice_id, outage_id").Order("id").Scan(&rs).Error
	return rs, err
}

// noticeClocks reads, for each notice of ids, how many of its outages'
// emergency clocks run and its most urgent clock (the running one nearest
// its deadline, else the first stopped one by deadline; as urgentFirst).
func noticeClocks(db *gorm.DB, ids []int64) (map[int64]int, map[int64]int64, error) {
	running, best := map[int64]int{}, map[int64]int64{}
	type row struct {
		NoticeID int64
		Running  int
		ClockID  int64
	}
	for chunk := range chunks(slices.Compact(sortedIDs(ids))) {
		var rs []row
		// CROSS JOIN keeps SQLite's join order (each notice's outages by
		// key, then their clocks by key; without statistics it scanned
		// every emergency clock once); MySQL reads it as an inner join.
		first := db.Session(&gorm.Session{NewDB: true}).Table("notice_outages n2").
			Joins("CROSS JOIN sla_clocks c2").
			Select("c2.id").Where("n2.notice_id = n.notice_id AND c2.kind = ? AND c2.ref_id = n2.outage_id", ClockEmergencyNotice).
			Order(fmt.Sprintf("CASE WHEN c2.outcome = '%s' THEN 0 ELSE 1 END, c2.deadline_at, c2.id", ClockRunning)).Limit(1)
		if err := db.Table("notice_outages n").Joins("CROSS JOIN sla_clocks c").
			Select("n.notice_id, SUM(CASE WHEN c.outcome = ? THEN 1 ELSE 0 END) AS running, (?) AS clock_id", ClockRunning, first).
			Where("n.notice_id IN ? AND c.kind = ? AND c.ref_id = n.outage_id", chunk, ClockEmergencyNotice).
			Group("n.notice_id").Scan(&rs).Error; err != nil {
			return nil, nil, err
		}
		for _, r := range rs {
			running[r.NoticeID], best[r.NoticeID] = r.Running, r.ClockID
		}
	}
	return running, best, nil
}

// urgentFirst orders clocks the running ones first, then by deadline, then
// by ID: the order of a line's most urgent clock.
func urgentFirst(a, b *Clock) int {
	if ar, br := a.Outcome == ClockRunning, b.Outcome == ClockRunning; ar != br {
		if ar {
			return -1
		}
		return 1
	}
	if c := a.DeadlineAt.Compare(b.DeadlineAt); c != 0 {
		return c
	}
	return int(a.ID - b.ID)
}

// callOutages is a subquery of the outages the pending phone calls that
// sc sees are about, by organization, contact and number (org_id,
// contact_id, address, oid): a call's own outage (a call from before
// notices were grouped), or every outage of its notice. orgIDs narrows
// the calls to those of its organizations (nil: every organization).
func callOutages(db *gorm.DB, sc Scope, orgIDs []int64) *gorm.DB {
	calls := func() *gorm.DB {
		q := pendingCalls(sc.apply(db.Table("deliveries d"), "d.org_id"), "d.")
		if orgIDs != nil {
			q = q.Where("d.org_id IN ?", orgIDs)
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
func (s *Store) callGroupOutages(ctx context.Context, sc Scope, out []CallGroup, want map[string]int, calls []callSource) error {
	db := s.db.WithContext(ctx)
	idx := map[string]int{}
	for i := range out {
		idx[out[i].Key()] = i
	}
	// A line's outages are a set: when its calls are all about one notice
	// (or one outage), the notice's counts are the line's, read per notice
	// (each notice's outages once); the lines of several sources are
	// counted from what their calls cover, for their organizations only.
	source := map[string]callSource{}
	var several []int64
	for _, c := range calls {
		key := fmt.Sprintf("%d-%d-%s", c.OrgID, c.ContactID, c.Address)
		if first, ok := source[key]; !ok {
			source[key] = c
		} else if first.NoticeID != c.NoticeID || (c.NoticeID == 0 && first.OutageID != c.OutageID) {
			several = append(several, c.OrgID)
		}
	}
	several = slices.Compact(sortedIDs(several))
	type aggRow struct {
		OrgID     int64
		ContactID int64
		Address   string
		Outages   int
		Down      int
	}
	total := map[string]int{}
	set := func(key string, outages, down int) {
		if i, ok := idx[key]; ok {
			out[i].Down, total[key] = down, outages
		}
	}
	if len(several) > 0 {
		covered := db.Table("(?) AS a", callOutages(db, sc, several)).Distinct("a.org_id, a.contact_id, a.address, a.oid")
		var aggs []aggRow
		if err := db.Table("(?) AS k", covered).Joins("JOIN outages o ON o.id = k.oid").
			Select("k.org_id, k.contact_id, k.address, COUNT(*) AS outages, " +
				"COUNT(DISTINCT CASE WHEN o.ended_at IS NULL THEN o.device_id END) AS down").
			Group("k.org_id, k.contact_id, k.address").Scan(&aggs).Error; err != nil {
			return err
		}
		for _, a := range aggs {
			set(fmt.Sprintf("%d-%d-%s", a.OrgID, a.ContactID, a.Address), a.Outages, a.Down)
		}
	}
	type noticeAgg struct {
		NoticeID int64
		Outages  int
		Down     int
	}
	var oneNotice, oneOutage []int64
	for key, c := range source {
		if _, done := total[key]; done || slices.Contains(several, c.OrgID) {
			continue
		}
		if c.NoticeID != 0 {
			oneNotice = append(oneNotice, c.NoticeID)
		} else if c.OutageID != 0 {
			oneOutage = append(oneOutage, c.OutageID)
		}
	}
	noticeCounts := map[int64]noticeAgg{}
	for chunk := range chunks(slices.Compact(sortedIDs(oneNotice))) {
		var rs []noticeAgg
		if err := db.Table("notice_outages n").Joins("JOIN outages o ON o.id = n.outage_id").
			Select("n.notice_id, COUNT(*) AS outages, COUNT(DISTINCT CASE WHEN o.ended_at IS NULL THEN o.device_id END) AS down").
			Where("n.notice_id IN ?", chunk).Group("n.notice_id").Scan(&rs).Error; err != nil {
			return err
		}
		for _, r := range rs {
			noticeCounts[r.NoticeID] = r
		}
	}
	own := map[int64]Outage{}
	for chunk := range chunks(slices.Compact(sortedIDs(oneOutage))) {
		var os []Outage
		if err := db.Select("id, ended_at").Where("id IN ?", chunk).Find(&os).Error; err != nil {
			return err
		}
		for _, o := range os {
			own[o.ID] = o
		}
	}
	for key, c := range source {
		if slices.Contains(several, c.OrgID) {
			continue
		}
		if c.NoticeID != 0 {
			if n, ok := noticeCounts[c.NoticeID]; ok {
				set(key, n.Outages, n.Down)
			}
		} else if o, ok := own[c.OutageID]; ok {
			down := 0
			if o.EndedAt == nil {
				down = 1
			}
			set(key, 1, down)
		}
	}
	// Since: the earliest open outage a line's calls cover, the earliest
	// of its notices' (read per notice) and of its calls' own outages.
	var noticeIDs, sinceIDs []int64
	for _, c := range calls {
		if c.NoticeID != 0 {
			noticeIDs = append(noticeIDs, c.NoticeID)
		} else if c.OutageID != 0 {
			sinceIDs = append(sinceIDs, c.OutageID)
		}
	}
	firstOpen := map[int64]int64{}
	for chunk := range chunks(slices.Compact(sortedIDs(noticeIDs))) {
		first := db.Session(&gorm.Session{NewDB: true}).Table("notice_outages n2").Joins("JOIN outages o2 ON o2.id = n2.outage_id").
			Select("n2.outage_id").Where("n2.notice_id = n.id AND o2.ended_at IS NULL").Order("o2.started_at, o2.id").Limit(1)
		type row struct {
			NoticeID int64
			OutageID *int64
		}
		var rs []row
		if err := db.Table("notices n").Select("n.id AS notice_id, (?) AS outage_id", first).Where("n.id IN ?", chunk).
			Scan(&rs).Error; err != nil {
			return err
		}
		for _, r := range rs {
			if r.OutageID != nil {
				firstOpen[r.NoticeID] = *r.OutageID
				sinceIDs = append(sinceIDs, *r.OutageID)
			}
		}
	}
	// The listed outages, numbered only for the lines that list some
	// (want is per organization: every line of one gets the same).
	var orgIDs []int64
	for _, g := range out {
		if want[g.Key()] > 0 {
			orgIDs = append(orgIDs, g.OrgID)
		}
	}
	orgIDs = slices.Compact(sortedIDs(orgIDs))
	type numRow struct {
		OrgID     int64
		ContactID int64
		Address   string
		OutageID  int64
		N         int
	}
	var rs []numRow
	if len(orgIDs) > 0 {
		listed := db.Table("(?) AS a", callOutages(db, sc, orgIDs)).Distinct("a.org_id, a.contact_id, a.address, a.oid")
		part := "PARTITION BY k.org_id, k.contact_id, k.address"
		numbered := db.Table("(?) AS k", listed).Joins("JOIN outages o ON o.id = k.oid").
			Select("k.org_id, k.contact_id, k.address, o.id AS outage_id, " +
				"ROW_NUMBER() OVER (" + part + " ORDER BY CASE WHEN o.ended_at IS NULL THEN 0 ELSE 1 END, o.started_at, o.id) AS n")
		if err := db.Table("(?) AS x", numbered).Select("org_id, contact_id, address, outage_id, n").
			Where("n <= ?", GroupDevices).Order("n").Scan(&rs).Error; err != nil {
			return err
		}
	}
	// The first open outage of every line (its Since), and the listed
	// ones of the lines within budget.
	ids := slices.Clone(sinceIDs)
	for _, r := range rs {
		if r.N <= want[fmt.Sprintf("%d-%d-%s", r.OrgID, r.ContactID, r.Address)] {
			ids = append(ids, r.OutageID)
		}
	}
	var os []Outage
	if err := findIn(db, slices.Compact(sortedIDs(ids)), &os, whereID); err != nil {
		return err
	}
	byID := map[int64]*Outage{}
	for i := range os {
		byID[os[i].ID] = &os[i]
	}
	for _, c := range calls {
		i, ok := idx[fmt.Sprintf("%d-%d-%s", c.OrgID, c.ContactID, c.Address)]
		if !ok {
			continue
		}
		id := c.OutageID
		if c.NoticeID != 0 {
			id = firstOpen[c.NoticeID]
		}
		o := byID[id]
		if o == nil || o.EndedAt != nil {
			continue
		}
		g := &out[i]
		if g.Since == nil || o.StartedAt.Before(g.Since.StartedAt) || (o.StartedAt.Equal(g.Since.StartedAt) && o.ID < g.Since.ID) {
			g.Since = o
		}
	}
	var listedOutages []Outage
	seen := map[int64]bool{}
	for _, r := range rs {
		if o := byID[r.OutageID]; o != nil && !seen[o.ID] && r.N <= want[fmt.Sprintf("%d-%d-%s", r.OrgID, r.ContactID, r.Address)] {
			seen[o.ID] = true
			listedOutages = append(listedOutages, *o)
		}
	}
	details, err := s.onCallDetails(ctx, listedOutages)
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
		// One ordered LIMIT 1 per organization (its own outages, by key)
		// rather than numbering every outage on the page twice.
		sub := func() *gorm.DB { return db.Session(&gorm.Session{NewDB: true}) }
		worst := onCallSet(sub().Table("outages o"), "o.").Select("c.id").
			Joins("LEFT JOIN sla_clocks c ON c.kind = ? AND c.ref_id = o.id", ClockEmergencyNotice).
			Where("o.org_id = g.id").
			Order(fmt.Sprintf("CASE c.outcome WHEN '%s' THEN 0 WHEN '%s' THEN 1 ELSE 2 END, c.deadline_at, o.id", ClockRunning, ClockMissed)).
			Limit(1)
		first := onCallSet(sub().Table("outages o"), "o.").Select("o.id").Where("o.org_id = g.id").
			Order("o.started_at, o.id").Limit(1)
		type row struct {
			ClockID  *int64
			OutageID *int64
		}
		var rs []row
		if err := db.Table("organizations g").Select("(?) AS clock_id, (?) AS outage_id", worst, first).
			Where("g.id IN ?", chunk).Scan(&rs).Error; err != nil {
			return nil, wrap(err, "on call outage groups")
		}
		var clockIDs, outageIDs []int64
		for _, r := range rs {
			if r.ClockID != nil {
				clockIDs = append(clockIDs, *r.ClockID)
			}
			if r.OutageID != nil {
				outageIDs = append(outageIDs, *r.OutageID)
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
