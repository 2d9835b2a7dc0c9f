package notify

import (
	"context"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// heldReceiver is a customer's TLS receiver that takes each request and
// answers it only when released: a tarpit for as long as a test likes.
type heldReceiver struct {
	srv     *httptest.Server
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	seen    []string // X-Portal-Delivery of each request, in order
}

func startHeldReceiver(t *testing.T, held bool) *heldReceiver {
	t.Helper()
	h := &heldReceiver{release: make(chan struct{})}
	if !held {
		close(h.release)
		h.once.Do(func() {})
	}
	h.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.seen = append(h.seen, r.Header.Get(HeaderDelivery))
		h.mu.Unlock()
		<-h.release
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(func() { h.free(); h.srv.Close() })
	return h
}

func (h *heldReceiver) free() { h.once.Do(func() { close(h.release) }) }

func (h *heldReceiver) requests() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.seen...)
}

// waitFor polls cond for up to 20 s of real time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%s: not so after 20 s", what)
		}
	}
}

// Review 18: customer webhooks were sent inside the dispatcher's pass, so
// one customer's slow or silent receiver (and its "send test event"
// button pressed a dozen times) held up every organization's notices and
// the clock sweep. Now they have a loop of their own: while Alpha's
// receiver holds its request, Bravo's test event is sent and a notice
// for Bravo made meanwhile goes out. On shutdown the held send finishes
// and is recorded once. (The share of each endpoint in a claim:
// models' TestClaimHookDeliveriesSharesAmongEndpoints.)
func TestWebhookHeldReceiverHoldsUpNoNoticeNorOtherEndpoint(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := hookStore(t, db, clock)
			fx := dbtest.Seed(t, s)
			adminOf(t, s, fx.CustA)
			adminOf(t, s, fx.CustB)
			slow, fast := startHeldReceiver(t, true), startHeldReceiver(t, false)
			pool := x509.NewCertPool()
			pool.AddCert(slow.srv.Certificate())
			pool.AddCert(fast.srv.Certificate())
			ea, _ := endpoint(t, s, fx.CustA, slow.srv.URL+"/hook")
			alpha := []int64{ping(t, s, fx.CustA, ea).ID}
			eb, _ := endpoint(t, s, fx.CustB, fast.srv.URL+"/hook")
			bravo := ping(t, s, fx.CustB, eb)

			sink := startSMTP(t, ModeNone, nil, "", "")
			disp := hookDispatcher(t, s, clock, "portal-a", sink.port(t), HooksConfig{AllowPrivate: true, RootCAs: pool,
				Timeout: time.Minute})
			runCtx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				defer close(done)
				if err := disp.Run(runCtx); err != nil {
					t.Errorf("Run: %v", err)
				}
			}()
			stopped := false
			stop := func() {
				if !stopped {
					stopped = true
					slow.free()
					cancel()
					<-done
				}
			}
			t.Cleanup(stop)

			waitFor(t, "Alpha's receiver holds a request", func() bool { return len(slow.requests()) > 0 })
			waitFor(t, "Bravo's test event sent beside Alpha's", func() bool {
				return len(fast.requests()) == 1 && fast.requests()[0] == strconv.FormatInt(bravo.ID, 10)
			})
			// A notice for Bravo made now, while Alpha's receiver still
			// holds its requests, goes out at the next pass.
			sites, err := s.ListSites(ctx)
			if err != nil || len(sites) == 0 {
				t.Fatalf("sites %v (%v)", sites, err)
			}
			sh := shanghai(t)
			v, err := s.CreateVisit(ctx, models.UserActor(fx.CustB, "192.0.2.10"), fx.OrgB.ID, models.VisitInput{SiteID: sites[0].ID,
				Activity: "tour", Reason: "a tour", PlannedFrom: time.Date(2026, 11, 3, 10, 0, 0, 0, sh),
				PlannedTo: time.Date(2026, 11, 3, 16, 0, 0, 0, sh), Locale: "en",
				Visitors: []models.VisitorInput{{Name: "张伟", IDType: models.IDResident, IDNumber: "110101199003071233", Phone: "13812345678"}}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.RefuseVisit(ctx, models.UserActor(fx.Reception, "10.0.0.9"), fx.OrgB.ID, v.ID, "closed that day", time.Time{}); err != nil {
				t.Fatal(err)
			}
			clock.Advance(disp.cfg.Poll)
			waitFor(t, "Bravo's refusal emailed while Alpha's receiver holds", func() bool { return len(sink.all()) > 0 })
			held := slow.requests()
			if n := len(held); n == 0 || n > models.HookClaimPerEndpoint {
				t.Errorf("Alpha's receiver holds %d requests, want 1..%d (a claim's share of one endpoint)", n, models.HookClaimPerEndpoint)
			}
			for _, id := range alpha {
				if d, _ := hookDelivery(t, s, fx.CustA, ea, id); d.Status != models.HookPending {
					t.Errorf("Alpha's delivery %d is %s while its receiver still holds it, want pending", id, d.Status)
				}
			}

			// Shutdown while the sends are held: they finish, are recorded,
			// and nothing is sent twice.
			stop()
			sent := map[string]int{}
			for _, id := range slow.requests() {
				sent[id]++
			}
			for _, id := range alpha {
				d, as := hookDelivery(t, s, fx.CustA, ea, id)
				n := sent[strconv.FormatInt(id, 10)]
				switch {
				case n > 1:
					t.Errorf("delivery %d sent %d times", id, n)
				case n == 1 && (d.Status != models.HookDelivered || len(as) != 1):
					t.Errorf("delivery %d sent once but recorded %s with %d attempts", id, d.Status, len(as))
				case n == 0 && (d.Status != models.HookPending || len(as) != 0):
					t.Errorf("delivery %d never sent but recorded %s with %d attempts", id, d.Status, len(as))
				}
			}
			for _, id := range held {
				if sent[id] != 1 {
					t.Errorf("held delivery %s: sent %d times, want once", id, sent[id])
				}
			}
		})
	}
}
