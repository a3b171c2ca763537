/** What one pass over a JSON text found, without building the value. */
export interface JsonScan {
  /** True exactly when `JSON.parse(text)` would succeed. */
  valid: boolean;
  /** Deepest nesting of arrays/objects (0 for a bare scalar); meaningful only when valid. */
  depth: number;
  /**
   * An object key that is, or may be, `__proto__` or `constructor` (a key with a backslash
   * escape counts, as it may spell one). Such a text needs the full prototype-poisoning check.
   */
  suspectKey: boolean;
}

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;

const isWhitespace = (c: number): boolean => c === 32 || c === 10 || c === 13 || c === 9;
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isHex = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
/** After a backslash: " \ / b f n r t (u is handled apart). */
const isSimpleEscape = (c: number): boolean => c === 34 || c === 92 || c === 47 || c === 98 || c === 102 || c === 110 || c === 114 || c === 116;

const INVALID: JsonScan = Object.freeze({ valid: false, depth: 0, suspectKey: false });

/**
 * Validates a JSON text (RFC 8259: exactly what `JSON.parse` accepts) and measures its nesting in
 * one pass, allocating nothing but a stack of open containers. On the ingest path the body is
 * stored as received and never needed as a value, so building it with `JSON.parse` would only
 * make garbage. Iterative, so a text nested 100,000 deep cannot overflow the call stack.
 * Differential tests hold it to `JSON.parse`.
 */
export function scanJson(text: string): JsonScan {
  const length = text.length;
  /** One entry per open container: true for an object. */
  const open: boolean[] = [];
  let deepest = 0;
  let suspectKey = false;
  let i = 0;
  // What the scanner expects next.
  let expectKey = false;
  for (;;) {
    while (isWhitespace(text.charCodeAt(i))) i++;
    let c = text.charCodeAt(i);

    if (expectKey) {
      // An object key: a string, a colon, then a value.
      if (c !== QUOTE) return INVALID;
      const start = i + 1;
      const end = closingQuote(text, start);
      if (end === -1) return INVALID;
      const keyLength = end - start;
      if (hasBackslash(text, start, end) || ((keyLength === 9 || keyLength === 11) && isPoisonName(text.slice(start, end)))) suspectKey = true;
      i = end + 1;
      while (isWhitespace(text.charCodeAt(i))) i++;
      if (text.charCodeAt(i) !== COLON) return INVALID;
      i++;
      expectKey = false;
      continue;
    }

    // A value.
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      i++;
      while (isWhitespace(text.charCodeAt(i))) i++;
      if (text.charCodeAt(i) === (c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET)) {
        // Empty: still a level of nesting, and a complete value.
        if (open.length + 1 > deepest) deepest = open.length + 1;
        i++;
      } else {
        open.push(c === OPEN_BRACE);
        if (open.length > deepest) deepest = open.length;
        expectKey = c === OPEN_BRACE;
        continue;
      }
    } else if (c === QUOTE) {
      const end = closingQuote(text, i + 1);
      if (end === -1) return INVALID;
      i = end + 1;
    } else if (c === MINUS || isDigit(c)) {
      // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
      if (c === MINUS) c = text.charCodeAt(++i);
      if (c === ZERO) i++;
      else if (isDigit(c)) while (isDigit(text.charCodeAt(i))) i++;
      else return INVALID;
      if (text.charCodeAt(i) === DOT) {
        if (!isDigit(text.charCodeAt(++i))) return INVALID;
        while (isDigit(text.charCodeAt(i))) i++;
      }
      c = text.charCodeAt(i);
      if (c === 101 || c === 69 /* e E */) {
        c = text.charCodeAt(++i);
        if (c === 43 || c === MINUS) i++;
        if (!isDigit(text.charCodeAt(i))) return INVALID;
        while (isDigit(text.charCodeAt(i))) i++;
      }
    } else if (text.startsWith('true', i)) i += 4;
    else if (text.startsWith('false', i)) i += 5;
    else if (text.startsWith('null', i)) i += 4;
    else return INVALID;

    // After a complete value: close containers, or move on to the next element.
    for (;;) {
      while (isWhitespace(text.charCodeAt(i))) i++;
      if (open.length === 0) return i === length ? { valid: true, depth: deepest, suspectKey } : INVALID;
      const inObject = open[open.length - 1] === true;
      c = text.charCodeAt(i);
      if (c === COMMA) {
        i++;
        expectKey = inObject;
        break;
      }
      if (c !== (inObject ? CLOSE_BRACE : CLOSE_BRACKET)) return INVALID;
      i++;
      open.pop();
    }
  }
}

/** The index of the quote that ends a string whose first character is at `i`, or -1 if the string is invalid. */
function closingQuote(text: string, i: number): number {
  const length = text.length;
  for (;;) {
    if (i >= length) return -1;
    const c = text.charCodeAt(i);
    if (c === QUOTE) return i;
    if (c < 0x20) return -1;
    if (c === BACKSLASH) {
      const next = text.charCodeAt(i + 1);
      if (next === 117 /* u */) {
        if (!(isHex(text.charCodeAt(i + 2)) && isHex(text.charCodeAt(i + 3)) && isHex(text.charCodeAt(i + 4)) && isHex(text.charCodeAt(i + 5)))) return -1;
        i += 6;
      } else if (isSimpleEscape(next)) i += 2;
      else return -1;
    } else i++;
  }
}

function hasBackslash(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (text.charCodeAt(i) === BACKSLASH) return true;
  return false;
}

function isPoisonName(key: string): boolean {
  return key === '__proto__' || key === 'constructor';
}
