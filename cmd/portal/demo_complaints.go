package main

import (
	"context"
	"fmt"
	"time"

	"github.com/colo-portal/portal/models"
)

// loadDemoComplaints gives the complaint pages something to show, unless
// the organization has complaints already: for Aurora one about network
// quality answered within 24 hours and resolved, waiting for the
// customer's confirmation, and one about the engineer engineer@idc.example
// still open with its clock running (he sees neither it nor its count);
// for Bravo one the service desk recorded from a phone call an hour
// before, open.
//
// What happened in the past is written through a store whose clock reads
// the time each step happened (Store.Clocked), as the demo's visits are.
func loadDemoComplaints(ctx context.Context, store *models.Store, orgIDs map[string]int64) error {
	users := map[string]*models.User{}
	for _, email := range []string{"ops@aurora.example", "cto@aurora.example", "it@bravo.example", "service@idc.example", "engineer@idc.example"} {
		u, err := store.GetUserByEmail(ctx, email)
		if err != nil {
			return fmt.Errorf("demo complaints: %s: %w", email, err)
		}
		users[email] = u
	}
	now := store.Now()
	if has, err := demoHasComplaints(ctx, store, orgIDs["aurora"]); err != nil {
		return err
	} else if !has {
		if err := demoAuroraComplaints(ctx, store, orgIDs["aurora"], users, now); err != nil {
			return fmt.Errorf("demo complaints: %w", err)
		}
	}
	if has, err := demoHasComplaints(ctx, store, orgIDs["bravo"]); err != nil || has {
		return err
	}
	// Bravo: Ma Jun called the service desk an hour ago; the desk entered
	// the call just now, and the 24 hours count from the call.
	desk := models.UserActor(users["service@idc.example"], "127.0.0.1")
	_, err := store.CreateComplaint(ctx, desk, orgIDs["bravo"], models.ComplaintInput{Category: models.ComplaintSupport,
		Subject: "远程协助迟迟无人回复 No answer to a remote hands request",
		Description: "客户来电：此前提交的远程协助请求（重启 B07 机柜的交换机）至今无人回复，游戏服务器一直无法连接。\n" +
			"Customer's call: their remote hands request (restart the switch in cabinet B07) has had no answer, and the game servers stay unreachable.",
		Channel: "phone", ReceivedAt: now.Add(-time.Hour).Truncate(time.Minute), FiledBy: users["it@bravo.example"].ID})
	if err != nil {
		return fmt.Errorf("demo complaints: %w", err)
	}
	return nil
}

