package handlers_test

import (
	"context"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// walkedComplaints gives the walked pages complaints to list: one
// overdue, one about the engineer with a long subject, one just in.
func walkedComplaints(t *testing.T, store *models.Store, clock *dbtest.Clock, fx *dbtest.Fixture) {
	t.Helper()
	ctx := context.Background()
	desk := models.UserActor(fx.Service, "10.0.0.2")
	for _, in := range []models.ComplaintInput{
		{Category: models.ComplaintNetwork, Subject: "晚高峰丢包严重 Packet loss every evening between 20:00 and 23:00",
			Description: "丢包率超过 5%。", Channel: "phone", ReceivedAt: clock.Now().Add(-26 * time.Hour), FiledBy: fx.CustA.ID},
		{Category: models.ComplaintEmployee, NamedUserID: fx.Engineer.ID, Subject: "现场工程师未按约定时间到场，也未提前通知 The engineer came late without notice",
			Description: "约定 9 点，实际 11 点到场。", Channel: "email", ReceivedAt: clock.Now().Add(-3 * time.Hour), FiledBy: fx.CustA.ID},
		{Category: models.ComplaintService, Subject: "Invoice questions unanswered", Description: "Three emails, no answer.",
			Channel: "letter", ReceivedAt: clock.Now().Add(-time.Hour), FiledBy: fx.CustB.ID},
	} {
		org := fx.OrgA.ID
		if in.FiledBy == fx.CustB.ID {
			org = fx.OrgB.ID
		}
		if _, err := store.CreateComplaint(ctx, desk, org, in); err != nil {
			t.Fatal(err)
		}
	}
}
