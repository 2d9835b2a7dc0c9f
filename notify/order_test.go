package notify

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// The mail server refuses every message for 20 minutes; the outage ends
// after 10 of them. Once the server is back, the outage's notice goes out
// within a few minutes (not after a 15-minute backoff), and before its
// recovery notice, to each recipient; the notice sent again keeps the
// Message-ID of its refused tries.
func TestNoticesGoOutInOrderSoonAfterTheMailServerReturns(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			clock := newFakeClock()
			s := openStore(t, db, clock)
			fx := dbtest.Seed(t, s)
			w := newWorld(t, s, fx, fx.OrgA, "web-01", "10.0.0.5")
			w.contact(t, models.ContactInput{Name: "John Smith", Email: "john@alpha.test",
				Channels: []models.Channel{models.ChannelEmail}, Locale: "en"})
			w.contact(t, models.ContactInput{Name: "Sun Li", Email: "sun.li@alpha.test",
				Channels: []models.Channel{models.ChannelEmail}, Priority: 1, Locale: "en"})
			w.confirmContacts(t, fx.CustA)
			sink := startSMTP(t, ModeNone, nil, "", "")
			sink.down.Store(true)
			r := startDispatchers(t, clock, newDispatcher(t, s, clock, "portal-a", sink.port(t), ""))

			start := clock.Now()
			o := w.fail(t, start)
			for clock.Now().Before(start.Add(10 * time.Minute)) {
				r.step(time.Minute)
			}
			w.recover(t, clock.Now())
			for clock.Now().Before(start.Add(20 * time.Minute)) {
				r.step(time.Minute)
			}
			back := clock.Now()
			sink.down.Store(false)
			r.until(30*time.Minute, "every notice accepted", func() bool {
				return w.allDone(t, o.ID, models.EventOutageOpened, 2)() && w.allDone(t, o.ID, models.EventOutageClosed, 2)()
			})

			ds, att := w.deliveries(t, o.ID)
			acceptedAt := map[int64]time.Time{}
			for _, d := range ds {
				a := att[d.ID]
				if d.Status != models.DeliveryAccepted || len(a) == 0 || (d.Event == models.EventOutageOpened && len(a) < 2) {
					t.Fatalf("delivery %+v with %d tries, want accepted (an outage notice after refused tries)", d, len(a))
				}
				acceptedAt[d.ID] = a[len(a)-1].At
				for i := 1; i < len(a)-1; i++ {
					if gap := a[i+1].At.Sub(a[i].At); gap > 5*time.Minute {
						t.Errorf("delivery %d (%s): %v between tries %d and %d, want at most 5 min", d.ID, d.Event, gap, i+1, i+2)
					}
				}
			}
			for _, d := range ds {
				if d.Event != models.EventOutageOpened {
					continue
				}
				if late := acceptedAt[d.ID].Sub(back); late > 5*time.Minute {
					t.Errorf("the outage notice to %s went out %v after the mail server was back, want within 5 min", d.Address, late)
				}
				closed := deliveryOf(t, ds, d.ContactID, d.Channel, models.EventOutageClosed)
				if acceptedAt[closed.ID].Before(acceptedAt[d.ID]) {
					t.Errorf("%s: recovery accepted at %v, before the outage notice at %v", d.Address,
						acceptedAt[closed.ID].Sub(start), acceptedAt[d.ID].Sub(start))
				}
			}

			// The order the server received them in, per recipient.
			order := map[string][]string{}
			for _, m := range sink.all() {
				order[m.To] = append(order[m.To], parseMail(t, m).Header.Get("X-Portal-Event"))
			}
			for to, evs := range order {
				if strings.Join(evs, ",") != models.EventOutageOpened+","+models.EventOutageClosed {
					t.Errorf("%s received %v, want the outage notice, then the recovery", to, evs)
				}
			}

			// One Message-ID per delivery, whatever the try.
			ids := map[string]map[string]bool{}
			sink.mu.Lock()
			every := append(append([]sunkMail{}, sink.refused...), sink.messages...)
			sink.mu.Unlock()
			for _, m := range every {
				p := parseMail(t, m)
				del := p.Header.Get("X-Portal-Delivery")
				if ids[del] == nil {
					ids[del] = map[string]bool{}
				}
				ids[del][p.Header.Get("Message-ID")] = true
			}
			for del, set := range ids {
				if len(set) != 1 {
					t.Errorf("delivery %s was sent with %d Message-IDs %v, want one", del, len(set), set)
				}
			}
		})
	}
}

// logCounter keeps the records logged at each level.
type logCounter struct {
	mu   sync.Mutex
	msgs map[slog.Level][]string
}

func (l *logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCounter) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs[r.Level] = append(l.msgs[r.Level], r.Message)
	return nil
}
func (l *logCounter) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCounter) WithGroup(string) slog.Handler      { return l }

func (l *logCounter) take(level slog.Level) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.msgs[level]
	l.msgs[level] = nil
	return m
}

// While the database is away the dispatcher says so once, not on every
// pass, and once when it is back.
func TestDispatcherLogsADatabaseOutageOnce(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			clock := newFakeClock()
			s := openStore(t, db, clock)
			dbtest.Seed(t, s)
			logs := &logCounter{msgs: map[slog.Level][]string{}}
			cfg := Config{InstanceID: "portal-a", Clock: clock,
				SMTP: SMTPConfig{Host: "127.0.0.1", Port: closedPort(t), Mode: ModeNone, From: "noc@idc.test", Timeout: 5 * time.Second}}
			r := startDispatchers(t, clock, New(cfg, s, slog.New(logs)))
			r.step(time.Minute)
			if warns := logs.take(slog.LevelWarn); len(warns) != 0 {
				t.Fatalf("warnings with the database up: %v", warns)
			}
			logs.take(slog.LevelInfo)

			away := tablesAway{t: t, db: db, tables: []string{"outbox", "deliveries", "sla_clocks"}}
			away.cut()
			for range 30 { // a minute of passes
				r.step(0)
			}
			warns := logs.take(slog.LevelWarn)
			if len(warns) != 1 {
				t.Errorf("%d warnings in a minute of database outage, want 1: %v", len(warns), warns)
			}
			away.restore()
			r.step(0)
			r.step(0)
			back := logs.take(slog.LevelInfo)
			if len(back) != 1 || !strings.Contains(back[0], "database") {
				t.Errorf("after the database returned: %v, want one line saying so", back)
			}
			if warns := logs.take(slog.LevelWarn); len(warns) != 0 {
				t.Errorf("warnings after the database returned: %v", warns)
			}
		})
	}
}

// tablesAway renames tables so every statement on them fails at once, the
// nearest an embedded SQLite file comes to a database outage.
type tablesAway struct {
	t      *testing.T
	db     dbtest.DB
	tables []string
}

func (a tablesAway) exec(rename func(string) string) {
	gdb, _, err := models.Open(context.Background(), models.OpenOptions{URL: a.db.URL})
	if err != nil {
		a.t.Fatal(err)
	}
	defer func() {
		if s, err := gdb.DB(); err == nil {
			s.Close()
		}
	}()
	for _, tb := range a.tables {
		if err := gdb.Exec(rename(tb)).Error; err != nil {
			a.t.Fatal(err)
		}
	}
}

func (a tablesAway) cut() {
	a.exec(func(tb string) string { return "ALTER TABLE " + tb + " RENAME TO " + tb + "_away" })
}

func (a tablesAway) restore() {
	a.exec(func(tb string) string { return "ALTER TABLE " + tb + "_away RENAME TO " + tb })
}
