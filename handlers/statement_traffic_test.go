package handlers_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
)

// statementPorts stores a switch with a port of organization A (Gi1/0/1,
// "Alpha uplink") and one of B (Gi1/0/2), monitored since October, and 20
// five-minute samples of each on 5 November 2026: A's in rates 8, 16, …
// 160 Mb/s (95th: 152 Mb/s, the 19th), out half that; B's 240 kb/s.
func statementPorts(t *testing.T, e *env) (a, b *models.SwitchPort) {
	t.Helper()
	ctx := context.Background()
	raw, _, err := models.Open(ctx, models.OpenOptions{URL: e.db.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s, err := raw.DB(); err == nil {
			s.Close()
		}
	})
	since := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	sw := &models.Switch{Name: "core-1", Address: "127.0.0.1", Version: models.SNMPv2c, IntervalSec: 300, TimeoutMs: 3000, MaxOIDs: 30,
		Enabled: true, LeaseUntil: since, CreatedAt: since}
	if err := raw.Create(sw).Error; err != nil {
		t.Fatal(err)
	}
	a = &models.SwitchPort{SwitchID: sw.ID, IfIndex: 1, Ref: "a1b2c3d4e5f60718", Name: "Gi1/0/1", Alias: "Alpha uplink", OrgID: &e.fx.OrgA.ID, CreatedAt: since}
	b = &models.SwitchPort{SwitchID: sw.ID, IfIndex: 2, Ref: "b1b2c3d4e5f60718", Name: "Gi1/0/2", OrgID: &e.fx.OrgB.ID, CreatedAt: since}
	for _, p := range []*models.SwitchPort{a, b} {
		if err := raw.Create(p).Error; err != nil {
			t.Fatal(err)
		}
	}
	day := time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC)
	var samples []models.TrafficSample
	for i := int64(0); i < 20; i++ {
		at := day.Add(time.Duration(i) * 5 * time.Minute)
		samples = append(samples,
			models.TrafficSample{PortID: a.ID, At: at, OperUp: true, Valid: true, Ms: 300_000, InOctets: (i + 1) * 300_000_000, OutOctets: (i + 1) * 150_000_000},
			models.TrafficSample{PortID: b.ID, At: at, OperUp: true, Valid: true, Ms: 300_000, InOctets: 9_000_000, OutOctets: 9_000_000})
	}
	if _, err := e.store.RecordTraffic(ctx, samples); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// The statement shows each of the organization's ports with the month's
// 95th percentile, said to be information and not a credit, on the page
// and in both languages' PDF; another organization's port is absent; a
// closed statement keeps its figures when samples arrive after.
func TestStatementShowsTrafficForInformation(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		fx := e.fx
		a, _ := statementPorts(t, e)
		e.clock.Advance(30 * 24 * time.Hour) // 2 December: November is over
		orgA, orgB := ids(fx.OrgA.ID), ids(fx.OrgB.ID)
		nov, novB := "/statements/"+orgA+"/2026-11", "/statements/"+orgB+"/2026-11"

		cust := e.as(t, fx.CustA)
		r := cust.get(nov)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, zh("statement.traffic_title"), zh("statement.traffic_intro"), zh("statement.traffic_billed"),
			"Gi1/0/1", "Alpha uplink", "core-1", "152 Mb/s", "76 Mb/s", `href="/traffic/`+a.Ref+`"`)
		wantNoBody(t, r, "Gi1/0/2", "240 kb/s")
		rb := e.as(t, fx.CustB).get(novB)
		wantBody(t, rb, "Gi1/0/2", "240 kb/s")
		wantNoBody(t, rb, "Gi1/0/1", "Alpha uplink", "152 Mb/s")

		for _, lang := range []string{"zh-CN", "en"} {
			r := cust.get(nov + "/statement.pdf?lang=" + lang)
			wantStatus(t, r, http.StatusOK)
			text := squashSpace(pdfText(t, []byte(r.Body)))
			if text == "" {
				continue // pdftotext is missing, which pdfText allows outside CI
			}
			for _, w := range []string{tr(lang, "statement.traffic_title"), tr(lang, "statement.traffic_intro"), tr(lang, "statement.traffic_in"),
				"Gi1/0/1", "core-1", "152Mb/s", "76Mb/s"} {
				if !strings.Contains(text, squashSpace(html.UnescapeString(w))) {
					t.Errorf("the %s PDF lacks %q", lang, w)
				}
			}
			if strings.Contains(text, "Gi1/0/2") {
				t.Errorf("the %s PDF shows Bravo's port", lang)
			}
		}

		svc := e.as(t, fx.Service)
		wantRedirect(t, svc.submit(nov, nov+"/close", url.Values{}), nov)
		// A spool replayed late brings 20 more samples of November at
		// 800 Mb/s: the port's month changes, the closed statement not.
		var late []models.TrafficSample
		for i := 0; i < 20; i++ {
			late = append(late, models.TrafficSample{PortID: a.ID, At: time.Date(2026, 11, 6, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 5 * time.Minute),
				OperUp: true, Valid: true, Ms: 300_000, InOctets: 30_000_000_000, OutOctets: 1})
		}
		if _, err := e.store.RecordTraffic(context.Background(), late); err != nil {
			t.Fatal(err)
		}
		if m, err := e.store.TrafficMonthOf(context.Background(), models.AllOrgs(), a, "2026-11"); err != nil || m.InP95Bps != 800_000_000 {
			t.Fatalf("the port's November is now %+v, %v; want 800 Mb/s", m, err)
		}
		r = cust.get(nov)
		wantBody(t, r, zh("statements.state.closed"), "152 Mb/s", "Gi1/0/1")
		wantNoBody(t, r, "800 Mb/s")
	})
}
