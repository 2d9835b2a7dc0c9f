package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"math"
	"net"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/blobstore"
	"github.com/colo-portal/portal/models/dbtest"
	"github.com/colo-portal/portal/notify"
	"github.com/colo-portal/portal/prober"
	"github.com/colo-portal/portal/views/pdf/pdftest"
	gosmtp "github.com/emersion/go-smtp"
)

// The SLA ledger end to end (issue 16, acceptance): one month of an
// organization built through the real prober, the real notification
// dispatcher with a real SMTP server, the operations and the complaints,
// all on one clock the test moves; the month closed by the service desk;
// every figure of the stored statement checked against values worked out
// by hand below.
//
// It lives in cmd/portal because this is the package that may import
// every other one (docs/architecture.md): the prober, notify and models
// together, as `portal serve` wires them.
//
// November 2026 has 30 days: the allowance is 0.1 % of 43,200 minutes =
// 43.2 minutes (43 min 12 s). Alpha Trading has two contacts who may
// authorize, reached by email, and two devices:
//
//	web-1 in cabinet A01, covered by CT-2026-0001 (colocation, ¥45,000.00 a month)
//	db-1  in cabinet B02, covered by CT-2026-0002 (whole-server rental, ¥12,345.67 a month)
//
// The month:
//
//	10 Nov  web-1's pings fail for 50 minutes. The notice goes out on time (met).
//	        50 > 43.2 minutes: CT-2026-0001 breaks its network promise.
//	12 Nov  work on web-1 authorized by phone at 10:00; the engineer answers at
//	        10:12 (first feedback met); the signed form is due in 24 hours …
//	13 Nov  … and is accepted at 16:30 (the phone follow-up missed).
//	18 Nov  db-1 down twice for 10 minutes while the mail server refuses mail:
//	        both notices late (missed); the first costs one day's fee, the second
//	        is the same day's (already charged). 20 ≤ 43.2 minutes: CT-2026-0002
//	        keeps its network promise.
//	20 Nov  a complaint at 09:00, first written report on 21 Nov at 11:00 (26 h: missed).
//	 1 Dec  the dispatcher sweeps; the service desk closes November.
func TestLedgerMonthEndToEnd(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { ledgerMonth(t, db) })
	}
}

