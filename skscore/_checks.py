"""Checks of the arguments of methods and functions.

Estimator parameters are declared in ``_parameter_constraints`` and checked
by scikit-learn; these are for the rest (``n_samples`` of ``sample``, the
parameters of the data generators and of the response systems).  A boolean
is an ``Integral`` and a ``Real`` in Python, and always a mistake here.
"""

import math
from numbers import Integral, Real

import numpy as np


def check_int(name, value, minimum):
    """``value`` as an int ``>= minimum``; a ``ValueError`` naming ``name`` if it is not one."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def check_real(name, value, *, above=None, at_least=None):
    """``value`` as a finite float, ``> above`` or ``>= at_least``; a ``ValueError`` naming ``name`` if not."""
    ok = isinstance(value, Real) and not isinstance(value, (bool, np.bool_)) and math.isfinite(value)
    if ok and above is not None:
        ok = value > above
    if ok and at_least is not None:
        ok = value >= at_least
    if not ok:
        bound = f" > {above}" if above is not None else f" >= {at_least}" if at_least is not None else ""
        raise ValueError(f"{name} must be a finite number{bound}, got {value!r}.")
    return float(value)


def check_bool(name, value):
    """``value`` as a bool; a ``ValueError`` naming ``name`` if it is not one (``"no"`` would read as true)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}.")
    return bool(value)
