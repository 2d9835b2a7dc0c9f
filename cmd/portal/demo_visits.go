package main

import (
	"context"
	"fmt"
	"time"

	"github.com/colo-portal/portal/models"
)

// loadDemoVisits gives every role's visit pages something to show, unless
// the organization has visits already: for Aurora a visit that is over
// (checked in and out, badge returned), one today with a visitor inside
// holding a badge and another still expected, one next week for its open
// operation request, and an emergency request waiting in reception's
// queue; for Bravo a tour waiting for a decision.
//
// Every visit keeps to the site's visiting hours, whatever the hour the
// demo runs at. Visits are asked for ahead of their entry, so those
// already begun or over are written through a store whose clock reads the time each step
// happened (Store.Clocked), as the demo's outages are.
func loadDemoVisits(ctx context.Context, store *models.Store, orgIDs map[string]int64) error {
	sites, err := store.ListSites(ctx)
	if err != nil || len(sites) == 0 {
		return err
	}
	site := sites[0].ID
	users := map[string]models.Actor{}
	for _, email := range []string{"ops@aurora.example", "it@bravo.example", "reception@idc.example", "engineer@idc.example"} {
		u, err := store.GetUserByEmail(ctx, email)
		if err != nil {
			return fmt.Errorf("demo visits: %s: %w", email, err)
		}
		users[email] = models.UserActor(u, "127.0.0.1")
	}
	loc := store.Zone()
	now := store.Now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	at := func(day, hour, minute int) time.Time {
		return today.AddDate(0, 0, day).Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute)
	}
	if has, err := demoHasVisits(ctx, store, orgIDs["aurora"]); err != nil {
		return err
	} else if !has {
		if err := demoAuroraVisits(ctx, store, site, orgIDs["aurora"], users, now, at); err != nil {
			return fmt.Errorf("demo visits: %w", err)
		}
	}
	// Bravo: a tour in three days, waiting for a decision.
	if has, err := demoHasVisits(ctx, store, orgIDs["bravo"]); err != nil || has {
		return err
	}
	_, err = store.CreateVisit(ctx, users["it@bravo.example"], orgIDs["bravo"], models.VisitInput{SiteID: site, Activity: "tour",
		Reason:      "两位新同事参观机房，了解上架与进出流程。Two new colleagues tour the data center to learn racking and the entry procedure.",
		PlannedFrom: at(3, 14, 0), PlannedTo: at(3, 16, 0), Cabinets: []string{"B07"}, Locale: "zh-CN",
		Needs: map[string]string{"parking": ""},
		Visitors: []models.VisitorInput{
			{Name: "马骏 Ma Jun", Company: "博锐游戏 Bravo Games", IDType: models.IDResident, IDNumber: "440305198807301610", Phone: "137 2000 3000"},
			{Name: "Emily Chen", Company: "Bravo Games", IDType: "hk_macao_permit", IDNumber: "H60123457", Phone: "+852 5123 4567", Locale: "en"},
		}})
	if err != nil {
		return fmt.Errorf("demo visits: %w", err)
	}
	return nil
}

