package pdf

import "strings"

// StatementDoc is an organization's monthly statement as a document
// (docs/agreement.md, "The monthly statement"): the same figures as its
// page. Every string is already formatted and, where it is a label,
// translated.
type StatementDoc struct {
	Lang    string
	Title   string // "Statement of 2026-11"
	OrgName string
	Month   string
	// Provisional: the month is not closed; every page says so.
	Provisional bool
	State       string // translated: provisional, or closed at and by whom
	Ref         string // the closed statement's reference, "" while provisional
	Generated   string
	Totals      [][2]string // currency, credit
	Contracts   []StatementContract
	Uncovered   []StatementLine
	Clocks      []StatementClockLine
	Adjustments []StatementAdjustment
	// Traffic lists the organization's ports with the month's 95th
	// percentile: information, not a credit.
	Traffic []StatementTraffic
}

// StatementContract is one contract's part of the statement.
type StatementContract struct {
	Heading  string      // its number and service
	Fields   [][2]string // period, fees, what it covers
	Measures []StatementMeasure
	Lines    []StatementLine
	Credit   string
}

// StatementMeasure is a contract's network or power availability.
type StatementMeasure struct {
	Name      string
	Measured  string
	Allowance string
	Used      string
	Left      string
	Percent   string
	Result    string // met / broken, translated
	Met       bool
	Excluded  []string // "cause: minutes"
	Evidence  []StatementEvidence
}

// StatementEvidence is a record a measure comes from.
type StatementEvidence struct {
	What, From, To, Counted, Excluded, Causes string
}

// StatementLine is a credit line: its kind, why, what produced it, the
// amount.
type StatementLine struct {
	Kind, Detail, Evidence, Amount string
}

// StatementClockLine is a clock of the month.
type StatementClockLine struct {
	Kind, What, Started, Deadline, Stopped, Outcome string
	Met, Missed                                     bool
}

// StatementTraffic is one port's month: rates already written with
// their units.
type StatementTraffic struct {
	Port, Device, Contract, In, Out, Billed, Samples string
}

// StatementAdjustment corrects a closed month.
type StatementAdjustment struct {
	Origin, Contract, WasNow, Changes, Amount string
}

// Statement renders an organization's monthly statement on the provider's
// letterhead lh; a provisional one is marked so on every page.
func Statement(t T, lh Letterhead, vm StatementDoc) ([]byte, error) {
	generated := t("pdf.generated", clean(vm.Generated))
	no := clean(vm.Month)
	if vm.Provisional {
		generated = t("statements.pdf.provisional_mark") + "  ·  " + generated
		no += " " + t("statements.pdf.provisional_mark")
	}
	m := meta{lang: vm.Lang, title: t("statements.pdf.title"), requestNo: no, generated: generated, head: lh}
	return render(t, m, func(d *doc) { statement(d, t, vm) })
}

func statement(d *doc, t T, vm StatementDoc) {
	d.title(vm.Title)
	if vm.Provisional {
		d.font(sizeHeading, colorMissed)
		d.bold(true, colorMissed)
		d.lines(t("statements.provisional"), marginX, contentW, 6.5, true)
		d.bold(false, colorMissed)
		d.y += 2
	}
	pairs := [][2]string{
		{t("pdf.field.organization"), d.or(vm.OrgName, "pdf.none")},
		{t("statements.month"), vm.Month},
		{t("statements.state"), d.or(vm.State, "pdf.none")},
	}
	if vm.Ref != "" {
		pairs = append(pairs, [2]string{t("statements.pdf.ref"), vm.Ref})
	}
	d.fields(pairs)
	if !vm.Provisional {
		d.paragraph(t("statements.frozen"), colorMuted)
	}

	d.heading(t("statements.totals"))
	if len(vm.Totals) == 0 {
		d.paragraph(t("statements.no_credit"), colorText)
	} else {
		rows := make([]row, len(vm.Totals))
		for i, tt := range vm.Totals {
			rows[i] = row{cells: []string{tt[0], tt[1]}}
		}
		d.table([]column{{head: t("statements.pdf.currency"), width: 40}, {head: t("statements.credit"), width: contentW - 40}}, rows)
	}

	if len(vm.Contracts) == 0 {
		d.heading(t("statements.pdf.contracts"))
		d.paragraph(t("statements.no_contracts"), colorText)
	}
	for _, c := range vm.Contracts {
		statementContract(d, t, c)
	}

	if len(vm.Uncovered) > 0 {
		d.heading(t("statements.uncovered"))
		d.paragraph(t("statements.uncovered_intro"), colorMuted)
		statementLines(d, t, vm.Uncovered)
	}

	d.heading(t("statements.clocks"))
	if len(vm.Clocks) == 0 {
		d.paragraph(t("statements.no_clocks"), colorText)
	} else {
		rows := make([]row, len(vm.Clocks))
		for i, c := range vm.Clocks {
			rows[i] = row{cells: []string{c.Kind, c.What, c.Started, c.Deadline, d.or(c.Stopped, "pdf.clock.not_stopped"), c.Outcome}}
			switch {
			case c.Met:
				rows[i].color = &colorMet
			case c.Missed:
				rows[i].color = &colorMissed
			}
		}
		d.table([]column{
			{head: t("statements.clock_kind"), width: 34},
			{head: t("statements.clock_what"), width: 30},
			{head: t("clock.started"), width: 28},
			{head: t("clock.deadline"), width: 28},
			{head: t("clock.stopped"), width: 28},
			{head: t("statements.outcome"), width: contentW - 148},
		}, rows)
	}

	d.heading(t("statements.adjustments"))
	if len(vm.Adjustments) == 0 {
		d.paragraph(t("statements.no_adjustments"), colorText)
	} else {
		d.paragraph(t("statements.adjustments_intro"), colorMuted)
		rows := make([]row, len(vm.Adjustments))
		for i, a := range vm.Adjustments {
			rows[i] = row{cells: []string{a.Origin, a.Contract, a.WasNow, a.Changes, a.Amount}}
		}
		d.table([]column{
			{head: t("statements.origin"), width: 30},
			{head: t("statements.contract"), width: 30},
			{head: t("statements.was_now"), width: 38},
			{head: t("statements.changes"), width: contentW - 128},
			{head: t("statements.amount"), width: 30},
		}, rows)
	}
	statementTraffic(d, t, vm.Traffic)
}

