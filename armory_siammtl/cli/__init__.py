"""``armory-siammtl``: the command line (arguments in ``parser``, what each subcommand runs in ``commands``
and ``train``)."""

import sys

from armory_siammtl.cli.parser import build_parser

__all__ = ["apply_runtime", "build_parser", "main"]


def apply_runtime(args) -> None:
    """The parsed command's ``--threads`` and ``--deterministic``, where it has them."""
    import torch

    from armory_siammtl.runtime import make_deterministic

    if getattr(args, "deterministic", False):
        make_deterministic(args.threads or 1)
    elif getattr(args, "threads", None):
        torch.set_num_threads(args.threads)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # argparse's refusal (message printed) or --help
        return exit_.code
    args.argv = argv
    try:
        apply_runtime(args)
        args.func(args)
    except (ValueError, FileNotFoundError, FloatingPointError) as exc:
        print(f"armory-siammtl {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0
