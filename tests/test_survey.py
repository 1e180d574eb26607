"""Survey scoring against a hand computation."""
import numpy as np
import pandas as pd

from datapakke import survey


def _codebook():
    return survey.Codebook.from_frame(pd.DataFrame({
        "spoergsmaal_id": ["a", "b", "c", "d"], "dimension": ["faglig_trivsel"] * 3 + ["social_trivsel"],
        "tekst": ["", "", "", ""], "omvendt": [False, True, False, False], "klassetrin_fra": [0, 0, 4, 0]}))


def test_reverse_coding_and_half_rule():
    cb = _codebook()
    answers = np.array([[5, 1, 4, 3],  # grade 5: (5 + (6-1) + 4)/3 = 4.667
                        [4, np.nan, np.nan, 2],  # grade 5: 1 of 3 items < half → NaN
                        [2, 4, np.nan, np.nan]])  # grade 2: form has a, b: (2 + 2)/2 = 2
    raw = survey.pupil_dimension_means(answers, np.array([5, 5, 2]), cb)
    assert np.isclose(raw[0, 0], 14 / 3)
    assert np.isnan(raw[1, 0]) and raw[1, 1] == 2
    assert raw[2, 0] == 2 and np.isnan(raw[2, 1])


def test_standardisation_anchors_t1_at_500_100():
    raw = np.array([[1.0], [2.0], [3.0]])
    ref = survey.Reference.from_raw(raw)
    z = ref.standardise(raw)
    assert np.isclose(z.mean(), 500) and np.isclose(z.std(ddof=1), 100)


def test_school_year_of():
    s = survey.school_year_of(pd.Series(pd.to_datetime(["2023-10-02", "2024-03-01", "2024-08-01"])))
    assert s.tolist() == ["2023/2024", "2023/2024", "2024/2025"]
