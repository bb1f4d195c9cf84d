package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"time"

	"gocloud.dev/gcerrors"

	"github.com/lakefuse/lakefuse/internal/errkind"
)

// Options tune how a lake talks to its storage. A nil *Options means the defaults.
type Options struct {
	// IOTimeout bounds each storage request: one that makes no progress (no bytes
	// read or written, no listing page) for this long is cancelled and retried.
	// Default 2m.
	IOTimeout time.Duration
	// Retries is how many times a request that failed transiently (network, 5xx,
	// throttling, a stall) is tried again, with jittered exponential backoff.
	// Default 4; a negative value means none.
	Retries int
	// Logger hears about retries and stalled requests. Default: discard.
	Logger *slog.Logger
	// Intercept, if set, wraps every try of every storage request: it must call do
	// (or not, to fail the request without sending it) and may change the error it
	// returns. Tests use it to record the order of writes and to inject failures
	// (a crash between two writes, a lost response).
	Intercept func(op, key string, do func() error) error
	// ReadOnly opens a file:// lake without creating its folder: commands that
	// only read (plan, inspect, report, vacuum) never leave one behind, and a
	// folder that does not exist is ErrNoLake.
	ReadOnly bool
}

func (o *Options) withDefaults() Options {
	var out Options
	if o != nil {
		out = *o
	}
	if out.IOTimeout <= 0 {
		out.IOTimeout = 2 * time.Minute
	}
	if out.Retries == 0 {
		out.Retries = 4
	} else if out.Retries < 0 {
		out.Retries = 0
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	return out
}

// StorageError is a storage request that failed: the operation (list, head, get,
// put, copy, delete), the object, and the error's kind, taken from its gcerrors
// code and, for codes gocloud leaves Unknown, from the provider's error code or
// the network error.
type StorageError struct {
	Op   string
	Key  string
	Kind errkind.Kind
	Err  error
}

func (e *StorageError) Error() string {
	hint := ""
	switch e.Kind {
	case errkind.Access:
		hint = " (storage access or configuration: check the bucket, credentials and endpoint)"
	case errkind.Transient:
		hint = " (transient: retrying the job may succeed)"
	}
	return fmt.Sprintf("lake: %s %q: %v%s", e.Op, e.Key, e.Err, hint)
}

func (e *StorageError) Unwrap() error           { return e.Err }
func (e *StorageError) ErrorKind() errkind.Kind { return e.Kind }

// accessCodes are provider error codes that mean "fix access or configuration":
// retrying cannot help.
var accessCodes = map[string]bool{
	"AccessDenied": true, "Forbidden": true, "InvalidAccessKeyId": true, "SignatureDoesNotMatch": true,
	"NoSuchBucket": true, "InvalidBucketName": true, "AuthorizationHeaderMalformed": true, "ExpiredToken": true,
	"InvalidToken": true, "TokenRefreshRequired": true, "PermanentRedirect": true, "AllAccessDisabled": true,
	"AccountProblem": true, "InvalidRequest": true, "AuthorizationFailure": true, "AuthenticationFailed": true,
	"ContainerNotFound": true, "UnauthorizedAccess": true, "InvalidAuthenticationInfo": true,
}

// classify returns err's kind as a storage error. Context errors are not
// classified here (the caller decides whether they were its own deadline).
func classify(err error) errkind.Kind {
	if k := errkind.Of(err); k != errkind.Other && k != errkind.Interrupted {
		return k
	}
	switch gcerrors.Code(err) {
	case gcerrors.PermissionDenied, gcerrors.InvalidArgument, gcerrors.Unimplemented:
		return errkind.Access
	case gcerrors.NotFound:
		// Objects that are not found are handled by the callers that expect them;
		// here NotFound is a bucket or container that does not exist.
		return errkind.Access
	case gcerrors.ResourceExhausted, gcerrors.DeadlineExceeded, gcerrors.Internal:
		return errkind.Transient
	case gcerrors.FailedPrecondition, gcerrors.AlreadyExists:
		return errkind.Other // a lost race: the caller handles it
	}
	var api interface{ ErrorCode() string }
	if errors.As(err, &api) && accessCodes[api.ErrorCode()] {
		return errkind.Access
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		switch c := status.HTTPStatusCode(); {
		case c == 401 || c == 403 || c == 404 || c == 400:
			return errkind.Access
		case c >= 500 || c == 429 || c == 408:
			return errkind.Transient
		}
	}
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return errkind.Access // a misspelt endpoint host
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "failed to retrieve credentials"), strings.Contains(msg, "no EC2 IMDS role found"),
		strings.Contains(msg, "could not find default credentials"), strings.Contains(msg, "unsupported protocol scheme"):
		return errkind.Access
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return errkind.Transient
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return errkind.Transient
	}
	// gocloud says Unknown for server errors the SDK gave up retrying, resets and
	// truncated bodies: treat what nobody recognised as worth a retry.
	return errkind.Transient
}

