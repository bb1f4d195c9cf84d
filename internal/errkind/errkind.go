// Package errkind gives every lakefuse error a kind: what a scheduler should do about
// it. A kind is recorded once, where it is known (a spec check, a column read, the
// storage call that failed), and outer wraps inherit it; the CLI maps kinds to exit
// codes with one switch.
//
// It owns the kinds and how to find one in an error chain. It does not know about
// storage codes or exit codes: package lake classifies storage errors, cmd/lakefuse
// maps kinds to exits.
package errkind

import (
	"context"
	"errors"
	"strconv"
)

// Kind says what went wrong, in the terms a scheduler acts on. The set is
// append-only: exit codes and retry rules depend on it.
type Kind uint8

const (
	// Other is an error nobody classified; the CLI treats it as Transient.
	Other Kind = iota
	// Spec: the spec or the command line is wrong. Fix it; do not retry.
	Spec
	// Input: the lake's data breaks the spec's contract. Fix the data; do not retry.
	Input
	// Transient: network, server errors, throttling, timeouts. Retry.
	Transient
	// Access: storage access or configuration (no such bucket, access denied, bad
	// or missing credentials). Fix access; do not retry.
	Access
	// Committed: the run was already committed by another attempt.
	Committed
	// Interrupted: cancelled by a signal; nothing was committed.
	Interrupted
)

var names = [...]string{"other", "spec", "input", "transient", "access", "committed", "interrupted"}

func (k Kind) String() string {
	if int(k) < len(names) {
		return names[k]
	}
	return "kind" + strconv.Itoa(int(k))
}

// kinded is implemented by errors that carry a kind.
type kinded interface {
	error
	ErrorKind() Kind
}

// sentinel is a package-level error value with a kind, matched with errors.Is.
type sentinel struct {
	kind Kind
	msg  string
}

func (s *sentinel) Error() string   { return s.msg }
func (s *sentinel) ErrorKind() Kind { return s.kind }

// New returns a sentinel error of kind k, for a package's errors.go.
func New(k Kind, msg string) error { return &sentinel{kind: k, msg: msg} }

// wrapped gives an error a kind without changing its message.
type wrapped struct {
	kind Kind
	err  error
}

func (w *wrapped) Error() string   { return w.err.Error() }
func (w *wrapped) Unwrap() error   { return w.err }
func (w *wrapped) ErrorKind() Kind { return w.kind }

// E returns err with kind k recorded on it; nil stays nil. Context errors are
// returned unchanged (their kind is fixed: see Of).
func E(k Kind, err error) error {
	if err == nil || isContext(err) {
		return err
	}
	return &wrapped{kind: k, err: err}
}

// Default returns err with kind k unless err already has a kind: for a stage that
// wraps whatever a lower layer returned (a storage error keeps its own kind).
func Default(k Kind, err error) error {
	if err == nil || Of(err) != Other {
		return err
	}
	return E(k, err)
}

// Of returns err's kind: the kind recorded deepest in its chain, since the layer
// closest to the failure knows it best; context.Canceled is Interrupted and
// context.DeadlineExceeded (a request or run deadline) is Transient when nothing
// deeper says otherwise.
func Of(err error) Kind {
	if err == nil {
		return Other
	}
	k, _ := deepest(err, 0)
	if k != Other {
		return k
	}
	switch {
	case errors.Is(err, context.Canceled):
		return Interrupted
	case errors.Is(err, context.DeadlineExceeded):
		return Transient
	}
	return Other
}

// deepest walks err's tree depth first and returns the kind found at the greatest
// depth; of several at that depth, the last: in fmt.Errorf("%w: …: %w", Sentinel,
// cause) the cause, which knows more, comes last.
func deepest(err error, depth int) (Kind, int) {
	best, bestDepth := Other, -1
	if ke, ok := err.(kinded); ok && ke.ErrorKind() != Other {
		best, bestDepth = ke.ErrorKind(), depth
	}
	var children []error
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		if c := u.Unwrap(); c != nil {
			children = []error{c}
		}
	case interface{ Unwrap() []error }:
		children = u.Unwrap()
	}
	for _, c := range children {
		if k, d := deepest(c, depth+1); k != Other && d >= bestDepth {
			best, bestDepth = k, d
		}
	}
	return best, bestDepth
}

func isContext(err error) bool {
	return err == context.Canceled || err == context.DeadlineExceeded
}
