package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/models/dbtest"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCLIDeviceAddAndImport(t *testing.T) {
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			c := newCLI(t, db.URL)
			for _, args := range [][]string{{"org", "add", "--slug", "acme", "--name", "Acme"}, {"org", "add", "--slug", "zeta", "--name", "Zeta"}} {
				if out, err := c.run("", args...); err != nil {
					t.Fatalf("%v: %v (%s)", args, err, out)
				}
			}
			store := dbtest.Open(t, db)
			devices := func(slug string) []models.Device {
				t.Helper()
				o, err := store.GetOrgBySlug(ctx, slug)
				if err != nil {
					t.Fatal(err)
				}
				ds, err := store.ListDevices(ctx, models.AllOrgs(), o.ID)
				if err != nil {
					t.Fatal(err)
				}
				return ds
			}

			t.Run("device add creates a device with its ping", func(t *testing.T) {
				out, err := c.run("", "device", "add", "--org", "acme", "--name", "web-1", "--address", "192.0.2.10",
					"--cabinet", "A01", "--position", "U7")
				if err != nil {
					t.Fatalf("device add: %v", err)
				}
				if !regexp.MustCompile(`^device \d+ created: web-1 \(192\.0\.2\.10\) for acme, pinged every 5m0s\n$`).MatchString(out) {
					t.Errorf("device add printed %q", out)
				}
				ds := devices("acme")
				if len(ds) != 1 || ds[0].Cabinet != "A01" || ds[0].Position != "U7" {
					t.Fatalf("devices = %+v", ds)
				}
				cs, err := store.ListChecks(ctx, models.AllOrgs(), ds[0].OrgID, ds[0].ID)
				if err != nil || len(cs) != 1 || cs[0].Kind != models.KindICMP || cs[0].Target != "192.0.2.10" {
					t.Errorf("checks = %+v, %v", cs, err)
				}
			})

			failures := []struct {
				name string
				args []string
				want string
			}{
				{"an unknown organization", []string{"--org", "nope", "--name", "x", "--address", "192.0.2.1"}, `"nope"`},
				{"a malformed address", []string{"--org", "acme", "--name", "x", "--address", "300.1.1.1"}, "address: Enter an IPv4"},
				{"no name", []string{"--org", "acme", "--address", "192.0.2.1"}, "name: This field is required"},
				{"no organization", []string{"--name", "x", "--address", "192.0.2.1"}, "--org"},
				{"an unknown flag", []string{"--org", "acme", "--name", "x", "--address", "192.0.2.1", "--rack", "9"}, "usage"},
			}
			for _, tc := range failures {
				t.Run("device add refuses "+tc.name, func(t *testing.T) {
					_, err := c.run("", append([]string{"device", "add"}, tc.args...)...)
					if err == nil {
						t.Fatal("accepted")
					}
					if !strings.Contains(err.Error(), tc.want) || !isEnglish(err.Error()) {
						t.Errorf("error %q: want plain English mentioning %q", err, tc.want)
					}
				})
			}

			t.Run("an import with bad lines imports nothing and names each line", func(t *testing.T) {
				file := writeFile(t, "bad.csv", "org,name,address,cabinet,position,kind,target,interval\n"+
					"zeta,db-1,192.0.2.20,B01,U1,,,\n"+
					"zeta,db-1,,,,tcp,192.0.2.20:5432,60\n"+
					"zeta,db-2,192.0.2.21,B01,U2,http,ftp://x,\n"+
					"nope,db-3,192.0.2.22,,,,,\n"+
					"zeta,db-4,192.0.2.23,,,tcp,192.0.2.23:22,3s\n")
				out, err := c.run("", "device", "import", file)
				if err == nil {
					t.Fatalf("bad import accepted: %s", out)
				}
				msg := err.Error()
				for _, want := range []string{"nothing imported", "3 line(s)", "line 4: target: Enter a URL such as http://",
					"line 5: org: That organization does not exist", "line 6: interval: Between 10 seconds"} {
					if !strings.Contains(msg, want) {
						t.Errorf("error lacks %q:\n%s", want, msg)
					}
				}
				if strings.Contains(msg, "line 2") || strings.Contains(msg, "line 3") || !isEnglish(msg) {
					t.Errorf("error names good lines or is not plain English:\n%s", msg)
				}
				if ds := devices("zeta"); len(ds) != 0 {
					t.Errorf("zeta has %d devices after a refused import, want none", len(ds))
				}
			})

			t.Run("a good import creates every device and check", func(t *testing.T) {
				file := writeFile(t, "good.csv", "\ufefforg,name,address,cabinet,position,kind,target,interval,tags\r\n"+
					"zeta,db-1,192.0.2.20,B01,U1,icmp,,60,\"DB primary,pg\"\r\n"+
					"zeta,db-1,,,,tcp,192.0.2.20:5432,60,\r\n"+
					"\r\n"+
					"zeta,\"web, front\",web.zeta.example,B01,U3,https,https://web.zeta.example/health,5m,\r\n")
				out, err := c.run("", "device", "import", file)
				if err != nil {
					t.Fatalf("import: %v", err)
				}
				if out != "imported 2 device(s) with 4 check(s) from "+file+"\n" {
					t.Errorf("import printed %q", out)
				}
				ds := devices("zeta")
				if len(ds) != 2 || ds[0].Name != "db-1" || ds[1].Name != "web, front" {
					t.Fatalf("devices = %+v", ds)
				}
				cs, _ := store.ListChecks(ctx, models.AllOrgs(), ds[0].OrgID, ds[0].ID)
				if len(cs) != 2 || cs[0].IntervalSec != 60 || cs[1].Kind != models.KindTCP {
					t.Errorf("db-1 checks = %+v", cs)
				}
				if tags, err := store.DeviceTags(ctx, models.AllOrgs(), ds[0].OrgID, ds[0].ID); err != nil || strings.Join(tags, " ") != "db pg primary" {
					t.Errorf("db-1 tags = %q, %v; want db pg primary", tags, err)
				}
			})

			t.Run("the same import again is refused", func(t *testing.T) {
				// An organization of its own, so this does not depend on the
				// imports above having run.
				if out, err := c.run("", "org", "add", "--slug", "yota", "--name", "Yota"); err != nil {
					t.Fatalf("org add: %v (%s)", err, out)
				}
				file := writeFile(t, "again.csv", "org,name,address\nyota,db-1,192.0.2.20\n")
				if _, err := c.run("", "device", "import", file); err != nil {
					t.Fatalf("first import: %v", err)
				}
				_, err := c.run("", "device", "import", file)
				if err == nil || !strings.Contains(err.Error(), "line 2: name: This organization already has a device of this name") {
					t.Errorf("err = %v", err)
				}
			})

			for _, tc := range []struct{ name, content, want string }{
				{"an unknown column", "org,name,rack\nzeta,x,1\n", `unknown column "rack"`},
				{"a header without name", "org,address\nzeta,192.0.2.1\n", `lacks the column "name"`},
				{"a short row", "org,name,address\nzeta,x\n", "line 2: 2 fields, the header has 3"},
				{"an empty file", "", "the file is empty"},
			} {
				t.Run("an import file with "+tc.name+" is refused", func(t *testing.T) {
					_, err := c.run("", "device", "import", writeFile(t, "f.csv", tc.content))
					if err == nil || !strings.Contains(err.Error(), tc.want) {
						t.Errorf("err = %v, want %q", err, tc.want)
					}
				})
			}
			if _, err := c.run("", "device", "import"); err == nil || !strings.Contains(err.Error(), "usage") {
				t.Errorf("import without a file: %v", err)
			}
			if _, err := c.run("", "device", "remove"); err == nil || !strings.Contains(err.Error(), "usage") {
				t.Errorf("device remove: %v", err)
			}
		})
	}
}

