package models

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// States of a month's statement.
const (
	StatementRunning = "running" // the month has not ended: provisional
	StatementOpen    = "open"    // ended, not closed yet: provisional
	StatementClosed  = "closed"  // closed: frozen
)

// statementMonthsListed bounds how many months StatementMonths lists.
const statementMonthsListed = 24

// StatementMonth is one month of an organization's list of statements.
type StatementMonth struct {
	OrgID    int64
	Month    string // 2006-01
	State    string // StatementRunning, StatementOpen, StatementClosed
	ClosedAt *time.Time
	Ref      string // the closed statement's reference
	// Contracts counts the contracts that ran in the month.
	Contracts int
	Totals    []CurrencyTotal
}

// CurrentMonth is the month (2006-01) now falls in, in the provider's
// calendar.
func (s *Store) CurrentMonth() string { return s.now().In(s.zone).Format("2006-01") }

// MonthEnded reports whether month (2006-01) is over, in the provider's
// calendar; a month that does not parse has not.
func (s *Store) MonthEnded(month string) bool {
	_, to, _, err := s.monthBounds(month)
	return err == nil && !s.now().Before(to)
}

// StatementState is the state of a month's statement: closed, open (the
// month ended) or running.
func (s *Store) StatementState(month string, closed bool) string {
	switch {
	case closed:
		return StatementClosed
	case s.MonthEnded(month):
		return StatementOpen
	}
	return StatementRunning
}

// StatementMonths lists orgID's statements, newest first: from the month
// the organization was created or its first contract started, whichever
// is earlier, to the current month, at most 24 of them. Closed months are
// read back; the others are computed now, as Statement does.
func (s *Store) StatementMonths(ctx context.Context, sc Scope, orgID int64) ([]StatementMonth, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "statement months")
	}
	db := s.db.WithContext(ctx)
	var org Organization
	if err := db.Select("id", "created_at").First(&org, orgID).Error; err != nil {
		return nil, wrap(notFound(err), "statement months")
	}
	first, err := s.firstStatementMonth(db, org)
	if err != nil {
		return nil, fmt.Errorf("models: statement months: %w", err)
	}
	cur, err := time.ParseInLocation("2006-01", s.CurrentMonth(), s.zone)
	if err != nil {
		return nil, fmt.Errorf("models: statement months: %w", err)
	}
	var out []StatementMonth
	for m := cur; len(out) < statementMonthsListed; m = m.AddDate(0, -1, 0) {
		month := m.Format("2006-01")
		if month < first {
			break
		}
		st, err := s.Statement(ctx, sc, orgID, month)
		if err != nil {
			return nil, err
		}
		out = append(out, s.statementMonth(st))
	}
	return out, nil
}

// statementMonth is st as a line of a list of statements.
func (s *Store) statementMonth(st *Statement) StatementMonth {
	sm := StatementMonth{OrgID: st.OrgID, Month: st.Month, State: s.StatementState(st.Month, !st.Provisional), ClosedAt: st.ClosedAt,
		Ref: st.Ref, Totals: st.Totals}
	for _, cm := range st.Contracts {
		if cm.Days > 0 {
			sm.Contracts++
		}
	}
	return sm
}

// firstStatementMonth is the first month (2006-01) org has a statement
// of: the month it was created or its first contract started, whichever
// is earlier. org needs its ID and CreatedAt.
func (s *Store) firstStatementMonth(db *gorm.DB, org Organization) (string, error) {
	first := org.CreatedAt.In(s.zone).Format("2006-01")
	var start sql.NullString
	if err := db.Model(&Contract{}).Where("org_id = ?", org.ID).Select("MIN(starts_on)").Scan(&start).Error; err != nil {
		return "", err
	}
	if start.Valid && len(start.String) >= 7 && start.String[:7] < first {
		first = start.String[:7]
	}
	return first, nil
}

// StatementFilter narrows ListStatements.
type StatementFilter struct {
	OrgID int64 // 0: every organization the scope sees
	// From and To bound the months (2006-01), both included; "" is from
	// each organization's first month, to the current month.
	From, To string
	// After resumes the list after its last row: a keyset page.
	After *StatementKey
	Limit int // at most 200; 0 is 50
}

// StatementKey is where a keyset page of statements ends.
type StatementKey struct {
	OrgID int64  `json:"org"`
	Month string `json:"month"`
}

// statementOrgBatch is how many organizations ListStatements reads at a time.
const statementOrgBatch = 100

// ListStatements lists the monthly statements sc sees, as f narrows
// them, by organization (ascending ID) and within one the newest month
// first, at most f.Limit of them: each is read back once closed, else
// computed now, as Statement does, so only the page asked for is computed.
// A month that does not parse is a validation error of "from" or "to".
func (s *Store) ListStatements(ctx context.Context, sc Scope, f StatementFilter) ([]StatementMonth, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	for _, b := range []struct{ field, month string }{{"from", f.From}, {"to", f.To}} {
		if b.month == "" {
			continue
		}
		if _, _, _, err := s.monthBounds(b.month); err != nil {
			return nil, wrap(Invalid(b.field, "error.month_invalid"), "list statements")
		}
	}
	if f.OrgID != 0 && !sc.Allows(f.OrgID) {
		return nil, nil
	}
	last := s.CurrentMonth()
	if f.To != "" && f.To < last {
		last = f.To
	}
	db := s.db.WithContext(ctx)
	var out []StatementMonth
	afterOrg := int64(0)
	if f.After != nil {
		afterOrg = f.After.OrgID - 1 // that organization's later months still come
	}
	for len(out) < f.Limit {
		var orgs []Organization
		q := sc.apply(db.Model(&Organization{}), "id").Select("id", "created_at").Where("id > ?", afterOrg)
		if f.OrgID != 0 {
			q = q.Where("id = ?", f.OrgID)
		}
		if err := q.Order("id").Limit(statementOrgBatch).Find(&orgs).Error; err != nil {
			return nil, wrap(err, "list statements")
		}
		for _, org := range orgs {
			afterOrg = org.ID
			first, err := s.firstStatementMonth(db, org)
			if err != nil {
				return nil, wrap(err, "list statements")
			}
			if f.From > first {
				first = f.From
			}
			m, err := time.ParseInLocation("2006-01", last, s.zone)
			if err != nil {
				return nil, wrap(err, "list statements")
			}
			for ; len(out) < f.Limit; m = m.AddDate(0, -1, 0) {
				month := m.Format("2006-01")
				if month < first {
					break
				}
				if f.After != nil && org.ID == f.After.OrgID && month >= f.After.Month {
					continue
				}
				st, err := s.Statement(ctx, sc, org.ID, month)
				if err != nil {
					return nil, err
				}
				out = append(out, s.statementMonth(st))
			}
			if len(out) == f.Limit {
				break
			}
		}
		if len(orgs) < statementOrgBatch {
			break
		}
	}
	return out, nil
}
