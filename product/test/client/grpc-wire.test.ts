// The protobuf wire format and the gRPC calls of `ct status` (client/grpc-wire.ts), checked against the SDK's
// own generated codec (@temporalio/proto) and against small HTTP/2 servers that answer as broken ones do.
import http2 from 'node:http2';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import Long from 'long';
import { temporal } from '@temporalio/proto';
import { GrpcStatusError, ProtoMessage, ProtoWriter, openChannel } from '../../client/grpc-wire';
import type { TemporalConfig } from '../../worker/temporal-config';

const service = temporal.api.workflowservice.v1;

test('requests written here are what the SDK decodes', () => {
  const execution = new ProtoWriter().string(1, 'wf-ü');
  const query = new ProtoWriter().string(1, 'default').message(2, execution).message(3, new ProtoWriter().string(1, 'status')).finish();
  expect(service.QueryWorkflowRequest.toObject(service.QueryWorkflowRequest.decode(query))).toEqual({
    namespace: 'default',
    execution: { workflowId: 'wf-ü' },
    query: { queryType: 'status' },
  });
  const history = new ProtoWriter().string(1, 'ns').message(2, execution).varint(6, 2).finish();
  expect(service.GetWorkflowExecutionHistoryRequest.decode(history).historyEventFilterType).toBe(temporal.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT);
  // Varints past 32 bits; empty and zero fields are not written (proto3's defaults).
  expect(new ProtoMessage(new ProtoWriter().varint(1, 2 ** 40 + 5).finish()).number(1)).toBe(2 ** 40 + 5);
  expect(new ProtoWriter().string(1, '').varint(2, 0).finish()).toHaveLength(0);
});

test('answers the SDK encodes are read here: nested and repeated messages, maps, 64-bit numbers, fields of every wire type skipped', () => {
  const bytes = service.DescribeWorkflowExecutionResponse.encode({
    executionConfig: { taskQueue: { name: 'q' } },
    workflowExecutionInfo: {
      execution: { workflowId: 'wf', runId: 'run-1' },
      type: { name: 'trainingWorkflow' },
      startTime: { seconds: Long.fromNumber(4_102_444_800), nanos: 999_999_999 }, // 2100-01-01, past 32 bits
      status: temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
      historyLength: Long.fromNumber(2 ** 53 - 1),
    },
    pendingActivities: [
      { activityId: '1' },
      {
        activityId: '2',
        heartbeatDetails: { payloads: [{ metadata: { encoding: Buffer.from('json/plain'), other: Buffer.from('x') }, data: Buffer.from('{"a":1}') }] },
      },
    ],
  }).finish();
  const extra = Buffer.from([(14 << 3) | 1, 1, 2, 3, 4, 5, 6, 7, 8, (15 << 3) | 5, 1, 2, 3, 4]); // field 14 fixed64, 15 fixed32
  // These messages have no fixed-width fields; a newer server's could: they are read past, not misread.
  const answer = new ProtoMessage(Buffer.concat([Buffer.from(bytes), extra]));
  const info = answer.message(2)!;
  expect([info.message(1)!.string(2), info.message(2)!.string(1), info.number(5), info.number(6)]).toEqual(['run-1', 'trainingWorkflow', 7, 2 ** 53 - 1]);
  expect([info.message(3)!.number(1), info.message(3)!.number(2)]).toEqual([4_102_444_800, 999_999_999]);
  const activities = answer.messages(3);
  expect(activities.map((a) => a.string(1))).toEqual(['1', '2']);
  const payload = activities[1].message(4)!.messages(1)[0];
  expect(payload.messages(1).map((e) => [e.string(1), e.bytes(2)!.toString()])).toEqual([
    ['encoding', 'json/plain'],
    ['other', 'x'],
  ]);
  expect(payload.bytes(2)!.toString()).toBe('{"a":1}');
  expect([answer.bytes(14), answer.bytes(15)]).toEqual([Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]), Buffer.from([1, 2, 3, 4])]);
  // Absent fields read as proto3's defaults.
  expect([info.string(13), info.number(99), info.message(4), answer.messages(4)]).toEqual(['', 0, undefined, []]);
});

