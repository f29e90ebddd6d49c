"""Performance fixes for Rasa 3.6, applied when the model's components load.

Each one does what Rasa does, with the same results, for less CPU per message (measured with
cProfile on the chat benchmark's conversations: bench/README.md, "Chat: CPU per turn"):

- **Action server responses** are checked against Rasa's JSON schema. ``jsonschema.validate``
  re-checked the schema itself and built a new validator on every call (about 19 ms of CPU per
  custom action); and the schema's ``oneOf`` over 23 event types tries every type for every
  event. The check here picks the one branch whose ``event`` constant matches (the branches'
  constants are distinct, so "exactly one branch matches" is "the matching branch matches"),
  and falls back to the full validator, with Rasa's error and message, for anything it does
  not accept.
- **Event types by name**: ``Event.resolve_by_type`` walked every subclass of ``Event``
  (recursively, with ``inspect.isabstract`` on each) for every event it deserialised, that is
  every event of the conversation on every message when the tracker is loaded from its store:
  a sixth of Rasa's CPU per message in long conversations. The name → class map is kept.
- **Applied events**: ``DialogueStateTracker.applied_events`` (several times per message, over
  every event of the conversation, and back over the earlier ones at each form step) asks
  ``isinstance`` of each event against up to eight event classes; they are abstract base
  classes, so each check that fails goes through ``ABCMeta.__instancecheck__``. The same
  walk, step for step, with each event class classified once.
- **Slot copies**: every tracker copy (several per message) copies each slot with
  ``copy.copy``, through ``__reduce_ex__``; a ``__copy__`` doing the same shallow copy directly.
- **The language slot** is filled after every message by a custom slot mapping,
  ``action_detect_language`` (actions/language.py). Rasa sent the whole conversation to the
  action server for it, once per message: the serialised tracker, an HTTP round trip, the
  action server parsing it, the response checked and parsed back. That action's own code
  (imported from actions/, which every Rasa image carries: bot/Dockerfile) runs here instead,
  on the values the action server would have been sent: the latest message, the slots, the
  active loop. Where actions/ cannot be imported, the action server is asked as before.
- **Graph runs without dask**: every message runs Rasa's graph two or three times (NLU, then
  a prediction per action), and ``DaskGraphRunner.run`` rebuilt the minimal schema, a dask
  graph and dask's scheduler state each time: about a tenth of Rasa's CPU per message. Dask's
  local scheduler runs the nodes one after another anyway; here each (runner, targets) gets
  its order once (dependencies first, as dask orders them) and each node is called with its
  parents' outputs exactly as dask passes them (a need nothing provides: its name, which
  ``GraphNode`` reports as unresolved), with Rasa's input-name check and error.
- **Copies made only for debug logs**: the message processor, the form action and the rule
  policy deep-copy the events, slots, parse data and states they pass to ``structlogger.debug``
  (nine calls per turn, some over the whole parse result), and the copy is made even when
  debug logging is off and structlog drops the call unread: a few percent of Rasa's CPU per
  turn. In those three modules every use of ``copy`` is such a log argument
  (bot/tests/test_rasa_patches.py reads their source to check it), so there ``copy.deepcopy``
  hands its argument back unchanged unless structlog logs at debug level (``--debug``), where it
  copies as before.
- **The active loop in the tracker's state**: ``DialogueStateTracker.current_state`` (the
  tracker sent to the action server, and saved by the in-memory tracker store) turned the
  active loop into a dict with ``dataclasses.asdict``, which deep-copies its trigger message
  (the whole parse result) only for the state to be serialised. Here the dict holds the same
  values without the copy (its fields hold no dataclasses, so the values are equal).
- **Action server connections**: Rasa opened a new HTTP client session, and so a new TCP
  connection, for every call to the action server (about two per message). One session per
  endpoint and event loop is kept; idle connections are dropped after
  ``KEEP_ALIVE_SECONDS``, before the action server's Sanic closes them (5 s), so a request
  never goes out on a connection the server is closing.
"""
from __future__ import annotations

import asyncio
from typing import Any

KEEP_ALIVE_SECONDS = 2.0
_APPLIED: set[str] = set()


def apply_all() -> None:
    speed_up_action_response_validation()
    cache_event_types()
    fast_slot_copies()
    fast_applied_events()
    reuse_action_server_connections()
    detect_language_in_process()
    sequential_graph_runs()
    skip_copies_for_unlogged_debug()
    shallow_active_loop_state()


