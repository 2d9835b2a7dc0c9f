package prober

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
)

// checkTimeout is the timeout of the checks in these tests; the silent
// servers make the checks wait for all of it.
const checkTimeout = 400 * time.Millisecond

// tlsFixture is a TLS test server whose certificate the checker trusts.
type tlsFixture struct {
	srv  *httptest.Server
	cert *x509.Certificate
	pool *x509.CertPool
}

func newTLSFixture(t *testing.T, h http.Handler) *tlsFixture {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	// Handshakes the tests make fail on purpose are not worth a log line.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return &tlsFixture{srv: srv, cert: srv.Certificate(), pool: pool}
}

// serverTLS is a server-side config with the fixture's certificate.
func (f *tlsFixture) serverTLS() *tls.Config {
	return &tls.Config{Certificates: f.srv.TLS.Certificates}
}

func newCheck(kind models.CheckKind, target string) *models.Check {
	return &models.Check{Kind: kind, Target: target, ExpectMin: 200, ExpectMax: 399,
		TimeoutMs: int(checkTimeout / time.Millisecond)}
}

// serveLines runs handle for every connection to a listener on 127.0.0.1
// and returns its host:port. Everything stops when the test ends.
func serveLines(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				handle(c)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// silent accepts and never says a word.
func silent(c net.Conn) { _, _ = io.Copy(io.Discard, c) }

// fakeSMTP answers like a mail server: banner, EHLO, optional STARTTLS,
// QUIT. An ehlo reply other than 250 makes it refuse EHLO.
func fakeSMTP(banner, ehlo string, tlsConf *tls.Config) func(net.Conn) {
	return func(c net.Conn) {
		tp := textproto.NewConn(c)
		_ = tp.PrintfLine("%s", banner)
		if !strings.HasPrefix(banner, "220") {
			return
		}
		for {
			line, err := tp.ReadLine()
			if err != nil {
				return
			}
			verb, _, _ := strings.Cut(strings.ToUpper(line), " ")
			switch verb {
			case "EHLO":
				_ = tp.PrintfLine("%s", ehlo)
			case "STARTTLS":
				if tlsConf == nil {
					_ = tp.PrintfLine("502 5.5.1 not offered")
					continue
				}
				_ = tp.PrintfLine("220 2.0.0 go ahead")
				tc := tls.Server(c, tlsConf)
				if err := tc.Handshake(); err != nil {
					return
				}
				tp = textproto.NewConn(tc)
			case "QUIT":
				_ = tp.PrintfLine("221 2.0.0 bye")
				return
			default:
				_ = tp.PrintfLine("502 5.5.2 what")
			}
		}
	}
}

// fakeFTP greets with banner and answers QUIT with quit.
func fakeFTP(banner, quit string) func(net.Conn) {
	return func(c net.Conn) {
		tp := textproto.NewConn(c)
		_ = tp.PrintfLine("%s", banner)
		for {
			line, err := tp.ReadLine()
			if err != nil {
				return
			}
			if strings.EqualFold(line, "QUIT") {
				_ = tp.PrintfLine("%s", quit)
				return
			}
			_ = tp.PrintfLine("502 what")
		}
	}
}

// closedPort is a 127.0.0.1 port nothing listens on any more.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// wantOutcome fails the test unless out is a pass (reason "") or a failure
// with reason.
func wantOutcome(t *testing.T, out Outcome, reason string) {
	t.Helper()
	if reason == "" {
		if !out.OK || out.RTT <= 0 || out.Reason != "" {
			t.Fatalf("got %+v, want a pass with RTT > 0", out)
		}
		return
	}
	if out.OK || out.Reason != reason {
		t.Fatalf("got %+v, want a failure with reason %q", out, reason)
	}
}

func TestCheckHTTP(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "<h1>Welcome to ACME</h1>") })
	mux.HandleFunc("/broken", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "oops", http.StatusInternalServerError) })
	mux.HandleFunc("/hop/{n}", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscan(r.PathValue("n"), &n)
		if n == 0 {
			fmt.Fprint(w, "arrived")
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusFound)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, _ *http.Request) {
		// The keyword sits just past the first MiB.
		w.Write([]byte(strings.Repeat("x", maxKeywordBody)))
		fmt.Fprint(w, "NEEDLE")
	})
	mux.HandleFunc("/split", func(w http.ResponseWriter, _ *http.Request) {
		// The keyword straddles two reads of the body.
		w.Write([]byte(strings.Repeat("x", 16<<10-3)))
		w.(http.Flusher).Flush()
		fmt.Fprint(w, "NEEDLE and more")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	ch := NewChecker(nil, nil)

	tests := []struct {
		name     string
		path     string
		min, max int
		keyword  string
		want     string
	}{
		{"a 200 within the default range passes", "/ok", 200, 399, "", ""},
		{"a 500 is a bad status", "/broken", 200, 399, "", models.ReasonBadStatus},
		{"a 500 passes when the range expects it", "/broken", 500, 599, "", ""},
		{"a 404 is a bad status", "/missing", 200, 399, "", models.ReasonBadStatus},
		{"a present keyword passes", "/ok", 200, 399, "ACME", ""},
		{"a missing keyword fails", "/ok", 200, 399, "Globex", models.ReasonKeyword},
		{"a keyword split across reads is found", "/split", 200, 399, "NEEDLE", ""},
		{"a keyword past the first MiB is not searched for", "/big", 200, 399, "NEEDLE", models.ReasonKeyword},
		{"five redirects are followed", "/hop/5", 200, 299, "arrived", ""},
		{"a sixth redirect is not followed", "/hop/6", 200, 399, "", models.ReasonBadStatus},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCheck(models.KindHTTP, srv.URL+tt.path)
			c.ExpectMin, c.ExpectMax, c.Keyword = tt.min, tt.max, tt.keyword
			out := ch.Probe(context.Background(), c)
			wantOutcome(t, out, tt.want)
			if out.CertExpiry != nil {
				t.Errorf("plain http recorded a certificate expiry")
			}
		})
	}
}