func ledgerMonth(t *testing.T, db dbtest.DB) {
	ctx := context.Background()
	at := func(s string) time.Time { return ledgerTime(t, s) }
	clock := newLedgerClock(at("2026-11-02 09:00"))
	s := dbtest.Open(t, db, models.WithClock(clock.Now), models.WithZone(ledgerZone(t)),
		models.WithNoticeWindow(models.DefaultNoticeWindow))
	fx := dbtest.Seed(t, s)
	org := fx.OrgA.ID
	customer := models.UserActor(fx.CustA, "10.0.0.1")
	eng, desk := models.UserActor(fx.Engineer, "10.0.0.9"), models.UserActor(fx.Service, "10.0.0.2")

	web := newLedgerDevice(t, s, org, "web-1", "10.20.0.11", "A01")
	dbDev := newLedgerDevice(t, s, org, "db-1", "10.20.0.12", "B02")
	var contacts []*models.Contact
	for _, c := range []models.ContactInput{
		{Name: "孙丽 Sun Li", Email: "sun.li@alpha.test", Locale: "zh-CN"},
		{Name: "Tom Night", Email: "tom@alpha.test", Locale: "en"},
	} {
		c.Channels, c.MayAuthorize, c.Passphrase = []models.Channel{models.ChannelEmail}, true, "blue harbour 42"
		k, err := s.CreateContact(ctx, customer, org, c)
		if err != nil {
			t.Fatal(err)
		}
		contacts = append(contacts, k)
	}
	if err := s.ConfirmContacts(ctx, customer, org, fx.CustA.ID); err != nil {
		t.Fatal(err)
	}
	// The contracts run from 1 October for a year: all of November.
	k1 := &models.Contract{OrgID: org, ServiceType: models.ServiceColocation, MonthlyFee: 4_500_000, InstallationFee: 800_000,
		SignedOn: "2026-09-25", StartsOn: "2026-10-01", EndsOn: "2027-09-30"}
	k2 := &models.Contract{OrgID: org, ServiceType: models.ServiceServer, MonthlyFee: 1_234_567, InstallationFee: 300_000,
		SignedOn: "2026-09-25", StartsOn: "2026-10-01", EndsOn: "2027-09-30"}
	for _, k := range []struct {
		c       *models.Contract
		cabinet string
	}{{k1, "A01"}, {k2, "B02"}} {
		if err := s.SeedContract(ctx, k.c, []string{k.cabinet}); err != nil {
			t.Fatal(err)
		}
	}
	if k1.Number() != "CT-2026-0001" || k2.Number() != "CT-2026-0002" {
		t.Fatalf("contracts %s and %s", k1.Number(), k2.Number())
	}

	r := newLedgerRun(t, s, clock, web.check, dbDev.check)

	// 2 Nov: the prober's first rounds, everything answers. Each check is
	// probed every 5 minutes on a grid of its own (a phase of its ID): the
	// windows below start on a probe, so each outage lasts exactly as
	// long as its window.
	r.calibrate(at("2026-11-02 10:00"))

	// 10 Nov: web-1 down from its first ping at or after 10:00 (w1) for
	// ten pings. Pings fail at w1, w1+5, …, w1+45 min: the outage opens on
	// the second (w1+5, its notice clock due at w1+20) dated from the
	// first, and ends at the ping at w1+50 that answers. The notice
	// gathers for a minute (due w1+6); the dispatcher's first pass after
	// that, at w1+6 min 20 s, sends it to both contacts: met.
	w1 := r.probeAtOrAfter(web.check, at("2026-11-10 10:00"))
	r.pings.down(web.check, w1, w1.Add(50*time.Minute))
	r.scene(w1, w1.Add(60*time.Minute))
	o1 := ledgerOutage(t, s, org, web, w1)
	if n := r.sink.accepted(); n != 2*2 {
		t.Errorf("the mail server took %d messages, want 4 (the notice and the recovery, to two contacts)", n)
	}

	// 12 Nov: a request for work on web-1, authorized by phone at 10:00,
	// which starts the 30-minute first-feedback clock and the 24-hour
	// clock of the signed form to follow.
	clock.set(at("2026-11-12 09:30"))
	req, err := s.CreateRequest(ctx, customer, org, models.RequestInput{Title: "重启 web-1 Reboot web-1",
		Work: "Reboot web-1 and check nginx", Urgency: "urgent", DeviceIDs: []int64{web.ID}, RequestedBy: &fx.CustA.ID})
	if err != nil {
		t.Fatal(err)
	}
	clock.set(at("2026-11-12 10:00"))
	phone, err := s.RecordPhoneAuthorization(ctx, eng, org, req.ID, models.PhoneInput{ContactID: contacts[0].ID,
		Passphrase: "blue harbour 42", Note: "called from her mobile", FollowUp: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	clock.set(at("2026-11-12 10:12"))
	if _, err := s.PostMessage(ctx, eng, org, req.ID, true, "收到，正在处理 On it"); err != nil {
		t.Fatal(err)
	}
	// 13 Nov: the signed form arrives at 16:00 and is accepted at 16:30,
	// six and a half hours after its deadline.
	clock.set(at("2026-11-13 16:00"))
	blobs, err := blobstore.New(filepath.Join(t.TempDir(), "documents"))
	if err != nil {
		t.Fatal(err)
	}
	scan := ledgerScan(t)
	up, err := models.CheckUpload("signed form.png", scan, models.DefaultUploadLimits)
	if err != nil {
		t.Fatal(err)
	}
	written, err := s.AddWrittenAuthorization(ctx, eng, blobs, org, req.ID, contacts[0].ID, up, scan)
	if err != nil {
		t.Fatal(err)
	}
	clock.set(at("2026-11-13 16:30"))
	if err := s.AcceptAuthorization(ctx, eng, org, req.ID, written.ID); err != nil {
		t.Fatal(err)
	}

	// 18 Nov: db-1 down from its first ping at or after 14:00 (w2) for
	// two pings, and again an hour later; the mail server refuses every
	// message (451 at the end of DATA) from w2−5 min to w2+24 min and from
	// w2+55 min to w2+84 min.
	//
	// The first outage: [w2, w2+10 min), confirmed at w2+5, its notice due
	// at w2+6 and its clock at w2+20. The dispatcher passes at 20 s past
	// each minute of w2; a failed try waits 30 s, 1, 2, then 4 minutes
	// (notify.Backoff), so the tries are at w2 + 6:20, 7:20, 8:20, 10:20,
	// 14:20, 18:20, 22:20 (refused) and 26:20 (accepted): missed, stopped
	// at w2+26 min 20 s. The second, [w2+60, w2+70 min), has its tries at
	// w2 + 66:20 … 82:20 (refused) and 86:20 (accepted), past its
	// deadline at w2+80: missed too. Both deadlines are on 18 Nov.
	w2 := r.probeAtOrAfter(dbDev.check, at("2026-11-18 14:00"))
	r.pings.down(dbDev.check, w2, w2.Add(10*time.Minute))
	r.pings.down(dbDev.check, w2.Add(60*time.Minute), w2.Add(70*time.Minute))
	r.sink.refuse(w2.Add(-5*time.Minute), w2.Add(24*time.Minute))
	r.sink.refuse(w2.Add(55*time.Minute), w2.Add(84*time.Minute))
	r.scene(w2, w2.Add(100*time.Minute))
	oA, oB := ledgerOutage(t, s, org, dbDev, w2), ledgerOutage(t, s, org, dbDev, w2.Add(60*time.Minute))
	// Seven refused tries of each late notice, to each of two contacts.
	if n := r.sink.refusals(); n != 2*7*2 {
		t.Errorf("the mail server refused %d messages, want 28 (two notices, seven tries, two contacts)", n)
	}

	// 20 Nov: a complaint filed in the portal at 09:00; the desk's first
	// written report comes on 21 Nov at 11:00, 26 hours later.
	clock.set(at("2026-11-20 09:00"))
	complaint, err := s.CreateComplaint(ctx, customer, org, models.ComplaintInput{Category: models.ComplaintNetwork,
		Subject: "web-1 断网 50 分钟", Description: "web-1 was unreachable for 50 minutes on 10 November.", OutageID: o1.ID})
	if err != nil {
		t.Fatal(err)
	}
	clock.set(at("2026-11-21 11:00"))
	if _, err := s.WriteComplaintReport(ctx, desk, models.Viewer{Scope: models.ScopeOf(fx.Service), UserID: fx.Service.ID}, complaint.ID,
		models.ReportInput{Found: "An upstream port flapped.", Done: "The port was replaced.", Next: "We watch it for a week."}); err != nil {
		t.Fatal(err)
	}

	// 1 Dec: past the month's end the dispatcher's passes send what is
	// left and sweep the clocks; the desk closes November at 10:00.
	r.dispatch(at("2026-12-01 09:00"), at("2026-12-01 09:05"))
	if n, err := s.SweepClocks(ctx); err != nil || n != 0 {
		t.Fatalf("clocks still running after the month: %d, %v", n, err)
	}
	clock.set(at("2026-12-01 10:00"))
	if err := s.CloseMonth(ctx, desk, org, "2026-11"); err != nil {
		t.Fatal(err)
	}
	nov, err := s.Statement(ctx, models.OrgScope(org), org, "2026-11")
	if err != nil {
		t.Fatal(err)
	}

	// The figures, by hand.
	const (
		fee1 = 4_500_000 // CT-2026-0001: ¥45,000.00 a month, all 30 days of November
		fee2 = 1_234_567 // CT-2026-0002: ¥12,345.67
		// One day's fee is the monthly fee ÷ 30, half up to the fen:
		day1 = 150_000 // 4,500,000 ÷ 30 = 150,000 exactly (¥1,500.00)
		day2 = 41_152  // 1,234,567 ÷ 30 = 41,152.23… → 41,152 (¥411.52)
	)
	month := 30 * 24 * time.Hour                 // 43,200 minutes
	allowance := 43*time.Minute + 12*time.Second // 0.1 % of them: 43.2 minutes
	noPower := models.Measure{Period: month, Elapsed: month, Allowance: allowance, Percent: 100, Met: true}
	closedAt := at("2026-12-01 10:00")
	want := &models.Statement{OrgID: org, OrgName: "Alpha Trading 阿尔法", Month: "2026-11",
		From: at("2026-11-01 00:00"), To: at("2026-12-01 00:00"), Zone: "Asia/Shanghai",
		Provisional: false, ComputedAt: closedAt, ClosedAt: &closedAt, ClosedBy: &fx.Service.ID, ClosedByName: "Wang Service",
		Ref: nov.Ref, // random; checked non-empty below
		Contracts: []models.ContractMonth{{
			ContractID: k1.ID, Ref: k1.Ref, Number: "CT-2026-0001", ServiceType: models.ServiceColocation, Currency: "CNY",
			MonthlyFee: fee1, InstallationFee: 800_000,
			From: at("2026-11-01 00:00"), To: at("2026-12-01 00:00"), Days: 30, MonthDays: 30,
			Fee: fee1, DayFee: day1, Devices: []int64{web.ID}, Cabinets: []string{"A01"},
			Network: models.Measure{Period: month, Elapsed: month, Allowance: allowance,
				Down: 50 * time.Minute, Counted: 50 * time.Minute,
				Percent: 100 * (43200 - 50) / 43200.0, // 99.884 %
				Met:     false,                        // 50 > 43.2
				Evidence: []models.Evidence{{Kind: "outage", ID: o1.ID, Label: "web-1", Start: w1, End: ledgerPtr(w1.Add(50 * time.Minute)),
					Counted: 50 * time.Minute, Causes: []string{string(models.CauseUnknown)}}}},
			Power: noPower,
			// The network promise broken: the month's fee back. Its notice
			// was met: no notice line.
			Lines: []models.CreditLine{{Kind: models.LineNetwork, ContractID: k1.ID, Contract: "CT-2026-0001", Currency: "CNY",
				Amount: fee1, EvidenceKind: "measure"}},
			Cap: fee1, Capped: 0, Credit: fee1, // no installation due in November: the cap is the fee
		}, {
			ContractID: k2.ID, Ref: k2.Ref, Number: "CT-2026-0002", ServiceType: models.ServiceServer, Currency: "CNY",
			MonthlyFee: fee2, InstallationFee: 300_000,
			From: at("2026-11-01 00:00"), To: at("2026-12-01 00:00"), Days: 30, MonthDays: 30,
			Fee: fee2, DayFee: day2, Devices: []int64{dbDev.ID}, Cabinets: []string{"B02"},
			Network: models.Measure{Period: month, Elapsed: month, Allowance: allowance,
				Down: 20 * time.Minute, Counted: 20 * time.Minute, // 10 + 10
				Percent: 100 * (43200 - 20) / 43200.0, // 99.954 %
				Met:     true,                         // 20 ≤ 43.2
				Evidence: []models.Evidence{
					{Kind: "outage", ID: oA.ID, Label: "db-1", Start: w2, End: ledgerPtr(w2.Add(10 * time.Minute)),
						Counted: 10 * time.Minute, Causes: []string{string(models.CauseUnknown)}},
					{Kind: "outage", ID: oB.ID, Label: "db-1", Start: w2.Add(60 * time.Minute), End: ledgerPtr(w2.Add(70 * time.Minute)),
						Counted: 10 * time.Minute, Causes: []string{string(models.CauseUnknown)}},
				}},
			Power: noPower,
			// Two missed notices on 18 Nov: one day's fee, once.
			Lines: []models.CreditLine{
				{Kind: models.LineNotice, ContractID: k2.ID, Contract: "CT-2026-0002", Currency: "CNY", Amount: day2,
					Day: "2026-11-18", Outcome: models.OutcomeCharged, EvidenceKind: "outage", EvidenceID: oA.ID},
				{Kind: models.LineNotice, ContractID: k2.ID, Contract: "CT-2026-0002", Currency: "CNY", Amount: 0,
					Day: "2026-11-18", Outcome: models.OutcomeNotFirst, EvidenceKind: "outage", EvidenceID: oB.ID},
			},
			Cap: fee2, Capped: 0, Credit: day2,
		}},
		// Every clock whose deadline is in November, by deadline.
		Clocks: []models.StatementClock{
			{Kind: models.ClockEmergencyNotice, RefID: o1.ID, Ref: fmt.Sprint(o1.ID), Label: "web-1", Outcome: models.ClockMet,
				StartedAt: w1.Add(5 * time.Minute), DeadlineAt: w1.Add(20 * time.Minute), StoppedAt: ledgerPtr(w1.Add(6*time.Minute + 20*time.Second))},
			{Kind: models.ClockOperationFeedback, RefID: req.ID, Ref: req.Ref, Label: "OP-2026-0001", Outcome: models.ClockMet,
				StartedAt: at("2026-11-12 10:00"), DeadlineAt: at("2026-11-12 10:30"), StoppedAt: ledgerPtr(at("2026-11-12 10:12"))},
			{Kind: models.ClockPhoneFollowUp, RefID: phone.ID, Ref: req.Ref, Label: "OP-2026-0001", Outcome: models.ClockMissed,
				StartedAt: at("2026-11-12 10:00"), DeadlineAt: at("2026-11-13 10:00"), StoppedAt: ledgerPtr(at("2026-11-13 16:30"))},
			{Kind: models.ClockEmergencyNotice, RefID: oA.ID, Ref: fmt.Sprint(oA.ID), Label: "db-1", Outcome: models.ClockMissed,
				StartedAt: w2.Add(5 * time.Minute), DeadlineAt: w2.Add(20 * time.Minute), StoppedAt: ledgerPtr(w2.Add(26*time.Minute + 20*time.Second))},
			{Kind: models.ClockEmergencyNotice, RefID: oB.ID, Ref: fmt.Sprint(oB.ID), Label: "db-1", Outcome: models.ClockMissed,
				StartedAt: w2.Add(65 * time.Minute), DeadlineAt: w2.Add(80 * time.Minute), StoppedAt: ledgerPtr(w2.Add(86*time.Minute + 20*time.Second))},
			{Kind: models.ClockComplaintResponse, RefID: complaint.ID, Ref: complaint.Ref, Label: "CP-2026-0001", Outcome: models.ClockMissed,
				StartedAt: at("2026-11-20 09:00"), DeadlineAt: at("2026-11-21 09:00"), StoppedAt: ledgerPtr(at("2026-11-21 11:00"))},
		},
		// ¥45,000.00 + ¥411.52 = ¥45,411.52.
		Totals: []models.CurrencyTotal{{Currency: "CNY", Credit: fee1 + day2}},
	}
	if nov.Ref == "" {
		t.Error("the closed statement has no reference")
	}
	for _, d := range ledgerDiff(nov, want) {
		t.Errorf("closed November: %s", d)
	}

	// A reclassification after closing: web-1's outage was the customer's
	// switch. The closed statement does not change …
	clock.set(at("2026-12-01 11:00"))
	if _, err := s.SetOutageCause(ctx, eng, o1.ID, models.CauseCustomerEquipment, "their switch rebooted"); err != nil {
		t.Fatal(err)
	}
	again, err := s.Statement(ctx, models.OrgScope(org), org, "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ledgerDiff(again, nov) {
		t.Errorf("closed November changed after the reclassification: %s", d)
	}
	// … and December, the next open statement, takes the month's fee of
	// CT-2026-0001 back: November now reads 0 for it, it was credited
	// ¥45,000.00.
	dec, err := s.Statement(ctx, models.OrgScope(org), org, "2026-12")
	if err != nil {
		t.Fatal(err)
	}
	if !dec.Provisional {
		t.Error("December is not closed: its statement is provisional")
	}
	wantAdj := []models.CreditLine{{Kind: models.LineAdjustment, ContractID: k1.ID, Contract: "CT-2026-0001", Currency: "CNY",
		Amount: -fee1, Origin: "2026-11", Was: fee1, Now: 0,
		Changes:      []models.LineChange{{Kind: models.LineNetwork, Was: fee1, Now: 0}},
		EvidenceKind: "statement", EvidenceRef: "2026-11"}}
	for _, d := range ledgerDiff(dec.Adjustments, wantAdj) {
		t.Errorf("December's adjustments: %s", d)
	}
	for _, d := range ledgerDiff(dec.Totals, []models.CurrencyTotal{{Currency: "CNY", Credit: -fee1}}) {
		t.Errorf("December's totals: %s", d)
	}

	// The closed statement as the customer downloads it, in Chinese and
	// in English: the same figures in both.
	t.Run("the PDF in both languages", func(t *testing.T) {
		pdftest.Poppler(t, "pdftotext")
		app := handlers.New(handlers.Deps{Store: s, Secret: []byte("ledger end-to-end test secret 0123"),
			Sessions: models.DefaultSessionPolicy, SignIn: models.DefaultSignInLimits, Location: s.Zone()})
		get := signIn(t, app, fx.CustA.Email, dbtest.Password)
		when := func(t time.Time) string { return t.In(s.Zone()).Format("2006-01-02 15:04") }
		figures := []string{nov.Ref, "Alpha Trading 阿尔法", "CT-2026-0001", "CT-2026-0002",
			"¥45,000.00", "¥1,500.00", // CT-2026-0001's fee, its network line and credit; its day's fee
			"¥12,345.67", "¥411.52", "¥0.00", // CT-2026-0002's fee; its day's fee, charged once; the day already charged
			"¥45,411.52",         // the total
			"99.884%", "99.953%", // (43,200 − 50) ÷ 43,200 and (43,200 − 20) ÷ 43,200, rounded down
			"100.000%", "43.20", "50.00", "20.00", "10.00", // power; the allowance; the minutes counted
			"web-1", "db-1", "OP-2026-0001", "CP-2026-0001", "2026-11-18",
			when(w1.Add(5 * time.Minute)), when(w1.Add(6*time.Minute + 20*time.Second)), // the met notice: started, stopped
			when(w2.Add(80 * time.Minute)), when(w2.Add(86*time.Minute + 20*time.Second)), // the second late one: deadline, stopped
			"2026-11-13 16:30", "2026-11-21 11:00"} // the late form, the late report
		for _, lang := range []string{"zh-CN", "en"} {
			status, body := get(fmt.Sprintf("/statements/%d/2026-11/statement.pdf?lang=%s", org, lang))
			if status != 200 || !strings.HasPrefix(body, "%PDF-") {
				t.Fatalf("%s PDF: status %d, %.60q", lang, status, body)
			}
			text := ledgerPDFText(t, []byte(body))
			tr := locales.For(lang)
			words := []string{tr.T("clock.met"), tr.T("clock.missed"), tr.T("clock.kind.emergency_notice"),
				tr.T("clock.kind.operation_feedback"), tr.T("clock.kind.phone_followup"), tr.T("clock.kind.complaint_response"),
				tr.T("statements.line.network"), tr.T("statements.line.notice"), tr.T("statements.broken")}
			for _, f := range append(figures, words...) {
				if !strings.Contains(text, ledgerSquash(f)) {
					t.Errorf("the %s PDF lacks %q", lang, f)
				}
			}
		}
	})
}

// ---- the month's pieces ----

// at is a time of the provider's zone, "2006-01-02 15:04".
func ledgerTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, ledgerZone(t))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func ledgerZone(t *testing.T) *time.Location {
	t.Helper()
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func ledgerPtr(t time.Time) *time.Time { return &t }

// ledgerDevice is a device with its ping check (every 5 minutes, two
// failures make an outage: the defaults).
type ledgerDevice struct {
	*models.Device
	check models.Check
}

func newLedgerDevice(t *testing.T, s *models.Store, org int64, name, addr, cabinet string) ledgerDevice {
	t.Helper()
	ctx := context.Background()
	d, err := s.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: org, Name: name, Address: addr, Cabinet: cabinet})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := s.ListChecks(ctx, models.AllOrgs(), org, d.ID)
	if err != nil || len(cs) != 1 || cs[0].Interval() != models.DefaultInterval || cs[0].FailThreshold != 2 {
		t.Fatalf("checks of %s: %+v, %v", name, cs, err)
	}
	return ledgerDevice{Device: d, check: cs[0]}
}

