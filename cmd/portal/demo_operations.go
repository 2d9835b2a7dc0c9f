package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/blobstore"
)

// loadDemoOperations gives Aurora one finished operation, with its signed
// form, feedback and report, and one request waiting for its signature,
// unless it has requests already.
func loadDemoOperations(ctx context.Context, store *models.Store, blobs blobstore.Store, orgID int64, customerEmail, engineerEmail string) error {
	if rs, err := store.ListRequests(ctx, models.OrgScope(orgID), models.RequestFilter{Limit: 1}); err != nil || len(rs) > 0 {
		return err
	}
	cust, err := store.GetUserByEmail(ctx, customerEmail)
	if err != nil {
		return err
	}
	eng, err := store.GetUserByEmail(ctx, engineerEmail)
	if err != nil {
		return err
	}
	devices, err := store.ListDevices(ctx, models.AllOrgs(), orgID)
	if err != nil {
		return err
	}
	web, db := demoDeviceNamed(devices, "web-01"), demoDeviceNamed(devices, "db-01")
	if web == 0 || db == 0 {
		return nil
	}
	contacts, err := store.ListContacts(ctx, models.AllOrgs(), orgID)
	if err != nil {
		return err
	}
	var signer *models.Contact
	for i := range contacts {
		if contacts[i].MayAuthorize {
			signer = &contacts[i]
			break
		}
	}
	if signer == nil {
		return nil
	}
	customer, engineer := models.UserActor(cust, "127.0.0.1"), models.UserActor(eng, "127.0.0.1")
	done, err := store.CreateRequest(ctx, customer, orgID, models.RequestInput{Title: "更换 web-01 故障硬盘 Replace a failed disk",
		Work: "web-01 第 2 槽硬盘报警，请更换并重建 RAID 1。\nThe disk in slot 2 of web-01 reports errors: please replace it and rebuild RAID 1. " +
			"Spare disk is in our locker A03.", Urgency: "urgent", DeviceIDs: []int64{web}, RequestedBy: &cust.ID})
	if err != nil {
		return fmt.Errorf("demo request: %w", err)
	}
	scan := demoScan()
	up, err := models.CheckUpload("授权书-signed.png", scan, models.DefaultUploadLimits)
	if err != nil {
		return err
	}
	a, err := store.AddWrittenAuthorization(ctx, engineer, blobs, orgID, done.ID, signer.ID, up, scan)
	if err != nil {
		return fmt.Errorf("demo authorization: %w", err)
	}
	steps := []func() error{
		func() error { return store.AcceptAuthorization(ctx, engineer, orgID, done.ID, a.ID) },
		func() error {
			_, err := store.PostMessage(ctx, engineer, orgID, done.ID, true,
				"已收到授权，备盘已取出，10 分钟后开始更换。Authorization received; starting the swap in 10 minutes.")
			return err
		},
		func() error {
			return store.SetOperationState(ctx, engineer, orgID, done.ID, models.StateInput{State: models.OpInProgress})
		},
		func() error {
			return store.SetOperationState(ctx, engineer, orgID, done.ID, models.StateInput{State: models.OpCompleted, Result: "success",
				WorkDone: "热插拔更换第 2 槽硬盘（序列号 WX41A2）；RAID 1 重建完成，阵列状态正常。\nHot-swapped the disk in slot 2 (serial WX41A2); RAID 1 rebuilt and healthy.",
				FollowUp: "请在下次维护窗口检查 SMART 告警设置。Please review your SMART alert settings in your next maintenance window."})
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("demo operation: %w", err)
		}
	}
	_, err = store.CreateRequest(ctx, customer, orgID, models.RequestInput{Title: "为 db-01 加装内存 Add memory to db-01",
		Work:    "加装 2 条 32 GB 内存（随附）。Install the two 32 GB modules we shipped; the server may be powered off for 20 minutes.",
		Urgency: "normal", DeviceIDs: []int64{db}, RequestedBy: &cust.ID})
	return err
}

func demoDeviceNamed(ds []models.Device, name string) int64 {
	for _, d := range ds {
		if d.Name == name {
			return d.ID
		}
	}
	return 0
}

// demoScan is a small image standing in for a scanned, signed form.
func demoScan() []byte {
	img := image.NewGray(image.Rect(0, 0, 240, 340))
	for i := range img.Pix {
		img.Pix[i] = 250
	}
	for y := 40; y < 300; y += 24 {
		for x := 24; x < 216; x++ {
			img.SetGray(x, y, color.Gray{Y: 120})
		}
	}
	for x := 140; x < 210; x++ {
		img.SetGray(x, 310-(x-140)%9, color.Gray{Y: 20})
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}