// ErrStalled is the cause recorded when a storage request made no progress for the
// lake's IOTimeout.
var ErrStalled = errors.New("no progress")

// watchdog cancels a request that makes no progress for timeout, and logs it
// half-way, while it is still being waited on.
type watchdog struct {
	timeout time.Duration
	warn    *time.Timer
	kill    *time.Timer
}

func newWatchdog(timeout time.Duration, onWarn func(), onKill func()) *watchdog {
	return &watchdog{timeout: timeout, warn: time.AfterFunc(timeout/2, onWarn), kill: time.AfterFunc(timeout, onKill)}
}

func (w *watchdog) progress() {
	w.warn.Reset(w.timeout / 2)
	w.kill.Reset(w.timeout)
}

func (w *watchdog) stop() {
	w.warn.Stop()
	w.kill.Stop()
}

// request is one storage request: fn does it with a context that the watchdog
// cancels on a stall, calling progress whenever bytes move.
type request func(ctx context.Context, progress func()) error

// do runs one storage request under the lake's stall deadline, retrying transient
// failures with backoff. The error it returns is a *StorageError, a context error
// of ctx, or (for a lost precondition race) the storage error with kind Other.
func (l *Lake) do(ctx context.Context, op, key string, fn request) error {
	for try := 0; ; try++ {
		err := l.once(ctx, op, key, fn)
		if err == nil {
			return nil
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if errors.Is(err, ErrExists) || errors.Is(err, ErrNotFound) {
			return err // an answer, not a failure: the caller decides
		}
		var se *StorageError
		if !errors.As(err, &se) {
			se = &StorageError{Op: op, Key: key, Kind: classify(err), Err: err}
		}
		if se.Kind != errkind.Transient || try >= l.opts.Retries {
			return se
		}
		wait := backoff(try)
		l.opts.Logger.Warn("storage request failed; retrying", "op", op, "key", key, "try", try+1, "wait", wait.Round(time.Millisecond).String(), "error", se.Err.Error())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

func (l *Lake) once(ctx context.Context, op, key string, fn request) error {
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	start := time.Now()
	timeout := l.opts.IOTimeout
	wd := newWatchdog(timeout, func() {
		l.opts.Logger.Warn("storage request is making no progress; still waiting", "op", op, "key", key,
			"waited", time.Since(start).Round(time.Second).String(), "io_timeout", timeout.String())
	}, func() { cancel(ErrStalled) })
	defer wd.stop()
	var err error
	if l.opts.Intercept != nil {
		err = l.opts.Intercept(op, key, func() error { return fn(rctx, wd.progress) })
	} else {
		err = fn(rctx, wd.progress)
	}
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(rctx), ErrStalled) {
		return &StorageError{Op: op, Key: key, Kind: errkind.Transient,
			Err: fmt.Errorf("%w for %s (the I/O timeout)", ErrStalled, timeout)}
	}
	return err
}

// backoff is the wait before retry try+1: 200ms doubling, capped at 10s, with
// full jitter so that many tasks retrying together spread out.
func backoff(try int) time.Duration {
	d := 200 * time.Millisecond << min(try, 6)
	d = min(d, 10*time.Second)
	return d/2 + rand.N(d/2+1)
}

// progressReader calls progress after every read.
type progressReader struct {
	r        io.Reader
	progress func()
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.progress()
	return n, err
}

// progressWriter calls progress after every write.
type progressWriter struct {
	w        io.Writer
	progress func()
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.progress()
	return n, err
}

// withOptions returns a Lake on the same bucket with other options (tests use it to
// give one process's view of a mem:// bucket its own fault injection).
func (l *Lake) withOptions(o *Options) *Lake {
	c := *l
	c.opts = o.withDefaults()
	return &c
}
