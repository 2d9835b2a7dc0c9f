package handlers

import (
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
)

// Operation requests, visit requests and complaints through the API, and
// the messages of their threads: each the page's Store method with the
// page's rules, answered with the record types of the reads
// (api_records_types.go) so that one object has one schema.

// APIOperationInput is a new operation request of the token's organization.
type APIOperationInput struct {
	Title      string  `json:"title" doc:"Printed on the authorization form."`
	Work       string  `json:"work" doc:"The work asked for."`
	Urgency    string  `json:"urgency,omitempty" enum:"normal,urgent,emergency" doc:"Default normal."`
	DeviceIDs  []int64 `json:"device_ids,omitempty" doc:"The organization's devices the work concerns."`
	WindowFrom *string `json:"window_from,omitempty" format:"date-time" doc:"The start of the window the work may be done in; absent for any."`
	WindowTo   *string `json:"window_to,omitempty" format:"date-time"`
}

// APIMessageInput is a message on a record's thread.
type APIMessageInput struct {
	Body string `json:"body"`
}

// APIVisitInput is a new visit request of the token's organization.
type APIVisitInput struct {
	SiteID      int64             `json:"site_id"`
	Activity    string            `json:"activity" enum:"operation,tour,delivery,removal,other"`
	Reason      string            `json:"reason"`
	Emergency   bool              `json:"emergency,omitempty" doc:"An emergency visit needs no advance notice."`
	PlannedFrom string            `json:"planned_from" format:"date-time" doc:"The planned entry (RFC 3339)."`
	PlannedTo   string            `json:"planned_to" format:"date-time" doc:"The planned exit (RFC 3339)."`
	Visitors    []APIVisitorInput `json:"visitors"`
	DeviceIDs   []int64           `json:"device_ids,omitempty" doc:"Devices of the organization the visit reaches."`
	Cabinets    []string          `json:"cabinets,omitempty" doc:"Cabinets of the organization's devices the visit reaches."`
	// Needs maps a need to its note.
	Needs        map[string]string `json:"needs,omitempty" doc:"Coordination asked for, each with a note: tools, software, meals, lodging, parking, other (other needs its note)."`
	OperationRef string            `json:"operation_ref,omitempty" doc:"An operation request of the organization the visit is for."`
}

// APIVisitorInput is a person of a visit request.
type APIVisitorInput struct {
	Name     string `json:"name"`
	Company  string `json:"company,omitempty"`
	IDType   string `json:"id_type" enum:"resident_id,passport,hk_macao_permit,taiwan_permit,other"`
	IDNumber string `json:"id_number" doc:"Kept sealed; shown masked."`
	Phone    string `json:"phone"`
	Locale   string `json:"locale,omitempty" enum:"en,zh-CN" doc:"The language of the visitor's pass; default the request's."`
}

// APIVisitCancel calls a visit off.
type APIVisitCancel struct {
	Reason string `json:"reason,omitempty"`
}

// APIComplaintInput is a written complaint: filed by a customer for their
// organization, or recorded by the service desk for a customer user
// (filed_by_user_id) with how and when it came in.
type APIComplaintInput struct {
	Category     string `json:"category" enum:"network,service,support,employee"`
	NamedUserID  int64  `json:"named_user_id,omitempty" doc:"The staff member complained about (category employee)."`
	Subject      string `json:"subject"`
	Description  string `json:"description"`
	OutageID     int64  `json:"outage_id,omitempty" doc:"An outage of the organization the complaint concerns."`
	OperationRef string `json:"operation_ref,omitempty" doc:"An operation request of the organization."`
	VisitRef     string `json:"visit_ref,omitempty" doc:"A visit of the organization."`
	// The desk's fields.
	Channel       string  `json:"channel,omitempty" enum:"phone,email,letter" doc:"Service desk only: how the complaint came in."`
	ReceivedAt    *string `json:"received_at,omitempty" format:"date-time" doc:"Service desk only: when it was received (required)."`
	FiledByUserID int64   `json:"filed_by_user_id,omitempty" doc:"Service desk only: the customer user who complains (required)."`
}

// recordRef reads the reference at the end of an API Location
// (…/operations/{ref}, …/operations/{ref}#message-{id}) and the message ID
// after it, 0 without one.
var locationRE = regexp.MustCompile(`/([0-9A-Za-z]+)(?:#message-([0-9]+))?$`)