func TestCheckHTTPS(t *testing.T) {
	fx := newTLSFixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/broken" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "secure hello")
	}))
	plain := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(plain.Close)
	trusting := NewChecker(nil, &tls.Config{RootCAs: fx.pool})
	// The system roots do not know the test server's certificate.
	sceptical := NewChecker(nil, nil)
	plainURL, _ := url.Parse(plain.URL)

	tests := []struct {
		name       string
		checker    *Checker
		target     string
		keyword    string
		want       string
		wantExpiry bool
	}{
		{"a trusted server passes and shows its expiry", trusting, fx.srv.URL + "/", "secure", "", true},
		{"a bad status still shows the expiry", trusting, fx.srv.URL + "/broken", "", models.ReasonBadStatus, true},
		{"an untrusted certificate is a TLS error with its expiry", sceptical, fx.srv.URL + "/", "", models.ReasonTLS, true},
		{"a server without TLS is a TLS error", trusting, "https://" + plainURL.Host + "/", "", models.ReasonTLS, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCheck(models.KindHTTPS, tt.target)
			c.Keyword = tt.keyword
			out := tt.checker.Probe(context.Background(), c)
			wantOutcome(t, out, tt.want)
			switch {
			case tt.wantExpiry && out.CertExpiry == nil:
				t.Fatal("no certificate expiry recorded")
			case tt.wantExpiry && !out.CertExpiry.Equal(fx.cert.NotAfter):
				t.Errorf("certificate expiry %v, want %v", out.CertExpiry, fx.cert.NotAfter)
			case !tt.wantExpiry && out.CertExpiry != nil:
				t.Errorf("certificate expiry %v recorded without a certificate", out.CertExpiry)
			}
		})
	}
}

func TestCheckSMTP(t *testing.T) {
	fx := newTLSFixture(t, http.NotFoundHandler())
	trusting := NewChecker(nil, &tls.Config{RootCAs: fx.pool})
	sceptical := NewChecker(nil, nil)
	ehlo := "250-mail.example.test\r\n250-PIPELINING\r\n250 STARTTLS"

	tests := []struct {
		name       string
		checker    *Checker
		handler    func(net.Conn)
		starttls   bool
		want       string
		wantExpiry bool
	}{
		{"a mail server that greets and answers EHLO passes", trusting, fakeSMTP("220 mail.example.test ESMTP", ehlo, nil), false, "", false},
		{"a multi-line banner passes", trusting, fakeSMTP("220-mail.example.test\r\n220 ESMTP ready", ehlo, nil), false, "", false},
		{"a 554 banner is a bad banner", trusting, fakeSMTP("554 no", ehlo, nil), false, models.ReasonBadBanner, false},
		{"a garbled banner is a bad banner", trusting, fakeSMTP("hello there", ehlo, nil), false, models.ReasonBadBanner, false},
		{"a server that hangs up at once is a bad banner", trusting, func(net.Conn) {}, false, models.ReasonBadBanner, false},
		{"a refused EHLO is a protocol error", trusting, fakeSMTP("220 ok", "550 go away", nil), false, models.ReasonProtocol, false},
		{"STARTTLS with a trusted certificate passes and shows its expiry", trusting, fakeSMTP("220 ok", ehlo, fx.serverTLS()), true, "", true},
		{"STARTTLS not offered is a TLS error", trusting, fakeSMTP("220 ok", ehlo, nil), true, models.ReasonTLS, false},
		{"STARTTLS with an untrusted certificate is a TLS error", sceptical, fakeSMTP("220 ok", ehlo, fx.serverTLS()), true, models.ReasonTLS, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCheck(models.KindSMTP, serveLines(t, tt.handler))
			c.StartTLS = tt.starttls
			out := tt.checker.Probe(context.Background(), c)
			wantOutcome(t, out, tt.want)
			if tt.wantExpiry != (out.CertExpiry != nil) {
				t.Fatalf("certificate expiry %v, want one: %v", out.CertExpiry, tt.wantExpiry)
			}
			if tt.wantExpiry && !out.CertExpiry.Equal(fx.cert.NotAfter) {
				t.Errorf("certificate expiry %v, want %v", out.CertExpiry, fx.cert.NotAfter)
			}
		})
	}
}