// statementTraffic is the ports' 95th percentiles of the month, said to be
// information only; nothing when the statement has none.
func statementTraffic(d *doc, t T, ports []StatementTraffic) {
	if len(ports) == 0 {
		return
	}
	// The heading, its note, the table's head and its first row go
	// together: never the heading and the note alone at the foot of a page.
	d.font(sizeBody, colorMuted)
	note := float64(len(wrap(clean(t("statement.traffic_intro")), contentW, d.width)))*leadBody + 1.5
	d.room(12 + note + 5*leadTable + 4*cellPadY)
	d.heading(t("statement.traffic_title"))
	d.paragraph(t("statement.traffic_intro"), colorMuted)
	rows := make([]row, len(ports))
	for i, p := range ports {
		rows[i] = row{cells: []string{p.Port, p.Device, p.Contract, p.In, p.Out, p.Billed, p.Samples}}
	}
	d.table([]column{
		{head: t("statement.traffic_port"), width: contentW - 150},
		{head: t("statement.traffic_device"), width: 26},
		{head: t("statement.traffic_contract"), width: 26},
		{head: t("statement.traffic_in"), width: 22},
		{head: t("statement.traffic_out"), width: 22},
		{head: t("statement.traffic_billed"), width: 30},
		{head: t("statement.traffic_samples"), width: 24},
	}, rows)
}

func statementContract(d *doc, t T, c StatementContract) {
	d.heading(c.Heading)
	d.fields(c.Fields)
	rows := make([]row, len(c.Measures))
	for i, m := range c.Measures {
		rows[i] = row{cells: []string{m.Name, m.Measured, m.Allowance, m.Used, m.Left, m.Percent + " " + m.Result}}
		if m.Met {
			rows[i].color = &colorMet
		} else {
			rows[i].color = &colorMissed
		}
	}
	d.table([]column{
		{head: t("statements.measure"), width: 22, label: true},
		{head: t("statements.measured"), width: 36},
		{head: t("statements.allowance"), width: 26},
		{head: t("statements.used"), width: 26},
		{head: t("statements.left"), width: 28},
		{head: t("statements.percent"), width: contentW - 138},
	}, rows)
	for _, m := range c.Measures {
		if len(m.Excluded) == 0 && len(m.Evidence) == 0 {
			continue
		}
		d.subheading(m.Name)
		if len(m.Excluded) > 0 {
			d.paragraph(t("statements.excluded")+" "+strings.Join(m.Excluded, "; "), colorMuted)
		}
		if len(m.Evidence) > 0 {
			ev := make([]row, len(m.Evidence))
			for i, e := range m.Evidence {
				ev[i] = row{cells: []string{e.What, e.From, e.To, e.Counted, e.Excluded, e.Causes}}
			}
			d.table([]column{
				{head: t("statements.evidence"), width: 36},
				{head: t("statements.from"), width: 26},
				{head: t("statements.to"), width: 26},
				{head: t("statements.counted"), width: 22},
				{head: t("statements.excluded_minutes"), width: 22},
				{head: t("statements.causes"), width: contentW - 132},
			}, ev)
		}
	}
	d.subheading(t("statements.pdf.lines"))
	if len(c.Lines) == 0 {
		d.paragraph(t("statements.no_lines"), colorText)
	} else {
		statementLines(d, t, c.Lines)
	}
	d.fields([][2]string{{t("statements.contract_credit"), c.Credit}})
}

func statementLines(d *doc, t T, lines []StatementLine) {
	rows := make([]row, len(lines))
	for i, l := range lines {
		rows[i] = row{cells: []string{l.Kind, l.Detail, l.Evidence, l.Amount}}
	}
	d.table([]column{
		{head: t("statements.line"), width: 30},
		{head: t("statements.detail"), width: contentW - 92},
		{head: t("statements.evidence"), width: 34},
		{head: t("statements.amount"), width: 28},
	}, rows)
}
