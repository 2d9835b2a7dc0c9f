package notify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// fakeClock is a time source tests move by hand; it is safe for the
// dispatcher goroutines and the stores to read while a test moves it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{c: c, ch: make(chan time.Time, 1)}
	c.mu.Lock()
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	t.Reset(d)
	return t
}

// Advance moves the clock on and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.timers {
		t.fireIfDue()
	}
}

type fakeTimer struct {
	c      *fakeClock
	ch     chan time.Time
	at     time.Time
	active bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Reset(d time.Duration) {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.drain()
	t.at, t.active = t.c.now.Add(d), true
	t.fireIfDue()
}

func (t *fakeTimer) Stop() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.active = false
	t.drain()
}

func (t *fakeTimer) drain() {
	select {
	case <-t.ch:
	default:
	}
}

// fireIfDue runs with the clock's lock held.
func (t *fakeTimer) fireIfDue() {
	if t.active && !t.at.After(t.c.now) {
		t.active = false
		select {
		case t.ch <- t.c.now:
		default:
		}
	}
}

// smtpSink is a real SMTP server (go-smtp) on 127.0.0.1 that keeps every
// message it accepts. It refuses recipients at nobody@… with 550 5.1.1,
// and answers the recipients in refuseRcpt and refuseData with their
// error at RCPT TO or at the end of DATA.
type smtpSink struct {
	addr       string
	user       string // when set, AUTH with user/pass is required
	pass       string
	refuseRcpt map[string]error
	refuseData map[string]error
	// down, while set, answers every message with 451 at the end of DATA
	// (the message was sent, the server would not keep it) and keeps it
	// in refused.
	down     atomic.Bool
	mu       sync.Mutex
	messages []sunkMail
	refused  []sunkMail
}

type sunkMail struct {
	From string
	To   string
	Data []byte
	TLS  bool
	User string
}

func startSMTP(t *testing.T, mode string, cert *tls.Certificate, user, pass string) *smtpSink {
	t.Helper()
	k := &smtpSink{user: user, pass: pass}
	srv := gosmtp.NewServer(k)
	srv.Domain = "mx.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = discardLogger{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cert != nil {
		tc := &tls.Config{Certificates: []tls.Certificate{*cert}}
		switch mode {
		case ModeStartTLS:
			srv.TLSConfig = tc
		case ModeTLS:
			ln = tls.NewListener(ln, tc)
		}
	}
	k.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return k
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}

func (k *smtpSink) port(t *testing.T) int {
	_, p, _ := net.SplitHostPort(k.addr)
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (k *smtpSink) NewSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &sinkSession{k: k, conn: c, tls: isTLS}, nil
}

// all returns the messages received so far.
func (k *smtpSink) all() []sunkMail {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]sunkMail(nil), k.messages...)
}

type sinkSession struct {
	k    *smtpSink
	conn *gosmtp.Conn
	tls  bool
	user string
	from string
	to   []string
}

func (s *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *sinkSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.k.user || pass != s.k.pass {
			return errors.New("invalid credentials")
		}
		s.user = user
		return nil
	}), nil
}

