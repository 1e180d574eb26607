"""Writes notebooks/datapakke.ipynb (the report template) — edit here, run, commit both."""
import nbformat as nbf
nb = nbf.v4.new_notebook()
front = '''---
title: "Datapakke"
format:
  html:
    toc: true
execute:
  echo: false
  warning: false
lang: da
---'''
params = '''#| tags: [parameters]
school_id: str = "861010"  # institutionsnummer
school_name: str = "Aars Skole"  # skolens navn
municipality_code: str = "820"  # kommunekode
municipality: str = "Vesthimmerland"  # kommune
school_year: str = "2025/2026"  # skoleåret datapakken gælder
rounds: list = ["T1", "T2", "T3"]  # kortlægningens runder
goals: list = []  # skolens mål fra params-filen
processed_dir: str = ""  # mappe med behandlede data (tom: projektets data/processed)
site_root: str = "../"  # relativ sti fra siden til webstedets rod'''
cells = [
    nbf.v4.new_raw_cell(front),
    nbf.v4.new_code_cell(params, metadata={"tags": ["parameters"]}),
    nbf.v4.new_code_cell('''from datapakke.report import SchoolReport

r = SchoolReport.load(school_id, processed_dir or None, school_year, rounds, goals, site_root)
r.banner()'''),
    nbf.v4.new_code_cell("r.heading()"),
    nbf.v4.new_markdown_cell("## Datagrundlag\n\nHvem har svaret, og hvor meget kan tallene bære? Lav svarprocent eller få elever gør tallene mere usikre."),
    nbf.v4.new_code_cell("r.forside()"),
    nbf.v4.new_markdown_cell("## Kortlægning\n\nElevernes svar i kortlægningen, samlet i syv dimensioner og sat på en fælles skala, hvor hele programmets elever i første runde (T1) har gennemsnit 500."),
    nbf.v4.new_code_cell("r.survey_overview()"),
    nbf.v4.new_code_cell("r.survey_rounds()"),
    nbf.v4.new_markdown_cell("### Hvad har ændret sig siden sidste runde?\n\nDe fleste ændringer på én skole fra år til år er tilfældige udsving. Her skelnes mellem ændringer, der holder statistisk, og dem, der ikke gør."),
    nbf.v4.new_code_cell("r.survey_change()"),
    nbf.v4.new_markdown_cell("### Klassetrin"),
    nbf.v4.new_code_cell("r.survey_by_grade()"),
    nbf.v4.new_markdown_cell("### Skolens mål"),
    nbf.v4.new_code_cell("r.goals_progress()"),
    nbf.v4.new_markdown_cell("### Den nationale trivselsmåling\n\nSkolens offentliggjorte resultater fra trivselsmålingen sammenlignet med kommunen og landet."),
    nbf.v4.new_code_cell("r.national()"),
    nbf.v4.new_markdown_cell("## Kønsforskelle i faglig trivsel\n\nTrives drenge og piger lige godt fagligt på skolen – og er forskellen større eller mindre end i resten af kommunen?"),
    nbf.v4.new_code_cell("r.gender_gap()"),
    nbf.v4.new_code_cell("r.gender_gap_details()"),
    nbf.v4.new_markdown_cell("### Kønsforskelle i de andre dimensioner"),
    nbf.v4.new_code_cell("r.other_gaps()"),
    nbf.v4.new_markdown_cell("## Fravær\n\nHvor meget af skoletiden er eleverne væk, hvilken slags fravær er det, og hvordan hænger det sammen med trivslen?"),
    nbf.v4.new_code_cell("r.absence()"),
    nbf.v4.new_code_cell("r.absence_details()"),
    nbf.v4.new_markdown_cell("## Opmærksomhedspunkter\n\nPunkter, som de faste regler finder i tallene. De er et udgangspunkt for datasparringen – ikke en dom over skolen."),
    nbf.v4.new_code_cell("r.flags()"),
    nbf.v4.new_markdown_cell("## Handleplan\n\nSkabelon til skoleudviklingssamtalen: Ståsted, Mål, Tiltag og tegn, Evaluering."),
    nbf.v4.new_code_cell("r.action_plan()"),
    nbf.v4.new_markdown_cell("## Data og metode"),
    nbf.v4.new_code_cell("r.data_links()"),
    nbf.v4.new_code_cell("r.method()"),
]
nb.cells = cells
nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
               "language_info": {"name": "python"}}
nbf.write(nb, "notebooks/datapakke.ipynb")
