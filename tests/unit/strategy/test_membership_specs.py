from __future__ import annotations

import numpy as np
import pytest

from ktrdr.errors import ValidationError
from ktrdr.strategy.membership_specs import (
    MEMBERSHIP_PARAM_COUNTS,
    check_membership,
    shorthand_membership_type,
)


def test_param_counts_are_the_contract():
    assert MEMBERSHIP_PARAM_COUNTS == {
        "triangular": 3,
        "trapezoidal": 4,
        "gaussian": 2,
        "sigmoid": 2,
    }


@pytest.mark.parametrize(
    ("type_name", "parameters"),
    [
        ("triangular", [0, 20, 35]),
        ("triangular", [0, 0, 20]),
        ("triangular", [5, 5, 5]),
        ("trapezoidal", [0, 0, 20, 25]),
        ("trapezoidal", [-2.0, -1.5, -0.5, 0.0]),
        ("gaussian", [75, 8]),
        ("gaussian", (np.float64(0.5), np.int64(2))),
        ("sigmoid", [50, -0.2]),
    ],
)
def test_valid_memberships_give_none(type_name, parameters):
    assert check_membership(type_name, parameters) is None


@pytest.mark.parametrize(
    ("type_name", "parameters", "message"),
    [
        ("gaussian", [1, 2, 3, 4], "gaussian takes 2 parameters [mean, sigma], got 4"),
        ("triangular", [1, 2], "triangular takes 3 parameters [a, b, c], got 2"),
        ("trapezoidal", [1, 2, 3], "trapezoidal takes 4 parameters [a, b, c, d], got 3"),
        ("sigmoid", [1], "sigmoid takes 2 parameters [center, slope], got 1"),
        ("triangular", [0, 40, 35], "triangular parameters must satisfy a <= b <= c"),
        ("trapezoidal", [0, 10, 30, 20], "trapezoidal parameters must satisfy a <= b <= c <= d"),
        ("gaussian", [0, -1], "gaussian sigma must be > 0, got -1.0"),
        ("sigmoid", [0, 0], "sigmoid slope must not be 0"),
        ("triangular", [0, "x", 1], "must be finite numbers"),
        ("triangular", [0, True, 1], "must be finite numbers"),
        ("gaussian", [0, float("inf")], "must be finite numbers"),
        ("triangular", "0,1,2", "must be a list"),
        ("bell", [1, 2, 3], "unknown membership type 'bell'; allowed: triangular"),
    ],
)
def test_invalid_memberships_give_a_message(type_name, parameters, message):
    result = check_membership(type_name, parameters)
    assert result is not None
    assert message in result


@pytest.mark.parametrize(
    ("parameters", "expected"), [([1, 2, 3], "triangular"), ([1, 2, 3, 4], "trapezoidal")]
)
def test_shorthand_type_from_count(parameters, expected):
    assert shorthand_membership_type(parameters) == expected


@pytest.mark.parametrize("parameters", [[], [1, 2], [1, 2, 3, 4, 5]])
def test_shorthand_other_counts_raise(parameters):
    with pytest.raises(ValidationError, match=f"got {len(parameters)}"):
        shorthand_membership_type(parameters)
