package handlers

// What the API's writes share (docs/architecture.md, "The JSON API"):
// repeatable creates with an Idempotency-Key, validation errors named as
// the body's fields, and times read from a body.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
)

// apiCorrespondents write on operation requests, apiComplainants file
// and write on complaints: the pages' correspondents and complainants.
var (
	apiCorrespondents = correspondents.Roles
	apiComplainants   = complainants.Roles
)

// Idempotency-Key: a client that sends one with a create and sends the
// same create again (a timeout, a retry) gets the first answer's object
// instead of a second record.
const (
	headerIdempotencyKey = "Idempotency-Key"
	// headerReplayed marks the answer of a repeat.
	headerReplayed = "Idempotent-Replayed"
)

var idempotencyKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// apiReplay answers a repeated create from the Location the first one
// answered with: the object as it stands now.
type apiReplay func(c *fiber.Ctx, location string) error

// apiOnce makes a create repeatable. Without an Idempotency-Key header the
// create runs as it is. With one, the pages' one-time submission claims
// (models.ClaimSubmission) keep it to one record: the claim's key is a
// hash of the token, the request's path and the key, so a key means
// something only for one token and one route. The request that claims it
// runs the create and records the Location it answered; every other
// request with that key, in parallel or later (within
// models.SubmissionTTL), waits for it and is answered by replay from that
// Location. A create that makes nothing (refused, failed) gives the key
// back, so that the corrected request may use it.
func (h *Handler) apiOnce(create fiber.Handler, replay apiReplay) fiber.Handler {
	return func(c *fiber.Ctx) error {
		key := c.Get(headerIdempotencyKey)
		if key == "" {
			return create(c)
		}
		if !idempotencyKeyRE.MatchString(key) {
			return apiBadRequest("api.write.idempotency_key")
		}
		tok, u := apiToken(c), currentUser(c)
		if tok == nil || u == nil {
			return fiber.ErrUnauthorized
		}
		sum := sha256.Sum256([]byte("api-idempotency\x00" + strconv.FormatInt(tok.ID, 10) + "\x00" + c.Method() + " " +
			c.Path() + "\x00" + key))
		claim := hex.EncodeToString(sum[:])
		ctx := c.UserContext()
		deadline := time.Now().Add(submissionWait)
		delay := submissionPoll
		sub, claimed, err := h.store.ClaimSubmission(ctx, claim, u.ID)
		for {
			switch {
			case errors.Is(err, models.ErrConflict):
				return apiProblem(fiber.StatusConflict, "about:blank", "api.write.idempotency_conflict")
			case err != nil && !errors.Is(err, models.ErrNotFound): // not found: given back meanwhile
				return err
			case claimed:
				return h.apiFirstCreate(ctx, c, create, claim, u.ID)
			case sub != nil && sub.Location != "":
				c.Set(headerReplayed, "true")
				return replay(c, sub.Location)
			}
			if time.Now().After(deadline) {
				return apiProblem(fiber.StatusConflict, "about:blank", "api.write.idempotency_pending")
			}
			if err == nil {
				// The first request is still being handled: wait, then look.
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(delay):
				}
				delay = min(2*delay, submissionPollMax)
				if sub, err = h.store.GetSubmission(ctx, claim, u.ID); !errors.Is(err, models.ErrNotFound) {
					continue
				}
			}
			// Given back by a request that made nothing: claim it again.
			sub, claimed, err = h.store.ClaimSubmission(ctx, claim, u.ID)
		}
	}
}

// apiFirstCreate runs the create that claimed the key and records where it
// led, or gives the key back when it made nothing.
func (h *Handler) apiFirstCreate(ctx context.Context, c *fiber.Ctx, create fiber.Handler, claim string, userID int64) error {
	ctx = context.WithoutCancel(ctx) // recorded even when the client has gone: the record exists
	done := false
	defer func() {
		if done {
			return
		}
		if err := h.store.ReleaseSubmission(ctx, claim, userID); err != nil {
			h.logger(c).Error("give back an idempotency key", "path", loggedPath(c), "err", err)
		}
	}()
	err := create(c)
	location := string(c.Response().Header.Peek(fiber.HeaderLocation))
	if err == nil && c.Response().StatusCode() == fiber.StatusCreated && location != "" {
		done = true
		if err := h.store.CompleteSubmission(ctx, claim, userID, location); err != nil {
			h.logger(c).Error("record an idempotent create", "path", loggedPath(c), "err", err)
		}
	}
	return err
}

// apiFields renames the fields of the validation errors in err from the
// Store's (the pages' form fields) to the body's, by rename (a Store field
// absent from it keeps its name) and then by each; any other error passes
// unchanged.
func apiFields(err error, rename map[string]string, each func(field, key string) string) error {
	vs := models.Validations(err)
	if len(vs) == 0 {
		return err
	}
	var out []error
	for _, v := range vs {
		f := v.Field
		if r, ok := rename[f]; ok {
			f = r
		}
		if each != nil {
			f = each(f, v.Key)
		}
		out = append(out, &models.ValidationError{Field: f, Key: v.Key, Args: v.Args})
	}
	return errors.Join(out...)
}

// apiBodyTime reads an optional RFC 3339 time of a body's field: nil for
// an absent or empty one, a validation error of field for one that is not
// a time.
func apiBodyTime(field string, s *string) (*time.Time, error) {
	if s == nil || strings.TrimSpace(*s) == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(*s))
	if err != nil {
		return nil, models.Invalid(field, "api.write.time_invalid")
	}
	t = t.UTC()
	return &t, nil
}

// apiNoContent answers 204.
func apiNoContent(c *fiber.Ctx) error { return c.SendStatus(fiber.StatusNoContent) }

// idempotencyDoc describes Idempotency-Key in the document of each create.
const idempotencyDoc = "Send an Idempotency-Key header (1–64 of A–Z, a–z, 0–9, _ and -) to make the request safe to repeat: " +
	"a repeat with the same key and token within 24 hours answers the first request's Location and object " +
	"(with Idempotent-Replayed: true) instead of making a second one."
