package handlers

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/blobstore"
	"github.com/colo-portal/portal/views"
	"github.com/colo-portal/portal/views/pdf"
)

// attachment sets the headers of a download: never shown inline, never
// sniffed, sandboxed if a browser opens it anyway.
func attachment(c *fiber.Ctx, contentType, name string) {
	c.Set(fiber.HeaderContentType, contentType)
	c.Set(fiber.HeaderContentDisposition, "attachment; filename*=UTF-8''"+extValue(name))
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Content-Security-Policy", "default-src 'none'; sandbox")
}

// readStored reads file key from the document store and checks it
// against its recorded SHA-256; a file missing from the store is
// blobstore.ErrNotFound.
func (h *Handler) readStored(ctx context.Context, key, want string) ([]byte, error) {
	f, err := h.blobs.Open(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != want {
		return nil, fmt.Errorf("stored file's SHA-256 %x differs from the recorded %s", sum, want)
	}
	return data, nil
}

// extValue encodes a file name for filename* (RFC 8187): every byte but
// the attribute characters percent-encoded.
func extValue(name string) string {
	const attr = "!#$&+-.^_`|~"
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if ch < 0x80 && (ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte(attr, ch) >= 0) {
			b.WriteByte(ch)
		} else {
			fmt.Fprintf(&b, "%%%02X", ch)
		}
	}
	return b.String()
}

// documentLang is the language of a generated document: the reader's, or
// the one asked for with ?lang= (a customer may want the other one).
func documentLang(c *fiber.Ctx) *locales.Translator {
	if l := c.Query("lang"); locales.Valid(l) {
		return locales.For(l)
	}
	return locales.For(state(c).lang)
}

