package views

import (
	"context"
	"strconv"
)

// hookAnswer says what a receiver answered: its status, else the error
// (no connection, a refused address, a timeout).
func hookAnswer(ctx context.Context, status int, errText string) string {
	switch {
	case status != 0 && errText != "":
		return strconv.Itoa(status) + " · " + errText
	case status != 0:
		return strconv.Itoa(status)
	case errText != "":
		return errText
	}
	return T(ctx, "webhooks.no_answer")
}
