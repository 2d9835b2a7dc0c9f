package models_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

// Secrets of the tests below: none may show up anywhere but sealed.
const (
	testCommunity = "s3cret-community"
	testAuthKey   = "auth-pass-phrase-77"
	testPrivKey   = "priv-pass-phrase-88"
)

func v2Switch(name string) models.SwitchInput {
	return models.SwitchInput{Name: name, Address: "127.0.0.1:1161", Site: "Hall 1", Version: models.SNMPv2c,
		Community: testCommunity, Enabled: true}
}

func v3Switch(name string) models.SwitchInput {
	return models.SwitchInput{Name: name, Address: "127.0.0.2", Version: models.SNMPv3, V3User: "portal-ro",
		V3AuthProto: "SHA256", V3AuthKey: testAuthKey, V3PrivProto: "AES", V3PrivKey: testPrivKey, Enabled: true}
}

func TestSNMPHostPort(t *testing.T) {
	for addr, want := range map[string]string{
		"10.0.0.1":            "10.0.0.1 161",
		" 10.0.0.1:1161 ":     "10.0.0.1 1161",
		"sw1.dc.example":      "sw1.dc.example 161",
		"sw1.dc.example:162":  "sw1.dc.example 162",
		"2001:db8::1":         "2001:db8::1 161",
		"[2001:db8::1]":       "2001:db8::1 161",
		"[2001:db8::1]:16100": "2001:db8::1 16100",
		"":                    "",
		"udp://10.0.0.1":      "",
		"10.0.0.1/24":         "",
		"public@10.0.0.1":     "",
		"10.0.0.1:0":          "",
		"10.0.0.1:65536":      "",
		"10.0.0.1:+161":       "",
		"10.0.0.1:snmp":       "",
		"10.0.0.1:":           "",
		"[10.0.0.1":           "",
		"sw 1":                "",
		"2001:db8::1:99999x":  "",
		"1.2.3":               "",
	} {
		h, p, ok := models.SNMPHostPort(addr)
		got := ""
		if ok {
			got = fmt.Sprintf("%s %d", h, p)
		}
		if got != want {
			t.Errorf("SNMPHostPort(%q) = %q, want %q", addr, got, want)
		}
	}
}

