// The common syntax of field values (RFC 9110 §5.6) as a specification: OWS,
// tokens, quoted-strings, lists and parameters, each valid and broken, and
// never a character but SP and HTAB taken for whitespace.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  isOws, parseList, scanParameters, scanQuotedString, scanToken, skipOws, splitList, trimOws, unquote,
} from '../src/http/field-grammar.js';
import { showBytes } from './parser-harness.js';

/** Characters String#trim or \s treat as whitespace that OWS does not include. */
const NOT_OWS = ['\xa0', '\x0b', '\x0c', '\r', '\n', '\u2028', '\ufeff', '\u3000'];

describe('OWS (§5.6.3)', () => {
  test('is SP and HTAB only', () => {
    assert.equal(isOws(0x20), true);
    assert.equal(isOws(0x09), true);
    for (const c of NOT_OWS) assert.equal(isOws(c.charCodeAt(0)), false, showBytes(c));
  });

  test('trimOws strips SP and HTAB around a value and keeps them inside it', () => {
    assert.equal(trimOws(' \t a \t b\t '), 'a \t b');
    assert.equal(trimOws(''), '');
    assert.equal(trimOws(' \t'), '');
  });

  test('trimOws keeps every other character that String#trim would strip', () => {
    for (const c of NOT_OWS) {
      assert.equal(trimOws(`${c}a${c}`), `${c}a${c}`, showBytes(c));
      assert.notEqual(`${c}a${c}`.trim(), `${c}a${c}`, `String#trim strips ${showBytes(c)}: why it is never used`);
    }
  });

  test('skipOws stops at the first character that is not SP or HTAB', () => {
    assert.equal(skipOws('a \t b', 1), 4);
    assert.equal(skipOws('a \xa0b', 1), 2);
    assert.equal(skipOws('a  ', 1), 3);
  });
});

describe('token (§5.6.2)', () => {
  test('scanToken reads every tchar and stops at the first other character', () => {
    const tchars = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    assert.equal(scanToken(tchars, 0), tchars.length);
    for (const c of ['(', ')', ',', '/', ':', ';', '<', '=', '>', '?', '@', '[', '\\', ']', '{', '}', '"', ' ', '\t', '\x7f', '\x00', '\xa0', '\xe9', '\u0100']) {
      assert.equal(scanToken(`ab${c}cd`, 0), 2, showBytes(c));
    }
  });

  test('scanToken returns pos itself when no token starts there', () => {
    assert.equal(scanToken('', 0), 0);
    assert.equal(scanToken('a=b', 1), 1);
  });
});

describe('quoted-string (§5.6.4)', () => {
  const valid: Array<[string, string]> = [
    ['""', ''],
    ['"abc"', 'abc'],
    ['" \t!#[]~"', ' \t!#[]~'],
    ['"\xe9\x80\xff"', '\xe9\x80\xff'],
    ['"a\\"b"', 'a"b'],
    ['"a\\\\"', 'a\\'],
    ['"\\ \\\t\\q\\\xe9"', ' \tq\xe9'],
  ];
  for (const [quoted, content] of valid) {
    test(`reads ${showBytes(quoted)} whole, saying ${showBytes(content)}`, () => {
      assert.equal(scanQuotedString(quoted + ',x', 0), quoted.length);
      assert.equal(unquote(quoted), content);
    });
  }

  const invalid: Array<[string, string]> = [
    ['no opening quote', 'abc"'],
    ['no closing quote', '"abc'],
    ['only an escaped closing quote', '"abc\\"'],
    ['a backslash at the end', '"abc\\'],
    ['a CR inside', '"a\rb"'],
    ['an LF inside', '"a\nb"'],
    ['NUL inside', '"a\x00b"'],
    ['DEL inside', '"a\x7fb"'],
    ['a quoted-pair of a control character', '"a\\\x01"'],
    ['a quoted-pair of DEL', '"a\\\x7f"'],
    ['a character beyond latin1', '"a\u0100"'],
  ];
  for (const [what, s] of invalid) {
    test(`rejects a quoted-string with ${what}: ${showBytes(s)}`, () => {
      assert.equal(scanQuotedString(s, 0), -1);
    });
  }
});

