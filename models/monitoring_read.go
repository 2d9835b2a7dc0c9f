package models

import (
	"context"
	"fmt"
	"sort"
	"time"

	"gorm.io/gorm"
)

// Keyset-paged reads of monitoring records, for lists that may be long
// (the JSON API's devices, results, outages and notices): each reads at
// most limit rows after the key of the previous page's last row, and says
// whether more follow. Every one is scoped like the pages' reads.

// DevicesPage lists devices by ID after afterID: organization orgID's,
// or every one sc sees when orgID is 0. Each carries its tags.
func (s *Store) DevicesPage(ctx context.Context, sc Scope, orgID, afterID int64, limit int) ([]Device, bool, error) {
	if orgID != 0 && !sc.Allows(orgID) {
		return nil, false, wrap(ErrNotFound, "devices page")
	}
	db := s.db.WithContext(ctx)
	q := sc.apply(db, "org_id").Where("id > ?", afterID)
	if orgID != 0 {
		q = q.Where("org_id = ?", orgID)
	}
	var ds []Device
	if err := q.Order("id").Limit(limit + 1).Find(&ds).Error; err != nil {
		return nil, false, wrap(err, "devices page")
	}
	more := len(ds) > limit
	if more {
		ds = ds[:limit]
	}
	if len(ds) == 0 {
		return ds, false, nil
	}
	ids := make([]int64, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	var tags []DeviceTag
	if err := findIn(db, ids, &tags, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return sc.apply(q, "org_id").Where("device_id IN ?", chunk)
	}); err != nil {
		return nil, false, wrap(err, "devices page")
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i].Tag < tags[j].Tag })
	by := map[int64][]string{}
	for _, t := range tags {
		by[t.DeviceID] = append(by[t.DeviceID], t.Tag)
	}
	for i := range ds {
		ds[i].Tags = by[ds[i].ID]
	}
	return ds, more, nil
}

// ChecksOfDevices returns the checks of the devices given that sc sees,
// keyed by device, each device's by ID.
func (s *Store) ChecksOfDevices(ctx context.Context, sc Scope, deviceIDs []int64) (map[int64][]Check, error) {
	out := map[int64][]Check{}
	var cs []Check
	if err := findIn(s.db.WithContext(ctx), deviceIDs, &cs, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return sc.apply(q, "org_id").Where("device_id IN ?", chunk)
	}); err != nil {
		return nil, wrap(err, "checks of devices")
	}
	for _, c := range cs {
		out[c.DeviceID] = append(out[c.DeviceID], c)
	}
	for _, cs := range out { // chunks may come in any order
		sort.Slice(cs, func(i, j int) bool { return cs[i].ID < cs[j].ID })
	}
	return out, nil
}

// ResultsPage lists the raw results of a check of orgID in [from, to),
// newest first, those before before when it is not zero (the time of the
// previous page's last result; a check has one result an instant).
func (s *Store) ResultsPage(ctx context.Context, sc Scope, orgID, checkID int64, from, to, before time.Time, limit int) ([]ProbeResult, bool, error) {
	if !sc.Allows(orgID) {
		return nil, false, wrap(ErrNotFound, "results page")
	}
	utc(&from, &to, &before)
	if !before.IsZero() && before.Before(to) {
		to = before
	}
	db := s.db.WithContext(ctx)
	var rs []ProbeResult
	err := db.Joins("JOIN checks ON checks.id = probe_results.check_id AND checks.org_id = ?", orgID).
		Where("probe_results.check_id = ? AND probe_results.at >= ? AND probe_results.at < ?", checkID, from, to).
		Order("probe_results.at DESC").Limit(limit + 1).Find(&rs).Error
	if err != nil {
		return nil, false, wrap(err, "results page")
	}
	more := len(rs) > limit
	if more {
		rs = rs[:limit]
	}
	for i := range rs {
		if rs[i].Reason, err = s.reasons.name(db, rs[i].ReasonCode); err != nil {
			return nil, false, wrap(err, "results page")
		}
	}
	return rs, more, nil
}

