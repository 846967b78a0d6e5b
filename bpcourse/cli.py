"""The ``bpcourse`` command: train a network, check its gradients.

Run ``bpcourse --help`` or ``bpcourse COMMAND --help`` for the options.
"""

import argparse
import sys
import time

import numpy as np

from bpcourse import __version__

DATASETS = ("digits", "xor", "moons", "circles", "spirals")


def _sizes(text):
    parts = [part.strip() for part in text.split(",")]
    try:
        sizes = [int(part) for part in parts]
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of widths such as 64,32,10"
        ) from error
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(
            f"{text!r} has a width below 1: every layer needs at least one unit"
        )
    return sizes


def _whole_number(text, minimum, below):
    """Parse a whole number of at least ``minimum``.

    ``below`` describes a smaller number in the error message, such as "negative".
    """
    try:
        value = int(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from error
    if value < minimum:
        raise argparse.ArgumentTypeError(f"{value} is {below}; use {minimum} or more")
    return value


def _positive_int(text):
    """Parse an option that must be a whole number of at least 1."""
    return _whole_number(text, 1, "below 1")


def _seed(text):
    """Parse a seed: a whole number of at least 0."""
    return _whole_number(text, 0, "negative")


def _positive_float(text):
    """Parse a learning rate or a step: a finite number above 0."""
    try:
        value = float(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from error
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not a finite number above 0")
    return value


def _layer_sizes(text):
    """Parse the widths d_0,…,d_L of a whole network: at least an input and an output."""
    sizes = _sizes(text)
    if len(sizes) < 2:
        raise argparse.ArgumentTypeError(
            f"{text!r} gives one width: give the input and the output widths at "
            "least, such as 4,3"
        )
    return sizes


def _hidden_activation(text):
    """Parse the name of an activation that a hidden layer may use."""
    from bpcourse.activations import ACTIVATIONS

    # softmax couples the units of a layer, so it is an output activation only.
    valid = sorted(name for name in ACTIVATIONS if name != "softmax")
    if text not in valid:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a hidden activation: choose one of {', '.join(valid)}"
        )
    return text


#: The smallest memory limit of a graded submission. Importing numpy failed
#: under a 128 MB address-space limit and worked under 200 MB (Linux, x86-64),
#: so a lower limit fails every submission before its code runs.
MIN_MEMORY_MB = 256


def _memory_mb(text):
    """Parse a memory limit in MB, at least ``MIN_MEMORY_MB``."""
    value = _positive_int(text)
    if value < MIN_MEMORY_MB:
        raise argparse.ArgumentTypeError(
            f"{value} MB is below {MIN_MEMORY_MB}: Python with numpy needs more "
            "than 128 MB of address space before any student code runs"
        )
    return value


def _port(text):
    """Parse a TCP port number."""
    try:
        value = int(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a port number: use a whole number from 1 to 65535"
        ) from error
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port: use 1 to 65535")
    return value


def _hidden(text):
    if text.strip() in ("", "none"):
        return []
    return _sizes(text)


def _load(dataset, seed, dtype):
    from bpcourse import data

    if dataset == "digits":
        d = data.load_digits(seed=seed, dtype=dtype)
        return d.X_train, d.y_train, d.X_test, d.y_test
    X, y = getattr(data, dataset)(n=1000, seed=seed)
    X_train, y_train, X_test, y_test = data.stratified_split(X, y, 0.25, seed)
    return X_train.astype(dtype), y_train, X_test.astype(dtype), y_test


def _make_optimizer(args, steps_per_epoch):
    from bpcourse.optim import CosineSchedule, StepSchedule, make_optimizer

    total_steps = args.epochs * steps_per_epoch
    if args.schedule == "cosine":
        schedule = CosineSchedule(total_steps=total_steps)
    elif args.schedule == "step":
        schedule = StepSchedule(step_size=max(1, total_steps // 3), gamma=0.1)
    else:
        schedule = None
    return make_optimizer(args.optimizer, lr=args.lr, schedule=schedule)


def train(args):
    """Train on a data set and print train and test loss and accuracy."""
    from threadpoolctl import threadpool_limits

    from bpcourse import data
    from bpcourse.network import Network, TrainingDivergedError

    dtype = np.dtype(args.dtype)
    X_train, y_train, X_test, y_test = _load(args.dataset, args.seed, dtype)
    if args.standardize:
        X_train, X_test = data.standardize(X_train, X_test)
    sizes = [X_train.shape[0], *args.hidden, int(max(y_train.max(), y_test.max())) + 1]
    net = Network(sizes, activation=args.activation, seed=args.seed, dtype=dtype)
    steps_per_epoch = -(-X_train.shape[1] // args.batch_size)
    optimizer = _make_optimizer(args, steps_per_epoch)
    print(f"{net}\n{args.dataset}: {X_train.shape[1]} training and "
          f"{X_test.shape[1]} test examples; optimizer {optimizer}")
    start = time.perf_counter()
    try:
        with threadpool_limits(limits=args.threads, user_api="blas"):
            _fit(net, X_train, y_train, args, optimizer)
    except TrainingDivergedError as error:
        print(f"bpcourse train: {error}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - start
    for name, X, y in (("train", X_train, y_train), ("test", X_test, y_test)):
        print(f"{name:5}  loss {net.loss(X, y):.4f}  accuracy {net.accuracy(X, y):.4f}")
    epochs = "1 epoch" if args.epochs == 1 else f"{args.epochs} epochs"
    print(f"trained {epochs} in {seconds:.1f} s")
    return 0


def _fit(net, X_train, y_train, args, optimizer):
    net.fit(
        X_train,
        y_train,
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=optimizer,
        seed=args.seed,
        progress=not args.no_progress,
    )


def gradcheck(args):
    """Build a random network and print its gradient-check report."""
    from bpcourse.gradcheck import gradcheck as run_gradcheck
    from bpcourse.network import Network

    rng = np.random.default_rng(args.seed)
    net = Network(
        args.sizes,
        activation=args.activation,
        loss=args.loss,
        seed=args.seed,
        dtype=np.dtype(args.dtype),
    )
    X = rng.normal(size=(args.sizes[0], args.batch))
    K = args.sizes[-1]
    if args.loss == "cross_entropy":
        Y = rng.integers(0, K, size=args.batch)
    elif args.loss == "binary_cross_entropy":
        Y = rng.integers(0, 2, size=(K, args.batch)).astype(float)
    else:
        Y = rng.normal(size=(K, args.batch))
    report = run_gradcheck(net, X, Y, h=args.h, seed=args.seed)
    print(report)
    return 0 if report.passed else 1


class _HelpFormatter(argparse.HelpFormatter):
    """Append each option's default to its help, written as one would type it.

    Flags, options without a default and help texts that already state their
    default get nothing appended.
    """

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if (not action.option_strings or action.nargs == 0 or default is None
                or default is argparse.SUPPRESS or "default" in text):
            return text
        if isinstance(default, (list, tuple)):
            default = ",".join(str(value) for value in default)
        return f"{text} (default: {default})".replace("%", "%%")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="bpcourse",
        description="The companion command of the bpcourse textbook on backpropagation.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = commands.add_parser(
        "train",
        help="train a network and print its train and test accuracy",
        description="Train a multilayer perceptron by backpropagation and print its "
        "train and test loss and accuracy.",
        formatter_class=_HelpFormatter,
    )
    t.add_argument("--dataset", choices=DATASETS, default="digits",
                   help="data set; digits is scikit-learn's bundled 8x8 images")
    t.add_argument("--hidden", type=_hidden, default=[256], metavar="WIDTHS",
                   help="hidden layer widths, comma-separated, or 'none'")
    t.add_argument("--activation", type=_hidden_activation, default="relu",
                   help="hidden activation: sigmoid, tanh, relu, leaky_relu, identity")
    t.add_argument("--optimizer", choices=("sgd", "momentum", "adam"),
                   default="momentum", help="update rule")
    t.add_argument("--lr", type=_positive_float, default=0.05, help="learning rate")
    t.add_argument("--schedule", choices=("none", "step", "cosine"), default="cosine",
                   help="learning-rate schedule over the whole run")
    t.add_argument("--epochs", type=_positive_int, default=40, help="passes over the training set")
    t.add_argument("--batch-size", type=_positive_int, default=32,
                   help="examples per minibatch")
    t.add_argument("--seed", type=_seed, default=0,
                   help="seed of the split, the weights and the shuffling")
    t.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                   help="floating-point type of every array")
    t.add_argument("--no-standardize", dest="standardize", action="store_false",
                   help="feed raw features instead of centring and scaling each "
                   "one by the training set's mean and standard deviation")
    t.add_argument("--threads", type=_positive_int, default=1,
                   help="BLAS threads while training; the matrices here are small, "
                   "so extra threads mostly add synchronisation")
    t.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    t.set_defaults(run=train)

    g = commands.add_parser(
        "gradcheck",
        help="compare backpropagation with central differences",
        description="Build a random network and batch, compare its backpropagated "
        "gradients with central differences in float64 and print the report. Exits "
        "with status 1 when the check fails.",
        formatter_class=_HelpFormatter,
    )
    g.add_argument("--sizes", type=_layer_sizes, default=[4, 5, 3], metavar="WIDTHS",
                   help="layer widths d_0,…,d_L, comma-separated")
    g.add_argument("--activation", type=_hidden_activation, default="tanh",
                   help="hidden activation")
    g.add_argument("--loss", choices=("cross_entropy", "binary_cross_entropy", "mse"),
                   default="cross_entropy", help="loss of the batch")
    g.add_argument("--batch", type=_positive_int, default=5, help="examples N in the batch")
    g.add_argument("--h", type=_positive_float, default=1e-5,
                   help="central-difference step, in parameter units")
    g.add_argument("--seed", type=_seed, default=0, help="seed of weights and batch")
    g.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                   help="dtype of the network; the check itself runs in float64")
    g.set_defaults(run=gradcheck)

    def grading_command(name):
        def run(args):
            from bpcourse.grading import cli as grading_cli

            return getattr(grading_cli, name)(args)

        return run

    a = commands.add_parser(
        "assign",
        help="make student notebooks and grading specs from instructor notebooks",
        description="For each instructor notebook, write the student notebook "
        "(solutions stripped) to OUT/student/ and the grading spec (exercises, "
        "points, limits, hidden-test seed) to OUT/instructor/, which is for the "
        "instructor only.",
        formatter_class=_HelpFormatter,
    )
    a.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="instructor notebook (.ipynb) with solutions")
    a.add_argument("--out", default="release", help="release folder")
    a.add_argument("--points", action="append", metavar="ID=POINTS",
                   help="points of one exercise (repeatable); by default a coding "
                   "exercise has 2, split over its hidden cases, a short answer 1")
    a.add_argument("--seed", type=_seed, default=None,
                   help="seed of the hidden tests; by default a random one")
    a.add_argument("--question-seconds", type=_positive_float, default=None, metavar="SECONDS",
                   help="wall-clock limit per question (default: 10)")
    a.add_argument("--submission-seconds", type=_positive_float, default=None, metavar="SECONDS",
                   help="wall-clock limit per submission (default: 60)")
    a.add_argument("--memory-mb", type=_memory_mb, default=None, metavar="MB",
                   help="memory limit of the process running a submission "
                   "(default: 1024)")
    a.set_defaults(run=grading_command("assign"))

    r = commands.add_parser(
        "grade",
        help="grade a folder of submissions",
        description="Grade every .ipynb and .py file of SUBMISSIONS_DIR (the student id "
        "is the file name without its suffix) in sandboxed processes, and write "
        "grades.csv, canvas.csv, feedback/ and the class report to OUT.",
        formatter_class=_HelpFormatter,
    )
    r.add_argument("submissions", metavar="SUBMISSIONS_DIR",
                   help="folder with one submission per student")
    r.add_argument("--assignment", required=True, metavar="NAME_OR_SPEC",
                   help="assignment name (its spec is RELEASE/instructor/NAME.json) "
                   "or the path of a spec")
    r.add_argument("--release", default="release",
                   help="release folder in which to find the spec by name")
    r.add_argument("--out", default="results", help="results folder")
    r.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                   help="submissions graded at once (default: the number of cores)")
    r.add_argument("--resume", action="store_true",
                   help="keep the results of submissions graded by an earlier run")
    r.add_argument("--question-seconds", type=_positive_float, default=None, metavar="SECONDS",
                   help="override the spec's wall-clock limit per question")
    r.add_argument("--submission-seconds", type=_positive_float, default=None, metavar="SECONDS",
                   help="override the spec's wall-clock limit per submission")
    r.add_argument("--memory-mb", type=_memory_mb, default=None, metavar="MB",
                   help="override the spec's memory limit")
    r.add_argument("--sandbox-user", default=None, metavar="USER",
                   help="run all student code as this user (name or uid); by "
                   "default each worker has a uid of its own")
    r.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    r.add_argument("--quiet", action="store_true",
                   help="log only errors to stderr (grading.log has every line)")
    r.set_defaults(run=grading_command("grade"))

    v = commands.add_parser(
        "live",
        help="serve the chapters with live widgets (Voila on 127.0.0.1)",
        description="Start Voila on 127.0.0.1 serving the chapter notebooks, so "
        "every widget responds; print the address; stop on Ctrl-C.",
        formatter_class=_HelpFormatter,
    )
    v.add_argument("--folder", default="book", help="folder of the notebooks")
    v.add_argument("--port", type=_port, default=8866, help="TCP port on 127.0.0.1")
    v.set_defaults(run=live)
    return parser


def live(args):
    """Serve the chapters with Voila until Ctrl-C."""
    from bpcourse.live import serve

    return serve(args.folder, args.port)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, TypeError) as error:
        print(f"bpcourse {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
