import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { bf16BitsToF32, CheckpointError, f16BitsToF32, parseSafetensors, serializeSafetensors, type NamedTensor } from 'webrlhf';

const test = suite('safetensors');

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
const bits32 = (a: Float32Array) => [...new Uint32Array(a.buffer, a.byteOffset, a.length)];

/** A file from a header text and a data section, with the header length written by hand. */
function rawFile(header: string, data: ArrayLike<number> = [], headerLen?: number): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  const n = headerLen ?? h.length;
  for (let i = 0; i < 8; i++) out[i] = Math.floor(n / 2 ** (8 * i)) % 256;
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** Asserts that parsing fails with a CheckpointError about `tensor` whose message matches every pattern. */
function rejects(bytes: Uint8Array, tensor: string | undefined, ...patterns: RegExp[]): void {
  assert.throws(
    () => parseSafetensors(bytes, 'bad.safetensors'),
    (e: unknown) => {
      if (!(e instanceof CheckpointError) || !patterns.every((p) => p.test(e.message))) console.log(`    unexpected error: ${String(e)}`);
      return e instanceof CheckpointError && e.code === 'CHECKPOINT' && e.file === 'bad.safetensors' && e.tensor === tensor &&
        (tensor === undefined || e.message.includes(tensor)) && /bad\.safetensors/.test(e.message) && patterns.every((p) => p.test(e.message));
    },
  );
}

test('f16 bits convert exactly: normals, subnormals, ±0, ±inf, NaN', () => {
  assert.is(f16BitsToF32(0x3c00), 1);
  assert.is(f16BitsToF32(0xc000), -2);
  assert.is(f16BitsToF32(0x3800), 0.5);
  assert.is(f16BitsToF32(0x3555), 0.333251953125);
  assert.is(f16BitsToF32(0x7bff), 65504);
  assert.is(f16BitsToF32(0x0400), 2 ** -14); // smallest normal
  assert.is(f16BitsToF32(0x0001), 2 ** -24); // smallest subnormal
  assert.is(f16BitsToF32(0x03ff), 1023 * 2 ** -24); // largest subnormal
  assert.is(f16BitsToF32(0x8001), -(2 ** -24));
  assert.is(f16BitsToF32(0x7c00), Infinity);
  assert.is(f16BitsToF32(0xfc00), -Infinity);
  assert.ok(Object.is(f16BitsToF32(0x8000), -0));
  assert.ok(Object.is(f16BitsToF32(0x0000), 0));
  assert.ok(Number.isNaN(f16BitsToF32(0x7e00)));
  assert.ok(Number.isNaN(f16BitsToF32(0x7c01)));
});

test('bf16 bits convert exactly', () => {
  assert.is(bf16BitsToF32(0x3f80), 1);
  assert.is(bf16BitsToF32(0xc000), -2);
  assert.is(bf16BitsToF32(0x4049), 3.140625);
  assert.is(bf16BitsToF32(0x7f80), Infinity);
  assert.is(bf16BitsToF32(0xff80), -Infinity);
  assert.is(bf16BitsToF32(0x0001), 2 ** -133); // subnormal
  assert.ok(Object.is(bf16BitsToF32(0x8000), -0));
  assert.ok(Number.isNaN(bf16BitsToF32(0x7fc0)));
});

test('reads a byte-exact file written by hand: F16, BF16, F32 scalar, F64, metadata', () => {
  const header = '{"__metadata__":{"format":"pt","note":"hand"},' +
    '"half":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]},' +
    '"brain":{"dtype":"BF16","shape":[3],"data_offsets":[12,18]},' +
    '"s":{"dtype":"F32","shape":[],"data_offsets":[18,22]},' +
    '"dbl":{"dtype":"F64","shape":[1],"data_offsets":[22,30]},' +
    '"empty":{"dtype":"F32","shape":[0,4],"data_offsets":[30,30]}}';
  const data = [
    0x00, 0x3c, 0x00, 0xc0, 0x00, 0x7c, 0x01, 0x00, 0x00, 0x80, 0xff, 0x7b, // f16 LE: 1, -2, inf, 2^-24, -0, 65504
    0x80, 0x3f, 0x00, 0xc0, 0x80, 0xff, // bf16 LE: 1, -2, -inf
    0x00, 0x00, 0xc0, 0x3f, // f32 1.5
    0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f, // f64 0.1
  ];
  const file = parseSafetensors(rawFile(header, data));
  assert.equal(file.metadata, { format: 'pt', note: 'hand' });
  assert.equal([...file.keys()], ['half', 'brain', 's', 'dbl', 'empty']);
  const half = file.get('half')!;
  assert.is(half.dtype, 'F16');
  assert.equal(half.shape, [2, 3]);
  assert.equal([...half.data], [1, -2, Infinity, 2 ** -24, -0, 65504]);
  assert.ok(Object.is(half.data[4], -0));
  assert.equal([...file.get('brain')!.data], [1, -2, -Infinity]);
  assert.equal(file.get('s')!.shape, []);
  assert.equal([...file.get('s')!.data], [1.5]);
  assert.equal([...file.get('dbl')!.data], [Math.fround(0.1)]);
  assert.equal(file.get('empty')!.data.length, 0);
});

