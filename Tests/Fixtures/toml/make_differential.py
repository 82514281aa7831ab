"""Writes differential.json: TOML documents and what Python's tomllib (a TOML 1.0 parser) makes
of them, for Tests/TailcastCoreTests/TOMLDifferentialTests.swift.

The documents are generated from fragments of every TOML 1.0 construct, valid and invalid,
with random conflicts between keys and tables, and some are mutated byte by byte. Left out:
documents tomllib reads differently from TOML 1.0 as tailcast takes it: integers beyond
64 bits (TOML asks for an error; tomllib keeps them) and leap seconds (`:60`, which RFC 3339
allows; Python's datetime refuses them). Fractions of a second have at most 6 digits, which
tomllib keeps exactly.

    python3 Tests/Fixtures/toml/make_differential.py   # rewrites differential.json (seeded)
"""

from __future__ import annotations

import datetime
import json
import math
import random
import tomllib
from pathlib import Path

R = random.Random(20261203)
KEYS = ['a', 'b', 'c', '"a"', "'b'", 'a.b', 'b.c', '"a.b"', 'a . c', '""', '1', '1.2', 'x-y', '"\\u0061"',
        "'a'.b", 'a."b".c', '"ʎ"', '"\\n"', 'a.b.c', 'ʎ']
VALS = ['1', '+1', '-1', '0', '-0', '01', '1_000', '1__0', '_1', '1_', '0x1F', '0xdead_BEEF', '0X1', '+0x1',
        '0o17', '0o8', '0b101', '0b2', '9223372036854775807', '-9223372036854775808', '0x7FFFFFFFFFFFFFFF',
        '1.0', '1.', '.1', '1e5', '1E+5', '1e-05', '1.5e3', '1e', '1.e3', '01.0', '0.0', '-0.0', '1_0.0_1', '6.626e-34',
        'inf', '+inf', '-nan', 'nan', 'NaN', 'true', 'false', 'True', 'tru',
        '"s"', '"a\\tb"', '"\\u00e9"', '"\\U0001F600"', '"\\uD800"', '"\\x"', '"\\e"', '"tab\tx"', '"un', "'lit'", "'un",
        "'a\\b'", '"""ml"""', '"""\nml"""', '"""a\\\n   b"""', '"""a""b"""', '"""a""""', '"""a"""""', '"""a""""""',
        "'''ml'''", "'''\nml'''", "''''a''''", "'''a''''''", '"""\\  \n  x"""', '"\\b\\f\\r\\"\\\\"',
        '1979-05-27', '1979-05-27T07:32:00', '1979-05-27T07:32:00Z', '1979-05-27 07:32:00.123456-07:00',
        '1979-05-27t07:32:00z', '07:32:00', '07:32:00.5', '07:32', '1979-02-29', '2000-02-29', '1979-05-27T24:00:00',
        '1979-05-27T07:32:00+25:00', '1979-5-27', '1979-05-27T07:32:00.999999+05:30',
        '[]', '[1,2]', '[1,2,]', '[,]', '[1,,2]', '[\n1,\n# c\n2\n]', '[[1],["a"]]', '[{a=1},{b=2}]', '{}', '{a=1}',
        '{a=1,}', '{a.b=1, a.c=2}', '{a=1, a=2}', '{a = [\n1]}', '{a=1\n}', '{ a = { b = 1 } }']
HEADS = ['[a]', '[b]', '[a.b]', '[[a]]', '[[a.b]]', '[[c]]', '[ a . b ]', '["a"]', '[a.b.c]', '[]', '[a', '[[a]',
         '[ [a] ]', "['a'.b]", '[c.d]', '[[c.d]]', '[a.b.c.d]', '[[a.b.c]]']


def value(depth: int = 0) -> str:
    if depth < 2 and R.random() < 0.15:
        items = [value(depth + 1) for _ in range(R.randint(0, 3))]
        return '[' + R.choice([', ', ',', ',\n', ' , ']).join(items) + R.choice(['', ',', ' ', '\n']) + ']'
    if depth < 2 and R.random() < 0.1:
        return '{' + ', '.join(f'{R.choice(KEYS)} = {value(depth + 1)}' for _ in range(R.randint(0, 3))) + '}'
    return R.choice(VALS)


