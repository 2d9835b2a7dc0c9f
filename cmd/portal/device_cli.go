package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/colo-portal/portal/models"
)

// deviceAdd is `portal device add --org SLUG --name N --address A`.
func deviceAdd(ctx context.Context, store *models.Store, args []string, stdout io.Writer) error {
	fs := newFlagSet("device add")
	org := fs.String("org", "", "organization slug")
	name := fs.String("name", "", "device name")
	address := fs.String("address", "", "IPv4 or IPv6 address, or host name")
	cabinet := fs.String("cabinet", "", "cabinet")
	position := fs.String("position", "", "position in the cabinet")
	tags := fs.String("tags", "", "tags, separated by commas or spaces (web,db,rack-a)")
	const use = "usage: portal device add --org SLUG --name N --address A [--cabinet C --position P --tags T1,T2]"
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("device add: %w (%s)", err, use)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("device add: unexpected %q (%s)", fs.Arg(0), use)
	}
	if *org == "" {
		return fmt.Errorf("device add: --org is required (%s)", use)
	}
	o, err := store.GetOrgBySlug(ctx, *org)
	if errors.Is(err, models.ErrNotFound) {
		return fmt.Errorf("device add: no organization with slug %q", *org)
	} else if err != nil {
		return fmt.Errorf("device add: %w", err)
	}
	d, err := store.CreateDevice(ctx, models.SystemActor("cli"), models.DeviceInput{OrgID: o.ID, Name: *name,
		Address: *address, Cabinet: *cabinet, Position: *position, Tags: tags})
	if err != nil {
		return cliError("device add", err)
	}
	fmt.Fprintf(stdout, "device %d created: %s (%s) for %s, pinged every %s\n", d.ID, d.Name, d.Address, o.Slug, models.DefaultInterval)
	return nil
}

// importColumns are the columns of a device import file; org and name are
// required, the others may be left out.
var importColumns = []string{"org", "name", "address", "cabinet", "position", "kind", "target", "interval", "tags"}

// deviceImport is `portal device import FILE.csv`: every line is checked
// before anything is written, and one bad line imports nothing.
func deviceImport(ctx context.Context, store *models.Store, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("device import: usage: portal device import FILE.csv (columns: %s)", strings.Join(importColumns, ","))
	}
	f, err := os.Open(args[0])
	if err != nil {
		return fmt.Errorf("device import: %w", err)
	}
	defer f.Close()
	rows, err := readImport(f)
	if err != nil {
		return fmt.Errorf("device import: %s: %w", args[0], err)
	}
	sum, err := store.ImportDevices(ctx, models.SystemActor("cli import"), rows)
	var ie *models.ImportError
	if errors.As(err, &ie) {
		var b strings.Builder
		fmt.Fprintf(&b, "device import: %s: nothing imported, %d line(s) to fix:", args[0], len(ie.Problems))
		for _, p := range ie.Problems {
			fmt.Fprintf(&b, "\n  line %d: %s: %s", p.Line, p.Field, englishMessage(p.ValidationError))
		}
		return errors.New(b.String())
	}
	if err != nil {
		return fmt.Errorf("device import: %w", err)
	}
	fmt.Fprintf(stdout, "imported %d device(s) with %d check(s) from %s\n", sum.Devices, sum.Checks, args[0])
	return nil
}

// readImport parses an import file with a header row naming its columns.
func readImport(r io.Reader) ([]models.DeviceImportRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("the file is empty; the first line must name the columns: " + strings.Join(importColumns, ","))
	}
	if err != nil {
		return nil, err
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		known := false
		for _, c := range importColumns {
			known = known || c == h
		}
		if !known {
			return nil, fmt.Errorf("line 1: unknown column %q; the columns are %s", h, strings.Join(importColumns, ","))
		}
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("line 1: column %q appears twice", h)
		}
		col[h] = i
	}
	for _, need := range []string{"org", "name"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("line 1: the header lacks the column %q", need)
		}
	}
	var rows []models.DeviceImportRow
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if len(rec) != len(header) {
			return nil, fmt.Errorf("line %d: %d fields, the header has %d", line, len(rec), len(header))
		}
		get := func(name string) string {
			if i, ok := col[name]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		rows = append(rows, models.DeviceImportRow{Line: line, Org: get("org"), Name: get("name"), Address: get("address"),
			Cabinet: get("cabinet"), Position: get("position"), Kind: get("kind"), Target: get("target"), Interval: get("interval"), Tags: get("tags")})
	}
	if len(rows) == 0 {
		return nil, errors.New("no rows below the header")
	}
	return rows, nil
}
