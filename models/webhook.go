package models

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Customer webhooks (docs/architecture.md, "Webhooks"): an organization's
// administrator registers endpoints, each with the public events it wants
// (webhook_event.go) and a signing secret made here, shown once and kept
// sealed. ExpandEvent fans each outbox event out to one delivery per
// endpoint that wants it, in its own transaction, with the payload frozen;
// the notify dispatcher sends the deliveries (notify/hooks.go) and records
// every attempt here.

// HookSecretPrefix begins every webhook signing secret.
const HookSecretPrefix = "whsec_"

// Webhook delivery states.
const (
	HookPending   = "pending"
	HookDelivered = "delivered" // a 2xx answer
	HookFailed    = "failed"    // no 2xx after every attempt
	// HookStopped: its endpoint was disabled, or deleted, before it got
	// through; redelivering starts it again.
	HookStopped = "stopped"
)

// Why an endpoint was disabled (WebhookEndpoint.DisabledReason).
const (
	HookDisabledFailures = "failures" // by the portal, after failed attempts in a row
	HookDisabledByUser   = "user"
)

// EventWebhookDisabled is the outbox event of an endpoint the portal
// disabled after failures: the organization's administrator is emailed.
const EventWebhookDisabled = "webhook.disabled"

// Limits of an organization's webhooks.
const (
	MaxWebhooksPerOrg = 10
	// HookResponseKept is how much of a receiver's answer an attempt keeps.
	HookResponseKept = 1024
)

// HookRules are the deployment's rules for endpoint URLs.
type HookRules struct {
	// AllowHTTP accepts http:// endpoints (PORTAL_HOOKS_ALLOW_HTTP); else
	// https only.
	AllowHTTP bool
	// AllowPrivate accepts endpoints at loopback, private, link-local and
	// other internal addresses (PORTAL_HOOKS_ALLOW_PRIVATE); the sender's
	// dialer refuses them at connect time too.
	AllowPrivate bool
}

// WithHookRules sets the rules for webhook endpoint URLs.
func WithHookRules(r HookRules) StoreOption { return func(s *Store) { s.hookRules = r } }

