package handlers

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
	"github.com/colo-portal/portal/views/pdf"
)

// The monthly statements (docs/agreement.md, "The monthly statement"): a
// customer reads its organization's, staff every organization's and the
// provider's view of a month; customer service and admins close a month.
// Another organization's statement is not found.

// validMonth reports whether s is a month as the pages write it: 2006-01.
func validMonth(s string) bool {
	t, err := time.Parse("2006-01", s)
	return err == nil && t.Format("2006-01") == s
}

// addMonths is month (2006-01) moved by n months.
func addMonths(month string, n int) string {
	t, _ := time.Parse("2006-01", month)
	return t.AddDate(0, n, 0).Format("2006-01")
}

// showStatements lists a customer's organization's statements; staff see
// one organization's (?org=) or the provider's view of a month (?month=,
// the last month by default).
func (h *Handler) showStatements(c *fiber.Ctx) error {
	u := currentUser(c)
	if !u.Role.IsStaff() {
		return h.renderStatementMonths(c, ownOrg(c), false)
	}
	if s := c.Query("org"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return fiber.ErrNotFound
		}
		return h.renderStatementMonths(c, id, true)
	}
	month := h.ledgerMonth(c)
	rows, err := h.store.ProviderMonth(c.UserContext(), scope(c), month)
	if err != nil {
		return err
	}
	vm := views.LedgerPageVM{Month: month, Prev: addMonths(month, -1), Ended: h.store.MonthEnded(month),
		CanClose: monthClosers.Allows(u.Role)}
	if next := addMonths(month, 1); next <= h.store.CurrentMonth() {
		vm.Next = next
	}
	credits := make([][]models.CurrencyTotal, len(rows))
	for i, r := range rows {
		row := views.LedgerRow{ProviderRow: r, State: h.store.StatementState(month, r.Closed)}
		if row.State == models.StatementOpen {
			vm.Open++
		}
		credits[i] = r.Credits
		vm.Rows = append(vm.Rows, row)
	}
	vm.Totals = models.SumTotals(credits...)
	return h.render(c, fiber.StatusOK, views.LedgerPage(vm))
}

// ledgerMonth is the month of the provider's view asked for, or the last
// month when none (or one not yet begun) is asked for.
func (h *Handler) ledgerMonth(c *fiber.Ctx) string {
	cur := h.store.CurrentMonth()
	if m := c.Query("month"); validMonth(m) && m <= cur {
		return m
	}
	return addMonths(cur, -1)
}

// renderStatementMonths lists orgID's statements.
func (h *Handler) renderStatementMonths(c *fiber.Ctx, orgID int64, staff bool) error {
	ctx := c.UserContext()
	org, err := h.store.GetOrg(ctx, scope(c), orgID)
	if err != nil {
		return err
	}
	months, err := h.store.StatementMonths(ctx, scope(c), orgID)
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, views.StatementsPage(views.StatementsPageVM{OrgID: orgID, OrgName: org.Name, Staff: staff, Months: months}))
}

// statementParams are the organization and the month of a statement's
// path; a month that is not one, or has not begun, is not found.
func (h *Handler) statementParams(c *fiber.Ctx) (int64, string, error) {
	id, err := paramID(c, "org")
	if err != nil {
		return 0, "", err
	}
	month := c.Params("month")
	if !validMonth(month) || month > h.store.CurrentMonth() {
		return 0, "", fiber.ErrNotFound
	}
	return id, month, nil
}

// showStatement is an organization's statement of a month: the stored one
// once closed, else computed now (provisional).
func (h *Handler) showStatement(c *fiber.Ctx) error {
	id, month, err := h.statementParams(c)
	if err != nil {
		return err
	}
	return h.renderStatement(c, fiber.StatusOK, id, month, nil)
}

func (h *Handler) renderStatement(c *fiber.Ctx, status int, orgID int64, month string, errs views.FormErrors) error {
	st, err := h.store.Statement(c.UserContext(), scope(c), orgID, month)
	if err != nil {
		return err
	}
	role := currentUser(c).Role
	return h.render(c, status, views.StatementPage(views.StatementPageVM{St: st, State: h.store.StatementState(month, !st.Provisional),
		Staff: role.IsStaff(), CanClose: monthClosers.Allows(role), Errors: errs}))
}

// closeStatement closes an organization's month from its statement or
// the provider's view: the statement is frozen. A month not ended, with a
// notice clock still running, or closed already is refused with the
// reason on the statement's page.
func (h *Handler) closeStatement(c *fiber.Ctx) error {
	id, month, err := h.statementParams(c)
	if err != nil {
		return err
	}
	errs, err := h.closeMonthOf(c, id, month)
	if err != nil {
		return err
	}
	if errs != nil {
		return h.renderStatement(c, fiber.StatusUnprocessableEntity, id, month, errs)
	}
	if c.FormValue("back") == "ledger" {
		return redirect(c, views.LedgerURL(month))
	}
	return redirect(c, views.StatementURL(id, month))
}

