"""Lark parse tree -> :mod:`dsl.ast` nodes.

One method per grammar rule (or alias). Optional grammar items arrive as ``None`` placeholders, so
each method reads its children by position. Values that the grammar accepts but that are not real
(``2023-02-30``) raise :class:`ValueTooStrange`, which the parser turns into a syntax error there.
"""

from __future__ import annotations

import dataclasses

from datetime import date
from typing import Any

from lark import Token, Transformer, v_args
from lark.tree import Meta

from dsl import ast as a

_UNIT_PLURAL = {"day": "days", "week": "weeks", "month": "months", "year": "years", "term": "terms"}


class ValueTooStrange(ValueError):
    """A token the grammar accepts but whose value is impossible; carries the token for its place."""

    def __init__(self, message: str, token: Token):
        super().__init__(message)
        self.token = token


def _num(token: Token) -> int | float:
    text = str(token).replace(",", "").lstrip("£").rstrip("%")
    return float(text) if "." in text else int(text)


def _date(token: Token) -> date:
    try:
        return date.fromisoformat(str(token))
    except ValueError:
        raise ValueTooStrange(f"`{token}` is not a real date (write YYYY-MM-DD)", token) from None


def _str(token: Token) -> str:
    body = str(token)[1:-1]
    return body.replace('\\"', '"').replace("\\\\", "\\")


def _names(children: list[Any]) -> tuple[a.Name, ...]:
    return tuple(c for c in children if isinstance(c, a.Name))


def _citations(children: list[Any]) -> tuple[a.Citation, ...]:
    return tuple(c for c in children if isinstance(c, a.Citation))


def _first(children: list[Any], kind: type) -> Any:
    return next((c for c in children if isinstance(c, kind)), None)


