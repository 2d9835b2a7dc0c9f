package handlers

// The API's reads of records: operation requests, visits, complaints and
// monthly statements (docs/architecture.md, "The JSON API"). Each reads
// through the same scoped Store methods as the record's page and shows
// what that page shows the reader's role: an operation's internal notes
// and a complaint's assignee to staff only, visitors' identity numbers and
// phones masked for everyone, a complaint naming the reader not at all.

import (
	"slices"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
)

// apiQueryOrg reads the optional org_id filter: 0 when absent.
func apiQueryOrg(c *fiber.Ctx) (int64, error) {
	v := c.Query("org_id")
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, apiBadRequest("api.problem.org_id")
	}
	return id, nil
}

// apiQueryChoice reads the optional query parameter name, which must be
// one of choices: "" when absent.
func apiQueryChoice(c *fiber.Ctx, name string, choices []string) (string, error) {
	v := c.Query(name)
	if v != "" && !slices.Contains(choices, v) {
		return "", apiBadRequest("api.rec.filter", name)
	}
	return v, nil
}

// apiName is the name of user id in names, nil for none.
func apiName(names func(*int64) string, id *int64) *string {
	if n := names(id); n != "" {
		return &n
	}
	return nil
}

// apiListOperations: GET /api/v1/operations, newest first.
func (h *Handler) apiListOperations(c *fiber.Ctx) error {
	var after int64
	limit, err := apiPage(c, &after)
	if err != nil {
		return err
	}
	f := models.RequestFilter{Limit: limit + 1, BeforeID: after}
	if f.State, err = apiQueryChoice(c, "state", models.OpStates); err != nil {
		return err
	}
	if f.OrgID, err = apiQueryOrg(c); err != nil {
		return err
	}
	rows, err := h.store.ListRequests(c.UserContext(), scope(c), f)
	if err != nil {
		return err
	}
	more := len(rows) > limit
	rows = rows[:min(len(rows), limit)]
	out := make([]APIOperation, len(rows))
	var next int64
	for i := range rows {
		out[i] = apiOperation(&rows[i])
		next = rows[i].ID
	}
	return apiList(c, out, more, next)
}

// apiGetOperation: GET /api/v1/operations/:ref.
func (h *Handler) apiGetOperation(c *fiber.Ctx) error {
	ctx, sc := c.UserContext(), scope(c)
	r, err := h.store.GetRequestByRef(ctx, sc, c.Params("ref"))
	if err != nil {
		return err
	}
	d, err := h.store.RequestDetailOf(ctx, sc, r)
	if err != nil {
		return err
	}
	visits, err := h.store.ListVisits(ctx, sc, models.VisitFilter{OrgID: r.OrgID, OperationID: r.ID})
	if err != nil {
		return err
	}
	out := APIOperationDetail{APIOperation: apiOperation(r), RequestedBy: apiName(d.UserName, r.RequestedBy),
		RaisedBy: d.UserName(&r.RaisedBy), Engineer: apiName(d.UserName, r.EngineerID),
		Devices: []APIRecordDevice{}, Authorizations: []APIAuthorization{}, Documents: []APIDocument{},
		Messages: []APIOperationMessage{}, Clocks: []APIRecordClock{}, Visits: []APIOperationVisitBrief{}}
	if currentUser(c).Role.IsStaff() {
		out.Notes = &r.Notes
	}
	for _, dev := range d.Devices {
		out.Devices = append(out.Devices, APIRecordDevice{ID: dev.ID, Name: dev.Name})
	}
	for _, a := range d.Authorizations {
		x := APIAuthorization{ID: a.ID, Method: a.Method, ContactName: a.ContactName, Status: a.Status, Note: a.Note,
			RecordedAt: apiTime(a.RecordedAt), RecordedBy: apiName(d.UserName, a.RecordedBy), DecidedAt: apiTimePtr(a.DecidedAt),
			DecidedBy: apiName(d.UserName, a.DecidedBy), RejectReason: a.RejectReason}
		if doc := d.Document(a.DocumentID); doc != nil {
			x.DocumentRef = &doc.Ref
		}
		out.Authorizations = append(out.Authorizations, x)
	}
	for _, doc := range d.Documents {
		out.Documents = append(out.Documents, APIDocument{Ref: doc.Ref, FileName: doc.FileName, ContentType: doc.ContentType,
			Size: doc.Size, SHA256: doc.SHA256, CreatedAt: apiTime(doc.CreatedAt)})
	}
	for _, m := range d.Messages {
		out.Messages = append(out.Messages, APIOperationMessage{Kind: m.Kind, AuthorName: m.AuthorName, Staff: m.Staff,
			Body: m.Body, CreatedAt: apiTime(m.CreatedAt)})
	}
	for i := range d.Clocks {
		out.Clocks = append(out.Clocks, apiRecordClock(&d.Clocks[i]))
	}
	for _, v := range visits {
		out.Visits = append(out.Visits, APIOperationVisitBrief{Ref: v.Ref, Number: v.Number(), State: v.State,
			PlannedFrom: apiTime(v.PlannedFrom), PlannedTo: apiTime(v.PlannedTo)})
	}
	return apiJSON(c, fiber.StatusOK, out)
}

