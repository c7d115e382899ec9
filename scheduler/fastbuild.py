"""Fast construction of frozen dataclasses on the planner's hot path.

A frozen dataclass's ``__init__`` sets each field with ``object.__setattr__`` — a
call per field, several times slower than plain attribute assignment. The planner
builds one :class:`~scheduler.planner.Decision` per loan and one
:class:`~scheduler.segments.Features` per debtor (100,000 of them for a large
portfolio), so :func:`frozen_builder` gives those a faster constructor: a subclass
with the same layout whose ``__init__`` assigns the fields plainly and then turns
the object into an instance of the frozen class. What it returns is
indistinguishable from an instance built by the class itself (same type, fields,
equality, hash, repr, pickling); it is still frozen afterwards.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, TypeVar

T = TypeVar("T")


def frozen_builder(cls: type[T], *, attributes: Mapping[str, str] | None = None,
                   checked_by_caller: bool = False) -> Callable[..., T]:
    """A constructor for the frozen dataclass ``cls`` taking the same arguments as ``cls(...)``.

    ``attributes`` maps a parameter to the attribute it is stored in, for a field whose public
    name is a property over another slot (``{"text": "_text"}``). Fields with a
    ``default_factory`` are not supported (``TypeError``), nor is a ``__post_init__`` (the builder
    would skip it silently) — unless ``checked_by_caller``: the caller guarantees that every value it
    passes is one ``__post_init__`` accepts (and that it only checks, changing nothing).
    """
    params = dataclasses.fields(cls)  # type: ignore[arg-type]
    if not getattr(cls, "__dataclass_params__").frozen:
        raise TypeError(f"{cls.__name__} is not a frozen dataclass")
    if hasattr(cls, "__post_init__") and not checked_by_caller:
        raise TypeError(f"{cls.__name__} has a __post_init__ the builder would skip")
    attributes = dict(attributes or {})
    namespace: dict[str, Any] = {"__cls": cls}
    signature, body = [], []
    for field in params:
        if not field.init:
            continue
        if field.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{field.name} has a default_factory")
        if field.default is dataclasses.MISSING:
            signature.append(field.name)
        else:
            namespace[f"__default_{field.name}"] = field.default
            signature.append(f"{field.name}=__default_{field.name}")
        body.append(f"    self.{attributes.get(field.name, field.name)} = {field.name}")
    source = (f"def __init__(self, {', '.join(signature)}):\n" + "\n".join(body)
              + "\n    self.__class__ = __cls\n")
    exec(source, namespace)  # noqa: S102 — generated from the dataclass's own field names, as dataclasses do
    # both, or the type keeps calling the frozen __setattr__ through Python for every assignment
    builder = type(f"_New{cls.__name__}", (cls,), {"__slots__": (), "__setattr__": object.__setattr__,
                                                 "__delattr__": object.__delattr__,
                                                 "__init__": namespace["__init__"],
                                                 "__doc__": f"Builds a {cls.__name__} (see frozen_builder)."})
    return builder