// outageAt returns d's outage that started at start.
func ledgerOutage(t *testing.T, s *models.Store, org int64, d ledgerDevice, start time.Time) models.Outage {
	t.Helper()
	os, err := s.ListOutages(context.Background(), models.AllOrgs(), org, d.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range os {
		if o.StartedAt.Equal(start) {
			return o
		}
	}
	t.Fatalf("%s has no outage starting at %s: %+v", d.Name, start, os)
	return models.Outage{}
}

// scanImage is a signed form's scan: a small PNG.
func ledgerScan(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 40, 60))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// ledgerPDFText is the text of a PDF as pdftotext reads it, without
// white space (lines and columns break where the layout puts them).
func ledgerPDFText(t *testing.T, doc []byte) string {
	t.Helper()
	var out, stderr bytes.Buffer
	cmd := exec.Command("pdftotext", "-enc", "UTF-8", "-", "-")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(doc), &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pdftotext: %v: %s", err, stderr.String())
	}
	return ledgerSquash(out.String())
}

func ledgerSquash(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// ---- the workers on the test's clock ----

// ledgerRun drives the prober and the dispatcher through the scenes of
// the month. Between scenes no worker runs and the clock jumps.
type ledgerRun struct {
	t      *testing.T
	s      *models.Store
	clock  *ledgerClock
	pings  *ledgerPings
	sink   *ledgerSink
	checks []models.Check
	// grid holds one probe time of each check: its probes fall on it
	// plus whole intervals.
	grid map[int64]time.Time
	// logs keeps what the workers log, and proberStats the last
	// prober's totals, shown if they do not settle.
	logs        ledgerLog
	proberStats func() string
	stacks      []byte // probesRunning's buffer
}

// ledgerLog is a log the workers write to from their goroutines.
type ledgerLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *ledgerLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *ledgerLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newLedgerRun(t *testing.T, s *models.Store, clock *ledgerClock, checks ...models.Check) *ledgerRun {
	return &ledgerRun{t: t, s: s, clock: clock, checks: checks, grid: map[int64]time.Time{}, stacks: make([]byte, 64<<10),
		pings: &ledgerPings{clock: clock, calls: map[int64]int{}, fails: map[int64][][2]time.Time{}},
		sink:  startLedgerSink(t, clock)}
}

// calibrate runs the prober from start until every check has been
// probed, everything answering, and reads each check's probe grid from
// the results stored.
func (r *ledgerRun) calibrate(start time.Time) {
	t := r.t
	t.Helper()
	r.clock.set(start)
	p := r.startProber()
	// Every check's first probe is due within one interval of the start.
	r.runUntil(start.Add(models.DefaultInterval+time.Second), nil)
	r.settle(func() bool {
		for _, c := range r.checks {
			if r.pings.callsOf(c.ID) == 0 {
				return false
			}
		}
		return p.written() == r.pings.total()
	})
	p.stop(t)
	for _, c := range r.checks {
		rs, err := r.s.Results(context.Background(), models.AllOrgs(), c.OrgID, c.ID, start, start.Add(time.Hour))
		if err != nil || len(rs) == 0 || !rs[0].OK {
			t.Fatalf("results of check %d: %+v, %v", c.ID, rs, err)
		}
		r.grid[c.ID] = rs[0].At
	}
}

// probeAtOrAfter is the first probe time of check c at or after t.
func (r *ledgerRun) probeAtOrAfter(c models.Check, t time.Time) time.Time {
	g, iv := r.grid[c.ID], c.Interval()
	if g.IsZero() {
		r.t.Fatalf("check %d was not calibrated", c.ID)
	}
	n := t.Sub(g) / iv
	p := g.Add(n * iv)
	for p.Before(t) {
		p = p.Add(iv)
	}
	for !p.Add(-iv).Before(t) {
		p = p.Add(-iv)
	}
	return p
}

// scene runs the prober and the dispatcher around w, the first failing
// probe of the scene, until end. The prober starts 10 min 10 s before w
// (its lease rounds, every 5 minutes, fall 10 s before w's minutes); the
// dispatcher 30 s after it, so its passes, every minute, fall 20 s past
// w's minutes: never at the instant of a probe of the failing device.
func (r *ledgerRun) scene(w, end time.Time) {
	r.t.Helper()
	start := w.Add(-10*time.Minute - 10*time.Second)
	r.clock.set(start)
	p := r.startProber()
	r.runUntil(start.Add(30*time.Second), p)
	d := r.startDispatcher()
	r.runUntil(end, p)
	d.stop(r.t)
	p.stop(r.t)
}

// dispatch runs the dispatcher alone from start to end.
func (r *ledgerRun) dispatch(start, end time.Time) {
	r.t.Helper()
	r.clock.set(start)
	d := r.startDispatcher()
	r.runUntil(end, nil)
	d.stop(r.t)
}

// runUntil moves the clock from timer to timer up to end, letting every
// worker finish what each instant gives it before moving on.
func (r *ledgerRun) runUntil(end time.Time, p *ledgerWorker) {
	r.t.Helper()
	for {
		r.settle(r.idle(p))
		next, ok := r.clock.next()
		if !ok || next.After(end) {
			r.clock.set(end)
			r.settle(r.idle(p))
			return
		}
		r.clock.set(next)
	}
}

// idle reports, with the prober p running (or nil), that every probe due
// by now has been run and written.
func (r *ledgerRun) idle(p *ledgerWorker) func() bool {
	return func() bool {
		if p == nil {
			return true
		}
		now := r.clock.Now()
		for _, c := range r.checks {
			if r.pings.callsOf(c.ID) != r.duePings(c, p.started, now) {
				return false
			}
		}
		return p.written() == r.pings.total() && !r.probesRunning()
	}
}

// probesRunning reports a prober goroutine still inside probeOne. After
// the injected probe returns, it queues the result and only then clears
// the check's mark of a probe under way; the clock must not reach the
// check's next probe before, or the scheduler skips it as still running.
// Nothing the prober exports tells when that is done, so the test looks
// at the goroutines' stacks.
func (r *ledgerRun) probesRunning() bool {
	for {
		n := runtime.Stack(r.stacks, true)
		if n < len(r.stacks) {
			return bytes.Contains(r.stacks[:n], []byte("prober.(*Prober).probeOne("))
		}
		r.stacks = make([]byte, 2*len(r.stacks))
	}
}

// duePings is how many probes of c a prober started at from has run by
// now: its first at the first grid point at or after from.
func (r *ledgerRun) duePings(c models.Check, from, now time.Time) int {
	first := r.probeAtOrAfter(c, from)
	if now.Before(first) {
		return 0
	}
	return int(now.Sub(first)/c.Interval()) + 1
}

// settle waits, in real time, until no timer's owner is still busy with
// a tick it took and cond holds. Time does not move meanwhile.
func (r *ledgerRun) settle(cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for r.clock.busy() || !cond() {
		if time.Now().After(deadline) {
			stats := ""
			if r.proberStats != nil {
				stats = r.proberStats()
			}
			r.t.Fatalf("at %s the workers did not settle within 30 s: a timer's owner busy %v, pings %v, prober %s\n%s",
				r.clock.Now(), r.clock.busy(), r.pings.snapshot(), stats, r.logs.String())
		}
		time.Sleep(100 * time.Microsecond) // a poll: nothing waits on real time passing
	}
}

// ledgerWorker is a prober or a dispatcher running in the background.
type ledgerWorker struct {
	cancel  context.CancelFunc
	done    chan error
	stopped bool
	started time.Time
	written func() int
}

// stop cancels the worker and waits for its Run to return.
func (w *ledgerWorker) stop(t *testing.T) {
	t.Helper()
	if w.stopped {
		return
	}
	w.stopped = true
	w.cancel()
	select {
	case err := <-w.done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a worker did not stop within 30 s")
	}
}

// startProber starts a prober holding every check: no jitter, each
// result written as soon as it is taken (a batch of one). Its lease is 8
// hours, renewed every 2: its first round claims the checks and no other
// round falls inside a scene, so the scheduler wakes for nothing but its
// timer. Its calls are counted afresh.
func (r *ledgerRun) startProber() *ledgerWorker {
	r.t.Helper()
	r.pings.reset()
	timers, start := r.clock.created(), r.clock.Now()
	p := prober.New(prober.Config{InstanceID: "e2e-prober", Clock: r.clock, Jitter: -1, Lease: 8 * time.Hour,
		BatchMax: 1, BatchAge: time.Hour}, r.s, r.pings.probe, r.logger("prober", slog.LevelDebug))
	w := r.run(p.Run)
	w.written = func() int { return int(p.Stats().Written) }
	r.proberStats = func() string { return fmt.Sprintf("%+v", p.Stats()) }
	// Its lease round, scheduler and writer each make a timer; it holds
	// the checks once the first round's claims reach the scheduler, which
	// then sets its timer for the first probe (once the grid is known).
	var first time.Time
	for _, c := range r.checks {
		if _, ok := r.grid[c.ID]; ok {
			if f := r.probeAtOrAfter(c, start); first.IsZero() || f.Before(first) {
				first = f
			}
		}
	}
	r.settle(func() bool {
		if r.clock.created() < timers+3 || p.Stats().Checks != int64(len(r.checks)) {
			return false
		}
		next, _ := r.clock.next()
		return first.IsZero() || next.Equal(first)
	})
	return w
}

// startDispatcher starts a dispatcher that passes every minute and
// sends email through the test's mail server.
func (r *ledgerRun) startDispatcher() *ledgerWorker {
	r.t.Helper()
	timers := r.clock.created()
	d := notify.New(notify.Config{InstanceID: "e2e-notify", Clock: r.clock, Poll: time.Minute, Location: r.s.Zone(),
		SMTP: notify.SMTPConfig{Host: "127.0.0.1", Port: r.sink.port, Mode: notify.ModeNone, From: "Colo NOC <noc@idc.test>",
			Timeout: 10 * time.Second}}, r.s, r.logger("notify", slog.LevelWarn))
	w := r.run(d.Run)
	// Its timer fires at once: the first pass runs now.
	r.settle(func() bool { return r.clock.created() > timers })
	return w
}

// logger writes the worker's warnings and errors to r.logs.
func (r *ledgerRun) logger(name string, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(&r.logs, &slog.HandlerOptions{Level: level})).With("worker", name)
}

