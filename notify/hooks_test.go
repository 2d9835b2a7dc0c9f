package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"github.com/colo-portal/portal/models/metricstest"
)

// receiver is a customer's TLS webhook receiver: it checks each request's
// signature on its own (HMAC-SHA256 of timestamp "." body, not with
// Sign), keeps every request, counts them per X-Portal-Delivery, and
// answers with answer (200 by default).
type receiver struct {
	srv    *httptest.Server
	pool   *x509.CertPool
	mu     sync.Mutex
	secret string
	got    []hookRequest
	per    map[string]int
	bad    int
	answer func(delivery string, n int) (int, string)
	// location, when set, is sent as the Location header.
	location string
}

type hookRequest struct {
	Header  http.Header
	Body    []byte
	Payload models.HookPayload
	TS      int64
}

func startReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{per: map[string]int{}}
	rc.srv = httptest.NewTLSServer(rc)
	t.Cleanup(rc.srv.Close)
	rc.pool = x509.NewCertPool()
	rc.pool.AddCert(rc.srv.Certificate())
	return rc
}

func (rc *receiver) url() string { return rc.srv.URL + "/hooks/portal" }

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	ts, err := strconv.ParseInt(r.Header.Get(HeaderTimestamp), 10, 64)
	mac := hmac.New(sha256.New, []byte(rc.secret))
	mac.Write([]byte(r.Header.Get(HeaderTimestamp) + "." + string(body)))
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
		!hmac.Equal([]byte(r.Header.Get(HeaderSignature)), []byte(want)) {
		rc.bad++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var p models.HookPayload
	if err := json.Unmarshal(body, &p); err != nil {
		rc.bad++
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id := r.Header.Get(HeaderDelivery)
	rc.per[id]++
	rc.got = append(rc.got, hookRequest{Header: r.Header.Clone(), Body: body, Payload: p, TS: ts})
	status, text := http.StatusOK, "ok"
	if rc.answer != nil {
		status, text = rc.answer(id, rc.per[id])
	}
	if rc.location != "" {
		w.Header().Set("Location", rc.location)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, text)
}

func (rc *receiver) requests() []hookRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hookRequest(nil), rc.got...)
}

func (rc *receiver) count(deliveryID int64) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.per[strconv.FormatInt(deliveryID, 10)]
}

// hookStore is a test store that lets endpoints at 127.0.0.1 be
// registered (the receivers listen there).
func hookStore(t *testing.T, db dbtest.DB, clock *fakeClock) *models.Store {
	t.Helper()
	return dbtest.Open(t, db, models.WithClock(clock.Now), models.WithZone(shanghai(t)),
		models.WithHookRules(models.HookRules{AllowPrivate: true}))
}

// hookDispatcher is a dispatcher with email (to the sink) and the given
// webhook settings; the receivers' certificate authority is trusted.
func hookDispatcher(t *testing.T, s *models.Store, clock *fakeClock, id string, smtpPort int, hc HooksConfig) *Dispatcher {
	t.Helper()
	if hc.Timeout == 0 {
		hc.Timeout = 5 * time.Second
	}
	cfg := Config{InstanceID: id, BaseURL: "https://portal.example", Location: shanghai(t), Clock: clock, Workers: 3,
		SMTP: SMTPConfig{Host: "127.0.0.1", Port: smtpPort, Mode: ModeNone, From: "Colo NOC <noc@idc.test>",
			HeloName: "portal.test", Timeout: 5 * time.Second}, Hooks: hc}
	return New(cfg, s, testLogger())
}

// adminOf makes the organization's customer user its administrator.
func adminOf(t *testing.T, s *models.Store, u *models.User) {
	t.Helper()
	if err := s.SetOrgAdmin(context.Background(), models.SystemActor("test"), u.ID, true); err != nil {
		t.Fatal(err)
	}
}

