package models_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

func countPower(t *testing.T, s *models.Store) int {
	t.Helper()
	rows, err := s.PowerIncidents(context.Background(), models.AllOrgs(), models.PowerFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return len(rows)
}

// Every rule of a power incident is checked at once, each next to its
// field, and nothing is stored unless all hold.
func TestPowerIncidentRules(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		eng := models.UserActor(fx.Engineer, "10.0.0.1")
		now := clock.Now()
		past, future := now.Add(-time.Hour), now.Add(time.Minute)
		many := make([]models.PowerTargetInput, models.MaxPowerTargets+1)
		for i := range many {
			many[i] = models.PowerTargetInput{OrgID: fx.OrgA.ID, Cabinet: fmt.Sprintf("C%03d", i)}
		}
		for _, c := range []struct {
			name string
			in   models.PowerInput
			want map[string]string
		}{
			{"everything wrong at once", models.PowerInput{StartedAt: future, EndedAt: &past, Cause: "  "},
				map[string]string{"started_at": "power.error.started_future", "ended_at": "power.error.ended_before",
					"cause": "error.required", "targets": "power.error.no_targets"}},
			{"no start", models.PowerInput{Cause: "x", Targets: []models.PowerTargetInput{{OrgID: fx.OrgA.ID}}},
				map[string]string{"started_at": "error.required"}},
			{"an end in the future", models.PowerInput{StartedAt: past, EndedAt: &future, Cause: "x",
				Targets: []models.PowerTargetInput{{OrgID: fx.OrgA.ID}}},
				map[string]string{"ended_at": "power.error.ended_future"}},
			{"an end at the start", models.PowerInput{StartedAt: past, EndedAt: &past, Cause: "x",
				Targets: []models.PowerTargetInput{{OrgID: fx.OrgA.ID}}},
				map[string]string{"ended_at": "power.error.ended_before"}},
			{"a cause too long", models.PowerInput{StartedAt: past, Cause: strings.Repeat("断", 501),
				Targets: []models.PowerTargetInput{{OrgID: fx.OrgA.ID}}},
				map[string]string{"cause": "error.too_long"}},
			{"an organization that does not exist", models.PowerInput{StartedAt: past, Cause: "x",
				Targets: []models.PowerTargetInput{{OrgID: fx.OrgA.ID}, {OrgID: 999999}}},
				map[string]string{"targets": "power.error.org_unknown"}},
			{"too many targets", models.PowerInput{StartedAt: past, Cause: "x", Targets: many},
				map[string]string{"targets": "power.error.too_many_targets"}},
			{"a start before 2000", models.PowerInput{StartedAt: time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC), Cause: "x",
				Targets: []models.PowerTargetInput{{OrgID: fx.OrgA.ID}}},
				map[string]string{"started_at": "error.date_range"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := s.RecordPowerIncident(ctx, eng, c.in)
				if got := fieldKeys(err); fmt.Sprint(got) != fmt.Sprint(c.want) {
					t.Fatalf("errors %v, want %v (%v)", got, c.want, err)
				}
				if err := s.CheckPowerIncident(ctx, c.in); fmt.Sprint(fieldKeys(err)) != fmt.Sprint(c.want) {
					t.Fatalf("CheckPowerIncident: %v, want %v", err, c.want)
				}
			})
		}
		if n := countPower(t, s); n != 0 {
			t.Fatalf("%d incidents stored after refusals", n)
		}
		if evs := auditOf(t, s, models.AuditPowerRecorded); len(evs) != 0 {
			t.Fatalf("%d records of refused incidents", len(evs))
		}
	})
}

