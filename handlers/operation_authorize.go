package handlers

import (
	"context"
	"io"
	"mime"
	"mime/multipart"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// uploadAuthorization stores a signed authorization scan against a request,
// naming the contact who signed it, for an engineer to accept.
func (h *Handler) uploadAuthorization(c *fiber.Ctx) error {
	r, err := h.requestParam(c)
	if err != nil {
		return err
	}
	contact, _ := strconv.ParseInt(c.FormValue("contact"), 10, 64)
	vm := views.OperationPageVM{Form: "upload", UploadWho: contact}
	up, data, err := h.readUpload(c)
	if err == nil {
		_, err = h.store.AddWrittenAuthorization(c.UserContext(), actor(c), h.blobs, r.OrgID, r.ID, contact, up, data)
	}
	if errs := views.FromError(err); errs != nil {
		vm.Errors = errs
		return h.renderOperation(c, fiber.StatusUnprocessableEntity, r, vm)
	}
	if err != nil {
		return err
	}
	if currentUser(c).Role == models.RoleCustomer {
		h.flash(c, "ok", "flash.signed_form_returned")
	} else {
		h.flash(c, "ok", "flash.authorization_uploaded")
	}
	return redirect(c, views.OperationURL(r.Ref)+"#auth-h")
}

// readUpload reads the file field and checks it: its name as the browser
// sent it (before any cleaning, so a path or quotes are refused, not
// silently cut), its size before reading, then its content.
func (h *Handler) readUpload(c *fiber.Ctx) (*models.CheckedUpload, []byte, error) {
	fh, err := c.FormFile("file")
	if err != nil {
		return nil, nil, models.Invalid("file", "upload.error.empty")
	}
	return h.checkFile(c, fh)
}

// checkFile reads one uploaded file and checks it (see readUpload).
func (h *Handler) checkFile(c *fiber.Ctx, fh *multipart.FileHeader) (*models.CheckedUpload, []byte, error) {
	if _, err := models.CheckUploadName(rawFileName(fh)); err != nil {
		return nil, nil, err
	}
	if fh.Size > h.uploads.MaxBytes {
		return nil, nil, h.uploads.TooLarge()
	}
	// Decoding a large image takes memory: a few checks at a time at most.
	select {
	case h.uploadSlots <- struct{}{}:
		defer func() { <-h.uploadSlots }()
	case <-c.UserContext().Done():
		return nil, nil, c.UserContext().Err()
	}
	f, err := fh.Open()
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, h.uploads.MaxBytes+1))
	if err != nil {
		return nil, nil, err
	}
	up, err := models.CheckUpload(rawFileName(fh), data, h.uploads)
	return up, data, err
}

// rawFileName is the filename parameter exactly as sent: the multipart
// reader keeps only its last path element, which would hide a path.
func rawFileName(fh *multipart.FileHeader) string {
	if _, params, err := mime.ParseMediaType(fh.Header.Get("Content-Disposition")); err == nil {
		if n, ok := params["filename"]; ok {
			return n
		}
	}
	return fh.Filename
}

// recordPhoneAuthorization records an authorizing call: the contact and the
// passphrase they gave.
func (h *Handler) recordPhoneAuthorization(c *fiber.Ctx) error {
	r, err := h.requestParam(c)
	if err != nil {
		return err
	}
	contact, _ := strconv.ParseInt(c.FormValue("contact"), 10, 64)
	in := models.PhoneInput{ContactID: contact, Passphrase: c.FormValue("passphrase"), Note: c.FormValue("note"), FollowUp: h.followUp}
	_, err = h.store.RecordPhoneAuthorization(c.UserContext(), actor(c), r.OrgID, r.ID, in)
	if errs := views.FromError(err); errs != nil {
		return h.renderOperation(c, fiber.StatusUnprocessableEntity, r, views.OperationPageVM{Form: "phone", Errors: errs,
			PhoneWho: contact, PhoneNote: in.Note, PhoneDropped: in.Passphrase != ""})
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.phone_authorized")
	return redirect(c, views.OperationURL(r.Ref)+"#auth-h")
}

// acceptAuthorization accepts a pending written authorization.
func (h *Handler) acceptAuthorization(c *fiber.Ctx) error {
	r, id, err := h.requestChild(c, "auth")
	if err != nil {
		return err
	}
	if !confirmed(c) {
		d, err := h.store.RequestDetailOf(c.UserContext(), scope(c), r)
		if err != nil {
			return err
		}
		for _, a := range d.Authorizations {
			if a.ID == id && a.Status == models.AuthPending {
				return h.confirmStep(c, views.ConfirmVM{Button: locales.For(state(c).lang).T("operation.auth.accept"),
					Back: views.OperationURL(r.Ref) + "#auth-h",
					Text: func(ctx context.Context) (string, []string) {
						return views.T(ctx, "confirm.accept.title"), views.AcceptChanges(views.Tc(ctx), a.ContactName, r.Number())
					}})
			}
		}
		// Not pending (decided meanwhile) or not found: the Store says which.
	}
	err = h.store.AcceptAuthorization(c.UserContext(), actor(c), r.OrgID, r.ID, id)
	if errs := views.FromError(err); errs != nil {
		return h.renderOperation(c, fiber.StatusUnprocessableEntity, r, views.OperationPageVM{Form: "reject", Errors: errs, RejectID: id})
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.authorization_accepted")
	return redirect(c, views.OperationURL(r.Ref))
}

// rejectAuthorization refuses a pending written authorization with a reason.
func (h *Handler) rejectAuthorization(c *fiber.Ctx) error {
	r, id, err := h.requestChild(c, "auth")
	if err != nil {
		return err
	}
	reason := c.FormValue("reason")
	err = h.store.RejectAuthorization(c.UserContext(), actor(c), r.OrgID, r.ID, id, reason)
	// A missing reason shows at the reject field; an authorization decided
	// meanwhile has no form left on the page, so it shows on top.
	if errs := views.FromError(err); errs != nil {
		return h.renderOperation(c, fiber.StatusUnprocessableEntity, r, views.OperationPageVM{Form: "reject",
			Errors: errs, RejectID: id, RejectValue: reason})
	}
	if err != nil {
		return err
	}
	h.flash(c, "ok", "flash.authorization_rejected")
	return redirect(c, views.OperationURL(r.Ref))
}
