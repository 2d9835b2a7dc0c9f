// Package notify dispatches outbox events to the customer's authorized
// contacts: email through an SMTP server, a signed webhook for the data
// center's SMS, pager or fax gateway, and phone-call tasks for staff (which
// the on-call page shows; staff log the outcome). Engineers' messages on
// operation requests and phone-authorization locks go by email only, to
// the customer's users and the contacts concerned. It runs inside
// `portal serve`; several instances share the work through leases in the
// database, so each notification goes out once. It never imports fiber.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/colo-portal/portal/models"
)

// Config tunes a Dispatcher. The zero value of each field means its default.
type Config struct {
	// InstanceID names this process in leases; default hostname-pid-random.
	InstanceID string
	// Lease is how long a claim on an event or a delivery lasts: a dead
	// instance's work is taken over after it. Longer than any send.
	// Default 60 s.
	Lease time.Duration
	// Poll is the pause between two passes over the outbox. Default 2 s.
	Poll time.Duration
	// BaseURL is the portal's public address (https://portal.example);
	// notifications link to BaseURL/outages/ID (an operation message to
	// BaseURL/operations/ID, a phone lock to BaseURL/contacts). Empty: no
	// link.
	BaseURL string
	// Location is the provider's time zone, in which notices show times.
	// Default UTC.
	Location *time.Location
	// SMTP sends email; without a Host, email channels get no delivery.
	SMTP SMTPConfig
	// Webhook posts SMS, pager and fax notices to a gateway; without a URL,
	// pager and fax get no delivery and mobiles become phone-call tasks.
	Webhook WebhookConfig
	// Hooks sends organizations' own webhooks (notify/hooks.go).
	Hooks HooksConfig
	// Clock is the time source; default the system clock.
	Clock Clock
	// MaxAttempts is how many tries a delivery gets before it is failed.
	// Default 14 (about 45 minutes of retries).
	MaxAttempts int
	// Workers bounds the sends in flight, and so the deliveries one claim
	// takes: each starts at once, well within its lease. Default 8.
	Workers int
	// Batch is how many outbox events one claim takes. Default 50.
	Batch int
	// Incident decides when outages of many organizations open a
	// provider-wide incident (each pass runs the detection).
	Incident models.IncidentRules
	// Metrics is the registry the dispatcher's series are added to
	// (metrics.go); nil keeps them unregistered.
	Metrics *prometheus.Registry
}

const (
	// firstRetry is the wait after the first failed try; it doubles after
	// each further failure up to maxRetryWait. The bound is short: a mail
	// server that is back is used within minutes, and a notice held back
	// behind its outage's earlier one (ClaimDeliveries) waits no longer.
	firstRetry   = 30 * time.Second
	maxRetryWait = 4 * time.Minute
	// maxProbesShown bounds the failed probes a notice lists.
	maxProbesShown = 10
)

// MaxListed bounds the devices a notice of several outages lists by name
// (email body and webhook payload); the rest are counted and linked.
const MaxListed = 50

func (c *Config) defaults() {
	if c.InstanceID == "" {
		c.InstanceID = models.NewInstanceID()
	}
	if c.Lease <= 0 {
		c.Lease = time.Minute
	}
	if c.Poll <= 0 {
		c.Poll = 2 * time.Second
	}
	if c.Location == nil {
		c.Location = time.UTC
	}
	if c.Clock == nil {
		c.Clock = models.WallClock
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 14
	}
	if c.Workers <= 0 {
		c.Workers = 8
	}
	if c.Batch <= 0 {
		c.Batch = 50
	}
	c.SMTP.defaults()
	c.Webhook.defaults()
	c.Hooks.defaults()
	// A send must end well within its lease, or another instance could
	// take the delivery and send it again.
	if budget := c.sendBudget(); c.Lease < 2*budget {
		c.Lease = 2 * budget
	}
}

// sendBudget is the longest one send may take, with room to record it.
func (c *Config) sendBudget() time.Duration {
	return max(c.SMTP.Timeout, c.Webhook.Timeout, c.Hooks.Timeout) + 5*time.Second
}

// Backoff is the wait before the next try of a delivery that has failed
// `failed` times: 30 s, 1 min, 2 min, then every 4 min.
func Backoff(failed int) time.Duration {
	d := firstRetry
	for i := 1; i < failed && d < maxRetryWait; i++ {
		d *= 2
	}
	return min(d, maxRetryWait)
}