func endpoint(t *testing.T, s *models.Store, u *models.User, url string, events ...string) (*models.WebhookEndpoint, string) {
	t.Helper()
	if len(events) == 0 {
		events = []string{models.HookVisitApproved}
	}
	e, secret, err := s.CreateWebhook(context.Background(), models.UserActor(u, "192.0.2.1"), models.ScopeOf(u), *u.OrgID,
		models.WebhookInput{URL: url, Description: "ops", Events: events})
	if err != nil {
		t.Fatal(err)
	}
	return e, secret
}

func ping(t *testing.T, s *models.Store, u *models.User, e *models.WebhookEndpoint) *models.WebhookDelivery {
	t.Helper()
	d, err := s.SendWebhookTest(context.Background(), models.UserActor(u, "192.0.2.1"), models.ScopeOf(u), e.Ref)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func hookDelivery(t *testing.T, s *models.Store, u *models.User, e *models.WebhookEndpoint, id int64) (*models.WebhookDelivery, []models.WebhookAttempt) {
	t.Helper()
	d, as, err := s.GetWebhookDelivery(context.Background(), models.ScopeOf(u), e, id)
	if err != nil {
		t.Fatal(err)
	}
	return d, as
}

func hookDone(t *testing.T, s *models.Store, u *models.User, e *models.WebhookEndpoint, ids ...int64) func() bool {
	return func() bool {
		for _, id := range ids {
			if d, _ := hookDelivery(t, s, u, e, id); d.Status == models.HookPending {
				return false
			}
		}
		return true
	}
}

// A test event to a TLS receiver that fails twice, then takes it: three
// signed attempts of one delivery (same delivery ID, a fresh timestamp
// each), delivered once, every attempt in the log with its status and
// the start of the answer, and the endpoint's run of failures reset.
func TestWebhookSignedRetriedAndLogged(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			clock := newFakeClock()
			s := hookStore(t, db, clock)
			fx := dbtest.Seed(t, s)
			adminOf(t, s, fx.CustA)
			rc := startReceiver(t)
			rc.answer = func(_ string, n int) (int, string) {
				if n <= 2 {
					return http.StatusInternalServerError, "busy " + strings.Repeat("x", 2000)
				}
				return http.StatusOK, "thanks"
			}
			e, secret := endpoint(t, s, fx.CustA, rc.url())
			if !strings.HasPrefix(secret, models.HookSecretPrefix) || strings.Contains(e.Secret, secret) {
				t.Fatalf("secret %q (stored %q): want whsec_… kept sealed", secret, e.Secret)
			}
			rc.secret = secret
			start := clock.Now()
			d := ping(t, s, fx.CustA, e)
			sink := startSMTP(t, ModeNone, nil, "", "")
			disp := hookDispatcher(t, s, clock, "portal-a", sink.port(t), HooksConfig{AllowPrivate: true, RootCAs: rc.pool})
			reg := prometheus.NewRegistry()
			disp.register(reg)
			r := startDispatchers(t, clock, disp)
			r.until(10*time.Minute, "the ping delivered", hookDone(t, s, fx.CustA, e, d.ID))
			r.step(2 * time.Hour) // room for anything extra

			reqs := rc.requests()
			if len(reqs) != 3 || rc.bad != 0 {
				t.Fatalf("%d requests (%d badly signed), want 3 signed", len(reqs), rc.bad)
			}
			var last int64
			for i, q := range reqs {
				if q.Header.Get(HeaderDelivery) != strconv.FormatInt(d.ID, 10) || q.Header.Get(HeaderEvent) != models.HookPing {
					t.Errorf("request %d: delivery %q event %q", i, q.Header.Get(HeaderDelivery), q.Header.Get(HeaderEvent))
				}
				if q.TS < start.Unix() || q.TS > clock.Now().Unix() || q.TS <= last {
					t.Errorf("request %d: timestamp %d not a fresh time of the attempt (after %d)", i, q.TS, last)
				}
				last = q.TS
				if q.Header.Get(HeaderSignature) != Sign(secret, strconv.FormatInt(q.TS, 10), q.Body) {
					t.Errorf("request %d: Sign disagrees with the receiver's check", i)
				}
				p := q.Payload
				if !strings.HasPrefix(p.ID, "ping_") || p.Type != models.HookPing || p.Organization.Slug != "alpha" ||
					p.Organization.ID != fx.OrgA.ID || p.Data["ref"] != e.Ref || p.CreatedAt.IsZero() {
					t.Errorf("request %d: payload %+v", i, p)
				}
				if string(q.Body) != string(reqs[0].Body) {
					t.Errorf("request %d: the payload changed between attempts", i)
				}
			}
			got, as := hookDelivery(t, s, fx.CustA, e, d.ID)
			if got.Status != models.HookDelivered || got.Attempts != 3 || got.LastStatus != 200 || len(as) != 3 {
				t.Fatalf("delivery %+v with %d attempts, want delivered at the third", got, len(as))
			}
			for i, want := range []int{500, 500, 200} {
				if as[i].StatusCode != want {
					t.Errorf("attempt %d: status %d, want %d", i+1, as[i].StatusCode, want)
				}
			}
			if !strings.HasPrefix(as[0].Response, "busy xx") || len(as[0].Response) != models.HookResponseKept || as[0].Error == "" {
				t.Errorf("first attempt kept %d bytes of the answer (%q…), error %q", len(as[0].Response), as[0].Response[:10], as[0].Error)
			}
			if as[2].Response != "thanks" || as[2].Error != "" {
				t.Errorf("last attempt: %+v", as[2])
			}
			if gap := as[1].At.Sub(as[0].At); gap < HookBackoff(1) {
				t.Errorf("second attempt %s after the first, want at least %s", gap, HookBackoff(1))
			}
			if gap := as[2].At.Sub(as[1].At); gap < HookBackoff(2) {
				t.Errorf("third attempt %s after the second, want at least %s", gap, HookBackoff(2))
			}
			fams := metricstest.Gather(t, reg)
			for outcome, want := range map[string]float64{"retry": 2, "delivered": 1} {
				if v, _ := fams.Value("portal_webhook_deliveries_total", "outcome", outcome); v != want {
					t.Errorf("portal_webhook_deliveries_total{outcome=%q} = %v, want %v", outcome, v, want)
				}
			}
			ep, err := s.GetWebhook(context.Background(), models.ScopeOf(fx.CustA), e.Ref)
			if err != nil || ep.Failures != 0 || !ep.Enabled {
				t.Fatalf("endpoint after a success: %+v (%v)", ep, err)
			}
		})
	}
}

