package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

func TestScopeOfAUser(t *testing.T) {
	org := int64(7)
	cases := []struct {
		name     string
		user     *models.User
		all      bool
		org      int64
		sees7    bool
		seesNone bool
	}{
		{"nobody sees nothing", nil, false, 0, false, true},
		{"a customer sees their organization", &models.User{Role: models.RoleCustomer, OrgID: &org}, false, 7, true, false},
		{"a customer without an organization sees nothing", &models.User{Role: models.RoleCustomer}, false, 0, false, true},
		{"an engineer sees every organization", &models.User{Role: models.RoleEngineer}, true, 0, true, false},
		{"reception sees every organization", &models.User{Role: models.RoleReception}, true, 0, true, false},
		{"staff tied to an organization sees nothing", &models.User{Role: models.RoleAdmin, OrgID: &org}, false, 0, false, true},
		{"an unknown role sees nothing", &models.User{Role: "auditor"}, false, 0, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sc := models.ScopeOf(c.user)
			got, ok := sc.Org()
			if sc.All() != c.all || got != c.org && ok || ok != (c.org != 0) {
				t.Fatalf("ScopeOf = all %v, org %d %v; want all %v, org %d", sc.All(), got, ok, c.all, c.org)
			}
			if sc.Allows(7) != c.sees7 || sc.Allows(8) != (c.all) {
				t.Fatalf("Allows(7) = %v, Allows(8) = %v", sc.Allows(7), sc.Allows(8))
			}
			if c.seesNone && sc != (models.Scope{}) {
				t.Fatalf("scope %+v, want the zero scope", sc)
			}
		})
	}
}

