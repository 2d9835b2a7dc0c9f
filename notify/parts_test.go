package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	gosmtp "github.com/emersion/go-smtp"
)

func TestBackoffDoublesUpToFourMinutes(t *testing.T) {
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 4 * time.Minute,
		4 * time.Minute, 4 * time.Minute, 4 * time.Minute}
	for i, w := range want {
		if got := Backoff(i + 1); got != w {
			t.Errorf("Backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
}

func TestSignMatchesTheDocumentedRecipe(t *testing.T) {
	// Computed with Python's hmac module, as a gateway would.
	got := Sign("0123456789abcdef", "1700000000", []byte(`{"event":"outage.opened"}`))
	if want := "sha256=04b6f87fb39b291974b5c5a0df4c09fae2fb132cb33983f4129c040549d54ba4"; got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestTransportForEachChannel(t *testing.T) {
	full := New(Config{SMTP: SMTPConfig{Host: "mx.test", From: "noc@idc.test"}, Webhook: WebhookConfig{URL: "https://gw.test/", Secret: hookSecret}}, nil, nil)
	bare := New(Config{}, nil, nil)
	for _, c := range []struct {
		d     *Dispatcher
		name  string
		ch    models.Channel
		want  string
		title string
	}{
		{full, "full", models.ChannelEmail, models.TransportEmail, "email goes by SMTP"},
		{full, "full", models.ChannelMobile, models.TransportWebhook, "a mobile gets an SMS through the gateway"},
		{full, "full", models.ChannelPager, models.TransportWebhook, "a pager goes through the gateway"},
		{full, "full", models.ChannelFax, models.TransportWebhook, "a fax goes through the gateway"},
		{full, "full", models.ChannelOffice, models.TransportCall, "an office phone is a call by staff"},
		{bare, "bare", models.ChannelEmail, "", "without SMTP email cannot be sent"},
		{bare, "bare", models.ChannelMobile, models.TransportCall, "without a gateway a mobile is called"},
		{bare, "bare", models.ChannelPager, "", "without a gateway a pager cannot be reached"},
		{bare, "bare", models.ChannelOffice, models.TransportCall, "an office phone is always a call"},
	} {
		if got := c.d.TransportFor(c.ch); got != c.want {
			t.Errorf("%s (%s): TransportFor(%s) = %q, want %q", c.title, c.name, c.ch, got, c.want)
		}
	}
}

func TestShortTextFitsOneSMS(t *testing.T) {
	url := "https://portal.example/outages/123456"
	if got := shorten("short", url); got != "short "+url {
		t.Errorf("a short text loses its link: %q", got)
	}
	long := strings.Repeat("设备", 69)
	if got := shorten(long, url); got != long {
		t.Errorf("a 138-character text with no room for the link: %q", got)
	}
	if got := shorten(strings.Repeat("中", 200), url); utf8.RuneCountInString(got) != MaxShort || !strings.HasSuffix(got, "…") {
		t.Errorf("a long text is cut to %d characters: %q", utf8.RuneCountInString(got), got)
	}
}

func TestEncodedSubjectLinesStayShort(t *testing.T) {
	s := encodeHeader("[紧急] 设备 " + strings.Repeat("数据库服务器", 8) + " 中断（Ping（ICMP））")
	lines := strings.Split("Subject:"+s, "\r\n")
	if len(lines) < 3 || lines[0] != "Subject:" {
		t.Fatalf("not folded: %q", lines)
	}
	for _, l := range lines[1:] {
		if len(l) > 76 || !strings.HasPrefix(l, " =?UTF-8?q?") {
			t.Errorf("header line of %d characters: %q", len(l), l)
		}
	}
	if plain := encodeHeader("[Emergency] web-01 unreachable"); plain != "[Emergency] web-01 unreachable" {
		t.Errorf("ASCII subject encoded: %q", plain)
	}
}

// testNotice is a notice for the SMTP tests, which need no database.
func testNotice() (models.Delivery, *notice) {
	start := time.Date(2026, 11, 2, 8, 55, 0, 0, time.UTC)
	f := &models.NoticeFacts{Org: models.Organization{ID: 1, Name: "Alpha 阿尔法"}, Device: models.Device{Name: "web-01", Address: "10.0.0.5"},
		Check:         models.Check{Kind: models.KindICMP, Target: "10.0.0.5"},
		Outage:        models.Outage{ID: 7, StartedAt: start, ConfirmedAt: start.Add(5 * time.Minute), Failures: 2},
		Evidence:      []models.OutageProbe{{At: start, Reason: models.ReasonTimeout}, {At: start.Add(5 * time.Minute), Reason: models.ReasonTimeout}},
		EvidenceTotal: 2, ContactName: "孙丽"}
	d := models.Delivery{ID: 42, Event: models.EventOutageOpened, Channel: models.ChannelEmail, Transport: models.TransportEmail,
		Address: "sun.li@alpha.test", Locale: "zh-CN"}
	return d, compose(d, f, "", time.UTC)
}

func TestSMTPModes(t *testing.T) {
	cert, roots := selfSigned(t)
	del, n := testNotice()
	send := func(cfg SMTPConfig) error {
		cfg.Host, cfg.From, cfg.HeloName, cfg.Timeout = "127.0.0.1", "noc@idc.test", "portal.test", 5*time.Second
		cfg.TLS = &tls.Config{RootCAs: roots}
		cfg.defaults()
		return newMailer(cfg).send(context.Background(), del, n, time.Now())
	}
	t.Run("STARTTLS with a login", func(t *testing.T) {
		k := startSMTP(t, ModeStartTLS, cert, "noc", "s3cret-pass")
		if err := send(SMTPConfig{Port: k.port(t), Mode: ModeStartTLS, User: "noc", Password: "s3cret-pass"}); err != nil {
			t.Fatal(err)
		}
		if m := k.all(); len(m) != 1 || !m[0].TLS || m[0].User != "noc" || m[0].From != "noc@idc.test" {
			t.Fatalf("received %+v", m)
		}
	})
	t.Run("implicit TLS with a login", func(t *testing.T) {
		k := startSMTP(t, ModeTLS, cert, "noc", "s3cret-pass")
		if err := send(SMTPConfig{Port: k.port(t), Mode: ModeTLS, User: "noc", Password: "s3cret-pass"}); err != nil {
			t.Fatal(err)
		}
		if m := k.all(); len(m) != 1 || !m[0].TLS || m[0].User != "noc" {
			t.Fatalf("received %+v", m)
		}
	})
	t.Run("a wrong password is an error to retry, not a bounce", func(t *testing.T) {
		k := startSMTP(t, ModeStartTLS, cert, "noc", "s3cret-pass")
		err := send(SMTPConfig{Port: k.port(t), Mode: ModeStartTLS, User: "noc", Password: "wrong"})
		var b *BounceError
		if err == nil || errors.As(err, &b) || !strings.Contains(err.Error(), "AUTH") {
			t.Fatalf("err = %v", err)
		}
		if len(k.all()) != 0 {
			t.Fatal("mail accepted without a login")
		}
	})
	t.Run("STARTTLS required but not offered is an error", func(t *testing.T) {
		k := startSMTP(t, ModeNone, nil, "", "")
		if err := send(SMTPConfig{Port: k.port(t), Mode: ModeStartTLS}); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
			t.Fatalf("err = %v", err)
		}
		if len(k.all()) != 0 {
			t.Fatal("mail sent in clear although STARTTLS was required")
		}
	})
	t.Run("an untrusted certificate is refused", func(t *testing.T) {
		k := startSMTP(t, ModeTLS, cert, "", "")
		cfg := SMTPConfig{Host: "127.0.0.1", Port: k.port(t), Mode: ModeTLS, From: "noc@idc.test", Timeout: 5 * time.Second}
		cfg.defaults()
		if err := newMailer(cfg).send(context.Background(), del, n, time.Now()); err == nil {
			t.Fatal("a self-signed certificate was trusted")
		}
	})
	t.Run("a 550 for the recipient is a bounce", func(t *testing.T) {
		k := startSMTP(t, ModeNone, nil, "", "")
		bad := del
		bad.Address = "nobody@alpha.test"
		cfg := SMTPConfig{Host: "127.0.0.1", Port: k.port(t), Mode: ModeNone, From: "noc@idc.test", Timeout: 5 * time.Second}
		cfg.defaults()
		err := newMailer(cfg).send(context.Background(), bad, n, time.Now())
		var b *BounceError
		if !errors.As(err, &b) || b.Stage != "RCPT TO" {
			t.Fatalf("err = %v, want a bounce at RCPT TO", err)
		}
	})
}

// Only a permanent refusal of the address at RCPT TO is a bounce (which
// stale contact details can explain, and which may waive a missed notice);
// a relay or policy refusal, a refusal of the message at DATA, or a
// temporary one is the provider's side: a failure. Before, every 5xx at
// RCPT TO or DATA was a bounce.
func TestOnlyAnAddressRefusedAtRCPTIsABounce(t *testing.T) {
	del, n := testNotice()
	smtpErr := func(code int, enh gosmtp.EnhancedCode, msg string) error {
		return &gosmtp.SMTPError{Code: code, EnhancedCode: enh, Message: msg}
	}
	cases := []struct {
		name   string
		to     string
		rcpt   error
		data   error
		bounce bool
	}{
		{"a mailbox that does not exist (550 5.1.1) is a bounce", "nobody@alpha.test", nil, nil, true},
		{"a bad domain (553 5.1.2) is a bounce", "gone@alpha.test", smtpErr(553, gosmtp.EnhancedCode{5, 1, 2}, "bad destination domain"), nil, true},
		{"a 550 without an enhanced code is a bounce", "plain@alpha.test", smtpErr(550, gosmtp.NoEnhancedCode, "mailbox unavailable"), nil, true},
		{"relaying denied (554 5.7.1) is a failure", "relay@alpha.test", smtpErr(554, gosmtp.EnhancedCode{5, 7, 1}, "relaying denied"), nil, false},
		{"a 550 5.7.1 policy refusal is a failure", "policy@alpha.test", smtpErr(550, gosmtp.EnhancedCode{5, 7, 1}, "sender not allowed"), nil, false},
		{"a full mailbox (552 5.2.2) is a failure", "full@alpha.test", smtpErr(552, gosmtp.EnhancedCode{5, 2, 2}, "mailbox full"), nil, false},
		{"a temporary refusal (450 4.1.1) is a failure", "later@alpha.test", smtpErr(450, gosmtp.EnhancedCode{4, 1, 1}, "try later"), nil, false},
		{"a message refused at DATA (554 5.6.0) is a failure", "content@alpha.test", nil, smtpErr(554, gosmtp.EnhancedCode{5, 6, 0}, "message refused"), false},
		{"even a 550 5.1.1 at DATA is a failure", "late@alpha.test", nil, smtpErr(550, gosmtp.EnhancedCode{5, 1, 1}, "no such mailbox"), false},
	}
	k := startSMTP(t, ModeNone, nil, "", "")
	k.refuseRcpt, k.refuseData = map[string]error{}, map[string]error{}
	for _, tc := range cases {
		if tc.rcpt != nil {
			k.refuseRcpt[tc.to] = tc.rcpt
		}
		if tc.data != nil {
			k.refuseData[tc.to] = tc.data
		}
	}
	cfg := SMTPConfig{Host: "127.0.0.1", Port: k.port(t), Mode: ModeNone, From: "noc@idc.test", Timeout: 5 * time.Second}
	cfg.defaults()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := del
			d.Address = tc.to
			err := newMailer(cfg).send(context.Background(), d, n, time.Now())
			var b *BounceError
			if err == nil || errors.As(err, &b) != tc.bounce {
				t.Fatalf("err = %v (%T), want bounce %v", err, err, tc.bounce)
			}
		})
	}
}