// apiListVisits: GET /api/v1/visits, the latest planned first.
func (h *Handler) apiListVisits(c *fiber.Ctx) error {
	var after models.VisitKey
	limit, err := apiPage(c, &after)
	if err != nil {
		return err
	}
	f := models.VisitFilter{Limit: limit + 1}
	if after.ID != 0 {
		f.After = &after
	}
	if f.State, err = apiQueryChoice(c, "state", models.VisitStates); err != nil {
		return err
	}
	if f.OrgID, err = apiQueryOrg(c); err != nil {
		return err
	}
	if f.From, err = h.apiQueryTime(c, "from"); err != nil {
		return err
	}
	if f.To, err = h.apiQueryTime(c, "to"); err != nil {
		return err
	}
	rows, err := h.store.ListVisits(c.UserContext(), scope(c), f)
	if err != nil {
		return err
	}
	more := len(rows) > limit
	rows = rows[:min(len(rows), limit)]
	out := make([]APIVisitRow, len(rows))
	var next models.VisitKey
	for i, r := range rows {
		out[i] = APIVisitRow{APIVisit: apiVisit(&r.Visit), VisitorCount: r.Visitors, FirstIn: apiTimePtr(r.FirstIn),
			LastOut: apiTimePtr(r.LastOut), Inside: r.Inside}
		next = models.VisitKey{PlannedFrom: r.PlannedFrom, ID: r.ID}
	}
	return apiList(c, out, more, next)
}

// apiGetVisit: GET /api/v1/visits/:ref. Visitors' identity numbers and
// phones are the masked ones for every role, as on /visits/:ref: the API
// never opens them (reception's desk pages do).
func (h *Handler) apiGetVisit(c *fiber.Ctx) error {
	ctx, sc := c.UserContext(), scope(c)
	v, err := h.store.GetVisitByRef(ctx, sc, c.Params("ref"))
	if err != nil {
		return err
	}
	d, err := h.store.VisitDetailOf(ctx, sc, v, false)
	if err != nil {
		return err
	}
	out := APIVisitDetail{APIVisit: apiVisit(v), Site: APISite{ID: d.Site.ID, Name: d.Site.Name, Address: d.Site.Address},
		Visitors: []APIVisitor{}, Targets: []APIVisitTarget{}, Needs: []APIVisitNeed{}}
	if d.Requester != "" {
		out.Requester = &d.Requester
	}
	if d.Escort != "" {
		out.Escort = &d.Escort
	}
	if d.Operation != nil {
		out.Operation = &APIRecordBrief{Ref: d.Operation.Ref, Number: d.Operation.Number()}
	}
	for _, x := range d.Visitors {
		vv := APIVisitor{Name: x.Name, Company: x.Company, IDType: x.IDType, Locale: x.Locale,
			CheckedInAt: apiTimePtr(x.CheckedInAt), CheckedOutAt: apiTimePtr(x.CheckedOutAt), Purged: x.PurgedAt != nil}
		if x.PurgedAt == nil {
			// The stored masks, never the sealed values.
			id, phone := x.IDMasked, x.PhoneMasked
			vv.IDNumber, vv.Phone = &id, &phone
		}
		out.Visitors = append(out.Visitors, vv)
	}
	for _, t := range d.Targets {
		out.Targets = append(out.Targets, APIVisitTarget{DeviceID: t.DeviceID, DeviceName: t.DeviceName, Cabinet: t.Cabinet})
	}
	for _, n := range d.Needs {
		out.Needs = append(out.Needs, APIVisitNeed{Need: n.Need, Note: n.Note})
	}
	return apiJSON(c, fiber.StatusOK, out)
}

