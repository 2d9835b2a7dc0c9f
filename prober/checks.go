package prober

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/colo-portal/portal/models"
)

const (
	// maxRedirects is how many redirects an http(s) check follows.
	maxRedirects = 5
	// maxKeywordBody is how much of a body is searched for the keyword.
	maxKeywordBody = 1 << 20
	// maxLineSession bounds what one SMTP or FTP dialogue may read, so a
	// server that sends an endless line cannot make the prober grow.
	maxLineSession = 64 << 10
	// userAgent names the prober to the customer's web server.
	userAgent = "colo-portal-prober/1"
)

// errTooManyRedirects fails an http(s) check that redirects more than
// maxRedirects times.
var errTooManyRedirects = errors.New("prober: too many redirects")

// Checker runs the probes of every check kind. It is safe for concurrent
// use; one is shared by the whole prober pool.
type Checker struct {
	pinger   *Pinger
	tls      *tls.Config
	dialer   *net.Dialer
	resolver *net.Resolver
	http     *http.Client
	helo     string
}

// NewChecker makes a Checker that pings through p (nil: ICMP checks fail
// with models.ReasonError) and verifies certificates with tlsConfig (nil:
// the system roots). Tests pass a config that trusts their own servers.
func NewChecker(p *Pinger, tlsConfig *tls.Config) *Checker {
	if tlsConfig == nil {
		tlsConfig = &tls.Config{}
	}
	tlsConfig = tlsConfig.Clone()
	// No TCP keep-alive probes: every connection lives for one check.
	dialer := &net.Dialer{KeepAlive: -1}
	transport := &http.Transport{
		Proxy:       nil, // probe the customer's server, never a proxy
		DialContext: dialer.DialContext,
		// A fresh connection per probe, so each one measures (and would
		// notice the failure of) connect and handshake.
		DisableKeepAlives:      true,
		TLSClientConfig:        tlsConfig.Clone(),
		MaxResponseHeaderBytes: 64 << 10,
	}
	client := &http.Client{
		Transport: transport,
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return errTooManyRedirects
			}
			return nil
		},
	}
	helo, err := os.Hostname()
	if err != nil || !models.ValidHost(helo) {
		helo = "localhost"
	}
	return &Checker{pinger: p, tls: tlsConfig, dialer: dialer, resolver: net.DefaultResolver, http: client, helo: helo}
}

// failure is the Outcome of a failed probe.
func failure(reason string) Outcome {
	return Outcome{Reason: reason}
}

// checkTCP connects to host:port; RTT is the connect time.
func (ch *Checker) checkTCP(ctx context.Context, target string) Outcome {
	start := time.Now()
	conn, err := ch.dialer.DialContext(ctx, "tcp", target)
	if err != nil {
		return failure(classify(err))
	}
	rtt := time.Since(start)
	conn.Close()
	return Outcome{OK: true, RTT: rtt}
}

// checkHTTP GETs c.Target and checks the status range and the keyword.
// RTT is the time to the answer that decided success: the response
// headers, or with a keyword the body up to the keyword.
func (ch *Checker) checkHTTP(ctx context.Context, c *models.Check) Outcome {
	// The transport may still be dialling when Do returns, hence atomic.
	var handshakeFailed atomic.Bool
	trace := &httptrace.ClientTrace{TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
		if err != nil {
			handshakeFailed.Store(true)
		}
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, c.Target, nil)
	if err != nil {
		return failure(models.ReasonError)
	}
	req.Header.Set("User-Agent", userAgent)
	start := time.Now()
	resp, err := ch.http.Do(req)
	if err != nil {
		out := failure(classify(err))
		if errors.Is(err, errTooManyRedirects) {
			out.Reason = models.ReasonBadStatus
		} else if handshakeFailed.Load() && out.Reason == models.ReasonError {
			out.Reason = models.ReasonTLS
		}
		out.CertExpiry = unverifiedExpiry(err)
		return out
	}
	defer resp.Body.Close()
	var expiry *time.Time
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		expiry = utcPtr(resp.TLS.PeerCertificates[0].NotAfter)
	}
	lo, hi := c.ExpectMin, c.ExpectMax
	if lo == 0 && hi == 0 {
		lo, hi = 200, 399 // models.ValidateCheck's default, for a check stored without one
	}
	if resp.StatusCode < lo || resp.StatusCode > hi {
		return Outcome{Reason: models.ReasonBadStatus, CertExpiry: expiry}
	}
	if c.Keyword != "" {
		found, err := containsKeyword(resp.Body, []byte(c.Keyword))
		if err != nil {
			return Outcome{Reason: classify(err), CertExpiry: expiry}
		}
		if !found {
			return Outcome{Reason: models.ReasonKeyword, CertExpiry: expiry}
		}
	}
	return Outcome{OK: true, RTT: time.Since(start), CertExpiry: expiry}
}

