"""Report sections: goals with uncertainty, suppression shown as '–', every section renders."""
import re

import pytest

from datapakke import fmt
from datapakke.report import SECTIONS as PAGE_SECTIONS
from datapakke.report import SchoolReport, goal_verdict

from .conftest import AARS, TINY, assert_figures_are_accessible

SECTIONS = ["banner", "heading", "brief", "flags", "forside", "survey_overview", "survey_rounds", "survey_change", "survey_by_grade",
            "goals_progress", "national", "gender_gap", "gender_gap_details", "other_gaps", "absence",
            "absence_details", "action_plan", "data_links", "method"]


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
    assert fmt.num(0.4, sign=True) == "0" and fmt.num(-0.4) == "0" and fmt.num(-0.004, 2, sign=True) == "0,00"
    assert fmt.diff(505.4, 530.6) == "−26" and fmt.num(505.4 - 530.6, sign=True) == "−25"  # the reason for diff
    assert fmt.plural(1, "punkt", "punkter") == "1 punkt" and fmt.plural(2, "skole", "skoler") == "2 skoler"


def _tables(page: str) -> list[tuple[str, list[str], list[list[str]]]]:
    """The page's tables (caption, header, body rows) as text, from the HTML fmt.table writes."""
    out = []
    for t in re.findall(r'<table class="dp-table[^"]*"[^>]*>(.*?)</table>', page, re.DOTALL):
        cap = re.search(r"<caption>(.*?)</caption>", t)
        head = re.findall(r"<th[^>]*>(.*?)</th>", t.split("</thead>")[0]) if "</thead>" in t else []
        body = t.split("<tbody>")[-1]
        rows = [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in re.findall(r"<tr>(.*?)</tr>", body)]
        out.append((cap.group(1) if cap else "", head, rows))
    return out


def _number(text: str) -> float | None:
    text = text.replace("−", "-").replace(".", "").replace(",", ".").strip()
    return float(text) if re.fullmatch(r"[+-]?\d+(\.\d+)?", text) else None


def _page(r) -> str:
    return "\n".join(getattr(r, name)()._repr_html_() for name in SECTIONS)


@pytest.mark.parametrize("school", [AARS, TINY])
def test_numbers_on_the_page_add_up_and_agree_with_their_tests(built, school):
    """Differences are the differences of the rounded numbers beside them; a Holm-justeret interval excludes 0
    exactly when its p (Holm) is under 0,05; no +0/−0; correct plurals; no empty header; no developer text."""
    page = _page(SchoolReport.load(school, built.processed))
    checked = {"diff": 0, "holm": 0}
    for caption, head, rows in _tables(page):
        assert all(h.strip() for h in head), f"empty header in {caption}"
        for row in rows:
            cell = dict(zip(head, row))
            forskel = next((h for h in head if h.startswith("Forskel") and "før" not in h and "efter" not in h), None)
            if forskel and {"Drenge", "Piger"} <= set(cell):
                d, p, f = (_number(cell[k]) for k in ("Drenge", "Piger", forskel))
                if None not in (d, p, f):
                    assert f == d - p, (caption, row)
                    checked["diff"] += 1
            if "Interval (Holm-justeret)" in cell and "p (Holm)" in cell and " til " in cell["Interval (Holm-justeret)"]:
                lo, hi = (_number(x) for x in cell["Interval (Holm-justeret)"].split(" til "))
                pv = _number(cell["p (Holm)"])
                if pv is not None:
                    if pv < 0.05:
                        assert not (lo < 0 < hi), (caption, row)
                    else:
                        assert lo <= 0 <= hi, (caption, row)
                    checked["holm"] += 1
            if "Ændring" in cell and len(head) > 2 and re.fullmatch(r"T\d", head[1]) and re.fullmatch(r"T\d", head[2]):
                a, b, c = _number(cell[head[1]]), _number(cell[head[2]]), _number(cell["Ændring"])
                if None not in (a, b, c):
                    assert c == b - a, (caption, row)
    if school == AARS:
        assert checked["diff"] >= 10 and checked["holm"] >= 10, checked
    text = re.sub(r"<[^>]+>", " ", page)
    assert not re.search(r"(?<![\d,.])[+−]0(?:,0+)?(?![\d,])", text), re.findall(r".{30}[+−]0(?![\d,]).{10}", text)
    assert not re.search(r"(?<![\d.,])1 (punkter|skoler|dimensioner|ændringer)\b", text)
    assert "params/" not in page and "<code>" not in page and ".yaml" not in page


def test_aars_kort_fortalt_states_the_boys_against_the_girls_and_its_points_each_linked(built):
    r = SchoolReport.load(AARS, built.processed)
    brief = r.brief()._repr_html_()
    items = re.findall(r"<li>(.*?)</li>", brief)
    assert 3 <= len(items) <= 5 and all(re.search(r"\d", re.sub(r"<[^>]+>", "", i)) for i in items)
    assert items[0].startswith("Drengenes faglige trivsel er 482 mod pigernes 508 i T3: 26 point lavere, og "
                               "forskellen er statistisk sikker.")
    assert 'href="#figur-gender-gap"' in items[0] and 'href="#tabel-koensforskel"' in items[0]
    f = r.school_flags()
    assert list(f["dimension"]) == ["faglig_trivsel", "laeringsmotivation", "relation_til_laererne"]
    said = [i for i in items if i.startswith("Opmærksomhedspunkt:")]
    assert [re.sub(r" <span.*", "", s) for s in said] == [
        "Opmærksomhedspunkt: Drengene er mindre motiverede for at lære end pigerne: læringsmotivation 540 mod 563 "
        "point i T3, 23 point lavere.",
        "Opmærksomhedspunkt: Drengene oplever en dårligere relation til lærerne end pigerne: relation til lærerne "
        "507 mod 536 point i T3, 29 point lavere."]
    assert 'href="#punkt-2"' in said[0] and 'href="#figur-punkt-2"' in said[0]
    cards = r.flags()._repr_html_()
    for i, row in enumerate(f.itertuples(), 1):  # each point: its sentence, its own figure, its table, its data
        card = cards[cards.index(f'id="punkt-{i}"'):]
        card = card[:card.index('<p class="dp-flag-data">')]
        assert f'<p class="dp-flag-message">{row.budskab}</p>' in card
        assert f'id="figur-punkt-{i}"' in card and f'id="tal-punkt-{i}"' in card
        assert 'href="#tal-punkt-' in card


@pytest.mark.parametrize("school", [AARS, TINY])
def test_every_link_inside_the_page_has_its_target_and_every_figure_its_text(built, school):
    page = _page(SchoolReport.load(school, built.processed))
    assert_figures_are_accessible(page)
    inner = {a for a, _ in PAGE_SECTIONS}  # the headings' anchors are in the notebook's markdown
    missing = [t for t in set(re.findall(r'href="#([^"]+)"', page)) if t not in inner and f'id="{t}"' not in page]
    assert missing == []


def test_goals_are_explained_to_the_school_leader_not_the_developer(built):
    text = SchoolReport.load(TINY, built.processed).goals_progress()._repr_html_()
    assert "skoleudviklingssamtalen" in text and "params" not in text and "goals" not in text


def test_the_heading_does_not_repeat_the_title(built):
    head = SchoolReport.load(AARS, built.processed).heading()._repr_html_()
    assert "Aars Skole" not in head and "Vesthimmerland" not in head and "Institutionsnummer 861010" in head
    assert [a for a, _ in PAGE_SECTIONS] == re.findall(r'<a href="#([^"]+)">', head)
