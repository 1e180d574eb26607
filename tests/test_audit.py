"""The publish gate's audit: read back the built site's tables, find leaks and cells an LP can pin."""
import json

import numpy as np
import pandas as pd
import pytest

from datapakke import build, publication, publish, store
from datapakke.publication import audit, cells as C, suppression as S
from datapakke.publication.model import build_model

from .conftest import AARS, TINY


@pytest.fixture(scope="module")
def site_paths(built):
    summary = build.build(build.select(built.params, municipality="820"), built, workers=1)
    assert not summary.failures, summary.text()
    return built


@pytest.fixture(scope="module")
def model(built):
    v = store.current(built.processed)
    agg = publication.read_aggregates(v / "aggregates")
    decided = pd.read_parquet(store.published(v) / "celler.parquet").set_index("id")["status"]
    return build_model(*C.from_aggregates(agg)), decided


def test_the_built_site_passes_the_audit(site_paths):
    site, _ = publish.publish(site_paths, renderer="fallback", force=True)
    findings, facts = audit.audit(site, store.current(site_paths.processed))
    assert findings == []
    assert facts["files"] >= 10 and facts["cells_seen"] > 100


def test_publish_refuses_a_school_cell_restored_in_its_csv(site_paths):
    site, _ = publish.publish(site_paths, renderer="fallback")
    before = (site / "index.html").read_text(encoding="utf-8")
    v = store.current(site_paths.processed)
    decided = pd.read_parquet(store.published(v) / "celler.parquet")
    absence = pd.read_parquet(v / "aggregates" / "absence.parquet")
    render = publish.render_fallback

    def with_a_restored_cell(project, out, *args, **kwargs):
        out = render(project, out, *args, **kwargs)
        csv = out / "vesthimmerland" / f"{AARS}-aars-skole_data" / "detaljer" / "absence.csv"
        t = pd.read_csv(csv, dtype={"kode": str})
        hidden = t["status"].isin(["primaer", "sekundaer"]) & (t["niveau"] == "skole")
        assert hidden.any()
        i = t.index[hidden][0]
        truth = absence[(absence["niveau"] == "skole") & (absence["kode"] == AARS)
                        & (absence["skoleaar"] == t.at[i, "skoleaar"]) & (absence["gruppe"].astype(str) == str(t.at[i, "gruppe"]))]
        t.at[i, "samlet_pct"] = truth["samlet_pct"].iloc[0]
        csv.unlink()  # the site's data files are hard links to the built package: leave that one alone
        t.to_csv(csv, index=False)
        with_a_restored_cell.cell = t.at[i, "celle"]
        return out

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(publish, "render_fallback", with_a_restored_cell)
    try:
        with pytest.raises(publish.DisclosureRisk) as exc:
            publish.publish(site_paths, renderer="fallback", force=True)
    finally:
        monkeypatch.undo()
    assert with_a_restored_cell.cell in str(exc.value) and "absence.csv" in str(exc.value)
    assert with_a_restored_cell.cell in set(decided["id"])
    assert (site / "index.html").read_text(encoding="utf-8") == before  # the last good site stays
    assert not list(site_paths.reports.glob(".site-*"))


def test_a_page_table_is_read_in_its_declared_dialect(tmp_path):
    """A page's own table is for Danish Excel (';', decimal comma): read as a comma CSV it would not parse."""
    folder = tmp_path / "kommune" / "side_data"
    folder.mkdir(parents=True)
    (folder / "tabel.csv").write_text("Gruppe;Andel\nDrenge;9\nPiger;11,2\n0. kl., 1. kl.;4,3\n", encoding="utf-8-sig")
    (folder / "datapackage.json").write_text(json.dumps({"resources": [
        {"name": "tabel", "path": "tabel.csv", "dialect": {"delimiter": ";"}}]}), encoding="utf-8")
    with pytest.raises(pd.errors.ParserError):
        pd.read_csv(folder / "tabel.csv")
    seen = audit.read_site(tmp_path, pd.DataFrame(columns=["celle", "grundcelle"]), "T3", "2025/2026")
    assert seen.files == 1 and not seen.cells


def _hidden(m, decided):
    return ~m.cells["id"].map(decided).eq("vist").to_numpy()


def test_vestermarkskolen_cannot_be_rebuilt_by_subtraction(model):
    """The municipality's row minus the other schools' rows gave every small cell of the small
    school away when each table was suppressed on its own; with the site's suppression no LP
    over all published relations can pin one."""
    m, decided = model
    primary = S.primary_cells(m)
    tiny = primary & m.cells["kode"].eq(TINY).to_numpy()
    assert tiny.sum() >= 5
    # table by table: only the small cells (and nothing in the other schools) hidden
    table_by_table = primary | ~m.published
    pinned = {m.ids[c] for (c, _, _), _ in S.base_failures(m, table_by_table, primary)}
    assert any(TINY in p for p in pinned)
    # by subtraction, as a reader would: kommune n − the other schools' n for a small gender group
    ids = list(m.ids)
    cell = next(i for i in np.flatnonzero(tiny) if m.ids[i].startswith("S|skole") and m.ids[i].endswith("pige"))
    parts = m.ids[cell].split("|")
    kom = ids.index("|".join(["S", "kommune", "820", *parts[3:]]))
    others = [ids.index("|".join(["S", "skole", s, *parts[3:]])) for s in ("793002", AARS)]
    assert m.n[kom] - sum(m.n[o] for o in others) == m.n[cell]  # what the old site allowed
    shown = [decided.get(m.ids[o]) == "vist" for o in others]
    assert not all(shown)  # now one of the other schools' cells is withheld too
    assert S.base_failures(m, _hidden(m, decided), primary) == []


def test_a_withheld_complement_is_what_protects_the_cell(model):
    m, decided = model
    primary = S.primary_cells(m)
    secondary = [i for i in decided.index if decided[i] == "sekundaer" and i.startswith("S|skole|793002|T3|faglig_trivsel|")]
    assert secondary
    leaked = decided.copy()
    leaked[secondary] = "vist"  # a reader who is also shown Gedsted's complements
    assert S.base_failures(m, _hidden(m, leaked), primary)