// Incidents are numbered in the provider's series, PI-2026-0001, with a
// random reference, and each is one audit record naming what it touched.
func TestRecordPowerIncidentNumbersAndAudits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		eng := models.UserActor(fx.Engineer, "10.0.0.1")
		start := clock.Now().Add(-2 * time.Hour)
		end := start.Add(90 * time.Minute)
		p1, err := s.RecordPowerIncident(ctx, eng, models.PowerInput{StartedAt: start, EndedAt: &end, BothDown: true,
			Cause: " UPS 2 failed during a mains dip ", Note: "Vendor called",
			Targets: []models.PowerTargetInput{{OrgID: fx.OrgB.ID, Cabinet: "B-01"}, {OrgID: fx.OrgA.ID},
				{OrgID: fx.OrgA.ID, Cabinet: "A-07"}, {OrgID: fx.OrgB.ID, Cabinet: " B-01 "}}})
		if err != nil {
			t.Fatal(err)
		}
		p2, err := s.RecordPowerIncident(ctx, eng, models.PowerInput{StartedAt: start, Cause: "Mains lost, UPS held",
			Targets: []models.PowerTargetInput{{OrgID: fx.OrgB.ID}}})
		if err != nil {
			t.Fatal(err)
		}
		if p1.Number() != "PI-2026-0001" || p2.Number() != "PI-2026-0002" {
			t.Fatalf("numbers %s, %s", p1.Number(), p2.Number())
		}
		if !models.ValidRequestRef(p1.Ref) || p1.Ref == p2.Ref {
			t.Fatalf("refs %q, %q", p1.Ref, p2.Ref)
		}
		if p1.Cause != "UPS 2 failed during a mains dip" || !p1.CountsAgainstProvider() || p1.Excluded() != models.PowerCountsAgainst {
			t.Fatalf("incident 1: %+v", p1)
		}
		if p2.EndedAt != nil || p2.CountsAgainstProvider() || p2.Excluded() != models.PowerNotBothDown {
			t.Fatalf("incident 2: %+v", p2)
		}
		if d := p2.Duration(clock.Now()); d != 2*time.Hour {
			t.Fatalf("ongoing duration %s", d)
		}
		d, err := s.PowerIncidentOf(ctx, models.AllOrgs(), p1.Ref)
		if err != nil {
			t.Fatal(err)
		}
		// The whole organization A takes in its cabinet; B's cabinet once.
		var got []string
		for _, tg := range d.Targets {
			got = append(got, tg.Slug+"/"+tg.Cabinet)
		}
		if want := []string{"alpha/", "bravo/B-01"}; !slices.Equal(got, want) {
			t.Fatalf("targets %v, want %v", got, want)
		}
		if d.CreatedBy != fx.Engineer.Name || d.Incident.Note != "Vendor called" {
			t.Fatalf("detail %+v", d)
		}
		evs := auditOf(t, s, models.AuditPowerRecorded)
		if len(evs) != 2 || evs[1].TargetID == nil || *evs[1].TargetID != p1.ID || evs[1].TargetType != "power_incident" || evs[1].OrgID != nil {
			t.Fatalf("records %+v", evs)
		}
		det := detailOf(t, evs[1])
		if det["incident"] != "PI-2026-0001" || fmt.Sprint(det["organizations"]) != "[alpha bravo]" ||
			fmt.Sprint(det["targets"]) != "[alpha bravo B-01]" || det["org_count"] != float64(2) {
			t.Fatalf("detail %v", det)
		}
	})
}

// A customer sees only the incidents touching its organization, and of
// each only its own targets and no internal note; another's incident is
// not found.
func TestPowerIncidentsAsACustomerSeesThem(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		eng := models.UserActor(fx.Engineer, "10.0.0.1")
		start := clock.Now().Add(-3 * time.Hour)
		end := start.Add(time.Hour)
		both, err := s.RecordPowerIncident(ctx, eng, models.PowerInput{StartedAt: start, EndedAt: &end, BothDown: true,
			ForceMajeure: true, Cause: "City grid down", Note: "Bravo lost B-01 too",
			Targets: []models.PowerTargetInput{{OrgID: fx.OrgA.ID, Cabinet: "A-07"}, {OrgID: fx.OrgB.ID, Cabinet: "B-01"}}})
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
		onlyB, err := s.RecordPowerIncident(ctx, eng, models.PowerInput{StartedAt: start.Add(time.Hour), Cause: "PDU tripped",
			BothDown: true, Targets: []models.PowerTargetInput{{OrgID: fx.OrgB.ID}}})
		if err != nil {
			t.Fatal(err)
		}
		a := models.OrgScope(fx.OrgA.ID)
		rows, err := s.PowerIncidents(ctx, a, models.PowerFilter{})
		if err != nil || len(rows) != 1 || rows[0].Ref != both.Ref || rows[0].Orgs != 1 {
			t.Fatalf("A's list %+v, %v", rows, err)
		}
		d, err := s.PowerIncidentOf(ctx, a, both.Ref)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Targets) != 1 || d.Targets[0].OrgID != fx.OrgA.ID || d.Targets[0].Cabinet != "A-07" ||
			d.Incident.Note != "" || d.CreatedBy != "" || d.Incident.CreatedBy != nil {
			t.Fatalf("A's view %+v", d)
		}
		if d.Incident.Excluded() != models.PowerForceMajeure {
			t.Fatalf("excluded %q", d.Incident.Excluded())
		}
		for _, ref := range []string{onlyB.Ref, "0123456789abcdef", "nonsense"} {
			if _, err := s.PowerIncidentOf(ctx, a, ref); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("A opening %s: %v, want not found", ref, err)
			}
		}
		if _, err := s.PowerIncidentOf(ctx, models.Scope{}, both.Ref); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("the empty scope: %v", err)
		}
		if rows, _ := s.PowerIncidents(ctx, models.Scope{}, models.PowerFilter{}); len(rows) != 0 {
			t.Errorf("the empty scope lists %d", len(rows))
		}
		// Staff: every incident, newest start first, all organizations counted.
		rows, err = s.PowerIncidents(ctx, models.AllOrgs(), models.PowerFilter{})
		if err != nil || len(rows) != 2 || rows[0].Ref != onlyB.Ref || rows[1].Orgs != 2 {
			t.Fatalf("staff list %+v, %v", rows, err)
		}
		for _, c := range []struct {
			f    models.PowerFilter
			want []string
		}{
			{models.PowerFilter{OrgID: fx.OrgA.ID}, []string{both.Ref}},
			{models.PowerFilter{OrgID: fx.OrgB.ID}, []string{onlyB.Ref, both.Ref}},
			{models.PowerFilter{Ongoing: true}, []string{onlyB.Ref}},
			{models.PowerFilter{Limit: 1}, []string{onlyB.Ref}},
		} {
			rows, err := s.PowerIncidents(ctx, models.AllOrgs(), c.f)
			var got []string
			for _, r := range rows {
				got = append(got, r.Ref)
			}
			if err != nil || !slices.Equal(got, c.want) {
				t.Errorf("filter %+v: %v, %v; want %v", c.f, got, err, c.want)
			}
		}
		// A customer's filter cannot widen its scope.
		if rows, _ := s.PowerIncidents(ctx, a, models.PowerFilter{OrgID: fx.OrgB.ID}); len(rows) != 0 {
			t.Errorf("A filtering on B lists %d", len(rows))
		}
	})
}

