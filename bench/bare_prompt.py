"""Baseline for the start-up benchmark: the least a prompt_toolkit shell can do."""

from prompt_toolkit import PromptSession

session = PromptSession()
while True:
    try:
        line = session.prompt("bare> ")
    except (EOFError, KeyboardInterrupt):
        break
