//go:build unix

package testserver

import (
	"errors"
	"os"
	"syscall"
)

// terminate asks a server process for a clean shutdown.
func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }

// pidAlive reports whether a process with this pid exists (EPERM means it exists but belongs to someone else).
func pidAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// killPid sends SIGKILL to pid.
func killPid(pid int) { _ = syscall.Kill(pid, syscall.SIGKILL) }

// procAttr puts the server in its own process group, so a Ctrl-C in the terminal reaches the test binary (which
// then stops the server) rather than the server directly; on Linux it also asks the kernel to kill the server
// when the test binary dies.
func procAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	setDeathSignal(a)
	return a
}
