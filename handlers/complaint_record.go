package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
	"github.com/colo-portal/portal/views/pdf"
)

// downloadComplaintRecord sends the written record of a complaint (clause
// 8): the complaint, its clock and its whole thread as a PDF on the
// provider's letterhead, in the reader's language. Whoever sees the
// complaint may have its record; the complaint is found first, so the
// employee it names and another organization get 404.
func (h *Handler) downloadComplaintRecord(c *fiber.Ctx) error {
	cp, err := h.complaintParam(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	d, err := h.store.ComplaintDetailOf(ctx, viewer(c), cp)
	if err != nil {
		return err
	}
	tr := documentLang(c)
	b, err := pdf.ComplaintRecord(tr.T, h.letterhead(), h.complaintDoc(tr, d))
	if err != nil {
		return err
	}
	if err := h.store.Audit(ctx, actor(c), models.AuditComplaintRecordPDF, "complaint", &cp.ID, &cp.OrgID,
		map[string]any{"complaint": cp.Number()}); err != nil {
		return err
	}
	attachment(c, "application/pdf", cp.Number()+"-record-"+tr.Lang()+".pdf")
	return c.Send(b)
}

// complaintDoc turns a complaint's rows into its record's text, in tr's
// language.
func (h *Handler) complaintDoc(tr *locales.Translator, d *models.ComplaintDetail) pdf.ComplaintDoc {
	cp := d.Complaint
	vm := pdf.ComplaintDoc{Lang: tr.Lang(), Number: cp.Number(), OrgName: d.Org.Name,
		Category: tr.T("complaints.category." + cp.Category), Concerning: d.UserName(cp.NamedUserID),
		Subject: cp.Subject, Description: cp.Description, Received: h.docTime(cp.ReceivedAt),
		Channel: tr.T("complaints.channel." + cp.Channel), FiledBy: d.UserName(cp.FiledBy),
		State: tr.T("complaints.state." + cp.State), Generated: h.docTime(h.store.Now())}
	if cp.Channel != "portal" {
		vm.Channel += " · " + tr.T("complaints.entered_by", d.UserName(&cp.EnteredBy), h.docTime(cp.CreatedAt))
	}
	if k := d.Clock; k != nil {
		vm.ClockStarted, vm.ClockDeadline = h.docTime(k.StartedAt), h.docTime(k.DeadlineAt)
		vm.ClockOutcome, vm.ClockMet = tr.T("clock."+k.Outcome), k.Outcome == models.ClockMet
		if k.StoppedAt != nil {
			vm.ClockStopped = h.docTime(*k.StoppedAt)
		}
		if k.Outcome == models.ClockRunning && h.store.Now().After(k.DeadlineAt) {
			vm.ClockOutcome = tr.T("clock.overdue")
		}
	} else {
		vm.ClockStarted, vm.ClockDeadline = h.docTime(cp.ReceivedAt), h.docTime(cp.ReceivedAt.Add(models.ComplaintDeadline))
		vm.ClockOutcome = tr.T("complaints.no_clock")
	}
	for _, l := range d.Lines {
		e := pdf.ComplaintEntry{At: h.docTime(l.CreatedAt), Author: l.AuthorName, Kind: tr.T("complaints.kind." + l.Kind), Body: l.Body}
		if l.Staff {
			e.Author += " (" + tr.T("complaints.staff") + ")"
		}
		switch l.Kind {
		case models.ComplaintReport:
			e.Report, e.Found, e.Done, e.Next = true, l.Found, l.Done, l.Next
		case models.ComplaintStateLine:
			e.Body = tr.T("complaints.now_state", tr.T("complaints.state."+l.Body))
		}
		vm.Lines = append(vm.Lines, e)
	}
	for _, f := range d.Files {
		up := h.docTime(f.CreatedAt)
		if n := d.UserName(f.UploadedBy); n != "" {
			up += " · " + n
		}
		vm.Files = append(vm.Files, pdf.ComplaintFileLine{Name: f.FileName, Size: views.FileSize(f.Size), Uploaded: up, SHA256: f.SHA256})
	}
	return vm
}
