"""Blocking, EM estimation, term frequencies and the chain guard, on synthetic people."""

from __future__ import annotations

import numpy as np
import pytest

from engine.matching import blocking
from engine.matching.clustering import cluster
from engine.matching.linker import Constraints, link
from engine.matching.records import RecordTable
from engine.matching.scoring import waterfall
from engine.matching.synthetic import generate


def _table(people) -> RecordTable:
    keys = [row["record_id"] for row in people.rows]
    columns = {f: [row[f] or None for row in people.rows] for f in people.rows[0] if f != "record_id"}
    return RecordTable.from_columns(keys, columns)


@pytest.fixture(scope="module")
def people():
    return generate(4000, seed=11)


@pytest.fixture(scope="module")
def linked(people):
    return link(_table(people))


def test_blocking_unions_rules_without_duplicate_pairs() -> None:
    """A pair found by two rules appears once, with both rules' bits set."""
    rows = [
        {"record_key": "a:1", "date_of_birth": "2001-02-03", "postcode": "LS6 2AB", "given_name": "ANN"},
        {"record_key": "a:2", "date_of_birth": "2001-02-03", "postcode": "LS6 2AB", "given_name": "ANNE"},
        {"record_key": "a:3", "date_of_birth": "1999-09-09", "postcode": "LS6 2AB", "given_name": "BOB"},
    ]
    table = RecordTable.from_rows(rows)
    rules = [blocking.BlockingRule("dob", (blocking.column("date_of_birth"),)),
             blocking.BlockingRule("pc", (blocking.column("postcode"), blocking.initial("given_name")))]
    pairs = blocking.block(table, rules)
    assert list(zip(pairs.left.tolist(), pairs.right.tolist())) == [(0, 1)]
    assert pairs.rule_bits.tolist() == [0b11]


def test_default_rules_pair_given_names_whose_first_letters_differ_at_one_postcode() -> None:
    """OMAR / UMAR MANSOUR on council tax and the electoral roll, no dates of birth: only the
    postcode and the surname are shared keys; a neighbour of another surname is not paired."""
    rows = [
        {"record_key": "ct:1", "given_name": "OMAR", "family_name": "MANSOUR", "postcode": "HW1 0JH"},
        {"record_key": "er:1", "given_name": "UMAR", "family_name": "MANSOUR", "postcode": "HW1 0JH"},
        {"record_key": "er:2", "given_name": "NINA", "family_name": "KELLY", "postcode": "HW1 0JH"},
    ]
    table = RecordTable.from_rows(rows)
    pairs = blocking.block(table, blocking.default_rules(table))
    assert list(zip(pairs.left.tolist(), pairs.right.tolist())) == [(0, 1)]


def test_oversized_blocks_are_skipped_and_reported() -> None:
    """A placeholder value shared by many records does not produce a quadratic number of pairs."""
    rows = [{"record_key": f"a:{i}", "date_of_birth": "1900-01-01"} for i in range(30)]
    rows += [{"record_key": "b:1", "date_of_birth": "2000-05-05"}, {"record_key": "b:2", "date_of_birth": "2000-05-05"}]
    table = RecordTable.from_rows(rows)
    rule = blocking.BlockingRule("dob", (blocking.column("date_of_birth"),))
    pairs = blocking.block(table, [rule], max_block_size=10)
    assert len(pairs) == 1
    assert pairs.report.summary()["skipped_blocks"] == {"dob": {"blocks": 1, "records": 30}}


def test_em_recovers_sensible_m_and_u(linked) -> None:
    """Without labels, m and u come out where the generator put them."""
    model = linked.model
    names = [c.name for c in model.comparisons]
    dob, sex, given = names.index("date_of_birth"), names.index("sex"), names.index("given_name")
    assert model.m[dob][1] > 0.8  # most duplicates keep their date of birth
    assert model.u[dob][1] < 0.001  # random people rarely share one
    assert abs(model.u[sex][1] - 0.5) < 0.05  # half of random pairs share sex
    assert model.m[given][-1] < 0.05  # true matches seldom have unrelated given names
    assert model.u[given][-1] > 0.9
    assert 0 < linked.model.prior < 0.01


