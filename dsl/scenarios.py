"""Scenario tests as data: YAML files of families, dates and expected results, run against a framework.

A scenario file (``frameworks/<name>/tests/*.yaml``) is a list of scenarios::

    - name: Persistent absence alone is one need, not eligible
      as_of: 2023-09-01
      family:
        members:
          - id: child1
            date_of_birth: 2012-05-01
            facts:
              attendance:
                - {term_start: 2022-09-01, term_end: 2022-12-20, possible_sessions: 140, attended_sessions: 100}
        facts: {}                                       # family-level facts, by fact type
        coverage: {offence: [2020-01-01, 2023-09-01]}   # default: every fact type, 1900-01-01 to as_of
        case: {identified: 2022-10-01, attached: 2023-01-10, closed: null}
      expect:
        family: met                                     # the family definition (or family_definition:)
        needs: {EDU_PERSISTENT_ABSENCE: met, CRIME_OFFENDING: not_met}
        headlines: {EDUCATION: met}
        eligible: not_met
        outcomes:                                       # a value (achieved and sustained) or its parts
          EDU_PERSISTENT_ABSENCE: {achieved: not_met, sustained: unknown}
        claimable: not_met
        roles: {child1: {dependent_child: met}}
        rules: {has_minimum_needs: met, attends_school: {child1: met}}   # named helper rules
        score: {vulnerability: 1}
        rag: {vulnerability: green}
        unknowns_include: ["attendance for spring term 2023 missing"]

A scenario may set ``parameters: {attendance_threshold: 92%}`` to try other parameter values.
A fact row may carry ``id``, ``source``, ``record`` and ``batch`` besides its fields. ``coverage`` takes
``[from, to]``, ``{from: .., to: ..}`` or ``none`` (no feed covers that fact type). A bad file raises
:class:`ScenarioError` naming the file, line and field.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import yaml

from engine.errors import HearthError
from engine.rules import ir
from engine.rules.evaluator import CompiledFramework, compile_framework
from engine.rules.explain import explain
from engine.rules.inputs import CaseDates, Coverage, Fact, FamilyInput, Member
from engine.rules.results import TRI_VALUES, FamilyResult

ALL_TIME = date(1900, 1, 1)
FACT_META_KEYS = ("id", "source", "record", "batch")
NUMERIC_FIELDS = ("number", "percent", "count", "money")
SCENARIO_KEYS = ("name", "as_of", "family", "expect", "coverage", "case", "description", "parameters")
EXPECT_KEYS = ("family", "family_definition", "needs", "headlines", "eligible", "outcomes", "claimable", "roles",
               "rules", "score", "rag", "unknowns_include")


class ScenarioError(HearthError, ValueError):
    """A scenario file is malformed: says which file, line and field, and what is valid."""

    def __init__(self, message: str, file: str, line: int | None = None, field: str | None = None) -> None:
        self.file, self.line, self.field = file, line, field
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {f'{field}: ' if field else ''}{message}")


# YAML with line numbers ------------------------------------------------------------------------------


class _Map(dict):
    """A YAML mapping that remembers its own line and each key's line (1-based)."""

    line: int = 0
    key_lines: dict[str, int]


class _Seq(list):
    line: int = 0
    item_lines: list[int]


class _LineLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> _Map:  # type: ignore[override]
        mapping = _Map(super().construct_mapping(node, deep=True))
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {str(k.value): k.start_mark.line + 1 for k, _ in node.value}
        return mapping

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> _Seq:  # type: ignore[override]
        seq = _Seq(super().construct_sequence(node, deep=True))
        seq.line = node.start_mark.line + 1
        seq.item_lines = [item.start_mark.line + 1 for item in node.value]
        return seq


# dates stay text until the reader parses them, so a bad date is an error at its line, not a crash
_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LineLoader.construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _LineLoader.construct_sequence)


def _line(container: Any, key: str | int | None = None) -> int | None:
    if isinstance(container, _Map):
        return container.key_lines.get(str(key), container.line) if key is not None else container.line
    if isinstance(container, _Seq):
        if isinstance(key, int) and key < len(container.item_lines):
            return container.item_lines[key]
        return container.line
    return None


