package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"text/tabwriter"
	"time"

	"gorm.io/gorm"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/notify"
)

// OutagesOptions are the figures of `portal bench outages`; see its flags.
type OutagesOptions struct {
	Devices  int // in all, spread evenly over Orgs organizations, one ICMP check each
	Orgs     int
	Contacts int // authorized contacts per organization, each with an email address and a mobile
	// Window is the notice grouping window (PORTAL_NOTICE_WINDOW; 0:
	// notices go out as soon as they are expanded).
	Window time.Duration
	// OneOrgDevices, when positive, adds afterwards one organization with
	// that many devices, all down, for its customer's uptime page.
	OneOrgDevices int
	Iterations    int    // requests timed per page
	DB            string // as ProbeOptions.DB
	// Timeout bounds the wait for every notice to be queued and due.
	Timeout time.Duration
}

// outageBatch is the results per RecordResults call, as the prober's
// writer sends them under a storm (PORTAL_PROBER_BATCH's default).
const outageBatch = 5000

// outageInterval is the benchmark checks' interval; the results of the
// three rounds are this far apart.
const outageInterval = 60 * time.Second

// Outages measures a provider-wide failure: Devices devices in Orgs
// organizations, each organization with Contacts authorized contacts,
// go down in the same probe round. The results go through
// Store.RecordResults as the prober's writer sends them while the notify
// dispatcher runs in the same process, as `portal serve` runs it, with no
// mail server and no gateway: every contact's email is logged as not sent
// and its mobile becomes a phone-call task for staff. It times the
// confirming round's commit to every outbox event expanded and every
// organization's contacts holding a notice on each channel (queued), and
// to none of them waiting any more (due); then the on-call, uptime and
// home pages rendered by the real app over that state.
func Outages(ctx context.Context, o OutagesOptions, stdout io.Writer) error {
	if o.Devices < 1 || o.Orgs < 1 || o.Orgs > o.Devices || o.Contacts < 1 || o.Iterations < 1 || o.OneOrgDevices < 0 || o.Window < 0 {
		return errors.New("bench outages: devices, organizations (at most the devices), contacts and iterations must be at least 1; one-org devices and window not negative")
	}
	if o.Timeout <= 0 {
		o.Timeout = 30*time.Minute + o.Window
	}
	tdb, err := newThrowawayDB(ctx, o.DB)
	if err != nil {
		return err
	}
	defer tdb.drop()
	// --window is the Store's notice window (RecordResults opens notices).
	opts := []models.StoreOption{models.WithHasher(benchHasher), models.WithNoticeWindow(o.Window)}
	store, db, err := openBenchStore(ctx, tdb.url, nil, opts...)
	if err != nil {
		return err
	}
	defer store.Close()

	t0 := time.Now()
	seed, err := seedOutages(ctx, store, writer{db}, o)
	if err != nil {
		return err
	}
	rep := outagesReport{DB: tdb.kind, Devices: o.Devices, Orgs: o.Orgs, Contacts: o.Contacts, Iterations: o.Iterations,
		WindowS: o.Window.Seconds(), SeedS: secs(time.Since(t0))}
	progress("%s: %d organizations, %d devices, %d contacts seeded in %s", tdb.desc, o.Orgs, o.Devices,
		o.Orgs*o.Contacts, time.Since(t0).Round(time.Millisecond))

	// The dispatcher runs throughout, as in `portal serve`.
	dctx, stopDispatcher := context.WithCancel(ctx)
	defer stopDispatcher()
	dispatcherDone := make(chan error, 1)
	go func() {
		dispatcherDone <- notify.New(notify.Config{}, store, slog.New(slog.DiscardHandler)).Run(dctx)
	}()

	feed, err := feedOutageRounds(ctx, store, seed.checks)
	if err != nil {
		return err
	}
	rep.HealthyRoundS, rep.FirstFailRoundS, rep.ConfirmRoundS = secs(feed[0]), secs(feed[1]), secs(feed[len(feed)-1])
	confirmed := time.Now()
	progress("confirming round committed (%s for %d results); waiting for every notice", feed[2].Round(time.Millisecond), len(seed.checks))

	wait, err := waitForNotices(ctx, db, o, confirmed)
	if err != nil {
		return err
	}
	rep.QueuedS, rep.DueS = secs(wait.queued), secs(wait.due)
	stopDispatcher()
	if err := <-dispatcherDone; err != nil {
		return err
	}
	if err := countNotices(ctx, db, &rep); err != nil {
		return err
	}
	progress("every notice queued %.1fs and due %.1fs after the confirming round: %d events, %d deliveries, %d call tasks",
		rep.QueuedS, rep.DueS, rep.Events, rep.Deliveries, rep.Calls)

	// The pages staff and customers open during the storm.
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	app := handlers.New(handlers.Deps{Store: store, Logger: slog.New(slog.DiscardHandler), Secret: secret,
		Sessions: models.DefaultSessionPolicy, SignIn: models.DefaultSignInLimits})
	clients := map[string]*benchClient{}
	for who, email := range map[string]string{"engineer": seed.engineerEmail, "reception": seed.receptionEmail, "customer": seed.customerEmail} {
		if clients[who], err = benchSignIn(app, email, seed.password); err != nil {
			return err
		}
	}
	perOrg := o.Devices / o.Orgs
	pages := []outagePage{
		{"oncall", "GET /oncall (engineer)", "/oncall", clients["engineer"], 0},
		{"oncall_live", "GET /oncall/live (engineer)", "/oncall/live", clients["engineer"], 0},
		{"uptime", fmt.Sprintf("GET /uptime (customer, %d devices down)", perOrg), "/uptime", clients["customer"], 300 << 10},
		{"home_reception", "GET / (reception)", "/", clients["reception"], 0},
		{"home_customer", "GET / (customer)", "/", clients["customer"], 0},
	}
	for _, pg := range pages {
		t, err := timePage(pg, o.Iterations)
		if err != nil {
			return err
		}
		rep.Pages = append(rep.Pages, t)
		progress("%s: %d KB, p50 %.1f ms", pg.label, t.Bytes/1024, t.P50MS)
	}

	if o.OneOrgDevices > 0 {
		one, err := seedOneOrg(ctx, store, writer{db}, o.OneOrgDevices, seed.password)
		if err != nil {
			return err
		}
		if _, err := feedOutageRounds(ctx, store, one.checks); err != nil {
			return err
		}
		c, err := benchSignIn(app, one.customerEmail, seed.password)
		if err != nil {
			return err
		}
		t, err := timePage(outagePage{"uptime_one_org", fmt.Sprintf("GET /uptime (customer, %d devices down in one organization)", o.OneOrgDevices),
			"/uptime", c, 300 << 10}, o.Iterations)
		if err != nil {
			return err
		}
		rep.OneOrgDevices = o.OneOrgDevices
		rep.Pages = append(rep.Pages, t)
		progress("%s: %d KB, p50 %.1f ms", t.label, t.Bytes/1024, t.P50MS)
	}
	rep.print(stdout)
	return nil
}