// apiListComplaints: GET /api/v1/complaints, the last received first.
// A complaint naming the reader is in no list.
func (h *Handler) apiListComplaints(c *fiber.Ctx) error {
	var after models.ComplaintKey
	limit, err := apiPage(c, &after)
	if err != nil {
		return err
	}
	f := models.ComplaintFilter{Limit: limit + 1}
	if after.ID != 0 {
		f.After = &after
	}
	state, err := apiQueryChoice(c, "state", models.ComplaintStates)
	if err != nil {
		return err
	}
	if state != "" {
		f.States = []string{state}
	}
	if f.Category, err = apiQueryChoice(c, "category", models.ComplaintCategories); err != nil {
		return err
	}
	if f.OrgID, err = apiQueryOrg(c); err != nil {
		return err
	}
	rows, err := h.store.ListComplaints(c.UserContext(), viewer(c), f)
	if err != nil {
		return err
	}
	more := len(rows) > limit
	rows = rows[:min(len(rows), limit)]
	out := make([]APIComplaint, len(rows))
	var next models.ComplaintKey
	for i := range rows {
		out[i] = apiComplaint(&rows[i].Complaint)
		next = models.ComplaintKey{ReceivedAt: rows[i].ReceivedAt, ID: rows[i].ID}
	}
	return apiList(c, out, more, next)
}

// apiGetComplaint: GET /api/v1/complaints/:ref with its thread. One
// naming the reader is 404, as on the pages.
func (h *Handler) apiGetComplaint(c *fiber.Ctx) error {
	ctx, v := c.UserContext(), viewer(c)
	cp, err := h.store.GetComplaintByRef(ctx, v, c.Params("ref"))
	if err != nil {
		return err
	}
	d, err := h.store.ComplaintDetailOf(ctx, v, cp)
	if err != nil {
		return err
	}
	out := APIComplaintDetail{APIComplaint: apiComplaint(cp), NamedUser: apiName(d.UserName, cp.NamedUserID),
		FiledBy: apiName(d.UserName, cp.FiledBy), EnteredBy: d.UserName(&cp.EnteredBy), OutageID: cp.OutageID,
		Thread: []APIComplaintLine{}, Files: []APIComplaintFileRef{}}
	if currentUser(c).Role.IsStaff() {
		out.Assignee = apiName(d.UserName, cp.AssigneeID)
	}
	if d.Operation != nil {
		out.Operation = &APIRecordBrief{Ref: d.Operation.Ref, Number: d.Operation.Number()}
	}
	if d.Visit != nil {
		out.Visit = &APIRecordBrief{Ref: d.Visit.Ref, Number: d.Visit.Number()}
	}
	if d.Outage == nil {
		out.OutageID = nil
	}
	if d.Clock != nil {
		k := apiRecordClock(d.Clock)
		out.ResponseClock = &k
	}
	for _, l := range d.Lines {
		out.Thread = append(out.Thread, APIComplaintLine{Kind: l.Kind, AuthorName: l.AuthorName, Staff: l.Staff, Body: l.Body,
			Found: l.Found, Done: l.Done, Next: l.Next, CreatedAt: apiTime(l.CreatedAt)})
	}
	for _, f := range d.Files {
		out.Files = append(out.Files, APIComplaintFileRef{Ref: f.Ref, FileName: f.FileName, ContentType: f.ContentType,
			Size: f.Size, UploadedBy: apiName(d.UserName, f.UploadedBy), CreatedAt: apiTime(f.CreatedAt)})
	}
	return apiJSON(c, fiber.StatusOK, out)
}

// apiQueryMonth reads an optional month (YYYY-MM) from the query.
func apiQueryMonth(c *fiber.Ctx, name string) (string, error) {
	v := c.Query(name)
	if v != "" && !validMonth(v) {
		return "", apiBadRequest("api.problem.month", name)
	}
	return v, nil
}

// apiListStatements: GET /api/v1/statements, by organization, the newest
// month first.
// maxStatementsPage bounds a page of statements, whatever ?limit= says.
const maxStatementsPage = 50

func (h *Handler) apiListStatements(c *fiber.Ctx) error {
	var after models.StatementKey
	limit, err := apiPage(c, &after)
	if err != nil {
		return err
	}
	// A running month's statement is computed, not read: a page holds at
	// most maxStatementsPage of them (the cursor goes on from there).
	limit = min(limit, maxStatementsPage)
	f := models.StatementFilter{Limit: limit + 1}
	if after.OrgID != 0 {
		if !validMonth(after.Month) {
			return apiBadRequest("api.problem.cursor")
		}
		f.After = &after
	}
	if f.OrgID, err = apiQueryOrg(c); err != nil {
		return err
	}
	if f.From, err = apiQueryMonth(c, "from"); err != nil {
		return err
	}
	if f.To, err = apiQueryMonth(c, "to"); err != nil {
		return err
	}
	rows, err := h.store.ListStatements(c.UserContext(), scope(c), f)
	if err != nil {
		return err
	}
	more := len(rows) > limit
	rows = rows[:min(len(rows), limit)]
	out := make([]APIStatementMonth, len(rows))
	var next models.StatementKey
	for i, r := range rows {
		out[i] = APIStatementMonth{OrgID: r.OrgID, Month: r.Month, State: r.State, Frozen: r.State == models.StatementClosed,
			ClosedAt: apiTimePtr(r.ClosedAt), Contracts: r.Contracts, Credits: apiMoney(r.Totals)}
		if r.Ref != "" {
			out[i].Ref = &r.Ref
		}
		next = models.StatementKey{OrgID: r.OrgID, Month: r.Month}
	}
	return apiList(c, out, more, next)
}

