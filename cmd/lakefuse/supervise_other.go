//go:build !linux

package main

import "os/exec"

// dieWithParent: only Linux can tie a child's life to its parent's; elsewhere
// (development machines) a killed supervisor leaves its child to finish.
func dieWithParent(*exec.Cmd) {}
