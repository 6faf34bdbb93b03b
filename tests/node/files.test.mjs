// Files on the page (broker/web/files.js): what a user is shown before taking one.
import assert from "node:assert/strict";
import { test } from "node:test";

import { suspicious } from "../../broker/web/files.js";

test("file names worth a second look are flagged before the user takes them", () => {
  assert.equal(suspicious("invoice.pdf.exe"), "two extensions: it is a .exe file");
  assert.equal(suspicious("report.pdf" + " ".repeat(70) + ".exe"), "runs of spaces in its name");
  assert.equal(suspicious("setup.exe"), "a program (.exe)");
  assert.equal(suspicious("holiday.tar.gz"), null);
  assert.equal(suspicious("notes.txt"), null);
});