func locationRef(location string) (string, int64, error) {
	m := locationRE.FindStringSubmatch(location)
	if m == nil {
		return "", 0, errors.New("handlers: not a record location: " + location)
	}
	var id int64
	if m[2] != "" {
		id, _ = strconv.ParseInt(m[2], 10, 64)
	}
	return m[1], id, nil
}

func operationLocation(ref string) string { return APIPrefix + "/operations/" + ref }
func visitLocation(ref string) string     { return APIPrefix + "/visits/" + ref }
func complaintLocation(ref string) string { return APIPrefix + "/complaints/" + ref }
func messageLocation(parent string, id int64) string {
	return parent + "#message-" + strconv.FormatInt(id, 10)
}

// stateConflict turns a refusal because of the record's state (a
// validation error of one of fields with one of keys, shown on the page
// next to the form) into a 409 problem.
func stateConflict(err error, field string, keys ...string) error {
	if v, ok := models.AsValidation(err); ok && v.Field == field && (len(keys) == 0 || slices.Contains(keys, v.Key)) {
		return apiProblem(fiber.StatusConflict, "about:blank", v.Key, v.Args...)
	}
	return err
}

// apiCreateOperation: POST /api/v1/operations, the customer's request for
// work (the page's createRequest: they ask for themselves).
func (h *Handler) apiCreateOperation(c *fiber.Ctx) error {
	var b APIOperationInput
	if err := apiBody(c, &b); err != nil {
		return err
	}
	u := currentUser(c)
	if b.Urgency == "" {
		b.Urgency = "normal"
	}
	in := models.RequestInput{Title: b.Title, Work: b.Work, Urgency: b.Urgency, DeviceIDs: b.DeviceIDs, RequestedBy: &u.ID,
		Channel: "portal"}
	var fromErr, toErr error
	in.WindowFrom, fromErr = apiBodyTime("window_from", b.WindowFrom)
	in.WindowTo, toErr = apiBodyTime("window_to", b.WindowTo)
	var r *models.OperationRequest
	err := errors.Join(fromErr, toErr)
	if err == nil {
		r, err = h.store.CreateRequest(c.UserContext(), apiActor(c), ownOrg(c), in)
	} else {
		err = errors.Join(err, models.CheckRequest(in)) // every error in one answer
	}
	if err != nil {
		return apiFields(err, map[string]string{"devices": "device_ids"}, nil)
	}
	return apiCreated(c, operationLocation(r.Ref), apiOperation(r))
}

func (h *Handler) replayOperation(c *fiber.Ctx, location string) error {
	ref, _, err := locationRef(location)
	if err != nil {
		return err
	}
	r, err := h.store.GetRequestByRef(c.UserContext(), scope(c), ref)
	if err != nil {
		return err
	}
	return apiCreated(c, location, apiOperation(r))
}

// apiPostOperationMessage: POST /api/v1/operations/:ref/messages. A staff
// message is feedback to the customer (it stops the first-feedback clock).
func (h *Handler) apiPostOperationMessage(c *fiber.Ctx) error {
	r, err := h.store.GetRequestByRef(c.UserContext(), scope(c), c.Params("ref"))
	if err != nil {
		return err
	}
	var b APIMessageInput
	if err := apiBody(c, &b); err != nil {
		return err
	}
	m, err := h.store.PostMessage(c.UserContext(), apiActor(c), r.OrgID, r.ID, currentUser(c).Role.IsStaff(), b.Body)
	if err != nil {
		return err
	}
	return apiCreated(c, messageLocation(operationLocation(r.Ref), m.ID), writtenOperationMessage(m))
}

func writtenOperationMessage(m *models.OperationMessage) APIOperationMessage {
	return APIOperationMessage{Kind: m.Kind, AuthorName: m.AuthorName, Staff: m.Staff, Body: m.Body, CreatedAt: apiTime(m.CreatedAt)}
}

func (h *Handler) replayOperationMessage(c *fiber.Ctx, location string) error {
	ref, id, err := locationRef(location)
	if err != nil {
		return err
	}
	r, err := h.store.GetRequestByRef(c.UserContext(), scope(c), ref)
	if err != nil {
		return err
	}
	d, err := h.store.RequestDetailOf(c.UserContext(), scope(c), r)
	if err != nil {
		return err
	}
	for i := range d.Messages {
		if d.Messages[i].ID == id {
			return apiCreated(c, location, writtenOperationMessage(&d.Messages[i]))
		}
	}
	return fiber.ErrNotFound
}

// visitFields names the Store's visit fields as the body does:
// visitor1_name is visitors[0].name, need_tools needs.tools; the targets
// are the device_ids, or the cabinets when a cabinet is unknown.
var visitorFieldRE = regexp.MustCompile(`^visitor([0-9]+)_(.+)$`)

