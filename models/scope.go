package models

import "gorm.io/gorm"

// Scope is which organizations' data a reader may see: the one
// organization of a customer, or every organization for staff. The zero
// Scope sees nothing, so a scope that was never decided denies rather than
// opens everything. Every exported Store method that reads customer data
// takes a Scope right after ctx: methods reading a row by its ID filter
// with apply; methods about one organization (an orgID parameter after
// the Scope) answer ErrNotFound unless sc.Allows(orgID). A row outside the
// scope is ErrNotFound, never "forbidden". Callers that are not serving a
// request (prober, notify dispatcher, demo, bench, CLI) pass AllOrgs().
type Scope struct {
	orgID int64
	all   bool
	// reader is the user the scope was made for (ScopeOf), 0 for scopes
	// made by code: records about a complaint naming the reader are left
	// out of what it reads (hideNamed; docs/agreement.md §8).
	reader int64
}

// OrgScope sees organization orgID only; orgID 0 sees nothing.
func OrgScope(orgID int64) Scope { return Scope{orgID: orgID} }

// AllOrgs sees every organization: the staff's scope.
func AllOrgs() Scope { return Scope{all: true} }

// ScopeOf is the scope of user u: staff see every organization, a
// customer their own; anyone else (no user, a customer without an
// organization, an unknown role) sees nothing.
func ScopeOf(u *User) Scope {
	switch {
	case u == nil:
		return Scope{}
	case u.Role.IsStaff() && u.OrgID == nil:
		return Scope{all: true, reader: u.ID}
	case u.Role == RoleCustomer && u.OrgID != nil:
		return Scope{orgID: *u.OrgID, reader: u.ID}
	}
	return Scope{}
}

// All reports whether the scope sees every organization.
func (s Scope) All() bool { return s.all }

// Org is the one organization of a customer's scope; ok is false for staff
// and for the zero scope.
func (s Scope) Org() (orgID int64, ok bool) { return s.orgID, !s.all && s.orgID != 0 }

// Allows reports whether the scope sees organization orgID.
func (s Scope) Allows(orgID int64) bool { return s.all || (s.orgID != 0 && s.orgID == orgID) }

// apply narrows db to the rows whose column (an organization ID, qualified
// in a join) is inside the scope.
func (s Scope) apply(db *gorm.DB, column string) *gorm.DB {
	switch {
	case s.all:
		return db
	case s.orgID != 0:
		return db.Where(column+" = ?", s.orgID)
	}
	return db.Where("1 = 0")
}

// hideNamed leaves out of q the rows that exist only because of a
// complaint naming the scope's reader: cond is an SQL condition, with one
// "?" for the reader, true of such a row. A complaint about a named
// employee must not reach that employee by any page (docs/agreement.md §8).
func (s Scope) hideNamed(q *gorm.DB, cond string) *gorm.DB {
	if s.reader == 0 {
		return q
	}
	return q.Where("NOT ("+cond+")", s.reader)
}