// Ending and correcting an incident records what changed, before and
// after; a form sent unchanged changes and records nothing.
func TestUpdatePowerIncident(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		eng := models.UserActor(fx.Engineer, "10.0.0.1")
		start := clock.Now().Add(-time.Hour).Truncate(time.Minute)
		in := models.PowerInput{StartedAt: start, BothDown: true, Cause: "UPS bypass", Targets: []models.PowerTargetInput{{OrgID: fx.OrgA.ID}}}
		p, err := s.RecordPowerIncident(ctx, eng, in)
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(10 * time.Minute)
		end := clock.Now().Add(-5 * time.Minute)
		in.EndedAt = &end
		if _, err := s.UpdatePowerIncident(ctx, eng, p.ID, in); err != nil {
			t.Fatal(err)
		}
		evs := auditOf(t, s, models.AuditPowerUpdated)
		if len(evs) != 1 {
			t.Fatalf("%d update records", len(evs))
		}
		det := detailOf(t, evs[0])
		if fmt.Sprint(det["changed"]) != "[ended]" || det["before"].(map[string]any)["ended"] != nil ||
			det["after"].(map[string]any)["ended"] == nil {
			t.Fatalf("detail %v", det)
		}
		// Unchanged: nothing recorded.
		if _, err := s.UpdatePowerIncident(ctx, eng, p.ID, in); err != nil {
			t.Fatal(err)
		}
		if n := len(auditOf(t, s, models.AuditPowerUpdated)); n != 1 {
			t.Fatalf("an unchanged form made %d records", n)
		}
		// Correct it: force majeure, and B's cabinet instead of A.
		in.ForceMajeure = true
		in.Targets = []models.PowerTargetInput{{OrgID: fx.OrgB.ID, Cabinet: "B-02"}}
		got, err := s.UpdatePowerIncident(ctx, eng, p.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		if !got.ForceMajeure || got.CountsAgainstProvider() || got.EndedAt == nil || !got.EndedAt.Equal(end) {
			t.Fatalf("updated %+v", got)
		}
		det = detailOf(t, auditOf(t, s, models.AuditPowerUpdated)[0])
		if fmt.Sprint(det["changed"]) != "[force_majeure targets]" || fmt.Sprint(det["targets_added"]) != "[bravo B-02]" ||
			fmt.Sprint(det["targets_removed"]) != "[alpha]" {
			t.Fatalf("detail %v", det)
		}
		if _, err := s.PowerIncidentOf(ctx, models.OrgScope(fx.OrgA.ID), p.Ref); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("A after it was taken off: %v", err)
		}
		d, err := s.PowerIncidentOf(ctx, models.OrgScope(fx.OrgB.ID), p.Ref)
		if err != nil || len(d.Targets) != 1 || d.Targets[0].Cabinet != "B-02" {
			t.Fatalf("B's view %+v, %v", d, err)
		}
		// The same rules as recording it; nothing changes.
		early := start.Add(-time.Minute)
		in.EndedAt = &early
		_, err = s.UpdatePowerIncident(ctx, eng, p.ID, in)
		wantInvalid(t, err, "ended_at", "power.error.ended_before")
		if _, err := s.UpdatePowerIncident(ctx, eng, 999999, models.PowerInput{StartedAt: start, Cause: "x",
			Targets: []models.PowerTargetInput{{OrgID: fx.OrgA.ID}}}); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("update of nothing: %v", err)
		}
		if n := len(auditOf(t, s, models.AuditPowerUpdated)); n != 2 {
			t.Fatalf("%d update records, want 2", n)
		}
	})
}

