package models

import (
	"context"
	"database/sql"
	"fmt"
	"time"
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
	first := org.CreatedAt.In(s.zone).Format("2006-01")
	var start sql.NullString
	if err := db.Model(&Contract{}).Where("org_id = ?", orgID).Select("MIN(starts_on)").Scan(&start).Error; err != nil {
		return nil, fmt.Errorf("models: statement months: %w", err)
	}
	if start.Valid && len(start.String) >= 7 && start.String[:7] < first {
		first = start.String[:7]
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
		sm := StatementMonth{Month: month, State: s.StatementState(month, !st.Provisional), ClosedAt: st.ClosedAt, Ref: st.Ref,
			Totals: st.Totals}
		for _, cm := range st.Contracts {
			if cm.Days > 0 {
				sm.Contracts++
			}
		}
		out = append(out, sm)
	}
	return out, nil
}
