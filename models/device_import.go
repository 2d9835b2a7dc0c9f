package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// DeviceImportRow is one line of a device import file. The first row of an
// organization and device name creates the device (with its default ping);
// every row with a check kind adds that check to it. A ping of the
// device's own address is the default ping: its interval is applied to it
// rather than adding a second one.
type DeviceImportRow struct {
	Line     int // in the file, for error messages
	Org      string
	Name     string
	Address  string
	Cabinet  string
	Position string
	Kind     string
	Target   string
	Interval string // seconds, or a duration such as 5m; empty is the default
	Tags     string // separated by spaces (or commas, in quotes); see ParseTags
}

// ImportProblem is what is wrong with one line.
type ImportProblem struct {
	Line int
	*ValidationError
}

// ImportError lists every bad line of an import; nothing was imported.
type ImportError struct {
	Problems []ImportProblem
}

func (e *ImportError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = fmt.Sprintf("line %d: %v", p.Line, p.ValidationError)
	}
	return "models: import devices: " + strings.Join(parts, "; ")
}

// ImportSummary counts what an import created.
type ImportSummary struct {
	Devices, Checks int
}

// ParseInterval reads a check interval: whole seconds, or a Go duration
// such as 90s or 5m. Empty is zero (the default).
func ParseInterval(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return time.Duration(n) * time.Second, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	return 0, Invalid("interval", "error.interval_invalid")
}

type importDevice struct {
	line   int
	in     DeviceInput
	ping   *CheckInput // settings of the default ping, when a row names it
	checks []CheckInput
	seen   map[string]bool // kind and target of its checks
}

