"""The one parse layer under every file the app reads: resource-safe reading, bounded YAML/JSON,
and a small declarative schema whose errors read ``file: path.to.field: what is wrong``.

Why a schema here and not checks scattered over the readers: a wrong-typed field used to travel
into deep code (``graph_ops: {set: hello}`` failed as an AttributeError three calls later); the
schema stops it at the door and names the field. Readers never follow the file into a FIFO or a
device (they would block or read forever), check the size before reading, and bound nesting
depth (PyYAML and json recurse, so ``[[[[…]]]]`` used to end in a RecursionError).
"""
from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path

from studio.core import errors as E

MiB = 1 << 20
MAX_YAML_BYTES = 16 * MiB      # architecture/project/run.yaml: real ones are a few kB
MAX_DEPTH = 48                 # the deepest real file nests 6 levels
MAX_ITEMS = 200_000            # entries in one parsed document
MAX_SHOWN = 60                 # characters of a value quoted in a message


def short(value, limit: int = MAX_SHOWN) -> str:
    """repr() of a value cut to ``limit`` characters, so a 2 MB id never becomes a 2 MB line."""
    r = repr(value)
    return r if len(r) <= limit else r[: limit - 1] + "…"


def _cut(text: str, limit: int = 120) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ----------------------------------------------------------------------------- reading files
def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def os_reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def read_bytes(path, limit: int, what: str = "file") -> bytes:
    """A regular file's bytes, at most ``limit`` of them; anything else is one LoadError line.

    The file is opened non-blocking and checked with fstat on the open descriptor, so a FIFO
    cannot block the open and nothing swapped in between a check and the read slips through."""
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise E.LoadError(f"{_cut(p)}: cannot read the {what} ({os_reason(exc)})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise E.LoadError(f"{_cut(p)}: is {_kind_of(st.st_mode)}, not a {what}")
        if st.st_size > limit:
            raise E.LoadError(f"{_cut(p)}: {st.st_size:,} bytes; a {what} may be at most {limit:,} bytes")
        chunks, got = [], 0
        while True:
            b = os.read(fd, min(8 * MiB, limit + 1 - got))
            if not b:
                break
            chunks.append(b)
            got += len(b)
            if got > limit:  # grew while we read it
                raise E.LoadError(f"{_cut(p)}: more than {limit:,} bytes; a {what} may be at most {limit:,} bytes")
        return b"".join(chunks)
    except OSError as exc:
        raise E.LoadError(f"{_cut(p)}: cannot read the {what} ({os_reason(exc)})") from None
    finally:
        os.close(fd)


def decode_text(data: bytes, where: str, what: str = "file") -> str:
    """UTF-8 text; a NUL byte or a non-UTF-8 byte is named with its offset."""
    nul = data.find(b"\0")
    if nul >= 0:
        raise E.LoadError(f"{where}: contains a NUL byte at offset {nul:,}; a {what} is UTF-8 text, this looks binary")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise E.LoadError(f"{where}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start:,}); "
                          f"save the {what} as UTF-8") from None


def read_text(path, limit: int = MAX_YAML_BYTES, what: str = "file") -> str:
    return decode_text(read_bytes(path, limit, what), _cut(path), what)


def check_depth(data, where: str, max_depth: int = MAX_DEPTH, max_items: int = MAX_ITEMS) -> None:
    """Iteratively bound the nesting depth and entry count of parsed data (no recursion here)."""
    stack, items = [(data, 1)], 0
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            children = list(v.values())
        elif isinstance(v, list):
            children = v
        else:
            continue
        if d > max_depth:
            raise E.LoadError(f"{where}: nested more than {max_depth} levels deep")
        items += len(children)
        if items > max_items:
            raise E.LoadError(f"{where}: more than {max_items:,} entries")
        stack.extend((c, d + 1) for c in children)


def load_yaml(text: str, where: str):
    """yaml.safe_load with bounded size and depth; errors are one line naming where."""
    import yaml
    if len(text) > MAX_YAML_BYTES:
        raise E.LoadError(f"{where}: {len(text):,} characters; a YAML file may be at most {MAX_YAML_BYTES:,}")
    if "\0" in text:
        raise E.LoadError(f"{where}: contains a NUL byte at offset {text.index(chr(0)):,}; YAML is text, this looks binary")
    try:
        data = yaml.safe_load(text)
    except RecursionError:
        raise E.LoadError(f"{where}: nested more than {MAX_DEPTH} levels deep") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or (str(exc).splitlines() or ["not valid YAML"])[0]
        raise E.LoadError(f"{where}: malformed YAML{at}: {_cut(problem, 100)}") from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. a timestamp no date can hold
        raise E.LoadError(f"{where}: malformed YAML: {_cut(exc, 100)}") from None
    check_depth(data, where)
    return data


def load_json(text: str, where: str):
    """json.loads with bounded depth; a 10^6-digit number or a bad escape is one line."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise E.LoadError(f"{where}: nested more than {MAX_DEPTH} levels deep") from None
    except json.JSONDecodeError as exc:
        raise E.LoadError(f"{where}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except ValueError as exc:  # int too large to convert (Python's 4300-digit limit)
        raise E.LoadError(f"{where}: not usable JSON ({_cut(exc, 80)})") from None
    check_depth(data, where)
    return data


# ----------------------------------------------------------------------------- schema
class Spec:
    """Checks one value; ``check`` returns the (possibly normalised) value or raises."""
    def check(self, v, path: str):
        return v

    @staticmethod
    def fail(path: str, msg: str):
        raise SchemaError(f"{path or 'top level'}: {msg}")


class SchemaError(Exception):
    pass


def _tname(v) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "an integer",
            float: "a number", type(None): "empty (null)"}.get(type(v), type(v).__name__)


class Any_(Spec):
    pass


class Int(Spec):
    def __init__(self, lo: int | None = None, hi: int | None = None, what: str = ""):
        self.lo, self.hi, self.what = lo, hi, what

    def check(self, v, path):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and not (math.isfinite(v) and v.is_integer())):
            self.fail(path, f"must be an integer, got {short(v)} ({_tname(v)})")
        v = int(v)
        if self.lo is not None and v < self.lo:
            self.fail(path, f"{v} is below the minimum {self.lo}{self.what}")
        if self.hi is not None and v > self.hi:
            self.fail(path, f"{short(v, 24)} is above the maximum {self.hi:,}{self.what}")
        return v


class Float(Spec):
    def __init__(self, lo: float | None = None, hi: float | None = None, lo_open: bool = False):
        self.lo, self.hi, self.lo_open = lo, hi, lo_open

    def check(self, v, path):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.fail(path, f"must be a number, got {short(v)} ({_tname(v)})")
        if not math.isfinite(v):
            self.fail(path, f"must be a finite number, got {v}")
        if self.lo is not None and (v < self.lo or (self.lo_open and v == self.lo)):
            self.fail(path, f"{v} must be {'above' if self.lo_open else 'at least'} {self.lo}")
        if self.hi is not None and v > self.hi:
            self.fail(path, f"{v} is above the maximum {self.hi}")
        return v


class Str(Spec):
    def __init__(self, max_len: int = 4096, choices: tuple | None = None, coerce_scalar: bool = False):
        self.max_len, self.choices, self.coerce_scalar = max_len, choices, coerce_scalar

    def check(self, v, path):
        if self.coerce_scalar and isinstance(v, (int, float)) and not isinstance(v, bool):
            v = str(v)
        if not isinstance(v, str):
            self.fail(path, f"must be text, got {short(v)} ({_tname(v)})")
        if len(v) > self.max_len:
            self.fail(path, f"is {len(v):,} characters long; at most {self.max_len:,}")
        if self.choices and v not in self.choices:
            self.fail(path, f"{short(v)} is not one of {', '.join(self.choices)}")
        return v


class Bool(Spec):
    def check(self, v, path):
        if not isinstance(v, bool):
            self.fail(path, f"must be true or false, got {short(v)}")
        return v


class Null(Spec):
    def check(self, v, path):
        if v is not None:
            self.fail(path, f"must be empty, got {short(v)}")
        return v


class OneOf(Spec):
    def __init__(self, *specs: Spec, what: str = ""):
        self.specs, self.what = specs, what

    def check(self, v, path):
        last = None
        for s in self.specs:
            try:
                return s.check(v, path)
            except SchemaError as exc:
                last = exc
        if self.what:
            self.fail(path, f"must be {self.what}, got {short(v)} ({_tname(v)})")
        raise last


class Opt(Spec):
    """None, or a value that ``spec`` accepts (its error is the one shown)."""
    def __init__(self, spec: Spec):
        self.spec = spec

    def check(self, v, path):
        return None if v is None else self.spec.check(v, path)


class List(Spec):
    def __init__(self, item: Spec = Any_(), max_len: int = 100_000, min_len: int = 0):
        self.item, self.max_len, self.min_len = item, max_len, min_len

    def check(self, v, path):
        if not isinstance(v, list):
            self.fail(path, f"must be a list, got {short(v)} ({_tname(v)})")
        if len(v) > self.max_len:
            self.fail(path, f"has {len(v):,} entries; at most {self.max_len:,}")
        if len(v) < self.min_len:
            self.fail(path, f"needs at least {self.min_len} entries, has {len(v)}")
        return [self.item.check(x, f"{path}[{i}]") for i, x in enumerate(v)]


class Map(Spec):
    """A mapping: ``fields`` are the known keys (``required`` of them must be present); other
    keys are refused unless ``values`` is given, which then checks every other key's value
    (keys must be text, at most ``key_len`` characters)."""
    def __init__(self, fields: dict | None = None, required: tuple = (), values: Spec | None = None,
                 key_len: int = 200, max_len: int = 100_000, key: Spec | None = None):
        self.fields, self.required, self.values = fields or {}, required, values
        self.key_len, self.max_len, self.key = key_len, max_len, key

    def check(self, v, path):
        if not isinstance(v, dict):
            self.fail(path, f"must be a mapping of keys, got {short(v)} ({_tname(v)})")
        if len(v) > self.max_len:
            self.fail(path, f"has {len(v):,} keys; at most {self.max_len:,}")
        out = {}
        for k, x in v.items():
            if not isinstance(k, str):
                self.fail(path, f"key {short(k)} must be text (a name), not {_tname(k)}")
            if len(k) > self.key_len:
                self.fail(path, f"key {short(k)} is {len(k):,} characters long; at most {self.key_len}")
            sub = f"{path}.{k}" if path else k
            if k in self.fields:
                out[k] = self.fields[k].check(x, sub)
            elif self.values is not None:
                if self.key is not None:
                    self.key.check(k, sub)
                out[k] = self.values.check(x, sub)
            else:
                known = ", ".join(sorted(self.fields))
                self.fail(path, f"unknown key {short(k)} (known: {_cut(known, 200)})")
        for k in self.required:
            if k not in v:
                self.fail(path, f"missing required key {k!r}")
        return out


def validate_data(data, spec: Spec, where: str):
    """Check parsed data against spec; returns the normalised data or raises one LoadError line."""
    try:
        return spec.check(data, "")
    except SchemaError as exc:
        raise E.LoadError(f"{where}: {exc}") from None
