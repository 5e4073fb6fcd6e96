"""The vectorised reference for the profile benchmark: a framework's eligibility with NumPy.

Reads the same compiled framework IR the evaluator runs, but evaluates each rule for every person or
family at once over the benchmark's column arrays (no FamilyInput objects, no per-family loop), so it
is an independent second implementation whose answers the benchmark compares family by family.
Supports what Phase 3 eligibility uses: roles, named rules, needs, member quantifiers, need counts,
comparisons, ``any``/``none``/``count``/``rate``/``latest``/``earliest`` aggregates over windows in
months and terms, and window-less ones read as far as the feeds' coverage goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import reduce

import numpy as np

from profile_bench import AS_OF, CODES, FEED, HISTORY_START, Borough, _ages

# The vectorised reference: the framework's eligibility computed with NumPy over whole columns.
#
# Three values are int8 arrays: 0 = not met, 1 = unknown, 2 = met, so Kleene ``and`` is min, ``or``
# is max and ``not`` is 2 - x. Every other value is an interval [lo, hi] of float arrays: a known value
# has lo == hi, a count known only within bounds has lo < hi, and an unknown value is (-inf, inf), so
# one interval comparison decides met / not met / unknown exactly as the rules' semantics require.
# An interval may also mark entries as "none" (``latest X.f`` when the feeds cover the period and hold
# no such record): a comparison reading a none is not met, except ``!=`` / ``not in``, which are met.
# Dates are ordinals and codes are indices into the field's code list.

NOT, UNK3, MET3 = 0, 1, 2


class OutsideReference(ValueError):
    """A framework construct this reference deliberately does not cover (it covers what Phase 3
    eligibility uses). Raised instead of guessing, so an agreement figure is never computed on
    rules the reference cannot read."""

INF = np.inf
#: where a window-less aggregate starts reading records (the evaluator's RECORDS_BEGIN)
RECORDS_BEGIN = date(1900, 1, 1).toordinal()


@dataclass
class Interval:
    lo: np.ndarray
    hi: np.ndarray
    codes: tuple[str, ...] | None = None
    none: np.ndarray | bool = False  # entries with no record to read (a known "none", not unknown)

    @staticmethod
    def exact(values, codes=None) -> Interval:
        values = np.asarray(values, dtype=np.float64)
        return Interval(values, values, codes)

    def unknown(self) -> np.ndarray:
        return (self.lo == -INF) & (self.hi == INF) & ~np.asarray(self.none)


def _shift_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (date(year + month // 12, month % 12 + 1, 1) - date(year, month, 1)).days
    return date(year, month, min(day.day, last))


def _term_of(day: date) -> tuple[date, date]:
    if day.month >= 9:
        return date(day.year, 9, 1), date(day.year, 12, 31)
    if day.month <= 3:
        return date(day.year, 1, 1), date(day.year, 3, 31)
    return date(day.year, 4, 1), date(day.year, 8, 31)


def _window_before(anchor: date, amount: int, unit: str) -> tuple[date, date]:
    """``last N unit`` up to and including ``anchor`` (terms: the last N complete terms)."""
    if unit == "terms":
        start, end = _term_of(anchor)
        if end > anchor:
            start, end = _term_of(start.fromordinal(start.toordinal() - 1))
        last = end
        for _ in range(amount - 1):
            start, _ = _term_of(start.fromordinal(start.toordinal() - 1))
        return start, last
    months = {"months": amount, "years": 12 * amount}.get(unit)
    begin = _shift_months(anchor, -months) if months else anchor.fromordinal(
        anchor.toordinal() - amount * (7 if unit == "weeks" else 1))
    return begin.fromordinal(begin.toordinal() + 1), anchor


class Reference:
    """Eligibility for every family at once, from the framework IR and the borough's column arrays."""

    def __init__(self, framework, b: Borough, as_of: date) -> None:
        self.fw, self.b, self.as_of = framework, b, as_of
        self.day = as_of.toordinal()
        self.ages = _ages(b.dob).astype(np.float64)
        self.memo: dict[tuple[str, str], np.ndarray] = {}
        # every fed fact type is covered from the start of the history to the borough's extract date
        self.coverage = {name: (HISTORY_START.toordinal(), AS_OF.toordinal()) for name in FEED}
        self.params = {}
        for p in framework.parameters:
            in_force = [v for v in p.values if v.effective_from <= as_of]
            if in_force:
                value = max(in_force, key=lambda v: v.effective_from).value
                if p.unit in ("days", "weeks", "months", "years", "terms") and isinstance(value, int):
                    value = (value, p.unit)
                elif hasattr(value, "amount"):
                    value = (value.amount, value.unit)
                self.params[p.name] = value

    # contexts: "person" (one row per person), "family", or ("fact", type, index array)
    def size(self, ctx) -> int:
        return self.b.people if ctx == "person" else self.b.families if ctx == "family" else len(ctx[2])

    def lift(self, values: np.ndarray, ctx) -> np.ndarray:
        """Family-level values seen from ``ctx`` (a person sees their family's value)."""
        if ctx == "family":
            return values
        person = self.b.family_of if ctx == "person" else self.b.family_of[self.b.facts[ctx[1]].person[ctx[2]]]
        return values[person]

    def per_family(self, person_values: np.ndarray, reducer=np.maximum, start=NOT) -> np.ndarray:
        out = np.full(self.b.families, start, dtype=np.int8)
        reducer.at(out, self.b.family_of, person_values)
        return out

    # conditions
    def tri(self, node, ctx) -> np.ndarray:
        kind = node.kind
        if kind == "not":
            return (2 - self.tri(node.arg, ctx)).astype(np.int8)
        if kind in ("and", "or"):
            parts = np.broadcast_arrays(*(self.tri(a, ctx) for a in node.args))
            return (np.minimum if kind == "and" else np.maximum).reduce(np.stack(parts), axis=0).astype(np.int8)
        if kind == "cmp":
            return self.compare(node, ctx)
        if kind == "has_role":
            return self.role(node.role)
        if kind == "rule":
            return self.rule(node.name, ctx)
        if kind == "members":
            return self.lift(self.members(node), ctx)
        if kind == "agg":
            return self.aggregate(node, ctx)
        raise OutsideReference(f"condition kind {kind}")

    def role(self, name: str) -> np.ndarray:
        key = ("role", name)
        if key not in self.memo:
            self.memo[key] = np.broadcast_to(self.tri(self.fw.role(name).condition, "person"), self.b.people)
        return self.memo[key]

    def rule(self, name: str, ctx) -> np.ndarray:
        fw = self.fw
        if fw.role(name) is not None:
            return self.role(name)
        if fw.need(name) is not None:
            return self.lift(self.need(name), ctx)
        key = ("rule", name)
        if key not in self.memo:
            if name in ("family_definition", "eligibility_condition", "eligible"):
                e = fw.eligibility
                node = {"family_definition": e.family_definition, "eligibility_condition": e.condition}.get(name)
                value = (np.minimum(self.rule("family_definition", "family"), self.rule("eligibility_condition", "family"))
                         if node is None else self.tri(node, "family"))
                self.memo[key] = np.broadcast_to(value, self.b.families)
            else:
                rule = next(r for r in fw.rules if r.name == name)
                subject = "person" if rule.subject == "person" else "family"
                self.memo[key] = np.broadcast_to(self.tri(rule.condition, subject), self.size(subject))
                if subject == "person":
                    return self.memo[key]
        return self.lift(self.memo[key], ctx)

    def need(self, code: str) -> np.ndarray:
        key = ("need", code)
        if key not in self.memo:
            need = self.fw.need(code)
            if need.subject == "family":
                value = np.broadcast_to(self.tri(need.condition, "family"), self.b.families)
            else:
                holds = self.role(need.role) if need.role else MET3
                both = np.minimum(holds, self.tri(need.condition, "person"))
                value = self.per_family(np.broadcast_to(both, self.b.people).astype(np.int8))
            self.memo[key] = value
        return self.memo[key]

    def members(self, node) -> np.ndarray | Interval:
        holds = self.role(node.role) if node.role else np.full(self.b.people, MET3, np.int8)
        passed = np.broadcast_to(self.tri(node.test, "person") if node.test else MET3, self.b.people)
        both = np.where(holds == NOT, NOT, np.minimum(holds, passed)).astype(np.int8)
        if node.quant in ("any", "none"):
            found = self.per_family(both)
            return found if node.quant == "any" else (2 - found).astype(np.int8)
        if node.quant == "count":
            met = np.bincount(self.b.family_of, both == MET3, self.b.families)
            unsure = np.bincount(self.b.family_of, both == UNK3, self.b.families)
            return Interval(met, met + unsure)
        violated = self.per_family(((holds == MET3) & (passed == NOT)).astype(np.int8))
        unsure = self.per_family(((holds != NOT) & (passed != MET3) & ~((holds == MET3) & (passed == NOT))).astype(np.int8))
        return np.where(violated > 0, NOT, np.where(unsure > 0, UNK3, MET3)).astype(np.int8)

    # values
    def value(self, node, ctx):
        kind = node.kind
        if kind == "lit":
            v = node.value
            if isinstance(v, str) or hasattr(v, "amount"):
                return (v.amount, v.unit) if hasattr(v, "amount") else v
            return Interval.exact(v.toordinal() if isinstance(v, date) else float(v))
        if kind == "list":
            return tuple(self.value(i, ctx) for i in node.items)
        if kind == "param":
            v = self.params[node.name]
            return v if isinstance(v, tuple) else Interval.exact(float(v))
        if kind == "as_of":
            return Interval.exact(float(self.day))
        if kind == "person_attr" and node.name == "age":
            return Interval.exact(self.ages if ctx == "person" else self.ages[self.b.facts[ctx[1]].person[ctx[2]]])
        if kind == "field":
            return self.field(node.name, ctx)
        if kind == "arith" and node.op in "+-":
            left, right = self.value(node.left, ctx), self.value(node.right, ctx)
            if isinstance(right, tuple) and right[1] in ("months", "years"):
                months = right[0] * (12 if right[1] == "years" else 1) * (1 if node.op == "+" else -1)
                return Interval.exact(_shift_months(date.fromordinal(int(left.lo)), months).toordinal())
            sign = 1 if node.op == "+" else -1
            out = Interval(left.lo + sign * (right.lo if sign > 0 else right.hi),
                           left.hi + sign * (right.hi if sign > 0 else right.lo))
            # a missing record is passed on to the comparison that reads it, unless the other side is unknown
            out.none = (np.asarray(left.none) | right.none) & ~(left.unknown() | right.unknown())
            return out
        if kind == "need_count":
            return self.need_count(node)
        if kind == "members":
            return self.members(node)
        if kind == "agg":
            return self.aggregate(node, ctx)
        raise OutsideReference(f"value kind {kind}")

    def field(self, name: str, ctx) -> Interval:
        fact, rows = ctx[1], ctx[2]
        cols, ftype = self.b.facts[fact], self.fw.fact_type(fact)
        if name == ftype.date_field:
            return Interval.exact(cols.day[rows])
        if name == ftype.end_field or (name == "end_date" and cols.end is not None):
            end = cols.end[rows].astype(np.float64)
            return Interval(np.where(end < 0, -INF, end), np.where(end < 0, INF, end))
        codes = CODES.get(f"{fact}.{name}")
        return Interval.exact(cols.fields[name][rows].astype(np.float64), codes)

    def compare(self, node, ctx) -> np.ndarray:
        a, b = self.value(node.left, ctx), self.value(node.right, ctx)
        out = self._compare_values(a, b, node.op)
        sides = [v for v in (a, b) if isinstance(v, Interval)]
        none = reduce(np.logical_or, [np.asarray(v.none) for v in sides])
        if not none.any():
            return out
        # nothing equals, is in, or is above or below a value, unless the other side is unknown
        unknown = reduce(np.logical_or, [v.unknown() for v in sides])
        return np.where(none & ~unknown, MET3 if node.op in ("!=", "not in") else NOT, out).astype(np.int8)

    @staticmethod
    def _compare_values(a, b, op: str) -> np.ndarray:
        if op in ("in", "not in", "=", "!=") and a.codes is not None:
            wanted = b if isinstance(b, tuple) else (b,)
            index = [a.codes.index(w) for w in wanted if w in a.codes]
            known = a.lo == a.hi
            hit = np.isin(a.lo, index)
            out = np.where(known, np.where(hit, MET3, NOT), UNK3).astype(np.int8)
            return out if op in ("in", "=") else (2 - out).astype(np.int8)
        l_lo, l_hi, r_lo, r_hi = a.lo, a.hi, b.lo, b.hi
        if op in ("=", "!="):
            equal = np.where((l_lo == l_hi) & (r_lo == r_hi) & (l_lo == r_lo), MET3,
                             np.where((l_hi < r_lo) | (l_lo > r_hi), NOT, UNK3))
            return (equal if op == "=" else 2 - equal).astype(np.int8)
        fn = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}[op]
        if op in ("<", "<="):
            sure, possible = fn(l_hi, r_lo), fn(l_lo, r_hi)
        else:
            sure, possible = fn(l_lo, r_hi), fn(l_hi, r_lo)
        return np.where(sure, MET3, np.where(possible, UNK3, NOT)).astype(np.int8)

    def need_count(self, node) -> Interval:
        keys: dict[str, list[np.ndarray]] = {}
        for need in self.fw.needs:
            if node.headlines is None or need.headline in node.headlines:
                keys.setdefault(need.headline if node.distinct_headlines else need.name, []).append(self.need(need.name))
        met = np.zeros(self.b.families)
        unsure = np.zeros(self.b.families)
        for values in keys.values():
            best = np.maximum.reduce(values)
            met += best == MET3
            unsure += best == UNK3
        return Interval(met, met + unsure)

    # aggregates
    def aggregate(self, node, ctx):
        cols, ftype = self.b.facts[node.fact], self.fw.fact_type(node.fact)
        family_level = node.scope == "family" or ctx == "family"
        subjects = self.b.families if family_level else self.b.people
        length = node.window.length if node.window else None
        if length is not None:
            amount, unit = self.params[length.name] if length.kind == "param" else (length.amount, length.unit)
            start, end = (d.toordinal() for d in _window_before(self.as_of, amount, unit))
            watched = start
        else:  # as far as our records go: read every record, expect completeness only within coverage
            start, end = RECORDS_BEGIN, self.day
            covered = self.coverage.get(node.fact)
            watched = covered[0] if covered is not None and covered[0] <= self.day else RECORDS_BEGIN
        observed = min(end, self.day)
        if ftype.recording == "states":
            rows = np.flatnonzero((cols.day <= observed) & ((cols.end < 0) | (cols.end >= start)))
        else:
            rows = np.flatnonzero((cols.day >= start) & (cols.day <= observed))
        where = (np.broadcast_to(self.tri(node.where, ("fact", node.fact, rows)), len(rows))
                 if node.where is not None else np.full(len(rows), MET3))
        owner = cols.person[rows]
        owner = self.b.family_of[owner] if family_level else owner
        matched, uncertain = where == MET3, where == UNK3
        holes = []
        if ftype.recording == "periodic":
            expected = self._terms_within(start, end)
            # a period is present when any record for it was selected, whatever the filter says
            keys = np.unique(owner.astype(np.int64) * 10_000_000 + cols.day[rows])
            present = np.bincount((keys // 10_000_000).astype(np.int64), minlength=subjects)
            gap = present < expected if length is not None else present == 0
        else:
            holes = self._coverage_gaps(node.fact, watched, end)
            gap = np.full(subjects, bool(holes))
        fn = node.fn
        if fn in ("any", "none"):
            found = np.bincount(owner[matched], minlength=subjects) > 0
            unsure = np.bincount(owner[uncertain], minlength=subjects) > 0
            value = np.where(found, MET3, np.where(unsure | gap, UNK3, NOT)).astype(np.int8)
            value = value if fn == "any" else (2 - value).astype(np.int8)
        elif fn == "count":
            low = np.bincount(owner[matched], minlength=subjects).astype(np.float64)
            value = Interval(low, np.where(gap, INF, low + np.bincount(owner[uncertain], minlength=subjects)))
        elif fn == "rate":
            sel = rows[matched]
            top = np.bincount(owner[matched], cols.fields[node.field][sel], subjects)
            per = np.bincount(owner[matched], cols.fields[node.per_field][sel], subjects)
            known = ~gap & (per > 0) & ~(np.bincount(owner[uncertain], minlength=subjects) > 0)
            rate = np.where(known, top / np.where(per > 0, per, 1) * 100, 0)
            value = Interval(np.where(known, rate, -INF), np.where(known, rate, INF))
        elif fn in ("latest", "earliest"):
            if ftype.recording == "periodic":
                raise OutsideReference(f"{fn} of a periodic fact type")
            value = self._extreme(node, ftype, cols, rows, owner, matched, uncertain, subjects, end, holes)
        else:
            raise OutsideReference(f"aggregate {fn}")
        if isinstance(value, Interval):
            if family_level == (ctx == "family"):
                return value
            none = self.lift(value.none, ctx) if isinstance(value.none, np.ndarray) else value.none
            return Interval(self.lift(value.lo, ctx), self.lift(value.hi, ctx), value.codes, none)
        return value if family_level == (ctx == "family") else self.lift(value, ctx)

    def _terms_within(self, start: int, end: int) -> int:
        count, day = 0, date.fromordinal(end)
        term_start, term_end = _term_of(day)
        if term_end > day:
            term_start, term_end = _term_of(date.fromordinal(term_start.toordinal() - 1))
        while term_start.toordinal() >= start:
            count += 1
            term_start, term_end = _term_of(date.fromordinal(term_start.toordinal() - 1))
        return count

    def _coverage_gaps(self, fact: str, start: int, end: int) -> list[tuple[int, int]]:
        """Stretches of ``[start, end]`` where no feed vouches that every ``fact`` record is there."""
        covered = self.coverage.get(fact)
        if covered is None:
            return [(start, end)]
        holes = [(start, covered[0] - 1)] if covered[0] > start else []
        if end > self.day and covered[1] >= self.day:
            holes.append((self.day + 1, end))
        elif covered[1] < end:
            holes.append((covered[1] + 1, end))
        return holes

    def _extreme(self, node, ftype, cols, rows, owner, matched, uncertain, subjects, end, holes) -> Interval:
        """``latest``/``earliest``; for a states type without a filter, the state on the window's last day.

        No record to read is a known none when the feeds vouch for the period (for states: for that day),
        and unknown otherwise; a gap after the latest record (before the earliest) makes it unknown."""
        codes = CODES.get(f"{node.fact}.{node.field}")
        lo, hi = np.full(subjects, -INF), np.full(subjects, INF)
        sel, owners = rows[matched], owner[matched]
        day = min(end, self.day)
        state_on_day = ftype.recording == "states" and node.where is None and node.fn == "latest"
        if state_on_day:
            ok = (cols.day[sel] <= day) & ((cols.end[sel] < 0) | (cols.end[sel] >= day))
            sel, owners = sel[ok], owners[ok]
        # order by (subject, date, row) and keep each subject's last (latest) or first (earliest) record
        order = np.lexsort((sel, cols.day[sel], owners))
        sel, owners = sel[order], owners[order]
        if node.fn == "latest":
            pick = np.r_[owners[1:] != owners[:-1], True] if len(owners) else np.zeros(0, bool)
        else:
            pick = np.r_[True, owners[1:] != owners[:-1]] if len(owners) else np.zeros(0, bool)
        chosen, who = sel[pick], owners[pick]
        found = np.zeros(subjects, bool)
        found[who] = True
        if state_on_day:
            covered = self.coverage.get(node.fact)
            none = ~found & (covered is not None and covered[0] <= day <= covered[1])
        else:
            none = ~found & (not holes)
            when = cols.day[chosen]
            blocked = np.zeros(len(chosen), bool)
            for first, last in holes:
                blocked |= (last > when) if node.fn == "latest" else (first < when)
            chosen, who = chosen[~blocked], who[~blocked]
        values = cols.fields[node.field][chosen].astype(np.float64)
        lo[who] = values
        hi[who] = values
        # a record that may or may not pass the filter leaves the answer unknown (before any none)
        unsure = np.bincount(owner[uncertain], minlength=subjects) > 0
        lo[unsure], hi[unsure] = -INF, INF
        return Interval(lo, hi, codes, none & ~unsure)

    def eligibility(self) -> np.ndarray:
        return np.asarray(self.rule("eligible", "family"), dtype=np.int8)
