'use strict';
// @voicesvc/client: Node.js client for voicesvc.
//
//   const { createClient } = require('@voicesvc/client');
//   const client = createClient({ target: '127.0.0.1:50051', token: process.env.VOICESVC_TOKEN });
//   const call = await client.dialCall({ connection_id: '1234', from: '+18005550101', to_string: '+18005550100' });
//   for await (const event of client.watch({ eventTypes: ['call.'], callControlIds: [call.call_control_id] })) {
//     console.log(event.event_type);
//   }
//   client.close();

const { createClient, DEFAULT_TARGET, DEFAULT_DEADLINE_MS } = require('./lib/client');
const { loadDefinition, listMethods, PROTO_DIR, LOADER_OPTIONS } = require('./lib/definitions');
const errors = require('./lib/errors');

const { describeError, errorDetails, statusName, VoicesvcError, fromGrpcError, errorClasses } = errors;
const { structToJson, valueToJson } = require('./lib/struct');
const grpc = require('@grpc/grpc-js');

module.exports = {
  createClient,
  // One error class per gRPC status code (NotFound, InvalidArgument …), all VoicesvcError.
  VoicesvcError,
  ...errorClasses,
  fromGrpcError,
  describeError,
  errorDetails,
  statusName,
  structToJson,
  valueToJson,
  loadDefinition,
  listMethods,
  status: grpc.status,
  credentials: grpc.credentials,
  Metadata: grpc.Metadata,
  PROTO_DIR,
  LOADER_OPTIONS,
  DEFAULT_TARGET,
  DEFAULT_DEADLINE_MS,
};
