"""The rule book: scripts set at run time, scopes, ``times``, sequences and seeded chaos."""

from __future__ import annotations

from typing import Any

from quart_qa.settings.answer_parsing import rules_from_list
from quart_qa.settings.faults import ChaosSettings
from quart_qa.settings.scripts import Scope, script_from_mapping
from quart_qa.streaming.request_facts import RequestFacts
from quart_qa.streaming.rulebook import RuleBook

CONFIG = rules_from_list([{"match": "hello", "text": "config hello"}, {"text": "config default"}])


def text(book: RuleBook, question: str, facts: RequestFacts | None = None) -> str:
    rule = book.choose(question, facts).rule
    return rule.fault.kind if rule.fault else "".join(rule.parts)


def scripted(answers: list[dict[str, Any]], **scope: str) -> Any:
    data: dict[str, Any] = {"answers": answers}
    if scope:
        data["scope"] = scope
    return script_from_mapping(data, "add" if scope else "replace")


def test_times_then_the_next_matching_rule_answers() -> None:
    book = RuleBook(CONFIG, ChaosSettings())
    script = scripted(
        [{"times": 1, "fault": "rate_limit"}, {"times": 2, "text": "ok"}, {"text": "end"}]
    )
    book.replace(None, script.rules)
    assert [text(book, "q") for _ in range(4)] == ["rate_limit", "ok", "ok", "end"]
    book.reset()
    assert text(book, "hello") == "config hello"


def test_a_sequence_answers_each_step_in_turn_then_steps_aside() -> None:
    book = RuleBook(CONFIG, ChaosSettings())
    seq = [{"match": "turn", "sequence": [{"text": "call the tool"}, {"text": "here it is"}]}]
    book.add(None, scripted(seq, scenario="s").rules)  # added ahead of the config's rules
    answers = [text(book, "turn") for _ in range(3)]
    assert answers == ["call the tool", "here it is", "config default"]


def test_scoped_scripts_apply_only_to_their_requests_header_first() -> None:
    book = RuleBook(CONFIG, ChaosSettings())
    book.add(
        Scope("header", "t1", "x-qa-scenario"), scripted([{"text": "for t1"}], scenario="t1").rules
    )
    book.add(Scope("user", "u2"), scripted([{"text": "for u2"}], user="u2").rules)
    book.add(Scope("key", "sk-2"), scripted([{"match": "hello", "text": "key"}], key="sk-2").rules)
    t1 = RequestFacts({"x-qa-scenario": "t1"}, user="u2")
    assert text(book, "anything", t1) == "for t1"
    assert text(book, "anything", RequestFacts({}, user="u2")) == "for u2"
    assert text(book, "hello", RequestFacts({}, key="sk-2")) == "key"
    assert text(book, "other", RequestFacts({}, key="sk-2")) == "config default"  # falls through
    assert text(book, "anything", RequestFacts({}, user="u3")) == "config default"
    book.reset(Scope("user", "u2"))
    assert text(book, "anything", RequestFacts({}, user="u2")) == "config default"
    assert text(book, "anything", t1) == "for t1"


def test_seeded_chaos_draws_the_same_faults_again() -> None:
    chaos = ChaosSettings(seed=7, disconnect=0.3, rate_limit=0.2)

    def run() -> list[str]:
        book = RuleBook(CONFIG, chaos)
        return [text(book, "q") for _ in range(40)]

    first = run()
    assert first == run()
    assert {"disconnect", "rate_limit", "config default"} == set(first)


def test_reload_swaps_the_config_rules_and_keeps_scripts() -> None:
    book = RuleBook(CONFIG, ChaosSettings())
    book.add(Scope("user", "u1"), scripted([{"text": "mine"}], user="u1").rules)
    book.reload(rules_from_list([{"text": "reloaded"}]), ChaosSettings())
    assert text(book, "hello") == "reloaded"
    assert text(book, "x", RequestFacts({}, user="u1")) == "mine"


def test_adding_rules_leaves_the_counts_of_the_rules_in_force_alone() -> None:
    book = RuleBook(CONFIG, ChaosSettings())
    book.replace(None, scripted([{"times": 1, "text": "once"}, {"text": "after"}]).rules)
    assert text(book, "q") == "once"
    book.add(
        None, rules_from_list([{"match": "other", "times": 1, "text": "new"}], needs_default=False)
    )
    assert [text(book, "q") for _ in range(2)] == ["after", "after"]  # still spent
    assert text(book, "other") == "new"  # the added rule counts from zero


def test_adding_ahead_of_the_toml_keeps_its_counts_and_a_scope_its_own() -> None:
    config = rules_from_list([{"sequence": [{"text": "one"}, {"text": "two"}]}, {"text": "end"}])
    book = RuleBook(config, ChaosSettings())
    assert text(book, "q") == "one"
    book.add(None, rules_from_list([{"match": "x", "text": "x"}], needs_default=False))
    assert [text(book, "q") for _ in range(2)] == ["two", "end"]
    book.add(Scope("user", "u1"), scripted([{"times": 1, "text": "mine"}], user="u1").rules)
    assert text(book, "q", RequestFacts({}, user="u1")) == "mine"
    book.add(Scope("user", "u1"), scripted([{"match": "y", "text": "y"}], user="u1").rules)
    assert text(book, "q", RequestFacts({}, user="u1")) == "end"


def test_replacing_the_rules_gives_them_new_counts() -> None:
    book = RuleBook(CONFIG, ChaosSettings())
    once = scripted([{"times": 1, "text": "once"}, {"text": "after"}]).rules
    book.replace(None, once)
    assert [text(book, "q") for _ in range(2)] == ["once", "after"]
    book.replace(None, once)
    assert text(book, "q") == "once"
