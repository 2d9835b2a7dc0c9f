package pdf

import (
	"fmt"
	"strings"
	"testing"

	"github.com/colo-portal/portal/locales"
)

func testStatementDoc(lang string, provisional bool) StatementDoc {
	tr := translator(lang)
	vm := StatementDoc{Lang: lang, Title: tr("statements.statement_title", "2026-11"), OrgName: "北京星河数据科技有限公司 (Galaxy Data)",
		Month: "2026-11", Provisional: provisional, State: "2026-12-02 10:00 UTC+08:00 · 王芳 Wang Fang", Ref: "33ea17de584527d1",
		Generated: "2026-12-02 10:05 UTC+08:00", Totals: [][2]string{{"CNY", "¥30,000.00"}, {"USD", "US$120.50"}},
		Contracts: []StatementContract{{
			Heading: "CT-2026-0001 · 服务器托管 Colocation",
			Fields:  [][2]string{{tr("statements.period"), "2026-11-16 – 2026-11-30 (15 / 30)"}, {tr("statements.fee"), "¥15,000.00"}},
			Measures: []StatementMeasure{
				{Name: tr("statements.network"), Measured: "15 d / 15 d", Allowance: "21.60 min", Used: "65.00 min", Left: "over by 43.40 min",
					Percent: "99.699%", Result: tr("statements.broken"), Excluded: []string{"客户设备 Customer equipment: 20.00 min"},
					Evidence: []StatementEvidence{{What: "Outage #12 · web-01.galaxy.example", From: "2026-11-20 10:00", To: "2026-11-20 11:25",
						Counted: "65.00 min", Excluded: "20.00 min", Causes: "未分类, 客户设备"}}},
				{Name: tr("statements.power"), Measured: "15 d / 15 d", Allowance: "21.60 min", Used: "0.00 min", Left: "21.60 min",
					Percent: "100.000%", Result: tr("statements.met"), Met: true},
			},
			Lines: []StatementLine{{Kind: tr("statements.line.network"), Detail: "99.699% < 99.9%", Evidence: tr("statements.see_measure"), Amount: "¥15,000.00"},
				{Kind: tr("statements.line.notice"), Detail: "2026-11-20", Evidence: "Outage #12", Amount: "¥1,000.00"},
				{Kind: tr("statements.cap"), Detail: "¥15,000.00", Amount: "-¥1,000.00"}},
			Credit: "¥15,000.00",
		}},
		Uncovered:   []StatementLine{{Kind: tr("statements.line.notice"), Detail: "2026-11-03", Evidence: "Outage #3", Amount: tr("statements.nothing_credited")}},
		Adjustments: []StatementAdjustment{{Origin: "2026-10", Contract: "CT-2026-0001", WasNow: "¥30,000.00 → ¥1,000.00", Changes: "Network: ¥30,000.00 → ¥0.00", Amount: "-¥29,000.00"}},
		Traffic: []StatementTraffic{{Port: "Gi1/0/1", Device: "core-1", Contract: "CT-2026-0001", In: "65.7 Mb/s", Out: "32.8 Mb/s",
			Billed: "65.7 Mb/s", Samples: "8,640"}},
	}
	for i := 0; i < 60; i++ { // enough clocks to run over a page
		vm.Clocks = append(vm.Clocks, StatementClockLine{Kind: "紧急通知 Emergency notice", What: fmt.Sprintf("web-%02d", i),
			Started: "2026-11-20 10:05", Deadline: "2026-11-20 10:20", Outcome: tr("clock.missed"), Missed: true})
	}
	if provisional {
		vm.Ref = "" // a provisional statement has none yet
	}
	vm.Clocks[7].Stopped, vm.Clocks[7].Outcome, vm.Clocks[7].Met, vm.Clocks[7].Missed = "2026-11-20 10:09", tr("clock.met"), true, false
	return vm
}

func TestStatementHasEveryFigureAndSaysWhenItIsProvisional(t *testing.T) {
	for _, lang := range locales.Supported {
		for _, provisional := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s provisional=%v", lang, provisional), func(t *testing.T) {
				tr := translator(lang)
				vm := testStatementDoc(lang, provisional)
				doc, err := Statement(tr, testLetterhead(), vm)
				if err != nil {
					t.Fatal(err)
				}
				keep(t, fmt.Sprintf("statement-%s-%v.pdf", lang, provisional), doc)
				n := pagesOf(t, doc)
				if n < 2 {
					t.Errorf("%d pages; 60 clocks should run over", n)
				}
				text := pdftotext(t, doc)
				got := string(nonSpace(text))
				want := []string{vm.Title, vm.OrgName, vm.State, "¥30,000.00", "US$120.50", "¥15,000.00", "-¥1,000.00", "-¥29,000.00",
					"21.60min", "65.00min", "99.699%", "100.000%", "web-01.galaxy.example", "2026-11-20 10:09", "web-59",
					tr("clock.met"), tr("clock.missed"), tr("statements.cap"), tr("statements.adjustments"), tr("statements.uncovered"),
					tr("statements.nothing_credited"), tr("statements.clocks"), tr("statements.line.notice"),
					tr("statement.traffic_title"), tr("statement.traffic_intro"), tr("statement.traffic_billed"), "Gi1/0/1", "65.7Mb/s", "32.8Mb/s", "8,640"}
				for _, w := range want {
					if !strings.Contains(got, string(nonSpace(w))) {
						t.Errorf("the statement lacks %q", w)
					}
				}
				mark := tr("statements.pdf.provisional_mark")
				pages := strings.Split(text, "\f")
				for i := 0; i < n; i++ {
					if strings.Contains(pages[i], mark) != provisional {
						t.Errorf("page %d of %d: provisional mark shown %v, want %v", i+1, n, !provisional, provisional)
					}
				}
				if ref := "33ea17de584527d1"; provisional == strings.Contains(got, ref) {
					t.Errorf("the reference %q shown %v on a provisional=%v statement", ref, !provisional, provisional)
				}
			})
		}
	}
}

// A statement without ports (or closed before traffic was measured) has
// no traffic section.
func TestStatementWithoutTrafficHasNoTrafficSection(t *testing.T) {
	tr := translator("en")
	vm := testStatementDoc("en", false)
	vm.Traffic = nil
	doc, err := Statement(tr, testLetterhead(), vm)
	if err != nil {
		t.Fatal(err)
	}
	text := pdftotext(t, doc)
	if !strings.Contains(text, tr("statements.adjustments")) {
		t.Fatalf("the statement lacks its last section: %q", text)
	}
	if strings.Contains(text, tr("statement.traffic_title")) {
		t.Error("a statement without ports shows the traffic section")
	}
}

// The traffic section's heading and note never stand alone at the foot of
// a page, its table on the next: whatever comes before, they share a page
// with the table's first row.
func TestStatementTrafficHeadingKeepsWithItsTable(t *testing.T) {
	for _, lang := range locales.Supported {
		tr := translator(lang)
		for clocks := 30; clocks <= 64; clocks += 2 {
			vm := testStatementDoc(lang, true)
			vm.Clocks = vm.Clocks[:clocks]
			doc, err := Statement(tr, testLetterhead(), vm)
			if err != nil {
				t.Fatal(err)
			}
			title := string(nonSpace(tr("statement.traffic_title")))
			for i, page := range strings.Split(pdftotext(t, doc), "\f") {
				got := string(nonSpace(page))
				if strings.Contains(got, title) && !strings.Contains(got, "Gi1/0/1") {
					t.Errorf("%s, %d clocks: page %d has the traffic heading but not its table", lang, clocks, i+1)
				}
			}
		}
	}
}