test('a truncated or malformed message is an error, not a wrong answer', () => {
  expect(() => new ProtoMessage(Buffer.from([(1 << 3) | 2, 5, 1, 2]))).toThrow('protobuf: truncated field');
  expect(() => new ProtoMessage(Buffer.from([0x80]))).toThrow('protobuf: truncated varint');
  expect(() => new ProtoMessage(Buffer.from([(1 << 3) | 3]))).toThrow('protobuf: unsupported wire type 3');
});

describe('the gRPC channel against servers that answer badly', () => {
  const servers: { close(): void }[] = [];
  afterAll(() => servers.forEach((s) => s.close()));
  const config = (address: string): TemporalConfig => ({ address, namespace: 'default', taskQueue: 'q', addressSource: 'test' });
  const listen = async (server: net.Server) => {
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  test('an HTTP/2 server that is not gRPC, a gRPC error with a percent-encoded message, one uncompressed message expected', async () => {
    const server = http2.createServer();
    server.on('stream', (stream, headers) => {
      const path = headers[':path'];
      const answer = (message: Buffer, trailers: http2.OutgoingHttpHeaders) => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers(trailers));
        stream.end(message);
      };
      if (path?.endsWith('/NotGrpc')) {
        stream.respond({ ':status': 404 });
        stream.end('not here');
      } else if (path?.endsWith('/Refused')) {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '7', 'grpc-message': 'no%20access%3A%20%E2%9C%98' }, { endStream: true });
      } else if (path?.endsWith('/Compressed')) {
        answer(Buffer.from([1, 0, 0, 0, 0]), { 'grpc-status': '0' });
      } else {
        // What was sent, as one gRPC message: the path, the metadata and the request's frame.
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const { authorization, 'temporal-namespace': namespace, 'x-extra': extra, 'content-type': type, te } = headers;
          const seen = Buffer.from(JSON.stringify({ path, authorization, namespace, extra, type, te, frame: Buffer.concat(chunks).toString('hex') }));
          const frame = Buffer.alloc(5 + seen.length);
          frame.writeUInt32BE(seen.length, 1);
          seen.copy(frame, 5);
          answer(frame, { 'grpc-status': '0' });
        });
      }
    });
    const address = await listen(server as unknown as net.Server);
    const channel = openChannel({ ...config(address), apiKey: 'k', metadata: { 'x-extra': 'e' } });
    try {
      await expect(channel.unary('NotGrpc', Buffer.alloc(0))).rejects.toThrow(`HTTP 404 from ${address}: not a gRPC server?`);
      const refused = await channel.unary('Refused', Buffer.alloc(0)).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(GrpcStatusError);
      expect(refused).toMatchObject({ code: 7, details: 'no access: ✘' });
      await expect(channel.unary('Compressed', Buffer.alloc(0))).rejects.toThrow('Compressed: an answer that is not one uncompressed message');
      expect(JSON.parse((await channel.unary('Echo', Buffer.from('hello'))).toString())).toEqual({
        path: '/temporal.api.workflowservice.v1.WorkflowService/Echo',
        authorization: 'Bearer k',
        namespace: 'default',
        extra: 'e',
        type: 'application/grpc',
        te: 'trailers',
        frame: `0000000005${Buffer.from('hello').toString('hex')}`,
      });
    } finally {
      channel.close();
    }
  });

  test('a server that accepts the connection and never speaks: the connection times out; nothing listening: refused', async () => {
    const silent = net.createServer(() => undefined);
    const channel = openChannel(config(await listen(silent)), 300);
    await expect(channel.unary('Any', Buffer.alloc(0))).rejects.toThrow('no connection within 0.3s');
    channel.close();
    const closed = net.createServer();
    const nowhere = await listen(closed);
    closed.close();
    const refused = openChannel(config(nowhere));
    await expect(refused.unary('Any', Buffer.alloc(0))).rejects.toThrow(/ECONNREFUSED/);
    refused.close();
  });
});