// ImportDevices validates every row first and then creates all devices and
// checks in one transaction: one bad line imports nothing, and the error
// (an *ImportError) names every bad line. A device whose organization
// already has a device of that name is refused, so running an import twice
// does not double the fleet.
func (s *Store) ImportDevices(ctx context.Context, actor Actor, rows []DeviceImportRow) (ImportSummary, error) {
	var problems []ImportProblem
	bad := func(line int, err error) {
		v, ok := AsValidation(err)
		if !ok {
			v = &ValidationError{Field: "", Key: "error.internal", Args: nil}
		}
		problems = append(problems, ImportProblem{Line: line, ValidationError: v})
	}
	db := s.db.WithContext(ctx)
	orgs := map[string]*Organization{}
	existing := map[int64]map[string]bool{} // device names by organization
	devices := map[string]*importDevice{}
	var order []*importDevice
	for _, r := range rows {
		slug := strings.ToLower(strings.TrimSpace(r.Org))
		if slug == "" {
			bad(r.Line, Invalid("org", "error.required"))
			continue
		}
		org, ok := orgs[slug]
		if !ok {
			o, err := s.GetOrgBySlug(ctx, slug)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return ImportSummary{}, fmt.Errorf("models: import devices: %w", err)
			}
			orgs[slug], org = o, o
		}
		if org == nil {
			bad(r.Line, Invalid("org", "error.org_unknown"))
			continue
		}
		if _, ok := existing[org.ID]; !ok {
			var names []string
			if err := db.Model(&Device{}).Where("org_id = ?", org.ID).Pluck("name", &names).Error; err != nil {
				return ImportSummary{}, fmt.Errorf("models: import devices: %w", err)
			}
			existing[org.ID] = map[string]bool{}
			for _, n := range names {
				existing[org.ID][n] = true
			}
		}
		tags := r.Tags
		in := DeviceInput{OrgID: org.ID, Name: r.Name, Address: r.Address, Cabinet: r.Cabinet, Position: r.Position, Tags: &tags}
		key := fmt.Sprintf("%d\x00%s", org.ID, strings.TrimSpace(r.Name))
		d := devices[key]
		if d == nil {
			if err := in.validate(); err != nil {
				bad(r.Line, err)
				continue
			}
			if existing[org.ID][in.Name] {
				bad(r.Line, Invalid("name", "error.device_exists"))
				continue
			}
			d = &importDevice{line: r.Line, in: in, seen: map[string]bool{}}
			devices[key] = d
			order = append(order, d)
		} else {
			// A later row of the same device may repeat its details, not change them.
			for _, f := range []struct{ field, got, want string }{{"address", r.Address, d.in.Address},
				{"cabinet", r.Cabinet, d.in.Cabinet}, {"position", r.Position, d.in.Position}} {
				if g := strings.TrimSpace(f.got); g != "" && g != f.want {
					bad(r.Line, Invalid(f.field, "error.import_differs", d.line))
				}
			}
			if strings.TrimSpace(r.Tags) != "" {
				if tags, err := ParseTags(r.Tags); err != nil {
					bad(r.Line, err)
				} else if !slices.Equal(tags, d.in.tags) {
					bad(r.Line, Invalid("tags", "error.import_differs", d.line))
				}
			}
		}
		kind := CheckKind(strings.ToLower(strings.TrimSpace(r.Kind)))
		if kind == "" {
			if strings.TrimSpace(r.Target) != "" || strings.TrimSpace(r.Interval) != "" {
				bad(r.Line, Invalid("kind", "error.check_kind"))
			}
			continue
		}
		interval, err := ParseInterval(r.Interval)
		if err != nil {
			bad(r.Line, err)
			continue
		}
		ci := CheckInput{Kind: kind, Target: r.Target, Interval: interval, Enabled: true}
		if err := ValidateCheck(&ci, d.in.Address); err != nil {
			bad(r.Line, err)
			continue
		}
		id := string(ci.Kind) + "\x00" + ci.Target
		if d.seen[id] {
			bad(r.Line, Invalid("target", "error.check_duplicate"))
			continue
		}
		d.seen[id] = true
		if ci.Kind == KindICMP && ci.Target == d.in.Address {
			d.ping = &ci
			continue
		}
		d.checks = append(d.checks, ci)
	}
	if len(problems) > 0 {
		return ImportSummary{}, wrap(&ImportError{Problems: problems}, "import devices")
	}
	var sum ImportSummary
	err := s.tx(ctx, func(tx *gorm.DB) error {
		sum = ImportSummary{}
		// The audit records go last: audit() locks the chain's head until
		// commit, and nothing may lock other rows after it.
		var audits []func() error
		for _, d := range order {
			dev := &Device{OrgID: d.in.OrgID, Name: d.in.Name, Address: d.in.Address, Cabinet: d.in.Cabinet,
				Position: d.in.Position}
			if err := tx.Create(dev).Error; err != nil {
				return err
			}
			if err := addDeviceTags(tx, dev, d.in.tags); err != nil {
				return err
			}
			ping := DefaultICMPCheck(dev)
			if d.ping != nil {
				ping.IntervalSec = int(d.ping.Interval / time.Second)
				ping.TimeoutMs = int(d.ping.Timeout / time.Millisecond)
				ping.FailThreshold = d.ping.FailThreshold
			}
			if err := tx.Create(ping).Error; err != nil {
				return err
			}
			audits = append(audits, func() error {
				return s.audit(tx, actor, AuditDeviceCreated, "device", &dev.ID, &dev.OrgID,
					map[string]any{"name": dev.Name, "address": dev.Address, "tags": strings.Join(d.in.tags, ","), "import_line": d.line})
			})
			sum.Devices++
			for _, in := range d.checks {
				c := newCheck(dev, in)
				if err := tx.Create(c).Error; err != nil {
					return err
				}
				audits = append(audits, func() error {
					return s.audit(tx, actor, AuditCheckCreated, "check", &c.ID, &c.OrgID,
						map[string]any{"device_id": dev.ID, "kind": c.Kind, "target": c.Target})
				})
				sum.Checks++
			}
			sum.Checks++ // the default ping
		}
		for _, a := range audits {
			if err := a(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return ImportSummary{}, fmt.Errorf("models: import devices: %w", err)
	}
	return sum, nil
}

// newCheck builds a check of device d from validated settings.
func newCheck(d *Device, in CheckInput) *Check {
	return &Check{DeviceID: d.ID, OrgID: d.OrgID, Kind: in.Kind, Target: in.Target, ExpectMin: in.ExpectMin,
		ExpectMax: in.ExpectMax, Keyword: in.Keyword, StartTLS: in.StartTLS, IntervalSec: int(in.Interval / time.Second),
		TimeoutMs: int(in.Timeout / time.Millisecond), FailThreshold: in.FailThreshold, Enabled: in.Enabled,
		Status: StatusUnknown, LeaseUntil: neverLeased}
}
