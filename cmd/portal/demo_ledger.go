package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/colo-portal/portal/models"
)

// The demo's ledger (issue 16): contracts of the three services, their
// installations, power incidents, maintenance windows with the customers'
// answers, the expiry reminder and a closed month, written through the
// ordinary Store methods on the history's clock (demoPast, played by
// seedDemoHistory among the devices' incidents), so that every figure on
// a statement comes from records dated as they happened. Times are local
// (the portal's zone) and placed by the calendar month, so that last
// month and this one show the same story whatever the day the demo starts:
//
//   - Aurora: colocation of cabinet A03, ¥25,000.00 a month, signed a year
//     ago and installed the next day; it ends at the end of the month 30
//     days from now (30 to 60 days left: the expiry badge, and the
//     60-day reminder emailed to the service representative), its renewal
//     under discussion. Last month the engineers rewired A03's power in a
//     window Aurora agreed to; db-01 restarted inside it (agreed
//     maintenance on the statement). The PDU trip of 17 days ago (the
//     history's) is a power incident with feed A holding.
//   - Bravo: moved in last month: full-cabinet rental of B07 (¥68,000.00)
//     and whole-server rental of game-02 (¥8,800.00), signed on the 9th,
//     running from the 16th (15 or 16 days of the month); B07's
//     installation was done the morning after its due date (its fee
//     refunded).
//     Both of B07's feeds failed for 14 minutes on the 19th (counted, within
//     the prorated allowance), and a public power cut took B07 down on the
//     24th (force majeure). Bravo has no contact, so the missed notices are
//     waived. The service desk closed Bravo's last month on the 2nd.
//   - Both: the core switches' firmware upgrade in three days, which Aurora
//     agreed to yesterday and Bravo has not answered (its home asks).
func demoLedgerPast(ctx context.Context, store *models.Store, orgIDs map[string]int64) (demoPast, error) {
	users := map[string]*models.User{}
	for _, email := range []string{"service@idc.example", "engineer@idc.example", "ops@aurora.example"} {
		u, err := store.GetUserByEmail(ctx, email)
		if err != nil {
			return demoPast{}, fmt.Errorf("demo ledger: %s: %w", email, err)
		}
		users[email] = u
	}
	desk, eng := models.UserActor(users["service@idc.example"], "127.0.0.1"), models.UserActor(users["engineer@idc.example"], "127.0.0.1")
	auroraOps := users["ops@aurora.example"]
	aurora, bravo := orgIDs["aurora"], orgIDs["bravo"]
	loc := store.Zone()
	nowUTC := store.Now()
	now := nowUTC.In(loc)
	at := func(day time.Time, hour, minute int) time.Time {
		return time.Date(day.Year(), day.Month(), day.Day(), hour, minute, 0, 0, loc)
	}
	date := func(t time.Time) string { return t.Format(time.DateOnly) }
	thisMonth := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc)
	lastMonth := thisMonth.AddDate(0, -1, 0)
	dayOf := func(month time.Time, day int) time.Time { return month.AddDate(0, 0, day-1) }
	// before keeps a step that belongs to a day that has begun but whose
	// hour has not come yet in the past.
	before := func(t time.Time) time.Time {
		if t.Before(nowUTC) {
			return t
		}
		return nowUTC.Add(-time.Minute)
	}

	var p demoPast
	step := func(t time.Time, do func(ctx context.Context, past *models.Store) error) {
		p.steps = append(p.steps, demoStepAt{t.UTC(), func(ctx context.Context, past *models.Store, _ models.Actor) error {
			if err := do(ctx, past); err != nil {
				return fmt.Errorf("demo ledger: %w", err)
			}
			return nil
		}})
	}

	// Aurora's colocation contract, a year old and ending within 60 days,
	// signed on its first day; the desk closed each of its months on the
	// 2nd of the next, but last month.
	startsOn, endsOn := demoAuroraTerm(now)
	signedOn := startsOn
	colo := models.ContractInput{OrgID: aurora, ServiceType: models.ServiceColocation, MonthlyFee: 2500000, InstallationFee: 500000, PowerWatts: 4000,
		SignedOn: date(signedOn), StartsOn: date(startsOn), EndsOn: date(endsOn), Renewal: models.RenewalAuto, Cabinets: []string{"A03"},
		Notes: "客户自有服务器托管于 A03 机柜，含 20 Mbps BGP 带宽、两路供电。\nAurora's own servers in cabinet A03, with 20 Mbps of BGP bandwidth and two power feeds."}
	var coloRef string
	step(at(signedOn, 10, 30), func(ctx context.Context, past *models.Store) error {
		c, err := past.CreateContract(ctx, desk, colo)
		if err == nil {
			coloRef = c.Ref
		}
		return err
	})
	step(at(signedOn.AddDate(0, 0, 1), 15, 10), func(ctx context.Context, past *models.Store) error {
		_, err := past.CompleteInstallation(ctx, eng, coloRef, past.Now().Add(-40*time.Minute),
			"A03 机柜上架完成，两路电源与上联已通。\nCabinet A03 racked; both power feeds and the uplink are live.")
		return err
	})
	// The janitor's reminders, 60 and 30 days ahead, emailed to the
	// service representative; the day after the first, the desk marks the
	// renewal as under discussion.
	for _, days := range []int{models.ExpiryFirst, models.ExpirySecond} {
		if day := endsOn.AddDate(0, 0, -days); !day.After(now) {
			step(before(at(day, 9, 0)), func(ctx context.Context, past *models.Store) error {
				if _, err := past.SweepContracts(ctx); err != nil {
					return err
				}
				return demoSendMail(ctx, past)
			})
		}
	}
	step(before(at(endsOn.AddDate(0, 0, -models.ExpiryFirst+1), 14, 20)), func(ctx context.Context, past *models.Store) error {
		in := colo
		in.Renewal = models.RenewalPending
		in.Notes += "\n续约洽谈中：客户希望续约时扩容至两个机柜，报价已发出。\nRenewal under discussion: Aurora wants a second cabinet with the renewal; our offer was sent."
		_, err := past.UpdateContract(ctx, desk, coloRef, in)
		return err
	})

	for m := startsOn; m.Before(lastMonth); m = m.AddDate(0, 1, 0) {
		step(at(m.AddDate(0, 1, 1), 10, 0), func(ctx context.Context, past *models.Store) error {
			return past.CloseMonth(ctx, desk, aurora, m.Format("2006-01"))
		})
	}

	// Bravo moves in last month: two contracts signed on the 9th, from the
	// 16th; game-02's installed the next day, B07's late.
	bravoSigned := dayOf(lastMonth, 9)
	cabinet := models.ContractInput{OrgID: bravo, ServiceType: models.ServiceFullCabinet, MonthlyFee: 6800000, InstallationFee: 1200000,
		SignedOn: date(bravoSigned), StartsOn: date(dayOf(lastMonth, 16)), Renewal: models.RenewalAuto, Cabinets: []string{"B07"},
		Notes: "整柜租用 B07（42U，两路 32 A 供电），含 100 Mbps 独享带宽。\nCabinet B07 rented whole (42U, two 32 A feeds), with 100 Mbps of dedicated bandwidth."}
	server := models.ContractInput{OrgID: bravo, ServiceType: models.ServiceServer, MonthlyFee: 880000, InstallationFee: 150000,
		SignedOn: date(bravoSigned), StartsOn: date(dayOf(lastMonth, 16)), Renewal: models.RenewalAuto,
		Notes: "租用服务器一台（2×32 核，256 GB 内存），作为游戏服备机 game-02，放置于 B07。\nOne rented server (2×32 cores, 256 GB), the spare game server game-02, racked in B07."}
	var cabinetRef, serverRef string
	step(at(bravoSigned, 10, 30), func(ctx context.Context, past *models.Store) error {
		c, err := past.CreateContract(ctx, desk, cabinet)
		if err != nil {
			return err
		}
		cabinetRef = c.Ref
		ds, err := past.ListDevices(ctx, models.AllOrgs(), bravo)
		if err != nil {
			return err
		}
		if id := demoDeviceNamed(ds, "game-02"); id != 0 {
			server.DeviceIDs = []int64{id}
		}
		c, err = past.CreateContract(ctx, desk, server)
		if err == nil {
			serverRef = c.Ref
		}
		return err
	})
	step(at(bravoSigned.AddDate(0, 0, 1), 16, 20), func(ctx context.Context, past *models.Store) error {
		_, err := past.CompleteInstallation(ctx, eng, serverRef, past.Now().Add(-25*time.Minute),
			"game-02 上架于 B07 U22，系统已按客户要求安装。\ngame-02 racked in B07 U22, its system installed as Bravo asked.")
		return err
	})
	due, err := demoInstallationDue(ctx, store, bravoSigned)
	if err != nil {
		return demoPast{}, err
	}
	step(due.Add(2*time.Minute), func(ctx context.Context, past *models.Store) error {
		_, err := past.SweepClocks(ctx) // the installation clock is missed at its deadline
		return err
	})
	step(at(due.In(loc), 11, 0), func(ctx context.Context, past *models.Store) error {
		_, err := past.CompleteInstallation(ctx, eng, cabinetRef, past.Now().Add(-30*time.Minute),
			"B07 的两台 PDU 到货延迟，晚于约定日期完成上架与通电。\nB07's two PDUs arrived late: racked and powered after the due date.")
		return err
	})

	// Bravo's power last month: both feeds of B07 lost on the 19th (the
	// provider's), a public power cut on the 24th (force majeure).
	p.incidents = append(p.incidents,
		demoIncident{devices: []string{"game-01", "game-02"}, kinds: []models.CheckKind{models.KindICMP, models.KindHTTP},
			at: at(dayOf(lastMonth, 19), 2, 10), length: 12 * time.Minute, cause: models.CauseProviderPower,
			note: "B 列 UPS 2 切换旁路失败，B07 两路供电同时中断 14 分钟。\nUPS 2 of row B failed to switch to bypass: both feeds of B07 were lost for 14 minutes.",
			power: &demoPower{cabinet: "B07", bothDown: true,
				cause: "市电电压波动时 B 列 UPS 2 切换旁路失败，B07 机柜 A、B 两路供电同时中断。\nDuring a mains dip UPS 2 of row B failed to switch to bypass: both feeds (A and B) of cabinet B07 were lost.",
				note:  "UPS 2 静态开关已更换，厂家下次巡检时复核。\nUPS 2's static switch was replaced; the vendor checks it again at its next visit."}},
		demoIncident{devices: []string{"game-01", "game-02"}, kinds: []models.CheckKind{models.KindICMP, models.KindHTTP},
			at: at(dayOf(lastMonth, 24), 14, 35), length: 35 * time.Minute, cause: models.CauseFMPublic,
			note: "供电局 10 kV 线路故障，园区市电中断；B 列 UPS 2 电池放电完毕。\nThe utility's 10 kV line failed; row B's UPS 2 ran out of battery.",
			power: &demoPower{cabinet: "B07", bothDown: true, forceMajeure: true,
				cause: "供电局 10 kV 线路故障，园区两路市电同时中断 47 分钟；B 列 UPS 2 电池放电完毕后停机（公共电网停电，不可抗力）。\nThe utility's 10 kV line failed and both mains feeds of the campus were lost for 47 minutes; UPS 2 of row B shut down when its battery ran out (a public power cut: force majeure).",
				note:  "供电局故障单号 BJ-10kV-3317。/ The utility's fault ticket BJ-10kV-3317."}},
	)

	// Last month's window over cabinet A03, which Aurora agreed to; db-01
	// restarted inside it. Placed clear of the history's own incidents.
	day := dayOf(lastMonth, 14)
	for demoNearIncident(nowUTC, at(day, 1, 40), 25*time.Minute) {
		day = day.AddDate(0, 0, 1)
	}
	var pastRef string
	step(at(day.AddDate(0, 0, -4), 16, 0), func(ctx context.Context, past *models.Store) error {
		w, err := past.AnnounceMaintenance(ctx, eng, models.MaintenanceInput{
			Title: "A03 机柜电源线路整改 Rewiring cabinet A03's power",
			Body: "将 A03 机柜的两路电源改接至新配电柜，逐台切换，单电源设备会短暂断电重启。\n" +
				"Cabinet A03's two feeds move to the new distribution board one device at a time; equipment with a single power supply restarts once.",
			StartsAt: at(day, 1, 0), EndsAt: at(day, 3, 0), Targets: []models.MaintenanceTargetInput{{OrgID: aurora, Cabinet: "A03"}}})
		if err != nil {
			return err
		}
		pastRef = w.Ref
		return demoSendMail(ctx, past)
	})
	step(at(day.AddDate(0, 0, -3), 9, 20), func(ctx context.Context, past *models.Store) error {
		_, err := past.AnswerMaintenance(ctx, models.UserActor(auroraOps, "127.0.0.1"), auroraOps, pastRef, models.MaintenanceAgreed,
			"同意，切换 db-01 前请电话通知值班人员。Agreed; please call our on-duty engineer before db-01 is switched.")
		return err
	})
	p.incidents = append(p.incidents, demoIncident{devices: []string{"db-01"}, kinds: []models.CheckKind{models.KindICMP, models.KindTCP},
		at: at(day, 1, 40), length: 25 * time.Minute, cause: models.CauseProviderPower, met: true,
		note: "按维护窗口计划改接 db-01 电源线时服务器重启。\ndb-01 restarted as its power cords were moved in the announced window."})

	// The core switches' upgrade in three days: announced yesterday,
	// Aurora agreed; Bravo has not answered.
	yesterday := time.Date(now.Year(), now.Month(), now.Day()-1, 0, 0, 0, 0, loc)
	soon := time.Date(now.Year(), now.Month(), now.Day()+3, 0, 0, 0, 0, loc)
	var upcomingRef string
	step(at(yesterday, 15, 0), func(ctx context.Context, past *models.Store) error {
		w, err := past.AnnounceMaintenance(ctx, eng, models.MaintenanceInput{
			Title: "核心交换机固件升级 Core switch firmware upgrade",
			Body: "两台核心交换机依次升级固件，每台切换时上联中断不超过 5 分钟。\n" +
				"The two core switches are upgraded one after the other; each switchover interrupts the uplinks for at most 5 minutes.",
			StartsAt: at(soon, 2, 0), EndsAt: at(soon, 4, 0),
			Targets: []models.MaintenanceTargetInput{{OrgID: aurora}, {OrgID: bravo}}})
		if err != nil {
			return err
		}
		upcomingRef = w.Ref
		return demoSendMail(ctx, past)
	})
	step(at(yesterday, 17, 40), func(ctx context.Context, past *models.Store) error {
		_, err := past.AnswerMaintenance(ctx, models.UserActor(auroraOps, "127.0.0.1"), auroraOps, upcomingRef, models.MaintenanceAgreed, "")
		return err
	})

	// The service desk closes Bravo's last month on the 2nd (or just now
	// when the month is younger).
	closeAt := at(dayOf(thisMonth, 2), 10, 0)
	if !closeAt.Before(nowUTC) {
		closeAt = nowUTC.Add(-time.Nanosecond)
	}
	if !closeAt.Before(thisMonth) {
		step(closeAt, func(ctx context.Context, past *models.Store) error {
			return past.CloseMonth(ctx, desk, bravo, lastMonth.Format("2006-01"))
		})
	}
	return p, nil
}

