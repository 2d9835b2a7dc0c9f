package models_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/blobstore"
	"github.com/colo-portal/portal/models/dbtest"
)

// opFixture is an organization with a device, a contact who may authorize
// (passphrase "blue harbour 42"), one who may not, and a request.
type opFixture struct {
	fx       *dbtest.Fixture
	dev      *models.Device
	chk      models.Check
	signer   *models.Contact
	other    *models.Contact
	req      *models.OperationRequest
	eng      models.Actor
	customer models.Actor
	blobs    blobstore.Store
	blobDir  string
}

func newOpFixture(t *testing.T, s *models.Store) *opFixture {
	t.Helper()
	ctx := context.Background()
	fx, d, chk := probeFixture(t, s)
	f := &opFixture{fx: fx, dev: d, chk: chk, eng: models.UserActor(fx.Engineer, "10.0.0.9"), customer: models.UserActor(fx.CustA, "10.0.0.1")}
	var err error
	f.signer, err = s.CreateContact(ctx, f.customer, fx.OrgA.ID, models.ContactInput{Name: "孙丽 Sun Li", Email: "sun.li@alpha.test",
		Channels: []models.Channel{models.ChannelEmail}, MayAuthorize: true, Passphrase: "blue harbour 42", Locale: "zh-CN"})
	if err != nil {
		t.Fatal(err)
	}
	f.other, err = s.CreateContact(ctx, f.customer, fx.OrgA.ID, models.ContactInput{Name: "Night Guard", Email: "guard@alpha.test",
		Channels: []models.Channel{models.ChannelEmail}, Locale: "en"})
	if err != nil {
		t.Fatal(err)
	}
	f.req, err = s.CreateRequest(ctx, f.customer, fx.OrgA.ID, models.RequestInput{Title: "重启 web-1", Work: "Reboot web-1 and check nginx 检查服务",
		Urgency: "urgent", DeviceIDs: []int64{d.ID}, RequestedBy: &fx.CustA.ID})
	if err != nil {
		t.Fatal(err)
	}
	if f.req.State != models.OpAwaiting || f.req.Number() != models.FormatNumber(models.NumberOperation, f.req.CreatedAt.Year(), 1) {
		t.Fatalf("new request = %+v", f.req)
	}
	f.blobDir = filepath.Join(t.TempDir(), "documents")
	if f.blobs, err = blobstore.New(f.blobDir); err != nil {
		t.Fatal(err)
	}
	return f
}

func scanPNG(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 40, 60))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// upload stores a signed scan from signer and returns the pending authorization.
func (f *opFixture) upload(t *testing.T, s *models.Store, contactID int64) (*models.Authorization, error) {
	t.Helper()
	data := scanPNG(t)
	up, err := models.CheckUpload("签字 scan.png", data, models.DefaultUploadLimits)
	if err != nil {
		t.Fatal(err)
	}
	return s.AddWrittenAuthorization(context.Background(), f.eng, f.blobs, f.fx.OrgA.ID, f.req.ID, contactID, up, data)
}

func feedbackClock(t *testing.T, s *models.Store, orgID, reqID int64) *models.Clock {
	t.Helper()
	cs, err := s.RequestClocks(context.Background(), models.AllOrgs(), orgID, reqID)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cs {
		if cs[i].Kind == models.ClockOperationFeedback {
			return &cs[i]
		}
	}
	return nil
}

