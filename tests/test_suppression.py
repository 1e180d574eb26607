"""Secondary suppression on generated small hierarchies (hypothesis): nothing can be pinned, and
the same input always gives the same decision."""
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, example, given, settings, strategies as st

from datapakke import aggregate
from datapakke.publication import cells as C, suppression as S
from datapakke.publication.model import build_model

ROUNDS = ["T1", "T2"]


def _scores(sizes: list[tuple[int, int]], seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pupils of one municipality of small schools (boys, girls per school) and a big neighbour."""
    rng = np.random.default_rng(seed)
    rows, schools = [], []
    layout = [("100", f"1000{i}", b, g) for i, (b, g) in enumerate(sizes)] + [("200", "20000", 40, 40)]
    for kom, school, boys, girls in layout:
        schools.append((school, f"Skole {school}", kom, f"Kommune {kom}"))
        for koen, count in (("dreng", boys), ("pige", girls)):
            for p in range(count):
                grade = int(rng.integers(0, 10))
                for runde in ROUNDS:
                    rows.append((school, kom, runde, "faglig_trivsel", koen, grade, float(rng.normal(500, 100))))
    scores = pd.DataFrame(rows, columns=["institutionsnummer", "kommunekode", "runde", "dimension", "koen",
                                         "klassetrin", "score"])
    return scores, pd.DataFrame(schools, columns=["institutionsnummer", "skolenavn", "kommunekode", "kommune"])


def _decide(sizes, seed):
    scores, schools = _scores(sizes, seed)
    means = aggregate.survey_means(scores)
    n = aggregate.with_levels(scores[scores["dimension"] == "faglig_trivsel"]).groupby(
        ["niveau", "kode", "runde"]).size().rename("elever").reset_index()
    rates = n.assign(klassetrin="alle", besvarelser=n["elever"].astype(float), svarprocent=100.0)
    agg = {"survey_means": means, "response_rates": rates, "schools": schools}
    cells = C.build_cells(agg)
    cells["published"] = C.published(cells, ROUNDS)
    m = build_model(cells, {"faglig_trivsel": (100.0, 900.0)}, {})
    primary, hidden = S.suppress_base(m)
    return m, primary, hidden


sizes = st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), min_size=2, max_size=6)


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=sizes, seed=st.integers(0, 2**16))
@example(sizes=[(3, 3), (3, 3)], seed=149)  # a gender × grade cell only the whole table's withholding protects
@example(sizes=[(0, 0), (0, 0)], seed=149)  # a municipality of empty schools: the programme is its neighbour
def test_no_small_cell_can_be_pinned_after_suppression(sizes, seed):
    m, primary, hidden = _decide(sizes, seed)
    assert not (primary & ~hidden).any()  # every small group is withheld
    assert S.base_failures(m, hidden, primary) == []  # and no LP over what is shown can pin one


@settings(max_examples=4, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=sizes, seed=st.integers(0, 2**16))
def test_suppression_is_deterministic(sizes, seed):
    _, p1, h1 = _decide(sizes, seed)
    _, p2, h2 = _decide(sizes, seed)
    assert (p1 == p2).all() and (h1 == h2).all()


def test_count_bands_never_show_one_to_three():
    for n in range(8, 60):
        for count in range(0, n + 1):
            status, lo, hi = S.count_band(count, n, "share")
            if 1 <= count <= 3 or 1 <= n - count <= 3:
                assert status in ("lav", "hoej")
                assert lo <= count <= hi and (lo <= 0 or hi >= 4) if status == "lav" else hi >= n
            text = S.band_text(status, n, "share") if status in ("lav", "hoej") else ""
            assert "," not in text


def test_counts_protected_side_by_side_give_the_same_decision(built):
    from datapakke import publication, store

    agg = publication.read_aggregates(store.current(built.processed) / "aggregates")
    cells, bounds, years = C.from_aggregates(agg)
    one = S.suppress(cells, bounds, years, workers=1)
    two = S.suppress(cells, bounds, years, workers=2)
    assert [c for c in one.columns if c.startswith("status_")] == ["status_besvar", "status_over10", "status_u10", "status_u15"]
    pd.testing.assert_frame_equal(one, two)


def _absence_decision():
    """A school whose three tiny grades have no unlawful absence at all, beside bigger grades, a
    second school and a big neighbour municipality: survey and absence cells together."""
    rng = np.random.default_rng(7)
    layout = [("100", "10000", {0: 2, 4: 2, 8: 2, **{g: 12 for g in (1, 2, 3, 5, 6, 7, 9)}}),
              ("100", "10001", {g: 10 for g in range(10)}), ("200", "20000", {g: 15 for g in range(10)})]
    absence, scores = [], []
    for kom, school, grades in layout:
        for grade, count in grades.items():
            for p in range(count):
                pupil, koen = f"{school}-{grade}-{p}", ("dreng", "pige")[p % 2]
                tiny = school == "10000" and grade in (0, 4, 8)
                sick, lawful = float(rng.uniform(0, 8)), float(rng.uniform(0, 4))
                unlawful = 0.0 if tiny else float(rng.uniform(0, 6))
                absence.append((pupil, "2025/2026", school, kom, koen, grade, sick, lawful, unlawful,
                                sick + lawful + unlawful))
                scores.append((pupil, "2025/2026", school, kom, "T1", "faglig_trivsel", koen, grade,
                               float(rng.normal(500, 100))))
    pa = pd.DataFrame(absence, columns=["elev_id", "skoleaar", "institutionsnummer", "kommunekode", "koen",
                                        "klassetrin", "sygdom_pct", "lovligt_pct", "ulovligt_pct", "samlet_pct"])
    scores = pd.DataFrame(scores, columns=["elev_id", "skoleaar", "institutionsnummer", "kommunekode", "runde",
                                           "dimension", "koen", "klassetrin", "score"])
    schools = pd.DataFrame([(s, f"Skole {s}", k, f"Kommune {k}") for k, s, _ in layout],
                           columns=["institutionsnummer", "skolenavn", "kommunekode", "kommune"])
    n = aggregate.with_levels(scores).groupby(["niveau", "kode", "runde"]).size().rename("elever").reset_index()
    years = {"T1": "2025/2026"}
    agg = {"survey_means": aggregate.survey_means(scores), "schools": schools,
           "response_rates": n.assign(klassetrin="alle", besvarelser=n["elever"].astype(float), svarprocent=100.0),
           **aggregate.absence_tables(pa, pa.drop(columns="kommunekode").assign(periode="2025-09"),
                                      pa.drop(columns="kommunekode"), schools, None),
           **aggregate.absence_vs_wellbeing(pa, scores, years)}
    cells = C.build_cells(agg)
    cells["published"] = C.published(cells, ["T1"])
    m = build_model(cells, {"faglig_trivsel": (100.0, 900.0)}, years)
    primary, hidden = S.suppress_base(m)
    return m, primary, hidden


def test_every_mean_of_a_small_group_gets_its_own_lp():
    """A withheld grade's n is in the LP of each of its means.  Three tiny grades without unlawful
    absence, under a shown school total, give away that their mean is near 0 unless the
    unlawful-absence LP is asked on its own (not skipped because the survey's LP saw the n)."""
    m, primary, hidden = _absence_decision()
    tiny = m.cells["id"].eq("A|skole|10000|2025/2026|0").to_numpy()
    assert (primary & tiny).any() and not (~hidden & primary).any()
    sets = S.primary_measure_sets(m, primary)
    assert ("n", "S.ulovligt_pct") in sets
    for ms in sets:
        assert S.base_failures(m, hidden, primary, only=ms) == [], ms
