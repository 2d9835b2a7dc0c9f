package handlers

import (
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/blobstore"
	"github.com/colo-portal/portal/views"
)

// Written complaints (docs/agreement.md, clause 8), one complaint end to
// end: the form (the customer's, or the service desk's record of one
// received by phone, email or letter), its page with the thread, files
// and the 24-hour clock, and what each side does on it. The list and the
// desk's queue are not here.
//
// Every complaint route finds the complaint first, through the Store's
// visibleComplaints: another organization's complaint, and one naming the
// reader, is 404 whatever the reader's role. Only then is a role that may
// not act refused (403), so that the named employee never learns a
// complaint exists from a different answer.

// maxComplaintFiles is how many files one filing may carry.
const maxComplaintFiles = 10

// viewer is who reads complaints in this request.
func viewer(c *fiber.Ctx) models.Viewer {
	return models.Viewer{Scope: scope(c), UserID: currentUser(c).ID}
}

// complaintParam finds the complaint of the path for the reader.
func (h *Handler) complaintParam(c *fiber.Ctx) (*models.Complaint, error) {
	return h.store.GetComplaintByRef(c.UserContext(), viewer(c), c.Params("ref"))
}

// complaintFor finds the complaint of the path, then refuses a reader
// whose role is not in allowed.
func (h *Handler) complaintFor(c *fiber.Ctx, allowed Access) (*models.Complaint, error) {
	cp, err := h.complaintParam(c)
	if err != nil {
		return nil, err
	}
	if !allowed.Allows(currentUser(c).Role) {
		return nil, fiber.ErrForbidden
	}
	return cp, nil
}

// isComplaintDesk: the service desk and admins answer complaints.
func isComplaintDesk(c *fiber.Ctx) bool { return complaintDesk.Allows(currentUser(c).Role) }

// complaintForm fills the form's choices.
func (h *Handler) complaintForm(c *fiber.Ctx, vm views.ComplaintFormVM) (views.ComplaintFormVM, error) {
	ctx := c.UserContext()
	var err error
	vm.MaxUpload = h.uploads.MaxBytes
	if vm.Staff, err = h.store.ListEscorts(ctx); err != nil {
		return vm, err
	}
	if vm.Desk {
		if vm.Customers, err = h.store.ListUsers(ctx, scope(c), models.UserFilter{Role: models.RoleCustomer, EnabledOnly: true}); err != nil {
			return vm, err
		}
		orgs, err := h.store.ListOrgs(ctx, scope(c))
		if err != nil {
			return vm, err
		}
		vm.OrgNames = map[int64]string{}
		for _, o := range orgs {
			vm.OrgNames[o.ID] = o.Name
		}
		return vm, nil
	}
	vm.Choices, err = h.store.ComplaintChoicesOf(ctx, scope(c), ownOrg(c))
	return vm, err
}

// newComplaint shows the form: the customer's, or the desk's.
func (h *Handler) newComplaint(c *fiber.Ctx) error {
	vm := views.ComplaintFormVM{Desk: isComplaintDesk(c), Channel: "phone"}
	if vm.Desk {
		vm.ReceivedAt = h.store.Now().In(h.loc).Format("2006-01-02T15:04")
	}
	vm.Outage, _ = strconv.ParseInt(c.Query("outage"), 10, 64)
	vm.Operation, vm.Visit = c.Query("operation"), c.Query("visit")
	vm, err := h.complaintForm(c, vm)
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.ComplaintFormPage(vm))
}

// checkedFile is an upload read and checked.
type checkedFile struct {
	up   *models.CheckedUpload
	data []byte
}

// readUploads reads and checks every file of the form's file field (none
// chosen is none); the first refusal is returned.
func (h *Handler) readUploads(c *fiber.Ctx) ([]checkedFile, error) {
	form, err := c.MultipartForm()
	if err != nil {
		return nil, nil
	}
	var fhs []*multipart.FileHeader
	for _, fh := range form.File["file"] {
		if fh.Size > 0 || rawFileName(fh) != "" {
			fhs = append(fhs, fh)
		}
	}
	if len(fhs) > maxComplaintFiles {
		return nil, models.Invalid("file", "complaints.error.too_many_files", maxComplaintFiles)
	}
	var out []checkedFile
	for _, fh := range fhs {
		up, data, err := h.checkFile(c, fh)
		if err != nil {
			return nil, err
		}
		out = append(out, checkedFile{up, data})
	}
	return out, nil
}