// Every rule of a network device is checked at once, each next to its
// field, and nothing is stored unless all hold.
func TestSwitchRules(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		eng := models.UserActor(fx.Engineer, "10.0.0.1")
		with := func(in models.SwitchInput, f func(*models.SwitchInput)) models.SwitchInput { f(&in); return in }
		for _, c := range []struct {
			name string
			in   models.SwitchInput
			want map[string]string
		}{
			{"everything wrong at once", models.SwitchInput{Name: " ", Address: "https://10.0.0.1/", Site: "a\tb", Version: "1",
				IntervalSec: 59, TimeoutMs: 499, MaxOIDs: 101},
				map[string]string{"name": "error.required", "address": "network.error.address", "site": "error.control_chars",
					"version": "network.error.version", "interval_sec": "network.error.range", "timeout_ms": "network.error.range",
					"max_oids": "network.error.range"}},
			{"bounds above", with(v2Switch("a"), func(in *models.SwitchInput) { in.IntervalSec, in.TimeoutMs, in.MaxOIDs = 3601, 30001, -1 }),
				map[string]string{"interval_sec": "network.error.range", "timeout_ms": "network.error.range", "max_oids": "network.error.range"}},
			{"an unknown kind", with(v2Switch("a"), func(in *models.SwitchInput) { in.Kind = "ups" }),
				map[string]string{"kind": "network.error.kind"}},
			{"no address", with(v2Switch("a"), func(in *models.SwitchInput) { in.Address = "" }),
				map[string]string{"address": "error.required"}},
			{"a port out of range", with(v2Switch("a"), func(in *models.SwitchInput) { in.Address = "10.0.0.1:70000" }),
				map[string]string{"address": "network.error.address"}},
			{"v2c without a community", with(v2Switch("a"), func(in *models.SwitchInput) { in.Community = "" }),
				map[string]string{"community": "network.error.secret_required"}},
			{"a community with a line break", with(v2Switch("a"), func(in *models.SwitchInput) { in.Community = "pub\nlic" }),
				map[string]string{"community": "error.control_chars"}},
			{"v3 without a user", with(v3Switch("a"), func(in *models.SwitchInput) { in.V3User = "" }),
				map[string]string{"v3_user": "error.required"}},
			{"privacy without authentication", with(v3Switch("a"), func(in *models.SwitchInput) { in.V3AuthProto = "" }),
				map[string]string{"v3_priv_proto": "network.error.priv_needs_auth"}},
			{"unknown protocols", with(v3Switch("a"), func(in *models.SwitchInput) { in.V3AuthProto, in.V3PrivProto = "SHA1", "3DES" }),
				map[string]string{"v3_auth_proto": "network.error.proto", "v3_priv_proto": "network.error.proto"}},
			{"keys too short", with(v3Switch("a"), func(in *models.SwitchInput) { in.V3AuthKey, in.V3PrivKey = "1234567", "密钥密钥" }),
				map[string]string{"v3_auth_key": "network.error.key_short", "v3_priv_key": "network.error.key_short"}},
			{"protocols without keys", with(v3Switch("a"), func(in *models.SwitchInput) { in.V3AuthKey, in.V3PrivKey = "", "" }),
				map[string]string{"v3_auth_key": "network.error.secret_required", "v3_priv_key": "network.error.secret_required"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := s.CreateSwitch(ctx, eng, c.in)
				if got := fieldKeys(err); fmt.Sprint(got) != fmt.Sprint(c.want) {
					t.Fatalf("errors %v, want %v (%v)", got, c.want, err)
				}
				if err := models.CheckSwitch(c.in, nil); fmt.Sprint(fieldKeys(err)) != fmt.Sprint(c.want) {
					t.Fatalf("CheckSwitch: %v, want %v", err, c.want)
				}
				for _, v := range models.Validations(err) {
					for _, secret := range []string{testCommunity, testAuthKey, testPrivKey, "1234567", "密钥密钥"} {
						if strings.Contains(fmt.Sprint(v.Args...), secret) {
							t.Fatalf("the error of %s carries a secret: %v", v.Field, v.Args)
						}
					}
				}
			})
		}
		if rows, err := s.ListSwitches(ctx, models.AllOrgs()); err != nil || len(rows) != 0 {
			t.Fatalf("%d switches stored after refusals (%v)", len(rows), err)
		}
		if evs := auditOf(t, s, models.AuditSwitchAdded); len(evs) != 0 {
			t.Fatalf("%d records of refused switches", len(evs))
		}

		sw, err := s.CreateSwitch(ctx, eng, models.SwitchInput{Name: "core-1", Address: "10.0.0.1", Version: models.SNMPv3,
			V3User: "ro", Enabled: true})
		if err != nil {
			t.Fatalf("v3 without authentication (noAuthNoPriv): %v", err)
		}
		if sw.IntervalSec != 300 || sw.TimeoutMs != 3000 || sw.MaxOIDs != 30 {
			t.Fatalf("defaults: interval %d timeout %d max OIDs %d", sw.IntervalSec, sw.TimeoutMs, sw.MaxOIDs)
		}
		_, err = s.CreateSwitch(ctx, eng, v2Switch("core-1"))
		wantInvalid(t, err, "name", "network.error.name_taken")
		_, err = s.UpdateSwitch(ctx, eng, sw.ID+1000, v2Switch("x"))
		if !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("update of a switch that does not exist: %v", err)
		}
	})
}

