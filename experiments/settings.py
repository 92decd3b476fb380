"""An experiment's settings: `Config` fields that say what they mean and how they are checked.

Each field of an experiment's frozen `Config` dataclass is a `setting`: its default, a
one-line meaning (shown by `python -m experiments run NAME --help`) and the checks its
value must pass. `validate(config)`, called from `Config.__post_init__`, checks every
field's type from its annotation (an `int` is not a bool, a `float` is finite, a `str`
and a tuple are not empty) and then its own checks, and raises `ValueError` with one
line naming the field. Checks that tie fields together stay in `__post_init__`.

    @dataclasses.dataclass(frozen=True)
    class Config:
        hidden_units: tuple[int, ...] = setting((512, 512), "hidden layer widths", layer_widths)
        learning_rate: float = setting(1e-3, "Adam's learning rate", positive)
        seeds: tuple[int, ...] = seeds_setting()

        def __post_init__(self):
            validate(self)
"""

import dataclasses
import math
import types
import typing

# The largest model a setting may ask for: float32 weights beyond this would not fit in
# memory on a laptop, and fail mid-run with an allocation error rather than at once.
MAX_WEIGHT_BYTES = 2 * 2**30
MAX_SEED = 2**31 - 1


def setting(default, help, *checks):
    """A `Config` field: `default`, its one-line meaning `help`, and `checks` on its value."""
    return dataclasses.field(default=default, metadata={"help": help, "checks": checks})


def seeds_setting(default=(0, 1, 2)):
    """The `seeds` field every experiment has."""
    return setting(
        default,
        "random seeds; each fixes the data split, the initialization and the shuffling",
        seed_list,
    )


# --- checks: each returns None, or what is wrong in a few words ----------------------


def _items(value):
    return [item for item in (value if isinstance(value, tuple) else (value,)) if item is not None]


def positive(value):
    if any(item <= 0 for item in _items(value)):
        return "must be positive"


def non_negative(value):
    if any(item < 0 for item in _items(value)):
        return "must not be negative"


def probability(value):
    if any(not 0 <= item <= 1 for item in _items(value)):
        return "must lie in [0, 1]"


def fraction(value):
    if any(not 0 < item < 1 for item in _items(value)):
        return "must lie strictly between 0 and 1"


def at_least(bound):
    def check(value):
        if any(item < bound for item in _items(value)):
            return f"must be at least {bound}"

    return check


def at_most(bound):
    def check(value):
        if any(item > bound for item in _items(value)):
            return f"must be at most {bound:,}"

    return check


def greater_than(bound):
    def check(value):
        if any(item <= bound for item in _items(value)):
            return f"must be greater than {bound}"

    return check


def less_than(bound):
    def check(value):
        if any(item >= bound for item in _items(value)):
            return f"must be less than {bound}"

    return check


def one_of(*choices):
    def check(value):
        if any(item not in choices for item in _items(value)):
            return f"must be among {', '.join(map(str, choices))}"

    return check


def distinct(value):
    if len(set(value)) != len(value):
        return "must not repeat a value"


def count_at_least(n):
    """A tuple setting of at least `n` values."""

    def check(value):
        if len(value) < n:
            return f"needs at least {n} values"

    return check


def may_be_empty(value):
    """Marks a tuple setting that may be empty (it leaves a part of the experiment out)."""


def layer_widths(value):
    """Layer widths: positive, and small enough that the weights fit in memory."""
    if positive(value):
        return "must be positive"
    units = _items(value)
    # A layer of w units fed by w units holds w * w weights: an estimate, not a bound.
    need = 4 * sum(w * w for w in units)
    if need > MAX_WEIGHT_BYTES:
        return (
            f"would need about {need / 2**30:,.0f} GiB of float32 weights; "
            f"keep them under {MAX_WEIGHT_BYTES / 2**30:.0f} GiB"
        )


def seed_list(value):
    if non_negative(value) or at_most(MAX_SEED)(value):
        return f"must be integers between 0 and {MAX_SEED}"
    return distinct(value)


# --- validation ------------------------------------------------------------------------


def validate(config):
    """Checks every field of the dataclass `config`; raises `ValueError` on the first bad one."""
    hints = typing.get_type_hints(type(config))
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        checks = field.metadata.get("checks", ())
        problem = _type_problem(value, hints[field.name], may_be_empty in checks)
        for check in checks:
            problem = problem or check(value)
        if problem:
            raise ValueError(f"{field.name} {problem}, got {_show(value)}")


def _type_problem(value, annotation, empty_ok=False):
    inner, optional = _unwrap_optional(annotation)
    if value is None:
        return None if optional else "must not be none"
    if typing.get_origin(inner) is tuple:
        if not isinstance(value, tuple):
            return f"must be {type_name(annotation)}"
        if not value and not empty_ok:
            return "must not be empty"
        item_type = typing.get_args(inner)[0]
        return next(
            (problem for item in value if (problem := _type_problem(item, item_type))), None
        )
    if inner is bool:
        return None if isinstance(value, bool) else "must be true or false"
    if inner is int:
        return (
            None if isinstance(value, int) and not isinstance(value, bool) else "must be an integer"
        )
    if inner is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "must be a number"
        return None if math.isfinite(value) else "must be finite"
    if inner is str:
        if not isinstance(value, str):
            return "must be text"
        return (
            None
            if value.strip()
            else "must not be empty" + (" (none leaves it unset)" if optional else "")
        )
    return None


def _unwrap_optional(annotation):
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        inner = [arg for arg in args if arg is not type(None)]
        return inner[0], len(inner) < len(args)
    return annotation, False


def _show(value):
    if isinstance(value, tuple):
        return ",".join(_show(item) for item in value) or "(empty)"
    if isinstance(value, str):
        return value or "''"
    return "none" if value is None else str(value)


def type_name(annotation):
    """`int`, `float`, `tuple of int`, `str or none`: the type of a setting, for people."""
    inner, optional = _unwrap_optional(annotation)
    if typing.get_origin(inner) is tuple:
        name = f"tuple of {type_name(typing.get_args(inner)[0])}"
    else:
        name = inner.__name__
    return f"{name} or none" if optional else name


# --- the command line ------------------------------------------------------------------


def parse(text, annotation, key):
    """Parses the text of `--set key=text` into the type of the setting `key`.

    Raises `ValueError` with one line when the text is not of that type; whether the
    value is allowed is `validate`'s business.
    """
    inner, optional = _unwrap_optional(annotation)
    if optional and text.strip().lower() == "none":
        return None
    if typing.get_origin(inner) is tuple:
        if not text.strip():
            return ()
        items = text.split(",")
        if any(not item.strip() for item in items):
            raise ValueError(
                f"{key} takes comma-separated values without empty items, got {text!r}"
            )
        return tuple(parse(item.strip(), typing.get_args(inner)[0], key) for item in items)
    if inner is bool:
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        raise ValueError(f"{key} must be true or false, got {text!r}")
    if inner is str:
        return text
    try:
        return inner(text)
    except ValueError:
        raise ValueError(f"{key} must be {type_name(inner)}, got {text!r}") from None


def fields(config_class):
    """`{name: (annotation, default, help)}` for every setting of `config_class`."""
    hints = typing.get_type_hints(config_class)
    return {
        field.name: (hints[field.name], field.default, field.metadata.get("help", ""))
        for field in dataclasses.fields(config_class)
    }


def show(value):
    """A setting's value as `--set` would take it."""
    return _show(value)
