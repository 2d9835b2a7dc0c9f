package models_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// recordComplaint has the service desk record a complaint of org received
// at received, by phone for the customer user filedBy.
func recordComplaint(t *testing.T, s *models.Store, fx *dbtest.Fixture, org *models.Organization, filedBy *models.User,
	category string, named int64, subject string, received time.Time) *models.Complaint {
	t.Helper()
	c, err := s.CreateComplaint(context.Background(), models.UserActor(fx.Service, "10.0.0.2"), org.ID, models.ComplaintInput{
		Category: category, NamedUserID: named, Subject: subject, Description: "what happened: " + subject,
		Channel: "phone", ReceivedAt: received, FiledBy: filedBy.ID})
	if err != nil {
		t.Fatalf("record %s: %v", subject, err)
	}
	return c
}

// respondRaw writes the first response of c at `at` straight into the
// tables (the thread's Store methods are another part's): the state, the
// time, and the clock stopped met or missed.
func respondRaw(t *testing.T, g *gorm.DB, c *models.Complaint, state string, at time.Time) {
	t.Helper()
	if err := g.Model(&models.Complaint{}).Where("id = ?", c.ID).
		Updates(map[string]any{"state": state, "first_response_at": at.UTC()}).Error; err != nil {
		t.Fatal(err)
	}
	outcome := models.ClockMet
	if at.After(c.ReceivedAt.Add(models.ComplaintDeadline)) {
		outcome = models.ClockMissed
	}
	if err := g.Model(&models.Clock{}).Where("kind = ? AND ref_id = ?", models.ClockComplaintResponse, c.ID).
		Updates(map[string]any{"outcome": outcome, "stopped_at": at.UTC()}).Error; err != nil {
		t.Fatal(err)
	}
}

func subjects(rows []models.ComplaintRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Subject
	}
	return out
}