// Secrets are stored sealed: the raw columns never hold them; a field
// left empty on an update keeps the stored secret, a new one replaces it,
// and a version or protocol that no longer uses one clears it. Only
// SwitchCredentials opens them, and no audit record holds one.
func TestSwitchSecretsAreSealed(t *testing.T) {
	eachDB(t, func(t *testing.T, db dbtest.DB, clock *dbtest.Clock) {
		ctx := context.Background()
		s := dbtest.Open(t, db, models.WithClock(clock.Now))
		fx := dbtest.Seed(t, s)
		raw := rawDB(t, db)
		eng := models.UserActor(fx.Engineer, "10.0.0.1")
		rawRow := func(id int64) map[string]any {
			t.Helper()
			row := map[string]any{}
			if err := raw.Table("switches").Where("id = ?", id).Take(&row).Error; err != nil {
				t.Fatal(err)
			}
			return row
		}
		secrets := []string{testCommunity, testAuthKey, testPrivKey, "n3w-community", "n3w-auth-phrase"}
		noSecretIn := func(what string, row map[string]any) {
			t.Helper()
			for k, v := range row {
				text := fmt.Sprintf("%s", v)
				for _, secret := range secrets {
					if strings.Contains(text, secret) {
						t.Fatalf("%s: column %s holds the secret %q", what, k, secret)
					}
				}
			}
		}
		creds := func(id int64) models.SNMPCredentials {
			t.Helper()
			c, err := s.SwitchCredentials(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}

		v2, err := s.CreateSwitch(ctx, eng, v2Switch("edge-1"))
		if err != nil {
			t.Fatal(err)
		}
		v3, err := s.CreateSwitch(ctx, eng, v3Switch("core-1"))
		if err != nil {
			t.Fatal(err)
		}
		r2, r3 := rawRow(v2.ID), rawRow(v3.ID)
		noSecretIn("v2c row", r2)
		noSecretIn("v3 row", r3)
		if fmt.Sprint(r2["community"]) == "" || fmt.Sprint(r3["v3_auth_key"]) == "" || fmt.Sprint(r3["v3_priv_key"]) == "" {
			t.Fatalf("a secret was not stored: %v %v", r2["community"], r3)
		}
		if c := creds(v2.ID); c.Community != testCommunity || c.Version != models.SNMPv2c || c.Address != "127.0.0.1:1161" ||
			c.Timeout != 3*time.Second || c.MaxOIDs != 30 || c.SwitchID != v2.ID {
			t.Fatalf("v2c credentials: %+v", c)
		}
		if c := creds(v3.ID); c.V3User != "portal-ro" || c.V3AuthProto != "SHA256" || c.V3AuthKey != testAuthKey ||
			c.V3PrivProto != "AES" || c.V3PrivKey != testPrivKey || c.Community != "" {
			t.Fatalf("v3 credentials: %+v", c)
		}
		if c := creds(v3.ID); strings.Contains(c.String(), testAuthKey) || strings.Contains(fmt.Sprint(c), testPrivKey) {
			t.Fatalf("credentials print their secrets: %s", c)
		}

		// What the poller writes survives a change of the form.
		if err := raw.Exec("UPDATE switches SET sys_name = ?, last_error = ?, lease_owner = ? WHERE id = ?",
			"core-1.dc", "timeout", "prober-a", v3.ID).Error; err != nil {
			t.Fatal(err)
		}
		// Empty secrets on an update keep the stored ones.
		in := v3Switch("core-1 renamed")
		in.V3AuthKey, in.V3PrivKey, in.IntervalSec = "", "", 60
		if _, err := s.UpdateSwitch(ctx, eng, v3.ID, in); err != nil {
			t.Fatal(err)
		}
		if c := creds(v3.ID); c.V3AuthKey != testAuthKey || c.V3PrivKey != testPrivKey {
			t.Fatalf("blank fields changed the keys: %+v", c)
		}
		if got := rawRow(v3.ID); fmt.Sprintf("%s", got["v3_auth_key"]) != fmt.Sprintf("%s", r3["v3_auth_key"]) {
			t.Fatalf("a blank field sealed the key again")
		}
		if got, err := s.GetSwitch(ctx, models.AllOrgs(), v3.ID); err != nil || got.SysName != "core-1.dc" ||
			got.LastError != "timeout" || got.LeaseOwner != "prober-a" || got.Name != "core-1 renamed" || got.IntervalSec != 60 {
			t.Fatalf("after the change: %+v, %v", got, err)
		}
		// A new pass phrase replaces the stored one; the other stays.
		in.V3AuthKey = "n3w-auth-phrase"
		if _, err := s.UpdateSwitch(ctx, eng, v3.ID, in); err != nil {
			t.Fatal(err)
		}
		if c := creds(v3.ID); c.V3AuthKey != "n3w-auth-phrase" || c.V3PrivKey != testPrivKey {
			t.Fatalf("after a new auth key: %+v", c)
		}
		noSecretIn("v3 row after the change", rawRow(v3.ID))
		// No privacy: its key goes.
		in.V3AuthKey, in.V3PrivProto = "", ""
		if _, err := s.UpdateSwitch(ctx, eng, v3.ID, in); err != nil {
			t.Fatal(err)
		}
		if row := rawRow(v3.ID); fmt.Sprint(row["v3_priv_key"]) != "" || fmt.Sprint(row["v3_auth_key"]) == "" {
			t.Fatalf("without privacy: priv key %q auth key %q", row["v3_priv_key"], row["v3_auth_key"])
		}
		// From v3 to v2c: the community is required, the v3 fields go.
		in.Version = models.SNMPv2c
		_, err = s.UpdateSwitch(ctx, eng, v3.ID, in)
		wantInvalid(t, err, "community", "network.error.secret_required")
		in.Community = "n3w-community"
		if _, err := s.UpdateSwitch(ctx, eng, v3.ID, in); err != nil {
			t.Fatal(err)
		}
		if c := creds(v3.ID); c.Community != "n3w-community" || c.V3User != "" || c.V3AuthKey != "" || c.V3AuthProto != "" {
			t.Fatalf("after the move to v2c: %+v", c)
		}
		// A community left empty on a v2c switch keeps it.
		keep := v2Switch("edge-1")
		keep.Community, keep.Site = "", "Hall 2"
		if _, err := s.UpdateSwitch(ctx, eng, v2.ID, keep); err != nil {
			t.Fatal(err)
		}
		if c := creds(v2.ID); c.Community != testCommunity {
			t.Fatalf("community after a blank update: %q", c.Community)
		}

		// The audit trail says what changed, never the secrets.
		var changed []models.AuditEvent
		for _, a := range []string{models.AuditSwitchAdded, models.AuditSwitchChanged} {
			changed = append(changed, auditOf(t, s, a)...)
		}
		if len(changed) != 7 {
			t.Fatalf("%d records of 2 additions and 5 changes", len(changed))
		}
		all, err := s.ListAudit(ctx, models.AllOrgs(), models.AuditFilter{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range all {
			for _, secret := range secrets {
				if strings.Contains(ev.Detail, secret) {
					t.Fatalf("audit %s holds a secret: %s", ev.Action, ev.Detail)
				}
			}
		}
		var sawReplaced bool
		for _, ev := range auditOf(t, s, models.AuditSwitchChanged) {
			if d := detailOf(t, ev); fmt.Sprint(d["secrets_changed"]) == "[v3_auth_key]" {
				sawReplaced = true
			}
		}
		if !sawReplaced {
			t.Fatal("no record names the auth key replaced")
		}

		// Sealed under another portal secret, a secret does not open,
		// and the error does not guess.
		other := models.NewStore(raw, models.WithSecretKey([]byte("another secret")))
		if _, err := other.SwitchCredentials(ctx, v2.ID); err == nil || strings.Contains(err.Error(), testCommunity) {
			t.Fatalf("credentials under another secret: %v", err)
		}
		// Staff only: a customer's scope sees no switch.
		if _, err := s.GetSwitch(ctx, models.OrgScope(fx.OrgA.ID), v2.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("a customer's GetSwitch: %v", err)
		}
		if rows, err := s.ListSwitches(ctx, models.OrgScope(fx.OrgA.ID)); err != nil || len(rows) != 0 {
			t.Fatalf("a customer's ListSwitches: %d rows, %v", len(rows), err)
		}
		if _, err := s.ListSwitchPorts(ctx, models.OrgScope(fx.OrgA.ID), v2.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("a customer's ListSwitchPorts: %v", err)
		}
	})
}

// portCheck loads the check of port p, failing without one.
func portCheck(t *testing.T, s *models.Store, checkID *int64) *models.Check {
	t.Helper()
	if checkID == nil {
		t.Fatal("the port has no check")
	}
	c, err := s.GetCheck(context.Background(), models.AllOrgs(), *checkID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Mapping a port creates, moves and removes its check on the customer's
// device in the same change; a device or contract of another organization
// is refused; a check with history stays on its device, paused; an open
// outage holds the mapping until the port is up again.
func TestSwitchPortMapping(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		sys := models.SystemActor("test")
		eng := models.UserActor(fx.Engineer, "10.0.0.1")
		dev := func(org int64, name string) *models.Device {
			d, err := s.CreateDevice(ctx, sys, models.DeviceInput{OrgID: org, Name: name, Address: "127.0.0.9"})
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		a1, a2, b1 := dev(fx.OrgA.ID, "a-web-1"), dev(fx.OrgA.ID, "a-web-2"), dev(fx.OrgB.ID, "b-game-1")
		contract := func(org int64) *models.Contract {
			c := &models.Contract{OrgID: org, ServiceType: models.ServiceColocation, MonthlyFee: 100000, SignedOn: "2026-01-01",
				StartsOn: "2026-01-01", EndsOn: "2099-12-31"}
			if err := s.SeedContract(ctx, c, nil); err != nil {
				t.Fatal(err)
			}
			return c
		}
		ca, cb := contract(fx.OrgA.ID), contract(fx.OrgB.ID)
		in := v2Switch("core-1")
		in.IntervalSec, in.TimeoutMs = 120, 2000
		sw, err := s.CreateSwitch(ctx, eng, in)
		if err != nil {
			t.Fatal(err)
		}

		_, err = s.AddSwitchPorts(ctx, eng, sw.ID, nil)
		wantInvalid(t, err, "ports", "network.error.none_picked")
		n, err := s.AddSwitchPorts(ctx, eng, sw.ID, []models.Interface{
			{IfIndex: 2, Name: "Gi0/2", Descr: "GigabitEthernet0/2", SpeedBps: 1e9, HC: true},
			{IfIndex: 1, Name: "Gi0/1", Descr: "GigabitEthernet0/1\x00", Alias: "to a-web-1\r\n", SpeedBps: 1e9, HC: true},
			{IfIndex: 1, Name: "Gi0/1 again"},
		})
		if err != nil || n != 2 {
			t.Fatalf("added %d, %v; want 2", n, err)
		}
		ports, err := s.ListSwitchPorts(ctx, models.AllOrgs(), sw.ID)
		if err != nil || len(ports) != 2 {
			t.Fatalf("ports %+v, %v", ports, err)
		}
		p1 := ports[0]
		if p1.IfIndex != 1 || p1.Name != "Gi0/1" || p1.Descr != "GigabitEthernet0/1" || p1.Alias != "to a-web-1" || len(p1.Ref) != 16 || !p1.HC {
			t.Fatalf("port 1 as stored: %+v", p1.SwitchPort)
		}
		// Discovered again: no new port, the names read now.
		if n, err := s.AddSwitchPorts(ctx, eng, sw.ID, []models.Interface{{IfIndex: 1, Name: "Gi0/1", Alias: "uplink a"}}); err != nil || n != 0 {
			t.Fatalf("again: added %d, %v", n, err)
		}
		if p, err := s.GetSwitchPort(ctx, models.AllOrgs(), p1.Ref); err != nil || p.Alias != "uplink a" || p.ID != p1.ID {
			t.Fatalf("after a second discovery: %+v, %v", p, err)
		}

		// Refusals leave the port as it was.
		for _, c := range []struct {
			name  string
			m     models.PortMapping
			field string
			key   string
		}{
			{"a device of another organization", models.PortMapping{OrgID: &fx.OrgA.ID, DeviceID: &b1.ID}, "device", "network.error.device_other_org"},
			{"a contract of another organization", models.PortMapping{OrgID: &fx.OrgA.ID, ContractID: &cb.ID}, "contract", "network.error.contract_other_org"},
			{"a device without its organization", models.PortMapping{DeviceID: &a1.ID}, "org", "network.error.org_required"},
			{"an organization that does not exist", models.PortMapping{OrgID: ptr(int64(999999))}, "org", "error.org_unknown"},
		} {
			_, err := s.MapSwitchPort(ctx, eng, p1.ID, c.m)
			if got := fieldKeys(err); got[c.field] != c.key {
				t.Fatalf("%s: %v, want %s on %s", c.name, err, c.key, c.field)
			}
		}
		if evs := auditOf(t, s, models.AuditPortMapped); len(evs) != 0 {
			t.Fatalf("%d records of refused mappings", len(evs))
		}

		// Mapped to a device: its check is made, as the switch says.
		p, err := s.MapSwitchPort(ctx, eng, p1.ID, models.PortMapping{OrgID: &fx.OrgA.ID, DeviceID: &a1.ID, ContractID: &ca.ID})
		if err != nil {
			t.Fatal(err)
		}
		c := portCheck(t, s, p.CheckID)
		if c.Kind != models.KindPort || c.Target != "core-1 Gi0/1" || c.DeviceID != a1.ID || c.OrgID != fx.OrgA.ID ||
			c.IntervalSec != 120 || c.TimeoutMs != 2000 || c.FailThreshold != 2 || !c.Enabled || c.Status != models.StatusUnknown {
			t.Fatalf("port check: %+v", c)
		}
		ev := auditOf(t, s, models.AuditPortMapped)
		if len(ev) != 1 || ev[0].OrgID == nil || *ev[0].OrgID != fx.OrgA.ID {
			t.Fatalf("mapping records: %+v", ev)
		}
		if d := detailOf(t, ev[0]); d["device"] != "a-web-1" || d["contract"] != ca.Number() || d["check"] != "created" || d["org"] != fx.OrgA.Name {
			t.Fatalf("mapping record: %v", d)
		}
		rows, _ := s.ListSwitchPorts(ctx, models.AllOrgs(), sw.ID)
		if r := rows[0]; r.OrgName != fx.OrgA.Name || r.DeviceName != "a-web-1" || r.ContractNumber() != ca.Number() || r.CheckStatus != models.StatusUnknown {
			t.Fatalf("port row: %+v", r)
		}
		if list, _ := s.ListSwitches(ctx, models.AllOrgs()); len(list) != 1 || list[0].Ports != 2 || list[0].Mapped != 1 {
			t.Fatalf("switch list: %+v", list)
		}

		// The same device again: the check stays.
		p, err = s.MapSwitchPort(ctx, eng, p1.ID, models.PortMapping{OrgID: &fx.OrgA.ID, DeviceID: &a1.ID})
		if err != nil || p.CheckID == nil || *p.CheckID != c.ID || p.ContractID != nil {
			t.Fatalf("same device: %+v, %v", p, err)
		}
		// Moved to another device before any poll: the old check goes.
		p, err = s.MapSwitchPort(ctx, eng, p1.ID, models.PortMapping{OrgID: &fx.OrgA.ID, DeviceID: &a2.ID})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetCheck(ctx, models.AllOrgs(), c.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("the unpolled check on a-web-1 is still there: %v", err)
		}
		c2 := portCheck(t, s, p.CheckID)
		if c2.DeviceID != a2.ID || c2.ID == c.ID {
			t.Fatalf("moved check: %+v", c2)
		}
		if d := detailOf(t, auditOf(t, s, models.AuditPortMapped)[0]); d["check"] != "moved" {
			t.Fatalf("move record: %v", d)
		}

		// Polled once, then unmapped: the check stays on a-web-2, paused,
		// as the record of what it saw.
		clock.Advance(time.Minute)
		if _, err := s.RecordResults(ctx, []models.ProbeResult{{CheckID: c2.ID, At: clock.Now(), OK: true}}); err != nil {
			t.Fatal(err)
		}
		p, err = s.MapSwitchPort(ctx, eng, p1.ID, models.PortMapping{OrgID: &fx.OrgA.ID})
		if err != nil || p.CheckID != nil || p.DeviceID != nil || p.OrgID == nil {
			t.Fatalf("unmapped from the device: %+v, %v", p, err)
		}
		if kept := portCheck(t, s, &c2.ID); kept.Enabled || kept.DeviceID != a2.ID {
			t.Fatalf("the polled check after unmapping: %+v", kept)
		}

		// An outage opens on the port.
		p, err = s.MapSwitchPort(ctx, eng, p1.ID, models.PortMapping{OrgID: &fx.OrgA.ID, DeviceID: &a1.ID})
		if err != nil {
			t.Fatal(err)
		}
		c3 := portCheck(t, s, p.CheckID)
		var down []models.ProbeResult
		for i := 1; i <= 2; i++ {
			down = append(down, models.ProbeResult{CheckID: c3.ID, At: clock.Now().Add(time.Duration(i) * 2 * time.Minute), Reason: "port_down"})
		}
		if _, err := s.RecordResults(ctx, down); err != nil {
			t.Fatal(err)
		}
		if c := portCheck(t, s, &c3.ID); c.OpenOutageID == nil {
			t.Fatalf("no outage after two down polls: %+v", c)
		}
		// (Ending the port's monitoring ends the outage:
		// TestStoppingPortMonitoringEndsItsOpenOutage.)

		// The switch's name, interval and state reach its ports' checks.
		in.Name, in.IntervalSec, in.TimeoutMs, in.Enabled, in.Community = "core-2", 600, 5000, false, ""
		if _, err := s.UpdateSwitch(ctx, eng, sw.ID, in); err != nil {
			t.Fatal(err)
		}
		if c := portCheck(t, s, &c3.ID); c.Target != "core-2 Gi0/1" || c.IntervalSec != 600 || c.TimeoutMs != 5000 || c.Enabled {
			t.Fatalf("the check after the switch changed: %+v", c)
		}
		in.Enabled = true
		if _, err := s.UpdateSwitch(ctx, eng, sw.ID, in); err != nil {
			t.Fatal(err)
		}
		if c := portCheck(t, s, &c3.ID); !c.Enabled {
			t.Fatalf("the check after the switch is on again: %+v", c)
		}

		// Up again: the outage closes, and the port may go.
		if _, err := s.RecordResults(ctx, []models.ProbeResult{{CheckID: c3.ID, At: clock.Now().Add(7 * time.Minute), OK: true}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RecordTraffic(ctx, []models.TrafficSample{{PortID: p1.ID, At: clock.Now(), Note: models.SampleFirst}}); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveSwitchPort(ctx, eng, p1.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetSwitchPort(ctx, models.AllOrgs(), p1.Ref); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("the removed port: %v", err)
		}
		if c := portCheck(t, s, &c3.ID); c.Enabled {
			t.Fatalf("the removed port's check (with history) is still on: %+v", c)
		}
		if r := auditOf(t, s, models.AuditPortRemoved); len(r) != 1 || r[0].OrgID == nil || *r[0].OrgID != fx.OrgA.ID {
			t.Fatalf("removal records: %+v", r)
		}

		// Deleting the switch takes its last port, whose fresh check goes.
		p2 := ports[1]
		p, err = s.MapSwitchPort(ctx, eng, p2.ID, models.PortMapping{OrgID: &fx.OrgB.ID, DeviceID: &b1.ID, ContractID: &cb.ID})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSwitch(ctx, eng, sw.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetCheck(ctx, models.AllOrgs(), *p.CheckID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("the check of the deleted switch's port: %v", err)
		}
		if _, err := s.GetSwitch(ctx, models.AllOrgs(), sw.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("the deleted switch: %v", err)
		}
		if _, err := s.GetSwitchPort(ctx, models.AllOrgs(), p2.Ref); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("the deleted switch's port: %v", err)
		}
		if r := auditOf(t, s, models.AuditSwitchRemoved); len(r) != 1 || detailOf(t, r[0])["ports"] != float64(1) {
			t.Fatalf("switch removal records: %+v", r)
		}
	})
}

// TestRepointedSwitchNeedsItsSecretsAgain: an update that changes the
// switch's host or port keeps no stored secret (it would go to the new
// address unasked): each one in use must be typed again, a translated
// error on its field otherwise. The same address, however written,
// keeps them.
func TestRepointedSwitchNeedsItsSecretsAgain(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		eng := models.UserActor(fx.Engineer, "10.0.0.1")
		v2, err := s.CreateSwitch(ctx, eng, v2Switch("core-1")) // 127.0.0.1:1161
		if err != nil {
			t.Fatal(err)
		}
		in := v2Switch("core-1")
		in.Community = ""
		for _, addr := range []string{"127.0.0.3:1161", "127.0.0.1", "127.0.0.1:162"} {
			in.Address = addr
			_, err := s.UpdateSwitch(ctx, eng, v2.ID, in)
			wantInvalid(t, err, "community", "network.error.secret_again")
		}
		if c, _ := s.SwitchCredentials(ctx, v2.ID); c.Address != "127.0.0.1:1161" || c.Community != testCommunity {
			t.Fatalf("a refused update changed the switch: %s", c.Address)
		}
		in.Address = " 127.0.0.1:1161 "
		if _, err := s.UpdateSwitch(ctx, eng, v2.ID, in); err != nil {
			t.Fatalf("the same address: %v", err)
		}
		in.Address, in.Community = "127.0.0.3", "new-community"
		if _, err := s.UpdateSwitch(ctx, eng, v2.ID, in); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.SwitchCredentials(ctx, v2.ID); c.Address != "127.0.0.3" || c.Community != "new-community" {
			t.Fatalf("re-pointed switch: %s", c.Address)
		}

		v3, err := s.CreateSwitch(ctx, eng, v3Switch("core-3")) // 127.0.0.2
		if err != nil {
			t.Fatal(err)
		}
		in = v3Switch("core-3")
		in.V3AuthKey, in.V3PrivKey, in.Address = "", "", "127.0.0.4"
		_, err = s.UpdateSwitch(ctx, eng, v3.ID, in)
		vs := models.Validations(err)
		if len(vs) != 2 || vs[0].Field != "v3_auth_key" || vs[1].Field != "v3_priv_key" || vs[0].Key != "network.error.secret_again" || vs[1].Key != "network.error.secret_again" {
			t.Fatalf("v3 re-pointed without its keys: %v", err)
		}
		in.V3AuthKey = testAuthKey
		_, err = s.UpdateSwitch(ctx, eng, v3.ID, in)
		wantInvalid(t, err, "v3_priv_key", "network.error.secret_again")
		in.Address = "127.0.0.2:161"
		in.V3AuthKey = ""
		if _, err := s.UpdateSwitch(ctx, eng, v3.ID, in); err != nil {
			t.Fatalf("the same address with its default port: %v", err)
		}
	})
}

// A device's kind is chosen when it is created (network when none is
// given) and an update never changes it: a PDU's meters do not turn into
// interfaces.
func TestSwitchKindIsSetOnceAndKept(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, s *models.Store, clock *dbtest.Clock) {
		ctx := context.Background()
		fx := dbtest.Seed(t, s)
		eng := models.UserActor(fx.Engineer, "10.0.0.1")
		net, err := s.CreateSwitch(ctx, eng, v2Switch("core-1"))
		if err != nil || net.Kind != models.SwitchNetwork || net.IsFacility() {
			t.Fatalf("a device without a kind: %+v, %v; want a network device", net, err)
		}
		in := v2Switch("pdu-a1")
		in.Kind = models.SwitchPDU
		pdu, err := s.CreateSwitch(ctx, eng, in)
		if err != nil || pdu.Kind != models.SwitchPDU || !pdu.IsFacility() {
			t.Fatalf("a PDU: %+v, %v", pdu, err)
		}
		in.Kind, in.Site = models.SwitchNetwork, "Hall 2"
		if _, err := s.UpdateSwitch(ctx, eng, pdu.ID, in); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetSwitch(ctx, models.AllOrgs(), pdu.ID)
		if err != nil || got.Kind != models.SwitchPDU || got.Site != "Hall 2" {
			t.Fatalf("after an update asking for another kind: %+v, %v; want the PDU kept, its site changed", got, err)
		}
	})
}