func TestRequestValidation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		f := newOpFixture(t, s)
		actor := f.customer
		devB, err := s.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: f.fx.OrgB.ID, Name: "b-1", Address: "127.0.0.3"})
		if err != nil {
			t.Fatal(err)
		}
		from := clock.Now().Add(time.Hour)
		before := from.Add(-time.Minute)
		for _, c := range []struct {
			name       string
			in         models.RequestInput
			field, key string
		}{
			{"a request without a title is refused", models.RequestInput{Work: "x", Urgency: "normal", DeviceIDs: []int64{f.dev.ID}}, "title", "error.required"},
			{"a request without work is refused", models.RequestInput{Title: "x", Urgency: "normal", DeviceIDs: []int64{f.dev.ID}}, "work", "error.required"},
			{"an unknown urgency is refused", models.RequestInput{Title: "x", Work: "y", Urgency: "whenever", DeviceIDs: []int64{f.dev.ID}}, "urgency", "operation.error.urgency"},
			{"a request without devices is refused", models.RequestInput{Title: "x", Work: "y", Urgency: "normal"}, "devices", "operation.error.no_devices"},
			{"another organization's device is refused", models.RequestInput{Title: "x", Work: "y", Urgency: "normal", DeviceIDs: []int64{devB.ID}}, "devices", "operation.error.device_unknown"},
			{"a window ending before it starts is refused", models.RequestInput{Title: "x", Work: "y", Urgency: "normal", DeviceIDs: []int64{f.dev.ID}, WindowFrom: &from, WindowTo: &before}, "window_to", "operation.error.window_order"},
			{"another organization's user as requester is refused", models.RequestInput{Title: "x", Work: "y", Urgency: "normal", DeviceIDs: []int64{f.dev.ID}, RequestedBy: &f.fx.CustB.ID}, "requested_by", "operation.error.requester_unknown"},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := s.CreateRequest(ctx, actor, f.fx.OrgA.ID, c.in)
				wantInvalid(t, err, c.field, c.key)
			})
		}
		rs, err := s.ListRequests(ctx, models.OrgScope(f.fx.OrgA.ID), models.RequestFilter{})
		if err != nil || len(rs) != 1 {
			t.Fatalf("refused requests were stored: %d, %v", len(rs), err)
		}
		if _, err := s.GetRequest(ctx, models.OrgScope(f.fx.OrgB.ID), f.req.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("another organization reads the request: %v", err)
		}
		if len(auditOf(t, s, models.AuditRequestCreated)) != 1 {
			t.Fatal("the request is not audited once")
		}
	})
}

func TestWrittenAuthorizationStartsFeedbackClock(t *testing.T) {
	for _, c := range []struct {
		name    string
		after   time.Duration
		outcome string
	}{
		{"feedback 29 minutes after the authorization is met", 29 * time.Minute, models.ClockMet},
		{"feedback 31 minutes after the authorization is missed", 31 * time.Minute, models.ClockMissed},
	} {
		t.Run(c.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
				ctx := context.Background()
				f := newOpFixture(t, s)
				org := f.fx.OrgA.ID
				if _, err := f.upload(t, s, f.other.ID); err == nil {
					t.Fatal("a contact who may not authorize signed")
				} else {
					wantInvalid(t, err, "contact", "operation.error.contact_may_not_authorize")
				}
				entries, _ := os.ReadDir(f.blobDir)
				if len(entries) != 0 {
					t.Fatalf("a refused upload left files: %v", entries)
				}
				a, err := f.upload(t, s, f.signer.ID)
				if err != nil {
					t.Fatal(err)
				}
				if a.Status != models.AuthPending || a.Method != models.AuthWritten || a.DocumentID == nil {
					t.Fatalf("uploaded authorization = %+v", a)
				}
				if _, err := s.PostMessage(ctx, f.eng, org, f.req.ID, true, "Received, will check."); err != nil {
					t.Fatal(err)
				}
				if feedbackClock(t, s, org, f.req.ID) != nil {
					t.Fatal("a feedback clock runs before the authorization is accepted")
				}
				wantInvalid(t, s.SetOperationState(ctx, f.eng, org, f.req.ID, models.StateInput{State: models.OpInProgress}),
					"state", "operation.error.not_authorized")

				clock.Advance(10 * time.Minute)
				accepted := clock.Now()
				if err := s.AcceptAuthorization(ctx, f.eng, org, f.req.ID, a.ID); err != nil {
					t.Fatal(err)
				}
				wantInvalid(t, s.AcceptAuthorization(ctx, f.eng, org, f.req.ID, a.ID), "authorization", "operation.error.already_decided")
				r, _ := s.GetRequest(ctx, models.OrgScope(org), f.req.ID)
				if r.State != models.OpAuthorized {
					t.Fatalf("state after acceptance = %s", r.State)
				}
				fc := feedbackClock(t, s, org, f.req.ID)
				if fc == nil || !fc.StartedAt.Equal(accepted) || !fc.DeadlineAt.Equal(accepted.Add(30*time.Minute)) || fc.Outcome != models.ClockRunning {
					t.Fatalf("feedback clock = %+v", fc)
				}
				clock.Advance(c.after)
				if _, err := s.PostMessage(ctx, f.customer, org, f.req.ID, false, "Any news?"); err != nil {
					t.Fatal(err)
				}
				if fc := feedbackClock(t, s, org, f.req.ID); fc.Outcome != models.ClockRunning {
					t.Fatal("a customer's message stopped the feedback clock")
				}
				m, err := s.PostMessage(ctx, f.eng, org, f.req.ID, true, "正在处理 working on it")
				if err != nil {
					t.Fatal(err)
				}
				fc = feedbackClock(t, s, org, f.req.ID)
				if fc.Outcome != c.outcome || fc.StoppedAt == nil || !fc.StoppedAt.Equal(clock.Now()) || fc.StopRef == nil || *fc.StopRef != m.ID {
					t.Fatalf("feedback clock after first feedback = %+v, want %s", fc, c.outcome)
				}
				ds, err := s.ListDeductions(ctx, models.AllOrgs(), org, "2000-01-01", "2100-01-01")
				if err != nil || len(ds) != 0 {
					t.Fatalf("a missed feedback clock deducted a fee: %+v %v", ds, err)
				}
			})
		})
	}
}

