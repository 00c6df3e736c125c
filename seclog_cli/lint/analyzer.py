"""Find secrets in logging calls by reading a module's syntax tree (nothing is executed).

A logging call is a ``debug/info/warning/error/exception/critical/log`` method
called on ``logging`` or on something named like a logger (``logger``, ``log``,
``self.logger``, ``app.logger``, ``structlog.get_logger()``), or a ``print`` to
``sys.stderr``. Its message, ``%``/``.format``/f-string arguments, ``extra=`` and
structlog-style keyword fields are searched for values named like secrets and
for whole request objects, headers, cookies or bodies.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

from .rules import RULES, SecretNames, split_words

__all__ = ["Finding", "analyze_tree"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem at one place. Lines and columns are 1-based."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    rule: str
    message: str
    # The lines of the whole logging call: a suppression comment on any of them applies.
    call_lines: tuple[int, int] = (0, 0)

    @property
    def level(self) -> str:
        return RULES[self.rule].level


_LEVEL_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log", "msg"}
    | {"success", "trace"}  # loguru's extra levels
)
_NO_CONTEXT_LEVELS = frozenset({"warning", "warn", "error", "critical", "fatal"})
_LOGGER_NAME = re.compile(r"^_*(?:log|logger|logging|structlog|\w*_log|\w*logger)$", re.IGNORECASE)
_LOGGER_FACTORIES = frozenset({"getLogger", "get_logger", "getlogger", "bind", "new", "opt"})
# Calls that return a logger whatever they are called on.
_LOGGER_MAKERS = frozenset({"getLogger", "get_logger", "get_task_logger", "getChild"})
# Logger methods whose keyword arguments are fields of every later record.
_BINDERS = frozenset({"bind", "new", "contextualize"})
# Request attributes that hold headers, cookies or the body as a whole.
_REQUEST_PARTS = frozenset(
    {"headers", "cookies", "COOKIES", "META", "body", "data", "form", "json", "POST", "environ"}
)
_REQUEST_NAMES = frozenset({"request", "req"})
# Attributes that hold the value of their owner: ``form.password.data`` is the password.
_VALUE_ATTRS = frozenset({"data", "value", "raw", "text", "plaintext"})
# Attributes that hold a whole submitted form: every field, passwords included.
_FORM_DATA = frozenset({"cleaned_data"})
# Calls whose result does not reveal their argument: lengths, flags, masks.
_SAFE_CALLS = frozenset(
    {"len", "bool", "type", "id", "isinstance", "hasattr", "callable", "int", "float", "hash"}
)
_SAFE_PREFIXES = (
    *("is", "has", "check", "verify", "validate"),
    *("mask", "redact", "obfuscate", "count"),
)
# Calls that carry their argument through: str(password), json.dumps(request.headers).
_PASS_FUNCS = frozenset(
    {"str", "repr", "format", "bytes", "ascii", "dict", "list", "tuple", "vars", "dumps", "pformat"}
)
_PASS_METHODS = frozenset(
    {"strip", "lstrip", "rstrip", "lower", "upper", "casefold", "title", "decode", "encode"}
    | {"hex", "replace", "format", "items", "values", "to_dict", "get_secret_value"}
)
_KEY_METHODS = frozenset({"get", "pop", "getlist", "getenv", "setdefault", "get_header"})
_GETTER_VERBS = frozenset({"get", "fetch", "load", "read", "generate", "create", "make", "decrypt"})
_GENERIC_MESSAGE = re.compile(
    r"^\W*(?:(?:an?\s+)?(?:unexpected\s+|unknown\s+|internal\s+|unhandled\s+)?"
    r"(?:error|exception|failure|problem)(?:\s+(?:has\s+)?(?:occurred|occured|happened))?"
    r"(?:\s+(?:during|while|in)(?:\s+\w+){1,2})?"
    r"|something\s+went\s+wrong|oops|failed|fail)\W*$",
    re.IGNORECASE,
)


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _const_str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _callee_name(func: ast.AST) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


@dataclass(frozen=True, slots=True)
class _Loggers:
    """Names and attributes a module binds to loggers (``audit = structlog.get_logger()``)."""

    names: frozenset[str] = frozenset()
    attrs: frozenset[str] = frozenset()


def _is_logger(node: ast.AST, known: _Loggers = _Loggers()) -> bool:
    """Whether a call's receiver looks like a logger (or the logging module)."""
    if isinstance(node, ast.Name):
        return node.id in known.names or bool(_LOGGER_NAME.match(node.id))
    if isinstance(node, ast.Attribute):
        return node.attr in known.attrs or bool(_LOGGER_NAME.match(node.attr))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name):
        name = _callee_name(node.func)
        if name in _LOGGER_MAKERS:
            return True
        if name in _LOGGER_FACTORIES and isinstance(node.func, ast.Attribute):
            return _is_logger(node.func.value, known)
    return False