func (r *ledgerRun) run(f func(context.Context) error) *ledgerWorker {
	ctx, cancel := context.WithCancel(context.Background())
	w := &ledgerWorker{cancel: cancel, done: make(chan error, 1), started: r.clock.Now()}
	go func() { w.done <- f(ctx) }()
	r.t.Cleanup(func() { w.stop(r.t) }) // when the test stopped half way
	return w
}

// ledgerPings is the prober's injected probe: a device's pings fail
// inside the windows the test gives it and answer otherwise. The
// clock's time when a probe runs is its slot: the driver does not move
// the clock while a probe due is outstanding.
type ledgerPings struct {
	clock *ledgerClock
	mu    sync.Mutex
	calls map[int64]int
	fails map[int64][][2]time.Time // check → windows [from, to)
}

func (p *ledgerPings) probe(_ context.Context, c *models.Check) prober.Outcome {
	now := p.clock.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls[c.ID]++
	for _, w := range p.fails[c.ID] {
		if !now.Before(w[0]) && now.Before(w[1]) {
			return prober.Outcome{Reason: models.ReasonTimeout}
		}
	}
	return prober.Outcome{OK: true, RTT: 800 * time.Microsecond}
}

func (p *ledgerPings) down(c models.Check, from, to time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fails[c.ID] = append(p.fails[c.ID], [2]time.Time{from, to})
}