// outageSeed is what seedOutages made.
type outageSeed struct {
	checks                                       []int64
	engineerEmail, receptionEmail, customerEmail string // the customer is of the first organization
	password                                     string
}

// seedOutages creates the organizations with their contacts, devices and
// checks (in bulk), a customer of the first organization, an engineer
// and a receptionist.
func seedOutages(ctx context.Context, store *models.Store, w writer, o OutagesOptions) (*outageSeed, error) {
	sys := models.SystemActor("bench")
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	s := &outageSeed{engineerEmail: "engineer@bench.example", receptionEmail: "reception@bench.example",
		customerEmail: "customer@bench.example", password: "bench-" + hex.EncodeToString(b)}
	for email, role := range map[string]models.Role{s.engineerEmail: models.RoleEngineer, s.receptionEmail: models.RoleReception} {
		if _, err := store.CreateUser(ctx, sys, models.UserInput{Email: email, Name: "Bench " + string(role),
			Role: role, Password: s.password}); err != nil {
			return nil, shellError("bench outages", err)
		}
	}
	dev := 0
	for org := range o.Orgs {
		og, err := store.CreateOrg(ctx, sys, models.OrgInput{Slug: fmt.Sprintf("bench-%03d", org+1), Name: fmt.Sprintf("Benchmark %03d", org+1)})
		if err != nil {
			return nil, shellError("bench outages", err)
		}
		if org == 0 {
			if _, err := store.CreateUser(ctx, sys, models.UserInput{Email: s.customerEmail, Name: "Bench Customer",
				Role: models.RoleCustomer, OrgID: &og.ID, Password: s.password}); err != nil {
				return nil, shellError("bench outages", err)
			}
		}
		if err := benchContacts(ctx, store, og.ID, org, o.Contacts); err != nil {
			return nil, err
		}
		n := o.Devices / o.Orgs
		if org < o.Devices%o.Orgs {
			n++
		}
		ids, err := bulkICMPDevices(ctx, w, og.ID, org, dev, n)
		if err != nil {
			return nil, err
		}
		dev += n
		s.checks = append(s.checks, ids...)
	}
	return s, nil
}