func visitField(field, key string) string {
	if m := visitorFieldRE.FindStringSubmatch(field); m != nil {
		n, _ := strconv.Atoi(m[1])
		return "visitors[" + strconv.Itoa(n-1) + "]." + m[2]
	}
	if need, ok := strings.CutPrefix(field, "need_"); ok {
		return "needs." + need
	}
	if field == "targets" {
		if key == "visits.error.cabinet_unknown" {
			return "cabinets"
		}
		return "device_ids"
	}
	return field
}

var visitRenames = map[string]string{"site": "site_id", "operation": "operation_ref"}

// apiCreateVisit: POST /api/v1/visits, the customer's visit request (the
// page's createVisit).
func (h *Handler) apiCreateVisit(c *fiber.Ctx) error {
	var b APIVisitInput
	if err := apiBody(c, &b); err != nil {
		return err
	}
	lang := locales.Match(c.Get(fiber.HeaderAcceptLanguage))
	in := models.VisitInput{SiteID: b.SiteID, Activity: b.Activity, Reason: b.Reason, Emergency: b.Emergency, DeviceIDs: b.DeviceIDs,
		Cabinets: b.Cabinets, Needs: map[string]string{}, OperationRef: b.OperationRef, Locale: lang}
	for k, v := range b.Needs {
		in.Needs[k] = v
	}
	for _, v := range b.Visitors {
		in.Visitors = append(in.Visitors, models.VisitorInput{Name: v.Name, Company: v.Company, IDType: v.IDType, IDNumber: v.IDNumber,
			Phone: v.Phone, Locale: v.Locale})
	}
	// A time that does not parse is left zero, which the Store refuses
	// too: every problem comes back at once, the parse error first.
	from, fromErr := apiBodyTime("planned_from", &b.PlannedFrom)
	to, toErr := apiBodyTime("planned_to", &b.PlannedTo)
	if from != nil {
		in.PlannedFrom = *from
	}
	if to != nil {
		in.PlannedTo = *to
	}
	v, err := h.store.CreateVisit(c.UserContext(), apiActor(c), ownOrg(c), in)
	if err := errors.Join(fromErr, toErr, err); err != nil {
		return apiFields(err, visitRenames, visitField)
	}
	return apiCreated(c, visitLocation(v.Ref), apiVisit(v))
}

func (h *Handler) replayVisit(c *fiber.Ctx, location string) error {
	ref, _, err := locationRef(location)
	if err != nil {
		return err
	}
	v, err := h.store.GetVisitByRef(c.UserContext(), scope(c), ref)
	if err != nil {
		return err
	}
	return apiCreated(c, location, apiVisit(v))
}

// apiCancelVisit: POST /api/v1/visits/:ref/cancel (the page's cancelVisit;
// the request is the confirmation). A visit no longer changeable is 409.
func (h *Handler) apiCancelVisit(c *fiber.Ctx) error {
	v, err := h.store.GetVisitByRef(c.UserContext(), scope(c), c.Params("ref"))
	if err != nil {
		return err
	}
	var b APIVisitCancel
	if err := apiBody(c, &b); err != nil {
		return err
	}
	if err := h.store.CancelVisit(c.UserContext(), apiActor(c), v.OrgID, v.ID, b.Reason); err != nil {
		return stateConflict(err, "state")
	}
	if v, err = h.store.GetVisitByRef(c.UserContext(), scope(c), v.Ref); err != nil {
		return err
	}
	return apiJSON(c, fiber.StatusOK, apiVisit(v))
}

var complaintRenames = map[string]string{"named_user": "named_user_id", "outage": "outage_id", "operation": "operation_ref",
	"visit": "visit_ref", "filed_by": "filed_by_user_id"}