# The scenario model --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expectation:
    """One expected value: ``path`` such as ``needs.EDU_PERSISTENT_ABSENCE`` or ``outcomes.X.sustained``."""

    path: str
    expected: Any
    line: int | None


@dataclass(frozen=True)
class Scenario:
    name: str
    file: str
    line: int
    as_of: date
    family: FamilyInput
    expectations: tuple[Expectation, ...]
    #: what-if parameter values for this scenario only
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Mismatch:
    expectation: Expectation
    got: Any

    def describe(self, scenario: Scenario) -> str:
        line = self.expectation.line or scenario.line
        return (f"{scenario.file}:{line}: {scenario.name}: {self.expectation.path}: "
                f"expected {_show(self.expectation.expected)}, got {_show(self.got)}")


@dataclass
class ScenarioRun:
    scenario: Scenario
    result: FamilyResult
    mismatches: list[Mismatch] = field(default_factory=list)
    explanation: str = ""

    @property
    def passed(self) -> bool:
        return not self.mismatches

    def report(self) -> str:
        """Each mismatch on its own line, then the explanation of the result."""
        lines = [m.describe(self.scenario) for m in self.mismatches]
        if self.explanation:
            lines += ["", "Explanation:"] + ["    " + l for l in self.explanation.rstrip().splitlines()]
        return "\n".join(lines)


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# Loading ---------------------------------------------------------------------------------------------