func TestCheckFTP(t *testing.T) {
	ch := NewChecker(nil, nil)
	tests := []struct {
		name    string
		handler func(net.Conn)
		want    string
	}{
		{"an FTP server that greets and says goodbye passes", fakeFTP("220 FTP ready", "221 Goodbye"), ""},
		{"a multi-line greeting passes", fakeFTP("220-Welcome\r\n220 FTP ready", "221 Goodbye"), ""},
		{"a 421 greeting is a bad banner", fakeFTP("421 too many users", "221 Goodbye"), models.ReasonBadBanner},
		{"a QUIT not answered 221 is a protocol error", fakeFTP("220 FTP ready", "500 no"), models.ReasonProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := ch.Probe(context.Background(), newCheck(models.KindFTP, serveLines(t, tt.handler)))
			wantOutcome(t, out, tt.want)
		})
	}
}

func TestCheckTCP(t *testing.T) {
	ch := NewChecker(nil, nil)
	t.Run("a listening port passes", func(t *testing.T) {
		wantOutcome(t, ch.Probe(context.Background(), newCheck(models.KindTCP, serveLines(t, silent))), "")
	})
	t.Run("a closed port is refused", func(t *testing.T) {
		wantOutcome(t, ch.Probe(context.Background(), newCheck(models.KindTCP, closedPort(t))), models.ReasonRefused)
	})
	t.Run("an unknown kind is an error", func(t *testing.T) {
		wantOutcome(t, ch.Probe(context.Background(), newCheck("gopher", "127.0.0.1:70")), models.ReasonError)
	})
}

// TestCheckStoppedServers runs each kind of check against a server that
// has stopped: nothing listens on its port any more.
func TestCheckStoppedServers(t *testing.T) {
	fx := newTLSFixture(t, http.NotFoundHandler())
	ch := NewChecker(nil, &tls.Config{RootCAs: fx.pool})
	for _, kind := range []models.CheckKind{models.KindTCP, models.KindHTTP, models.KindHTTPS, models.KindSMTP, models.KindFTP} {
		t.Run(string(kind)+" against a stopped server is refused", func(t *testing.T) {
			target := closedPort(t)
			if kind == models.KindHTTP || kind == models.KindHTTPS {
				target = string(kind) + "://" + target + "/"
			}
			wantOutcome(t, ch.Probe(context.Background(), newCheck(kind, target)), models.ReasonRefused)
		})
	}
}

// TestCheckSilentServers runs each kind of check against a server that
// accepts the connection and never answers: the check times out, in time.
func TestCheckSilentServers(t *testing.T) {
	ch := NewChecker(nil, nil)
	for _, kind := range []models.CheckKind{models.KindHTTP, models.KindHTTPS, models.KindSMTP, models.KindFTP} {
		target := serveLines(t, silent)
		if kind == models.KindHTTP || kind == models.KindHTTPS {
			target = string(kind) + "://" + target + "/"
		}
		// The four wait out their timeouts side by side.
		t.Run(string(kind)+" against a silent server times out", func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			wantOutcome(t, ch.Probe(context.Background(), newCheck(kind, target)), models.ReasonTimeout)
			if took := time.Since(start); took > checkTimeout+2*time.Second {
				t.Errorf("a %v timeout took %v", checkTimeout, took)
			}
		})
	}
	t.Run("the caller's deadline bounds the check too", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		c := newCheck(models.KindSMTP, serveLines(t, silent))
		c.TimeoutMs = 60_000
		start := time.Now()
		wantOutcome(t, ch.Probe(ctx, c), models.ReasonTimeout)
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("took %v after a 50ms deadline", took)
		}
	})
}

