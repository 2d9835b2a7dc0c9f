// Command portal is the colocation customer portal: one binary that serves
// the pages, runs the background work and manages its database.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"
	_ "time/tzdata" // time zones without the host's tz database (scratch images)

	"github.com/prometheus/client_golang/prometheus"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/blobstore"
	"github.com/colo-portal/portal/prober"
	"github.com/colo-portal/portal/views"
)

const usage = `portal: the colocation customer portal

Usage:
  portal [serve]                      migrate the database, then serve
  portal demo                         load the demo data set, then serve
  portal migrate                      apply pending migrations and exit
  portal org add --slug S --name N [--address A]
  portal user add --email E --name N --role R [--org S] [--phone P]
                                      (the password is read from standard input)
  portal device add --org S --name N --address A [--cabinet C --position P]
                                      add a device with its default ping
  portal device import FILE.csv       add devices and checks from a CSV file with
                                      the header org,name,address,cabinet,position,
                                      kind,target,interval; one bad line imports nothing
  portal bench probe [--targets N --service-checks M --interval D --duration D --db URL]
                                      run the prober against N loopback targets and M local
                                      services on a throw-away database; print its figures
  portal bench pages [--devices K --fleet F --db URL]
                                      time the uptime, device and fleet pages over a year
                                      of history on a throw-away database
  portal bench outages [--devices N --orgs O --window D --db URL]
                                      fail N devices in O organizations at once; time the
                                      notices and the on-call, uptime and home pages
  portal bench signin --url URL --email E --password P [--guesses N --anonymous M --spread --pid PID]
                                      attack a running portal's sign-in with N parallel guesses
                                      and M parallel anonymous sign-ins; print the answers and
                                      the server's memory
  portal audit verify                 check the audit log's hash chain; fail at the first
                                      edited, deleted or slipped-in entry
  portal backup [--no-documents] DIR  write a consistent snapshot of the running portal's database,
                                      its documents and key file, with a manifest of SHA-256 sums
  portal restore [--force] [--no-documents | --documents-only] DIR
                                      check a backup against its manifest, then restore it into the
                                      configured database, document store and data directory
  portal routes                       list every route with the roles allowed
  portal healthcheck                  ask the running portal's /healthz (for Docker)

Configuration comes from these PORTAL_* environment variables (README.md says more):
`

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "portal:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer, getenv func(string) string) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	if cmd == "routes" {
		for _, r := range handlers.Routes() {
			fmt.Fprintf(stdout, "%s %s %s\n", r.Method, r.Path, r.Access)
		}
		return nil
	}
	if cmd == "healthcheck" {
		return healthcheck(getenv)
	}
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Fprint(stdout, usage)
		printSettings(stdout)
		return nil
	}
	if cmd == "bench" {
		// Its own throw-away database or a portal's URL, not the
		// configuration (whose loading may create the key file).
		return runBench(ctx, args, stdin, stdout)
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	log := cfg.logger()
	switch cmd {
	case "serve", "demo", "migrate", "backup":
	case "restore":
		// Before anything opens or migrates the database, or makes a key.
		return restoreCmd(ctx, cfg, cfg.Secret != nil, args, stdout)
	case "org", "user":
		if len(args) == 0 || args[0] != "add" {
			return fmt.Errorf("usage: portal %s add …", cmd)
		}
	case "device":
		if len(args) == 0 || (args[0] != "add" && args[0] != "import") {
			return fmt.Errorf("usage: portal device add … or portal device import FILE.csv")
		}
	case "audit":
		if len(args) == 0 || args[0] != "verify" {
			return fmt.Errorf("usage: portal audit verify")
		}
	default:
		return fmt.Errorf("unknown command %q\n\n%s", cmd, usage)
	}
	if cmd == "demo" {
		demoHookRules(cfg, getenv)
	}
	secretInEnv := cfg.Secret != nil
	if err := cfg.loadOrCreateSecret(); err != nil {
		return fmt.Errorf("secret: %w", err)
	}
	// serve migrates once it listens, answering /readyz "migrating"
	// meanwhile (it may wait for another instance's migration lock).
	store, err := openStore(ctx, cfg, log, cmd != "serve")
	if err != nil {
		return err
	}
	defer store.Close()
	switch cmd {
	case "migrate":
		return nil
	case "org":
		return orgAdd(ctx, store, args[1:], stdout)
	case "user":
		return userAdd(ctx, store, args[1:], stdin, stdout)
	case "device":
		if args[0] == "import" {
			return deviceImport(ctx, store, args[1:], stdout)
		}
		return deviceAdd(ctx, store, args[1:], stdout)
	case "audit":
		return auditVerify(ctx, store, args[1:], stdout)
	case "backup":
		return backupCmd(ctx, cfg, secretInEnv, store, args, stdout)
	case "demo":
		blobs, err := cfg.openDocuments(ctx)
		if err != nil {
			return err
		}
		if err := loadDemo(ctx, store, cfg.Listen, blobs, stdout); err != nil {
			return err
		}
		if p, ok := demoProvider(cfg.Provider); ok {
			cfg.Provider = p
			fmt.Fprintf(stdout, "No provider identity is configured (PORTAL_PROVIDER_*): the demo's documents are headed %s\n", p.Name)
		}
		svcCtx, stopService := context.WithCancel(ctx)
		defer stopService()
		startDemoService(svcCtx, cfg.Listen, log)
		startDemoSwitches(svcCtx, store, cfg.Listen, log)
		startDemoFacilities(svcCtx, store, cfg.Listen, log)
		hookURL, err := startDemoReceiver(svcCtx, store, cfg.Listen, log)
		if err != nil {
			return err
		}
		if err := demoWebhook(ctx, store, hookURL, stdout); err != nil {
			return err
		}
		return serve(ctx, cfg, store, blobs, log, false)
	}
	return serve(ctx, cfg, store, nil, log, true)
}

