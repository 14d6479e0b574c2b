package main

import (
	"errors"
	"io"
	"net"
)

// floorClient replays one operation's recorded commands (as rawmysql sent them) to a replay server and drains
// the answers without decoding a byte: the wire limit of the workload on this machine.
type floorClient struct {
	nc   net.Conn
	op   []*exchange
	sink []byte
}

func newFloorClient(addr string, rec *recording, op []*exchange) (*floorClient, error) {
	if len(op) == 0 {
		return nil, errors.New("floor: no operation was captured")
	}
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	f := &floorClient{nc: nc, op: op, sink: make([]byte, 64<<10)}
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
		for _, e := range f.op {
			if _, err := f.nc.Write(e.cmd); err != nil {
				return err
			}
			if err := f.drain(len(e.resp)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *floorClient) close() { f.nc.Close() }
