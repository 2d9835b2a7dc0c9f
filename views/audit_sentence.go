package views

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/colo-portal/portal/models"
)

// placeholder is a field of the audit detail in a sentence: {name}.
var placeholder = regexp.MustCompile(`\{([a-z_]+)\}`)

// auditFlags are yes/no fields of a detail that add a clause to the
// sentence when true ("…, may authorize").
var auditFlags = []string{"may_authorize", "passphrase_replaced", "withdrawn", "required", "replaced", "revealed"}

// AuditSentence says what an audit entry records, in the reader's language:
// the action's sentence ("audit.say.<action>") with the detail's fields put
// in its {placeholders}, and a clause per true flag. An entry whose detail
// lacks a field the sentence names (written by an older version) falls back
// to the action's name.
func AuditSentence(ctx context.Context, e models.AuditEvent) string {
	detail := map[string]any{}
	if e.Detail != "" {
		_ = json.Unmarshal([]byte(e.Detail), &detail)
	}
	// Changes carry before and after: the sentence names what it is now.
	if after, ok := detail["after"].(map[string]any); ok {
		for k, v := range after {
			if _, set := detail[k]; !set {
				detail[k] = v
			}
		}
	}
	fallback := T(ctx, "audit.action."+e.Action)
	key := "audit.say." + e.Action
	if !Req(ctx).T.Has(key) {
		return fallback
	}
	missing := false
	s := placeholder.ReplaceAllStringFunc(T(ctx, key), func(m string) string {
		field := m[1 : len(m)-1]
		v, ok := detail[field]
		if !ok || v == nil {
			missing = true
			return m
		}
		return auditValue(ctx, field, v)
	})
	if missing {
		return fallback
	}
	for _, f := range auditFlags {
		if b, ok := detail[f].(bool); ok && b && Req(ctx).T.Has("audit.flag."+f) {
			s += T(ctx, "audit.flag."+f)
		}
	}
	return s
}

// AuditObject names the entry's object: "Contact #3".
func AuditObject(ctx context.Context, e models.AuditEvent) string {
	if e.TargetID == nil {
		return ""
	}
	return T(ctx, "audit.target."+e.TargetType) + " #" + strconv.FormatInt(*e.TargetID, 10)
}

// auditValue shows one detail value: names of roles, states, kinds,
// channels and urgencies translated, times in the reader's zone, lists
// joined.
func auditValue(ctx context.Context, field string, v any) string {
	switch x := v.(type) {
	case bool:
		if x {
			return T(ctx, "common.yes")
		}
		return T(ctx, "common.no")
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = auditValue(ctx, field, p)
		}
		return strings.Join(parts, T(ctx, "common.list_sep"))
	case string:
		prefix := map[string]string{"role": "role.", "from": "operation.state.", "to": "operation.state.",
			"kind": "kind.", "channel": "channel.", "urgency": "operation.urgency.", "method": "operation.method.", "cause": "cause.",
			"service_type": "service_type.", "answer": "maintenance.answer.", "refusal": "sso.reason."}[field]
		if prefix != "" && Req(ctx).T.Has(prefix+x) {
			return T(ctx, prefix+x)
		}
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return FormatTime(ctx, t)
		}
		if x == "" {
			return "—"
		}
		return x
	}
	return fmt.Sprint(v)
}
