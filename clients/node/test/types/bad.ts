// Must fail `tsc --strict`, once per line marked `error:` (a misspelled field, method or response field).
import { createClient } from '@voicesvc/client';

async function main(): Promise<void> {
  const client = createClient();
  const call = await client.dialCall({ conection_id: 'demo', from: '+15551110000', to_string: '+15552220000' }); // error: conection_id
  await client.speakTxt({ call_control_id: call.call_control_id, payload: 'Hello' }); // error: speakTxt
  console.log(call.call_control_idd); // error: call_control_idd
  await client.hangupCall({ call_control_id: 42 }); // error: call_control_id is a string
}

void main();
