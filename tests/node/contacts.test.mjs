// The page's contact book decides as the Python client's (cli/contacts.py).
import assert from "node:assert/strict";
import { test } from "node:test";

import { ContactBook } from "../../broker/web/contacts.js";

const BO = "b".repeat(32), MALLORY = "f".repeat(32);

test("a verified contact, and someone using its nick with another key", () => {
  const book = new ContactBook();
  assert.equal(book.standing(BO, "bo"), null);
  book.trust("bo", BO, "key-of-bo");
  assert.equal(book.standing(BO, "bo"), "verified");
  assert.equal(book.standing(MALLORY, "bo"), "mismatch");
  assert.equal(book.standing(BO, "bobby"), "verified"); // a new nick, the same key
  book.trust("bobby", BO, "key-of-bo");
  assert.deepEqual([...book.contacts.keys()], ["bobby"]); // one entry per key
  assert.ok(book.untrust("bobby"));
  assert.equal(book.standing(BO, "bo"), null);
});

test("a book survives being kept and read back", () => {
  const book = new ContactBook();
  book.trust("bo", BO, "k");
  const again = new ContactBook(JSON.parse(JSON.stringify(book)));
  assert.equal(again.standing(BO, "bo"), "verified");
  assert.equal(again.standing(MALLORY, "bo"), "mismatch");
});
