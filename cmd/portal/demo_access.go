package main

import (
	"context"
	"fmt"
	"time"

	"github.com/colo-portal/portal/models"
)

// loadDemoStanding gives the standing access pages something to show,
// unless Aurora has a list already: for Aurora a contractor who came
// yesterday and is inside now, a person who needs an escort and came
// three days ago with one, and an entry that ended last week; for Bravo
// one current entry. Entries begun in the past and the entries and exits
// are written through a store whose clock reads the time each step
// happened (Store.Clocked), as the demo's visits are.
func loadDemoStanding(ctx context.Context, store *models.Store, orgIDs map[string]int64) error {
	aurora, bravo := orgIDs["aurora"], orgIDs["bravo"]
	if rows, err := store.ListStanding(ctx, models.AllOrgs(), aurora, ""); err != nil || len(rows) > 0 {
		return err
	}
	actors := map[string]models.Actor{}
	for _, email := range []string{"ops@aurora.example", "it@bravo.example", "reception@idc.example", "engineer@idc.example"} {
		u, err := store.GetUserByEmail(ctx, email)
		if err != nil {
			return fmt.Errorf("demo standing access: %s: %w", email, err)
		}
		actors[email] = models.UserActor(u, "127.0.0.1")
	}
	cust, desk, escort := actors["ops@aurora.example"], actors["reception@idc.example"], *actors["engineer@idc.example"].UserID
	loc := store.Zone()
	now := store.Now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	day := func(d int) string { return today.AddDate(0, 0, d).Format("2006-01-02") }
	var cur time.Time
	past := store.Clocked(func() time.Time { return cur })
	at := func(d int, hour, minute int) time.Time {
		t := today.AddDate(0, 0, d).Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute)
		if t.After(now) {
			t = now.Add(-time.Minute)
		}
		return t
	}
	add := func(when time.Time, a models.Actor, org int64, in models.StandingInput) (string, error) {
		cur = when
		e, err := past.CreateStanding(ctx, a, models.AllOrgs(), org, in)
		if err != nil {
			return "", fmt.Errorf("demo standing access %s: %w", in.Name, err)
		}
		return e.Ref, nil
	}
	visit := func(ref string, in, out time.Time, badge string, escort int64) error {
		cur = in
		if _, err := past.StandingCheckIn(ctx, desk, models.AllOrgs(), ref, badge, escort); err != nil {
			return fmt.Errorf("demo standing check-in: %w", err)
		}
		if out.IsZero() {
			return nil
		}
		cur = out
		_, err := past.StandingCheckOut(ctx, desk, models.AllOrgs(), ref, true)
		return err
	}
	liu, err := add(at(-30, 9, 0), cust, aurora, models.StandingInput{Name: "刘洋 Liu Yang", Company: "极光云计算 Aurora Cloud",
		IDType: models.IDResident, IDNumber: "110101198807153117", Phone: "138 1000 3000", Cabinets: []string{"A03"},
		ValidFrom: day(-30), ValidTo: day(150), Note: "驻场运维 On-site operations", Locale: "zh-CN"})
	if err != nil {
		return err
	}
	zhou, err := add(at(-20, 10, 0), cust, aurora, models.StandingInput{Name: "Mark Evans", Company: "Northwind Storage Services",
		IDType: "passport", IDNumber: "K1234567", Cabinets: []string{"A03"}, ValidFrom: day(-20), ValidTo: day(70),
		EscortRequired: true, Note: "Storage vendor engineer, quarterly maintenance", Locale: "en"})
	if err != nil {
		return err
	}
	if _, err := add(at(-60, 9, 30), cust, aurora, models.StandingInput{Name: "赵磊 Zhao Lei", Company: "极光云计算 Aurora Cloud",
		IDType: models.IDResident, IDNumber: "110101199003071233", Cabinets: []string{"A03"}, ValidFrom: day(-60), ValidTo: day(-7),
		Note: "已离职 Left the company", Locale: "zh-CN"}); err != nil {
		return err
	}
	if _, err := add(at(-10, 11, 0), actors["it@bravo.example"], bravo, models.StandingInput{Name: "马骏 Ma Jun", Company: "博锐游戏 Bravo Games",
		IDType: models.IDResident, IDNumber: "440305198807301610", Phone: "137 2000 3000", Cabinets: []string{"B07"},
		ValidFrom: day(-10), ValidTo: day(80), Locale: "zh-CN"}); err != nil {
		return err
	}
	if err := visit(liu, at(-1, 9, 10), at(-1, 11, 40), "S-03", 0); err != nil {
		return err
	}
	if err := visit(zhou, at(-3, 14, 0), at(-3, 16, 30), "S-07", escort); err != nil {
		return err
	}
	// Liu Yang is inside now: in an hour ago (or at midnight, early on).
	in := now.Add(-time.Hour)
	if in.Before(today) {
		in = today
	}
	return visit(liu, in, time.Time{}, "S-03", 0)
}