// Reception's decisions reach the endpoints subscribed to them, once per
// endpoint and event, and only their own organization's: an endpoint of
// Alpha not subscribed to approvals gets nothing, and Bravo's endpoint
// gets Bravo's refusal only.
func TestWebhookFanOutFollowsSubscriptionsAndOrganizations(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := hookStore(t, db, clock)
			fx := dbtest.Seed(t, s)
			adminOf(t, s, fx.CustA)
			adminOf(t, s, fx.CustB)
			ra, rb, rOther := startReceiver(t), startReceiver(t), startReceiver(t)
			pool := x509.NewCertPool()
			for _, rc := range []*receiver{ra, rb, rOther} {
				pool.AddCert(rc.srv.Certificate())
			}
			ea, secretA := endpoint(t, s, fx.CustA, ra.url(), models.HookVisitApproved, models.HookVisitRefused)
			_, secretO := endpoint(t, s, fx.CustA, rOther.url(), models.HookOutageClosed)
			eb, secretB := endpoint(t, s, fx.CustB, rb.url(), models.HookVisitApproved, models.HookVisitRefused)
			ra.secret, rb.secret, rOther.secret = secretA, secretB, secretO

			sites, err := s.ListSites(ctx)
			if err != nil || len(sites) == 0 {
				t.Fatalf("sites %v (%v)", sites, err)
			}
			sh := shanghai(t)
			ask := func(u *models.User) *models.Visit {
				t.Helper()
				v, err := s.CreateVisit(ctx, models.UserActor(u, "192.0.2.10"), *u.OrgID, models.VisitInput{SiteID: sites[0].ID,
					Activity: "tour", Reason: "a tour", PlannedFrom: time.Date(2026, 11, 3, 10, 0, 0, 0, sh),
					PlannedTo: time.Date(2026, 11, 3, 16, 0, 0, 0, sh), Locale: "en",
					Visitors: []models.VisitorInput{{Name: "张伟", IDType: models.IDResident, IDNumber: "110101199003071233", Phone: "13812345678"}}})
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			va, vb := ask(fx.CustA), ask(fx.CustB)
			rec := models.UserActor(fx.Reception, "10.0.0.9")
			if _, err := s.ApproveVisit(ctx, rec, fx.OrgA.ID, va.ID, models.ApproveInput{EscortID: fx.Engineer.ID}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.RefuseVisit(ctx, rec, fx.OrgB.ID, vb.ID, "closed that day", time.Time{}); err != nil {
				t.Fatal(err)
			}
			sink := startSMTP(t, ModeNone, nil, "", "")
			r := startDispatchers(t, clock, hookDispatcher(t, s, clock, "portal-a", sink.port(t), HooksConfig{AllowPrivate: true, RootCAs: pool}))
			r.until(time.Minute, "both decisions sent", func() bool { return len(ra.requests()) == 1 && len(rb.requests()) == 1 })
			r.step(time.Minute)

			if n := len(rOther.requests()); n != 0 {
				t.Errorf("the endpoint subscribed to outage.closed only got %d requests", n)
			}
			qa, qb := ra.requests(), rb.requests()
			if len(qa) != 1 || len(qb) != 1 {
				t.Fatalf("Alpha got %d, Bravo %d requests; want one each", len(qa), len(qb))
			}
			pa, pb := qa[0].Payload, qb[0].Payload
			if pa.Type != models.HookVisitApproved || pa.Data["ref"] != va.Ref || pa.Organization.ID != fx.OrgA.ID ||
				!strings.HasPrefix(pa.ID, "evt_") || pa.Data["api_url"] != "/api/v1/visits/"+va.Ref {
				t.Errorf("Alpha's payload %+v", pa)
			}
			if pb.Type != models.HookVisitRefused || pb.Data["ref"] != vb.Ref || pb.Organization.Slug != "bravo" {
				t.Errorf("Bravo's payload %+v", pb)
			}
			la, err := s.ListWebhookDeliveries(ctx, models.ScopeOf(fx.CustA), ea, 0, 10)
			if err != nil || len(la) != 1 || la[0].Status != models.HookDelivered {
				t.Errorf("Alpha's log %+v (%v)", la, err)
			}
			// Bravo's endpoint is not Alpha's to read.
			if _, err := s.ListWebhookDeliveries(ctx, models.ScopeOf(fx.CustA), eb, 0, 10); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("Alpha reading Bravo's log: %v, want not found", err)
			}
		})
	}
}