func TestPhoneAuthorization(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		f := newOpFixture(t, s)
		org := f.fx.OrgA.ID
		t.Run("the right passphrase is accepted and starts the follow-up clock", func(t *testing.T) {
			a, err := s.RecordPhoneAuthorization(ctx, f.eng, org, f.req.ID, models.PhoneInput{ContactID: f.signer.ID,
				Passphrase: "blue harbour 42", Note: "called from mobile", FollowUp: 24 * time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if a.Status != models.AuthAccepted || a.Method != models.AuthPhone {
				t.Fatalf("phone authorization = %+v", a)
			}
			cs, _ := s.RequestClocks(ctx, models.AllOrgs(), org, f.req.ID)
			var follow *models.Clock
			for i := range cs {
				if cs[i].Kind == models.ClockPhoneFollowUp && cs[i].RefID == a.ID {
					follow = &cs[i]
				}
			}
			if follow == nil || !follow.DeadlineAt.Equal(clock.Now().Add(24*time.Hour)) {
				t.Fatalf("follow-up clock = %+v", follow)
			}
			if feedbackClock(t, s, org, f.req.ID) == nil {
				t.Fatal("no feedback clock after a phone authorization")
			}
			if len(auditOf(t, s, models.AuditPhoneAccepted)) != 1 {
				t.Fatal("the phone authorization is not audited")
			}
			clock.Advance(25 * time.Hour)
			over, err := s.OverdueFollowUps(ctx, models.AllOrgs(), org)
			if err != nil || len(over) != 1 || over[0].RefID != a.ID {
				t.Fatalf("overdue follow-ups = %+v, %v", over, err)
			}
			if n, err := s.SweepClocks(ctx); err != nil || n < 1 {
				t.Fatalf("sweep = %d, %v", n, err)
			}
			w, err := f.upload(t, s, f.signer.ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.AcceptAuthorization(ctx, f.eng, org, f.req.ID, w.ID); err != nil {
				t.Fatal(err)
			}
			cs, _ = s.RequestClocks(ctx, models.AllOrgs(), org, f.req.ID)
			for _, c := range cs {
				if c.Kind == models.ClockPhoneFollowUp && (c.Outcome != models.ClockMissed || c.StoppedAt == nil || !c.StoppedAt.Equal(clock.Now())) {
					t.Fatalf("late written form: follow-up clock = %+v, want missed and stopped now", c)
				}
			}
			if over, _ := s.OverdueFollowUps(ctx, models.AllOrgs(), org); len(over) != 0 {
				t.Fatalf("still overdue after the written form: %+v", over)
			}
		})
		t.Run("a wrong passphrase is refused and audited, and the fifth locks the contact", func(t *testing.T) {
			for i := 1; i <= 5; i++ {
				clock.Advance(time.Minute)
				_, err := s.RecordPhoneAuthorization(ctx, f.eng, org, f.req.ID, models.PhoneInput{ContactID: f.signer.ID, Passphrase: "blue harbour 24"})
				if i < 5 {
					v := wantInvalid(t, err, "passphrase", "operation.phone.wrong")
					if v.Args[0] != int64(5-i) {
						t.Fatalf("attempt %d: attempts left = %v", i, v.Args)
					}
				} else {
					wantInvalid(t, err, "passphrase", "operation.phone.locked")
				}
			}
			if n := len(auditOf(t, s, models.AuditPhoneRefused)); n != 5 {
				t.Fatalf("%d refusals audited, want 5", n)
			}
			if n := len(auditOf(t, s, models.AuditPhoneLocked)); n != 1 {
				t.Fatalf("%d locks audited, want 1", n)
			}
			_, err := s.RecordPhoneAuthorization(ctx, f.eng, org, f.req.ID, models.PhoneInput{ContactID: f.signer.ID, Passphrase: "blue harbour 42"})
			wantInvalid(t, err, "passphrase", "operation.phone.locked")
			c, _ := s.GetContact(ctx, models.OrgScope(org), f.signer.ID)
			if c.PhoneLocked(clock.Now()) == nil {
				t.Fatal("the contact is not shown as locked")
			}
			clock.Advance(61 * time.Minute)
			if _, err := s.RecordPhoneAuthorization(ctx, f.eng, org, f.req.ID, models.PhoneInput{ContactID: f.signer.ID, Passphrase: "blue harbour 42"}); err != nil {
				t.Fatalf("still locked an hour later: %v", err)
			}
		})
		t.Run("another organization's request is not found", func(t *testing.T) {
			_, err := s.RecordPhoneAuthorization(ctx, f.eng, f.fx.OrgB.ID, f.req.ID, models.PhoneInput{ContactID: f.signer.ID, Passphrase: "blue harbour 42"})
			if !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("err = %v", err)
			}
		})
	})
}

func TestOperationLifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		f := newOpFixture(t, s)
		org := f.fx.OrgA.ID
		a, err := f.upload(t, s, f.signer.ID)
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.GetRequestDetail(ctx, models.AllOrgs(), org, f.req.ID)
		if err != nil || len(d.Documents) != 1 {
			t.Fatalf("detail = %+v, %v", d, err)
		}
		doc := d.Documents[0]
		sum := sha256.Sum256(scanPNG(t))
		if doc.SHA256 != hex.EncodeToString(sum[:]) || doc.ContentType != "image/png" {
			t.Fatalf("document = %+v", doc)
		}
		fh, err := f.blobs.Open(context.Background(), doc.StorageKey)
		if err != nil {
			t.Fatal(err)
		}
		fh.Close()
		if _, err := s.GetDocumentByRef(ctx, models.AllOrgs(), f.fx.OrgB.ID, f.req.ID, doc.Ref); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("another organization reads the document: %v", err)
		}
		if err := s.AcceptAuthorization(ctx, f.eng, f.fx.OrgB.ID, f.req.ID, a.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("accepting through another organization: %v", err)
		}
		if err := s.AcceptAuthorization(ctx, f.eng, org, f.req.ID, a.ID); err != nil {
			t.Fatal(err)
		}
		clock.Advance(5 * time.Minute)
		start := clock.Now()
		if err := s.SetOperationState(ctx, f.eng, org, f.req.ID, models.StateInput{State: models.OpInProgress}); err != nil {
			t.Fatal(err)
		}
		// The device goes down during the work: an outage to classify.
		clock.Advance(time.Minute)
		failOutage(t, s, org, f.chk, clock.Now())
		clock.Advance(20 * time.Minute)
		recoverCheck(t, s, f.chk, clock.Now())
		wantInvalid(t, s.SetOperationState(ctx, f.eng, org, f.req.ID, models.StateInput{State: models.OpCompleted, Result: "success"}),
			"work_done", "error.required")
		clock.Advance(time.Minute)
		if err := s.SetOperationState(ctx, f.eng, org, f.req.ID, models.StateInput{State: models.OpCompleted, WorkDone: "Rebooted 重启完成",
			Result: "success", FollowUp: "Watch the logs"}); err != nil {
			t.Fatal(err)
		}
		wantInvalid(t, s.SetOperationState(ctx, f.eng, org, f.req.ID, models.StateInput{State: models.OpAbandoned}), "state", "operation.error.closed")
		d, err = s.GetRequestDetail(ctx, models.AllOrgs(), org, f.req.ID)
		if err != nil {
			t.Fatal(err)
		}
		r := d.Request
		if r.State != models.OpCompleted || r.StartedAt == nil || !r.StartedAt.Equal(start) || r.EndedAt == nil || r.EngineerID == nil || *r.EngineerID != f.fx.Engineer.ID {
			t.Fatalf("completed request = %+v", r)
		}
		states := 0
		for _, m := range d.Messages {
			if m.Kind == models.MessageState {
				states++
			}
		}
		if states != 2 {
			t.Fatalf("%d state changes in the timeline, want 2", states)
		}
		outs, err := s.OverlappingOutages(ctx, d)
		if err != nil || len(outs) != 1 {
			t.Fatalf("overlapping outages = %+v, %v", outs, err)
		}
		if n := len(auditOf(t, s, models.AuditOperationState)); n != 2 {
			t.Fatalf("%d state changes audited", n)
		}
	})
}

