"""A checked model -> :class:`engine.rules.ir.Framework`.

Compilation never fails on a model the checker passed: names were resolved there (``resolved``), so
this is a plain translation. Spans are made relative to the framework folder, and ``sources`` keeps
the text of every file used, so a decision can be replayed from the IR alone.

Translations worth knowing (the evaluator relies on them):
- ``any|no|every FACT ...`` -> ``Aggregate(fn="any"|"none"|"all", where=..., test=<has>)``
- ``any member is ROLE`` -> ``Members(quant="any", role=ROLE)``; ``every member is ROLE`` ->
  ``Members(quant="all", test=HasRole(ROLE))``; ``any ROLE has C`` -> ``Members("any", role, test=C)``
- ``each of last 3 terms`` -> ``Window(consecutive=True)``; ``6 months after closure`` ->
  ``Window(anchor="closed", direction="after")``
- ``all needs have sustained|achieved outcomes`` -> ``Call("all_outcomes_sustained"|"all_outcomes_achieved")``
- ``eligible`` / ``claimable`` in an expression -> ``RuleRef("eligible"|"claimable")``
- the family definition -> ``DerivedRule("family_definition")`` and inlined into ``Eligibility``
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dsl import ast as a
from dsl.check import CheckResult
from engine.rules import ir

_QUANT = {"any": "any", "no": "none", "every": "all"}
_ANCHOR = {"evaluation": "as_of", "attachment": "attached", "closure": "closed", "identification": "identified"}


class _Compiler:
    def __init__(self, result: CheckResult):
        self.model = result.model
        self.resolved = result.resolved
        root = self.model.root
        self.keys = {display: Path(os.path.relpath(path, root)).as_posix() for display, path in self.model.files.items()}

    # -- provenance --------------------------------------------------------------------------
    def span(self, span: a.Span | None) -> ir.Span | None:
        if span is None:
            return None
        return ir.Span(file=self.keys.get(span.file, span.file), line=span.line, column=span.column,
                       end_line=span.end_line, end_column=span.end_column)

    @staticmethod
    def citation(c: a.Citation) -> ir.Citation:
        return ir.Citation(text=c.text, url=c.url, confidence=c.confidence)

    def citations(self, decl: Any) -> tuple[ir.Citation, ...]:
        return tuple(self.citation(c) for c in getattr(decl, "citations", ()))

    # -- values and expressions --------------------------------------------------------------
    @staticmethod
    def scalar(node: a.Expr) -> ir.Scalar:
        if isinstance(node, a.DurationLit):
            return ir.Duration(amount=int(node.amount), unit=node.unit)
        if isinstance(node, a.Name):
            return node.name
        return node.value  # type: ignore[union-attr]

    def length(self, node: a.DurationLit | a.Name) -> ir.Duration | ir.ParamRef:
        if isinstance(node, a.Name):
            return ir.ParamRef(name=node.name)
        return ir.Duration(amount=int(node.amount), unit=node.unit)

    def window(self, w: a.Window | None) -> ir.Window | None:
        if w is None:
            return None
        if w.kind == "after":
            return ir.Window(length=self.length(w.length), anchor=_ANCHOR[w.anchor or "closure"], direction="after")
        return ir.Window(length=self.length(w.length), consecutive=w.kind == "each")

    def expr(self, e: a.Expr | None) -> Any:
        if e is None:
            return None
        return getattr(self, f"_{type(e).__name__}")(e)

    def _Name(self, e: a.Name) -> Any:
        kind = self.resolved.get(id(e))
        if kind == "param":
            return ir.ParamRef(name=e.name)
        if kind == "field":
            return ir.FieldRef(name=e.name)
        if kind == "role":
            return ir.HasRole(role=e.name)
        if kind == "person_attr":
            return ir.PersonAttr(name=e.name)
        if kind == "family_attr":
            return ir.FamilyAttr(name=e.name)
        if kind == "code":
            return ir.Lit(value=e.name, unit="code")
        return ir.RuleRef(name=e.name)

    def _Number(self, e: a.Number) -> ir.Lit:
        return ir.Lit(value=e.value, unit="count" if isinstance(e.value, int) else "number")

    def _Percent(self, e: a.Percent) -> ir.Lit:
        return ir.Lit(value=e.value, unit="percent")

    def _Money(self, e: a.Money) -> ir.Lit:
        return ir.Lit(value=e.value, unit="money")

    def _DateLit(self, e: a.DateLit) -> ir.Lit:
        return ir.Lit(value=e.value, unit="date")

    def _DurationLit(self, e: a.DurationLit) -> ir.Lit:
        return ir.Lit(value=self.scalar(e), unit=e.unit)

    def _BoolLit(self, e: a.BoolLit) -> ir.Lit:
        return ir.Lit(value=e.value, unit="boolean")

    def _StringLit(self, e: a.StringLit) -> ir.Lit:
        return ir.Lit(value=e.value, unit="text")

    def _ListExpr(self, e: a.ListExpr) -> ir.ListLit:
        return ir.ListLit(items=tuple(self.expr(i) for i in e.items))

    def _Unary(self, e: a.Unary) -> Any:
        if e.op == "not":
            return ir.Not(arg=self.expr(e.arg))
        if isinstance(e.arg, (a.Number, a.Percent, a.Money)):
            inner = self.expr(e.arg)
            return inner.model_copy(update={"value": -inner.value})
        return ir.Arith(op="*", left=ir.Lit(value=-1, unit="number"), right=self.expr(e.arg))

    def _BinOp(self, e: a.BinOp) -> Any:
        if e.op in ("and", "or"):
            node_type = ir.And if e.op == "and" else ir.Or
            args: list[Any] = []
            for side in (e.left, e.right):
                compiled = self.expr(side)
                args.extend(compiled.args if isinstance(compiled, node_type) else (compiled,))
            return node_type(args=tuple(args))
        return ir.Arith(op=e.op, left=self.expr(e.left), right=self.expr(e.right))

    def _Compare(self, e: a.Compare) -> ir.Compare:
        return ir.Compare(op=e.op, left=self.expr(e.left), right=self.expr(e.right))

    def _CallExpr(self, e: a.CallExpr) -> ir.Call:
        return ir.Call(fn=e.fn, args=tuple(self.expr(x) for x in e.args))

    def _AnchorDate(self, e: a.AnchorDate) -> ir.AsOf:
        return ir.AsOf(anchor=_ANCHOR[e.anchor])

    def _AllOutcomes(self, e: a.AllOutcomes) -> ir.Call:
        return ir.Call(fn=f"all_outcomes_{e.stage}", args=())

    def _Quantified(self, e: a.Quantified) -> Any:
        if self.resolved.get(id(e)) == "role":
            role = None if e.subject.name == "member" else e.subject.name
            return ir.Members(quant=_QUANT[e.quant], role=role, test=self.expr(e.has))
        return ir.Aggregate(fn=_QUANT[e.quant], fact=e.subject.name, where=self.expr(e.where), test=self.expr(e.has),
                            window=self.window(e.window), scope="family" if e.of_family else "person")

    def _MemberQuantified(self, e: a.MemberQuantified) -> ir.Members:
        if e.role is not None:
            if e.quant == "every":  # "every member is R": every member passes the role test
                return ir.Members(quant="all", test=ir.HasRole(role=e.role.name))
            return ir.Members(quant=_QUANT[e.quant], role=e.role.name)
        return ir.Members(quant=_QUANT[e.quant], test=self.expr(e.has))

    def _CountFacts(self, e: a.CountFacts) -> ir.Aggregate:
        return ir.Aggregate(fn="count", fact=e.fact.name, where=self.expr(e.where), window=self.window(e.window),
                            scope="family" if e.of_family else "person")

    def _CountMembers(self, e: a.CountMembers) -> ir.Members:
        return ir.Members(quant="count", role=e.role.name if e.role else None)

    def _CountNeeds(self, e: a.CountNeeds) -> ir.NeedCount:
        return ir.NeedCount(distinct_headlines=e.distinct_headlines,
                            headlines=tuple(h.name for h in e.headlines) or None)

    def _Aggregate(self, e: a.Aggregate) -> ir.Aggregate:
        return ir.Aggregate(fn=e.fn, fact=e.fact.name, field=e.field.name,
                            per_field=e.per_field.name if e.per_field else None, where=self.expr(e.where),
                            window=self.window(e.window), scope="family" if e.of_family else "person")

    # -- declarations ------------------------------------------------------------------------
    def framework(self) -> ir.Framework:
        m = self.model
        h = m.header
        assert h is not None, "the checker reports a missing header"
        header = ir.FrameworkHeader(id=h.id, title=h.title, phase=h.phase or "", version=h.version or "",
                                    effective_from=h.effective_from, effective_to=h.effective_to,
                                    citations=self.citations(h), extends=h.extends, span=self.span(h.span))
        family = m.get("family definition")
        rules = [self.rule(r) for r in m.of_kind("rule").values()]
        if family is not None:
            rules.append(ir.DerivedRule(name="family_definition", subject="family", condition=self.expr(family.condition),
                                        description="Family definition", citations=self.citations(family),
                                        span=self.span(family.span), override_label=m.label("family definition")))
        return ir.Framework(
            header=header,
            parameters=tuple(self.parameter(p) for p in m.of_kind("parameter").values()),
            fact_types=tuple(self.fact(f) for f in m.of_kind("fact").values()),
            roles=tuple(self.role(r) for r in m.of_kind("role").values()),
            rules=tuple(rules),
            headlines=tuple(ir.Headline(code=x.code, name=x.title, aliases=x.aliases, span=self.span(x.span))
                            for x in m.of_kind("headline").values()),
            needs=tuple(self.need(n) for n in m.of_kind("need").values()),
            outcomes=tuple(self.outcome(o) for o in m.of_kind("outcome").values()),
            eligibility=self.eligibility(family),
            claim=self.claim(),
            scores=tuple(self.score(s) for s in m.of_kind("score").values()),
            lifecycle=self.lifecycle(),
            sources={self.keys.get(display, display): text for display, text in sorted(m.sources.items())},
        )

    def parameter(self, p: a.ParameterDecl) -> ir.Parameter:
        values = []
        extra: list[ir.Citation] = []
        for v in p.values:
            cites = [self.citation(c) for c in v.citations]
            values.append(ir.DatedValue(effective_from=v.effective_from, value=self.scalar(v.value),
                                        citation=cites[0] if cites else None, span=self.span(v.span)))
            extra.extend(cites[1:])
        values.sort(key=lambda v: v.effective_from)
        return ir.Parameter(name=p.name, unit=p.unit, description=p.description, values=tuple(values),
                            citations=(*self.citations(p), *extra), span=self.span(p.span),
                            override_label=self.model.label("parameter", p.name))

    def fact(self, f: a.FactDecl) -> ir.FactType:
        return ir.FactType(
            name=f.name, subject=f.subject, description=f.description, span=self.span(f.span),
            fields=tuple(ir.FieldDef(name=x.name, type=x.type, codes=x.codes, description=x.description,
                                     span=self.span(x.span)) for x in f.fields),
            date_field=f.dated_by.name if f.dated_by else "", end_field=f.until.name if f.until else None,
            recording=f.recording or "events", period=f.period if f.recording == "periodic" else None,
        )

    def role(self, r: a.RoleDecl) -> ir.Role:
        return ir.Role(name=r.name, title=r.title, description=r.title, condition=self.expr(r.condition),
                       citations=self.citations(r), span=self.span(r.span), override_label=self.model.label("role", r.name))

    def rule(self, r: a.RuleDecl) -> ir.DerivedRule:
        return ir.DerivedRule(name=r.name, subject=r.subject, description=r.description, condition=self.expr(r.condition),
                              citations=self.citations(r), span=self.span(r.span),
                              override_label=self.model.label("rule", r.name))

    @staticmethod
    def _subject(applies: a.AppliesTo | None) -> tuple[str, str | None]:
        if applies is None or applies.kind == "member":
            return "person", None
        if applies.kind == "family":
            return "family", None
        return "person", applies.role.name if applies.role else None

    def need(self, n: a.NeedDecl) -> ir.Need:
        subject, role = self._subject(n.applies_to)
        entry = self.model.entries[("need", n.code)]
        local = self.model.base is not None and not entry.inherited
        return ir.Need(name=n.code, title=n.title, description=n.description or n.title, headline=n.headline.name,
                       subject=subject, role=role, condition=self.expr(n.condition), local=local,
                       citations=self.citations(n), span=self.span(n.span), override_label=entry.label)

    def outcome(self, o: a.OutcomeDecl) -> ir.Outcome:
        need = self.model.get("need", o.need.name)
        subject, role = self._subject(o.applies_to or (need.applies_to if need else None))
        return ir.Outcome(name=o.need.name, need=o.need.name, achieved=self.expr(o.achieved),
                          sustained=self.expr(o.sustained), subject=subject, role=role, description=o.description,
                          citations=self.citations(o), span=self.span(o.span),
                          override_label=self.model.label("outcome", o.need.name))

    def eligibility(self, family: a.FamilyDefinitionDecl | None) -> ir.Eligibility | None:
        e = self.model.get("eligibility")
        if e is None:
            return None
        applies = family is not None and e.uses_family_definition
        definition = self.expr(family.condition) if applies else ir.Lit(value=True, unit="boolean")
        return ir.Eligibility(family_definition=definition, condition=self.expr(e.condition),
                              citations=self.citations(e), span=self.span(e.span),
                              override_label=self.model.label("eligibility"))

    def claim(self) -> ir.ClaimRule | None:
        c = self.model.get("claim")
        if c is None:
            return None
        condition = self.expr(c.condition)
        branches = condition.args if isinstance(condition, ir.Or) else (condition,)
        rules = {r.name: r for r in self.model.of_kind("rule").values()}
        alternatives = tuple(self.rule(rules[b.name]) for b in branches
                             if isinstance(b, ir.RuleRef) and b.name in rules)
        return ir.ClaimRule(condition=condition, alternatives=alternatives, citations=self.citations(c),
                            span=self.span(c.span), override_label=self.model.label("claim"))

    def score(self, s: a.ScoreDecl) -> ir.Score:
        needs = self.model.of_kind("need")
        weights = tuple(ir.ScoreWeight(target=w.target.name, target_kind="need" if w.target.name in needs else "headline",
                                       weight=float(w.weight)) for w in s.weights)
        bands = tuple(ir.RagBand(rating=b.rating, min_score=float(b.min_score)) for b in s.bands)
        return ir.Score(name=s.name, weights=weights, bands=bands, span=self.span(s.span))

    def lifecycle(self) -> ir.Lifecycle | None:
        lc: a.LifecycleDecl | None = self.model.get("lifecycle")
        if lc is None:
            return None
        closure = tuple(r.name for r in lc.closure_reasons)
        transitions = tuple(
            ir.Transition(
                name=t.name, sources=tuple(s.name for s in t.sources), target=t.target.name,
                roles=tuple(r.name for r in t.roles), automatic=t.automatic, guard=tuple(g.name for g in t.guards),
                requires=tuple(r.name for r in t.requires),
                reasons=tuple(r.name for r in t.reasons) or (closure if any(r.name == "reason" for r in t.requires) else ()),
                description=t.description, span=self.span(t.span),
            ) for t in lc.transitions)
        timers = tuple(
            ir.Timer(
                name=t.name, state=t.states[0].name, states=tuple(s.name for s in t.states), after=self.length(t.length),
                transition=t.take.transition.name if t.take else None, repeat=t.repeat,
                reason=t.take.reason.name if t.take and t.take.reason else None,
                restart_on=tuple(f.name for f in t.restart_on), fail_on=tuple(f.name for f in t.fail_on),
                fail_transition=t.fail_take.transition.name if t.fail_take else None,
                fail_reason=t.fail_take.reason.name if t.fail_take and t.fail_take.reason else None,
                description=t.description, span=self.span(t.span),
            ) for t in lc.timers)
        states = tuple(ir.LifecycleState(name=s.name, initial=s.initial, final=s.final, description=s.description,
                                         span=self.span(s.span)) for s in lc.states)
        return ir.Lifecycle(states=states, transitions=transitions, timers=timers,
                            actor_roles=tuple(r.name for r in lc.actor_roles), closure_reasons=closure,
                            override_roles=tuple(r.name for r in lc.override_roles), span=self.span(lc.span))


def compile_model(result: CheckResult) -> ir.Framework:
    """Translate a model the checker passed (no errors) into the IR."""
    return _Compiler(result).framework()