func TestCheckDNSFailure(t *testing.T) {
	ch := NewChecker(nil, nil)
	// A resolver that reaches no server, so no query leaves the host.
	ch.dialer.Resolver = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no DNS server in this test")
	}}
	for _, c := range []*models.Check{
		newCheck(models.KindTCP, "device.example.invalid:22"),
		newCheck(models.KindHTTP, "http://device.example.invalid/"),
		newCheck(models.KindSMTP, "device.example.invalid:25"),
	} {
		t.Run(string(c.Kind)+" of an unknown host fails with dns", func(t *testing.T) {
			wantOutcome(t, ch.Probe(context.Background(), c), models.ReasonDNS)
		})
	}
}

func TestCheckClassifiesErrors(t *testing.T) {
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"no error has no reason", nil, ""},
		{"a refused connection", opErr(syscall.ECONNREFUSED), models.ReasonRefused},
		{"a wrapped refused connection", fmt.Errorf("probe: %w", opErr(syscall.ECONNREFUSED)), models.ReasonRefused},
		{"no route to host", opErr(syscall.EHOSTUNREACH), models.ReasonUnreachable},
		{"network unreachable", opErr(syscall.ENETUNREACH), models.ReasonUnreachable},
		{"a context deadline", context.DeadlineExceeded, models.ReasonTimeout},
		{"a connection deadline", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, models.ReasonTimeout},
		{"an http client timeout", &url.Error{Op: "Get", URL: "http://x/", Err: context.DeadlineExceeded}, models.ReasonTimeout},
		{"a name not found", &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}, models.ReasonDNS},
		{"a dns timeout is still dns", &net.DNSError{Err: "i/o timeout", Name: "x", IsTimeout: true}, models.ReasonDNS},
		{"an unknown authority", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, models.ReasonTLS},
		{"a host name mismatch", x509.HostnameError{Certificate: &x509.Certificate{}, Host: "x"}, models.ReasonTLS},
		{"an expired certificate", x509.CertificateInvalidError{Reason: x509.Expired}, models.ReasonTLS},
		{"a TLS alert from the server", &net.OpError{Op: "remote error", Err: tls.AlertError(40)}, models.ReasonTLS},
		{"a peer that does not speak TLS", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, models.ReasonTLS},
		{"a plain TLS handshake error", errors.New("tls: server chose an unconfigured cipher suite"), models.ReasonTLS},
		{"a hang-up", io.EOF, models.ReasonProtocol},
		{"a reset", opErr(syscall.ECONNRESET), models.ReasonProtocol},
		{"an unexpected reply", &textproto.Error{Code: 500, Msg: "no"}, models.ReasonProtocol},
		{"anything else", errors.New("something odd"), models.ReasonError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(tt.err); got != tt.want {
				t.Errorf("classify(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

// FuzzCheckClassify builds error chains from arbitrary input and checks
// that classify always answers with a known reason, never panicking.
func FuzzCheckClassify(f *testing.F) {
	f.Add([]byte{0, 1, 2}, "tls: bad")
	f.Add([]byte{3, 3, 7}, "")
	f.Add([]byte{9, 4, 5, 6, 8}, "i/o timeout")
	known := map[string]bool{models.ReasonTimeout: true, models.ReasonRefused: true, models.ReasonUnreachable: true,
		models.ReasonDNS: true, models.ReasonTLS: true, models.ReasonProtocol: true, models.ReasonError: true}
	f.Fuzz(func(t *testing.T, shape []byte, msg string) {
		if len(shape) > 32 {
			shape = shape[:32]
		}
		var err error = errors.New(msg)
		for _, b := range shape {
			switch b % 12 {
			case 0:
				err = fmt.Errorf("%s: %w", msg, err)
			case 1:
				err = &net.OpError{Op: msg, Net: "tcp", Err: err}
			case 2:
				err = os.NewSyscallError(msg, syscall.Errno(b))
			case 3:
				err = &url.Error{Op: "Get", URL: msg, Err: err}
			case 4:
				err = &net.DNSError{Err: msg, Name: msg, IsTimeout: b&1 == 1}
			case 5:
				err = errors.Join(err, errors.New(msg))
			case 6:
				err = &tls.CertificateVerificationError{Err: err}
			case 7:
				err = &textproto.Error{Code: int(b), Msg: msg}
			case 8:
				err = textproto.ProtocolError(msg)
			case 9:
				err = &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}
			case 10:
				err = errors.Join(context.DeadlineExceeded, err)
			case 11:
				err = tls.RecordHeaderError{Msg: msg}
			}
		}
		if got := classify(err); !known[got] {
			t.Fatalf("classify(%v) = %q, not a known reason", err, got)
		}
		_ = bannerReason(err)
		_ = replyReason(err, models.ReasonProtocol)
		_ = tlsReason(err)
		_ = unverifiedExpiry(err)
	})
}
