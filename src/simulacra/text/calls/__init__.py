"""Function calling: APIs as tools, verified call corpora, and the demo API (see :mod:`.api`)."""

from simulacra.text.calls.api import (Api, Function, call_key, load_api, parse_call, parse_calls, render_call,
                                      system_prompt)
from simulacra.text.calls.runner import CallExecutionError

DEMO_API = "simulacra.text.calls.demo_api"

__all__ = ["DEMO_API", "Api", "CallExecutionError", "Function", "call_key", "load_api", "parse_call", "parse_calls",
           "render_call", "system_prompt"]
