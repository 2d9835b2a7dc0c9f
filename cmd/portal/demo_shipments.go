package main

import (
	"context"
	"fmt"
	"time"

	"github.com/colo-portal/portal/models"
)

// loadDemoShipments gives the shipment pages something to show, unless
// Aurora has shipments already: for Aurora a parcel expected today, one
// that arrived 20 days ago and is held past the limit, one collected, and
// an outbound request waiting for the carrier; for Bravo an unannounced
// parcel in store and equipment handed over to a named collector. What
// happened in the past is written through a store whose clock reads the
// time of each step (Store.Clocked), as the demo's visits are.
func loadDemoShipments(ctx context.Context, store *models.Store, orgIDs map[string]int64) error {
	aurora, bravo := orgIDs["aurora"], orgIDs["bravo"]
	if rows, err := store.ListShipments(ctx, models.OrgScope(aurora), models.ShipmentFilter{Limit: 1}); err != nil || len(rows) > 0 {
		return err
	}
	users := map[string]models.Actor{}
	for _, email := range []string{"ops@aurora.example", "it@bravo.example", "reception@idc.example", "engineer@idc.example"} {
		u, err := store.GetUserByEmail(ctx, email)
		if err != nil {
			return fmt.Errorf("demo shipments: %s: %w", email, err)
		}
		users[email] = models.UserActor(u, "127.0.0.1")
	}
	ops, it, desk := users["ops@aurora.example"], users["it@bravo.example"], users["reception@idc.example"]
	now := store.Now()
	ago := func(days int, hours int) *models.Store {
		t := now.Add(-time.Duration(days)*24*time.Hour - time.Duration(hours)*time.Hour)
		return store.Clocked(func() time.Time { return t })
	}
	day := func(s *models.Store, add int) string {
		return s.Now().In(store.Zone()).AddDate(0, 0, add).Format(time.DateOnly)
	}
	liWei := models.VisitorInput{Name: "李伟 Li Wei", Company: "极光科技 Aurora Tech", IDType: models.IDResident,
		IDNumber: "440304198511206618", Phone: "138 1234 5678"}
	wrap := func(err error) error { return fmt.Errorf("demo shipments: %w", err) }

	// Aurora: expected today.
	if _, err := store.CreateShipment(ctx, ops, aurora, models.ShipmentInput{Carrier: "顺丰速运 SF Express", Tracking: "SF1402938475612",
		Parcels: "2", Date: day(store, 0), Contents: "2 台 1U 服务器（Dell R660）two 1U servers", Cabinet: "A03",
		Collectors: []models.VisitorInput{liWei}}); err != nil {
		return wrap(err)
	}
	// Aurora: arrived 20 days ago, still in store, past the hold limit.
	past := ago(22, 0)
	held, err := past.CreateShipment(ctx, ops, aurora, models.ShipmentInput{Carrier: "京东物流 JD Logistics", Tracking: "JDVA00918273645",
		Parcels: "1", Date: day(past, 2), Contents: "备用电源模块 spare power supplies", Cabinet: "A03", Collectors: []models.VisitorInput{liWei}})
	if err != nil {
		return wrap(err)
	}
	if _, err := ago(20, 0).RecordArrival(ctx, desk, nil, aurora, held.ID, models.ArrivalInput{Parcels: "1", StoragePlace: "前台货架 R2-3",
		Condition: "damaged", ConditionNote: "外箱一角压痕，内包装完好 One corner of the box dented; inner packing intact"}); err != nil {
		return wrap(err)
	}
	// Aurora: collected three days ago.
	past = ago(6, 0)
	done, err := past.CreateShipment(ctx, ops, aurora, models.ShipmentInput{Carrier: "DHL Express", Tracking: "1234567890",
		Parcels: "1", Date: day(past, 2), Contents: "交换机光模块 SFP+ optics for the switch", Cabinet: "A03", Collectors: []models.VisitorInput{liWei}})
	if err != nil {
		return wrap(err)
	}
	if _, err := ago(4, 0).RecordArrival(ctx, desk, nil, aurora, done.ID, models.ArrivalInput{Parcels: "1", StoragePlace: "前台货架 R1-1",
		Condition: "good"}); err != nil {
		return wrap(err)
	}
	d, err := store.ShipmentDetailOf(ctx, models.AllOrgs(), done, false)
	if err != nil || len(d.People) == 0 {
		return wrap(fmt.Errorf("collector of %s: %v", done.Number(), err))
	}
	if _, err := ago(3, 0).CollectShipment(ctx, desk, aurora, done.ID, models.CollectInput{CollectorID: d.People[0].ShipmentPerson.ID,
		IDChecked: true}); err != nil {
		return wrap(err)
	}
	// Aurora: an old array to be shipped out the day after tomorrow.
	if _, err := store.CreateShipment(ctx, ops, aurora, models.ShipmentInput{Method: models.ShipByCarrier, Carrier: "顺丰速运 SF Express",
		Parcels: "1", Date: day(store, 2), Contents: "退役磁盘阵列 a retired disk array, return to the vendor", Cabinet: "A03"}); err != nil {
		return wrap(err)
	}
	// Bravo: an unannounced parcel two days ago.
	if _, err := ago(2, 0).RecordArrival(ctx, desk, nil, 0, 0, models.ArrivalInput{OrgID: bravo, Carrier: "中通快递 ZTO", Tracking: "ZT75310086421",
		Contents: "未注明 not stated", Parcels: "1", StoragePlace: "前台货架 R3-2", Condition: "good"}); err != nil {
		return wrap(err)
	}
	// Bravo: a spare server collected by a named person yesterday.
	past = ago(3, 0)
	out, err := past.CreateShipment(ctx, it, bravo, models.ShipmentInput{Method: models.ShipCollect, Parcels: "1", Date: day(past, 2),
		Contents: "备用游戏服务器 game-02 spare server", Cabinet: "B07",
		Collectors: []models.VisitorInput{{Name: "马骏 Ma Jun", Company: "博锐游戏 Bravo Games", IDType: models.IDResident,
			IDNumber: "440305198807301610", Phone: "137 2000 3000"}}})
	if err != nil {
		return wrap(err)
	}
	if _, err := ago(1, 0).HandOverShipment(ctx, users["engineer@idc.example"], bravo, out.ID, models.HandOverInput{Name: "马骏 Ma Jun",
		Company: "博锐游戏 Bravo Games", IDType: models.IDResident, IDNumber: "440305198807301610", IDChecked: true}); err != nil {
		return wrap(err)
	}
	return nil
}