// EachCheckResult is EachDeviceResult of one check of organization orgID:
// the same rows, in time order.
func (s *Store) EachCheckResult(ctx context.Context, sc Scope, orgID, checkID int64, from, to time.Time, fn func(ResultRow) error) error {
	if !sc.Allows(orgID) {
		return wrap(ErrNotFound, "each check result")
	}
	return s.eachResult(ctx, fn, "check "+fmt.Sprint(checkID), from, to,
		"checks.org_id = ? AND probe_results.check_id = ?", orgID, checkID)
}

// Outage states of OutageFilter.
const (
	OutageOpen   = "open"
	OutageClosed = "closed"
)

// OutageFilter narrows OutagesPage: an organization (0: every one the
// scope sees), a state (OutageOpen, OutageClosed, "" for both), outages
// that overlap [From, To) (either zero: unbounded on that side).
type OutageFilter struct {
	OrgID    int64
	State    string
	From, To time.Time
}

// OutageKey is where a page of outages resumes: after the outage that
// started at StartedAt with ID.
type OutageKey struct {
	StartedAt time.Time `json:"t"`
	ID        int64     `json:"id"`
}

// OutagesPage lists outages newest first (by start, then ID) after key
// (nil: from the newest).
func (s *Store) OutagesPage(ctx context.Context, sc Scope, f OutageFilter, after *OutageKey, limit int) ([]Outage, bool, error) {
	if f.OrgID != 0 && !sc.Allows(f.OrgID) {
		return nil, false, wrap(ErrNotFound, "outages page")
	}
	utc(&f.From, &f.To)
	q := sc.apply(s.db.WithContext(ctx), "org_id")
	if f.OrgID != 0 {
		q = q.Where("org_id = ?", f.OrgID)
	}
	switch f.State {
	case OutageOpen:
		q = q.Where("ended_at IS NULL")
	case OutageClosed:
		q = q.Where("ended_at IS NOT NULL")
	}
	if !f.To.IsZero() {
		q = q.Where("started_at < ?", f.To)
	}
	if !f.From.IsZero() {
		q = q.Where("ended_at IS NULL OR ended_at > ?", f.From)
	}
	if after != nil {
		at := after.StartedAt.UTC()
		q = q.Where("started_at < ? OR (started_at = ? AND id < ?)", at, at, after.ID)
	}
	var os []Outage
	if err := q.Order("started_at DESC, id DESC").Limit(limit + 1).Find(&os).Error; err != nil {
		return nil, false, wrap(err, "outages page")
	}
	more := len(os) > limit
	if more {
		os = os[:limit]
	}
	return os, more, nil
}

// NoticeOutageRecord is an outage a notice covers, with its emergency
// clock and, for a missed clock, its deduction line or waiver.
type NoticeOutageRecord struct {
	OutageID  int64
	JoinedAt  time.Time
	Clock     *Clock
	Deduction *Deduction
}

// NoticeRecord is a notice with the outages it covers.
type NoticeRecord struct {
	Notice
	Outages []NoticeOutageRecord
}

// NoticesPage lists the notices of organization orgID (0: every one sc
// sees), newest first by ID, before beforeID (0: from the newest), each
// with its outages, their clocks and outcomes.
func (s *Store) NoticesPage(ctx context.Context, sc Scope, orgID, beforeID int64, limit int) ([]NoticeRecord, bool, error) {
	if orgID != 0 && !sc.Allows(orgID) {
		return nil, false, wrap(ErrNotFound, "notices page")
	}
	q := sc.apply(s.db.WithContext(ctx), "org_id")
	if orgID != 0 {
		q = q.Where("org_id = ?", orgID)
	}
	if beforeID > 0 {
		q = q.Where("id < ?", beforeID)
	}
	var ns []Notice
	if err := q.Order("id DESC").Limit(limit + 1).Find(&ns).Error; err != nil {
		return nil, false, wrap(err, "notices page")
	}
	more := len(ns) > limit
	if more {
		ns = ns[:limit]
	}
	out, err := s.noticeRecords(ctx, sc, ns)
	return out, more, wrap(err, "notices page")
}

