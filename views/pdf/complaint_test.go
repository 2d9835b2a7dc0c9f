package pdf

import (
	"fmt"
	"strings"
	"testing"

	"github.com/colo-portal/portal/locales"
)

func testComplaintDoc(lang string) ComplaintDoc {
	vm := ComplaintDoc{
		Lang: lang, Number: "CP-2026-0007", OrgName: "北京星河数据科技有限公司 (Galaxy Data)",
		Category: "具体员工 / A named employee", Concerning: "李工程师 Li Engineer", Subject: "<script>alert('x')</script> 工程师态度恶劣",
		Description: longChinese + "\n" + longLatin + "\n'; DROP TABLE complaints; --",
		Received:    "2026-11-02 10:00:00", Channel: "电话 Phone", FiledBy: "李娜 Li Na", State: "已解决 Resolved",
		ClockStarted: "2026-11-02 10:00:00", ClockDeadline: "2026-11-03 10:00:00", ClockStopped: "2026-11-03 09:59:00",
		ClockOutcome: "按时 Met", ClockMet: true, Generated: "2026-11-20 18:30 (UTC+8)",
		Files: []ComplaintFileLine{
			{Name: "通话录音-20261102.mp3", Size: "1.2 MB", Uploaded: "2026-11-02 10:05 李娜", SHA256: strings.Repeat("ab12", 16)},
			{Name: "screenshot of the ping graph.png", Size: "88 KB", Uploaded: "2026-11-02 10:06 Li Na", SHA256: strings.Repeat("cd34", 16)},
		},
	}
	for i := 1; i <= 14; i++ {
		vm.Lines = append(vm.Lines, ComplaintEntry{At: fmt.Sprintf("2026-11-02 %02d:%02d", 10+i/6, i*4%60), Author: "王客服 Wang Service",
			Kind: "留言 Message", Body: fmt.Sprintf("第%d条留言：我们已收到您的投诉，正在核实情况。Message %d: we are checking with the team.", i, i)})
	}
	vm.Lines[3] = ComplaintEntry{At: "2026-11-03 09:59", Author: "王客服 Wang Service", Kind: "处理报告 Handling report", Report: true,
		Found: "经查，工程师在11月1日的现场操作中未按规范沟通。Found: the engineer did not explain the work.",
		Done:  "已对该工程师进行约谈并安排培训。Done: a talk and a training were arranged.",
		Next:  "下周起由另一名工程师负责贵单位的现场工作。Next: another engineer serves you from next week."}
	vm.Lines[5].Body = "<script>alert(1)</script> '; DROP TABLE users; -- 请核实\n" + longChinese
	vm.Lines = append(vm.Lines, ComplaintEntry{At: "2026-11-10 15:00", Author: "王客服 Wang Service", Kind: "解决 Resolution",
		Body: "问题已解决：更换负责工程师并书面致歉。Resolved: engineer replaced, written apology sent."})
	return vm
}

func TestComplaintRecordHasEveryMessageInTheReadersLanguage(t *testing.T) {
	for _, lang := range locales.Supported {
		t.Run(lang, func(t *testing.T) {
			tr := translator(lang)
			vm := testComplaintDoc(lang)
			doc, err := ComplaintRecord(tr, testLetterhead(), vm)
			if err != nil {
				t.Fatal(err)
			}
			keep(t, "complaint-"+lang+".pdf", doc)
			if n := pagesOf(t, doc); n < 2 {
				t.Errorf("%d pages; the long thread should run over", n)
			}
			text := pdftotext(t, doc)
			got := string(nonSpace(text))
			want := []string{testLetterhead().Name, tr("pdf.complaint.title"), vm.Number, vm.OrgName, vm.Category, vm.Concerning, vm.Subject,
				vm.FiledBy, vm.Channel, vm.State, vm.ClockStarted, vm.ClockDeadline, vm.ClockStopped, vm.ClockOutcome,
				longChinese, "'; DROP TABLE complaints; --", tr("pdf.complaint.found"), tr("pdf.complaint.done"), tr("pdf.complaint.next"),
				tr("pdf.complaint.section.thread"), tr("pdf.complaint.section.files")}
			for _, l := range vm.Lines {
				want = append(want, l.At, l.Author, l.Kind, l.Body, l.Found, l.Done, l.Next)
			}
			for _, f := range vm.Files {
				want = append(want, f.Name, f.Size, f.Uploaded, f.SHA256)
			}
			for _, w := range want {
				if w == "" {
					continue
				}
				for _, part := range strings.Split(w, "\n") {
					if p := string(nonSpace(part)); !strings.Contains(got, p) {
						t.Errorf("the record lacks %q", part)
					}
				}
			}
			// Labels in the reader's language only.
			other := map[string]string{"zh-CN": "Written record of a complaint", "en": "投诉书面记录"}[lang]
			if other == "" || strings.Contains(got, string(nonSpace(other))) {
				t.Errorf("the %s record shows the other language's title %q", lang, other)
			}
		})
	}
	// Without a response yet, the clock says so.
	tr := translator("en")
	vm := testComplaintDoc("en")
	vm.ClockStopped, vm.ClockOutcome, vm.ClockMet, vm.Lines, vm.Files = "", "Running", false, nil, nil
	doc, err := ComplaintRecord(tr, Letterhead{}, vm)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(nonSpace(pdftotext(t, doc))); !strings.Contains(got, string(nonSpace(tr("pdf.complaint.no_response")))) {
		t.Errorf("no 'no response yet' in:\n%s", got)
	}
}
