package errkind

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestOf(t *testing.T) {
	input := New(Input, "bad input")
	storage := E(Transient, errors.New("connection reset"))
	tests := []struct {
		name string
		err  error
		want Kind
	}{
		{"nil", nil, Other},
		{"plain", errors.New("x"), Other},
		{"sentinel", fmt.Errorf("ctx: %w", input), Input},
		{"the deeper kind wins", E(Spec, fmt.Errorf("outer: %w", storage)), Transient},
		{"a tie goes to the wrapped cause", fmt.Errorf("jobs: %w: source: %w", input, storage), Transient},
		{"an outer kind applies when the inner has none", E(Access, errors.New("denied")), Access},
		{"Default keeps an inner kind", Default(Input, storage), Transient},
		{"Default adds one where there is none", Default(Input, errors.New("x")), Input},
		{"cancelled", fmt.Errorf("x: %w", context.Canceled), Interrupted},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), Transient},
		{"a recorded kind beats the context", fmt.Errorf("%w: %w", input, context.Canceled), Input},
	}
	for _, tc := range tests {
		if got := Of(tc.err); got != tc.want {
			t.Errorf("%s: Of = %v, want %v", tc.name, got, tc.want)
		}
	}
	if E(Spec, nil) != nil || E(Spec, context.Canceled) != context.Canceled {
		t.Error("E must leave nil and context errors unchanged")
	}
	if Kind(42).String() != "kind42" || Access.String() != "access" {
		t.Error("Kind.String")
	}
}
