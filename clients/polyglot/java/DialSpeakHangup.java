import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.BadRequest;
import com.voicesvc.v1.CallControlGrpc;
import com.voicesvc.v1.CallsGrpc;
import com.voicesvc.v1.DialCallRequest;
import com.voicesvc.v1.DialCallResponse;
import com.voicesvc.v1.ExecuteCommandRequest;
import com.voicesvc.v1.ExecuteCommandResponse;
import com.voicesvc.v1.GetCallStatusRequest;
import com.voicesvc.v1.GetCallStatusResponse;
import com.voicesvc.v1.HangupCallRequest;
import com.voicesvc.v1.HangupCallResponse;
import com.voicesvc.v1.SpeakTextRequest;
import com.voicesvc.v1.SpeakTextResponse;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.concurrent.TimeUnit;

/**
 * A small voicesvc client in Java: it places a call and waits until it is answered (one
 * Calls.ExecuteCommand RPC), speaks a sentence into it, hangs up and waits until the call has ended. It also makes one request that
 * voicesvc must reject, and prints the error's code and its google.rpc.BadRequest details.
 *
 * <pre>
 *   java DialSpeakHangup 127.0.0.1:50051
 * </pre>
 *
 * <p>It prints one line per step and exits 0 when every step did what was expected, 1 otherwise.
 *
 * <p>The {@code com.voicesvc.v1} classes are what {@code protoc --java_out} and the grpc-java
 * plugin generate from protos/voicesvc/v1 (the protos' java_package). At run time it needs
 * grpc-api, grpc-core, grpc-stub, grpc-protobuf, a transport (grpc-netty with Netty, or
 * grpc-okhttp), protobuf-java, and the {@code com.google.rpc} classes of
 * proto-google-common-protos for the error details. {@code make polyglot} builds it with Debian's
 * packages (grpc-java 1.41, protobuf-java 3.21); the same code compiles against current versions.
 */
public final class DialSpeakHangup {

  /** Deadline of each unary call. Always set one: voicesvc bounds its Telnyx request by it. */
  private static final long RPC_TIMEOUT_SECONDS = 5;

  /** A step that did not do what was expected. */
  private static final class Failure extends Exception {
    Failure(String message) {
      super(message);
    }
  }

  public static void main(String[] args) throws InterruptedException {
    if (args.length != 1) {
      System.err.println("usage: java DialSpeakHangup HOST:PORT");
      System.exit(2);
    }
    // A plaintext channel; for a TLS server drop usePlaintext() (and see
    // io.grpc.TlsChannelCredentials for custom roots or a client certificate). The transport is
    // found at run time: grpc-netty (or grpc-okhttp) must be on the class path.
    ManagedChannel channel = ManagedChannelBuilder.forTarget(args[0]).usePlaintext().build();
    int exitCode = 0;
    try {
      run(channel);
      System.out.println("ok: dial, speak, hangup and the rejected request all behaved as expected");
    } catch (Failure e) {
      System.out.println("FAILED: " + e.getMessage());
      exitCode = 1;
    } catch (StatusRuntimeException e) {
      // Any RPC that should have succeeded but did not.
      System.out.println("FAILED: " + e.getStatus().getCode() + ": " + e.getStatus().getDescription());
      exitCode = 1;
    } finally {
      channel.shutdown().awaitTermination(5, TimeUnit.SECONDS);
    }
    System.exit(exitCode);
  }

  /**
   * A blocking stub whose next call must finish within RPC_TIMEOUT_SECONDS. The deadline is fixed
   * when the stub is made, so make a fresh one for each call.
   *
   * <p>With --auth-token on the server, also attach the token, for example with
   * {@code .withCallCredentials(...)} or a {@code MetadataUtils} header interceptor sending
   * {@code authorization: Bearer <token>}.
   */
  private static CallControlGrpc.CallControlBlockingStub calls(ManagedChannel channel) {
    return CallControlGrpc.newBlockingStub(channel)
        .withDeadlineAfter(RPC_TIMEOUT_SECONDS, TimeUnit.SECONDS);
  }