// Every email.* key the package uses exists in both catalogs (the
// locales test scans views, handlers and models, not notify).
func TestEveryKeyTheNoticesUseExists(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`"((?:email|kind|reason|duration|app)\.[a-z0-9_.]+)"`)
	keys := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			keys[m[1]] = true
		}
	}
	if !keys["email.subject_opened"] || len(keys) < 15 {
		t.Fatalf("found only %v; the scan is broken", keys)
	}
	for _, lang := range locales.Supported {
		tr := locales.For(lang)
		for k := range keys {
			if !tr.Has(k) {
				t.Errorf("%s lacks %q", lang, k)
			}
		}
		for _, kind := range models.CheckKinds {
			if !tr.Has("kind." + string(kind)) {
				t.Errorf("%s lacks kind.%s", lang, kind)
			}
		}
		for _, r := range []string{models.ReasonTimeout, models.ReasonRefused, models.ReasonUnreachable, models.ReasonDNS,
			models.ReasonBadStatus, models.ReasonKeyword, models.ReasonBadBanner, models.ReasonTLS, models.ReasonProtocol, models.ReasonError} {
			if !tr.Has("reason." + r) {
				t.Errorf("%s lacks reason.%s", lang, r)
			}
		}
	}
}

func TestRetryAgainOnlyWhatMaySucceed(t *testing.T) {
	d := New(Config{}, nil, nil)
	tries := 0
	err := d.retry(context.Background(), func() error {
		if tries++; tries < 3 {
			return errors.New("Error 1213 (40001): Deadlock found when trying to get lock")
		}
		return nil
	})
	if err != nil || tries != 3 {
		t.Errorf("a deadlock twice, then success: %v after %d tries", err, tries)
	}
	tries = 0
	err = d.retry(context.Background(), func() error { tries++; return models.ErrLeaseLost })
	if !errors.Is(err, models.ErrLeaseLost) || tries != 1 {
		t.Errorf("a lost lease: %v after %d tries, want it at once", err, tries)
	}
}