// benchContacts gives an organization k authorized contacts, each
// notified by email and mobile.
func benchContacts(ctx context.Context, store *models.Store, orgID int64, org, k int) error {
	for i := range k {
		if _, err := store.CreateContact(ctx, models.SystemActor("bench"), orgID, models.ContactInput{
			Name: fmt.Sprintf("Contact %d-%d", org+1, i+1), Email: fmt.Sprintf("c%d-%d@bench.example", org+1, i+1),
			Mobile: fmt.Sprintf("+86138%08d", org*100+i), Channels: []models.Channel{models.ChannelEmail, models.ChannelMobile},
			MayAuthorize: true, Passphrase: "bench passphrase 1", Priority: i + 1}); err != nil {
			return shellError("bench outages: contact", err)
		}
	}
	return nil
}

// bulkICMPDevices writes n devices of an organization, each with one
// ICMP check every outageInterval, and returns the checks' IDs.
func bulkICMPDevices(ctx context.Context, w writer, orgID int64, org, first, n int) ([]int64, error) {
	ds := make([]bulkDevice, n)
	for i := range ds {
		addr, err := loopbackAddr(first + i)
		if err != nil {
			return nil, err
		}
		ds[i] = bulkDevice{
			Device: models.Device{OrgID: orgID, Name: fmt.Sprintf("srv-%03d-%04d", org+1, i+1), Address: addr,
				Cabinet: fmt.Sprintf("A%02d", i/40+1), Position: fmt.Sprintf("U%d", i%40+1)},
			Checks: []models.Check{{Kind: models.KindICMP, Target: addr, IntervalSec: int(outageInterval / time.Second), TimeoutMs: 2000,
				FailThreshold: models.DefaultFailThreshold, Enabled: true}},
		}
	}
	if err := w.createDevices(ctx, ds); err != nil {
		return nil, err
	}
	ids := make([]int64, n)
	for i := range ds {
		ids[i] = ds[i].Checks[0].ID
	}
	return ids, nil
}

// seedOneOrg adds one organization with n devices and a customer.
func seedOneOrg(ctx context.Context, store *models.Store, w writer, n int, password string) (*outageSeed, error) {
	sys := models.SystemActor("bench")
	og, err := store.CreateOrg(ctx, sys, models.OrgInput{Slug: "bench-one", Name: "Benchmark One"})
	if err != nil {
		return nil, shellError("bench outages", err)
	}
	s := &outageSeed{customerEmail: "one@bench.example", password: password}
	if _, err := store.CreateUser(ctx, sys, models.UserInput{Email: s.customerEmail, Name: "Bench One Customer",
		Role: models.RoleCustomer, OrgID: &og.ID, Password: password}); err != nil {
		return nil, shellError("bench outages", err)
	}
	if s.checks, err = bulkICMPDevices(ctx, w, og.ID, 999, 0, n); err != nil {
		return nil, err
	}
	return s, nil
}