describe('lists (§5.6.1)', () => {
  const valid: Array<[string, string[]]> = [
    ['a', ['a']],
    ['a,b', ['a', 'b']],
    ['a , b', ['a', 'b']],
    ['a\t,\tb', ['a', 'b']],
    ['', []],
    [',', []],
    [', ,', []],
    [', a,, b ,', ['a', 'b']],
    ['a,\t ,b', ['a', 'b']],
  ];
  for (const [value, elements] of valid) {
    test(`parseList reads ${showBytes(value)} as ${JSON.stringify(elements)}, skipping empty elements`, () => {
      assert.deepEqual(parseList(value, scanToken), elements);
    });
  }

  const invalid: Array<[string, string]> = [
    ['OWS at the start (the field line has removed it)', ' a'],
    ['OWS at the end', 'a '],
    ['an element that does not scan', 'a,b/c'],
    ['two elements without a comma', 'a b'],
    ['a semicolon instead of a comma', 'a;b'],
    ['0xA0 before an element', 'a,\xa0b'],
    ['0xA0 after an element', 'a\xa0,b'],
    ['0xA0 at the end', 'a\xa0'],
    ['a vertical tab around a comma', 'a\x0b,b'],
  ];
  for (const [what, value] of invalid) {
    test(`parseList rejects ${what}: ${showBytes(value)}`, () => {
      assert.equal(parseList(value, scanToken), null);
    });
  }

  test('splitList splits at commas outside quoted-strings, trims OWS and drops empty elements', () => {
    assert.deepEqual(splitList('close, keep-alive'), ['close', 'keep-alive']);
    assert.deepEqual(splitList(' \ta ,, b\t, '), ['a', 'b']);
    assert.deepEqual(splitList('a;q="1,2", b'), ['a;q="1,2"', 'b']);
    assert.deepEqual(splitList('a, "b, c" d ,e'), ['a', '"b, c" d', 'e']);
    assert.deepEqual(splitList(',,'), []);
    assert.deepEqual(splitList(''), []);
  });

  test('splitList leaves an unclosed quoted-string, to the end of the value, to the element check', () => {
    assert.deepEqual(splitList('a, "b, c'), ['a', '"b, c']);
  });

  test('splitList keeps 0xA0 and other non-OWS characters as part of an element', () => {
    assert.deepEqual(splitList('\xa0close, keep-alive\xa0'), ['\xa0close', 'keep-alive\xa0']);
    assert.deepEqual(splitList('close\x0b'), ['close\x0b']);
  });
});

describe('parameters (§5.6.6)', () => {
  /** The parameters of s after its first token, or null when they are malformed or do not reach the end. */
  function parameters(s: string, hasBwsAroundEquals = false): string[] | null {
    const out: string[] = [];
    const end = scanParameters(s, scanToken(s, 0), out, hasBwsAroundEquals);
    return end === s.length ? out : null;
  }

  test('reads names lower-cased and values as sent, quoted values unquoted', () => {
    assert.deepEqual(parameters('x;a=1'), ['a', '1']);
    assert.deepEqual(parameters('x;Q=0.5;LEVEL=Hi'), ['q', '0.5', 'level', 'Hi']);
    assert.deepEqual(parameters('x ; a=1 ;\tb="two; \\"2\\""'), ['a', '1', 'b', 'two; "2"']);
    assert.deepEqual(parameters('x;a=""'), ['a', '']);
    assert.deepEqual(parameters('x'), []);
  });

  test('allows empty parameters', () => {
    assert.deepEqual(parameters('x;'), []);
    assert.deepEqual(parameters('x;;a=1; ;'), ['a', '1']);
  });

  test('rejects a name without "=", an "=" without a value, and a value neither token nor quoted-string', () => {
    for (const s of ['x;a', 'x;a=', 'x;a=;b=1', 'x;=1', 'x;a="1', 'x;a=1/2', 'x;a="1"2', 'x;a=\xa01', 'x;a=1\xa0']) {
      assert.equal(parameters(s), null, showBytes(s));
    }
  });

  test('allows BWS around "=" only where asked to (RFC 9112 §7 transfer-parameter)', () => {
    assert.equal(parameters('x;a = 1'), null);
    assert.deepEqual(parameters('x;a = 1', true), ['a', '1']);
    assert.deepEqual(parameters('x;a\t=\t"1"', true), ['a', '1']);
    assert.equal(parameters('x;a =\xa01', true), null);
  });

  test('stops before the OWS that follows the last parameter', () => {
    assert.equal(scanParameters('x;a=1 , y', 1, null), 5);
    assert.equal(scanParameters('x , y', 1, null), 1);
  });
});
