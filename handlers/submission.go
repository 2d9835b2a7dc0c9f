package handlers

import (
	"context"
	"errors"
	"regexp"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
	"github.com/colo-portal/portal/views"
)

// onceRE is the shape of views.NewOnceToken; anything else is no token.
var onceRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// Repeats of a form posted while the first post is still being handled
// wait for it up to submissionWait, reading the token's row first after
// submissionPoll, then at twice the interval each time up to
// submissionPollMax.
const (
	submissionWait    = 10 * time.Second
	submissionPoll    = 25 * time.Millisecond
	submissionPollMax = 500 * time.Millisecond
)

// oneTimeSubmission carries out a form with a one-time token (views.Once)
// once: the post that claims the token in the database runs, and where it
// led (the record it made) is stored with the token; every other post of
// that token, in parallel or later, from any instance, is sent there too.
// A post that makes nothing (the form was refused) gives the token back,
// so the corrected form can be sent. Forms without a token, and visitors
// not fully signed in, pass through.
//
// The token is read from the form body only, like the CSRF token: one in
// the query string is no token. A repeat tries to claim the token once;
// while the first post is being handled it only reads the token's row
// (backing off), and claims again only when the row has gone (given back).
func (h *Handler) oneTimeSubmission(c *fiber.Ctx) error {
	if c.Method() != fiber.MethodPost {
		return c.Next()
	}
	st := state(c)
	if st.user == nil || st.stage != models.StageFull || st.mustEnroll || st.mustRenew {
		return c.Next()
	}
	token := bodyField(c, "_once")
	if !onceRE.MatchString(token) {
		return c.Next()
	}
	ctx := c.UserContext()
	deadline := time.Now().Add(submissionWait)
	delay := submissionPoll
	sub, claimed, err := h.store.ClaimSubmission(ctx, token, st.user.ID)
	for {
		switch {
		case errors.Is(err, models.ErrConflict):
			return fiber.ErrBadRequest
		case err != nil && !errors.Is(err, models.ErrNotFound): // not found: given back meanwhile
			return err
		case claimed:
			return h.firstSubmission(ctx, c, token, st.user.ID)
		case sub != nil && sub.Location != "":
			h.flash(c, "warn", "flash.already_submitted")
			return redirect(c, sub.Location)
		}
		if time.Now().After(deadline) {
			return h.render(c, fiber.StatusConflict, views.ErrorPage(fiber.StatusConflict, "error.submission_pending"))
		}
		if err == nil {
			// The first post is still being handled: wait, then look.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(delay):
			}
			delay = min(2*delay, submissionPollMax)
			if sub, err = h.store.GetSubmission(ctx, token, st.user.ID); !errors.Is(err, models.ErrNotFound) {
				continue
			}
		}
		// Given back by a post that made nothing: claim it again.
		sub, claimed, err = h.store.ClaimSubmission(ctx, token, st.user.ID)
	}
}

// firstSubmission runs the post that claimed token and records where it
// led, or gives the token back when it led nowhere (refused, failed or
// panicked).
func (h *Handler) firstSubmission(ctx context.Context, c *fiber.Ctx, token string, userID int64) error {
	// Recorded even when the request's context has ended: the record exists.
	ctx = context.WithoutCancel(ctx)
	done := false
	defer func() {
		if done {
			return
		}
		if err := h.store.ReleaseSubmission(ctx, token, userID); err != nil {
			h.logger(c).Error("give back a form's token", "path", loggedPath(c), "err", err)
		}
	}()
	err := c.Next()
	status := c.Response().StatusCode()
	location := string(c.Response().Header.Peek(fiber.HeaderLocation))
	if to, ok := c.Locals(submittedToKey).(string); ok && to != "" {
		location = to
	}
	// A redirect, or a page that names where it led (Location, or
	// submittedTo): a page that shows a secret once, never through a
	// redirect (a new token, a new webhook endpoint).
	if err == nil && status >= 200 && status < 400 && location != "" {
		done = true
		if err := h.store.CompleteSubmission(ctx, token, userID, location); err != nil {
			h.logger(c).Error("record a form's submission", "path", loggedPath(c), "err", err)
		}
	}
	return err
}

const submittedToKey = "portal.submitted_to"

// submittedTo names where a create that answers with a page (not a
// redirect) led, for its one-time submission: a repeat of the form is
// sent there.
func submittedTo(c *fiber.Ctx, location string) { c.Locals(submittedToKey, location) }