func TestWebhookAnswersOtherThan2xxAreFailures(t *testing.T) {
	del, n := testNotice()
	del.Channel, del.Transport, del.Address = models.ChannelMobile, models.TransportWebhook, "+8613800138000"
	for _, c := range []struct {
		name   string
		status int
		ok     bool
	}{{"200 OK", 200, true}, {"204 No Content", 204, true}, {"a redirect is not followed", 302, false},
		{"a client error", 400, false}, {"a server error", 502, false}} {
		t.Run(c.name, func(t *testing.T) {
			gets := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet {
					gets++
				}
				if c.status == 302 {
					http.Redirect(w, r, "/elsewhere", http.StatusFound)
					return
				}
				w.WriteHeader(c.status)
			}))
			defer srv.Close()
			cfg := WebhookConfig{URL: srv.URL + "/?token=tok-123", Secret: hookSecret}
			cfg.defaults()
			err := newWebhook(cfg).send(context.Background(), del, n, time.Now())
			if (err == nil) != c.ok || gets != 0 {
				t.Fatalf("err = %v, %d GETs", err, gets)
			}
		})
	}
	t.Run("a network error does not show the URL", func(t *testing.T) {
		cfg := WebhookConfig{URL: "http://127.0.0.1:" + strconv.Itoa(closedPort(t)) + "/?token=tok-123", Secret: hookSecret}
		cfg.defaults()
		err := newWebhook(cfg).send(context.Background(), del, n, time.Now())
		if err == nil || strings.Contains(err.Error(), "tok-123") {
			t.Fatalf("err = %v", err)
		}
	})
}

