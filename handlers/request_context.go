package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/colo-portal/portal/models"
)

// DefaultRequestTimeout is how long a request may take when Deps does not
// say: its context, which every Store call gets, ends then.
const DefaultRequestTimeout = 30 * time.Second

// HeaderRequestID names a request in the logs: accepted from a trusted
// proxy, made up otherwise, and returned on every response.
const HeaderRequestID = "X-Request-ID"

// loggerKey carries the request's logger in its context.
type loggerKey struct{}

// requestContext is the first middleware: it names the request, gives it a
// logger that says so and a context with a deadline, derived from the
// server's base context so that shutdown cancels it, and marked with the
// database deadline (models.WithDBTimeout), so that each statement or
// transaction of the request waits at most that long. Handlers pass
// c.UserContext() to the Store.
func (h *Handler) requestContext(c *fiber.Ctx) error {
	// A copy: fiber's strings point into buffers reused after the request.
	id := strings.Clone(c.Get(HeaderRequestID))
	if !h.trustProxies || !c.IsProxyTrusted() || !saneRequestID(id) {
		id = newRequestID()
	}
	c.Set(HeaderRequestID, id)
	log := h.log.With("request_id", id)
	ctx, cancel := context.WithTimeout(h.base, h.timeout)
	defer cancel()
	ctx = models.WithDBTimeout(ctx, h.dbTimeout)
	c.SetUserContext(context.WithValue(ctx, loggerKey{}, log))
	return c.Next()
}

// logger is the request's logger: every line it writes names the request.
func (h *Handler) logger(c *fiber.Ctx) *slog.Logger {
	if l, ok := c.UserContext().Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return h.log
}

// decideScope fixes, once the session is known, which organizations the
// request may read: handlers read it through scope(c), never from the
// user's role.
func (h *Handler) decideScope(c *fiber.Ctx) error {
	st := state(c)
	if st.stage == models.StageFull {
		st.scope = models.ScopeOf(st.user)
	}
	return c.Next()
}

// scope is the organizations the signed-in user may see; the zero scope
// (nobody signed in) sees none.
func scope(c *fiber.Ctx) models.Scope { return state(c).scope }

// saneRequestID accepts 1 to 64 letters, digits and . _ : -, so that a
// proxy's ID cannot forge or garble log lines.
func saneRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == ':', r == '-':
		default:
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b[:])
}

// recoverPanics turns a panic into a 500, logging it with its stack.
func (h *Handler) recoverPanics(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			h.logger(c).Error("panic", "panic", r, "stack", string(debug.Stack()))
			err = fiber.ErrInternalServerError
		}
	}()
	return c.Next()
}

// ownOrg is the organization of a customer's scope, for the customer-only
// routes that read or write "my organization"; 0 (which matches nothing)
// for anyone else.
func ownOrg(c *fiber.Ctx) int64 {
	id, _ := scope(c).Org()
	return id
}