// apiGetStatement: GET /api/v1/statements/:org_id/:month, the stored
// statement once the month is closed, else computed now (provisional). A
// month that is not one, or has not begun, is not found, as on the page.
func (h *Handler) apiGetStatement(c *fiber.Ctx) error {
	orgID, err := paramID(c, "org_id")
	if err != nil {
		return err
	}
	month := c.Params("month")
	if !validMonth(month) || month > h.store.CurrentMonth() {
		return fiber.ErrNotFound
	}
	st, err := h.store.Statement(c.UserContext(), scope(c), orgID, month)
	if err != nil {
		return err
	}
	return apiJSON(c, fiber.StatusOK, h.apiStatement(st))
}

// apiStatement is a statement as the API shows it.
func (h *Handler) apiStatement(st *models.Statement) APIStatement {
	out := APIStatement{OrgID: st.OrgID, OrgName: st.OrgName, Month: st.Month, From: apiTime(st.From), To: apiTime(st.To),
		State: h.store.StatementState(st.Month, !st.Provisional), Frozen: !st.Provisional, ComputedAt: apiTime(st.ComputedAt),
		ClosedAt: apiTimePtr(st.ClosedAt), Contracts: []APIStatementContract{}, Clocks: []APIStatementClock{},
		Uncovered: apiStatementLines(st.Uncovered), Adjustments: apiStatementLines(st.Adjustments), Totals: apiMoney(st.Totals)}
	if st.ClosedByName != "" {
		out.ClosedBy = &st.ClosedByName
	}
	if st.Ref != "" {
		out.Ref = &st.Ref
	}
	for _, cm := range st.Contracts {
		out.Contracts = append(out.Contracts, APIStatementContract{Ref: cm.Ref, Number: cm.Number, ServiceType: cm.ServiceType,
			Currency: cm.Currency, MonthlyFee: cm.MonthlyFee, InstallationFee: cm.InstallationFee, From: apiTime(cm.From),
			To: apiTime(cm.To), Days: cm.Days, MonthDays: cm.MonthDays, Fee: cm.Fee, DayFee: cm.DayFee,
			Network: apiMeasure(cm.Network), Power: apiMeasure(cm.Power), Lines: apiStatementLines(cm.Lines), Cap: cm.Cap,
			Capped: cm.Capped, Credit: cm.Credit})
	}
	for _, k := range st.Clocks {
		out.Clocks = append(out.Clocks, APIStatementClock{Kind: k.Kind, Label: k.Label, Ref: k.Ref, StartedAt: apiTime(k.StartedAt),
			DeadlineAt: apiTime(k.DeadlineAt), StoppedAt: apiTimePtr(k.StoppedAt), Outcome: k.Outcome})
	}
	return out
}

func apiSeconds(d time.Duration) int64 { return int64(d / time.Second) }

func apiMeasure(m models.Measure) APIMeasure {
	return APIMeasure{PeriodSeconds: apiSeconds(m.Period), ElapsedSeconds: apiSeconds(m.Elapsed),
		AllowanceSeconds: apiSeconds(m.Allowance), DownSeconds: apiSeconds(m.Down), CountedSeconds: apiSeconds(m.Counted),
		Percent: m.Percent, Met: m.Met}
}

func apiStatementLines(ls []models.CreditLine) []APIStatementLine {
	out := make([]APIStatementLine, 0, len(ls))
	for _, l := range ls {
		x := APIStatementLine{Kind: l.Kind, Amount: l.Amount, Currency: l.Currency, Outcome: l.Outcome, Reason: l.Reason}
		if l.Contract != "" {
			x.Contract = &l.Contract
		}
		if l.Day != "" {
			x.Day = &l.Day
		}
		if l.Kind == models.LineAdjustment {
			x.Origin, x.Was, x.Now = &l.Origin, &l.Was, &l.Now
		}
		out = append(out, x)
	}
	return out
}
