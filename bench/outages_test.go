package bench

import (
	"io"
	"testing"
)

func TestBenchOutagesTiny(t *testing.T) {
	out, got := benchJSON(t, func(w io.Writer) error {
		return Outages(t.Context(), OutagesOptions{Devices: 40, Orgs: 4, Contacts: 2, OneOrgDevices: 30, Iterations: 2}, w)
	})
	if v := number(t, got, "outages_open"); v != 40 {
		t.Errorf("outages_open = %v, want 40: every device's check confirmed down\n%s", v, out)
	}
	if v := number(t, got, "orgs_notified"); v != 4 {
		t.Errorf("orgs_notified = %v, want all 4 organizations\n%s", v, out)
	}
	// Grouping changes how many; every contact gets at least one call.
	if v := number(t, got, "events"); v < 4 || v > 40 {
		t.Errorf("events = %v, want between one per organization and one per outage\n%s", v, out)
	}
	if v := number(t, got, "call_tasks"); v < 4*2 || v > 40*2 {
		t.Errorf("call_tasks = %v, want between one per contact and one per outage and contact\n%s", v, out)
	}
	if v := number(t, got, "not_sent"); v < 4*2 {
		t.Errorf("not_sent = %v, want every contact's email logged as not sent (no mail server)\n%s", v, out)
	}
	if q, d := number(t, got, "queued_s"), number(t, got, "due_s"); q < 0 || d < q {
		t.Errorf("queued_s = %v, due_s = %v: want queued after the confirming round (not before), due no earlier\n%s", q, d, out)
	}
	for _, page := range []string{"oncall", "oncall_live", "uptime", "home_reception", "home_customer", "uptime_one_org"} {
		if v := number(t, got, page+"_bytes"); v < 1000 {
			t.Errorf("%s_bytes = %v, want a page\n%s", page, v, out)
		}
		number(t, got, page+"_p95_ms")
	}
	// The engineer's on-call page has a call form for each contact's line
	// of the organizations it shows (4 organizations, 2 contacts each).
	if v := number(t, got, "oncall_call_forms"); v < 4*2 {
		t.Errorf("oncall_call_forms = %v, want a call form for each of the 8 contacts\n%s", v, out)
	}
}