// A receiver that dies: the deliveries are retried with backoff until the
// endpoint has failed DisableAfter times in a row; then it is disabled
// (audited as the portal), its pending deliveries stop, the
// organization's administrator is emailed once, and nothing more is
// tried. The delivery the receiver took before it died was sent once.
func TestWebhookKilledReceiverIsRetriedThenDisabled(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := hookStore(t, db, clock)
			fx := dbtest.Seed(t, s)
			adminOf(t, s, fx.CustA)
			if err := s.SetLocale(ctx, fx.CustA.ID, "en"); err != nil {
				t.Fatal(err)
			}
			rc := startReceiver(t)
			e, secret := endpoint(t, s, fx.CustA, rc.url())
			rc.secret = secret
			sink := startSMTP(t, ModeNone, nil, "", "")
			r := startDispatchers(t, clock, hookDispatcher(t, s, clock, "portal-a", sink.port(t),
				HooksConfig{AllowPrivate: true, RootCAs: rc.pool, DisableAfter: 4}))
			first := ping(t, s, fx.CustA, e)
			r.until(time.Minute, "the first ping delivered", hookDone(t, s, fx.CustA, e, first.ID))
			rc.srv.Close()                // the receiver dies
			d1 := ping(t, s, fx.CustA, e) // one test at a time
			r.until(2*time.Hour, "the endpoint disabled", func() bool {
				ep, err := s.GetWebhook(ctx, models.AllOrgs(), e.Ref)
				return err == nil && !ep.Enabled
			})
			r.until(time.Minute, "the administrator emailed", func() bool { return len(eventMails(t, sink, models.EventWebhookDisabled)) > 0 })
			r.step(3 * time.Hour) // nothing more may happen
			r.step(3 * time.Hour)

			ep, err := s.GetWebhook(ctx, models.AllOrgs(), e.Ref)
			if err != nil || ep.Enabled || ep.DisabledReason != models.HookDisabledFailures || ep.DisabledAt == nil || ep.Failures != 4 {
				t.Fatalf("endpoint %+v (%v), want disabled after 4 failures", ep, err)
			}
			tried := 0
			for _, id := range []int64{d1.ID} {
				d, as := hookDelivery(t, s, fx.CustA, e, id)
				if d.Status != models.HookStopped || d.Attempts != len(as) || len(as) == 0 {
					t.Errorf("delivery %d: %s after %d attempts (%d logged), want stopped", id, d.Status, d.Attempts, len(as))
				}
				for _, a := range as {
					if a.StatusCode != 0 || a.Error == "" {
						t.Errorf("attempt to the dead receiver: %+v", a)
					}
				}
				tried += len(as)
			}
			if tried != 4 {
				t.Errorf("%d attempts to the dead receiver, want 4 (then disabled)", tried)
			}
			if d, as := hookDelivery(t, s, fx.CustA, e, first.ID); rc.count(first.ID) != 1 || d.Attempts != 1 || len(as) != 1 {
				t.Errorf("the delivered ping: received %d times, %d attempts", rc.count(first.ID), d.Attempts)
			}
			ms := mailsTo(t, sink, models.EventWebhookDisabled, fx.CustA.Email)
			if len(ms) != 1 || len(eventMails(t, sink, models.EventWebhookDisabled)) != 1 {
				t.Fatalf("%d emails to the administrator, want 1 (and none to anyone else)", len(ms))
			}
			if !strings.Contains(ms[0].Subject, "Webhook endpoint disabled") || !strings.Contains(ms[0].Body, rc.url()) ||
				!strings.Contains(ms[0].Body, "https://portal.example/webhooks/"+e.Ref) || !strings.Contains(ms[0].Body, "4 failed attempts") {
				t.Errorf("email %q:\n%s", ms[0].Subject, ms[0].Body)
			}
			evs, err := s.ListAudit(ctx, models.AllOrgs(), models.AuditFilter{Action: models.AuditWebhookDisabled, Limit: 10})
			if err != nil || len(evs) != 1 || evs[0].ActorID != nil || evs[0].OrgID == nil || *evs[0].OrgID != fx.OrgA.ID {
				t.Errorf("audit of the disabling: %+v (%v)", evs, err)
			}
			// Enabled again by the administrator: the count starts over.
			if err := s.SetWebhookEnabled(ctx, models.UserActor(fx.CustA, "192.0.2.1"), models.ScopeOf(fx.CustA), e.Ref, true); err != nil {
				t.Fatal(err)
			}
			if ep, _ := s.GetWebhook(ctx, models.AllOrgs(), e.Ref); !ep.Enabled || ep.Failures != 0 || ep.DisabledAt != nil {
				t.Errorf("re-enabled endpoint %+v", ep)
			}
		})
	}
}

