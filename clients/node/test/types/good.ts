// Compiles under `tsc --strict`: a correct use of the client's generated types.
import { createClient, FailedPrecondition, InvalidArgument, type Call, type DialCallResponse } from '@voicesvc/client';

async function main(): Promise<void> {
  const client = createClient({ target: process.env.VOICESVC_TARGET ?? '127.0.0.1:50051', retry: { maxAttempts: 3 } });
  const call: DialCallResponse = await client.dialCall({ connection_id: 'demo', from: '+15551110000', to_string: '+15552220000' });
  const id: string | undefined = call.call_control_id;
  await client.speakText({ call_control_id: id, payload: 'Hello', voice: 'female' });
  const answered = await client.dial({ connection_id: 'demo', from: '+15551110000', to_string: '+15552220000' }, { wait: true });
  console.log(answered.outcome.event_type, answered.response.call_leg_id);
  await client.execute('SpeakText', { call_control_id: id, payload: 'Hi' });
  for await (const item of client.listCallsAll({ page_size: 10 })) {
    const one: Call = item;
    console.log(one.name, one.state);
  }
  try {
    await client.hangupCall({ call_control_id: id });
  } catch (err) {
    if (err instanceof InvalidArgument) console.log(err.fieldViolations.map((v) => v.field), err.requestId);
    else if (err instanceof FailedPrecondition) console.log(err.telnyxCode);
  }
  client.close();
}

void main();
