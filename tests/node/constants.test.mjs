// The page's side of the constants both clients must agree on (tests/vectors/
// constants.json; tests/unit/test_shared_constants.py holds the Python side).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

const { constants } = JSON.parse(
  readFileSync(new URL("../vectors/constants.json", import.meta.url), "utf8"));

for (const { name, value, js, js_scale: scale = 1 } of constants) {
  test(`the page has the shared ${name}`, async () => {
    const [file, exported] = js.split(":");
    const module = await import(new URL(`../../broker/web/${file}`, import.meta.url));
    assert.ok(exported in module, `${file} does not export ${exported}`);
    const expected = typeof value === "number" ? value * scale : value;
    assert.equal(module[exported], expected);
  });
}
