package testserver

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// setDeathSignal makes the kernel SIGKILL the server when the thread that started it exits (see startProcess).
func setDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }

// starter is one goroutine locked to its own OS thread for the life of the process. Pdeathsig fires when the
// thread that forked the child exits, and Go may retire threads; forking from a thread that never exits makes
// the signal fire only when the whole test binary dies (killed, timed out, or exited without Main).
var starter struct {
	once sync.Once
	req  chan func()
}

// startProcess starts cmd from the starter thread.
func startProcess(cmd *exec.Cmd) error {
	starter.once.Do(func() {
		starter.req = make(chan func())
		go func() {
			runtime.LockOSThread() // never unlocked: this goroutine and its thread live as long as the process
			for f := range starter.req {
				f()
			}
		}()
	})
	errc := make(chan error, 1)
	starter.req <- func() { errc <- cmd.Start() }
	return <-errc
}

// processCmdline returns the command line of pid from /proc; known is false when it cannot be read.
func processCmdline(pid int) (cmdline string, known bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return "", false
	}
	return strings.ReplaceAll(string(b), "\x00", " "), true
}
