"""Finding the adapter for a network name, and checking what is found.

Adapters come from installed distributions, through the ``crosspost.adapters`` entry-point
group (``outbox`` is the core's own), or from a local file declared in the config's
``[adapters]`` table (``mynet = "adapters_local/mynet.py:MyNet"``): the config never names a
module to import, so loading a file is an explicit opt-in by whoever owns the config. What
is loaded is checked: one distribution per network name, a class that says the same network
name, and an object that has the adapter's shape; each problem is a clear message.
"""

from __future__ import annotations

import importlib.util
import stat
import sys
from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import cast

from pydantic import BaseModel

from crosspost.adapter import AdapterClass
from crosspost.errors import ConfigurationError
from crosspost.render.textrules import TextRules

GROUP = "crosspost.adapters"
RULES_GROUP = "crosspost.text_rules"  # a network's TextRules alone, without its adapter
# Networks shipped in a distribution named otherwise than crosspost-<network>.
DISTRIBUTIONS = {"instagram": "crosspost-facebook"}


class AdapterNotInstalled(ConfigurationError, LookupError):
    pass


def find_adapter(
    network: str, local: Mapping[str, str] | None = None, base_dir: Path | None = None
) -> AdapterClass:
    """The factory for a network name: one declared in the config's [adapters] table (a
    local file), else an installed distribution's entry point; a clear error otherwise."""
    if local and network in local:
        return _checked(network, _load_local(network, local[network], base_dir or Path.cwd()))
    if ":" in network or "/" in network:
        raise AdapterNotInstalled(
            f"network {network!r} is not an adapter name; networks come from installed "
            "adapters (`pip install crosspost-<net>`), or from a local file declared in the "
            'config\'s [adapters] table, e.g. mynet = "mynet.py:MyAdapter"'
        )
    points = _points(network)
    if len(points) > 1:
        owners = ", ".join(sorted(_owner(point) for point in points))
        raise AdapterNotInstalled(
            f"network {network!r} is claimed by several installed distributions ({owners}); "
            "uninstall all but one"
        )
    if not points:
        known = sorted({point.name for point in entry_points(group=GROUP)})
        dist = DISTRIBUTIONS.get(network, f"crosspost-{network}")
        raise AdapterNotInstalled(
            f"no adapter for network {network!r}; install it with `pip install {dist}` "
            f"(or `pip install -e adapters/{dist.removeprefix('crosspost-')}`); "
            f"installed: {', '.join(known) or 'none'}"
        )
    try:
        loaded = points[0].load()
    except Exception as exc:  # a broken distribution names itself, not a traceback
        raise AdapterNotInstalled(
            f"the adapter for {network!r} ({_owner(points[0])}) cannot be loaded: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    return _checked(network, loaded, _owner(points[0]))


def find_text_rules(network: str) -> TextRules:
    """A network's text rules without its adapter (an outbox counting as X does): from the
    ``crosspost.text_rules`` entry-point group, which loads no network library."""
    points = _points(network, RULES_GROUP)
    if not points:
        dist = DISTRIBUTIONS.get(network, f"crosspost-{network}")
        raise AdapterNotInstalled(
            f"no text rules for network {network!r}; install its adapter with `pip install {dist}`"
        )
    try:
        rules = points[0].load()
    except Exception as exc:
        raise AdapterNotInstalled(
            f"the text rules of {network!r} ({_owner(points[0])}) cannot be loaded: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(rules, TextRules):
        raise AdapterNotInstalled(
            f"{_owner(points[0])} registers {rules!r} as rules of {network!r}"
        )
    return rules


def _points(network: str, group: str = "") -> list[EntryPoint]:
    """One entry point per distribution (an editable install can list one twice)."""
    found: dict[str, EntryPoint] = {}
    for point in entry_points(group=group or GROUP):
        if point.name == network:
            found.setdefault(_owner(point), point)
    return list(found.values())


def _owner(point: EntryPoint) -> str:
    return point.dist.name if point.dist is not None else point.value


def _checked(network: str, loaded: object, origin: str = "") -> AdapterClass:
    """An adapter class with the adapter's shape, that says the network name it is found
    under."""
    where = f" ({origin})" if origin else ""
    missing = [name for name in ("verify", "publish") if not callable(getattr(loaded, name, None))]
    model = getattr(loaded, "settings_model", None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        missing.append("settings_model (the pydantic model of its account table's keys)")
    if not isinstance(loaded, type) or missing:
        what = f"has no {' or '.join(missing)}" if missing else "is not a class"
        raise AdapterNotInstalled(
            f"the adapter for {network!r}{where} is not an adapter: {loaded!r} {what}"
        )
    says = getattr(loaded, "network", None)
    if says != network:
        raise AdapterNotInstalled(
            f"the adapter for {network!r}{where} says it is the {says!r} network; its "
            "entry point (or the config's [adapters] table) and its class disagree"
        )
    return cast(AdapterClass, loaded)


def _load_local(network: str, spec: str, base_dir: Path) -> object:
    """Import `Class` from `path.py` (relative to the config's folder) and nothing else."""
    file, _, attr = spec.rpartition(":")
    path = (base_dir / file).resolve()
    try:
        if not stat.S_ISREG(path.stat().st_mode) or path.suffix != ".py":
            raise OSError(f"{path} is not a .py file")
        module_spec = importlib.util.spec_from_file_location(f"crosspost_local_{network}", path)
        if module_spec is None or module_spec.loader is None:
            raise OSError(f"{path} cannot be imported")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_spec.name] = module
        module_spec.loader.exec_module(module)
        loaded: object = getattr(module, attr)
    except (OSError, ImportError, AttributeError, SyntaxError) as exc:
        raise AdapterNotInstalled(f"cannot load adapter {network!r} from {spec!r}: {exc}") from exc
    return loaded
