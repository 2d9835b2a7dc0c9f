package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/colo-portal/portal/models"
)

// SMTP connection modes.
const (
	ModeStartTLS = "starttls" // plain connection upgraded with STARTTLS (port 587)
	ModeTLS      = "tls"      // TLS from the first byte (port 465)
	ModeNone     = "none"     // no encryption: a relay on localhost or a trusted network
)

// SMTPConfig is the mail server notices go through.
type SMTPConfig struct {
	Host string
	Port int    // default 587
	Mode string // starttls (default), tls or none
	// User and Password log in with AUTH PLAIN when User is set, which
	// net/smtp allows only over TLS or to localhost.
	User     string
	Password string
	// From is the sender, "Name <noc@idc.example>" or a bare address.
	From string
	// HeloName is the name this host gives in EHLO; default its host name.
	HeloName string
	// Timeout bounds one whole SMTP conversation. Default 30 s.
	Timeout time.Duration
	// TLS overrides the TLS settings (custom roots); ServerName defaults to Host.
	TLS *tls.Config
}

func (c *SMTPConfig) defaults() {
	if c.Port == 0 {
		c.Port = 587
	}
	if c.Mode == "" {
		c.Mode = ModeStartTLS
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.HeloName == "" {
		c.HeloName, _ = os.Hostname()
		if c.HeloName == "" {
			c.HeloName = "localhost"
		}
	}
}

// BounceError is the mail server's permanent refusal of the recipient's
// address at RCPT TO: retrying will not change it, and the address, which
// the customer keeps, is likely wrong (docs/agreement.md §4: a bounce is one
// of the failures the customer's stale details can explain).
type BounceError struct {
	Stage string
	Err   error
}

func (e *BounceError) Error() string { return fmt.Sprintf("smtp %s refused: %v", e.Stage, e.Err) }
func (e *BounceError) Unwrap() error { return e.Err }

// enhancedStatus matches an RFC 3463 enhanced status code at the start of
// a reply's text: class, subject, detail.
var enhancedStatus = regexp.MustCompile(`^([245])\.(\d{1,3})\.(\d{1,3})(?:\s|$)`)

// recipientError makes a bounce of a permanent refusal of the address at
// RCPT TO only: an enhanced status 5.1.x (bad mailbox or domain), or,
// from a server that gives none, 550 or 553. Anything else, a 5.7.x
// (relaying denied, policy), a refusal at DATA or of the message, or a
// temporary reply, is the provider's side or may pass later: a failure,
// retried like any other.
func recipientError(stage string, err error) error {
	var te *textproto.Error
	if stage == "RCPT TO" && errors.As(err, &te) && te.Code >= 500 && te.Code < 600 {
		if m := enhancedStatus.FindStringSubmatch(te.Msg); m != nil {
			if m[1] == "5" && m[2] == "1" {
				return &BounceError{Stage: stage, Err: err}
			}
		} else if te.Code == 550 || te.Code == 553 {
			return &BounceError{Stage: stage, Err: err}
		}
	}
	return fmt.Errorf("smtp %s: %w", stage, err)
}

type mailer struct {
	cfg  SMTPConfig
	from mail.Address
}

func newMailer(cfg SMTPConfig) *mailer {
	m := &mailer{cfg: cfg}
	if a, err := mail.ParseAddress(cfg.From); err == nil {
		m.from = *a
	} else {
		m.from = mail.Address{Address: strings.TrimSpace(cfg.From)} // the configuration checks it
	}
	return m
}

func (m *mailer) tlsConfig() *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if m.cfg.TLS != nil {
		c = m.cfg.TLS.Clone()
	}
	if c.ServerName == "" {
		c.ServerName = m.cfg.Host
	}
	return c
}

// send mails a notice to the delivery's address and returns nil once the
// server has accepted the message.
func (m *mailer) send(ctx context.Context, del models.Delivery, n *notice, now time.Time) error {
	msg, err := m.message(del, n, now)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(m.cfg.Timeout)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	addr := net.JoinHostPort(m.cfg.Host, strconv.Itoa(m.cfg.Port))
	var conn net.Conn
	if m.cfg.Mode == ModeTLS {
		conn, err = (&tls.Dialer{Config: m.tlsConfig()}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("smtp connect: %w", err)
	}
	_ = conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, m.cfg.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello(m.cfg.HeloName); err != nil {
		return fmt.Errorf("smtp EHLO: %w", err)
	}
	if m.cfg.Mode == ModeStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("smtp: the server does not offer STARTTLS")
		}
		if err := c.StartTLS(m.tlsConfig()); err != nil {
			return fmt.Errorf("smtp STARTTLS: %w", err)
		}
	}
	if m.cfg.User != "" {
		// PlainAuth itself refuses to send the password unencrypted to
		// anything but localhost.
		if err := c.Auth(smtp.PlainAuth("", m.cfg.User, m.cfg.Password, m.cfg.Host)); err != nil {
			return fmt.Errorf("smtp AUTH: %w", err)
		}
	}
	if err := c.Mail(m.from.Address); err != nil {
		return fmt.Errorf("smtp MAIL FROM: %w", err)
	}
	if err := c.Rcpt(del.Address); err != nil {
		return recipientError("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return recipientError("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return recipientError("DATA", err)
	}
	_ = c.Quit() // accepted already; a failed QUIT changes nothing
	return nil
}

// message builds the RFC 5322 message: UTF-8 text, quoted-printable, the
// subject as encoded words, CRLF line ends.
func (m *mailer) message(del models.Delivery, n *notice, now time.Time) ([]byte, error) {
	to := mail.Address{Name: n.To, Address: del.Address}
	domain := "localhost"
	if _, d, ok := strings.Cut(m.from.Address, "@"); ok && d != "" {
		domain = d
	}
	var b bytes.Buffer
	h := func(k, v string) {
		if !strings.HasPrefix(v, "\r\n") {
			v = " " + v
		}
		b.WriteString(k + ":" + v + "\r\n")
	}
	h("Date", now.Format(time.RFC1123Z))
	// The same on every try of a delivery, so that a message sent again
	// (the server took it, its answer was lost) is dropped as a duplicate;
	// the creation time keeps IDs apart across databases.
	h("Message-ID", fmt.Sprintf("<portal.%d.%s@%s>", del.ID, strconv.FormatInt(del.CreatedAt.UnixNano(), 36), domain))
	h("From", m.from.String())
	h("To", to.String())
	h("Subject", encodeHeader(n.Subject))
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=UTF-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	h("Content-Language", n.Lang)
	h("Auto-Submitted", "auto-generated")
	h("X-Portal-Delivery", strconv.FormatInt(del.ID, 10))
	h("X-Portal-Event", del.Event)
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	// In text mode the writer ends every line with CRLF.
	if _, err := qp.Write([]byte(n.Body)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// encodeHeader encodes a header value as RFC 2047 words when it is not
// plain ASCII. The words (at most 75 characters each) start on a line of
// their own and each has its own line, so no line with an encoded word
// runs past the 76 characters RFC 2047 allows.
func encodeHeader(s string) string {
	enc := mime.QEncoding.Encode("UTF-8", s)
	if enc == s {
		return s
	}
	return "\r\n " + strings.ReplaceAll(enc, "?= =?", "?=\r\n =?")
}
