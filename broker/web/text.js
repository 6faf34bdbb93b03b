// Text from strangers made safe to show, by the rules of cli/terminal_text.py (the
// shared vectors hold the two together): controls, format characters (bidi overrides
// such as U+202E reverse what follows; zero-width ones hide), surrogates, private-use
// and unassigned code points, line and paragraph separators become visible escapes
// (\x1b, \u202e, \U000e0001), so what a peer sends is shown as it is, never obeyed.
const UNSAFE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u;
const UNSAFE_ALL = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/gu;

function escape(char) {
  const code = char.codePointAt(0);
  if (code < 0x100) return `\\x${code.toString(16).padStart(2, "0")}`;
  if (code < 0x10000) return `\\u${code.toString(16).padStart(4, "0")}`;
  return `\\U${code.toString(16).padStart(8, "0")}`;
}

export function visible(text) {
  const string = String(text);
  return UNSAFE.test(string) ? string.replace(UNSAFE_ALL, escape) : string;
}