// feedOutageRounds writes one healthy round and then failing rounds up
// to the checks' threshold (the last one confirms every outage), an
// interval apart and ending now, in batches of outageBatch through
// RecordResults, and returns each round's write time.
func feedOutageRounds(ctx context.Context, store *models.Store, checks []int64) ([]time.Duration, error) {
	rounds := 1 + models.DefaultFailThreshold
	took := make([]time.Duration, 0, rounds)
	last := time.Now().UTC()
	for r := range rounds {
		at := last.Add(-time.Duration(rounds-1-r) * outageInterval)
		ok := r == 0
		start := time.Now()
		for i := 0; i < len(checks); i += outageBatch {
			batch := make([]models.ProbeResult, 0, min(outageBatch, len(checks)-i))
			for _, id := range checks[i:min(i+outageBatch, len(checks))] {
				res := models.ProbeResult{CheckID: id, At: at, OK: ok, RTTus: 300}
				if !ok {
					res.RTTus, res.Reason = 0, models.ReasonTimeout
				}
				batch = append(batch, res)
			}
			if _, err := store.RecordResults(ctx, batch); err != nil {
				return nil, fmt.Errorf("bench outages: round %d: %w", r+1, err)
			}
		}
		took = append(took, time.Since(start))
	}
	return took, nil
}

// notOpened are the event kinds that are not a notice of an outage
// opened. The benchmark counts every other kind, so that its figures
// hold when grouped notices come as events of a kind of their own.
var notOpened = []string{models.EventOutageClosed, models.EventContactsRequested, models.EventOperationMessage,
	models.EventPhoneLocked, models.EventOutageCauseSpan, models.EventRecoveryCodeUsed, models.EventUserInvited,
	models.EventVisitApproved, models.EventVisitRefused, models.EventCheckFailing, models.EventCheckCleared,
	models.EventOutageConfirmed, models.EventOutageEnded, models.EventClockMet, models.EventClockMissed,
	models.EventOperationState, models.EventStatementClosed}

// noticeWait is how long after the confirming round the notices were
// queued (every event expanded, every contact holding a notice on each
// channel) and due (no delivery of them waiting for a later time).
type noticeWait struct{ queued, due time.Duration }