// Dispatcher turns outbox events into deliveries, sends the email and
// webhook ones, and ends emergency clocks that ran out.
type Dispatcher struct {
	cfg        Config
	store      *models.Store
	log        *slog.Logger
	mail       *mailer
	hook       *webhook
	hooks      *hookSender
	transports []string
	m          *metrics

	// afterPass, when set (tests), is called after each pass.
	afterPass func()
	// afterHookPass, when set (tests), is called after each round of the
	// webhook loop.
	afterHookPass func()

	// dbMu guards dbDown and dbDownSince: whether the database failed the
	// last time it was used, so an outage is logged once and its end once.
	dbMu        sync.Mutex
	dbDown      bool
	dbDownSince time.Time
}

// New builds a dispatcher; Run starts it.
func New(cfg Config, store *models.Store, log *slog.Logger) *Dispatcher {
	cfg.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Dispatcher{cfg: cfg, store: store, log: log.With("instance", cfg.InstanceID), hooks: newHookSender(cfg.Hooks)}
	d.m = newMetrics(d)
	d.register(cfg.Metrics)
	if cfg.SMTP.Host != "" {
		d.mail = newMailer(cfg.SMTP)
		d.transports = append(d.transports, models.TransportEmail)
	}
	if cfg.Webhook.URL != "" {
		d.hook = newWebhook(cfg.Webhook)
		d.transports = append(d.transports, models.TransportWebhook)
	}
	return d
}

// TransportFor maps a contact's channel to the transport that carries it
// here, or "" when this portal has no way to use it: email needs SMTP;
// mobile, pager and fax go to the webhook gateway; an office phone is a
// call by staff, and so is a mobile when there is no gateway.
func (d *Dispatcher) TransportFor(ch models.Channel) string {
	switch ch {
	case models.ChannelEmail:
		if d.mail != nil {
			return models.TransportEmail
		}
	case models.ChannelMobile:
		if d.hook != nil {
			return models.TransportWebhook
		}
		return models.TransportCall
	case models.ChannelPager, models.ChannelFax:
		if d.hook != nil {
			return models.TransportWebhook
		}
	case models.ChannelOffice:
		return models.TransportCall
	}
	return ""
}

// Run dispatches until ctx is cancelled. A send under way when it is
// cancelled is finished (each is bounded by its timeout) and recorded, so
// that nothing is sent twice after a restart.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.log.Info("notification dispatcher started", "email", d.mail != nil, "webhook", d.hook != nil,
		"poll", d.cfg.Poll, "lease", d.cfg.Lease)
	// Customers' webhooks in a loop of their own: the notices never wait
	// for a customer's receiver. Run returns after that loop has finished
	// and recorded its sends.
	var hooks sync.WaitGroup
	hooks.Add(1)
	go func() {
		defer hooks.Done()
		d.runHooks(ctx)
	}()
	t := d.cfg.Clock.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			hooks.Wait()
			d.log.Info("notification dispatcher stopped")
			return nil
		case <-t.C():
		}
		d.pass(ctx)
		d.m.passes.Inc()
		d.m.lastPass.SetToCurrentTime()
		t.Reset(d.cfg.Poll)
		if d.afterPass != nil {
			d.afterPass()
		}
	}
}

// pass does one round: expand new events, send what is due, then end the
// clocks past their deadline. Sending comes first so that a notice
// accepted just before the deadline stops its clock as met.
func (d *Dispatcher) pass(ctx context.Context) {
	d.detectIncident(ctx)
	d.expandEvents(ctx)
	if len(d.transports) > 0 {
		d.sendDue(ctx)
	}
	if ctx.Err() != nil {
		return
	}
	n, err := d.store.SweepClocks(ctx)
	if err != nil {
		d.dbFailed("sweep emergency clocks", err)
	} else {
		d.dbAnswered()
	}
	if n > 0 {
		d.log.Warn("emergency notice deadline missed", "clocks", n)
	}
}

// maxRounds bounds the claims of one pass, so a flood of work cannot keep
// a pass from reaching the clocks.
const maxRounds = 20

func (d *Dispatcher) expandEvents(ctx context.Context) {
	for range maxRounds {
		if ctx.Err() != nil {
			return
		}
		evs, err := d.store.ClaimEvents(ctx, d.cfg.InstanceID, d.cfg.Lease, d.cfg.Batch)
		if err != nil {
			d.dbFailed("claim outbox events", err)
			return
		}
		d.dbAnswered()
		for _, ev := range evs {
			var n int
			err := d.retry(ctx, func() (err error) {
				n, err = d.store.ExpandEvent(ctx, ev, d.cfg.InstanceID, d.TransportFor)
				return err
			})
			if err != nil {
				d.dbFailed("expand outbox event", err, "event_id", ev.ID)
				continue
			}
			d.m.expanded.Inc()
			d.log.Debug("event expanded", "event_id", ev.ID, "kind", ev.Kind, "org_id", ev.OrgID, "deliveries", n)
		}
		if len(evs) < d.cfg.Batch {
			return
		}
	}
}

