from __future__ import annotations

import numpy as np
import pytest

from ktrdr.errors import ValidationError
from ktrdr.features.fuzzy import membership_degrees


@pytest.mark.parametrize(
    ("type_name", "parameters", "values", "expected"),
    [
        ("triangular", [0, 20, 40], [-5, 0, 10, 20, 30, 40, 45], [0, 0, 0.5, 1, 0.5, 0, 0]),
        ("triangular", [0, 20, 35], [5, 27.5], [0.25, 0.5]),
        ("triangular", [0, 0, 20], [-1, 0, 5, 20], [0, 1, 0.75, 0]),
        ("triangular", [0, 20, 20], [10, 20, 21], [0.5, 1, 0]),
        ("triangular", [5, 5, 5], [4, 5, 6], [0, 1, 0]),
        ("trapezoidal", [0, 10, 20, 30], [-1, 5, 10, 15, 20, 25, 30], [0, 0.5, 1, 1, 1, 0.5, 0]),
        ("trapezoidal", [0, 0, 20, 25], [0, 10, 22.5, 26], [1, 1, 0.5, 0]),
        ("trapezoidal", [75, 85, 100, 100], [80, 100, 101], [0.5, 1, 0]),
        ("gaussian", [75, 8], [75, 83, 59], [1, np.exp(-0.5), np.exp(-2)]),
        ("sigmoid", [50, 0.1], [50, 60, 40], [0.5, 1 / (1 + np.exp(-1)), 1 / (1 + np.exp(1))]),
        ("sigmoid", [0, -2], [1], [1 / (1 + np.exp(2))]),
    ],
)
def test_hand_computed_degrees(type_name, parameters, values, expected):
    degrees = membership_degrees(type_name, parameters, np.array(values, dtype=float))
    np.testing.assert_allclose(degrees, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("type_name", "parameters"),
    [
        ("triangular", [0, 20, 40]),
        ("trapezoidal", [0, 10, 20, 30]),
        ("gaussian", [0, 1]),
        ("sigmoid", [0, 1]),
    ],
)
def test_nan_passes_through_and_degrees_stay_in_unit_interval(type_name, parameters):
    values = np.array([np.nan, -1e300, -5.0, 0.0, 12.5, 1e300, np.nan, np.inf, -np.inf])
    degrees = membership_degrees(type_name, parameters, values)
    assert degrees.dtype == np.float64
    assert np.isnan(degrees[[0, 6]]).all()
    finite = degrees[~np.isnan(values)]
    assert not np.isnan(finite).any()
    assert ((finite >= 0) & (finite <= 1)).all()


def test_sigmoid_does_not_overflow_for_extreme_inputs():
    degrees = membership_degrees("sigmoid", [0, 50], np.array([-1e6, 1e6]))
    np.testing.assert_array_equal(degrees, [0.0, 1.0])


@pytest.mark.parametrize(
    ("type_name", "parameters", "fragment"),
    [
        ("gaussian", [1, 2, 3, 4], "gaussian takes 2 parameters [mean, sigma], got 4"),
        ("triangular", [30, 20, 40], "a <= b <= c"),
        ("trapezoidal", [0, 10, 5, 20], "a <= b <= c <= d"),
        ("gaussian", [0, 0], "sigma must be > 0"),
        ("bell", [1, 2], "unknown membership type 'bell'"),
        ("triangular", [0, float("nan"), 1], "finite numbers"),
    ],
)
def test_invalid_parameters_raise_validation_error(type_name, parameters, fragment):
    with pytest.raises(ValidationError) as error:
        membership_degrees(type_name, parameters, np.array([1.0]))
    assert fragment in str(error.value)


def test_accepts_list_input_and_keeps_shape():
    degrees = membership_degrees("triangular", [0, 1, 2], [[0.5, 1.0], [1.5, 3.0]])
    np.testing.assert_allclose(degrees, [[0.5, 1.0], [0.5, 0.0]])