// TestScopedReadsKeepOrganizationsApart runs every Store read that takes a
// Scope for a row of organization A: A's scope and the staff's find it;
// B's scope and the zero scope get ErrNotFound, as if it did not exist.
func TestScopedReadsKeepOrganizationsApart(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		f := newOpFixture(t, s)
		o := failOutage(t, s, f.fx.OrgA.ID, f.chk, clock.Now())
		// An authorization starts the request's first-feedback clock.
		if _, err := s.RecordPhoneAuthorization(ctx, f.eng, f.fx.OrgA.ID, f.req.ID, models.PhoneInput{ContactID: f.signer.ID,
			Passphrase: "blue harbour 42"}); err != nil {
			t.Fatal(err)
		}
		// The outage's notices become deliveries, sent as calls.
		evs, err := s.ClaimEvents(ctx, "me", time.Minute, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if _, err := s.ExpandEvent(ctx, ev, "me", func(models.Channel) string { return models.TransportCall }); err != nil {
				t.Fatal(err)
			}
		}
		calls, err := s.CallTasks(ctx, models.AllOrgs())
		if err != nil || len(calls) == 0 {
			t.Fatalf("call tasks = %v, %v", calls, err)
		}
		delivery := calls[0].Delivery.ID

		// read returns the ID of what it found.
		reads := []struct {
			name string
			read func(models.Scope) (int64, error)
		}{
			{"GetOrg", func(sc models.Scope) (int64, error) {
				o, err := s.GetOrg(ctx, sc, f.fx.OrgA.ID)
				return idOf(o, err, func() int64 { return o.ID })
			}},
			{"ListOrgs", func(sc models.Scope) (int64, error) {
				os, err := s.ListOrgs(ctx, sc)
				for _, o := range os {
					if o.ID == f.fx.OrgA.ID {
						return o.ID, err
					}
				}
				return 0, errors.Join(err, models.ErrNotFound)
			}},
			{"GetDevice", func(sc models.Scope) (int64, error) {
				d, err := s.GetDevice(ctx, sc, f.dev.ID)
				return idOf(d, err, func() int64 { return d.ID })
			}},
			{"GetCheck", func(sc models.Scope) (int64, error) {
				c, err := s.GetCheck(ctx, sc, f.chk.ID)
				return idOf(c, err, func() int64 { return c.ID })
			}},
			{"GetRequest", func(sc models.Scope) (int64, error) {
				r, err := s.GetRequest(ctx, sc, f.req.ID)
				return idOf(r, err, func() int64 { return r.ID })
			}},
			{"GetOutage", func(sc models.Scope) (int64, error) {
				got, err := s.GetOutage(ctx, sc, o.ID)
				return idOf(got, err, func() int64 { return got.ID })
			}},
			{"GetContact", func(sc models.Scope) (int64, error) {
				c, err := s.GetContact(ctx, sc, f.signer.ID)
				return idOf(c, err, func() int64 { return c.ID })
			}},
			{"GetOrgUser", func(sc models.Scope) (int64, error) {
				u, err := s.GetOrgUser(ctx, sc, f.fx.CustA.ID)
				return idOf(u, err, func() int64 { return u.ID })
			}},
			{"ListRequests", func(sc models.Scope) (int64, error) {
				rs, err := s.ListRequests(ctx, sc, models.RequestFilter{})
				if err != nil || len(rs) == 0 {
					return 0, errors.Join(err, models.ErrNotFound)
				}
				return rs[0].ID, nil
			}},
			{"RequestListClocks", func(sc models.Scope) (int64, error) {
				fb, _, err := s.RequestListClocks(ctx, sc, []int64{f.req.ID})
				if err != nil || fb[f.req.ID] == nil {
					return 0, errors.Join(err, models.ErrNotFound)
				}
				return fb[f.req.ID].RefID, nil
			}},
			{"GetDelivery", func(sc models.Scope) (int64, error) {
				d, err := s.GetDelivery(ctx, sc, delivery)
				return idOf(d, err, func() int64 { return d.ID })
			}},
			{"CallTasks", func(sc models.Scope) (int64, error) {
				cs, err := s.CallTasks(ctx, sc)
				return first(err, len(cs), func() int64 { return cs[0].Delivery.ID })
			}},
			{"OnCallOutages", func(sc models.Scope) (int64, error) {
				os, _, err := s.OnCallOutages(ctx, sc, 500)
				return first(err, len(os), func() int64 { return os[0].Outage.ID })
			}},
			{"CallGroups", func(sc models.Scope) (int64, error) {
				gs, err := s.CallGroups(ctx, sc, 10)
				return first(err, len(gs), func() int64 { return gs[0].FirstID })
			}},
			{"OnCallOutageGroups", func(sc models.Scope) (int64, error) {
				gs, err := s.OnCallOutageGroups(ctx, sc, 10)
				return first(err, len(gs), func() int64 { return gs[0].First[0].Outage.ID })
			}},
			{"OnCallOperations", func(sc models.Scope) (int64, error) {
				ops, err := s.OnCallOperations(ctx, sc)
				return first(err, len(ops), func() int64 { return ops[0].Request.ID })
			}},
			{"ListFleet", func(sc models.Scope) (int64, error) {
				f, err := s.ListFleet(ctx, sc, models.FleetQuery{})
				if err != nil {
					return 0, err
				}
				return first(err, len(f.Devices), func() int64 { return f.Devices[0].ID })
			}},
		}
		// Reads keyed by organization A's ID: A's scope and the staff's
		// read A's rows (rows says the fixture has some); B's scope and the
		// zero scope get ErrNotFound, whatever ID they pass.
		orgA := f.fx.OrgA.ID
		// A span of the request lies inside its work: the work starts.
		if err := s.SetOperationState(ctx, f.eng, orgA, f.req.ID, models.StateInput{State: models.OpInProgress}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(10 * time.Minute)
		spanStart, spanEnd := o.StartedAt, o.StartedAt.Add(5*time.Minute)
		if _, err := s.ChangeOutageCause(ctx, f.eng, models.CauseChange{OutageID: o.ID, Cause: models.CauseCustomerOperation,
			Start: &spanStart, End: &spanEnd, RequestID: &f.req.ID}); err != nil {
			t.Fatal(err)
		}
		msg, err := s.PostMessage(ctx, f.eng, orgA, f.req.ID, true, "on our way")
		if err != nil {
			t.Fatal(err)
		}
		auth, err := f.upload(t, s, f.signer.ID)
		if err != nil {
			t.Fatal(err)
		}
		docRef := documentRef(t, s, orgA, f.req.ID, *auth.DocumentID)
		if err := s.ConfirmContacts(ctx, f.customer, orgA, f.fx.CustA.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkContactDetailWrong(ctx, f.eng, f.other.ID, models.ChannelEmail, "bounces"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetNotifyOptOuts(ctx, f.customer, orgA, []models.NotifyOptOut{{OrgID: orgA, ContactID: f.other.ID,
			Event: models.NotifyEvents[0]}}); err != nil {
			t.Fatal(err)
		}
		if err := s.CloseMonth(ctx, f.eng, orgA, "2026-10"); err != nil {
			t.Fatal(err)
		}
		evs, err = s.ClaimEvents(ctx, "me", time.Minute, 10)
		if err != nil {
			t.Fatal(err)
		}
		var spanEvent int64
		for _, ev := range evs {
			if ev.Kind == models.EventOutageCauseSpan {
				spanEvent = ev.ID
			}
		}
		clocks, err := s.RequestClocks(ctx, models.AllOrgs(), orgA, f.req.ID)
		if err != nil || len(clocks) == 0 {
			t.Fatalf("request clocks = %v, %v", clocks, err)
		}
		day := clock.Now().Format(time.DateOnly)
		from, to := o.StartedAt.Add(-time.Hour), clock.Now().Add(time.Hour)
		n := func(k int, err error) (int, error) { return k, err }
		one := func(ok bool, err error) (int, error) {
			if ok {
				return 1, err
			}
			return 0, err
		}
		orgReads := []struct {
			name string
			rows bool
			read func(models.Scope) (int, error)
		}{
			{"ListDevices", true, func(sc models.Scope) (int, error) { ds, err := s.ListDevices(ctx, sc, orgA); return n(len(ds), err) }},
			{"ListChecks", true, func(sc models.Scope) (int, error) {
				cs, err := s.ListChecks(ctx, sc, orgA, f.dev.ID)
				return n(len(cs), err)
			}},
			{"ListOrgChecks", true, func(sc models.Scope) (int, error) { cs, err := s.ListOrgChecks(ctx, sc, orgA); return n(len(cs), err) }},
			{"ListContacts", true, func(sc models.Scope) (int, error) { cs, err := s.ListContacts(ctx, sc, orgA); return n(len(cs), err) }},
			{"OrgSetUp", true, func(sc models.Scope) (int, error) { ok, err := s.OrgSetUp(ctx, sc, orgA); return one(ok, err) }},
			{"WrongChannels", true, func(sc models.Scope) (int, error) { w, err := s.WrongChannels(ctx, sc, orgA); return n(len(w), err) }},
			{"LastConfirmation", true, func(sc models.Scope) (int, error) {
				c, err := s.LastConfirmation(ctx, sc, orgA)
				return one(c != nil, err)
			}},
			{"ListNotifyOptOuts", true, func(sc models.Scope) (int, error) {
				os, err := s.ListNotifyOptOuts(ctx, sc, orgA)
				return n(len(os), err)
			}},
			{"OpenContactFlags", true, func(sc models.Scope) (int, error) {
				fs, err := s.OpenContactFlags(ctx, sc, orgA)
				return n(len(fs), err)
			}},
			{"ContactChangeLog", true, func(sc models.Scope) (int, error) {
				es, err := s.ContactChangeLog(ctx, sc, orgA, 10)
				return n(len(es), err)
			}},
			{"ListOrgUsers", true, func(sc models.Scope) (int, error) { us, err := s.ListOrgUsers(ctx, sc, orgA); return n(len(us), err) }},
			{"ListUsers", true, func(sc models.Scope) (int, error) {
				us, err := s.ListUsers(ctx, sc, models.UserFilter{OrgID: orgA})
				return first0(len(us), err)
			}},
			{"ListAudit", true, func(sc models.Scope) (int, error) {
				es, err := s.ListAudit(ctx, sc, models.AuditFilter{OrgID: orgA})
				return first0(len(es), err)
			}},
			{"GetOrgHome", true, func(sc models.Scope) (int, error) { h, err := s.GetOrgHome(ctx, sc, orgA); return one(h != nil, err) }},
			{"OrgUptime", true, func(sc models.Scope) (int, error) {
				us, err := s.OrgUptime(ctx, sc, orgA, time.UTC)
				return n(len(us), err)
			}},
			{"GetDeviceUptime", true, func(sc models.Scope) (int, error) {
				u, err := s.GetDeviceUptime(ctx, sc, orgA, f.dev.ID, time.UTC)
				return one(u != nil, err)
			}},
			{"OutageSpans", true, func(sc models.Scope) (int, error) {
				m, err := s.OutageSpans(ctx, sc, orgA, nil, from, to)
				return n(len(m), err)
			}},
			{"DeviceAvailability", true, func(sc models.Scope) (int, error) {
				a, err := s.DeviceAvailability(ctx, sc, orgA, f.dev.ID, from, to)
				return one(a.Down > 0, err)
			}},
			{"ListOutages", true, func(sc models.Scope) (int, error) {
				os, err := s.ListOutages(ctx, sc, orgA, f.dev.ID, 10)
				return n(len(os), err)
			}},
			{"OutageEvidence", true, func(sc models.Scope) (int, error) {
				ev, err := s.OutageEvidence(ctx, sc, orgA, o.ID)
				return n(len(ev), err)
			}},
			{"EvidenceForOutages", true, func(sc models.Scope) (int, error) {
				ev, err := s.EvidenceForOutages(ctx, sc, orgA, []int64{o.ID}, 3)
				return n(len(ev), err)
			}},
			{"Results", true, func(sc models.Scope) (int, error) {
				rs, err := s.Results(ctx, sc, orgA, f.chk.ID, from, to)
				return n(len(rs), err)
			}},
			{"Rollups", true, func(sc models.Scope) (int, error) {
				rs, err := s.Rollups(ctx, sc, orgA, f.chk.ID, "h", from.Truncate(time.Hour), to)
				return n(len(rs), err)
			}},
			{"EachDeviceResult", true, func(sc models.Scope) (int, error) {
				k := 0
				err := s.EachDeviceResult(ctx, sc, orgA, f.dev.ID, from, to, func(models.ResultRow) error { k++; return nil })
				return n(k, err)
			}},
			{"OutageCauseSpans", true, func(sc models.Scope) (int, error) {
				ps, err := s.OutageCauseSpans(ctx, sc, orgA, o.ID)
				return n(len(ps), err)
			}},
			{"CauseSpansOf", true, func(sc models.Scope) (int, error) {
				m, err := s.CauseSpansOf(ctx, sc, orgA, []int64{o.ID})
				return n(len(m), err)
			}},
			{"RequestOutages", true, func(sc models.Scope) (int, error) {
				ros, err := s.RequestOutages(ctx, sc, orgA, f.req.ID)
				return n(len(ros), err)
			}},
			{"OutageClock", true, func(sc models.Scope) (int, error) {
				c, err := s.OutageClock(ctx, sc, orgA, o.ID)
				return one(c != nil, err)
			}},
			{"OutageDeliveries", true, func(sc models.Scope) (int, error) {
				ds, _, err := s.OutageDeliveries(ctx, sc, orgA, o.ID)
				return n(len(ds), err)
			}},
			{"ClockDeduction", false, func(sc models.Scope) (int, error) {
				d, err := s.ClockDeduction(ctx, sc, orgA, clocks[0].ID)
				return one(d != nil, err)
			}},
			{"ListDeductions", false, func(sc models.Scope) (int, error) {
				ds, err := s.ListDeductions(ctx, sc, orgA, "2026-01-01", day)
				return n(len(ds), err)
			}},
			{"NoticeOutcomes", false, func(sc models.Scope) (int, error) {
				os, err := s.NoticeOutcomes(ctx, sc, orgA, "2026-01-01", day)
				return n(len(os), err)
			}},
			{"RecentNoticeOutcomes", false, func(sc models.Scope) (int, error) {
				os, err := s.RecentNoticeOutcomes(ctx, sc, orgA)
				return n(len(os), err)
			}},
			{"MonthClosed", true, func(sc models.Scope) (int, error) {
				m, err := s.MonthClosed(ctx, sc, orgA, "2026-10")
				return one(m != nil, err)
			}},
			{"ClosedMonths", true, func(sc models.Scope) (int, error) { ms, err := s.ClosedMonths(ctx, sc, orgA); return n(len(ms), err) }},
			{"RequestClocks", true, func(sc models.Scope) (int, error) {
				cs, err := s.RequestClocks(ctx, sc, orgA, f.req.ID)
				return n(len(cs), err)
			}},
			{"GetRequestDetail", true, func(sc models.Scope) (int, error) {
				d, err := s.GetRequestDetail(ctx, sc, orgA, f.req.ID)
				return one(d != nil, err)
			}},
			{"RequestDetailOf", true, func(sc models.Scope) (int, error) {
				d, err := s.RequestDetailOf(ctx, sc, f.req)
				return one(d != nil, err)
			}},
			{"GetDocumentByRef", true, func(sc models.Scope) (int, error) {
				d, err := s.GetDocumentByRef(ctx, sc, orgA, f.req.ID, docRef)
				return one(d != nil, err)
			}},
			{"OverdueFollowUps", false, func(sc models.Scope) (int, error) {
				cs, err := s.OverdueFollowUps(ctx, sc, orgA)
				return n(len(cs), err)
			}},
			{"OutboxKinds", true, func(sc models.Scope) (int, error) { ks, err := s.OutboxKinds(ctx, sc, orgA); return n(len(ks), err) }},
			{"NoticeFacts", true, func(sc models.Scope) (int, error) {
				nf, err := s.NoticeFacts(ctx, sc, orgA, o.ID, f.signer.ID, 3)
				return one(nf != nil, err)
			}},
			{"CauseSpanFacts", true, func(sc models.Scope) (int, error) {
				cf, err := s.CauseSpanFacts(ctx, sc, orgA, spanEvent)
				return one(cf != nil, err)
			}},
			{"EventRef", true, func(sc models.Scope) (int, error) {
				ref, err := s.EventRef(ctx, sc, orgA, spanEvent)
				return one(ref == o.ID, err)
			}},
			{"OperationNoticeFacts", true, func(sc models.Scope) (int, error) {
				of, err := s.OperationNoticeFacts(ctx, sc, orgA, msg.ID)
				return one(of != nil, err)
			}},
			{"PhoneLockFacts", true, func(sc models.Scope) (int, error) {
				pf, err := s.PhoneLockFacts(ctx, sc, orgA, f.signer.ID)
				return one(pf != nil, err)
			}},
			{"RecipientName", true, func(sc models.Scope) (int, error) {
				name, err := s.RecipientName(ctx, sc, orgA, f.signer.ID, f.signer.Email)
				return one(name == f.signer.Name, err)
			}},
		}
		scopes := []struct {
			name  string
			sc    models.Scope
			found bool
		}{
			{"organization A's scope finds it", models.OrgScope(f.fx.OrgA.ID), true},
			{"the staff's scope finds it", models.ScopeOf(f.fx.Engineer), true},
			{"organization B's scope does not", models.ScopeOf(f.fx.CustB), false},
			{"the zero scope does not", models.Scope{}, false},
			{"the scope of organization 0 does not", models.OrgScope(0), false},
		}
		for _, r := range reads {
			for _, sc := range scopes {
				t.Run(r.name+": "+sc.name, func(t *testing.T) {
					id, err := r.read(sc.sc)
					if sc.found {
						if err != nil || id == 0 {
							t.Fatalf("got %d, %v; want the row", id, err)
						}
						return
					}
					if !errors.Is(err, models.ErrNotFound) {
						t.Fatalf("got %d, %v; want ErrNotFound", id, err)
					}
				})
			}
		}
		for _, r := range orgReads {
			for _, sc := range scopes {
				t.Run(r.name+": "+sc.name, func(t *testing.T) {
					k, err := r.read(sc.sc)
					if sc.found {
						if err != nil || r.rows && k == 0 {
							t.Fatalf("got %d rows, %v; want organization A's", k, err)
						}
						return
					}
					if !errors.Is(err, models.ErrNotFound) {
						t.Fatalf("got %d rows, %v; want ErrNotFound", k, err)
					}
				})
			}
		}
	})
}

// first is the ID of a list's first row, or ErrNotFound for an empty list.
func first(err error, n int, id func() int64) (int64, error) {
	if err != nil || n == 0 {
		return 0, errors.Join(err, models.ErrNotFound)
	}
	return id(), nil
}

func idOf[T any](p *T, err error, id func() int64) (int64, error) {
	if err != nil || p == nil {
		return 0, err
	}
	return id(), nil
}

// first0 is a list read's length, or ErrNotFound for an empty list: for
// reads that filter by the scope instead of refusing it.
func first0(n int, err error) (int, error) {
	if err != nil || n == 0 {
		return 0, errors.Join(err, models.ErrNotFound)
	}
	return n, nil
}