test('reads a file written by the reference implementation (Python safetensors 0.8.0, safetensors.numpy.save)', () => {
  // save({"w": float32 [[1,-2,0.5]], "h": float16 [1,-2,inf,2^-24], "d": float64 [0.1]}, metadata={"format": "pt"})
  const bytes = hex(
    'c8000000000000007b225f5f6d657461646174615f5f223a7b22666f726d6174223a227074227d2c2264223a7b226474797065223a22463634222c' +
    '227368617065223a5b315d2c22646174615f6f666673657473223a5b302c385d7d2c2277223a7b226474797065223a22463332222c227368617065' +
    '223a5b312c335d2c22646174615f6f666673657473223a5b382c32305d7d2c2268223a7b226474797065223a22463136222c227368617065223a5b' +
    '345d2c22646174615f6f666673657473223a5b32302c32385d7d7d202020209a9999999999b93f0000803f000000c00000003f003c00c0007c0100',
  );
  assert.is(bytes.length, 236);
  const file = parseSafetensors(bytes, 'ref.safetensors');
  assert.equal(file.metadata, { format: 'pt' });
  assert.equal([...file.keys()], ['d', 'w', 'h']);
  assert.equal(file.get('w')!.shape, [1, 3]);
  assert.equal([...file.get('w')!.data], [1, -2, 0.5]);
  assert.equal([...file.get('h')!.data], [1, -2, Infinity, 2 ** -24]);
  assert.equal([...file.get('d')!.data], [Math.fround(0.1)]);
});

test('round trip: order, shapes, exact bits (NaN, -0, inf), metadata, 8-byte header, contiguous offsets', () => {
  const special = new Float32Array([NaN, -0, Infinity, -Infinity, 1e-45, 3.4028234663852886e38]);
  const tensors: NamedTensor[] = [
    { name: 'wte.weight', shape: [3, 2], data: special },
    { name: '10', shape: [2], data: new Float32Array([1, 2]) }, // integer-like: must stay in place
    { name: 'scalar', shape: [], data: new Float32Array([7]) },
    { name: 'none', shape: [0, 5], data: new Float32Array(0) },
    { name: 'h.0.attn.c_attn.weight', shape: [2, 6], data: Float32Array.from({ length: 12 }, (_, i) => i / 7) },
  ];
  const bytes = serializeSafetensors(tensors, { format: 'pt', step: '12' });
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const headerLen = view.getUint32(0, true);
  assert.is(view.getUint32(4, true), 0);
  assert.is(headerLen % 8, 0);
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + headerLen));
  assert.match(text, /^\{"__metadata__":\{"format":"pt","step":"12"\},"wte\.weight":.*\} *$/);
  const positions = ['"wte.weight"', '"10"', '"scalar"', '"none"', '"h.0.attn.c_attn.weight"'].map((k) => text.indexOf(k));
  assert.equal(positions, [...positions].sort((a, b) => a - b), 'the header lists tensors in the given order');
  const header = JSON.parse(text);
  assert.equal(header['wte.weight'], { dtype: 'F32', shape: [3, 2], data_offsets: [0, 24] });
  assert.equal(header['10'].data_offsets, [24, 32]);
  assert.equal(header.scalar.data_offsets, [32, 36]);
  assert.equal(header.none.data_offsets, [36, 36]);
  assert.equal(header['h.0.attn.c_attn.weight'].data_offsets, [36, 84]);
  assert.is(bytes.length, 8 + headerLen + 84);

  const back = parseSafetensors(bytes);
  assert.equal(back.metadata, { format: 'pt', step: '12' });
  assert.equal([...back.keys()], tensors.map((t) => t.name));
  for (const t of tensors) {
    const r = back.get(t.name)!;
    assert.is(r.dtype, 'F32');
    assert.equal(r.shape, [...t.shape]);
    assert.equal(bits32(r.data), bits32(t.data), t.name);
  }
  // A Map works as input too, and without metadata there is no __metadata__.
  const fromMap = serializeSafetensors(new Map([['a', { shape: [1], data: new Float32Array([5]) }]]));
  assert.not.match(new TextDecoder().decode(fromMap), /__metadata__/);
  assert.equal([...parseSafetensors(fromMap).get('a')!.data], [5]);
});

