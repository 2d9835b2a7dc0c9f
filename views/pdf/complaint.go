package pdf

// ComplaintEntry is one line of a complaint's thread: a message, the
// written handling report (Found, Done, Next), a change of state or the
// resolution. Every string is already formatted and translated.
type ComplaintEntry struct {
	At     string
	Author string
	Kind   string // translated: message, handling report, state, resolution
	Body   string // a message, the new state, the resolution summary
	Report bool   // a handling report: Found, Done and Next are its text
	Found  string
	Done   string
	Next   string
}

// ComplaintFileLine is a file attached to the complaint.
type ComplaintFileLine struct {
	Name     string
	Size     string // formatted
	Uploaded string // when and by whom, formatted
	SHA256   string
}

// ComplaintDoc is the written record of a complaint: the complaint, the
// 24-hour response clock with both times, and the whole thread. Every
// string is already formatted and, where it is a label, translated.
type ComplaintDoc struct {
	Lang        string
	Number      string
	OrgName     string
	Category    string
	Concerning  string // the staff member complained about, "" for none
	Subject     string
	Description string
	Received    string // when the provider received it
	Channel     string // how: the portal, a call, an email, a letter
	FiledBy     string
	State       string
	// The response clock: received, the deadline, the first written
	// response ("" while none), and the outcome (met, missed, running).
	ClockStarted, ClockDeadline, ClockStopped string
	ClockOutcome                              string
	ClockMet                                  bool
	Lines                                     []ComplaintEntry
	Files                                     []ComplaintFileLine
	Generated                                 string
}

// ComplaintRecord renders the written record of a complaint with its
// whole thread (agreement clause 8), on the provider's letterhead lh.
func ComplaintRecord(t T, lh Letterhead, vm ComplaintDoc) ([]byte, error) {
	title := t("pdf.complaint.title")
	m := meta{lang: vm.Lang, title: title, requestNo: clean(vm.Number), generated: t("pdf.generated", clean(vm.Generated)), head: lh}
	return render(t, m, func(d *doc) { complaintRecord(d, t, vm) })
}

func complaintRecord(d *doc, t T, vm ComplaintDoc) {
	d.title(t("pdf.complaint.title"))

	pairs := [][2]string{
		{t("pdf.complaint.number"), d.or(vm.Number, "pdf.none")},
		{t("pdf.field.organization"), d.or(vm.OrgName, "pdf.none")},
		{t("pdf.complaint.category"), d.or(vm.Category, "pdf.none")},
	}
	if vm.Concerning != "" {
		pairs = append(pairs, [2]string{t("pdf.complaint.concerning"), vm.Concerning})
	}
	pairs = append(pairs,
		[2]string{t("pdf.complaint.filed_by"), d.or(vm.FiledBy, "pdf.none")},
		[2]string{t("pdf.complaint.received"), d.or(vm.Received, "pdf.none")},
		[2]string{t("pdf.complaint.channel"), d.or(vm.Channel, "pdf.none")},
		[2]string{t("pdf.field.state"), d.or(vm.State, "pdf.none")})
	d.fields(pairs)

	d.heading(t("pdf.complaint.section.complaint"))
	d.subheading(d.or(vm.Subject, "pdf.none"))
	d.paragraph(d.or(vm.Description, "pdf.none"), colorText)

	d.heading(t("pdf.complaint.section.clock"))
	r := row{cells: []string{vm.ClockStarted, vm.ClockDeadline, d.or(vm.ClockStopped, "pdf.complaint.no_response"), vm.ClockOutcome}}
	switch {
	case vm.ClockMet:
		r.color = &colorMet
	case vm.ClockStopped != "":
		r.color = &colorMissed
	}
	d.table([]column{
		{head: t("pdf.complaint.clock.received"), width: 40},
		{head: t("pdf.clock.deadline"), width: 40},
		{head: t("pdf.complaint.clock.responded"), width: 40},
		{head: t("pdf.clock.outcome"), width: contentW - 120},
	}, []row{r})

	d.heading(t("pdf.complaint.section.thread"))
	if len(vm.Lines) == 0 {
		d.paragraph(t("pdf.none"), colorText)
	}
	for _, e := range vm.Lines {
		d.subheading(e.At + "  ·  " + e.Author + "  ·  " + e.Kind)
		if e.Report {
			d.fields([][2]string{
				{t("pdf.complaint.found"), d.or(e.Found, "pdf.none")},
				{t("pdf.complaint.done"), d.or(e.Done, "pdf.none")},
				{t("pdf.complaint.next"), d.or(e.Next, "pdf.none")},
			})
			if e.Body != "" {
				d.paragraph(e.Body, colorText)
			}
			continue
		}
		d.paragraph(d.or(e.Body, "pdf.none"), colorText)
	}

	d.heading(t("pdf.complaint.section.files"))
	if len(vm.Files) == 0 {
		d.paragraph(t("pdf.none"), colorText)
		return
	}
	rows := make([]row, len(vm.Files))
	for i, f := range vm.Files {
		rows[i] = row{cells: []string{f.Name, f.Size, f.Uploaded, f.SHA256}}
	}
	d.table([]column{
		{head: t("pdf.complaint.file.name"), width: 50},
		{head: t("pdf.complaint.file.size"), width: 20},
		{head: t("pdf.complaint.file.uploaded"), width: 44},
		{head: t("pdf.authorization.sha256"), width: contentW - 114},
	}, rows)
}