func (p *ledgerPings) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = map[int64]int{}
}

func (p *ledgerPings) callsOf(id int64) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[id]
}

func (p *ledgerPings) total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, k := range p.calls {
		n += k
	}
	return n
}

func (p *ledgerPings) snapshot() map[int64]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[int64]int{}
	for k, v := range p.calls {
		out[k] = v
	}
	return out
}

// ledgerSink is a real SMTP server (go-smtp) on 127.0.0.1 that keeps
// every message, and answers 451 at the end of DATA while the test's
// clock is inside a window it was told to refuse in.
type ledgerSink struct {
	clock *ledgerClock
	port  int
	mu    sync.Mutex
	down  [][2]time.Time
	kept  []string
	// refused counts the messages answered 451.
	refused int
}

func startLedgerSink(t *testing.T, clock *ledgerClock) *ledgerSink {
	t.Helper()
	k := &ledgerSink{clock: clock}
	srv := gosmtp.NewServer(k)
	srv.Domain = "mx.alpha.test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	k.port = ln.Addr().(*net.TCPAddr).Port
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return k
}

func (k *ledgerSink) refuse(from, to time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.down = append(k.down, [2]time.Time{from, to})
}

func (k *ledgerSink) accepted() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.kept)
}

func (k *ledgerSink) refusals() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.refused
}