def _once(name: str) -> bool:
    if name in _APPLIED:
        return False
    _APPLIED.add(name)
    return True


def speed_up_action_response_validation() -> None:
    if not _once("validation"):
        return
    from jsonschema import ValidationError, validators
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL
    from rasa.shared.utils.schemas.events import EVENT_SCHEMA

    spec = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(spec)
    full = cls(spec)
    # The same response schema without the per-event oneOf, and one validator per event type.
    top = cls({**spec, "properties": {**spec["properties"], "events": {"type": "array"}}})
    base = cls({k: v for k, v in EVENT_SCHEMA.items() if k != "oneOf"})
    by_type = {branch["properties"]["event"]["const"]: cls(branch) for branch in EVENT_SCHEMA["oneOf"]}

    def event_ok(event: Any) -> bool:
        if not base.is_valid(event):
            return False
        branch = by_type.get(event["event"])
        return branch is not None and branch.is_valid(event)

    def accepted(result: Any) -> bool:
        if not top.is_valid(result):
            return False
        events = result.get("events") if isinstance(result, dict) else None
        return not isinstance(events, list) or all(event_ok(e) for e in events)

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        if accepted(result):
            return True
        try:
            full.validate(result)
            return True
        except ValidationError as e:
            e.message += (
                ". Failed to validate Action server response from API, "
                "make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
            )
            raise e

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]


def cache_event_types() -> None:
    if not _once("event_types"):
        return
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    original = Event.resolve_by_type
    known: dict[str, type[Event]] = {}

    def resolve_by_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
        cls = known.get(type_name)
        if cls is not None:
            return cls
        for candidate in all_subclasses(Event):  # as Rasa does: the first one of that name
            if candidate.type_name == type_name:
                known[type_name] = candidate
                return candidate
        return original(type_name, default)  # unknown names: Rasa's answer (None, default or ValueError)

    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign]


def fast_slot_copies() -> None:
    if not _once("slot_copies"):
        return
    from rasa.shared.core.slots import Slot

    def __copy__(self: Slot) -> Slot:  # noqa: N807 - what copy.copy does for these objects
        new = self.__class__.__new__(self.__class__)
        new.__dict__.update(self.__dict__)
        return new

    Slot.__copy__ = __copy__  # type: ignore[attr-defined]


ORIGINAL: dict[str, Any] = {}  # Rasa's own functions, for the tests that compare


def fast_applied_events() -> None:
    if not _once("applied_events"):
        return
    from rasa.shared.core.events import (
        ActionExecuted,
        ActionExecutionRejected,
        ActionReverted,
        ActiveLoop,
        DefinePrevUserUtteredFeaturization,
        Restarted,
        SessionStarted,
        UserUtteranceReverted,
        UserUttered,
    )
    from rasa.shared.core.trackers import DialogueStateTracker

    ORIGINAL["applied_events"] = DialogueStateTracker.applied_events
    # What Rasa's isinstance checks ask of an event, answered once per event class.
    RESTART, REVERT_ACTION, REVERT_USER, LOOP, ACTION, REJECTED, USER, PREV_USER = (1 << i for i in range(8))
    classes = ((RESTART, (Restarted, SessionStarted)), (REVERT_ACTION, ActionReverted),
               (REVERT_USER, UserUtteranceReverted), (LOOP, ActiveLoop), (ACTION, ActionExecuted),
               (REJECTED, ActionExecutionRejected), (USER, UserUttered),
               (PREV_USER, DefinePrevUserUtteredFeaturization))
    kinds: dict[type, int] = {}

    def kind(event: Any) -> int:
        cls = type(event)
        found = kinds.get(cls)
        if found is None:
            found = kinds[cls] = sum(bit for bit, of in classes if issubclass(cls, of))
        return found

    def undo_till_previous(bit: int, done: list[Any]) -> None:  # Rasa's _undo_till_previous
        for e in reversed(done[:]):
            del done[-1]
            if kind(e) & bit:
                break

    def first_loop_execution_or_unhappy_path(loop_action_name: str, applied: list[Any]) -> bool:
        next_action: str | None = None  # Rasa's method of that name, _is_within_unhappy_path inlined
        for event in reversed(applied):
            k = kind(event)
            if k & LOOP and event.name is None:
                return True
            if (k & REJECTED and event.action_name == loop_action_name) or (
                    k & USER and next_action is not None and next_action != loop_action_name):
                return True
            if k & ACTION:
                if event.action_name == loop_action_name:
                    return False
                next_action = event.action_name
        return True

    def undo_till_previous_loop_execution(loop_action_name: str, done: list[Any]) -> None:
        offset = 0  # Rasa's _undo_till_previous_loop_execution
        for e in reversed(done[:]):
            k = kind(e)
            if k & ACTION and e.action_name == loop_action_name:
                break
            if k & (ACTION | USER | PREV_USER):
                del done[-1 - offset]
            else:
                offset += 1

    def applied_events(self: DialogueStateTracker) -> list[Any]:
        loop_names = [event.name for event in self.events if kind(event) & LOOP and event.name]
        applied: list[Any] = []
        for event in self.events:
            k = kind(event)
            if k & RESTART:
                applied = []
            elif k & REVERT_ACTION:
                undo_till_previous(ACTION, applied)
            elif k & REVERT_USER:
                undo_till_previous(USER, applied)
                undo_till_previous(ACTION, applied)
            elif (k & ACTION and event.action_name in loop_names
                  and not first_loop_execution_or_unhappy_path(event.action_name, applied)):
                undo_till_previous_loop_execution(event.action_name, applied)
            else:
                applied.append(event)
        return applied

    DialogueStateTracker.applied_events = applied_events  # type: ignore[method-assign]


