// Payloads relayed in parts (broker/web/parts.js): what mesh/partial/relayed_parts.py does.
import assert from "node:assert/strict";
import { test } from "node:test";

import { MAX_PAYLOADS_PER_AUTHOR, ORDER_WAIT, PART_BYTES, PartAssembler, STALL_SECONDS, partBody, partCount, readPart } from "../../broker/web/parts.js";

function parts(data, id = "m1") {
  return Array.from({ length: partCount(data.length) }, (_, i) =>
    readPart(partBody("files", id, 1, "bytes", data.length, i), data.subarray(i * PART_BYTES, (i + 1) * PART_BYTES)));
}

const add = (assembler, part, n = part.i + 1, now = 0, author = "a") =>
  assembler.add(author, part, n, now).map((whole) => whole.data);

test("a payload is cut into parts and put back together, in any order", () => {
  const data = Uint8Array.from({ length: 4 * PART_BYTES + 77 }, (_, i) => i % 256);
  const cut = parts(data);
  const assembler = new PartAssembler();
  assert.deepEqual([0, 3, 1, 4].map((i) => add(assembler, cut[i])), [[], [], [], []]);
  assert.deepEqual(add(assembler, cut[2]), [data]);
  assert.deepEqual(add(assembler, cut[2]), []); // late: nothing half-received again
});

test("a payload to chosen members says so when whole (it wants a receipt)", () => {
  const assembler = new PartAssembler();
  const [only] = parts(new Uint8Array([1, 2]), "to-us");
  const [whole] = assembler.add("a", only, 1, 0, true);
  assert.equal(whole.addressed, true);
  const [broadcast] = parts(new Uint8Array([3]), "to-all");
  assert.equal(assembler.add("a", broadcast, 2, 0)[0].addressed, false);
});

test("whole payloads come out in their author's order, waiting ORDER_WAIT at most", () => {
  const assembler = new PartAssembler();
  const old = parts(new Uint8Array(PART_BYTES + 1).fill(1), "old"); // relayed as 1 and 2
  const [fresh] = parts(new Uint8Array([7]), "new");
  add(assembler, old[0], 1);
  assert.deepEqual(add(assembler, fresh, 3, 1), []); // whole, but 2 is missing
  assert.deepEqual(add(assembler, old[1], 2, 2), [new Uint8Array(PART_BYTES + 1).fill(1), new Uint8Array([7])]);
  const stuck = parts(new Uint8Array(PART_BYTES + 1), "stuck");
  const [after] = parts(new Uint8Array([8]), "after");
  add(assembler, stuck[0], 4, 10);
  add(assembler, after, 6, 10);
  assert.deepEqual(assembler.expire(10 + ORDER_WAIT - 0.1).due, []);
  assert.deepEqual(assembler.expire(10 + ORDER_WAIT).due.map((whole) => whole.data), [new Uint8Array([8])]);
  assert.equal(assembler.lost, 0);
});

test("a stalled payload goes after a while; an author's room for payloads is bounded", () => {
  const assembler = new PartAssembler();
  const [first] = parts(new Uint8Array(2 * PART_BYTES + 1));
  add(assembler, first, 1, 0, "b");
  assert.deepEqual(assembler.expire(STALL_SECONDS + 1), { dropped: ["m1 from b"], due: [] });
  assert.equal(assembler.bytes, 0);
  for (let m = 0; m < MAX_PAYLOADS_PER_AUTHOR; m++) add(assembler, parts(new Uint8Array(PART_BYTES + 1), `m${m}`)[0], 2 * m + 1);
  assert.throws(() => add(assembler, parts(new Uint8Array(PART_BYTES + 1), "more")[0], 999), /payloads of one author/);
  assert.deepEqual(add(assembler, first, 1, 0, "c"), []);
});

test("a bad part body is refused with what is wrong", () => {
  const body = partBody("files", "m1", 0, "bytes", PART_BYTES + 1, 0);
  assert.throws(() => readPart({ ...body, count: 3 }, new Uint8Array(PART_BYTES)), /do not fit/);
  assert.throws(() => readPart(body, new Uint8Array(10)), /holds 10 bytes/);
  assert.throws(() => readPart({ ...body, kind: "text" }, new Uint8Array(PART_BYTES)), /kind/);
});

test("a declared size holds nothing until its parts come", () => {
  const assembler = new PartAssembler();
  for (const author of ["f1", "f2", "f3", "f4"]) { // the first part of 64 MiB each
    const huge = readPart(partBody("files", `huge-${author}`, 1, "bytes", 64 * 1024 * 1024, 0), new Uint8Array(PART_BYTES));
    assert.deepEqual(assembler.add(author, huge, 1, 0, false, "liar"), []);
  }
  assert.equal(assembler.bytes, 4 * PART_BYTES);
  const honest = new Uint8Array(50_000).fill(104);
  const got = parts(honest, "fine").flatMap((part) => add(assembler, part, part.i + 1, 0, "ana"));
  assert.deepEqual(got, [honest]);
  for (const author of ["f1", "f2", "f3", "f4"]) assembler.forget(author);
  assert.equal(assembler.bytes, 0);
});