@v_args(meta=True)
class AstBuilder(Transformer):
    """Builds a :class:`dsl.ast.Module`'s declarations; ``file`` goes into every span."""

    def __init__(self, file: str):
        super().__init__(visit_tokens=False)
        self.file = file

    # -- helpers -----------------------------------------------------------------------------
    def _span(self, meta: Meta) -> a.Span:
        if getattr(meta, "empty", True):
            return a.Span(self.file, 1, 1, 1, 1)
        return a.Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok_span(self, tok: Token) -> a.Span:
        return a.Span(self.file, tok.line or 1, tok.column or 1, tok.end_line or tok.line or 1,
                      tok.end_column or tok.column or 1)

    def _name(self, tok: Token | None) -> a.Name | None:
        return None if tok is None else a.Name(str(tok), self._tok_span(tok))

    # -- module ------------------------------------------------------------------------------
    def start(self, meta: Meta, children: list[Any]) -> tuple[Any, ...]:
        return tuple(children)

    # -- provenance --------------------------------------------------------------------------
    def citation(self, meta: Meta, c: list[Any]) -> a.Citation:
        text, url, confidence = c
        return a.Citation(_str(text), _str(url) if url is not None else None, confidence, self._span(meta))

    def confidence(self, meta: Meta, c: list[Any]) -> str:
        return str(c[0])

    def override(self, meta: Meta, c: list[Any]) -> a.Override:
        return a.Override(None, None, True, self._span(meta))

    def label_clause(self, meta: Meta, c: list[Any]) -> a.Override:
        label, priority = c
        return a.Override(_str(label), _num(priority) if priority is not None else None, False, self._span(meta))

    def _override(self, meta: Meta, flag: Any, label: a.Override | None) -> a.Override | None:
        """Combine the ``override`` keyword and the ``label`` clause (either may be missing)."""
        if flag is None and label is None:
            return None
        if label is None:
            return a.Override(None, None, True, flag.span)
        return a.Override(label.label, label.priority, flag is not None,
                          flag.span if flag is not None else label.span)

    # -- header ------------------------------------------------------------------------------
    def framework_header(self, meta: Meta, c: list[Any]) -> a.Header:
        fields: dict[str, Any] = {}
        includes = tuple(item for item in c[2:] if isinstance(item, a.StringLit))
        for item in c[2:]:
            if isinstance(item, tuple):
                fields.update([item])
            elif isinstance(item, dict):
                fields.update(item)
        return a.Header(str(c[0]), _str(c[1]), citations=_citations(c), span=self._span(meta), includes=includes,
                        **fields)

    def phase(self, meta: Meta, c: list[Any]) -> tuple[str, str]:
        return ("phase", _str(c[0]))

    def version(self, meta: Meta, c: list[Any]) -> tuple[str, str]:
        return ("version", _str(c[0]))

    def effective(self, meta: Meta, c: list[Any]) -> dict[str, Any]:
        return {"effective_from": _date(c[0]), "effective_to": _date(c[1]) if c[1] is not None else None}

    def extends(self, meta: Meta, c: list[Any]) -> dict[str, Any]:
        return {"extends": str(c[0]), "extends_path": _str(c[1])}

    def include(self, meta: Meta, c: list[Any]) -> a.StringLit:
        return a.StringLit(_str(c[0]), self._span(meta))

    # -- parameters --------------------------------------------------------------------------
    def parameter(self, meta: Meta, c: list[Any]) -> a.ParameterDecl:
        flag, name, unit, label, description, *rest = c
        return a.ParameterDecl(
            str(name), unit, _str(description) if description is not None else "",
            tuple(v for v in rest if isinstance(v, a.ParamValue)), _citations(rest),
            self._override(meta, flag, label), self._span(meta),
        )

    def unit(self, meta: Meta, c: list[Any]) -> str:
        return str(c[0])

    def param_value(self, meta: Meta, c: list[Any]) -> a.ParamValue:
        return a.ParamValue(c[0], _date(c[1]), _citations(c[2:]), self._span(meta))

    def code_value(self, meta: Meta, c: list[Any]) -> a.Name:
        return self._name(c[0])

    def text_value(self, meta: Meta, c: list[Any]) -> a.StringLit:
        return a.StringLit(_str(c[0]), self._span(meta))

    # -- facts -------------------------------------------------------------------------------
    def fact(self, meta: Meta, c: list[Any]) -> a.FactDecl:
        name, subject, description, *items = c
        recording = _first(items, tuple)
        dated = _first(items, list)
        return a.FactDecl(
            str(name), subject, _str(description) if description is not None else "",
            tuple(i for i in items if isinstance(i, a.FieldDecl)),
            dated[0] if dated else None, dated[1] if dated else None,
            recording[0] if recording else None, recording[1] if recording else None,
            _citations(items), self._span(meta),
        )

    def subject(self, meta: Meta, c: list[Any]) -> str:
        return str(c[0])

    def field(self, meta: Meta, c: list[Any]) -> a.FieldDecl:
        name, (ftype, codes), description = c
        return a.FieldDecl(str(name), ftype, codes, _str(description) if description is not None else "",
                           self._span(meta))

    def simple_type(self, meta: Meta, c: list[Any]) -> tuple[str, None]:
        return (str(c[0]), None)

    def code_type(self, meta: Meta, c: list[Any]) -> tuple[str, tuple[str, ...] | None]:
        codes = tuple(str(t) for t in c if t is not None)
        return ("code", codes or None)

    def dated_by(self, meta: Meta, c: list[Any]) -> list[a.Name | None]:
        return [self._name(c[0]), self._name(c[1])]

    def recorded_events(self, meta: Meta, c: list[Any]) -> tuple[str, None]:
        return ("events", None)

    def recorded_states(self, meta: Meta, c: list[Any]) -> tuple[str, None]:
        return ("states", None)

    def recorded_periodic(self, meta: Meta, c: list[Any]) -> tuple[str, str]:
        return ("periodic", c[0])

    def period(self, meta: Meta, c: list[Any]) -> str:
        return _UNIT_PLURAL[str(c[0])]

    # -- roles, rules, family definition -----------------------------------------------------
    def role(self, meta: Meta, c: list[Any]) -> a.RoleDecl:
        flag, name, title, label, condition, *rest = c
        return a.RoleDecl(str(name), _str(title) if title is not None else "", condition, _citations(rest),
                          self._override(meta, flag, label), self._span(meta))

    def rule(self, meta: Meta, c: list[Any]) -> a.RuleDecl:
        flag, name, subject, label, description, condition, *rest = c
        return a.RuleDecl(str(name), subject, condition, _str(description) if description is not None else "",
                          _citations(rest), self._override(meta, flag, label), self._span(meta))

    def family_definition(self, meta: Meta, c: list[Any]) -> a.FamilyDefinitionDecl:
        flag, label, condition, *rest = c
        return a.FamilyDefinitionDecl(condition, _citations(rest), self._override(meta, flag, label),
                                      self._span(meta))

    # -- headlines, needs, outcomes ----------------------------------------------------------
    def headline(self, meta: Meta, c: list[Any]) -> a.HeadlineDecl:
        aliases = tuple(x for item in c[2:] if isinstance(item, list) for x in item)
        return a.HeadlineDecl(str(c[0]), _str(c[1]), aliases, _citations(c[2:]), self._span(meta))

    def aliases(self, meta: Meta, c: list[Any]) -> list[str]:
        return [_str(t) for t in c]

    def description(self, meta: Meta, c: list[Any]) -> str:
        return _str(c[0])

    def for_each_role(self, meta: Meta, c: list[Any]) -> a.AppliesTo:
        return a.AppliesTo("role", self._name(c[0]), self._span(meta))

    def for_each_member(self, meta: Meta, c: list[Any]) -> a.AppliesTo:
        return a.AppliesTo("member", None, self._span(meta))

    def for_family(self, meta: Meta, c: list[Any]) -> a.AppliesTo:
        return a.AppliesTo("family", None, self._span(meta))

    def met_when(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        return ("met", c[0])

    def achieved_when(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        return ("achieved", c[0])

    def sustained_when(self, meta: Meta, c: list[Any]) -> tuple[str, Any]:
        return ("sustained", c[0])

    @staticmethod
    def _clauses(items: list[Any]) -> dict[str, Any]:
        return {k: v for k, v in (i for i in items if isinstance(i, tuple))}

    def need(self, meta: Meta, c: list[Any]) -> a.NeedDecl:
        flag, code, title, headline, label, *items = c
        return a.NeedDecl(
            str(code), _str(title), self._name(headline), _first(items, a.AppliesTo),
            self._clauses(items).get("met"), " ".join(i for i in items if isinstance(i, str)),
            _citations(items), self._override(meta, flag, label), self._span(meta),
        )

    def outcome(self, meta: Meta, c: list[Any]) -> a.OutcomeDecl:
        flag, need, label, *items = c
        clauses = self._clauses(items)
        return a.OutcomeDecl(
            self._name(need), _first(items, a.AppliesTo), clauses.get("achieved"), clauses.get("sustained"),
            " ".join(i for i in items if isinstance(i, str)), _citations(items),
            self._override(meta, flag, label), self._span(meta),
        )

    # -- eligibility, claim, score -----------------------------------------------------------
    def family_is_defined(self, meta: Meta, c: list[Any]) -> str:
        return "family_definition"

    def eligibility(self, meta: Meta, c: list[Any]) -> a.EligibilityDecl:
        flag, label, *items = c
        return a.EligibilityDecl(self._clauses(items).get("met"), "family_definition" in items,
                                 _citations(items), self._override(meta, flag, label), self._span(meta))

    def claim(self, meta: Meta, c: list[Any]) -> a.ClaimDecl:
        flag, label, *items = c
        return a.ClaimDecl(self._clauses(items).get("met"), _citations(items),
                           self._override(meta, flag, label), self._span(meta))

    def score(self, meta: Meta, c: list[Any]) -> a.ScoreDecl:
        flag, name, label, *items = c
        return a.ScoreDecl(
            str(name), tuple(i for i in items if isinstance(i, a.WeightDecl)),
            tuple(i for i in items if isinstance(i, a.BandDecl)), _citations(items),
            self._override(meta, flag, label), self._span(meta),
        )

    def weight(self, meta: Meta, c: list[Any]) -> a.WeightDecl:
        return a.WeightDecl(self._name(c[0]), c[1], self._span(meta))

    def band(self, meta: Meta, c: list[Any]) -> a.BandDecl:
        return a.BandDecl(c[0], c[1], self._span(meta))

    def rating(self, meta: Meta, c: list[Any]) -> str:
        return str(c[0])

    def signed_number(self, meta: Meta, c: list[Any]) -> int | float:
        return _num(c[0])

    def negative_number(self, meta: Meta, c: list[Any]) -> int | float:
        return -_num(c[0])

    # -- lifecycle ---------------------------------------------------------------------------
    def lifecycle(self, meta: Meta, c: list[Any]) -> a.LifecycleDecl:
        groups: dict[str, list[Any]] = {"roles": [], "reasons": [], "overrides": []}
        for item in c:
            if isinstance(item, tuple) and item and item[0] in groups:
                groups[item[0]].extend(item[1])
        return a.LifecycleDecl(
            tuple(groups["roles"]), tuple(i for i in c if isinstance(i, a.StateDecl)), tuple(groups["reasons"]),
            tuple(i for i in c if isinstance(i, a.TransitionDecl)), tuple(i for i in c if isinstance(i, a.TimerDecl)),
            _citations(c), self._span(meta), tuple(groups["overrides"]),
        )

    def name_list(self, meta: Meta, c: list[Any]) -> tuple[a.Name, ...]:
        return tuple(self._name(t) for t in c)

    def actor_roles(self, meta: Meta, c: list[Any]) -> tuple[str, tuple[a.Name, ...]]:
        return ("roles", c[0])

    def override_roles(self, meta: Meta, c: list[Any]) -> tuple[str, tuple[a.Name, ...]]:
        return ("overrides", c[0])

    def closure_reasons(self, meta: Meta, c: list[Any]) -> tuple[str, tuple[a.Name, ...]]:
        return ("reasons", c[0])

    def state(self, meta: Meta, c: list[Any]) -> a.StateDecl:
        name, flag, description = c
        return a.StateDecl(str(name), flag == "initial", flag == "final",
                           _str(description) if description is not None else "", self._span(meta))

    def state_flag(self, meta: Meta, c: list[Any]) -> str:
        return str(c[0])

    def transition(self, meta: Meta, c: list[Any]) -> a.TransitionDecl:
        name, sources, target, trigger, guard, requires, reasons, description = c
        return a.TransitionDecl(
            str(name), sources, self._name(target),
            trigger if isinstance(trigger, tuple) else (), trigger == "automatically",
            guard or (), requires or (), reasons or (),
            _str(description) if description is not None else "", self._span(meta),
        )

    def by_roles(self, meta: Meta, c: list[Any]) -> tuple[a.Name, ...]:
        return c[0]

    def automatically(self, meta: Meta, c: list[Any]) -> str:
        return "automatically"

    def guard(self, meta: Meta, c: list[Any]) -> tuple[a.Name, ...]:
        return tuple(self._name(t) for t in c if t.type == "NAME")

    def requires(self, meta: Meta, c: list[Any]) -> tuple[a.Name, ...]:
        return c[0]

    def reasons(self, meta: Meta, c: list[Any]) -> tuple[a.Name, ...]:
        return c[0]

    def timer(self, meta: Meta, c: list[Any]) -> a.TimerDecl:
        name, states, (repeat, length), take, restart, fail, description = c
        fail_on, fail_take = fail if fail is not None else ((), None)
        return a.TimerDecl(
            str(name), states, length, repeat, take, restart or (), fail_on, fail_take,
            _str(description) if description is not None else "", self._span(meta),
        )

    def timer_after(self, meta: Meta, c: list[Any]) -> tuple[bool, Any]:
        return (False, c[0])

    def timer_every(self, meta: Meta, c: list[Any]) -> tuple[bool, Any]:
        return (True, c[0])

    def timer_take(self, meta: Meta, c: list[Any]) -> a.TimerAction:
        return a.TimerAction(self._name(c[0]), self._name(c[1]), self._span(meta))

    def timer_restart(self, meta: Meta, c: list[Any]) -> tuple[a.Name, ...]:
        return c[0]

    def timer_fail(self, meta: Meta, c: list[Any]) -> tuple[tuple[a.Name, ...], a.TimerAction | None]:
        return (c[0], c[1])

    # -- expressions -------------------------------------------------------------------------
    def _bin(op: str) -> Any:  # noqa: N805 - a method factory used while the class body runs
        def build(self: AstBuilder, meta: Meta, c: list[Any]) -> a.BinOp:
            return a.BinOp(op, c[0], c[1], self._span(meta))
        return build

    or_op, and_op = _bin("or"), _bin("and")
    add, sub, mul, div = _bin("+"), _bin("-"), _bin("*"), _bin("/")

    def not_op(self, meta: Meta, c: list[Any]) -> a.Unary:
        return a.Unary("not", c[0], self._span(meta))

    def neg(self, meta: Meta, c: list[Any]) -> a.Unary:
        return a.Unary("-", c[0], self._span(meta))

    def compare(self, meta: Meta, c: list[Any]) -> a.Compare:
        return a.Compare(str(c[1]), c[0], c[2], self._span(meta))

    def in_list(self, meta: Meta, c: list[Any]) -> a.Compare:
        return a.Compare("in", c[0], c[2], self._span(meta))

    def not_in_list(self, meta: Meta, c: list[Any]) -> a.Compare:
        return a.Compare("not in", c[0], c[2], self._span(meta))

    def list_value(self, meta: Meta, c: list[Any]) -> a.ListExpr:
        return a.ListExpr(tuple(c), self._span(meta))

    def string(self, meta: Meta, c: list[Any]) -> a.StringLit:
        return a.StringLit(_str(c[0]), self._span(meta))

    def number(self, meta: Meta, c: list[Any]) -> a.Number:
        return a.Number(_num(c[0]), self._span(meta))

    def percent(self, meta: Meta, c: list[Any]) -> a.Percent:
        return a.Percent(_num(c[0]), self._span(meta))

    def money(self, meta: Meta, c: list[Any]) -> a.Money:
        return a.Money(_num(c[0]), self._span(meta))

    def date(self, meta: Meta, c: list[Any]) -> a.DateLit:
        return a.DateLit(_date(c[0]), self._span(meta))

    def duration(self, meta: Meta, c: list[Any]) -> a.DurationLit:
        return a.DurationLit(_num(c[0]), c[1], self._span(meta))

    def dur_unit(self, meta: Meta, c: list[Any]) -> str:
        word = str(c[0])
        return _UNIT_PLURAL.get(word, word)

    def true(self, meta: Meta, c: list[Any]) -> a.BoolLit:
        return a.BoolLit(True, self._span(meta))

    def false(self, meta: Meta, c: list[Any]) -> a.BoolLit:
        return a.BoolLit(False, self._span(meta))

    def name(self, meta: Meta, c: list[Any]) -> a.Name:
        return self._name(c[0])

    def paren(self, meta: Meta, c: list[Any]) -> Any:
        # the bracketed expression itself, marked so the formatter keeps the author's brackets
        return dataclasses.replace(c[0], parens=True)

    def call(self, meta: Meta, c: list[Any]) -> a.CallExpr:
        return a.CallExpr(str(c[0]), tuple(x for x in c[1:] if x is not None), self._span(meta))

    def anchor(self, meta: Meta, c: list[Any]) -> str:
        return str(c[0])

    def anchor_date(self, meta: Meta, c: list[Any]) -> a.AnchorDate:
        return a.AnchorDate(c[0], self._span(meta))

    def outcome_stage(self, meta: Meta, c: list[Any]) -> str:
        return str(c[0])

    def all_outcomes(self, meta: Meta, c: list[Any]) -> a.AllOutcomes:
        return a.AllOutcomes(c[0], self._span(meta))

    def quant(self, meta: Meta, c: list[Any]) -> str:
        return str(c[0])

    def member_is(self, meta: Meta, c: list[Any]) -> a.MemberQuantified:
        return a.MemberQuantified(c[0], self._name(c[1]), None, self._span(meta))

    def member_has(self, meta: Meta, c: list[Any]) -> a.MemberQuantified:
        return a.MemberQuantified(c[0], None, c[1], self._span(meta))

    def quantified(self, meta: Meta, c: list[Any]) -> a.Quantified:
        quant, subject, of_family, where, window, has = c
        return a.Quantified(quant, self._name(subject), of_family is not None, where, window, has,
                            self._span(meta))

    def has(self, meta: Meta, c: list[Any]) -> Any:
        return c[0]

    def where(self, meta: Meta, c: list[Any]) -> Any:
        return c[0]

    def of_family(self, meta: Meta, c: list[Any]) -> bool:
        return True

    def count_facts(self, meta: Meta, c: list[Any]) -> a.CountFacts:
        fact, of_family, where, window = c
        return a.CountFacts(self._name(fact), of_family is not None, where, window, self._span(meta))

    def count_members(self, meta: Meta, c: list[Any]) -> a.CountMembers:
        return a.CountMembers(self._name(c[0]), self._span(meta))

    def count_needs(self, meta: Meta, c: list[Any]) -> a.CountNeeds:
        return a.CountNeeds(False, c[0] or (), self._span(meta))

    def count_headlines(self, meta: Meta, c: list[Any]) -> a.CountNeeds:
        return a.CountNeeds(True, (), self._span(meta))

    def agg_fn(self, meta: Meta, c: list[Any]) -> str:
        return str(c[0])

    def aggregate(self, meta: Meta, c: list[Any]) -> a.Aggregate:
        fn, of_token, fact, fld, of_family, where, window = c
        return a.Aggregate(fn, self._name(fact), self._name(fld), None, None, of_family is not None, where,
                           window, of_token is not None, self._span(meta))

    def agg_of(self, meta: Meta, c: list[Any]) -> bool:
        return True

    def rate(self, meta: Meta, c: list[Any]) -> a.Aggregate:
        fact, fld, per_fact, per_field, of_family, where, window = c
        return a.Aggregate("rate", self._name(fact), self._name(fld), self._name(per_fact), self._name(per_field),
                           of_family is not None, where, window, True, self._span(meta))

    def _window(kind: str) -> Any:  # noqa: N805 - a method factory used while the class body runs
        def build(self: AstBuilder, meta: Meta, c: list[Any]) -> a.Window:
            word, length = c[0], c[1]
            anchor = c[2] if kind == "after" else None
            return a.Window(kind, length, anchor, word, self._span(meta))
        return build

    last_window, each_window, after_window = _window("last"), _window("each"), _window("after")

    def window_word(self, meta: Meta, c: list[Any]) -> str:
        return str(c[0])

    def window_anchor(self, meta: Meta, c: list[Any]) -> str:
        return str(c[0])

    def length_duration(self, meta: Meta, c: list[Any]) -> a.DurationLit:
        return a.DurationLit(_num(c[0]), c[1], self._span(meta))

    def length_parameter(self, meta: Meta, c: list[Any]) -> a.Name:
        return self._name(c[0])
