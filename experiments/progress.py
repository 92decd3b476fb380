"""One log line per finished training: where the experiment is, and when it will be done."""

import logging
import time

log = logging.getLogger("experiments")


class Progress:
    """Counts an experiment's trainings and logs each as it finishes.

    Args:
        name: the experiment, the first word of every line.
        total: how many trainings the run makes.

    Example:
        >>> progress = Progress("random_labels", len(config.seeds) * len(runs))
        >>> progress.done("seed=%d %s: test %.3f", seed, condition, accuracy)
        random_labels 3/40, ETA 1 min 05 s: seed=0 gaussian: test 0.104
    """

    def __init__(self, name, total):
        self.name, self.total, self.count = name, max(1, int(total)), 0
        self.started = time.perf_counter()

    def done(self, message, *args):
        self.count += 1
        elapsed = time.perf_counter() - self.started
        left = elapsed / self.count * max(0, self.total - self.count)
        log.info(
            f"%s %d/%d, ETA %s: {message}", self.name, self.count, self.total, duration(left), *args
        )


def duration(seconds):
    """ "45 s" or "2 min 05 s"."""
    seconds = round(seconds)
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60:02d} s"
