"""An example adapter for ``allora-ref conform``: the reference itself behind the protocol.

    allora-ref conform --cmd "python -m allora_ref.examples.adapter"
    allora-ref conform --profile allora-simulator \\
        --cmd "python -m allora_ref.examples.adapter --profile chain-defaults"

It reads one request per line on stdin and writes one response per line on stdout - the loop an
adapter for the Go chain or a Rust node has, with this implementation's functions in place of
theirs (``README.md`` beside this file, "Writing an adapter"). With ``--profile NAME`` it ignores each
case's parameters (after checking them) and computes with that preset instead, as an
implementation with hard-wired defaults would; ``--skip KIND`` declares the cases of a kind
skipped, with a reason, as an implementation that does not cover them would.
"""

from __future__ import annotations

import argparse
import json
import sys

from allora_ref.params import PROFILES, load_profile
from allora_ref.vector_kinds import evaluate
from allora_ref.vectors import KINDS, decode_params


def respond(request: dict, pinned, skipped: set[str]) -> dict:
    """The response to one request: outputs, an error (the inputs are rejected) or a skip."""
    answer = {"id": request.get("id")}
    kind = request.get("manifest", {}).get("kind")
    if kind in skipped:
        return answer | {"skip": f"this adapter does not run {kind} cases (--skip {kind})"}
    try:
        params = decode_params(request.get("parameters"))      # invalid parameters: rejected
        outputs = evaluate(request["manifest"], request.get("inputs", {}),
                           params if pinned is None else pinned)
    except ValueError as error:                                 # the spec rejects the inputs
        return answer | {"error": str(error)}
    return answer | {"outputs": outputs}


def main(argv: list[str] | None = None) -> int:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--profile", choices=PROFILES,
                           help="compute with this preset instead of each case's parameters")
    arguments.add_argument("--skip", action="append", choices=KINDS, default=[],
                           help="declare the cases of this kind skipped")
    args = arguments.parse_args(argv)
    pinned = load_profile(args.profile) if args.profile else None
    for line in sys.stdin:
        response = respond(json.loads(line), pinned, set(args.skip))
        sys.stdout.write(json.dumps(response) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
