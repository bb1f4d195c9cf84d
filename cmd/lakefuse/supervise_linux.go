package main

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the child killed with its supervisor: a kill -9 of the
// process a scheduler (or the crash campaign) started stops the whole run.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