func TestComplaintQueueOrdersByTimeLeftAndHidesTheNamed(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		fx := dbtest.Seed(t, s)
		g := rawDB(t, db)
		ctx := context.Background()
		now := clock.Now()
		h := time.Hour
		c1 := recordComplaint(t, s, fx, fx.OrgA, fx.CustA, models.ComplaintNetwork, 0, "four hours left", now.Add(-20*h))
		recordComplaint(t, s, fx, fx.OrgA, fx.CustA, models.ComplaintService, 0, "two hours over", now.Add(-26*h))
		recordComplaint(t, s, fx, fx.OrgA, fx.CustA, models.ComplaintNetwork, 0, "just in", now.Add(-h))
		recordComplaint(t, s, fx, fx.OrgB, fx.CustB, models.ComplaintSupport, 0, "other org six over", now.Add(-30*h))
		recordComplaint(t, s, fx, fx.OrgA, fx.CustA, models.ComplaintEmployee, fx.Engineer.ID, "about Li", now.Add(-25*h))
		c6 := recordComplaint(t, s, fx, fx.OrgA, fx.CustA, models.ComplaintService, 0, "answered", now.Add(-40*h))
		c7 := recordComplaint(t, s, fx, fx.OrgA, fx.CustA, models.ComplaintSupport, 0, "closed one", now.Add(-200*h))
		respondRaw(t, g, c6, models.ComplaintResponded, now.Add(-30*h))
		respondRaw(t, g, c7, models.ComplaintClosed, now.Add(-190*h))
		if err := g.Model(&models.Complaint{}).Where("id = ?", c1.ID).Update("assignee_id", fx.Service.ID).Error; err != nil {
			t.Fatal(err)
		}

		desk := models.Viewer{Scope: models.ScopeOf(fx.Service), UserID: fx.Service.ID}
		eng := models.Viewer{Scope: models.ScopeOf(fx.Engineer), UserID: fx.Engineer.ID}
		custA := models.Viewer{Scope: models.ScopeOf(fx.CustA), UserID: fx.CustA.ID}
		custB := models.Viewer{Scope: models.ScopeOf(fx.CustB), UserID: fx.CustB.ID}
		queue := func(v models.Viewer, f models.ComplaintFilter) []string {
			t.Helper()
			rows, err := s.ComplaintQueue(ctx, v, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				if r.Clock == nil || r.Clock.RefID != r.ID {
					t.Fatalf("%s: clock %+v", r.Subject, r.Clock)
				}
			}
			return subjects(rows)
		}
		list := func(v models.Viewer, f models.ComplaintFilter) []string {
			t.Helper()
			rows, err := s.ListComplaints(ctx, v, f)
			if err != nil {
				t.Fatal(err)
			}
			return subjects(rows)
		}
		want := func(name string, got []string, want ...string) {
			t.Helper()
			if !slices.Equal(got, want) {
				t.Errorf("%s = %q, want %q", name, got, want)
			}
		}
		// Open ones only, the longest overdue first, then by time left.
		want("desk queue", queue(desk, models.ComplaintFilter{}), "other org six over", "two hours over", "about Li", "four hours left", "just in")
		want("engineer queue", queue(eng, models.ComplaintFilter{}), "other org six over", "two hours over", "four hours left", "just in")
		want("org A", queue(desk, models.ComplaintFilter{OrgID: fx.OrgA.ID}), "two hours over", "about Li", "four hours left", "just in")
		want("network", queue(desk, models.ComplaintFilter{Category: models.ComplaintNetwork}), "four hours left", "just in")
		want("assigned", queue(desk, models.ComplaintFilter{AssigneeID: fx.Service.ID}), "four hours left")
		want("unassigned", queue(desk, models.ComplaintFilter{Unassigned: true}), "other org six over", "two hours over", "about Li", "just in")
		want("engineer, employee", queue(eng, models.ComplaintFilter{Category: models.ComplaintEmployee}))
		want("limit", queue(desk, models.ComplaintFilter{Limit: 2}), "other org six over", "two hours over")

		// Lists: the last received first; the customer sees its own
		// organization's, the named engineer never the one about him.
		want("customer A", list(custA, models.ComplaintFilter{}), "just in", "four hours left", "about Li", "two hours over", "answered", "closed one")
		want("customer B", list(custB, models.ComplaintFilter{}), "other org six over")
		want("customer B asks for A", list(custB, models.ComplaintFilter{OrgID: fx.OrgA.ID}))
		want("engineer org A", list(eng, models.ComplaintFilter{OrgID: fx.OrgA.ID}), "just in", "four hours left", "two hours over", "answered", "closed one")
		want("responded or resolved", list(desk, models.ComplaintFilter{States: []string{models.ComplaintResponded, models.ComplaintResolved}}), "answered")
		want("paged", list(custA, models.ComplaintFilter{Limit: 2, Offset: 2}), "about Li", "two hours over")

		count := func(v models.Viewer, f models.ComplaintFilter) models.ComplaintCounts {
			t.Helper()
			n, err := s.CountComplaints(ctx, v, f)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := count(desk, models.ComplaintFilter{}); n != (models.ComplaintCounts{Open: 5, Overdue: 3, Responded: 1, Closed: 1}) {
			t.Errorf("desk counts %+v", n)
		}
		if n := count(eng, models.ComplaintFilter{}); n != (models.ComplaintCounts{Open: 4, Overdue: 2, Responded: 1, Closed: 1}) {
			t.Errorf("engineer counts %+v", n)
		}
		if n := count(eng, models.ComplaintFilter{Category: models.ComplaintEmployee}); n != (models.ComplaintCounts{}) {
			t.Errorf("engineer counts of employee complaints %+v", n)
		}
		if n := count(custB, models.ComplaintFilter{}); n != (models.ComplaintCounts{Open: 1, Overdue: 1}) {
			t.Errorf("customer B counts %+v", n)
		}
		// Time passes: "four hours left" falls due (overdue once past its
		// deadline: at the deadline itself a report is still met).
		clock.Advance(4*h + time.Second)
		if n := count(desk, models.ComplaintFilter{OrgID: fx.OrgA.ID}); n.Overdue != 3 || n.Open != 4 {
			t.Errorf("org A counts four hours later %+v", n)
		}
	})
}