def line() -> str:
    r = R.random()
    if r < 0.2:
        return R.choice(HEADS) + R.choice(['', ' # c', '  '])
    if r < 0.25:
        return R.choice(['', '# comment', '   ', '\t# x'])
    return f'{R.choice(KEYS)}{R.choice([" = ", "=", " =", "  =  "])}{value()}' + R.choice(['', ' # c', '', ' x'])


def mutate(text: str) -> str:
    b = bytearray(text.encode())
    for _ in range(R.randint(1, 3)):
        if not b:
            break
        i = R.randrange(len(b))
        op = R.random()
        if op < 0.4:
            del b[i]
        elif op < 0.8:
            b[i:i] = R.choice([b'"', b"'", b'[', b']', b'{', b'}', b',', b'\n', b'=', b'.', b'#', b'\\', b'\r',
                               b'\r\n', b' ', b'_', b'0', b'\x01', b'\x7f'])
        else:
            b[i:i + 1] = bytes([b[i]]) * 2
    return b.decode('utf-8', errors='strict')


def tagged(v):
    """toml-test's tagged JSON: every leaf as {"type", "value"}."""
    if isinstance(v, dict):
        return {k: tagged(x) for k, x in v.items()}
    if isinstance(v, list):
        return [tagged(x) for x in v]
    if isinstance(v, bool):
        return {'type': 'bool', 'value': 'true' if v else 'false'}
    if isinstance(v, int):
        if not -2**63 <= v < 2**63:
            raise OverflowError
        return {'type': 'integer', 'value': str(v)}
    if isinstance(v, float):
        return {'type': 'float', 'value': 'nan' if math.isnan(v) else repr(v)}
    if isinstance(v, str):
        return {'type': 'string', 'value': v}
    if isinstance(v, datetime.datetime):
        s = f'{v.year:04d}-{v.month:02d}-{v.day:02d}T{clock(v)}'
        if v.tzinfo is not None:
            off = int(v.utcoffset().total_seconds() // 60)
            s += 'Z' if off == 0 else ('-' if off < 0 else '+') + f'{abs(off) // 60:02d}:{abs(off) % 60:02d}'
        return {'type': 'datetime', 'value': s}
    if isinstance(v, datetime.date):
        return {'type': 'datetime', 'value': f'{v.year:04d}-{v.month:02d}-{v.day:02d}'}
    if isinstance(v, datetime.time):
        return {'type': 'datetime', 'value': clock(v)}
    raise TypeError(v)


def clock(t) -> str:
    frac = ('.' + f'{t.microsecond:06d}'.rstrip('0')) if t.microsecond else ''
    return f'{t.hour:02d}:{t.minute:02d}:{t.second:02d}{frac}'


def main() -> None:
    valid: dict[str, object] = {}
    invalid: set[str] = set()
    while len(valid) < 400 or len(invalid) < 400:
        text = '\n'.join(line() for _ in range(R.randint(1, 6))) + R.choice(['\n', '', '\r\n'])
        if R.random() < 0.3:
            try:
                text = mutate(text)
            except UnicodeDecodeError:
                continue
        if ':60' in text or text in valid or text in invalid:
            continue
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            if len(invalid) < 400:
                invalid.add(text)
            continue
        try:
            expect = tagged(doc)
        except OverflowError:
            continue
        if len(valid) < 400:
            valid[text] = expect
    cases = [{'toml': t, 'expect': e} for t, e in valid.items()] + [{'toml': t, 'expect': None} for t in sorted(invalid)]
    out = Path(__file__).with_name('differential.json')
    out.write_text('[\n' + ',\n'.join(json.dumps(c, ensure_ascii=False, sort_keys=True) for c in cases) + '\n]\n')
    print(f'{out}: {len(valid)} valid, {len(invalid)} invalid documents')


if __name__ == '__main__':
    main()