test('reads views at unaligned offsets and never aliases the input', () => {
  const data = Float32Array.from({ length: 10 }, (_, i) => i * 1.25 - 3);
  const half = [0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00];
  const bytes = serializeSafetensors([{ name: 'x', shape: [2, 5], data }]);
  for (const shift of [1, 2, 3, 5]) {
    const big = new Uint8Array(bytes.length + 16).fill(0xee);
    big.set(bytes, shift);
    const file = parseSafetensors(big.subarray(shift, shift + bytes.length));
    const x = file.get('x')!.data;
    assert.equal([...x], [...data]);
    big.fill(0); // the result is a copy
    assert.equal([...x], [...data]);
    const f16 = rawFile('{"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]}, "b":{"dtype":"BF16","shape":[1],"data_offsets":[6,8]}}', [...half, 0x80, 0x3f]);
    const big16 = new Uint8Array(f16.length + 8);
    big16.set(f16, shift);
    const parsed = parseSafetensors(big16.subarray(shift, shift + f16.length));
    assert.equal([...parsed.get('h')!.data], [1, -2, 2 ** -24]);
    assert.equal([...parsed.get('b')!.data], [1]);
  }
});

test('skip leaves tensors out undecoded (even of dtypes it cannot read) but still checks their layout', () => {
  const header = '{"keep":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"mask":{"dtype":"BOOL","shape":[2],"data_offsets":[4,6]}}';
  const file = parseSafetensors(rawFile(header, [0, 0, 0x80, 0x3f, 1, 0]), 'f', { skip: (n) => n === 'mask' });
  assert.equal([...file.keys()], ['keep']);
  assert.equal(file.skipped, ['mask']);
  const bad = '{"keep":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"mask":{"dtype":"BOOL","shape":[3],"data_offsets":[4,6]}}';
  assert.throws(() => parseSafetensors(rawFile(bad, [0, 0, 0x80, 0x3f, 1, 0]), 'f', { skip: (n) => n === 'mask' }), (e: unknown) => e instanceof CheckpointError && e.tensor === 'mask');
});

test('corrupt headers: each is a CheckpointError naming the problem', () => {
  rejects(new Uint8Array(5), undefined, /5 bytes long/, /truncated or not a safetensors file/);
  rejects(new Uint8Array(0), undefined, /0 bytes long/);
  rejects(rawFile('{}', [], 1000), undefined, /header length field says 1000 bytes, but only 2 bytes follow/);
  const huge = rawFile('{}');
  huge[7] = 0xff;
  rejects(huge, undefined, /header length field says \d+ bytes/);
  rejects(rawFile('{"a": nope}'), undefined, /not valid UTF-8 JSON/);
  const badUtf8 = rawFile('{"a":1}');
  badUtf8[10] = 0xff;
  rejects(badUtf8, undefined, /not valid UTF-8 JSON/);
  rejects(rawFile('[1,2]'), undefined, /\[1,2\], not a JSON object/);
  rejects(rawFile('null'), undefined, /null, not a JSON object/);
  rejects(rawFile('{"__metadata__":{"format":3}}'), '__metadata__', /__metadata__\.format is 3; metadata values must be strings/);
});

