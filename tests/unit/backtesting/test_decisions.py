"""decide_positions: signal thresholds, position awareness, separation, validation."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from ktrdr.backtesting import decide_positions
from ktrdr.errors import ValidationError

SELL = [0.8, 0.1, 0.1]
HOLD = [0.1, 0.8, 0.1]
BUY = [0.1, 0.1, 0.8]
WEAK_BUY = [0.3, 0.3, 0.4]


@pytest.mark.parametrize(
    ("rows", "allow_short", "expected"),
    [
        ([BUY, HOLD, SELL, SELL, HOLD, BUY, BUY], True, [1, 1, 0, -1, -1, 0, 1]),
        ([BUY, HOLD, SELL, SELL, HOLD, BUY, BUY], False, [1, 1, 0, 0, 0, 1, 1]),
        ([SELL, SELL, BUY], False, [0, 0, 1]),
        ([BUY, BUY, SELL, SELL, SELL], True, [1, 1, 0, -1, -1]),
        ([HOLD, HOLD], True, [0, 0]),
    ],
)
def test_signals_move_the_position_one_step(rows, allow_short, expected):
    positions = decide_positions(
        np.array(rows), confidence_threshold=0.5, allow_short_from_flat=allow_short
    )
    assert positions.dtype == np.int8
    assert_array_equal(positions, expected)


def test_signals_below_the_threshold_are_hold():
    rows = np.array([WEAK_BUY, BUY, [0.45, 0.1, 0.45], SELL])
    assert_array_equal(decide_positions(rows, confidence_threshold=0.5), [0, 1, 1, 0])
    assert_array_equal(decide_positions(rows, confidence_threshold=0.4), [1, 1, 0, -1])


def test_ties_go_to_the_lower_class():
    rows = np.array([[0.4, 0.4, 0.2], [0.2, 0.4, 0.4], [0.5, 0.0, 0.5]])
    assert_array_equal(decide_positions(rows, confidence_threshold=0.0), [-1, -1, -1])


@pytest.mark.parametrize(
    ("separation", "expected"),
    [
        (0, [1, 0, -1, -1, -1, 0]),
        (1, [1, 0, -1, -1, -1, 0]),
        (2, [1, 1, 0, 0, -1, -1]),
        (3, [1, 1, 1, 0, 0, 0]),
    ],
)
def test_min_signal_separation_spaces_changes(separation, expected):
    rows = np.array([BUY, SELL, SELL, SELL, SELL, BUY])
    positions = decide_positions(rows, confidence_threshold=0.5, min_signal_separation=separation)
    assert_array_equal(positions, expected)


def test_empty_input_gives_no_positions():
    positions = decide_positions(np.empty((0, 3)), confidence_threshold=0.5)
    assert positions.shape == (0,) and positions.dtype == np.int8


@pytest.mark.parametrize(
    ("probabilities", "kwargs", "message"),
    [
        (np.ones((4, 2)) / 2, {}, "shape"),
        (np.array([HOLD, [np.nan, 0.5, 0.5]]), {}, "row 1"),
        (np.array([[1.2, 0.0, -0.2]]), {}, "row 0"),
        (np.array([HOLD]), {"confidence_threshold": 1.5}, "confidence_threshold"),
        (np.array([HOLD]), {"confidence_threshold": "high"}, "confidence_threshold"),
        (np.array([HOLD]), {"min_signal_separation": -1}, "min_signal_separation"),
        (np.array([HOLD]), {"min_signal_separation": 1.5}, "min_signal_separation"),
    ],
)
def test_invalid_inputs_name_the_input(probabilities, kwargs, message):
    arguments = {"confidence_threshold": 0.5, **kwargs}
    with pytest.raises(ValidationError, match=message):
        decide_positions(probabilities, **arguments)
