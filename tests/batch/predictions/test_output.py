from __future__ import annotations

import pytest

from icflow.batch.predictions.output import MAX_OUTPUT_BYTES, InvalidOutput, OutputProblem, parse_output


def test_a_prediction_list_of_the_right_length():
    assert parse_output(b'{"prediction": [0.1, 0.7, 0.2]}', 3) == [0.1, 0.7, 0.2]
    assert parse_output(b'{"prediction": [0, 1]}', None) == [0.0, 1.0]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", OutputProblem.MALFORMED),
        (b'{"prediction": [0.1, 0.9]', OutputProblem.MALFORMED),
        (b"\xff\xfe", OutputProblem.MALFORMED),
        (b"[0.1, 0.9]", OutputProblem.NO_PREDICTION),
        (b'{"predictions": [0.1, 0.9]}', OutputProblem.NO_PREDICTION),
        (b'{"prediction": "0.1,0.9"}', OutputProblem.NO_PREDICTION),
        (b'{"prediction": []}', OutputProblem.EMPTY),
        (b'{"prediction": [0.1, NaN]}', OutputProblem.NOT_A_NUMBER),
        (b'{"prediction": [0.1, Infinity]}', OutputProblem.NOT_A_NUMBER),
        (b'{"prediction": [0.1, "0.9"]}', OutputProblem.NOT_A_NUMBER),
        (b'{"prediction": [true, false]}', OutputProblem.NOT_A_NUMBER),
        (b'{"prediction": [0.1, null]}', OutputProblem.NOT_A_NUMBER),
        (b'{"prediction": [0.1, 0.2, 0.7]}', OutputProblem.WRONG_LENGTH),
    ],
)
def test_each_bad_output_has_its_own_reason(body, problem):
    with pytest.raises(InvalidOutput) as raised:
        parse_output(body, 2)
    assert raised.value.problem is problem
    assert str(raised.value)


def test_an_oversized_output_is_refused_before_parsing():
    with pytest.raises(InvalidOutput) as raised:
        parse_output(b" " * (MAX_OUTPUT_BYTES + 1), None)
    assert raised.value.problem is OutputProblem.TOO_LARGE