// demoAuroraVisits writes Aurora's four visits; now is the store's time in
// the portal's zone, at(day, hour, minute) a local time day days from
// today.
func demoAuroraVisits(ctx context.Context, store *models.Store, site, aurora int64, users map[string]models.Actor, now time.Time,
	at func(day, hour, minute int) time.Time) error {
	cust, desk, escort := users["ops@aurora.example"], users["reception@idc.example"], *users["engineer@idc.example"].UserID
	var cur time.Time
	past := store.Clocked(func() time.Time { return cur })
	devices, err := store.ListDevices(ctx, models.AllOrgs(), aurora)
	if err != nil {
		return err
	}
	web, db := demoDeviceNamed(devices, "web-01"), demoDeviceNamed(devices, "db-01")
	if web == 0 || db == 0 {
		return nil
	}
	sunLi := models.VisitorInput{Name: "孙丽 Sun Li", Company: "极光云计算 Aurora Cloud", IDType: models.IDResident,
		IDNumber: "110101199003071233", Phone: "139 1000 2000", Locale: "zh-CN"}
	wangLei := models.VisitorInput{Name: "王磊 Wang Lei", Company: "极光云计算 Aurora Cloud", IDType: models.IDResident,
		IDNumber: "310115199204150021", Phone: "139 1000 2002", Locale: "zh-CN"}
	lukas := models.VisitorInput{Name: "Lukas Meyer", Company: "Meyer Server Service GmbH", IDType: "passport",
		IDNumber: "C4RJ9XK21", Phone: "+49 89 1234 5678", Locale: "en"}
	approve := func(s *models.Store, v *models.Visit) error {
		_, err := s.ApproveVisit(ctx, desk, aurora, v.ID, models.ApproveInput{EscortID: escort, Confirmed: true})
		return err
	}

	// 1. Eight days ago: spare disks delivered, the visitor in and out, the
	// badge back.
	from := at(-8, 10, 0)
	cur = at(-10, 9, 15)
	v, err := past.CreateVisit(ctx, cust, aurora, models.VisitInput{SiteID: site, Activity: "delivery",
		Reason:      "送入两块备用硬盘，存放在我方 A03 机柜的备件柜。Deliver two spare disks to our locker at cabinet A03.",
		PlannedFrom: from, PlannedTo: from.Add(90 * time.Minute), Cabinets: []string{"A03"}, Locale: "zh-CN",
		Needs: map[string]string{"parking": "京 N·D2026，送货面包车 a delivery van"},
		Visitors: []models.VisitorInput{{Name: "周涛 Zhou Tao", Company: "极光云计算 Aurora Cloud", IDType: models.IDResident,
			IDNumber: "110108198511230042", Phone: "139 1000 2001", Locale: "zh-CN"}}})
	if err != nil {
		return err
	}
	cur = cur.Add(2 * time.Hour)
	if err := approve(past, v); err != nil {
		return err
	}
	ids, err := demoVisitorIDs(ctx, store, v)
	if err != nil {
		return err
	}
	cur = from.Add(5 * time.Minute)
	if _, err := past.CheckIn(ctx, desk, aurora, ids[0], "V-03", 0); err != nil {
		return err
	}
	cur = from.Add(70 * time.Minute)
	if err := past.CheckOut(ctx, desk, aurora, ids[0], true); err != nil {
		return err
	}

	// 2. Today: an inspection from an hour ago, within the site's hours
	// (from 08:00 at night, until 22:00 late in the evening); Sun Li is in
	// with badge V-12, Lukas Meyer is still expected. A pass is good from
	// the entry day's first minute, so at night Sun Li came in early.
	from = at(0, min(max(now.Hour()-1, 8), 17), 0)
	to := from.Add(5 * time.Hour)
	cur = from.Add(-26 * time.Hour)
	v, err = past.CreateVisit(ctx, cust, aurora, models.VisitInput{SiteID: site, Activity: "operation",
		Reason:      "检查 web-01 和 db-01 的电源与风扇，Lukas Meyer 随后到场更换风扇。Inspect the power supplies and fans of web-01 and db-01; Lukas Meyer joins later to swap a fan.",
		PlannedFrom: from, PlannedTo: to, DeviceIDs: []int64{web, db}, Locale: "zh-CN",
		Needs:    map[string]string{"tools": "万用表 a multimeter", "meals": "一份午餐 one lunch"},
		Visitors: []models.VisitorInput{sunLi, lukas}})
	if err != nil {
		return err
	}
	cur = cur.Add(time.Hour)
	if err := approve(past, v); err != nil {
		return err
	}
	if ids, err = demoVisitorIDs(ctx, store, v); err != nil {
		return err
	}
	if cur = from.Add(10 * time.Minute); cur.After(now) {
		cur = now
	}
	if _, err := past.CheckIn(ctx, desk, aurora, ids[0], "V-12", 0); err != nil {
		return err
	}

	// 3. Next week: the memory of the open operation request installed on
	// site, approved.
	ops, err := store.ListRequests(ctx, models.OrgScope(aurora), models.RequestFilter{Open: true, Limit: 1})
	if err != nil {
		return err
	}
	in := models.VisitInput{SiteID: site, Activity: "operation",
		Reason:      "现场加装 db-01 内存，配合工程师停机 20 分钟。Install the memory of db-01 on site with the engineer; 20 minutes of downtime.",
		PlannedFrom: at(7, 10, 0), PlannedTo: at(7, 12, 0), DeviceIDs: []int64{db}, Locale: "zh-CN",
		Needs: map[string]string{"tools": "防静电手环 an ESD wrist strap"}, Visitors: []models.VisitorInput{sunLi, wangLei}}
	if len(ops) > 0 {
		in.OperationRef = ops[0].Ref
	}
	if v, err = store.CreateVisit(ctx, cust, aurora, in); err != nil {
		return err
	}
	if err := approve(store, v); err != nil {
		return err
	}

	// 4. Now: db-01 is down (the demo's live outage), an emergency visit
	// (no minimum notice) waits for reception: in an hour, or when the
	// site opens.
	from = now.Truncate(time.Minute).Add(time.Hour)
	switch {
	case from.Before(at(0, 8, 0)):
		from = at(0, 8, 0)
	case from.After(at(0, 19, 0)):
		from = at(1, 8, 0)
	}
	if _, err := store.CreateVisit(ctx, cust, aurora, models.VisitInput{SiteID: site, Activity: "operation", Emergency: true,
		Reason:      "db-01 无法访问，远程无法恢复，需要现场排查。db-01 is unreachable and cannot be recovered remotely: on-site diagnosis.",
		PlannedFrom: from, PlannedTo: from.Add(3 * time.Hour), DeviceIDs: []int64{db}, Locale: "zh-CN",
		Needs: map[string]string{"tools": "显示器和键盘 a monitor and keyboard"}, Visitors: []models.VisitorInput{wangLei}}); err != nil {
		return err
	}
	return nil
}

// demoHasVisits reports whether organization orgID has any visit.
func demoHasVisits(ctx context.Context, store *models.Store, orgID int64) (bool, error) {
	vs, err := store.ListVisits(ctx, models.OrgScope(orgID), models.VisitFilter{Limit: 1})
	return len(vs) > 0, err
}

// demoVisitorIDs are the IDs of visit v's visitors, in their order.
func demoVisitorIDs(ctx context.Context, store *models.Store, v *models.Visit) ([]int64, error) {
	d, err := store.VisitDetailOf(ctx, models.OrgScope(v.OrgID), v, false)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(d.Visitors))
	for i, x := range d.Visitors {
		ids[i] = x.Visitor.ID
	}
	return ids, nil
}
