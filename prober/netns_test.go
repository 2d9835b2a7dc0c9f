//go:build linux

package prober

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// ICMP to one loopback address dropped inside a network namespace that the
// test creates: a real ICMP check of that address opens an outage after
// its threshold of timeouts, dated from the first, while a check of the
// next address stays up; taking the drop away closes the outage at the
// first answer. Only the pinger's sockets live in the namespace (they are
// opened from a thread moved into it), so the prober, its clock and both
// databases stay in the test process and the host's network.
//
// The drop is a route, not a firewall rule (nft and iptables are not
// installed on these machines): a unicast route for 127.9.9.9/32 in the
// local table beats "local 127.0.0.0/8", so echo requests to it go out on
// lo, come back in addressed to a host that is not local, and are never
// forwarded (127/8 is martian): they vanish and the probe times out, in
// both socket modes, as behind a firewall that drops them.
func TestNetnsICMPDropOpensOutageAfterNTimeouts(t *testing.T) {
	requireNetns(t)
	const dropped, neighbour = "127.9.9.9", "127.9.9.8"
	for _, mode := range []string{icmpModeRaw, icmpModeDatagram} {
		t.Run(mode, func(t *testing.T) {
			for _, db := range dbtest.Databases(t) {
				t.Run(db.Name, func(t *testing.T) {
					began := time.Now()
					ns := newTestNetns(t)
					p := pingerInNetns(t, ns, mode)
					if out := p.Ping(context.Background(), netip.MustParseAddr(dropped), 2*time.Second); !out.OK {
						t.Fatalf("ping %s in the namespace before the drop = %+v, want OK", dropped, out)
					}

					clock := newManualClock()
					s := dbtest.Open(t, db, models.WithClock(clock.Now))
					fx := dbtest.Seed(t, s)
					cut := &watched{name: "icmp " + dropped + " (threshold 3)", n: 3, reason: models.ReasonTimeout,
						check: addWatchedCheck(t, s, fx.OrgA.ID, "cut-off", dropped, models.CheckInput{Kind: models.KindICMP,
							Target: dropped, Interval: models.MinInterval, Timeout: 300 * time.Millisecond, FailThreshold: 3})}
					control := &watched{name: "icmp " + neighbour + " (control)",
						check: addWatchedCheck(t, s, fx.OrgB.ID, "neighbour", neighbour, models.CheckInput{Kind: models.KindICMP,
							Target: neighbour, Interval: models.MinInterval, Timeout: 300 * time.Millisecond})}
					route := []string{"route", "add", dropped + "/32", "dev", "lo", "table", "local"}
					t.Cleanup(func() { // if the test stops while the drop is in place
						_ = exec.Command("ip", append([]string{"-n", ns, "route", "del"}, route[2:]...)...).Run()
					})

					x := startInjectRun(t, s, clock, NewProbeFunc(p), cut, control)
					x.scenario(func() {
						ipIn(t, ns, route...)
						if out := p.Ping(context.Background(), netip.MustParseAddr(dropped), 200*time.Millisecond); out.OK {
							t.Fatalf("ping %s with the drop in place = %+v, want a failure", dropped, out)
						}
					}, func() {
						route[1] = "del"
						ipIn(t, ns, route...)
					})
					t.Logf("%s/%s: %v of real time", mode, db.Name, time.Since(began).Round(time.Millisecond))
				})
			}
		})
	}
}

// requireNetns skips a test that needs root and iproute2 when they are
// missing, except under CI=true, where it must run.
func requireNetns(t *testing.T) {
	t.Helper()
	missing := ""
	if os.Geteuid() != 0 {
		missing = "root"
	} else if _, err := exec.LookPath("ip"); err != nil {
		missing = "ip (iproute2)"
	}
	if missing == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but this test has no %s: it creates a network namespace", missing)
	}
	t.Skipf("needs %s to create a network namespace", missing)
}

// newTestNetns creates a network namespace with lo up, deleted when the
// test ends.
func newTestNetns(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "portal-test-" + hex.EncodeToString(b)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		if os.Getenv("CI") != "true" {
			t.Skipf("cannot create a network namespace here: %v: %s", err, out)
		}
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	ipIn(t, name, "link", "set", "lo", "up")
	return name
}

// ipIn runs ip with args inside namespace ns.
func ipIn(t *testing.T, ns string, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s %s: %v: %s", ns, strings.Join(args, " "), err, out)
	}
}

// pingerInNetns opens a Pinger in mode whose sockets live in namespace ns
// (a socket stays in the namespace it was created in), and closes it when
// the test ends.
func pingerInNetns(t *testing.T, ns, mode string) *Pinger {
	t.Helper()
	var p *Pinger
	err := inNetns(ns, func() error {
		if mode == icmpModeDatagram {
			// A new namespace lets no group open datagram ICMP sockets.
			if err := os.WriteFile("/proc/sys/net/ipv4/ping_group_range", []byte("0 2147483647"), 0o644); err != nil {
				return err
			}
		}
		var err error
		p, err = newPinger(testLogger(t), mode)
		return err
	})
	if err != nil {
		t.Fatalf("pinger in namespace %s: %v", ns, err)
	}
	t.Cleanup(func() { p.Close() })
	if p.Mode() != mode {
		t.Fatalf("pinger mode %s, want %s", p.Mode(), mode)
	}
	return p
}

// inNetns runs f on an OS thread moved into namespace ns, then moves the
// thread back.
func inNetns(ns string, f func() error) error {
	target, err := os.Open(filepath.Join("/run/netns", ns))
	if err != nil {
		return err
	}
	defer target.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer home.Close()
		if err := setns(target); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		ferr := f()
		if err := setns(home); err != nil {
			// The thread stays locked: the runtime ends it with this
			// goroutine instead of running others in the wrong namespace.
			errc <- fmt.Errorf("setns back from %s: %w", ns, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

func setns(f *os.File) error {
	return unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
}
