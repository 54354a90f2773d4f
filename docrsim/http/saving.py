"""Nothing lost: before a response leaves, what its request changed is in the state folder.

With ``serve --state DIR`` both hosts save after every request (docrsim.core.persistence.folder
decides what, if anything, there is to write), so a client told of a change can count on it
surviving a killed docrsim. When the save fails the client is told so instead of the success it
would have had: the change stays in memory and goes to disk with the next save.
"""

from __future__ import annotations

from flask import Flask

from docrsim.core.persistence.folder import StateFolder, StateFolderError


def install(app: Flask, folder: StateFolder, refusal) -> None:
    """Save after each request of ``app``; ``refusal(message)`` is the response when it fails.

    Registered after the app's own hooks, so it runs before them (Flask runs the last
    registered first): the request log and the journal see the answer that was sent."""
    app.config["DOCRSIM_STATE_FOLDER"] = folder

    @app.after_request
    def save_changes(response):
        try:
            folder.save()
        except StateFolderError as exc:
            return refusal(exc.message)
        return response