def test_matcher_finds_synthetic_duplicates(people, linked) -> None:
    """Cluster precision and recall against the generator's truth."""
    truth = people.true_pairs()
    members: dict[int, list[str]] = {}
    for key, label in zip(linked.table.keys, linked.labels.tolist()):
        members.setdefault(label, []).append(key)
    predicted = {(a, b) for keys in members.values() for a in sorted(keys) for b in sorted(keys) if a < b}
    hits = len(predicted & truth)
    assert hits / len(predicted) > 0.98
    assert hits / len(truth) > 0.93


def test_common_surname_agreement_counts_less(linked) -> None:
    """Term-frequency adjustment: agreeing on the commonest surname weighs less than on a rare one."""
    table, model = linked.table, linked.model
    family = table.values("family_name")
    codes, vocabulary = table.codes("family_name")
    counts = np.bincount(codes[codes >= 0])
    common, rare = vocabulary[int(counts.argmax())], vocabulary[int(np.flatnonzero(counts == 1)[0])]
    rows = [{"record_key": f"x:{i}", "family_name": name, "date_of_birth": "1990-01-01"}
            for i, name in enumerate([common, common, rare, rare])]
    probe = RecordTable.from_rows(rows)
    # score the probe pairs with the trained model but the big table's frequencies
    merged = RecordTable(keys=table.keys + probe.keys,
                         columns={"family_name": np.concatenate((family, probe.values("family_name"))),
                                  "date_of_birth": np.concatenate((table.values("date_of_birth"),
                                                                   probe.values("date_of_birth")))})
    n = len(table)
    common_rows, common_total = waterfall(model, merged, n, n + 1)
    rare_rows, rare_total = waterfall(model, merged, n + 2, n + 3)
    common_tf = next(r.tf_adjustment for r in common_rows if r.comparison == "family_name")
    rare_tf = next(r.tf_adjustment for r in rare_rows if r.comparison == "family_name")
    assert common_tf < 0 < rare_tf
    assert common_total < rare_total


def test_chain_guard_splits_weakly_joined_chain() -> None:
    """A-B and B-C are strong links but A-C is clearly two people: A and C do not end together."""
    left, right = np.array([0, 1, 0]), np.array([1, 2, 2])
    prob = np.array([0.99, 0.95, 0.001])
    result = cluster(3, left, right, prob, 0.9)
    assert result.labels[0] == result.labels[1]
    assert result.labels[2] != result.labels[0]
    assert result.refused_merges and result.refused_merges[0]["link"] == (1, 2)


def test_chain_guard_refuses_a_clear_non_match_despite_an_even_mean() -> None:
    """Parent (0) and council tax record (1) link; the child (2) links to 1 but is clearly not 0.

    The mean over pairs between {0, 1} and {2} is 0.5, which alone would allow the merge."""
    left, right = np.array([0, 1, 0]), np.array([1, 2, 2])
    prob = np.array([0.999, 0.995, 0.005])
    result = cluster(3, left, right, prob, 0.9)
    assert result.labels[0] == result.labels[1]
    assert result.labels[2] != result.labels[0]
    assert result.refused_merges[0]["mean_probability_between_groups"] >= 0.5


def test_plain_chain_with_no_contrary_evidence_merges() -> None:
    """Without a compared pair saying otherwise, links chain transitively."""
    result = cluster(3, np.array([0, 1]), np.array([1, 2]), np.array([0.99, 0.95]), 0.9)
    assert len(set(result.labels.tolist())) == 1


def test_review_decisions_override_scores(people) -> None:
    """A rejected pair never links; a confirmed pair always does, whatever the score."""
    table = _table(people)
    baseline = link(table)
    p = baseline.pairs
    strong = int(np.argmax(p.probability))
    weak = int(np.argmin(p.probability))
    a, b = table.keys[p.left[strong]], table.keys[p.right[strong]]
    c, d = table.keys[p.left[weak]], table.keys[p.right[weak]]
    constrained = link(table, constraints=Constraints(confirmed={(c, d)}, rejected={(a, b)}))
    labels, index = constrained.labels, {k: i for i, k in enumerate(table.keys)}
    assert labels[index[a]] != labels[index[b]]
    assert labels[index[c]] == labels[index[d]]
