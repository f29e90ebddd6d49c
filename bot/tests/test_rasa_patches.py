"""The performance patches to Rasa (components/rasa_patches.py) give Rasa's own results."""
from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest
from jsonschema import ValidationError, validate

from components.rasa_patches import apply_all

apply_all()


# --- action server responses --------------------------------------------------------------

RESPONSES: list[Any] = [
    {"events": [{"event": "slot", "name": "language", "value": "zh", "timestamp": None}],
     "responses": [{"text": "你好"}]},
    {"events": [], "responses": []},
    {},
    {"events": [{"event": "active_loop", "name": None}, {"event": "slot", "name": "requested_slot", "value": None},
                {"event": "action_execution_rejected", "name": "utility_handover_form"},
                {"event": "followup", "name": "action_listen"}, {"event": "reset_slots"}, {"event": "restart"},
                {"event": "bot", "text": "x"}, {"event": "user", "text": "hi", "parse_data": {"entities": []}}],
     "responses": [{"text": "a", "buttons": [{"title": "t", "payload": "/affirm"}]}]},
    # refused by Rasa's schema: each must be refused here too
    {"events": [{"event": "no_such_event"}], "responses": []},
    {"events": [{"event": "slot", "name": "language"}]},  # no value
    {"events": [{"event": "slot", "value": 1}]},  # no name
    {"events": [{"name": "language", "value": "zh"}]},  # no event
    {"events": [{"event": 3}]},
    {"events": ["slot"]},
    {"events": {"event": "slot"}},
    {"events": [{"event": "slot", "name": "x", "value": 1, "timestamp": "now"}]},
    {"events": [{"event": "slot", "name": "x", "value": 1, "metadata": []}]},
    {"events": [{"event": "entities", "entities": [{"entity": "e"}]}]},  # an entity without a value
    {"events": [{"event": "user", "parse_data": {"intent": {"name": 3}}}]},
    {"responses": ["text"]},
    [],
]


def _rasa_accepts(result: Any) -> bool:
    from rasa.core.actions.action import RemoteAction

    try:
        validate(result, RemoteAction.action_response_format_spec())
        return True
    except ValidationError:
        return False


@pytest.mark.parametrize("result", RESPONSES)
def test_action_response_check_accepts_and_refuses_what_rasa_does(result: Any) -> None:
    from rasa.core.actions.action import RemoteAction

    action = RemoteAction.__new__(RemoteAction)
    if _rasa_accepts(result):
        assert action._validate_action_result(result) is True
    else:
        with pytest.raises(ValidationError) as err:
            action._validate_action_result(result)
        assert "Failed to validate Action server response" in err.value.message


# --- event types, slot copies -------------------------------------------------------------

def test_event_types_resolve_as_rasa_resolves_them() -> None:
    from rasa.shared.core.events import ActionExecuted, Event, SlotSet
    from rasa.shared.utils.common import all_subclasses

    for cls in all_subclasses(Event):
        first = next(c for c in all_subclasses(Event) if c.type_name == cls.type_name)
        assert Event.resolve_by_type(cls.type_name) is first
        assert Event.resolve_by_type(cls.type_name) is first  # (cached)
    assert Event.resolve_by_type("slot") is SlotSet
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no_such_event", ActionExecuted) is ActionExecuted
    with pytest.raises(ValueError):
        Event.resolve_by_type("no_such_event")
    event = Event.from_parameters({"event": "slot", "name": "language", "value": "en"})
    assert isinstance(event, SlotSet) and (event.key, event.value) == ("language", "en")


def test_slot_copies_are_shallow_copies() -> None:
    from rasa.shared.core.slots import CategoricalSlot, TextSlot

    slot = CategoricalSlot("language", mappings=[{"type": "custom"}], values=["zh", "en"],
                           influence_conversation=False)
    slot.value = "en"
    twin = copy.copy(slot)
    assert type(twin) is CategoricalSlot and twin is not slot
    assert twin.__dict__ == slot.__dict__
    twin.value = "zh"
    assert slot.value == "en"
    text = TextSlot("tracking_number", mappings=[])
    assert copy.copy(text).__dict__ == text.__dict__


# --- action server connections ------------------------------------------------------------

