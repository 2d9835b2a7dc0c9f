package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
)

// APIRoute is one route of the JSON API with its OpenAPI description.
type APIRoute struct {
	Method  string
	Path    string // fiber syntax: /api/v1/devices/:id
	Access  Access // apiRead / apiWrite (roles and scope), or bare
	Handler fiber.Handler
	Doc     APIDoc
}

// APIDoc describes an API route in the OpenAPI document (api_openapi.go).
// Schemas come from Go values by reflection: a struct's exported fields
// with json tags; a `doc:"…"` tag describes a field, `enum:"a,b"` lists
// its values, `format:"date"` gives a string's format.
type APIDoc struct {
	ID      string // operationId, unique
	Tag     string // the group in the document
	Summary string
	// Description is longer prose, optional.
	Description string
	// Query lists the query parameters (the path's come from the path).
	Query []APIParam
	// Body is a value of the request body's type; nil: no body.
	Body any
	// Response is a value of the success answer's type; nil: no body.
	Response any
	// Status is the success status; 0 is 200.
	Status int
	// Paged: a list with ?limit= and ?cursor=; Response is a List[T].
	Paged bool
	// CSV: the route also answers text/csv (?format=csv or Accept).
	CSV bool
}

// APIParam is one query parameter.
type APIParam struct {
	Name string
	// Type is string, integer or boolean; Format e.g. date-time.
	Type, Format string
	Doc          string
	Enum         []string
}

var (
	// apiEveryone: any signed-in role may use the route (reads are scoped).
	apiEveryone = models.Roles
	apiCustomer = []models.Role{models.RoleCustomer}
)