// Two dispatchers sharing the work never make one attempt twice: every
// delivery reaches the receiver exactly as many times as attempts are
// logged (one failure, then the success).
func TestWebhookTwoDispatchersNeverSendAnAttemptTwice(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			clock := newFakeClock()
			s := hookStore(t, db, clock)
			fx := dbtest.Seed(t, s)
			adminOf(t, s, fx.CustA)
			// One test event at a time per endpoint: ten endpoints, each
			// with its own receiver, make the backlog.
			pool := x509.NewCertPool()
			type pinged struct {
				rc *receiver
				e  *models.WebhookEndpoint
				id int64
			}
			var all []pinged
			for range models.MaxWebhooksPerOrg {
				rc := startReceiver(t)
				rc.answer = func(_ string, n int) (int, string) {
					if n == 1 {
						return http.StatusServiceUnavailable, "later"
					}
					return http.StatusNoContent, ""
				}
				pool.AddCert(rc.srv.Certificate())
				e, secret := endpoint(t, s, fx.CustA, rc.url())
				rc.secret = secret
				all = append(all, pinged{rc, e, ping(t, s, fx.CustA, e).ID})
			}
			sink := startSMTP(t, ModeNone, nil, "", "")
			hc := HooksConfig{AllowPrivate: true, RootCAs: pool, DisableAfter: 1000}
			r := startDispatchers(t, clock, hookDispatcher(t, s, clock, "portal-a", sink.port(t), hc),
				hookDispatcher(t, s, clock, "portal-b", sink.port(t), hc))
			r.until(10*time.Minute, "every ping delivered", func() bool {
				for _, p := range all {
					if !hookDone(t, s, fx.CustA, p.e, p.id)() {
						return false
					}
				}
				return true
			})
			r.step(time.Hour)
			for _, p := range all {
				d, as := hookDelivery(t, s, fx.CustA, p.e, p.id)
				if n := p.rc.count(p.id); n != 2 || d.Attempts != 2 || len(as) != 2 || d.Status != models.HookDelivered {
					t.Errorf("delivery %d: received %d times, %d attempts (%d logged), %s; want 2, 2, delivered", p.id, n, d.Attempts, len(as), d.Status)
				}
				if p.rc.bad != 0 {
					t.Errorf("%d badly signed requests", p.rc.bad)
				}
			}
		})
	}
}