// downloadDocument sends an uploaded authorization scan, named in the URL
// by its reference within the request, after checking the user may see
// the request.
func (h *Handler) downloadDocument(c *fiber.Ctx) error {
	r, err := h.requestParam(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	doc, err := h.store.GetDocumentByRef(ctx, scope(c), r.OrgID, r.ID, c.Params("doc"))
	if err != nil {
		return err
	}
	data, err := h.readStored(ctx, doc.StorageKey, doc.SHA256)
	if errors.Is(err, blobstore.ErrNotFound) {
		// The row is there but its file is not: documents lost or not
		// restored with the database. Say so, and tell the operator.
		h.logger(c).Error("document file missing from the document store", "document_id", doc.ID, "request", r.Number(),
			"store", h.blobs.Where(), "sha256", doc.SHA256)
		return h.render(c, http.StatusInternalServerError, views.ErrorPage(http.StatusInternalServerError, "error.document_missing"))
	}
	if err != nil {
		return fmt.Errorf("document %d: %w", doc.ID, err)
	}
	if err := h.store.Audit(ctx, actor(c), models.AuditDocumentDownloaded, "document", &doc.ID, &r.OrgID,
		map[string]any{"request": r.Number(), "file_name": doc.FileName, "sha256": doc.SHA256}); err != nil {
		return err
	}
	attachment(c, doc.ContentType, doc.FileName)
	return c.Send(data)
}

// downloadForm sends the pre-filled authorization form of a request for
// the customer to print, sign and return.
func (h *Handler) downloadForm(c *fiber.Ctx) error {
	r, err := h.requestParam(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	d, err := h.store.RequestDetailOf(ctx, scope(c), r)
	if err != nil {
		return err
	}
	tr := documentLang(c)
	vm := pdf.AuthorizationFormVM{Lang: tr.Lang(), OrgName: d.Org.Name, RequestNo: r.Number(), Title: r.Title,
		Devices: deviceLines(d.Devices), Work: r.Work, Urgency: tr.T("operation.urgency." + r.Urgency),
		Window: h.windowText(r), RequestedBy: h.requesterText(d), Generated: h.docTime(h.store.Now()),
		Provider: h.letterhead(), ReturnURL: h.publicURL(c, views.OperationURL(r.Ref))}
	for _, ct := range d.Contacts {
		vm.Signers = append(vm.Signers, pdf.Signer{Name: ct.Name, Title: ct.Title, Phone: models.FormatPhone(cmp.Or(ct.Mobile, ct.OfficePhone)), Email: ct.Email})
	}
	b, err := pdf.AuthorizationForm(tr.T, vm)
	if err != nil {
		return err
	}
	if err := h.store.Audit(ctx, actor(c), models.AuditFormDownloaded, "operation", &r.ID, &r.OrgID,
		map[string]any{"request": r.Number(), "lang": tr.Lang()}); err != nil {
		return err
	}
	attachment(c, "application/pdf", r.Number()+"-authorization-"+tr.Lang()+".pdf")
	return c.Send(b)
}

// downloadReport sends the operation report of finished work.
func (h *Handler) downloadReport(c *fiber.Ctx) error {
	r, err := h.requestParam(c)
	if err != nil {
		return err
	}
	if r.Open() {
		return models.ErrNotFound
	}
	ctx := c.UserContext()
	d, err := h.store.RequestDetailOf(ctx, scope(c), r)
	if err != nil {
		return err
	}
	tr := documentLang(c)
	vm := h.reportVM(tr, d)
	if vm.Outages, err = h.reportOutages(ctx, scope(c), tr, d); err != nil {
		return err
	}
	b, err := pdf.OperationReport(tr.T, vm)
	if err != nil {
		return err
	}
	if err := h.store.Audit(ctx, actor(c), models.AuditReportDownloaded, "operation", &r.ID, &r.OrgID,
		map[string]any{"request": r.Number(), "lang": tr.Lang()}); err != nil {
		return err
	}
	attachment(c, "application/pdf", r.Number()+"-report-"+tr.Lang()+".pdf")
	return c.Send(b)
}

// reportVM turns a request's rows into the report's text, in tr's language.
func (h *Handler) reportVM(tr *locales.Translator, d *models.RequestDetail) pdf.ReportVM {
	r := d.Request
	vm := pdf.ReportVM{Lang: tr.Lang(), OrgName: d.Org.Name, RequestNo: r.Number(), Title: r.Title, Devices: deviceLines(d.Devices),
		Work: r.Work, State: tr.T("operation.state." + r.State), Engineer: d.UserName(r.EngineerID),
		Started: h.docTimePtr(r.StartedAt), Ended: h.docTimePtr(r.EndedAt), Done: r.WorkDone, FollowUp: r.FollowUp,
		Generated: h.docTime(h.store.Now()), Provider: h.letterhead()}
	// The result, and what the engineer said of it (why the work was
	// abandoned, most often, when there is no result).
	if r.Result != "" {
		vm.Result = tr.T("operation.result." + r.Result)
	}
	if r.ResultNote != "" {
		vm.Result = strings.TrimSpace(vm.Result + "\n" + r.ResultNote)
	}
	for _, a := range d.Accepted() {
		line := pdf.AuthorizationLine{Method: tr.T("operation.auth.method." + a.Method), Contact: a.ContactName,
			At: h.docTime(a.RecordedAt), AcceptedBy: d.UserName(a.DecidedBy), AcceptedAt: h.docTimePtr(a.DecidedAt)}
		if doc := d.Document(a.DocumentID); doc != nil {
			line.Document, line.SHA256 = doc.FileName, doc.SHA256
		}
		vm.Authorizations = append(vm.Authorizations, line)
	}
	for _, m := range d.Messages {
		vm.Timeline = append(vm.Timeline, pdf.TimelineEntry{At: h.docTime(m.CreatedAt), Who: m.AuthorName, Text: views.TimelineText(tr.T, m)})
	}
	for _, ck := range d.Clocks {
		line := pdf.ClockLine{Name: tr.T("clock.kind." + ck.Kind), Started: h.docTime(ck.StartedAt), Deadline: h.docTime(ck.DeadlineAt),
			Outcome: tr.T("clock." + ck.Outcome), Met: ck.Outcome == models.ClockMet}
		if ck.StoppedAt != nil {
			line.Stopped = h.docTime(*ck.StoppedAt)
		}
		if ck.Outcome == models.ClockRunning && h.store.Now().After(ck.DeadlineAt) {
			line.Outcome = tr.T("clock.overdue")
		}
		vm.Clocks = append(vm.Clocks, line)
	}
	return vm
}

// reportOutages lists, one row each, the outages part of which was
// attributed to the request's operation: the exempt parts (more than one
// when a later span cut the request's in two) and what still counts.
func (h *Handler) reportOutages(ctx context.Context, sc models.Scope, tr *locales.Translator, d *models.RequestDetail) ([]pdf.OutageLine, error) {
	r := d.Request
	ros, err := h.store.RequestOutages(ctx, sc, r.OrgID, r.ID)
	if err != nil {
		return nil, err
	}
	now := h.store.Now()
	os := make([]models.Outage, len(ros))
	for i, ro := range ros {
		os[i] = ro.Outage
	}
	// Counted as on the outage's page: cause spans and agreed maintenance.
	segs, err := h.store.OutageSegmentsOf(ctx, sc, r.OrgID, os)
	if err != nil {
		return nil, err
	}
	out := make([]pdf.OutageLine, 0, len(ros))
	for _, ro := range ros {
		o := ro.Outage
		counted, _ := models.SplitTotals(segs[o.ID], now)
		end := tr.T("outages.ongoing")
		if o.EndedAt != nil {
			end = h.docTime(*o.EndedAt)
		}
		var exempt, notes []string
		for _, p := range ro.Spans {
			exempt = append(exempt, h.docTime(p.StartAt)+" – "+h.docTime(p.EndAt)+" ("+tr.Duration(p.EndAt.Sub(p.StartAt))+")")
			if p.Note != "" && !slices.Contains(notes, p.Note) {
				notes = append(notes, p.Note)
			}
		}
		out = append(out, pdf.OutageLine{Device: d.DeviceName(o.DeviceID), Outage: h.docTime(o.StartedAt) + " – " + end,
			Exempt: strings.Join(exempt, "; "), Counted: tr.Duration(counted), Note: strings.Join(notes, "; ")})
	}
	return out, nil
}

func deviceLines(ds []models.Device) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Name + " (" + d.Address + ")"
		if d.Cabinet != "" {
			out[i] = d.Name + " (" + d.Address + ", " + d.Cabinet + ")"
		}
	}
	return out
}

