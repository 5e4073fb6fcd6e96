"""Write the demo's two monthly extracts (synthetic people only) for three feeds.

    .venv/bin/python examples/feeds-demo/make_extracts.py

The output is committed; re-running rewrites identical files (CSV/JSON byte-for-byte; the Excel files
carry a fixed creation time). Each extract has some bad rows on purpose, listed in README.md.
"""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from pathlib import Path

import openpyxl

from engine.integrate.identifiers import nhs_check_digit, upn_check_letter

HERE = Path(__file__).parent
MONTHS = ("2024-01-31", "2024-02-29")


def upn(body: str) -> str:
    return upn_check_letter("?" + body) + body


def nhs(first_nine: str) -> str:
    digit = nhs_check_digit(first_nine)
    assert digit is not None, first_nine
    return f"{first_nine[:3]} {first_nine[3:6]} {first_nine[6:]}{digit}"


ACACIA = ("14 Acacia Road", "Headingley", "Leeds", "LS6 2AB", "100023336956")
BEECH = ("3 Beech Close", "Chapeltown", "Leeds", "ls71qr", "100023336957")
CEDAR = ("Flat 2, 9 Cedar Court", "Roundhay", "Leeds", "LS8 4DD", "")
ELM = ("22 Elm Street", "Armley", "Leeds", "LS12 3PQ", "100023336960")
OAK = ("5 Oak Lane", "Armley", "Leeds", "LS12 2HT", "100023336971")
BIRCH = ("41 Birch Avenue", "Harehills", "Leeds", "LS9 6NN", "100023336990")

SCHOOL_HEADER = ["pupil_ref", "upn", "forename", "surname", "dob", "gender", "address_1", "address_2", "town",
                 "postcode", "uprn", "parent_ref", "term_start", "term_end", "possible", "attended", "unauthorised"]


def school_rows(month: int) -> list[list[str]]:
    autumn = ["01/09/2023", "22/12/2023"]
    spring = ["08/01/2024", "28/03/2024"]
    liam = ["P1001", upn("938200101234"), "Liam", "Thompson", "03/09/2012", "M", *ACACIA, "H001"]
    mia = ["P1002", upn("938200101235"), "Mia", "Thompson", "20/01/2015", "F", *ACACIA, "H001"]
    yusuf_home = BEECH if month == 1 else BIRCH  # Yusuf goes to live with his aunt in February
    yusuf = ["P1003", upn("938200101236"), "Yusuf", "Khan", "05/11/2010", "M", *yusuf_home, "H002"]
    jayden_upn = upn("938200101237")
    jayden_bad_upn = ("A" if jayden_upn[0] != "A" else "B") + jayden_upn[1:]  # wrong check letter
    jayden = ["P1004", jayden_bad_upn, "Jayden", "O'Brien-Walsh", "15-03-13", "male", *CEDAR, "H003"]
    daniel_home = ELM if month == 1 else OAK  # the Prices move in February
    daniel = ["P1005", upn("938200101238"), "Daniel", "Price", "2011-05-05", "M", *daniel_home, "H004"]
    rows = [
        liam + autumn + ["140", "121", "12"],
        mia + autumn + ["140", "138", "0"],
        yusuf + autumn + ["140", "98", "31"],
        jayden + autumn + ["140", "110", "20"],
        daniel + autumn + ["140", "139", "0"],
        # bad: 31 February is not a date
        ["P1006", upn("938200101239"), "Ella", "Barnes", "31/02/2012", "F", *ELM, "", *autumn, "140", "130", "2"],
        # bad: no pupil reference
        ["", upn("938200101240"), "Oliver", "Grant", "11/11/2011", "M", *OAK, "", *autumn, "140", "120", "3"],
    ]
    if month == 2:
        rows += [
            liam + spring + ["50", "41", "6"],
            mia + spring + ["50", "50", "0"],
            yusuf + spring + ["50", "30", "15"],
            jayden + spring + ["50", "44", "4"],
            daniel + spring + ["50", "49", "0"],
            # new in February: Noah starts reception and joins the Thompson household's records
            ["P1007", upn("938200101241"), "Noah", "Thompson", "01/09/2019", "M", *ACACIA, "H001",
             *spring, "50", "47", "1"],
        ]
        # a correction: Liam's autumn attendance re-stated with different figures
        rows[0] = liam + autumn + ["140", "119", "14"]
    return rows