// createComplaint files the customer's complaint, or records one the desk
// received, with its files.
func (h *Handler) createComplaint(c *fiber.Ctx) error {
	desk := isComplaintDesk(c)
	vm := views.ComplaintFormVM{Desk: desk, Category: c.FormValue("category"), Subject: c.FormValue("subject"),
		Description: c.FormValue("description"), Operation: c.FormValue("operation"), Visit: c.FormValue("visit"),
		Channel: c.FormValue("channel"), ReceivedAt: c.FormValue("received_at")}
	vm.NamedUser, _ = strconv.ParseInt(c.FormValue("named_user"), 10, 64)
	vm.Outage, _ = strconv.ParseInt(c.FormValue("outage"), 10, 64)
	vm.FiledBy, _ = strconv.ParseInt(c.FormValue("filed_by"), 10, 64)
	in := models.ComplaintInput{Category: vm.Category, NamedUserID: vm.NamedUser, Subject: vm.Subject, Description: vm.Description}
	var parseErr error
	orgID := ownOrg(c)
	if desk {
		in.Channel, in.FiledBy = vm.Channel, vm.FiledBy
		if in.Channel == "" || in.Channel == "portal" {
			in.Channel = "-" // the desk records only what came in otherwise
		}
		var at *time.Time
		if at, parseErr = h.parseLocalTime("received_at", vm.ReceivedAt); at != nil {
			in.ReceivedAt = *at
		} else if parseErr == nil {
			parseErr = models.Invalid("received_at", "error.required")
		}
		orgID = 0
		if u, err := h.store.GetUser(c.UserContext(), vm.FiledBy); err == nil && u.Role == models.RoleCustomer && u.OrgID != nil {
			orgID = *u.OrgID
		}
	} else {
		in.OutageID, in.OperationRef, in.VisitRef = vm.Outage, vm.Operation, vm.Visit
	}
	files, fileErr := h.readUploads(c)
	var cp *models.Complaint
	var err error
	if desk && orgID == 0 {
		err = models.Invalid("filed_by", "complaints.error.filed_by")
	}
	if err == nil && parseErr == nil && fileErr == nil {
		cp, err = h.store.CreateComplaint(c.UserContext(), actor(c), orgID, in)
	}
	if errs := views.FromError(errors.Join(parseErr, fileErr, err)); errs != nil {
		if vm.Channel == "" {
			vm.Channel = "phone"
		}
		vm.Errors = errs
		if vm, err = h.complaintForm(c, vm); err != nil {
			return err
		}
		return h.render(c, fiber.StatusUnprocessableEntity, views.ComplaintFormPage(vm))
	}
	if err != nil {
		return err
	}
	// The complaint stands; its files follow one by one. A file the store
	// cannot keep is said on the complaint's page, not lost silently.
	v := viewer(c)
	for _, f := range files {
		if _, err := h.store.AttachComplaintFile(c.UserContext(), actor(c), v, h.blobs, cp.ID, f.up, f.data); err != nil {
			h.logger(c).Error("attach a complaint's file", "complaint", cp.Number(), "err", err)
			h.flash(c, "warn", "flash.complaint_file_failed")
			return redirect(c, views.ComplaintURL(cp.Ref))
		}
	}
	if desk {
		h.flash(c, "ok", "flash.complaint_recorded")
	} else {
		h.flash(c, "ok", "flash.complaint_filed")
	}
	return redirect(c, views.ComplaintURL(cp.Ref))
}

// showComplaint is a complaint's page.
func (h *Handler) showComplaint(c *fiber.Ctx) error {
	cp, err := h.complaintParam(c)
	if err != nil {
		return err
	}
	return h.renderComplaint(c, fiber.StatusOK, cp, views.ComplaintPageVM{})
}

func (h *Handler) renderComplaint(c *fiber.Ctx, status int, cp *models.Complaint, vm views.ComplaintPageVM) error {
	ctx := c.UserContext()
	u := currentUser(c)
	d, err := h.store.ComplaintDetailOf(ctx, viewer(c), cp)
	if err != nil {
		return err
	}
	vm.D, vm.Now, vm.MaxUpload = d, h.store.Now(), h.uploads.MaxBytes
	vm.Staff = u.Role.IsStaff()
	vm.Customer = u.Role == models.RoleCustomer && u.OrgID != nil && *u.OrgID == cp.OrgID
	vm.Desk = isComplaintDesk(c)
	if vm.Desk {
		all, err := h.store.ListEscorts(ctx)
		if err != nil {
			return err
		}
		for _, e := range all {
			if cp.NamedUserID == nil || *cp.NamedUserID != e.ID {
				vm.Assignees = append(vm.Assignees, e)
			}
		}
	}
	return h.render(c, status, views.ComplaintPage(vm))
}