// docTime writes a time on a document with its offset from UTC, never a
// zone abbreviation: "CST" is China, Cuba and the American Central zone.
func (h *Handler) docTime(t time.Time) string {
	return t.In(h.loc).Format("2006-01-02 15:04 UTC-07:00")
}

// letterhead is the provider's identity as documents print it.
func (h *Handler) letterhead() pdf.Letterhead {
	p := h.provider
	return pdf.Letterhead{Name: p.Name, Address: p.Address, Phone: models.FormatPhone(p.Phone), Fax: models.FormatPhone(p.Fax),
		Email: p.Email, Logo: p.Logo, LogoType: p.LogoType}
}

// publicURL is the absolute URL of path: under PORTAL_BASE_URL, or the
// request's own scheme and host when it is not set.
func (h *Handler) publicURL(c *fiber.Ctx, path string) string {
	if h.baseURL != "" {
		return h.baseURL + path
	}
	return c.BaseURL() + path
}

func (h *Handler) docTimePtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return h.docTime(*t)
}

func (h *Handler) windowText(r *models.OperationRequest) string {
	if r.WindowFrom == nil && r.WindowTo == nil {
		return ""
	}
	return h.docTimePtr(r.WindowFrom) + " – " + h.docTimePtr(r.WindowTo)
}

func (h *Handler) requesterText(d *models.RequestDetail) string {
	if id := d.Request.RequestedBy; id != nil && d.Users[*id] != nil {
		u := d.Users[*id]
		return u.Name + " <" + u.Email + ">"
	}
	return d.UserName(&d.Request.RaisedBy)
}