// openStore connects and, with migrate, applies pending migrations.
func openStore(ctx context.Context, cfg *Config, log *slog.Logger, migrate bool) (*models.Store, error) {
	db, dialect, err := models.Open(ctx, models.OpenOptions{URL: cfg.DatabaseURL, DataDir: cfg.DataDir, Logger: log})
	if err != nil {
		return nil, err
	}
	storeOpts := []models.StoreOption{models.WithSecretKey(cfg.Secret), models.WithZone(cfg.TimeZone),
		models.WithConfirmEvery(cfg.Notify.ConfirmEvery), models.WithNoticeWindow(cfg.Notify.NoticeWindow),
		models.WithNoticeMaxPerHour(cfg.Notify.NoticeMaxPerHour), models.WithVisitRules(cfg.Visits), models.WithShipmentHold(cfg.ShipmentHold),
		models.WithHookRules(cfg.Notify.HookRules)}
	if cfg.HashConcurrency > 0 {
		storeOpts = append(storeOpts, models.WithHashGate(models.NewHashGate(cfg.HashConcurrency, models.DefaultHashWait)))
	}
	store := models.NewStore(db, storeOpts...)
	log.Info("database open", "dialect", dialect, "hash_slots", store.HashGate().Bound())
	if migrate {
		if err := migrateStore(ctx, store, log); err != nil {
			store.Close()
			return nil, err
		}
	}
	return store, nil
}

// migrateStore applies pending migrations under the migration lock,
// waiting for another instance's run if there is one.
func migrateStore(ctx context.Context, store *models.Store, log *slog.Logger) error {
	n, err := store.Migrate(ctx)
	if err != nil {
		return err
	}
	log.Info("database ready", "migrations_applied", n, "schema_version", models.SchemaVersion())
	return nil
}

