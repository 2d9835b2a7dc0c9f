package handlers_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

var probeItemRE = regexp.MustCompile(`<li><span class="mono">([^<]+)</span>`)

// evidenceList is the times the outage page's evidence list shows, in order.
func evidenceList(t *testing.T, body string) []string {
	t.Helper()
	i := strings.Index(body, `id="evidence-h"`)
	if i < 0 {
		t.Fatalf("no evidence section on the outage page: %.400q", body)
	}
	var out []string
	for _, m := range probeItemRE.FindAllStringSubmatch(body[i:], -1) {
		out = append(out, m[1])
	}
	return out
}

// TestOutageEvidenceIsPaged: an outage with more failed probes than one page
// holds lists the newest page first with a link to the older ones, in both
// languages, and the second page lists the rest.
func TestOutageEvidenceIsPaged(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		p := seedProbes(t, e)
		// The TCP check's ongoing outage has failed probes 20–24; 70 more
		// make 75, a page and a half.
		last := p.t0.Add(24*5*time.Minute + time.Second)
		var rs []models.ProbeResult
		for i := 1; i <= 70; i++ {
			rs = append(rs, models.ProbeResult{CheckID: p.tcpA.ID, At: last.Add(time.Duration(i) * time.Minute), Reason: models.ReasonRefused})
		}
		if _, err := e.store.RecordResults(ctx, rs); err != nil {
			t.Fatal(err)
		}
		const total = 75
		path := "/outages/" + ids(p.ongoingID)
		for _, lang := range []string{"zh-CN", "en"} {
			c := e.as(t, e.fx.CustA)
			c.header.Set("Accept-Language", lang)
			r := c.get(path)
			wantStatus(t, r, http.StatusOK)
			first := evidenceList(t, r.Body)
			if len(first) != views.EvidencePerPage {
				t.Fatalf("%s: page 1 lists %d probes, want %d", lang, len(first), views.EvidencePerPage)
			}
			for _, want := range []string{tr(lang, "outages.probes", total), tr(lang, "outages.evidence_page", 1, 2),
				`href="` + path + `?page=2#evidence-h"`, tr(lang, "outages.evidence_older")} {
				if !strings.Contains(r.Body, want) {
					t.Errorf("%s: page 1 lacks %q", lang, want)
				}
			}
			if strings.Contains(r.Body, tr(lang, "outages.evidence_newer")) {
				t.Errorf("%s: page 1 links newer probes", lang)
			}
			r2 := c.get(path + "?page=2")
			wantStatus(t, r2, http.StatusOK)
			second := evidenceList(t, r2.Body)
			if len(second) != total-views.EvidencePerPage {
				t.Fatalf("%s: page 2 lists %d probes, want %d", lang, len(second), total-views.EvidencePerPage)
			}
			for _, want := range []string{`<ol class="probes" start="51">`, tr(lang, "outages.evidence_page", 2, 2), `href="` + path + `?page=1#evidence-h"`, tr(lang, "outages.evidence_newer")} {
				if !strings.Contains(r2.Body, want) {
					t.Errorf("%s: page 2 lacks %q", lang, want)
				}
			}
			if strings.Contains(r2.Body, tr(lang, "outages.evidence_older")) {
				t.Errorf("%s: the last page links older probes", lang)
			}
			seen := map[string]bool{}
			for _, s := range append(first, second...) {
				if seen[s] {
					t.Errorf("%s: probe %s is listed twice", lang, s)
				}
				seen[s] = true
			}
			// Newest first: the page ends with the outage's first failure
			// and starts with its latest.
			if first[0] <= first[len(first)-1] || second[0] <= second[len(second)-1] || first[len(first)-1] <= second[0] {
				t.Errorf("%s: not newest first: page 1 %s…%s, page 2 %s…%s", lang, first[0], first[len(first)-1], second[0], second[len(second)-1])
			}
			// A page beyond the last shows the last; a bad number the first.
			if got := evidenceList(t, c.get(path+"?page=9").Body); len(got) != len(second) || got[0] != second[0] {
				t.Errorf("%s: page 9 lists %d probes from %v, want the last page", lang, len(got), got)
			}
			if got := evidenceList(t, c.get(path+"?page=x").Body); len(got) != len(first) || got[0] != first[0] {
				t.Errorf("%s: page x lists %d probes, want the first page", lang, len(got))
			}
		}
	})
}