func TestEditingAContactKeepsItsPhoneLock(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		f := newOpFixture(t, s)
		org := f.fx.OrgA.ID
		stale, err := s.GetContact(ctx, models.OrgScope(org), f.signer.ID) // read before the lock, as a slow edit would
		if err != nil {
			t.Fatal(err)
		}
		for range models.PhoneLockAfter {
			s.RecordPhoneAuthorization(ctx, f.eng, org, f.req.ID, models.PhoneInput{ContactID: f.signer.ID, Passphrase: "wrong passphrase"})
		}
		_, err = s.UpdateContact(ctx, f.customer, org, stale.ID, models.ContactInput{Name: stale.Name, Email: stale.Email,
			Channels: []models.Channel{models.ChannelEmail}, MayAuthorize: true, Locale: "en"})
		if err != nil {
			t.Fatal(err)
		}
		c, _ := s.GetContact(ctx, models.OrgScope(org), f.signer.ID)
		if c.PhoneLocked(clock.Now()) == nil || c.Locale != "en" {
			t.Fatalf("after the edit: locked until %v, locale %q", c.PhoneLockedUntil, c.Locale)
		}
	})
}

func TestWrittenFormAfterThePhoneIsFiledOnAFinishedRequest(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		f := newOpFixture(t, s)
		org := f.fx.OrgA.ID
		phone, err := s.RecordPhoneAuthorization(ctx, f.eng, org, f.req.ID, models.PhoneInput{ContactID: f.signer.ID, Passphrase: "blue harbour 42"})
		if err != nil {
			t.Fatal(err)
		}
		early := clock.Now().Add(-time.Hour)
		wantInvalid(t, s.SetOperationState(ctx, f.eng, org, f.req.ID, models.StateInput{State: models.OpInProgress, StartedAt: &early}),
			"started_at", "operation.error.before_authorization")
		if err := s.SetOperationState(ctx, f.eng, org, f.req.ID, models.StateInput{State: models.OpInProgress}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Hour)
		if err := s.SetOperationState(ctx, f.eng, org, f.req.ID, models.StateInput{State: models.OpCompleted, WorkDone: "done", Result: "success"}); err != nil {
			t.Fatal(err)
		}
		ops, err := s.OnCallOperations(ctx, models.AllOrgs())
		if err != nil || len(ops) != 0 {
			t.Fatalf("on call before the form is overdue: %+v, %v", ops, err)
		}
		clock.Advance(24 * time.Hour)
		if ops, _ = s.OnCallOperations(ctx, models.AllOrgs()); len(ops) != 1 || ops[0].Overdue != 1 {
			t.Fatalf("a finished request with an overdue signed form is not on call: %+v", ops)
		}
		w, err := f.upload(t, s, f.signer.ID)
		if err != nil {
			t.Fatalf("the signed form cannot be filed on the finished request: %v", err)
		}
		if err := s.AcceptAuthorization(ctx, f.eng, org, f.req.ID, w.ID); err != nil {
			t.Fatal(err)
		}
		r, _ := s.GetRequest(ctx, models.OrgScope(org), f.req.ID)
		if r.State != models.OpCompleted {
			t.Fatalf("filing the form changed the state to %s", r.State)
		}
		if over, _ := s.OverdueFollowUps(ctx, models.AllOrgs(), org); len(over) != 0 {
			t.Fatalf("still overdue: %+v", over)
		}
		d, _ := s.GetRequestDetail(ctx, models.AllOrgs(), org, f.req.ID)
		for _, a := range d.Authorizations {
			if a.ID == phone.ID && (a.FollowedByID == nil || *a.FollowedByID != w.ID) {
				t.Fatalf("the phone authorization is not linked to its form: %+v", a)
			}
		}
		if _, err := f.upload(t, s, f.signer.ID); err == nil {
			t.Fatal("a second form was filed on a finished request with nothing waiting")
		}
	})
}

