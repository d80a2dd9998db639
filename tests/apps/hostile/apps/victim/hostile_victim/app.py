"""Answers 42 (a changed copy of this file in the package cache would answer otherwise)."""

from __future__ import annotations

from typing import Any

from tweeling.sdk import Context, Inputs, Outputs

ANSWER = 42


def run(inputs: Inputs, parameters: dict[str, Any], context: Context) -> Outputs:
    out = Outputs()
    out.indicator("answer", ANSWER)
    return out
