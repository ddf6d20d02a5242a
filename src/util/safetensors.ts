/**
 * The safetensors file format (https://huggingface.co/docs/safetensors), which
 * PyTorch, JAX and the Hugging Face libraries read:
 *
 *   bytes 0..8    little-endian uint64 N: length of the header
 *   bytes 8..8+N  UTF-8 JSON header, padded with spaces to a multiple of 8:
 *                   { "__metadata__": { string: string },
 *                     "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, … }
 *   then          the raw little-endian data; offsets are relative to its start,
 *                 contiguous and in header order (the reference reader rejects holes)
 *
 * Written by hand: the format is these few lines, and no npm package for it is
 * both maintained and dependency-free (the official one is Rust/Python only).
 */
export type Dtype = 'F32' | 'F64' | 'I32';

const BYTES: Record<Dtype, number> = { F32: 4, F64: 8, I32: 4 };

export type TypedData = Float32Array | Float64Array | Int32Array;

export interface TensorEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
  data: TypedData;
}

export interface TensorInfo {
  dtype: Dtype;
  shape: number[];
  /** byte offsets into the data section */
  begin: number;
  end: number;
}

export interface DecodedSafetensors {
  metadata: Record<string, string>;
  /** in file order */
  tensors: Map<string, TensorInfo>;
  /** the raw header JSON bytes (without the 8-byte length) */
  headerBytes: Buffer;
  /** byte offset of the data section in the file */
  dataStart: number;
  buffer: Buffer;
}

/** Encode tensors and a metadata string map (metadata keys keep their order). */
export function encodeSafetensors(tensors: TensorEntry[], metadata: Record<string, string>): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`tensor ${t.name}: shape [${t.shape}] has ${n} elements but data has ${t.data.length}`);
    if (t.name === '__metadata__' || t.name in header) throw new Error(`duplicate or reserved tensor name ${t.name}`);
    const bytes = n * BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const jsonBytes = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - (jsonBytes % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors) {
    // typed arrays are in host byte order, which is little-endian on every platform Node supports
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, pos);
    pos += t.data.byteLength;
  }
  return out;
}

/**
 * Decode a safetensors buffer. Throws an Error with a short reason (the caller
 * names the file) when the layout is inconsistent: the header length, JSON,
 * dtypes, shapes and offsets must describe exactly the bytes that follow.
 */
export function decodeSafetensors(buf: Buffer): DecodedSafetensors {
  if (buf.length < 8) throw new Error('truncated: shorter than the 8-byte header length');
  const n = buf.readBigUInt64LE(0);
  if (n > BigInt(buf.length - 8)) throw new Error('truncated: the header is longer than the file');
  const headerBytes = buf.subarray(8, 8 + Number(n));
  let raw: unknown;
  try {
    raw = JSON.parse(headerBytes.toString('utf8'));
  } catch {
    throw new Error('its header is not valid JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('its header is not a JSON object');
  const dataStart = 8 + Number(n);
  const dataLength = buf.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorInfo>();
  let expected = 0;
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      for (const [k, s] of Object.entries((v ?? {}) as Record<string, unknown>)) {
        if (typeof s !== 'string') throw new Error(`metadata ${k} is not a string`);
        metadata[k] = s;
      }
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = e?.dtype as Dtype;
    if (!(typeof dtype === 'string' && dtype in BYTES)) throw new Error(`tensor ${name} has unsupported dtype ${String(e?.dtype)}`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`tensor ${name} has a bad shape`);
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o))) throw new Error(`tensor ${name} has bad data_offsets`);
    const [begin, end] = offs as [number, number];
    const bytes = (shape as number[]).reduce((a, b) => a * b, 1) * BYTES[dtype];
    if (begin !== expected || end - begin !== bytes) throw new Error(`tensor ${name}'s data_offsets do not match its shape and position`);
    expected = end;
    tensors.set(name, { dtype, shape: shape as number[], begin, end });
  }
  if (expected !== dataLength) {
    throw new Error(expected > dataLength ? 'truncated: the data is shorter than its header says' : 'the file is longer than its header says');
  }
  return { metadata, tensors, headerBytes, dataStart, buffer: buf };
}

/** A copy of one tensor's data in an aligned typed array. */
export function tensorData(d: DecodedSafetensors, name: string): TypedData {
  const t = d.tensors.get(name);
  if (!t) throw new Error(`no tensor ${name}`);
  const bytes = d.buffer.subarray(d.dataStart + t.begin, d.dataStart + t.end);
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  if (t.dtype === 'F32') return new Float32Array(copy.buffer);
  if (t.dtype === 'F64') return new Float64Array(copy.buffer);
  return new Int32Array(copy.buffer);
}