def test_action_server_calls_share_one_connection_and_keep_rasas_errors() -> None:
    from aiohttp import web
    from rasa.utils.endpoints import ClientResponseError, EndpointConfig

    peers: list[Any] = []

    async def webhook(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername") if request.transport else None)
        body = await request.json()
        if body.get("fail"):
            return web.json_response({"error": "no"}, status=400)
        return web.json_response({"echo": body, "token": request.query.get("token")})

    async def scenario() -> None:
        app = web.Application()
        app.router.add_post("/webhook", webhook)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook", token="t0k")
            first = await endpoint.request(json={"n": 1}, method="post")
            second = await endpoint.request(json={"n": 2}, method="post")
            assert first == {"echo": {"n": 1}, "token": "t0k"} and second["echo"] == {"n": 2}
            with pytest.raises(ClientResponseError) as err:
                await endpoint.request(json={"fail": True}, method="post")
            assert err.value.status == 400
        finally:
            await runner.cleanup()

    asyncio.run(scenario())
    assert len(peers) == 3 and peers[0] == peers[1] == peers[2]  # one connection, kept


# --- the language slot, filled in Rasa's process -------------------------------------------

def _tracker(text: str, *, lang_slot: str | None = None, meta_lang: str | None = None,
             loop: str | None = None, requested: str | None = None) -> Any:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load("domain")
    events: list[Any] = [ActionExecuted("action_listen")]
    if lang_slot:
        events.append(SlotSet("language", lang_slot))
    if loop:
        events += [ActiveLoop(loop), SlotSet("requested_slot", requested)]
    events.append(UserUttered(text, {"name": "inform", "confidence": 0.9},
                              metadata={"lang": meta_lang} if meta_lang else {}))
    return DialogueStateTracker.from_events("s1", events, domain.slots), domain


CASES = [
    ("hello there", {"lang_slot": "zh", "meta_lang": "zh"}),
    ("你好", {"lang_slot": "en"}),
    ("13800138000", {"meta_lang": "en"}),
    ("13800138000", {"lang_slot": "en", "meta_lang": "en"}),
    ("abcd 2345", {"lang_slot": "zh", "loop": "utility_handover_form", "requested": "verification_code"}),
    ("Li Wei", {"lang_slot": "zh", "loop": "utility_handover_form", "requested": "account_holder_name"}),
    ("Li Wei", {"lang_slot": "zh"}),
    ("/affirm", {"meta_lang": "en"}),
]


@pytest.mark.parametrize(("text", "kw"), CASES)
def test_language_slot_is_what_the_action_server_would_set(monkeypatch: pytest.MonkeyPatch, text: str,
                                                           kw: dict[str, Any]) -> None:
    import os
    from pathlib import Path

    from rasa.core.actions.action import ActionExtractSlots
    from rasa.shared.core.trackers import EventVerbosity
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions.language import ActionDetectLanguage

    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    assert os.path.isdir("domain")
    tracker, domain = _tracker(text, **kw)
    # What the action server answers, given the serialised tracker Rasa would send it.
    remote = asyncio.run(ActionDetectLanguage().run(
        CollectingDispatcher(), Tracker.from_dict(tracker.current_state(EventVerbosity.ALL)), {}))
    # No action server at all: the action endpoint points nowhere.
    from rasa.utils.endpoints import EndpointConfig

    extract = ActionExtractSlots(EndpointConfig("http://127.0.0.1:9/webhook"))
    events = asyncio.run(extract._run_custom_action("action_detect_language", None, None, tracker, domain))
    assert [{"event": "slot", "name": e.key, "value": e.value} for e in events] == [
        {"event": "slot", "name": r["name"], "value": r["value"]} for r in remote]


# --- applied events -----------------------------------------------------------------------

def _event_histories() -> list[list[Any]]:
    from rasa.shared.core.events import (
        ActionExecuted,
        ActionExecutionRejected,
        ActionReverted,
        ActiveLoop,
        BotUttered,
        DefinePrevUserUtteredFeaturization,
        Restarted,
        SessionStarted,
        SlotSet,
        UserUtteranceReverted,
        UserUttered,
    )

    def user(text: str) -> list[Any]:
        return [ActionExecuted("action_listen"), UserUttered(text, {"name": "inform", "confidence": 1.0})]

    form = "utility_handover_form"
    loop_turn = [ActionExecuted(form), SlotSet("requested_slot", "contact_phone")]
    return [
        [],
        [ActionExecuted("action_session_start"), SessionStarted(), *user("hi"), ActionExecuted("utter_greet"),
         BotUttered("hello")],
        # a form: activated, asked again (happy path), interrupted by a question, resumed, ended
        [*user("water"), ActionExecuted(form), ActiveLoop(form), SlotSet("requested_slot", "tracking_number"),
         *user("ZT2026000001"), *loop_turn, *user("how much tax"), ActionExecuted("utter_tax_buyer"), *loop_turn,
         *user("13800138000"), *loop_turn, ActiveLoop(None), ActionExecuted("action_submit_form")],
        # reverts and restarts
        [*user("a"), ActionExecuted("utter_x"), ActionReverted(), *user("b"), UserUtteranceReverted(),
         *user("c"), Restarted(), *user("d"), ActionExecuted("utter_y")],
        [*user("x"), ActionExecuted(form), ActiveLoop(form), *user("y"), ActionExecuted(form), *user("z"),
         ActionExecuted("utter_default"), ActionExecuted(form), ActiveLoop(None), SessionStarted(), *user("new")],
        # unhappy paths: the form rejected, another action answers, the form again
        [*user("x"), ActionExecuted(form), ActiveLoop(form), *user("no"), ActionExecutionRejected(form),
         ActionExecuted("action_stop_form"), *user("y"), DefinePrevUserUtteredFeaturization(False),
         ActionExecuted(form), *user("z"), ActionExecuted(form), ActionExecuted("utter_ask"), *user("w"),
         ActionExecuted(form), ActiveLoop(None), ActiveLoop(form), ActionExecuted(form), *user("v"),
         ActionExecuted(form), UserUtteranceReverted(), ActionExecuted(form)],
    ]


def test_applied_events_are_rasas() -> None:
    from rasa.shared.core.trackers import DialogueStateTracker

    from components.rasa_patches import ORIGINAL

    for events in _event_histories():
        tracker = DialogueStateTracker.from_events("s", events, [])
        assert tracker.applied_events() == ORIGINAL["applied_events"](tracker)
        assert [type(e) for e in tracker.applied_events()] == [type(e) for e in ORIGINAL["applied_events"](tracker)]


# --- graph runs without dask ----------------------------------------------------------------

class _Number:
    """A small graph component: provides its configured number, or adds its inputs to it."""

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: Any, resource: Any, execution_context: Any) -> Any:
        return cls(config)

    def __init__(self, config: dict[str, Any]) -> None:
        self.x = config.get("x", 0)
        self.calls = 0

    def provide(self) -> int:
        self.calls += 1
        return self.x

    def add(self, a: int, b: int = 0) -> int:
        if a < 0:
            raise ValueError("negative")
        return self.x + a + b