// containsKeyword reads at most maxKeywordBody bytes of r, stopping as soon
// as kw is seen.
func containsKeyword(r io.Reader, kw []byte) (bool, error) {
	r = io.LimitReader(r, maxKeywordBody)
	buf := make([]byte, 0, 32<<10)
	chunk := make([]byte, 16<<10)
	for {
		n, err := r.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if bytes.Contains(buf, kw) {
			return true, nil
		}
		// Keep only a tail that could start a match across reads.
		if keep := len(kw) - 1; len(buf) > keep {
			buf = append(buf[:0], buf[len(buf)-keep:]...)
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
}

// checkSMTP reads the 220 banner, says EHLO (250), optionally upgrades with
// STARTTLS and says EHLO again, then QUITs. RTT runs to the last EHLO
// answer; the QUIT is a courtesy and its answer is not required.
func (ch *Checker) checkSMTP(ctx context.Context, c *models.Check) Outcome {
	host, _, err := net.SplitHostPort(c.Target)
	if err != nil {
		return failure(models.ReasonError)
	}
	start := time.Now()
	conn, err := ch.dialer.DialContext(ctx, "tcp", c.Target)
	if err != nil {
		return failure(classify(err))
	}
	defer conn.Close()
	defer watchDeadline(ctx, conn)()

	tp := lineConn(conn)
	if _, _, err := tp.ReadResponse(220); err != nil {
		return failure(bannerReason(err))
	}
	if err := command(tp, 250, "EHLO %s", ch.helo); err != nil {
		return failure(replyReason(err, models.ReasonProtocol))
	}
	var expiry *time.Time
	if c.StartTLS {
		if err := command(tp, 220, "STARTTLS"); err != nil {
			// Not offered, or refused: the promised TLS is not there.
			return failure(replyReason(err, models.ReasonTLS))
		}
		cfg := ch.tls.Clone()
		cfg.ServerName = host
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			out := failure(tlsReason(err))
			out.CertExpiry = unverifiedExpiry(err)
			return out
		}
		if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 {
			expiry = utcPtr(certs[0].NotAfter)
		}
		tp = lineConn(tc)
		if err := command(tp, 250, "EHLO %s", ch.helo); err != nil {
			return Outcome{Reason: replyReason(err, models.ReasonProtocol), CertExpiry: expiry}
		}
	}
	rtt := time.Since(start)
	_ = command(tp, 221, "QUIT")
	return Outcome{OK: true, RTT: rtt, CertExpiry: expiry}
}

// checkFTP reads the 220 banner and QUITs, which must be answered 221. RTT
// runs to that answer.
func (ch *Checker) checkFTP(ctx context.Context, c *models.Check) Outcome {
	start := time.Now()
	conn, err := ch.dialer.DialContext(ctx, "tcp", c.Target)
	if err != nil {
		return failure(classify(err))
	}
	defer conn.Close()
	defer watchDeadline(ctx, conn)()

	tp := lineConn(conn)
	if _, _, err := tp.ReadResponse(220); err != nil {
		return failure(bannerReason(err))
	}
	if err := command(tp, 221, "QUIT"); err != nil {
		return failure(replyReason(err, models.ReasonProtocol))
	}
	return Outcome{OK: true, RTT: time.Since(start)}
}

// watchDeadline makes conn's reads and writes end at ctx's deadline, or at
// once when ctx is cancelled. The returned func stops the watch.
func watchDeadline(ctx context.Context, conn net.Conn) func() {
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	return func() { stop() }
}

// lineConn is a textproto.Conn over conn that reads at most maxLineSession
// bytes in all.
func lineConn(conn net.Conn) *textproto.Conn {
	return textproto.NewConn(struct {
		io.Reader
		io.Writer
		io.Closer
	}{io.LimitReader(conn, maxLineSession), conn, conn})
}

// command sends one command and reads its reply, which must carry code.
func command(tp *textproto.Conn, code int, format string, args ...any) error {
	id, err := tp.Cmd(format, args...)
	if err != nil {
		return err
	}
	tp.StartResponse(id)
	defer tp.EndResponse(id)
	_, _, err = tp.ReadResponse(code)
	return err
}

// bannerReason is the reason a greeting was not a 220: a wrong code, a
// garbled line, or the server hanging up is a bad banner; a timeout or a
// network error keeps its own reason.
func bannerReason(err error) string {
	if isReplyError(err) || isHangUp(err) {
		return models.ReasonBadBanner
	}
	return classify(err)
}

// replyReason is the reason a command's reply was wrong: onReply for a
// wrong code or a garbled reply, else the network's reason.
func replyReason(err error, onReply string) string {
	if isReplyError(err) {
		return onReply
	}
	return classify(err)
}

// tlsReason is the reason a TLS handshake failed: a timeout stays one,
// anything else is a TLS error.
func tlsReason(err error) string {
	if r := classify(err); r == models.ReasonTimeout || r == models.ReasonRefused {
		return r
	}
	return models.ReasonTLS
}

// isReplyError reports a reply with an unexpected code or bad syntax.
func isReplyError(err error) bool {
	var te *textproto.Error
	var pe textproto.ProtocolError
	return errors.As(err, &te) || errors.As(err, &pe)
}

// isHangUp reports a connection closed or reset by the other side.
func isHangUp(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// classify maps an error of a probe to a models.Reason* code. It is the one
// place that decides which reason an error shows; nil maps to "".
func classify(err error) string {
	if err == nil {
		return ""
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return models.ReasonDNS
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return models.ReasonTimeout
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return models.ReasonTimeout
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return models.ReasonRefused
	}
	if errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTDOWN) {
		return models.ReasonUnreachable
	}
	if isTLSError(err) {
		return models.ReasonTLS
	}
	if isHangUp(err) || isReplyError(err) {
		return models.ReasonProtocol
	}
	return models.ReasonError
}

// isTLSError reports an error of the TLS layer: certificate verification,
// an alert from either side, or a peer that does not speak TLS.
func isTLSError(err error) bool {
	var (
		verifyErr   *tls.CertificateVerificationError
		unknownAuth x509.UnknownAuthorityError
		invalid     x509.CertificateInvalidError
		hostname    x509.HostnameError
		record      tls.RecordHeaderError
		alert       tls.AlertError
		ech         *tls.ECHRejectionError
		opErr       *net.OpError
	)
	switch {
	case errors.As(err, &verifyErr), errors.As(err, &unknownAuth), errors.As(err, &invalid),
		errors.As(err, &hostname), errors.As(err, &record), errors.As(err, &alert), errors.As(err, &ech):
		return true
	case errors.As(err, &opErr) && (opErr.Op == "local error" || opErr.Op == "remote error"):
		// crypto/tls reports alerts it sends and receives this way.
		return true
	}
	// The rest of crypto/tls's handshake errors are plain, all prefixed.
	return strings.Contains(err.Error(), "tls: ")
}

// unverifiedExpiry is the expiry of the leaf certificate that failed
// verification, so an expired certificate still shows when it expired.
func unverifiedExpiry(err error) *time.Time {
	var verifyErr *tls.CertificateVerificationError
	if errors.As(err, &verifyErr) && len(verifyErr.UnverifiedCertificates) > 0 {
		return utcPtr(verifyErr.UnverifiedCertificates[0].NotAfter)
	}
	return nil
}

func utcPtr(t time.Time) *time.Time {
	t = t.UTC()
	return &t
}
