package main

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/colo-portal/portal/handlers"
	"github.com/colo-portal/portal/locales"
	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
	"github.com/colo-portal/portal/prober/snmptest"
)

// lockedLog is a log destination safe for the server's goroutines.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The discovery page as the portal wires it, against Debian's snmpd on
// loopback: SNMPv3 lists this machine's interfaces; a wrong pass phrase
// and a wrong community are told apart in words; no page and no log line
// holds a secret.
func TestNetworkDiscoveryAgainstARealAgent(t *testing.T) {
	agent := snmptest.Start(t)
	ctx := context.Background()
	store := dbtest.Open(t, dbtest.Databases(t)[0])
	fx := dbtest.Seed(t, store)
	logs := &lockedLog{}
	app := handlers.New(handlers.Deps{Store: store, Secret: []byte("network snmp test secret 0123456789"),
		Sessions: models.DefaultSessionPolicy, SignIn: models.DefaultSignInLimits,
		Logger:             slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		DiscoverInterfaces: discoverInterfaces(snmpDiscover)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	base := "http://" + ln.Addr().String()

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var bodies []string
	send := func(method, path string, form url.Values) (int, string) {
		t.Helper()
		var resp *http.Response
		var err error
		if method == http.MethodGet {
			resp, err = client.Get(base + path)
		} else {
			resp, err = client.PostForm(base+path, form)
		}
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		bodies = append(bodies, string(b))
		return resp.StatusCode, string(b)
	}
	csrf := func(page string) string {
		t.Helper()
		_, body := send(http.MethodGet, page, nil)
		m := csrfInput.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("GET %s: no _csrf field", page)
		}
		return html.UnescapeString(m[1])
	}
	if code, _ := send(http.MethodPost, "/login", url.Values{"_csrf": {csrf("/login")}, "email": {fx.Engineer.Email},
		"password": {dbtest.Password}}); code != http.StatusSeeOther {
		t.Fatalf("sign in: %d", code)
	}
	zh := func(key string) string { return html.EscapeString(locales.For("zh-CN").T(key)) }

	v3, v2 := agent.V3(), agent.V2c()
	eng := models.UserActor(fx.Engineer, "127.0.0.1")
	sw3, err := store.CreateSwitch(ctx, eng, models.SwitchInput{Name: "loopback-v3", Address: v3.Address, Version: models.SNMPv3,
		V3User: v3.V3User, V3AuthProto: v3.V3AuthProto, V3AuthKey: v3.V3AuthKey, V3PrivProto: v3.V3PrivProto, V3PrivKey: v3.V3PrivKey,
		TimeoutMs: 2000, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	discover := func(sw *models.Switch) (int, string) {
		t.Helper()
		page := "/network/" + strconv.FormatInt(sw.ID, 10)
		return send(http.MethodPost, page+"/discover", url.Values{"_csrf": {csrf(page)}})
	}
	code, body := discover(sw3)
	if code != http.StatusOK || !strings.Contains(body, `<td data-label="`+html.EscapeString(locales.For("zh-CN").T("network.if_name"))+`" class="mono">lo</td>`) {
		t.Fatalf("SNMPv3 discovery: %d, no interface lo in\n%s", code, body)
	}

	// A wrong authentication pass phrase is refused by the agent.
	if _, err := store.UpdateSwitch(ctx, eng, sw3.ID, models.SwitchInput{Name: "loopback-v3", Address: v3.Address, Version: models.SNMPv3,
		V3User: v3.V3User, V3AuthProto: v3.V3AuthProto, V3AuthKey: "not-the-auth-phrase", V3PrivProto: v3.V3PrivProto,
		TimeoutMs: 1000, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	code, body = discover(sw3)
	if code != http.StatusBadGateway || !strings.Contains(body, zh("network.error.discover_refused")) {
		t.Fatalf("a wrong auth pass phrase: %d\n%s", code, body)
	}
	// A wrong community gets no answer at all.
	sw2, err := store.CreateSwitch(ctx, eng, models.SwitchInput{Name: "loopback-v2c", Address: v2.Address, Version: models.SNMPv2c,
		Community: "not-the-community", TimeoutMs: 500, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	code, body = discover(sw2)
	if code != http.StatusBadGateway || !strings.Contains(body, zh("network.error.discover_timeout")) {
		t.Fatalf("a wrong community: %d\n%s", code, body)
	}

	log := logs.String()
	if !strings.Contains(log, "network device discovery failed") {
		t.Fatalf("the failures are not logged:\n%s", log)
	}
	for _, s := range []string{v3.V3AuthKey, v3.V3PrivKey, v2.Community, "not-the-auth-phrase", "not-the-community"} {
		if strings.Contains(log, s) {
			t.Errorf("the log holds the secret %q", s)
		}
		for _, b := range bodies {
			if strings.Contains(b, s) {
				t.Errorf("a page holds the secret %q", s)
			}
		}
	}
}