// A notice of 2,000 outages reads in Chinese: the count in the subject,
// the first MaxListed devices, how many more, the link to the uptime page
// of down devices, and a short text that fits one SMS.
func TestAMassNoticeListsTheFirstDevicesAndCountsTheRest(t *testing.T) {
	start := time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC)
	f := &models.NoticeFacts{Org: models.Organization{ID: 1, Name: "极光云"}, ContactName: "赵敏", NoticeID: 9, Count: 2000, Recovered: 1, Notices: 1}
	for i := range MaxListed {
		it := models.NoticeItem{Outage: models.Outage{ID: int64(i + 1), DeviceID: int64(i + 1), StartedAt: start, ConfirmedAt: start.Add(time.Minute)},
			Device: models.Device{Name: fmt.Sprintf("srv-%04d", i)}, Check: models.Check{Kind: models.KindICMP, Target: fmt.Sprintf("10.1.0.%d", i+1)}}
		if i == 0 {
			end := start.Add(2 * time.Minute)
			it.Outage.EndedAt = &end
		}
		f.Items = append(f.Items, it)
	}
	f.Outage = f.Items[0].Outage
	d := models.Delivery{ID: 5, Event: models.EventOutageOpened, Channel: models.ChannelEmail, Transport: models.TransportEmail, Locale: "zh-CN", NoticeID: 9}
	n := compose(d, f, "https://portal.example", time.UTC)
	if n.Subject != "[紧急] 极光云 的 2000 台设备中断" {
		t.Errorf("subject = %q", n.Subject)
	}
	mustContain(t, "body", n.Body, "我们的监测已确认您的 2000 台设备发生中断。", "其中 1 台已恢复可达",
		"srv-0000：Ping（ICMP） 10.1.0.1，2026-11-02 03:00:00 UTC+00:00 起中断，2026-11-02 03:02:00 UTC+00:00 已恢复",
		"srv-0049：", "……另有 1950 台设备", "https://portal.example/uptime?state=down", "15 分钟内")
	if strings.Contains(n.Body, "srv-0050") {
		t.Error("the body lists more than MaxListed devices")
	}
	if utf8.RuneCountInString(n.Short) > MaxShort || !strings.Contains(n.Short, "2000 台设备自 11-02 03:00 起中断") {
		t.Errorf("short text = %q", n.Short)
	}
	p := payload(d, n)
	if p.NoticeID != 9 || p.Count != 2000 || len(p.Outages) != MaxListed || p.Outages[0].EndedAt == nil {
		t.Errorf("payload: notice %d, count %d, %d outages listed", p.NoticeID, p.Count, len(p.Outages))
	}
}
