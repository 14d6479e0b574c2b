//go:build unix

package rawmysql

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"syscall"
)

// connCheck does a non-blocking read on an idle connection's socket: EOF or data pending means the server
// closed it (or broke the protocol). It never blocks: the runtime keeps sockets in non-blocking mode, so a
// live idle socket answers EAGAIN at once.
func connCheck(nc net.Conn) error {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var checkErr error
	err = rc.Read(func(fd uintptr) bool {
		var buf [1]byte
		n, rerr := syscall.Read(int(fd), buf[:])
		switch {
		case n == 0 && rerr == nil:
			checkErr = io.EOF
		case n > 0:
			checkErr = errConnDead
		case errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EWOULDBLOCK):
			checkErr = nil
		default:
			checkErr = rerr
		}
		return true // done: never wait for readiness
	})
	if err != nil {
		return err
	}
	if checkErr != nil {
		return errors.Join(errConnDead, checkErr)
	}
	return nil
}
