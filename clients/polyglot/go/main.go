// Command dialspeakhangup is a small voicesvc client in Go: it places a call and waits until it is
// answered (one Calls.ExecuteCommand RPC), speaks a sentence into it, hangs up and waits until the call has ended. It also makes
// one request that voicesvc must reject, and prints the error's code and its google.rpc.BadRequest
// details.
//
//	go run main.go 127.0.0.1:50051
//
// It prints one line per step and exits 0 when every step did what was expected, 1 otherwise.
//
// The voicesvc package is the Go code that protoc-gen-go and protoc-gen-go-grpc generate from
// protos/voicesvc/v1; its import path is the protos' go_package. `make polyglot` generates it and
// builds this file in GOPATH mode with Debian's Go packages (grpc-go 1.33, genproto 2020,
// google.golang.org/protobuf 1.28); the same code builds in a module with current versions.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	voicesvcv1 "github.com/voicesvc/voicesvc/gen/go/voicesvc/v1"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// rpcTimeout is the deadline of each unary call. Always set one: voicesvc bounds its Telnyx
// request (and the retries) by it.
const rpcTimeout = 5 * time.Second

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: dialspeakhangup HOST:PORT")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Println("FAILED:", err)
		os.Exit(1)
	}
	fmt.Println("ok: dial, speak, hangup and the rejected request all behaved as expected")
}

func run(target string) error {
	// A plaintext channel. grpc.WithInsecure is what grpc-go 1.33 offers; from grpc-go 1.34 on,
	// prefer grpc.WithTransportCredentials(insecure.NewCredentials()) (package
	// google.golang.org/grpc/credentials/insecure), or credentials.NewTLS(...) for a TLS server.
	// WithBlock makes Dial wait until the connection is up, so a wrong address fails here.
	dialCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := grpc.DialContext(dialCtx, target, grpc.WithInsecure(), grpc.WithBlock())
	if err != nil {
		return fmt.Errorf("connect to %s: %w", target, err)
	}
	defer conn.Close()
	fmt.Println("connected:", target)

	// With --auth-token on the server, attach the token to every call's context:
	//   ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	ctx := context.Background()
	calls := voicesvcv1.NewCallControlClient(conn)

	// DialCall through Calls.ExecuteCommand: it returns once Telnyx reported the answer
	// (call.answered), since media on a call that is still ringing is refused (FAILED_PRECONDITION,
	// Telnyx code 90034). Fields marked `optional` in the protos are pointers (proto.String sets
	// them); a oneof takes a wrapper type (`to`: a single number or SIP URI, or a list).
	executed, err := executeCommand(ctx, voicesvcv1.NewCallsClient(conn), &voicesvcv1.ExecuteCommandRequest{
		Command: &voicesvcv1.ExecuteCommandRequest_DialCall{DialCall: &voicesvcv1.DialCallRequest{
			ConnectionId: proto.String("conn-1"),
			From:         proto.String("+15550100000"),
			To:           &voicesvcv1.DialCallRequest_ToString{ToString: "+15550100001"},
		}},
	})
	if err != nil {
		return fmt.Errorf("DialCall: %w", err)
	}
	id := executed.GetDialCall().GetCallControlId()
	fmt.Println("DialCall: call_control_id =", id)
	fmt.Println("DialCall: outcome =", executed.GetOutcome().GetEventType())

	if err := waitAlive(ctx, calls, id, true); err != nil {
		return err
	}

	// SpeakText: payload and voice are required.
	spoken, err := speakText(ctx, calls, &voicesvcv1.SpeakTextRequest{
		CallControlId: id,
		Payload:       proto.String("hello"),
		Voice:         proto.String("female"),
	})
	if err != nil {
		return fmt.Errorf("SpeakText: %w", err)
	}
	fmt.Println("SpeakText: result =", spoken.GetResult())

	hungUp, err := hangupCall(ctx, calls, &voicesvcv1.HangupCallRequest{CallControlId: id})
	if err != nil {
		return fmt.Errorf("HangupCall: %w", err)
	}
	fmt.Println("HangupCall: result =", hungUp.GetResult())

	if err := waitAlive(ctx, calls, id, false); err != nil {
		return err
	}

	return expectInvalidArgument(ctx, calls)
}