// closeMonthOf closes month of orgID (Store.CloseMonth: its notice lines
// become final and its statement is frozen), the one implementation of
// both close routes. A refusal comes back as the form's errors.
func (h *Handler) closeMonthOf(c *fiber.Ctx, orgID int64, month string) (views.FormErrors, error) {
	err := h.store.CloseMonth(c.UserContext(), actor(c), orgID, month)
	if errs := views.FromError(err); errs != nil {
		return errs, nil
	}
	if err != nil {
		return nil, err
	}
	h.flash(c, "ok", "flash.month_closed")
	return nil, nil
}

// downloadStatementPDF sends a statement as a PDF in the reader's
// language or the one asked for (?lang=): a provisional one is marked so.
func (h *Handler) downloadStatementPDF(c *fiber.Ctx) error {
	id, month, err := h.statementParams(c)
	if err != nil {
		return err
	}
	st, err := h.store.Statement(c.UserContext(), scope(c), id, month)
	if err != nil {
		return err
	}
	tr := documentLang(c)
	b, err := pdf.Statement(tr.T, h.letterhead(), h.statementDoc(c, tr, st))
	if err != nil {
		return err
	}
	attachment(c, "application/pdf", "statement-"+itoa(id)+"-"+month+"-"+tr.Lang()+".pdf")
	return c.Send(b)
}

// statementDoc turns a statement into its document's text in tr's
// language, with the page's own wording of each figure.
func (h *Handler) statementDoc(c *fiber.Ctx, tr *locales.Translator, st *models.Statement) pdf.StatementDoc {
	ctx := views.WithRequest(c.UserContext(), &views.Request{Lang: tr.Lang(), T: tr, Location: h.loc})
	doc := pdf.StatementDoc{Lang: tr.Lang(), Title: tr.T("statements.statement_title", st.Month), OrgName: st.OrgName,
		Month: st.Month, Provisional: st.Provisional, Ref: st.Ref, Generated: h.docTime(h.store.Now())}
	if st.Provisional {
		doc.State = views.StatementStateName(ctx, h.store.StatementState(st.Month, false))
	} else {
		doc.State = tr.T("statements.closed_at_by", h.docTimePtr(st.ClosedAt), views.ClosedBy(st))
	}
	for _, t := range st.Totals {
		doc.Totals = append(doc.Totals, [2]string{t.Currency, views.Money(t.Credit, t.Currency)})
	}
	minutes := func(d time.Duration) string { return tr.T("statements.minutes", views.MinutesExact(d)) }
	for _, cm := range views.StatementContracts(st) {
		sc := pdf.StatementContract{Heading: cm.Number + " · " + views.ServiceTypeName(ctx, &cm.ServiceType),
			Credit: views.Money(cm.Credit, cm.Currency)}
		period, fee := views.PeriodText(st, cm), views.Money(cm.Fee, cm.Currency)
		if cm.Days < cm.MonthDays {
			period += " (" + tr.T("statements.prorated", cm.Days, cm.MonthDays) + ")"
		}
		if cm.Fee != cm.MonthlyFee {
			fee += " (" + tr.T("statements.monthly_fee", views.Money(cm.MonthlyFee, cm.Currency)) + ")"
		}
		sc.Fields = [][2]string{
			{tr.T("statements.period"), period},
			{tr.T("statements.fee"), fee},
			{tr.T("statements.day_fee"), views.Money(cm.DayFee, cm.Currency) + " (" + tr.T("statements.day_fee_how", cm.MonthDays) + ")"},
			{tr.T("statements.covers"), tr.T("statements.covers_n", len(cm.Devices), len(cm.Cabinets))},
		}
		for _, m := range []struct {
			name string
			m    models.Measure
		}{{tr.T("statements.network"), cm.Network}, {tr.T("statements.power"), cm.Power}} {
			sm := pdf.StatementMeasure{Name: m.name, Measured: tr.T("statements.measured_of", tr.Duration(m.m.Elapsed), tr.Duration(m.m.Period)),
				Allowance: minutes(m.m.Allowance), Used: minutes(m.m.Counted), Percent: views.Percent(m.m.Percent), Met: m.m.Met,
				Result: tr.T("statements.met")}
			if left := views.MeasureLeft(m.m); left != "" {
				sm.Left = tr.T("statements.minutes", left)
			} else {
				sm.Left = tr.T("statements.over_by", views.MeasureOver(m.m))
			}
			if !m.m.Met {
				sm.Result = tr.T("statements.broken")
			}
			for _, x := range m.m.Excluded {
				sm.Excluded = append(sm.Excluded, views.ExcludedName(ctx, x.Cause)+": "+minutes(x.Duration))
			}
			for _, e := range m.m.Evidence {
				to := tr.T("statements.ongoing")
				if e.End != nil {
					to = h.docTime(*e.End)
				}
				sm.Evidence = append(sm.Evidence, pdf.StatementEvidence{What: views.EvidenceName(ctx, e), From: h.docTime(e.Start), To: to,
					Counted: minutes(e.Counted), Excluded: minutes(e.Excluded), Causes: views.CauseList(ctx, e.Causes)})
			}
			sc.Measures = append(sc.Measures, sm)
		}
		for _, l := range cm.Lines {
			sc.Lines = append(sc.Lines, pdf.StatementLine{Kind: views.LineKindName(ctx, l.Kind), Detail: views.LineDetail(ctx, cm, l),
				Evidence: views.LineEvidence(ctx, cm, l), Amount: views.Money(l.Amount, l.Currency)})
		}
		if cm.Capped > 0 {
			sc.Lines = append(sc.Lines, pdf.StatementLine{Kind: tr.T("statements.cap"),
				Detail: tr.T("statements.cap_detail", views.Money(cm.Cap, cm.Currency)), Amount: views.Money(-cm.Capped, cm.Currency)})
		}
		doc.Contracts = append(doc.Contracts, sc)
	}
	for _, l := range st.Uncovered {
		doc.Uncovered = append(doc.Uncovered, pdf.StatementLine{Kind: views.LineKindName(ctx, l.Kind), Detail: views.NoticeLineText(ctx, l),
			Evidence: tr.T("statements.outage_n", l.EvidenceID), Amount: tr.T("statements.nothing_credited")})
	}
	for _, k := range st.Clocks {
		doc.Clocks = append(doc.Clocks, pdf.StatementClockLine{Kind: views.ClockKindName(ctx, k.Kind), What: views.ClockLabel(k),
			Started: h.docTime(k.StartedAt), Deadline: h.docTime(k.DeadlineAt), Stopped: docTimeOr(h, k.StoppedAt),
			Outcome: tr.T("clock." + k.Outcome), Met: k.Outcome == models.ClockMet, Missed: k.Outcome == models.ClockMissed})
	}
	for _, a := range st.Adjustments {
		var changes []string
		for _, ch := range a.Changes {
			changes = append(changes, tr.T("statements.change", views.LineKindName(ctx, ch.Kind), views.Money(ch.Was, a.Currency), views.Money(ch.Now, a.Currency)))
		}
		doc.Adjustments = append(doc.Adjustments, pdf.StatementAdjustment{Origin: tr.T("statements.statement_title", a.Origin), Contract: a.Contract,
			WasNow:  tr.T("statements.was_to_now", views.Money(a.Was, a.Currency), views.Money(a.Now, a.Currency)),
			Changes: strings.Join(changes, "\n"), Amount: views.Money(a.Amount, a.Currency)})
	}
	for _, p := range st.Traffic {
		port := p.Port
		if p.Alias != "" {
			port += "\n" + p.Alias
		}
		doc.Traffic = append(doc.Traffic, pdf.StatementTraffic{Port: port, Device: p.Switch, Contract: cmp.Or(p.Contract, "—"),
			In: views.BitRate(p.InP95Bps), Out: views.BitRate(p.OutP95Bps), Billed: views.BitRate(p.BilledP95Bps), Samples: views.Count(p.Samples)})
	}
	return doc
}