  private static void run(ManagedChannel channel) throws Failure, InterruptedException {
    // The first call waits for the connection (wait-for-ready), so a server that is still
    // starting up does not fail it at once; the deadline still applies. Calls.ExecuteCommand sends
    // the dial and returns once Telnyx reported the answer (call.answered): media on a call that is
    // still ringing is refused (FAILED_PRECONDITION, Telnyx code 90034).
    ExecuteCommandResponse executed =
        CallsGrpc.newBlockingStub(channel)
            .withDeadlineAfter(RPC_TIMEOUT_SECONDS, TimeUnit.SECONDS)
            .withWaitForReady()
            .executeCommand(
                ExecuteCommandRequest.newBuilder()
                    .setDialCall(
                        DialCallRequest.newBuilder()
                            .setConnectionId("conn-1")
                            .setFrom("+15550100000")
                            // `to` is a oneof: setToString for one number or SIP URI, setToList for several.
                            .setToString("+15550100001"))
                    .build());
    DialCallResponse dialed = executed.getDialCall();
    String id = dialed.getCallControlId();
    System.out.println("DialCall: call_control_id = " + id);
    System.out.println("DialCall: outcome = " + executed.getOutcome().getEventType());

    waitAlive(channel, id, true);

    // SpeakText: payload and voice are required.
    SpeakTextResponse spoken =
        calls(channel)
            .speakText(
                SpeakTextRequest.newBuilder()
                    .setCallControlId(id)
                    .setPayload("hello")
                    .setVoice("female")
                    .build());
    System.out.println("SpeakText: result = " + spoken.getResult());

    HangupCallResponse hungUp =
        calls(channel).hangupCall(HangupCallRequest.newBuilder().setCallControlId(id).build());
    System.out.println("HangupCall: result = " + hungUp.getResult());

    waitAlive(channel, id, false);

    expectInvalidArgument(channel);
  }

  /** Polls GetCallStatus until is_alive equals want, for at most 10 seconds. */
  private static void waitAlive(ManagedChannel channel, String id, boolean want)
      throws Failure, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    for (int polls = 1; ; polls++) {
      GetCallStatusResponse status =
          calls(channel).getCallStatus(GetCallStatusRequest.newBuilder().setCallControlId(id).build());
      if (status.getIsAlive() == want) {
        System.out.println("GetCallStatus: is_alive = " + want + " after " + polls + " poll(s)");
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new Failure(
            "GetCallStatus: is_alive still " + status.getIsAlive() + " after " + polls + " polls");
      }
      Thread.sleep(200);
    }
  }

  /**
   * Sends a SpeakText whose call_control_id voicesvc refuses before calling Telnyx, and checks the
   * error: code INVALID_ARGUMENT, with a google.rpc.BadRequest detail that names the field. The
   * details travel in the grpc-status-details-bin trailer; StatusProto.fromThrowable decodes it
   * into a google.rpc.Status whose details are google.protobuf.Any messages.
   */
  private static void expectInvalidArgument(ManagedChannel channel) throws Failure {
    StatusRuntimeException error;
    try {
      calls(channel)
          .speakText(
              SpeakTextRequest.newBuilder()
                  .setCallControlId("bad/id")
                  .setPayload("hello")
                  .setVoice("female")
                  .build());
      throw new Failure("SpeakText(call_control_id=\"bad/id\") succeeded; expected INVALID_ARGUMENT");
    } catch (StatusRuntimeException e) {
      error = e;
    }
    Status.Code code = error.getStatus().getCode();
    System.out.println("SpeakText(bad/id): " + code + ": " + error.getStatus().getDescription());
    if (code != Status.Code.INVALID_ARGUMENT) {
      throw new Failure("SpeakText(bad/id): got " + code + ", expected INVALID_ARGUMENT");
    }

    com.google.rpc.Status details = StatusProto.fromThrowable(error);
    if (details == null) {
      throw new Failure("SpeakText(bad/id): no grpc-status-details-bin trailer");
    }
    int violations = 0;
    try {
      for (Any detail : details.getDetailsList()) {
        if (detail.is(BadRequest.class)) {
          for (BadRequest.FieldViolation v : detail.unpack(BadRequest.class).getFieldViolationsList()) {
            System.out.println("  BadRequest: field " + v.getField() + ": " + v.getDescription());
            violations++;
          }
        } else {
          // ErrorInfo and RetryInfo are unpacked the same way; com.google.rpc.ErrorInfo needs a
          // proto-google-common-protos newer than Debian's 1.16.0, which lacks it.
          System.out.println("  detail: " + detail.getTypeUrl());
        }
      }
    } catch (InvalidProtocolBufferException e) {
      throw new Failure("SpeakText(bad/id): undecodable error detail: " + e.getMessage());
    }
    if (violations == 0) {
      throw new Failure("SpeakText(bad/id): no google.rpc.BadRequest field violation in the error details");
    }
  }
}
