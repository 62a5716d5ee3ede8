// Owns the canonical JSON forms that RM SDKs serialise a request body into before base64-encoding it as `data`.
import { Buffer } from 'node:buffer';

/**
 * Which SDK's serialiser to imitate.
 * - `go`: RM's own server form (Go `encoding/json` via mxj): keys sorted at every depth, `<>&` as lowercase `\u003c`-style escapes.
 * - `unsortedArrays`: js/clh: like go, but anything inside an array keeps its key order.
 * - `noHtmlEscape`: kt/java: go sorting, `<>&` left raw.
 * - `python`: py `json.dumps(ensure_ascii=True)`: arrays untouched, `<>&` raw, every non-ASCII code unit as `\uxxxx`.
 * - `php`: `json_encode` with HEX_TAG|HEX_AMP|HEX_APOS|UNESCAPED_UNICODE|UNESCAPED_SLASHES on a recursively ksorted array.
 */
export type CanonicalVariant = 'go' | 'unsortedArrays' | 'noHtmlEscape' | 'python' | 'php';

interface VariantRules {
  /** Whether objects nested anywhere below an array still get their keys sorted. */
  readonly sortInsideArrays: boolean;
  /** Whether a top-level array is wrapped as {"object":[…]}, which is what mxj does before RM's Go code re-marshals it. */
  readonly wrapTopLevelArray: boolean;
  /** Returns the escape for one UTF-16 code unit, or undefined to emit it raw. Quote, backslash and C0 controls are handled before this. */
  readonly escapeCodeUnit: (codeUnit: number) => string | undefined;
  /** Whether an unpaired surrogate is written as `\udxxx` (JSON.stringify, Python) rather than raw (which UTF-8 encoding turns into U+FFFD, as Go does). */
  readonly escapeLoneSurrogates: boolean;
}

const LOWER_HTML_ESCAPES: ReadonlyMap<number, string> = new Map([
  [0x3c, '\\u003c'],
  [0x3e, '\\u003e'],
  [0x26, '\\u0026'],
]);

const LINE_TERMINATOR_ESCAPES: ReadonlyMap<number, string> = new Map([
  [0x2028, '\\u2028'],
  [0x2029, '\\u2029'],
]);

const PHP_ESCAPES: ReadonlyMap<number, string> = new Map([
  [0x3c, '\\u003C'],
  [0x3e, '\\u003E'],
  [0x26, '\\u0026'],
  [0x27, '\\u0027'],
  // PHP escapes the JS line terminators unless JSON_UNESCAPED_LINE_TERMINATORS is passed, which the RM SDK does not do.
  [0x2028, '\\u2028'],
  [0x2029, '\\u2029'],
]);

const RULES: Readonly<Record<CanonicalVariant, VariantRules>> = {
  go: {
    sortInsideArrays: true,
    wrapTopLevelArray: true,
    // Go escapes U+2028/U+2029 unconditionally and `<>&` because mxj's Json(true) keeps HTML-safe encoding.
    escapeCodeUnit: (codeUnit) => LOWER_HTML_ESCAPES.get(codeUnit) ?? LINE_TERMINATOR_ESCAPES.get(codeUnit),
    escapeLoneSurrogates: false,
  },
  unsortedArrays: {
    sortInsideArrays: false,
    wrapTopLevelArray: false,
    // js and clh run a plain serialiser and then replace only `<>&`, so the line terminators stay raw.
    escapeCodeUnit: (codeUnit) => LOWER_HTML_ESCAPES.get(codeUnit),
    escapeLoneSurrogates: true,
  },
  noHtmlEscape: {
    sortInsideArrays: true,
    wrapTopLevelArray: false,
    escapeCodeUnit: () => undefined,
    escapeLoneSurrogates: false,
  },
  python: {
    sortInsideArrays: false,
    wrapTopLevelArray: false,
    // ensure_ascii escapes everything outside the printable ASCII range, DEL (0x7f) included.
    escapeCodeUnit: (codeUnit) => (codeUnit > 0x7e ? unicodeEscape(codeUnit) : undefined),
    escapeLoneSurrogates: true,
  },
  php: {
    sortInsideArrays: true,
    wrapTopLevelArray: true,
    escapeCodeUnit: (codeUnit) => PHP_ESCAPES.get(codeUnit),
    escapeLoneSurrogates: false,
  },
};

/** Every serialiser agrees on these short escapes (Go ≥ 1.22, JSON.stringify, Python, PHP, kotlinx). */
const SHORT_ESCAPES: ReadonlyMap<number, string> = new Map([
  [0x22, '\\"'],
  [0x5c, '\\\\'],
  [0x08, '\\b'],
  [0x0c, '\\f'],
  [0x0a, '\\n'],
  [0x0d, '\\r'],
  [0x09, '\\t'],
]);

function unicodeEscape(codeUnit: number): string {
  return `\\u${codeUnit.toString(16).padStart(4, '0')}`;
}

function isHighSurrogate(codeUnit: number): boolean {
  return codeUnit >= 0xd800 && codeUnit <= 0xdbff;
}

function isLowSurrogate(codeUnit: number): boolean {
  return codeUnit >= 0xdc00 && codeUnit <= 0xdfff;
}