func TestUsageNamesDeviceCommands(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), []string{"help"}, strings.NewReader(""), &out, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"portal device add --org S --name N --address A", "portal device import FILE.csv"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %q", want)
		}
	}
}

func TestDemoDevices(t *testing.T) {
	ctx := context.Background()
	for _, db := range dbtest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			store := dbtest.Open(t, db)
			var out bytes.Buffer
			for i := 0; i < 2; i++ {
				if err := loadDemo(ctx, store, "127.0.0.1:9090", demoBlobs(t), &out); err != nil {
					t.Fatalf("loadDemo run %d: %v", i+1, err)
				}
			}
			var devices, checks int
			kinds := map[string]bool{}
			for _, slug := range []string{"aurora", "bravo"} {
				o, err := store.GetOrgBySlug(ctx, slug)
				if err != nil {
					t.Fatal(err)
				}
				cs, err := store.ListOrgChecks(ctx, models.AllOrgs(), o.ID)
				if err != nil {
					t.Fatal(err)
				}
				ds, _ := store.ListDevices(ctx, models.AllOrgs(), o.ID)
				devices += len(ds)
				checks += len(cs)
				for _, d := range ds {
					if !strings.HasPrefix(d.Address, "127.0.0.") {
						t.Errorf("demo device %s on %s, want 127.0.0.x", d.Name, d.Address)
					}
				}
				for _, c := range cs {
					kinds[string(c.Kind)+" "+c.Target] = true
				}
			}
			// 7 checks the prober probes and 3 of switch ports (web-01's,
			// db-01's and game-01's, fed by the SNMP poller).
			if devices != 4 || checks != 10 || !kinds["port sw-core-1 Gi1/0/14"] {
				t.Errorf("after two runs: %d devices, %d checks; want 4 and 10", devices, checks)
			}
			for _, want := range []string{"http http://127.0.0.1:9091/web-01", "tcp 127.0.0.12:9", "icmp 127.0.0.11"} {
				if !kinds[want] {
					t.Errorf("no demo check %q in %v", want, kinds)
				}
			}
			if !strings.Contains(out.String(), "fails on purpose") {
				t.Errorf("the demo does not say which check fails:\n%s", out.String())
			}
		})
	}
}

func TestDemoServiceAddr(t *testing.T) {
	for listen, want := range map[string]string{
		":8080":          "127.0.0.1:8081",
		"0.0.0.0:80":     "127.0.0.1:81",
		"[::]:8443":      "127.0.0.1:8444",
		"127.0.0.5:9000": "127.0.0.1:9001",
		"nonsense":       "127.0.0.1:8081",
	} {
		if got := demoServiceAddr(listen); got != want {
			t.Errorf("demoServiceAddr(%q) = %q, want %q", listen, got, want)
		}
	}
}
