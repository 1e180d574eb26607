"""Report sections: goals with uncertainty, suppression shown as '–', every section renders."""
import re

import pytest

from datapakke import fmt
from datapakke.report import SchoolReport, goal_verdict

from .conftest import AARS, TINY

SECTIONS = ["banner", "heading", "forside", "survey_overview", "survey_rounds", "survey_change", "survey_by_grade",
            "goals_progress", "national", "gender_gap", "gender_gap_details", "other_gaps", "absence",
            "absence_details", "flags", "action_plan", "data_links", "method"]


@pytest.mark.parametrize("school", [AARS, TINY])
def test_every_section_renders_without_nan(built, school):
    goals = [{"dimension": "faglig_trivsel", "gruppe": "dreng", "runde": "T2", "maal": 510}]
    r = SchoolReport.load(school, built.processed, goals=goals)
    for name in SECTIONS:
        html = getattr(r, name)()._repr_html_()
        assert "nan" not in html.lower().replace("nanstd", ""), name
        assert not re.search(r">\s*None\s*<", html), name


def test_aars_shows_492_516_and_the_goal(built):
    r = SchoolReport.load(AARS, built.processed, goals=[
        {"dimension": "faglig_trivsel", "gruppe": "dreng", "runde": "T2", "maal": 510,
         "tekst": "Drengenes faglige trivsel skal op på 510 ved T2"}])
    gap = r.gender_gap()._repr_html_()
    assert "<td>T1</td><td>492</td><td>516</td>" in gap
    goal = r.goals_progress()._repr_html_()
    assert "Drengenes faglige trivsel skal op på 510 ved T2" in goal and "<td>510</td>" in goal


def test_goal_verdicts():
    assert goal_verdict(515, 511, 519, 510) == "nået"
    assert goal_verdict(512, 500, 524, 510).startswith("nået, men usikkert")
    assert goal_verdict(500, 490, 505, 510) == "ikke nået"
    assert goal_verdict(505, 495, 515, 510).startswith("ikke nået, men usikkert")
    assert goal_verdict(float("nan"), float("nan"), float("nan"), 510).startswith("kan ikke vurderes")


def test_danish_number_format():
    assert fmt.num(1234.56, 1) == "1.234,6"
    assert fmt.num(-3.2, 1, sign=True) == "−3,2"
    assert fmt.pct(float("nan")) == "–"
    assert fmt.is_suppressed_cell("497 (–)") and not fmt.is_suppressed_cell("0.–3. kl.")
