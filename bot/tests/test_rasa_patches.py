"""The faster action-response check accepts and refuses exactly what Rasa's does."""
import pytest
from jsonschema import ValidationError


def test_cached_validator_accepts_valid_and_refuses_invalid_responses():
    from rasa.core.actions.action import RemoteAction

    from components.rasa_patches import speed_up_action_response_validation

    speed_up_action_response_validation()
    action = RemoteAction.__new__(RemoteAction)
    ok = {"events": [{"event": "slot", "name": "language", "value": "zh", "timestamp": None}],
          "responses": [{"text": "你好"}]}
    assert action._validate_action_result(ok) is True
    with pytest.raises(ValidationError) as err:
        action._validate_action_result({"events": [{"event": "no_such_event"}], "responses": []})
    assert "Failed to validate Action server response" in err.value.message