def _runner(tmp_path: Any) -> Any:
    from rasa.engine.graph import ExecutionContext, GraphComponent, GraphSchema, SchemaNode
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    number = type("Number", (_Number, GraphComponent), {})
    schema = GraphSchema({
        "one": SchemaNode({}, number, "create", "provide", {"x": 1}),
        "two": SchemaNode({}, number, "create", "provide", {"x": 2}),
        "three": SchemaNode({"a": "one", "b": "two"}, number, "create", "add", {}),
        "plus_input": SchemaNode({"a": "three", "b": "__input__"}, number, "create", "add", {"x": 10}),
        "unresolved": SchemaNode({"a": "one", "b": "__nothing__"}, number, "create", "add", {}),
        "diamond": SchemaNode({"a": "three", "b": "plus_input"}, number, "create", "add", {}, is_target=True),
        "unused": SchemaNode({}, number, "create", "provide", {"x": 99}),
    })
    return DaskGraphRunner(schema, LocalModelStorage(tmp_path), ExecutionContext(schema, "m"))


@pytest.mark.parametrize(("inputs", "targets"), [
    ({"__input__": 5}, ["diamond"]),
    ({"__input__": 5}, None),  # the schema's targets
    ({"__input__": 5}, ["plus_input", "three"]),
    ({"__input__": 7}, ["three"]),  # an input nobody in the minimal graph needs
    ({}, ["one", "two"]),
    ({"three": 100, "__input__": 1}, ["plus_input"]),  # an input standing in for a node
])
def test_graph_runs_give_what_dask_gives(tmp_path: Any, inputs: dict[str, Any], targets: list[str] | None) -> None:
    from components.rasa_patches import ORIGINAL

    runner = _runner(tmp_path)
    assert runner.run(dict(inputs), targets) == ORIGINAL["graph_run"](runner, dict(inputs), targets)
    assert runner.run(dict(inputs), targets) == ORIGINAL["graph_run"](runner, dict(inputs), targets)  # planned


