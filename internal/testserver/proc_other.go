//go:build !unix

package testserver

import (
	"os"
	"os/exec"
	"syscall"
)

// terminate has no clean-shutdown signal here; it kills the process.
func terminate(p *os.Process) error { return p.Kill() }

// pidAlive cannot check processes here and answers true, so stale cleanup never removes a directory.
func pidAlive(int) bool { return true }

// killPid does nothing here.
func killPid(int) {}

// procAttr returns no special attributes.
func procAttr() *syscall.SysProcAttr { return nil }

// startProcess starts cmd.
func startProcess(cmd *exec.Cmd) error { return cmd.Start() }

// processCmdline is unknown here.
func processCmdline(int) (cmdline string, known bool) { return "", false }