func (d *Dispatcher) sendDue(ctx context.Context) {
	for range maxRounds {
		if ctx.Err() != nil {
			return
		}
		ds, err := d.store.ClaimDeliveries(ctx, d.cfg.InstanceID, d.cfg.Lease, d.cfg.Workers, d.transports)
		if err != nil {
			d.dbFailed("claim deliveries", err)
			return
		}
		d.dbAnswered()
		var wg sync.WaitGroup
		for _, del := range ds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d.deliver(context.WithoutCancel(ctx), del)
			}()
		}
		wg.Wait()
		if len(ds) < d.cfg.Workers {
			return
		}
	}
}

// deliver sends one delivery and records the attempt.
func (d *Dispatcher) deliver(ctx context.Context, del models.Delivery) {
	log := d.log.With("delivery_id", del.ID, "transport", del.Transport, "channel", del.Channel,
		"org_id", del.OrgID, "outage_id", del.OutageID, "event", del.Event)
	if left := del.LeaseUntil.Sub(d.store.Now()); left < d.cfg.sendBudget() {
		// Too late to be sure of finishing before another instance may
		// take it: leave it for the next claim.
		log.Warn("delivery lease too short to send, left for later", "lease_left", left)
		return
	}
	n, gone, err := d.render(ctx, del)
	if gone != "" {
		d.record(ctx, log, del, models.DeliveryFailed, gone, nil)
		d.m.delivered(del.Transport, "gone")
		return
	}
	if err != nil {
		// Leave it leased: another pass takes it once the lease ends.
		d.dbFailed("load notice", err, "delivery_id", del.ID)
		return
	}
	if n.Facts == nil && n.Incident == nil && del.Transport != models.TransportEmail {
		// Only outage notices have a webhook payload; nothing else is
		// expanded to other transports.
		d.record(ctx, log, del, models.DeliveryFailed, fmt.Sprintf("%s is sent by email only", del.Event), nil)
		d.m.delivered(del.Transport, "failed")
		return
	}
	switch del.Transport {
	case models.TransportEmail:
		err = d.mail.send(ctx, del, n, d.cfg.Clock.Now())
	case models.TransportWebhook:
		err = d.hook.send(ctx, del, n, d.cfg.Clock.Now())
	default:
		err = fmt.Errorf("transport %q is not sent by the dispatcher", del.Transport)
	}
	if err == nil {
		d.record(ctx, log, del, models.DeliveryAccepted, "", nil)
		d.m.delivered(del.Transport, "accepted")
		log.Info("notification accepted", "attempt", del.Attempts+1)
		return
	}
	var bounce *BounceError
	if errors.As(err, &bounce) {
		d.record(ctx, log, del, models.DeliveryBounced, err.Error(), nil)
		d.m.delivered(del.Transport, "bounced")
		log.Warn("notification bounced", "err", err)
		return
	}
	failed := del.Attempts + 1
	if failed >= d.cfg.MaxAttempts {
		d.record(ctx, log, del, models.DeliveryFailed, err.Error(), nil)
		d.m.delivered(del.Transport, "failed")
		log.Warn("notification failed, giving up", "attempts", failed, "err", err)
		return
	}
	retry := d.store.Now().Add(Backoff(failed))
	d.record(ctx, log, del, models.DeliveryFailed, err.Error(), &retry)
	d.m.delivered(del.Transport, "retry")
	log.Warn("notification failed, will retry", "attempts", failed, "retry_at", retry, "err", err)
}

