"""A Jinja2 sandbox whose renders are bounded in time and in size.

Jinja's `SandboxedEnvironment` stops templates from reaching Python internals, but not from
exhausting the machine: ``{{ 'x' * 10**9 }}`` allocates a gigabyte, and nested loops over
``range(100000)`` run for hours. Templates come from files people edit, so every render here
gets a budget (`MAX_SECONDS`, `MAX_CHARS`), enforced where work can grow:

* the operators that multiply sizes (``*``, ``**``, ``%``) are checked before they run, which
  also keeps Jinja from folding them at compile time;
* every filter and every method call is refused a size or count argument beyond the budget,
  and its result is measured;
* every ``for`` loop iterates through a wrapper that watches the clock, and so does the
  output stream; ``range`` is capped at `MAX_RANGE` items.

A render that breaks its budget raises `RenderLimit` (a `TemplateError`), so it is reported
like any other template error: at `check`, or as the reason of one failed delivery.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, nodes
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

MAX_SECONDS = 2.0  # per render
MAX_CHARS = 100_000  # per render, and per value made inside one (Facebook takes 63,206)
MAX_RANGE = 10_000
MAX_EXPONENT = 64
MAX_BITS = 4096
_WIDTH = re.compile(r"%[-+ #0]*(\d+)?(?:\.(\d+))?")
_BUDGET = threading.local()


class RenderLimit(TemplateError):
    """The template used more time or made more text than one render may."""


def render_bounded(template: Template, values: dict[str, Any]) -> str:
    """Render with the budget, chunk by chunk through Jinja's public `generate`, so a
    template that makes too much text is stopped while it makes it."""
    _BUDGET.deadline = time.monotonic() + MAX_SECONDS
    try:
        out: list[str] = []
        size = 0
        for chunk in template.generate(values):
            size += len(chunk)
            if size > MAX_CHARS:
                raise RenderLimit(f"the template made more than {MAX_CHARS:,} characters")
            _tick()
            out.append(chunk)
        return "".join(out)
    except RecursionError:
        raise RenderLimit("the template recurses too deeply") from None
    except (MemoryError, OverflowError) as exc:
        raise RenderLimit(f"the template computes too large a value ({exc})") from None
    finally:
        _BUDGET.deadline = None


def _tick() -> None:
    deadline = getattr(_BUDGET, "deadline", None)
    if deadline is not None and time.monotonic() > deadline:
        raise RenderLimit(f"the template ran longer than {MAX_SECONDS:g} s")


def _measure(value: Any) -> Any:
    if isinstance(value, str | bytes | list | tuple | dict | set) and len(value) > MAX_CHARS:
        raise RenderLimit(f"the template made a value of more than {MAX_CHARS:,} items")
    return value


def _check_args(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_CHARS:
            raise RenderLimit(f"the number {value} is beyond what a template may ask for")
        if isinstance(value, str) and _too_wide(value):
            raise RenderLimit("a format width or precision is beyond what a template may ask for")


def _too_wide(text: str) -> bool:
    """A %-format or {}-format spec that asks for more than the budget."""
    if "%" not in text and "{" not in text:
        return False
    numbers = re.findall(r"[%:{][^\s%}]*?(\d{6,})", text)
    return any(int(n) > MAX_CHARS for n in numbers) or any(
        int(width or 0) > MAX_CHARS or int(precision or 0) > MAX_CHARS
        for width, precision in _WIDTH.findall(text)
    )


def _bounded_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise RenderLimit(f"range() of {len(numbers):,} items; templates count to {MAX_RANGE:,}")
    return numbers


def _watched(iterable: Any) -> Iterator[Any]:
    """What every template loop iterates through: nested loops cannot outrun the clock."""
    for index, item in enumerate(iterable):
        if index % 256 == 0:
            _tick()
        yield item


_WATCH = "crosspost_watched_loop"
_MEASURE = "crosspost_measured"


class _Bounded(NodeTransformer):
    """Loops iterate through `_watched`; every ``a ~ b`` is measured like ``a + b``."""

    def visit_For(self, node: nodes.For) -> nodes.For:
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, _WATCH, [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Filter:
        self.generic_visit(node)
        return nodes.Filter(node, _MEASURE, [], [], None, None, lineno=node.lineno)


def _guarded(function: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        _tick()
        _check_args(args, kwargs)
        if function.__name__ in ("do_replace", "replace"):
            _check_replace(args, kwargs)
        return _measure(function(*args, **kwargs))

    call.__name__ = getattr(function, "__name__", "filter")
    # Jinja marks filters that take the context or environment first; keep the mark.
    call.__dict__.update(getattr(function, "__dict__", {}))
    return call


def _check_replace(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """str.replace and the replace filter can grow text geometrically: predict the size."""
    strings = [a for a in args if isinstance(a, str)]
    if len(strings) >= 3:
        text, old, new = strings[-3:]
        if old and len(text) + text.count(old) * (len(new) - len(old)) > MAX_CHARS:
            raise RenderLimit(f"replace() would make more than {MAX_CHARS:,} characters")


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """Immutable too: a template cannot grow a list with ``append`` in a loop."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
        self.filters = {name: _guarded(f) for name, f in self.filters.items()}
        self.filters[_WATCH] = _watched
        self.filters[_MEASURE] = _measure
        self.globals["range"] = _bounded_range

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        """Every loop's iterable goes through `_watched`, so no loop outruns the clock."""
        return _Bounded().visit(super()._parse(source, name, filename))  # type: ignore[no-any-return]

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _tick()
        if operator == "*":
            for size, times in ((left, right), (right, left)):
                if (
                    isinstance(times, int)
                    and hasattr(size, "__len__")
                    and len(size) * max(times, 0) > MAX_CHARS
                ):
                    raise RenderLimit(f"a repetition of more than {MAX_CHARS:,} items")
        elif operator == "**" and isinstance(right, int | float):
            bits = left.bit_length() if isinstance(left, int) else 1
            if abs(right) > MAX_EXPONENT or bits * abs(right) > MAX_BITS:
                raise RenderLimit(f"a power too large for a template ({left} ** {right})")
        elif operator == "%" and isinstance(left, str) and _too_wide(left):
            raise RenderLimit("a format width or precision is beyond what a template may ask for")
        return _measure(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _tick()
        _check_args(args, kwargs)
        owner = getattr(__obj, "__self__", None)
        if owner is None:  # the sandbox wraps str.format: the string is behind __wrapped__
            owner = getattr(getattr(__obj, "__wrapped__", None), "__self__", None)
        if isinstance(owner, str) and _too_wide(owner):  # "{:>999999999}".format(1)
            raise RenderLimit("a format width or precision is beyond what a template may ask for")
        if getattr(__obj, "__name__", "") == "replace":
            _check_replace((owner, *args), kwargs)
        return _measure(super().call(__context, __obj, *args, **kwargs))