class _Reader:
    """Turns one scenario's YAML into a :class:`Scenario`, raising precise errors."""

    def __init__(self, framework: ir.Framework, file: str) -> None:
        self.framework = framework
        self.file = file
        self.fact_types = {f.name: f for f in framework.fact_types}
        self.need_codes = {n.name for n in framework.needs}
        self.headline_codes = {h.code for h in framework.headlines} | {n.headline for n in framework.needs}
        self.outcome_codes = {o.need for o in framework.outcomes}
        self.role_names = {r.name for r in framework.roles}
        self.score_names = {s.name for s in framework.scores}

    def error(self, message: str, container: Any = None, key: Any = None, field: str | None = None) -> ScenarioError:
        return ScenarioError(message, self.file, _line(container, key), field)

    def _choice(self, given: Any, valid: Iterable[str], what: str, container: Any, key: Any, field: str) -> ScenarioError:
        valid = sorted(valid)
        close = difflib.get_close_matches(str(given), valid, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return self.error(f"unknown {what} {given!r}{hint}; valid: {', '.join(valid) or 'none'}", container, key, field)

    def mapping(self, value: Any, container: Any, key: Any, field: str) -> dict:
        if value is None:
            return _Map()
        if not isinstance(value, dict):
            raise self.error(f"expected a mapping, got {type(value).__name__} {value!r}", container, key, field)
        return value

    def day(self, value: Any, container: Any, key: Any, field: str) -> date:
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise self.error(f"expected an ISO date such as 2023-09-01, got {value!r}", container, key, field)

    def check_keys(self, mapping: dict, allowed: Iterable[str], field: str) -> None:
        for key in mapping:
            if key not in allowed:
                raise self._choice(key, allowed, "key", mapping, key, field)

    def scenario(self, raw: Any, index: int, container: _Seq) -> Scenario:
        if not isinstance(raw, dict):
            raise self.error(f"each scenario must be a mapping with name, as_of, family, expect; got {raw!r}",
                             container, index, f"scenario {index + 1}")
        self.check_keys(raw, SCENARIO_KEYS, "scenario")
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            raise self.error("every scenario needs a 'name' (text)", raw, "name", "name")
        if "as_of" not in raw:
            raise self.error("missing 'as_of' (the evaluation date)", raw, None, "as_of")
        as_of = self.day(raw["as_of"], raw, "as_of", "as_of")
        family_raw = self.mapping(raw.get("family"), raw, "family", "family")
        family = self.family(family_raw, raw, as_of, name, index)
        expect = self.mapping(raw.get("expect"), raw, "expect", "expect")
        if not expect:
            raise self.error("a scenario must expect something ('expect:' with needs, eligible, ...)", raw, "expect", "expect")
        parameters = self.parameters(self.mapping(raw.get("parameters"), raw, "parameters", "parameters"))
        return Scenario(name, self.file, _line(container, index) or 1, as_of, family, tuple(self.expectations(expect)),
                        parameters)

    def parameters(self, spec: dict) -> dict[str, Any]:
        """What-if parameter values: numbers, ``90%``, ``£500``, ``12 months``, true/false, dates."""
        values = {}
        for name, value in spec.items():
            declared = self.framework.parameter(name)
            if declared is None:
                raise self._choice(name, [p.name for p in self.framework.parameters], "parameter", spec, name, "parameters")
            values[name] = self.parameter_value(declared, value, spec, name)
        return values

    def parameter_value(self, declared: ir.Parameter, value: Any, spec: dict, name: str) -> Any:
        where, unit = f"parameters.{name}", declared.unit
        if unit == "boolean":
            if not isinstance(value, bool):
                raise self.error(f"expected true or false, got {value!r}", spec, name, where)
            return value
        if unit == "date":
            return self.day(value, spec, name, where)
        if unit in ir.DURATION_UNITS:
            amount, _, given_unit = str(value).partition(" ")
            given_unit = given_unit.strip() or unit
            given_unit = given_unit if given_unit.endswith("s") else given_unit + "s"
            if not amount.isdigit() or given_unit not in ir.DURATION_UNITS:
                raise self.error(f"expected a duration such as '12 months', got {value!r}", spec, name, where)
            return ir.Duration(amount=int(amount), unit=given_unit)
        if unit in ("text", "code"):
            return str(value)
        text = str(value).strip().rstrip("%").lstrip("£").replace(",", "")
        try:
            number = float(text)
        except ValueError:
            raise self.error(f"expected a number for a {unit} parameter, got {value!r}", spec, name, where) from None
        return int(number) if number.is_integer() else number

    def family(self, raw: dict, scenario: dict, as_of: date, name: str, index: int) -> FamilyInput:
        self.check_keys(raw, ("id", "members", "facts", "coverage", "case"), "family")
        members_raw = raw.get("members") or _Seq()
        if not isinstance(members_raw, list):
            raise self.error("'members' must be a list", raw, "members", "family.members")
        members, facts, seen = [], [], set()
        for i, m in enumerate(members_raw):
            if not isinstance(m, dict) or "id" not in m:
                raise self.error("each member needs an 'id'", members_raw, i, f"family.members[{i}]")
            self.check_keys(m, ("id", "date_of_birth", "sex", "given_name", "family_name", "joined", "left",
                                "attributes", "facts"), f"family.members[{i}]")
            pid = str(m["id"])
            if pid in seen:
                raise self.error(f"member id {pid!r} appears twice", members_raw, i, f"family.members[{i}].id")
            seen.add(pid)
            dates = {k: self.day(m[k], m, k, f"family.members[{i}].{k}") if m.get(k) is not None else None
                     for k in ("date_of_birth", "joined", "left")}
            members.append(Member(pid, dates["date_of_birth"], m.get("sex"), m.get("given_name"),
                                  m.get("family_name"), dict(self.mapping(m.get("attributes"), m, "attributes", "attributes")),
                                  dates["joined"], dates["left"]))
            facts += self.facts(m.get("facts"), m, pid, f"family.members[{i}].facts", index)
        facts += self.facts(raw.get("facts"), raw, None, "family.facts", index)
        family_id = str(raw.get("id") or f"scenario-{index + 1}")
        coverage_raw = raw.get("coverage", scenario.get("coverage"))
        case_raw = raw.get("case", scenario.get("case"))
        coverage = self.coverage(coverage_raw, raw if "coverage" in raw else scenario, as_of)
        case = self.case(case_raw, raw if "case" in raw else scenario)
        return FamilyInput(family_id, tuple(members), tuple(facts), case, coverage)

    def facts(self, raw: Any, container: Any, person: str | None, where: str, index: int) -> list[Fact]:
        by_type = self.mapping(raw, container, "facts", where)
        facts = []
        for type_name, rows in by_type.items():
            fact_type = self.fact_types.get(type_name)
            if fact_type is None:
                raise self._choice(type_name, self.fact_types, "fact type", by_type, type_name, where)
            if not isinstance(rows, list):
                raise self.error("expected a list of rows", by_type, type_name, f"{where}.{type_name}")
            for n, row in enumerate(rows):
                facts.append(self.fact(row, rows, n, fact_type, person, f"{where}.{type_name}[{n}]", index))
        return facts

    def fact(self, row: Any, rows: Any, n: int, fact_type: ir.FactType, person: str | None, where: str,
             index: int) -> Fact:
        if not isinstance(row, dict):
            raise self.error(f"a fact row must be a mapping of fields, got {row!r}", rows, n, where)
        fields: dict[str, Any] = {}
        for key, value in row.items():
            if key in FACT_META_KEYS:
                continue
            definition = fact_type.field(key)
            if definition is None:
                raise self._choice(key, [f.name for f in fact_type.fields], f"field of {fact_type.name}", row, key, where)
            if definition.type == "date" and value is not None:
                value = self.day(value, row, key, f"{where}.{key}")
            if definition.type in NUMERIC_FIELDS and value is not None and (
                    isinstance(value, bool) or not isinstance(value, (int, float))):
                raise self.error(f"{fact_type.name}.{key} is a {definition.type}: expected a number, got {value!r}",
                                 row, key, f"{where}.{key}")
            if definition.type == "boolean" and value is not None and not isinstance(value, bool):
                raise self.error(f"{fact_type.name}.{key} is true or false, got {value!r}", row, key, f"{where}.{key}")
            if definition.type == "code" and definition.codes and value is not None and value not in definition.codes:
                raise self._choice(value, definition.codes, f"code for {fact_type.name}.{key}", row, key, f"{where}.{key}")
            fields[key] = value
        if fields.get(fact_type.date_field) is None:
            raise self.error(f"{fact_type.name} rows are dated by '{fact_type.date_field}', which is missing",
                             rows, n, where)
        end = fields.get(fact_type.end_field) if fact_type.end_field else None
        line = _line(rows, n)
        fact_id = str(row.get("id") or f"{fact_type.name}@{Path(self.file).name}:{line}")
        return Fact(fact_id, fact_type.name, fields[fact_type.date_field], fields, person, None,
                    str(row.get("source", "scenario")), str(row.get("record", fact_id)),
                    str(row.get("batch", f"scenario-{index + 1}")), end)

    def coverage(self, raw: Any, container: Any, as_of: date) -> dict[str, Coverage]:
        coverage = {name: Coverage(name, ALL_TIME, as_of, ("scenario",)) for name in self.fact_types}
        spec = self.mapping(raw, container, "coverage", "coverage")
        for name, value in spec.items():
            if name not in self.fact_types:
                raise self._choice(name, self.fact_types, "fact type", spec, name, "coverage")
            where = f"coverage.{name}"
            if value is None or value == "none":
                del coverage[name]
                continue
            if isinstance(value, dict):
                start, end = value.get("from"), value.get("to")
            elif isinstance(value, list) and len(value) == 2:
                start, end = value
            else:
                raise self.error("coverage is [from, to], {from: .., to: ..} or none", spec, name, where)
            start = self.day(start, spec, name, where) if start is not None else ALL_TIME
            end = self.day(end, spec, name, where) if end is not None else as_of
            coverage[name] = Coverage(name, start, end, ("scenario",))
        return coverage

    def case(self, raw: Any, container: Any) -> CaseDates:
        spec = self.mapping(raw, container, "case", "case")
        self.check_keys(spec, ("identified", "attached", "closed"), "case")
        return CaseDates(**{k: self.day(v, spec, k, f"case.{k}") for k, v in spec.items() if v is not None})

    def tri(self, value: Any, container: Any, key: Any, field: str) -> str:
        if value not in TRI_VALUES:
            raise self.error(f"expected met, not_met or unknown, got {value!r} (quote yes/no/true in YAML)",
                             container, key, field)
        return value

    def expectations(self, expect: dict) -> Iterable[Expectation]:
        self.check_keys(expect, EXPECT_KEYS, "expect")
        for key in ("family", "family_definition", "eligible", "claimable"):
            if key in expect:
                path = "family" if key == "family_definition" else key
                yield Expectation(path, self.tri(expect[key], expect, key, f"expect.{key}"), _line(expect, key))
        for key, valid, what in (("needs", self.need_codes, "need"), ("headlines", self.headline_codes, "headline")):
            group = self.mapping(expect.get(key), expect, key, f"expect.{key}")
            for code, value in group.items():
                if code not in valid:
                    raise self._choice(code, valid, what, group, code, f"expect.{key}")
                yield Expectation(f"{key}.{code}", self.tri(value, group, code, f"expect.{key}.{code}"), _line(group, code))
        outcomes = self.mapping(expect.get("outcomes"), expect, "outcomes", "expect.outcomes")
        for code, value in outcomes.items():
            if code not in self.outcome_codes:
                raise self._choice(code, self.outcome_codes, "outcome (need code)", outcomes, code, "expect.outcomes")
            if isinstance(value, dict):
                self.check_keys(value, ("achieved", "sustained", "value", "identified"), f"expect.outcomes.{code}")
                for part, tri in value.items():
                    yield Expectation(f"outcomes.{code}.{part}", self.tri(tri, value, part, f"expect.outcomes.{code}.{part}"),
                                      _line(value, part))
            else:
                yield Expectation(f"outcomes.{code}.value", self.tri(value, outcomes, code, f"expect.outcomes.{code}"),
                                  _line(outcomes, code))
        roles = self.mapping(expect.get("roles"), expect, "roles", "expect.roles")
        for pid, by_role in roles.items():
            by_role = self.mapping(by_role, roles, pid, f"expect.roles.{pid}")
            for role, value in by_role.items():
                if role not in self.role_names:
                    raise self._choice(role, self.role_names, "role", by_role, role, f"expect.roles.{pid}")
                yield Expectation(f"roles.{pid}.{role}", self.tri(value, by_role, role, f"expect.roles.{pid}.{role}"),
                                  _line(by_role, role))
        yield from self.rule_expectations(self.mapping(expect.get("rules"), expect, "rules", "expect.rules"))
        for key in ("score", "rag"):
            group = self.mapping(expect.get(key), expect, key, f"expect.{key}")
            for name, value in group.items():
                if name not in self.score_names:
                    raise self._choice(name, self.score_names, "score", group, name, f"expect.{key}")
                if key == "score" and (isinstance(value, bool) or not isinstance(value, (int, float))):
                    raise self.error(f"expected a number, got {value!r}", group, name, f"expect.score.{name}")
                if key == "rag" and value not in ("red", "amber", "green", None):
                    raise self.error(f"expected red, amber, green or null, got {value!r}", group, name, f"expect.rag.{name}")
                yield Expectation(f"{key}.{name}", value, _line(group, name))
        phrases = expect.get("unknowns_include") or []
        if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
            raise self.error("expected a list of texts", expect, "unknowns_include", "expect.unknowns_include")
        for i, phrase in enumerate(phrases):
            yield Expectation(f"unknowns_include[{i}]", phrase, _line(phrases, i))


    def rule_expectations(self, rules: dict) -> Iterable[Expectation]:
        """``rules: {family_rule: met, person_rule: {child1: met}}`` for named helper rules."""
        helpers = {r.name: r for r in self.framework.rules}
        if self.framework.claim is not None:
            helpers.update((r.name, r) for r in self.framework.claim.alternatives)
        for name, value in rules.items():
            rule = helpers.get(name)
            if rule is None:
                raise self._choice(name, helpers, "rule", rules, name, "expect.rules")
            if rule.subject == "person":
                by_person = self.mapping(value, rules, name, f"expect.rules.{name}")
                if not by_person:
                    raise self.error("a person rule is expected per member: {member_id: met}", rules, name, f"expect.rules.{name}")
                for pid, tri in by_person.items():
                    yield Expectation(f"rules.{name}.{pid}", self.tri(tri, by_person, pid, f"expect.rules.{name}.{pid}"),
                                      _line(by_person, pid))
            else:
                yield Expectation(f"rules.{name}", self.tri(value, rules, name, f"expect.rules.{name}"), _line(rules, name))


def load_scenarios(path: str | Path, framework: ir.Framework) -> list[Scenario]:
    """Read a scenario file, checking fact types, fields and expected names against ``framework``."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read the file: {exc}", file) from exc
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ScenarioError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file,
                            mark.line + 1 if mark else None) from exc
    if isinstance(data, dict) and "scenarios" in data:
        data = data["scenarios"]
    if data is None:
        return []
    if not isinstance(data, list):
        raise ScenarioError("a scenario file is a list of scenarios ('- name: ...')", file, 1)
    reader = _Reader(framework, file)
    scenarios = [reader.scenario(raw, i, data) for i, raw in enumerate(data)]
    names = [s.name for s in scenarios]
    for s in scenarios:
        if names.count(s.name) > 1:
            raise ScenarioError(f"scenario name {s.name!r} is used more than once", file, s.line, "name")
    return scenarios


# Running ---------------------------------------------------------------------------------------------


def actual_value(result: FamilyResult, path: str) -> Any:
    """The value in ``result`` that an expectation path names."""
    head, _, rest = path.partition(".")
    if head == "family":
        return result.family_definition.value
    if head in ("eligible", "claimable"):
        return getattr(result, head).value
    if head == "needs":
        return result.needs[rest].value
    if head == "headlines":
        return result.headlines[rest].value if rest in result.headlines else "not_met"
    if head == "outcomes":
        code, part = rest.rsplit(".", 1)
        outcome = result.outcomes.get(code)
        if outcome is None:
            return None
        if part == "identified":
            return outcome.applicable
        if part == "value":
            return outcome.value
        tri = outcome.achieved if part == "achieved" else outcome.sustained
        return tri.value if tri is not None else None
    if head == "roles":
        pid, role = rest.rsplit(".", 1)
        return result.roles.get(pid, {}).get(role, "not a current member")
    if head == "rules":
        name, _, pid = rest.partition(".")
        if pid:
            return result.person_rules.get(pid, {}).get(name, "not a current member")
        return result.rules[name].value
    if head == "score":
        return result.scores[rest].score
    if head == "rag":
        return result.scores[rest].rag
    raise KeyError(path)


def run_scenario(scenario: Scenario, compiled: CompiledFramework) -> ScenarioRun:
    result = compiled.evaluate(scenario.family, scenario.as_of, parameters=scenario.parameters)
    run = ScenarioRun(scenario, result)
    unknowns = "\n".join(result.unknowns)
    for expectation in scenario.expectations:
        if expectation.path.startswith("unknowns_include"):
            if expectation.expected not in unknowns:
                run.mismatches.append(Mismatch(expectation, f"no such reason among: {'; '.join(result.unknowns) or 'none'}"))
            continue
        got = actual_value(result, expectation.path)
        if got != expectation.expected:
            run.mismatches.append(Mismatch(expectation, got))
    if run.mismatches:
        run.explanation = explain(result, compiled.framework)
    return run


def framework_dir_for(scenario_file: Path) -> Path:
    """The framework a scenario file tests: the folder holding its ``tests/`` folder."""
    folder = scenario_file.resolve().parent
    return folder.parent if folder.name == "tests" else folder


@lru_cache(maxsize=16)
def _compiled(folder: str, stamp: tuple[float, ...]) -> CompiledFramework:
    from dsl import load_framework  # the loader lives beside this module; imported lazily for speed

    return compile_framework(load_framework(folder))


def compiled_framework(folder: str | Path) -> CompiledFramework:
    """Load and compile a framework folder, reusing the compiled form while its files are unchanged."""
    path = Path(folder).resolve()
    files = sorted(path.rglob("*.hearth")) if path.is_dir() else [path]
    stamp = tuple(f.stat().st_mtime for f in files if f.exists())
    return _compiled(str(path), stamp)


def run_file(path: str | Path, compiled: CompiledFramework | None = None) -> list[ScenarioRun]:
    """Run every scenario in a file (against its framework folder unless ``compiled`` is given)."""
    compiled = compiled or compiled_framework(framework_dir_for(Path(path)))
    return [run_scenario(s, compiled) for s in load_scenarios(path, compiled.framework)]


def scenario_files(path: str | Path) -> list[Path]:
    """The scenario files a path names: a file itself, a framework's ``tests/*.yaml``, or a tests folder."""
    target = Path(path)
    if target.is_file():
        return [target]
    tests = target / "tests" if (target / "tests").is_dir() else target
    return sorted(p for p in tests.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()) if tests.is_dir() else []
