"""Common syntax mistakes, named by example (used with Lark's ``match_examples``).

Each message maps to snippets that fail the same way as the mistake it names: Lark compares the
parser state at the failure, so an author's text that fails in the same state gets the same message.
``tests/dsl/test_error_examples.py`` checks every snippet is matched to its own message.
"""

from __future__ import annotations

MISSING_END = "missing `end`: every block (framework, parameter, fact, role, rule, need, ...) closes with `end`"
MET_WHEN_MISSING = "`met when` missing: a need's condition starts with `met when`, e.g. `met when any offence in last 12 months`"
UNQUOTED_TITLE = 'unquoted title: titles go in double quotes, e.g. need CRIME_OFFENDING "Offending in the last 12 months"'
PERCENT_SIGN = "percent without %: write the % sign right after the number, e.g. 90%"
MISSING_UNDER = "missing `under HEADLINE`: say which headline a need belongs to, e.g. need X \"...\" under EDUCATION"
MISSING_COLON = "missing `:` between a field name and its type, e.g. offence_date: date"
BAD_DATE = "dates are written year-month-day, e.g. 2022-10-03"
DOUBLE_EQUALS = "`==` is written `=`: comparisons are = != < <= > >="
PARAMETER_UNIT = "missing `:` before the parameter's unit, e.g. parameter attendance_threshold: percent"
UNQUOTED_SOURCE = 'unquoted citation: write source "Guidance ch.4" [url "https://..."] [verified|believed|local]'
MISSING_FROM = "missing `from DATE` after a parameter value, e.g. 90% from 2015-09-01"
UNTERMINATED_STRING = 'unterminated string: close the text with `"` on the same line'
UNCLOSED_PAREN = "unclosed `(`: add the matching `)`"
WINDOW_THE = "windows are written without `the`: `in last 12 months`, `over each of last 3 terms`"
RULE_SUBJECT = "a rule says whom it is about: `rule NAME about person` or `rule NAME about family`"

#: a character no token can start with names the mistake on its own
CHARACTER_LABELS: dict[str, str] = {"%": PERCENT_SIGN, '"': UNTERMINATED_STRING}

ERROR_EXAMPLES: dict[str, list[str]] = {
    MISSING_END: [
        'need A "a" under H\n  for family\n  met when x\nneed B "b" under H\nend\n',
        'need A "a" under H\n  for family\n  met when x > 3\n',
        'parameter p: count\n  3 from 2022-01-01\nparameter q: count\nend\n',
        'parameter p: count\n  3 from 2022-01-01 source "s" local\nparameter q: count\nend\n',
        'role r "R"\n  age > 3\nrole s "S"\n  age < 3\nend\n',
        'role r "R"\n  age > 3\n  source "s" local\nrole s "S"\n  age < 3\nend\n',
        'role r "R"\n  age > 3\n  source "s"\nrole s "S"\n  age < 3\nend\n',
        'need A "a" under H\n  for family\n  met when x\n  source "s" verified\nneed B "b" under H\nend\n',
        'fact f about person\n  d: date\n  dated by d\nfact g about person\nend\n',
        'fact f about person\n  d: date\n  dated by d\n  recorded as events\nfact g about person\nend\n',
        'headline H "h"\nheadline G "g"\nend\n',
        'framework f "F"\n  phase "3"\nparameter p: count\nend\n',
    ],
    MET_WHEN_MISSING: [
        'need A "a" under H\n  for family\n  x > 3\nend\n',
        'need A "a" under H\n  for family\n  when x > 3\nend\n',
        'need A "a" under H\n  for each child\n  any offence in last 12 months\nend\n',
        'need A "a" under H\n  for each member\n  age > 10\nend\n',
        'need A "a" under H\n  for each child\n  age > 10\nend\n',
        'need A "a" under H\n  "Description."\n  for each child\n  age > 10\nend\n',
    ],
    UNQUOTED_TITLE: [
        'need A Persistent absence under H\nend\n',
        'framework f Supporting Families\nend\n',
        'headline H Getting a good education\nend\n',
    ],
    PERCENT_SIGN: [
        'parameter p: percent\n  90 % from 2020-01-01\nend\n',
        'need A "a" under H\n  for family\n  met when x < 90 %\nend\n',
    ],
    MISSING_UNDER: [
        'need A "a"\n  for family\n  met when x\nend\n',
        'need A "a" EDUCATION\nend\n',
    ],
    MISSING_COLON: [
        'fact f about person\n  d date\nend\n',
    ],
    BAD_DATE: [
        'parameter p: count\n  3 from 03/10/2022\nend\n',
        'framework f "F"\n  effective 03/10/2022\nend\n',
    ],
    DOUBLE_EQUALS: [
        'need A "a" under H\n  for family\n  met when x == 3\nend\n',
    ],
    PARAMETER_UNIT: [
        'parameter p percent\n  90% from 2020-01-01\nend\n',
    ],
    UNQUOTED_SOURCE: [
        'role r "R"\n  age > 3\n  source Guidance chapter 4\nend\n',
        'need A "a" under H\n  source Guidance chapter 4\nend\n',
    ],
    MISSING_FROM: [
        'parameter p: count\n  3\nend\n',
        'parameter p: percent\n  90% 2020-01-01\nend\n',
    ],
    UNTERMINATED_STRING: [
        'need A "a under H\nend\n',
        'role r "R\n  age > 3\nend\n',
    ],
    WINDOW_THE: [
        'role r "R"\n  any offence in the last 12 months\nend\n',
        'role r "R"\n  count of offence in the last 12 months > 1\nend\n',
        'role r "R"\n  count of offence where x = 1 in the last 12 months > 1\nend\n',
    ],
    RULE_SUBJECT: [
        'rule r\n  age > 3\nend\n',
        'rule r "About"\n  age > 3\nend\n',
    ],
    UNCLOSED_PAREN: [
        'role r "R"\n  (age > 3 and age < 9\nend\n',
        'role r "R"\n  age < 3 or (age > 3 and (age < 9 or age > 12)\nend\n',
    ],
}