// GetNotice returns notice id with its outages, their clocks and
// outcomes, if sc sees its organization; else ErrNotFound.
func (s *Store) GetNotice(ctx context.Context, sc Scope, id int64) (*NoticeRecord, error) {
	var n Notice
	if err := sc.apply(s.db.WithContext(ctx), "org_id").Where("id = ?", id).First(&n).Error; err != nil {
		return nil, fmt.Errorf("models: get notice %d: %w", id, notFound(err))
	}
	out, err := s.noticeRecords(ctx, sc, []Notice{n})
	if err != nil {
		return nil, fmt.Errorf("models: get notice %d: %w", id, err)
	}
	return &out[0], nil
}

// noticeRecords adds to notices their outages, in the order they joined,
// with the outages' clocks and the deduction lines of the missed ones:
// three queries whatever the count.
func (s *Store) noticeRecords(ctx context.Context, sc Scope, ns []Notice) ([]NoticeRecord, error) {
	out := make([]NoticeRecord, len(ns))
	if len(ns) == 0 {
		return out, nil
	}
	ids := make([]int64, len(ns))
	for i, n := range ns {
		ids[i] = n.ID
	}
	db := s.db.WithContext(ctx)
	var joins []NoticeOutage
	if err := findIn(db, ids, &joins, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return sc.apply(q, "org_id").Where("notice_id IN ?", chunk)
	}); err != nil {
		return nil, err
	}
	var outageIDs []int64
	for _, j := range joins {
		outageIDs = append(outageIDs, j.OutageID)
	}
	clocks, err := s.outageClocks(ctx, outageIDs)
	if err != nil {
		return nil, err
	}
	var missed []int64
	for _, c := range clocks {
		if c.Outcome == ClockMissed {
			missed = append(missed, c.ID)
		}
	}
	var lines []Deduction
	if err := findIn(db, missed, &lines, func(q *gorm.DB, chunk []int64) *gorm.DB {
		return q.Where("clock_id IN ?", chunk).Order("id")
	}); err != nil {
		return nil, err
	}
	lineOf := map[int64]*Deduction{}
	for i := range lines {
		if lineOf[lines[i].ClockID] == nil || lines[i].ID < lineOf[lines[i].ClockID].ID {
			lineOf[lines[i].ClockID] = &lines[i]
		}
	}
	by := map[int64][]NoticeOutageRecord{}
	for _, j := range joins {
		r := NoticeOutageRecord{OutageID: j.OutageID, JoinedAt: j.JoinedAt, Clock: clocks[j.OutageID]}
		if r.Clock != nil {
			r.Deduction = lineOf[r.Clock.ID]
		}
		by[j.NoticeID] = append(by[j.NoticeID], r)
	}
	for i, n := range ns {
		rs := by[n.ID]
		sort.Slice(rs, func(a, b int) bool {
			if !rs[a].JoinedAt.Equal(rs[b].JoinedAt) {
				return rs[a].JoinedAt.Before(rs[b].JoinedAt)
			}
			return rs[a].OutageID < rs[b].OutageID
		})
		out[i] = NoticeRecord{Notice: n, Outages: rs}
	}
	return out, nil
}

// OutageNotices lists the notices of orgID telling of an outage, oldest
// first, with when it joined each and how many outages each covers (what
// the outage's dossier lists).
func (s *Store) OutageNotices(ctx context.Context, sc Scope, orgID, outageID int64) ([]DossierNotice, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "outage notices")
	}
	ns, err := outageNotices(s.db.WithContext(ctx), orgID, outageID)
	return ns, wrap(err, "outage notices")
}