// waitForNotices polls the outbox and the deliveries through the
// benchmark's own handle. It reads only what every version writes: an
// outbox event's done_at, and a delivery's organization, contact,
// channel, event, status and next attempt, so it holds whether there is
// one notice per outage or one per organization.
func waitForNotices(ctx context.Context, db *gorm.DB, o OutagesOptions, confirmed time.Time) (noticeWait, error) {
	var w noticeWait
	want := int64(o.Orgs * o.Contacts * 2) // email and mobile
	deadline := confirmed.Add(o.Timeout)
	lastLog := time.Now()
	for {
		now := time.Now()
		if w.queued == 0 {
			var pending, covered int64
			if err := db.WithContext(ctx).Model(&models.OutboxEvent{}).Where("done_at IS NULL").Count(&pending).Error; err != nil {
				return w, err
			}
			if err := db.WithContext(ctx).Raw("SELECT COUNT(*) FROM (SELECT DISTINCT org_id, contact_id, channel FROM deliveries WHERE event NOT IN ?) t",
				notOpened).Scan(&covered).Error; err != nil {
				return w, err
			}
			if pending == 0 && covered >= want {
				w.queued = now.Sub(confirmed)
			} else if time.Since(lastLog) >= 10*time.Second {
				progress("%3.0fs: %d outbox events pending; %d of %d contact channels hold a notice", now.Sub(confirmed).Seconds(), pending, covered, want)
				lastLog = time.Now()
			}
		}
		if w.queued > 0 {
			var waiting int64
			if err := db.WithContext(ctx).Model(&models.Delivery{}).Where("event NOT IN ? AND status = ? AND next_attempt_at > ?",
				notOpened, models.DeliveryPending, now.UTC()).Count(&waiting).Error; err != nil {
				return w, err
			}
			if waiting == 0 {
				w.due = now.Sub(confirmed)
				return w, nil
			}
		}
		if now.After(deadline) {
			return w, fmt.Errorf("bench outages: notices not all queued and due %s after the confirming round", o.Timeout)
		}
		select {
		case <-ctx.Done():
			return w, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// countNotices fills in what the storm made.
func countNotices(ctx context.Context, db *gorm.DB, rep *outagesReport) error {
	q := db.WithContext(ctx)
	if err := q.Model(&models.Outage{}).Where("ended_at IS NULL").Count(&rep.Outages).Error; err != nil {
		return err
	}
	if err := q.Model(&models.OutboxEvent{}).Where("kind NOT IN ?", notOpened).Count(&rep.Events).Error; err != nil {
		return err
	}
	var rows []struct {
		Transport string
		N         int64
	}
	if err := q.Model(&models.Delivery{}).Select("transport, COUNT(*) AS n").Where("event NOT IN ?", notOpened).
		Group("transport").Scan(&rows).Error; err != nil {
		return err
	}
	for _, r := range rows {
		rep.Deliveries += r.N
		switch r.Transport {
		case models.TransportCall:
			rep.Calls = r.N
		case models.TransportEmail:
			rep.Emails = r.N
		case models.TransportWebhook:
			rep.Webhooks = r.N
		case models.TransportNone:
			rep.NotSent = r.N
		}
	}
	if err := q.Raw("SELECT COUNT(DISTINCT org_id) FROM deliveries WHERE event NOT IN ?", notOpened).Scan(&rep.OrgsNotified).Error; err != nil {
		return err
	}
	return q.Raw("SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(*) AS n FROM deliveries WHERE event NOT IN ? AND transport = ? GROUP BY contact_id) t",
		notOpened, models.TransportCall).Scan(&rep.MaxCallsPerContact).Error
}

// outagePage is one page timed after the storm.
type outagePage struct {
	name, label, path string
	c                 *benchClient
	limit             int // bytes the page must stay under (0: none set)
}

// outagePageTiming is one page's size and render times.
type outagePageTiming struct {
	pageTiming
	name   string
	Status int `json:"status"`
	Limit  int `json:"limit_bytes,omitempty"`
	// What the page lists, counted from its HTML: distinct outages and
	// devices linked, and call forms (one per call line, or per delivery
	// on pages that still log calls one by one).
	Outages, Devices, CallForms int
}

var (
	outageLink   = regexp.MustCompile(`/outages/(\d+)`)
	deviceLink   = regexp.MustCompile(`/devices/(\d+)`)
	callFormLink = regexp.MustCompile(`action="(/orgs/\d+/calls|/deliveries/\d+/call)"`)
)

// distinct counts the distinct first groups of re's matches in body.
func distinct(re *regexp.Regexp, body string) int {
	seen := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		seen[m[1]] = true
	}
	return len(seen)
}

func timePage(pg outagePage, n int) (outagePageTiming, error) {
	status, body, _ := pg.c.get(pg.path) // warms caches
	if status != http.StatusOK {
		return outagePageTiming{}, fmt.Errorf("bench outages: GET %s: status %d, want 200", pg.path, status)
	}
	times := make([]time.Duration, 0, n)
	for range n {
		s, _, d := pg.c.get(pg.path)
		if s != http.StatusOK {
			return outagePageTiming{}, fmt.Errorf("bench outages: GET %s: status %d", pg.path, s)
		}
		times = append(times, d)
	}
	return outagePageTiming{pageTiming: newPageTiming(pg.label, times, 0, len(body)), name: pg.name, Status: status, Limit: pg.limit,
		Outages: distinct(outageLink, body), Devices: distinct(deviceLink, body), CallForms: len(callFormLink.FindAllString(body, -1))}, nil
}

type outagesReport struct {
	DB                 string  `json:"db"`
	Devices            int     `json:"devices"`
	Orgs               int     `json:"orgs"`
	Contacts           int     `json:"contacts_per_org"`
	Iterations         int     `json:"iterations"`
	WindowS            float64 `json:"window_s"`
	SeedS              float64 `json:"seed_s"`
	HealthyRoundS      float64 `json:"healthy_round_s"`
	FirstFailRoundS    float64 `json:"first_fail_round_s"`
	ConfirmRoundS      float64 `json:"confirm_round_s"`
	QueuedS            float64 `json:"queued_s"`
	DueS               float64 `json:"due_s"`
	Outages            int64   `json:"outages_open"`
	Events             int64   `json:"events"`
	Deliveries         int64   `json:"deliveries"`
	Calls              int64   `json:"call_tasks"`
	Emails             int64   `json:"emails"`
	Webhooks           int64   `json:"webhooks"`
	NotSent            int64   `json:"not_sent"`
	OrgsNotified       int64   `json:"orgs_notified"`
	MaxCallsPerContact int64   `json:"max_calls_per_contact"`
	OneOrgDevices      int     `json:"one_org_devices,omitempty"`
	Pages              []outagePageTiming
}

func (r *outagesReport) print(w io.Writer) {
	window, effective := fmt.Sprintf("%.0fs", r.WindowS), r.WindowS
	fmt.Fprintf(w, "portal bench outages: %d devices in %d organizations (%d authorized contacts each, email and mobile) go down in one probe round, on %s; no mail server or gateway (emails not sent, mobiles become call tasks); grouping window %s\n\n",
		r.Devices, r.Orgs, r.Contacts, r.DB, window)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "results written (rounds of %d, batches of %d)\thealthy %.2fs, first failure %.2fs, confirming %.2fs\n",
		r.Devices, outageBatch, r.HealthyRoundS, r.FirstFailRoundS, r.ConfirmRoundS)
	target := effective + 60
	met := "met"
	if r.QueuedS > target {
		met = "missed"
	}
	fmt.Fprintf(tw, "confirming round committed → every notice queued\t%.1fs (target ≤ %.0fs, the window and 60 s: %s)\n", r.QueuedS, target, met)
	fmt.Fprintf(tw, "confirming round started → every notice queued\t%.1fs\n", r.ConfirmRoundS+r.QueuedS)
	fmt.Fprintf(tw, "confirming round committed → every notice due\t%.1fs\n", r.DueS)
	fmt.Fprintf(tw, "outages open\t%d\n", r.Outages)
	fmt.Fprintf(tw, "notice events (all but outage.closed and other issues' kinds)\t%d\n", r.Events)
	fmt.Fprintf(tw, "deliveries\t%d (call tasks %d, emails %d, webhooks %d, not sent %d)\n", r.Deliveries, r.Calls, r.Emails, r.Webhooks, r.NotSent)
	fmt.Fprintf(tw, "organizations notified\t%d of %d\n", r.OrgsNotified, r.Orgs)
	fmt.Fprintf(tw, "most call tasks for one contact\t%d\n", r.MaxCallsPerContact)
	tw.Flush()
	fmt.Fprintf(w, "\n%d requests per page:\n", r.Iterations)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "page\tsize\tp50\tp95\tmax\tsize limit\toutages linked\tdevices linked\tcall forms")
	flat := map[string]any{}
	b, _ := json.Marshal(r)
	_ = json.Unmarshal(b, &flat)
	delete(flat, "Pages")
	for _, p := range r.Pages {
		limit := ""
		if p.Limit > 0 {
			limit = fmt.Sprintf("%d KB: met", p.Limit>>10)
			if p.Bytes > p.Limit {
				limit = fmt.Sprintf("%d KB: missed (%.1f×)", p.Limit>>10, float64(p.Bytes)/float64(p.Limit))
			}
		}
		fmt.Fprintf(tw, "%s\t%d KB\t%.1f ms\t%.1f ms\t%.1f ms\t%s\t%d\t%d\t%d\n", p.label, p.Bytes>>10, p.P50MS, p.P95MS, p.MaxMS, limit,
			p.Outages, p.Devices, p.CallForms)
		flat[p.name+"_bytes"] = p.Bytes
		flat[p.name+"_p50_ms"] = p.P50MS
		flat[p.name+"_p95_ms"] = p.P95MS
		flat[p.name+"_outages"], flat[p.name+"_devices"], flat[p.name+"_call_forms"] = p.Outages, p.Devices, p.CallForms
	}
	tw.Flush()
	b, _ = json.Marshal(flat)
	fmt.Fprintln(w, string(b))
}

// secs is d in seconds, to the hundredth.
func secs(d time.Duration) float64 { return round2(d.Seconds()) }
