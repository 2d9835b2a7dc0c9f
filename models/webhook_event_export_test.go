package models

import "gorm.io/gorm"

// HookEventOf is hookEventOf.
func HookEventOf(s *Store, tx *gorm.DB, ev OutboxEvent) (HookEvent, bool, error) {
	return s.hookEventOf(tx, ev)
}

// RecordResultsIn runs RecordResults' work in the caller's transaction tx.
func RecordResultsIn(s *Store, tx *gorm.DB, results []ProbeResult) error {
	_, err := s.recordResults(tx, results, false)
	return err
}
