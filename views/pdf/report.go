package pdf

// TimelineEntry is one message or state change of an operation.
type TimelineEntry struct{ At, Who, Text string }

// ClockLine is one SLA clock of the operation, as the clocks table shows it.
type ClockLine struct {
	Name, Started, Deadline, Stopped string // already formatted; Stopped may be ""
	Outcome                          string // already translated: met / missed / running
	Met                              bool
}

// AuthorizationLine is one authorization given for the operation.
type AuthorizationLine struct {
	Method                 string // translated: written / phone
	Contact                string
	At                     string // when given/received
	AcceptedBy, AcceptedAt string
	Document               string // file name, "" for phone
	SHA256                 string // hex, "" for phone
}

// OutageLine is one outage of the operation's devices part of which was
// attributed to the customer-authorized operation: which minutes are
// exempt and which still count.
type OutageLine struct {
	Device  string
	Outage  string // start – end, already formatted
	Exempt  string // the part attributed to this operation, with its length
	Counted string // what still counts against availability
	Note    string // why, as the engineer wrote it; may be ""
}

// ReportVM is what the operation report shows. Every string is already
// formatted and, where it is a label, translated.
type ReportVM struct {
	Lang           string
	OrgName        string
	RequestNo      string
	Title          string
	Devices        []string
	Work           string // what was asked
	State          string // translated: completed / abandoned / in progress
	Engineer       string
	Authorizations []AuthorizationLine
	Started, Ended string
	Timeline       []TimelineEntry // messages and state changes in order
	Done           string          // what was done
	Result         string          // the result
	FollowUp       string          // follow-up for the customer, may be ""
	Clocks         []ClockLine
	Outages        []OutageLine // outages attributed in part to this operation
	Generated      string
	Provider       Letterhead
}

// OperationReport renders the written report of an operation that the
// provider owes the customer when the work is done (agreement clause 7).
func OperationReport(t T, vm ReportVM) ([]byte, error) {
	title := t("pdf.report.title")
	m := meta{lang: vm.Lang, title: title, requestNo: clean(vm.RequestNo), generated: t("pdf.generated", clean(vm.Generated)), head: vm.Provider}
	return render(t, m, func(d *doc) { report(d, t, vm) })
}

func report(d *doc, t T, vm ReportVM) {
	d.title(t("pdf.report.title"))

	d.fields([][2]string{
		{t("pdf.field.organization"), d.or(vm.OrgName, "pdf.none")},
		{t("pdf.field.request_no"), d.or(vm.RequestNo, "pdf.none")},
		{t("pdf.field.state"), d.or(vm.State, "pdf.none")},
	})

	d.heading(t("pdf.section.request"))
	d.fields([][2]string{
		{t("pdf.field.title"), d.or(vm.Title, "pdf.none")},
		{t("pdf.field.devices"), d.list(vm.Devices)},
		{t("pdf.field.work"), d.or(vm.Work, "pdf.none")},
	})

	d.heading(t("pdf.section.authorizations"))
	if len(vm.Authorizations) == 0 {
		d.paragraph(t("pdf.none"), colorText)
	}
	for i, a := range vm.Authorizations {
		d.subheading(t("pdf.authorization.n", i+1))
		pairs := [][2]string{
			{t("pdf.authorization.method"), d.or(a.Method, "pdf.none")},
			{t("pdf.authorization.contact"), d.or(a.Contact, "pdf.none")},
			{t("pdf.authorization.at"), d.or(a.At, "pdf.none")},
			{t("pdf.authorization.accepted_by"), d.or(a.AcceptedBy, "pdf.none")},
			{t("pdf.authorization.accepted_at"), d.or(a.AcceptedAt, "pdf.none")},
		}
		if a.Document != "" || a.SHA256 != "" {
			pairs = append(pairs,
				[2]string{t("pdf.authorization.document"), d.or(a.Document, "pdf.none")},
				[2]string{t("pdf.authorization.sha256"), d.or(a.SHA256, "pdf.none")})
		}
		d.fields(pairs)
	}

	d.heading(t("pdf.section.execution"))
	d.fields([][2]string{
		{t("pdf.field.engineer"), d.or(vm.Engineer, "pdf.none")},
		{t("pdf.field.started"), d.or(vm.Started, "pdf.none")},
		{t("pdf.field.ended"), d.or(vm.Ended, "pdf.none")},
	})

	d.heading(t("pdf.section.timeline"))
	if len(vm.Timeline) == 0 {
		d.paragraph(t("pdf.none"), colorText)
	} else {
		cols := []column{
			{head: t("pdf.timeline.at"), width: 34},
			{head: t("pdf.timeline.who"), width: 36},
			{head: t("pdf.timeline.text"), width: contentW - 70},
		}
		rows := make([]row, len(vm.Timeline))
		for i, e := range vm.Timeline {
			rows[i] = row{cells: []string{e.At, e.Who, e.Text}}
		}
		d.table(cols, rows)
	}

	d.heading(t("pdf.section.done"))
	d.paragraph(d.or(vm.Done, "pdf.none"), colorText)
	d.heading(t("pdf.section.result"))
	d.paragraph(d.or(vm.Result, "pdf.none"), colorText)
	d.heading(t("pdf.section.follow_up"))
	d.paragraph(d.or(vm.FollowUp, "pdf.none"), colorText)

	d.heading(t("pdf.section.clocks"))
	if len(vm.Clocks) == 0 {
		d.paragraph(t("pdf.none"), colorText)
	} else {
		cols := []column{
			{head: t("pdf.clock.name"), width: 46},
			{head: t("pdf.clock.started"), width: 32},
			{head: t("pdf.clock.deadline"), width: 32},
			{head: t("pdf.clock.stopped"), width: 32},
			{head: t("pdf.clock.outcome"), width: contentW - 142},
		}
		rows := make([]row, len(vm.Clocks))
		for i, c := range vm.Clocks {
			r := row{cells: []string{c.Name, c.Started, c.Deadline, d.or(c.Stopped, "pdf.clock.not_stopped"), c.Outcome}}
			// Green for met, red for missed; a running clock stays plain
			// (its outcome says whether it is already late).
			switch {
			case c.Met:
				r.color = &colorMet
			case c.Stopped != "":
				r.color = &colorMissed
			}
			rows[i] = r
		}
		d.table(cols, rows)
	}

	d.heading(t("pdf.section.outages"))
	d.paragraph(t("pdf.outages.intro"), colorText)
	if len(vm.Outages) == 0 {
		d.paragraph(t("pdf.none"), colorText)
	} else {
		cols := []column{
			{head: t("pdf.outages.device"), width: 30},
			{head: t("pdf.outages.outage"), width: 50},
			{head: t("pdf.outages.exempt"), width: 50},
			{head: t("pdf.outages.counted"), width: contentW - 130},
		}
		rows := make([]row, len(vm.Outages))
		for i, o := range vm.Outages {
			ex := o.Exempt
			if o.Note != "" {
				ex += "\n" + o.Note
			}
			rows[i] = row{cells: []string{o.Device, o.Outage, ex, o.Counted}}
		}
		d.table(cols, rows)
	}
}