func (k *ledgerSink) NewSession(*gosmtp.Conn) (gosmtp.Session, error) {
	return &ledgerSinkSession{k: k}, nil
}

type ledgerSinkSession struct{ k *ledgerSink }

func (s *ledgerSinkSession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (s *ledgerSinkSession) Rcpt(string, *gosmtp.RcptOptions) error { return nil }
func (s *ledgerSinkSession) Reset()                                 {}
func (s *ledgerSinkSession) Logout() error                          { return nil }
func (s *ledgerSinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	now := s.k.clock.Now()
	s.k.mu.Lock()
	defer s.k.mu.Unlock()
	for _, w := range s.k.down {
		if !now.Before(w[0]) && now.Before(w[1]) {
			s.k.refused++
			return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
		}
	}
	s.k.kept = append(s.k.kept, string(b))
	return nil
}

// ledgerClock is the one time source of the store, the prober and the
// dispatcher (models.TimeSource). Only the test moves it. It knows each
// timer's state, so the driver can tell when every owner of a timer that
// fired has taken its tick and set the timer again (or stopped it).
type ledgerClock struct {
	mu     sync.Mutex
	now    time.Time
	timers map[*ledgerTimer]struct{} // armed or fired, not stopped
	made   int
}

func newLedgerClock(start time.Time) *ledgerClock {
	return &ledgerClock{now: start, timers: map[*ledgerTimer]struct{}{}}
}

func (c *ledgerClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *ledgerClock) NewTimer(d time.Duration) models.Timer {
	t := &ledgerTimer{c: c, ch: make(chan time.Time, 1)}
	c.mu.Lock()
	c.made++
	c.mu.Unlock()
	t.Reset(d)
	return t
}

// set moves the clock to t (never back) and fires the timers due.
func (c *ledgerClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Before(c.now) {
		panic(fmt.Sprintf("ledgerClock: %s is before %s", t, c.now))
	}
	c.now = t
	for tm := range c.timers {
		if !tm.fired && !tm.at.After(c.now) {
			tm.fire()
		}
	}
}

// next is the earliest deadline of an armed timer.
func (c *ledgerClock) next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n time.Time
	for tm := range c.timers {
		if !tm.fired && (n.IsZero() || tm.at.Before(n)) {
			n = tm.at
		}
	}
	return n, !n.IsZero()
}