// render loads what a delivery is about and renders it for its
// recipient. gone, when set, says why it can never be sent: what it was
// about no longer exists.
func (d *Dispatcher) render(ctx context.Context, del models.Delivery) (n *notice, gone string, err error) {
	switch del.Event {
	case models.EventRecoveryCodeUsed:
		f, err := d.store.RecoveryFacts(ctx, models.AllOrgs(), del.OrgID, del.EventID)
		if errors.Is(err, models.ErrNotFound) {
			return nil, "the user no longer exists", nil
		}
		if err != nil {
			return nil, "", err
		}
		return composeRecoveryUsed(del, f, d.cfg.BaseURL, d.cfg.Location), "", nil
	case models.EventUserInvited:
		ref, err := d.store.EventRef(ctx, models.AllOrgs(), del.OrgID, del.EventID)
		if errors.Is(err, models.ErrNotFound) {
			return nil, "the event no longer exists", nil
		}
		if err != nil {
			return nil, "", err
		}
		f, err := d.store.InvitationFacts(ctx, models.AllOrgs(), del.OrgID, ref)
		if errors.Is(err, models.ErrNotFound) {
			return nil, "the invitation was used or no longer exists", nil
		}
		if err != nil {
			return nil, "", err
		}
		return composeInvitation(del, f, d.cfg.BaseURL, d.cfg.Location), "", nil
	case models.EventIncidentUpdate:
		return d.incidentNotice(ctx, del)
	case models.EventWebhookDisabled:
		return d.hookDisabledNotice(ctx, del)
	case models.EventOperationMessage, models.EventPhoneLocked:
		return d.customerNotice(ctx, del)
	case models.EventContactsRequested:
		org, err := d.store.GetOrg(ctx, models.AllOrgs(), del.OrgID)
		if errors.Is(err, models.ErrNotFound) {
			return nil, "the organization no longer exists", nil
		}
		if err != nil {
			return nil, "", err
		}
		to, err := d.store.RecipientName(ctx, models.AllOrgs(), del.OrgID, del.ContactID, del.Address)
		if err != nil {
			return nil, "", err
		}
		return composeContactsRequest(del, org, to, d.cfg.BaseURL), "", nil
	case models.EventVisitApproved, models.EventVisitRefused:
		f, err := d.store.VisitDecisionFacts(ctx, models.AllOrgs(), del.OrgID, del.EventID)
		if errors.Is(err, models.ErrNotFound) {
			return nil, "the visit no longer exists", nil
		}
		if err != nil {
			return nil, "", err
		}
		to, err := d.store.RecipientName(ctx, models.AllOrgs(), del.OrgID, del.ContactID, del.Address)
		if err != nil {
			return nil, "", err
		}
		return composeVisitDecision(del, f, to, d.cfg.BaseURL, d.cfg.Location), "", nil
	case models.EventComplaintReply:
		f, err := d.store.ComplaintReplyFacts(ctx, models.AllOrgs(), del.OrgID, del.EventID)
		if errors.Is(err, models.ErrNotFound) {
			return nil, "the complaint no longer exists", nil
		}
		if err != nil {
			return nil, "", err
		}
		to, err := d.store.RecipientName(ctx, models.AllOrgs(), del.OrgID, del.ContactID, del.Address)
		if err != nil {
			return nil, "", err
		}
		return composeComplaintReply(del, f, to, d.cfg.BaseURL), "", nil
	case models.EventShipmentArrived, models.EventShipmentHeld:
		return d.shipmentNotice(ctx, del)
	case models.EventMaintenanceAnnounced, models.EventMaintenanceCancelled:
		f, err := d.store.MaintenanceFactsOf(ctx, models.AllOrgs(), del.OrgID, del.EventID)
		if errors.Is(err, models.ErrNotFound) {
			return nil, "the maintenance window no longer touches the organization", nil
		}
		if err != nil {
			return nil, "", err
		}
		to, err := d.store.RecipientName(ctx, models.AllOrgs(), del.OrgID, del.ContactID, del.Address)
		if err != nil {
			return nil, "", err
		}
		return composeMaintenance(del, f, to, d.cfg.BaseURL, d.cfg.Location), "", nil
	case models.EventFacilityThreshold:
		return d.thresholdNotice(ctx, del)
	case models.EventPowerProposed:
		return d.powerProposedNotice(ctx, del)
	case models.EventContractExpiry:
		f, err := d.store.ContractExpiryFacts(ctx, models.AllOrgs(), del.OrgID, del.EventID, del.Address)
		if errors.Is(err, models.ErrNotFound) {
			return nil, "the contract no longer exists", nil
		}
		if err != nil {
			return nil, "", err
		}
		return composeContractExpiry(del, f, d.cfg.BaseURL), "", nil
	case models.EventOutageCauseSpan:
		f, err := d.store.CauseSpanFacts(ctx, models.AllOrgs(), del.OrgID, del.EventID)
		if errors.Is(err, models.ErrNotFound) {
			return nil, "the request or the outage no longer exists", nil
		}
		if err != nil {
			return nil, "", err
		}
		to, err := d.store.RecipientName(ctx, models.AllOrgs(), del.OrgID, del.ContactID, del.Address)
		if err != nil {
			return nil, "", err
		}
		return composeCauseSpan(del, f, to, d.cfg.BaseURL, d.cfg.Location), "", nil
	}
	// A notice's delivery tells of every outage it covers; one from
	// before notices were grouped, of its outage.
	var facts *models.NoticeFacts
	if del.NoticeID != 0 {
		facts, err = d.store.DeliveryNoticeFacts(ctx, models.AllOrgs(), del.OrgID, del.ID, del.ContactID, maxProbesShown, MaxListed)
	} else {
		facts, err = d.store.NoticeFacts(ctx, models.AllOrgs(), del.OrgID, del.OutageID, del.ContactID, maxProbesShown)
	}
	if errors.Is(err, models.ErrNotFound) {
		return nil, "the outage no longer exists", nil
	}
	if err != nil {
		return nil, "", err
	}
	return compose(del, facts, d.cfg.BaseURL, d.cfg.Location), "", nil
}

