package pdf

// DossierLine is one line of an outage's timeline: when, what kind of
// event, what happened and who did it. Every string is already formatted
// and translated.
type DossierLine struct{ At, Kind, Text, Who string }

// DossierSpanLine is one stretch of the outage with the cause it has there.
type DossierSpanLine struct {
	Period, Cause, Length string
	Counts                bool   // counts against the provider
	Note                  string // who set it, why, and the request it comes from
}

// DossierDeliveryLine is one delivery of a notice telling of the outage.
type DossierDeliveryLine struct {
	Event, Contact, Channel, Transport, Status string
}

// DossierRecordLine is an operation or a complaint the outage is part
// of: its number, what it is, its state and its times.
type DossierRecordLine struct {
	Number, Title, State, When string
}

// DossierDoc is the incident dossier of one outage (agreement §1,
// "Evidence"). Every string is already formatted and, where it is a
// label, translated.
type DossierDoc struct {
	Lang string
	Ref  string // how the outage is named in the running head: "Outage #12"
	Zone string // the offset from UTC of the tables' times: "UTC+08:00"
	// Outage are the outage's facts (organization, device, check, its
	// times, its own cause); Figures the minutes down, counted and
	// excluded by cause; Clock the emergency-notice clock and the missed
	// notice's line.
	Outage     [][2]string
	Figures    [][2]string
	Clock      [][2]string
	Spans      []DossierSpanLine
	Deliveries []DossierDeliveryLine
	Operations []DossierRecordLine
	Complaints []DossierRecordLine
	Incident   [][2]string // the provider-wide incident, nil when none
	Timeline   []DossierLine
	Generated  string // when and by whom
}

// IncidentDossier renders the dossier of one outage on the provider's
// letterhead lh: its facts and figures, its cause spans, notices,
// operations and complaints, and its whole timeline.
func IncidentDossier(t T, lh Letterhead, vm DossierDoc) ([]byte, error) {
	m := meta{lang: vm.Lang, title: t("dossier.title"), requestNo: clean(vm.Ref), generated: clean(vm.Generated), head: lh}
	return render(t, m, func(d *doc) { dossier(d, t, vm) })
}

func dossier(d *doc, t T, vm DossierDoc) {
	d.title(t("dossier.title"))
	d.fields(vm.Outage)

	d.heading(t("dossier.section.figures"))
	d.paragraph(t("dossier.figures_intro"), colorMuted)
	d.fields(vm.Figures)

	d.heading(t("dossier.section.clock"))
	d.fields(vm.Clock)

	d.heading(t("dossier.section.spans"))
	d.table([]column{
		{head: t("dossier.span.period", vm.Zone), width: 44},
		{head: t("dossier.span.cause"), width: 40},
		{head: t("dossier.span.length"), width: 22},
		{head: t("dossier.span.note"), width: contentW - 130},
		{head: t("dossier.span.counts"), width: 24},
	}, spanRows(t, vm.Spans))

	d.heading(t("dossier.section.notices"))
	if len(vm.Deliveries) == 0 {
		d.paragraph(t("pdf.none"), colorText)
	} else {
		rows := make([]row, len(vm.Deliveries))
		for i, l := range vm.Deliveries {
			rows[i] = row{cells: []string{l.Event, l.Contact, l.Channel, l.Transport, l.Status}}
		}
		d.table([]column{
			{head: t("dossier.delivery.event"), width: 30},
			{head: t("dossier.delivery.contact"), width: 34},
			{head: t("dossier.delivery.channel"), width: 46},
			{head: t("dossier.delivery.transport"), width: 28},
			{head: t("dossier.delivery.status"), width: contentW - 138},
		}, rows)
	}

	d.heading(t("dossier.section.operations"))
	d.records(t, vm.Operations, t("dossier.operation.window"))
	d.heading(t("dossier.section.complaints"))
	d.records(t, vm.Complaints, t("dossier.complaint.received"))
	if vm.Incident != nil {
		d.heading(t("dossier.section.incident"))
		d.fields(vm.Incident)
	}

	d.heading(t("dossier.section.timeline"))
	rows := make([]row, len(vm.Timeline))
	for i, l := range vm.Timeline {
		rows[i] = row{cells: []string{l.At, l.Kind, l.Text, l.Who}}
	}
	d.table([]column{
		{head: t("dossier.timeline.at", vm.Zone), width: 36},
		{head: t("dossier.timeline.kind"), width: 28},
		{head: t("dossier.timeline.text"), width: contentW - 94},
		{head: t("pdf.timeline.who"), width: 30},
	}, rows)
}

// spanRows are the stretches of the outage; the last cell says whether
// each counts, in red when it does.
func spanRows(t T, spans []DossierSpanLine) []row {
	rows := make([]row, len(spans))
	for i, s := range spans {
		rows[i] = row{cells: []string{s.Period, s.Cause, s.Length, s.Note, t("dossier.excluded")}}
		if s.Counts {
			rows[i].cells[4], rows[i].color = t("dossier.counts"), &colorMissed
		}
	}
	return rows
}

// records is a table of operations or complaints, or says there are none;
// when names the column of their times.
func (d *doc) records(t T, ls []DossierRecordLine, when string) {
	if len(ls) == 0 {
		d.paragraph(t("pdf.none"), colorText)
		return
	}
	rows := make([]row, len(ls))
	for i, l := range ls {
		rows[i] = row{cells: []string{l.Number, l.Title, l.State, l.When}}
	}
	d.table([]column{
		{head: t("dossier.record.number"), width: 28},
		{head: t("dossier.record.title"), width: 66},
		{head: t("dossier.record.state"), width: 26},
		{head: when, width: contentW - 120},
	}, rows)
}
