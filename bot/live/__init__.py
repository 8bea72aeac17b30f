"""Live voice: a Mini App page and its WebSocket, each utterance a turn of the private chat.

`server` serves the page (page.html, page.css, page.js) and the socket; `auth` checks Telegram's
initData; `session` runs the protocol; `vad` finds where utterances end; `pcm` converts audio.
"""