// serve runs the web server and the background work until SIGINT or
// SIGTERM, then drains requests and stops the background work. With
// migrate it listens first and applies pending migrations then: until they
// are done, /readyz answers "migrating", /healthz only pings, every other
// route answers 503, and no background work runs. blobs is the document
// store when the caller opened it already (the demo), else nil.
func serve(ctx context.Context, cfg *Config, store *models.Store, blobs blobstore.Store, log *slog.Logger, migrate bool) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if blobs == nil {
		var err error
		if blobs, err = cfg.openDocuments(ctx); err != nil {
			return err
		}
	}
	log.Info("documents", "store", blobs.Where())
	// Requests outlive the signal by the drain below; their contexts end
	// when it is over, so that no Store call runs on after shutdown.
	reqCtx, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRequests()
	ready := &handlers.Readiness{}
	ready.SetMigrating(migrate)
	reg := newRegistry()
	app := handlers.New(handlers.Deps{Store: store, Metrics: reg, MetricsToken: cfg.Metrics.Token, Logger: log, Secret: cfg.Secret, Secure: cfg.Secure,
		Sessions: cfg.Sessions, SignIn: models.DefaultSignInLimits, TrustedProxies: cfg.TrustedProxies,
		Location: cfg.TimeZone, Blobs: blobs, Uploads: cfg.Uploads, FollowUp: cfg.FollowUp,
		Context: reqCtx, RequestTimeout: cfg.RequestTimeout, DBTimeout: cfg.DBTimeout, Readiness: ready,
		Provider: cfg.Provider, BaseURL: cfg.BaseURL, DiscoverInterfaces: discoverInterfaces(snmpDiscover),
		APIRate: cfg.APIRate,
		Means:   views.DeliveryMeans{Email: cfg.Notify.SMTP.Host != "", Gateway: cfg.Notify.Webhook.URL != ""},
		SSO:     cfg.ssoDeps()})

	var wg sync.WaitGroup
	// Listen before serving, so a taken port fails here and shutdown always
	// has a listener to close.
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		stop()
		wg.Wait()
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	errc := make(chan error, 2)
	go func() { errc <- app.Listener(ln) }()
	log.Info("portal listening", "addr", cfg.Listen, "base_url", cfg.BaseURL, "secure_cookies", cfg.Secure)
	metricsSrv, err := serveMetrics(cfg.Metrics.Listen, reg, log, errc)
	if err != nil {
		_ = app.ShutdownWithTimeout(5 * time.Second)
		_ = ln.Close()
		return err
	}
	defer metricsSrv.close()
	if cfg.Provider.Name == "" {
		log.Warn("PORTAL_PROVIDER_NAME is not set: documents name no provider to return signed forms to")
	}
	if migrate {
		if err := migrateStore(ctx, store, log); err != nil {
			_ = app.ShutdownWithTimeout(5 * time.Second)
			_ = ln.Close()
			return err
		}
		ready.SetMigrating(false)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		janitor(ctx, store, cfg, log)
	}()
	if cfg.Prober {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runProber(ctx, cfg, store, reg, log)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		runNotify(ctx, cfg, store, reg, log)
	}()

	select {
	case err := <-errc:
		stop()
		wg.Wait()
		return err
	case <-ctx.Done():
	}
	ready.SetDraining()
	if cfg.DrainDelay > 0 {
		log.Info("shutting down: not ready, still serving", "for", cfg.DrainDelay.String())
		select {
		case <-time.After(cfg.DrainDelay):
		case err := <-errc:
			log.Warn("server stopped while draining", "err", err)
		}
	}
	log.Info("shutting down: draining requests")
	if err := app.ShutdownWithTimeout(20 * time.Second); err != nil {
		log.Warn("shutdown", "err", err)
	}
	cancelRequests()
	_ = ln.Close() // in case shutdown came before the server took the listener
	wg.Wait()
	log.Info("stopped")
	return nil
}

// runProber probes the checks this instance holds until ctx ends. Without
// an ICMP socket it runs the protocol checks and leaves pings to instances
// that have one, rather than record every ping as failed. It polls the
// switches it holds over SNMP too: every instance does, as they share the
// switches' leases (an instance without SNMPPoll would be given a share it
// never polls).
func runProber(ctx context.Context, cfg *Config, store *models.Store, reg *prometheus.Registry, log *slog.Logger) {
	pcfg := prober.Config{Workers: cfg.ProberWorkers, BatchMax: cfg.ProberBatch, BatchAge: cfg.ProberBatchAge,
		SpoolPath: filepath.Join(cfg.DataDir, "prober.spool"), Metrics: reg}
	pcfg.SNMPPoll = prober.SNMPPoll
	pinger, err := prober.NewPinger(log)
	if err != nil {
		log.Error("prober: ICMP checks skipped on this instance", "err", err)
		pcfg.SkipICMP = true
	} else {
		defer pinger.Close()
	}
	if err := prober.New(pcfg, store, prober.NewProbeFunc(pinger), log).Run(ctx); err != nil {
		log.Error("prober stopped", "err", err)
	}
}