def sequential_graph_runs() -> None:
    if not _once("graph_runs"):
        return
    from rasa.engine.exceptions import GraphRunError
    from rasa.engine.runner.dask import DaskGraphRunner

    ORIGINAL["graph_run"] = DaskGraphRunner.run

    def plan(self: DaskGraphRunner, targets: tuple[str, ...]) -> list[tuple[str, tuple[str, ...]]]:
        plans: dict[tuple[str, ...], list[tuple[str, tuple[str, ...]]]] = self.__dict__.setdefault("_plans", {})
        found = plans.get(targets)
        if found is None:
            nodes = self._graph_schema.minimal_graph_schema(list(targets)).nodes
            order: list[tuple[str, tuple[str, ...]]] = []
            placed: set[str] = set()

            def place(name: str) -> None:
                if name in placed or name not in nodes:  # done, or an input placeholder
                    return
                placed.add(name)
                needs = tuple(nodes[name].needs.values())
                for need in needs:
                    place(need)
                order.append((name, needs))

            for target in targets:
                place(target)
            found = plans.setdefault(targets, order)
        return found

    def run(self: DaskGraphRunner, inputs: dict[str, Any] | None = None,
            targets: list[str] | None = None) -> dict[str, Any]:
        run_targets = tuple(targets if targets else self._graph_schema.target_names)
        steps = plan(self, run_targets)
        values: dict[str, Any] = {}
        for name, value in (inputs or {}).items():
            if isinstance(value, str) and (value in values or any(value == step[0] for step in steps)):
                raise GraphRunError(
                    f"Input value '{value}' clashes with a node name. Make sure "
                    f"that none of the input names passed to the `run` method are the "
                    f"same as node names in the graph schema.")
            values[name] = (name, value)
        try:
            for name, needs in steps:
                if name in values:  # an input of that name stands in for the node, as in dask's graph
                    continue
                values[name] = self._instantiated_nodes[name](*[values.get(need, need) for need in needs])
        except RuntimeError as e:
            raise GraphRunError("Error running runner.") from e
        return dict(values[target] for target in run_targets)

    DaskGraphRunner.run = run  # type: ignore[method-assign]