def _find_loggers(tree: ast.AST) -> _Loggers:
    """Follow loggers through assignments and imports, so aliases are recognised too.

    Two rounds catch chains (``base = get_logger(); audit = base.bind(...)``); names are
    not scoped, a simplification that costs nothing in practice.
    """
    known = _Loggers()
    assignments: list[tuple[list[ast.expr], ast.expr]] = []
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            assignments.append((node.targets, node.value))
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            assignments.append(([node.target], node.value))
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if node.module == "loguru" or _LOGGER_NAME.match(alias.name):
                    names.add(alias.asname or alias.name)
    attrs: set[str] = set()
    for _ in range(2):
        known = _Loggers(frozenset(names), frozenset(attrs))
        for targets, value in assignments:
            if not _is_logger(value, known):
                continue
            for target in targets:
                if isinstance(target, ast.Name):
                    names.add(target.id)
                elif isinstance(target, ast.Attribute):
                    attrs.add(target.attr)
    return _Loggers(frozenset(names), frozenset(attrs))


class _Hit:
    __slots__ = ("kind", "label", "node")

    def __init__(self, node: ast.AST, kind: str, label: str) -> None:
        self.node, self.kind, self.label = node, kind, label


class _Scanner:
    """Finds secret-named values and whole request data inside one expression."""

    def __init__(self, secret: SecretNames) -> None:
        self.secret = secret

    def request_data(self, node: ast.AST, *, bare: bool) -> str | None:
        dotted = _dotted(node)
        if isinstance(node, ast.Call) and _callee_name(node.func) == "get_json":
            dotted = _dotted(node.func)
        if dotted is None:
            return None
        parts = dotted.split(".")
        if parts[-1] in ("get_json",):
            parts = [*parts[:-1], "json"]
        if bare and parts[-1] == "request":  # "req" alone is too often something else
            return dotted
        if len(parts) >= 2 and parts[-1] in _REQUEST_PARTS and parts[-2] in _REQUEST_NAMES:
            return ".".join(parts)
        return None

    def scan(self, node: ast.AST, *, bare_request: bool) -> Iterator[_Hit]:
        if isinstance(node, ast.Constant):
            return
        found = self.request_data(node, bare=bare_request)
        if found is not None:
            yield _Hit(node, "request", found)
            return
        if isinstance(node, ast.Name):
            if self.secret(node.id):
                yield _Hit(node, "secret", node.id)
        elif isinstance(node, ast.Attribute):
            if node.attr in _FORM_DATA:
                yield _Hit(node, "request", _dotted(node) or node.attr)
            elif node.attr in _VALUE_ATTRS:
                yield from self.scan(node.value, bare_request=False)
            elif self.secret(node.attr):
                yield _Hit(node, "secret", _dotted(node) or node.attr)
        elif isinstance(node, ast.Subscript):
            key = _const_str(node.slice)
            if key is not None:
                if self.secret(key):
                    yield _Hit(node, "secret", f"{_dotted(node.value) or '...'}[{key!r}]")
            else:
                yield from self.scan(node.value, bare_request=False)
        elif isinstance(node, ast.Call):
            yield from self._scan_call(node, bare_request)
        elif isinstance(node, ast.JoinedStr):
            for value in node.values:
                yield from self.scan(value, bare_request=bare_request)
        elif isinstance(node, ast.FormattedValue):
            yield from self.scan(node.value, bare_request=bare_request)
        elif isinstance(node, ast.BinOp):
            yield from self.scan(node.left, bare_request=bare_request)
            yield from self.scan(node.right, bare_request=bare_request)
        elif isinstance(node, ast.Tuple | ast.List | ast.Set):
            for elt in node.elts:
                yield from self.scan(elt, bare_request=bare_request)
        elif isinstance(node, ast.Dict):
            yield from self.scan_dict(node, bare_request=bare_request)
        elif isinstance(node, ast.IfExp):
            yield from self.scan(node.body, bare_request=bare_request)
            yield from self.scan(node.orelse, bare_request=bare_request)
        elif isinstance(node, ast.Starred | ast.NamedExpr):
            yield from self.scan(node.value, bare_request=bare_request)
        elif isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.Not):
            yield from self.scan(node.operand, bare_request=bare_request)
        # Compare, BoolOp, `not x`, lambdas and comprehensions yield flags or new values.

    def scan_dict(self, node: ast.Dict, *, bare_request: bool) -> Iterator[_Hit]:
        for key, value in zip(node.keys, node.values, strict=True):
            name = _const_str(key)
            if key is not None and name is not None and self.secret(name):
                if not isinstance(value, ast.Constant):
                    yield _Hit(key, "secret", name)
                continue
            yield from self.scan(value, bare_request=bare_request)

    def _scan_call(self, node: ast.Call, bare_request: bool) -> Iterator[_Hit]:
        func = node.func
        name = _callee_name(func)
        if name is None:
            return
        words = split_words(name)
        if name in _SAFE_CALLS or (words and words[0] in _SAFE_PREFIXES):
            return
        if name in _KEY_METHODS and node.args:
            key = _const_str(node.args[0])
            if key is not None:
                if self.secret(key):
                    yield _Hit(node, "secret", f"{_dotted(func) or name}({key!r})")
                return
        if isinstance(func, ast.Attribute) and name in _PASS_METHODS:
            yield from self.scan(func.value, bare_request=bare_request)
        elif name in _PASS_FUNCS:
            for arg in node.args[:1]:
                yield from self.scan(arg, bare_request=bare_request)
        elif len(words) > 1 and words[0] in _GETTER_VERBS and self.secret("_".join(words[1:])):
            yield _Hit(node, "secret", f"{_dotted(func) or name}()")


