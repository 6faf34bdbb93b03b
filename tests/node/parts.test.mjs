// Payloads relayed in parts (broker/web/parts.js): what mesh/relayed_parts.py does.
import assert from "node:assert/strict";
import { test } from "node:test";

import { PART_BYTES, PartAssembler, STALL_SECONDS, partBody, partCount, readPart } from "../../broker/web/parts.js";

function parts(data, id = "m1") {
  return Array.from({ length: partCount(data.length) }, (_, i) =>
    readPart(partBody("files", id, 1, "bytes", data.length, i), data.subarray(i * PART_BYTES, (i + 1) * PART_BYTES)));
}

test("a payload is cut into parts and put back together", () => {
  const data = Uint8Array.from({ length: 2 * PART_BYTES + 77 }, (_, i) => i % 256);
  const assembler = new PartAssembler();
  const results = parts(data).map((part) => assembler.add("a", part, 0));
  assert.deepEqual(results.slice(0, 2), [null, null]);
  assert.deepEqual(results[2].data, data);
});

test("a lost part drops the payload; a stalled one goes after a while", () => {
  const assembler = new PartAssembler();
  const [first, , third] = parts(new Uint8Array(2 * PART_BYTES + 1));
  assembler.add("a", first, 0);
  assert.throws(() => assembler.add("a", third, 0), /part 1 of payload m1 was lost/);
  assembler.add("b", first, 0);
  assert.deepEqual(assembler.expire(STALL_SECONDS + 1), ["m1 from b"]);
  assert.equal(assembler.bytes, 0);
});

test("a bad part body is refused with what is wrong", () => {
  const body = partBody("files", "m1", 0, "bytes", PART_BYTES + 1, 0);
  assert.throws(() => readPart({ ...body, count: 3 }, new Uint8Array(PART_BYTES)), /do not fit/);
  assert.throws(() => readPart(body, new Uint8Array(10)), /holds 10 bytes/);
  assert.throws(() => readPart({ ...body, kind: "text" }, new Uint8Array(PART_BYTES)), /kind/);
});
