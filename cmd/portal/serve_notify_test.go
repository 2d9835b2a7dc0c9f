package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"github.com/colo-portal/portal/notify"
	gosmtp "github.com/emersion/go-smtp"
)

// mailbox is a real SMTP server that keeps what it is sent.
type mailbox struct {
	mu   sync.Mutex
	msgs []string
}

func (m *mailbox) NewSession(*gosmtp.Conn) (gosmtp.Session, error) { return &mailboxSession{m: m}, nil }

func (m *mailbox) all() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.msgs...)
}

type mailboxSession struct{ m *mailbox }

func (s *mailboxSession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (s *mailboxSession) Rcpt(string, *gosmtp.RcptOptions) error { return nil }
func (s *mailboxSession) Reset()                                 {}
func (s *mailboxSession) Logout() error                          { return nil }
func (s *mailboxSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.m.mu.Lock()
	s.m.msgs = append(s.m.msgs, string(b))
	s.m.mu.Unlock()
	return err
}

// serve runs the dispatcher: an outage recorded in its database reaches a
// contact by email and by the signed webhook, with the settings read from
// the environment.
func TestServeSendsNotices(t *testing.T) {
	box := &mailbox{}
	srv := gosmtp.NewServer(box)
	srv.Domain = "mx.test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	const secret = "gateway-secret-0123456789"
	var hookMu sync.Mutex
	var hooks []notify.Payload
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get(notify.HeaderSignature) != notify.Sign(secret, r.Header.Get(notify.HeaderTimestamp), body) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var p notify.Payload
		_ = json.Unmarshal(body, &p)
		hookMu.Lock()
		hooks = append(hooks, p)
		hookMu.Unlock()
	}))
	defer gw.Close()

	addr := freePort(t)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "portal.db")
	e := map[string]string{
		"PORTAL_LISTEN": addr, "PORTAL_DATABASE_URL": "sqlite:" + dbPath, "PORTAL_DATA_DIR": dir,
		"PORTAL_LOG_LEVEL": "error", "PORTAL_PROBER": "off", "PORTAL_BASE_URL": "http://" + addr,
		"PORTAL_TIMEZONE": "Asia/Shanghai", "PORTAL_SMTP_HOST": "127.0.0.1", "PORTAL_SMTP_MODE": "none",
		"PORTAL_SMTP_PORT": strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), "PORTAL_SMTP_FROM": "Colo NOC <noc@idc.test>",
		"PORTAL_WEBHOOK_URL": gw.URL, "PORTAL_WEBHOOK_SECRET": secret,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, strings.NewReader(""), io.Discard, env(e)) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop within 15 s")
		}
	}()
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := client.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no 200 from /readyz within 10 s")
		}
	}

	// Another connection to the same database plays the prober.
	s := dbtest.Open(t, dbtest.DB{Name: "sqlite", URL: "sqlite:" + dbPath})
	fx := dbtest.Seed(t, s)
	sys := models.SystemActor("test")
	if _, err := s.CreateContact(ctx, sys, fx.OrgA.ID, models.ContactInput{Name: "孙丽", Email: "sun.li@alpha.test",
		Mobile: "138 0013 8000", Channels: []models.Channel{models.ChannelEmail, models.ChannelMobile}, MayAuthorize: true,
		Passphrase: "blue harbour 42", Locale: "zh-CN"}); err != nil {
		t.Fatal(err)
	}
	dev, err := s.CreateDevice(ctx, sys, models.DeviceInput{OrgID: fx.OrgA.ID, Name: "web-01", Address: "10.0.0.5"})
	if err != nil {
		t.Fatal(err)
	}
	checks, _ := s.ListChecks(ctx, models.AllOrgs(), fx.OrgA.ID, dev.ID)
	now := time.Now().UTC().Truncate(time.Second)
	if _, err := s.RecordResults(ctx, []models.ProbeResult{
		{CheckID: checks[0].ID, At: now.Add(-5 * time.Minute), Reason: models.ReasonTimeout},
		{CheckID: checks[0].ID, At: now, Reason: models.ReasonTimeout}}); err != nil {
		t.Fatal(err)
	}
	outs, _ := s.ListOutages(ctx, models.AllOrgs(), fx.OrgA.ID, dev.ID, 1)
	if len(outs) != 1 {
		t.Fatalf("outages = %+v", outs)
	}

	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		hookMu.Lock()
		n := len(hooks)
		hookMu.Unlock()
		if len(box.all()) == 1 && n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 15 s: %d emails and %d webhook calls, want 1 of each", len(box.all()), n)
		}
	}
	msg := box.all()[0]
	url := "http://" + addr + "/outages/" + strconv.FormatInt(outs[0].ID, 10)
	for _, want := range []string{"To: =?utf-8?q?", "X-Portal-Event: outage.opened", "UTC+08:00"} {
		if !strings.Contains(msg, want) {
			t.Errorf("email lacks %q:\n%s", want, msg)
		}
	}
	if !strings.Contains(strings.ReplaceAll(msg, "=\r\n", ""), url) {
		t.Errorf("email lacks the link %s:\n%s", url, msg)
	}
	if hooks[0].Outage.URL != url || hooks[0].Contact.Address != "+8613800138000" || hooks[0].Language != "zh-CN" {
		t.Errorf("webhook payload = %+v", hooks[0])
	}
	// The attempt is recorded (and the clock stopped) after the mail server
	// and the webhook answered, so the clock may still be running for a
	// moment after both arrived.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		c, err := s.OutageClock(ctx, models.AllOrgs(), fx.OrgA.ID, outs[0].ID)
		if err == nil && c != nil && c.Outcome == models.ClockMet {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("clock = %+v, %v 10 s after the notice went out; want met", c, err)
		}
	}
}
