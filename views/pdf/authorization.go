package pdf

import "strings"

// Signer is an authorized contact who may sign the authorization form.
type Signer struct{ Name, Title, Phone, Email string }

// AuthorizationFormVM is what the authorization form shows. Every string
// is already formatted and, where it is a label, translated.
type AuthorizationFormVM struct {
	Lang        string   // "zh-CN" or "en" (already chosen by the caller)
	OrgName     string   // the customer
	RequestNo   string   // e.g. "OP-000042"
	Title       string   // the request's title
	Devices     []string // "web-01 (203.0.113.10)"
	Work        string   // what to do, free text, may be long, multi-line, mixed Chinese/English
	Urgency     string   // already translated
	Window      string   // preferred window, already formatted, may be ""
	RequestedBy string   // "Name <email>"
	Signers     []Signer // authorized contacts who may sign
	Generated   string   // formatted time
	Provider    Letterhead
	// ReturnURL is the request's page, where the scan may be uploaded.
	ReturnURL string
}

// AuthorizationForm renders the form an authorized contact signs and
// seals to authorize an operation (agreement clauses 6 and 7).
func AuthorizationForm(t T, vm AuthorizationFormVM) ([]byte, error) {
	title := t("pdf.auth.title")
	m := meta{lang: vm.Lang, title: title, requestNo: clean(vm.RequestNo), generated: t("pdf.generated", clean(vm.Generated)), head: vm.Provider}
	return render(t, m, func(d *doc) {
		d.title(title)
		d.fields([][2]string{
			{t("pdf.field.organization"), d.or(vm.OrgName, "pdf.none")},
			{t("pdf.field.request_no"), d.or(vm.RequestNo, "pdf.none")},
			{t("pdf.field.requested_by"), d.or(vm.RequestedBy, "pdf.none")},
		})

		d.heading(t("pdf.section.request"))
		d.fields([][2]string{
			{t("pdf.field.title"), d.or(vm.Title, "pdf.none")},
			{t("pdf.field.devices"), d.list(vm.Devices)},
			{t("pdf.field.work"), d.or(vm.Work, "pdf.none")},
			{t("pdf.field.urgency"), d.or(vm.Urgency, "pdf.none")},
			{t("pdf.field.window"), d.or(vm.Window, "pdf.not_specified")},
		})

		d.heading(t("pdf.auth.statement_title"))
		d.paragraph(t("pdf.auth.statement", clean(vm.OrgName), clean(vm.RequestNo)), colorText)

		d.heading(t("pdf.auth.signers"))
		d.paragraph(t("pdf.auth.signers_hint"), colorMuted)
		if len(vm.Signers) == 0 {
			d.paragraph(t("pdf.none"), colorText)
		} else {
			cols := []column{
				{head: t("pdf.signer.name"), width: 40},
				{head: t("pdf.signer.title"), width: 40},
				{head: t("pdf.signer.phone"), width: 36},
				{head: t("pdf.signer.email"), width: contentW - 116},
			}
			rows := make([]row, len(vm.Signers))
			for i, s := range vm.Signers {
				rows[i] = row{cells: []string{s.Name, s.Title, s.Phone, s.Email}}
			}
			d.table(cols, rows)
		}

		d.signatureBlock(t("pdf.auth.sign_title"))
		d.returnInstructions(vm)
	})
}

// returnInstructions says to whom and how the signed form goes back: the
// upload on the request's page, and whichever of email, fax and post the
// provider has set up.
func (d *doc) returnInstructions(vm AuthorizationFormVM) {
	t := d.t
	name := strings.TrimSpace(vm.Provider.Name)
	if name == "" {
		name = t("pdf.auth.the_provider")
	}
	var ways [][2]string
	if vm.ReturnURL != "" {
		ways = append(ways, [2]string{t("pdf.auth.return_upload"), vm.ReturnURL})
	}
	if vm.Provider.Email != "" {
		ways = append(ways, [2]string{t("pdf.auth.return_email"), vm.Provider.Email})
	}
	if vm.Provider.Fax != "" {
		ways = append(ways, [2]string{t("pdf.auth.return_fax"), vm.Provider.Fax})
	}
	if a := strings.TrimSpace(vm.Provider.Address); a != "" {
		ways = append(ways, [2]string{t("pdf.auth.return_post"), name + "\n" + a})
	}
	// Kept together, so the ways never start a page alone.
	para := t("pdf.auth.return", name)
	d.font(sizeBody, colorText)
	need := float64(len(wrap(clean(para), contentW, d.width)))*leadBody + 1.5
	d.font(sizeTable, colorText)
	for _, w := range ways {
		need += float64(len(wrap(clean(wayLine(w)), contentW-3, d.width))) * leadTable
	}
	d.room(need)
	d.y += 1
	d.paragraph(para, colorText)
	d.y -= 1
	d.font(sizeTable, colorText)
	for _, w := range ways {
		d.lines(wayLine(w), marginX+3, contentW-3, leadTable, false)
	}
}

// wayLine is one way of returning the form, as a line of the list.
func wayLine(w [2]string) string {
	return "• " + w[0] + ": " + strings.ReplaceAll(w[1], "\n", ", ")
}

// signatureBlock draws, under a heading, blank lines for the signature,
// printed name and date, and a box for the company seal, all kept
// together on one page.
func (d *doc) signatureBlock(heading string) {
	const (
		gap   = 10.0 // between signature lines
		sealW = 46.0
	)
	h := 3*gap + 5
	d.room(h + 20)
	d.heading(heading)
	y := d.y + 2
	labels := []string{d.t("pdf.auth.signature"), d.t("pdf.auth.printed_name"), d.t("pdf.auth.date")}
	d.font(sizeBody, colorText)
	lineEnd := pageW - marginX - sealW - 12
	labelW := 0.0
	for _, l := range labels {
		labelW = max(labelW, d.width(l))
	}
	labelW = min(labelW, lineEnd-marginX-20)
	for i, l := range labels {
		ly := y + gap*float64(i+1) - 3
		// A label too long for its place wraps upwards from its line.
		ls := wrap(clean(l), labelW, d.width)
		for k, ln := range ls {
			d.text(marginX, ly-float64(len(ls)-1-k)*leadBody, ln.text)
		}
		d.line(marginX+labelW+3, ly+1, lineEnd, ly+1, 0.3, colorText)
	}
	sx := pageW - marginX - sealW
	d.dashedRect(sx, y+2, sealW, 3*gap, 0.25, colorMuted)
	d.font(sizeSmall+0.5, colorMuted)
	for k, ln := range wrap(clean(d.t("pdf.auth.seal")), sealW-4, d.width) {
		d.text(sx+(sealW-d.width(ln.text))/2, y+7+float64(k)*4, ln.text)
	}
	d.y = y + h
}
