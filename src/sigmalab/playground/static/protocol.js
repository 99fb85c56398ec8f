// Binary messages from the server: uint32 header length, JSON header, then raw arrays
// at the offsets the header lists (see frames.py).
const TYPES = { uint8: Uint8Array, float32: Float32Array, int32: Int32Array };
const decoder = new TextDecoder();

export function unpack(buffer) {
  const length = new DataView(buffer).getUint32(0, true);
  const header = JSON.parse(decoder.decode(new Uint8Array(buffer, 4, length)));
  const start = 4 + length;
  const arrays = {};
  for (const entry of header.arrays) {
    const count = entry.shape.reduce((a, b) => a * b, 1);
    arrays[entry.name] = { data: new TYPES[entry.dtype](buffer, start + entry.offset, count), shape: entry.shape };
  }
  return { header, arrays };
}

// Numbers may arrive as the strings "nan", "inf", "-inf" (JSON has no such numbers).
export function num(value) {
  if (typeof value === "number") return value;
  if (value === "inf") return Infinity;
  if (value === "-inf") return -Infinity;
  return NaN;
}

export function fmt(value, digits = 3) {
  const v = num(value);
  if (!Number.isFinite(v)) return String(value);
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e4)) return v.toExponential(2);
  return v.toFixed(digits);
}