func TestComplaintFiguresPerOrganizationAndMonth(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		shanghai, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			t.Skip(err)
		}
		s := dbtest.Open(t, db, models.WithClock(clock.Now), models.WithZone(shanghai))
		fx := dbtest.Seed(t, s)
		g := rawDB(t, db)
		ctx := context.Background()
		h := time.Hour
		at := func(day, hour, min int) time.Time { return time.Date(2026, 10, day, hour, min, 0, 0, shanghai) }
		rec := func(org *models.Organization, cust *models.User, named int64, subject string, received time.Time, took time.Duration) *models.Complaint {
			category := models.ComplaintNetwork
			if named != 0 {
				category = models.ComplaintEmployee
			}
			c := recordComplaint(t, s, fx, org, cust, category, named, subject, received)
			if took > 0 {
				respondRaw(t, g, c, models.ComplaintResponded, received.Add(took))
			}
			return c
		}
		// Organization A in October (Beijing time): responses after 2 h,
		// 3 h and half a second (cut to 3 h), 5 h 0 min 1 s, 30 h (missed);
		// and one about the engineer after 10 h.
		rec(fx.OrgA, fx.CustA, 0, "a1", at(10, 10, 0), 2*h)
		rec(fx.OrgA, fx.CustA, 0, "a2", at(12, 9, 0), 3*h+500*time.Millisecond)
		rec(fx.OrgA, fx.CustA, 0, "a3", at(31, 23, 30), 5*h+time.Second)
		rec(fx.OrgA, fx.CustA, 0, "a4", at(20, 8, 0), 30*h)
		rec(fx.OrgA, fx.CustA, fx.Engineer.ID, "a5", at(15, 14, 0), 10*h)
		// November: received at 01:00 on the 1st in Beijing (October in
		// UTC), unanswered past its 24 hours; one just in.
		rec(fx.OrgA, fx.CustA, 0, "a6", time.Date(2026, 11, 1, 1, 0, 0, 0, shanghai), 0)
		rec(fx.OrgA, fx.CustA, 0, "a7", clock.Now().Add(-h), 0)
		rec(fx.OrgB, fx.CustB, 0, "b1", at(5, 12, 0), h)
		// Before the range.
		b0 := rec(fx.OrgB, fx.CustB, 0, "b0", at(5, 12, 0), 0)
		if err := g.Model(&models.Complaint{}).Where("id = ?", b0.ID).
			Update("received_at", time.Date(2026, 9, 30, 23, 59, 0, 0, shanghai).UTC()).Error; err != nil {
			t.Fatal(err)
		}

		oct := time.Date(2026, 10, 1, 0, 0, 0, 0, shanghai)
		nov := time.Date(2026, 11, 1, 0, 0, 0, 0, shanghai)
		dec := time.Date(2026, 12, 1, 0, 0, 0, 0, shanghai)
		figures := func(v models.Viewer) []models.ComplaintMonth {
			t.Helper()
			ms, err := s.ComplaintFigures(ctx, v, oct, dec)
			if err != nil {
				t.Fatal(err)
			}
			return ms
		}
		check := func(name string, got []models.ComplaintMonth, want []models.ComplaintMonth) {
			t.Helper()
			if len(got) != len(want) {
				t.Fatalf("%s: %+v, want %+v", name, got, want)
			}
			for i := range want {
				g, w := got[i], want[i]
				if !g.Month.Equal(w.Month) || g.OrgID != w.OrgID || g.Received != w.Received || g.Met != w.Met || g.Missed != w.Missed ||
					g.Responded != w.Responded || g.Median != w.Median {
					t.Errorf("%s line %d = %+v, want %+v", name, i, g, w)
				}
			}
		}
		desk := models.Viewer{Scope: models.ScopeOf(fx.Service), UserID: fx.Service.ID}
		// Five responses: the median is the middle one, 5 h 0 min 1 s.
		check("desk", figures(desk), []models.ComplaintMonth{
			{OrgID: fx.OrgA.ID, Month: oct, Received: 5, Met: 4, Missed: 1, Responded: 5, Median: 5*h + time.Second},
			{OrgID: fx.OrgB.ID, Month: oct, Received: 1, Met: 1, Responded: 1, Median: h},
			{OrgID: fx.OrgA.ID, Month: nov, Received: 2, Missed: 1},
		})
		// The engineer does not count the complaint about him: four
		// responses, the median (3 h + 5 h 0 min 1 s) / 2 rounded down to
		// the second, 4 h.
		eng := models.Viewer{Scope: models.ScopeOf(fx.Engineer), UserID: fx.Engineer.ID}
		check("engineer", figures(eng), []models.ComplaintMonth{
			{OrgID: fx.OrgA.ID, Month: oct, Received: 4, Met: 3, Missed: 1, Responded: 4, Median: 4 * h},
			{OrgID: fx.OrgB.ID, Month: oct, Received: 1, Met: 1, Responded: 1, Median: h},
			{OrgID: fx.OrgA.ID, Month: nov, Received: 2, Missed: 1},
		})
		custB := models.Viewer{Scope: models.ScopeOf(fx.CustB), UserID: fx.CustB.ID}
		check("customer B", figures(custB), []models.ComplaintMonth{
			{OrgID: fx.OrgB.ID, Month: oct, Received: 1, Met: 1, Responded: 1, Median: h},
		})
	})
}
