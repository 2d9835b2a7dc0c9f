package views

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/colo-portal/portal/models"
)

// HistoryEntry is one audit event about contacts, readable by people.
type HistoryEntry struct {
	At      time.Time
	Who     string
	Action  string
	Contact string // the contact it is about; "" for the whole list
	Changes []FieldChange
	// Passphrase: "set" or "replaced" when the event set one.
	Passphrase string
}

// FieldChange is one field of a contact, or one setting, before and after.
// A created contact has only After values, a removed one only Before.
type FieldChange struct {
	Field         string
	Before, After any
}

// contactFields are the audited fields of a contact, in display order.
var contactFields = []string{"name", "title", "office_phone", "mobile", "pager", "fax", "email", "channels", "priority", "may_authorize"}

// ContactHistory turns audit events into history entries. names gives the
// current name of each contact, for events that do not carry it; the
// events' own details fill in contacts removed since.
func ContactHistory(events []models.AuditEvent, names map[int64]string) []HistoryEntry {
	known := map[int64]string{}
	for id, n := range names {
		known[id] = n
	}
	details := make([]map[string]any, len(events))
	for i, e := range events {
		var d map[string]any
		if e.Detail != "" {
			_ = json.Unmarshal([]byte(e.Detail), &d)
		}
		details[i] = d
		if e.TargetID == nil || e.TargetType != "contact" {
			continue
		}
		if _, ok := known[*e.TargetID]; ok {
			continue
		}
		for _, m := range []any{d["after"], d} {
			if mm, ok := m.(map[string]any); ok {
				if n, ok := mm["name"].(string); ok && n != "" {
					known[*e.TargetID] = n
					break
				}
			}
		}
	}
	out := make([]HistoryEntry, 0, len(events))
	for i, e := range events {
		d := details[i]
		h := HistoryEntry{At: e.At, Who: e.ActorEmail, Action: e.Action}
		if e.TargetType == "contact" && e.TargetID != nil {
			h.Contact = known[*e.TargetID]
			if h.Contact == "" {
				h.Contact = "#" + I64(*e.TargetID)
			}
		}
		switch e.Action {
		case models.AuditContactCreated:
			for _, f := range contactFields {
				if v := d[f]; !emptyValue(v) {
					h.Changes = append(h.Changes, FieldChange{Field: f, After: v})
				}
			}
			if set, _ := d["passphrase_set"].(bool); set {
				h.Passphrase = "set"
			}
		case models.AuditContactUpdated:
			before, _ := d["before"].(map[string]any)
			after, _ := d["after"].(map[string]any)
			for _, f := range contactFields {
				if fmt.Sprint(before[f]) != fmt.Sprint(after[f]) {
					h.Changes = append(h.Changes, FieldChange{Field: f, Before: before[f], After: after[f]})
				}
			}
			if r, _ := d["passphrase_replaced"].(bool); r {
				h.Passphrase = "replaced"
			}
		case models.AuditContactDeleted:
			for _, f := range contactFields {
				if v := d[f]; !emptyValue(v) {
					h.Changes = append(h.Changes, FieldChange{Field: f, Before: v})
				}
			}
		case models.AuditContactMarkedWrong:
			h.Changes = append(h.Changes, FieldChange{Field: "channel", After: d["channel"]},
				FieldChange{Field: "address", After: d["address"]})
			if r, _ := d["reason"].(string); r != "" {
				h.Changes = append(h.Changes, FieldChange{Field: "reason", After: r})
			}
		case models.AuditNotifySettings:
			h.Changes = append(h.Changes, FieldChange{Field: "opted_out", Before: d["before"], After: d["after"]})
		}
		out = append(out, h)
	}
	return out
}

func emptyValue(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case bool:
		return !x
	}
	return false
}

// historyField names a field of the history.
func historyField(ctx context.Context, f string) string {
	return T(ctx, "contacts.field."+f)
}

// historyValue shows a value of the history in words.
func historyValue(ctx context.Context, field string, v any) string {
	switch field {
	case "channels":
		s, _ := v.(string)
		return ChannelList(ctx, s)
	case "channel":
		s, _ := v.(string)
		return ChannelName(ctx, models.Channel(s))
	case "may_authorize":
		if b, _ := v.(bool); b {
			return T(ctx, "common.yes")
		}
		return T(ctx, "common.no")
	case "opted_out":
		list, _ := v.([]any)
		var parts []string
		for _, item := range list {
			m, _ := item.(map[string]any)
			name, _ := m["contact"].(string)
			ev, _ := m["event"].(string)
			parts = append(parts, T(ctx, "contacts.history.opted_out", name, EventName(ctx, ev)))
		}
		if len(parts) == 0 {
			return T(ctx, "contacts.history.everyone_everything")
		}
		return strings.Join(parts, T(ctx, "common.list_sep"))
	}
	if v == nil || v == "" {
		return "—"
	}
	return fmt.Sprint(v)
}
