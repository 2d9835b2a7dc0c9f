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
