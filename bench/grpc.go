package main

import (
	"context"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The gRPC echo, without protoc: the ServiceDesc below is what
// protoc-gen-go-grpc would generate for
//
//	service Echo { rpc Echo(google.protobuf.StringValue) returns (google.protobuf.StringValue); }
//
// and the messages are protobuf's well-known StringValue, marshalled by
// gRPC's default proto codec. So gRPC pays for real protobuf encoding, as a
// generated service would, just as lymph pays for msgpack and net/rpc for
// gob: no pass-through codec that would skip serialization.

const grpcEchoMethod = "/lymph.bench.Echo/Echo"

type grpcEchoServer interface {
	Echo(context.Context, *wrapperspb.StringValue) (*wrapperspb.StringValue, error)
}

type grpcEcho struct{}

func (grpcEcho) Echo(_ context.Context, in *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	return wrapperspb.String(in.GetValue()), nil
}

func grpcEchoHandler(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	in := new(wrapperspb.StringValue)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(grpcEchoServer).Echo(ctx, in)
	}
	info := &grpc.UnaryServerInfo{Server: srv, FullMethod: grpcEchoMethod}
	return interceptor(ctx, in, info, func(ctx context.Context, req any) (any, error) {
		return srv.(grpcEchoServer).Echo(ctx, req.(*wrapperspb.StringValue))
	})
}

var grpcEchoDesc = grpc.ServiceDesc{
	ServiceName: "lymph.bench.Echo",
	HandlerType: (*grpcEchoServer)(nil),
	Methods:     []grpc.MethodDesc{{MethodName: "Echo", Handler: grpcEchoHandler}},
	Metadata:    "bench/grpc.go",
}

func serveGRPC() (addr string, stop func() error, err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := grpc.NewServer()
	srv.RegisterService(&grpcEchoDesc, grpcEcho{})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	stop = func() error {
		srv.Stop()
		return <-done
	}
	return l.Addr().String(), stop, nil
}

type grpcClient struct{ conn *grpc.ClientConn }

// dialGRPC opens one ClientConn (one HTTP/2 connection, calls multiplexed on
// it), with the passthrough resolver: the address is a literal, nothing to
// resolve.
func dialGRPC(addr string, _ dialOptions) (echoClient, error) {
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	return grpcClient{conn}, nil
}

func (g grpcClient) Echo(ctx context.Context, text string) (string, error) {
	out := new(wrapperspb.StringValue)
	err := g.conn.Invoke(ctx, grpcEchoMethod, wrapperspb.String(text), out)
	return out.GetValue(), err
}

func (g grpcClient) Close() error { return g.conn.Close() }
