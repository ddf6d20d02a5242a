/**
 * TensorBoard's event-file records: tensorflow.Event and tensorflow.Summary,
 * only the fields a scalar needs, with their field numbers from TensorFlow's
 * tensorflow/core/util/event.proto and framework/summary.proto. Encoded and
 * decoded by protobufjs; each encoded Event is one TFRecord (see writer.ts).
 */
import protobuf from 'protobufjs';

const PROTO = `
syntax = "proto3";
package tensorflow;
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    Summary summary = 5;
  }
}
message Summary {
  message Value {
    string tag = 1;
    oneof value {
      float simple_value = 2;
    }
  }
  repeated Value value = 1;
}
`;

const root = protobuf.parse(PROTO, { keepCase: true }).root;
const EventType = root.lookupType('tensorflow.Event');

/** The first record of every event file. */
export const FILE_VERSION = 'brain.Event:2';

export interface ScalarEvent {
  wallTime: number;
  step: number;
  tag: string;
  /** stored as float32 (TensorBoard's simple_value) */
  value: number;
}

export function encodeFileVersion(wallTime: number): Uint8Array {
  return EventType.encode(EventType.fromObject({ wall_time: wallTime, step: 0, file_version: FILE_VERSION })).finish();
}

export function encodeScalars(wallTime: number, step: number, values: { tag: string; value: number }[]): Uint8Array {
  return EventType.encode(
    EventType.fromObject({ wall_time: wallTime, step, summary: { value: values.map((v) => ({ tag: v.tag, simple_value: v.value })) } }),
  ).finish();
}

interface DecodedEvent {
  wall_time?: number;
  step?: number | { toNumber(): number };
  file_version?: string;
  summary?: { value?: { tag?: string; simple_value?: number }[] };
}

/** Scalars of one record; a file_version record or a non-scalar summary gives none. */
export function decodeScalars(record: Uint8Array): { fileVersion?: string; scalars: ScalarEvent[] } {
  const e = EventType.toObject(EventType.decode(record), { longs: Number }) as DecodedEvent;
  const step = typeof e.step === 'number' ? e.step : e.step ? e.step.toNumber() : 0;
  const scalars = (e.summary?.value ?? [])
    .filter((v) => typeof v.simple_value === 'number' && v.tag)
    .map((v) => ({ wallTime: e.wall_time ?? 0, step, tag: v.tag!, value: v.simple_value! }));
  return { fileVersion: e.file_version, scalars };
}