// Without PORTAL_HOOKS_ALLOW_PRIVATE the dialer refuses a loopback
// address when connecting, by IP and by a name that resolves to it: the
// receiver gets nothing and the attempt says why.
func TestWebhookSenderRefusesInternalAddresses(t *testing.T) {
	rc := startReceiver(t)
	rc.secret = "whsec_test"
	h := newHookSender(HooksConfig{RootCAs: rc.pool, Timeout: 5 * time.Second})
	port := rc.srv.URL[strings.LastIndex(rc.srv.URL, ":")+1:]
	for _, url := range []string{rc.url(), "https://localhost:" + port + "/hooks", "https://[::1]:" + port + "/hooks"} {
		r := h.send(context.Background(), models.HookJob{Delivery: models.WebhookDelivery{ID: 7, Event: models.HookPing, Payload: "{}"},
			URL: url, Secret: "whsec_test"}, time.Now())
		if r.Delivered || r.StatusCode != 0 || !strings.Contains(r.Problem, ErrAddressRefused.Error()) {
			t.Errorf("%s: %+v, want refused", url, r)
		}
	}
	if n := len(rc.requests()); n != 0 {
		t.Fatalf("the receiver got %d requests", n)
	}
	// The same sender with the setting reaches it.
	h = newHookSender(HooksConfig{RootCAs: rc.pool, Timeout: 5 * time.Second, AllowPrivate: true})
	r := h.send(context.Background(), models.HookJob{Delivery: models.WebhookDelivery{ID: 7, Event: models.HookPing, Payload: "{}"},
		URL: rc.url(), Secret: "whsec_test"}, time.Now())
	if !r.Delivered || r.StatusCode != 200 {
		t.Fatalf("with AllowPrivate: %+v", r)
	}
}

