//go:build unix && !linux

package testserver

import (
	"os/exec"
	"syscall"
)

// setDeathSignal does nothing where there is no parent-death signal; stale cleanup handles leftovers.
func setDeathSignal(*syscall.SysProcAttr) {}

// startProcess starts cmd.
func startProcess(cmd *exec.Cmd) error { return cmd.Start() }

// processCmdline cannot read another process's command line portably here; known is false.
func processCmdline(int) (cmdline string, known bool) { return "", false }