// apiRoutes is every route of the JSON API. Each area's endpoints are in
// api_<area>.go; this table is the only place that lists them.
func (h *Handler) apiRoutes() []APIRoute {
	return []APIRoute{
		{"GET", APIPrefix + "/openapi.json", bare, h.serveOpenAPI, APIDoc{ID: "getOpenAPI", Tag: "meta",
			Summary: "This document (OpenAPI 3.1); needs no token.", Response: map[string]any{}}},

		{"GET", APIPrefix + "/organizations", apiRead(apiEveryone...), h.apiListOrganizations, APIDoc{ID: "listOrganizations",
			Tag: "organizations", Summary: "The organizations the token sees: its own for a customer, every one for staff.",
			Paged: true, Response: List[APIOrganization]{}}},
		{"GET", APIPrefix + "/organizations/:id", apiRead(apiEveryone...), h.apiGetOrganization, APIDoc{ID: "getOrganization",
			Tag: "organizations", Summary: "One organization.", Response: APIOrganization{}}},

		// Monitoring reads (devices, checks, uptime, results, outages,
		// notices): api_monitoring*.go.
		{"GET", APIPrefix + "/devices", apiRead(apiEveryone...), h.apiListDevices, APIDoc{ID: "listDevices", Tag: "monitoring",
			Summary: "The devices the token sees, by ID, with their state.", Query: []APIParam{apiOrgParam},
			Paged: true, Response: List[APIDevice]{}}},
		{"GET", APIPrefix + "/devices/:id", apiRead(apiEveryone...), h.apiGetDevice, APIDoc{ID: "getDevice", Tag: "monitoring",
			Summary: "One device.", Response: APIDevice{}}},
		{"GET", APIPrefix + "/devices/:id/checks", apiRead(apiEveryone...), h.apiListDeviceChecks, APIDoc{ID: "listDeviceChecks",
			Tag: "monitoring", Summary: "Every check of a device, with its last result (one page).", Response: List[APICheck]{}}},
		{"GET", APIPrefix + "/devices/:id/uptime", apiRead(apiEveryone...), h.apiDeviceUptime, APIDoc{ID: "getDeviceUptime",
			Tag: "monitoring", Summary: "A device's availability: the uptime page's periods, and each calendar month.",
			Description: "Months are calendar months in the provider's time zone, measured as the agreement measures them " +
				"(from the device's addition, downtime split by cause spans and agreed maintenance).",
			Query: []APIParam{
				{Name: "from", Type: "string", Doc: "The first month, YYYY-MM; default eleven months before to."},
				{Name: "to", Type: "string", Doc: "The last month, YYYY-MM, included; default this month. At most 36 months."}},
			Response: APIUptime{}}},
		{"GET", APIPrefix + "/checks/:id", apiRead(apiEveryone...), h.apiGetCheck, APIDoc{ID: "getCheck", Tag: "monitoring",
			Summary: "One check, with its last result.", Response: APICheck{}}},
		{"GET", APIPrefix + "/checks/:id/results", apiRead(apiEveryone...), h.apiCheckResults, APIDoc{ID: "listCheckResults",
			Tag: "monitoring", Summary: "A check's raw probe results, newest first; or the period as CSV.",
			Description: "Raw results are kept for a limited time (older periods are in the uptime figures). " +
				"As CSV (?format=csv or Accept: text/csv) the whole period comes at once, in the columns of the device page's download.",
			Query: []APIParam{
				{Name: "from", Type: "string", Doc: "RFC 3339 time, or a date (YYYY-MM-DD, the provider's zone); default 24 hours before to."},
				{Name: "to", Type: "string", Doc: "RFC 3339 time (excluded), or a date (included whole); default now, or the day of a date from. At most 92 days."}},
			Paged: true, CSV: true, Response: List[APIResult]{}}},
		{"GET", APIPrefix + "/outages", apiRead(apiEveryone...), h.apiListOutages, APIDoc{ID: "listOutages", Tag: "monitoring",
			Summary: "Outages, newest first.", Query: []APIParam{apiOrgParam,
				{Name: "state", Type: "string", Enum: []string{"open", "closed"}, Doc: "Only open, or only closed, outages."},
				{Name: "from", Type: "string", Doc: "Only outages going on after this RFC 3339 time or date."},
				{Name: "to", Type: "string", Doc: "Only outages that started before this RFC 3339 time or date."}},
			Paged: true, Response: List[APIOutage]{}}},
		{"GET", APIPrefix + "/outages/:id", apiRead(apiEveryone...), h.apiGetOutage, APIDoc{ID: "getOutage", Tag: "monitoring",
			Summary:  "One outage with its cause spans, its split by cause, its emergency-notice clock and outcome, and its notices.",
			Response: APIOutageDetail{}}},
		{"GET", APIPrefix + "/notices", apiRead(apiEveryone...), h.apiListNotices, APIDoc{ID: "listNotices", Tag: "monitoring",
			Summary: "Outage notices, newest first, with each outage's emergency-notice clock and outcome.",
			Query:   []APIParam{apiOrgParam}, Paged: true, Response: List[APINotice]{}}},
		{"GET", APIPrefix + "/notices/:id", apiRead(apiEveryone...), h.apiGetNotice, APIDoc{ID: "getNotice", Tag: "monitoring",
			Summary: "One notice.", Response: APINotice{}}},

		// Record reads (operations, visits, complaints, statements):
		// api_records*.go.
		{"GET", APIPrefix + "/operations", apiRead(apiEveryone...), h.apiListOperations, APIDoc{ID: "listOperations",
			Tag: "operations", Summary: "Operation requests, newest first: a customer's organization's, every organization's for staff.",
			Paged: true, Response: List[APIOperation]{}, Query: []APIParam{
				{Name: "state", Type: "string", Doc: "Only requests in this state.", Enum: models.OpStates},
				{Name: "org_id", Type: "integer", Doc: "Only this organization's requests."}}}},
		{"GET", APIPrefix + "/operations/:ref", apiRead(apiEveryone...), h.apiGetOperation, APIDoc{ID: "getOperation",
			Tag: "operations", Summary: "One operation request with its authorizations, documents (by name), timeline, clocks and visits.",
			Response: APIOperationDetail{}}},
		{"GET", APIPrefix + "/visits", apiRead(apiEveryone...), h.apiListVisits, APIDoc{ID: "listVisits",
			Tag: "visits", Summary: "Data-center visits, the latest planned entry first.", Paged: true, Response: List[APIVisitRow]{},
			Query: []APIParam{
				{Name: "state", Type: "string", Doc: "Only visits in this state.", Enum: models.VisitStates},
				{Name: "from", Type: "string", Doc: "Planned entry at or after this time (RFC 3339, or a date: its start in the provider's zone)."},
				{Name: "to", Type: "string", Doc: "Planned entry before this time (RFC 3339, or a date)."},
				{Name: "org_id", Type: "integer", Doc: "Only this organization's visits."}}}},
		{"GET", APIPrefix + "/visits/:ref", apiRead(apiEveryone...), h.apiGetVisit, APIDoc{ID: "getVisit",
			Tag: "visits", Summary: "One visit with its visitors (identity numbers and phones masked), targets and needs.",
			Response: APIVisitDetail{}}},
		{"GET", APIPrefix + "/complaints", apiRead(apiEveryone...), h.apiListComplaints, APIDoc{ID: "listComplaints",
			Tag: "complaints", Summary: "Written complaints, the last received first (one naming the reader is in no list).",
			Paged: true, Response: List[APIComplaint]{}, Query: []APIParam{
				{Name: "state", Type: "string", Doc: "Only complaints in this state.", Enum: models.ComplaintStates},
				{Name: "category", Type: "string", Doc: "Only complaints of this category.", Enum: models.ComplaintCategories},
				{Name: "org_id", Type: "integer", Doc: "Only this organization's complaints."}}}},
		{"GET", APIPrefix + "/complaints/:ref", apiRead(apiEveryone...), h.apiGetComplaint, APIDoc{ID: "getComplaint",
			Tag: "complaints", Summary: "One complaint with its thread and files (by name) as the reader's page shows them.",
			Response: APIComplaintDetail{}}},
		{"GET", APIPrefix + "/statements", apiRead(apiEveryone...), h.apiListStatements, APIDoc{ID: "listStatements",
			Tag: "statements", Summary: "Monthly statements by organization, the newest month first; open months are computed now.",
			Paged: true, Response: List[APIStatementMonth]{}, Query: []APIParam{
				{Name: "org_id", Type: "integer", Doc: "Only this organization's statements."},
				{Name: "from", Type: "string", Doc: "The first month (YYYY-MM); default each organization's first."},
				{Name: "to", Type: "string", Doc: "The last month (YYYY-MM); default the current month."}}}},
		{"GET", APIPrefix + "/statements/:org_id/:month", apiRead(apiEveryone...), h.apiGetStatement, APIDoc{ID: "getStatement",
			Tag: "statements", Summary: "An organization's statement of a month (YYYY-MM): contracts, measures, lines, clocks and totals, money in minor units.",
			Response: APIStatement{}}},

		// Writes (contacts, operation and visit requests, complaints):
		// api_writes*.go. A create takes an Idempotency-Key (apiOnce).
		{"GET", APIPrefix + "/contacts", apiRead(apiCustomer...), h.apiListContacts, APIDoc{ID: "listContacts", Tag: "contacts",
			Summary: "The authorized contacts of the token's organization, in the order they are tried.",
			Paged:   true, Response: List[APIContact]{}}},
		{"POST", APIPrefix + "/contacts", apiWrite(apiCustomer...), h.apiOnce(h.apiCreateContact, h.replayContact), APIDoc{
			ID: "createContact", Tag: "contacts", Summary: "Add an authorized contact.", Description: idempotencyDoc,
			Body: APIContactInput{}, Response: APIContact{}, Status: fiber.StatusCreated}},
		{"PATCH", APIPrefix + "/contacts/:id", apiWrite(apiCustomer...), h.apiUpdateContact, APIDoc{ID: "updateContact",
			Tag: "contacts", Summary: "Change a contact: absent fields keep their values.", Body: APIContactPatch{}, Response: APIContact{}}},
		{"DELETE", APIPrefix + "/contacts/:id", apiWrite(apiCustomer...), h.apiDeleteContact, APIDoc{ID: "deleteContact",
			Tag: "contacts", Summary: "Remove a contact.", Status: fiber.StatusNoContent}},
		{"POST", APIPrefix + "/operations", apiWrite(apiCustomer...), h.apiOnce(h.apiCreateOperation, h.replayOperation), APIDoc{
			ID: "createOperation", Tag: "operations", Summary: "Ask for work on the organization's equipment (an operation request).",
			Description: idempotencyDoc, Body: APIOperationInput{}, Response: APIOperation{}, Status: fiber.StatusCreated}},
		{"POST", APIPrefix + "/operations/:ref/messages", apiWrite(apiCorrespondents...),
			h.apiOnce(h.apiPostOperationMessage, h.replayOperationMessage), APIDoc{ID: "postOperationMessage", Tag: "operations",
				Summary:     "Write on a request's timeline: the customer, or the staff who answer them (reception only reads).",
				Description: "Location is the request's URL with #message-{id}. " + idempotencyDoc,
				Body:        APIMessageInput{}, Response: APIOperationMessage{}, Status: fiber.StatusCreated}},
		{"POST", APIPrefix + "/visits", apiWrite(apiCustomer...), h.apiOnce(h.apiCreateVisit, h.replayVisit), APIDoc{
			ID: "createVisit", Tag: "visits", Summary: "Ask for a data-center visit with its visitors.",
			Description: "Field errors name visitors by position: visitors[0].id_number. " + idempotencyDoc,
			Body:        APIVisitInput{}, Response: APIVisit{}, Status: fiber.StatusCreated}},
		{"POST", APIPrefix + "/visits/:ref/cancel", apiWrite(apiCustomer...), h.apiCancelVisit, APIDoc{ID: "cancelVisit",
			Tag: "visits", Summary: "Call a visit off while it is pending or approved and nobody has come in (else 409).",
			Body: APIVisitCancel{}, Response: APIVisit{}}},
		{"POST", APIPrefix + "/complaints", apiWrite(apiComplainants...), h.apiOnce(h.apiCreateComplaint, h.replayComplaint), APIDoc{
			ID: "createComplaint", Tag: "complaints",
			Summary:     "File a written complaint (a customer), or record one received by phone, email or letter (the service desk).",
			Description: "Files are attached on the complaint's page. " + idempotencyDoc,
			Body:        APIComplaintInput{}, Response: APIComplaint{}, Status: fiber.StatusCreated}},
		{"POST", APIPrefix + "/complaints/:ref/messages", apiWrite(apiEveryone...),
			h.apiOnce(h.apiPostComplaintMessage, h.replayComplaintMessage), APIDoc{ID: "postComplaintMessage", Tag: "complaints",
				Summary:     "Write on a complaint's thread: the complaining organization's users and the service desk (others: 403); closed: 409.",
				Description: "Location is the complaint's URL with #message-{id}. " + idempotencyDoc,
				Body:        APIMessageInput{}, Response: APIComplaintLine{}, Status: fiber.StatusCreated}},
	}
}