class _Analyzer:
    def __init__(self, path: str, secret: SecretNames, loggers: _Loggers) -> None:
        self.path = path
        self.loggers = loggers
        self.scanner = _Scanner(secret)
        self.secret = secret
        self.findings: list[Finding] = []
        self._seen: set[tuple[int, int, str]] = set()

    def add(self, call: ast.Call, node: ast.AST, rule: str, message: str) -> None:
        line = getattr(node, "lineno", call.lineno)
        col = getattr(node, "col_offset", call.col_offset)
        key = (line, col, rule)
        if key in self._seen:
            return
        self._seen.add(key)
        end_line = getattr(node, "end_lineno", None) or line
        end_col = getattr(node, "end_col_offset", None) or col + 1
        span = (call.lineno, call.end_lineno or call.lineno)
        self.findings.append(
            Finding(self.path, line, col + 1, end_line, end_col + 1, rule, message, span)
        )

    def message_parts(self, call: ast.Call, parts: list[ast.expr]) -> None:
        for part in parts:
            target = part
            if (
                isinstance(part, ast.Call)
                and isinstance(part.func, ast.Attribute)
                and part.func.attr == "format"
                and _const_str(part.func.value) is not None
            ):
                for kw in part.keywords:
                    if kw.arg and self.secret(kw.arg) and not isinstance(kw.value, ast.Constant):
                        self.add(call, kw.value, "SL001", _secret_message(kw.arg, "message"))
                    elif not kw.arg or not self.secret(kw.arg):
                        self._hits(call, kw.value, "SL001", "message", bare=True)
                target = ast.Tuple(elts=list(part.args), ctx=ast.Load())
            self._hits(call, target, "SL001", "message", bare=True)

    def fields(self, call: ast.Call, keywords: list[ast.keyword]) -> None:
        for kw in keywords:
            if kw.arg in ("exc_info", "stack_info", "stacklevel"):
                continue
            if kw.arg == "extra" or kw.arg is None:
                value = kw.value
                if (
                    isinstance(value, ast.Call)
                    and _callee_name(value.func) == "dict"
                    and not value.args
                ):
                    self.fields(call, value.keywords)
                    continue
                self._hits(call, value, "SL002", "extra", bare=False)
                continue
            if self.secret(kw.arg) and not isinstance(kw.value, ast.Constant):
                self.add(call, kw, "SL002", _secret_message(kw.arg, "field"))
                continue
            self._hits(call, kw.value, "SL002", "field", bare=False)

    def _hits(self, call: ast.Call, node: ast.AST, rule: str, where: str, *, bare: bool) -> None:
        for hit in self.scanner.scan(node, bare_request=bare):
            if hit.kind == "request":
                self.add(
                    call,
                    hit.node,
                    "SL003",
                    f"'{hit.label}' is logged whole; it may carry credentials, cookies "
                    "or personal data",
                )
            else:
                self.add(call, hit.node, rule, _secret_message(hit.label, where))

    def visit_call(self, call: ast.Call) -> None:
        func = call.func
        if isinstance(func, ast.Name) and func.id == "print":
            if any(
                kw.arg == "file" and _dotted(kw.value) in ("sys.stderr", "stderr")
                for kw in call.keywords
            ):
                self.message_parts(call, list(call.args))
            return
        if _callee_name(func) == "bind_contextvars":  # structlog.contextvars
            self.fields(call, call.keywords)
            return
        if not isinstance(func, ast.Attribute):
            return
        if func.attr in _BINDERS and _is_logger(func.value, self.loggers):
            self.fields(call, call.keywords)
            return
        if func.attr not in _LEVEL_METHODS or not _is_logger(func.value, self.loggers):
            return
        args = list(call.args[1:] if func.attr == "log" else call.args)
        self.message_parts(call, args)
        self.fields(call, call.keywords)
        receiver = func.value
        if isinstance(receiver, ast.Call) and _callee_name(receiver.func) == "bind":
            self.fields(call, receiver.keywords)
        if func.attr in _NO_CONTEXT_LEVELS and len(args) == 1:
            text = _const_str(args[0])
            has_context = any(kw.arg not in ("stacklevel", "stack_info") for kw in call.keywords)
            if text is not None and not has_context and _GENERIC_MESSAGE.match(text):
                self.add(
                    call,
                    args[0],
                    "SL004",
                    f"generic log message without context: {text[:60]!r}",
                )


def _secret_message(label: str, where: str) -> str:
    places = {
        "message": "is formatted into a log message",
        "extra": "is passed in extra=",
        "field": "is passed as a log field",
    }
    return f"'{label}' looks like a secret and {places[where]}"


def analyze_tree(tree: ast.AST, path: str, secret: SecretNames) -> list[Finding]:
    """Every finding in one parsed module, in source order."""
    analyzer = _Analyzer(path, secret, _find_loggers(tree))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            analyzer.visit_call(node)
    return sorted(analyzer.findings, key=lambda f: (f.line, f.column, f.rule))
