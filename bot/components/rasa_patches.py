"""One performance fix for Rasa 3.6, applied when the model's components load.

Rasa checks every action server response against a JSON schema with
``jsonschema.validate``, which re-checks the schema itself and builds a new
validator on every call: about 19 ms of CPU per custom action on this machine, more
than the rest of a turn. The assistant calls the action server at least once per
message (the language slot), so this dominated latency under load. The patch
validates against the same schema with a validator built once; valid responses pass
and invalid ones raise the same ``ValidationError`` with the same message.
"""
from __future__ import annotations

from typing import Any

_PATCHED = False


def speed_up_action_response_validation() -> None:
    global _PATCHED
    if _PATCHED:
        return
    from jsonschema import ValidationError, validators
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    spec = RemoteAction.action_response_format_spec()
    validator = validators.validator_for(spec)(spec)

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        try:
            validator.validate(result)
            return True
        except ValidationError as e:
            e.message += (
                ". Failed to validate Action server response from API, "
                "make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
            )
            raise e

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    _PATCHED = True
