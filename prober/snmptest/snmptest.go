// Package snmptest starts a real SNMP agent for tests: Debian's snmpd
// (package snmpd) on a free UDP port of a loopback address, serving this
// machine's own interfaces (IF-MIB from the kernel), with a v2c read-only
// community and a v3 user (SHA authentication, AES privacy) made up for
// the test. Only _test files import it.
//
// Without snmpd the test is skipped; with CI=true it fails instead, as a
// missing MySQL or browser does.
package snmptest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/colo-portal/portal/models"
)

// Path is where Debian installs the agent.
const Path = "/usr/sbin/snmpd"

// Agent is a running snmpd and what reaches it.
type Agent struct {
	Address     string // host:port
	Community   string // v2c, read-only
	V3User      string
	V3AuthProto string // SHA
	V3AuthKey   string
	V3PrivProto string // AES
	V3PrivKey   string
	// CacheTimeout is how long net-snmp serves the interface table (and
	// its counters) from its cache: a request finding the cache older than
	// this reloads it from the kernel, so a counter read may be up to this
	// old. Read from the agent's nsCacheTable (3 s in net-snmp 5.9).
	CacheTimeout time.Duration

	log *syncBuffer
	// values is the file the pass script serves (StartPass).
	values string
}

// Start runs snmpd for the test and stops it when the test ends. without
// names agent modules not to load: "ifXTable" makes an agent without
// 64-bit counters (ifHCInOctets answers noSuchObject).
func Start(t testing.TB, without ...string) *Agent {
	t.Helper()
	return startAgent(t, "", without)
}

// StartPass runs snmpd as Start does, serving besides the subtree root
// (".1.3.6.1.4.1.…") through a `pass` script that answers GET requests
// with the integers of values (OID → value, served as INTEGER); an OID of
// the subtree without a value answers noSuchObject. SetValues changes
// them between requests (the script reads a file each time).
func StartPass(t testing.TB, root string, values map[string]int64) *Agent {
	t.Helper()
	return startAgent(t, root, nil, values)
}

// SetValues replaces what the pass script of StartPass serves.
func (a *Agent) SetValues(t testing.TB, values map[string]int64) {
	t.Helper()
	if a.values == "" {
		t.Fatal("snmptest: SetValues on an agent without StartPass")
	}
	var b strings.Builder
	for oid, v := range values {
		fmt.Fprintf(&b, ".%s %d\n", strings.TrimPrefix(oid, "."), v)
	}
	tmp := a.values + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, a.values); err != nil {
		t.Fatal(err)
	}
}

// passScript answers snmpd's pass protocol: "-g OID" prints the OID, its
// type and value when the values file has it; nothing else is served
// (GETNEXT and SET answer nothing).
const passScript = `#!/bin/sh
[ "$1" = "-g" ] || exit 0
exec awk -v oid="$2" '$1 == oid { print $1; print "integer"; print $2; exit }' "%s"
`

func startAgent(t testing.TB, root string, without []string, values ...map[string]int64) *Agent {
	t.Helper()
	if _, err := os.Stat(Path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is missing: the SNMP tests must run in CI (apt-get install snmpd)", Path)
		}
		t.Skipf("%s is missing; install Debian's snmpd to run the SNMP tests", Path)
	}
	host := loopbackHost()
	var lastErr error
	for range 3 { // another process may take the free port first
		a, err := start(t, host, without, root)
		if err == nil {
			if len(values) > 0 {
				a.SetValues(t, values[0])
			}
			return a
		}
		lastErr = err
	}
	t.Fatalf("snmptest: %v", lastErr)
	return nil
}

// loopbackHost is 127.0.0.2 when this machine lets a socket bind it (so
// the agent is apart from any system snmpd on 127.0.0.1), else 127.0.0.1.
func loopbackHost() string {
	c, err := net.ListenPacket("udp4", "127.0.0.2:0")
	if err != nil {
		return "127.0.0.1"
	}
	c.Close()
	return "127.0.0.2"
}