// busy reports a timer that fired and was not set again or stopped: its
// owner is still at work on the tick.
func (c *ledgerClock) busy() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for tm := range c.timers {
		if tm.fired {
			return true
		}
	}
	return false
}

func (c *ledgerClock) created() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.made
}

type ledgerTimer struct {
	c     *ledgerClock
	ch    chan time.Time
	at    time.Time
	fired bool
}

func (t *ledgerTimer) C() <-chan time.Time { return t.ch }

// fire runs with the clock's lock held.
func (t *ledgerTimer) fire() {
	t.fired = true
	t.ch <- t.c.now // never blocks: Reset and Stop drain the channel
}

func (t *ledgerTimer) Reset(d time.Duration) {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.drain()
	t.at, t.fired = t.c.now.Add(d), false
	t.c.timers[t] = struct{}{}
	if d <= 0 {
		t.fire()
	}
}

func (t *ledgerTimer) Stop() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.drain()
	t.fired = false
	delete(t.c.timers, t)
}

func (t *ledgerTimer) drain() {
	select {
	case <-t.ch:
	default:
	}
}

// ---- comparing what was stored with what was worked out ----

// ledgerDiff lists the differences between got and want, field by field:
// times by instant (the stored statement reads them back from JSON),
// a nil slice as an empty one, floats to 1e-9.
func ledgerDiff(got, want any) []string {
	var out []string
	ledgerDiffValue("", reflect.ValueOf(got), reflect.ValueOf(want), &out)
	return out
}

