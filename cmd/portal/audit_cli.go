package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/colo-portal/portal/models"
)

// auditVerify is `portal audit verify`: it walks the whole audit chain and
// fails, naming the first broken entry, when a link does not hold. The
// last hash it prints is worth keeping somewhere else: a later run that
// ends on a different hash at that seq means the chain was rewritten.
func auditVerify(ctx context.Context, store *models.Store, args []string, stdout io.Writer) error {
	fs := newFlagSet("audit verify")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("audit verify: %w (usage: portal audit verify)", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("audit verify: unexpected %q (usage: portal audit verify)", fs.Arg(0))
	}
	v, err := store.VerifyAudit(ctx)
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	if b := v.FirstBad; b != nil {
		where := fmt.Sprintf("entry seq %d (id %d)", b.Seq, b.ID)
		switch {
		case b.Seq == 0:
			where = fmt.Sprintf("event id %d", b.ID)
		case b.ID == 0:
			where = fmt.Sprintf("entry seq %d", b.Seq)
		}
		return fmt.Errorf("audit chain broken at %s: %s (%s)", where, b.Detail, strings.ReplaceAll(b.Reason, "_", " "))
	}
	fmt.Fprintf(stdout, "audit chain intact: %d entries\n", v.Checked)
	if v.Checked > 0 {
		fmt.Fprintf(stdout, "last entry: seq %d, hash %s\n", v.HeadSeq, v.HeadHash)
	}
	return nil
}
