"""Custom actions of the 一件事 assistant (rasa-sdk action server).

The actions talk to the portal over HTTP only (``actions.portal_client``); the bot
never imports portal code.
"""
