package views

import (
	"context"
	"strings"
	"time"

	"github.com/colo-portal/portal/models"
)

// Tr is a translation function: (*locales.Translator).T, or Tc(ctx).
type Tr func(key string, args ...any) string

// Tc is T bound to a request's context.
func Tc(ctx context.Context) Tr {
	return func(key string, args ...any) string { return T(ctx, key, args...) }
}

// AcceptChanges says what accepting a written authorization does.
func AcceptChanges(t Tr, contact, requestNo string) []string {
	return []string{t("confirm.accept.changes", contact), t("confirm.accept.effect", requestNo)}
}

// Closes reports whether moving a request to state closes it for good.
func Closes(state string) bool { return state == models.OpCompleted || state == models.OpAbandoned }

// StateChanges says what closing a request does; nil for a state that
// needs no confirmation (starting the work).
func StateChanges(t Tr, state, requestNo string) []string {
	if !Closes(state) {
		return nil
	}
	return []string{t("confirm.state."+state+".changes", requestNo), t("confirm.state.outages")}
}

// CauseChanges says what classifying an outage with cause does; what
// names the outage ("web-01 from … (42 min)").
func CauseChanges(t Tr, c models.Cause, what string) []string {
	effect := "confirm.cause.excluded"
	switch {
	case c.CountsAgainstProvider():
		effect = "confirm.cause.counts"
	case c.ForceMajeure():
		effect = "confirm.cause.force_majeure"
	}
	return []string{what, t(effect), t("confirm.cause.audited")}
}

// ConfirmText joins a question and its changes for the dialog of
// portal.js (data-confirm), one paragraph a line.
func ConfirmText(title string, changes []string) string {
	return strings.Join(append([]string{title}, changes...), "\n")
}

// OutageWhat names an outage for a confirmation: its device, start and
// length so far.
func OutageWhat(ctx context.Context, device string, o *models.Outage, now time.Time) string {
	end := now
	if o.EndedAt != nil {
		end = *o.EndedAt
	}
	return T(ctx, "confirm.cause.what", device, FormatTime(ctx, o.StartedAt), Duration(ctx, end.Sub(o.StartedAt)))
}

// ChannelNoun is a channel's name inside a sentence ("no gateway for pager").
func ChannelNoun(ctx context.Context, ch models.Channel) string {
	return strings.ToLower(ChannelName(ctx, ch))
}

// ShowAddress writes a contact's address on a channel for reading: phone
// numbers grouped in the international format ("+86 138 0013 8000"),
// email addresses as they are.
func ShowAddress(ch models.Channel, addr string) string {
	if ch == models.ChannelEmail {
		return addr
	}
	return models.FormatPhone(addr)
}
