"""LLM function calling for the cockpit: strict validation, fallback, agreement with the model.

The validation path runs against :class:`FixedReplies`, a small provider of our
own protocol that answers with the strings it is given; the last test asks a
real llama.cpp server (SmolLM2-135M-Instruct, ``tests/_llm_server.py``), whose
replies are whatever they are: each must end as a validated LLM reading or as
exactly the trained model's parse with the reason.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Sequence

import pytest

from drivetrain.cockpit.llm_understanding import (
    ChatProvider,
    LlmUnderstander,
    Message,
    first_json_object,
    intent_functions,
)
from drivetrain.cockpit.nlu import NluModel, Parse, intents
from drivetrain.copilot.providers import OpenAICompatibleProvider, ProviderError
from tests._llm_server import MODEL_ALIAS, llm_server

TEMPERATURE = "set the passenger side to 21 degrees"
TEMPERATURE_REPLY = {
    "intent": "set_temperature",
    "slots": {"zone": "passenger side", "temperature": "21"},
}


class FixedReplies:
    """A provider of the protocol that answers each request with the next given reply."""

    def __init__(self, *replies: str | Exception, pause_s: float = 0.0) -> None:
        self.replies = list(replies)
        self.pause_s = pause_s
        self.asked: list[Sequence[Message]] = []

    def complete(self, messages: Sequence[Message], *, stream: bool = False) -> Iterator[str]:
        self.asked.append(messages)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        for piece in [reply[i : i + 8] for i in range(0, len(reply), 8)] if stream else [reply]:
            time.sleep(self.pause_s)
            yield piece


class Unreachable:
    """A provider that fails when called, before any reply (not a generator)."""

    def complete(self, messages: Sequence[Message], *, stream: bool = False) -> Iterator[str]:
        raise ProviderError("the LLM endpoint y refused the request (HTTP 401)")


class Recording:
    """The real provider, keeping each reply it streamed (to report how the model did)."""

    def __init__(self, provider: ChatProvider) -> None:
        self.provider = provider
        self.replies: list[str] = []

    def complete(self, messages: Sequence[Message], *, stream: bool = False) -> Iterator[str]:
        self.replies.append("")
        for piece in self.provider.complete(messages, stream=stream):
            self.replies[-1] += piece
            yield piece


def understander(nlu_model: NluModel, *replies: str | Exception) -> LlmUnderstander:
    return LlmUnderstander(FixedReplies(*replies), nlu_model)


def assert_spans(parse: Parse) -> None:
    for slot in parse.slots:
        assert parse.text[slot.start : slot.end] == slot.value
    parse.as_utterance()  # in order, not overlapping


def test_a_valid_call_is_used_and_agreement_takes_the_higher_confidence(
    nlu_model: NluModel,
) -> None:
    model = nlu_model.parse(TEMPERATURE)
    assert model.intent == "set_temperature"  # the premise: both readers agree
    llm = understander(nlu_model, json.dumps(TEMPERATURE_REPLY))
    parse = llm.parse(TEMPERATURE)
    assert llm.last_degraded is None
    assert parse.intent == "set_temperature" and not parse.needs_clarification
    assert parse.confidence == max(0.9, model.confidence)
    assert parse.alternatives[0].intent == "set_temperature"
    assert parse.slot_values()["zone"] == ["passenger side"]
    assert parse.slot_values()["temperature"] == ["21"]
    assert_spans(parse)


def test_a_fenced_answer_with_chatter_is_used_and_spans_keep_the_texts_case(
    nlu_model: NluModel,
) -> None:
    reply = (
        "Sure! Here is the call:\n```json\n"
        '{"intent": "set_temperature", "slots": {"zone": "Passenger Side", "temperature": 21}}'
        "\n```\nAnything else?"
    )
    llm = understander(nlu_model, reply)
    understood = llm.understand(TEMPERATURE)
    assert understood.degraded is None
    zone = next(s for s in understood.parse.slots if s.name == "zone")
    assert (zone.start, zone.end, zone.value) == (8, 22, "passenger side")
    assert understood.parse.slot_values()["temperature"] == ["21"]


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ('{"intent": "launch_rocket", "slots": {}}', "no known intent"),
        ('{"slots": {"zone": "passenger side"}}', "no known intent"),
        ('{"intent": "set_temperature", "slots": {"zone": "rear left"}}', "'zone' value"),
        ('{"intent": "set_temperature", "slots": {"zone": "passenger"}}x', None),  # a prefix
        ('{"intent": "set_temperature", "slots": {"artist": "21"}}', "slot 'artist', which"),
        ('{"intent": "set_temperature", "slots": {"passenger side": "21"}}', "no intent has"),
        ('{"intent": "set_temperature", "slots": ["21"]}', "not an object"),
        ('{"intent": "set_temperature", "slots": {"zone": {"side": "x"}}}', "not text"),
        ('{"intent": "set_temperature", "slots": {"zone": "passenger side"', "no JSON object"),
        ("set_temperature(zone='passenger side')", "no JSON object"),
        ("", "no JSON object"),
    ],
)
def test_an_unusable_answer_gives_the_models_parse_and_says_why(
    nlu_model: NluModel, reply: str, reason: str | None
) -> None:
    llm = understander(nlu_model, reply)
    parse = llm.parse(TEMPERATURE)
    if reason is None:  # "passenger" is a whole word of the text: this one is valid
        assert llm.last_degraded is None and parse.slot_values()["zone"] == ["passenger"]
        return
    assert parse == nlu_model.parse(TEMPERATURE)
    assert llm.last_degraded is not None and reason in llm.last_degraded
    assert "used the trained model" in llm.last_degraded


def test_a_value_must_be_a_whole_word_span(nlu_model: NluModel) -> None:
    reply = '{"intent": "set_temperature", "slots": {"temperature": "1"}}'  # inside "21"
    llm = understander(nlu_model, reply)
    assert llm.parse(TEMPERATURE) == nlu_model.parse(TEMPERATURE)
    assert llm.last_degraded is not None and "'temperature' value" in llm.last_degraded


def test_a_provider_error_or_the_time_limit_falls_back(nlu_model: NluModel) -> None:
    failing = understander(nlu_model, ProviderError("the LLM endpoint x cannot be reached"))
    assert failing.parse(TEMPERATURE) == nlu_model.parse(TEMPERATURE)
    assert failing.last_degraded is not None and "cannot be reached" in failing.last_degraded
    refused = LlmUnderstander(Unreachable(), nlu_model)
    assert refused.parse(TEMPERATURE) == nlu_model.parse(TEMPERATURE)
    assert refused.last_degraded is not None and "HTTP 401" in refused.last_degraded
    slow = LlmUnderstander(
        FixedReplies(json.dumps(TEMPERATURE_REPLY), pause_s=0.05), nlu_model, timeout_s=0.1
    )
    assert slow.parse(TEMPERATURE) == nlu_model.parse(TEMPERATURE)
    assert slow.last_degraded is not None and "longer than 0.1 s" in slow.last_degraded


def test_a_disagreement_asks_with_both_readings(nlu_model: NluModel) -> None:
    model = nlu_model.parse(TEMPERATURE)
    llm = understander(nlu_model, '{"intent": "set_fan", "slots": {"zone": "passenger side"}}')
    parse = llm.parse(TEMPERATURE)
    assert llm.last_degraded is None
    assert parse.intent == "set_fan" and parse.needs_clarification
    assert [a.intent for a in parse.alternatives[:2]] == ["set_fan", "set_temperature"]
    assert parse.alternatives[1].probability == model.confidence
    assert len({a.intent for a in parse.alternatives}) == len(parse.alternatives)
    assert_spans(parse)


def test_the_request_lists_every_intent_as_a_function_and_keeps_text_out_of_reasons(
    nlu_model: NluModel, caplog: pytest.LogCaptureFixture
) -> None:
    provider = FixedReplies('{"intent": "send_message", "slots": {"contact": "Alice"}}')
    llm = LlmUnderstander(provider, nlu_model)
    text = "text bob that I am late"
    with caplog.at_level(logging.DEBUG):
        llm.parse(text)
    system, user = provider.asked[0]
    assert user == {"role": "user", "content": text}
    functions = intent_functions()
    assert [f["name"] for f in functions] == intents()
    send = next(f for f in functions if f["name"] == "send_message")
    assert set(send["parameters"]["properties"]) == {"contact", "message_text"}
    for function in functions:
        assert json.dumps(function, separators=(",", ":")) in system["content"]
    assert llm.last_degraded is not None and "'contact' value" in llm.last_degraded
    assert "Alice" not in llm.last_degraded
    assert "bob" not in caplog.text and "late" not in caplog.text


def test_the_first_json_object_is_found_in_any_surroundings() -> None:
    assert first_json_object('x {"a": 1} {"b": 2}') == {"a": 1}
    assert first_json_object('{not json} then {"a": {"b": [1]}}') == {"a": {"b": [1]}}
    assert first_json_object("[1, 2]") is None and first_json_object("{") is None


UTTERANCES = [
    TEMPERATURE,
    "take me to the airport",
    "find the nearest ionity charger",
    "play some jazz",
    "open the driver window halfway",
    "call mum",
    "why is the check engine light on",
    "turn the volume down",
    "what's the weather like tomorrow",
    "yes please",
]


@pytest.mark.slow
def test_the_real_model_gives_a_validated_reading_or_the_fallback(nlu_model: NluModel) -> None:
    allowed = {f["name"]: set(f["parameters"]["properties"]) for f in intent_functions()}
    with llm_server() as url:
        # the copilot's provider is a ChatProvider by its shape (mypy checks this line)
        real: ChatProvider = OpenAICompatibleProvider(
            url, MODEL_ALIAS, timeout_s=120, max_tokens=80
        )
        provider = Recording(real)
        llm = LlmUnderstander(provider, nlu_model, timeout_s=120)
        results = [(text, llm.understand(text)) for text in UTTERANCES]
    assert len(provider.replies) == len(UTTERANCES)  # the model was asked every time
    used = 0
    for (text, understood), reply in zip(results, provider.replies, strict=True):
        parse, model = understood.parse, nlu_model.parse(text)
        if understood.degraded is None:  # a validated reading of the LLM
            used += 1
            called = first_json_object(reply)
            assert called is not None and parse.intent == called["intent"] in allowed
            assert parse.text == text
            assert_spans(parse)
            assert set(called.get("slots") or {}) <= allowed[parse.intent]
            assert parse.needs_clarification or parse.intent == model.intent
        else:  # anything else: exactly the trained model's parse, and why
            assert parse == model
            assert understood.degraded.endswith("used the trained model")
            assert "failed" not in understood.degraded  # the server answered
    print(f"SmolLM2-135M: {used} of {len(UTTERANCES)} readings validated")