def test_graph_runs_fail_as_dask_runs_fail(tmp_path: Any) -> None:
    from rasa.engine.exceptions import GraphComponentException, GraphRunError

    from components.rasa_patches import ORIGINAL

    runner = _runner(tmp_path)
    for run in (runner.run, lambda i, t: ORIGINAL["graph_run"](runner, i, t)):
        with pytest.raises(GraphRunError, match="clashes with a node name"):
            run({"__input__": "three"}, ["plus_input"])
        with pytest.raises(GraphComponentException):  # the component's error, wrapped by GraphNode
            run({"__input__": -100, "three": -50}, ["plus_input"])
        with pytest.raises(GraphRunError):  # a need nothing provides: the node's own complaint
            run({}, ["unresolved"])


# --- copies made only for debug logs ---------------------------------------------------------

@pytest.mark.parametrize("module", ["rasa.core.processor", "rasa.core.actions.forms", "rasa.core.policies.rule_policy"])
def test_every_copy_in_the_patched_modules_is_a_debug_log_argument(module: str) -> None:
    """Skipping the copy is safe only while each use of ``copy`` in the module is a
    ``copy.deepcopy(...)`` passed to ``structlogger.debug``: a Rasa upgrade that copies for
    another reason fails here."""
    import ast
    import importlib
    import inspect

    from components.rasa_patches import LOG_ONLY_COPIES

    assert module in LOG_ONLY_COPIES
    tree = ast.parse(inspect.getsource(importlib.import_module(module)))
    in_debug_calls: set[int] = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "debug"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "structlogger"):
            in_debug_calls.update(id(arg.value) for arg in node.keywords)
    uses = [node for node in ast.walk(tree) if isinstance(node, ast.Name) and node.id == "copy"]
    assert uses, "the module no longer uses copy: take it out of LOG_ONLY_COPIES"
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
             and isinstance(node.func.value, ast.Name) and node.func.value.id == "copy"]
    assert len(calls) == len(uses)  # copy is only ever called, never passed on or aliased
    assert all(call.func.attr == "deepcopy" and id(call) in in_debug_calls for call in calls)  # type: ignore[attr-defined]


def test_debug_log_arguments_are_copied_only_when_debug_is_logged() -> None:
    import logging

    import rasa.core.processor as processor
    from rasa.utils.log_utils import configure_structlog

    events = [{"event": "slot", "name": "language", "value": "zh"}]
    try:
        configure_structlog(logging.INFO)
        assert processor.copy.deepcopy(events) is events  # dropped unread: nothing to copy
        configure_structlog(logging.DEBUG)
        copied = processor.copy.deepcopy(events)
        assert copied == events and copied is not events and copied[0] is not events[0]
    finally:
        configure_structlog(logging.INFO)


def test_the_trackers_state_is_rasas_without_the_active_loops_copy() -> None:
    import ast
    import dataclasses
    import inspect

    import rasa.shared.core.trackers as trackers
    from rasa.shared.core.events import ActiveLoop, SlotSet, UserUttered
    from rasa.shared.core.slots import TextSlot
    from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity, TrackerActiveLoop

    # The module's one use of dataclasses at run time is asdict(self.active_loop) in current_state,
    # and the active loop's fields hold no dataclasses (so a shallow dict equals asdict's).
    source = ast.parse(inspect.getsource(trackers))
    uses = [n for n in ast.walk(source) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
            and n.value.id == "dataclasses"]
    assert sorted(n.attr for n in uses) == ["asdict", "dataclass"]
    assert [f.name for f in dataclasses.fields(TrackerActiveLoop)] == [  # a name, two flags, the parse dict
        "name", "is_interrupted", "rejected", "trigger_message"]
    parse = {"intent": {"name": "inform", "confidence": 0.9}, "entities": [{"entity": "phone", "value": "138"}],
             "intent_ranking": [{"name": "inform", "confidence": 0.9}], "text": "138"}
    tracker = DialogueStateTracker.from_events(
        "s1", [UserUttered("water", parse), ActiveLoop("utility_handover_form"), SlotSet("requested_slot", "x")],
        [TextSlot("requested_slot", mappings=[])])
    state = tracker.current_state(EventVerbosity.ALL)
    assert state["active_loop"] == dataclasses.asdict(tracker.active_loop)
    assert state["active_loop"]["name"] == "utility_handover_form" and state["active_loop"]["trigger_message"]
    empty = DialogueStateTracker.from_events("s2", [], [])
    assert empty.current_state()["active_loop"] == {}