// demoAuroraTerm is the first and the last day of Aurora's colocation
// contract, now being the demo's time in the portal's zone: a year that
// ends with the month 30 days from now (30 to 60 days left).
func demoAuroraTerm(now time.Time) (startsOn, endsOn time.Time) {
	end := time.Date(now.Year(), now.Month(), now.Day()+30, 0, 0, 0, 0, now.Location())
	endsOn = time.Date(end.Year(), end.Month()+1, 0, 0, 0, 0, 0, now.Location()) // that month's last day
	return endsOn.AddDate(0, 0, 1).AddDate(-1, 0, 0), endsOn
}

// demoOrgOpened is when the demo organization slug became a customer, now
// being the demo's time: Aurora on the morning its contract was signed,
// Bravo at the start of last month, a week before it signed.
func demoOrgOpened(now time.Time, slug string) time.Time {
	day := time.Date(now.Year(), now.Month()-1, 2, 9, 30, 0, 0, now.Location())
	if slug == "aurora" {
		day, _ = demoAuroraTerm(now)
	}
	return time.Date(day.Year(), day.Month(), day.Day(), 9, 30, 0, 0, now.Location())
}

// demoInstallationDue is when an installation of a contract signed on day
// falls due, from the working-day calendar as CreateContract reads it.
func demoInstallationDue(ctx context.Context, store *models.Store, day time.Time) (time.Time, error) {
	cal := models.WorkCalendar{}
	for _, y := range []int{day.Year(), day.Year() + 1} {
		ds, err := store.WorkDays(ctx, y)
		if err != nil {
			return time.Time{}, fmt.Errorf("demo ledger: %w", err)
		}
		for _, d := range ds {
			cal[d.Day] = d.Kind
		}
	}
	return cal.DueAfterWorkingDays(day, store.Zone(), models.InstallationDays), nil
}

// demoNearIncident reports whether an outage from start for length would
// come within three hours of one of the history's own incidents, now
// being the demo's time: its notices and deliveries would mix.
func demoNearIncident(now, start time.Time, length time.Duration) bool {
	return slices.ContainsFunc(demoIncidents, func(in demoIncident) bool {
		s := in.start(now)
		return start.Before(s.Add(in.length+3*time.Hour)) && s.Before(start.Add(length+3*time.Hour))
	})
}

// demoSendMail turns new outbox events into email deliveries and has the
// mail relay accept those of maintenance windows and contract expiry (the
// notices of outages go their own way, demoDeliver).
func demoSendMail(ctx context.Context, past *models.Store) error {
	if err := demoExpand(ctx, past); err != nil {
		return err
	}
	ds, err := past.ClaimDeliveries(ctx, demoOwner, time.Second, 100, []string{models.TransportEmail})
	if err != nil {
		return err
	}
	for _, d := range ds {
		if d.Event != models.EventMaintenanceAnnounced && d.Event != models.EventContractExpiry {
			continue
		}
		if err := past.RecordAttempt(ctx, demoOwner, d.ID, models.DeliveryAccepted, "", nil); err != nil {
			return err
		}
	}
	return nil
}