// docTimeOr is docTime of t, "" when nil (the document says "not stopped").
func docTimeOr(h *Handler, t *time.Time) string {
	if t == nil {
		return ""
	}
	return h.docTime(*t)
}

// downloadLedger sends the provider's view of a month as CSV: one row per
// organization (and currency of its credits), amounts as decimal numbers
// with the currency in a column of its own.
func (h *Handler) downloadLedger(c *fiber.Ctx) error {
	month := h.ledgerMonth(c)
	rows, err := h.store.ProviderMonth(c.UserContext(), scope(c), month)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"month", "organization_id", "organization", "state", "contracts", "network_percent", "power_percent",
		"breaches", "clocks_missed", "currency", "credit"})
	for _, r := range rows {
		pct := func(p float64) string {
			if r.Contracts == 0 {
				return ""
			}
			return strings.TrimSuffix(views.Percent(p), "%")
		}
		credits := r.Credits
		if len(credits) == 0 {
			credits = []models.CurrencyTotal{{}}
		}
		for _, t := range credits {
			cells := append([]string{month, itoa(r.OrgID)}, csvCells(r.OrgName)...)
			cells = append(cells, h.store.StatementState(month, r.Closed), strconv.Itoa(r.Contracts), pct(r.Network), pct(r.Power),
				strconv.Itoa(r.Breaches), strconv.Itoa(r.ClocksMissed), t.Currency, decimalAmount(t.Credit))
			if err := w.Write(cells); err != nil {
				return err
			}
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	attachment(c, "text/csv; charset=utf-8", "statements-"+month+".csv")
	return c.Send(buf.Bytes())
}

// decimalAmount writes minor units as a decimal number: -1234.50.
func decimalAmount(amount int64) string {
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	return sign + strconv.FormatInt(amount/100, 10) + "." + strconv.FormatInt(amount%100/10, 10) + strconv.FormatInt(amount%10, 10)
}