// apiCreateComplaint: POST /api/v1/complaints (the page's createComplaint):
// a customer files one for their organization; the service desk records
// one received otherwise, for the customer user who complains. Files are
// attached on the complaint's page.
func (h *Handler) apiCreateComplaint(c *fiber.Ctx) error {
	var b APIComplaintInput
	if err := apiBody(c, &b); err != nil {
		return err
	}
	in := models.ComplaintInput{Category: b.Category, NamedUserID: b.NamedUserID, Subject: b.Subject, Description: b.Description,
		OutageID: b.OutageID, OperationRef: b.OperationRef, VisitRef: b.VisitRef}
	var pre []error
	orgID := ownOrg(c)
	if isComplaintDesk(c) {
		in.Channel, in.FiledBy = b.Channel, b.FiledByUserID
		if in.Channel == "" || in.Channel == "portal" {
			in.Channel = "-" // the desk records only what came in otherwise
		}
		at, err := apiBodyTime("received_at", b.ReceivedAt)
		switch {
		case err != nil:
			pre = append(pre, err)
		case at == nil:
			pre = append(pre, models.Invalid("received_at", "error.required"))
		default:
			in.ReceivedAt = *at
		}
		orgID = 0
		if u, err := h.store.GetUser(c.UserContext(), b.FiledByUserID); err == nil && u.Role == models.RoleCustomer && u.OrgID != nil {
			orgID = *u.OrgID
		} else if err != nil && !errors.Is(err, models.ErrNotFound) {
			return err
		}
		if orgID == 0 {
			pre = append(pre, models.Invalid("filed_by", "complaints.error.filed_by"))
		}
	} else {
		// A customer files through the portal, now: the desk's fields are
		// not theirs to set.
		for field, set := range map[string]bool{"channel": b.Channel != "", "received_at": b.ReceivedAt != nil,
			"filed_by": b.FiledByUserID != 0} {
			if set {
				pre = append(pre, models.Invalid(field, "api.write.desk_only"))
			}
		}
	}
	if len(pre) > 0 {
		return apiFields(errors.Join(append(pre, h.store.CheckComplaint(in))...), complaintRenames, nil)
	}
	cp, err := h.store.CreateComplaint(c.UserContext(), apiActor(c), orgID, in)
	if err != nil {
		return apiFields(err, complaintRenames, nil)
	}
	return apiCreated(c, complaintLocation(cp.Ref), apiComplaint(cp))
}

func (h *Handler) replayComplaint(c *fiber.Ctx, location string) error {
	ref, _, err := locationRef(location)
	if err != nil {
		return err
	}
	cp, err := h.store.GetComplaintByRef(c.UserContext(), viewer(c), ref)
	if err != nil {
		return err
	}
	return apiCreated(c, location, apiComplaint(cp))
}

// apiComplaintFor finds the complaint of the path for the reader (another
// organization's, or one naming the reader, is 404), then refuses a role
// not in allowed (403), as the pages do.
func (h *Handler) apiComplaintFor(c *fiber.Ctx, allowed Access) (*models.Complaint, error) {
	cp, err := h.store.GetComplaintByRef(c.UserContext(), viewer(c), c.Params("ref"))
	if err != nil {
		return nil, err
	}
	if !allowed.Allows(currentUser(c).Role) {
		return nil, apiProblem(fiber.StatusForbidden, "about:blank", "api.problem.role")
	}
	return cp, nil
}

// apiPostComplaintMessage: POST /api/v1/complaints/:ref/messages, by the
// complaining organization's users and the desk; a closed complaint is 409.
func (h *Handler) apiPostComplaintMessage(c *fiber.Ctx) error {
	cp, err := h.apiComplaintFor(c, complainants)
	if err != nil {
		return err
	}
	var b APIMessageInput
	if err := apiBody(c, &b); err != nil {
		return err
	}
	l, err := h.store.AddComplaintMessage(c.UserContext(), apiActor(c), viewer(c), cp.ID, b.Body)
	if err != nil {
		return stateConflict(err, "body", "complaints.error.closed")
	}
	return apiCreated(c, messageLocation(complaintLocation(cp.Ref), l.ID), writtenComplaintLine(l))
}

func writtenComplaintLine(l *models.ComplaintLine) APIComplaintLine {
	return APIComplaintLine{Kind: l.Kind, AuthorName: l.AuthorName, Staff: l.Staff, Body: l.Body, Found: l.Found, Done: l.Done,
		Next: l.Next, CreatedAt: apiTime(l.CreatedAt)}
}

func (h *Handler) replayComplaintMessage(c *fiber.Ctx, location string) error {
	ref, id, err := locationRef(location)
	if err != nil {
		return err
	}
	cp, err := h.store.GetComplaintByRef(c.UserContext(), viewer(c), ref)
	if err != nil {
		return err
	}
	d, err := h.store.ComplaintDetailOf(c.UserContext(), viewer(c), cp)
	if err != nil {
		return err
	}
	for i := range d.Lines {
		if d.Lines[i].ID == id {
			return apiCreated(c, location, writtenComplaintLine(&d.Lines[i]))
		}
	}
	return fiber.ErrNotFound
}