// customerNotice renders an email about an engineer's message on an
// operation request or about a contact's phone lock.
func (d *Dispatcher) customerNotice(ctx context.Context, del models.Delivery) (*notice, string, error) {
	ref, err := d.store.EventRef(ctx, models.AllOrgs(), del.OrgID, del.EventID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, "the event no longer exists", nil
	}
	if err != nil {
		return nil, "", err
	}
	to, err := d.store.RecipientName(ctx, models.AllOrgs(), del.OrgID, del.ContactID, del.Address)
	if err != nil {
		return nil, "", err
	}
	if del.Event == models.EventPhoneLocked {
		f, err := d.store.PhoneLockFacts(ctx, models.AllOrgs(), del.OrgID, ref)
		if errors.Is(err, models.ErrNotFound) {
			return nil, "the contact no longer exists", nil
		}
		if err != nil {
			return nil, "", err
		}
		return composePhoneLock(del, f, to, d.cfg.BaseURL, d.cfg.Location), "", nil
	}
	f, err := d.store.OperationNoticeFacts(ctx, models.AllOrgs(), del.OrgID, ref)
	if errors.Is(err, models.ErrNotFound) {
		return nil, "the message no longer exists", nil
	}
	if err != nil {
		return nil, "", err
	}
	return composeOperation(del, f, to, d.cfg.BaseURL, d.cfg.Location), "", nil
}

func (d *Dispatcher) record(ctx context.Context, log *slog.Logger, del models.Delivery, result, errText string, retryAt *time.Time) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	errText = strings.ToValidUTF8(errText, "?") // a server's reply may be in any encoding
	err := d.retry(ctx, func() error {
		return d.store.RecordAttempt(ctx, d.cfg.InstanceID, del.ID, result, errText, retryAt)
	})
	if errors.Is(err, models.ErrLeaseLost) {
		log.Warn("delivery lease lost while sending: another instance holds it now", "result", result)
		return
	}
	if err != nil {
		log.Error("record delivery attempt", "result", result, "err", err)
	}
}

// retry runs a database transaction again when it fails, a few times
// with short pauses: MySQL ends one of two colliding transactions with a
// deadlock error, and a result that is not recorded would be sent again
// once its lease ran out. A lost lease is final.
func (d *Dispatcher) retry(ctx context.Context, f func() error) error {
	wait := 20 * time.Millisecond
	for try := 1; ; try++ {
		err := f()
		if err == nil || errors.Is(err, models.ErrLeaseLost) || ctx.Err() != nil || try == 5 {
			return err
		}
		d.log.Debug("database write failed, trying again", "try", try, "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// dbFailed notes a failed use of the database. The first failure after it
// answered is a warning; the next ones, each pass while it stays away,
// only debug lines, until dbAnswered logs its return.
func (d *Dispatcher) dbFailed(what string, err error, args ...any) {
	if errors.Is(err, context.Canceled) {
		return
	}
	args = append(args, "op", what, "err", err)
	d.dbMu.Lock()
	first := !d.dbDown
	if first {
		d.dbDown, d.dbDownSince = true, d.cfg.Clock.Now()
	}
	d.dbMu.Unlock()
	if first {
		d.log.Warn("database unavailable: notifications wait until it answers", args...)
		return
	}
	d.log.Debug("database still unavailable", args...)
}

// dbAnswered notes a use of the database that worked, and logs the end of
// an outage dbFailed logged.
func (d *Dispatcher) dbAnswered() {
	d.dbMu.Lock()
	was, since := d.dbDown, d.dbDownSince
	d.dbDown = false
	d.dbMu.Unlock()
	if was {
		d.log.Info("database available again: notifications resume", "down_for", d.cfg.Clock.Now().Sub(since).Round(time.Second))
	}
}
