package models

import (
	"fmt"
	"strings"
	"sync/atomic"

	"gorm.io/gorm"
)

// HookEventOf is hookEventOf.
func HookEventOf(s *Store, tx *gorm.DB, ev OutboxEvent) (HookEvent, bool, error) {
	return s.hookEventOf(tx, ev)
}

// RecordResultsIn runs RecordResults' work in the caller's transaction tx.
func RecordResultsIn(s *Store, tx *gorm.DB, results []ProbeResult) error {
	_, err := s.recordResults(tx, results, false)
	return err
}

// CountQueriesOn counts the reads of the store's database from now on
// whose SQL names table.
func CountQueriesOn(s *Store, table string) *atomic.Int64 {
	n := new(atomic.Int64)
	f := func(tx *gorm.DB) {
		if strings.Contains(tx.Statement.SQL.String(), table) {
			n.Add(1)
		}
	}
	id := queryCounters.Add(1)
	cb := s.db.Callback()
	_ = cb.Query().After("gorm:query").Register(fmt.Sprintf("count-on:q%d", id), f)
	_ = cb.Raw().After("gorm:raw").Register(fmt.Sprintf("count-on:r%d", id), f)
	_ = cb.Row().After("gorm:row").Register(fmt.Sprintf("count-on:row%d", id), f)
	return n
}