function quoteString(text: string, rules: VariantRules): string {
  let out = '"';
  // Runs of characters that need no escaping are copied in one slice, which keeps long ASCII strings cheap.
  let runStart = 0;
  for (let index = 0; index < text.length; index++) {
    const codeUnit = text.charCodeAt(index);
    let escape = SHORT_ESCAPES.get(codeUnit);
    if (escape === undefined && codeUnit < 0x20) escape = unicodeEscape(codeUnit);
    if (escape === undefined) escape = rules.escapeCodeUnit(codeUnit);
    if (escape === undefined && rules.escapeLoneSurrogates) {
      const paired = isHighSurrogate(codeUnit)
        ? isLowSurrogate(text.charCodeAt(index + 1))
        : isLowSurrogate(codeUnit) && isHighSurrogate(text.charCodeAt(index - 1));
      if (!paired && (isHighSurrogate(codeUnit) || isLowSurrogate(codeUnit))) escape = unicodeEscape(codeUnit);
    }
    if (escape !== undefined) {
      out += text.slice(runStart, index) + escape;
      runStart = index + 1;
    }
  }
  return `${out}${text.slice(runStart)}"`;
}

/** Maps a UTF-16 code unit so that numeric order equals code point order (and therefore UTF-8 byte order, which Go sorts by). */
function codePointRank(codeUnit: number): number {
  if (codeUnit >= 0xd800 && codeUnit <= 0xdfff) return codeUnit + 0x2000;
  if (codeUnit >= 0xe000) return codeUnit - 0x800;
  return codeUnit;
}

/** Orders keys by UTF-8 bytes like Go's map marshalling; for ASCII keys this is plain `<` ordering. */
export function compareKeysBytewise(left: string, right: string): number {
  const sharedLength = Math.min(left.length, right.length);
  for (let index = 0; index < sharedLength; index++) {
    const leftUnit = left.charCodeAt(index);
    const rightUnit = right.charCodeAt(index);
    if (leftUnit !== rightUnit) return codePointRank(leftUnit) - codePointRank(rightUnit);
  }
  return left.length - right.length;
}

function isOmittedInObject(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol';
}

function writeValue(value: unknown, key: string, rules: VariantRules, sortKeys: boolean, ancestors: Set<object>): string {
  let current = value;
  // Honouring toJSON keeps Dates and similar values identical to what JSON.stringify would put on the wire.
  if (current !== null && typeof current === 'object' && typeof (current as { toJSON?: unknown }).toJSON === 'function') {
    current = (current as { toJSON: (key: string) => unknown }).toJSON(key);
  }
  if (current === null || current === undefined) return 'null';
  switch (typeof current) {
    case 'boolean':
      return current ? 'true' : 'false';
    case 'number':
      // JSON.stringify prints the shortest round-trip form, which is also what Go prints for a float64.
      return Number.isFinite(current) ? JSON.stringify(current) : 'null';
    case 'string':
      return quoteString(current, rules);
    case 'bigint':
      throw new TypeError('Do not know how to serialize a BigInt');
    case 'object':
      break;
    default:
      return 'null';
  }
  const container = current as object;
  if (ancestors.has(container)) throw new TypeError('Converting circular structure to JSON');
  ancestors.add(container);
  try {
    if (Array.isArray(container)) {
      const childSortKeys = sortKeys && rules.sortInsideArrays;
      // Array.from visits holes (map skips them): a sparse array's holes are null, as JSON.stringify sends them.
      const items = Array.from(container, (item: unknown, index) =>
        isOmittedInObject(item) ? 'null' : writeValue(item, String(index), rules, childSortKeys, ancestors),
      );
      return `[${items.join(',')}]`;
    }
    const record = container as Record<string, unknown>;
    const keys = Object.keys(record).filter((name) => !isOmittedInObject(record[name]));
    if (sortKeys) keys.sort(compareKeysBytewise);
    const members = keys.map(
      (name) => `${quoteString(name, rules)}:${writeValue(record[name], name, rules, sortKeys, ancestors)}`,
    );
    return `{${members.join(',')}}`;
  } finally {
    ancestors.delete(container);
  }
}

/**
 * Serialises a parsed JSON value the way the given RM SDK does before base64.
 * Keys at the top level are always sorted; whether objects below arrays are sorted depends on the variant.
 * Values JSON.stringify would drop (undefined, functions) are dropped; a top-level undefined becomes `null`.
 */
export function canonicalJson(value: unknown, variant: CanonicalVariant = 'go'): string {
  const rules = RULES[variant];
  const root = rules.wrapTopLevelArray && Array.isArray(value) ? { object: value } : value;
  return writeValue(root, '', rules, true, new Set());
}

/**
 * Serialises like canonicalJson but never wraps a top-level array, because PHP's json_encode leaves a list bare.
 * It exists so the server can try both readings of a top-level array body.
 */
export function canonicalJsonUnwrapped(value: unknown, variant: CanonicalVariant): string {
  return writeValue(value, '', RULES[variant], true, new Set());
}

/** Standard padded base64 of the UTF-8 bytes of a string. */
export function utf8Base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** base64 of the Go canonical JSON, or undefined when RM would omit `data` (absent body, `null` or `{}`). */
export function dataBase64(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const json = canonicalJson(value, 'go');
  if (json === '{}' || json === 'null') return undefined;
  return utf8Base64(json);
}