// A redirect is an answer, never followed: the attempt fails with its
// status and the target is not asked.
func TestWebhookRedirectIsNotFollowed(t *testing.T) {
	target := startReceiver(t)
	rc := startReceiver(t)
	rc.secret, target.secret = "whsec_test", "whsec_test"
	rc.answer = func(string, int) (int, string) { return http.StatusFound, "" }
	rc.location = target.url()
	h := newHookSender(HooksConfig{RootCAs: rc.pool, Timeout: 5 * time.Second, AllowPrivate: true})
	r := h.send(context.Background(), models.HookJob{Delivery: models.WebhookDelivery{ID: 7, Event: models.HookPing, Payload: "{}"},
		URL: rc.url(), Secret: "whsec_test"}, time.Now())
	if r.Delivered || r.StatusCode != http.StatusFound {
		t.Fatalf("redirect: %+v", r)
	}
	if n := len(target.requests()); n != 0 {
		t.Fatalf("the redirect target got %d requests", n)
	}
}

func TestHookBackoffDoublesUpToAnHour(t *testing.T) {
	// 30 s × 2^7 = 64 min at the eighth failure: bounded to the hour.
	for failed, want := range map[int]time.Duration{1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute, 7: 32 * time.Minute,
		8: time.Hour, 20: time.Hour} {
		if got := HookBackoff(failed); got != want {
			t.Errorf("HookBackoff(%d) = %s, want %s", failed, got, want)
		}
	}
}

// An outage end to end: the prober's results write the outage's webhook
// events (models/webhook_event.go), ExpandEvent fans them out, and the
// receiver gets confirmed and closed, each once, in that order, naming
// the outage; the endpoint did not ask for the first failed probe.
func TestWebhookOutageEventsReachTheReceiver(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			clock := newFakeClock()
			s := hookStore(t, db, clock)
			fx := dbtest.Seed(t, s)
			adminOf(t, s, fx.CustA)
			rc := startReceiver(t)
			_, secret := endpoint(t, s, fx.CustA, rc.url(), models.HookOutageConfirmed, models.HookOutageClosed)
			rc.secret = secret
			w := newWorld(t, s, fx, fx.OrgA, "web-01.alpha", "192.0.2.10")
			out := w.fail(t, clock.Now())
			sink := startSMTP(t, ModeNone, nil, "", "")
			r := startDispatchers(t, clock, hookDispatcher(t, s, clock, "portal-a", sink.port(t), HooksConfig{AllowPrivate: true, RootCAs: rc.pool}))
			r.until(time.Minute, "outage.confirmed sent", func() bool { return len(rc.requests()) == 1 })
			clock.Advance(10 * time.Minute)
			w.recover(t, clock.Now())
			r.until(time.Minute, "outage.closed sent", func() bool { return len(rc.requests()) == 2 })
			r.step(time.Hour)
			reqs := rc.requests()
			if len(reqs) != 2 || rc.bad != 0 {
				t.Fatalf("%d requests (%d bad), want confirmed and closed", len(reqs), rc.bad)
			}
			for i, want := range []string{models.HookOutageConfirmed, models.HookOutageClosed} {
				p := reqs[i].Payload
				if p.Type != want || reqs[i].Header.Get(HeaderEvent) != want || p.Organization.ID != fx.OrgA.ID {
					t.Errorf("request %d: %s %+v, want %s", i, reqs[i].Header.Get(HeaderEvent), p, want)
				}
				if !strings.Contains(string(reqs[i].Body), strconv.FormatInt(out.ID, 10)) {
					t.Errorf("request %d does not name outage %d: %s", i, out.ID, reqs[i].Body)
				}
			}
		})
	}
}
