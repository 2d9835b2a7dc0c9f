package models

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Organization is a customer of the data center (甲方).
type Organization struct {
	ID               int64
	Slug             string
	Name             string
	ContactAddress   string
	ServiceRepUserID *int64
	EngineerUserID   *int64
	// AdminUserID is the one customer user who administers the
	// organization's users (invites, disables, sees their sign-ins).
	AdminUserID *int64
	// ServiceType is the service the organization contracted
	// (ServiceTypes), nil when not set; it orders an incident's phone list.
	// Derived from the organization's contracts active today, the highest
	// in ServiceTypes (models/contract.go, deriveServiceType); read only
	// here.
	ServiceType *string `gorm:"->"`
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (Organization) TableName() string { return "organizations" }

// OrgInput is what a form or the CLI supplies for an organization.
type OrgInput struct {
	Slug             string
	Name             string
	ContactAddress   string
	ServiceRepUserID *int64
	EngineerUserID   *int64
}

var slugRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$`)

func (in *OrgInput) validate(ctx context.Context, tx *gorm.DB) error {
	var p problems
	in.Slug = strings.ToLower(strings.TrimSpace(in.Slug))
	if in.Slug == "" {
		p.add(Invalid("slug", "error.required"))
	} else if !slugRE.MatchString(in.Slug) {
		p.add(Invalid("slug", "error.slug_invalid"))
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		p.add(Invalid("name", "error.required"))
	}
	p.add(CheckLine("name", in.Name, 200))
	p.add(CheckPrintable("name", in.Name)) // the customer is named on the form
	in.ContactAddress = strings.TrimSpace(in.ContactAddress)
	p.add(CheckText("contact_address", in.ContactAddress, 500))
	check := func(field string, id *int64, role Role) error {
		if id == nil {
			return nil
		}
		var u User
		if err := tx.WithContext(ctx).First(&u, *id).Error; err != nil || u.Role != role {
			return Invalid(field, "error.assignee_role", role)
		}
		return nil
	}
	p.add(check("service_rep", in.ServiceRepUserID, RoleService))
	p.add(check("engineer", in.EngineerUserID, RoleEngineer))
	return p.err()
}

// CreateOrg stores a new organization.
func (s *Store) CreateOrg(ctx context.Context, actor Actor, in OrgInput) (*Organization, error) {
	if err := in.validate(ctx, s.db); err != nil {
		return nil, wrap(err, "create org")
	}
	o := &Organization{Slug: in.Slug, Name: in.Name, ContactAddress: in.ContactAddress,
		ServiceRepUserID: in.ServiceRepUserID, EngineerUserID: in.EngineerUserID}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		o.ID = 0 // a run the database rolled back may have set it
		if err := tx.Create(o).Error; err != nil {
			return conflict(err)
		}
		return s.audit(tx, actor, AuditOrgCreated, "organization", &o.ID, &o.ID, map[string]any{"slug": o.Slug, "name": o.Name})
	})
	if errors.Is(err, ErrConflict) {
		return nil, Invalid("slug", "error.slug_taken")
	}
	if err != nil {
		return nil, fmt.Errorf("models: create organization: %w", err)
	}
	return o, nil
}

// UpdateOrg changes an organization.
func (s *Store) UpdateOrg(ctx context.Context, actor Actor, id int64, in OrgInput) (*Organization, error) {
	if err := in.validate(ctx, s.db); err != nil {
		return nil, wrap(err, "update org")
	}
	var o Organization
	err := s.tx(ctx, func(tx *gorm.DB) error {
		o = Organization{}
		if err := tx.First(&o, id).Error; err != nil {
			return notFound(err)
		}
		before := o
		o.Slug, o.Name, o.ContactAddress = in.Slug, in.Name, in.ContactAddress
		o.ServiceRepUserID, o.EngineerUserID = in.ServiceRepUserID, in.EngineerUserID
		if err := tx.Save(&o).Error; err != nil {
			return conflict(err)
		}
		return s.audit(tx, actor, AuditOrgUpdated, "organization", &o.ID, &o.ID, map[string]any{"before": orgDetail(before), "after": orgDetail(o)})
	})
	if errors.Is(err, ErrConflict) {
		return nil, Invalid("slug", "error.slug_taken")
	}
	if err != nil {
		return nil, fmt.Errorf("models: update organization %d: %w", id, err)
	}
	return &o, nil
}

func orgDetail(o Organization) map[string]any {
	return map[string]any{"slug": o.Slug, "name": o.Name, "contact_address": o.ContactAddress,
		"service_rep_user_id": o.ServiceRepUserID, "engineer_user_id": o.EngineerUserID}
}

// GetOrg returns organization id if sc sees it; else ErrNotFound.
func (s *Store) GetOrg(ctx context.Context, sc Scope, id int64) (*Organization, error) {
	var o Organization
	if err := sc.apply(s.db.WithContext(ctx), "id").Where("id = ?", id).First(&o).Error; err != nil {
		return nil, wrap(notFound(err), "get org")
	}
	return &o, nil
}

// GetOrgBySlug finds an organization by its slug.
func (s *Store) GetOrgBySlug(ctx context.Context, slug string) (*Organization, error) {
	var o Organization
	if err := s.db.WithContext(ctx).Where("slug = ?", strings.ToLower(strings.TrimSpace(slug))).First(&o).Error; err != nil {
		return nil, wrap(notFound(err), "get org by slug")
	}
	return &o, nil
}

// OrgSummary is an organization with its user count, for the admin list.
type OrgSummary struct {
	Organization
	Users int64
}

// ListOrgs lists the organizations sc sees with the number of their users.
func (s *Store) ListOrgs(ctx context.Context, sc Scope) ([]OrgSummary, error) {
	var out []OrgSummary
	err := sc.apply(s.db.WithContext(ctx).Model(&Organization{}), "organizations.id").
		Select("organizations.*, (SELECT COUNT(*) FROM users WHERE users.org_id = organizations.id) AS users").
		Order("name, id").Scan(&out).Error
	return out, wrap(err, "list orgs")
}

// OrgHome is what a customer's home page shows: the organization and the
// people named by the agreement (clauses 5 and 6).
type OrgHome struct {
	Org        Organization
	ServiceRep *User
	Engineer   *User
}

// GetOrgHome loads an organization with its service representative and engineer.
func (s *Store) GetOrgHome(ctx context.Context, sc Scope, orgID int64) (*OrgHome, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "get org home")
	}
	o, err := s.GetOrg(ctx, OrgScope(orgID), orgID)
	if err != nil {
		return nil, wrap(err, "get org home")
	}
	h := &OrgHome{Org: *o}
	load := func(id *int64) (*User, error) {
		if id == nil {
			return nil, nil
		}
		u, err := s.GetUser(ctx, *id)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		return u, err
	}
	if h.ServiceRep, err = load(o.ServiceRepUserID); err != nil {
		return nil, wrap(err, "get org home")
	}
	if h.Engineer, err = load(o.EngineerUserID); err != nil {
		return nil, wrap(err, "get org home")
	}
	return h, nil
}