// demoAuroraComplaints writes Aurora's two complaints; now is the store's
// time.
func demoAuroraComplaints(ctx context.Context, store *models.Store, aurora int64, users map[string]*models.User, now time.Time) error {
	var cur time.Time
	past := store.Clocked(func() time.Time { return cur })
	ops, cto, svc := users["ops@aurora.example"], users["cto@aurora.example"], users["service@idc.example"]
	cust, desk := models.UserActor(ops, "127.0.0.1"), models.UserActor(svc, "127.0.0.1")
	custView := models.Viewer{Scope: models.OrgScope(aurora), UserID: ops.ID}
	deskView := models.Viewer{Scope: models.AllOrgs(), UserID: svc.ID}

	// Network quality, filed about three days ago: the desk writes a
	// message within the hour and the handling report five hours after
	// filing (met), the customer answers, the desk resolves it a day later.
	// The customer has not confirmed yet and may still reopen it.
	t0 := now.Add(-70 * time.Hour).Truncate(time.Minute)
	cur = t0
	c, err := past.CreateComplaint(ctx, cust, aurora, models.ComplaintInput{Category: models.ComplaintNetwork,
		Subject: "晚高峰丢包严重 Heavy packet loss in the evening peak",
		Description: "过去三天每晚 20:00–23:00，web-01 到电信和联通的出口丢包 3%–8%，用户投诉页面加载缓慢。附 mtr 结果见下。\n" +
			"Every evening for three days, 20:00–23:00, web-01 loses 3–8% of packets towards China Telecom and China Unicom; our users complain of slow pages.",
	})
	if err != nil {
		return err
	}
	steps := []struct {
		after time.Duration
		do    func() error
	}{
		{20 * time.Minute, func() error { return past.AssignComplaint(ctx, desk, deskView, c.ID, svc.ID) }},
		{50 * time.Minute, func() error {
			_, err := past.AddComplaintMessage(ctx, desk, deskView, c.ID,
				"孙女士您好，投诉已收到，网络工程师正在核查出口链路，24 小时内给您书面处理报告。\nWe have your complaint; the network engineers are checking the uplinks and you will have our written report within 24 hours.")
			return err
		}},
		{5 * time.Hour, func() error {
			_, err := past.WriteComplaintReport(ctx, desk, deskView, c.ID, models.ReportInput{
				Found: "晚高峰时段通往电信的 10G 上联链路利用率达到 97%，出现拥塞丢包。\nThe 10G uplink towards China Telecom ran at 97% in the evening peak and dropped packets.",
				Done:  "已将部分流量调度到备用上联，并临时提高了贵司 IP 段的队列优先级。\nPart of the traffic now takes the standby uplink, and your addresses have a higher queue priority meanwhile.",
				Next:  "本周五凌晨 02:00 扩容为 2×10G，扩容后连续观察三个晚高峰并告知结果。\nThe uplink becomes 2×10G on Friday at 02:00; we watch three evening peaks after it and tell you the result."})
			return err
		}},
		{26 * time.Hour, func() error {
			_, err := past.AddComplaintMessage(ctx, cust, custView, c.ID,
				"昨晚丢包已降到 0.1% 以下，谢谢。等扩容后再看。\nLast night's loss was under 0.1%, thank you. Let us see after the upgrade.")
			return err
		}},
		{46 * time.Hour, func() error {
			return past.ResolveComplaint(ctx, desk, deskView, c.ID,
				"上联已扩容为 2×10G，此后晚高峰丢包为 0，利用率低于 55%。\nThe uplink is now 2×10G; since then no packet was lost in the evening peak and the load stays under 55%.")
		}},
	}
	for _, s := range steps {
		cur = t0.Add(s.after)
		if err := s.do(); err != nil {
			return err
		}
	}

	// About the engineer, filed five hours ago by the CTO: assigned to the
	// service desk and acknowledged, but no handling report yet, so the
	// clock still runs.
	t1 := now.Add(-5 * time.Hour).Truncate(time.Minute)
	cur = t1
	ctoActor := models.UserActor(cto, "127.0.0.1")
	e, err := past.CreateComplaint(ctx, ctoActor, aurora, models.ComplaintInput{Category: models.ComplaintEmployee,
		NamedUserID: users["engineer@idc.example"].ID,
		Subject:     "现场工程师未经同意断电 Power cut without our consent",
		Description: "更换 db-01 硬盘时，现场工程师未等我方确认就关闭了整台服务器的电源，导致数据库异常中断 12 分钟。\n" +
			"Replacing a disk of db-01, the on-site engineer powered the whole server off before we agreed, and the database stopped for 12 minutes.",
	})
	if err != nil {
		return err
	}
	cur = t1.Add(40 * time.Minute)
	if err := past.AssignComplaint(ctx, desk, deskView, e.ID, svc.ID); err != nil {
		return err
	}
	cur = t1.Add(45 * time.Minute)
	_, err = past.AddComplaintMessage(ctx, desk, deskView, e.ID,
		"周先生您好，投诉已收到，由客服经理王芳负责调查，24 小时内给您书面处理报告。\nWe have your complaint; Wang Fang of the service desk investigates it, and you will have our written report within 24 hours.")
	return err
}

// demoHasComplaints reports whether organization orgID has complaints.
func demoHasComplaints(ctx context.Context, store *models.Store, orgID int64) (bool, error) {
	cs, err := store.ListComplaints(ctx, models.Viewer{Scope: models.OrgScope(orgID)}, models.ComplaintFilter{Limit: 1})
	return len(cs) > 0, err
}
