package main

import (
	"context"
	"net"
	"net/rpc"
)

// The net/rpc echo: the standard library's RPC over one TCP connection
// with its default codec, gob.

// NetRPCEcho is the service net/rpc exposes; net/rpc wants an exported type
// with methods of the shape func(args T, reply *R) error.
type NetRPCEcho struct{}

// Echo replies with the text unchanged.
func (NetRPCEcho) Echo(text string, reply *string) error {
	*reply = text
	return nil
}

// serveNetRPC accepts connections itself rather than with rpc.Server.Accept
// so that stop can close the open connections and wait for their goroutines:
// the in-process test checks for leaked goroutines.
func serveNetRPC() (addr string, stop func() error, err error) {
	srv := rpc.NewServer()
	if err := srv.RegisterName("Echo", NetRPCEcho{}); err != nil {
		return "", nil, err
	}
	return serveConns(func(conn net.Conn) { srv.ServeConn(conn) }) // ServeConn closes conn when it returns
}

type netRPCClient struct{ c *rpc.Client }

func dialNetRPC(addr string, _ dialOptions) (echoClient, error) {
	c, err := rpc.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return netRPCClient{c}, nil
}

// Echo ignores ctx: net/rpc's Call has no deadline, and none of the
// benchmark's calls is meant to time out.
func (n netRPCClient) Echo(_ context.Context, text string) (string, error) {
	var out string
	err := n.c.Call("Echo.Echo", text, &out)
	return out, err
}

func (n netRPCClient) Close() error { return n.c.Close() }