test('corrupt tensor entries: CheckpointError names the tensor and the problem', () => {
  const four = [0, 0, 0x80, 0x3f];
  rejects(rawFile('{"t":[1,2]}', four), 't', /header entry is \[1,2\], not an object/);
  rejects(rawFile('{"t":{"dtype":7,"shape":[1],"data_offsets":[0,4]}}', four), 't', /dtype is 7/);
  rejects(rawFile('{"h.0.w":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}}', four), 'h.0.w', /dtype 'Q7', which is not a safetensors dtype/, /supported dtypes: F32, F16, BF16, F64/);
  rejects(rawFile('{"ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}', [...four, ...four]), 'ids', /dtype 'I64', which webrlhf does not read/, /F32, F16, BF16, F64/);
  rejects(rawFile('{"t":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}', four), 't', /shape is "1", not a list of non-negative integers/);
  rejects(rawFile('{"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', four), 't', /shape is \[-1\]/);
  rejects(rawFile('{"t":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}', four), 't', /shape is \[1.5\]/);
  rejects(rawFile('{"t":{"dtype":"F32","shape":[1]}}', four), 't', /data_offsets is undefined, not \[begin, end\]/);
  rejects(rawFile('{"t":{"dtype":"F32","shape":[1],"data_offsets":[0]}}', four), 't', /data_offsets is \[0\]/);
  rejects(rawFile('{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4.5]}}', four), 't', /data_offsets is \[0,4.5\]/);
  rejects(rawFile('{"t":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}', four), 't', /data_offsets is \[-4,0\]/);
  rejects(rawFile('{"t":{"dtype":"F32","shape":[1],"data_offsets":["0","4"]}}', four), 't', /data_offsets is \["0","4"\]/);
  rejects(rawFile('{"t":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}', four), 't', /data_offsets \[4, 0\] end before they begin/);
  rejects(rawFile('{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', four), 't', /shape \[2\] of F32 needs 8 bytes, but data_offsets \[0, 4\] hold 4/);
  rejects(rawFile('{"t":{"dtype":"F16","shape":[3],"data_offsets":[0,4]}}', four), 't', /shape \[3\] of F16 needs 6 bytes/);
  rejects(rawFile('{"t":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}', four), 't', /data_offsets \[8, 12\] reach past the end of the data section, which holds 4 bytes/);
  rejects(
    rawFile('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', [...four, ...four, ...four]),
    'b', /\[4, 12\] overlap those of a \[0, 8\]/,
  );
  rejects(
    rawFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', four),
    'b', /overlap those of a/,
  );
});

test('a truncated file names the first tensor it cuts', () => {
  const bytes = serializeSafetensors([
    { name: 'a', shape: [4], data: new Float32Array(4) },
    { name: 'b', shape: [4], data: new Float32Array(4) },
    { name: 'c', shape: [4], data: new Float32Array(4) },
  ]);
  rejects(bytes.subarray(0, bytes.length - 1), 'c', /the file is truncated/, /its header needs at least \d+/);
  rejects(bytes.subarray(0, bytes.length - 20), 'b', /the file is truncated/);
});

test('every truncation and single-byte corruption is a CheckpointError or a correct parse, never a RangeError', () => {
  const tensors = [
    { name: 'x', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
    { name: 'y', shape: [3], data: new Float32Array([5, 6, 7]) },
  ];
  const bytes = serializeSafetensors(tensors, { format: 'pt' });
  for (let n = 0; n < bytes.length; n++) {
    try {
      parseSafetensors(bytes.subarray(0, n));
      assert.unreachable(`a file cut to ${n} bytes parsed`);
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
    }
  }
  const headerEnd = 8 + new DataView(bytes.buffer).getUint32(0, true);
  for (let i = 0; i < headerEnd; i++) {
    for (const value of [0x00, 0x22, 0x30, 0x39, 0x5b, 0x7d, 0xff]) {
      const copy = bytes.slice();
      copy[i] = value;
      try {
        const file = parseSafetensors(copy);
        // A corruption that still parses must describe data that is really there.
        for (const [, t] of file) assert.is(t.data.length, t.shape.reduce((a, b) => a * b, 1));
      } catch (e) {
        if (!(e instanceof CheckpointError)) throw new Error(`byte ${i} = ${value}: ${String(e)}`);
      }
    }
  }
});

test('serialize rejects what it cannot write, naming the tensor', () => {
  const ok = new Float32Array(4);
  const bad = (tensors: NamedTensor[], tensor: string, re: RegExp) =>
    assert.throws(() => serializeSafetensors(tensors), (e: unknown) => e instanceof CheckpointError && e.tensor === tensor && re.test(e.message));
  bad([{ name: 'w', shape: [3], data: ok }], 'w', /shape \[3\] has 3 elements but its data has 4/);
  bad([{ name: 'w', shape: [4], data: ok }, { name: 'w', shape: [4], data: ok }], 'w', /two tensors named w/);
  bad([{ name: '__metadata__', shape: [4], data: ok }], '__metadata__', /names must be/);
  bad([{ name: 'w', shape: [2.5], data: ok }], 'w', /not a list of non-negative integers/);
  bad([{ name: 'w', shape: [4], data: new Float64Array(4) as unknown as Float32Array }], 'w', /must be a Float32Array/);
  assert.throws(() => serializeSafetensors([], { step: 3 as unknown as string }), (e: unknown) => e instanceof CheckpointError && /metadata values must be strings/.test(e.message));
});

test.run();