// The form's lines name organizations by slug and cabinets as each
// organization spells them; every mistake names its line.
func TestParsePowerTargets(t *testing.T) {
	choices := []models.PowerOrgChoice{
		{ID: 1, Slug: "alpha", Name: "Alpha", Cabinets: []string{"A-07", "Shared-1"}},
		{ID: 2, Slug: "bravo", Name: "Bravo", Cabinets: []string{"B-01", "shared-1"}},
		{ID: 3, Slug: "charlie", Name: "Charlie"},
	}
	got, err := models.ParsePowerTargets("# lost at 10:02\n\nALPHA a-07\r\nbravo,B-01\n* SHARED-1\ncharlie\ncharlie\n", choices)
	if err != nil {
		t.Fatal(err)
	}
	want := []models.PowerTargetInput{{1, "A-07"}, {1, "Shared-1"}, {2, "B-01"}, {2, "shared-1"}, {3, ""}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for _, c := range []struct {
		text string
		key  string
		args string
	}{
		{"alpha\ndelta\n", "power.error.target_unknown", "[2 delta]"},
		{"alpha Z-99", "power.error.target_cabinet_unknown", "[1 alpha Z-99]"},
		{"\n\nalpha bravo charlie", "power.error.target_several", "[3]"},
		{"*", "power.error.target_star", "[1]"},
		{"* Z-99", "power.error.target_cabinet_nobody", "[1 Z-99]"},
		{"alpha " + strings.Repeat("x", 41), "power.error.target_cabinet", "[1]"},
		{"alpha A\x1b07", "power.error.target_cabinet", "[1]"},
	} {
		_, err := models.ParsePowerTargets(c.text, choices)
		v := wantInvalid(t, err, "targets", c.key)
		if fmt.Sprint(v.Args) != c.args {
			t.Errorf("%q: args %v, want %s", c.text, v.Args, c.args)
		}
	}
	// An incident's own cabinets stay good when its organization left them.
	kept := models.WithTargetCabinets(slices.Clone(choices), []models.PowerTargetView{{OrgID: 3, Cabinet: "C-01"}, {OrgID: 1, Cabinet: "a-07"}})
	if got, err := models.ParsePowerTargets("charlie c-01\nalpha A-07", kept); err != nil ||
		!slices.Equal(got, []models.PowerTargetInput{{1, "A-07"}, {3, "C-01"}}) {
		t.Fatalf("with the incident's cabinets: %+v, %v", got, err)
	}
	if got, err := models.ParsePowerTargets(" \n# nothing\n", choices); err != nil || len(got) != 0 {
		t.Fatalf("no lines: %v, %v", got, err)
	}
	if got := models.PowerTargetLines([]models.PowerTargetView{{Slug: "alpha"}, {Slug: "bravo", Cabinet: "B-01"}}); got != "alpha\nbravo B-01\n" {
		t.Fatalf("lines %q", got)
	}
}

// The form offers every organization with the cabinets of its devices and
// of its contracts.
func TestPowerChoices(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, _ *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		sys := models.SystemActor("test")
		for i, cab := range []string{"A-07", "A-07", "A-08", ""} {
			if _, err := s.CreateDevice(ctx, sys, models.DeviceInput{OrgID: fx.OrgA.ID, Name: fmt.Sprintf("web-%d", i),
				Address: "192.0.2.1", Cabinet: cab}); err != nil {
				t.Fatal(err)
			}
		}
		cs, err := s.PowerChoices(ctx, models.AllOrgs())
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 2 || cs[0].Slug != "alpha" || !slices.Equal(cs[0].Cabinets, []string{"A-07", "A-08"}) ||
			cs[1].Slug != "bravo" || len(cs[1].Cabinets) != 0 {
			t.Fatalf("choices %+v", cs)
		}
		if cs, _ := s.PowerChoices(ctx, models.OrgScope(fx.OrgB.ID)); len(cs) != 1 || cs[0].Slug != "bravo" {
			t.Fatalf("B's choices %+v", cs)
		}
	})
}