var ledgerTimeType = reflect.TypeOf(time.Time{})

func ledgerDiffValue(path string, g, w reflect.Value, out *[]string) {
	if g.Type() == ledgerTimeType {
		if gt, wt := g.Interface().(time.Time), w.Interface().(time.Time); !gt.Equal(wt) {
			*out = append(*out, fmt.Sprintf("%s: got %s, want %s", path, gt.UTC(), wt.UTC()))
		}
		return
	}
	switch g.Kind() {
	case reflect.Pointer:
		if g.IsNil() || w.IsNil() {
			if g.IsNil() != w.IsNil() {
				*out = append(*out, fmt.Sprintf("%s: got %v, want %v", path, ledgerDescribe(g), ledgerDescribe(w)))
			}
			return
		}
		ledgerDiffValue(path, g.Elem(), w.Elem(), out)
	case reflect.Struct:
		for i := range g.NumField() {
			ledgerDiffValue(path+"."+g.Type().Field(i).Name, g.Field(i), w.Field(i), out)
		}
	case reflect.Slice:
		if g.Len() != w.Len() {
			*out = append(*out, fmt.Sprintf("%s: got %d items %s, want %d %s", path, g.Len(), ledgerDescribe(g), w.Len(), ledgerDescribe(w)))
			return
		}
		for i := range g.Len() {
			ledgerDiffValue(fmt.Sprintf("%s[%d]", path, i), g.Index(i), w.Index(i), out)
		}
	case reflect.Float32, reflect.Float64:
		if math.Abs(g.Float()-w.Float()) > 1e-9 {
			*out = append(*out, fmt.Sprintf("%s: got %.9f, want %.9f", path, g.Float(), w.Float()))
		}
	default:
		if !reflect.DeepEqual(g.Interface(), w.Interface()) {
			*out = append(*out, fmt.Sprintf("%s: got %v, want %v", path, ledgerDescribe(g), ledgerDescribe(w)))
		}
	}
}

func ledgerDescribe(v reflect.Value) string {
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		return fmt.Sprintf("&%+v", v.Elem().Interface())
	}
	return strings.TrimSpace(fmt.Sprintf("%+v", v.Interface()))
}