def reuse_action_server_connections() -> None:
    if not _once("connections"):
        return
    import aiohttp
    from aiohttp import ContentTypeError
    from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
    from rasa.utils.endpoints import ClientResponseError, EndpointConfig, concat_url

    def shared_session(self: EndpointConfig) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session: aiohttp.ClientSession | None = getattr(self, "_shared_session", None)
        if session is None or session.closed or getattr(self, "_shared_loop", None) is not loop:
            # Rasa's own session settings (EndpointConfig.session), with a connection pool kept
            auth = (aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
                    if self.basic_auth else None)
            session = aiohttp.ClientSession(
                headers=self.headers, auth=auth, timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(keepalive_timeout=KEEP_ALIVE_SECONDS))
            self._shared_session, self._shared_loop = session, loop  # type: ignore[attr-defined]
        return session

    original = EndpointConfig.request

    async def request(self: EndpointConfig, method: str = "post", subpath: str | None = None,
                      content_type: str | None = "application/json", compress: bool = False,
                      **kwargs: Any) -> Any:
        if self.cafile:  # (not used here) Rasa's own path, a session per request
            return await original(self, method, subpath, content_type, compress, **kwargs)
        headers = {}
        if content_type:
            headers["Content-Type"] = content_type
        if "headers" in kwargs:
            headers.update(kwargs.pop("headers"))
        if self.headers:
            headers.update(self.headers)
        async with shared_session(self).request(
            method, concat_url(self.url, subpath), headers=headers, params=self.combine_parameters(kwargs),
            compress=compress, ssl=None, **kwargs,
        ) as response:
            if response.status >= 400:
                raise ClientResponseError(response.status, response.reason, await response.content.read())
            try:
                return await response.json()
            except ContentTypeError:
                return None

    EndpointConfig.request = request  # type: ignore[method-assign]


# The modules whose every use of ``copy`` is a ``copy.deepcopy(...)`` argument of ``structlogger.debug``.
LOG_ONLY_COPIES = ("rasa.core.processor", "rasa.core.actions.forms", "rasa.core.policies.rule_policy")


def debug_logged() -> bool:
    """Whether structlog logs at debug level now (Rasa configures a filtering logger by level;
    any other configuration counts as logging it)."""
    import logging

    import structlog

    wrapper = structlog.get_config()["wrapper_class"]
    quiet = {structlog.make_filtering_bound_logger(level)
             for level in (logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)}
    return wrapper not in quiet


class _CopyForDebugLog:
    """``copy`` for a module in LOG_ONLY_COPIES: its deep copies are of debug log arguments."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        import copy

        return copy.deepcopy(value, memo) if debug_logged() else value


def skip_copies_for_unlogged_debug() -> None:
    if not _once("log_copies"):
        return
    import importlib

    for name in LOG_ONLY_COPIES:
        importlib.import_module(name).copy = _CopyForDebugLog  # type: ignore[attr-defined]


class _ShallowAsdict:
    """``dataclasses`` for rasa.shared.core.trackers, whose one call at run time is
    ``asdict(self.active_loop)`` in ``current_state``: the same dict, without the deep copy."""

    @staticmethod
    def asdict(obj: Any) -> dict[str, Any]:
        import dataclasses

        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


def shallow_active_loop_state() -> None:
    if not _once("active_loop_state"):
        return
    import rasa.shared.core.trackers as trackers

    trackers.dataclasses = _ShallowAsdict  # type: ignore[assignment]


def detect_language_in_process() -> None:
    if not _once("language"):
        return
    try:
        from actions.language import ActionDetectLanguage
    except ImportError:  # Rasa without the actions package: the action server runs it
        return
    import dataclasses

    from rasa.core.actions.action import ActionExtractSlots
    from rasa.shared.core.events import Event, SlotSet
    from rasa_sdk import Tracker as ActionTracker
    from rasa_sdk.executor import CollectingDispatcher

    action = ActionDetectLanguage()
    name = action.name()
    original = ActionExtractSlots._run_custom_action

    async def _run_custom_action(self: ActionExtractSlots, custom_action: str, output_channel: Any, nlg: Any,
                                 tracker: Any, domain: Any) -> list[Event]:
        if custom_action != name:
            return await original(self, custom_action, output_channel, nlg, tracker, domain)
        # What the action server's Tracker.from_dict would read from the serialised tracker
        # (tracker.current_state), but the events: this action reads none (nor the domain).
        view = ActionTracker(
            tracker.sender_id, tracker.current_slot_values(), tracker._latest_message_data(), [],
            tracker.is_paused(), tracker.followup_action,
            _active_loop(tracker.active_loop), tracker.latest_action_name)
        produced = await action.run(CollectingDispatcher(), view, {})
        events = [Event.from_parameters(e) for e in produced]
        return [e for e in events if isinstance(e, SlotSet)]  # (it says nothing: slot events only)

    def _active_loop(loop: Any) -> dict[str, Any]:
        # The dict dataclasses.asdict makes, without its deep copy of the trigger message (the
        # whole parse result: about 2 ms per turn under the profiler): the action reads none of it.
        return {f.name: getattr(loop, f.name) for f in dataclasses.fields(loop)} if loop else {}

    ActionExtractSlots._run_custom_action = _run_custom_action  # type: ignore[method-assign]
