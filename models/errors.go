package models

import (
	"errors"
	"fmt"
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
