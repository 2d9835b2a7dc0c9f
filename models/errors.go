package models

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotFound is returned for rows that do not exist or that belong to
// another organization: a customer must not learn that they exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a unique value (an email, a slug) is taken.
var ErrConflict = errors.New("conflict")

// ValidationError is bad input, carrying a locale key and its arguments so
// the handler can show it translated next to the field it concerns.
type ValidationError struct {
	Field string
	Key   string
	Args  []any
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid %s: %s %v", e.Field, e.Key, e.Args)
}

// Number is a count in a validation error's message; views formats it as
// the rest of the page does ("2,000", views.Count), the message's verb
// being %s.
type Number int

// Invalid builds a ValidationError.
func Invalid(field, key string, args ...any) error {
	return &ValidationError{Field: field, Key: key, Args: args}
}

// AsValidation unwraps err to a ValidationError if it is one.
func AsValidation(err error) (*ValidationError, bool) {
	var v *ValidationError
	ok := errors.As(err, &v)
	return v, ok
}

// wrap names the Store operation that failed, "models: <op>: <err>", so a
// log line says what was being done; errors.Is and errors.As still see
// ErrNotFound, ErrConflict and the driver's error through it. Around an
// error of an inner Store call it reads "models: <op>: <inner op>: …". A
// validation error (shown next to its field) passes unchanged; nil stays
// nil. Every exported Store method returns its errors through wrap or
// fmt.Errorf("models: <op>: %w").
func wrap(err error, op string) error {
	if err == nil {
		return nil
	}
	if _, ok := AsValidation(err); ok {
		return err
	}
	return &opError{op: op, err: err}
}

type opError struct {
	op  string
	err error
}

func (e *opError) Error() string {
	return "models: " + e.op + ": " + strings.TrimPrefix(e.err.Error(), "models: ")
}

func (e *opError) Unwrap() error { return e.err }

// problems collects the validation errors of a whole form, the first of
// each field, so that one answer shows every mistake. Any other error (a
// database failure) wins over them.
type problems struct {
	errs  []error
	seen  map[string]bool
	other error
}

// add records err, unless it is nil: each validation error in it (a
// joined error brings several) unless its field already has one.
func (p *problems) add(err error) {
	if err == nil {
		return
	}
	vs := Validations(err)
	if len(vs) == 0 {
		if p.other == nil {
			p.other = err
		}
		return
	}
	if p.seen == nil {
		p.seen = map[string]bool{}
	}
	for _, v := range vs {
		if !p.seen[v.Field] {
			p.seen[v.Field] = true
			p.errs = append(p.errs, v)
		}
	}
}

// err is nil when nothing was wrong; else every validation error joined
// (errors.As finds the first), or the other error.
func (p *problems) err() error {
	if p.other != nil {
		return p.other
	}
	return errors.Join(p.errs...)
}

// Validations lists every validation error in err, in order: one, or
// the several of a form checked whole.
func Validations(err error) []*ValidationError {
	var out []*ValidationError
	var walk func(error)
	walk = func(e error) {
		switch x := e.(type) {
		case nil:
		case *ValidationError:
			out = append(out, x)
		case interface{ Unwrap() []error }:
			for _, in := range x.Unwrap() {
				walk(in)
			}
		case interface{ Unwrap() error }:
			walk(x.Unwrap())
		}
	}
	walk(err)
	return out
}

// CheckContact validates a contact form without saving it, for a handler
// whose own parsing already failed, so the form still shows every error.
func CheckContact(in ContactInput) error {
	var p problems
	p.add(in.validate())
	if in.MayAuthorize && in.Passphrase == "" {
		p.add(Invalid("passphrase", "error.passphrase_required"))
	}
	return p.err()
}

// CheckRequest validates an operation request form without saving it.
func CheckRequest(in RequestInput) error { return in.validate() }
