package handlers

import (
	"sort"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
)

// APIOrganization is a customer organization as the API shows it.
type APIOrganization struct {
	ID   int64  `json:"id"`
	Slug string `json:"slug" doc:"Short unique name."`
	Name string `json:"name"`
	// ServiceType is the highest service of the contracts in force.
	ServiceType *string `json:"service_type" doc:"The highest service of the contracts in force; null without one."`
	CreatedAt   string  `json:"created_at" format:"date-time"`
}

func apiOrganization(o models.Organization) APIOrganization {
	return APIOrganization{ID: o.ID, Slug: o.Slug, Name: o.Name, ServiceType: o.ServiceType, CreatedAt: apiTime(o.CreatedAt)}
}

// apiListOrganizations: GET /api/v1/organizations, by ID.
func (h *Handler) apiListOrganizations(c *fiber.Ctx) error {
	var after int64
	limit, err := apiPage(c, &after)
	if err != nil {
		return err
	}
	orgs, err := h.store.ListOrgs(c.UserContext(), scope(c))
	if err != nil {
		return err
	}
	sort.Slice(orgs, func(i, j int) bool { return orgs[i].ID < orgs[j].ID })
	var out []APIOrganization
	more := false
	for _, o := range orgs {
		if o.ID <= after {
			continue
		}
		if len(out) == limit {
			more = true
			break
		}
		out = append(out, apiOrganization(o.Organization))
	}
	var next int64
	if len(out) > 0 {
		next = out[len(out)-1].ID
	}
	return apiList(c, out, more, next)
}

// apiGetOrganization: GET /api/v1/organizations/:id.
func (h *Handler) apiGetOrganization(c *fiber.Ctx) error {
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	o, err := h.store.GetOrg(c.UserContext(), scope(c), id)
	if err != nil {
		return err
	}
	return apiJSON(c, fiber.StatusOK, apiOrganization(*o))
}