// janitor keeps the database tidy every few minutes: expired sessions,
// old sign-in attempts and day-old form tokens go, the rollups of
// finished hours and days are built from the raw results, raw probe
// results older than the retention period go once rolled up (rollups and
// outages stay for years), visitors' ID numbers and phones go
// PORTAL_VISIT_PURGE_DAYS after their visit, finished customer webhook
// deliveries PORTAL_HOOK_LOG_DAYS after they ended, the meters' rollups
// are built and their readings purged after PORTAL_FACILITY_READING_DAYS
// (facilityJanitor), and contracts ending
// in 60 and 30 days are reminded to their organization's service representative
// (SweepContracts). Every instance may run it: each step is idempotent.
func janitor(ctx context.Context, store *models.Store, cfg *Config, log *slog.Logger) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	warn := func(what string, err error) {
		if err != nil && !errors.Is(err, context.Canceled) {
			log.Warn(what, "err", err)
		}
	}
	for {
		n, err := store.PurgeExpired(ctx, cfg.Sessions.Idle, 24*time.Hour)
		warn("purge expired sessions", err)
		if n > 0 {
			log.Debug("purged expired rows", "rows", n)
		}
		for ctx.Err() == nil {
			// Bounded runs, so the other chores are not held up for long
			// after a long stop; the next tick goes on.
			const steps = 200
			done, err := store.BuildRollups(ctx, steps)
			warn("build rollups", err)
			if err != nil || done < steps {
				break
			}
		}
		for ctx.Err() == nil {
			const steps = 200
			done, err := store.BuildTrafficRollups(ctx, steps)
			warn("build traffic rollups", err)
			if err != nil || done < steps {
				break
			}
		}
		months, err := store.BuildTrafficMonths(ctx)
		warn("build traffic months", err)
		if months > 0 {
			log.Info("built traffic months", "months", months)
		}
		_, err = store.PurgeSubmissions(ctx)
		warn("purge old form tokens", err)
		purged, err := store.PurgeResults(ctx, store.Now().Add(-cfg.Retention), 50)
		warn("purge old probe results", err)
		if purged > 0 {
			log.Info("purged old probe results", "rows", purged, "retention_days", int(cfg.Retention.Hours()/24))
		}
		purged, err = store.PurgeTrafficSamples(ctx, store.Now().Add(-cfg.Retention))
		warn("purge old traffic samples", err)
		if purged > 0 {
			log.Info("purged old traffic samples", "rows", purged, "retention_days", int(cfg.Retention.Hours()/24))
		}
		facilityJanitor(ctx, store, cfg, log, warn)
		purged, err = store.PurgeHookLog(ctx, store.Now().Add(-cfg.Notify.HookLog))
		warn("purge old webhook deliveries", err)
		if purged > 0 {
			log.Info("purged old webhook deliveries", "deliveries", purged, "log_days", int(cfg.Notify.HookLog.Hours()/24))
		}
		gone, err := store.PurgeVisitors(ctx, store.Now())
		warn("purge visitors' personal data", err)
		if gone.Visitors > 0 {
			log.Info("removed visitors' ID numbers and phones", "visitors", gone.Visitors, "visits", gone.Visits,
				"purge_days", int(store.VisitRules().PurgeAfter.Hours()/24))
		}
		shipped, err := store.PurgeShipmentPeople(ctx, store.Now())
		warn("purge shipment collectors' personal data", err)
		held, err2 := store.SweepHeldShipments(ctx, store.Now())
		warn("sweep held shipments", err2)
		if shipped > 0 || held > 0 {
			log.Info("shipments swept", "people_purged_of", shipped, "held_reminders", held)
		}
		people, err := store.PurgeStanding(ctx, store.Now())
		warn("purge standing access lists' personal data", err)
		if people > 0 {
			log.Info("removed standing-list people's ID numbers and phones", "people", people,
				"purge_days", int(store.VisitRules().PurgeAfter.Hours()/24))
		}
		swept, err := store.SweepContracts(ctx)
		warn("sweep contracts", err)
		if swept.Reminders > 0 || swept.ServiceTypes > 0 {
			log.Info("contracts swept", "expiry_reminders", swept.Reminders, "service_types_changed", swept.ServiceTypes)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// healthcheck asks the local portal's /healthz; Docker's HEALTHCHECK runs
// it, as the image has no shell or curl.
func healthcheck(getenv func(string) string) error {
	listen := getenv("PORTAL_LISTEN")
	if listen == "" {
		listen = ":8080"
	}
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("PORTAL_LISTEN=%q: %w", listen, err)
	}
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get("http://127.0.0.1:" + port + "/healthz")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz answered %s", resp.Status)
	}
	return nil
}
