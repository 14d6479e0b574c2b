package main

import (
	"errors"
	"io"
	"net"
	"time"
)

// floorClient replays one operation's recorded commands (as rawmysql sent them) to a replay server and drains
// the answers without decoding a byte: the wire limit of the workload on this machine.
type floorClient struct {
	nc   net.Conn
	op   []*exchange
	want []int // bytes the replay server answers to each command of op
	sink []byte
}

// floorTimeout bounds one operation: a mismatch between what is drained and what arrives fails, never hangs.
const floorTimeout = 30 * time.Second

func newFloorClient(addr string, rec *recording, op []*exchange) (*floorClient, error) {
	if len(op) == 0 {
		return nil, errors.New("floor: no operation was captured")
	}
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	f := &floorClient{nc: nc, op: op, sink: make([]byte, 64<<10)}
	for _, e := range op {
		// The replay server answers with the first answer recorded for the command, which can differ in
		// length from this capture's (an OK's last insert id grows).
		resp, ok := rec.answers[string(matchKey(nil, e.cmd))]
		if !ok {
			nc.Close()
			return nil, errors.New("floor: a captured command has no recorded answer")
		}
		f.want = append(f.want, len(resp))
	}
	_ = nc.SetDeadline(time.Now().Add(floorTimeout))
	hs := rec.handshake
	if err := f.drain(len(hs[0])); err != nil {
		nc.Close()
		return nil, err
	}
	for i, answer := range hs[1:] {
		// Any packet does as a handshake answer: the replay server does not check credentials.
		if _, err := nc.Write([]byte{1, 0, 0, byte(1 + 2*i), 0}); err != nil {
			nc.Close()
			return nil, err
		}
		if err := f.drain(len(answer)); err != nil {
			nc.Close()
			return nil, err
		}
	}
	return f, nil
}

func (f *floorClient) drain(n int) error {
	for n > 0 {
		m, err := f.nc.Read(f.sink[:min(n, len(f.sink))])
		n -= m
		if err != nil {
			if err == io.EOF && n == 0 {
				return nil
			}
			return err
		}
	}
	return nil
}

// run performs n operations.
func (f *floorClient) run(n int) error {
	for i := 0; i < n; i++ {
		_ = f.nc.SetDeadline(time.Now().Add(floorTimeout))
		for k, e := range f.op {
			if _, err := f.nc.Write(e.cmd); err != nil {
				return err
			}
			if err := f.drain(f.want[k]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *floorClient) close() { f.nc.Close() }