func start(t testing.TB, host string, without []string, root string) (*Agent, error) {
	t.Helper()
	c, err := net.ListenPacket("udp4", host+":0")
	if err != nil {
		return nil, err
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	c.Close()

	a := &Agent{Address: net.JoinHostPort(host, strconv.Itoa(port)),
		Community: "c" + randomHex(), V3User: "portal", V3AuthProto: "SHA", V3AuthKey: "a" + randomHex(),
		V3PrivProto: "AES", V3PrivKey: "p" + randomHex(), CacheTimeout: 3 * time.Second, log: &syncBuffer{}}

	dir := t.TempDir()
	conf := filepath.Join(dir, "snmpd.conf")
	text := fmt.Sprintf(`agentAddress udp:%s
rocommunity %s 127.0.0.0/8
createUser %s SHA "%s" AES "%s"
rouser %s priv
dontLogTCPWrappersConnects yes
`, a.Address, a.Community, a.V3User, a.V3AuthKey, a.V3PrivKey, a.V3User)
	if root != "" {
		a.values = filepath.Join(dir, "values")
		if err := os.WriteFile(a.values, nil, 0o600); err != nil {
			return nil, err
		}
		script := filepath.Join(dir, "pass.sh")
		if err := os.WriteFile(script, []byte(fmt.Sprintf(passScript, a.values)), 0o700); err != nil {
			return nil, err
		}
		text += fmt.Sprintf("pass .%s /bin/sh %s\n", strings.TrimPrefix(root, "."), script)
	}
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return nil, err
	}
	persist := filepath.Join(dir, "persist")
	mibs := filepath.Join(dir, "mibs")
	for _, d := range []string{persist, mibs} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, err
		}
	}
	// -f: foreground; -Lo: log to stdout; -C -c: this configuration only
	// (not /etc/snmp); -I -smux,…: no SMUX listener on TCP port 199 (nor
	// the modules named in without: a leading "-" excludes the list). The
	// persistent state (the v3 user's localized keys, engine boots) goes
	// to the temporary directory; no MIB files are read (numeric OIDs).
	cmd := exec.Command(Path, "-f", "-Lo", "-C", "-c", conf, "-I", "-"+strings.Join(append([]string{"smux"}, without...), ","))
	cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+persist, "MIBS=", "MIBDIRS="+mibs)
	cmd.Stdout, cmd.Stderr = a.log, a.log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}

	// Wait until it answers (or gives up, when the port was taken).
	deadline := time.Now().Add(15 * time.Second)
	for {
		cache, err := a.ifTableCacheTimeout()
		if err == nil {
			if cache > 0 {
				a.CacheTimeout = cache
			}
			break
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("snmpd on %s exited: %s", a.Address, a.log.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("snmpd on %s does not answer: %v; its log: %s", a.Address, err, a.log.String())
		}
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("snmpd log:\n%s", a.log.String())
		}
	})
	return a, nil
}

// ifTableCacheTimeout asks the agent how long it caches the interface
// table: nsCacheTimeout (NET-SNMP-AGENT-MIB) of the cache whose index is
// ifTable's OID. 0 when the agent does not say.
func (a *Agent) ifTableCacheTimeout() (time.Duration, error) {
	host, port, _ := net.SplitHostPort(a.Address)
	p, _ := strconv.Atoi(port)
	g := &gosnmp.GoSNMP{Target: host, Port: uint16(p), Community: a.Community, Version: gosnmp.Version2c,
		Timeout: 500 * time.Millisecond, Context: context.Background()}
	if err := g.Connect(); err != nil {
		return 0, err
	}
	defer g.Conn.Close()
	const nsCacheTimeoutOfIfTable = ".1.3.6.1.4.1.8072.1.5.3.1.2.1.3.6.1.2.1.2.2"
	res, err := g.Get([]string{".1.3.6.1.2.1.1.3.0", nsCacheTimeoutOfIfTable})
	if err != nil {
		return 0, err
	}
	if v, ok := res.Variables[1].Value.(int); ok && res.Variables[1].Type == gosnmp.Integer && v > 0 {
		return time.Duration(v) * time.Second, nil
	}
	return 0, nil
}

// WaitCache waits until the agent's interface cache is older than its
// timeout, so that the next read of a counter is loaded from the kernel
// at that moment. Call it after the last request to the agent.
func (a *Agent) WaitCache() {
	time.Sleep(a.CacheTimeout + 500*time.Millisecond)
}

// V2c is the credentials of the v2c community.
func (a *Agent) V2c() models.SNMPCredentials {
	return models.SNMPCredentials{Address: a.Address, Version: models.SNMPv2c, Community: a.Community,
		Timeout: 2 * time.Second, MaxOIDs: models.SwitchMaxOIDsDefault}
}

// V3 is the credentials of the v3 user (authPriv).
func (a *Agent) V3() models.SNMPCredentials {
	return models.SNMPCredentials{Address: a.Address, Version: models.SNMPv3, V3User: a.V3User,
		V3AuthProto: a.V3AuthProto, V3AuthKey: a.V3AuthKey, V3PrivProto: a.V3PrivProto, V3PrivKey: a.V3PrivKey,
		Timeout: 2 * time.Second, MaxOIDs: models.SwitchMaxOIDsDefault}
}

// Log is what the agent printed so far.
func (a *Agent) Log() string { return a.log.String() }

func randomHex() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// syncBuffer is the agent's output, written by the process while a test
// may read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
