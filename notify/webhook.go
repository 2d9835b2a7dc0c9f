package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/colo-portal/portal/models"
)

// WebhookConfig is the data center's SMS, pager or fax gateway.
type WebhookConfig struct {
	URL string
	// Secret signs every request (HMAC-SHA256); at least 16 characters.
	Secret string
	// Timeout bounds one request. Default 10 s.
	Timeout time.Duration
	// Client sends the requests; default a client with Timeout.
	Client *http.Client
}

func (c *WebhookConfig) defaults() {
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
}

// Webhook headers.
const (
	HeaderTimestamp = "X-Portal-Timestamp"
	HeaderSignature = "X-Portal-Signature"
)

// Sign returns the X-Portal-Signature of a request: "sha256=" and the hex
// HMAC-SHA256, keyed with the secret, of the timestamp header, a dot and
// the body.
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Payload is the JSON body of a webhook request.
type Payload struct {
	Event        string         `json:"event"` // outage.opened or outage.closed
	DeliveryID   int64          `json:"delivery_id"`
	Attempt      int            `json:"attempt"`
	Organization PayloadOrg     `json:"organization"`
	Contact      PayloadContact `json:"contact"`
	Outage       PayloadOutage  `json:"outage"`
	// Message is a short text in the contact's language, at most 140
	// characters, ready to send as an SMS or a page.
	Message  string `json:"message"`
	Language string `json:"language"`
}

// PayloadOrg names the customer.
type PayloadOrg struct {
	ID   int64  `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// PayloadContact is whom to reach: channel is mobile, pager or fax, and
// address the number in E.164.
type PayloadContact struct {
	Name    string `json:"name"`
	Channel string `json:"channel"`
	Address string `json:"address"`
}

// PayloadOutage is the outage the notice is about; times are RFC 3339 UTC.
type PayloadOutage struct {
	ID            int64        `json:"id"`
	Device        string       `json:"device"`
	DeviceAddress string       `json:"device_address"`
	Check         PayloadCheck `json:"check"`
	StartedAt     time.Time    `json:"started_at"`
	ConfirmedAt   time.Time    `json:"confirmed_at"`
	EndedAt       *time.Time   `json:"ended_at,omitempty"`
	URL           string       `json:"url,omitempty"`
}

// PayloadCheck is the failing check: kind icmp, http, https, smtp, ftp or tcp.
type PayloadCheck struct {
	Kind   string `json:"kind"`
	Target string `json:"target"`
}

type webhook struct {
	cfg    WebhookConfig
	client *http.Client
}

func newWebhook(cfg WebhookConfig) *webhook {
	c := cfg.Client
	if c == nil {
		// A redirect is an answer other than 2xx: it is retried, not
		// followed (a 302 would turn the POST into a GET).
		c = &http.Client{Timeout: cfg.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	return &webhook{cfg: cfg, client: c}
}

func payload(del models.Delivery, n *notice) Payload {
	f := n.Facts
	p := Payload{Event: del.Event, DeliveryID: del.ID, Attempt: del.Attempts + 1,
		Organization: PayloadOrg{ID: f.Org.ID, Slug: f.Org.Slug, Name: f.Org.Name},
		Contact:      PayloadContact{Name: f.ContactName, Channel: string(del.Channel), Address: del.Address},
		Outage: PayloadOutage{ID: f.Outage.ID, Device: deviceName(f), DeviceAddress: f.Device.Address,
			Check:     PayloadCheck{Kind: string(f.Check.Kind), Target: f.Check.Target},
			StartedAt: f.Outage.StartedAt.UTC(), ConfirmedAt: f.Outage.ConfirmedAt.UTC(), URL: n.URL},
		Message: n.Short, Language: n.Lang}
	if del.Event == models.EventOutageClosed && f.Outage.EndedAt != nil {
		e := f.Outage.EndedAt.UTC()
		p.Outage.EndedAt = &e
	}
	return p
}

// send posts the signed notice; a 2xx answer means the gateway took it.
func (h *webhook) send(ctx context.Context, del models.Delivery, n *notice, now time.Time) error {
	body, err := json.Marshal(webhookBody(del, n))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "colo-portal-notify")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(h.cfg.Secret, ts, body))
	resp, err := h.client.Do(req)
	if err != nil {
		// Keep the gateway's URL, which may hold a token, out of the error
		// text that the outage page shows.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook answered %s: %s", resp.Status, bytes.TrimSpace(snippet))
	}
	return nil
}
