package bench

import (
	"context"
	"fmt"
	"strings"

	"github.com/colo-portal/portal/models"
)

// benchOperationTitle names the request the page benchmark measures.
const benchOperationTitle = "更换硬盘并重建阵列 Replace a disk and rebuild the array"

// fillOperation gives the measured organization a finished operation with
// a phone authorization and a long conversation, for the request page and
// the report PDF.
func fillOperation(ctx context.Context, store *models.Store, f *filled, messages int) (int64, error) {
	cust, err := store.GetUserByEmail(ctx, f.customerEmail)
	if err != nil {
		return 0, err
	}
	eng, err := store.GetUserByEmail(ctx, f.engineerEmail)
	if err != nil {
		return 0, err
	}
	org := *cust.OrgID
	customer, engineer := models.UserActor(cust, "127.0.0.1"), models.UserActor(eng, "127.0.0.1")
	c, err := store.CreateContact(ctx, customer, org, models.ContactInput{Name: "王工 Wang", Email: "wang@bench.example",
		Channels: []models.Channel{models.ChannelEmail}, MayAuthorize: true, Passphrase: "bench passphrase 1"})
	if err != nil {
		return 0, err
	}
	r, err := store.CreateRequest(ctx, customer, org, models.RequestInput{Title: benchOperationTitle,
		Work:    strings.Repeat("请更换第 2 槽硬盘并重建 RAID 1，完成后检查日志。Replace the disk in slot 2, rebuild RAID 1, then check the logs. ", 8),
		Urgency: "urgent", DeviceIDs: []int64{f.deviceID}, RequestedBy: &cust.ID})
	if err != nil {
		return 0, err
	}
	if _, err := store.RecordPhoneAuthorization(ctx, engineer, org, r.ID, models.PhoneInput{ContactID: c.ID, Passphrase: "bench passphrase 1"}); err != nil {
		return 0, err
	}
	for i := range messages {
		who, staff := customer, false
		if i%2 == 0 {
			who, staff = engineer, true
		}
		if _, err := store.PostMessage(ctx, who, org, r.ID, staff, fmt.Sprintf("第 %d 条进展：阵列重建 %d%%。Update %d: rebuild at %d%%.", i+1, i*2, i+1, i*2)); err != nil {
			return 0, err
		}
	}
	if err := store.SetOperationState(ctx, engineer, org, r.ID, models.StateInput{State: models.OpInProgress}); err != nil {
		return 0, err
	}
	err = store.SetOperationState(ctx, engineer, org, r.ID, models.StateInput{State: models.OpCompleted, Result: "success",
		WorkDone: strings.Repeat("更换硬盘，重建阵列，检查日志。Swapped the disk, rebuilt the array, checked the logs. ", 6)})
	return r.ID, err
}