// complaintDone answers a complaint action: the page again with the
// form's errors, or back to the page with a flash.
func (h *Handler) complaintDone(c *fiber.Ctx, cp *models.Complaint, err error, vm views.ComplaintPageVM, flash, anchor string) error {
	if errs := views.FromError(err); errs != nil {
		vm.Errors = errs
		return h.renderComplaint(c, fiber.StatusUnprocessableEntity, cp, vm)
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", flash)
	return redirect(c, views.ComplaintURL(cp.Ref)+anchor)
}

// postComplaintMessage writes a message on the thread.
func (h *Handler) postComplaintMessage(c *fiber.Ctx) error {
	cp, err := h.complaintFor(c, complainants)
	if err != nil {
		return err
	}
	body := c.FormValue("body")
	_, err = h.store.AddComplaintMessage(c.UserContext(), actor(c), viewer(c), cp.ID, body)
	flash := "flash.complaint_message"
	if isComplaintDesk(c) {
		flash = "flash.complaint_message_emailed"
	}
	return h.complaintDone(c, cp, err, views.ComplaintPageVM{Form: "message", Body: body}, flash, "#thread")
}

// postComplaintReport writes the written handling report.
func (h *Handler) postComplaintReport(c *fiber.Ctx) error {
	cp, err := h.complaintFor(c, complaintDesk)
	if err != nil {
		return err
	}
	rep := models.ReportInput{Found: c.FormValue("found"), Done: c.FormValue("done"), Next: c.FormValue("next")}
	_, err = h.store.WriteComplaintReport(c.UserContext(), actor(c), viewer(c), cp.ID, rep)
	return h.complaintDone(c, cp, err, views.ComplaintPageVM{Form: "report", Report: rep}, "flash.complaint_report", "#thread")
}

// resolveComplaint resolves the complaint with a summary.
func (h *Handler) resolveComplaint(c *fiber.Ctx) error {
	cp, err := h.complaintFor(c, complaintDesk)
	if err != nil {
		return err
	}
	summary := c.FormValue("summary")
	err = h.store.ResolveComplaint(c.UserContext(), actor(c), viewer(c), cp.ID, summary)
	return h.complaintDone(c, cp, err, views.ComplaintPageVM{Form: "resolve", Summary: summary}, "flash.complaint_resolved", "")
}

// assignComplaint gives the complaint to a staff member.
func (h *Handler) assignComplaint(c *fiber.Ctx) error {
	cp, err := h.complaintFor(c, complaintDesk)
	if err != nil {
		return err
	}
	to, _ := strconv.ParseInt(c.FormValue("assignee"), 10, 64)
	err = h.store.AssignComplaint(c.UserContext(), actor(c), viewer(c), cp.ID, to)
	return h.complaintDone(c, cp, err, views.ComplaintPageVM{Form: "assign", Assignee: to}, "flash.complaint_assigned", "")
}

// confirmComplaint closes a resolved complaint for the customer.
func (h *Handler) confirmComplaint(c *fiber.Ctx) error {
	cp, err := h.complaintFor(c, customer)
	if err != nil {
		return err
	}
	err = h.store.ConfirmComplaint(c.UserContext(), actor(c), viewer(c), cp.ID)
	return h.complaintDone(c, cp, err, views.ComplaintPageVM{Form: "confirm"}, "flash.complaint_closed", "")
}

// reopenComplaint takes a resolved complaint back, within 14 days.
func (h *Handler) reopenComplaint(c *fiber.Ctx) error {
	cp, err := h.complaintFor(c, customer)
	if err != nil {
		return err
	}
	reason := c.FormValue("reason")
	err = h.store.ReopenComplaint(c.UserContext(), actor(c), viewer(c), cp.ID, reason)
	return h.complaintDone(c, cp, err, views.ComplaintPageVM{Form: "reopen", Reason: reason}, "flash.complaint_reopened", "")
}

// attachComplaintFile adds a file to the complaint.
func (h *Handler) attachComplaintFile(c *fiber.Ctx) error {
	cp, err := h.complaintFor(c, complainants)
	if err != nil {
		return err
	}
	up, data, err := h.readUpload(c)
	if err == nil {
		_, err = h.store.AttachComplaintFile(c.UserContext(), actor(c), viewer(c), h.blobs, cp.ID, up, data)
	}
	return h.complaintDone(c, cp, err, views.ComplaintPageVM{Form: "file"}, "flash.complaint_file_added", "#files-h")
}

// downloadComplaintFile sends a file of the complaint.
func (h *Handler) downloadComplaintFile(c *fiber.Ctx) error {
	cp, err := h.complaintParam(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	f, err := h.store.GetComplaintFile(ctx, cp, c.Params("file"))
	if err != nil {
		return err
	}
	data, err := h.readStored(ctx, f.StorageKey, f.SHA256)
	if errors.Is(err, blobstore.ErrNotFound) {
		h.logger(c).Error("complaint file missing from the document store", "file_id", f.ID, "complaint", cp.Number(),
			"store", h.blobs.Where(), "sha256", f.SHA256)
		return h.render(c, http.StatusInternalServerError, views.ErrorPage(http.StatusInternalServerError, "error.document_missing"))
	}
	if err != nil {
		return fmt.Errorf("complaint file %d: %w", f.ID, err)
	}
	attachment(c, f.ContentType, f.FileName)
	return c.Send(data)
}