func (s *sinkSession) Mail(from string, _ *gosmtp.MailOptions) error {
	if s.k.user != "" && s.user == "" {
		return &gosmtp.SMTPError{Code: 530, EnhancedCode: gosmtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	s.from = from
	return nil
}

func (s *sinkSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if strings.HasPrefix(to, "nobody@") {
		return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	}
	if err := s.k.refuseRcpt[to]; err != nil {
		return err
	}
	s.to = append(s.to, to)
	return nil
}

func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	for _, to := range s.to {
		if err := s.k.refuseData[to]; err != nil {
			return err
		}
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.k.mu.Lock()
	defer s.k.mu.Unlock()
	if s.k.down.Load() {
		for _, to := range s.to {
			s.k.refused = append(s.k.refused, sunkMail{From: s.from, To: to, Data: b})
		}
		return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	for _, to := range s.to {
		s.k.messages = append(s.k.messages, sunkMail{From: s.from, To: to, Data: b, TLS: isTLS || s.tls, User: s.user})
	}
	return nil
}

func (s *sinkSession) Reset()        { s.from, s.to = "", nil }
func (s *sinkSession) Logout() error { return nil }

// parsedMail is a received message with its subject and body decoded.
type parsedMail struct {
	Header  mail.Header
	Subject string
	To      *mail.Address
	Body    string
	Raw     string
}

func parseMail(t *testing.T, m sunkMail) parsedMail {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
	if err != nil {
		t.Fatalf("not an RFC 5322 message: %v\n%s", err, m.Data)
	}
	dec := new(mime.WordDecoder)
	subj, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("subject %q: %v", msg.Header.Get("Subject"), err)
	}
	to, err := msg.Header.AddressList("To")
	if err != nil || len(to) != 1 {
		t.Fatalf("To %q: %v", msg.Header.Get("To"), err)
	}
	if cte := msg.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
		t.Fatalf("Content-Transfer-Encoding = %q", cte)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatalf("body is not quoted-printable: %v", err)
	}
	return parsedMail{Header: msg.Header, Subject: subj, To: to[0], Body: string(body), Raw: string(m.Data)}
}

// hookSink is a real HTTP webhook receiver that checks every signature
// on its own (not with Sign) and keeps the payloads.
type hookSink struct {
	url      string
	secret   string
	mu       sync.Mutex
	calls    []Payload
	raw      [][]byte
	badSigs  int
	failNext int // answer 503 to this many calls first
}

func startHook(t *testing.T, secret string) *hookSink {
	t.Helper()
	h := &hookSink{secret: secret}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	h.url = srv.URL + "/gateway/notify"
	return h
}

func (h *hookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts := r.Header.Get("X-Portal-Timestamp")
	mac := hmac.New(sha256.New, []byte(h.secret))
	mac.Write([]byte(ts + "." + string(body)))
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, err := strconv.ParseInt(ts, 10, 64); err != nil || r.Method != http.MethodPost ||
		r.Header.Get("Content-Type") != "application/json" ||
		!hmac.Equal([]byte(r.Header.Get("X-Portal-Signature")), []byte(want)) {
		h.badSigs++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if h.failNext > 0 {
		h.failNext--
		http.Error(w, "gateway busy", http.StatusServiceUnavailable)
		return
	}
	var p Payload
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.calls = append(h.calls, p)
	h.raw = append(h.raw, body)
	w.WriteHeader(http.StatusAccepted)
}

func (h *hookSink) all() []Payload {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Payload(nil), h.calls...)
}

// selfSigned makes a certificate for 127.0.0.1 and the pool that trusts it.
func selfSigned(t *testing.T) (*tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// shanghai is the provider's zone in the tests: calendar days and the
// times notices show are Beijing time.
func shanghai(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func testLogger() *slog.Logger {
	if os.Getenv("NOTIFY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// running is a set of dispatchers started on one fake clock, moved in
// lock step: each step moves the clock and waits until every dispatcher
// has finished the pass it caused.
type running struct {
	t      *testing.T
	clock  *fakeClock
	passes []chan struct{}
	poll   time.Duration
}

func startDispatchers(t *testing.T, clock *fakeClock, ds ...*Dispatcher) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{t: t, clock: clock, poll: ds[0].cfg.Poll}
	var wg sync.WaitGroup
	for _, d := range ds {
		ch, hc := make(chan struct{}, 1), make(chan struct{}, 1)
		d.afterPass = func() { ch <- struct{}{} }
		d.afterHookPass = func() { hc <- struct{}{} }
		r.passes = append(r.passes, ch, hc)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.Run(ctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		}()
	}
	t.Cleanup(func() {
		cancel()
		// A pass may be waiting to report; let it go.
		for _, ch := range r.passes {
			select {
			case <-ch:
			default:
			}
		}
		wg.Wait()
	})
	r.wait() // the first pass runs at once
	return r
}

func (r *running) wait() {
	r.t.Helper()
	for _, ch := range r.passes {
		select {
		case <-ch:
		case <-time.After(30 * time.Second):
			r.t.Fatal("a dispatcher pass did not finish within 30 s")
		}
	}
}

// step moves the clock by d (at least one poll) and waits for the passes.
func (r *running) step(d time.Duration) {
	r.t.Helper()
	r.clock.Advance(max(d, r.poll))
	r.wait()
}

// until steps one poll at a time until cond holds, for at most limit of
// the fake clock.
func (r *running) until(limit time.Duration, what string, cond func() bool) {
	r.t.Helper()
	for moved := time.Duration(0); !cond(); moved += r.poll {
		if moved > limit {
			r.t.Fatalf("%s: not so after %s of the fake clock", what, limit)
		}
		r.step(r.poll)
	}
}

// world is an organization with a device, its ping check and contacts.
type world struct {
	store *models.Store
	fx    *dbtest.Fixture
	org   *models.Organization
	dev   *models.Device
	check models.Check
}

func newWorld(t *testing.T, s *models.Store, fx *dbtest.Fixture, org *models.Organization, device, addr string) *world {
	t.Helper()
	ctx := context.Background()
	d, err := s.CreateDevice(ctx, models.SystemActor("test"), models.DeviceInput{OrgID: org.ID, Name: device, Address: addr, Cabinet: "A03", Position: "U12"})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := s.ListChecks(ctx, models.AllOrgs(), org.ID, d.ID)
	if err != nil || len(cs) != 1 {
		t.Fatalf("checks of a new device: %v, %v", cs, err)
	}
	return &world{store: s, fx: fx, org: org, dev: d, check: cs[0]}
}

func (w *world) contact(t *testing.T, in models.ContactInput) *models.Contact {
	t.Helper()
	in.MayAuthorize = true
	in.Passphrase = "blue harbour 42"
	c, err := w.store.CreateContact(context.Background(), models.SystemActor("test"), w.org.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (w *world) confirmContacts(t *testing.T, user *models.User) {
	t.Helper()
	if err := w.store.ConfirmContacts(context.Background(), models.UserActor(user, "127.0.0.1"), w.org.ID, user.ID); err != nil {
		t.Fatal(err)
	}
}

// fail feeds the prober path two failed pings, five minutes apart, the
// second at now: the outage starts five minutes ago and is confirmed now.
func (w *world) fail(t *testing.T, now time.Time) models.Outage {
	t.Helper()
	ctx := context.Background()
	rs := []models.ProbeResult{
		{CheckID: w.check.ID, At: now.Add(-5 * time.Minute), Reason: models.ReasonTimeout},
		{CheckID: w.check.ID, At: now, Reason: models.ReasonUnreachable},
	}
	if _, err := w.store.RecordResults(ctx, rs); err != nil {
		t.Fatal(err)
	}
	outs, err := w.store.ListOutages(ctx, models.AllOrgs(), w.org.ID, w.dev.ID, 1)
	if err != nil || len(outs) != 1 || !outs[0].ConfirmedAt.Equal(now) || outs[0].EndedAt != nil {
		t.Fatalf("outages after two failures: %+v, %v", outs, err)
	}
	return outs[0]
}

// recover feeds one successful ping at now, which closes the outage.
func (w *world) recover(t *testing.T, now time.Time) {
	t.Helper()
	if _, err := w.store.RecordResults(context.Background(), []models.ProbeResult{{CheckID: w.check.ID, At: now, OK: true, RTTus: 300}}); err != nil {
		t.Fatal(err)
	}
}

// deliveries returns the deliveries of an outage with their attempts.
func (w *world) deliveries(t *testing.T, outageID int64) ([]models.Delivery, map[int64][]models.DeliveryAttempt) {
	t.Helper()
	ds, att, err := w.store.OutageDeliveries(context.Background(), models.AllOrgs(), w.org.ID, outageID)
	if err != nil {
		t.Fatal(err)
	}
	return ds, att
}

// allDone reports whether the outage has n deliveries of event, none pending.
func (w *world) allDone(t *testing.T, outageID int64, event string, n int) func() bool {
	return func() bool {
		ds, _ := w.deliveries(t, outageID)
		got := 0
		for _, d := range ds {
			if d.Event != event {
				continue
			}
			if d.Status == models.DeliveryPending {
				return false
			}
			got++
		}
		return got == n
	}
}