// WebhookEndpoint is one receiver of an organization's events.
type WebhookEndpoint struct {
	ID          int64
	OrgID       int64
	Ref         string
	URL         string `gorm:"column:url"`
	Description string
	Secret      string `json:"-"` // sealed
	Events      string // public event names, comma-separated
	Enabled     bool
	// Failures counts failed attempts in a row.
	Failures       int
	DisabledAt     *time.Time
	DisabledReason string
	CreatedBy      *int64
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (WebhookEndpoint) TableName() string { return "webhook_endpoints" }

// EventList is the events the endpoint wants, in the form's order.
func (e *WebhookEndpoint) EventList() []string {
	var out []string
	for _, n := range HookEvents {
		if e.Wants(n) {
			out = append(out, n)
		}
	}
	return out
}

// Wants reports whether the endpoint is subscribed to event name.
func (e *WebhookEndpoint) Wants(name string) bool {
	return slices.Contains(strings.Split(e.Events, ","), name)
}

// WebhookDelivery is one event to one endpoint, with its frozen payload;
// retries are attempts of the same delivery (same X-Portal-Delivery).
type WebhookDelivery struct {
	ID            int64
	EndpointID    int64
	OrgID         int64
	EventID       *int64
	Event         string
	Payload       string
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	LeaseOwner    string
	LeaseUntil    time.Time
	LastStatus    int
	LastError     string
	CreatedAt     time.Time
	DoneAt        *time.Time
}

func (WebhookDelivery) TableName() string { return "webhook_deliveries" }

// WebhookAttempt is one try of a delivery: the receiver's status, the
// error, how long it took and the start of the answer.
type WebhookAttempt struct {
	ID         int64
	DeliveryID int64
	EndpointID int64
	OrgID      int64
	At         time.Time
	StatusCode int
	Error      string
	Response   string
	DurationMs int
}

func (WebhookAttempt) TableName() string { return "webhook_attempts" }

// WebhookInput is what the endpoint form supplies.
type WebhookInput struct {
	URL         string
	Description string
	Events      []string
}

// HookPayload is the JSON body of a customer webhook request.
type HookPayload struct {
	ID           string         `json:"id"`
	Type         string         `json:"type"`
	CreatedAt    time.Time      `json:"created_at"`
	Organization HookOrg        `json:"organization"`
	Data         map[string]any `json:"data"`
}

// HookOrg names the organization in a payload.
type HookOrg struct {
	ID   int64  `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// newHookSecret is whsec_ and 256 random bits, base64url.
func newHookSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return HookSecretPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// checkWebhook validates the form whole and returns the cleaned input.
func (s *Store) checkWebhook(in WebhookInput) (WebhookInput, error) {
	var p problems
	in.URL = strings.TrimSpace(in.URL)
	in.Description = strings.TrimSpace(in.Description)
	if in.URL == "" {
		p.add(Invalid("url", "error.required"))
	} else if err := CheckLine("url", in.URL, 1000); err != nil {
		p.add(err)
	} else {
		p.add(s.checkHookURL(in.URL))
	}
	p.add(CheckLine("description", in.Description, 200))
	var evs []string
	for _, n := range HookEvents {
		if slices.Contains(in.Events, n) {
			evs = append(evs, n)
		}
	}
	for _, n := range in.Events {
		if !slices.Contains(HookEvents, n) {
			p.add(Invalid("events", "webhooks.error.event_unknown"))
		}
	}
	if len(evs) == 0 {
		p.add(Invalid("events", "webhooks.error.events_required"))
	}
	in.Events = evs
	return in, p.err()
}

// checkHookURL accepts an absolute https URL (http too with AllowHTTP)
// with a host, no user information and no fragment; a literal internal
// address is refused unless AllowPrivate (the dialer checks names).
func (s *Store) checkHookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" || u.Opaque != "" {
		return Invalid("url", "webhooks.error.url_invalid")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !s.hookRules.AllowHTTP {
			return Invalid("url", "webhooks.error.url_https")
		}
	default:
		return Invalid("url", "webhooks.error.url_invalid")
	}
	if u.User != nil || u.Fragment != "" {
		return Invalid("url", "webhooks.error.url_invalid")
	}
	if !s.hookRules.AllowPrivate {
		host := strings.ToLower(u.Hostname())
		if ip := net.ParseIP(host); (ip != nil && !PublicIP(ip)) || host == "localhost" || strings.HasSuffix(host, ".localhost") {
			return Invalid("url", "webhooks.error.url_private")
		}
	}
	return nil
}

// internalNets are address ranges beyond net.IP's own predicates that a
// webhook must not reach: "this network", shared address space (CGNAT),
// IETF protocol assignments, benchmarking, reserved, and NAT64.
var internalNets = func() []*net.IPNet {
	var out []*net.IPNet
	for _, c := range []string{"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "198.18.0.0/15", "240.0.0.0/4", "64:ff9b::/96", "64:ff9b:1::/48"} {
		_, n, err := net.ParseCIDR(c)
		if err != nil {
			panic(err)
		}
		out = append(out, n)
	}
	return out
}()

// PublicIP reports whether ip is an address a webhook may be sent to:
// not loopback, private, link-local, multicast, unspecified or another
// internal range.
func PublicIP(ip net.IP) bool {
	if ip4 := ip.To4(); ip4 != nil {
		ip = ip4
	}
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, n := range internalNets {
		if n.Contains(ip) {
			return false
		}
	}
	return true
}

// CreateWebhook registers an endpoint of orgID for the acting customer and
// returns it with its signing secret, which is never shown again. Audited.
func (s *Store) CreateWebhook(ctx context.Context, a Actor, sc Scope, orgID int64, in WebhookInput) (*WebhookEndpoint, string, error) {
	if !sc.Allows(orgID) {
		return nil, "", wrap(ErrNotFound, "create webhook")
	}
	in, err := s.checkWebhook(in)
	if err != nil {
		return nil, "", err
	}
	secret := newHookSecret()
	sealed, err := s.hookKey.Seal(secret)
	if err != nil {
		return nil, "", wrap(err, "create webhook")
	}
	var e WebhookEndpoint
	err = s.tx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&WebhookEndpoint{}).Where("org_id = ?", orgID).Count(&n).Error; err != nil {
			return err
		}
		if n >= MaxWebhooksPerOrg {
			return Invalid("url", "webhooks.error.too_many", Number(MaxWebhooksPerOrg))
		}
		now := s.now()
		e = WebhookEndpoint{OrgID: orgID, Ref: newRef(), URL: in.URL, Description: in.Description, Secret: sealed,
			Events: strings.Join(in.Events, ","), Enabled: true, CreatedBy: a.UserID, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&e).Error; err != nil {
			return err
		}
		return s.audit(tx, a, AuditWebhookCreated, "webhook_endpoint", &e.ID, &e.OrgID,
			map[string]any{"url": e.URL, "events": e.Events, "description": e.Description})
	})
	if err != nil {
		return nil, "", wrap(err, "create webhook")
	}
	return &e, secret, nil
}

// ListWebhooks lists an organization's endpoints, oldest first.
func (s *Store) ListWebhooks(ctx context.Context, sc Scope, orgID int64) ([]WebhookEndpoint, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "list webhooks")
	}
	var out []WebhookEndpoint
	err := s.db.WithContext(ctx).Where("org_id = ?", orgID).Order("id").Find(&out).Error
	return out, wrap(err, "list webhooks")
}

// GetWebhook finds an endpoint by its reference if sc sees it.
func (s *Store) GetWebhook(ctx context.Context, sc Scope, ref string) (*WebhookEndpoint, error) {
	return getByRef[WebhookEndpoint](ctx, s.db, sc, ref, "get webhook")
}

// lockWebhook reads an endpoint of the scope for change.
func lockWebhook(tx *gorm.DB, sc Scope, ref string) (*WebhookEndpoint, error) {
	if !ValidRequestRef(ref) {
		return nil, ErrNotFound
	}
	var e WebhookEndpoint
	if err := forUpdate(sc.apply(tx, "org_id")).Where("ref = ?", ref).Take(&e).Error; err != nil {
		return nil, notFound(err)
	}
	return &e, nil
}

// UpdateWebhook changes an endpoint's URL, description and events. Audited
// with what changed.
func (s *Store) UpdateWebhook(ctx context.Context, a Actor, sc Scope, ref string, in WebhookInput) error {
	in, err := s.checkWebhook(in)
	if err != nil {
		// Another organization's endpoint is still not found first.
		if _, gerr := s.GetWebhook(ctx, sc, ref); gerr != nil {
			return gerr
		}
		return err
	}
	return wrap(s.tx(ctx, func(tx *gorm.DB) error {
		e, err := lockWebhook(tx, sc, ref)
		if err != nil {
			return err
		}
		events := strings.Join(in.Events, ",")
		changed := map[string]any{}
		if e.URL != in.URL {
			changed["url"] = map[string]any{"from": e.URL, "to": in.URL}
		}
		if e.Description != in.Description {
			changed["description"] = map[string]any{"from": e.Description, "to": in.Description}
		}
		if e.Events != events {
			changed["events"] = map[string]any{"from": e.Events, "to": events}
		}
		if len(changed) == 0 {
			return nil
		}
		if err := tx.Model(&WebhookEndpoint{}).Where("id = ?", e.ID).Updates(map[string]any{"url": in.URL,
			"description": in.Description, "events": events, "updated_at": s.now()}).Error; err != nil {
			return err
		}
		return s.audit(tx, a, AuditWebhookUpdated, "webhook_endpoint", &e.ID, &e.OrgID, map[string]any{"changed": changed})
	}), "update webhook")
}

// DeleteWebhook removes an endpoint with its deliveries and their
// attempts. Audited.
func (s *Store) DeleteWebhook(ctx context.Context, a Actor, sc Scope, ref string) error {
	return wrap(s.tx(ctx, func(tx *gorm.DB) error {
		e, err := lockWebhook(tx, sc, ref)
		if err != nil {
			return err
		}
		ids := tx.Model(&WebhookDelivery{}).Select("id").Where("endpoint_id = ?", e.ID)
		if err := tx.Where("delivery_id IN (?)", ids).Delete(&WebhookAttempt{}).Error; err != nil {
			return err
		}
		if err := tx.Where("endpoint_id = ?", e.ID).Delete(&WebhookDelivery{}).Error; err != nil {
			return err
		}
		if err := tx.Delete(&WebhookEndpoint{}, e.ID).Error; err != nil {
			return err
		}
		return s.audit(tx, a, AuditWebhookDeleted, "webhook_endpoint", &e.ID, &e.OrgID, map[string]any{"url": e.URL})
	}), "delete webhook")
}

// RotateWebhookSecret gives an endpoint a new signing secret, returned
// once; the old one stops signing at once. Audited (never the secret).
func (s *Store) RotateWebhookSecret(ctx context.Context, a Actor, sc Scope, ref string) (string, error) {
	secret := newHookSecret()
	sealed, err := s.hookKey.Seal(secret)
	if err != nil {
		return "", wrap(err, "rotate webhook secret")
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		e, err := lockWebhook(tx, sc, ref)
		if err != nil {
			return err
		}
		if err := tx.Model(&WebhookEndpoint{}).Where("id = ?", e.ID).Updates(map[string]any{"secret": sealed, "updated_at": s.now()}).Error; err != nil {
			return err
		}
		return s.audit(tx, a, AuditWebhookRotated, "webhook_endpoint", &e.ID, &e.OrgID, map[string]any{"url": e.URL})
	})
	if err != nil {
		return "", wrap(err, "rotate webhook secret")
	}
	return secret, nil
}

// SetWebhookEnabled turns an endpoint on (its failure count starts again)
// or off (its pending deliveries stop). Audited.
func (s *Store) SetWebhookEnabled(ctx context.Context, a Actor, sc Scope, ref string, on bool) error {
	return wrap(s.tx(ctx, func(tx *gorm.DB) error {
		e, err := lockWebhook(tx, sc, ref)
		if err != nil {
			return err
		}
		if e.Enabled == on {
			return nil
		}
		now := s.now()
		if on {
			if err := tx.Model(&WebhookEndpoint{}).Where("id = ?", e.ID).Updates(map[string]any{"enabled": true, "failures": 0,
				"disabled_at": nil, "disabled_reason": "", "updated_at": now}).Error; err != nil {
				return err
			}
		} else if err := s.disableWebhook(tx, e, HookDisabledByUser, now); err != nil {
			return err
		}
		return s.audit(tx, a, AuditWebhookUpdated, "webhook_endpoint", &e.ID, &e.OrgID, map[string]any{"enabled": on})
	}), "set webhook enabled")
}

// disableWebhook turns e off and stops its pending deliveries.
func (s *Store) disableWebhook(tx *gorm.DB, e *WebhookEndpoint, reason string, now time.Time) error {
	if err := tx.Model(&WebhookEndpoint{}).Where("id = ?", e.ID).Updates(map[string]any{"enabled": false,
		"disabled_at": now, "disabled_reason": reason, "updated_at": now}).Error; err != nil {
		return err
	}
	return tx.Model(&WebhookDelivery{}).Where("endpoint_id = ? AND status = ?", e.ID, HookPending).
		Updates(map[string]any{"status": HookStopped, "done_at": now, "lease_owner": "", "lease_until": neverLeased}).Error
}

// SendWebhookTest queues a ping to the endpoint, due at once (the
// dispatcher's webhook loop sends it), unless one is still pending
// (webhooks.error.test_pending). Audited.
func (s *Store) SendWebhookTest(ctx context.Context, a Actor, sc Scope, ref string) (*WebhookDelivery, error) {
	var d WebhookDelivery
	err := s.tx(ctx, func(tx *gorm.DB) error {
		d = WebhookDelivery{}
		e, err := lockWebhook(tx, sc, ref)
		if err != nil {
			return err
		}
		// One test at a time (the endpoint's row is locked): a button held
		// down queues one ping, not hundreds.
		var waiting int64
		if err := tx.Model(&WebhookDelivery{}).Where("endpoint_id = ? AND event = ? AND status = ?", e.ID, HookPing, HookPending).
			Count(&waiting).Error; err != nil {
			return err
		}
		if waiting > 0 {
			return Invalid("delivery", "webhooks.error.test_pending")
		}
		now := s.now()
		he := HookEvent{Name: HookPing, At: now, Data: map[string]any{"object": "webhook", "ref": e.Ref,
			"message": "a test event sent from the portal"}}
		body, err := hookPayload(tx, e.OrgID, "ping_"+newRef(), he)
		if err != nil {
			return err
		}
		d = newHookDelivery(e, nil, HookPing, body, now)
		if err := tx.Create(&d).Error; err != nil {
			return err
		}
		return s.audit(tx, a, AuditWebhookTested, "webhook_endpoint", &e.ID, &e.OrgID, map[string]any{"delivery_id": d.ID})
	})
	if err != nil {
		return nil, wrap(err, "send webhook test")
	}
	return &d, nil
}

func newHookDelivery(e *WebhookEndpoint, eventID *int64, name, body string, now time.Time) WebhookDelivery {
	return WebhookDelivery{EndpointID: e.ID, OrgID: e.OrgID, EventID: eventID, Event: name, Payload: body,
		Status: HookPending, NextAttemptAt: now, LeaseUntil: neverLeased, CreatedAt: now}
}

// hookPayload freezes the JSON body of event he of orgID.
func hookPayload(tx *gorm.DB, orgID int64, id string, he HookEvent) (string, error) {
	var o Organization
	if err := tx.Select("id", "slug", "name").Take(&o, orgID).Error; err != nil {
		return "", err
	}
	data := he.Data
	if data == nil {
		data = map[string]any{}
	}
	b, err := json.Marshal(HookPayload{ID: id, Type: he.Name, CreatedAt: he.At.UTC(),
		Organization: HookOrg{ID: o.ID, Slug: o.Slug, Name: o.Name}, Data: data})
	return string(b), err
}

// fanOutHooks, inside ExpandEvent's transaction, gives every enabled
// endpoint of the event's organization subscribed to its public event one
// delivery with the payload frozen; the unique (endpoint, event) index
// makes it once. An organization without endpoints costs one query.
func (s *Store) fanOutHooks(tx *gorm.DB, ev OutboxEvent, now time.Time) error {
	if ev.OrgID == 0 {
		return nil
	}
	var eps []WebhookEndpoint
	if err := tx.Where("org_id = ? AND enabled = ?", ev.OrgID, true).Order("id").Find(&eps).Error; err != nil {
		return err
	}
	if len(eps) == 0 {
		return nil
	}
	he, ok, err := s.hookEventOf(tx, ev)
	if errors.Is(err, ErrNotFound) {
		return nil // what it was about is gone: nothing to tell
	}
	if err != nil || !ok {
		return err
	}
	if he.At.IsZero() {
		he.At = ev.CreatedAt
	}
	var ds []WebhookDelivery
	var body string
	for i := range eps {
		if !eps[i].Wants(he.Name) {
			continue
		}
		if body == "" {
			if body, err = hookPayload(tx, ev.OrgID, fmt.Sprintf("evt_%d", ev.ID), he); err != nil {
				return err
			}
		}
		id := ev.ID
		ds = append(ds, newHookDelivery(&eps[i], &id, he.Name, body, now))
	}
	if len(ds) == 0 {
		return nil
	}
	return tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&ds).Error
}

// HookJob is a claimed delivery with what sending it needs.
type HookJob struct {
	Delivery WebhookDelivery
	URL      string
	Secret   string
}

// HookClaimPerEndpoint bounds the deliveries of one endpoint in one claim,
// so that one organization's backlog (or a test button held down) shares
// the senders with the others instead of taking every one.
const HookClaimPerEndpoint = 2

// ClaimHookDeliveries leases up to limit due webhook deliveries to owner,
// at most HookClaimPerEndpoint of each endpoint, the longest due first,
// with their endpoints' URLs and opened secrets.
func (s *Store) ClaimHookDeliveries(ctx context.Context, owner string, lease time.Duration, limit int) ([]HookJob, error) {
	now := s.now()
	pending := func(q *gorm.DB) *gorm.DB {
		return q.Where("status = ? AND next_attempt_at <= ?", HookPending, now)
	}
	// Each endpoint's due deliveries numbered in order; the first few of
	// every endpoint, by due time, fill the claim.
	ranked := pending(s.db.WithContext(ctx).Model(&WebhookDelivery{})).Where("lease_until < ?", now).
		Select("id, next_attempt_at, ROW_NUMBER() OVER (PARTITION BY endpoint_id ORDER BY next_attempt_at, id) AS n")
	var ids []int64
	if err := s.db.WithContext(ctx).Table("(?) AS r", ranked).Where("r.n <= ?", HookClaimPerEndpoint).
		Order("r.next_attempt_at, r.id").Limit(limit).Pluck("r.id", &ids).Error; err != nil {
		return nil, wrap(err, "claim webhook deliveries")
	}
	slices.Sort(ids)
	var ds []WebhookDelivery
	err := claimIDs(ctx, s, pending, ids, owner, lease, now, &ds)
	if err != nil || len(ds) == 0 {
		return nil, wrap(err, "claim webhook deliveries")
	}
	epIDs := make([]int64, 0, len(ds))
	for _, d := range ds {
		if !slices.Contains(epIDs, d.EndpointID) {
			epIDs = append(epIDs, d.EndpointID)
		}
	}
	var eps []WebhookEndpoint
	if err := s.db.WithContext(ctx).Where("id IN ?", epIDs).Find(&eps).Error; err != nil {
		return nil, wrap(err, "claim webhook deliveries")
	}
	byID := map[int64]*WebhookEndpoint{}
	for i := range eps {
		byID[eps[i].ID] = &eps[i]
	}
	out := make([]HookJob, 0, len(ds))
	for _, d := range ds {
		e := byID[d.EndpointID]
		if e == nil {
			continue // deleted meanwhile: its deliveries went with it
		}
		secret, err := s.hookKey.Open(e.Secret)
		if err != nil {
			// Sealed under another PORTAL_SECRET: it cannot be signed.
			secret = ""
		}
		out = append(out, HookJob{Delivery: d, URL: e.URL, Secret: secret})
	}
	return out, nil
}

// HookResult is what one attempt of a webhook delivery came to.
type HookResult struct {
	Delivered  bool
	StatusCode int // 0: no answer
	// Problem says what went wrong: no connection, a refused address, a
	// timeout, an answer other than 2xx.
	Problem  string
	Response string
	Duration time.Duration
	// RetryAt is when a failed delivery is tried again; nil gives up.
	RetryAt *time.Time
}

// RecordHookAttempt stores one attempt of a delivery held by owner: the
// attempt row, the delivery's new state, and the endpoint's run of
// failures; at disableAfter failures in a row the endpoint is disabled,
// its pending deliveries stop, the organization's administrator gets an
// email (an outbox event) and the portal's audit record says why. It
// reports whether the endpoint was disabled by this attempt.
func (s *Store) RecordHookAttempt(ctx context.Context, owner string, deliveryID int64, r HookResult, disableAfter int) (bool, error) {
	disabled := false
	err := s.tx(ctx, func(tx *gorm.DB) error {
		disabled = false
		var d WebhookDelivery
		if err := tx.Where("id = ? AND lease_owner = ? AND status = ?", deliveryID, owner, HookPending).Take(&d).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrLeaseLost
			}
			return err
		}
		// The endpoint's row first: attempts of one endpoint's deliveries
		// take their locks in one order (endpoint, then delivery), so that
		// disabling, which stops every pending delivery of the endpoint,
		// waits instead of deadlocking with another attempt.
		var e WebhookEndpoint
		if err := forUpdate(tx).Where("id = ?", d.EndpointID).Take(&e).Error; err != nil {
			return notFound(err)
		}
		now := s.now()
		errText := truncate(strings.ToValidUTF8(r.Problem, "?"), 255)
		if err := tx.Create(&WebhookAttempt{DeliveryID: d.ID, EndpointID: d.EndpointID, OrgID: d.OrgID, At: now,
			StatusCode: r.StatusCode, Error: errText, Response: truncate(strings.ToValidUTF8(r.Response, "?"), HookResponseKept),
			DurationMs: int(r.Duration / time.Millisecond)}).Error; err != nil {
			return err
		}
		upd := map[string]any{"attempts": d.Attempts + 1, "last_status": r.StatusCode, "last_error": errText,
			"lease_owner": "", "lease_until": neverLeased}
		switch {
		case r.Delivered:
			upd["status"], upd["done_at"] = HookDelivered, now
		case r.RetryAt == nil:
			upd["status"], upd["done_at"] = HookFailed, now
		default:
			upd["next_attempt_at"] = r.RetryAt.UTC()
		}
		if err := tx.Model(&WebhookDelivery{}).Where("id = ?", d.ID).Updates(upd).Error; err != nil {
			return err
		}
		if r.Delivered {
			if e.Failures == 0 {
				return nil
			}
			return tx.Model(&WebhookEndpoint{}).Where("id = ?", e.ID).Update("failures", 0).Error
		}
		e.Failures++
		if err := tx.Model(&WebhookEndpoint{}).Where("id = ?", e.ID).Update("failures", e.Failures).Error; err != nil {
			return err
		}
		if !e.Enabled || disableAfter <= 0 || e.Failures < disableAfter {
			return nil
		}
		if err := s.disableWebhook(tx, &e, HookDisabledFailures, now); err != nil {
			return err
		}
		if err := s.outbox(tx, EventWebhookDisabled, e.OrgID, e.ID, ""); err != nil {
			return err
		}
		disabled = true
		return s.audit(tx, SystemActor("portal"), AuditWebhookDisabled, "webhook_endpoint", &e.ID, &e.OrgID,
			map[string]any{"url": e.URL, "failures": e.Failures, "last_error": errText, "last_status": r.StatusCode})
	})
	return disabled, wrap(err, "record webhook attempt")
}

// ListWebhookDeliveries lists an endpoint's deliveries newest first, limit
// at a time, before the delivery ID before (0: from the newest).
func (s *Store) ListWebhookDeliveries(ctx context.Context, sc Scope, e *WebhookEndpoint, before int64, limit int) ([]WebhookDelivery, error) {
	if !sc.Allows(e.OrgID) {
		return nil, wrap(ErrNotFound, "list webhook deliveries")
	}
	q := s.db.WithContext(ctx).Omit("payload").Where("endpoint_id = ? AND org_id = ?", e.ID, e.OrgID)
	if before > 0 {
		q = q.Where("id < ?", before)
	}
	var out []WebhookDelivery
	err := q.Order("id DESC").Limit(limit).Find(&out).Error
	return out, wrap(err, "list webhook deliveries")
}

// GetWebhookDelivery is one delivery of an endpoint with its attempts,
// oldest first.
func (s *Store) GetWebhookDelivery(ctx context.Context, sc Scope, e *WebhookEndpoint, id int64) (*WebhookDelivery, []WebhookAttempt, error) {
	if !sc.Allows(e.OrgID) {
		return nil, nil, wrap(ErrNotFound, "get webhook delivery")
	}
	db := s.db.WithContext(ctx)
	var d WebhookDelivery
	if err := db.Where("id = ? AND endpoint_id = ? AND org_id = ?", id, e.ID, e.OrgID).Take(&d).Error; err != nil {
		return nil, nil, wrap(notFound(err), "get webhook delivery")
	}
	var as []WebhookAttempt
	err := db.Where("delivery_id = ?", d.ID).Order("at, id").Find(&as).Error
	return &d, as, wrap(err, "get webhook delivery")
}

// RedeliverWebhook puts a finished delivery (delivered, failed or
// stopped) back in the queue, due at once, with the same payload and
// delivery ID. Audited.
func (s *Store) RedeliverWebhook(ctx context.Context, a Actor, sc Scope, ref string, id int64) error {
	return wrap(s.tx(ctx, func(tx *gorm.DB) error {
		e, err := lockWebhook(tx, sc, ref)
		if err != nil {
			return err
		}
		var d WebhookDelivery
		if err := tx.Where("id = ? AND endpoint_id = ?", id, e.ID).Take(&d).Error; err != nil {
			return notFound(err)
		}
		if d.Status == HookPending {
			return Invalid("delivery", "webhooks.error.still_pending")
		}
		if err := tx.Model(&WebhookDelivery{}).Where("id = ? AND status <> ?", d.ID, HookPending).Updates(map[string]any{
			"status": HookPending, "done_at": nil, "next_attempt_at": s.now(), "lease_owner": "", "lease_until": neverLeased}).Error; err != nil {
			return err
		}
		return s.audit(tx, a, AuditWebhookUpdated, "webhook_endpoint", &e.ID, &e.OrgID, map[string]any{"redelivered": d.ID, "event": d.Event})
	}), "redeliver webhook")
}

// WebhookDisabledFacts is what the email about a disabled endpoint says.
type WebhookDisabledFacts struct {
	Org      Organization
	Endpoint WebhookEndpoint
	// LastError and LastStatus are of its last failed attempt.
	LastError  string
	LastStatus int
}

// WebhookDisabledFactsOf loads outbox event eventID of orgID (an endpoint
// disabled after failures).
func (s *Store) WebhookDisabledFactsOf(ctx context.Context, sc Scope, orgID, eventID int64) (*WebhookDisabledFacts, error) {
	if !sc.Allows(orgID) {
		return nil, wrap(ErrNotFound, "webhook disabled facts")
	}
	db := s.db.WithContext(ctx)
	var ev OutboxEvent
	if err := db.Where("id = ? AND org_id = ? AND kind = ?", eventID, orgID, EventWebhookDisabled).Take(&ev).Error; err != nil {
		return nil, wrap(notFound(err), "webhook disabled facts")
	}
	var f WebhookDisabledFacts
	if err := db.Where("id = ? AND org_id = ?", ev.RefID, orgID).Take(&f.Endpoint).Error; err != nil {
		return nil, wrap(notFound(err), "webhook disabled facts")
	}
	if err := db.Take(&f.Org, orgID).Error; err != nil {
		return nil, wrap(notFound(err), "webhook disabled facts")
	}
	var at WebhookAttempt
	err := db.Where("endpoint_id = ?", f.Endpoint.ID).Order("id DESC").Limit(1).Find(&at).Error
	f.LastError, f.LastStatus = at.Error, at.StatusCode
	return &f, wrap(err, "webhook disabled facts")
}

// hookDisabledDeliveries emails an endpoint's disabling to the
// organization's administrator (or, without one, to its customer users).
func (s *Store) hookDisabledDeliveries(tx *gorm.DB, ev OutboxEvent, now time.Time, channelFor func(Channel) string) ([]Delivery, error) {
	t := channelFor(ChannelEmail)
	if t == "" {
		return nil, nil
	}
	var o Organization
	if err := tx.Take(&o, ev.OrgID).Error; err != nil {
		return nil, optionalRow(err)
	}
	var rs []emailRecipient
	if o.AdminUserID != nil {
		var u User
		err := tx.Where("id = ? AND org_id = ? AND disabled_at IS NULL", *o.AdminUserID, o.ID).Take(&u).Error
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, err
		}
		if err == nil {
			rs = append(rs, emailRecipient{Address: u.Email, Locale: u.Locale})
		}
	}
	if len(rs) == 0 {
		var err error
		if rs, err = orgUserRecipients(tx, ev.OrgID); err != nil {
			return nil, err
		}
	}
	var ds []Delivery
	for _, r := range rs {
		addr := strings.TrimSpace(r.Address)
		if addr == "" {
			continue
		}
		locale := r.Locale
		if locale == "" {
			locale = defaultLocale
		}
		ds = append(ds, Delivery{OrgID: ev.OrgID, EventID: ev.ID, Event: ev.Kind, Channel: ChannelEmail, Transport: t,
			Address: addr, Locale: locale, Status: DeliveryPending, NextAttemptAt: now, LeaseUntil: neverLeased, CreatedAt: now})
	}
	return ds, nil
}

// Bounds of PurgeHookLog: deliveries a statement, statements a call.
const (
	hookPurgeChunk  = 500
	hookPurgeChunks = 20
)

// PurgeHookLog deletes the webhook deliveries done (delivered, failed or
// stopped) before before, with their attempts, in bounded chunks (at most
// hookPurgeChunks of hookPurgeChunk a call; the janitor comes back), and
// says how many deliveries went. A pending delivery is never purged.
func (s *Store) PurgeHookLog(ctx context.Context, before time.Time) (int64, error) {
	utc(&before)
	db := s.db.WithContext(ctx)
	var total int64
	for range hookPurgeChunks {
		var ids []int64
		if err := db.Model(&WebhookDelivery{}).Where("status <> ? AND done_at < ?", HookPending, before).
			Order("id").Limit(hookPurgeChunk).Pluck("id", &ids).Error; err != nil {
			return total, wrap(err, "purge webhook log")
		}
		if len(ids) == 0 {
			return total, nil
		}
		err := s.tx(ctx, func(tx *gorm.DB) error {
			if err := tx.Where("delivery_id IN ?", ids).Delete(&WebhookAttempt{}).Error; err != nil {
				return err
			}
			r := tx.Where("id IN ? AND status <> ?", ids, HookPending).Delete(&WebhookDelivery{})
			total += r.RowsAffected
			return r.Error
		})
		if err != nil {
			return total, wrap(err, "purge webhook log")
		}
		if len(ids) < hookPurgeChunk {
			return total, nil
		}
	}
	return total, nil
}
