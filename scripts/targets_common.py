"""What scripts/reduced_precision_targets.py and scripts/decode_targets.py share: their
common flags, the check for our release binary, and whether PyTorch imports."""
import argparse, os, sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def positive(text):
    """An integer of at least 1 (argparse type)."""
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text}")
    return n


def parser(rounds, repeats):
    """An argument parser with --rounds, --repeats, --binary and --json."""
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=positive, default=rounds)
    p.add_argument("--repeats", type=positive, default=repeats)
    p.add_argument("--binary", default=os.path.join(root, ".build/release/attention"))
    p.add_argument("--json", default=None, help="write the per-round figures and their medians here")
    return p


def check_binary(args, script):
    """Exits with status 2 when the release binary is missing."""
    if not os.access(args.binary, os.X_OK):
        print(f"{script}: no {args.binary}; run `swift build -c release` first", file=sys.stderr)
        sys.exit(2)


def torch_imports(without):
    """Whether `torch` imports; prints `without` (what is then left out) when it does not."""
    try:
        import torch  # noqa: F401  (only whether it imports)
        return True
    except ImportError:
        print(f"PyTorch does not import: {without} (pip install torch)")
        return False