func executeCommand(ctx context.Context, c voicesvcv1.CallsClient, req *voicesvcv1.ExecuteCommandRequest) (*voicesvcv1.ExecuteCommandResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	return c.ExecuteCommand(ctx, req)
}

func speakText(ctx context.Context, c voicesvcv1.CallControlClient, req *voicesvcv1.SpeakTextRequest) (*voicesvcv1.SpeakTextResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	return c.SpeakText(ctx, req)
}

func hangupCall(ctx context.Context, c voicesvcv1.CallControlClient, req *voicesvcv1.HangupCallRequest) (*voicesvcv1.HangupCallResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	return c.HangupCall(ctx, req)
}

// waitAlive polls GetCallStatus until is_alive equals want, for at most 10 seconds.
func waitAlive(ctx context.Context, c voicesvcv1.CallControlClient, id string, want bool) error {
	deadline := time.Now().Add(10 * time.Second)
	for polls := 1; ; polls++ {
		callCtx, cancel := context.WithTimeout(ctx, rpcTimeout)
		st, err := c.GetCallStatus(callCtx, &voicesvcv1.GetCallStatusRequest{CallControlId: id})
		cancel()
		if err != nil {
			return fmt.Errorf("GetCallStatus: %w", err)
		}
		if st.GetIsAlive() == want {
			fmt.Printf("GetCallStatus: is_alive = %v after %d poll(s)\n", want, polls)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GetCallStatus: is_alive still %v after %d polls", st.GetIsAlive(), polls)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// expectInvalidArgument sends a SpeakText whose call_control_id voicesvc refuses before calling
// Telnyx, and checks the error: code INVALID_ARGUMENT, with a google.rpc.BadRequest detail that
// names the field. The details travel in the grpc-status-details-bin trailer; status.FromError
// decodes it and Details() unpacks each google.protobuf.Any whose type is linked into the binary
// (hence the errdetails import).
func expectInvalidArgument(ctx context.Context, c voicesvcv1.CallControlClient) error {
	_, err := speakText(ctx, c, &voicesvcv1.SpeakTextRequest{
		CallControlId: "bad/id",
		Payload:       proto.String("hello"),
		Voice:         proto.String("female"),
	})
	if err == nil {
		return errors.New("SpeakText(call_control_id=\"bad/id\") succeeded; expected INVALID_ARGUMENT")
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("SpeakText(bad/id): not a gRPC status error: %w", err)
	}
	// code.Code gives the canonical upper-case name (codes.Code prints "InvalidArgument").
	fmt.Printf("SpeakText(bad/id): %s: %s\n", code.Code(st.Code()), st.Message())
	if st.Code() != codes.InvalidArgument {
		return fmt.Errorf("SpeakText(bad/id): got %s, expected INVALID_ARGUMENT", code.Code(st.Code()))
	}

	violations := 0
	for _, detail := range st.Details() {
		switch d := detail.(type) {
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				fmt.Printf("  BadRequest: field %s: %s\n", v.GetField(), v.GetDescription())
				violations++
			}
		case *errdetails.ErrorInfo:
			fmt.Printf("  ErrorInfo: reason %s, domain %s\n", d.GetReason(), d.GetDomain())
		case error: // a detail whose message type is not linked into this binary
			return fmt.Errorf("SpeakText(bad/id): undecodable error detail: %w", d)
		}
	}
	if violations == 0 {
		return errors.New("SpeakText(bad/id): no google.rpc.BadRequest field violation in the error details")
	}
	return nil
}