def write_school(month: int, folder: Path) -> None:
    text_rows = [SCHOOL_HEADER] + school_rows(month)
    with (folder / "school_census.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(text_rows)
    # bad: a row typed in a Latin-1 system ("Zoë" as the single byte 0xEB) inside a UTF-8 file
    latin1_row = (
        "P1008," + upn("938200101242") + ",Zo\xeb,Fletcher,02/02/2014,F,7 Ash Grove,,Leeds,LS6 1AA,"
        ",,01/09/2023,22/12/2023,140,135,1\n"
    ).encode("latin-1")
    with (folder / "school_census.csv").open("ab") as handle:
        handle.write(latin1_row)


def social_care_rows(month: int) -> list[dict]:
    g1_end = None if month == 1 else "2024-02-12"  # the Thompsons' CIN plan closes in February
    rows = [
        {"person_id": "CS-501", "name": "THOMPSON, Sarah", "dob": "1985-04-12", "sex": "F",
         "nhs_number": nhs("999000101"), "family_group_id": "G1", "episode_ref": "E1",
         "start_date": "2023-10-02", "end_date": g1_end, "category": "cin"},
        {"person_id": "CS-502", "name": "THOMPSON, Liam", "dob": "2012-09-03", "sex": "M",
         "nhs_number": nhs("999000102"), "family_group_id": "G1", "episode_ref": "E2",
         "start_date": "2023-10-02", "end_date": g1_end, "category": "cin"},
        {"person_id": "CS-503", "name": "THOMPSON, Mia", "dob": "2015-01-20", "sex": "F",
         "nhs_number": nhs("999000103"), "family_group_id": "G1", "episode_ref": "E3",
         "start_date": "2023-10-02", "end_date": g1_end, "category": "cin"},
        {"person_id": "CS-601", "name": "O'BRIEN, Mrs Tracey", "dob": "1990-07-07", "sex": "F",
         "nhs_number": nhs("999000104"), "family_group_id": "G2", "episode_ref": "E4",
         "start_date": "2023-11-20", "end_date": None, "category": "early_help"},
        {"person_id": "CS-602", "name": "O'BRIEN-WALSH, Jayden", "dob": "2013-03-15", "sex": "M",
         # bad check digit: the identifier is dropped with a warning, the row and its episode are kept
         "nhs_number": "999 000 1059", "family_group_id": "G2", "episode_ref": "E5",
         "start_date": "2023-11-20", "end_date": None, "category": "early_help"},
        # bad: a category outside the catalogue
        {"person_id": "CS-701", "name": "BARNES, Ella", "dob": "2012-02-28", "sex": "F",
         "nhs_number": nhs("999000106"), "family_group_id": "G3", "episode_ref": "E6",
         "start_date": "2023-12-01", "end_date": None, "category": "team_around_family"},
    ]
    return rows


def write_social_care(month: int, folder: Path) -> None:
    text = json.dumps(social_care_rows(month), indent=2, ensure_ascii=False)
    (folder / "social_care.json").write_text(text + "\n", encoding="utf-8")


HOUSING_HEADER = ["tenant_ref", "first_name", "last_name", "date_of_birth", "ni_number", "address_line_1",
                  "address_line_2", "town", "postcode", "uprn", "statement_date", "arrears", "notice_served"]


def housing_rows(month: int) -> list[list[object]]:
    statement = date(2024, 1, 29) if month == 1 else date(2024, 2, 26)
    price_home = ELM if month == 1 else OAK
    cedar_typo = ("Flat 2, 9 Ceder Ct",) + CEDAR[1:]  # a typo the fuzzy address comparison absorbs
    return [
        ["H001", "Sally", "Thompson", datetime(1985, 4, 12), "JT 12 34 56 A", *ACACIA, statement,
         "412.50" if month == 1 else "388.10", "no"],
        ["H002", "Mo", "Khan", datetime(1980, 2, 11), "KH654321B", *BEECH, statement, "0", "no"],
        ["H003", "Mrs Tracey", "O'Brien", datetime(1990, 7, 7), "TO112233C", *cedar_typo, statement,
         "1260.00", "yes"],
        ["H004", "Karen", "Price", datetime(1987, 12, 1), "KP445566D", *price_home, statement, "95.00", "no"],
        # bad: arrears is not an amount
        ["H005", "Aisha", "Khan", datetime(1982, 6, 30), "AK778899A", *BEECH, statement, "lots", "no"],
    ]


def write_housing(month: int, folder: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.properties.created = datetime(2024, 1, 1)
    workbook.properties.modified = datetime(2024, 1, 1)
    sheet = workbook.active
    sheet.title = "Tenancies"
    sheet.append(HOUSING_HEADER)
    for row in housing_rows(month):
        sheet.append([int(v) if isinstance(v, str) and v.isdigit() and len(v) == 12 else v for v in row])
    workbook.save(folder / "housing.xlsx")


def main() -> None:
    for month, stamp in enumerate(MONTHS, start=1):
        folder = HERE / "extracts" / stamp
        folder.mkdir(parents=True, exist_ok=True)
        write_school(month, folder)
        write_social_care(month, folder)
        write_housing(month, folder)
        print(f"wrote {folder}")


if __name__ == "__main__":
    main()
