package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// logLines is a JSON log kept in memory.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logLines) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// lines decodes every line logged so far.
func (l *logLines) lines(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, ln := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if ln == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(ln), &m); err != nil {
			t.Fatalf("log line %q: %v", ln, err)
		}
		out = append(out, m)
	}
	return out
}

// withMsg is the lines whose msg is msg.
func withMsg(lines []map[string]any, msg string) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

func TestEveryLogLineOfARequestCarriesItsID(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store, _ *dbtest.Clock) {
		cases := []struct {
			name    string
			proxies []string
			sent    string
			kept    bool
		}{
			{"a request gets a new ID", nil, "", false},
			{"a client's own ID is not believed", nil, "client-chosen-1", false},
			{"a trusted proxy's ID is kept", []string{"0.0.0.0/0", "::/0"}, "edge-7f3a.42", true},
			{"a trusted proxy's garbled ID is replaced", []string{"0.0.0.0/0", "::/0"}, "two words\"}", false},
			{"a trusted proxy's over-long ID is replaced", []string{"0.0.0.0/0", "::/0"}, strings.Repeat("a", 65), false},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var logs logLines
				app := newApp(store, func(d *handlers.Deps) { d.Logger, d.TrustedProxies = logs.logger(), c.proxies })
				hdr := http.Header{}
				if c.sent != "" {
					hdr.Set(handlers.HeaderRequestID, c.sent)
				}
				// A post without its CSRF token logs a warning and the request.
				r := newClient(t, app).do(http.MethodPost, "/login", url.Values{"email": {"x@y.test"}}, hdr)
				wantStatus(t, r, http.StatusForbidden)
				id := r.Header.Get(handlers.HeaderRequestID)
				if id == "" || (c.kept != (id == c.sent)) {
					t.Fatalf("response's request ID = %q, sent %q", id, c.sent)
				}
				lines := logs.lines(t)
				if len(withMsg(lines, "csrf token missing or wrong")) != 1 || len(withMsg(lines, "request")) != 1 {
					t.Fatalf("log = %v; want the CSRF warning and the request line", lines)
				}
				for _, l := range lines {
					if l["request_id"] != id {
						t.Errorf("log line %v does not carry request_id %q", l, id)
					}
				}
			})
		}
		t.Run("two requests get two IDs", func(t *testing.T) {
			app := newApp(store)
			a, b := newClient(t, app).get("/login"), newClient(t, app).get("/login")
			if a.Header.Get(handlers.HeaderRequestID) == b.Header.Get(handlers.HeaderRequestID) {
				t.Fatalf("both requests are %q", a.Header.Get(handlers.HeaderRequestID))
			}
		})
	})
}

// TestStoreCallsRunInTheRequestContext signs in, then sends the session to
// apps whose base context has ended: the Store calls of the request fail
// with the context's error, named, in a line that carries the request ID,
// and the page answers 503.
func TestStoreCallsRunInTheRequestContext(t *testing.T) {
	eachDB(t, func(t *testing.T, e *env) {
		signedIn := e.as(t, e.fx.CustA)
		shutdown, cancel := context.WithCancel(context.Background())
		cancel()
		expired, cancel2 := context.WithDeadline(context.Background(), time.Unix(0, 0))
		defer cancel2()
		cases := []struct {
			name string
			base context.Context
			want string
		}{
			{"the server has shut down", shutdown, "context canceled"},
			{"the request's deadline has passed", expired, "context deadline exceeded"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var logs logLines
				app := newApp(e.store, func(d *handlers.Deps) { d.Logger, d.Context = logs.logger(), c.base })
				cl := newClient(t, app)
				cl.cookies = signedIn.cookies
				r := cl.get("/")
				wantStatus(t, r, http.StatusServiceUnavailable)
				failed := withMsg(logs.lines(t), "request failed")
				if len(failed) != 1 {
					t.Fatalf("log = %v; want one failed request", logs.lines(t))
				}
				msg, _ := failed[0]["err"].(string)
				if !strings.HasPrefix(msg, "models: lookup session: ") || !strings.HasSuffix(msg, c.want) {
					t.Fatalf("err = %q; want the session lookup to fail with %q", msg, c.want)
				}
				if failed[0]["request_id"] != r.Header.Get(handlers.HeaderRequestID) {
					t.Fatalf("line %v lacks request_id %q", failed[0], r.Header.Get(handlers.HeaderRequestID))
				}
			})
		}
		t.Run("a live base context serves the page", func(t *testing.T) {
			app := newApp(e.store, func(d *handlers.Deps) { d.Context = context.Background() })
			cl := newClient(t, app)
			cl.cookies = signedIn.cookies
			wantStatus(t, cl.get("/"), http.StatusOK)
		})
	})
}

func TestAPanicIsLoggedWithItsStack(t *testing.T) {
	var logs logLines
	// Without a Store the health check's database ping panics.
	app := handlers.New(handlers.Deps{Secret: testSecret, Logger: logs.logger()})
	r := newClient(t, app).get("/healthz")
	wantStatus(t, r, http.StatusInternalServerError)
	panics := withMsg(logs.lines(t), "panic")
	if len(panics) != 1 {
		t.Fatalf("log = %v; want one panic", logs.lines(t))
	}
	stack, _ := panics[0]["stack"].(string)
	if !strings.Contains(stack, "goroutine ") || !strings.Contains(stack, "handlers.(*Handler).health") {
		t.Fatalf("stack = %q; want the goroutine's stack through the health handler", stack)
	}
	if panics[0]["request_id"] != r.Header.Get(handlers.HeaderRequestID) || !strings.Contains(panics[0]["panic"].(string), "nil pointer") {
		t.Fatalf("panic line = %v", panics[0])
	}
}

// An invitation's token is the credential for setting a password: the log
// keeps its path without it, for the page and for a post without a CSRF
// token alike.
func TestTheLogKeepsNoInvitationToken(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *models.Store, _ *dbtest.Clock) {
		var logs logLines
		app := newApp(store, func(d *handlers.Deps) { d.Logger = logs.logger() })
		const token = "0123456789abcdef0123456789abcdef"
		cl := newClient(t, app)
		cl.do(http.MethodGet, "/invite/"+token, nil, nil)
		cl.do(http.MethodPost, "/invite/"+token, url.Values{"password": {"x"}}, nil)
		lines := logs.lines(t)
		if len(withMsg(lines, "request")) != 2 {
			t.Fatalf("log lines %v; want the two requests", lines)
		}
		for _, l := range lines {
			if strings.Contains(fmt.Sprint(l), token) {
				t.Errorf("log line carries the invitation token: %v", l)
			}
		}
	})
}