func TestAuthorizationsAreDecidedThroughTheirOwnRequest(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		f := newOpFixture(t, s)
		org := f.fx.OrgA.ID
		other, err := s.CreateRequest(ctx, f.customer, org, models.RequestInput{Title: "other", Work: "other", Urgency: "normal", DeviceIDs: []int64{f.dev.ID}})
		if err != nil {
			t.Fatal(err)
		}
		a, err := f.upload(t, s, f.signer.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AcceptAuthorization(ctx, f.eng, org, other.ID, a.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("accepted through another request: %v", err)
		}
		if err := s.RejectAuthorization(ctx, f.eng, org, other.ID, a.ID, "no"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("rejected through another request: %v", err)
		}
	})
}

func TestConcurrentAuthorizationsTakeTurns(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		f := newOpFixture(t, s)
		org := f.fx.OrgA.ID
		t.Run("twelve wrong passphrases at once lock the contact after exactly five", func(t *testing.T) {
			var wg sync.WaitGroup
			errs := make(chan error, 12)
			for range 12 {
				wg.Go(func() {
					_, err := s.RecordPhoneAuthorization(ctx, f.eng, org, f.req.ID, models.PhoneInput{ContactID: f.signer.ID, Passphrase: "wrong passphrase"})
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			locked := 0
			for err := range errs {
				v, ok := models.AsValidation(err)
				if !ok {
					t.Fatalf("attempt: %v", err)
				}
				if v.Key == "operation.phone.locked" {
					locked++
				}
			}
			if n := len(auditOf(t, s, models.AuditPhoneRefused)); n != models.PhoneLockAfter {
				t.Fatalf("%d wrong passphrases recorded, want %d", n, models.PhoneLockAfter)
			}
			if locked != 12-models.PhoneLockAfter+1 {
				t.Fatalf("%d attempts answered locked, want %d", locked, 12-models.PhoneLockAfter+1)
			}
			if c, _ := s.GetContact(ctx, models.OrgScope(org), f.signer.ID); c.PhoneLocked(clock.Now()) == nil {
				t.Fatal("the contact is not locked")
			}
		})
		t.Run("two forms accepted at once start one feedback clock", func(t *testing.T) {
			a1, err := f.upload(t, s, f.signer.ID)
			if err != nil {
				t.Fatal(err)
			}
			a2, err := f.upload(t, s, f.signer.ID)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make(chan error, 2)
			for _, id := range []int64{a1.ID, a2.ID} {
				wg.Go(func() { errs <- s.AcceptAuthorization(ctx, f.eng, org, f.req.ID, id) })
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatalf("accept: %v", err)
				}
			}
			cs, _ := s.RequestClocks(ctx, models.AllOrgs(), org, f.req.ID)
			if len(cs) != 1 || cs[0].Kind != models.ClockOperationFeedback {
				t.Fatalf("clocks = %+v, want one feedback clock", cs)
			}
		})
	})
}
