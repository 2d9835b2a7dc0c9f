package models

import (
	"iter"

	"gorm.io/gorm"
)

// idChunk bounds the values of one IN list. SQLite allows 32,766 variables in a statement and MySQL 65,535
// placeholders; a list built from the data (every check, every device of
// a data center) can pass either, so a statement never takes more than
// idChunk of them.
const idChunk = 1000

// chunks yields xs idChunk at a time, in order.
func chunks[T any](xs []T) iter.Seq[[]T] {
	return func(yield func([]T) bool) {
		for len(xs) > 0 {
			n := min(idChunk, len(xs))
			if !yield(xs[:n:n]) {
				return
			}
			xs = xs[n:]
		}
	}
}

// findIn loads into out the rows that query finds for each chunk of ids,
// appended in chunk order: query gets a fresh handle and one chunk, and
// adds the chunk to its WHERE (`id IN ?`). Rows of one chunk keep the
// query's order; a caller that needs one order across chunks sorts after.
func findIn[T any, ID any](db *gorm.DB, ids []ID, out *[]T, query func(q *gorm.DB, chunk []ID) *gorm.DB) error {
	for chunk := range chunks(ids) {
		var part []T
		if err := query(db.Session(&gorm.Session{NewDB: true}), chunk).Find(&part).Error; err != nil {
			return err
		}
		*out = append(*out, part...)
	}
	return nil
}

// rowChunk bounds the rows of one multi-row INSERT: each row takes one
// variable per column, so 200 rows stay under SQLite's limit for any of
// our tables (the widest has fewer than 40 columns).
const rowChunk = 200

// createInChunks inserts rows rowChunk at a time, one multi-row INSERT
// each, and sets their IDs as Create does.
func createInChunks[T any](tx *gorm.DB, rows []T) error {
	if len(rows) == 0 {
		return nil
	}
	return tx.CreateInBatches(rows, rowChunk).Error
}

// whereID and idAndName are findIn queries by primary key: whole rows, or
// only the ID and the name.
func whereID(q *gorm.DB, chunk []int64) *gorm.DB { return q.Where("id IN ?", chunk) }

func idAndName(q *gorm.DB, chunk []int64) *gorm.DB {
	return q.Select("id", "name").Where("id IN ?", chunk)
}

// inOrg narrows a findIn query to organization orgID's rows.
func inOrg(orgID int64, query func(*gorm.DB, []int64) *gorm.DB) func(*gorm.DB, []int64) *gorm.DB {
	return func(q *gorm.DB, chunk []int64) *gorm.DB { return query(q.Where("org_id = ?", orgID), chunk) }
}
